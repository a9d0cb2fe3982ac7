/* state.db: alerts, never deleted (the schema's trigger refuses DELETE). */
#include "state.h"
#include "state_db.h"

#include <errno.h>
#include <string.h>

#include "request.h"

#define ALERT_COLUMNS                                                                              \
	"id, kind, state, room, seat, person, tender, stream, detail, extra, raised_at, "          \
	"last_at, count, acked_at, acked_by, ack_note, resolved_at, resolved_by, resolve_note"

static const char *subject_or_empty(const char *s)
{
	return s ? s : "";
}

static void bind_subject(sqlite3_stmt *stmt, int first, const struct state_alert_subject *s)
{
	state_bind_texts(stmt, first, 5,
	                 (const char *[]){subject_or_empty(s->room), subject_or_empty(s->seat),
	                                  subject_or_empty(s->person), subject_or_empty(s->tender),
	                                  subject_or_empty(s->stream)});
}

int state_alert_find_open(struct state *st, const char *kind,
                          const struct state_alert_subject *subject, int64_t *id, GError **err)
{
	sqlite3_stmt *stmt = state_prepare(st,
	                                   "SELECT id FROM alert WHERE kind = ?1 AND room = ?2 AND "
	                                   "seat = ?3 AND person = ?4 AND tender = ?5 AND "
	                                   "stream = ?6 AND state != 'resolved'",
	                                   err);
	int rc;

	if (!stmt)
		return -EIO;
	sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_TRANSIENT);
	bind_subject(stmt, 2, subject);
	rc = sqlite3_step(stmt);
	*id = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return state_fail(st, err, "find open alert");
	return 0;
}

int state_alert_raise(struct state *st, const char *kind, const struct state_alert_subject *subject,
                      const char *detail, const char *extra, int64_t now, int64_t *id, bool *is_new,
                      GError **err)
{
	sqlite3_stmt *stmt;
	int rc;

	rc = state_alert_find_open(st, kind, subject, id, err);
	if (rc)
		return rc;
	if (*id > 0) {
		*is_new = false;
		stmt =
		    state_prepare(st,
		                  "UPDATE alert SET count = count + 1, last_at = MAX(last_at, ?2), "
		                  "detail = ?3, extra = COALESCE(?4, extra) WHERE id = ?1",
		                  err);
		if (!stmt)
			return -EIO;
		sqlite3_bind_int64(stmt, 1, *id);
		sqlite3_bind_int64(stmt, 2, now);
		state_bind_texts(stmt, 3, 2, (const char *[]){detail, extra});
		rc = state_step_done(st, stmt, "count alert again", err);
		sqlite3_finalize(stmt);
		return rc;
	}
	stmt = state_prepare(st,
	                     "INSERT INTO alert (kind, room, seat, person, tender, stream, detail, "
	                     "extra, raised_at, last_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
	                     "?9, ?9)",
	                     err);
	if (!stmt)
		return -EIO;
	sqlite3_bind_text(stmt, 1, kind, -1, SQLITE_TRANSIENT);
	bind_subject(stmt, 2, subject);
	state_bind_texts(stmt, 7, 2, (const char *[]){detail, extra});
	sqlite3_bind_int64(stmt, 9, now);
	rc = state_step_done(st, stmt, "raise alert", err);
	sqlite3_finalize(stmt);
	if (rc)
		return rc;
	*id = sqlite3_last_insert_rowid(st->db);
	*is_new = true;
	return 0;
}

/* The state of alert ID into STATE (16 bytes); -ENOENT with *err when unknown. */
static int alert_state_of(struct state *st, int64_t id, char state[16], GError **err)
{
	sqlite3_stmt *stmt = state_prepare(st, "SELECT state FROM alert WHERE id = ?", err);
	int rc;

	if (!stmt)
		return -EIO;
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		state_copy_column(stmt, 0, state, 16);
	sqlite3_finalize(stmt);
	if (rc == SQLITE_DONE) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_NOT_FOUND,
		            "no alert %" G_GINT64_FORMAT, id);
		return -ENOENT;
	}
	if (rc != SQLITE_ROW)
		return state_fail(st, err, "read alert state");
	return 0;
}

int state_alert_ack(struct state *st, int64_t id, const char *by, const char *note, int64_t now,
                    GError **err)
{
	char state[16];
	sqlite3_stmt *stmt;
	int rc;

	rc = alert_state_of(st, id, state, err);
	if (rc)
		return rc;
	if (strcmp(state, "resolved") == 0) {
		/* An alert whose cause cleared before anyone saw it still wants an operator's
		 * acknowledgement (ISA-18.2's "returned to normal, unacknowledged"); it stays
		 * resolved. Acknowledged once only. */
		stmt = state_prepare(st,
				     "UPDATE alert SET acked_at = ?2, acked_by = ?3, ack_note = ?4 "
				     "WHERE id = ?1 AND acked_at IS NULL",
				     err);
		if (!stmt)
			return -EIO;
		sqlite3_bind_int64(stmt, 1, id);
		sqlite3_bind_int64(stmt, 2, now);
		state_bind_texts(stmt, 3, 2, (const char *[]){by, note});
		rc = state_step_done(st, stmt, "acknowledge alert", err);
		sqlite3_finalize(stmt);
		if (rc == 0 && sqlite3_changes(st->db) == 0) {
			g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
				    "alert %" G_GINT64_FORMAT " is already acknowledged", id);
			return -EALREADY;
		}
		return rc;
	}
	if (strcmp(state, "open") != 0) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		            "alert %" G_GINT64_FORMAT " is already %s", id, state);
		return -EALREADY;
	}
	stmt =
	    state_prepare(st,
	                  "UPDATE alert SET state = 'acknowledged', acked_at = ?2, acked_by = ?3, "
	                  "ack_note = ?4 WHERE id = ?1 AND state = 'open'",
	                  err);
	if (!stmt)
		return -EIO;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, now);
	state_bind_texts(stmt, 3, 2, (const char *[]){by, note});
	rc = state_step_done(st, stmt, "acknowledge alert", err);
	sqlite3_finalize(stmt);
	return rc;
}

