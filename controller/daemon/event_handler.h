/* How a kind of room event is handled inside evalroom-controller (events.c dispatches). */
#pragma once
#include <glib.h>
#include <jansson.h>

#include "msg.h"

struct controller;

/* An event handler validates BODY completely (msg_reader) before acting and returns 0,
 * or -EINVAL with *err set and no effect. */
struct event_handler {
	const char *kind;
	int (*fn)(struct controller *c, const char *room, const struct msg_envelope *env,
	          json_t *body, GError **err);
};
