/* state.db: seat draws and seat assignments. */
#include "state.h"
#include "state_db.h"

#include <errno.h>
#include <string.h>

#include "request.h"

int state_draw_get(struct state *st, const char *session, struct state_draw *out, GError **err)
{
	sqlite3_stmt *stmt = state_prepare(
	    st,
	    "SELECT session, algorithm, input, input_hash, secret, commitment, entropy, "
	    "seed, state, committed_at, committed_by, run_at, run_by, record "
	    "FROM draw WHERE session = ?",
	    err);
	int rc;

	if (!stmt)
		return -EIO;
	sqlite3_bind_text(stmt, 1, session, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		state_copy_column(stmt, 0, out->session, sizeof(out->session));
		out->algorithm = sqlite3_column_int(stmt, 1);
		out->input = g_strdup((const char *)sqlite3_column_text(stmt, 2));
		state_copy_column(stmt, 3, out->input_hash, sizeof(out->input_hash));
		state_copy_column(stmt, 4, out->secret, sizeof(out->secret));
		state_copy_column(stmt, 5, out->commitment, sizeof(out->commitment));
		state_copy_column(stmt, 6, out->entropy, sizeof(out->entropy));
		state_copy_column(stmt, 7, out->seed, sizeof(out->seed));
		out->run = g_strcmp0((const char *)sqlite3_column_text(stmt, 8), "run") == 0;
		out->committed_at = sqlite3_column_int64(stmt, 9);
		state_copy_column(stmt, 10, out->committed_by, sizeof(out->committed_by));
		out->run_at = sqlite3_column_int64(stmt, 11);
		state_copy_column(stmt, 12, out->run_by, sizeof(out->run_by));
		if (sqlite3_column_type(stmt, 13) != SQLITE_NULL)
			out->record = g_strdup((const char *)sqlite3_column_text(stmt, 13));
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_NOT_FOUND,
		            "session \"%s\" has no committed draw", session);
		rc = -ENOENT;
	} else {
		rc = state_fail(st, err, "read draw");
	}
	sqlite3_finalize(stmt);
	return rc;
}

void state_draw_clear(struct state_draw *d)
{
	g_clear_pointer(&d->input, g_free);
	g_clear_pointer(&d->record, g_free);
}

int state_draw_add(struct state *st, const struct state_draw *d, GError **err)
{
	sqlite3_stmt *stmt = state_prepare(
	    st,
	    "INSERT INTO draw(session, algorithm, input, input_hash, secret, commitment, "
	    "state, committed_at, committed_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
	    "'committed', ?7, ?8)",
	    err);
	int rc;

	if (!stmt)
		return -EIO;
	sqlite3_bind_text(stmt, 1, d->session, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(stmt, 2, d->algorithm);
	state_bind_texts(stmt, 3, 4,
	                 (const char *[]){d->input, d->input_hash, d->secret, d->commitment});
	sqlite3_bind_int64(stmt, 7, d->committed_at);
	sqlite3_bind_text(stmt, 8, d->committed_by, -1, SQLITE_TRANSIENT);
	rc = state_step_done(st, stmt, "store draw", err);
	sqlite3_finalize(stmt);
	if (rc == -EEXIST) {
		g_clear_error(err);
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		            "session \"%s\" already has a draw", d->session);
	}
	return rc;
}

int state_draw_mark_run(struct state *st, const char *session, const char *entropy,
                        const char *seed, const char *record, const char *by, int64_t now,
                        GError **err)
{
	sqlite3_stmt *stmt =
	    state_prepare(st,
	                  "UPDATE draw SET state = 'run', entropy = ?2, seed = ?3, "
	                  "record = ?4, run_by = ?5, run_at = ?6 "
	                  "WHERE session = ?1 AND state = 'committed'",
	                  err);
	int rc;

	if (!stmt)
		return -EIO;
	state_bind_texts(stmt, 1, 5, (const char *[]){session, entropy, seed, record, by});
	sqlite3_bind_int64(stmt, 6, now);
	rc = state_step_done(st, stmt, "record draw run", err);
	sqlite3_finalize(stmt);
	if (!rc && sqlite3_changes(st->db) != 1) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		            "session \"%s\" has no draw waiting to run", session);
		rc = -EALREADY;
	}
	return rc;
}

