/* state.db: the operator audit log. */
#include "state.h"
#include "state_db.h"

#include <errno.h>

int state_audit_append(struct state *st, int64_t at, const char *identity, const char *command,
                       const char *args, const char *outcome, const char *message, GError **err)
{
	sqlite3_stmt *stmt =
	    state_prepare(st,
	                  "INSERT INTO audit(at, identity, command, args, outcome, "
	                  "message) VALUES (?, ?, ?, ?, ?, ?)",
	                  err);
	int rc;

	if (!stmt)
		return -EIO;
	sqlite3_bind_int64(stmt, 1, at);
	state_bind_texts(stmt, 2, 5, (const char *[]){identity, command, args, outcome, message});
	rc = state_step_done(st, stmt, "append audit record", err);
	sqlite3_finalize(stmt);
	return rc;
}

int state_audit_list(struct state *st, int64_t since, unsigned limit, json_t **out, GError **err)
{
	sqlite3_stmt *stmt = state_prepare(st,
	                                   "SELECT seq, at, identity, command, args, outcome, "
	                                   "message FROM audit WHERE at >= ? ORDER BY seq LIMIT ?",
	                                   err);
	json_t *list;
	int rc;

	if (!stmt)
		return -EIO;
	sqlite3_bind_int64(stmt, 1, since);
	sqlite3_bind_int64(stmt, 2, limit);
	list = json_array();
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		json_t *row = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s}", "seq",
		                        (json_int_t)sqlite3_column_int64(stmt, 0), "at",
		                        (json_int_t)sqlite3_column_int64(stmt, 1), "identity",
		                        (const char *)sqlite3_column_text(stmt, 2), "command",
		                        (const char *)sqlite3_column_text(stmt, 3), "args",
		                        (const char *)sqlite3_column_text(stmt, 4), "outcome",
		                        (const char *)sqlite3_column_text(stmt, 5));

		if (sqlite3_column_type(stmt, 6) != SQLITE_NULL)
			json_object_set_new(
			    row, "message",
			    json_string((const char *)sqlite3_column_text(stmt, 6)));
		json_array_append_new(list, row);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(list);
		return state_fail(st, err, "list audit records");
	}
	*out = list;
	return 0;
}
