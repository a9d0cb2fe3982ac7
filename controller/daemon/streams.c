/* Recording health reported by the agents: stream.state and spool.space events. */
#include <errno.h>
#include <string.h>

#include "alerts.h"
#include "controller.h"
#include "live_view.h"
#include "log.h"
#include "msg.h"
#include "streams.h"

static const char *const stream_states[] = {"starting", "recording", "lost", "stopped", NULL};
static const char *const space_levels[] = {"ok", "low", "full", NULL};

static int event_stream_state(struct controller *c, const char *room,
                              const struct msg_envelope *env, json_t *body, GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	const char *from = msg_read_id(&r, "room", true);
	const char *stream = msg_read_id(&r, "stream", true);
	msg_read_string(&r, "place", false, 8);
	const char *seat = msg_read_id(&r, "seat", false);
	int state = msg_read_enum(&r, "state", true, stream_states);
	msg_read_int(&r, "last_buffer_us", true, -1, INT64_MAX, 0);
	msg_read_int(&r, "bitrate_bps", true, 0, INT64_MAX, 0);
	const char *reason = msg_read_string(&r, "reason", false, 64);
	bool live_audio = msg_read_bool(&r, "live_audio", false, false);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (strcmp(from, room) != 0) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
		            "member 'room': \"%s\" is not the sender's room", from);
		return -EINVAL;
	}
	if (state != 1)
		log_info("room %s: stream %s %s%s%s", room, stream, stream_states[state],
		         reason ? ": " : "", reason ? reason : "");
	alerts_stream_state(c, room, stream, seat, stream_states[state], reason);
	live_view_note_stream(c, room, stream, seat, stream_states[state], live_audio);
	return 0;
}

static int event_spool_space(struct controller *c, const char *room, const struct msg_envelope *env,
                             json_t *body, GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	int level = msg_read_enum(&r, "level", true, space_levels);
	int64_t used = msg_read_int(&r, "used_bytes", true, 0, INT64_MAX, 0);
	int64_t quota = msg_read_int(&r, "quota_bytes", true, 0, INT64_MAX, 0);
	msg_read_int(&r, "fs_free_bytes", true, 0, INT64_MAX, 0);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	log_info("room %s: spool space %s (%" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " bytes)",
	         room, space_levels[level], used, quota);
	alerts_spool_space(c, room, space_levels[level], used, quota);
	return 0;
}

const struct event_handler stream_event_handlers[] = {
    {"stream.state", event_stream_state},
    {"spool.space", event_spool_space},
    {NULL, NULL},
};
