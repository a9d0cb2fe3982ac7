/* state.db: opening, schema and migrations, transactions, identity-number keys. */
#include "state.h"
#include "state_db.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <string.h>
#include <unistd.h>

#include "credential.h"

#include "hex.h"
#include "request.h"

extern const char state_schema_sql[];

/* Migrations from version i to i + 1 (index i - 1). Version 0 -> 1 is the whole
 * schema; later versions append their ALTER/CREATE statements here, never edit old
 * ones, so any older database can be brought forward in one transaction. */
static const char *const state_migrations[] = {
    NULL, /* 0 -> 1: state_schema_sql */
    /* 1 -> 2: answered request ids survive a restart (replay protection) */
    "CREATE TABLE answered_request ("
    "  requester TEXT NOT NULL,"
    "  id TEXT NOT NULL,"
    "  expires INTEGER NOT NULL,"
    "  response TEXT NOT NULL,"
    "  PRIMARY KEY (requester, id)"
    ") STRICT;"
    "CREATE INDEX answered_request_expires ON answered_request(expires);",
    /* 2 -> 3: a tender's tenderer and procuring agency (the draw-affinity warning) */
    "ALTER TABLE tender ADD COLUMN tenderer TEXT;"
    "ALTER TABLE tender ADD COLUMN agency TEXT;",
    /* 3 -> 4: an alert may concern a venue (the link of a secondary venue) */
    "ALTER TABLE alert ADD COLUMN venue TEXT NOT NULL DEFAULT '';"
    "DROP INDEX alert_unresolved;"
    "CREATE UNIQUE INDEX alert_unresolved ON alert (kind, room, seat, person, tender, stream, "
    "venue) WHERE state != 'resolved';",
    /* 4 -> 5: the watchers' room kinds (docs/witness.md). SQLite cannot change a CHECK,
     * so the room table is rebuilt (SQLite's "ALTER TABLE" procedure: state_migrate runs
     * migrations with foreign keys off and checks them all before the commit). */
    "CREATE TABLE room_v5 ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  kind TEXT NOT NULL CHECK (kind IN ('expert', 'tenderer', 'witness', 'supervision',"
    "    'draw')),"
    "  venue TEXT REFERENCES venue (id),"
    "  door TEXT NOT NULL UNIQUE,"
    "  ord INTEGER NOT NULL"
    ") STRICT;"
    "INSERT INTO room_v5 SELECT id, name, kind, venue, door, ord FROM room;"
    "DROP TABLE room;"
    "ALTER TABLE room_v5 RENAME TO room;"
    /* a supervisor's approval of an escorted entry into an expert or tenderer room */
    "CREATE TABLE escort_approval ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  identity TEXT NOT NULL,"
    "  escort TEXT NOT NULL,"
    "  room TEXT NOT NULL REFERENCES room (id),"
    "  reason TEXT NOT NULL,"
    "  basis TEXT NOT NULL,"
    "  supervisor TEXT NOT NULL,"
    "  approved_at INTEGER NOT NULL,"
    "  valid_until INTEGER NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('active', 'used', 'expired')),"
    "  ended_at INTEGER"
    ") STRICT;"
    /* door credentials of the watchers' staff for their own rooms (docs/witness.md);
     * kept only while active, like admission's */
    "CREATE TABLE staff_admission ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  identity TEXT NOT NULL,"
    "  room TEXT NOT NULL REFERENCES room (id),"
    "  credential TEXT NOT NULL,"
    "  issued_at INTEGER NOT NULL,"
    "  valid_until INTEGER NOT NULL,"
    "  desk TEXT NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('active', 'used', 'expired', 'replaced')),"
    "  ended_at INTEGER,"
    "  approval INTEGER REFERENCES escort_approval (id),"
    "  escort INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"
    "CREATE INDEX staff_admission_active ON staff_admission (state, room);"
    /* recordings a witness's note keeps from retention deletion (docs/witness.md) */
    "CREATE TABLE evidence_hold ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tender TEXT NOT NULL,"
    "  stream TEXT NOT NULL,"
    "  from_us INTEGER NOT NULL,"
    "  to_us INTEGER NOT NULL CHECK (to_us > from_us),"
    "  author TEXT NOT NULL,"
    "  made_at INTEGER NOT NULL"
    ") STRICT;",
    /* 5 -> 6: the staff draw, its posts per tender, handovers, and the review of the draw
     * room's footage (docs/staff.md) */
    "CREATE TABLE staff_draw ("
    "  session TEXT PRIMARY KEY REFERENCES session (id),"
    "  inputs TEXT NOT NULL,"
    "  input_hash TEXT NOT NULL,"
    "  commitment TEXT NOT NULL,"
    "  committed_by TEXT NOT NULL,"
    "  committed_at INTEGER NOT NULL,"
    "  excluded TEXT NOT NULL,"
    "  record TEXT,"
    "  witness TEXT,"
    "  run_at INTEGER"
    ") STRICT;"
    "CREATE TABLE staff_post ("
    "  session TEXT NOT NULL REFERENCES session (id),"
    "  tender TEXT NOT NULL REFERENCES tender (id),"
    "  post TEXT NOT NULL,"
    "  person TEXT NOT NULL,"
    "  since INTEGER NOT NULL,"
    "  PRIMARY KEY (tender, post)"
    ") STRICT;"
    "CREATE TABLE staff_handover ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tender TEXT NOT NULL REFERENCES tender (id),"
    "  post TEXT NOT NULL,"
    "  from_person TEXT NOT NULL,"
    "  to_person TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  ordered_by TEXT NOT NULL,"
    "  ordered_at INTEGER NOT NULL,"
    "  from_signed_at INTEGER,"
    "  to_signed_at INTEGER,"
    "  state TEXT NOT NULL CHECK (state IN ('pending', 'done'))"
    ") STRICT;"
    /* a draw room's door: a tenderer's representative and a witness together */
    "ALTER TABLE staff_admission ADD COLUMN pair TEXT;"
    "CREATE TABLE draw_room_review ("
    "  tender TEXT PRIMARY KEY REFERENCES tender (id),"
    "  closed_at INTEGER NOT NULL,"
    "  reviewed_by TEXT,"
    "  reviewed_at INTEGER,"
    "  note TEXT"
    ") STRICT;",
    /* 6 -> 7: each person's signatures of a handover, as the archive keeps them
     * (docs/staff.md section 8) */
    "ALTER TABLE staff_handover ADD COLUMN from_signatures TEXT;"
    "ALTER TABLE staff_handover ADD COLUMN to_signatures TEXT;",
    /* 7 -> 8: one evidence-hold mechanism (docs/archives.md, "Evidence holds"): the
     * retention archives' holds of behaviour warnings and of the seats' recording before
     * check-in, once site-YYYY-MM-DD.hold files, are rows here like a witness note's (which
     * SOURCE names, with WHY in words and the warning's ALERT), and a person releases a
     * hold (who, when, why kept) instead of removing a file */
    "ALTER TABLE evidence_hold ADD COLUMN source TEXT NOT NULL DEFAULT 'note';"
    "ALTER TABLE evidence_hold ADD COLUMN why TEXT NOT NULL DEFAULT 'witness note';"
    "ALTER TABLE evidence_hold ADD COLUMN alert INTEGER;"
    "ALTER TABLE evidence_hold ADD COLUMN released_at INTEGER;"
    "ALTER TABLE evidence_hold ADD COLUMN released_by TEXT;"
    "ALTER TABLE evidence_hold ADD COLUMN release_reason TEXT;"
    "CREATE INDEX evidence_hold_active ON evidence_hold (from_us) WHERE released_at IS NULL;",
    /* 8 -> 9: the venues of a tender, booked or drawn (docs/venues.md, docs/draw.md
     * section 12): every booking and draw with its commitment and record, and the venues
     * chosen now */
    "CREATE TABLE venue_selection ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tender TEXT NOT NULL REFERENCES tender (id),"
    "  way TEXT NOT NULL CHECK (way IN ('booking', 'draw', 'redraw')),"
    "  round INTEGER NOT NULL,"
    "  venues TEXT NOT NULL,"
    "  inputs TEXT,"
    "  input_hash TEXT,"
    "  commitment TEXT,"
    "  made_by TEXT NOT NULL,"
    "  made_at INTEGER NOT NULL,"
    "  reason TEXT,"
    "  record TEXT,"
    "  witness TEXT,"
    "  run_at INTEGER,"
    "  state TEXT NOT NULL CHECK (state IN ('booked', 'committed', 'run', 'ended'))"
    ") STRICT;"
    "CREATE TABLE tender_venue ("
    "  tender TEXT NOT NULL REFERENCES tender (id),"
    "  venue TEXT NOT NULL,"
    "  selection INTEGER NOT NULL REFERENCES venue_selection (id),"
    "  way TEXT NOT NULL CHECK (way IN ('booked', 'drawn')),"
    "  PRIMARY KEY (tender, venue)"
    ") STRICT;",
};

