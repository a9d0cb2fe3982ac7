/* The recorded call from the controller's side (docs/call.md): a seat's help key rings,
 * a witness or supervisor answers from the web console's live page (or calls a seat
 * from there), either side hangs up. The controller keeps the calls that ring or are up,
 * runs the requests call.list, call.answer and call.hangup (role-checked and in the
 * operator audit), relays the witness's SDP offer to the room agent (command
 * call.offer), and writes the events call.ring, call.answer and call.hangup into the
 * archive of the tender of the person at that seat. The media and its recording are the
 * agent's (room-agent/agent_call.h). */
#pragma once
#include <glib.h>
#include <stdint.h>

#include <stdbool.h>

#include "event_handler.h"
#include "request_handler.h"

struct controller;

/* Who may answer, place and hang up a call, and see the calls. */
#define CALL_ROLES (ROLE_WITNESS | ROLE_SUPERVISOR)
/* A call is addressed in the console like a live stream: /live/ROOM/call-SEAT/whep. */
#define CALL_STREAM_PREFIX "call-"

extern const struct request_handler call_request_handlers[];
/* call.ended from an agent: the seat hung up, or the witness's browser went away. */
extern const struct event_handler call_event_handlers[];

/* calls_ring_help: the help key of SEAT in ROOM was pressed at AT_US (PERSON and TENDER
 * of its session, or NULL): the seat's call rings, unless one rings or is up already or
 * nobody is checked in there (then only the help alert is raised, as before). */
void calls_ring_help(struct controller *c, const char *room, const char *seat, const char *person,
                     const char *tender, int64_t at_us);
/* call_answer_fn: the agent's SDP ANSWER to the offer of CALL, or ERR (REQUEST_ERROR). */
typedef void (*call_answer_fn)(void *user, const char *call, const char *answer,
                               const GError *err);
/* calls_relay_offer: the browser's SDP OFFER for CALL of SEAT in ROOM (the id the request
 * call.answer gave) to the room's agent (command call.offer). DONE is called once later
 * with the agent's answer or an error (the call then ends, recorded); or -errno with *err
 * (REQUEST_ERROR) and no call. */
int calls_relay_offer(struct controller *c, const char *room, const char *seat, const char *call,
                      const char *offer, call_answer_fn done, void *user, GError **err);
/* calls_current: CALL is the call of SEAT in ROOM that rings or is up now. */
bool calls_current(struct controller *c, const char *room, const char *seat, const char *call);
/* calls_room_agent_gone: ROOM's agent stopped or restarted (REASON): its calls that were
 * answered are over (call.hangup by "agent"); the ringing ones still ring. */
void calls_room_agent_gone(struct controller *c, const char *room, const char *reason);
void calls_free(struct controller *c);
