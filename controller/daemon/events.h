/* Events from room agents (room/<room>/event, events.c). */
#pragma once
#include <stddef.h>

#include "controller.h"

/* events_handle: one message from ROOM's event topic: parsed, validated by its kind's
 * handler and acted on; a bad one is refused through the node and changes nothing. */
void events_handle(struct controller *c, const char *room, const void *payload, size_t len);
