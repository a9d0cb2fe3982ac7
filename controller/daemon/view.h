/* The live view of the rooms (the `rooms` request and `evalroomctl watch`): per room the
 * door state and lockdown, the agent's presence, the streams (recording or lost), the
 * seats (free, expected, logged in, offline) and how many tenders have someone present.
 * Never who sits where: the view holds states and counts, no person.
 *
 * The modules that know each fact feed it with the view_set_* calls below (from the
 * main loop); the agent's presence comes from presence.c. Rooms of the imported site
 * are always shown; other rooms once something was said about them. Ids are checked
 * (msg.h id_valid) and a bad id or an unknown state name is logged and ignored. */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdbool.h>

#include "request_handler.h"

struct controller;

/* view_init / view_free: the view's memory in C (view_free is NULL-safe on a zeroed
 * controller). */
void view_init(struct controller *c);
void view_free(struct controller *c);

/* view_set_door: ROOM's door is in STATE (the door library's state name, e.g. "locked",
 * "open", "held_open", "forced_open", "fault"), LOCKDOWN whether it is locked down. */
void view_set_door(struct controller *c, const char *room, const char *state, bool lockdown);
/* view_door_lockdown: whether ROOM's door was last reported locked down. */
bool view_door_lockdown(struct controller *c, const char *room);
/* view_set_stream: STREAM of ROOM is "starting", "recording", "lost" or "stopped". */
void view_set_stream(struct controller *c, const char *room, const char *stream, const char *state);
/* view_set_seat: SEAT of ROOM is "free", "expected", "logged_in" or "offline". */
void view_set_seat(struct controller *c, const char *room, const char *seat, const char *state);
/* view_set_tenders_present: N tenders have someone present in ROOM. */
void view_set_tenders_present(struct controller *c, const char *room, unsigned n);

/* view_set_changed_hook: FN(USER) is called (from the main loop) after anything the view
 * shows may have changed: a view_set_* call or view_changed. One hook; NULL removes it. */
void view_set_changed_hook(struct controller *c, void (*fn)(void *user), void *user);
/* view_changed: tell the hook that a fact the view shows (an agent's presence, an alert)
 * changed outside the view_set_* calls. */
void view_changed(struct controller *c);

/* view_rooms_json: a new array, one object per room in site order (then others by id):
 * {"room","kind"?,"agent":"online|offline|stopped|unknown","agent_since"?,
 *  "door":"<state>|unknown","lockdown":bool,"streams":[{"stream","state"}],
 *  "seats":[{"seat","state"}],"seat_counts":{"free","expected","logged_in","offline"},
 *  "tenders_present":n,"open_alerts":n}. */
json_t *view_rooms_json(struct controller *c);

/* The `rooms` request (request.h). */
extern const struct request_handler view_request_handlers[];
