/* state.db queries of the archive router (route.h). */
#include "route.h"
#include "state_db.h"

#include <errno.h>
#include <string.h>

/* Append column 0 to the GPtrArray OUT (a g_strdup'd copy) unless NULL or already in. */
static void add_distinct(sqlite3_stmt *stmt, void *out)
{
	GPtrArray *ids = out;
	const char *v = state_column_text(stmt, 0);
	bool dup = false;
	for (guint i = 0; v && i < ids->len && !dup; i++)
		dup = strcmp(ids->pdata[i], v) == 0;
	if (v && !dup)
		g_ptr_array_add(ids, g_strdup(v));
}

/* Seated in ROOM (?1) at ?2 by the draw (the seat reservation). */
#define SEATED_IN_OPEN_SESSION                                                                     \
	"FROM assignment a JOIN session s ON s.id = a.session "                                    \
	"WHERE a.withdrawn = 0 AND s.state = 'open' AND a.assigned_at <= ?2 AND a.room = ?1 "
/* ... and checked in by then (a passed screening at the desk). */
#define CHECKED_IN                                                                                 \
	"AND EXISTS (SELECT 1 FROM checkin k WHERE k.session = a.session AND "                     \
	"k.person = a.person AND k.screening = 'passed' AND k.at <= ?2) "

/* Before a person's check-in nothing that happens or is recorded in their room or at
 * their seat goes to their tender's archive: it would tell an archive's reader where the
 * draw put them while the seat map is sealed (docs/draw.md, "The seal"). */
int route_room_tenders(struct state *st, const char *room, int64_t at_us, GPtrArray *tenders,
                       GError **err)
{
	return state_each(
	    st, "SELECT DISTINCT a.tender " SEATED_IN_OPEN_SESSION CHECKED_IN "ORDER BY a.tender",
	    STATE_ARGS(STATE_TEXT(room), STATE_INT(at_us)), add_distinct, tenders, "room tenders",
	    err);
}

int route_seat_tenders(struct state *st, const char *room, const char *seat, int64_t at_us,
                       GPtrArray *tenders, GError **err)
{
	return state_each(st,
	                  "SELECT DISTINCT a.tender " SEATED_IN_OPEN_SESSION CHECKED_IN
	                  "AND a.seat = ?3 ORDER BY a.tender",
	                  STATE_ARGS(STATE_TEXT(room), STATE_INT(at_us), STATE_TEXT(seat)),
	                  add_distinct, tenders, "seat tenders", err);
}

/* Where a stream is: at a seat (SEAT its id) or not, when the site knows it at all. */
struct stream_place {
	bool seat_stream;
	char seat[STATE_ID_SIZE];
};

static void stream_place_read(sqlite3_stmt *stmt, void *data)
{
	struct stream_place *p = data;

	p->seat_stream = sqlite3_column_int(stmt, 1) == 1;
	state_copy_column(stmt, 0, p->seat, sizeof(p->seat));
}

/* call_seat: the seat of a recorded call's stream, "call-SEAT-seat" or
 * "call-SEAT-witness" (docs/call.md), into SEAT; false for any other name. */
static bool call_seat(const char *stream, char seat[STATE_ID_SIZE])
{
	static const char *const suffixes[] = {"-seat", "-witness"};
	if (!g_str_has_prefix(stream, "call-"))
		return false;
	const char *s = stream + strlen("call-");
	for (size_t i = 0; i < G_N_ELEMENTS(suffixes); i++) {
		size_t n = strlen(s), k = strlen(suffixes[i]);
		if (n > k && n - k < STATE_ID_SIZE && strcmp(s + n - k, suffixes[i]) == 0) {
			memcpy(seat, s, n - k);
			seat[n - k] = '\0';
			return true;
		}
	}
	return false;
}

