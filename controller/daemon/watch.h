/* The watchers' side of the controller (docs/witness.md): the witness's notes.
 *
 * witness.note records what a witness saw: time, room/seat/stream, category
 * (observation, reminder, breach, incident), text and an optional evidence span (a stream
 * and a time range) that retention never deletes. The note is an event "witness.note" in
 * the tender's archive and a line in the audit log; a breach or an incident raises a
 * witness_breach alert and notifies the supervisors on evalroom/v1/supervision/notice. */
#pragma once
#include "controller.h"
#include "request_handler.h"

/* Requests (request.h): witness.note (witnesses). */
extern const struct request_handler watch_request_handlers[];
