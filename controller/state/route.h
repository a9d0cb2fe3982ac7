/* Which tenders a recording or an event belongs to, from state.db.
 *
 * For recordings a person counts as "at the seat" / "in the room" from the moment the
 * session's draw seated them (assignment.assigned_at) until they are withdrawn, not only
 * between login and logout: the draw reserves the seat for that tender for the whole
 * session, so the tender's archive also shows the seat before the expert arrives and
 * after they leave (proof that nobody else used it). For events (route_room_tenders:
 * door and seat events, operators' door and seat commands, alerts about a room) only from
 * the person's check-in (a passed screening): before it, an event of their room in their
 * tender's archive would tell the archive's reader where the draw put them while the
 * seat map is sealed. That is a superset of the login-to-logout binding
 * the design names; the logins themselves (seat.event) are events in the archive, and
 * controller/daemon/seats.h keeps them (bindings_at). Sealed tenders are returned too: the
 * caller refuses to write to them (and says so). */
#pragma once
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "state.h"

/* route_segment_tenders: append (g_strdup'd ids) to TENDERS every tender that a
 * recording of STREAM published by ROOM's agent over [FROM_US, TO_US] belongs to.
 * A seat device (seat.camera / seat.microphone of a seat of ROOM) belongs to the tender
 * of the person seated there; any other stream of the room (a room device, or a name
 * the site does not know) to every tender with someone seated in the room. *SEAT_STREAM
 * tells which rule applied; *KNOWN whether the site lists the device for ROOM. */
int route_segment_tenders(struct state *st, const char *room, const char *stream, int64_t from_us,
                          int64_t to_us, GPtrArray *tenders, bool *seat_stream, bool *known,
                          GError **err);
/* route_room_tenders: every tender with someone seated in ROOM and checked in at AT_US. */
int route_room_tenders(struct state *st, const char *room, int64_t at_us, GPtrArray *tenders,
                       GError **err);
/* route_seat_tenders: the tender of whoever is seated at SEAT of ROOM and checked in at
 * AT_US (none, or one). */
int route_seat_tenders(struct state *st, const char *room, const char *seat, int64_t at_us,
                       GPtrArray *tenders, GError **err);
/* route_tender_rooms: every room where someone of TENDER is seated (g_strdup'd ids). */
int route_tender_rooms(struct state *st, const char *tender, GPtrArray *rooms, GError **err);
/* route_place_streams: the recording devices of a place (g_strdup'd ids into STREAMS,
 * each once): the seat's camera and microphone when SEAT is set, and ROOM's own cameras
 * and microphones. */
int route_place_streams(struct state *st, const char *room, const char *seat, GPtrArray *streams,
                        GError **err);
/* route_person_tender: the tender of PERSON in any open session ("" -> -ENOENT). */
int route_person_tender(struct state *st, const char *person, char tender[STATE_ID_SIZE],
                        GError **err);
/* state_tender_set_state: TENDER's state becomes STATE (open|closing|sealed). */
int state_tender_set_state(struct state *st, const char *tender, const char *state, GError **err);
