/* state.db: sessions, tenders, persons and committees. */
#include "state.h"
#include "state_db.h"

#include <errno.h>

#include "request.h"

static int state_not_found(GError **err, const char *what, const char *id)
{
	g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_NOT_FOUND, "no %s \"%s\"", what, id);
	return -ENOENT;
}

int state_session_add(struct state *st, const char *id, const char *date, int64_t now, GError **err)
{
	sqlite3_stmt *stmt = state_prepare(
	    st, "INSERT INTO session(id, date, state, created_at) VALUES (?, ?, 'open', ?)", err);
	int rc;

	if (!stmt)
		return -EIO;
	state_bind_texts(stmt, 1, 2, (const char *[]){id, date});
	sqlite3_bind_int64(stmt, 3, now);
	rc = state_step_done(st, stmt, "add session", err);
	sqlite3_finalize(stmt);
	if (rc == -EEXIST) {
		g_clear_error(err);
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		            "session \"%s\" already exists", id);
	}
	return rc;
}

int state_session_get(struct state *st, const char *id, struct state_session *out, GError **err)
{
	sqlite3_stmt *stmt =
	    state_prepare(st, "SELECT id, date, state FROM session WHERE id = ?", err);
	int rc;

	if (!stmt)
		return -EIO;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		state_copy_column(stmt, 0, out->id, sizeof(out->id));
		state_copy_column(stmt, 1, out->date, sizeof(out->date));
		state_copy_column(stmt, 2, out->state, sizeof(out->state));
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = state_not_found(err, "session", id);
	} else {
		rc = state_fail(st, err, "read session");
	}
	sqlite3_finalize(stmt);
	return rc;
}

int state_tender_add(struct state *st, const char *id, const char *session, const char *name,
                     int64_t now, GError **err)
{
	sqlite3_stmt *stmt =
	    state_prepare(st,
	                  "INSERT INTO tender(id, session, name, state, created_at) "
	                  "VALUES (?, ?, ?, 'open', ?)",
	                  err);
	int rc;

	if (!stmt)
		return -EIO;
	state_bind_texts(stmt, 1, 3, (const char *[]){id, session, name});
	sqlite3_bind_int64(stmt, 4, now);
	rc = state_step_done(st, stmt, "add tender", err);
	sqlite3_finalize(stmt);
	if (rc == -EEXIST) {
		g_clear_error(err);
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		            "tender \"%s\" already exists", id);
	}
	return rc;
}

int state_tender_get(struct state *st, const char *id, struct state_tender *out, GError **err)
{
	sqlite3_stmt *stmt =
	    state_prepare(st, "SELECT id, session, name, state FROM tender WHERE id = ?", err);
	int rc;

	if (!stmt)
		return -EIO;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		state_copy_column(stmt, 0, out->id, sizeof(out->id));
		state_copy_column(stmt, 1, out->session, sizeof(out->session));
		state_copy_column(stmt, 2, out->name, sizeof(out->name));
		state_copy_column(stmt, 3, out->state, sizeof(out->state));
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = state_not_found(err, "tender", id);
	} else {
		rc = state_fail(st, err, "read tender");
	}
	sqlite3_finalize(stmt);
	return rc;
}

int state_tender_list(struct state *st, const char *session, json_t **out, GError **err)
{
	sqlite3_stmt *stmt =
	    state_prepare(st, "SELECT id FROM tender WHERE session = ? ORDER BY id", err);
	json_t *list;
	int rc;

	if (!stmt)
		return -EIO;
	sqlite3_bind_text(stmt, 1, session, -1, SQLITE_TRANSIENT);
	list = json_array();
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_array_append_new(list,
		                      json_string((const char *)sqlite3_column_text(stmt, 0)));
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(list);
		return state_fail(st, err, "list tenders");
	}
	*out = list;
	return 0;
}

