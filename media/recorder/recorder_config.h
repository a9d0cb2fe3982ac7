/* Recording configuration read from a GKeyFile: one [recorder] group and one
 * [stream NAME] group per stream (see docs/recording.md). */
#ifndef EVALROOM_RECORDER_CONFIG_H
#define EVALROOM_RECORDER_CONFIG_H

#include <glib.h>
#include <gst/gst.h>
#include <stdint.h>

enum stream_place { STREAM_PLACE_ROOM, STREAM_PLACE_SEAT };

/* How an RTSP camera's media travels: interleaved in the RTSP connection (the default,
 * nothing lost to a congested switch) or as RTP over UDP. */
enum camera_transport { CAMERA_TRANSPORT_TCP, CAMERA_TRANSPORT_UDP };

/* An IP camera reached over RTSP (url=). The recorder builds the source itself, so the
 * credentials go to rtspsrc as properties and never appear in a URL, a log line, an
 * event or an archive. */
struct camera_config {
	char *url;       /* main stream, recorded: rtsp://host[:port]/path, no user info */
	char *substream; /* smaller stream for live view, never recorded, or NULL */
	char *user;      /* from the credentials file, or NULL */
	char *password;  /* from the credentials file, or NULL; wiped when freed */
	enum camera_transport transport;
	unsigned latency_ms; /* rtspsrc jitter buffer */
};

struct stream_config {
	char *name;   /* identifier, also the directory name in the spool */
	char *source; /* launch fragment ending in an encoded video elementary stream, or NULL
	               * for a camera */
	struct camera_config *camera; /* an RTSP camera (url=), or NULL with source */
	char *audio; /* optional launch fragment ending in encoded audio, or NULL; for a
	              * camera it replaces the camera's own audio track */
	enum stream_place place;
	char *seat;          /* seat id when place is seat, else NULL */
	unsigned segment_ms; /* segment length */
	unsigned lost_ms;    /* no buffer for this long => lost */
};

/* [recorder] media_kbit: 0 (no limit) or RECORDER_MEDIA_KBIT_MIN..RECORDER_MEDIA_KBIT_MAX. */
#define RECORDER_MEDIA_KBIT_MIN 64
#define RECORDER_MEDIA_KBIT_MAX 10000000

struct recorder_config {
	char *spool_dir;
	int64_t quota_bytes;        /* bytes of spooled media allowed; 0 = only the fs limit */
	unsigned low_space_percent; /* low-space report at this share of the quota */
	int64_t min_free_bytes;     /* filesystem free space kept in reserve */
	unsigned state_interval_ms; /* periodic state reports */
	unsigned ack_timeout_ms;    /* shipper: resend what is unacknowledged this long */
	/* shipper: the room's media rate towards the controller in kbit/s (a secondary
	 * venue's share of its WAN link, docs/venues.md); 0 = no limit */
	unsigned media_kbit;
	struct stream_config *streams;
	size_t n_streams;
};

/* The error domain of this module; the codes are errno values (EINVAL, ENOENT, EACCES),
 * the negated return value. */
#define RECORDER_CONFIG_ERROR (recorder_config_error_quark())
GQuark recorder_config_error_quark(void);

/* Builds a configuration from kf. Every stream's fragments are parsed with GStreamer
 * (gst_init() must have run) so a typo is reported at load time. On error returns
 * -EINVAL with *err naming the group and key; *out is freed with
 * recorder_config_free(). */
int recorder_config_from_keyfile(GKeyFile *kf, struct recorder_config **out, GError **err);
/* Same from a file; -ENOENT/-EINVAL with *err naming the file. */
int recorder_config_load(const char *path, struct recorder_config **out, GError **err);
void recorder_config_free(struct recorder_config *cfg);

/* Parses a launch fragment into a bin whose "src" ghost pad is the fragment's one
 * unlinked source pad (floating reference; the caller adds it to a pipeline). On
 * error returns NULL with *err quoting GStreamer's message. */
GstElement *recorder_fragment_parse(const char *frag, GError **err);

/* Checks that url is an rtsp:// or rtsps:// URL with a host and without user info
 * (credentials belong in the credentials file). On error returns -EINVAL with
 * *err, which never repeats a password. */
int recorder_camera_url_check(const char *url, GError **err);

/* Reads a credentials file (user=NAME and password=SECRET lines, owned by this user
 * and readable by no one else). Errors: -ENOENT, -EACCES (others may read it), -EINVAL;
 * *err names the file and never quotes its content. */
int recorder_credentials_load(const char *path, char **user, char **password, GError **err);

#endif
