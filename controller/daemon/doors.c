#include "doors.h"

#include <errno.h>
#include <string.h>

#include "agents.h"
#include "alerts.h"
#include "checkin.h"
#include "log.h"
#include "msg.h"
#include "request_reply.h"
#include "state.h"
#include "warnings.h"

#define DOOR_CMD_TIMEOUT_MS 5000

static const char *const door_events[] = {
    "granted",     "denied",  "bad_read",           "opened",
    "closed",      "rex",     "held_open_prealarm", "held_open_alarm",
    "forced_open", "tamper",  "tamper_cleared",     "fault",
    "state",       "command", "escort_wait_ended",  NULL};
static const char *const door_states[] = {
    "locked",      "unlocked", "open",   "held_open", "held_open_alarm", "forced_open", "lockdown",
    "free_access", "fault",    "tamper", NULL};
static const char *const door_actions[] = {"unlock", "lock", "free_access", "status", NULL};

/* ---- events ---- */

static int event_door(struct controller *c, const char *room, const struct msg_envelope *env,
                      json_t *body, GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	int ev = msg_read_enum(&r, "event", true, door_events);
	int state = msg_read_enum(&r, "state", true, door_states);
	int64_t at = msg_read_int(&r, "at", true, 0, INT64_MAX, 0);
	msg_read_enum(&r, "prev_state", false, door_states);
	const char *reason = msg_read_string(&r, "reason", false, 32);
	const char *digest = msg_read_string(&r, "credential_digest", false, 64);
	const char *person = msg_read_id(&r, "person", false);
	msg_read_string(&r, "command", false, 32);
	msg_read_string(&r, "command_id", false, 63);
	msg_read_int(&r, "result", false, INT32_MIN, INT32_MAX, 0);
	const char *detail = msg_read_string(&r, "detail", false, 256);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	log_info("room %s: door %s (%s)%s%s%s%s", room, door_events[ev], door_states[state],
	         reason ? " reason " : "", reason ? reason : "", person ? " person " : "",
	         person ? person : "");
	alerts_door_event(c, room, door_events[ev], door_states[state], reason, digest, detail);
	checkin_door_event(c, room, door_events[ev], reason, person, at);
	warnings_door_event(c, room, door_events[ev], person, at);
	return 0;
}

const struct event_handler door_event_handlers[] = {
    {"door.event", event_door},
    {NULL, NULL},
};

/* ---- requests ---- */

/* One operator request fanned out to one or more rooms. */
struct door_fanout {
	struct request *req;
	unsigned outstanding;
	json_t *rooms; /* room -> {"ok":..., "status"|"error"} */
	unsigned failed;
};

static void fanout_reply(struct controller *c, const char *room, json_t *result, const GError *err,
                         void *user)
{
	struct door_fanout *f = user;
	if (err) {
		f->failed++;
		json_object_set_new(f->rooms, room,
		                    json_pack("{s:b, s:s}", "ok", 0, "error", err->message));
	} else {
		json_object_set_new(f->rooms, room,
		                    json_pack("{s:b, s:O}", "ok", 1, "status", result));
	}
	if (--f->outstanding > 0)
		return;
	size_t n = json_object_size(f->rooms);
	if (n == 1 && f->failed == 1) {
		/* A single room that refused or did not answer: the request failed. */
		const char *key;
		json_t *v;
		json_object_foreach(f->rooms, key, v)
		{
			GError *e = g_error_new(REQUEST_ERROR, REQUEST_ERROR_UNAVAILABLE, "%s",
			                        json_string_value(json_object_get(v, "error")));
			if (strstr(e->message, "refused") || strstr(e->message, "lockdown"))
				e->code = REQUEST_ERROR_CONFLICT;
			request_finish(c, f->req, NULL, e);
			g_error_free(e);
		}
	} else {
		request_finish(c, f->req,
		               json_pack("{s:O, s:I, s:I}", "rooms", f->rooms, "failed",
		                         (json_int_t)f->failed, "done",
		                         (json_int_t)(n - f->failed)),
		               NULL);
	}
	json_decref(f->rooms);
	g_free(f);
}

