/* The controller's record of agent events (table agent_event). */
#include <errno.h>

#include "state.h"
#include "state_db.h"

int state_agent_event_seen(struct state *st, const char *room, int64_t seq, bool *seen,
                           GError **err)
{
	sqlite3_stmt *stmt =
	    state_prepare(st, "SELECT 1 FROM agent_event WHERE room = ? AND seq = ?", err);
	if (!stmt)
		return -EIO;
	sqlite3_bind_text(stmt, 1, room, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, seq);
	int rc = sqlite3_step(stmt);
	*seen = rc == SQLITE_ROW;
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return state_fail(st, err, "agent_event lookup");
	return 0;
}

int state_agent_event_add(struct state *st, const char *room, int64_t seq, const char *kind,
                          int64_t at, int64_t received, const char *body, GError **err)
{
	sqlite3_stmt *stmt =
	    state_prepare(st,
	                  "INSERT OR IGNORE INTO agent_event (room, seq, kind, at, received, body) "
	                  "VALUES (?, ?, ?, ?, ?, ?)",
	                  err);
	if (!stmt)
		return -EIO;
	sqlite3_bind_text(stmt, 1, room, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, seq);
	sqlite3_bind_text(stmt, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, at);
	sqlite3_bind_int64(stmt, 5, received);
	sqlite3_bind_text(stmt, 6, body, -1, SQLITE_STATIC);
	int rc = state_step_done(st, stmt, "agent_event insert", err);
	sqlite3_finalize(stmt);
	return rc;
}

int state_agent_event_count(struct state *st, const char *room, const char *kind, int64_t *n,
                            GError **err)
{
	sqlite3_stmt *stmt = state_prepare(
	    st, "SELECT count(*) FROM agent_event WHERE room = ? AND (?2 IS NULL OR kind = ?2)",
	    err);
	if (!stmt)
		return -EIO;
	sqlite3_bind_text(stmt, 1, room, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, kind, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	*n = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW ? 0 : state_fail(st, err, "agent_event count");
}
