/* Live viewing from the controller's side (docs/live.md): which streams exist and who
 * may watch them, the requests live.streams, live.open and live.close (audited, and
 * evidence in the archives of the tenders present in the room), and the relay of a
 * viewer's SDP offer to the room agent (command live.offer) and of its answer back. */
#pragma once
#include <glib.h>
#include <jansson.h>

#include "event_handler.h"
#include "request_handler.h"

struct controller;

/* Who may watch live: the control room, the witnesses and the supervisors. */
#define LIVE_ROLES (ROLE_OPERATOR | ROLE_WITNESS | ROLE_SUPERVISOR)

extern const struct request_handler live_request_handlers[];
/* live.ended from an agent: a view whose browser went away, recorded as closed. */
extern const struct event_handler live_event_handlers[];

/* live_view_note_stream: ROOM's agent reported STREAM (at SEAT, NULL for a room
 * stream) in STATE ("recording", "lost", ...), with sound a viewer can hear (AUDIO). */
void live_view_note_stream(struct controller *c, const char *room, const char *stream,
                           const char *seat, const char *state, bool audio);

/* live_answer_fn: VIEWER's SDP ANSWER from the agent, or ERR (REQUEST_ERROR domain). */
typedef void (*live_view_answer_fn)(void *user, const char *viewer, const char *answer,
                                    const GError *err);

/* live_view_offer: IDENTITY opens a live view of STREAM in ROOM with the browser's SDP
 * OFFER: the request live.open (role, seat secrecy, audit, archives), then the offer to
 * the agent. Returns 0 and calls DONE once later, or -errno with *err (REQUEST_ERROR)
 * and no call. */
int live_view_offer(struct controller *c, const char *identity, const char *room,
                    const char *stream, const char *offer, live_view_answer_fn done, void *user,
                    GError **err);
/* live_view_close: IDENTITY closes VIEWER (live.close, audited; the agent told). */
int live_view_close(struct controller *c, const char *identity, const char *room,
                    const char *stream, const char *viewer, GError **err);
void live_view_free(struct controller *c);
