/* state.db: the staff draw, who holds which post for which tender, handovers of a post,
 * and the review of the draw room's footage (docs/staff.md). */
#include "state.h"
#include "state_db.h"

#include <errno.h>
#include <string.h>

#define STAFF_DRAW_COLUMNS                                                                         \
	"session, inputs, input_hash, commitment, committed_by, committed_at, excluded, "          \
	"record, witness, run_at"

int state_staff_draw_get(struct state *st, const char *session, json_t **out, GError **err)
{
	int rc =
	    state_one_object(st, "SELECT " STAFF_DRAW_COLUMNS " FROM staff_draw WHERE session = ?",
	                     STATE_ARGS(STATE_TEXT(session)), out, "read staff draw", err);
	if (rc == -ENOENT)
		rc = state_not_found(err, "session %s has no staff draw", session);
	return rc;
}

int state_staff_draw_put(struct state *st, const char *session, const char *inputs,
                         const char *input_hash, const char *commitment, const char *by, int64_t at,
                         const char *excluded, GError **err)
{
	int rc = state_run(st, "DELETE FROM staff_draw WHERE session = ? AND run_at IS NULL",
	                   STATE_ARGS(STATE_TEXT(session)), "replace staff draw", err);
	if (rc == 0)
		rc = state_run(st,
		               "INSERT INTO staff_draw(session, inputs, input_hash, commitment, "
		               "committed_by, committed_at, excluded) VALUES (?, ?, ?, ?, ?, ?, ?)",
		               STATE_ARGS(STATE_TEXT(session), STATE_TEXT(inputs),
		                          STATE_TEXT(input_hash), STATE_TEXT(commitment),
		                          STATE_TEXT(by), STATE_INT(at), STATE_TEXT(excluded)),
		               "store staff draw", err);
	if (rc == -EEXIST)
		rc = state_conflict(err, "the staff draw of session %s has run already", session);
	return rc;
}

int state_staff_draw_set_run(struct state *st, const char *session, const char *record,
                             const char *witness, int64_t at, GError **err)
{
	int rc = state_run(
	    st,
	    "UPDATE staff_draw SET record = ?, witness = ?, run_at = ? "
	    "WHERE session = ? AND run_at IS NULL",
	    STATE_ARGS(STATE_TEXT(record), STATE_TEXT(witness), STATE_INT(at), STATE_TEXT(session)),
	    "store staff draw run", err);
	if (rc == 0 && sqlite3_changes(st->db) == 0)
		rc = state_conflict(err, "the staff draw of session %s is not waiting for a run",
		                    session);
	return rc;
}

int state_staff_post_set(struct state *st, const char *session, const char *tender,
                         const char *post, const char *person, int64_t since, GError **err)
{
	return state_run(st,
	                 "INSERT INTO staff_post(session, tender, post, person, since) "
	                 "VALUES (?, ?, ?, ?, ?) ON CONFLICT (tender, post) DO UPDATE SET "
	                 "person = excluded.person, since = excluded.since",
	                 STATE_ARGS(STATE_TEXT(session), STATE_TEXT(tender), STATE_TEXT(post),
	                            STATE_TEXT(person), STATE_INT(since)),
	                 "store staff post", err);
}

int state_staff_posts(struct state *st, const char *session, json_t **out, GError **err)
{
	return state_list(st,
	                  "SELECT p.tender, p.post, p.person, p.since, t.agency FROM staff_post p "
	                  "JOIN tender t ON t.id = p.tender WHERE p.session = ? "
	                  "ORDER BY p.tender, p.post",
	                  STATE_ARGS(STATE_TEXT(session)), state_row_object, out,
	                  "read staff posts", err);
}

int state_staff_history(struct state *st, const char *session, const char *date, json_t **out,
                        GError **err)
{
	return state_list(st,
	                  "SELECT s.id AS session, s.date, p.tender, p.post, p.person, "
	                  "coalesce(t.agency, '') AS agency FROM staff_draw d "
	                  "JOIN session s ON s.id = d.session "
	                  "JOIN staff_post p ON p.session = d.session "
	                  "JOIN tender t ON t.id = p.tender "
	                  "WHERE d.run_at IS NOT NULL AND s.id <> ?1 AND "
	                  "(s.date < ?2 OR (s.date = ?2 AND s.id < ?1)) "
	                  "ORDER BY s.date DESC, s.id DESC, p.tender, p.post",
	                  STATE_ARGS(STATE_TEXT(session), STATE_TEXT(date)), state_row_object, out,
	                  "read staff history", err);
}

