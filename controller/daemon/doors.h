/* Doors seen from the controller: operator door commands and lockdowns forwarded to the
 * room agents, and the agents' door events. */
#pragma once
#include "controller.h"
#include "event_handler.h"
#include "request_handler.h"

extern const struct event_handler door_event_handlers[];
extern const struct request_handler door_request_handlers[];
