/* Dispatch of operator, desk and auditor requests (see request.h): a rate limit per
 * requester, validation at the edge, role check, replay protection, the operator audit,
 * and the response. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "archive_disk.h"
#include "archives.h"
#include "keys.h"
#include "checkin.h"
#include "clock.h"
#include "controller.h"
#include "custody.h"
#include "calls.h"
#include "live_view.h"
#include "archive_cosign.h"
#include "archive_fetch.h"
#include "archive_transfer.h"
#include "doors.h"
#include "evidence_holds.h"
#include "log.h"
#include "msg.h"
#include "ops.h"
#include "presence.h"
#include "request_handler.h"
#include "request_reply.h"
#include "requests.h"
#include "seats.h"
#include "staff.h"
#include "venue_select.h"
#include "state.h"
#include "venues.h"
#include "view.h"
#include "watch.h"

#define REQUEST_MAX_LIFETIME_US (10 * 60 * G_USEC_PER_SEC)
#define RATE_WARN_INTERVAL_US   (10 * G_USEC_PER_SEC)

/* ---- core handlers ---- */

static int handle_status(struct controller *c, const struct request *req, json_t **result,
                         GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	unsigned online = 0;
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, c->rooms);
	while (g_hash_table_iter_next(&it, NULL, &v))
		online += ((struct room_presence *)v)->online;
	*result =
	    json_pack("{s:s, s:I, s:I, s:b, s:o, s:i, s:I}", "controller", "online", "started",
	              (json_int_t)c->started_us, "now", (json_int_t)clock_now_us(), "connected",
	              c->connected, "rooms", presence_rooms_json(c), "agents_online", online,
	              "messages_refused", (json_int_t)node_refused(c->node));
	json_t *alerts = alerts_counts_json(c);
	if (alerts)
		json_object_set_new(*result, "alerts", alerts);
	json_t *disk = archive_disk_json(c);
	if (disk)
		json_object_set_new(*result, "archive_disk", disk);
	return 0;
}

static const struct request_handler core_handlers[] = {
    {"status", ROLE_OPERATOR | ROLE_DESK | ROLE_AUDITOR, handle_status, false},
    {NULL, 0, NULL, false},
};

static const struct request_handler *const handler_tables[] = {
    core_handlers,          door_request_handlers, archives_request_handlers,
    alert_request_handlers, view_request_handlers, venue_request_handlers, checkin_request_handlers,
    seat_request_handlers,  custody_request_handlers, fetch_request_handlers, watch_request_handlers,
    transfer_request_handlers,
    staff_request_handlers,
    venue_select_request_handlers,
    live_request_handlers,
    call_request_handlers,
    evidence_request_handlers,
    cosign_request_handlers,
    keys_request_handlers,
};

static const struct request_handler *handler_find(const char *command)
{
	for (size_t t = 0; t < G_N_ELEMENTS(handler_tables); t++)
		for (const struct request_handler *h = handler_tables[t]; h->command; h++)
			if (strcmp(h->command, command) == 0)
				return h;
	return NULL;
}

/* ---- fairness: a token bucket per requester (certificate CN) ----
 *
 * Requests are handled one at a time on the main loop, many with a durable write; one
 * identity sending thousands would hold up everyone else's. Each identity may send a
 * burst of cfg.request_burst, then cfg.request_refill_per_s a second; beyond that a
 * request is answered at once (rate_limited, with the time to wait) and nothing else
 * happens: no audit, no state, no error report. Tokens are counted in millionths, so
 * the refill is exact in integers. */

struct rate_bucket {
	int64_t micro_tokens;
	int64_t refilled_us; /* monotonic */
	int64_t warned_us;   /* monotonic time of the last warning; 0: none yet */
	uint64_t refused;    /* since the last warning */
};

static GHashTable *buckets; /* certificate CN -> struct rate_bucket; bounded by the CA */

static bool rate_limit_on(const struct controller_config *cfg)
{
	return cfg->request_burst > 0 && cfg->request_refill_per_s > 0;
}

