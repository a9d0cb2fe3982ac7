/* Internals shared by the state_*.c files; nothing outside them includes this. */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>

struct state {
	sqlite3 *db;
	char *path;
	unsigned char key[32]; /* identity-number HMAC key */
	size_t key_len;
};

/* --- statements (state_stmt.c) ---
 *
 * Errors follow state.h: an SQLite failure is logged with WHAT and the database's path
 * and set as INTERNAL "state database: WHAT failed: <sqlite message>" (-EIO); a failed
 * prepare is WHAT "prepare". */

/* One value for a statement parameter: STATE_TEXT(s) (a NULL s binds NULL) or
 * STATE_INT(n). A list of them ends with a zeroed entry (type STATE_ARG_END). */
struct state_arg {
	enum { STATE_ARG_END, STATE_ARG_TEXT, STATE_ARG_INT } type;
	const char *text;
	int64_t num;
};
#define STATE_TEXT(s) ((struct state_arg){.type = STATE_ARG_TEXT, .text = (s)})
#define STATE_INT(n)  ((struct state_arg){.type = STATE_ARG_INT, .num = (n)})
/* STATE_ARGS(a, b, ...): the list binding a to parameter 1, b to 2, and so on (?NNN
 * parameters count too: ?3 is the third). Functions taking ARGS accept NULL for none. */
#define STATE_ARGS(...) ((const struct state_arg[]){__VA_ARGS__, {0}})

/* state_fail: log and set an INTERNAL error naming WHAT and SQLite's message; -EIO. */
int state_fail(struct state *st, GError **err, const char *what);
/* state_not_found: set a NOT_FOUND error with the message FMT; -ENOENT. */
int state_not_found(GError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* state_conflict: replace *ERR (the constraint error of state_run) by a CONFLICT error
 * with the message FMT; -EEXIST. */
int state_conflict(GError **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* state_stmt: SQL prepared with ARGS bound, or NULL with *err set. The caller finalizes
 * it. For statements the functions below do not fit. */
sqlite3_stmt *state_stmt(struct state *st, const char *sql, const struct state_arg *args,
                         GError **err);
/* state_run: run SQL (with ARGS), which returns no row. A constraint violation is a
 * CONFLICT "WHAT: <sqlite message>" (-EEXIST), any other failure INTERNAL (-EIO).
 * sqlite3_changes() and sqlite3_last_insert_rowid() tell about it afterwards. */
int state_run(struct state *st, const char *sql, const struct state_arg *args, const char *what,
              GError **err);
/* state_exec: run SQL without parameters (several statements allowed); -EIO. */
int state_exec(struct state *st, const char *sql, const char *what, GError **err);

/* A function handed each row of a query in turn, with the caller's DATA. */
typedef void state_row_fn(sqlite3_stmt *stmt, void *data);
/* state_get_row: run the query SQL (with ARGS) and hand its first row to READ (NULL:
 * only whether there is one). 0; -ENOENT without a row, with no error set (the caller
 * names what is missing); -EIO when SQLite fails. */
int state_get_row(struct state *st, const char *sql, const struct state_arg *args,
                  state_row_fn *read, void *data, const char *what, GError **err);
/* state_each: run the query SQL (with ARGS) and hand every row to EACH. 0 or -EIO;
 * rows handed over before a failure stay handed over. */
int state_each(struct state *st, const char *sql, const struct state_arg *args, state_row_fn *each,
               void *data, const char *what, GError **err);
/* state_list: run the query SQL (with ARGS) into *OUT, a new array (the caller's) of
 * ROW_JSON's object for each row. 0 or -EIO, with *OUT untouched. */
int state_list(struct state *st, const char *sql, const struct state_arg *args,
               json_t *(*row_json)(sqlite3_stmt *stmt), json_t **out, const char *what,
               GError **err);

/* state_row_object: a row as an object of its columns by name: text (parsed JSON for the
 * columns named "excluded", "record" and "venues"), integers, null (a row_json). */
json_t *state_row_object(sqlite3_stmt *stmt);
/* state_one_object: the first row of the query SQL (with ARGS) as state_row_object's
 * object into *OUT; -ENOENT without a row (no error set), -EIO. */
int state_one_object(struct state *st, const char *sql, const struct state_arg *args, json_t **out,
                     const char *what, GError **err);

/* Readers of column 0 for state_get_row: into a char[STATE_ID_SIZE] ("" for NULL), an
 * int64_t, an int. */
void state_read_id(sqlite3_stmt *stmt, void *id);
void state_read_int64(sqlite3_stmt *stmt, void *n);
void state_read_int(sqlite3_stmt *stmt, void *n);
/* state_text_json: column 0 as a JSON string (a row_json for state_list). */
json_t *state_text_json(sqlite3_stmt *stmt);
/* state_copy_column: copy a text column into DST (SIZE bytes, "" for NULL). */
void state_copy_column(sqlite3_stmt *stmt, int col, char *dst, size_t size);
/* state_column_text: a text column as a C string (NULL for NULL), valid until the next
 * step. */
const char *state_column_text(sqlite3_stmt *stmt, int col);
