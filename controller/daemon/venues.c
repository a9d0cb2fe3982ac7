/* Secondary venues' links: state, fault clock, alerts and the view's venue lines. */
#include "venues.h"

#include <errno.h>
#include <string.h>

#include "alerts.h"
#include "clock.h"
#include "controller.h"
#include "log.h"
#include "msg.h"
#include "state.h"

#define S_US ((int64_t)1000000)

struct venue_link {
	char venue[40];
	bool up;
	int64_t since_us; /* controller time of the last change */
	guint near_timer; /* while down: raises venue_fault_near when it fires */
	struct controller *c;
};

struct venues {
	GHashTable *links; /* venue id -> struct venue_link */
};

static void link_free(gpointer p)
{
	struct venue_link *l = p;
	if (l->near_timer)
		g_source_remove(l->near_timer);
	g_free(l);
}

void venues_init(struct controller *c)
{
	c->venues = g_new0(struct venues, 1);
	c->venues->links = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, link_free);
}

void venues_free(struct controller *c)
{
	if (!c->venues)
		return;
	g_hash_table_unref(c->venues->links);
	g_free(c->venues);
	c->venues = NULL;
}

static gboolean on_fault_near(gpointer user)
{
	struct venue_link *l = user;
	l->near_timer = 0;
	int64_t down_s = (clock_now_us() - l->since_us) / S_US;
	char down_min[24], limit_min[24];
	snprintf(down_min, sizeof down_min, "%" G_GINT64_FORMAT, down_s / 60);
	snprintf(limit_min, sizeof limit_min, "%" G_GINT64_FORMAT,
	         (int64_t)(l->c->cfg.venue_fault_limit_s / 60));
	struct alert_subject s = {.venue = l->venue};
	alert_raise_text(l->c, ALERT_VENUE_FAULT_NEAR, &s, "venue_fault_near",
	                 (const char *[]){l->venue, down_min, limit_min, NULL},
	                 json_pack("{s:I, s:I, s:I}", "down_since", (json_int_t)l->since_us,
	                           "down_for_s", (json_int_t)down_s, "limit_s",
	                           (json_int_t)l->c->cfg.venue_fault_limit_s));
	return G_SOURCE_REMOVE;
}

void venues_handle_link(struct controller *c, const char *venue, const void *payload, size_t len)
{
	char topic[128];
	snprintf(topic, sizeof(topic), TOPIC_PREFIX "venue/%s/link", venue);
	char sender[64];
	snprintf(sender, sizeof(sender), "bridge-%s", venue);
	if (len == 0)
		return; /* a cleared retained message */
	const char *p = payload;
	if (len != 1 || (p[0] != '0' && p[0] != '1') || !id_valid(venue)) {
		GError *err =
		    g_error_new(MSG_ERROR, MSG_ERROR_INVALID,
		                "a venue link state is \"0\" or \"1\" (%zu bytes given)", len);
		node_report_error(c->node, topic, sender, err);
		g_error_free(err);
		return;
	}
	bool up = p[0] == '1';
	struct venue_link *l = g_hash_table_lookup(c->venues->links, venue);
	if (!l) {
		l = g_new0(struct venue_link, 1);
		g_strlcpy(l->venue, venue, sizeof(l->venue));
		l->c = c;
		l->up = !up; /* so the first word counts as a change */
		g_hash_table_insert(c->venues->links, l->venue, l);
	}
	if (l->up == up)
		return;
	l->up = up;
	l->since_us = clock_now_us();
	struct alert_subject s = {.venue = venue};
	if (l->near_timer) {
		g_source_remove(l->near_timer);
		l->near_timer = 0;
	}
	if (up) {
		log_info("venue %s: link to the main venue up", venue);
		alert_clear(c, ALERT_VENUE_LINK_LOST, &s, "the link is up again");
		alert_clear(c, ALERT_VENUE_FAULT_NEAR, &s, "the link is up again");
		return;
	}
	log_warnx("venue %s: link to the main venue down", venue);
	alert_raise_text(c, ALERT_VENUE_LINK_LOST, &s, "venue_link_lost",
	                 (const char *[]){venue, NULL},
	                 json_pack("{s:I}", "down_since", (json_int_t)l->since_us));
	l->near_timer = g_timeout_add_seconds((guint)c->cfg.venue_fault_warn_s, on_fault_near, l);
}

