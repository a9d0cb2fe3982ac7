#include "recorder_config.h"

#include "msg.h"
#include "shipper.h"

#include <errno.h>
#include <fcntl.h>
#include <gst/gst.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STREAM_PREFIX "stream "

G_DEFINE_QUARK(evalroom_recorder_config_error, recorder_config_error)

/* Reads an optional unsigned integer key within [min, max]. */
static int read_uint(GKeyFile *kf, const char *group, const char *key, int64_t min, int64_t max,
                     int64_t *val, GError **err)
{
	if (!g_key_file_has_key(kf, group, key, NULL))
		return 0;
	char *raw = g_key_file_get_value(kf, group, key, NULL);
	char *end = NULL;
	errno = 0;
	long long v = raw ? strtoll(g_strstrip(raw), &end, 10) : 0;
	gboolean ok = raw && *raw && end && *end == '\0' && errno == 0 && v >= min && v <= max;
	if (!ok)
		g_set_error(err, RECORDER_CONFIG_ERROR, EINVAL,
		            "[%s] %s: '%s' is not an integer in %" G_GINT64_FORMAT
		            "..%" G_GINT64_FORMAT,
		            group, key, raw ? raw : "", min, max);
	else
		*val = v;
	g_free(raw);
	return ok ? 0 : -EINVAL;
}

GstElement *recorder_fragment_parse(const char *frag, GError **err)
{
	GError *gerr = NULL;
	/* Not ghost_unlinked_pads: that would also ghost the sink pad of an element that
	 * waits for a demuxer's dynamic pad ("tsdemux ! h264parse") and break the link. */
	GstElement *bin = gst_parse_bin_from_description(frag, FALSE, &gerr);
	if (!bin) {
		g_set_error(err, RECORDER_CONFIG_ERROR, EINVAL, "GStreamer cannot parse it: %s",
		            gerr ? gerr->message : "unknown error");
		g_clear_error(&gerr);
		return NULL;
	}
	g_clear_error(&gerr);
	GstPad *pad = gst_bin_find_unlinked_pad(GST_BIN(bin), GST_PAD_SRC);
	if (!pad) {
		g_set_error_literal(err, RECORDER_CONFIG_ERROR, EINVAL,
		                    "the fragment must end in one unlinked source pad (an "
		                    "encoded stream, e.g. '! h264parse')");
		gst_object_unref(gst_object_ref_sink(bin));
		return NULL;
	}
	gst_element_add_pad(bin, gst_ghost_pad_new("src", pad));
	gst_object_unref(pad);
	return bin;
}

static int check_fragment(const char *group, const char *key, const char *frag, GError **err)
{
	GError *why = NULL;
	GstElement *bin = recorder_fragment_parse(frag, &why);
	if (!bin) {
		g_propagate_prefixed_error(err, why, "[%s] %s: ", group, key);
		return -EINVAL;
	}
	gst_object_unref(gst_object_ref_sink(bin));
	return 0;
}

int recorder_camera_url_check(const char *url, GError **err)
{
	GUri *uri = g_uri_parse(url, G_URI_FLAGS_NONE, NULL);
	const char *scheme = uri ? g_uri_get_scheme(uri) : NULL;
	int rc = 0;
	if (!uri || !scheme ||
	    (g_ascii_strcasecmp(scheme, "rtsp") != 0 && g_ascii_strcasecmp(scheme, "rtsps") != 0) ||
	    !g_uri_get_host(uri) || !*g_uri_get_host(uri)) {
		/* Not quoted: a malformed URL may still hold a password. */
		g_set_error_literal(err, RECORDER_CONFIG_ERROR, EINVAL,
		                    "not an rtsp://host/path URL");
		rc = -EINVAL;
	} else if (g_uri_get_userinfo(uri)) {
		g_set_error(err, RECORDER_CONFIG_ERROR, EINVAL,
		            "rtsp://%s/...: a user name or password does not belong "
		            "in the URL; put them in the credentials file",
		            g_uri_get_host(uri));
		rc = -EINVAL;
	}
	if (uri)
		g_uri_unref(uri);
	return rc;
}

