#include "seats.h"

#include <errno.h>
#include <string.h>

#include "agents.h"
#include "alerts.h"
#include "calls.h"
#include "checkin.h"
#include "log.h"
#include "msg.h"
#include "request_reply.h"
#include "state.h"
#include "view.h"
#include "warnings.h"

#define SEAT_CMD_TIMEOUT_MS 5000

/* What an agent reports of a seat (docs/checkin.md, schemas/json/seat.event.json). */
enum seat_event {
	SEAT_LOGIN,
	SEAT_LOGOUT,
	SEAT_WRONG_SEAT,
	SEAT_WRONG_CODE,
	SEAT_CODE_USED,
	SEAT_CODE_EXPIRED,
	SEAT_BLOCKED,
	SEAT_RELEASED,
	SEAT_LOCKED,
	SEAT_UNLOCKED,
	SEAT_HELP,
	SEAT_BREAK_START,
	SEAT_BREAK_END,
	SEAT_TERMINAL_OFFLINE,
	SEAT_TERMINAL_ONLINE,
};
static const char *const seat_events[] = {
    "login",     "logout",           "wrong_seat",      "wrong_code", "code_used", "code_expired",
    "blocked",   "released",         "locked",          "unlocked",   "help",      "break_start",
    "break_end", "terminal_offline", "terminal_online", NULL};

int bindings_at(struct controller *c, const char *room, const char *seat, int64_t t,
                char person[33], char tender[33])
{
	GError *err = NULL;
	int rc = state_binding_at(c->state, room, seat, t, person, tender, &err);
	if (rc == -EIO) {
		log_warnx("binding of %s/%s: %s", room, seat, err->message);
		g_clear_error(&err);
	}
	return rc;
}

json_t *tenders_in_room_at(struct controller *c, const char *room, int64_t t)
{
	GError *err = NULL;
	json_t *out = NULL;
	if (state_tenders_in_room_at(c->state, room, t, &out, &err) != 0) {
		log_warnx("tenders in room %s: %s", room, err->message);
		g_clear_error(&err);
		return NULL;
	}
	return out;
}

static int event_seat(struct controller *c, const char *room, const struct msg_envelope *env,
                      json_t *body, GError **err)
{
	(void)env;
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	int ev = msg_read_enum(&r, "event", true, seat_events);
	const char *seat = msg_read_id(&r, "seat", true);
	int64_t at = msg_read_int(&r, "at", true, 0, INT64_MAX, 0);
	const char *person = msg_read_id(&r, "person", false);
	const char *tender = msg_read_id(&r, "tender", false);
	const char *code_seat = msg_read_id(&r, "code_seat", false);
	msg_read_int(&r, "tries_left", false, 0, 99, 0);
	msg_read_int(&r, "terminal_seq", false, 0, INT64_MAX, 0);
	const char *reason = msg_read_string(&r, "reason", false, 200);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	bool needs_person = ev == SEAT_LOGIN || ev == SEAT_LOGOUT;
	if (needs_person && (!person || !tender)) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
		            "seat.event %s needs person and tender", seat_events[ev]);
		return -EINVAL;
	}
	if (ev == SEAT_WRONG_SEAT && (!person || !code_seat)) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
		            "seat.event wrong_seat needs person and code_seat");
		return -EINVAL;
	}
	struct alert_subject here = {.room = room, .seat = seat};
	GError *e = NULL;
	log_info("room %s seat %s: %s%s%s", room, seat, seat_events[ev], person ? " " : "",
	         person ? person : "");
	switch ((enum seat_event)ev) {
	case SEAT_LOGIN:
		if (state_binding_open(c->state, room, seat, person, tender, at, &e) != 0) {
			log_warnx("room %s seat %s: binding not recorded: %s", room, seat,
			          e->message);
			g_clear_error(&e);
		}
		checkin_person_seated(c, person, tender, at);
		view_set_seat(c, room, seat, "logged_in");
		break;
	case SEAT_LOGOUT:
		if (state_binding_close(c->state, room, seat, at, &e) != 0) {
			log_warnx("room %s seat %s: binding not closed: %s", room, seat,
			          e->message);
			g_clear_error(&e);
		}
		checkin_person_left(c, person, tender, at);
		view_set_seat(c, room, seat, "free");
		break;
	case SEAT_WRONG_SEAT:
		alert_raise_text(
		    c, ALERT_WRONG_SEAT,
		    &(struct alert_subject){.room = room, .seat = seat, .person = person},
		    "wrong_seat", (const char *[]){person, code_seat, seat, room, NULL}, NULL);
		break;
	case SEAT_BLOCKED:
		alert_raise_text(c, ALERT_SEAT_LOCKED, &here, "seat_locked",
		                 (const char *[]){seat, room, NULL}, NULL);
		break;
	case SEAT_RELEASED:
		alert_clear(c, ALERT_SEAT_LOCKED, &here, "seat unlocked");
		break;
	case SEAT_HELP:
		alert_raise_text(c, ALERT_HELP_REQUESTED,
		                 &(struct alert_subject){.room = room,
		                                         .seat = seat,
		                                         .person = person ? person : "",
		                                         .tender = tender ? tender : ""},
		                 "help_requested", (const char *[]){seat, room, NULL}, NULL);
		calls_ring_help(c, room, seat, person, tender, at);
		break;
	case SEAT_TERMINAL_OFFLINE:
		alert_raise_text(c, ALERT_TERMINAL_OFFLINE, &here,
		                 reason ? "terminal_offline_reason" : "terminal_offline",
		                 (const char *[]){seat, room, reason, NULL}, NULL);
		view_set_seat(c, room, seat, "offline");
		break;
	case SEAT_TERMINAL_ONLINE:
		alert_clear(c, ALERT_TERMINAL_OFFLINE, &here, "terminal back");
		break;
	case SEAT_WRONG_CODE:
	case SEAT_CODE_USED:
	case SEAT_CODE_EXPIRED:
	case SEAT_LOCKED:
	case SEAT_UNLOCKED:
	case SEAT_BREAK_START:
	case SEAT_BREAK_END:
		break; /* recorded (agent_event) and logged */
	}
	warnings_seat_event(c, room, seat, seat_events[ev], person, tender, at);
	return 0;
}

