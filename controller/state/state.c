/* state.db: opening, schema and migrations, transactions, identity-number keys. */
#include "state.h"
#include "state_db.h"

#include <errno.h>
#include <openssl/rand.h>
#include <string.h>

#include "hex.h"
#include "request.h"

extern const char state_schema_sql[];

/* Migrations from version i to i + 1 (index i - 1). Version 0 -> 1 is the whole
 * schema; later versions append their ALTER/CREATE statements here, never edit old
 * ones, so any older database can be brought forward in one transaction. */
static const char *const state_migrations[] = {
    NULL, /* 0 -> 1: state_schema_sql */
};

static int state_get_version(struct state *st, int *version, GError **err)
{
	int rc = state_get_row(st, "PRAGMA user_version", NULL, state_read_int, version,
	                       "read schema version", err);

	return rc == -ENOENT ? state_fail(st, err, "read schema version") : rc;
}

static int state_make_key(struct state *st, GError **err)
{
	unsigned char key[32];
	char *hex;
	int rc;

	if (RAND_bytes(key, sizeof(key)) != 1) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_INTERNAL,
		            "state database: no randomness for the identity-number key");
		return -EIO;
	}
	hex = hex_encode_dup(key, sizeof(key));
	rc = state_run(st, "INSERT INTO meta(key, value) VALUES ('id_number_key', ?)",
	               STATE_ARGS(STATE_TEXT(hex)), "store identity-number key", err);
	g_free(hex);
	return rc;
}

static int state_load_key(struct state *st, GError **err)
{
	sqlite3_stmt *stmt =
	    state_stmt(st, "SELECT value FROM meta WHERE key = 'id_number_key'", NULL, err);
	const char *hex;

	if (!stmt)
		return -EIO;
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		sqlite3_finalize(stmt);
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_INTERNAL,
		            "state database %s: identity-number key missing", st->path);
		return -EIO;
	}
	hex = (const char *)sqlite3_column_text(stmt, 0);
	st->key_len = strlen(hex) / 2;
	if (st->key_len > sizeof(st->key))
		st->key_len = sizeof(st->key);
	for (size_t i = 0; i < st->key_len; i++)
		st->key[i] = (unsigned char)(g_ascii_xdigit_value(hex[2 * i]) * 16 +
		                             g_ascii_xdigit_value(hex[2 * i + 1]));
	sqlite3_finalize(stmt);
	return 0;
}

static int state_migrate(struct state *st, GError **err)
{
	int version, rc;
	char pragma[48];

	rc = state_get_version(st, &version, err);
	if (rc)
		return rc;
	if (version > STATE_SCHEMA_VERSION) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_INTERNAL,
		            "state database %s has schema version %d; this program knows up to %d",
		            st->path, version, STATE_SCHEMA_VERSION);
		return -EPROTO;
	}
	if (version == STATE_SCHEMA_VERSION)
		return state_load_key(st, err);

	rc = state_begin(st, err);
	if (rc)
		return rc;
	for (; version < STATE_SCHEMA_VERSION; version++) {
		const char *sql = version == 0 ? state_schema_sql : state_migrations[version];

		rc = state_exec(st, sql, "schema migration", err);
		if (rc)
			goto err_rollback;
		if (version == 0) {
			rc = state_make_key(st, err);
			if (rc)
				goto err_rollback;
		}
	}
	g_snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", STATE_SCHEMA_VERSION);
	rc = state_exec(st, pragma, "set schema version", err);
	if (rc)
		goto err_rollback;
	rc = state_commit(st, err);
	if (rc)
		goto err_rollback;
	return state_load_key(st, err);

err_rollback:
	state_rollback(st);
	return rc;
}

struct state *state_open(const char *path, GError **err)
{
	struct state *st = g_new0(struct state, 1);

	st->path = g_strdup(path);
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_INTERNAL,
		            "state database %s: cannot open: %s", path,
		            st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto err_close;
	}
	sqlite3_busy_timeout(st->db, 5000);
	if (state_exec(st, "PRAGMA foreign_keys = ON", "enable foreign keys", err) ||
	    state_exec(st, "PRAGMA journal_mode = WAL", "enable WAL", err) ||
	    state_exec(st, "PRAGMA synchronous = FULL", "set synchronous", err))
		goto err_close;
	if (state_migrate(st, err))
		goto err_close;
	return st;

err_close:
	state_close(st);
	return NULL;
}

void state_close(struct state *st)
{
	if (!st)
		return;
	state_rollback(st);
	sqlite3_close(st->db);
	g_free(st->path);
	g_free(st);
}

int state_schema_version(struct state *st)
{
	int version = -1;

	if (state_get_version(st, &version, NULL))
		return -1;
	return version;
}

int state_begin(struct state *st, GError **err)
{
	return state_exec(st, "BEGIN IMMEDIATE", "begin transaction", err);
}

int state_commit(struct state *st, GError **err)
{
	return state_exec(st, "COMMIT", "commit", err);
}

void state_rollback(struct state *st)
{
	if (st->db && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

void state_id_number_hmac(struct state *st, const char *id_number, char out[65])
{
	GString *norm = g_string_new(NULL);
	gchar *mac;

	/* The desk types what the card shows; spacing and the case of a check letter
	 * (the X of a PRC number) must not decide a match. */
	for (const char *p = id_number; *p; p++) {
		if (!g_ascii_isspace(*p))
			g_string_append_c(norm, g_ascii_toupper(*p));
	}
	mac = g_compute_hmac_for_data(G_CHECKSUM_SHA256, st->key, st->key_len,
	                              (const guchar *)norm->str, norm->len);
	g_strlcpy(out, mac, 65);
	g_free(mac);
	g_string_free(norm, TRUE);
}
