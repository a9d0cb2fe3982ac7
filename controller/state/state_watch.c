/* state.db: the watchers' side (docs/witness.md): staff door credentials for their own
 * rooms and the evidence holds of witness notes. */
#include "state.h"
#include "state_db.h"

#include <errno.h>
#include <string.h>

int state_staff_admission_add(struct state *st, const char *identity, const char *room,
                              const char *credential, int64_t issued_at, int64_t valid_until,
                              const char *desk, int64_t *id, GError **err)
{
	int rc = state_run(st,
	                   "UPDATE staff_admission SET state = 'replaced', credential = '', "
	                   "ended_at = ? WHERE identity = ? AND state = 'active'",
	                   STATE_ARGS(STATE_INT(issued_at), STATE_TEXT(identity)),
	                   "replace staff admission", err);
	if (rc == 0)
		rc = state_run(st,
		               "INSERT INTO staff_admission(identity, room, credential, issued_at, "
		               "valid_until, desk, state) VALUES (?, ?, ?, ?, ?, ?, 'active')",
		               STATE_ARGS(STATE_TEXT(identity), STATE_TEXT(room),
		                          STATE_TEXT(credential), STATE_INT(issued_at),
		                          STATE_INT(valid_until), STATE_TEXT(desk)),
		               "store staff admission", err);
	if (rc == 0 && id)
		*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

int state_staff_admission_end(struct state *st, int64_t id, const char *state, int64_t now,
                              GError **err)
{
	int rc = state_run(st,
	                   "UPDATE staff_admission SET state = ?, credential = '', ended_at = ? "
	                   "WHERE id = ? AND state = 'active'",
	                   STATE_ARGS(STATE_TEXT(state), STATE_INT(now), STATE_INT(id)),
	                   "end staff admission", err);
	if (rc == 0 && sqlite3_changes(st->db) == 0)
		rc = state_not_found(err, "staff admission %" G_GINT64_FORMAT " is not active", id);
	return rc;
}

int state_staff_admission_active_of(struct state *st, const char *identity, const char *room,
                                    int64_t *id, GError **err)
{
	int rc = state_get_row(st,
	                       "SELECT id FROM staff_admission WHERE identity = ? AND room = ? "
	                       "AND state = 'active' ORDER BY id DESC LIMIT 1",
	                       STATE_ARGS(STATE_TEXT(identity), STATE_TEXT(room)), state_read_int64,
	                       id, "read staff admission", err);
	if (rc == -ENOENT)
		rc = state_not_found(err, "no staff admission for %s (%s)", identity, room);
	return rc;
}

int state_evidence_hold_add(struct state *st, const char *tender, const char *stream,
                            int64_t from_us, int64_t to_us, const char *author, int64_t now,
                            int64_t *id, GError **err)
{
	int rc = state_run(st,
	                   "INSERT INTO evidence_hold(tender, stream, from_us, to_us, author, "
	                   "made_at) VALUES (?, ?, ?, ?, ?, ?)",
	                   STATE_ARGS(STATE_TEXT(tender), STATE_TEXT(stream), STATE_INT(from_us),
	                              STATE_INT(to_us), STATE_TEXT(author), STATE_INT(now)),
	                   "store evidence hold", err);
	if (rc == 0 && id)
		*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

int state_evidence_held(struct state *st, int64_t from_us, int64_t to_us, bool *held, GError **err)
{
	int rc = state_get_row(st,
	                       "SELECT 1 FROM evidence_hold WHERE from_us < ? AND to_us > ? "
	                       "LIMIT 1",
	                       STATE_ARGS(STATE_INT(to_us), STATE_INT(from_us)), NULL, NULL,
	                       "read evidence holds", err);
	if (rc == 0 || rc == -ENOENT) {
		*held = rc == 0;
		rc = 0;
	}
	return rc;
}

static void text_dup_read(sqlite3_stmt *stmt, void *text)
{
	*(char **)text = g_strdup(state_column_text(stmt, 0));
}

int state_site_source(struct state *st, char **out, GError **err)
{
	int rc = state_get_row(st, "SELECT source FROM site", NULL, text_dup_read, out, "read site",
	                       err);
	if (rc == -ENOENT)
		rc = state_not_found(err, "no site imported yet (evalroomctl site import FILE)");
	return rc;
}
