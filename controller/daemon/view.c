/* The live room view: what the modules report per room, merged with the site's rooms,
 * the agents' presence and the open alerts. */
#include "view.h"

#include <errno.h>
#include <string.h>

#include "alerts.h"
#include "controller.h"
#include "log.h"
#include "msg.h"
#include "state.h"

#define VIEW_STATE_MAX 24

static const char *const stream_states[] = {"starting", "recording", "lost", "stopped", NULL};
static const char *const seat_states[] = {"free", "expected", "logged_in", "offline", NULL};

struct view_room {
	char door[VIEW_STATE_MAX];
	bool lockdown;
	unsigned tenders_present;
	GHashTable *streams; /* stream id -> state (static string) */
	GHashTable *seats;   /* seat id -> state (static string) */
};

struct view {
	GHashTable *rooms; /* room id -> struct view_room */
	void (*changed)(void *user);
	void *changed_user;
};

void view_set_changed_hook(struct controller *c, void (*fn)(void *user), void *user)
{
	if (!c->view)
		return;
	c->view->changed = fn;
	c->view->changed_user = user;
}

void view_changed(struct controller *c)
{
	if (c->view && c->view->changed)
		c->view->changed(c->view->changed_user);
}

static void view_room_free(gpointer p)
{
	struct view_room *r = p;

	g_hash_table_destroy(r->streams);
	g_hash_table_destroy(r->seats);
	g_free(r);
}

void view_init(struct controller *c)
{
	c->view = g_new0(struct view, 1);
	c->view->rooms = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, view_room_free);
}

void view_free(struct controller *c)
{
	if (!c->view)
		return;
	g_hash_table_destroy(c->view->rooms);
	g_free(c->view);
	c->view = NULL;
}

/* The room's entry (created on first use), or NULL for a bad id. */
static struct view_room *view_room(struct controller *c, const char *room, const char *what)
{
	struct view_room *r;

	if (!c->view || !room || !id_valid(room)) {
		log_warnx("view: %s: bad room id", what);
		return NULL;
	}
	r = g_hash_table_lookup(c->view->rooms, room);
	if (!r) {
		r = g_new0(struct view_room, 1);
		g_strlcpy(r->door, "unknown", sizeof(r->door));
		r->streams = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		r->seats = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		g_hash_table_insert(c->view->rooms, g_strdup(room), r);
	}
	return r;
}

/* STATE's entry in NAMES (a static string), or NULL. */
static const char *state_known(const char *const *names, const char *state)
{
	for (; state && *names; names++)
		if (strcmp(*names, state) == 0)
			return *names;
	return NULL;
}

void view_set_door(struct controller *c, const char *room, const char *state, bool lockdown)
{
	struct view_room *r = view_room(c, room, "door");

	if (!r)
		return;
	if (!state || !*state || strlen(state) >= sizeof(r->door)) {
		log_warnx("view: room %s: bad door state", room);
		return;
	}
	g_strlcpy(r->door, state, sizeof(r->door));
	r->lockdown = lockdown;
	view_changed(c);
}

bool view_door_lockdown(struct controller *c, const char *room)
{
	struct view_room *r = c->view && room ? g_hash_table_lookup(c->view->rooms, room) : NULL;

	return r && r->lockdown;
}

void view_set_stream(struct controller *c, const char *room, const char *stream, const char *state)
{
	struct view_room *r = view_room(c, room, "stream");
	const char *known = state_known(stream_states, state);

	if (!r)
		return;
	if (!stream || !id_valid(stream) || !known) {
		log_warnx("view: room %s: bad stream id or state", room);
		return;
	}
	g_hash_table_replace(r->streams, g_strdup(stream), (gpointer)known);
	view_changed(c);
}

void view_set_seat(struct controller *c, const char *room, const char *seat, const char *state)
{
	struct view_room *r = view_room(c, room, "seat");
	const char *known = state_known(seat_states, state);

	if (!r)
		return;
	if (!seat || !id_valid(seat) || !known) {
		log_warnx("view: room %s: bad seat id or state", room);
		return;
	}
	g_hash_table_replace(r->seats, g_strdup(seat), (gpointer)known);
	view_changed(c);
}

void view_set_tenders_present(struct controller *c, const char *room, unsigned n)
{
	struct view_room *r = view_room(c, room, "tenders present");

	if (r) {
		r->tenders_present = n;
		view_changed(c);
	}
}

static json_t *sorted_states(GHashTable *table, const char *key)
{
	json_t *arr = json_array();
	GList *keys = g_list_sort(g_hash_table_get_keys(table), (GCompareFunc)strcmp);

	for (GList *l = keys; l; l = l->next)
		json_array_append_new(arr,
		                      json_pack("{s:s, s:s}", key, (const char *)l->data, "state",
		                                (const char *)g_hash_table_lookup(table, l->data)));
	g_list_free(keys);
	return arr;
}

