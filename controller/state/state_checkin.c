/* state.db: check-ins, presence, admissions (door credential + login code digest) and
 * the seat bindings of logged-in experts (issue 5). */
#include "state.h"
#include "state_db.h"

#include <errno.h>
#include <string.h>

#include "request.h"

/* A row of the seating query: the committee's, with the assignment's columns NULL while
 * the draw has not seated the person. */
struct seating_row {
	bool seated;
	struct state_assignment a;
};

static void seating_read(sqlite3_stmt *stmt, void *data)
{
	struct seating_row *row = data;

	row->seated = sqlite3_column_type(stmt, 2) != SQLITE_NULL;
	state_copy_column(stmt, 0, row->a.session, sizeof(row->a.session));
	state_copy_column(stmt, 1, row->a.tender, sizeof(row->a.tender));
	state_copy_column(stmt, 2, row->a.room, sizeof(row->a.room));
	state_copy_column(stmt, 3, row->a.seat, sizeof(row->a.seat));
	row->a.replacement = sqlite3_column_int(stmt, 4);
}

int state_seating_find(struct state *st, const char *session, const char *date, const char *person,
                       struct state_assignment *out, GError **err)
{
	bool by_date = !session || !*session;
	struct seating_row row = {0};
	/* The committee row says whether the person is expected at all; the assignment
	 * whether the draw has seated them yet. */
	int rc = state_get_row(
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
	    STATE_ARGS(STATE_TEXT(by_date ? date : session), STATE_TEXT(person)), seating_read,
	    &row, "find seating", err);

	if (rc == -ENOENT && by_date)
		return state_not_found(err, "%s is in no committee of an open session dated %s",
		                       person, date);
	if (rc == -ENOENT)
		return state_not_found(err, "%s is in no committee of open session %s", person,
		                       session);
	if (rc)
		return rc;
	if (!row.seated)
		return state_not_found(
		    err, "%s is not seated yet: the seat draw of session %s has not seated them",
		    person, row.a.session);
	*out = row.a;
	g_strlcpy(out->person, person, sizeof(out->person));
	return 0;
}

int state_checkin_add(struct state *st, const char *session, const char *person, int64_t at,
                      const char *desk, const char *screening, const char *note, GError **err)
{
	return state_run(st,
	                 "INSERT INTO checkin(session, person, at, desk, screening, note) "
	                 "VALUES (?, ?, ?, ?, ?, ?)",
	                 STATE_ARGS(STATE_TEXT(session), STATE_TEXT(person), STATE_INT(at),
	                            STATE_TEXT(desk), STATE_TEXT(screening), STATE_TEXT(note)),
	                 "record check-in", err);
}

struct presence {
	char *state; /* 16 bytes */
	int64_t *since;
};

static void presence_read(sqlite3_stmt *stmt, void *data)
{
	struct presence *p = data;

	state_copy_column(stmt, 0, p->state, 16);
	*p->since = sqlite3_column_int64(stmt, 1);
}

int state_presence_get(struct state *st, const char *session, const char *person, char state[16],
                       int64_t *since, GError **err)
{
	int rc =
	    state_get_row(st, "SELECT state, since FROM presence WHERE session = ? AND person = ?",
	                  STATE_ARGS(STATE_TEXT(session), STATE_TEXT(person)), presence_read,
	                  &(struct presence){state, since}, "read presence", err);

	if (rc == -ENOENT) {
		g_strlcpy(state, "expected", 16);
		*since = 0;
		rc = 0;
	}
	return rc;
}

int state_presence_set(struct state *st, const char *session, const char *person, const char *state,
                       int64_t now, GError **err)
{
	return state_run(
	    st,
	    "INSERT INTO presence(session, person, state, since) VALUES (?, ?, ?, ?) "
	    "ON CONFLICT (session, person) DO UPDATE SET state = excluded.state, "
	    "since = excluded.since",
	    STATE_ARGS(STATE_TEXT(session), STATE_TEXT(person), STATE_TEXT(state), STATE_INT(now)),
	    "set presence", err);
}

