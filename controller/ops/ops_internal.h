/* Helpers shared by the ops_*.c files; nothing else includes this. */
#pragma once
#include "ops.h"

/* ops_end: commit when RC is 0, else roll back; returns RC or the commit's failure. */
int ops_end(struct state *st, int rc, GError **err);
