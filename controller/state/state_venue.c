/* state.db: the venues of a tender, booked in advance or drawn (docs/venues.md,
 * docs/draw.md section 12). */
#include "state.h"
#include "state_db.h"

#include <errno.h>

#define SELECTION_COLUMNS                                                                          \
	"id, tender, way, round, venues, inputs, input_hash, commitment, made_by, made_at, "       \
	"reason, record, witness, run_at, state"

int state_venue_selection_add(struct state *st, const struct state_venue_selection *s, int64_t *id,
                              GError **err)
{
	int rc = state_run(
	    st,
	    "INSERT INTO venue_selection(tender, way, round, venues, inputs, "
	    "input_hash, commitment, made_by, made_at, reason, state) VALUES (?, ?, "
	    "?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    STATE_ARGS(STATE_TEXT(s->tender), STATE_TEXT(s->way), STATE_INT(s->round),
	               STATE_TEXT(s->venues), STATE_TEXT(s->inputs), STATE_TEXT(s->input_hash),
	               STATE_TEXT(s->commitment), STATE_TEXT(s->made_by), STATE_INT(s->made_at),
	               STATE_TEXT(s->reason), STATE_TEXT(s->state)),
	    "store venue selection", err);
	if (rc == 0)
		*id = sqlite3_last_insert_rowid(st->db);
	return rc;
}

int state_venue_selection_latest(struct state *st, const char *tender, const char *state,
                                 json_t **out, GError **err)
{
	return state_one_object(st,
	                        "SELECT " SELECTION_COLUMNS " FROM venue_selection WHERE tender = "
	                        "?1 AND way != 'booking' AND (?2 IS NULL OR state = ?2) ORDER BY "
	                        "id DESC LIMIT 1",
	                        STATE_ARGS(STATE_TEXT(tender), STATE_TEXT(state)), out,
	                        "read venue draw", err);
}

int state_venue_selection_set_run(struct state *st, int64_t id, const char *record,
                                  const char *witness, int64_t at, GError **err)
{
	return state_run(
	    st,
	    "UPDATE venue_selection SET record = ?, witness = ?, run_at = ?, state = "
	    "'run' WHERE id = ? AND state = 'committed'",
	    STATE_ARGS(STATE_TEXT(record), STATE_TEXT(witness), STATE_INT(at), STATE_INT(id)),
	    "store venue draw run", err);
}

int state_venue_selection_end(struct state *st, int64_t id, GError **err)
{
	return state_run(st,
	                 "UPDATE venue_selection SET state = 'ended' WHERE id = ? AND state = "
	                 "'committed'",
	                 STATE_ARGS(STATE_INT(id)), "end venue draw", err);
}

int state_venue_selections(struct state *st, const char *tender, json_t **out, GError **err)
{
	return state_list(st,
	                  "SELECT " SELECTION_COLUMNS " FROM venue_selection WHERE tender = ? "
	                  "ORDER BY id",
	                  STATE_ARGS(STATE_TEXT(tender)), state_row_object, out,
	                  "list venue selections", err);
}

int state_tender_venues(struct state *st, const char *tender, json_t **out, GError **err)
{
	return state_list(st,
	                  "SELECT venue, way, selection FROM tender_venue WHERE tender = ? ORDER "
	                  "BY venue",
	                  STATE_ARGS(STATE_TEXT(tender)), state_row_object, out,
	                  "list a tender's venues", err);
}

int state_tender_venue_add(struct state *st, const char *tender, const char *venue,
                           int64_t selection, const char *way, GError **err)
{
	int rc = state_run(st,
	                   "INSERT INTO tender_venue(tender, venue, selection, way) VALUES (?, ?, "
	                   "?, ?)",
	                   STATE_ARGS(STATE_TEXT(tender), STATE_TEXT(venue), STATE_INT(selection),
	                              STATE_TEXT(way)),
	                   "store a tender's venue", err);
	if (rc == -EEXIST)
		rc = state_conflict(err, "venue %s is chosen for tender %s already", venue, tender);
	return rc;
}

int state_tender_venue_drop_drawn(struct state *st, const char *tender, GError **err)
{
	return state_run(st, "DELETE FROM tender_venue WHERE tender = ? AND way = 'drawn'",
	                 STATE_ARGS(STATE_TEXT(tender)), "drop a tender's drawn venues", err);
}
