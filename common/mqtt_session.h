/* An MQTT 5 session over TLS with a client certificate (Paho C async client),
 * living on a GLib main loop.
 *
 * - Connects in the background and keeps reconnecting with backoff (1 s doubling to
 *   16 s) after a failed first connect or a lost connection; the broker keeps the
 *   session (clean start off, session expiry 1 day) and every subscription made
 *   here is renewed after each connect.
 * - Sets TCP_NODELAY on Paho's socket after every connect: Paho never does, and with
 *   Nagle a request/reply round trip is a flat 88 ms instead of about 0.5 ms.
 * - Paho's callbacks run on Paho's threads: they only copy the message, note when it
 *   arrived, and queue it; the message and connection callbacks given here run on
 *   CTX's main loop, in arrival order. */
#pragma once
#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mqtt_session;

#define MQTT_TOPIC_LIMITS_MAX 16

/* The largest message a receiver takes on the topics of one filter (mqtt_session_config). */
struct mqtt_topic_limit {
	const char *filter;
	size_t max;
};

struct mqtt_session_config {
	const char *uri;       /* "ssl://127.0.0.1:8883" */
	const char *client_id; /* the certificate's CN */
	const char *ca_file;
	const char *cert_file;
	const char *key_file;
	const char *will_topic; /* NULL: no last will */
	const char *will_payload;
	bool will_retain;
	int keepalive_s; /* 0: 5 s */
	bool clean_start;
	/* Larger messages are dropped (and logged) in Paho's callback, before they are copied
	 * or queued for the loop. 0: MSG_MAX_REQUEST_SIZE, the largest legitimate message;
	 * the broker's max_packet_size refuses bigger ones before they reach anyone. */
	size_t max_payload;
	/* Per topic: a message on a topic matching FILTER (MQTT wildcards + and #) may be at
	 * most MAX bytes, checked like max_payload in Paho's callback (the first matching
	 * filter decides; a topic matching none has max_payload). Copied; up to
	 * MQTT_TOPIC_LIMITS_MAX entries, NULL-filter terminated or N_TOPIC_LIMITS long. */
	const struct mqtt_topic_limit *topic_limits;
	size_t n_topic_limits;
};

/* An MQTT 5 user property (a name/value pair of UTF-8 strings). As received, NAME and
 * VALUE are NUL-terminated copies of NAME_LEN/VALUE_LEN bytes (which may themselves hold
 * a NUL a receiver must refuse); to publish, the lengths are taken as given. */
struct mqtt_user_prop {
	const char *name;
	const char *value;
	size_t name_len, value_len;
};

typedef void (*mqtt_message_fn)(const char *topic, const void *payload, size_t len, void *user);
typedef void (*mqtt_connection_fn)(bool connected, const char *why, void *user);

/* mqtt_session_new: copies CFG. CTX NULL means the default main context. Nothing is
 * sent until mqtt_session_start. Returns NULL with *err set on a bad config. */
struct mqtt_session *mqtt_session_new(const struct mqtt_session_config *cfg, GMainContext *ctx,
                                      mqtt_message_fn on_message, mqtt_connection_fn on_connection,
                                      void *user, GError **err);
/* mqtt_session_start: begin connecting (asynchronously). Returns 0 or -errno. */
int mqtt_session_start(struct mqtt_session *s);
/* mqtt_session_subscribe: subscribe now if connected, and after every connect. */
int mqtt_session_subscribe(struct mqtt_session *s, const char *filter, int qos);
/* mqtt_session_publish: queue a message; while disconnected Paho buffers it (bounded)
 * and sends it after the reconnect. Returns 0, or -ENOTCONN/-ENOBUFS/-EIO. */
int mqtt_session_publish(struct mqtt_session *s, const char *topic, const void *payload, size_t len,
                         int qos, bool retain);
/* mqtt_session_publish_props: the same with the MQTT 5 user properties PROPS[0..N) (copied
 * before it returns, as the payload). */
int mqtt_session_publish_props(struct mqtt_session *s, const char *topic, const void *payload,
                               size_t len, int qos, bool retain,
                               const struct mqtt_user_prop *props, size_t n);
bool mqtt_session_connected(const struct mqtt_session *s);
/* mqtt_session_received_us: while the message callback runs, the UTC time (us) at which
 * its message arrived from the broker, taken on Paho's thread before it was queued, so
 * without the wait for a busy main loop; 0 outside the message callback. */
int64_t mqtt_session_received_us(const struct mqtt_session *s);
/* mqtt_session_user_props: while the message callback runs, the user properties of its
 * message in the order they came (*N of them; NULL and 0 when it had none), owned by the
 * session and valid until the callback returns; NULL and 0 outside the callback. */
const struct mqtt_user_prop *mqtt_session_user_props(const struct mqtt_session *s, size_t *n);
/* mqtt_session_stop: disconnect cleanly (the last will is not sent: publish your own
 * offline status first), waiting at most TIMEOUT_MS for in-flight messages. */
void mqtt_session_stop(struct mqtt_session *s, int timeout_ms);
void mqtt_session_free(struct mqtt_session *s);

/* The transport seam: modules publish through an mqtt_ops so tests can hand them a
 * fake. mqtt_session_ops takes a struct mqtt_session * as ctx. received_us, optional
 * (NULL, or returning 0, in a backend that cannot tell), is when the message now being
 * delivered to the message callback arrived (as mqtt_session_received_us); a caller
 * falls back on its own clock. */
struct mqtt_ops {
	int (*publish)(void *ctx, const char *topic, const void *payload, size_t len, int qos,
	               bool retain);
	int (*subscribe)(void *ctx, const char *filter, int qos);
	int64_t (*received_us)(void *ctx);
	/* Optional: publish with MQTT 5 user properties (media chunks); NULL in a backend
	 * that cannot. user_props, optional, is mqtt_session_user_props for the message
	 * being delivered (NULL, or returning NULL, when there are none). */
	int (*publish_props)(void *ctx, const char *topic, const void *payload, size_t len,
	                     int qos, bool retain, const struct mqtt_user_prop *props, size_t n);
	const struct mqtt_user_prop *(*user_props)(void *ctx, size_t *n);
};
extern const struct mqtt_ops mqtt_session_ops;
