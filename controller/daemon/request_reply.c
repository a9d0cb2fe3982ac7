/* Answers to operator, desk and auditor requests: the response message, the replay
 * cache entry, and the answer to a request that waited on an agent. */
#include "request_reply.h"

#include <string.h>

#include "clock.h"
#include "msg.h"
#include "ops.h"

/* Replay protection: a request id answered before gets the same answer again, from the
 * node's replay cache under the key "requester\nid" (requests.c looks it up). */
void request_reply_send(struct controller *c, const char *requester, const char *id,
                        int64_t expires, json_t *result, const GError *err)
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
	request_reply_send(c, d->requester, d->id, d->expires, result, err);
	json_decref(result);
	json_decref(d->args);
	g_free(d);
}