/* One room's object; SITE_ROOM the site's entry or NULL, OPEN_ALERTS by room. */
static json_t *room_json(struct controller *c, const char *room, const json_t *site_room,
                         json_t *open_alerts)
{
	struct view_room *r = c->view ? g_hash_table_lookup(c->view->rooms, room) : NULL;
	struct room_presence *p = c->rooms ? g_hash_table_lookup(c->rooms, room) : NULL;
	json_t *o = json_pack("{s:s}", "room", room);
	json_t *seats = json_array();
	json_int_t counts[4] = {0};
	size_t i;
	json_t *s;

	if (site_room)
		json_object_set(o, "kind", json_object_get(site_room, "kind"));
	json_object_set_new(o, "agent", json_string(p ? p->state : "unknown"));
	if (p)
		json_object_set_new(o, "agent_since", json_integer(p->since_us));
	json_object_set_new(o, "door", json_string(r ? r->door : "unknown"));
	json_object_set_new(o, "lockdown", json_boolean(r && r->lockdown));
	json_object_set_new(o, "streams", r ? sorted_states(r->streams, "stream") : json_array());

	/* The site's seats in site order, each free until a module says otherwise; then
	 * seats only the modules know of. */
	json_array_foreach(json_object_get(site_room, "seats"), i, s)
	{
		const char *seat = json_string_value(s);
		const char *state = r ? g_hash_table_lookup(r->seats, seat) : NULL;
		json_array_append_new(
		    seats, json_pack("{s:s, s:s}", "seat", seat, "state", state ? state : "free"));
	}
	if (r) {
		json_t *extra = sorted_states(r->seats, "seat");
		json_array_foreach(extra, i, s)
		{
			bool listed = false;
			size_t k;
			json_t *t;
			json_array_foreach(seats, k, t)
			{
				listed |= json_equal(json_object_get(t, "seat"),
				                     json_object_get(s, "seat"));
			}
			if (!listed)
				json_array_append(seats, s);
		}
		json_decref(extra);
	}
	json_array_foreach(seats, i, s)
	{
		const char *state = json_string_value(json_object_get(s, "state"));
		for (int k = 0; seat_states[k]; k++)
			if (strcmp(seat_states[k], state) == 0)
				counts[k]++;
	}
	json_object_set_new(o, "seats", seats);
	json_object_set_new(o, "seat_counts",
	                    json_pack("{s:I, s:I, s:I, s:I}", "free", counts[0], "expected",
	                              counts[1], "logged_in", counts[2], "offline", counts[3]));
	json_object_set_new(o, "tenders_present", json_integer(r ? r->tenders_present : 0));
	json_t *n = json_object_get(open_alerts, room);
	json_object_set_new(o, "open_alerts", json_integer(n ? json_integer_value(n) : 0));
	return o;
}

static void add_room_id(GPtrArray *ids, const char *room)
{
	for (guint i = 0; i < ids->len; i++)
		if (strcmp(ids->pdata[i], room) == 0)
			return;
	g_ptr_array_add(ids, g_strdup(room));
}

json_t *view_rooms_json(struct controller *c)
{
	json_t *site = NULL, *alerts = NULL, *by_room = json_object(), *out = json_array();
	GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
	GError *err = NULL;
	GList *others = NULL;
	size_t i;
	json_t *v;

	if (state_site_rooms(c->state, &site, &err) != 0) {
		log_warnx("view: %s", err->message);
		g_clear_error(&err);
		site = json_array();
	}
	if (state_alert_list(c->state, true, 0, 100000, &alerts, &err) != 0) {
		log_warnx("view: %s", err->message);
		g_clear_error(&err);
		alerts = json_array();
	}
	json_array_foreach(alerts, i, v)
	{
		const char *room = json_string_value(json_object_get(v, "room"));
		if (room) {
			json_t *n = json_object_get(by_room, room);
			json_object_set_new(by_room, room,
			                    json_integer(n ? json_integer_value(n) + 1 : 1));
		}
	}
	json_array_foreach(site, i, v)
	{
		add_room_id(ids, json_string_value(json_object_get(v, "id")));
	}
	if (c->rooms)
		others = g_list_concat(others, g_hash_table_get_keys(c->rooms));
	if (c->view)
		others = g_list_concat(others, g_hash_table_get_keys(c->view->rooms));
	others = g_list_sort(others, (GCompareFunc)strcmp);
	for (GList *l = others; l; l = l->next)
		add_room_id(ids, l->data);
	g_list_free(others);

	for (guint k = 0; k < ids->len; k++) {
		const json_t *site_room = NULL;
		json_array_foreach(site, i, v)
		{
			if (strcmp(json_string_value(json_object_get(v, "id")), ids->pdata[k]) == 0)
				site_room = v;
		}
		json_array_append_new(out, room_json(c, ids->pdata[k], site_room, by_room));
	}
	g_ptr_array_free(ids, TRUE);
	json_decref(site);
	json_decref(alerts);
	json_decref(by_room);
	return out;
}

static int handle_rooms(struct controller *c, const struct request *req, json_t **result,
                        GError **err)
{
	struct msg_reader r;
	json_t *counts;

	msg_reader_init(&r, req->args, "args");
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	counts = alerts_counts_json(c);
	*result = json_pack("{s:o, s:o, s:b}", "rooms", view_rooms_json(c), "alerts",
	                    counts ? counts : json_object(), "connected", c->connected);
	return 0;
}

const struct request_handler view_request_handlers[] = {
    {"rooms", ROLE_OPERATOR | ROLE_DESK | ROLE_AUDITOR | ROLE_WITNESS, handle_rooms, false},
    {NULL, 0, NULL, false},
};
