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

#include "event_handler.h"
#include "live_view.h"
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
/* calls_offer: IDENTITY answers (or places) the call of SEAT in ROOM with the browser's
 * SDP OFFER: the request call.answer, then the offer to the agent. DONE is called once
 * later with the call's id and the agent's answer, or an error; or -errno with *err
 * (REQUEST_ERROR) and no call. */
int calls_offer(struct controller *c, const char *identity, const char *room, const char *seat,
                const char *offer, live_view_answer_fn done, void *user, GError **err);
/* calls_close: IDENTITY hangs up CALL (an id calls_offer gave) of SEAT in ROOM. */
int calls_close(struct controller *c, const char *identity, const char *room, const char *seat,
                const char *call, GError **err);
void calls_free(struct controller *c);