/* The venue's rooms (from the imported site) and the sum of their agents' backlogs. */
static void venue_rooms(struct controller *c, const char *venue, int64_t *rooms,
                        struct node_backlog *sum)
{
	json_t *list = NULL;
	GError *err = NULL;
	*rooms = 0;
	*sum = (struct node_backlog){0};
	if (state_venue_rooms(c->state, venue, &list, &err) != 0) {
		log_warnx("venue %s: %s", venue, err->message);
		g_clear_error(&err);
		return;
	}
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		(*rooms)++;
		const struct room_presence *p =
		    c->rooms ? g_hash_table_lookup(c->rooms, json_string_value(v)) : NULL;
		if (p) {
			sum->events += p->backlog.events;
			sum->segments += p->backlog.segments;
			sum->bytes += p->backlog.bytes;
		}
	}
	json_decref(list);
}

json_t *venues_json(struct controller *c)
{
	json_t *out = json_array();
	if (!c->venues)
		return out;
	GList *ids = g_list_sort(g_hash_table_get_keys(c->venues->links), (GCompareFunc)strcmp);
	int64_t now = clock_now_us();
	for (GList *k = ids; k; k = k->next) {
		const struct venue_link *l = g_hash_table_lookup(c->venues->links, k->data);
		int64_t rooms = 0;
		struct node_backlog b;
		venue_rooms(c, l->venue, &rooms, &b);
		json_t *o =
		    json_pack("{s:s, s:s, s:I, s:I, s:{s:I, s:I, s:I}}", "venue", l->venue, "link",
		              l->up ? "up" : "down", "since", (json_int_t)l->since_us, "rooms",
		              (json_int_t)rooms, "backlog", "events", (json_int_t)b.events,
		              "segments", (json_int_t)b.segments, "bytes", (json_int_t)b.bytes);
		if (!l->up)
			json_object_set_new(o, "down_for_s",
			                    json_integer((now - l->since_us) / S_US));
		json_t *waiting = c->seal_waiting ? c->seal_waiting(c, l->venue) : NULL;
		if (json_array_size(waiting))
			json_object_set_new(o, "tenders_waiting", waiting);
		else
			json_decref(waiting);
		json_array_append_new(out, o);
	}
	g_list_free(ids);
	return out;
}

bool venues_room_at(struct controller *c, const char *room, char *venue, bool *up,
                    int64_t *segments, int64_t *down_s)
{
	if (!c->venues)
		return false;
	GHashTableIter it;
	gpointer key, value;
	g_hash_table_iter_init(&it, c->venues->links);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		const struct venue_link *l = value;
		json_t *rooms = NULL;
		GError *err = NULL;
		if (state_venue_rooms(c->state, l->venue, &rooms, &err) != 0) {
			g_clear_error(&err);
			continue;
		}
		size_t i;
		json_t *v;
		bool found = false;
		json_array_foreach(rooms, i, v)
		{
			found = found || strcmp(json_string_value(v), room) == 0;
		}
		json_decref(rooms);
		if (!found)
			continue;
		const struct room_presence *p =
		    c->rooms ? g_hash_table_lookup(c->rooms, room) : NULL;
		g_strlcpy(venue, l->venue, STATE_ID_SIZE);
		*up = l->up;
		*segments = p ? p->backlog.segments : 0;
		*down_s = l->up ? 0 : (clock_now_us() - l->since_us) / S_US;
		return true;
	}
	return false;
}

bool venues_room_cut_off(struct controller *c, const char *room, char *venue, int64_t *segments,
                         int64_t *down_s)
{
	bool up = true;
	return venues_room_at(c, room, venue, &up, segments, down_s) && !up;
}

static int handle_venues(struct controller *c, const struct request *req, json_t **result,
                         GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	*result = json_pack("{s:o}", "venues", venues_json(c));
	return 0;
}

const struct request_handler venue_request_handlers[] = {
    {"venues", ROLE_OPERATOR | ROLE_DESK | ROLE_AUDITOR, handle_venues, false},
    {NULL, 0, NULL, false},
};
