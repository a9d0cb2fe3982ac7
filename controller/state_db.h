/* Internals shared by the state_*.c files; nothing outside them includes this. */
#pragma once
#include <glib.h>
#include <sqlite3.h>

struct state {
	sqlite3 *db;
	char *path;
	unsigned char key[32]; /* identity-number HMAC key */
	size_t key_len;
};

/* state_fail: log and set an INTERNAL error naming WHAT and SQLite's message; -EIO. */
int state_fail(struct state *st, GError **err, const char *what);
/* state_prepare: a prepared statement or NULL with *err set. */
sqlite3_stmt *state_prepare(struct state *st, const char *sql, GError **err);
/* state_bind_texts: bind N strings (NULL binds NULL) from parameter FIRST on. */
void state_bind_texts(sqlite3_stmt *stmt, int first, int n, const char *const *v);
/* state_step_done: step a statement that returns no row; a constraint violation is a
 * CONFLICT (-EEXIST), anything else INTERNAL (-EIO). Does not finalize. */
int state_step_done(struct state *st, sqlite3_stmt *stmt, const char *what, GError **err);
int state_exec(struct state *st, const char *sql, const char *what, GError **err);
/* state_copy_column: copy a text column into DST (SIZE bytes, "" for NULL). */
void state_copy_column(sqlite3_stmt *stmt, int col, char *dst, size_t size);
/* state_hex: lower-case hex of DATA (g_free). */
char *state_hex(const unsigned char *data, size_t len);
