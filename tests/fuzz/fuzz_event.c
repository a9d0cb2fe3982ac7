/* fuzz_event: room agents' events (room/<room>/event) through events_handle, the
 * dispatcher to the per-kind event handlers of controller/daemon/events.c.
 *
 * Input: byte 0 picks the room of the topic, the rest is the payload.
 *
 * Invariants: a refused event publishes exactly one valid `error` naming the topic and
 * the agent, counts once in messages_refused and changes neither the rooms nor
 * state.db (audit log included); an accepted one publishes nothing, passes msg_parse
 * and has a kind some handler owns. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agents.h"
#include "controller.h"
#include "events.h"
#include "fuzz.h"
#include "fuzz_state.h"
#include "msg.h"
#include "presence.h"

static const char *const rooms[] = {"R101", "R102", "A-1"};

static char *rooms_snapshot(struct controller *c)
{
	json_t *r = presence_rooms_json(c);
	char *s = msg_dump(r, NULL);
	json_decref(r);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();
	if (size < 1)
		return 0;
	const char *room = rooms[data[0] % G_N_ELEMENTS(rooms)];
	const uint8_t *payload = data + 1;
	size_t len = size - 1;

	struct fuzz_capture cap;
	fuzz_capture_init(&cap);
	struct controller c = {0};
	c.node = node_new(&(struct node_config){.identity = "controller",
	                                        .version = "fuzz",
	                                        .status_topic = TOPIC_PREFIX "controller/status",
	                                        .error_topic = TOPIC_PREFIX "controller/error"});
	node_set_transport(c.node, &fuzz_capture_ops, &cap);
	c.state = fuzz_state_get(0);
	presence_init(&c);
	agents_init(&c);
	char topic[128], sender[64];
	snprintf(topic, sizeof(topic), TOPIC_PREFIX "room/%s/event", room);
	snprintf(sender, sizeof(sender), "agent-%s", room);
	int64_t audit_before = 0, audit_after = 0;
	char *before = rooms_snapshot(&c),
	     *state_before = fuzz_state_snapshot(c.state, &audit_before);

	events_handle(&c, room, payload, len);

	char *after = rooms_snapshot(&c), *state_after = fuzz_state_snapshot(c.state, &audit_after);
	FUZZ_CHECK(cap.msgs->len <= 1, "%u messages published for one event", cap.msgs->len);
	if (cap.msgs->len == 1) {
		struct fuzz_published *p = cap.msgs->pdata[0];
		FUZZ_CHECK(strcmp(p->topic, TOPIC_PREFIX "controller/error") == 0,
		           "refusal published on %s", p->topic);
		fuzz_check_error_message(p, topic, sender);
		FUZZ_CHECK(node_refused(c.node) == 1, "messages_refused is %" G_GUINT64_FORMAT,
		           node_refused(c.node));
		FUZZ_CHECK(strcmp(before, after) == 0 && strcmp(state_before, state_after) == 0 &&
		               audit_before == audit_after,
		           "a refused event changed state: %s -> %s", state_before, state_after);
	} else {
		FUZZ_CHECK(node_refused(c.node) == 0, "counted as refused but nothing published");
		struct msg_envelope env;
		json_t *body = NULL;
		GError *err = NULL;
		if (msg_parse(payload, len, MSG_MAX_SIZE, &env, &body, &err) != 0)
			fuzz_fail("an event msg_parse refuses was accepted: %s", err->message);
		json_decref(body);
	}
	g_free(state_after);
	g_free(after);
	g_free(state_before);
	g_free(before);
	agents_free(&c);
	g_hash_table_unref(c.rooms);
	node_free(c.node);
	fuzz_capture_free(&cap);
	return 0;
}