const struct event_handler seat_event_handlers[] = {
    {"seat.event", event_seat},
    {NULL, NULL},
};

/* ---- seat.lock / seat.unlock ---- */

static void seat_reply(struct controller *c, const char *room, json_t *result, const GError *err,
                       void *user)
{
	(void)room;
	struct request *req = user;
	if (err) {
		GError *e =
		    g_error_new(REQUEST_ERROR, REQUEST_ERROR_UNAVAILABLE, "%s", err->message);
		request_finish(c, req, NULL, e);
		g_error_free(e);
	} else {
		request_finish(c, req, json_deep_copy(result), NULL);
	}
}

static bool seat_known(struct controller *c, const char *room, const char *seat)
{
	json_t *rooms = NULL;
	bool found = false;
	if (state_site_rooms(c->state, &rooms, NULL) != 0)
		return false;
	size_t i, j;
	json_t *r, *s;
	json_array_foreach(rooms, i, r)
	{
		if (strcmp(json_string_value(json_object_get(r, "id")), room) != 0)
			continue;
		json_array_foreach(json_object_get(r, "seats"), j, s) found =
		    found || strcmp(json_string_value(s), seat) == 0;
	}
	json_decref(rooms);
	return found;
}

static int seat_forward(struct controller *c, const struct request *req, bool lock, GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *room = msg_read_id(&r, "room", true);
	const char *seat = msg_read_id(&r, "seat", true);
	/* an unlock's reason is for the audit and the archives only */
	const char *reason = msg_read_string(&r, "reason", false, 200);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (!seat_known(c, room, seat)) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_NOT_FOUND, "no seat %s in room %s",
		            seat, room);
		return -ENOENT;
	}
	json_t *args = json_pack("{s:s}", "seat", seat);
	if (lock) {
		char *why = reason && *reason ? g_strdup(reason)
		                              : g_strdup_printf("locked by %s", req->requester);
		json_object_set_new(args, "reason", json_string(why));
		g_free(why);
	}
	struct request *d = request_defer(req);
	if (agents_command(c, room, lock ? "seat.lock" : "seat.unlock", args, SEAT_CMD_TIMEOUT_MS,
	                   seat_reply, d) != 0) {
		GError *e =
		    g_error_new(REQUEST_ERROR, REQUEST_ERROR_UNAVAILABLE, "broker unreachable");
		request_finish(c, d, NULL, e);
		g_error_free(e);
	}
	log_info("seat %s/%s %s by %s", room, seat, lock ? "lock" : "unlock", req->requester);
	return REQUEST_PENDING;
}

static int handle_seat_lock(struct controller *c, const struct request *req, json_t **result,
                            GError **err)
{
	(void)result;
	return seat_forward(c, req, true, err);
}

static int handle_seat_unlock(struct controller *c, const struct request *req, json_t **result,
                              GError **err)
{
	(void)result;
	return seat_forward(c, req, false, err);
}

const struct request_handler seat_request_handlers[] = {
    {"seat.lock", ROLE_OPERATOR, handle_seat_lock, true},
    {"seat.unlock", ROLE_OPERATOR, handle_seat_unlock, true},
    {NULL, 0, NULL, false},
};
