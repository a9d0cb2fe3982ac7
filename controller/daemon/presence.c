/* Room agents' presence: each agent keeps a retained status on room/<room>/status and the
 * broker publishes its last will (offline) when the agent vanishes. */
#include <errno.h>
#include <string.h>

#include "alerts.h"
#include "calls.h"
#include "checkin.h"
#include "clock.h"
#include "controller.h"
#include "log.h"
#include "msg.h"
#include "presence.h"
#include "view.h"

void presence_init(struct controller *c)
{
	c->rooms = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
}

/* When the message being handled arrived from the broker: the transport's receive time,
 * which a busy main loop does not delay (the clock now if the transport cannot tell). */
static int64_t message_received_us(struct controller *c)
{
	int64_t t = node_received_us(c->node);
	return t > 0 ? t : clock_now_us();
}

void presence_handle_status(struct controller *c, const char *room, const void *payload, size_t len)
{
	char topic[128];
	snprintf(topic, sizeof(topic), TOPIC_PREFIX "room/%s/status", room);
	char sender[64];
	snprintf(sender, sizeof(sender), "agent-%s", room);

	if (len == 0)
		return; /* a cleared retained message */
	struct node_status st;
	GError *err = NULL;
	if (node_status_read(payload, len, &st, &err) != 0)
		goto refuse;
	if (strcmp(st.identity, sender) != 0) {
		g_set_error(&err, MSG_ERROR, MSG_ERROR_INVALID,
		            "member 'identity': \"%s\" does not match the topic's room (%s)",
		            st.identity, sender);
		goto refuse;
	}
	const struct msg_envelope env = st.env;
	const char *state_name = node_state_name(st.state);

	struct room_presence *p = g_hash_table_lookup(c->rooms, room);
	if (!p) {
		p = g_new0(struct room_presence, 1);
		g_strlcpy(p->room, room, sizeof(p->room));
		g_hash_table_insert(c->rooms, p->room, p);
	}
	bool online = st.state == NODE_ONLINE;
	int64_t received = message_received_us(c);
	/* A status no newer than the last one (or the first, from the past) may be the
	 * broker's retained copy, whose age says nothing of the agent's clock. */
	bool fresh = p->since_us != 0 ? env.seq > p->seq : env.ts > received;
	bool came_online = online && (!p->online || p->since_us == 0);
	if (p->online != online || p->since_us == 0) {
		p->since_us = clock_now_us();
		log_info("room %s: agent %s", room, state_name);
	}
	/* an agent that stopped or restarted has hung up its calls (docs/call.md) */
	bool restarted = online && fresh && st.started && p->started && st.started != p->started;
	if ((!online && fresh) || restarted)
		calls_room_agent_gone(c, room,
		                      restarted ? "the room's agent restarted" : "the room's agent stopped");
	if (st.started && fresh)
		p->started = st.started;
	p->online = online;
	if (st.has_backlog)
		p->backlog = st.backlog;
	else if (online)
		p->backlog = (struct node_backlog){0};
	p->agent_ts = env.ts;
	p->seq = MAX(p->seq, env.seq);
	g_strlcpy(p->state, state_name, sizeof(p->state));
	alerts_agent_presence(c, room, online);
	view_changed(c);
	if (online && fresh)
		alerts_agent_clock(c, room, env.ts, received);
	/* An agent that was away may hold a stale admission list. */
	if (came_online && fresh)
		checkin_push_room(c, room);
	return;
refuse:
	node_report_error(c->node, topic, sender, err);
	g_clear_error(&err);
}

json_t *presence_rooms_json(struct controller *c)
{
	json_t *arr = json_array();
	GList *keys = g_list_sort(g_hash_table_get_keys(c->rooms), (GCompareFunc)strcmp);
	for (GList *l = keys; l; l = l->next) {
		struct room_presence *p = g_hash_table_lookup(c->rooms, l->data);
		json_array_append_new(arr, json_pack("{s:s, s:b, s:s, s:I}", "room", p->room,
		                                     "online", p->online, "state", p->state,
		                                     "since", (json_int_t)p->since_us));
	}
	g_list_free(keys);
	return arr;
}
