/* state.db: seat draws and seat assignments. */
#include "state.h"
#include "state_db.h"

#include <errno.h>
#include <string.h>

#include "request.h"

static void draw_read(sqlite3_stmt *stmt, void *data)
{
	struct state_draw *out = data;

	memset(out, 0, sizeof(*out));
	state_copy_column(stmt, 0, out->session, sizeof(out->session));
	out->algorithm = sqlite3_column_int(stmt, 1);
	out->input = g_strdup(state_column_text(stmt, 2));
	state_copy_column(stmt, 3, out->input_hash, sizeof(out->input_hash));
	state_copy_column(stmt, 4, out->secret, sizeof(out->secret));
	state_copy_column(stmt, 5, out->commitment, sizeof(out->commitment));
	state_copy_column(stmt, 6, out->entropy, sizeof(out->entropy));
	state_copy_column(stmt, 7, out->seed, sizeof(out->seed));
	out->run = g_strcmp0(state_column_text(stmt, 8), "run") == 0;
	out->committed_at = sqlite3_column_int64(stmt, 9);
	state_copy_column(stmt, 10, out->committed_by, sizeof(out->committed_by));
	out->run_at = sqlite3_column_int64(stmt, 11);
	state_copy_column(stmt, 12, out->run_by, sizeof(out->run_by));
	if (sqlite3_column_type(stmt, 13) != SQLITE_NULL)
		out->record = g_strdup(state_column_text(stmt, 13));
}

int state_draw_get(struct state *st, const char *session, struct state_draw *out, GError **err)
{
	int rc = state_get_row(st,
	                       "SELECT session, algorithm, input, input_hash, secret, commitment, "
	                       "entropy, seed, state, committed_at, committed_by, run_at, run_by, "
	                       "record FROM draw WHERE session = ?",
	                       STATE_ARGS(STATE_TEXT(session)), draw_read, out, "read draw", err);

	if (rc == -ENOENT)
		rc = state_not_found(err, "session \"%s\" has no committed draw", session);
	return rc;
}

void state_draw_clear(struct state_draw *d)
{
	g_clear_pointer(&d->input, g_free);
	g_clear_pointer(&d->record, g_free);
}

int state_draw_add(struct state *st, const struct state_draw *d, GError **err)
{
	int rc = state_run(st,
	                   "INSERT INTO draw(session, algorithm, input, input_hash, secret, "
	                   "commitment, state, committed_at, committed_by) VALUES (?1, ?2, ?3, ?4, "
	                   "?5, ?6, 'committed', ?7, ?8)",
	                   STATE_ARGS(STATE_TEXT(d->session), STATE_INT(d->algorithm),
	                              STATE_TEXT(d->input), STATE_TEXT(d->input_hash),
	                              STATE_TEXT(d->secret), STATE_TEXT(d->commitment),
	                              STATE_INT(d->committed_at), STATE_TEXT(d->committed_by)),
	                   "store draw", err);

	if (rc == -EEXIST)
		rc = state_conflict(err, "session \"%s\" already has a draw", d->session);
	return rc;
}

int state_draw_mark_run(struct state *st, const char *session, const char *entropy,
                        const char *seed, const char *record, const char *by, int64_t now,
                        GError **err)
{
	int rc = state_run(st,
	                   "UPDATE draw SET state = 'run', entropy = ?2, seed = ?3, record = ?4, "
	                   "run_by = ?5, run_at = ?6 WHERE session = ?1 AND state = 'committed'",
	                   STATE_ARGS(STATE_TEXT(session), STATE_TEXT(entropy), STATE_TEXT(seed),
	                              STATE_TEXT(record), STATE_TEXT(by), STATE_INT(now)),
	                   "record draw run", err);

	if (!rc && sqlite3_changes(st->db) != 1) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		            "session \"%s\" has no draw waiting to run", session);
		rc = -EALREADY;
	}
	return rc;
}

static void read_two_ints(sqlite3_stmt *stmt, void *data)
{
	int *out = data;

	out[0] = sqlite3_column_int(stmt, 0);
	out[1] = sqlite3_column_int(stmt, 1);
}

