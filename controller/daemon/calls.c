/* The recorded call from the controller's side (calls.h). */
#include "calls.h"

#include <errno.h>
#include <string.h>

#include "agents.h"
#include "archives.h"
#include "clock.h"
#include "controller.h"
#include "log.h"
#include "msg.h"
#include "route.h"

#define OFFER_TIMEOUT_MS 30000

enum call_state { CALL_RINGING, CALL_CONNECTING, CALL_UP };
static const char *const call_state_names[] = {"ringing", "connecting", "up"};

struct call {
	char id[32];
	char room[STATE_ID_SIZE], seat[STATE_ID_SIZE];
	char tender[STATE_ID_SIZE];
	char person[STATE_ID_SIZE]; /* "" when the help key was pressed outside a session */
	char rang_by[64];           /* "seat" or the identity that placed the call */
	char answered_by[64];       /* "" while it rings */
	enum call_state state;
	int64_t ring_us, answer_us;
};

/* "room/seat" -> struct call, kept in c->calls. */
static GHashTable *calls_of(struct controller *c)
{
	if (!c->calls)
		c->calls = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return c->calls;
}

static struct call *call_find(struct controller *c, const char *room, const char *seat)
{
	char *key = g_strdup_printf("%s/%s", room, seat);
	struct call *k = g_hash_table_lookup(calls_of(c), key);
	g_free(key);
	return k;
}

static void call_remove(struct controller *c, const struct call *k)
{
	char *key = g_strdup_printf("%s/%s", k->room, k->seat);
	g_hash_table_remove(calls_of(c), key);
	g_free(key);
}

void calls_free(struct controller *c)
{
	if (c->calls)
		g_hash_table_destroy(c->calls);
	c->calls = NULL;
}

/* call_event: KIND (call.ring, call.answer, call.hangup) of K in its tender's archive,
 * with BY (who did it) and REASON (may be NULL). */
static void call_event(struct controller *c, const struct call *k, const char *kind, const char *by,
                       const char *reason, int64_t at_us)
{
	json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:s}", "call", k->id, "room", k->room, "seat",
	                         k->seat, "tender", k->tender, "by", by);
	if (k->person[0])
		json_object_set_new(body, "person", json_string(k->person));
	if (reason)
		json_object_set_new(body, "reason", json_string(reason));
	log_info("call %s of %s/%s (tender %s): %s by %s%s%s", k->id, k->room, k->seat, k->tender,
	         kind, by, reason ? ": " : "", reason ? reason : "");
	if (c->archives)
		archives_event(c, k->tender, at_us, kind, "controller", body);
	else
		json_decref(body);
}

/* call_new: a ringing call of SEAT in ROOM for TENDER, rung by BY (call.ring recorded). */
static struct call *call_new(struct controller *c, const char *room, const char *seat,
                             const char *tender, const char *person, const char *by,
                             int64_t at_us)
{
	static uint64_t counter;
	struct call *k = g_new0(struct call, 1);
	snprintf(k->id, sizeof(k->id), "c%" G_GUINT64_FORMAT "-%08x", ++counter, g_random_int());
	g_strlcpy(k->room, room, sizeof(k->room));
	g_strlcpy(k->seat, seat, sizeof(k->seat));
	g_strlcpy(k->tender, tender, sizeof(k->tender));
	g_strlcpy(k->person, person ? person : "", sizeof(k->person));
	g_strlcpy(k->rang_by, by, sizeof(k->rang_by));
	k->state = CALL_RINGING;
	k->ring_us = at_us;
	g_hash_table_insert(calls_of(c), g_strdup_printf("%s/%s", room, seat), k);
	call_event(c, k, "call.ring", by, NULL, at_us);
	return k;
}

/* seat_tender: the tender of whoever is checked in at SEAT of ROOM at AT_US into TENDER;
 * false when nobody is. */
static bool seat_tender(struct controller *c, const char *room, const char *seat, int64_t at_us,
                        char tender[STATE_ID_SIZE])
{
	GPtrArray *tenders = g_ptr_array_new_with_free_func(g_free);
	GError *err = NULL;
	bool found = false;
	if (route_seat_tenders(c->state, room, seat, at_us, tenders, &err) == 0 && tenders->len) {
		g_strlcpy(tender, tenders->pdata[0], STATE_ID_SIZE);
		found = true;
	}
	g_clear_error(&err);
	g_ptr_array_free(tenders, TRUE);
	return found;
}

