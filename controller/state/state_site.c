/* state.db: the imported site (venues, rooms, seats, cameras and microphones). */
#include "state.h"
#include "state_db.h"

#include <errno.h>

#include "request.h"
#include "site.h"

static void text_dup_read(sqlite3_stmt *stmt, void *text)
{
	*(char **)text = g_strdup(state_column_text(stmt, 0));
}

static int state_site_in_use(struct state *st, GError **err)
{
	char *session = NULL;
	int rc = state_get_row(st,
	                       "SELECT d.session FROM draw d JOIN session s "
	                       "ON s.id = d.session WHERE s.state = 'open' LIMIT 1",
	                       NULL, text_dup_read, &session, "check draws", err);

	if (rc == 0) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		            "the site cannot change while session \"%s\" has a seat draw", session);
		rc = -EBUSY;
	} else if (rc == -ENOENT) {
		rc = 0;
	}
	g_free(session);
	return rc;
}

static int state_room_insert(struct state *st, const struct site_room *r, size_t ord, GError **err)
{
	const char *kind = site_room_kind_name(r->kind);
	int rc;

	rc = state_run(
	    st, "INSERT INTO room(id, name, kind, venue, door, ord) VALUES (?, ?, ?, ?, ?, ?)",
	    STATE_ARGS(STATE_TEXT(r->id), STATE_TEXT(r->name), STATE_TEXT(kind),
	               STATE_TEXT(r->venue), STATE_TEXT(r->door), STATE_INT((int64_t)ord)),
	    "store room", err);
	for (size_t i = 0; !rc && i < r->n_seats; i++) {
		const struct site_seat *s = &r->seats[i];

		rc = state_run(st,
		               "INSERT INTO seat(room, id, camera, microphone, ord) "
		               "VALUES (?, ?, ?, ?, ?)",
		               STATE_ARGS(STATE_TEXT(r->id), STATE_TEXT(s->id),
		                          STATE_TEXT(s->camera), STATE_TEXT(s->microphone),
		                          STATE_INT((int64_t)i)),
		               "store seat", err);
	}
	for (size_t i = 0; !rc && i < r->n_cameras; i++)
		rc = state_run(
		    st, "INSERT INTO room_device(room, kind, id) VALUES (?, 'camera', ?)",
		    STATE_ARGS(STATE_TEXT(r->id), STATE_TEXT(r->cameras[i])), "store camera", err);
	for (size_t i = 0; !rc && i < r->n_microphones; i++)
		rc = state_run(
		    st, "INSERT INTO room_device(room, kind, id) VALUES (?, 'microphone', ?)",
		    STATE_ARGS(STATE_TEXT(r->id), STATE_TEXT(r->microphones[i])),
		    "store microphone", err);
	return rc;
}

int state_site_replace(struct state *st, const struct site *site, const char *source, int64_t now,
                       GError **err)
{
	int rc;

	rc = state_site_in_use(st, err);
	if (rc)
		return rc;
	/* Past draws of closed sessions keep their own copy of the rooms in their
	 * record; their assignment rows go with the old site. */
	rc = state_exec(st,
	                "DELETE FROM presence; DELETE FROM checkin; DELETE FROM assignment; "
	                "DELETE FROM room_device; DELETE FROM seat; DELETE FROM room; "
	                "DELETE FROM venue; DELETE FROM site;",
	                "clear the old site", err);
	if (rc)
		return rc;
	rc = state_run(
	    st, "INSERT INTO site(one, id, name, source, imported_at) VALUES (1, ?, ?, ?, ?)",
	    STATE_ARGS(STATE_TEXT(site->id), STATE_TEXT(site->name), STATE_TEXT(source),
	               STATE_INT(now)),
	    "store site", err);
	for (size_t i = 0; !rc && i < site->n_venues; i++)
		rc = state_run(
		    st, "INSERT INTO venue(id, name) VALUES (?, ?)",
		    STATE_ARGS(STATE_TEXT(site->venues[i].id), STATE_TEXT(site->venues[i].name)),
		    "store venue", err);
	for (size_t i = 0; !rc && i < site->n_rooms; i++)
		rc = state_room_insert(st, &site->rooms[i], i, err);
	return rc;
}