/* rate_take: take one token of REQUESTER's bucket at monotonic time NOW. Returns 0, or
 * the microseconds until the next token (nothing taken). */
static int64_t rate_take(const struct controller_config *cfg, const char *requester, int64_t now)
{
	int64_t full = cfg->request_burst * G_USEC_PER_SEC, rate = cfg->request_refill_per_s;
	struct rate_bucket *b = g_hash_table_lookup(buckets, requester);

	if (!b) {
		b = g_new0(struct rate_bucket, 1);
		b->micro_tokens = full;
		b->refilled_us = now;
		g_hash_table_insert(buckets, g_strdup(requester), b);
	}
	/* Capped first: after FULL microseconds any bucket is full (rate >= 1), and the
	 * product stays far from overflow. */
	int64_t elapsed = MIN(now - b->refilled_us, full);
	b->micro_tokens = MIN(full, b->micro_tokens + elapsed * rate);
	b->refilled_us = now;
	if (b->micro_tokens >= G_USEC_PER_SEC) {
		b->micro_tokens -= G_USEC_PER_SEC;
		return 0;
	}
	return (G_USEC_PER_SEC - b->micro_tokens + rate - 1) / rate;
}

/* One warning per identity per RATE_WARN_INTERVAL_US, counting the refusals between. */
static void rate_warn(const struct controller_config *cfg, const char *requester, int64_t now)
{
	struct rate_bucket *b = g_hash_table_lookup(buckets, requester);

	b->refused++;
	if (b->warned_us && now - b->warned_us < RATE_WARN_INTERVAL_US)
		return;
	log_warnx("requests from %s rate limited: more than %" G_GINT64_FORMAT
	          " requests/s (burst %" G_GINT64_FORMAT "); %" G_GUINT64_FORMAT " refused%s",
	          requester, cfg->request_refill_per_s, cfg->request_burst, b->refused,
	          b->warned_us ? " since the last warning" : "");
	b->warned_us = now;
	b->refused = 0;
}

/* The id of PAYLOAD if it is a request that has one, into ID (empty otherwise). */
static void request_peek_id(const void *payload, size_t len, char *id, size_t size)
{
	struct msg_envelope env;
	json_t *body = NULL;

	*id = '\0';
	if (msg_parse_kind(payload, len, MSG_MAX_REQUEST_SIZE, "request", "request", &env, &body,
	                   NULL) == 0) {
		const char *s = json_string_value(json_object_get(body, "id"));
		if (s && strlen(s) < size)
			g_strlcpy(id, s, size);
	}
	json_decref(body);
}

/* requests_admit: whether REQUESTER may have this request handled now; if not, it has
 * been answered (rate_limited, not remembered as an answer: a retry with the same id
 * runs) and logged at most once per RATE_WARN_INTERVAL_US. */
static bool requests_admit(struct controller *c, const char *requester, const void *payload,
                           size_t len)
{
	int64_t now = clock_mono_us(), wait_us;
	char id[64];

	if (!rate_limit_on(&c->cfg))
		return true;
	if (!buckets)
		buckets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	wait_us = rate_take(&c->cfg, requester, now);
	if (wait_us == 0)
		return true;
	rate_warn(&c->cfg, requester, now);
	request_peek_id(payload, len, id, sizeof(id));
	GError *err = g_error_new(REQUEST_ERROR, REQUEST_ERROR_RATE_LIMITED,
	                          "rate limited: more than %" G_GINT64_FORMAT
	                          " requests/s from %s; retry after %" G_GINT64_FORMAT " ms",
	                          c->cfg.request_refill_per_s, requester, (wait_us + 999) / 1000);
	request_reply_send(c, requester, *id ? id : NULL, 0, false, NULL, err);
	g_error_free(err);
	return false;
}