void calls_ring_help(struct controller *c, const char *room, const char *seat, const char *person,
                     const char *tender, int64_t at_us)
{
	char t[STATE_ID_SIZE];
	if (call_find(c, room, seat))
		return; /* it rings or is up already */
	if (tender && *tender)
		g_strlcpy(t, tender, sizeof(t));
	else if (!seat_tender(c, room, seat, at_us, t)) {
		log_info("room %s seat %s: help without anyone checked in: no call", room, seat);
		return;
	}
	call_new(c, room, seat, t, person, "seat", at_us);
}

/* ---- requests ---- */

/* call.list {} -> {"calls": [{call, room, seat, state, rang_by, ring_us[, answered_by,
 * answer_us]}]}: the calls that ring or are up. */
static int handle_list(struct controller *c, const struct request *req, json_t **result,
                       GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	GList *keys = g_list_sort(g_hash_table_get_keys(calls_of(c)), (GCompareFunc)strcmp);
	json_t *out = json_array();
	for (GList *l = keys; l; l = l->next) {
		const struct call *k = g_hash_table_lookup(c->calls, l->data);
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "call", k->id, "room",
		                      k->room, "seat", k->seat, "state", call_state_names[k->state],
		                      "rang_by", k->rang_by, "ring_us", (json_int_t)k->ring_us);
		if (k->answered_by[0]) {
			json_object_set_new(o, "answered_by", json_string(k->answered_by));
			json_object_set_new(o, "answer_us", json_integer(k->answer_us));
		}
		json_array_append_new(out, o);
	}
	g_list_free(keys);
	*result = json_pack("{s:o}", "calls", out);
	return 0;
}

/* call.answer {room, seat} -> {call, tender}: the requester takes the seat's ringing
 * call, or places one (rung by them) when none rings; the console then sends the offer.
 * Only the console runs it (it carries the browser's media). */
static int handle_answer(struct controller *c, const struct request *req, json_t **result,
                         GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *room = msg_read_id(&r, "room", true);
	const char *seat = msg_read_id(&r, "seat", true);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	int64_t now = clock_now_us();
	struct call *k = call_find(c, room, seat);
	if (k && k->state != CALL_RINGING) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		            "the call of seat %s in room %s was answered by %s already", seat, room,
		            k->answered_by);
		return -EBUSY;
	}
	char tender[STATE_ID_SIZE];
	if (!k && !seat_tender(c, room, seat, now, tender)) {
		/* the same answer as for a seat that does not exist: nothing of the seat map */
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_NOT_FOUND,
		            "room %s has no seat %s with anyone checked in to call", room, seat);
		return -ENOENT;
	}
	if (!k)
		k = call_new(c, room, seat, tender, NULL, req->requester, now);
	k->state = CALL_CONNECTING;
	g_strlcpy(k->answered_by, req->requester, sizeof(k->answered_by));
	*result = json_pack("{s:s, s:s}", "call", k->id, "tender", k->tender);
	return 0;
}

/* call.hangup {room, seat[, reason]} -> {}: the requester ends the seat's call. */
static int handle_hangup(struct controller *c, const struct request *req, json_t **result,
                         GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *room = msg_read_id(&r, "room", true);
	const char *seat = msg_read_id(&r, "seat", true);
	const char *reason = msg_read_string(&r, "reason", false, 200);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	struct call *k = call_find(c, room, seat);
	if (!k) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_NOT_FOUND,
		            "no call of seat %s in room %s", seat, room);
		return -ENOENT;
	}
	if (k->state != CALL_RINGING)
		agents_command(c, room, "call.hangup", json_pack("{s:s}", "seat", seat),
		               OFFER_TIMEOUT_MS, NULL, NULL);
	call_event(c, k, "call.hangup", req->requester, reason ? reason : "hung up",
	           clock_now_us());
	call_remove(c, k);
	*result = json_object();
	return 0;
}

const struct request_handler call_request_handlers[] = {
    {"call.list", CALL_ROLES, handle_list, false},
    {"call.answer", CALL_ROLES | REQUEST_LOCAL, handle_answer, true},
    {"call.hangup", CALL_ROLES, handle_hangup, true},
    {NULL, 0, NULL, false},
};

/* ---- the relay ---- */

