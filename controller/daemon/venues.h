/* Secondary venues' links to the main venue (docs/venues.md). Each secondary venue's
 * broker bridges to the main broker and publishes the bridge's state, retained, on
 * venue/<venue>/link: "1" when it connects, "0" as its last will when the main broker
 * loses it. The controller keeps each venue's state and fault clock, raises
 * venue_link_lost while a link is down and venue_fault_near once it has been down for
 * [alerts] venue_fault_warn_s (the rules call a fault not mended within 4 hours during an
 * evaluation a reason for a new committee), and shows each venue's link and backlog in
 * the `rooms` view. */
#pragma once
#include <jansson.h>

#include "request_handler.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct controller;

/* venues_init / venues_free: the module's memory and its route; venues_free is NULL-safe
 * on a zeroed controller. */
void venues_init(struct controller *c);
void venues_free(struct controller *c);

/* venues_handle_link: PAYLOAD (LEN bytes) on venue/<VENUE>/link: "1" or "0" (anything
 * else is refused through the node and changes nothing). */
void venues_handle_link(struct controller *c, const char *venue, const void *payload, size_t len);

/* venues_room_at: whether ROOM is at a secondary venue whose link has been heard of; then
 * VENUE (STATE_ID_SIZE bytes) gets its id, *UP the link's state, *SEGMENTS the spooled
 * segments its agent last reported and *DOWN_S how long the link has been down (0: up). */
bool venues_room_at(struct controller *c, const char *room, char *venue, bool *up,
                    int64_t *segments, int64_t *down_s);

/* venues_room_cut_off: whether ROOM is at a venue whose link is down; then VENUE
 * (STATE_ID_SIZE bytes) gets its id, *SEGMENTS the spooled segments its agent last reported
 * and *DOWN_S how long the link has been down. */
bool venues_room_cut_off(struct controller *c, const char *room, char *venue, int64_t *segments,
                         int64_t *down_s);

/* The `venues` request (request.h): {"venues": venues_json()}. */
extern const struct request_handler venue_request_handlers[];

/* venues_json: a new array, one object per venue whose link was heard of, by id:
 * {"venue","link":"up|down","since","down_for_s"?,"rooms","backlog":{"events","segments",
 *  "bytes"},"tenders_waiting"?:[tender...]} where the backlog sums the last statuses of
 * the venue's room agents and tenders_waiting names the tenders whose seal waits for the
 * venue (archives_seal_waiting). */
json_t *venues_json(struct controller *c);
