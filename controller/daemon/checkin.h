/* The security desk's check-in and the rooms' admission lists (issue 5).
 *
 * desk.checkin / desk.readmit issue a one-time door credential for the person's room
 * and a one-time login code for their seat; the controller pushes every room's
 * admission list to its agent (this room's credentials, plus the others marked with
 * their room so a try at the wrong door is named locally) and the seat's assignment
 * (with the code's digest only) to the room's agent. A credential is used once: the
 * door's "granted" takes it off the lists. Not used within the admission window, it
 * expires and raises not_entered. */
#pragma once
#include <stdint.h>

#include "controller.h"
#include "request_handler.h"

/* checkin_init: load the site credential key (cfg.credential_key; 0 or -errno with
 * *err naming the file) and start the admission-window timer of C (after c->state is
 * open); checkin_free undoes it (safe on a zeroed controller, and after a failure). */
int checkin_init(struct controller *c, GError **err);
void checkin_free(struct controller *c);

/* checkin_push_admissions: send every room of the site its admission list now. */
void checkin_push_admissions(struct controller *c);
/* checkin_push_room: send ROOM its admission list and its seats' current assignments
 * (when its agent comes online). */
void checkin_push_room(struct controller *c, const char *room);

/* checkin_door_event: a door event of ROOM (from doors.c, validated): "granted" for
 * PERSON uses that person's credential for ROOM. Other events are ignored here (a
 * wrong-room try is alerted by alerts_door_event, which the door events also reach). */
void checkin_door_event(struct controller *c, const char *room, const char *event,
                        const char *reason, const char *person, int64_t at);

/* checkin_person_left: PERSON (of TENDER) logged out at AT: presence "out"; only a
 * readmission lets them in again. */
void checkin_person_left(struct controller *c, const char *person, const char *tender, int64_t at);
/* checkin_person_seated: PERSON (of TENDER) logged in at AT: presence "inside". */
void checkin_person_seated(struct controller *c, const char *person, const char *tender,
                           int64_t at);

/* Requests (request.h): desk.checkin, desk.readmit, desk.list (desk and operators). */
extern const struct request_handler checkin_request_handlers[];