void requests_handle(struct controller *c, const char *requester, const void *payload, size_t len)
{
	struct msg_envelope env;
	json_t *body = NULL, *result = NULL;
	GError *err = NULL;
	struct request req = {0};
	char topic[128];
	bool audited = false, rc_ran = false, bulk = false;

	if (!requests_admit(c, requester, payload, len))
		return;
	snprintf(topic, sizeof(topic), TOPIC_PREFIX "ctl/%s/req", requester);

	if (msg_parse_kind(payload, len, MSG_MAX_REQUEST_SIZE, "request", "request", &env, &body,
	                   &err) != 0)
		goto refuse;
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	const char *id = msg_read_string(&r, "id", true, sizeof(req.id) - 1);
	const char *command = msg_read_string(&r, "command", true, sizeof(req.command) - 1);
	req.expires = msg_read_int(&r, "expires", true, 0, INT64_MAX, 0);
	json_t *args = msg_read_object(&r, "args", false);
	if (id)
		g_strlcpy(req.id, id, sizeof(req.id));
	if (msg_reader_finish(&r, &err) != 0)
		goto refuse;
	if (!*req.id) {
		g_set_error(&err, MSG_ERROR, MSG_ERROR_INVALID, "member 'id': empty");
		goto refuse;
	}
	g_strlcpy(req.requester, requester, sizeof(req.requester));
	g_strlcpy(req.command, command, sizeof(req.command));
	req.role = request_role_of(requester);
	req.args = args ? args : json_object();
	if (!args)
		json_object_set_new(body, "args", req.args);

	char *key = g_strdup_printf("%s\n%s", requester, req.id);
	const char *seen = node_replay_find(c->node, key, clock_source_now_us(c->clock));
	g_free(key);
	char *stored = NULL;
	if (!seen)
		state_answered_get(c->state, requester, req.id, clock_source_now_us(c->clock),
		                   &stored, NULL);
	if (seen || stored) {
		/* A replay (reconnect, duplicate delivery, a broker redelivery after a restart
		 * or a hostile resend) is answered with the original answer and never executed
		 * twice. */
		const char *text = seen ? seen : stored;
		snprintf(topic, sizeof(topic), TOPIC_PREFIX "ctl/%s/resp", requester);
		log_info("request %s from %s was answered before: not run again", req.id,
		         requester);
		node_publish_raw(c->node, topic, text, strlen(text), 1, false);
		g_free(stored);
		json_decref(body);
		return;
	}
	int64_t now = clock_source_now_us(c->clock);
	if (req.expires < now) {
		g_set_error(&err, REQUEST_ERROR, REQUEST_ERROR_EXPIRED,
		            "request %s expired %.1f s ago: not executed", req.id,
		            (double)(now - req.expires) / 1e6);
		goto answer;
	}
	if (req.expires > now + REQUEST_MAX_LIFETIME_US) {
		g_set_error(&err, REQUEST_ERROR, REQUEST_ERROR_INVALID,
		            "member 'expires': more than 10 minutes ahead");
		goto answer;
	}
	const struct request_handler *h = handler_find(req.command);
	if (h && (h->roles & REQUEST_LOCAL))
		h = NULL; /* the console's own, never from the broker */
	const struct ops_entry *op = h ? NULL : ops_find(req.command);
	if (!h && !op) {
		g_set_error(&err, REQUEST_ERROR, REQUEST_ERROR_INVALID, "unknown command \"%s\"",
		            req.command);
		goto answer;
	}
	req.audited = audited = h ? h->audited : op->audited;
	bulk = h && (h->roles & REQUEST_BULK);
	if (!((h ? h->roles : op->roles) & req.role)) {
		g_set_error(&err, REQUEST_ERROR, REQUEST_ERROR_DENIED, "%s may not run \"%s\"",
		            requester, req.command);
		goto answer;
	}
	int rc = h ? h->fn(c, &req, &result, &err) : op->fn(c->state, &req, &result, &err);
	rc_ran = true;
	if (rc == REQUEST_PENDING) {
		json_decref(body);
		return;
	}
	if (rc != 0 && !err)
		g_set_error(&err, REQUEST_ERROR, REQUEST_ERROR_INTERNAL, "%s: %s", req.command,
		            g_strerror(-rc));
answer:
	if (err)
		log_info("request %s from %s refused: %s", req.command, requester, err->message);
	/* Every state-changing command is recorded with the identity that sent it, refused
	 * ones too (a denied or expired try is worth knowing). */
	if (audited ||
	    (err && err->domain == REQUEST_ERROR &&
	     (err->code == REQUEST_ERROR_DENIED || err->code == REQUEST_ERROR_EXPIRED))) {
		ops_audit_record(c->state, &req, clock_now_us(), err);
	}
	if (rc_ran && c->after_request)
		c->after_request(c, &req, result, err);
	request_reply_send(c, requester, req.id, bulk ? 0 : req.expires, audited, result, err);
	g_clear_error(&err);
	json_decref(result);
	json_decref(body);
	return;
refuse:
	/* Answer the requester (it may be waiting) and tell the operators; the report
	 * also counts the refusal in messages_refused. */
	request_reply_send(c, requester, *req.id ? req.id : NULL, 0, false, NULL, err);
	node_report_error(c->node, topic, requester, err);
	g_clear_error(&err);
	json_decref(body);
}

