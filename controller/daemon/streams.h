/* Recording health from the agents (stream.state, spool.space events). */
#pragma once
#include "controller.h"
#include "event_handler.h"

extern const struct event_handler stream_event_handlers[];
