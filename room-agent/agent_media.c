#include "agent_media.h"

#include <errno.h>
#include <gst/gst.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "msg.h"
#include "outbox.h"
#include "recorder.h"
#include "shipper.h"

struct agent_media {
	struct agent *agent;
	struct recorder_config *cfg;
	struct spool *spool;
	struct recorder *rec;
	struct shipper *ship;
	bool connected;
};

static int ship_publish(void *ctx, const char *topic, const void *payload, size_t len,
                        const struct mqtt_user_prop *props, size_t n)
{
	struct agent_media *m = ctx;
	if (!m->connected)
		return -ENOTCONN;
	return node_publish_props(m->agent->node, topic, payload, len, 1, false, props, n);
}

static const struct shipper_ops ship_ops = {.publish = ship_publish};

static void on_segment(void *ctx, const struct spool_segment *seg)
{
	struct agent_media *m = ctx;
	log_debug("media: %s segment %" G_GINT64_FORMAT " spooled (%" G_GINT64_FORMAT " bytes)",
	          seg->stream, seg->seq, seg->size);
	shipper_kick(m->ship);
}

static void on_state(void *ctx, const struct stream_status *st)
{
	struct agent_media *m = ctx;
	struct agent *a = m->agent;
	json_t *msg = node_msg_new(a->node, "stream.state");
	json_object_set_new(msg, "room", json_string(a->room));
	json_object_set_new(msg, "stream", json_string(st->stream));
	json_object_set_new(msg, "state", json_string(stream_state_name(st->state)));
	json_object_set_new(msg, "last_buffer_us", json_integer(st->last_buffer_us));
	json_object_set_new(msg, "bitrate_bps", json_integer(st->bitrate_bps));
	if (st->reason)
		json_object_set_new(msg, "reason", json_string(st->reason));
	if (st->live_audio) /* the console's page asks for sound only then (docs/live.md) */
		json_object_set_new(msg, "live_audio", json_true());
	/* Where the camera looks: the controller offers a seat's camera live only once
	 * someone is checked in at that seat (docs/live.md). */
	for (size_t i = 0; i < m->cfg->n_streams; i++) {
		const struct stream_config *sc = &m->cfg->streams[i];
		if (strcmp(sc->name, st->stream) != 0)
			continue;
		json_object_set_new(msg, "place", json_string(sc->place == STREAM_PLACE_SEAT ? "seat"
		                                                                             : "room"));
		if (sc->place == STREAM_PLACE_SEAT && sc->seat)
			json_object_set_new(msg, "seat", json_string(sc->seat));
	}
	if (st->state != STREAM_RECORDING)
		log_info("media: stream %s %s%s%s", st->stream, stream_state_name(st->state),
		         st->reason ? ": " : "", st->reason ? st->reason : "");
	outbox_push(a->outbox, a->topic_event, msg);
	json_decref(msg);
}

static void on_gap(void *ctx, const struct spool_gap *gap)
{
	struct agent_media *m = ctx;
	log_info("media: stream %s gap %s (%s)", gap->stream, gap->to_us < 0 ? "opened" : "closed",
	         gap_reason_name(gap->reason));
	shipper_kick(m->ship);
}

static void on_space(void *ctx, const struct space_report *r)
{
	struct agent_media *m = ctx;
	struct agent *a = m->agent;
	json_t *msg = node_msg_new(a->node, "spool.space");
	json_object_set_new(msg, "level", json_string(space_level_name(r->level)));
	json_object_set_new(msg, "used_bytes", json_integer(r->used_bytes));
	json_object_set_new(msg, "quota_bytes", json_integer(r->quota_bytes));
	json_object_set_new(msg, "fs_free_bytes", json_integer(r->fs_free_bytes));
	log_info("media: spool space %s (%" G_GINT64_FORMAT " bytes used)",
	         space_level_name(r->level), r->used_bytes);
	outbox_push(a->outbox, a->topic_event, msg);
	json_decref(msg);
}

