/* state.db: answered request ids, kept until their request expires (replay protection
 * that survives a restart of the controller). */
#include "state.h"
#include "state_db.h"

#include <errno.h>

int state_answered_put(struct state *st, const char *requester, const char *id, int64_t expires,
                       const char *response, int64_t now, GError **err)
{
	int rc = state_run(st, "DELETE FROM answered_request WHERE expires < ?",
	                   STATE_ARGS(STATE_INT(now)), "purge answered requests", err);

	if (rc)
		return rc;
	return state_run(
	    st,
	    "INSERT OR REPLACE INTO answered_request(requester, id, expires, response) "
	    "VALUES (?, ?, ?, ?)",
	    STATE_ARGS(STATE_TEXT(requester), STATE_TEXT(id), STATE_INT(expires),
	               STATE_TEXT(response)),
	    "remember answered request", err);
}

static void read_text(sqlite3_stmt *stmt, void *data)
{
	*(char **)data = g_strdup((const char *)sqlite3_column_text(stmt, 0));
}

int state_answered_get(struct state *st, const char *requester, const char *id, int64_t now,
                       char **response, GError **err)
{
	*response = NULL;
	return state_get_row(st,
	                     "SELECT response FROM answered_request "
	                     "WHERE requester = ? AND id = ? AND expires >= ?",
	                     STATE_ARGS(STATE_TEXT(requester), STATE_TEXT(id), STATE_INT(now)),
	                     read_text, response, "look up answered request", err);
}
