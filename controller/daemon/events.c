/* Events from room agents (room/<room>/event): validated per kind, then handed to the
 * module that owns the kind. An unknown kind or a bad member is refused with an error
 * message on controller/error and changes nothing. */
#include <errno.h>
#include <string.h>

#include "agents.h"
#include "archives.h"
#include "calls.h"
#include "ingest.h"
#include "clock.h"
#include "controller.h"
#include "events.h"
#include "doors.h"
#include "seats.h"
#include "state.h"
#include "streams.h"
#include "live_view.h"
#include "log.h"
#include "msg.h"

/* An agent telling us it refused something (e.g. a command it could not parse). */
static int event_agent_error(struct controller *c, const char *room, const struct msg_envelope *env,
                             json_t *body, GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	const char *topic = msg_read_string(&r, "topic", true, 256);
	const char *sender = msg_read_string(&r, "sender", true, 64);
	const char *fault = msg_read_string(&r, "fault", true, 1024);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	log_warnx("room %s: agent refused a message on %s from %s: %s", room, topic, sender, fault);
	return 0;
}

static const struct event_handler core_event_handlers[] = {
    {"error", event_agent_error},
    {NULL, NULL},
};

static const struct event_handler *const event_tables[] = {
	core_event_handlers,
	door_event_handlers,
	seat_event_handlers,
	stream_event_handlers,
	live_event_handlers,
	call_event_handlers,
};

void events_handle(struct controller *c, const char *room, const void *payload, size_t len)
{
	char topic[128], sender[64];
	snprintf(topic, sizeof(topic), TOPIC_PREFIX "room/%s/event", room);
	snprintf(sender, sizeof(sender), "agent-%s", room);
	struct msg_envelope env;
	json_t *body = NULL;
	GError *err = NULL;
	if (msg_parse(payload, len, MSG_MAX_SIZE, &env, &body, &err) != 0)
		goto refuse;
	if (strcmp(env.kind, "stream.gap") == 0) {
		/* Not an outbox event: the shipper's gaps are acknowledged by segment.ack
		 * {gap_id} once archived (ingest.c), never by the outbox's events.ack. */
		ingest_handle_gap(c, room, &env, body);
		json_decref(body);
		return;
	}
	/* (room, seq) is the event's identity: the agent replays its outbox after every
	 * reconnect, and a replayed event is acknowledged again but never acted on twice. */
	bool seen = false;
	if (state_agent_event_seen(c->state, room, (int64_t)env.seq, &seen, &err) != 0) {
		log_warnx("room %s: event %" G_GUINT64_FORMAT " not processed now: %s", room,
			  env.seq, err->message);
		g_clear_error(&err);
		json_decref(body);
		return; /* not acknowledged: the agent sends it again */
	}
	if (seen) {
		agents_ack_event(c, room, env.seq);
		json_decref(body);
		return;
	}
	for (size_t t = 0; t < G_N_ELEMENTS(event_tables); t++)
		for (const struct event_handler *h = event_tables[t]; h->kind; h++)
			if (strcmp(h->kind, env.kind) == 0) {
				if (h->fn(c, room, &env, body, &err) != 0)
					goto refuse_ack;
				char *text = g_strndup(payload, len);
				if (state_agent_event_add(c->state, room, (int64_t)env.seq,
							  env.kind, env.ts, clock_now_us(), text,
							  &err) != 0) {
					log_warnx("room %s: %s", room, err->message);
					g_clear_error(&err);
				}
				archives_on_agent_event(c, room, env.kind, env.ts, body);
				g_free(text);
				agents_ack_event(c, room, env.seq);
				json_decref(body);
				return;
			}
	g_set_error(&err, MSG_ERROR, MSG_ERROR_INVALID,
		    "kind \"%s\" is not allowed on an event topic", env.kind);
refuse_ack:
	/* A refused event is reported and acknowledged: sending it again cannot help. */
	agents_ack_event(c, room, env.seq);
refuse:
	node_report_error(c->node, topic, sender, err);
	g_clear_error(&err);
	json_decref(body);
}
