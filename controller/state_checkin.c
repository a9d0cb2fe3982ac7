/* state.db: check-ins, presence, admissions (door credential + login code digest) and
 * the seat bindings of logged-in experts (issue 5). */
#include "state.h"
#include "state_db.h"

#include <errno.h>
#include <string.h>

#include "request.h"

#define not_found(err, ...)                                                                        \
	(g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_NOT_FOUND, __VA_ARGS__), -ENOENT)

int state_seating_find(struct state *st, const char *session, const char *date, const char *person,
                       struct state_assignment *out, GError **err)
{
	bool by_date = !session || !*session;
	/* The committee row says whether the person is expected at all; the assignment
	 * whether the draw has seated them yet. */
	sqlite3_stmt *stmt = state_prepare(
	    st,
	    by_date ? "SELECT c.session, c.tender, a.room, a.seat, a.replacement FROM committee c "
	              "JOIN session s ON s.id = c.session "
	              "LEFT JOIN assignment a ON a.session = c.session AND a.person = c.person "
	              "AND a.withdrawn = 0 "
	              "WHERE s.state = 'open' AND s.date = ? AND c.person = ?"
	            : "SELECT c.session, c.tender, a.room, a.seat, a.replacement FROM committee c "
	              "JOIN session s ON s.id = c.session "
	              "LEFT JOIN assignment a ON a.session = c.session AND a.person = c.person "
	              "AND a.withdrawn = 0 "
	              "WHERE s.state = 'open' AND s.id = ? AND c.person = ?",
	    err);
	if (!stmt)
		return -EIO;
	state_bind_texts(stmt, 1, 2, (const char *[]){by_date ? date : session, person});
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && sqlite3_column_type(stmt, 2) != SQLITE_NULL) {
		memset(out, 0, sizeof(*out));
		state_copy_column(stmt, 0, out->session, sizeof(out->session));
		g_strlcpy(out->person, person, sizeof(out->person));
		state_copy_column(stmt, 1, out->tender, sizeof(out->tender));
		state_copy_column(stmt, 2, out->room, sizeof(out->room));
		state_copy_column(stmt, 3, out->seat, sizeof(out->seat));
		out->replacement = sqlite3_column_int(stmt, 4);
		rc = 0;
	} else if (rc == SQLITE_ROW) {
		char s[STATE_ID_SIZE];
		state_copy_column(stmt, 0, s, sizeof(s));
		rc = not_found(
		    err, "%s is not seated yet: the seat draw of session %s has not seated them",
		    person, s);
	} else if (rc == SQLITE_DONE) {
		rc = by_date ? not_found(err, "%s is in no committee of an open session dated %s",
		                         person, date)
		             : not_found(err, "%s is in no committee of open session %s", person,
		                         session);
	} else {
		rc = state_fail(st, err, "find seating");
	}
	sqlite3_finalize(stmt);
	return rc;
}

int state_checkin_add(struct state *st, const char *session, const char *person, int64_t at,
                      const char *desk, const char *screening, const char *note, GError **err)
{
	sqlite3_stmt *stmt = state_prepare(st,
	                                   "INSERT INTO checkin(session, person, at, desk, "
	                                   "screening, note) VALUES (?, ?, ?, ?, ?, ?)",
	                                   err);
	if (!stmt)
		return -EIO;
	state_bind_texts(stmt, 1, 2, (const char *[]){session, person});
	sqlite3_bind_int64(stmt, 3, at);
	state_bind_texts(stmt, 4, 3, (const char *[]){desk, screening, note});
	int rc = state_step_done(st, stmt, "record check-in", err);
	sqlite3_finalize(stmt);
	return rc;
}

int state_presence_get(struct state *st, const char *session, const char *person, char state[16],
                       int64_t *since, GError **err)
{
	sqlite3_stmt *stmt = state_prepare(
	    st, "SELECT state, since FROM presence WHERE session = ? AND person = ?", err);
	if (!stmt)
		return -EIO;
	state_bind_texts(stmt, 1, 2, (const char *[]){session, person});
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		state_copy_column(stmt, 0, state, 16);
		*since = sqlite3_column_int64(stmt, 1);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		g_strlcpy(state, "expected", 16);
		*since = 0;
		rc = 0;
	} else {
		rc = state_fail(st, err, "read presence");
	}
	sqlite3_finalize(stmt);
	return rc;
}

