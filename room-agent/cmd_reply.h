/* Replies to the controller's commands (room/<id>/reply), shared by the command topic
 * (agent_cmd.c) and the modules that answer a command later (live views, calls). */
#pragma once
#include <glib.h>
#include <jansson.h>

#include "agent.h"

/* cmd_reply_msg: the `reply` to command ID: {"id", "ok", "result"} with RESULT (borrowed;
 * NULL = {}), or {"id", "ok": false, "error"} with ERR. A new reference. */
json_t *cmd_reply_msg(struct agent *a, const char *id, json_t *result, const GError *err);

/* agent_cmd_reply: the reply to command ID answered later (a command that returned
 * -EINPROGRESS): RESULT (borrowed; NULL = {}) or ERR. Not kept for replays: a second
 * delivery of such a command is run again (live.offer refuses a viewer id in use). */
void agent_cmd_reply(struct agent *a, const char *id, json_t *result, const GError *err);
