/* The command ids this agent has run, with their first reply, kept in the spool until
 * the command expires: a command delivered again after a restart of the agent (a broker
 * redelivery, a replay) is answered with that reply and never runs twice. */
#pragma once
#include <glib.h>
#include <stdint.h>

struct cmd_done;

/* cmd_done_open: open (creating the table if missing) the store in the SQLite file PATH
 * (the agent's outbox.db; its own connection). NULL with *err set on failure. */
struct cmd_done *cmd_done_open(const char *path, GError **err);
/* cmd_done_close: close D (NULL allowed). */
void cmd_done_close(struct cmd_done *d);
/* cmd_done_put: remember REPLY (serialised) to command ID until EXPIRES (UTC us),
 * committed before it returns; rows expired at NOW are removed. 0 or -EIO. */
int cmd_done_put(struct cmd_done *d, const char *id, int64_t expires, const char *reply,
                 int64_t now);
/* cmd_done_get: the remembered reply to ID (a new string, g_free) if it has not expired
 * at NOW, else NULL. */
char *cmd_done_get(struct cmd_done *d, const char *id, int64_t now);