static int fanout_start(struct controller *c, const struct request *req, GPtrArray *rooms,
                        const char *command, json_t *args, GError **err)
{
	struct door_fanout *f = g_new0(struct door_fanout, 1);
	f->rooms = json_object();
	f->req = request_defer(req);
	f->outstanding = rooms->len;
	for (guint i = 0; i < rooms->len; i++) {
		const char *room = g_ptr_array_index(rooms, i);
		if (agents_command(c, room, command, json_deep_copy(args), DOOR_CMD_TIMEOUT_MS,
		                   fanout_reply, f) != 0) {
			GError *e = g_error_new(REQUEST_ERROR, REQUEST_ERROR_UNAVAILABLE,
			                        "broker unreachable");
			fanout_reply(c, room, NULL, e, f);
			g_error_free(e);
		}
	}
	json_decref(args);
	return REQUEST_PENDING;
}

/* The rooms of the imported site (or, before any import, those whose agents we saw). */
static GPtrArray *site_rooms(struct controller *c)
{
	GPtrArray *rooms = g_ptr_array_new_with_free_func(g_free);
	json_t *arr = NULL;
	if (state_site_rooms(c->state, &arr, NULL) == 0 && json_array_size(arr) > 0) {
		size_t i;
		json_t *r;
		json_array_foreach(arr, i, r)
		{
			const char *id = json_string_value(json_object_get(r, "id"));
			if (id)
				g_ptr_array_add(rooms, g_strdup(id));
		}
	} else {
		GHashTableIter it;
		gpointer k;
		g_hash_table_iter_init(&it, c->rooms);
		while (g_hash_table_iter_next(&it, &k, NULL))
			g_ptr_array_add(rooms, g_strdup(k));
	}
	json_decref(arr);
	return rooms;
}

static bool room_known(struct controller *c, const char *room)
{
	GPtrArray *rooms = site_rooms(c);
	bool found = false;
	for (guint i = 0; i < rooms->len && !found; i++)
		found = strcmp(g_ptr_array_index(rooms, i), room) == 0;
	g_ptr_array_free(rooms, TRUE);
	return found;
}

/* door {room, action: unlock|lock|free_access|status, reason?} */
static int handle_door(struct controller *c, const struct request *req, json_t **result,
                       GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *room = msg_read_id(&r, "room", true);
	int action = msg_read_enum(&r, "action", true, door_actions);
	msg_read_string(&r, "reason", false, 200); /* for the audit and the archives */
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (!room_known(c, room)) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_NOT_FOUND, "no room \"%s\"", room);
		return -ENOENT;
	}
	GPtrArray *rooms = g_ptr_array_new();
	g_ptr_array_add(rooms, (char *)room);
	int rc = fanout_start(c, req, rooms, "door",
	                      json_pack("{s:s}", "action", door_actions[action]), err);
	g_ptr_array_free(rooms, TRUE);
	return rc;
}

/* lockdown {room | all: true, release?: bool, reason?} */
static int handle_lockdown(struct controller *c, const struct request *req, json_t **result,
                           GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *room = msg_read_id(&r, "room", false);
	bool all = msg_read_bool(&r, "all", false, false);
	bool release = msg_read_bool(&r, "release", false, false);
	msg_read_string(&r, "reason", false, 200); /* for the audit and the archives */
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (!!room == all) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_INVALID,
		            "give either a room or all, not both or neither");
		return -EINVAL;
	}
	GPtrArray *rooms;
	if (all) {
		rooms = site_rooms(c);
		if (rooms->len == 0) {
			g_ptr_array_free(rooms, TRUE);
			g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_NOT_FOUND,
			            "no rooms known (import the site first)");
			return -ENOENT;
		}
	} else {
		if (!room_known(c, room)) {
			g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_NOT_FOUND, "no room \"%s\"",
			            room);
			return -ENOENT;
		}
		rooms = g_ptr_array_new_with_free_func(g_free);
		g_ptr_array_add(rooms, g_strdup(room));
	}
	log_info("%s %s by %s", release ? "release of the lockdown of" : "lockdown of",
	         all ? "all rooms" : room, req->requester);
	int rc = fanout_start(c, req, rooms, "door",
	                      json_pack("{s:s}", "action", release ? "release" : "lockdown"), err);
	g_ptr_array_free(rooms, TRUE);
	return rc;
}

const struct request_handler door_request_handlers[] = {
    {"door", ROLE_OPERATOR, handle_door, true},
    {"lockdown", ROLE_OPERATOR, handle_lockdown, true},
    {NULL, 0, NULL, false},
};