int state_draw_set_record(struct state *st, const char *session, const char *record, GError **err)
{
	sqlite3_stmt *stmt =
	    state_prepare(st, "UPDATE draw SET record = ?2 WHERE session = ?1", err);
	int rc;

	if (!stmt)
		return -EIO;
	state_bind_texts(stmt, 1, 2, (const char *[]){session, record});
	rc = state_step_done(st, stmt, "store draw record", err);
	sqlite3_finalize(stmt);
	return rc;
}

int state_assignment_withdraw(struct state *st, const char *session, const char *person,
                              GError **err)
{
	sqlite3_stmt *stmt = state_prepare(
	    st, "UPDATE assignment SET withdrawn = 1 WHERE session = ?1 AND person = ?2", err);
	int rc;

	if (!stmt)
		return -EIO;
	state_bind_texts(stmt, 1, 2, (const char *[]){session, person});
	rc = state_step_done(st, stmt, "withdraw seat assignment", err);
	sqlite3_finalize(stmt);
	return rc;
}

int state_assignment_add(struct state *st, const struct state_assignment *a, int64_t now,
                         GError **err)
{
	sqlite3_stmt *stmt = state_prepare(st,
	                                   "INSERT INTO assignment(session, person, tender, room, "
	                                   "seat, replacement, assigned_at) "
	                                   "VALUES (?, ?, ?, ?, ?, ?, ?)",
	                                   err);
	int rc;

	if (!stmt)
		return -EIO;
	state_bind_texts(stmt, 1, 5,
	                 (const char *[]){a->session, a->person, a->tender, a->room, a->seat});
	sqlite3_bind_int(stmt, 6, a->replacement);
	sqlite3_bind_int64(stmt, 7, now);
	rc = state_step_done(st, stmt, "store seat assignment", err);
	sqlite3_finalize(stmt);
	if (rc == -EEXIST) {
		g_clear_error(err);
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		            "person \"%s\" or seat %s/%s is already assigned in session \"%s\"",
		            a->person, a->room, a->seat, a->session);
	}
	return rc;
}

int state_assignment_list(struct state *st, const char *session, json_t **out, GError **err)
{
	sqlite3_stmt *stmt = state_prepare(
	    st,
	    "SELECT a.person, a.tender, a.room, a.seat, a.replacement FROM assignment a "
	    "JOIN room r ON r.id = a.room JOIN seat s ON s.room = a.room AND s.id = a.seat "
	    "WHERE a.session = ? AND a.withdrawn = 0 ORDER BY r.ord, s.ord",
	    err);
	json_t *list;
	int rc;

	if (!stmt)
		return -EIO;
	sqlite3_bind_text(stmt, 1, session, -1, SQLITE_TRANSIENT);
	list = json_array();
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		json_array_append_new(
		    list, json_pack("{s:s, s:s, s:s, s:s, s:i}", "person",
		                    (const char *)sqlite3_column_text(stmt, 0), "tender",
		                    (const char *)sqlite3_column_text(stmt, 1), "room",
		                    (const char *)sqlite3_column_text(stmt, 2), "seat",
		                    (const char *)sqlite3_column_text(stmt, 3), "replacement",
		                    sqlite3_column_int(stmt, 4)));
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(list);
		return state_fail(st, err, "list seat assignments");
	}
	*out = list;
	return 0;
}

int state_assignment_max_replacement(struct state *st, const char *session, int *out, GError **err)
{
	sqlite3_stmt *stmt = state_prepare(
	    st, "SELECT coalesce(max(replacement), 0) FROM assignment WHERE session = ?", err);

	if (!stmt)
		return -EIO;
	sqlite3_bind_text(stmt, 1, session, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		sqlite3_finalize(stmt);
		return state_fail(st, err, "read replacement counter");
	}
	*out = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return 0;
}