int route_segment_tenders(struct state *st, const char *room, const char *stream, int64_t from_us,
                          int64_t to_us, GPtrArray *tenders, bool *seat_stream, bool *known,
                          GError **err)
{
	(void)from_us;
	*seat_stream = *known = false;
	struct stream_place place = {false, ""};
	/* a recorded call belongs to the tender of the person at its seat, as the seat's
	 * camera does (the seat, when the site knows it) */
	if (call_seat(stream, place.seat) &&
	    state_get_row(st, "SELECT 1 FROM seat WHERE room = ? AND id = ?",
	                  STATE_ARGS(STATE_TEXT(room), STATE_TEXT(place.seat)), NULL, NULL,
	                  "call seat", NULL) == 0) {
		*seat_stream = *known = true;
		return route_seat_tenders(st, room, place.seat, to_us, tenders, err);
	}
	int rc = state_get_row(
	    st,
	    "SELECT id, 1 FROM seat WHERE room = ?1 AND (camera = ?2 OR microphone = ?2) "
	    "UNION ALL SELECT '', 0 FROM room_device WHERE room = ?1 AND id = ?2",
	    STATE_ARGS(STATE_TEXT(room), STATE_TEXT(stream)), stream_place_read, &place,
	    "stream place", err);
	if (rc && rc != -ENOENT)
		return rc;
	*known = rc == 0;
	*seat_stream = place.seat_stream;
	/* the draw room seats nobody: where the representatives draw the experts of the
	 * session's tenders, its recordings belong to every tender open then (docs/staff.md) */
	if (!*seat_stream &&
	    state_get_row(st, "SELECT 1 FROM room WHERE id = ? AND kind = 'draw'",
	                  STATE_ARGS(STATE_TEXT(room)), NULL, NULL, "room kind", NULL) == 0)
		return state_each(
		    st,
		    "SELECT t.id FROM tender t JOIN session s ON s.id = t.session "
		    "WHERE s.state = 'open' AND t.state = 'open' AND t.created_at <= ? "
		    "ORDER BY t.id",
		    STATE_ARGS(STATE_INT(to_us)), add_distinct, tenders, "draw room tenders", err);
	/* Both by the segment's end: the segment during which a person checked in is theirs. */
	if (!*seat_stream)
		return route_room_tenders(st, room, to_us, tenders, err);
	return route_seat_tenders(st, room, place.seat, to_us, tenders, err);
}

static void read_span(sqlite3_stmt *stmt, void *data)
{
	int64_t *span = data;
	span[0] = sqlite3_column_int64(stmt, 0);
	span[1] = sqlite3_column_int64(stmt, 1);
}

int route_checkin_span(struct state *st, const char *session, const char *person,
                       int64_t *seated_us, int64_t *checked_in_us, GError **err)
{
	int64_t span[2] = {0, 0};
	int rc = state_get_row(st,
	                       "SELECT a.assigned_at, k.at FROM assignment a JOIN checkin k ON "
	                       "k.session = a.session AND k.person = a.person AND "
	                       "k.screening = 'passed' WHERE a.session = ? AND a.person = ? AND "
	                       "a.withdrawn = 0 ORDER BY k.at LIMIT 1",
	                       STATE_ARGS(STATE_TEXT(session), STATE_TEXT(person)), read_span, span,
	                       "check-in span", err);
	if (rc == -ENOENT)
		return state_not_found(err, "%s is not seated and checked in in session %s", person,
		                       session);
	*seated_us = span[0];
	*checked_in_us = span[1];
	return rc;
}

int route_tender_rooms(struct state *st, const char *tender, GPtrArray *rooms, GError **err)
{
	return state_each(st,
	                  "SELECT DISTINCT room FROM assignment WHERE tender = ? AND withdrawn = 0 "
	                  "ORDER BY room",
	                  STATE_ARGS(STATE_TEXT(tender)), add_distinct, rooms, "tender rooms", err);
}

int route_place_streams(struct state *st, const char *room, const char *seat, GPtrArray *streams,
                        GError **err)
{
	int rc = 0;
	if (seat && *seat)
		rc = state_each(st,
		                "SELECT camera FROM seat WHERE room = ?1 AND id = ?2 AND camera IS NOT NULL "
		                "UNION ALL SELECT microphone FROM seat WHERE room = ?1 AND id = ?2 "
		                "AND microphone IS NOT NULL",
		                STATE_ARGS(STATE_TEXT(room), STATE_TEXT(seat)), add_distinct, streams,
		                "seat streams", err);
	if (rc == 0)
		rc = state_each(st, "SELECT id FROM room_device WHERE room = ? ORDER BY kind, id",
		                STATE_ARGS(STATE_TEXT(room)), add_distinct, streams, "room streams",
		                err);
	return rc;
}

int route_person_tender(struct state *st, const char *person, char tender[STATE_ID_SIZE],
                        GError **err)
{
	return state_get_row(st,
	                     "SELECT c.tender FROM committee c JOIN session s ON s.id = c.session "
	                     "WHERE c.person = ? AND s.state = 'open' LIMIT 1",
	                     STATE_ARGS(STATE_TEXT(person)), state_read_id, tender, "person tender",
	                     err);
}

int state_tender_set_state(struct state *st, const char *tender, const char *state, GError **err)
{
	int rc = state_run(st, "UPDATE tender SET state = ? WHERE id = ?",
	                   STATE_ARGS(STATE_TEXT(state), STATE_TEXT(tender)), "tender state", err);
	if (rc == 0 && sqlite3_changes(st->db) == 0)
		rc = state_not_found(err, "no tender \"%s\"", tender);
	return rc;
}