/* A viewer whose browser went away: the controller records the view as closed. */
static void on_live_ended(void *ctx, const char *stream, const char *viewer, const char *reason)
{
	struct agent_media *m = ctx;
	struct agent *a = m->agent;
	log_info("live: viewer %s of %s ended: %s", viewer, stream, reason);
	json_t *msg = node_msg_new(a->node, "live.ended");
	json_object_set_new(msg, "stream", json_string(stream));
	json_object_set_new(msg, "viewer", json_string(viewer));
	json_object_set_new(msg, "reason", json_string(reason));
	outbox_push(a->outbox, a->topic_event, msg);
	json_decref(msg);
}

static const struct recorder_events rec_events = {on_segment, on_state, on_gap, on_space,
                                                  on_live_ended};

static bool has_streams(GKeyFile *kf)
{
	gchar **groups = g_key_file_get_groups(kf, NULL);
	bool found = false;
	for (gchar **g = groups; *g && !found; g++)
		found = g_str_has_prefix(*g, "stream ");
	g_strfreev(groups);
	return found;
}

struct agent_media *agent_media_new(struct agent *a, GError **err)
{
	GKeyFile *kf = config_keyfile(a->config);
	if (!has_streams(kf))
		return NULL;
	gst_init(NULL, NULL);
	struct agent_media *m = g_new0(struct agent_media, 1);
	m->agent = a;
	/* The media spool lives in the agent's spool directory unless configured apart. */
	char *media_dir = NULL;
	if (!g_key_file_has_key(kf, "recorder", "spool_dir", NULL)) {
		media_dir = g_build_filename(a->spool_dir, "media", NULL);
		g_key_file_set_string(kf, "recorder", "spool_dir", media_dir);
	}
	int rc = recorder_config_from_keyfile(kf, &m->cfg, err);
	if (rc != 0) {
		g_prefix_error(err, "%s: ", config_path(a->config));
		goto err_free;
	}
	if (g_mkdir_with_parents(m->cfg->spool_dir, 0700) != 0) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "media spool %s: %s",
		            m->cfg->spool_dir, g_strerror(errno));
		goto err_free;
	}
	char *db = g_build_filename(m->cfg->spool_dir, "spool.db", NULL);
	rc = spool_open(db, &m->spool);
	if (rc != 0) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "media spool %s: %s", db,
		            g_strerror(-rc));
		g_free(db);
		goto err_free;
	}
	g_free(db);
	struct shipper_options so = {.room = a->room,
	                             .seq = node_seq(a->node),
	                             .ack_timeout_ms = m->cfg->ack_timeout_ms,
	                             .clock = a->clock,
	                             .media_kbit = m->cfg->media_kbit};
	if ((rc = shipper_new(m->spool, &ship_ops, m, &so, &m->ship)) != 0 ||
	    (rc = recorder_new(m->cfg, m->spool, &rec_events, m, &m->rec)) != 0)
		goto err_recording;
	recorder_set_clock(m->rec, a->clock);
	if ((rc = recorder_start(m->rec)) != 0)
		goto err_recording;
	log_info("media: recording %zu stream(s) into %s", m->cfg->n_streams, m->cfg->spool_dir);
	if (m->cfg->media_kbit)
		log_info("media: shipping at most %u kbit/s ([recorder] media_kbit)",
		         m->cfg->media_kbit);
	g_free(media_dir);
	return m;
err_recording:
	g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "recording: %s", g_strerror(-rc));
err_free:
	g_free(media_dir);
	agent_media_free(m);
	return NULL;
}

struct spool *agent_media_spool(struct agent_media *m)
{
	return m ? m->spool : NULL;
}

const char *agent_media_dir(struct agent_media *m)
{
	return m ? m->cfg->spool_dir : NULL;
}

void agent_media_segment_spooled(struct agent_media *m)
{
	if (m)
		shipper_kick(m->ship);
}

void agent_media_stop(struct agent_media *m)
{
	if (m && m->rec)
		recorder_stop(m->rec);
}

