/* The admissions this room's door has used up, durable in the agent's spool database, so
 * that an admission that let its person in once stays used across an agent restart or a
 * power cut (docs/door.md, "Single use"). */
#pragma once
#include <glib.h>
#include <stdint.h>

#include "admission.h"

struct admission_used;

/* admission_used_open: open (creating the table if missing) the store in the SQLite file
 * PATH (the agent's outbox.db; its own connection, synchronous=FULL). NULL with *err set
 * on failure. */
struct admission_used *admission_used_open(const char *path, GError **err);
/* admission_used_close: close S (NULL allowed). */
void admission_used_close(struct admission_used *s);
/* admission_used_put: write USE down as used, committed and synced before it returns;
 * uses whose window ended before NOW_US are removed. 0 or -EIO (logged). */
int admission_used_put(struct admission_used *s, const struct admission_use *use, int64_t now_us);
/* admission_used_each: call FN for every use whose window has not ended at NOW_US.
 * 0 or -EIO (logged). */
int admission_used_each(struct admission_used *s, int64_t now_us,
                        void (*fn)(const struct admission_use *use, void *user), void *user);