int state_staff_handover_add(struct state *st, const char *tender, const char *post,
                             const char *from, const char *to, const char *reason, const char *by,
                             int64_t at, int64_t *id, GError **err)
{
	int rc =
	    state_run(st,
	              "INSERT INTO staff_handover(tender, post, from_person, to_person, reason, "
	              "ordered_by, ordered_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')",
	              STATE_ARGS(STATE_TEXT(tender), STATE_TEXT(post), STATE_TEXT(from),
	                         STATE_TEXT(to), STATE_TEXT(reason), STATE_TEXT(by), STATE_INT(at)),
	              "store staff handover", err);
	if (rc == 0)
		*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

int state_staff_handover_get(struct state *st, int64_t id, json_t **out, GError **err)
{
	int rc = state_one_object(
	    st,
	    "SELECT h.id, h.tender, t.session, h.post, h.from_person, h.to_person, "
	    "h.reason, h.ordered_by, h.ordered_at, h.from_signed_at, "
	    "h.to_signed_at, h.from_signatures, h.to_signatures, h.state "
	    "FROM staff_handover h "
	    "JOIN tender t ON t.id = h.tender WHERE h.id = ?",
	    STATE_ARGS(STATE_INT(id)), out, "read staff handover", err);
	if (rc == -ENOENT)
		rc = state_not_found(err, "no handover %" G_GINT64_FORMAT, id);
	return rc;
}

int state_staff_handover_pending(struct state *st, const char *tender, const char *post,
                                 int64_t *id, GError **err)
{
	return state_get_row(st,
	                     "SELECT id FROM staff_handover WHERE tender = ? AND post = ? "
	                     "AND state = 'pending'",
	                     STATE_ARGS(STATE_TEXT(tender), STATE_TEXT(post)), state_read_int64, id,
	                     "read staff handover", err);
}

int state_staff_handover_sign(struct state *st, int64_t id, bool outgoing, int64_t at,
                              const char *signatures, GError **err)
{
	return state_run(st,
	                 outgoing ? "UPDATE staff_handover SET from_signed_at = ?, "
	                            "from_signatures = ? WHERE id = ?"
	                          : "UPDATE staff_handover SET to_signed_at = ?, to_signatures = ? "
	                            "WHERE id = ?",
	                 STATE_ARGS(STATE_INT(at), STATE_TEXT(signatures), STATE_INT(id)),
	                 "sign staff handover", err);
}

int state_staff_handover_done(struct state *st, int64_t id, GError **err)
{
	return state_run(st, "UPDATE staff_handover SET state = 'done' WHERE id = ?",
	                 STATE_ARGS(STATE_INT(id)), "end staff handover", err);
}

int state_draw_room_note_closed(struct state *st, int64_t at, GError **err)
{
	return state_run(
	    st,
	    "INSERT INTO draw_room_review(tender, closed_at) SELECT id, ? FROM tender "
	    "WHERE state <> 'open' AND id NOT IN (SELECT tender FROM draw_room_review)",
	    STATE_ARGS(STATE_INT(at)), "store draw room review", err);
}

int state_draw_room_review(struct state *st, const char *tender, const char *by, int64_t at,
                           const char *note, GError **err)
{
	int rc = state_run(
	    st,
	    "UPDATE draw_room_review SET reviewed_by = ?, reviewed_at = ?, note = ? "
	    "WHERE tender = ? AND reviewed_at IS NULL",
	    STATE_ARGS(STATE_TEXT(by), STATE_INT(at), STATE_TEXT(note), STATE_TEXT(tender)),
	    "store draw room review", err);
	if (rc == 0 && sqlite3_changes(st->db) == 0) {
		json_t *row = NULL;
		rc = state_one_object(st,
		                      "SELECT reviewed_by, reviewed_at FROM draw_room_review "
		                      "WHERE tender = ?",
		                      STATE_ARGS(STATE_TEXT(tender)), &row, "read draw room review",
		                      err);
		if (rc == -ENOENT)
			rc = state_not_found(err,
			                     "tender %s is not closed: its draw-room footage is "
			                     "reviewed after the close",
			                     tender);
		else if (rc == 0)
			rc = state_conflict(
			    err, "the draw-room footage of %s was reviewed by %s already", tender,
			    json_string_value(json_object_get(row, "reviewed_by")));
		json_decref(row);
	}
	return rc;
}

int state_draw_room_unreviewed(struct state *st, int64_t closed_before, json_t **out, GError **err)
{
	return state_list(
	    st,
	    "SELECT tender, closed_at FROM draw_room_review WHERE reviewed_at IS NULL "
	    "AND closed_at <= ? ORDER BY tender",
	    STATE_ARGS(STATE_INT(closed_before)), state_row_object, out, "read draw room reviews",
	    err);
}