void agent_media_free(struct agent_media *m)
{
	if (!m)
		return;
	if (m->rec)
		recorder_free(m->rec);
	if (m->ship)
		shipper_free(m->ship);
	if (m->spool)
		spool_free(m->spool);
	if (m->cfg)
		recorder_config_free(m->cfg);
	g_free(m);
}

void agent_media_connected(struct agent_media *m, bool connected)
{
	if (!m)
		return;
	m->connected = connected;
	/* Offline, everything unacknowledged waits for the reconnect's resend, not for its
	 * ack timeout (which would count and log resends that cannot be published). */
	shipper_reset_inflight(m->ship);
	if (connected)
		shipper_kick(m->ship);
}

int agent_media_handle_ack(struct agent_media *m, json_t *body, GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	const char *stream = msg_read_id(&r, "stream", true);
	bool is_gap = json_object_get(body, "gap_id") != NULL;
	int64_t id = msg_read_int(&r, is_gap ? "gap_id" : "segment_seq", true, 1, INT64_MAX, 0);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (!m)
		return 0; /* nothing recorded here: nothing to delete */
	int rc = is_gap ? shipper_ack_gap(m->ship, stream, id)
	                : shipper_ack_segment(m->ship, stream, id);
	if (rc == -EINVAL) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
		            "member 'gap_id': gap %" G_GINT64_FORMAT " is not of stream %s", id,
		            stream);
		return -EINVAL;
	}
	recorder_check_space(m->rec);
	shipper_kick(m->ship);
	return 0;
}

/* media.flush {before_us}: what recorded before BEFORE_US is not yet acknowledged by the
 * controller. The controller polls it (while the shipper keeps sending) until it is 0
 * before sealing a tender. */
static int media_flush(struct agent_media *m, json_t *args, json_t **result, GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, args, "args");
	int64_t before = msg_read_int(&r, "before_us", true, 0, INT64_MAX, 0);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	int64_t segments = 0, gaps = 0;
	if (m) {
		struct spool_segment *segs = NULL;
		size_t n = 0;
		if (spool_segment_list(m->spool, 1000000, &segs, &n) == 0)
			for (size_t i = 0; i < n; i++)
				segments += segs[i].start_us < before;
		g_free(segs);
		struct spool_gap *gl = NULL;
		if (spool_gap_list_closed(m->spool, 1000000, &gl, &n) == 0)
			for (size_t i = 0; i < n; i++)
				gaps += gl[i].from_us < before;
		g_free(gl);
		shipper_kick(m->ship);
	}
	*result = json_pack("{s:I, s:I, s:I}", "pending", (json_int_t)(segments + gaps), "segments",
	                    (json_int_t)segments, "gaps", (json_int_t)gaps);
	return 0;
}

int agent_media_command(struct agent_media *m, const char *command, json_t *args, json_t **result,
                        GError **err)
{
	if (strcmp(command, "media.flush") == 0)
		return media_flush(m, args, result, err);
	if (strcmp(command, "media.status") != 0)
		return -ENOENT;
	if (!m) {
		*result = json_pack("{s:i, s:i, s:i}", "streams", 0, "inflight", 0, "resends", 0);
		return 0;
	}
	int64_t bytes = 0, count = 0;
	spool_segment_totals(m->spool, &bytes, &count);
	*result = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "streams",
	                    (json_int_t)m->cfg->n_streams, "inflight",
	                    (json_int_t)shipper_inflight(m->ship), "resends",
	                    (json_int_t)shipper_resends(m->ship), "spooled_segments",
	                    (json_int_t)count, "spooled_bytes", (json_int_t)bytes, "media_kbit",
	                    (json_int_t)m->cfg->media_kbit, "bytes_sent",
	                    (json_int_t)shipper_bytes_sent(m->ship));
	return 0;
}

void agent_media_backlog(struct agent_media *m, int64_t *segments, int64_t *bytes)
{
	*segments = 0;
	*bytes = 0;
	if (m)
		spool_segment_totals(m->spool, bytes, segments);
}

struct recorder *agent_media_recorder(struct agent_media *m)
{
	return m ? m->rec : NULL;
}