int state_presence_set(struct state *st, const char *session, const char *person, const char *state,
                       int64_t now, GError **err)
{
	sqlite3_stmt *stmt =
	    state_prepare(st,
	                  "INSERT INTO presence(session, person, state, since) VALUES (?, ?, ?, ?) "
	                  "ON CONFLICT (session, person) DO UPDATE SET state = excluded.state, "
	                  "since = excluded.since",
	                  err);
	if (!stmt)
		return -EIO;
	state_bind_texts(stmt, 1, 3, (const char *[]){session, person, state});
	sqlite3_bind_int64(stmt, 4, now);
	int rc = state_step_done(st, stmt, "set presence", err);
	sqlite3_finalize(stmt);
	return rc;
}

int state_admission_add(struct state *st, const struct state_admission *a, const char *desk,
                        const char *reason, int64_t *id, GError **err)
{
	sqlite3_stmt *stmt =
	    state_prepare(st,
	                  "UPDATE admission SET state = 'replaced', credential = '', ended_at = ? "
	                  "WHERE session = ? AND person = ? AND state = 'active'",
	                  err);
	if (!stmt)
		return -EIO;
	sqlite3_bind_int64(stmt, 1, a->issued_at);
	state_bind_texts(stmt, 2, 2, (const char *[]){a->session, a->person});
	int rc = state_step_done(st, stmt, "replace admission", err);
	sqlite3_finalize(stmt);
	if (rc != 0)
		return rc;
	stmt = state_prepare(st,
	                     "INSERT INTO admission(session, person, tender, room, seat, "
	                     "credential, code_digest, issued_at, valid_until, code_valid_until, "
	                     "desk, reason, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
	                     "'active')",
	                     err);
	if (!stmt)
		return -EIO;
	state_bind_texts(stmt, 1, 7,
	                 (const char *[]){a->session, a->person, a->tender, a->room, a->seat,
	                                  a->credential, a->code_digest});
	sqlite3_bind_int64(stmt, 8, a->issued_at);
	sqlite3_bind_int64(stmt, 9, a->valid_until);
	sqlite3_bind_int64(stmt, 10, a->code_valid_until);
	state_bind_texts(stmt, 11, 2, (const char *[]){desk, reason});
	rc = state_step_done(st, stmt, "add admission", err);
	sqlite3_finalize(stmt);
	if (rc == 0 && id)
		*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

int state_admission_end(struct state *st, int64_t id, const char *state, int64_t now, GError **err)
{
	sqlite3_stmt *stmt =
	    state_prepare(st,
	                  "UPDATE admission SET state = ?, credential = '', ended_at = ? "
	                  "WHERE id = ? AND state = 'active'",
	                  err);
	if (!stmt)
		return -EIO;
	sqlite3_bind_text(stmt, 1, state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 2, now);
	sqlite3_bind_int64(stmt, 3, id);
	int rc = state_step_done(st, stmt, "end admission", err);
	sqlite3_finalize(stmt);
	if (rc == 0 && sqlite3_changes(st->db) == 0) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_NOT_FOUND,
		            "admission %" G_GINT64_FORMAT " is not active", id);
		rc = -ENOENT;
	}
	return rc;
}

#define ADMISSION_COLUMNS                                                                          \
	"id, session, person, tender, room, seat, credential, code_digest, issued_at, "            \
	"valid_until, code_valid_until, state"

static void admission_read(sqlite3_stmt *stmt, struct state_admission *a)
{
	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(stmt, 0);
	state_copy_column(stmt, 1, a->session, sizeof(a->session));
	state_copy_column(stmt, 2, a->person, sizeof(a->person));
	state_copy_column(stmt, 3, a->tender, sizeof(a->tender));
	state_copy_column(stmt, 4, a->room, sizeof(a->room));
	state_copy_column(stmt, 5, a->seat, sizeof(a->seat));
	state_copy_column(stmt, 6, a->credential, sizeof(a->credential));
	state_copy_column(stmt, 7, a->code_digest, sizeof(a->code_digest));
	a->issued_at = sqlite3_column_int64(stmt, 8);
	a->valid_until = sqlite3_column_int64(stmt, 9);
	a->code_valid_until = sqlite3_column_int64(stmt, 10);
	state_copy_column(stmt, 11, a->state, sizeof(a->state));
}

static int admission_one(struct state *st, const char *sql, const char *a1, const char *a2,
                         struct state_admission *out, GError **err)
{
	sqlite3_stmt *stmt = state_prepare(st, sql, err);
	if (!stmt)
		return -EIO;
	state_bind_texts(stmt, 1, 2, (const char *[]){a1, a2});
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		admission_read(stmt, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = not_found(err, "no admission for %s (%s)", a1, a2);
	} else {
		rc = state_fail(st, err, "read admission");
	}
	sqlite3_finalize(stmt);
	return rc;
}

