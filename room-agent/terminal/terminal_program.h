/* The evaluation client, started for a logged-in expert with GSubprocess in its own
 * process group (so stopping it also stops what it started). Its environment carries
 * EVALROOM_ROOM, EVALROOM_SEAT, EVALROOM_PERSON_ID, EVALROOM_PERSON_NAME and
 * EVALROOM_TENDER_ID; its stdin is a pipe and its output is discarded (the kiosk owns the
 * terminal). Stopping sends SIGTERM to the group and SIGKILL after
 * TERMINAL_PROGRAM_GRACE_MS if it is still there. */
#pragma once
#include <gio/gio.h>

#include "terminal.h"

#define TERMINAL_PROGRAM_GRACE_MS 3000

struct terminal_program;

/* terminal_program_new: copies ROOM and SEAT. Uses the thread-default main context. */
struct terminal_program *terminal_program_new(const char *room, const char *seat);
/* terminal_program_free: stops a running program, waiting at most the grace time. */
void terminal_program_free(struct terminal_program *p);

/* The terminal_program_ops; ctx is the struct terminal_program *. */
extern const struct terminal_program_ops terminal_program_ops;
