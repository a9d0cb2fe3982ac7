/* Seats seen from the controller (issue 5): the room agents' seat events (logins,
 * logouts, wrong seats, blocked seats, help, breaks, terminals offline), the bindings
 * of a seat's camera and microphone to the tender of the expert logged in there, and
 * the operator's remote seat lock. */
#pragma once
#include <jansson.h>
#include <stdint.h>

#include "controller.h"
#include "event_handler.h"
#include "request_handler.h"

/* bindings_at: the person and tender SEAT of ROOM recorded for at time T (UTC us) into
 * PERSON and TENDER (33 bytes each). 0; -ENOENT when nobody was logged in there then;
 * -EIO when state.db cannot be read (logged). */
int bindings_at(struct controller *c, const char *room, const char *seat, int64_t t,
                char person[33], char tender[33]);
/* tenders_in_room_at: a new array of the tender ids with someone logged in at a seat of
 * ROOM at time T (id order); NULL when state.db cannot be read (logged). */
json_t *tenders_in_room_at(struct controller *c, const char *room, int64_t t);

extern const struct event_handler seat_event_handlers[];
/* seat.lock {room, seat, reason?} and seat.unlock {room, seat} (operators). */
extern const struct request_handler seat_request_handlers[];
