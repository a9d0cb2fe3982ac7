/* Answers to operator, desk and auditor requests: the response message, the replay
 * cache entry, and the answer to a request that waited on an agent. */
#include "request_reply.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "msg.h"
#include "ops.h"
#include "state.h"

/* The answer M as kept in state.db: a door credential or login code it hands out (desk
 * checkin, readmit) is withheld, so no secret rests on disk; a resend after a restart
 * gets the answer without them (the desk readmits if the first answer was lost). */
static char *answer_at_rest(const json_t *m)
{
	static const char *const secrets[] = {"credential", "login_code"};
	json_t *copy = json_deep_copy(m), *result = json_object_get(copy, "result");

	for (size_t i = 0; i < G_N_ELEMENTS(secrets); i++)
		if (json_is_object(result) && json_object_get(result, secrets[i]))
			json_object_set_new(result, secrets[i], json_string("withheld"));
	char *text = json_dumps(copy, JSON_COMPACT);
	json_decref(copy);
	return text;
}

/* Replay protection: a request id answered before gets the same answer again. The node's
 * replay cache under the key "requester\nid" is the fast path for every answered id;
 * the answers to audited requests are also kept in state.db (state_answered_put) so they
 * survive a restart (requests.c consults both). */
void request_reply_send(struct controller *c, const char *requester, const char *id,
                        int64_t expires, bool durable, json_t *result, const GError *err)
{
	json_t *m = node_msg_new(c->node, "response");
	if (id)
		json_object_set_new(m, "id", json_string(id));
	json_object_set_new(m, "ok", json_boolean(err == NULL));
	if (err) {
		int code = err->domain == REQUEST_ERROR ? err->code : REQUEST_ERROR_INVALID;
		json_object_set_new(m, "error",
		                    json_pack("{s:s, s:s}", "code", request_error_code_name(code),
		                              "message", err->message));
	} else {
		json_object_set_new(m, "result", result ? json_incref(result) : json_object());
	}
	char topic[128];
	snprintf(topic, sizeof(topic), TOPIC_PREFIX "ctl/%s/resp", requester);
	size_t len;
	char *text = msg_dump(m, &len);
	/* A rate-limited answer goes at QoS 0: thousands of them must not fill the session's
	 * window of unacknowledged messages ahead of the other requesters' answers. */
	bool limited =
	    err && err->domain == REQUEST_ERROR && err->code == REQUEST_ERROR_RATE_LIMITED;
	node_publish_raw(c->node, topic, text, len, limited ? 0 : 1, false);
	if (id && expires > 0) {
		GError *serr = NULL;
		char *kept = durable ? answer_at_rest(m) : NULL;
		if (kept && state_answered_put(c->state, requester, id, expires, kept,
		                               clock_now_us(), &serr) != 0) {
			log_warnx("request %s from %s: answer not remembered across restarts: %s",
			          id, requester, serr->message);
			g_clear_error(&serr);
		}
		free(kept);
		char *key = g_strdup_printf("%s\n%s", requester, id);
		node_replay_keep(c->node, key, text, expires);
		g_free(key);
	}
	g_free(text);
	json_decref(m);
}

struct request *request_defer(const struct request *req)
{
	struct request *d = g_new(struct request, 1);
	*d = *req;
	d->args = json_incref(req->args);
	return d;
}

void request_finish(struct controller *c, struct request *d, json_t *result, const GError *err)
{
	if (d->audited)
		ops_audit_record(c->state, d, clock_now_us(), err);
	if (c->after_request)
		c->after_request(c, d, result, err);
	request_reply_send(c, d->requester, d->id, d->expires, d->audited, result, err);
	json_decref(result);
	json_decref(d->args);
	g_free(d);
}
