/* state.db itself: schema creation and reopening, pragmas, transactions, identity-number
 * HMAC, the audit log. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "state.h"

struct fixture {
	char *dir;
	char *path;
	struct state *st;
};

static int setup(void **ctx)
{
	struct fixture *f = g_new0(struct fixture, 1);

	f->dir = g_dir_make_tmp("test_state_XXXXXX", NULL);
	assert_non_null(f->dir);
	f->path = g_build_filename(f->dir, "state.db", NULL);
	f->st = state_open(f->path, NULL);
	assert_non_null(f->st);
	*ctx = f;
	return 0;
}

static int teardown(void **ctx)
{
	struct fixture *f = *ctx;
	const char *name;
	GDir *d;

	state_close(f->st);
	d = g_dir_open(f->dir, 0, NULL);
	while ((name = g_dir_read_name(d))) {
		char *p = g_build_filename(f->dir, name, NULL);

		g_unlink(p);
		g_free(p);
	}
	g_dir_close(d);
	g_rmdir(f->dir);
	g_free(f->path);
	g_free(f->dir);
	g_free(f);
	return 0;
}

/* Reads one text value with the sqlite3 library directly, as the sqlite3 shell would. */
static char *query_text(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *stmt;
	char *out = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		out = g_strdup((const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return out;
}

static void test_schema_created_in_wal(void **ctx)
{
	struct fixture *f = *ctx;
	char *mode = query_text(f->path, "PRAGMA journal_mode");
	char *tables = query_text(
	    f->path, "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_schema "
	             "WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name)");

	assert_int_equal(state_schema_version(f->st), STATE_SCHEMA_VERSION);
	assert_string_equal(mode, "wal");
	assert_string_equal(
	    tables,
	    "admission,agent_event,alert,answered_request,assignment,audit,"
	    "checkin,committee,draw,draw_room_review,escort_approval,evidence_hold,meta,person,"
	    "presence,room,room_device,seat,seat_binding,session,site,staff_admission,"
	    "staff_draw,staff_handover,staff_post,tender,tender_venue,venue,venue_selection");
	g_free(mode);
	g_free(tables);
}

static void test_reopen_keeps_data_and_key(void **ctx)
{
	struct fixture *f = *ctx;
	char before[65], after[65];

	state_id_number_hmac(f->st, "11010519491231002X", before);
	assert_int_equal(state_session_add(f->st, "day1", "2026-11-26", 1, NULL), 0);
	state_close(f->st);
	f->st = state_open(f->path, NULL);
	assert_non_null(f->st);
	state_id_number_hmac(f->st, "11010519491231002X", after);
	assert_string_equal(before, after);
	struct state_session s;
	assert_int_equal(state_session_get(f->st, "day1", &s, NULL), 0);
	assert_string_equal(s.date, "2026-11-26");
	assert_string_equal(s.state, "open");
}

static void test_newer_schema_refused(void **ctx)
{
	struct fixture *f = *ctx;
	sqlite3 *db;
	GError *err = NULL;

	state_close(f->st);
	f->st = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_null(state_open(f->path, &err));
	assert_non_null(err);
	assert_non_null(strstr(err->message, "schema version 99"));
	g_error_free(err);
}

/* A version 4 database (rooms expert or tenderer only, no staff tables) is brought
 * forward: its rooms and seats are kept, the seats still refer to their room, and the
 * watchers' room kinds are accepted afterwards. */
static void test_migration_from_version_4(void **ctx)
{
	struct fixture *f = *ctx;
	sqlite3 *db;
	GError *err = NULL;

	state_close(f->st);
	f->st = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db,
	                 "PRAGMA foreign_keys = OFF; BEGIN;"
	                 "DROP TABLE staff_admission; DROP TABLE evidence_hold;"
	                 "DROP TABLE escort_approval;"
	                 "DROP TABLE staff_draw; DROP TABLE staff_post; DROP TABLE staff_handover;"
	                 "DROP TABLE draw_room_review;"
	                 "DROP TABLE tender_venue; DROP TABLE venue_selection;"
	                 "CREATE TABLE room_v2 (id TEXT PRIMARY KEY, name TEXT NOT NULL,"
	                 "  kind TEXT NOT NULL CHECK (kind IN ('expert', 'tenderer')),"
	                 "  venue TEXT REFERENCES venue (id), door TEXT NOT NULL UNIQUE,"
	                 "  ord INTEGER NOT NULL) STRICT;"
	                 "DROP TABLE room; ALTER TABLE room_v2 RENAME TO room;"
	                 "INSERT INTO room VALUES ('E1', 'E1', 'expert', NULL, 'D1', 0);"
	                 "INSERT INTO seat VALUES ('E1', 'S1', NULL, NULL, 0);"
	                 "PRAGMA user_version = 4; COMMIT;",
	                 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	f->st = state_open(f->path, &err);
	assert_non_null(f->st);
	assert_int_equal(state_schema_version(f->st), STATE_SCHEMA_VERSION);
	char *rows = query_text(f->path, "SELECT group_concat(room || '/' || id) FROM seat");
	assert_string_equal(rows, "E1/S1");
	g_free(rows);
	state_close(f->st);
	f->st = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db,
	                 "PRAGMA foreign_keys = ON;"
	                 "INSERT INTO room VALUES ('W1', 'W1', 'witness', NULL, 'D2', 1);",
	                 NULL, NULL, NULL),
	    SQLITE_OK);
	/* the seat's reference to its room still holds */
	assert_int_not_equal(sqlite3_exec(db,
	                                  "PRAGMA foreign_keys = ON;"
	                                  "INSERT INTO seat VALUES ('NOPE', 'S1', NULL, NULL, 0);",
	                                  NULL, NULL, NULL),
	                     SQLITE_OK);
	sqlite3_close(db);
	f->st = state_open(f->path, &err);
	assert_non_null(f->st);
}

