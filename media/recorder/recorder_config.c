#include "recorder_config.h"

#include "msg.h"
#include "shipper.h"

#include <errno.h>
#include <gst/gst.h>
#include <string.h>

#define STREAM_PREFIX "stream "

/* Reads an optional unsigned integer key within [min, max]. */
static int read_uint(GKeyFile *kf, const char *group, const char *key, int64_t min, int64_t max,
                     int64_t *val, char **errmsg)
{
	if (!g_key_file_has_key(kf, group, key, NULL))
		return 0;
	char *raw = g_key_file_get_value(kf, group, key, NULL);
	char *end = NULL;
	errno = 0;
	long long v = raw ? strtoll(g_strstrip(raw), &end, 10) : 0;
	gboolean ok = raw && *raw && end && *end == '\0' && errno == 0 && v >= min && v <= max;
	if (!ok)
		*errmsg = g_strdup_printf("[%s] %s: '%s' is not an integer in %" G_GINT64_FORMAT
		                          "..%" G_GINT64_FORMAT,
		                          group, key, raw ? raw : "", min, max);
	else
		*val = v;
	g_free(raw);
	return ok ? 0 : -EINVAL;
}

GstElement *recorder_fragment_parse(const char *frag, char **errmsg)
{
	GError *err = NULL;
	/* Not ghost_unlinked_pads: that would also ghost the sink pad of an element that
	 * waits for a demuxer's dynamic pad ("tsdemux ! h264parse") and break the link. */
	GstElement *bin = gst_parse_bin_from_description(frag, FALSE, &err);
	if (!bin) {
		*errmsg = g_strdup_printf("GStreamer cannot parse it: %s",
		                          err ? err->message : "unknown error");
		g_clear_error(&err);
		return NULL;
	}
	g_clear_error(&err);
	GstPad *pad = gst_bin_find_unlinked_pad(GST_BIN(bin), GST_PAD_SRC);
	if (!pad) {
		*errmsg = g_strdup("the fragment must end in one unlinked source pad (an "
		                   "encoded stream, e.g. '! h264parse')");
		gst_object_unref(gst_object_ref_sink(bin));
		return NULL;
	}
	gst_element_add_pad(bin, gst_ghost_pad_new("src", pad));
	gst_object_unref(pad);
	return bin;
}

static int check_fragment(const char *group, const char *key, const char *frag, char **errmsg)
{
	char *why = NULL;
	GstElement *bin = recorder_fragment_parse(frag, &why);
	if (!bin) {
		*errmsg = g_strdup_printf("[%s] %s: %s", group, key, why);
		g_free(why);
		return -EINVAL;
	}
	gst_object_unref(gst_object_ref_sink(bin));
	return 0;
}

static int load_stream(GKeyFile *kf, const char *group, struct stream_config *s, char **errmsg)
{
	const char *name = group + strlen(STREAM_PREFIX);
	if (!id_valid(name)) {
		*errmsg = g_strdup_printf("[%s]: stream name must match "
		                          "^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$",
		                          group);
		return -EINVAL;
	}
	s->name = g_strdup(name);
	static const char *const known[] = {"source", "audio",           "place",
	                                    "seat",   "segment_seconds", "lost_timeout_ms"};
	gchar **keys = g_key_file_get_keys(kf, group, NULL, NULL);
	for (gchar **k = keys; k && *k; k++) {
		gboolean ok = FALSE;
		for (size_t i = 0; i < G_N_ELEMENTS(known); i++)
			ok = ok || strcmp(*k, known[i]) == 0;
		if (!ok) {
			*errmsg = g_strdup_printf("[%s] %s: unknown key", group, *k);
			g_strfreev(keys);
			return -EINVAL;
		}
	}
	g_strfreev(keys);

	s->source = g_key_file_get_string(kf, group, "source", NULL);
	if (!s->source || !*g_strstrip(s->source)) {
		*errmsg = g_strdup_printf("[%s] source: missing", group);
		return -EINVAL;
	}
	int rc = check_fragment(group, "source", s->source, errmsg);
	if (rc)
		return rc;
	s->audio = g_key_file_get_string(kf, group, "audio", NULL);
	if (s->audio && !*g_strstrip(s->audio))
		g_clear_pointer(&s->audio, g_free);
	if (s->audio && (rc = check_fragment(group, "audio", s->audio, errmsg)))
		return rc;

	char *place = g_key_file_get_string(kf, group, "place", NULL);
	if (!place || strcmp(place, "room") == 0) {
		s->place = STREAM_PLACE_ROOM;
	} else if (strcmp(place, "seat") == 0) {
		s->place = STREAM_PLACE_SEAT;
	} else {
		*errmsg =
		    g_strdup_printf("[%s] place: '%s' is neither 'room' nor 'seat'", group, place);
		g_free(place);
		return -EINVAL;
	}
	g_free(place);
	s->seat = g_key_file_get_string(kf, group, "seat", NULL);
	if (s->place == STREAM_PLACE_SEAT && !id_valid(s->seat)) {
		*errmsg = g_strdup_printf("[%s] seat: a seat stream needs a valid seat id", group);
		return -EINVAL;
	}
	if (s->place == STREAM_PLACE_ROOM && s->seat) {
		*errmsg = g_strdup_printf("[%s] seat: only a seat stream has a seat", group);
		return -EINVAL;
	}

	int64_t seg_s = 4, lost = 3000;
	if ((rc = read_uint(kf, group, "segment_seconds", 1, 600, &seg_s, errmsg)) ||
	    (rc = read_uint(kf, group, "lost_timeout_ms", 200, 600000, &lost, errmsg)))
		return rc;
	s->segment_ms = (unsigned)seg_s * 1000;
	s->lost_ms = (unsigned)lost;
	return 0;
}

