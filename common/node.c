#include "node.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "msg.h"

#define NODE_WILD_MAX 8

struct node_route {
	char **levels; /* FILTER split at '/' */
	bool subscribe;
	char *filter;
	node_handler_fn fn;
	void *user;
};

struct node_answer {
	char *text;
	int64_t expires_us;
};

struct node {
	char *identity, *version, *status_topic, *error_topic;
	int64_t started_us;
	struct seq_counter seq;
	const struct mqtt_ops *ops;
	void *ops_ctx;
	uint64_t refused;
	GPtrArray *routes;    /* struct node_route * */
	GHashTable *answered; /* key -> struct node_answer */
};

static void route_free(gpointer p)
{
	struct node_route *r = p;
	g_strfreev(r->levels);
	g_free(r->filter);
	g_free(r);
}

static void answer_free(gpointer p)
{
	struct node_answer *a = p;
	g_free(a->text);
	g_free(a);
}

struct node *node_new(const struct node_config *cfg)
{
	struct node *n = g_new0(struct node, 1);
	n->identity = g_strdup(cfg->identity);
	n->version = g_strdup(cfg->version);
	n->status_topic = g_strdup(cfg->status_topic);
	n->error_topic = g_strdup(cfg->error_topic);
	n->started_us = cfg->started_us;
	n->routes = g_ptr_array_new_with_free_func(route_free);
	n->answered = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, answer_free);
	return n;
}

void node_free(struct node *n)
{
	if (!n)
		return;
	g_ptr_array_unref(n->routes);
	g_hash_table_destroy(n->answered);
	g_free(n->identity);
	g_free(n->version);
	g_free(n->status_topic);
	g_free(n->error_topic);
	g_free(n);
}

void node_set_transport(struct node *n, const struct mqtt_ops *ops, void *ctx)
{
	n->ops = ops;
	n->ops_ctx = ctx;
}

const char *node_identity(const struct node *n)
{
	return n->identity;
}

int64_t node_started_us(const struct node *n)
{
	return n->started_us;
}

struct seq_counter *node_seq(struct node *n)
{
	return &n->seq;
}

json_t *node_msg_new(struct node *n, const char *kind)
{
	return msg_new(kind, &n->seq);
}

int node_publish_raw(struct node *n, const char *topic, const void *payload, size_t len, int qos,
                     bool retain)
{
	if (!n->ops)
		return -ENOTCONN;
	return n->ops->publish(n->ops_ctx, topic, payload, len, qos, retain);
}

int node_publish_props(struct node *n, const char *topic, const void *payload, size_t len, int qos,
                       bool retain, const struct mqtt_user_prop *props, size_t nprops)
{
	if (nprops == 0)
		return node_publish_raw(n, topic, payload, len, qos, retain);
	if (!n->ops)
		return -ENOTCONN;
	if (!n->ops->publish_props)
		return -ENOTSUP;
	return n->ops->publish_props(n->ops_ctx, topic, payload, len, qos, retain, props, nprops);
}

int node_publish(struct node *n, const char *topic, const json_t *msg, bool retain)
{
	size_t len;
	char *text = msg_dump(msg, &len);
	int rc = node_publish_raw(n, topic, text, len, 1, retain);
	g_free(text);
	return rc;
}

void node_report_error(struct node *n, const char *topic, const char *sender, const GError *fault)
{
	log_warnx("refused message on %s from %s: %s", topic, sender, fault->message);
	n->refused++;
	json_t *m = node_msg_new(n, "error");
	json_object_set_new(m, "topic", json_string(topic));
	json_object_set_new(m, "sender", json_string(sender));
	json_object_set_new(m, "fault", json_string(fault->message));
	node_publish(n, n->error_topic, m, false);
	json_decref(m);
}

uint64_t node_refused(const struct node *n)
{
	return n->refused;
}

static char *status_text(struct node *n, const char *state, const struct node_backlog *backlog)
{
	json_t *m = node_msg_new(n, "status");
	json_object_set_new(m, "state", json_string(state));
	json_object_set_new(m, "identity", json_string(n->identity));
	json_object_set_new(m, "version", json_string(n->version));
	json_object_set_new(m, "started", json_integer(n->started_us));
	if (backlog)
		json_object_set_new(m, "detail",
		                    json_pack("{s:{s:I, s:I, s:I}}", "backlog", "events",
		                              (json_int_t)backlog->events, "segments",
		                              (json_int_t)backlog->segments, "bytes",
		                              (json_int_t)backlog->bytes));
	char *text = msg_dump(m, NULL);
	json_decref(m);
	return text;
}

char *node_status_text(struct node *n, const char *state)
{
	return status_text(n, state, NULL);
}

int node_publish_status(struct node *n, const char *state)
{
	return node_publish_status_backlog(n, state, NULL);
}

int node_publish_status_backlog(struct node *n, const char *state,
                                const struct node_backlog *backlog)
{
	char *text = status_text(n, state, backlog);
	int rc = node_publish_raw(n, n->status_topic, text, strlen(text), 1, true);
	g_free(text);
	return rc;
}

static const char *const state_names[] = {"online", "offline", "stopped", NULL};

const char *node_state_name(enum node_state state)
{
	return state_names[state];
}

