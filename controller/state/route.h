/* Which tenders a recording or an event belongs to, from state.db.
 *
 * A person counts as "at the seat" / "in the room" from their check-in (a passed
 * screening at the desk) until they are withdrawn, for recordings and events alike: before
 * it, a seat's or a room's recording or event in their tender's archive would tell the
 * archive's reader where the draw put them while the seat map is sealed (docs/draw.md,
 * "The seal"). A recording that belongs to no tender that way (a seat or room before the
 * check-in of anyone drawn there) goes to the site's retention archive of its day
 * (controller/daemon/ingest.c); the tender's archive gets a recording.checkin event at the
 * check-in saying where the seat's earlier recording is (archives.c). That is a superset
 * of the login-to-logout binding the design names; the logins themselves (seat.event) are
 * events in the archive, and controller/daemon/seats.h keeps them (bindings_at). Sealed
 * tenders are returned too: the caller refuses to write to them (and says so). */
#pragma once
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "state.h"

/* route_segment_tenders: append (g_strdup'd ids) to TENDERS every tender that a
 * recording of STREAM published by ROOM's agent over [FROM_US, TO_US] belongs to.
 * A seat device (seat.camera / seat.microphone of a seat of ROOM), and a recorded call
 * of a seat (streams call-SEAT-seat and call-SEAT-witness), belongs to the tender of the
 * person seated there and checked in by TO_US; any other stream of the room (a
 * room device, or a name the site does not know) to every tender with someone seated in
 * the room and checked in by TO_US; a stream of a draw room (which seats nobody) to every
 * open tender of an open session. *SEAT_STREAM tells which rule applied; *KNOWN whether
 * the site lists the device for ROOM. */
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
/* route_checkin_span: when the draw seated PERSON in SESSION (*SEATED_US) and when they
 * first checked in (*CHECKED_IN_US, a passed screening). -ENOENT (with *err) when they
 * are not seated or not checked in. */
int route_checkin_span(struct state *st, const char *session, const char *person,
                       int64_t *seated_us, int64_t *checked_in_us, GError **err);
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