int recorder_config_from_keyfile(GKeyFile *kf, struct recorder_config **out, char **errmsg)
{
	int rc;
	struct recorder_config *cfg = g_new0(struct recorder_config, 1);
	*errmsg = NULL;
	const char *g = "recorder";
	if (!g_key_file_has_group(kf, g)) {
		*errmsg = g_strdup("[recorder]: missing group");
		rc = -EINVAL;
		goto err_cfg;
	}
	cfg->spool_dir = g_key_file_get_string(kf, g, "spool_dir", NULL);
	if (!cfg->spool_dir || !g_path_is_absolute(cfg->spool_dir)) {
		*errmsg = g_strdup("[recorder] spool_dir: missing or not an absolute path");
		rc = -EINVAL;
		goto err_cfg;
	}
	int64_t quota = 0, low = 80, min_free = 64 << 20, interval = 5000;
	int64_t ack_timeout = SHIPPER_ACK_TIMEOUT_DEFAULT_MS;
	if ((rc = read_uint(kf, g, "quota_bytes", 0, INT64_MAX, &quota, errmsg)) ||
	    (rc = read_uint(kf, g, "low_space_percent", 1, 99, &low, errmsg)) ||
	    (rc = read_uint(kf, g, "min_free_bytes", 0, INT64_MAX, &min_free, errmsg)) ||
	    (rc = read_uint(kf, g, "state_interval_ms", 100, 3600000, &interval, errmsg)) ||
	    (rc = read_uint(kf, g, "ack_timeout_ms", 1000, SHIPPER_ACK_TIMEOUT_CAP_MS, &ack_timeout,
	                    errmsg)))
		goto err_cfg;
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
		rc = load_stream(kf, *gr, &s, errmsg);
		g_array_append_val(streams, s); /* appended even on error so it is freed */
		if (rc)
			break;
		for (guint i = 0; i + 1 < streams->len; i++) {
			if (strcmp(g_array_index(streams, struct stream_config, i).name, s.name) ==
			    0) {
				*errmsg = g_strdup_printf("[%s]: duplicate stream name", *gr);
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
		*errmsg = g_strdup("no [stream NAME] group");
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

int recorder_config_load(const char *path, struct recorder_config **out, char **errmsg)
{
	GKeyFile *kf = g_key_file_new();
	GError *err = NULL;
	int rc;
	if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &err)) {
		*errmsg = g_strdup_printf("%s: %s", path, err->message);
		rc = err->domain == G_FILE_ERROR ? -ENOENT : -EINVAL;
		g_error_free(err);
		goto out;
	}
	char *inner = NULL;
	rc = recorder_config_from_keyfile(kf, out, &inner);
	if (rc) {
		*errmsg = g_strdup_printf("%s: %s", path, inner);
		g_free(inner);
	}
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
		g_free(cfg->streams[i].audio);
		g_free(cfg->streams[i].seat);
	}
	g_free(cfg->streams);
	g_free(cfg->spool_dir);
	g_free(cfg);
}