int node_status_read(const void *payload, size_t len, struct node_status *st, GError **err)
{
	json_t *body = NULL;
	int rc =
	    msg_parse_kind(payload, len, MSG_MAX_SIZE, "status", "status", &st->env, &body, err);
	if (rc != 0)
		return rc;
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	int state = msg_read_enum(&r, "state", true, state_names);
	const char *identity = msg_read_string(&r, "identity", true, sizeof(st->identity) - 1);
	const char *version = msg_read_string(&r, "version", false, sizeof(st->version) - 1);
	st->started = msg_read_int(&r, "started", false, 0, INT64_MAX, 0);
	json_t *detail = msg_read_object(&r, "detail", false);
	st->has_backlog = false;
	if (detail) {
		struct msg_reader d;
		msg_reader_init(&d, detail, "detail");
		json_t *backlog = msg_read_object(&d, "backlog", false);
		if (backlog) {
			struct msg_reader b;
			msg_reader_init(&b, backlog, "detail.backlog");
			st->backlog.events = msg_read_int(&b, "events", true, 0, INT64_MAX, 0);
			st->backlog.segments = msg_read_int(&b, "segments", true, 0, INT64_MAX, 0);
			st->backlog.bytes = msg_read_int(&b, "bytes", true, 0, INT64_MAX, 0);
			st->has_backlog = true;
			if (msg_reader_finish(&b, err) != 0) {
				json_decref(body);
				return -EINVAL;
			}
		}
		if (msg_reader_finish(&d, err) != 0) {
			json_decref(body);
			return -EINVAL;
		}
	}
	rc = msg_reader_finish(&r, err);
	if (rc == 0) {
		st->state = (enum node_state)state;
		g_strlcpy(st->identity, identity, sizeof(st->identity));
		g_strlcpy(st->version, version ? version : "", sizeof(st->version));
	}
	json_decref(body);
	return rc;
}

int64_t node_received_us(struct node *n)
{
	return n->ops && n->ops->received_us ? n->ops->received_us(n->ops_ctx) : 0;
}

const struct mqtt_user_prop *node_user_props(struct node *n, size_t *nprops)
{
	const struct mqtt_user_prop *p = NULL;

	*nprops = 0;
	if (n->ops && n->ops->user_props)
		p = n->ops->user_props(n->ops_ctx, nprops);
	if (!p)
		*nprops = 0;
	return p;
}

/* ---- routes ---- */

void node_route(struct node *n, const char *filter, bool subscribe, node_handler_fn fn, void *user)
{
	struct node_route *r = g_new0(struct node_route, 1);
	r->filter = g_strdup(filter);
	r->levels = g_strsplit(filter, "/", 0);
	r->subscribe = subscribe;
	r->fn = fn;
	r->user = user;
	g_ptr_array_add(n->routes, r);
	if (subscribe && n->ops && n->ops->subscribe)
		n->ops->subscribe(n->ops_ctx, filter, 1);
}

int node_subscribe_all(struct node *n)
{
	int first = 0;
	for (guint i = 0; i < n->routes->len; i++) {
		struct node_route *r = n->routes->pdata[i];
		if (!r->subscribe || !n->ops || !n->ops->subscribe)
			continue;
		int rc = n->ops->subscribe(n->ops_ctx, r->filter, 1);
		if (rc && !first)
			first = rc;
	}
	return first;
}

/* route_match: TOPIC's levels against R's; the `+` levels' values go to WILD. */
static bool route_match(const struct node_route *r, char **levels, const char **wild,
                        unsigned *nwild)
{
	unsigned w = 0, i;
	for (i = 0; r->levels[i] && levels[i]; i++) {
		if (strcmp(r->levels[i], "+") == 0) {
			if (!*levels[i] || w == NODE_WILD_MAX)
				return false;
			wild[w++] = levels[i];
		} else if (strcmp(r->levels[i], levels[i]) != 0) {
			return false;
		}
	}
	if (r->levels[i] || levels[i])
		return false;
	*nwild = w;
	return true;
}

bool node_dispatch(struct node *n, const char *topic, const void *payload, size_t len)
{
	if (strlen(topic) > NODE_TOPIC_MAX)
		return false;
	char **levels = g_strsplit(topic, "/", 0);
	const char *wild[NODE_WILD_MAX];
	unsigned nwild = 0;
	bool taken = false;
	for (guint i = 0; i < n->routes->len && !taken; i++) {
		struct node_route *r = n->routes->pdata[i];
		if (route_match(r, levels, wild, &nwild)) {
			r->fn(r->user, topic, wild, nwild, payload, len);
			taken = true;
		}
	}
	g_strfreev(levels);
	return taken;
}

/* ---- replay cache ---- */

const char *node_replay_find(struct node *n, const char *key, int64_t now_us)
{
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, n->answered);
	while (g_hash_table_iter_next(&it, NULL, &v))
		if (((struct node_answer *)v)->expires_us < now_us)
			g_hash_table_iter_remove(&it);
	struct node_answer *a = g_hash_table_lookup(n->answered, key);
	return a ? a->text : NULL;
}

void node_replay_keep(struct node *n, const char *key, const char *text, int64_t expires_us)
{
	struct node_answer *a = g_new0(struct node_answer, 1);
	a->text = g_strdup(text);
	a->expires_us = expires_us;
	g_hash_table_replace(n->answered, g_strdup(key), a);
}
