/* state.db: the operator audit log. */
#include "state.h"
#include "state_db.h"

#include <errno.h>

int state_audit_append(struct state *st, int64_t at, const char *identity, const char *command,
                       const char *args, const char *outcome, const char *message, GError **err)
{
	return state_run(st,
	                 "INSERT INTO audit(at, identity, command, args, outcome, message) "
	                 "VALUES (?, ?, ?, ?, ?, ?)",
	                 STATE_ARGS(STATE_INT(at), STATE_TEXT(identity), STATE_TEXT(command),
	                            STATE_TEXT(args), STATE_TEXT(outcome), STATE_TEXT(message)),
	                 "append audit record", err);
}

static json_t *audit_row_json(sqlite3_stmt *stmt)
{
	json_t *row = json_pack(
	    "{s:I, s:I, s:s, s:s, s:s, s:s}", "seq", (json_int_t)sqlite3_column_int64(stmt, 0),
	    "at", (json_int_t)sqlite3_column_int64(stmt, 1), "identity", state_column_text(stmt, 2),
	    "command", state_column_text(stmt, 3), "args", state_column_text(stmt, 4), "outcome",
	    state_column_text(stmt, 5));

	if (sqlite3_column_type(stmt, 6) != SQLITE_NULL)
		json_object_set_new(row, "message", json_string(state_column_text(stmt, 6)));
	return row;
}

int state_audit_list(struct state *st, int64_t since, unsigned limit, json_t **out, GError **err)
{
	return state_list(st,
	                  "SELECT seq, at, identity, command, args, outcome, message FROM audit "
	                  "WHERE at >= ? ORDER BY seq LIMIT ?",
	                  STATE_ARGS(STATE_INT(since), STATE_INT(limit)), audit_row_json, out,
	                  "list audit records", err);
}
