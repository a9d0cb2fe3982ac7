/* A node: what every evalroom daemon does on the bus, written once. It owns the sender
 * sequence numbers, publishes JSON messages at QoS 1, answers a refused message with an
 * `error` message, builds the retained status, remembers answered command and request
 * ids (the replay cache) and routes each arriving topic to the handler registered for
 * it. The daemon's modules get the node (or the struct that holds it) and publish
 * through it; nothing calls back into a main file.
 *
 * One node per main loop; nothing here is thread-safe. */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt_session.h"
#include "msg.h"
#include "seq.h"

/* Every topic lives under this prefix (schemas/topics.md). */
#define TOPIC_PREFIX "evalroom/v1/"
/* The longest topic a node builds or routes. */
#define NODE_TOPIC_MAX 128

struct node;

struct node_config {
	const char *identity;     /* the certificate's CN: "controller", "agent-R101" */
	const char *version;      /* the program's version, in its status */
	const char *status_topic; /* where the retained status goes */
	const char *error_topic;  /* where `error` messages go */
	int64_t started_us;       /* the start time the status reports */
};

/* node_new: copies CFG. Publishing fails with -ENOTCONN until node_set_transport. Free
 * with node_free. */
struct node *node_new(const struct node_config *cfg);
void node_free(struct node *n);

/* node_set_transport: publish and subscribe through OPS with CTX (mqtt_session_ops with
 * a struct mqtt_session *, or a test's fake). Neither is owned. */
void node_set_transport(struct node *n, const struct mqtt_ops *ops, void *ctx);

/* node_identity: the CN given at node_new (owned by the node). */
const char *node_identity(const struct node *n);
/* node_started_us: the start time given at node_new. */
int64_t node_started_us(const struct node *n);

/* node_seq: this sender's sequence counter (owned by the node), for the message codecs
 * that take one. */
struct seq_counter *node_seq(struct node *n);
/* node_msg_new: msg_new(KIND) with the node's next sequence number (caller decrefs). */
json_t *node_msg_new(struct node *n, const char *kind);

/* node_publish: serialise MSG (the caller keeps its reference) and publish it at QoS 1.
 * Returns 0 or the transport's -errno. */
int node_publish(struct node *n, const char *topic, const json_t *msg, bool retain);
/* node_publish_raw: publish LEN bytes of PAYLOAD as they are. Returns 0 or -errno. */
int node_publish_raw(struct node *n, const char *topic, const void *payload, size_t len, int qos,
                     bool retain);
/* node_publish_props: node_publish_raw with the MQTT 5 user properties PROPS[0..NPROPS)
 * (a media chunk's metadata, chunk_meta.h). Returns 0, -ENOTSUP when the transport has no
 * user properties, or -errno. */
int node_publish_props(struct node *n, const char *topic, const void *payload, size_t len, int qos,
                       bool retain, const struct mqtt_user_prop *props, size_t nprops);

/* node_report_error: a message on TOPIC from SENDER was refused for FAULT: log it, count
 * it (node_refused) and publish an `error` message {topic, sender, fault} on the node's
 * error topic. Nothing else changes. */
void node_report_error(struct node *n, const char *topic, const char *sender, const GError *fault);
/* node_refused: how many messages node_report_error refused since the start. */
uint64_t node_refused(const struct node *n);

/* node_status_text: the serialised `status` message {state, identity, version, started}
 * for STATE ("online", "offline", "stopped"); g_free it. Also the last will. */
char *node_status_text(struct node *n, const char *state);
/* node_publish_status: publish node_status_text(STATE), retained, on the status topic. */
int node_publish_status(struct node *n, const char *state);

/* What a room agent holds for the controller and has not had acknowledged: events in
 * its outbox, segments (and their bytes) in its spool. Carried in the status's
 * detail.backlog so the main venue sees a secondary venue's backlog drain. */
struct node_backlog {
	int64_t events;
	int64_t segments;
	int64_t bytes;
};
/* node_publish_status_backlog: as node_publish_status, with BACKLOG (NULL: none). */
int node_publish_status_backlog(struct node *n, const char *state,
                                const struct node_backlog *backlog);

/* The controller republishes its retained status this often (seconds): a heartbeat that
 * agents beyond a bridge watch (room-agent/agent_main.c, [agent] link_timeout_s). */
#define NODE_CONTROLLER_HEARTBEAT_S 5

/* A `status` message, validated (schemas/json/status.json). */
enum node_state { NODE_ONLINE, NODE_OFFLINE, NODE_STOPPED };
struct node_status {
	struct msg_envelope env;
	enum node_state state;
	char identity[65];
	char version[33]; /* empty when absent */
	int64_t started;  /* 0 when absent */
	bool has_backlog; /* detail.backlog was present */
	struct node_backlog backlog;
};
/* node_status_read: PAYLOAD (LEN bytes) must be one complete `status` message; fills *ST
 * and returns 0, or -EINVAL/-EMSGSIZE/-EPROTO with *ERR naming the fault. Every daemon
 * reads the statuses it follows (agents', the controller's, terminals') with it. */
int node_status_read(const void *payload, size_t len, struct node_status *st, GError **err);
/* node_state_name: "online", "offline" or "stopped". */
const char *node_state_name(enum node_state state);

/* node_received_us: while a handler runs, when its message arrived (the transport's
 * received_us), else 0: the caller falls back on its own clock. */
int64_t node_received_us(struct node *n);
/* node_user_props: while a handler runs, the MQTT 5 user properties of its message
 * (*NPROPS of them, owned by the transport), else NULL with *NPROPS 0 (also from a
 * transport without user properties). */
const struct mqtt_user_prop *node_user_props(struct node *n, size_t *nprops);

/* ---- the topic -> handler table ---- */

/* A handler gets the topic, the values of the filter's `+` levels in order (WILD, NWILD)
 * and the raw payload, which it validates before anything else. */
typedef void (*node_handler_fn)(void *user, const char *topic, const char *const *wild,
                                unsigned nwild, const void *payload, size_t len);

/* node_route: messages whose topic matches FILTER (MQTT syntax, `+` levels only, at most
 * NODE_TOPIC_MAX bytes) go to FN(USER, ...). The first matching route wins, in the order
 * routes were added. With SUBSCRIBE the node also subscribes to FILTER at QoS 1 (now, if
 * a transport is set; node_subscribe_all does it for routes added before). */
void node_route(struct node *n, const char *filter, bool subscribe, node_handler_fn fn, void *user);
/* node_subscribe_all: subscribe through the transport to every route added with
 * SUBSCRIBE. Returns 0 or the first -errno. */
int node_subscribe_all(struct node *n);
/* node_dispatch: hand one arriving message to its route's handler. Returns true when a
 * route took it, false when none matched (the message is then ignored). */
bool node_dispatch(struct node *n, const char *topic, const void *payload, size_t len);

/* ---- the replay cache: answered command and request ids ---- */

/* node_replay_find: the serialised answer kept under KEY (owned by the node, valid until
 * the next node_replay_* call), or NULL. Entries that expired before NOW are dropped
 * first. */
const char *node_replay_find(struct node *n, const char *key, int64_t now_us);
/* node_replay_keep: keep TEXT (copied) as the answer to KEY until EXPIRES_US; a later
 * node_replay_find(KEY) before then returns it. */
void node_replay_keep(struct node *n, const char *key, const char *text, int64_t expires_us);
