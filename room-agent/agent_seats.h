/* The seats of a room on its agent: the login kiosks (evalroom-terminal) of the room's
 * workstations, per docs/terminal.md ("The agent's side") and docs/checkin.md.
 *
 * Per seat the agent holds the assignment the controller sent at check-in (person,
 * tender, the login code's digest and validity), the seat's state (open, in use,
 * locked by an operator, blocked after 5 wrong codes), the wrong-code counter and the
 * terminal's presence; all of it survives an agent restart (spool/seats.json). Every
 * decision is taken here, with the controller reachable or not; what happened goes to
 * the controller as `seat.event` through the outbox. */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "agent.h"

#define SEATS_MAX_WRONG       5
#define SEATS_SILENT_LIMIT_US (6 * G_USEC_PER_SEC)

struct agent_seats;

/* agent_seats_new: the seats of agent A, restored from A's spool. NULL with *err when
 * the saved state is unreadable (a missing file is a fresh start). */
struct agent_seats *agent_seats_new(struct agent *a, GError **err);
void agent_seats_free(struct agent_seats *s);
/* agent_seats_help_hook: FN(USER, SEAT) is asked first when the help key of SEAT is
 * pressed during a session; when it returns true it took the key (it hung up the seat's
 * call, docs/call.md) and no help event is sent. */
typedef bool (*agent_seats_help_fn)(void *user, const char *seat);
void agent_seats_help_hook(struct agent_seats *s, agent_seats_help_fn fn, void *user);

/* agent_seats_subscribe: route (and subscribe) the seats' up and status topics to
 * agent_seats_message through the agent's node. */
void agent_seats_subscribe(struct agent_seats *s);
/* agent_seats_message: a message on TOPIC; true when it was a seat topic (handled). */
bool agent_seats_message(struct agent_seats *s, const char *topic, const void *payload, size_t len);
/* agent_seats_command: seat.assign, seat.lock, seat.unlock from the controller.
 * -ENOENT for another command; 0 with *RESULT (new) or -EINVAL with *err. */
int agent_seats_command(struct agent_seats *s, const char *command, json_t *args, json_t **result,
                        GError **err);