_Static_assert(G_N_ELEMENTS(state_migrations) == STATE_SCHEMA_VERSION,
               "one migration per schema version: STATE_SCHEMA_VERSION names the last");

static int state_get_version(struct state *st, int *version, GError **err)
{
	int rc = state_get_row(st, "PRAGMA user_version", NULL, state_read_int, version,
	                       "read schema version", err);

	return rc == -ENOENT ? state_fail(st, err, "read schema version") : rc;
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
		return -ENOENT; /* kept in its own file (state_id_number_key) */
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

static void fk_violation_read(sqlite3_stmt *stmt, void *data)
{
	g_strlcpy(data, state_column_text(stmt, 0), 64);
}

/* 0 when no row of the database breaks a foreign key, else -EPROTO naming the table. */
static int state_foreign_keys_check(struct state *st, GError **err)
{
	char table[64] = "";
	int rc = state_get_row(st, "PRAGMA foreign_key_check", NULL, fk_violation_read, table,
	                       "check foreign keys", err);
	if (rc == -ENOENT)
		return 0;
	if (rc == 0) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_INTERNAL,
		            "state database %s: schema migration left a broken reference in %s",
		            st->path, table);
		rc = -EPROTO;
	}
	return rc;
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
		return 0;

	/* A migration may rebuild a table others refer to: foreign keys are off meanwhile
	 * (a no-op inside a transaction) and every reference is checked before the commit. */
	rc = state_exec(st, "PRAGMA foreign_keys = OFF", "schema migration", err);
	if (rc)
		return rc;
	rc = state_begin(st, err);
	if (rc)
		goto err_fk;
	for (; version < STATE_SCHEMA_VERSION; version++) {
		const char *sql = version == 0 ? state_schema_sql : state_migrations[version];

		rc = state_exec(st, sql, "schema migration", err);
		if (rc)
			goto err_rollback;
	}
	rc = state_foreign_keys_check(st, err);
	if (rc)
		goto err_rollback;
	g_snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", STATE_SCHEMA_VERSION);
	rc = state_exec(st, pragma, "set schema version", err);
	if (rc)
		goto err_rollback;
	rc = state_commit(st, err);
	if (rc)
		goto err_rollback;
	return state_exec(st, "PRAGMA foreign_keys = ON", "enable foreign keys", err);

