/* state.db statements: prepare and bind, run, read one row or every row, and SQLite's
 * failures as REQUEST_ERROR errors (state_db.h). */
#include "state.h"
#include "state_db.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "request.h"

int state_fail(struct state *st, GError **err, const char *what)
{
	g_warning("state %s: %s: sqlite: %s", st->path, what, sqlite3_errmsg(st->db));
	g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_INTERNAL, "state database: %s failed: %s",
	            what, sqlite3_errmsg(st->db));
	return -EIO;
}

int state_not_found(GError **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_propagate_error(err, g_error_new_valist(REQUEST_ERROR, REQUEST_ERROR_NOT_FOUND, fmt, ap));
	va_end(ap);
	return -ENOENT;
}

int state_conflict(GError **err, const char *fmt, ...)
{
	va_list ap;

	g_clear_error(err);
	va_start(ap, fmt);
	g_propagate_error(err, g_error_new_valist(REQUEST_ERROR, REQUEST_ERROR_CONFLICT, fmt, ap));
	va_end(ap);
	return -EEXIST;
}

sqlite3_stmt *state_stmt(struct state *st, const char *sql, const struct state_arg *args,
                         GError **err)
{
	sqlite3_stmt *stmt = NULL;

	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		state_fail(st, err, "prepare");
		return NULL;
	}
	for (int i = 0; args && args[i].type != STATE_ARG_END; i++) {
		if (args[i].type == STATE_ARG_INT)
			sqlite3_bind_int64(stmt, i + 1, args[i].num);
		else if (args[i].text)
			sqlite3_bind_text(stmt, i + 1, args[i].text, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(stmt, i + 1);
	}
	return stmt;
}

/* Step a statement that returns no row; the error is read before the statement is
 * finalized. */
static int state_step_done(struct state *st, sqlite3_stmt *stmt, const char *what, GError **err)
{
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_CONSTRAINT) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT, "%s: %s", what,
		            sqlite3_errmsg(st->db));
		return -EEXIST;
	}
	return state_fail(st, err, what);
}

int state_run(struct state *st, const char *sql, const struct state_arg *args, const char *what,
              GError **err)
{
	sqlite3_stmt *stmt = state_stmt(st, sql, args, err);
	int rc;

	if (!stmt)
		return -EIO;
	rc = state_step_done(st, stmt, what, err);
	sqlite3_finalize(stmt);
	return rc;
}

int state_exec(struct state *st, const char *sql, const char *what, GError **err)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return state_fail(st, err, what);
	return 0;
}

int state_get_row(struct state *st, const char *sql, const struct state_arg *args,
                  state_row_fn *read, void *data, const char *what, GError **err)
{
	sqlite3_stmt *stmt = state_stmt(st, sql, args, err);
	int rc;

	if (!stmt)
		return -EIO;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		if (read)
			read(stmt, data);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = -ENOENT;
	} else {
		rc = state_fail(st, err, what);
	}
	sqlite3_finalize(stmt);
	return rc;
}

int state_each(struct state *st, const char *sql, const struct state_arg *args, state_row_fn *each,
               void *data, const char *what, GError **err)
{
	sqlite3_stmt *stmt = state_stmt(st, sql, args, err);
	int rc;

	if (!stmt)
		return -EIO;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		each(stmt, data);
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : state_fail(st, err, what);
}

struct json_rows {
	json_t *list;
	json_t *(*row_json)(sqlite3_stmt *stmt);
};

static void json_rows_append(sqlite3_stmt *stmt, void *data)
{
	struct json_rows *rows = data;

	json_array_append_new(rows->list, rows->row_json(stmt));
}

int state_list(struct state *st, const char *sql, const struct state_arg *args,
               json_t *(*row_json)(sqlite3_stmt *stmt), json_t **out, const char *what,
               GError **err)
{
	struct json_rows rows = {json_array(), row_json};
	int rc = state_each(st, sql, args, json_rows_append, &rows, what, err);

	if (rc) {
		json_decref(rows.list);
		return rc;
	}
	*out = rows.list;
	return 0;
}

void state_read_id(sqlite3_stmt *stmt, void *id)
{
	state_copy_column(stmt, 0, id, STATE_ID_SIZE);
}

void state_read_int64(sqlite3_stmt *stmt, void *n)
{
	*(int64_t *)n = sqlite3_column_int64(stmt, 0);
}

void state_read_int(sqlite3_stmt *stmt, void *n)
{
	*(int *)n = sqlite3_column_int(stmt, 0);
}

json_t *state_text_json(sqlite3_stmt *stmt)
{
	return json_string(state_column_text(stmt, 0));
}

void state_copy_column(sqlite3_stmt *stmt, int col, char *dst, size_t size)
{
	const char *s = state_column_text(stmt, col);

	g_strlcpy(dst, s ? s : "", size);
}

const char *state_column_text(sqlite3_stmt *stmt, int col)
{
	return (const char *)sqlite3_column_text(stmt, col);
}

json_t *state_row_object(sqlite3_stmt *stmt)
{
	/* the columns that hold JSON text */
	static const char *const json_columns[] = {"excluded", "record", "venues", NULL};
	json_t *o = json_object();
	for (int i = 0; i < sqlite3_column_count(stmt); i++) {
		const char *name = sqlite3_column_name(stmt, i);
		bool is_json = false;
		json_t *v;
		for (const char *const *j = json_columns; *j; j++)
			is_json = is_json || strcmp(name, *j) == 0;
		switch (sqlite3_column_type(stmt, i)) {
		case SQLITE_INTEGER:
			v = json_integer(sqlite3_column_int64(stmt, i));
			break;
		case SQLITE_NULL:
			v = json_null();
			break;
		default:
			if (is_json) {
				v = json_loads(state_column_text(stmt, i), 0, NULL);
				if (!v)
					v = json_null();
			} else {
				v = json_string(state_column_text(stmt, i));
			}
		}
		json_object_set_new(o, name, v);
	}
	return o;
}

int state_one_object(struct state *st, const char *sql, const struct state_arg *args, json_t **out,
                     const char *what, GError **err)
{
	json_t *list = NULL;
	int rc = state_list(st, sql, args, state_row_object, &list, what, err);
	if (rc != 0)
		return rc;
	if (json_array_size(list) == 0) {
		json_decref(list);
		return -ENOENT;
	}
	*out = json_incref(json_array_get(list, 0));
	json_decref(list);
	return 0;
}
