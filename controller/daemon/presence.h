/* Room agents' presence (room/<room>/status, presence.c). */
#pragma once
#include <jansson.h>
#include <stddef.h>

#include "controller.h"

/* presence_init: an empty c->rooms. */
void presence_init(struct controller *c);
/* presence_handle_status: one retained status (or its removal, LEN 0) of ROOM's agent:
 * validated, then c->rooms and the alerts follow; a bad one is refused through the node. */
void presence_handle_status(struct controller *c, const char *room, const void *payload,
                            size_t len);
/* presence_rooms_json: every known room's presence (new reference). */
json_t *presence_rooms_json(struct controller *c);