int state_admission_add(struct state *st, const struct state_admission *a, const char *desk,
                        const char *reason, int64_t *id, GError **err)
{
	int rc = state_run(
	    st,
	    "UPDATE admission SET state = 'replaced', credential = '', ended_at = ? "
	    "WHERE session = ? AND person = ? AND state = 'active'",
	    STATE_ARGS(STATE_INT(a->issued_at), STATE_TEXT(a->session), STATE_TEXT(a->person)),
	    "replace admission", err);
	if (rc != 0)
		return rc;
	rc = state_run(
	    st,
	    "INSERT INTO admission(session, person, tender, room, seat, credential, "
	    "code_digest, issued_at, valid_until, code_valid_until, desk, reason, state) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active')",
	    STATE_ARGS(STATE_TEXT(a->session), STATE_TEXT(a->person), STATE_TEXT(a->tender),
	               STATE_TEXT(a->room), STATE_TEXT(a->seat), STATE_TEXT(a->credential),
	               STATE_TEXT(a->code_digest), STATE_INT(a->issued_at),
	               STATE_INT(a->valid_until), STATE_INT(a->code_valid_until), STATE_TEXT(desk),
	               STATE_TEXT(reason)),
	    "add admission", err);
	if (rc == 0 && id)
		*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

int state_admission_end(struct state *st, int64_t id, const char *state, int64_t now, GError **err)
{
	int rc = state_run(st,
	                   "UPDATE admission SET state = ?, credential = '', ended_at = ? "
	                   "WHERE id = ? AND state = 'active'",
	                   STATE_ARGS(STATE_TEXT(state), STATE_INT(now), STATE_INT(id)),
	                   "end admission", err);

	if (rc == 0 && sqlite3_changes(st->db) == 0)
		rc = state_not_found(err, "admission %" G_GINT64_FORMAT " is not active", id);
	return rc;
}

#define ADMISSION_COLUMNS                                                                          \
	"id, session, person, tender, room, seat, credential, code_digest, issued_at, "            \
	"valid_until, code_valid_until, state"

static void admission_read(sqlite3_stmt *stmt, void *data)
{
	struct state_admission *a = data;

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

/* The admission SQL selects with A1 and A2 bound; -ENOENT naming both when none. */
static int admission_one(struct state *st, const char *sql, const char *a1, const char *a2,
                         struct state_admission *out, GError **err)
{
	int rc = state_get_row(st, sql, STATE_ARGS(STATE_TEXT(a1), STATE_TEXT(a2)), admission_read,
	                       out, "read admission", err);

	if (rc == -ENOENT)
		rc = state_not_found(err, "no admission for %s (%s)", a1, a2);
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

static json_t *active_admission_json(sqlite3_stmt *stmt)
{
	struct state_admission a;

	admission_read(stmt, &a);
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "id", (json_int_t)a.id,
	                 "session", a.session, "person", a.person, "tender", a.tender, "room",
	                 a.room, "seat", a.seat, "credential", a.credential, "issued_at",
	                 (json_int_t)a.issued_at, "valid_until", (json_int_t)a.valid_until);
}

int state_admission_active(struct state *st, json_t **out, GError **err)
{
	int rc = state_list(st,
	                    "SELECT " ADMISSION_COLUMNS " FROM admission WHERE state = 'active' "
	                    "AND session IN (SELECT id FROM session WHERE state = 'open') "
	                    "ORDER BY id",
	                    NULL, active_admission_json, out, "list active admissions", err);
	json_t *staff = NULL;
	if (rc == 0)
		rc = state_staff_admission_active(st, &staff, err);
	if (rc == 0) {
		size_t i;
		json_t *a;
		json_array_foreach(staff, i, a) json_array_append(*out, a);
		json_decref(staff);
	} else if (*out) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

int state_binding_close(struct state *st, const char *room, const char *seat, int64_t to_us,
                        GError **err)
{
	return state_run(st,
	                 "UPDATE seat_binding SET to_us = max(?, from_us) WHERE room = ? AND "
	                 "seat = ? AND to_us IS NULL",
	                 STATE_ARGS(STATE_INT(to_us), STATE_TEXT(room), STATE_TEXT(seat)),
	                 "close seat binding", err);
}

int state_binding_open(struct state *st, const char *room, const char *seat, const char *person,
                       const char *tender, int64_t from_us, GError **err)
{
	int rc = state_binding_close(st, room, seat, from_us, err);
	if (rc != 0)
		return rc;
	return state_run(st,
	                 "INSERT INTO seat_binding(room, seat, person, tender, from_us) "
	                 "VALUES (?, ?, ?, ?, ?)",
	                 STATE_ARGS(STATE_TEXT(room), STATE_TEXT(seat), STATE_TEXT(person),
	                            STATE_TEXT(tender), STATE_INT(from_us)),
	                 "open seat binding", err);
}

struct binding {
	char *person, *tender; /* STATE_ID_SIZE bytes each */
};

static void binding_read(sqlite3_stmt *stmt, void *data)
{
	struct binding *b = data;

	state_copy_column(stmt, 0, b->person, STATE_ID_SIZE);
	state_copy_column(stmt, 1, b->tender, STATE_ID_SIZE);
}

int state_binding_at(struct state *st, const char *room, const char *seat, int64_t t,
                     char person[STATE_ID_SIZE], char tender[STATE_ID_SIZE], GError **err)
{
	return state_get_row(
	    st,
	    "SELECT person, tender FROM seat_binding WHERE room = ? AND seat = ? "
	    "AND from_us <= ? AND (to_us IS NULL OR to_us > ?) "
	    "ORDER BY from_us DESC LIMIT 1",
	    STATE_ARGS(STATE_TEXT(room), STATE_TEXT(seat), STATE_INT(t), STATE_INT(t)),
	    binding_read, &(struct binding){person, tender}, "read seat binding", err);
}

int state_tenders_in_room_at(struct state *st, const char *room, int64_t t, json_t **out,
                             GError **err)
{
	return state_list(
	    st,
	    "SELECT DISTINCT tender FROM seat_binding WHERE room = ? AND from_us <= ? "
	    "AND (to_us IS NULL OR to_us > ?) ORDER BY tender",
	    STATE_ARGS(STATE_TEXT(room), STATE_INT(t), STATE_INT(t)), state_text_json, out,
	    "list tenders in room", err);
}

int state_session_open_on(struct state *st, const char *date, char id[STATE_ID_SIZE], GError **err)
{
	sqlite3_stmt *stmt = state_stmt(
	    st, "SELECT id FROM session WHERE state = 'open' AND date = ? ORDER BY id LIMIT 2",
	    STATE_ARGS(STATE_TEXT(date)), err);
	if (!stmt)
		return -EIO;
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
		rc = state_not_found(err, "no open session dated %s", date);
	} else {
		rc = state_fail(st, err, "find today's session");
	}
	sqlite3_finalize(stmt);
	return rc;
}

static json_t *checkin_json(sqlite3_stmt *stmt)
{
	json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:I}", "person", state_column_text(stmt, 0),
	                        "name", state_column_text(stmt, 1), "tender",
	                        state_column_text(stmt, 2), "state", state_column_text(stmt, 3),
	                        "since", (json_int_t)sqlite3_column_int64(stmt, 4));

	if (sqlite3_column_type(stmt, 5) != SQLITE_NULL) {
		json_object_set_new(row, "room", json_string(state_column_text(stmt, 5)));
		json_object_set_new(row, "seat", json_string(state_column_text(stmt, 6)));
		json_object_set_new(row, "credential", json_string(state_column_text(stmt, 7)));
		json_object_set_new(row, "valid_until",
		                    json_integer(sqlite3_column_int64(stmt, 8)));
	}
	return row;
}

