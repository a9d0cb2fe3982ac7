/* The agent's command topic (room/<id>/cmd). */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stddef.h>

#include "agent.h"
#include "cmd_reply.h"

/* agent_cmd_handle: one message from the command topic: a `cmd` {"id", "expires",
 * "command", "args"} is answered by one `reply` on room/<id>/reply (ok:false with the
 * reason when expired, unknown or refused by the door or media module); a `segment.ack`
 * goes to the media module; anything else (unparsable, another kind, a bad member) is
 * refused with one `error` event naming the topic and fault, and changes nothing. A
 * command id already executed and not yet expired gets its first reply again and does
 * not run twice (the node's replay cache). */
void agent_cmd_handle(struct agent *a, const void *payload, size_t len);