int state_admission_latest(struct state *st, const char *session, const char *person,
                           struct state_admission *out, GError **err)
{
	return admission_one(st,
	                     "SELECT " ADMISSION_COLUMNS " FROM admission WHERE session = ? AND "
	                     "person = ? ORDER BY id DESC LIMIT 1",
	                     session, person, out, err);
}

int state_admission_active_of(struct state *st, const char *person, const char *room,
                              struct state_admission *out, GError **err)
{
	return admission_one(st,
	                     "SELECT " ADMISSION_COLUMNS " FROM admission WHERE person = ? AND "
	                     "room = ? AND state = 'active' ORDER BY id DESC LIMIT 1",
	                     person, room, out, err);
}

int state_admission_active(struct state *st, json_t **out, GError **err)
{
	sqlite3_stmt *stmt =
	    state_prepare(st,
	                  "SELECT " ADMISSION_COLUMNS " FROM admission WHERE state = 'active' "
	                  "AND session IN (SELECT id FROM session WHERE state = 'open') "
	                  "ORDER BY id",
	                  err);
	if (!stmt)
		return -EIO;
	json_t *list = json_array();
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct state_admission a;
		admission_read(stmt, &a);
		json_array_append_new(list,
		                      json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}",
		                                "id", (json_int_t)a.id, "session", a.session,
		                                "person", a.person, "tender", a.tender, "room",
		                                a.room, "seat", a.seat, "credential", a.credential,
		                                "issued_at", (json_int_t)a.issued_at, "valid_until",
		                                (json_int_t)a.valid_until));
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(list);
		return state_fail(st, err, "list active admissions");
	}
	*out = list;
	return 0;
}

int state_binding_close(struct state *st, const char *room, const char *seat, int64_t to_us,
                        GError **err)
{
	sqlite3_stmt *stmt = state_prepare(
	    st,
	    "UPDATE seat_binding SET to_us = max(?, from_us) WHERE room = ? AND seat = ? AND "
	    "to_us IS NULL",
	    err);
	if (!stmt)
		return -EIO;
	sqlite3_bind_int64(stmt, 1, to_us);
	state_bind_texts(stmt, 2, 2, (const char *[]){room, seat});
	int rc = state_step_done(st, stmt, "close seat binding", err);
	sqlite3_finalize(stmt);
	return rc;
}

int state_binding_open(struct state *st, const char *room, const char *seat, const char *person,
                       const char *tender, int64_t from_us, GError **err)
{
	int rc = state_binding_close(st, room, seat, from_us, err);
	if (rc != 0)
		return rc;
	sqlite3_stmt *stmt = state_prepare(st,
	                                   "INSERT INTO seat_binding(room, seat, person, tender, "
	                                   "from_us) VALUES (?, ?, ?, ?, ?)",
	                                   err);
	if (!stmt)
		return -EIO;
	state_bind_texts(stmt, 1, 4, (const char *[]){room, seat, person, tender});
	sqlite3_bind_int64(stmt, 5, from_us);
	rc = state_step_done(st, stmt, "open seat binding", err);
	sqlite3_finalize(stmt);
	return rc;
}

int state_binding_at(struct state *st, const char *room, const char *seat, int64_t t,
                     char person[STATE_ID_SIZE], char tender[STATE_ID_SIZE], GError **err)
{
	sqlite3_stmt *stmt = state_prepare(
	    st,
	    "SELECT person, tender FROM seat_binding WHERE room = ? AND seat = ? AND from_us <= ? "
	    "AND (to_us IS NULL OR to_us > ?) ORDER BY from_us DESC LIMIT 1",
	    err);
	if (!stmt)
		return -EIO;
	state_bind_texts(stmt, 1, 2, (const char *[]){room, seat});
	sqlite3_bind_int64(stmt, 3, t);
	sqlite3_bind_int64(stmt, 4, t);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		state_copy_column(stmt, 0, person, STATE_ID_SIZE);
		state_copy_column(stmt, 1, tender, STATE_ID_SIZE);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = -ENOENT;
	} else {
		rc = state_fail(st, err, "read seat binding");
	}
	sqlite3_finalize(stmt);
	return rc;
}

int state_tenders_in_room_at(struct state *st, const char *room, int64_t t, json_t **out,
                             GError **err)
{
	sqlite3_stmt *stmt = state_prepare(
	    st,
	    "SELECT DISTINCT tender FROM seat_binding WHERE room = ? AND from_us <= ? AND "
	    "(to_us IS NULL OR to_us > ?) ORDER BY tender",
	    err);
	if (!stmt)
		return -EIO;
	sqlite3_bind_text(stmt, 1, room, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 2, t);
	sqlite3_bind_int64(stmt, 3, t);
	json_t *list = json_array();
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_array_append_new(list,
		                      json_string((const char *)sqlite3_column_text(stmt, 0)));
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(list);
		return state_fail(st, err, "list tenders in room");
	}
	*out = list;
	return 0;
}

