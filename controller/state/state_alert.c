/* state.db: alerts, never deleted (the schema's trigger refuses DELETE). */
#include "state.h"
#include "state_db.h"

#include <errno.h>
#include <string.h>

#include "request.h"

#define ALERT_COLUMNS                                                                              \
	"id, kind, state, room, seat, person, tender, stream, detail, extra, raised_at, "          \
	"last_at, count, acked_at, acked_by, ack_note, resolved_at, resolved_by, resolve_note, "   \
	"venue"

static const char *subject_or_empty(const char *s)
{
	return s ? s : "";
}

/* The five subject columns as arguments, in the order room, seat, person, tender, stream. */
#define SUBJECT_ARGS(s)                                                                            \
	STATE_TEXT(subject_or_empty((s)->room)), STATE_TEXT(subject_or_empty((s)->seat)),          \
	    STATE_TEXT(subject_or_empty((s)->person)), STATE_TEXT(subject_or_empty((s)->tender)),  \
	    STATE_TEXT(subject_or_empty((s)->stream)), STATE_TEXT(subject_or_empty((s)->venue))

int state_alert_find_open(struct state *st, const char *kind,
                          const struct state_alert_subject *subject, int64_t *id, GError **err)
{
	int rc;

	*id = 0;
	rc = state_get_row(st,
	                   "SELECT id FROM alert WHERE kind = ?1 AND room = ?2 AND seat = ?3 AND "
	                   "person = ?4 AND tender = ?5 AND stream = ?6 AND venue = ?7 AND "
	                   "state != 'resolved'",
	                   STATE_ARGS(STATE_TEXT(kind), SUBJECT_ARGS(subject)), state_read_int64,
	                   id, "find open alert", err);
	return rc == -ENOENT ? 0 : rc;
}

int state_alert_raise(struct state *st, const char *kind, const struct state_alert_subject *subject,
                      const char *detail, const char *extra, int64_t now, int64_t *id, bool *is_new,
                      GError **err)
{
	int rc;

	rc = state_alert_find_open(st, kind, subject, id, err);
	if (rc)
		return rc;
	if (*id > 0) {
		*is_new = false;
		return state_run(st,
		                 "UPDATE alert SET count = count + 1, last_at = MAX(last_at, ?2), "
		                 "detail = ?3, extra = COALESCE(?4, extra) WHERE id = ?1",
		                 STATE_ARGS(STATE_INT(*id), STATE_INT(now), STATE_TEXT(detail),
		                            STATE_TEXT(extra)),
		                 "count alert again", err);
	}
	rc =
	    state_run(st,
	              "INSERT INTO alert (kind, room, seat, person, tender, stream, venue, detail, "
	              "extra, raised_at, last_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
	              "?10)",
	              STATE_ARGS(STATE_TEXT(kind), SUBJECT_ARGS(subject), STATE_TEXT(detail),
	                         STATE_TEXT(extra), STATE_INT(now)),
	              "raise alert", err);
	if (rc)
		return rc;
	*id = sqlite3_last_insert_rowid(st->db);
	*is_new = true;
	return 0;
}

static void alert_state_read(sqlite3_stmt *stmt, void *state)
{
	state_copy_column(stmt, 0, state, 16);
}

/* The state of alert ID into STATE (16 bytes); -ENOENT with *err when unknown. */
static int alert_state_of(struct state *st, int64_t id, char state[16], GError **err)
{
	int rc =
	    state_get_row(st, "SELECT state FROM alert WHERE id = ?", STATE_ARGS(STATE_INT(id)),
	                  alert_state_read, state, "read alert state", err);

	if (rc == -ENOENT)
		rc = state_not_found(err, "no alert %" G_GINT64_FORMAT, id);
	return rc;
}

/* Run an acknowledging or resolving UPDATE of alert ID: ?1 ID, ?2 NOW, ?3 BY, ?4 NOTE. */
static int alert_update(struct state *st, const char *sql, int64_t id, int64_t now, const char *by,
                        const char *note, const char *what, GError **err)
{
	return state_run(
	    st, sql, STATE_ARGS(STATE_INT(id), STATE_INT(now), STATE_TEXT(by), STATE_TEXT(note)),
	    what, err);
}