int state_person_get(struct state *st, const char *id, struct state_person *out, GError **err)
{
	sqlite3_stmt *stmt = state_prepare(
	    st, "SELECT id, name, id_number_hmac, card FROM person WHERE id = ?", err);
	int rc;

	if (!stmt)
		return -EIO;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		state_copy_column(stmt, 0, out->id, sizeof(out->id));
		state_copy_column(stmt, 1, out->name, sizeof(out->name));
		state_copy_column(stmt, 2, out->id_number_hmac, sizeof(out->id_number_hmac));
		state_copy_column(stmt, 3, out->card, sizeof(out->card));
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = state_not_found(err, "person", id);
	} else {
		rc = state_fail(st, err, "read person");
	}
	sqlite3_finalize(stmt);
	return rc;
}

int state_person_add(struct state *st, const struct state_person *p, GError **err)
{
	sqlite3_stmt *stmt = state_prepare(
	    st, "INSERT INTO person(id, name, id_number_hmac, card) VALUES (?, ?, ?, ?)", err);
	int rc;

	if (!stmt)
		return -EIO;
	state_bind_texts(
	    stmt, 1, 4,
	    (const char *[]){p->id, p->name, p->id_number_hmac, p->card[0] ? p->card : NULL});
	rc = state_step_done(st, stmt, "add person", err);
	sqlite3_finalize(stmt);
	if (rc == -EEXIST) {
		g_clear_error(err);
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		            "person \"%s\" already exists", p->id);
	}
	return rc;
}

int state_committee_add(struct state *st, const char *tender, const char *session,
                        const char *person, const char *role, int64_t now, GError **err)
{
	sqlite3_stmt *stmt = state_prepare(st,
	                                   "INSERT INTO committee(tender, person, session, role, "
	                                   "added_at) VALUES (?, ?, ?, ?, ?)",
	                                   err);
	int rc;

	if (!stmt)
		return -EIO;
	state_bind_texts(stmt, 1, 4, (const char *[]){tender, person, session, role});
	sqlite3_bind_int64(stmt, 5, now);
	rc = state_step_done(st, stmt, "add committee member", err);
	sqlite3_finalize(stmt);
	if (rc == -EEXIST) {
		g_clear_error(err);
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		            "person \"%s\" already sits in a committee of session \"%s\"", person,
		            session);
	}
	return rc;
}

int state_committee_tender_of(struct state *st, const char *session, const char *person,
                              char tender[STATE_ID_SIZE], GError **err)
{
	sqlite3_stmt *stmt =
	    state_prepare(st, "SELECT tender FROM committee WHERE session = ? AND person = ?", err);
	int rc;

	if (!stmt)
		return -EIO;
	state_bind_texts(stmt, 1, 2, (const char *[]){session, person});
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		state_copy_column(stmt, 0, tender, STATE_ID_SIZE);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_NOT_FOUND,
		            "person \"%s\" is in no committee of session \"%s\"", person, session);
		rc = -ENOENT;
	} else {
		rc = state_fail(st, err, "read committee");
	}
	sqlite3_finalize(stmt);
	return rc;
}

int state_committee_list(struct state *st, const char *session, const char *tender, json_t **out,
                         GError **err)
{
	sqlite3_stmt *stmt =
	    state_prepare(st,
	                  "SELECT c.tender, c.person, p.name, c.role, a.seat IS NOT NULL "
	                  "FROM committee c JOIN person p ON p.id = c.person "
	                  "LEFT JOIN assignment a ON a.session = c.session AND a.person = c.person "
	                  "AND a.withdrawn = 0 "
	                  "WHERE c.session = ?1 AND (?2 IS NULL OR c.tender = ?2) "
	                  "ORDER BY c.tender, c.person",
	                  err);
	json_t *list;
	int rc;

	if (!stmt)
		return -EIO;
	state_bind_texts(stmt, 1, 2, (const char *[]){session, tender});
	list = json_array();
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		json_array_append_new(
		    list, json_pack("{s:s, s:s, s:s, s:s, s:b}", "tender",
		                    (const char *)sqlite3_column_text(stmt, 0), "person",
		                    (const char *)sqlite3_column_text(stmt, 1), "name",
		                    (const char *)sqlite3_column_text(stmt, 2), "role",
		                    (const char *)sqlite3_column_text(stmt, 3), "seated",
		                    sqlite3_column_int(stmt, 4)));
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(list);
		return state_fail(st, err, "list committee");
	}
	*out = list;
	return 0;
}