static void site_summary_read(sqlite3_stmt *stmt, void *out)
{
	*(json_t **)out = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "id",
	                            state_column_text(stmt, 0), "name", state_column_text(stmt, 1),
	                            "rooms", (json_int_t)sqlite3_column_int64(stmt, 2),
	                            "expert_rooms", (json_int_t)sqlite3_column_int64(stmt, 3),
	                            "tenderer_rooms", (json_int_t)sqlite3_column_int64(stmt, 4),
	                            "seats", (json_int_t)sqlite3_column_int64(stmt, 5));
}

int state_site_summary(struct state *st, json_t **out, GError **err)
{
	int rc = state_get_row(st,
	                       "SELECT id, name, (SELECT count(*) FROM room), "
	                       "(SELECT count(*) FROM room WHERE kind = 'expert'), "
	                       "(SELECT count(*) FROM room WHERE kind = 'tenderer'), "
	                       "(SELECT count(*) FROM seat) FROM site",
	                       NULL, site_summary_read, out, "read site", err);

	if (rc == -ENOENT)
		rc = state_not_found(err, "no site imported yet (evalroomctl site import FILE)");
	return rc;
}

/* The rooms list being filled: rows of one room follow each other. */
struct rooms_fill {
	json_t *rooms;
	json_t *room; /* the room the last row was added to */
};

/* One row of the rooms query: a room, with one of its seats or none. */
static void site_room_row(sqlite3_stmt *stmt, void *data)
{
	struct rooms_fill *f = data;
	const char *id = state_column_text(stmt, 0);

	if (!f->room || g_strcmp0(json_string_value(json_object_get(f->room, "id")), id)) {
		f->room = json_pack("{s:s, s:s, s:[]}", "id", id, "kind",
		                    state_column_text(stmt, 1), "seats");
		json_array_append_new(f->rooms, f->room);
	}
	if (sqlite3_column_type(stmt, 2) != SQLITE_NULL)
		json_array_append_new(json_object_get(f->room, "seats"),
		                      json_string(state_column_text(stmt, 2)));
}

int state_site_rooms(struct state *st, json_t **out, GError **err)
{
	struct rooms_fill f = {json_array(), NULL};
	int rc = state_each(st,
	                    "SELECT r.id, r.kind, s.id FROM room r LEFT JOIN seat s "
	                    "ON s.room = r.id ORDER BY r.ord, s.ord",
	                    NULL, site_room_row, &f, "list rooms", err);

	if (rc) {
		json_decref(f.rooms);
		return rc;
	}
	*out = f.rooms;
	return 0;
}

static void venue_room_row(sqlite3_stmt *stmt, void *user)
{
	json_array_append_new(user, json_string(state_column_text(stmt, 0)));
}

int state_venue_rooms(struct state *st, const char *venue, json_t **out, GError **err)
{
	json_t *rooms = json_array();
	int rc = state_each(st, "SELECT id FROM room WHERE venue = ?1 ORDER BY ord",
	                    STATE_ARGS(STATE_TEXT(venue)), venue_room_row, rooms,
	                    "list a venue's rooms", err);
	if (rc) {
		json_decref(rooms);
		return rc;
	}
	*out = rooms;
	return 0;
}

int state_room_cameras(struct state *st, const char *room, json_t **out, GError **err)
{
	json_t *cams = json_array();
	int rc = state_each(st,
	                    "SELECT camera FROM seat WHERE room = ?1 AND camera IS NOT NULL "
	                    "UNION SELECT id FROM room_device WHERE room = ?1 AND kind = 'camera' "
	                    "ORDER BY 1",
	                    STATE_ARGS(STATE_TEXT(room)), venue_room_row, cams,
	                    "list a room's cameras", err);
	if (rc) {
		json_decref(cams);
		return rc;
	}
	*out = cams;
	return 0;
}