err_rollback:
	state_rollback(st);
err_fk:
	state_exec(st, "PRAGMA foreign_keys = ON", "enable foreign keys", NULL);
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
	    state_exec(st, "PRAGMA synchronous = FULL", "set synchronous", err) ||
	    state_exec(st, "PRAGMA secure_delete = ON", "set secure_delete", err))
		goto err_close;
	if (state_migrate(st, err))
		goto err_close;
	return st;

err_close:
	state_close(st);
	return NULL;
}

/* Write HEX (the key, 64 hex digits) to PATH, a new file of mode 0600. */
static int key_file_create(const char *path, const char *hex, GError **err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600), rc = 0;

	if (fd < 0) {
		rc = -errno;
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_INTERNAL,
		            "identity-number key %s: cannot create: %s", path, g_strerror(errno));
		return rc;
	}
	if (write(fd, hex, strlen(hex)) != (ssize_t)strlen(hex) || write(fd, "\n", 1) != 1 ||
	    fsync(fd) != 0) {
		rc = -EIO;
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_INTERNAL,
		            "identity-number key %s: cannot write", path);
	}
	close(fd);
	return rc;
}

int state_id_number_key(struct state *st, const char *path, GError **err)
{
	struct credential_key file_key;
	GError *lerr = NULL;
	int rc, in_db = state_load_key(st, err);

	if (in_db != 0 && in_db != -ENOENT)
		return in_db;
	if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
		if (in_db == 0) { /* an older state.db: the key moves out */
			char *hex = hex_encode_dup(st->key, st->key_len);
			rc = key_file_create(path, hex, err);
			OPENSSL_cleanse(hex, strlen(hex));
			g_free(hex);
		} else {
			rc = credential_key_write(path, err);
		}
		if (rc)
			return rc;
	}
	rc = credential_key_load(path, &file_key, &lerr);
	if (rc) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_INTERNAL, "identity-number %s",
		            lerr->message);
		g_error_free(lerr);
		return rc;
	}
	if (in_db == 0 && (st->key_len != sizeof(file_key.k) ||
	                   CRYPTO_memcmp(st->key, file_key.k, sizeof(file_key.k)) != 0)) {
		OPENSSL_cleanse(&file_key, sizeof(file_key));
		g_set_error(
		    err, REQUEST_ERROR, REQUEST_ERROR_INTERNAL,
		    "identity-number key: %s differs from the key in %s: which one made the "
		    "stored HMACs? move one away",
		    path, st->path);
		return -EINVAL;
	}
	memcpy(st->key, file_key.k, sizeof(file_key.k));
	st->key_len = sizeof(file_key.k);
	OPENSSL_cleanse(&file_key, sizeof(file_key));
	if (in_db == 0) {
		/* Out of the database and its WAL (secure_delete zeroes the freed bytes). */
		rc = state_exec(st, "DELETE FROM meta WHERE key = 'id_number_key'",
		                "remove identity-number key", err);
		if (rc == 0)
			rc = state_exec(st, "PRAGMA wal_checkpoint(TRUNCATE)", "checkpoint", err);
		if (rc)
			return rc;
	}
	return 0;
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
