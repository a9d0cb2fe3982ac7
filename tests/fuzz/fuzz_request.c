/* fuzz_request: operator, desk and auditor requests end to end through requests_handle,
 * on a controller whose transport is the capturing fake of fuzz_support.c.
 *
 * Input: byte 0 picks the requester (the CN of the topic, which the broker ties to the
 * certificate) and, with its top bit, whether room agents refuse the commands the
 * request sends them (door, lockdown); the rest is the payload. Each such command is
 * answered at once through agents_handle_reply, as the agent's reply would be. Every "@NOW" in the
 * payload becomes the current UTC time + 60 s in microseconds, so committed inputs reach the
 * handlers (past the expiry check) on any day they are replayed.
 *
 * Invariants: every command sent to an agent is a valid `cmd`; then exactly one response
 * to the requester, valid per schemas/json; at most one
 * `error` on controller/error, and only for a refused (invalid) payload, counted once in
 * messages_refused; only operator-, desk- and auditor- identities ever get ok:true, and
 * only for a valid request whose id the response repeats; a refusal changes no state;
 * a request answered once is answered again byte for byte, not executed twice.
 *
 * The controller's state.db is an in-memory database shared by the inputs (opening one
 * costs about 11 ms), reopened every STATE_REUSE inputs: refused requests grow the audit
 * log, and counting its rows for each snapshot slowed a 20000-input run to 150 exec/s. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agents.h"
#include "clock.h"
#include "controller.h"
#include "fuzz.h"
#include "fuzz_state.h"
#include "msg.h"
#include "presence.h"
#include "requests.h"

static const char *const requesters[] = {
    "operator-alice", "desk-1", "auditor-bob", "agent-R101", "terminal-R101-S1", "controller",
};

#define NOW_TOKEN   "@NOW"
#define STATE_REUSE 1000

/* Answer every `cmd` published to a room agent since message FROM as that agent would:
 * ok with a door status, or (REFUSE) an error. Returns how many were answered. */
static unsigned agents_answer(struct controller *c, struct fuzz_capture *cap, guint from,
                              bool refuse)
{
	GPtrArray *cmds = g_ptr_array_new_with_free_func(g_free);
	for (guint i = from; i < cap->msgs->len; i++) {
		struct fuzz_published *p = cap->msgs->pdata[i];
		char room[64];
		if (sscanf(p->topic, TOPIC_PREFIX "room/%63[^/]/cmd", room) != 1 ||
		    !g_str_has_suffix(p->topic, "/cmd"))
			continue;
		struct msg_envelope env;
		json_t *body = NULL;
		GError *err = NULL;
		if (msg_parse(p->payload, p->len, MSG_MAX_SIZE, &env, &body, &err) != 0)
			fuzz_fail("command to %s: %s", room, err->message);
		const char *id = json_string_value(json_object_get(body, "id"));
		FUZZ_CHECK(strcmp(env.kind, "cmd") == 0 && id && *id && p->qos == 1,
		           "command to %s is not a cmd with an id: %s", room, p->payload);
		g_ptr_array_add(cmds, g_strdup(room));
		g_ptr_array_add(cmds, g_strdup(id));
		json_decref(body);
	}
	static struct seq_counter agent_seq;
	for (guint i = 0; i < cmds->len; i += 2) {
		json_t *reply = msg_new("reply", &agent_seq);
		json_object_set_new(reply, "id", json_string(cmds->pdata[i + 1]));
		json_object_set_new(reply, "ok", json_boolean(!refuse));
		if (refuse)
			json_object_set_new(reply, "error", json_string("door fault"));
		else
			json_object_set_new(reply, "result", json_pack("{s:s}", "state", "locked"));
		size_t len;
		char *text = msg_dump(reply, &len);
		agents_handle_reply(c, cmds->pdata[i], text, len);
		g_free(text);
		json_decref(reply);
	}
	unsigned n = cmds->len / 2;
	g_ptr_array_unref(cmds);
	return n;
}

/* The payload with every NOW_TOKEN replaced (g_free). */
static char *payload_expand(const uint8_t *data, size_t size, size_t *out_len)
{
	char now[32];
	snprintf(now, sizeof(now), "%" G_GINT64_FORMAT,
	         (gint64)(clock_now_us() + 60 * G_USEC_PER_SEC));
	GString *s = g_string_sized_new(size + 16);
	size_t tl = strlen(NOW_TOKEN);
	for (size_t i = 0; i < size;) {
		if (size - i >= tl && memcmp(data + i, NOW_TOKEN, tl) == 0) {
			g_string_append(s, now);
			i += tl;
		} else {
			g_string_append_c(s, (char)data[i++]);
		}
	}
	*out_len = s->len;
	return g_string_free(s, FALSE);
}

static char *rooms_snapshot(struct controller *c)
{
	json_t *rooms = presence_rooms_json(c);
	char *s = msg_dump(rooms, NULL);
	json_decref(rooms);
	return s;
}