struct pending {
	char call[32], room[STATE_ID_SIZE], seat[STATE_ID_SIZE];
	call_answer_fn done;
	void *user;
};

static void on_agent_answer(struct controller *c, const char *room, json_t *result,
                            const GError *err, void *user)
{
	struct pending *p = user;
	const char *answer = err ? NULL : json_string_value(json_object_get(result, "answer"));
	struct call *k = call_find(c, room, p->seat);
	if (k && strcmp(k->id, p->call) != 0)
		k = NULL; /* hung up meanwhile, and another call since */
	if (!answer) {
		GError *e = NULL;
		if (err)
			g_set_error_literal(&e, REQUEST_ERROR, REQUEST_ERROR_UNAVAILABLE, err->message);
		else
			g_set_error(&e, REQUEST_ERROR, REQUEST_ERROR_UNAVAILABLE,
			            "room %s: the agent sent no answer", room);
		if (k) {
			call_event(c, k, "call.hangup", "controller", e->message, clock_now_us());
			call_remove(c, k);
		}
		p->done(p->user, p->call, NULL, e);
		g_error_free(e);
	} else if (!k) {
		GError *e = g_error_new(REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		                        "the call of seat %s ended before it was answered", p->seat);
		agents_command(c, room, "call.hangup", json_pack("{s:s}", "seat", p->seat),
		               OFFER_TIMEOUT_MS, NULL, NULL);
		p->done(p->user, p->call, NULL, e);
		g_error_free(e);
	} else {
		k->state = CALL_UP;
		k->answer_us = clock_now_us();
		call_event(c, k, "call.answer", k->answered_by, NULL, k->answer_us);
		p->done(p->user, p->call, answer, NULL);
	}
	g_free(p);
}

int calls_relay_offer(struct controller *c, const char *room, const char *seat, const char *call,
                      const char *offer, call_answer_fn done, void *user, GError **err)
{
	struct pending *p = g_new0(struct pending, 1);
	g_strlcpy(p->call, call, sizeof(p->call));
	g_strlcpy(p->room, room, sizeof(p->room));
	g_strlcpy(p->seat, seat, sizeof(p->seat));
	p->done = done;
	p->user = user;
	json_t *cmd = json_pack("{s:s, s:s}", "seat", seat, "sdp", offer);
	int rc = agents_command(c, room, "call.offer", cmd, OFFER_TIMEOUT_MS, on_agent_answer, p);
	if (rc) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_UNAVAILABLE,
		            "room %s: the offer was not sent (%s)", room, g_strerror(-rc));
		struct call *k = call_find(c, room, seat);
		if (k && strcmp(k->id, call) == 0) {
			call_event(c, k, "call.hangup", "controller", (*err)->message, clock_now_us());
			call_remove(c, k);
		}
		g_free(p);
	}
	return rc;
}

bool calls_current(struct controller *c, const char *room, const char *seat, const char *call)
{
	const struct call *k = call_find(c, room, seat);
	return k && strcmp(k->id, call) == 0;
}

void calls_room_agent_gone(struct controller *c, const char *room, const char *reason)
{
	GHashTableIter it;
	gpointer key, value;
	int64_t now = clock_now_us();
	g_hash_table_iter_init(&it, calls_of(c));
	while (g_hash_table_iter_next(&it, &key, &value)) {
		struct call *k = value;
		if (strcmp(k->room, room) != 0 || k->state == CALL_RINGING)
			continue;
		call_event(c, k, "call.hangup", "agent", reason, now);
		g_hash_table_iter_remove(&it);
	}
}

/* call.ended {seat, reason} from ROOM's agent: the seat hung up, or the witness's
 * browser went away; recorded as the call's hang-up. */
static int event_call_ended(struct controller *c, const char *room, const struct msg_envelope *env,
                            json_t *body, GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	const char *seat = msg_read_id(&r, "seat", true);
	const char *reason = msg_read_string(&r, "reason", true, 200);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	struct call *k = call_find(c, room, seat);
	if (!k)
		return 0; /* hung up here already */
	bool by_seat = strcmp(reason, "the seat hung up") == 0;
	call_event(c, k, "call.hangup", by_seat ? "seat" : "agent", reason, env->ts);
	call_remove(c, k);
	return 0;
}

const struct event_handler call_event_handlers[] = {
    {"call.ended", event_call_ended},
    {NULL, NULL},
};
