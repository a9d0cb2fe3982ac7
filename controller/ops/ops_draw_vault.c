/* The draw secrets between commit and run, held only in this process's memory
 * (docs/draw.md section 1): never written to state.db, a backup or a log, so a
 * copied database cannot reveal one; a controller restart loses them, which
 * forces a new commitment (the archives show the old one as abandoned). */
#include "ops_internal.h"

#include <openssl/crypto.h>
#include <string.h>

#include "draw.h"

static GHashTable *vault; /* commitment hex -> 32-byte secret (secure heap when available) */

static void secret_free(gpointer p)
{
	OPENSSL_cleanse(p, DRAW_SECRET_LEN);
	g_free(p);
}

void ops_draw_vault_put(const char *commitment, const uint8_t secret[DRAW_SECRET_LEN])
{
	if (!vault)
		vault = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, secret_free);
	g_hash_table_replace(vault, g_strdup(commitment), g_memdup2(secret, DRAW_SECRET_LEN));
}

bool ops_draw_vault_get(const char *commitment, uint8_t secret[DRAW_SECRET_LEN])
{
	const uint8_t *s = vault ? g_hash_table_lookup(vault, commitment) : NULL;

	if (s)
		memcpy(secret, s, DRAW_SECRET_LEN);
	return s != NULL;
}

void ops_draw_vault_forget(const char *commitment)
{
	if (vault)
		g_hash_table_remove(vault, commitment);
}

bool ops_draw_vault_holds(const char *commitment)
{
	return commitment && vault && g_hash_table_contains(vault, commitment);
}