int state_session_open_on(struct state *st, const char *date, char id[STATE_ID_SIZE], GError **err)
{
	sqlite3_stmt *stmt = state_prepare(
	    st, "SELECT id FROM session WHERE state = 'open' AND date = ? ORDER BY id LIMIT 2",
	    err);
	if (!stmt)
		return -EIO;
	sqlite3_bind_text(stmt, 1, date, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		state_copy_column(stmt, 0, id, STATE_ID_SIZE);
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW) {
			g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
			            "several sessions are open on %s: name one with --session",
			            date);
			rc = -EEXIST;
		} else {
			rc = rc == SQLITE_DONE ? 0 : state_fail(st, err, "find today's session");
		}
	} else if (rc == SQLITE_DONE) {
		rc = not_found(err, "no open session dated %s", date);
	} else {
		rc = state_fail(st, err, "find today's session");
	}
	sqlite3_finalize(stmt);
	return rc;
}

int state_checkin_list(struct state *st, const char *session, json_t **out, GError **err)
{
	sqlite3_stmt *stmt = state_prepare(
	    st,
	    "SELECT a.person, p.name, a.tender, coalesce(pr.state, 'expected'), "
	    "coalesce(pr.since, 0), ad.room, ad.seat, ad.state, ad.valid_until "
	    "FROM assignment a JOIN person p ON p.id = a.person "
	    "LEFT JOIN presence pr ON pr.session = a.session AND pr.person = a.person "
	    "LEFT JOIN admission ad ON ad.id = (SELECT max(id) FROM admission x WHERE "
	    "x.session = a.session AND x.person = a.person) "
	    "WHERE a.session = ? AND a.withdrawn = 0 ORDER BY a.person",
	    err);
	if (!stmt)
		return -EIO;
	sqlite3_bind_text(stmt, 1, session, -1, SQLITE_TRANSIENT);
	json_t *list = json_array();
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:I}", "person",
		                        (const char *)sqlite3_column_text(stmt, 0), "name",
		                        (const char *)sqlite3_column_text(stmt, 1), "tender",
		                        (const char *)sqlite3_column_text(stmt, 2), "state",
		                        (const char *)sqlite3_column_text(stmt, 3), "since",
		                        (json_int_t)sqlite3_column_int64(stmt, 4));
		if (sqlite3_column_type(stmt, 5) != SQLITE_NULL) {
			json_object_set_new(
			    row, "room", json_string((const char *)sqlite3_column_text(stmt, 5)));
			json_object_set_new(
			    row, "seat", json_string((const char *)sqlite3_column_text(stmt, 6)));
			json_object_set_new(
			    row, "credential",
			    json_string((const char *)sqlite3_column_text(stmt, 7)));
			json_object_set_new(row, "valid_until",
			                    json_integer(sqlite3_column_int64(stmt, 8)));
		}
		json_array_append_new(list, row);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(list);
		return state_fail(st, err, "list check-ins");
	}
	*out = list;
	return 0;
}

int state_admission_seats(struct state *st, const char *room, int64_t now, json_t **out,
                          GError **err)
{
	sqlite3_stmt *stmt = state_prepare(
	    st,
	    "SELECT a.person, p.name, a.tender, t.name, a.seat, a.code_digest, a.code_valid_until "
	    "FROM admission a JOIN person p ON p.id = a.person JOIN tender t ON t.id = a.tender "
	    "JOIN session s ON s.id = a.session "
	    "WHERE a.room = ? AND s.state = 'open' AND a.state IN ('active', 'used') "
	    "AND a.code_valid_until > ? AND a.id = (SELECT max(id) FROM admission x WHERE "
	    "x.session = a.session AND x.person = a.person) ORDER BY a.id",
	    err);
	if (!stmt)
		return -EIO;
	sqlite3_bind_text(stmt, 1, room, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 2, now);
	json_t *list = json_array();
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_array_append_new(
		    list, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "person",
		                    (const char *)sqlite3_column_text(stmt, 0), "name",
		                    (const char *)sqlite3_column_text(stmt, 1), "tender",
		                    (const char *)sqlite3_column_text(stmt, 2), "tender_name",
		                    (const char *)sqlite3_column_text(stmt, 3), "seat",
		                    (const char *)sqlite3_column_text(stmt, 4), "code_digest",
		                    (const char *)sqlite3_column_text(stmt, 5), "code_valid_until",
		                    (json_int_t)sqlite3_column_int64(stmt, 6)));
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(list);
		return state_fail(st, err, "list seat assignments of a room");
	}
	*out = list;
	return 0;
}
