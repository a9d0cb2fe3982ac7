/* The state.db statement helper (controller/state/state_stmt.c): typed arguments, and how
 * SQLite's outcomes become return codes and REQUEST_ERROR errors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "request.h"
#include "state.h"
#include "state_db.h"

static int setup(void **ctx)
{
	struct state *st = state_open(":memory:", NULL);

	assert_non_null(st);
	assert_int_equal(state_exec(st,
	                            "CREATE TABLE t(id TEXT PRIMARY KEY, n INTEGER NOT NULL);"
	                            "INSERT INTO t VALUES ('a', 1), ('b', -9223372036854775808);",
	                            "scratch table", NULL),
	                 0);
	*ctx = st;
	return 0;
}

static int teardown(void **ctx)
{
	state_close(*ctx);
	return 0;
}

static void assert_error(GError *err, int code, const char *message)
{
	assert_non_null(err);
	assert_true(err->domain == REQUEST_ERROR);
	assert_int_equal(err->code, code);
	assert_string_equal(err->message, message);
}

static void test_run_maps_failures(void **ctx)
{
	struct state *st = *ctx;
	GError *err = NULL;

	assert_int_equal(state_run(st, "INSERT INTO t VALUES (?, ?)",
	                           STATE_ARGS(STATE_TEXT("c"), STATE_INT(3)), "add", &err),
	                 0);
	assert_null(err);
	assert_int_equal(sqlite3_changes(st->db), 1);

	assert_int_equal(state_run(st, "INSERT INTO t VALUES (?, ?)",
	                           STATE_ARGS(STATE_TEXT("c"), STATE_INT(4)), "add", &err),
	                 -EEXIST);
	assert_error(err, REQUEST_ERROR_CONFLICT, "add: UNIQUE constraint failed: t.id");
	g_clear_error(&err);

	assert_int_equal(state_run(st, "INSERT INTO t VALUES (?, ?)",
	                           STATE_ARGS(STATE_TEXT("d"), STATE_TEXT(NULL)), "add", &err),
	                 -EEXIST);
	assert_error(err, REQUEST_ERROR_CONFLICT, "add: NOT NULL constraint failed: t.n");
	g_clear_error(&err);

	assert_int_equal(state_run(st, "UPDATE t SET n = abs(n) WHERE id = 'b'", NULL, "fix", &err),
	                 -EIO);
	assert_error(err, REQUEST_ERROR_INTERNAL, "state database: fix failed: integer overflow");
	g_clear_error(&err);

	assert_int_equal(state_run(st, "DELETE FROM nope", NULL, "drop", &err), -EIO);
	assert_error(err, REQUEST_ERROR_INTERNAL,
	             "state database: prepare failed: no such table: nope");
	g_clear_error(&err);

	/* No GError wanted: the return code alone. */
	assert_int_equal(state_run(st, "DELETE FROM nope", NULL, "drop", NULL), -EIO);
}

struct bound {
	int null_text, n;
	char type[16], text[16];
};

static void bound_read(sqlite3_stmt *stmt, void *data)
{
	struct bound *b = data;

	b->null_text = sqlite3_column_int(stmt, 0);
	state_copy_column(stmt, 1, b->type, sizeof(b->type));
	b->n = sqlite3_column_int(stmt, 2);
	state_copy_column(stmt, 3, b->text, sizeof(b->text));
}

static void test_args_bind_in_order(void **ctx)
{
	struct state *st = *ctx;
	struct bound b = {0};

	assert_int_equal(state_get_row(st, "SELECT ?1 IS NULL, typeof(?2), ?2 + 1, ?3",
	                               STATE_ARGS(STATE_TEXT(NULL), STATE_INT(41), STATE_TEXT("x")),
	                               bound_read, &b, "bind", NULL),
	                 0);
	assert_int_equal(b.null_text, 1);
	assert_string_equal(b.type, "integer");
	assert_int_equal(b.n, 42);
	assert_string_equal(b.text, "x");
}