int state_checkin_list(struct state *st, const char *session, json_t **out, GError **err)
{
	return state_list(
	    st,
	    "SELECT a.person, p.name, a.tender, coalesce(pr.state, 'expected'), "
	    "coalesce(pr.since, 0), ad.room, ad.seat, ad.state, ad.valid_until "
	    "FROM assignment a JOIN person p ON p.id = a.person "
	    "LEFT JOIN presence pr ON pr.session = a.session AND pr.person = a.person "
	    "LEFT JOIN admission ad ON ad.id = (SELECT max(id) FROM admission x WHERE "
	    "x.session = a.session AND x.person = a.person) "
	    "WHERE a.session = ? AND a.withdrawn = 0 ORDER BY a.person",
	    STATE_ARGS(STATE_TEXT(session)), checkin_json, out, "list check-ins", err);
}

static json_t *room_seat_json(sqlite3_stmt *stmt)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "person",
	                 state_column_text(stmt, 0), "name", state_column_text(stmt, 1), "tender",
	                 state_column_text(stmt, 2), "tender_name", state_column_text(stmt, 3),
	                 "seat", state_column_text(stmt, 4), "code_digest",
	                 state_column_text(stmt, 5), "code_valid_until",
	                 (json_int_t)sqlite3_column_int64(stmt, 6));
}

int state_admission_seats(struct state *st, const char *room, int64_t now, json_t **out,
                          GError **err)
{
	return state_list(
	    st,
	    "SELECT a.person, p.name, a.tender, t.name, a.seat, a.code_digest, a.code_valid_until "
	    "FROM admission a JOIN person p ON p.id = a.person JOIN tender t ON t.id = a.tender "
	    "JOIN session s ON s.id = a.session "
	    "WHERE a.room = ? AND s.state = 'open' AND a.state IN ('active', 'used') "
	    "AND a.code_valid_until > ? AND a.id = (SELECT max(id) FROM admission x WHERE "
	    "x.session = a.session AND x.person = a.person) ORDER BY a.id",
	    STATE_ARGS(STATE_TEXT(room), STATE_INT(now)), room_seat_json, out,
	    "list seat assignments of a room", err);
}