/* What the request's own members say, read independently of requests.c. */
static bool request_valid(const char *payload, size_t len, char *id, size_t id_size)
{
	struct msg_envelope env;
	json_t *body = NULL;
	GError *err = NULL;
	if (msg_parse(payload, len, MSG_MAX_SIZE, &env, &body, &err) != 0) {
		g_error_free(err);
		return false;
	}
	json_t *jid = json_object_get(body, "id");
	bool ok = strcmp(env.kind, "request") == 0 && json_is_string(jid);
	if (ok)
		g_strlcpy(id, json_string_value(jid), id_size);
	json_decref(body);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();
	if (size < 1)
		return 0;
	const char *requester = requesters[(data[0] & 0x7f) % G_N_ELEMENTS(requesters)];
	size_t len;
	char *payload = payload_expand(data + 1, size - 1, &len);

	struct fuzz_capture cap;
	fuzz_capture_init(&cap);
	struct controller c = {0};
	c.node = node_new(&(struct node_config){.identity = "controller",
	                                        .version = "fuzz",
	                                        .status_topic = TOPIC_PREFIX "controller/status",
	                                        .error_topic = TOPIC_PREFIX "controller/error"});
	node_set_transport(c.node, &fuzz_capture_ops, &cap);
	c.started_us = clock_now_us();
	c.state = fuzz_state_get(STATE_REUSE);
	fuzz_state_example_site(c.state);
	presence_init(&c);
	agents_init(&c);
	static const char status[] = "{\"v\":1,\"kind\":\"status\",\"seq\":1,\"ts\":1,"
	                             "\"state\":\"online\",\"identity\":\"agent-R101\"}";
	presence_handle_status(&c, "R101", status, strlen(status));
	FUZZ_CHECK(cap.msgs->len == 0, "a valid status was refused");

	char req_topic[128], resp_topic[128], *before = rooms_snapshot(&c);
	snprintf(req_topic, sizeof(req_topic), TOPIC_PREFIX "ctl/%s/req", requester);
	snprintf(resp_topic, sizeof(resp_topic), TOPIC_PREFIX "ctl/%s/resp", requester);
	uint64_t refused = node_refused(c.node);
	int64_t audit_before = 0, audit_after = 0;
	char *state_before = fuzz_state_snapshot(c.state, &audit_before);

	requests_handle(&c, requester, payload, len);
	unsigned ncmd = agents_answer(&c, &cap, 0, data[0] & 0x80);

	unsigned nresp = fuzz_capture_count(&cap, resp_topic);
	unsigned nerr = fuzz_capture_count(&cap, TOPIC_PREFIX "controller/error");
	FUZZ_CHECK(nresp == 1, "%u responses published, expected exactly 1", nresp);
	FUZZ_CHECK(nerr <= 1 && nresp + nerr + ncmd == cap.msgs->len,
	           "%u messages published (%u errors, %u commands) besides the response",
	           cap.msgs->len, nerr, ncmd);
	struct fuzz_published *resp = NULL;
	for (guint i = 0; i < cap.msgs->len; i++) {
		struct fuzz_published *p = cap.msgs->pdata[i];
		if (strcmp(p->topic, resp_topic) == 0)
			resp = p;
		else if (g_str_has_suffix(p->topic, "/error"))
			fuzz_check_error_message(p, req_topic, requester);
	}
	char id[64], req_id[64];
	bool ok = fuzz_check_response(resp, id, sizeof(id));
	FUZZ_CHECK(node_refused(c.node) - refused == nerr,
	           "messages_refused went up by %" G_GUINT64_FORMAT " for %u error messages",
	           node_refused(c.node) - refused, nerr);
	if (nerr)
		FUZZ_CHECK(!ok && strstr(resp->payload, "\"code\":\"invalid\""),
		           "an error event for a request that was not refused as invalid: %s",
		           resp->payload);
	if (ok) {
		FUZZ_CHECK(request_role_of(requester) != ROLE_NONE, "%s (no role) got ok: %s",
		           requester, resp->payload);
		FUZZ_CHECK(request_valid(payload, len, req_id, sizeof(req_id)),
		           "an invalid request got ok: %s", payload);
		FUZZ_CHECK(strcmp(id, req_id) == 0, "response id \"%s\" for request id \"%s\"", id,
		           req_id);
	}
	char *after = rooms_snapshot(&c);
	char *state_after = fuzz_state_snapshot(c.state, &audit_after);
	if (!ok) {
		FUZZ_CHECK(strcmp(before, after) == 0,
		           "a refused request changed the rooms: %s -> %s", before, after);
		FUZZ_CHECK(strcmp(state_before, state_after) == 0,
		           "a refused request changed state.db: %s -> %s", state_before,
		           state_after);
	}
	FUZZ_CHECK(audit_after - audit_before <= (nerr ? 0 : 1),
	           "%" G_GINT64_FORMAT " audit records for one request (%u error events)",
	           (gint64)(audit_after - audit_before), nerr);

	if (ok) {
		/* The same request again (a redelivery or a hostile replay). */
		char *first = g_strdup(resp->payload);
		fuzz_capture_clear(&cap);
		requests_handle(&c, requester, payload, len);
		FUZZ_CHECK(
		    cap.msgs->len == 1 &&
		        strcmp(((struct fuzz_published *)cap.msgs->pdata[0])->payload, first) == 0,
		    "a replayed request was not answered with the original response");
		g_free(first);
	}

	g_free(state_after);
	g_free(state_before);
	g_free(after);
	g_free(before);
	agents_free(&c);
	g_hash_table_unref(c.rooms);
	node_free(c.node);
	fuzz_capture_free(&cap);
	g_free(payload);
	return 0;
}
