/* state.db queries of the archive router (route.h). */
#include "route.h"
#include "state_db.h"

#include <errno.h>
#include <string.h>

#include "request.h"

static int collect(struct state *st, sqlite3_stmt *stmt, GPtrArray *out, const char *what,
                   GError **err)
{
	int s;
	while ((s = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(stmt, 0);
		bool dup = false;
		for (guint i = 0; v && i < out->len && !dup; i++)
			dup = strcmp(out->pdata[i], v) == 0;
		if (v && !dup)
			g_ptr_array_add(out, g_strdup(v));
	}
	sqlite3_finalize(stmt);
	return s == SQLITE_DONE ? 0 : state_fail(st, err, what);
}

#define SEATED_IN_OPEN_SESSION                                                                     \
	"FROM assignment a JOIN session s ON s.id = a.session "                                    \
	"WHERE a.withdrawn = 0 AND s.state = 'open' AND a.assigned_at <= ?2 AND a.room = ?1 "

int route_room_tenders(struct state *st, const char *room, int64_t at_us, GPtrArray *tenders,
                       GError **err)
{
	sqlite3_stmt *stmt = state_prepare(
	    st, "SELECT DISTINCT a.tender " SEATED_IN_OPEN_SESSION "ORDER BY a.tender", err);
	if (!stmt)
		return -EIO;
	sqlite3_bind_text(stmt, 1, room, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 2, at_us);
	return collect(st, stmt, tenders, "room tenders", err);
}

int route_segment_tenders(struct state *st, const char *room, const char *stream, int64_t from_us,
                          int64_t to_us, GPtrArray *tenders, bool *seat_stream, bool *known,
                          GError **err)
{
	(void)from_us;
	*seat_stream = *known = false;
	sqlite3_stmt *stmt = state_prepare(
	    st,
	    "SELECT id, 1 FROM seat WHERE room = ?1 AND (camera = ?2 OR microphone = ?2) "
	    "UNION ALL SELECT '', 0 FROM room_device WHERE room = ?1 AND id = ?2",
	    err);
	if (!stmt)
		return -EIO;
	state_bind_texts(stmt, 1, 2, (const char *[]){room, stream});
	char seat[STATE_ID_SIZE] = "";
	int s = sqlite3_step(stmt);
	if (s == SQLITE_ROW) {
		*known = true;
		*seat_stream = sqlite3_column_int(stmt, 1) == 1;
		state_copy_column(stmt, 0, seat, sizeof(seat));
	}
	sqlite3_finalize(stmt);
	if (s != SQLITE_ROW && s != SQLITE_DONE)
		return state_fail(st, err, "stream place");
	if (!*seat_stream)
		return route_room_tenders(st, room, to_us, tenders, err);
	stmt = state_prepare(st,
	                     "SELECT DISTINCT a.tender " SEATED_IN_OPEN_SESSION
	                     "AND a.seat = ?3 ORDER BY a.tender",
	                     err);
	if (!stmt)
		return -EIO;
	sqlite3_bind_text(stmt, 1, room, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 2, to_us);
	sqlite3_bind_text(stmt, 3, seat, -1, SQLITE_TRANSIENT);
	return collect(st, stmt, tenders, "seat tender", err);
}

int route_tender_rooms(struct state *st, const char *tender, GPtrArray *rooms, GError **err)
{
	sqlite3_stmt *stmt = state_prepare(st,
	                                   "SELECT DISTINCT room FROM assignment WHERE tender = ? "
	                                   "AND withdrawn = 0 ORDER BY room",
	                                   err);
	if (!stmt)
		return -EIO;
	sqlite3_bind_text(stmt, 1, tender, -1, SQLITE_TRANSIENT);
	return collect(st, stmt, rooms, "tender rooms", err);
}

int route_person_tender(struct state *st, const char *person, char tender[STATE_ID_SIZE],
                        GError **err)
{
	sqlite3_stmt *stmt =
	    state_prepare(st,
	                  "SELECT c.tender FROM committee c JOIN session s ON s.id = c.session "
	                  "WHERE c.person = ? AND s.state = 'open' LIMIT 1",
	                  err);
	if (!stmt)
		return -EIO;
	sqlite3_bind_text(stmt, 1, person, -1, SQLITE_TRANSIENT);
	int s = sqlite3_step(stmt);
	int rc = 0;
	if (s == SQLITE_ROW)
		state_copy_column(stmt, 0, tender, STATE_ID_SIZE);
	else if (s == SQLITE_DONE)
		rc = -ENOENT;
	else
		rc = state_fail(st, err, "person tender");
	sqlite3_finalize(stmt);
	return rc;
}

int state_tender_set_state(struct state *st, const char *tender, const char *state, GError **err)
{
	sqlite3_stmt *stmt = state_prepare(st, "UPDATE tender SET state = ? WHERE id = ?", err);
	if (!stmt)
		return -EIO;
	state_bind_texts(stmt, 1, 2, (const char *[]){state, tender});
	int rc = state_step_done(st, stmt, "tender state", err);
	if (rc == 0 && sqlite3_changes(st->db) == 0) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_NOT_FOUND, "no tender \"%s\"",
		            tender);
		rc = -ENOENT;
	}
	sqlite3_finalize(stmt);
	return rc;
}
