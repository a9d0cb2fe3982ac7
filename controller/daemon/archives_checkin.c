/* A check-in in the tender's archive: where the seat's recording before it is (the seat map
 * is sealed until check-in, so a seat's and a room's recording reaches a tender's archive
 * only from its person's check-in on: docs/archives.md, "Routing"). */
#include <glib.h>
#include <string.h>

#include "archives.h"
#include "clock.h"
#include "log.h"
#include "retention_hold.h"
#include "route.h"
#include "state.h"

#define DAY_US (86400 * (int64_t)G_USEC_PER_SEC)

/* The ids of STREAMS not in EXCEPT, as a new JSON array. */
static json_t *ids_json(GPtrArray *streams, GPtrArray *except)
{
	json_t *out = json_array();
	for (guint i = 0; i < streams->len; i++) {
		bool skip = false;
		for (guint j = 0; except && j < except->len && !skip; j++)
			skip = strcmp(streams->pdata[i], except->pdata[j]) == 0;
		if (!skip)
			json_array_append_new(out, json_string(streams->pdata[i]));
	}
	return out;
}

/* The site's retention archives of the UTC days FROM_US..TO_US, as a new JSON array. */
static json_t *retention_days_json(int64_t from_us, int64_t to_us)
{
	json_t *out = json_array();
	for (int64_t day = from_us / DAY_US; day <= to_us / DAY_US; day++) {
		GDateTime *d = g_date_time_new_from_unix_utc(day * 86400);
		char *name = g_date_time_format(d, "site-%Y-%m-%d");
		json_array_append_new(out, json_string(name));
		g_free(name);
		g_date_time_unref(d);
	}
	return out;
}

void archives_on_checkin(struct controller *c, const json_t *result)
{
	const char *person = json_string_value(json_object_get(result, "person"));
	const char *session = json_string_value(json_object_get(result, "session"));
	const char *tender = json_string_value(json_object_get(result, "tender"));
	const char *room = json_string_value(json_object_get(result, "room"));
	const char *seat = json_string_value(json_object_get(result, "seat"));
	GPtrArray *place = g_ptr_array_new_with_free_func(g_free);
	GPtrArray *room_only = g_ptr_array_new_with_free_func(g_free);
	int64_t seated_us, checked_in_us;
	GError *err = NULL;
	if (!person || !session || !tender || !room || !seat)
		goto out;
	if (route_checkin_span(c->state, session, person, &seated_us, &checked_in_us, &err) != 0 ||
	    route_place_streams(c->state, room, seat, place, &err) != 0 ||
	    route_place_streams(c->state, room, NULL, room_only, &err) != 0) {
		log_warnx("check-in of %s: recording.checkin not archived: %s", person,
		          err->message);
		goto out;
	}
	json_t *body = json_pack(
	    "{s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:o}", "person", person, "room", room, "seat",
	    seat, "seated_at", (json_int_t)seated_us, "checked_in_at", (json_int_t)checked_in_us,
	    "seat_streams", ids_json(place, room_only), "room_streams", ids_json(room_only, NULL),
	    "before_checkin", retention_days_json(seated_us, checked_in_us));
	archives_event(c, tender, clock_now_us(), "recording.checkin", "controller", body);
	/* what the seat recorded before the check-in stays in the retention archives of those
	 * days: they are kept past [controller] retention_days for this tender */
	char *why = g_strdup_printf("checkin %s %s", tender, person);
	retention_hold(c, "checkin", tender, 0, why, seated_us, checked_in_us);
	g_free(why);
out:
	g_clear_error(&err);
	g_ptr_array_free(place, TRUE);
	g_ptr_array_free(room_only, TRUE);
}