int state_alert_resolve(struct state *st, int64_t id, const char *by, const char *note, int64_t now,
                        GError **err)
{
	char state[16];
	sqlite3_stmt *stmt;
	int rc;

	rc = alert_state_of(st, id, state, err);
	if (rc)
		return rc;
	if (strcmp(state, "resolved") == 0) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		            "alert %" G_GINT64_FORMAT " is already resolved", id);
		return -EALREADY;
	}
	stmt = state_prepare(st,
	                     "UPDATE alert SET state = 'resolved', resolved_at = ?2, resolved_by = "
	                     "?3, resolve_note = ?4 WHERE id = ?1 AND state != 'resolved'",
	                     err);
	if (!stmt)
		return -EIO;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, now);
	state_bind_texts(stmt, 3, 2, (const char *[]){by, note});
	rc = state_step_done(st, stmt, "resolve alert", err);
	sqlite3_finalize(stmt);
	return rc;
}

static void set_text(json_t *o, const char *key, sqlite3_stmt *stmt, int col, bool omit_empty)
{
	const char *v = (const char *)sqlite3_column_text(stmt, col);

	if (!v || (omit_empty && !*v))
		return;
	json_object_set_new(o, key, json_string(v));
}

static void set_int(json_t *o, const char *key, sqlite3_stmt *stmt, int col)
{
	if (sqlite3_column_type(stmt, col) != SQLITE_NULL)
		json_object_set_new(o, key, json_integer(sqlite3_column_int64(stmt, col)));
}

static json_t *alert_row_json(sqlite3_stmt *stmt)
{
	static const char *const subject[] = {"room", "seat", "person", "tender", "stream"};
	json_t *o = json_object();

	set_int(o, "id", stmt, 0);
	set_text(o, "kind", stmt, 1, false);
	set_text(o, "state", stmt, 2, false);
	for (int i = 0; i < 5; i++)
		set_text(o, subject[i], stmt, 3 + i, true);
	set_text(o, "detail", stmt, 8, false);
	if (sqlite3_column_type(stmt, 9) != SQLITE_NULL) {
		json_t *extra = json_loads((const char *)sqlite3_column_text(stmt, 9),
		                           JSON_REJECT_DUPLICATES, NULL);
		if (json_is_object(extra))
			json_object_set_new(o, "extra", extra);
		else
			json_decref(extra);
	}
	set_int(o, "raised_at", stmt, 10);
	set_int(o, "last_at", stmt, 11);
	set_int(o, "count", stmt, 12);
	set_int(o, "acked_at", stmt, 13);
	set_text(o, "acked_by", stmt, 14, false);
	set_text(o, "ack_note", stmt, 15, false);
	set_int(o, "resolved_at", stmt, 16);
	set_text(o, "resolved_by", stmt, 17, false);
	set_text(o, "resolve_note", stmt, 18, false);
	return o;
}

int state_alert_get(struct state *st, int64_t id, json_t **out, GError **err)
{
	sqlite3_stmt *stmt =
	    state_prepare(st, "SELECT " ALERT_COLUMNS " FROM alert WHERE id = ?", err);
	int rc;

	if (!stmt)
		return -EIO;
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*out = alert_row_json(stmt);
	sqlite3_finalize(stmt);
	if (rc == SQLITE_DONE) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_NOT_FOUND,
		            "no alert %" G_GINT64_FORMAT, id);
		return -ENOENT;
	}
	if (rc != SQLITE_ROW)
		return state_fail(st, err, "read alert");
	return 0;
}

int state_alert_list(struct state *st, bool open_only, int64_t since, unsigned limit, json_t **out,
                     GError **err)
{
	sqlite3_stmt *stmt = state_prepare(
	    st,
	    open_only ? "SELECT " ALERT_COLUMNS " FROM alert WHERE state != 'resolved' AND "
	                "last_at >= ?1 ORDER BY last_at DESC, id DESC LIMIT ?2"
	              : "SELECT " ALERT_COLUMNS " FROM alert WHERE last_at >= ?1 "
	                "ORDER BY last_at DESC, id DESC LIMIT ?2",
	    err);
	json_t *list;
	int rc;

	if (!stmt)
		return -EIO;
	sqlite3_bind_int64(stmt, 1, since);
	sqlite3_bind_int64(stmt, 2, limit);
	list = json_array();
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_array_append_new(list, alert_row_json(stmt));
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(list);
		return state_fail(st, err, "list alerts");
	}
	*out = list;
	return 0;
}

int state_alert_counts(struct state *st, int64_t *open, int64_t *acked, GError **err)
{
	sqlite3_stmt *stmt = state_prepare(st,
	                                   "SELECT COALESCE(SUM(state = 'open'), 0), "
	                                   "COALESCE(SUM(state = 'acknowledged'), 0) FROM alert "
	                                   "WHERE state != 'resolved'",
	                                   err);
	int rc;

	if (!stmt)
		return -EIO;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*open = sqlite3_column_int64(stmt, 0);
		*acked = sqlite3_column_int64(stmt, 1);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW)
		return state_fail(st, err, "count alerts");
	return 0;
}
