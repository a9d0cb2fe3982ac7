/* state.db: the watchers' side (docs/witness.md): staff door credentials for their own
 * rooms; the evidence holds on the site's recordings (witness notes, behaviour warnings,
 * the seats' recording before check-in). */
#include "request.h"
#include "site.h"
#include "state.h"
#include "state_db.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

int state_staff_admission_add(struct state *st, const char *identity, const char *room,
                              const char *credential, int64_t issued_at, int64_t valid_until,
                              const char *desk, int64_t approval, bool escort, int64_t *id,
                              GError **err)
{
	int rc = state_run(st,
	                   "UPDATE staff_admission SET state = 'replaced', credential = '', "
	                   "ended_at = ? WHERE identity = ? AND state = 'active'",
	                   STATE_ARGS(STATE_INT(issued_at), STATE_TEXT(identity)),
	                   "replace staff admission", err);
	if (rc == 0)
		rc = state_run(st,
		               "INSERT INTO staff_admission(identity, room, credential, issued_at, "
		               "valid_until, desk, state, approval, escort) "
		               "VALUES (?, ?, ?, ?, ?, ?, 'active', nullif(?, 0), ?)",
		               STATE_ARGS(STATE_TEXT(identity), STATE_TEXT(room),
		                          STATE_TEXT(credential), STATE_INT(issued_at),
		                          STATE_INT(valid_until), STATE_TEXT(desk),
		                          STATE_INT(approval), STATE_INT(escort ? 1 : 0)),
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

int state_staff_admission_set_pair(struct state *st, int64_t id, const char *pair, bool escort,
                                   GError **err)
{
	return state_run(st, "UPDATE staff_admission SET pair = ?, escort = ? WHERE id = ?",
	                 STATE_ARGS(STATE_TEXT(pair), STATE_INT(escort ? 1 : 0), STATE_INT(id)),
	                 "store staff admission pair", err);
}

int state_staff_admission_end_pair_escorts(struct state *st, const char *pair, int64_t now,
                                           GError **err)
{
	return state_run(st,
	                 "UPDATE staff_admission SET state = 'used', credential = '', ended_at = ? "
	                 "WHERE state = 'active' AND pair = ? AND escort = 1",
	                 STATE_ARGS(STATE_INT(now), STATE_TEXT(pair)), "end staff admission", err);
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

int state_evidence_hold_put(struct state *st, const struct state_evidence_hold *h, int64_t now,
                            bool once, int64_t *id, GError **err)
{
	int64_t to = MAX(h->to_us, h->from_us + 1), found = 0;
	int rc;
	if (once) {
		rc = state_get_row(st,
		                   "SELECT id FROM evidence_hold WHERE source = ? AND why = ? AND "
		                   "from_us = ? AND to_us = ? AND released_at IS NULL LIMIT 1",
		                   STATE_ARGS(STATE_TEXT(h->source), STATE_TEXT(h->why),
		                              STATE_INT(h->from_us), STATE_INT(to)),
		                   state_read_int64, &found, "read evidence holds", err);
		if (rc == 0) {
			if (id)
				*id = found;
			return 0;
		}
		if (rc != -ENOENT)
			return rc;
	}
	rc = state_run(st,
	               "INSERT INTO evidence_hold(tender, stream, from_us, to_us, author, made_at, "
	               "source, why, alert) VALUES (?, '', ?, ?, 'controller', ?, ?, ?, ?)",
	               STATE_ARGS(STATE_TEXT(h->tender ? h->tender : ""), STATE_INT(h->from_us),
	                          STATE_INT(to), STATE_INT(now), STATE_TEXT(h->source),
	                          STATE_TEXT(h->why), h->alert ? STATE_INT(h->alert) : STATE_TEXT(NULL)),
	               "store evidence hold", err);
	if (rc == 0 && id)
		*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

int state_evidence_hold_release(struct state *st, int64_t id, const char *identity,
                                const char *reason, int64_t now, GError **err)
{
	int64_t released = 0;
	int rc = state_get_row(st, "SELECT coalesce(released_at, 0) FROM evidence_hold WHERE id = ?",
	                       STATE_ARGS(STATE_INT(id)), state_read_int64, &released,
	                       "read evidence hold", err);
	if (rc == -ENOENT)
		return state_not_found(err, "no evidence hold %" G_GINT64_FORMAT
		                            " (evalroomctl evidence holds lists them)",
		                       id);
	if (rc != 0)
		return rc;
	if (released) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		            "evidence hold %" G_GINT64_FORMAT " was released already", id);
		return -EALREADY;
	}
	return state_run(st,
	                 "UPDATE evidence_hold SET released_at = ?, released_by = ?, "
	                 "release_reason = ? WHERE id = ? AND released_at IS NULL",
	                 STATE_ARGS(STATE_INT(now), STATE_TEXT(identity), STATE_TEXT(reason),
	                            STATE_INT(id)),
	                 "release evidence hold", err);
}

static json_t *hold_json(sqlite3_stmt *s)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:s, s:I, s:s}", "id",
	                      (json_int_t)sqlite3_column_int64(s, 0), "source",
	                      state_column_text(s, 1), "tender", state_column_text(s, 2), "stream",
	                      state_column_text(s, 3), "from_us",
	                      (json_int_t)sqlite3_column_int64(s, 4), "to_us",
	                      (json_int_t)sqlite3_column_int64(s, 5), "author",
	                      state_column_text(s, 6), "made_at",
	                      (json_int_t)sqlite3_column_int64(s, 7), "why", state_column_text(s, 8));
	if (sqlite3_column_type(s, 9) != SQLITE_NULL)
		json_object_set_new(o, "alert", json_integer(sqlite3_column_int64(s, 9)));
	if (sqlite3_column_type(s, 10) != SQLITE_NULL) {
		json_object_set_new(o, "released_at", json_integer(sqlite3_column_int64(s, 10)));
		json_object_set_new(o, "released_by", json_string(state_column_text(s, 11)));
		json_object_set_new(o, "release_reason", json_string(state_column_text(s, 12)));
	}
	return o;
}

