/* The controller's record of agent events (table agent_event). */
#include <errno.h>

#include "state.h"
#include "state_db.h"

int state_agent_event_seen(struct state *st, const char *room, int64_t seq, bool *seen,
                           GError **err)
{
	int rc = state_get_row(st, "SELECT 1 FROM agent_event WHERE room = ? AND seq = ?",
	                       STATE_ARGS(STATE_TEXT(room), STATE_INT(seq)), NULL, NULL,
	                       "agent_event lookup", err);
	*seen = rc == 0;
	return rc == -ENOENT ? 0 : rc;
}

int state_agent_event_add(struct state *st, const char *room, int64_t seq, const char *kind,
                          int64_t at, int64_t received, const char *body, GError **err)
{
	return state_run(st,
	                 "INSERT OR IGNORE INTO agent_event (room, seq, kind, at, received, body) "
	                 "VALUES (?, ?, ?, ?, ?, ?)",
	                 STATE_ARGS(STATE_TEXT(room), STATE_INT(seq), STATE_TEXT(kind),
	                            STATE_INT(at), STATE_INT(received), STATE_TEXT(body)),
	                 "agent_event insert", err);
}

int state_agent_event_count(struct state *st, const char *room, const char *kind, int64_t *n,
                            GError **err)
{
	*n = 0;
	int rc = state_get_row(
	    st, "SELECT count(*) FROM agent_event WHERE room = ? AND (?2 IS NULL OR kind = ?2)",
	    STATE_ARGS(STATE_TEXT(room), STATE_TEXT(kind)), state_read_int64, n,
	    "agent_event count", err);
	return rc == -ENOENT ? state_fail(st, err, "agent_event count") : rc;
}