int recorder_credentials_load(const char *path, char **user, char **password, GError **err)
{
	*user = *password = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;
		g_set_error(err, RECORDER_CONFIG_ERROR, e == ENOENT ? ENOENT : EACCES, "%s: %s",
		            path, g_strerror(e));
		return e == ENOENT ? -ENOENT : -EACCES;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		g_set_error(err, RECORDER_CONFIG_ERROR, EINVAL, "%s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077)) {
		g_set_error(
		    err, RECORDER_CONFIG_ERROR, EACCES,
		    "%s: must be owned by the agent's user and readable by no one else (mode "
		    "%04o; chmod 600)",
		    path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -EACCES;
	}
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0 || n == (ssize_t)sizeof(buf) - 1) {
		g_set_error(err, RECORDER_CONFIG_ERROR, EINVAL,
		            "%s: unreadable or longer than 4 KiB", path);
		return -EINVAL;
	}
	buf[n] = '\0';
	int rc = 0;
	gchar **lines = g_strsplit(buf, "\n", -1);
	for (gchar **l = lines; *l && !rc; l++) {
		g_strchomp(*l); /* trailing blanks and \r; a password has none at its end */
		if (!**l || **l == '#')
			continue;
		char *eq = strchr(*l, '=');
		char **dst = NULL;
		if (eq && g_str_has_prefix(*l, "user=") )
			dst = user;
		else if (eq && g_str_has_prefix(*l, "password="))
			dst = password;
		if (!dst || *dst || !eq[1]) {
			g_set_error(err, RECORDER_CONFIG_ERROR, EINVAL,
			            "%s: line %d: expected user=NAME or password=SECRET, "
			            "once each",
			            path, (int)(l - lines) + 1);
			rc = -EINVAL;
			break;
		}
		*dst = g_strdup(eq + 1);
	}
	for (gchar **l = lines; *l; l++)
		memset(*l, 0, strlen(*l));
	g_strfreev(lines);
	memset(buf, 0, sizeof(buf));
	if (!rc && (!*user || !*password)) {
		g_set_error(err, RECORDER_CONFIG_ERROR, EINVAL,
		            "%s: needs both user= and password=", path);
		rc = -EINVAL;
	}
	if (rc) {
		if (*password)
			memset(*password, 0, strlen(*password));
		g_clear_pointer(user, g_free);
		g_clear_pointer(password, g_free);
	}
	return rc;
}

static void camera_config_free(struct camera_config *cam)
{
	if (!cam)
		return;
	if (cam->password)
		memset(cam->password, 0, strlen(cam->password));
	g_free(cam->password);
	g_free(cam->user);
	g_free(cam->url);
	g_free(cam->substream);
	g_free(cam);
}

/* Reads the url= group of keys of a camera stream into s->camera. */
static int load_camera(GKeyFile *kf, const char *group, struct stream_config *s, GError **err)
{
	struct camera_config *cam = g_new0(struct camera_config, 1);
	s->camera = cam;
	GError *why = NULL;
	cam->url = g_key_file_get_string(kf, group, "url", NULL);
	if (!cam->url) {
		g_set_error(err, RECORDER_CONFIG_ERROR, EINVAL, "[%s] url: unreadable", group);
		return -EINVAL;
	}
	if (recorder_camera_url_check(g_strstrip(cam->url), &why)) {
		g_propagate_prefixed_error(err, why, "[%s] url: ", group);
		return -EINVAL;
	}
	cam->substream = g_key_file_get_string(kf, group, "substream", NULL);
	if (cam->substream && recorder_camera_url_check(g_strstrip(cam->substream), &why)) {
		g_propagate_prefixed_error(err, why, "[%s] substream: ", group);
		return -EINVAL;
	}
	char *cred = g_key_file_get_string(kf, group, "credentials", NULL);
	if (cred) {
		int rc = recorder_credentials_load(g_strstrip(cred), &cam->user, &cam->password, &why);
		g_free(cred);
		if (rc) {
			/* A missing credentials file is a configuration fault here. */
			if (rc == -ENOENT)
				why->code = EINVAL;
			g_propagate_prefixed_error(err, why, "[%s] credentials: ", group);
			return rc == -ENOENT ? -EINVAL : rc;
		}
	}
	char *tr = g_key_file_get_string(kf, group, "transport", NULL);
	if (!tr || strcmp(g_strstrip(tr), "tcp") == 0) {
		cam->transport = CAMERA_TRANSPORT_TCP;
	} else if (strcmp(tr, "udp") == 0) {
		cam->transport = CAMERA_TRANSPORT_UDP;
	} else {
		g_set_error(err, RECORDER_CONFIG_ERROR, EINVAL,
		            "[%s] transport: '%s' is neither 'tcp' nor 'udp'", group, tr);
		g_free(tr);
		return -EINVAL;
	}
	g_free(tr);
	int64_t latency = 200;
	int rc = read_uint(kf, group, "latency_ms", 0, 10000, &latency, err);
	cam->latency_ms = (unsigned)latency;
	return rc;
}

