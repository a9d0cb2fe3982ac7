/* Helpers shared by the ops_*.c files; nothing else includes this. */
#pragma once
#include "ops.h"

/* ops_end: commit when RC is 0, else roll back; returns RC or the commit's failure. */
int ops_end(struct state *st, int rc, GError **err);

/* The draw secrets between commit and run, in memory only (ops_draw_vault.c),
 * by commitment hex. */
#include <stdint.h>
void ops_draw_vault_put(const char *commitment, const uint8_t secret[32]);
bool ops_draw_vault_get(const char *commitment, uint8_t secret[32]);
void ops_draw_vault_forget(const char *commitment);
