/* fuzz_status: room agents' retained status messages through presence_handle_status.
 *
 * Input: byte 0 picks the room of the topic (room/<room>/status), the rest is the
 * payload. The controller already knows R101 as online. It has a state.db (empty, as a
 * controller before its site is imported): an agent that comes online with a fresh
 * status is sent its room's admission list and seat assignments from it, which for
 * these rooms is nothing.
 *
 * Invariants: a refused status publishes exactly one valid `error` naming the topic and
 * the agent, counts once in messages_refused and leaves every room as it was; an
 * accepted one publishes nothing and records exactly what the payload says (state,
 * online, the agent's ts), and only when the payload's identity is that room's agent. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "controller.h"
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

/* The accepted payload's state and ts, read without presence.c. */
static void expect_recorded(struct controller *c, const char *room, const uint8_t *payload,
                            size_t len)
{
	struct msg_envelope env;
	json_t *body = NULL;
	GError *err = NULL;
	if (msg_parse(payload, len, MSG_MAX_SIZE, &env, &body, &err) != 0)
		fuzz_fail("presence accepted a payload msg_parse refuses: %s", err->message);
	FUZZ_CHECK(strcmp(env.kind, "status") == 0, "presence accepted kind %s", env.kind);
	char agent[64];
	snprintf(agent, sizeof(agent), "agent-%s", room);
	const char *identity = json_string_value(json_object_get(body, "identity"));
	FUZZ_CHECK(identity && strcmp(identity, agent) == 0,
	           "status of %s accepted from identity %s", room, identity ? identity : "(none)");
	const char *state = json_string_value(json_object_get(body, "state"));
	struct room_presence *p = g_hash_table_lookup(c->rooms, room);
	FUZZ_CHECK(p && state, "accepted status of %s not recorded", room);
	FUZZ_CHECK(strcmp(p->state, state) == 0 && p->online == (strcmp(state, "online") == 0),
	           "room %s recorded %s/%d for state %s", room, p->state, p->online, state);
	FUZZ_CHECK(p->agent_ts == env.ts && p->since_us > 0, "room %s: ts not recorded", room);
	json_decref(body);
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
	c.state = fuzz_state_get(1000);
	c.node = node_new(&(struct node_config){.identity = "controller",
	                                        .version = "fuzz",
	                                        .status_topic = TOPIC_PREFIX "controller/status",
	                                        .error_topic = TOPIC_PREFIX "controller/error"});
	node_set_transport(c.node, &fuzz_capture_ops, &cap);
	presence_init(&c);
	static const char known[] = "{\"v\":1,\"kind\":\"status\",\"seq\":1,\"ts\":1,"
	                            "\"state\":\"online\",\"identity\":\"agent-R101\"}";
	presence_handle_status(&c, "R101", known, strlen(known));
	FUZZ_CHECK(cap.msgs->len == 0, "a valid status was refused");

	char topic[128], sender[64], *before = rooms_snapshot(&c);
	snprintf(topic, sizeof(topic), TOPIC_PREFIX "room/%s/status", room);
	snprintf(sender, sizeof(sender), "agent-%s", room);

	presence_handle_status(&c, room, payload, len);

	char *after = rooms_snapshot(&c);
	FUZZ_CHECK(cap.msgs->len <= 1, "%u messages published for one status", cap.msgs->len);
	if (cap.msgs->len == 1) {
		fuzz_check_error_message(cap.msgs->pdata[0], topic, sender);
		FUZZ_CHECK(strcmp(((struct fuzz_published *)cap.msgs->pdata[0])->topic,
		                  TOPIC_PREFIX "controller/error") == 0,
		           "refusal published elsewhere than controller/error");
		FUZZ_CHECK(node_refused(c.node) == 1, "messages_refused is %" G_GUINT64_FORMAT,
		           node_refused(c.node));
		FUZZ_CHECK(strcmp(before, after) == 0,
		           "a refused status changed the rooms: %s -> %s", before, after);
	} else if (len == 0) {
		FUZZ_CHECK(strcmp(before, after) == 0, "a cleared retained status changed rooms");
	} else {
		FUZZ_CHECK(node_refused(c.node) == 0, "counted as refused but nothing published");
		expect_recorded(&c, room, payload, len);
	}

	g_free(after);
	g_free(before);
	g_hash_table_unref(c.rooms);
	node_free(c.node);
	fuzz_capture_free(&cap);
	return 0;
}