static int load_stream(GKeyFile *kf, const char *group, struct stream_config *s, GError **err)
{
	const char *name = group + strlen(STREAM_PREFIX);
	if (!id_valid(name)) {
		g_set_error(err, RECORDER_CONFIG_ERROR, EINVAL,
		            "[%s]: stream name must match "
		            "^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$",
		            group);
		return -EINVAL;
	}
	s->name = g_strdup(name);
	static const char *const known[] = {
	    "source", "audio", "place", "seat", "segment_seconds", "lost_timeout_ms",
	    /* an RTSP camera */
	    "url", "substream", "credentials", "transport", "latency_ms"};
	static const char *const camera_only[] = {"substream", "credentials", "transport",
	                                          "latency_ms"};
	gchar **keys = g_key_file_get_keys(kf, group, NULL, NULL);
	for (gchar **k = keys; k && *k; k++) {
		gboolean ok = FALSE;
		for (size_t i = 0; i < G_N_ELEMENTS(known); i++)
			ok = ok || strcmp(*k, known[i]) == 0;
		if (!ok) {
			g_set_error(err, RECORDER_CONFIG_ERROR, EINVAL, "[%s] %s: unknown key",
			            group, *k);
			g_strfreev(keys);
			return -EINVAL;
		}
	}
	g_strfreev(keys);

	int rc;
	gboolean has_url = g_key_file_has_key(kf, group, "url", NULL);
	gboolean has_source = g_key_file_has_key(kf, group, "source", NULL);
	if (!has_url && !has_source) {
		g_set_error(err, RECORDER_CONFIG_ERROR, EINVAL,
		            "[%s] source: missing (or url= for an RTSP camera)", group);
		return -EINVAL;
	}
	if (has_url && has_source) {
		g_set_error(err, RECORDER_CONFIG_ERROR, EINVAL,
		            "[%s]: needs exactly one of url= (an RTSP camera) or "
		            "source= (a GStreamer fragment)",
		            group);
		return -EINVAL;
	}
	if (has_url) {
		if ((rc = load_camera(kf, group, s, err)))
			return rc;
	} else {
		for (size_t i = 0; i < G_N_ELEMENTS(camera_only); i++) {
			if (g_key_file_has_key(kf, group, camera_only[i], NULL)) {
				g_set_error(err, RECORDER_CONFIG_ERROR, EINVAL,
				            "[%s] %s: only a camera (url=) has it", group,
				            camera_only[i]);
				return -EINVAL;
			}
		}
		s->source = g_key_file_get_string(kf, group, "source", NULL);
		if (!s->source || !*g_strstrip(s->source)) {
			g_set_error(err, RECORDER_CONFIG_ERROR, EINVAL, "[%s] source: missing",
			            group);
			return -EINVAL;
		}
		if ((rc = check_fragment(group, "source", s->source, err)))
			return rc;
	}
	s->audio = g_key_file_get_string(kf, group, "audio", NULL);
	if (s->audio && !*g_strstrip(s->audio))
		g_clear_pointer(&s->audio, g_free);
	if (s->audio && (rc = check_fragment(group, "audio", s->audio, err)))
		return rc;

	char *place = g_key_file_get_string(kf, group, "place", NULL);
	if (!place || strcmp(place, "room") == 0) {
		s->place = STREAM_PLACE_ROOM;
	} else if (strcmp(place, "seat") == 0) {
		s->place = STREAM_PLACE_SEAT;
	} else {
		g_set_error(err, RECORDER_CONFIG_ERROR, EINVAL,
		            "[%s] place: '%s' is neither 'room' nor 'seat'", group, place);
		g_free(place);
		return -EINVAL;
	}
	g_free(place);
	s->seat = g_key_file_get_string(kf, group, "seat", NULL);
	if (s->place == STREAM_PLACE_SEAT && !id_valid(s->seat)) {
		g_set_error(err, RECORDER_CONFIG_ERROR, EINVAL,
		            "[%s] seat: a seat stream needs a valid seat id", group);
		return -EINVAL;
	}
	if (s->place == STREAM_PLACE_ROOM && s->seat) {
		g_set_error(err, RECORDER_CONFIG_ERROR, EINVAL,
		            "[%s] seat: only a seat stream has a seat", group);
		return -EINVAL;
	}

	int64_t seg_s = 4, lost = 3000;
	if ((rc = read_uint(kf, group, "segment_seconds", 1, 600, &seg_s, err)) ||
	    (rc = read_uint(kf, group, "lost_timeout_ms", 200, 600000, &lost, err)))
		return rc;
	s->segment_ms = (unsigned)seg_s * 1000;
	s->lost_ms = (unsigned)lost;
	return 0;
}