static void test_get_row(void **ctx)
{
	struct state *st = *ctx;
	GError *err = NULL;
	int64_t n = 0;
	char id[STATE_ID_SIZE] = "untouched";

	assert_int_equal(state_get_row(st, "SELECT n FROM t WHERE id = ?",
	                               STATE_ARGS(STATE_TEXT("a")), state_read_int64, &n, "read",
	                               &err),
	                 0);
	assert_int_equal(n, 1);
	/* No row: -ENOENT, the reader not called, no error set (the caller words it). */
	assert_int_equal(state_get_row(st, "SELECT id FROM t WHERE id = ?",
	                               STATE_ARGS(STATE_TEXT("zz")), state_read_id, id, "read",
	                               &err),
	                 -ENOENT);
	assert_null(err);
	assert_string_equal(id, "untouched");
	assert_int_equal(
	    state_get_row(st, "SELECT 1 FROM t WHERE id = 'a'", NULL, NULL, NULL, "exists", &err),
	    0);
	assert_int_equal(state_get_row(st, "SELECT abs(n) FROM t WHERE id = 'b'", NULL,
	                               state_read_int64, &n, "read", &err),
	                 -EIO);
	assert_error(err, REQUEST_ERROR_INTERNAL, "state database: read failed: integer overflow");
	g_clear_error(&err);
	assert_int_equal(state_not_found(&err, "no thing \"%s\"", "zz"), -ENOENT);
	assert_error(err, REQUEST_ERROR_NOT_FOUND, "no thing \"zz\"");
	g_clear_error(&err);
}

static void test_conflict_replaces_the_constraint_error(void **ctx)
{
	struct state *st = *ctx;
	GError *err = NULL;
	int rc = state_run(st, "INSERT INTO t VALUES ('a', 5)", NULL, "add", &err);

	assert_int_equal(rc, -EEXIST);
	rc = state_conflict(&err, "thing \"%s\" already exists", "a");
	assert_int_equal(rc, -EEXIST);
	assert_error(err, REQUEST_ERROR_CONFLICT, "thing \"a\" already exists");
	g_clear_error(&err);
	assert_int_equal(state_conflict(NULL, "ignored"), -EEXIST);
}

static void collect_ids(sqlite3_stmt *stmt, void *data)
{
	g_string_append(data, state_column_text(stmt, 0));
}

static void test_list_and_each(void **ctx)
{
	struct state *st = *ctx;
	GError *err = NULL;
	json_t *out = NULL;
	GString *ids = g_string_new(NULL);

	assert_int_equal(state_list(st, "SELECT id FROM t WHERE n > ? ORDER BY id",
	                            STATE_ARGS(STATE_INT(-1)), state_text_json, &out, "list", &err),
	                 0);
	assert_int_equal(json_array_size(out), 1);
	assert_string_equal(json_string_value(json_array_get(out, 0)), "a");
	json_decref(out);

	/* A failure after some rows: -EIO, and *OUT is not set. */
	out = NULL;
	assert_int_equal(state_list(st, "SELECT abs(n) FROM t ORDER BY id", NULL, state_text_json,
	                            &out, "list", &err),
	                 -EIO);
	assert_null(out);
	assert_error(err, REQUEST_ERROR_INTERNAL, "state database: list failed: integer overflow");
	g_clear_error(&err);

	/* state_each hands over the rows it read before the failure. */
	assert_int_equal(state_each(st, "SELECT id, abs(n) FROM t ORDER BY id", NULL, collect_ids,
	                            ids, "each", &err),
	                 -EIO);
	assert_string_equal(ids->str, "a");
	g_clear_error(&err);
	g_string_free(ids, TRUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_run_maps_failures, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_args_bind_in_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_get_row, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_conflict_replaces_the_constraint_error, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_list_and_each, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