int state_draw_seal(struct state *st, const char *session, int *not_checked_in,
                    int *open_tenders, GError **err)
{
	int v[2] = {0, 0};
	int rc = state_get_row(
	    st,
	    "SELECT (SELECT count(*) FROM assignment a WHERE a.session = ?1 AND a.withdrawn = 0 "
	    "AND NOT EXISTS (SELECT 1 FROM admission x WHERE x.session = a.session AND "
	    "x.person = a.person)), (SELECT count(*) FROM tender t WHERE t.session = ?1 AND "
	    "t.state = 'open')",
	    STATE_ARGS(STATE_TEXT(session)), read_two_ints, v, "read the seat map's seal", err);

	*not_checked_in = v[0];
	*open_tenders = v[1];
	return rc;
}

int state_draw_delete_committed(struct state *st, const char *session, GError **err)
{
	int rc = state_run(st, "DELETE FROM draw WHERE session = ?1 AND state = 'committed'",
	                   STATE_ARGS(STATE_TEXT(session)), "abandon draw commitment", err);

	if (!rc && sqlite3_changes(st->db) != 1) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		            "session \"%s\" has no commitment waiting to run", session);
		rc = -EALREADY;
	}
	return rc;
}

int state_draw_set_record(struct state *st, const char *session, const char *record, GError **err)
{
	return state_run(st, "UPDATE draw SET record = ?2 WHERE session = ?1",
	                 STATE_ARGS(STATE_TEXT(session), STATE_TEXT(record)), "store draw record",
	                 err);
}

int state_assignment_withdraw(struct state *st, const char *session, const char *person,
                              GError **err)
{
	return state_run(
	    st, "UPDATE assignment SET withdrawn = 1 WHERE session = ?1 AND person = ?2",
	    STATE_ARGS(STATE_TEXT(session), STATE_TEXT(person)), "withdraw seat assignment", err);
}

int state_assignment_add(struct state *st, const struct state_assignment *a, int64_t now,
                         GError **err)
{
	int rc =
	    state_run(st,
	              "INSERT INTO assignment(session, person, tender, room, seat, replacement, "
	              "assigned_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
	              STATE_ARGS(STATE_TEXT(a->session), STATE_TEXT(a->person),
	                         STATE_TEXT(a->tender), STATE_TEXT(a->room), STATE_TEXT(a->seat),
	                         STATE_INT(a->replacement), STATE_INT(now)),
	              "store seat assignment", err);

	if (rc == -EEXIST)
		rc = state_conflict(
		    err, "person \"%s\" or seat %s/%s is already assigned in session \"%s\"",
		    a->person, a->room, a->seat, a->session);
	return rc;
}

static json_t *assignment_json(sqlite3_stmt *stmt)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i}", "person", state_column_text(stmt, 0),
	                 "tender", state_column_text(stmt, 1), "room", state_column_text(stmt, 2),
	                 "seat", state_column_text(stmt, 3), "replacement",
	                 sqlite3_column_int(stmt, 4));
}

int state_assignment_list(struct state *st, const char *session, json_t **out, GError **err)
{
	return state_list(
	    st,
	    "SELECT a.person, a.tender, a.room, a.seat, a.replacement FROM assignment a "
	    "JOIN room r ON r.id = a.room JOIN seat s ON s.room = a.room AND "
	    "s.id = a.seat WHERE a.session = ? AND a.withdrawn = 0 "
	    "ORDER BY r.ord, s.ord",
	    STATE_ARGS(STATE_TEXT(session)), assignment_json, out, "list seat assignments", err);
}

int state_assignment_max_replacement(struct state *st, const char *session, int *out, GError **err)
{
	int rc = state_get_row(st,
	                       "SELECT coalesce(max(replacement), 0) FROM assignment "
	                       "WHERE session = ?",
	                       STATE_ARGS(STATE_TEXT(session)), state_read_int, out,
	                       "read replacement counter", err);

	return rc == -ENOENT ? state_fail(st, err, "read replacement counter") : rc;
}