int recorder_config_from_keyfile(GKeyFile *kf, struct recorder_config **out, GError **err)
{
	int rc;
	struct recorder_config *cfg = g_new0(struct recorder_config, 1);
	const char *g = "recorder";
	if (!g_key_file_has_group(kf, g)) {
		g_set_error_literal(err, RECORDER_CONFIG_ERROR, EINVAL,
		                    "[recorder]: missing group");
		rc = -EINVAL;
		goto err_cfg;
	}
	cfg->spool_dir = g_key_file_get_string(kf, g, "spool_dir", NULL);
	if (!cfg->spool_dir || !g_path_is_absolute(cfg->spool_dir)) {
		g_set_error_literal(err, RECORDER_CONFIG_ERROR, EINVAL,
		                    "[recorder] spool_dir: missing or not an absolute path");
		rc = -EINVAL;
		goto err_cfg;
	}
	int64_t quota = 0, low = 80, min_free = 64 << 20, interval = 5000;
	int64_t ack_timeout = SHIPPER_ACK_TIMEOUT_DEFAULT_MS, kbit = 0;
	if ((rc = read_uint(kf, g, "quota_bytes", 0, INT64_MAX, &quota, err)) ||
	    (rc = read_uint(kf, g, "low_space_percent", 1, 99, &low, err)) ||
	    (rc = read_uint(kf, g, "min_free_bytes", 0, INT64_MAX, &min_free, err)) ||
	    (rc = read_uint(kf, g, "state_interval_ms", 100, 3600000, &interval, err)) ||
	    (rc = read_uint(kf, g, "ack_timeout_ms", 1000, SHIPPER_ACK_TIMEOUT_CAP_MS, &ack_timeout,
	                    err)) ||
	    (rc = read_uint(kf, g, "media_kbit", 0, RECORDER_MEDIA_KBIT_MAX, &kbit, err)))
		goto err_cfg;
	if (kbit > 0 && kbit < RECORDER_MEDIA_KBIT_MIN) {
		g_set_error(err, RECORDER_CONFIG_ERROR, EINVAL,
		            "[recorder] media_kbit: %" G_GINT64_FORMAT
		            " kbit/s is too little to ship a camera's recording; 0 (no limit) or at "
		            "least %d",
		            kbit, RECORDER_MEDIA_KBIT_MIN);
		rc = -EINVAL;
		goto err_cfg;
	}
	cfg->media_kbit = (unsigned)kbit;
	cfg->quota_bytes = quota;
	cfg->low_space_percent = (unsigned)low;
	cfg->min_free_bytes = min_free;
	cfg->state_interval_ms = (unsigned)interval;
	cfg->ack_timeout_ms = (unsigned)ack_timeout;

	gchar **groups = g_key_file_get_groups(kf, NULL);
	GArray *streams = g_array_new(FALSE, TRUE, sizeof(struct stream_config));
	for (gchar **gr = groups; *gr; gr++) {
		if (strcmp(*gr, "recorder") == 0 || !g_str_has_prefix(*gr, STREAM_PREFIX))
			continue;
		struct stream_config s = {0};
		rc = load_stream(kf, *gr, &s, err);
		g_array_append_val(streams, s); /* appended even on error so it is freed */
		if (rc)
			break;
		for (guint i = 0; i + 1 < streams->len; i++) {
			if (strcmp(g_array_index(streams, struct stream_config, i).name, s.name) ==
			    0) {
				g_set_error(err, RECORDER_CONFIG_ERROR, EINVAL,
				            "[%s]: duplicate stream name", *gr);
				rc = -EINVAL;
			}
		}
		if (rc)
			break;
	}
	g_strfreev(groups);
	cfg->n_streams = streams->len;
	cfg->streams = (struct stream_config *)g_array_free(streams, FALSE);
	if (!rc && cfg->n_streams == 0) {
		g_set_error_literal(err, RECORDER_CONFIG_ERROR, EINVAL, "no [stream NAME] group");
		rc = -EINVAL;
	}
	if (rc)
		goto err_cfg;
	*out = cfg;
	return 0;

err_cfg:
	recorder_config_free(cfg);
	return rc;
}

int recorder_config_load(const char *path, struct recorder_config **out, GError **err)
{
	GKeyFile *kf = g_key_file_new();
	GError *e = NULL;
	int rc;
	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &e)) {
		rc = e->domain == G_FILE_ERROR ? -ENOENT : -EINVAL;
		g_set_error(err, RECORDER_CONFIG_ERROR, -rc, "%s: %s", path, e->message);
		g_error_free(e);
		goto out;
	}
	rc = recorder_config_from_keyfile(kf, out, &e);
	if (rc)
		g_propagate_prefixed_error(err, e, "%s: ", path);
out:
	g_key_file_free(kf);
	return rc;
}

void recorder_config_free(struct recorder_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_streams; i++) {
		g_free(cfg->streams[i].name);
		g_free(cfg->streams[i].source);
		camera_config_free(cfg->streams[i].camera);
		g_free(cfg->streams[i].audio);
		g_free(cfg->streams[i].seat);
	}
	g_free(cfg->streams);
	g_free(cfg->spool_dir);
	g_free(cfg);
}
