/* state.db: the imported site (venues, rooms, seats, cameras and microphones). */
#include "state.h"
#include "state_db.h"

#include <errno.h>

#include "request.h"
#include "site.h"

static int state_site_in_use(struct state *st, GError **err)
{
	sqlite3_stmt *stmt = state_prepare(st,
	                                   "SELECT d.session FROM draw d JOIN session s "
	                                   "ON s.id = d.session WHERE s.state = 'open' LIMIT 1",
	                                   err);
	int rc;

	if (!stmt)
		return -EIO;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		            "the site cannot change while session \"%s\" has a seat draw",
		            (const char *)sqlite3_column_text(stmt, 0));
		rc = -EBUSY;
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = state_fail(st, err, "check draws");
	}
	sqlite3_finalize(stmt);
	return rc;
}

static int state_insert(struct state *st, const char *sql, int n, const char *const *v, int64_t num,
                        const char *what, GError **err)
{
	sqlite3_stmt *stmt = state_prepare(st, sql, err);
	int rc;

	if (!stmt)
		return -EIO;
	state_bind_texts(stmt, 1, n, v);
	if (sqlite3_bind_parameter_count(stmt) > n)
		sqlite3_bind_int64(stmt, n + 1, num);
	rc = state_step_done(st, stmt, what, err);
	sqlite3_finalize(stmt);
	return rc;
}

static int state_room_insert(struct state *st, const struct site_room *r, size_t ord, GError **err)
{
	const char *kind = r->kind == SITE_ROOM_EXPERT ? "expert" : "tenderer";
	int rc;

	rc = state_insert(st,
	                  "INSERT INTO room(id, name, kind, venue, door, ord) "
	                  "VALUES (?, ?, ?, ?, ?, ?)",
	                  5, (const char *[]){r->id, r->name, kind, r->venue, r->door},
	                  (int64_t)ord, "store room", err);
	for (size_t i = 0; !rc && i < r->n_seats; i++) {
		const struct site_seat *s = &r->seats[i];

		rc = state_insert(st,
		                  "INSERT INTO seat(room, id, camera, microphone, ord) "
		                  "VALUES (?, ?, ?, ?, ?)",
		                  4, (const char *[]){r->id, s->id, s->camera, s->microphone},
		                  (int64_t)i, "store seat", err);
	}
	for (size_t i = 0; !rc && i < r->n_cameras; i++)
		rc = state_insert(
		    st, "INSERT INTO room_device(room, kind, id) VALUES (?, 'camera', ?)", 2,
		    (const char *[]){r->id, r->cameras[i]}, 0, "store camera", err);
	for (size_t i = 0; !rc && i < r->n_microphones; i++)
		rc = state_insert(st,
		                  "INSERT INTO room_device(room, kind, id) "
		                  "VALUES (?, 'microphone', ?)",
		                  2, (const char *[]){r->id, r->microphones[i]}, 0,
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
	rc =
	    state_insert(st,
	                 "INSERT INTO site(one, id, name, source, imported_at) "
	                 "VALUES (1, ?, ?, ?, ?)",
	                 3, (const char *[]){site->id, site->name, source}, now, "store site", err);
	for (size_t i = 0; !rc && i < site->n_venues; i++)
		rc = state_insert(st, "INSERT INTO venue(id, name) VALUES (?, ?)", 2,
		                  (const char *[]){site->venues[i].id, site->venues[i].name}, 0,
		                  "store venue", err);
	for (size_t i = 0; !rc && i < site->n_rooms; i++)
		rc = state_room_insert(st, &site->rooms[i], i, err);
	return rc;
}

int state_site_summary(struct state *st, json_t **out, GError **err)
{
	sqlite3_stmt *stmt = state_prepare(st,
	                                   "SELECT id, name, (SELECT count(*) FROM room), "
	                                   "(SELECT count(*) FROM room WHERE kind = 'expert'), "
	                                   "(SELECT count(*) FROM room WHERE kind = 'tenderer'), "
	                                   "(SELECT count(*) FROM seat) FROM site",
	                                   err);
	int rc;

	if (!stmt)
		return -EIO;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*out = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "id",
		                 (const char *)sqlite3_column_text(stmt, 0), "name",
		                 (const char *)sqlite3_column_text(stmt, 1), "rooms",
		                 (json_int_t)sqlite3_column_int64(stmt, 2), "expert_rooms",
		                 (json_int_t)sqlite3_column_int64(stmt, 3), "tenderer_rooms",
		                 (json_int_t)sqlite3_column_int64(stmt, 4), "seats",
		                 (json_int_t)sqlite3_column_int64(stmt, 5));
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_NOT_FOUND,
		            "no site imported yet (evalroomctl site import FILE)");
		rc = -ENOENT;
	} else {
		rc = state_fail(st, err, "read site");
	}
	sqlite3_finalize(stmt);
	return rc;
}

int state_site_rooms(struct state *st, json_t **out, GError **err)
{
	sqlite3_stmt *stmt = state_prepare(st,
	                                   "SELECT r.id, r.kind, s.id FROM room r LEFT JOIN seat s "
	                                   "ON s.room = r.id ORDER BY r.ord, s.ord",
	                                   err);
	json_t *rooms, *room = NULL;
	int rc;

	if (!stmt)
		return -EIO;
	rooms = json_array();
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(stmt, 0);

		if (!room || g_strcmp0(json_string_value(json_object_get(room, "id")), id)) {
			room = json_pack("{s:s, s:s, s:[]}", "id", id, "kind",
			                 (const char *)sqlite3_column_text(stmt, 1), "seats");
			json_array_append_new(rooms, room);
		}
		if (sqlite3_column_type(stmt, 2) != SQLITE_NULL)
			json_array_append_new(
			    json_object_get(room, "seats"),
			    json_string((const char *)sqlite3_column_text(stmt, 2)));
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(rooms);
		return state_fail(st, err, "list rooms");
	}
	*out = rooms;
	return 0;
}