int state_alert_ack(struct state *st, int64_t id, const char *by, const char *note, int64_t now,
                    GError **err)
{
	char state[16];
	int rc;

	rc = alert_state_of(st, id, state, err);
	if (rc)
		return rc;
	if (strcmp(state, "resolved") == 0) {
		/* An alert whose cause cleared before anyone saw it still wants an operator's
		 * acknowledgement (ISA-18.2's "returned to normal, unacknowledged"); it stays
		 * resolved. Acknowledged once only. */
		rc = alert_update(st,
		                  "UPDATE alert SET acked_at = ?2, acked_by = ?3, ack_note = ?4 "
		                  "WHERE id = ?1 AND acked_at IS NULL",
		                  id, now, by, note, "acknowledge alert", err);
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
	return alert_update(
	    st,
	    "UPDATE alert SET state = 'acknowledged', acked_at = ?2, acked_by = ?3, "
	    "ack_note = ?4 WHERE id = ?1 AND state = 'open'",
	    id, now, by, note, "acknowledge alert", err);
}

int state_alert_resolve(struct state *st, int64_t id, const char *by, const char *note, int64_t now,
                        GError **err)
{
	char state[16];
	int rc;

	rc = alert_state_of(st, id, state, err);
	if (rc)
		return rc;
	if (strcmp(state, "resolved") == 0) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		            "alert %" G_GINT64_FORMAT " is already resolved", id);
		return -EALREADY;
	}
	return alert_update(
	    st,
	    "UPDATE alert SET state = 'resolved', resolved_at = ?2, resolved_by = ?3, "
	    "resolve_note = ?4 WHERE id = ?1 AND state != 'resolved'",
	    id, now, by, note, "resolve alert", err);
}

static void set_text(json_t *o, const char *key, sqlite3_stmt *stmt, int col, bool omit_empty)
{
	const char *v = state_column_text(stmt, col);

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
		json_t *extra =
		    json_loads(state_column_text(stmt, 9), JSON_REJECT_DUPLICATES, NULL);
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
	set_text(o, "venue", stmt, 19, true);
	return o;
}

static void alert_read(sqlite3_stmt *stmt, void *out)
{
	*(json_t **)out = alert_row_json(stmt);
}

int state_alert_get(struct state *st, int64_t id, json_t **out, GError **err)
{
	int rc = state_get_row(st, "SELECT " ALERT_COLUMNS " FROM alert WHERE id = ?",
	                       STATE_ARGS(STATE_INT(id)), alert_read, out, "read alert", err);

	if (rc == -ENOENT)
		rc = state_not_found(err, "no alert %" G_GINT64_FORMAT, id);
	return rc;
}

int state_alert_list(struct state *st, bool open_only, int64_t since, unsigned limit, json_t **out,
                     GError **err)
{
	return state_list(st,
	                  open_only ? "SELECT " ALERT_COLUMNS
	                              " FROM alert WHERE state != 'resolved' "
	                              "AND last_at >= ?1 ORDER BY last_at DESC, id DESC LIMIT ?2"
	                            : "SELECT " ALERT_COLUMNS " FROM alert WHERE last_at >= ?1 "
	                              "ORDER BY last_at DESC, id DESC LIMIT ?2",
	                  STATE_ARGS(STATE_INT(since), STATE_INT(limit)), alert_row_json, out,
	                  "list alerts", err);
}

static void alert_counts_read(sqlite3_stmt *stmt, void *data)
{
	int64_t *n = data;

	n[0] = sqlite3_column_int64(stmt, 0);
	n[1] = sqlite3_column_int64(stmt, 1);
}

int state_alert_counts(struct state *st, int64_t *open, int64_t *acked, GError **err)
{
	int64_t n[2];
	int rc = state_get_row(st,
	                       "SELECT COALESCE(SUM(state = 'open'), 0), "
	                       "COALESCE(SUM(state = 'acknowledged'), 0) FROM alert "
	                       "WHERE state != 'resolved'",
	                       NULL, alert_counts_read, n, "count alerts", err);

	if (rc == -ENOENT)
		return state_fail(st, err, "count alerts");
	if (rc == 0) {
		*open = n[0];
		*acked = n[1];
	}
	return rc;
}