/* A version 7 database (a witness note's hold, no sources, nothing released) is brought
 * forward: the hold is a note's, active, and still keeps its span; a release is kept. */
static void test_migration_of_evidence_holds_from_version_7(void **ctx)
{
	struct fixture *f = *ctx;
	sqlite3 *db;
	GError *err = NULL;
	bool held = false;

	state_close(f->st);
	f->st = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db,
	                 "BEGIN; DROP TABLE tender_venue; DROP TABLE venue_selection;"
	                 "DROP INDEX evidence_hold_active;"
	                 "ALTER TABLE evidence_hold DROP COLUMN source;"
	                 "ALTER TABLE evidence_hold DROP COLUMN why;"
	                 "ALTER TABLE evidence_hold DROP COLUMN alert;"
	                 "ALTER TABLE evidence_hold DROP COLUMN released_at;"
	                 "ALTER TABLE evidence_hold DROP COLUMN released_by;"
	                 "ALTER TABLE evidence_hold DROP COLUMN release_reason;"
	                 "INSERT INTO evidence_hold (tender, stream, from_us, to_us, author, made_at)"
	                 "  VALUES ('T1', 'cam-E1', 1000, 2000, 'witness-a', 5);"
	                 "PRAGMA user_version = 7; COMMIT;",
	                 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	f->st = state_open(f->path, &err);
	assert_non_null(f->st);
	assert_int_equal(state_schema_version(f->st), STATE_SCHEMA_VERSION);
	char *row = query_text(f->path, "SELECT source || '/' || why || '/' || "
	                                 "coalesce(released_at, 'active') FROM evidence_hold");
	assert_string_equal(row, "note/witness note/active");
	g_free(row);
	assert_int_equal(state_evidence_held(f->st, 1500, 1600, &held, &err), 0);
	assert_true(held);
	assert_int_equal(state_evidence_hold_release(f->st, 1, "auditor-a", "closed", 9, &err), 0);
	assert_int_equal(state_evidence_held(f->st, 1500, 1600, &held, &err), 0);
	assert_false(held);
	assert_int_equal(state_evidence_hold_release(f->st, 1, "auditor-a", "again", 10, &err),
	                 -EALREADY);
	g_clear_error(&err);
	assert_int_equal(state_evidence_hold_release(f->st, 2, "auditor-a", "none", 10, &err),
	                 -ENOENT);
	g_clear_error(&err);
}

static void test_foreign_keys_enforced(void **ctx)
{
	struct fixture *f = *ctx;
	GError *err = NULL;

	/* A tender of a session that does not exist violates the foreign key. */
	assert_int_equal(state_tender_add(f->st, "T1", "nosuch", "x", 1, &err), -EEXIST);
	g_clear_error(&err);
	struct state_tender t;
	assert_int_equal(state_tender_get(f->st, "T1", &t, &err), -ENOENT);
	g_clear_error(&err);
}

static void test_rollback_discards(void **ctx)
{
	struct fixture *f = *ctx;
	struct state_session s;
	GError *err = NULL;

	assert_int_equal(state_begin(f->st, NULL), 0);
	assert_int_equal(state_session_add(f->st, "day2", "2026-11-27", 1, NULL), 0);
	state_rollback(f->st);
	assert_int_equal(state_session_get(f->st, "day2", &s, &err), -ENOENT);
	g_clear_error(&err);
	assert_int_equal(state_session_add(f->st, "day2", "2026-11-27", 1, NULL), 0);
	assert_int_equal(state_session_add(f->st, "day2", "2026-11-27", 1, &err), -EEXIST);
	assert_non_null(strstr(err->message, "already exists"));
	g_clear_error(&err);
}

static void test_id_number_normalised(void **ctx)
{
	struct fixture *f = *ctx;
	char a[65], b[65], c[65];

	state_id_number_hmac(f->st, "110105 19491231 002x", a);
	state_id_number_hmac(f->st, "11010519491231002X", b);
	state_id_number_hmac(f->st, "110105194912310038", c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_int_equal(strlen(a), 64);
}

static void test_audit_log(void **ctx)
{
	struct fixture *f = *ctx;
	json_t *rows;

	assert_int_equal(state_audit_append(f->st, 100, "operator-alice", "session.create",
	                                    "{\"date\":\"2026-11-26\"}", "ok", NULL, NULL),
	                 0);
	assert_int_equal(state_audit_append(f->st, 200, "operator-bob", "tender.add", "{}",
	                                    "not_found", "no session \"x\"", NULL),
	                 0);
	assert_int_equal(state_audit_list(f->st, 0, 100, &rows, NULL), 0);
	assert_int_equal(json_array_size(rows), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "identity")),
	                    "operator-alice");
	assert_null(json_object_get(json_array_get(rows, 0), "message"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 1), "outcome")),
	                    "not_found");
	json_decref(rows);
	assert_int_equal(state_audit_list(f->st, 150, 100, &rows, NULL), 0);
	assert_int_equal(json_array_size(rows), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "command")),
	                    "tender.add");
	json_decref(rows);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_schema_created_in_wal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reopen_keeps_data_and_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_keys_enforced, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migration_from_version_4, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migration_of_evidence_holds_from_version_7, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_rollback_discards, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_id_number_normalised, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audit_log, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
