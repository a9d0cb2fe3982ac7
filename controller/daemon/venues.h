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
#include <stddef.h>

struct controller;

/* venues_init / venues_free: the module's memory and its route; venues_free is NULL-safe
 * on a zeroed controller. */
void venues_init(struct controller *c);
void venues_free(struct controller *c);

/* venues_handle_link: PAYLOAD (LEN bytes) on venue/<VENUE>/link: "1" or "0" (anything
 * else is refused through the node and changes nothing). */
void venues_handle_link(struct controller *c, const char *venue, const void *payload, size_t len);

/* venues_json: a new array, one object per venue whose link was heard of, by id:
 * {"venue","link":"up|down","since","down_for_s"?,"rooms","backlog":{"events","segments",
 *  "bytes"}} where the backlog sums the last statuses of the venue's room agents. */
json_t *venues_json(struct controller *c);
