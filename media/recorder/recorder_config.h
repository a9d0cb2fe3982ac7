/* Recording configuration read from a GKeyFile: one [recorder] group and one
 * [stream NAME] group per stream (see docs/recording.md). */
#ifndef EVALROOM_RECORDER_CONFIG_H
#define EVALROOM_RECORDER_CONFIG_H

#include <glib.h>
#include <gst/gst.h>
#include <stdint.h>

enum stream_place { STREAM_PLACE_ROOM, STREAM_PLACE_SEAT };

struct stream_config {
	char *name;   /* identifier, also the directory name in the spool */
	char *source; /* launch fragment ending in an encoded video elementary stream */
	char *audio;  /* optional launch fragment ending in encoded audio, or NULL */
	enum stream_place place;
	char *seat;          /* seat id when place is seat, else NULL */
	unsigned segment_ms; /* segment length */
	unsigned lost_ms;    /* no buffer for this long => lost */
};

struct recorder_config {
	char *spool_dir;
	int64_t quota_bytes;        /* bytes of spooled media allowed; 0 = only the fs limit */
	unsigned low_space_percent; /* low-space report at this share of the quota */
	int64_t min_free_bytes;     /* filesystem free space kept in reserve */
	unsigned state_interval_ms; /* periodic state reports */
	unsigned ack_timeout_ms;    /* shipper: resend what is unacknowledged this long */
	struct stream_config *streams;
	size_t n_streams;
};

/* Builds a configuration from kf. Every stream's fragments are parsed with GStreamer
 * (gst_init() must have run) so a typo is reported at load time. On error returns
 * -EINVAL and sets *errmsg (g_free()) naming the group and key; *out is freed with
 * recorder_config_free(). */
int recorder_config_from_keyfile(GKeyFile *kf, struct recorder_config **out, char **errmsg);
/* Same from a file; -ENOENT/-EINVAL with *errmsg naming the file. */
int recorder_config_load(const char *path, struct recorder_config **out, char **errmsg);
void recorder_config_free(struct recorder_config *cfg);

/* Parses a launch fragment into a bin whose "src" ghost pad is the fragment's one
 * unlinked source pad (floating reference; the caller adds it to a pipeline). On
 * error returns NULL with *errmsg (g_free()) quoting GStreamer's message. */
GstElement *recorder_fragment_parse(const char *frag, char **errmsg);

#endif
