/* state.db: sessions, tenders, persons and committees. */
#include "state.h"
#include "state_db.h"

#include <errno.h>

int state_session_add(struct state *st, const char *id, const char *date, int64_t now, GError **err)
{
	int rc = state_run(
	    st, "INSERT INTO session(id, date, state, created_at) VALUES (?, ?, 'open', ?)",
	    STATE_ARGS(STATE_TEXT(id), STATE_TEXT(date), STATE_INT(now)), "add session", err);

	if (rc == -EEXIST)
		rc = state_conflict(err, "session \"%s\" already exists", id);
	return rc;
}

static void session_read(sqlite3_stmt *stmt, void *data)
{
	struct state_session *out = data;

	state_copy_column(stmt, 0, out->id, sizeof(out->id));
	state_copy_column(stmt, 1, out->date, sizeof(out->date));
	state_copy_column(stmt, 2, out->state, sizeof(out->state));
}

int state_session_get(struct state *st, const char *id, struct state_session *out, GError **err)
{
	int rc = state_get_row(st, "SELECT id, date, state FROM session WHERE id = ?",
	                       STATE_ARGS(STATE_TEXT(id)), session_read, out, "read session", err);

	if (rc == -ENOENT)
		rc = state_not_found(err, "no session \"%s\"", id);
	return rc;
}

int state_tender_add(struct state *st, const char *id, const char *session, const char *name,
                     int64_t now, GError **err)
{
	int rc = state_run(
	    st,
	    "INSERT INTO tender(id, session, name, state, created_at) "
	    "VALUES (?, ?, ?, 'open', ?)",
	    STATE_ARGS(STATE_TEXT(id), STATE_TEXT(session), STATE_TEXT(name), STATE_INT(now)),
	    "add tender", err);

	if (rc == -EEXIST)
		rc = state_conflict(err, "tender \"%s\" already exists", id);
	return rc;
}

static void tender_read(sqlite3_stmt *stmt, void *data)
{
	struct state_tender *out = data;

	state_copy_column(stmt, 0, out->id, sizeof(out->id));
	state_copy_column(stmt, 1, out->session, sizeof(out->session));
	state_copy_column(stmt, 2, out->name, sizeof(out->name));
	state_copy_column(stmt, 3, out->state, sizeof(out->state));
}

int state_tender_get(struct state *st, const char *id, struct state_tender *out, GError **err)
{
	int rc = state_get_row(st, "SELECT id, session, name, state FROM tender WHERE id = ?",
	                       STATE_ARGS(STATE_TEXT(id)), tender_read, out, "read tender", err);

	if (rc == -ENOENT)
		rc = state_not_found(err, "no tender \"%s\"", id);
	return rc;
}

int state_tender_list(struct state *st, const char *session, json_t **out, GError **err)
{
	return state_list(st, "SELECT id FROM tender WHERE session = ? ORDER BY id",
	                  STATE_ARGS(STATE_TEXT(session)), state_text_json, out, "list tenders",
	                  err);
}

static void person_read(sqlite3_stmt *stmt, void *data)
{
	struct state_person *out = data;

	state_copy_column(stmt, 0, out->id, sizeof(out->id));
	state_copy_column(stmt, 1, out->name, sizeof(out->name));
	state_copy_column(stmt, 2, out->id_number_hmac, sizeof(out->id_number_hmac));
	state_copy_column(stmt, 3, out->card, sizeof(out->card));
}

int state_person_get(struct state *st, const char *id, struct state_person *out, GError **err)
{
	int rc = state_get_row(st, "SELECT id, name, id_number_hmac, card FROM person WHERE id = ?",
	                       STATE_ARGS(STATE_TEXT(id)), person_read, out, "read person", err);

	if (rc == -ENOENT)
		rc = state_not_found(err, "no person \"%s\"", id);
	return rc;
}

int state_person_add(struct state *st, const struct state_person *p, GError **err)
{
	int rc = state_run(
	    st, "INSERT INTO person(id, name, id_number_hmac, card) VALUES (?, ?, ?, ?)",
	    STATE_ARGS(STATE_TEXT(p->id), STATE_TEXT(p->name), STATE_TEXT(p->id_number_hmac),
	               STATE_TEXT(p->card[0] ? p->card : NULL)),
	    "add person", err);

	if (rc == -EEXIST)
		rc = state_conflict(err, "person \"%s\" already exists", p->id);
	return rc;
}

int state_committee_add(struct state *st, const char *tender, const char *session,
                        const char *person, const char *role, int64_t now, GError **err)
{
	int rc = state_run(st,
	                   "INSERT INTO committee(tender, person, session, role, added_at) "
	                   "VALUES (?, ?, ?, ?, ?)",
	                   STATE_ARGS(STATE_TEXT(tender), STATE_TEXT(person), STATE_TEXT(session),
	                              STATE_TEXT(role), STATE_INT(now)),
	                   "add committee member", err);

	if (rc == -EEXIST)
		rc = state_conflict(err,
		                    "person \"%s\" already sits in a committee of session \"%s\"",
		                    person, session);
	return rc;
}

int state_committee_tender_of(struct state *st, const char *session, const char *person,
                              char tender[STATE_ID_SIZE], GError **err)
{
	int rc = state_get_row(st, "SELECT tender FROM committee WHERE session = ? AND person = ?",
	                       STATE_ARGS(STATE_TEXT(session), STATE_TEXT(person)), state_read_id,
	                       tender, "read committee", err);

	if (rc == -ENOENT)
		rc = state_not_found(err, "person \"%s\" is in no committee of session \"%s\"",
		                     person, session);
	return rc;
}

static json_t *committee_member_json(sqlite3_stmt *stmt)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b}", "tender", state_column_text(stmt, 0),
	                 "person", state_column_text(stmt, 1), "name", state_column_text(stmt, 2),
	                 "role", state_column_text(stmt, 3), "seated", sqlite3_column_int(stmt, 4));
}

int state_committee_list(struct state *st, const char *session, const char *tender, json_t **out,
                         GError **err)
{
	return state_list(st,
	                  "SELECT c.tender, c.person, p.name, c.role, a.seat IS NOT NULL "
	                  "FROM committee c JOIN person p ON p.id = c.person "
	                  "LEFT JOIN assignment a ON a.session = c.session AND a.person = c.person "
	                  "AND a.withdrawn = 0 "
	                  "WHERE c.session = ?1 AND (?2 IS NULL OR c.tender = ?2) "
	                  "ORDER BY c.tender, c.person",
	                  STATE_ARGS(STATE_TEXT(session), STATE_TEXT(tender)),
	                  committee_member_json, out, "list committee", err);
}