/* The commands whose handlers never defer their answer (REQUEST_PENDING): the only ones a
 * local front door may run, as it has no response topic for a later answer. */
static const char *const local_commands[] = {"rooms", "alerts.list", "alert.ack", "alert.resolve",
                                             "live.streams", "live.open", "live.close",
                                             "console.opened", "call.list", "call.answer",
                                             "call.hangup", NULL};

int requests_run_local(struct controller *c, const char *requester, const char *command,
                       json_t *args, json_t **result, GError **err)
{
	static uint64_t counter;
	struct request req = {0};
	GError *e = NULL;
	int rc;

	*result = NULL;
	if (!g_strv_contains(local_commands, command)) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_INVALID,
		            "\"%s\" is not available here", command);
		return -EINVAL;
	}
	const struct request_handler *h = handler_find(command);
	if (!h || strlen(requester) >= sizeof(req.requester)) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_INTERNAL, "%s: no handler", command);
		return -EINVAL;
	}
	g_strlcpy(req.requester, requester, sizeof(req.requester));
	g_strlcpy(req.command, command, sizeof(req.command));
	snprintf(req.id, sizeof(req.id), "console-%" G_GUINT64_FORMAT, ++counter);
	req.expires = clock_source_now_us(c->clock) + 60 * G_USEC_PER_SEC;
	req.role = request_role_of(requester);
	req.args = args;
	req.audited = h->audited;
	if (h->audited && rate_limit_on(&c->cfg)) {
		int64_t now = clock_mono_us();
		if (!buckets)
			buckets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
		int64_t wait_us = rate_take(&c->cfg, requester, now);
		if (wait_us) {
			rate_warn(&c->cfg, requester, now);
			g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_RATE_LIMITED,
			            "rate limited: retry after %" G_GINT64_FORMAT " ms",
			            (wait_us + 999) / 1000);
			return -EAGAIN;
		}
	}
	if (!(h->roles & req.role)) {
		g_set_error(&e, REQUEST_ERROR, REQUEST_ERROR_DENIED, "%s may not run \"%s\"",
		            requester, command);
		rc = -EACCES;
	} else {
		rc = h->fn(c, &req, result, &e);
		if (rc == REQUEST_PENDING) /* not in local_commands: a handler changed */
			log_errx("request %s answered later: not supported from the console",
			         command);
		if (rc != 0 && !e)
			g_set_error(&e, REQUEST_ERROR, REQUEST_ERROR_INTERNAL, "%s: %s", command,
			            g_strerror(rc > 0 ? EINVAL : -rc));
		if (c->after_request)
			c->after_request(c, &req, *result, e);
	}
	if (e)
		log_info("request %s from %s (web console) refused: %s", command, requester,
		         e->message);
	if (h->audited || (e && e->domain == REQUEST_ERROR &&
	                   (e->code == REQUEST_ERROR_DENIED || e->code == REQUEST_ERROR_EXPIRED)))
		ops_audit_record(c->state, &req, clock_now_us(), e);
	if (e) {
		json_decref(*result);
		*result = NULL;
		g_propagate_error(err, e);
		return rc < 0 ? rc : -EINVAL;
	}
	return 0;
}
