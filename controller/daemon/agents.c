#include "agents.h"

#include <errno.h>
#include <string.h>

#include "clock.h"
#include "controller.h"
#include "log.h"
#include "msg.h"

#define ACK_DELAY_MS 100

struct pending_cmd {
	struct controller *c;
	char id[40];
	char room[40];
	agent_reply_fn fn;
	void *user;
	struct clock_timer *timeout; /* on c->clock */
	unsigned timeout_ms;
};

struct agents {
	GHashTable *pending; /* id -> struct pending_cmd */
	GHashTable *acks;    /* room -> GArray of uint64 seqs recorded, to acknowledge */
	guint ack_timer;
	uint64_t next_id;
};

static void free_seqs(gpointer a)
{
	g_array_free(a, TRUE);
}

static struct agents *agents_of(struct controller *c)
{
	return c->agents;
}

void agents_init(struct controller *c)
{
	struct agents *g = g_new0(struct agents, 1);
	g->pending = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
	g->acks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, free_seqs);
	c->agents = g;
}

void agents_free(struct controller *c)
{
	struct agents *g = agents_of(c);
	if (!g)
		return;
	if (g->ack_timer)
		g_source_remove(g->ack_timer);
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, g->pending);
	while (g_hash_table_iter_next(&it, NULL, &v))
		clock_timer_stop(c->clock, ((struct pending_cmd *)v)->timeout);
	g_hash_table_destroy(g->pending);
	g_hash_table_destroy(g->acks);
	g_free(g);
	c->agents = NULL;
}

static void on_cmd_timeout(void *data)
{
	struct pending_cmd *p = data;
	struct agents *g = agents_of(p->c);
	p->timeout = NULL;
	g_hash_table_steal(g->pending, p->id);
	GError *err = g_error_new(REQUEST_ERROR, REQUEST_ERROR_UNAVAILABLE,
	                          "room agent %s did not answer within %.1f s", p->room,
	                          p->timeout_ms / 1000.0);
	if (p->fn)
		p->fn(p->c, p->room, NULL, err, p->user);
	g_error_free(err);
	g_free(p);
}

static int send_cmd(struct controller *c, const char *room, const char *id, const char *command,
                    json_t *args, unsigned timeout_ms)
{
	json_t *m = node_msg_new(c->node, "cmd");
	json_object_set_new(m, "id", json_string(id));
	json_object_set_new(
	    m, "expires", json_integer(clock_source_now_us(c->clock) + (int64_t)timeout_ms * 1000));
	json_object_set_new(m, "command", json_string(command));
	json_object_set_new(m, "args", args ? args : json_object());
	char topic[128];
	snprintf(topic, sizeof(topic), TOPIC_PREFIX "room/%s/cmd", room);
	int rc = node_publish(c->node, topic, m, false);
	json_decref(m);
	return rc;
}

int agents_command(struct controller *c, const char *room, const char *command, json_t *args,
                   unsigned timeout_ms, agent_reply_fn on_reply, void *user)
{
	struct agents *g = agents_of(c);
	struct pending_cmd *p = g_new0(struct pending_cmd, 1);
	p->c = c;
	snprintf(p->id, sizeof(p->id), "c%" G_GINT64_FORMAT "-%" G_GUINT64_FORMAT, c->started_us,
	         ++g->next_id);
	g_strlcpy(p->room, room, sizeof(p->room));
	p->fn = on_reply;
	p->user = user;
	p->timeout_ms = timeout_ms;
	int rc = send_cmd(c, room, p->id, command, args, timeout_ms);
	if (rc != 0) {
		g_free(p);
		return rc;
	}
	p->timeout = clock_timer_start(c->clock, NULL, timeout_ms, on_cmd_timeout, p);
	g_hash_table_insert(g->pending, p->id, p);
	return 0;
}

void agents_handle_reply(struct controller *c, const char *room, const void *payload, size_t len)
{
	struct agents *g = agents_of(c);
	char topic[128], sender[64];
	snprintf(topic, sizeof(topic), TOPIC_PREFIX "room/%s/reply", room);
	snprintf(sender, sizeof(sender), "agent-%s", room);
	struct msg_envelope env;
	json_t *body = NULL;
	GError *err = NULL;
	if (msg_parse_kind(payload, len, MSG_MAX_SIZE, "reply", "reply", &env, &body, &err) != 0)
		goto refuse;
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	const char *id = msg_read_string(&r, "id", true, 63);
	bool ok = msg_read_bool(&r, "ok", true, false);
	json_t *result = msg_read_object(&r, "result", false);
	const char *error = msg_read_string(&r, "error", false, 1024);
	if (msg_reader_finish(&r, &err) != 0)
		goto refuse;
	struct pending_cmd *p = g_hash_table_lookup(g->pending, id);
	if (!p || strcmp(p->room, room) != 0) {
		/* Late (after its timeout) or a duplicate: nothing waits for it any more. */
		log_debug("room %s: reply to %s ignored (nothing waiting)", room, id);
		json_decref(body);
		return;
	}
	g_hash_table_steal(g->pending, id);
	clock_timer_stop(c->clock, p->timeout);
	GError *refusal = NULL;
	if (!ok)
		refusal = g_error_new(REQUEST_ERROR, REQUEST_ERROR_CONFLICT, "room %s: %s", room,
		                      error ? error : "refused");
	if (p->fn)
		p->fn(c, room, ok ? result : NULL, refusal, p->user);
	g_clear_error(&refusal);
	g_free(p);
	json_decref(body);
	return;
refuse:
	node_report_error(c->node, topic, sender, err);
	g_clear_error(&err);
	json_decref(body);
}

static gboolean on_ack_timer(gpointer data)
{
	struct controller *c = data;
	struct agents *g = agents_of(c);
	g->ack_timer = 0;
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, g->acks);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		GArray *seqs = v;
		for (guint i = 0; i < seqs->len; i += EVENTS_ACK_MAX_SEQS) {
			json_t *list = json_array();
			for (guint j = i; j < seqs->len && j < i + EVENTS_ACK_MAX_SEQS; j++)
				json_array_append_new(list, json_integer((json_int_t)g_array_index(
				                                seqs, uint64_t, j)));
			char id[48];
			snprintf(id, sizeof(id), "ack-%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT,
			         g_array_index(seqs, uint64_t, i), ++g->next_id);
			send_cmd(c, k, id, "events.ack", json_pack("{s:o}", "seqs", list), 60000);
		}
		g_hash_table_iter_remove(&it);
	}
	return G_SOURCE_REMOVE;
}

void agents_ack_event(struct controller *c, const char *room, uint64_t seq)
{
	struct agents *g = agents_of(c);
	GArray *seqs = g_hash_table_lookup(g->acks, room);
	if (!seqs) {
		seqs = g_array_new(FALSE, FALSE, sizeof(uint64_t));
		g_hash_table_insert(g->acks, g_strdup(room), seqs);
	}
	g_array_append_val(seqs, seq);
	if (!g->ack_timer)
		g->ack_timer = g_timeout_add(ACK_DELAY_MS, on_ack_timer, c);
}
