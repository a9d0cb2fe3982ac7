/* Behaviour warnings over the live event stream: the agents' seat and door events and the
 * desk's check-ins are handed to the rules engine (controller/ops/warn_rules.h); each
 * warning becomes an alert of its own kind (warn_*) with its evidence span (streams and
 * time range) in the alert's extra, a "warning.evidence" event in the archive of every
 * tender concerned, and an evidence hold on the site's recordings of that span (state.db,
 * retention_hold.h), which the retention sweep respects until a person releases it.
 * docs/warnings.md. */
#pragma once
#include <jansson.h>
#include <stdint.h>

#include "controller.h"

/* Writes BODY (stolen) as an event of KIND into TENDER's archive (archives_event). */
typedef int (*warnings_archive_fn)(struct controller *c, const char *tender, int64_t at_us,
                                   const char *kind, const char *source, json_t *body);

/* warnings_init: the engine with the [warnings] limits of c->cfg and its one-second tick
 * on c->clock; evidence goes to the archives through ARCHIVE (NULL: alerts only). Call
 * after alerts_init. 0 or -EINVAL (an unknown [warnings] time_zone, logged).
 * warnings_free undoes it (NULL-safe). */
int warnings_init(struct controller *c, warnings_archive_fn archive);
void warnings_free(struct controller *c);
/* warnings_reload: apply the [warnings] limits of c->cfg (after a configuration reload). */
void warnings_reload(struct controller *c);

/* The inputs. AT is the event's own time (UTC us); strings may be NULL when absent. */
/* warnings_seat_event: ROOM's agent reported seat.event EVENT ("login", "break_start", ...). */
void warnings_seat_event(struct controller *c, const char *room, const char *seat,
                         const char *event, const char *person, const char *tender, int64_t at);
/* warnings_door_event: ROOM's agent reported door.event EVENT ("granted", "rex", ...). */
void warnings_door_event(struct controller *c, const char *room, const char *event,
                         const char *person, int64_t at);
/* warnings_after_request: an answered request (ERR NULL: done); after a committee.import,
 * each expert of that tender is checked against the history of the other sessions:
 * sitting on committees of the tender's tenderer or agency at least [warnings]
 * affinity_min times, with a chance under the expert's own rate and the party's share of
 * all tenders below affinity_p_ppm millionths, raises warn_affinity (person, tender;
 * extra: the party, the earlier tenders, the figures). */
void warnings_after_request(struct controller *c, const struct request *req, const json_t *result,
                            const GError *err);
/* warnings_checkin: the desk admitted PERSON of TENDER to ROOM/SEAT at AT. */
void warnings_checkin(struct controller *c, const char *person, const char *tender,
                      const char *room, const char *seat, int64_t at);