int state_evidence_holds(struct state *st, bool active, json_t **out, GError **err)
{
	return state_list(st,
	                  "SELECT id, source, tender, stream, from_us, to_us, author, made_at, why, "
	                  "alert, released_at, released_by, release_reason FROM evidence_hold "
	                  "WHERE ? = 0 OR released_at IS NULL ORDER BY id",
	                  STATE_ARGS(STATE_INT(active ? 1 : 0)), hold_json, out,
	                  "read evidence holds", err);
}

int state_evidence_held(struct state *st, int64_t from_us, int64_t to_us, bool *held, GError **err)
{
	int rc = state_get_row(st,
	                       "SELECT 1 FROM evidence_hold WHERE from_us < ? AND to_us > ? "
	                       "AND released_at IS NULL LIMIT 1",
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

int state_site_load(struct state *st, struct site **out, GError **err)
{
	char *source = NULL;
	GError *site_err = NULL;
	int rc = state_get_row(st, "SELECT source FROM site", NULL, text_dup_read, &source,
	                       "read site", err);
	if (rc == -ENOENT)
		return state_not_found(err, "no site imported yet (evalroomctl site import FILE)");
	if (rc != 0)
		return rc;
	rc = site_load_data(source, strlen(source), out, &site_err);
	g_free(source);
	if (rc != 0) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_INTERNAL, "the stored site: %s",
		            site_err->message);
		g_error_free(site_err);
		return -EIO;
	}
	return 0;
}

static json_t *staff_active_json(sqlite3_stmt *stmt)
{
	json_t *o =
	    json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:b}", "id",
	              (json_int_t)-sqlite3_column_int64(stmt, 0), "session", "", "person",
	              state_column_text(stmt, 1), "tender", "", "room", state_column_text(stmt, 2),
	              "seat", "", "credential", state_column_text(stmt, 3), "issued_at",
	              (json_int_t)sqlite3_column_int64(stmt, 4), "valid_until",
	              (json_int_t)sqlite3_column_int64(stmt, 5), "staff", 1);
	if (sqlite3_column_type(stmt, 6) != SQLITE_NULL) {
		json_object_set_new(o, "approval", json_integer(sqlite3_column_int64(stmt, 6)));
		json_object_set_new(o, "escort", json_boolean(sqlite3_column_int(stmt, 7)));
	}
	if (sqlite3_column_type(stmt, 8) != SQLITE_NULL) {
		json_object_set_new(o, "pair", json_string(state_column_text(stmt, 8)));
		json_object_set_new(o, "escort", json_boolean(sqlite3_column_int(stmt, 7)));
	}
	return o;
}

int state_staff_admission_active(struct state *st, json_t **out, GError **err)
{
	return state_list(
	    st,
	    "SELECT id, identity, room, credential, issued_at, valid_until, approval, "
	    "escort, pair FROM staff_admission WHERE state = 'active' ORDER BY id",
	    NULL, staff_active_json, out, "list staff admissions", err);
}

int state_escort_approval_add(struct state *st, const char *identity, const char *escort,
                              const char *room, const char *reason, const char *basis,
                              const char *supervisor, int64_t now, int64_t valid_until, int64_t *id,
                              GError **err)
{
	int rc = state_run(st,
	                   "INSERT INTO escort_approval(identity, escort, room, reason, basis, "
	                   "supervisor, approved_at, valid_until, state) "
	                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active')",
	                   STATE_ARGS(STATE_TEXT(identity), STATE_TEXT(escort), STATE_TEXT(room),
	                              STATE_TEXT(reason), STATE_TEXT(basis), STATE_TEXT(supervisor),
	                              STATE_INT(now), STATE_INT(valid_until)),
	                   "store escort approval", err);
	if (rc == 0 && id)
		*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

struct approval_row {
	int64_t id;
	bool escort;
};

static void approval_read(sqlite3_stmt *stmt, void *data)
{
	struct approval_row *r = data;
	r->id = sqlite3_column_int64(stmt, 0);
	r->escort = sqlite3_column_int(stmt, 1);
}

int state_escort_approval_find(struct state *st, const char *identity, const char *room,
                               int64_t now, int64_t *id, bool *escort, GError **err)
{
	struct approval_row r = {0, false};
	int rc = state_get_row(st,
	                       "SELECT id, escort = ?1 FROM escort_approval WHERE state = 'active' "
	                       "AND room = ?2 AND valid_until > ?3 AND (identity = ?1 OR "
	                       "escort = ?1) ORDER BY id DESC LIMIT 1",
	                       STATE_ARGS(STATE_TEXT(identity), STATE_TEXT(room), STATE_INT(now)),
	                       approval_read, &r, "read escort approvals", err);
	if (rc == 0) {
		*id = r.id;
		*escort = r.escort;
	}
	return rc;
}

int state_escort_approval_end(struct state *st, int64_t id, const char *state, int64_t now,
                              GError **err)
{
	int rc = state_run(st,
	                   "UPDATE escort_approval SET state = ?, ended_at = ? WHERE id = ? AND "
	                   "state = 'active'",
	                   STATE_ARGS(STATE_TEXT(state), STATE_INT(now), STATE_INT(id)),
	                   "end escort approval", err);
	if (rc == 0)
		rc = state_run(
		    st,
		    "UPDATE staff_admission SET state = ?, credential = '', ended_at = ? "
		    "WHERE approval = ? AND state = 'active'",
		    STATE_ARGS(STATE_TEXT(strcmp(state, "used") == 0 ? "used" : "expired"),
		               STATE_INT(now), STATE_INT(id)),
		    "end escorted admissions", err);
	return rc;
}
