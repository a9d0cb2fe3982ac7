#include "mqtt_session.h"

#include <MQTTAsync.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>

#include "clock.h"
#include "log.h"
#include "msg.h"

#define SESSION_EXPIRY_S  86400
#define RETRY_MIN_S       1
#define RETRY_MAX_S       16
#define MAX_BUFFERED_MSGS 10000

/* One item handed from Paho's threads to the main loop. */
struct queued {
	bool is_message;
	bool connected;
	char *topic;
	void *payload;
	size_t len;
	int64_t received_us; /* UTC, taken on Paho's thread as the message arrived */
	struct mqtt_user_prop *props; /* its user properties; strings live in prop_text */
	size_t nprops;
	char *prop_text;
	char *why;
	bool retry; /* a connect attempt failed: schedule the next one */
};

struct mqtt_session {
	MQTTAsync client;
	GMainContext *ctx;
	char *uri, *client_id, *ca, *cert, *key, *will_topic, *will_payload;
	bool will_retain, clean_start;
	int keepalive_s;
	size_t max_payload;
	/* Per-topic limits: written before Paho's threads start, read-only afterwards. */
	char *limit_filter[MQTT_TOPIC_LIMITS_MAX];
	size_t limit_max[MQTT_TOPIC_LIMITS_MAX];
	size_t n_limits;
	char *host;
	int port;

	mqtt_message_fn on_message;
	mqtt_connection_fn on_connection;
	void *user;
	int64_t received_us; /* of the message on_message is handling; main thread only */
	const struct mqtt_user_prop *props; /* its user properties, likewise */
	size_t nprops;

	GPtrArray *filters; /* char *, main thread only */
	GArray *qos;        /* int, parallel to filters */

	GMutex lock; /* guards queue, dispatch, connected */
	GQueue queue;
	GSource *dispatch;
	bool connected;

	GSource *retry_source;
	gint disconnected;          /* atomic: the clean disconnect completed */
	MQTTAsync_token last_token; /* of the last publish, awaited by mqtt_session_stop */
	int retry_s;
	bool stopping;
};

static void queued_free(struct queued *q)
{
	g_free(q->topic);
	g_free(q->payload);
	g_free(q->props);
	g_free(q->prop_text);
	g_free(q->why);
	g_free(q);
}

static gboolean session_dispatch(gpointer data);
static void session_schedule_retry(struct mqtt_session *s);

/* Called on Paho's threads: append and make sure the main loop drains the queue. */
static void session_enqueue(struct mqtt_session *s, struct queued *q)
{
	g_mutex_lock(&s->lock);
	g_queue_push_tail(&s->queue, q);
	if (!s->dispatch && !s->stopping) {
		s->dispatch = g_idle_source_new();
		g_source_set_priority(s->dispatch, G_PRIORITY_DEFAULT);
		g_source_set_callback(s->dispatch, session_dispatch, s, NULL);
		g_source_attach(s->dispatch, s->ctx);
	}
	g_mutex_unlock(&s->lock);
}

static void session_resubscribe(struct mqtt_session *s)
{
	for (guint i = 0; i < s->filters->len; i++) {
		MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
		int rc = MQTTAsync_subscribe(s->client, g_ptr_array_index(s->filters, i),
		                             g_array_index(s->qos, int, i), &ro);
		if (rc != MQTTASYNC_SUCCESS)
			log_warnx("mqtt %s: subscribe %s: %s", s->client_id,
			          (char *)g_ptr_array_index(s->filters, i), MQTTAsync_strerror(rc));
	}
}

static gboolean session_dispatch(gpointer data)
{
	struct mqtt_session *s = data;
	for (;;) {
		g_mutex_lock(&s->lock);
		struct queued *q = g_queue_pop_head(&s->queue);
		if (!q) {
			g_source_unref(s->dispatch);
			s->dispatch = NULL;
			g_mutex_unlock(&s->lock);
			return G_SOURCE_REMOVE;
		}
		g_mutex_unlock(&s->lock);
		if (q->is_message) {
			s->received_us = q->received_us;
			s->props = q->props;
			s->nprops = q->nprops;
			if (s->on_message)
				s->on_message(q->topic, q->payload, q->len, s->user);
			s->received_us = 0;
			s->props = NULL;
			s->nprops = 0;
		} else {
			if (q->connected) {
				s->retry_s = RETRY_MIN_S;
				session_resubscribe(s);
			}
			if (q->retry)
				session_schedule_retry(s);
			if (s->on_connection)
				s->on_connection(q->connected, q->why, s->user);
		}
		queued_free(q);
	}
}

/* Paho never sets TCP_NODELAY; with Nagle each request/reply costs a flat ~88 ms.
 * Find the client's socket(s) to the broker by peer address and set it. */
static void session_set_nodelay(struct mqtt_session *s)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	char port[16];
	snprintf(port, sizeof(port), "%d", s->port);
	if (getaddrinfo(s->host, port, &hints, &res) != 0)
		return;
	DIR *d = opendir("/proc/self/fd");
	if (!d) {
		freeaddrinfo(res);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);
		struct stat st;
		if (fd <= 2 || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
			continue;
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		if (getpeername(fd, (struct sockaddr *)&peer, &plen) != 0)
			continue;
		for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
			if (ai->ai_addrlen != plen || memcmp(ai->ai_addr, &peer, plen) != 0)
				continue;
			int one = 1;
			if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
				log_warn("mqtt %s: TCP_NODELAY", s->client_id);
		}
	}
	closedir(d);
	freeaddrinfo(res);
}

static void on_connected(void *context, char *cause)
{
	struct mqtt_session *s = context;
	session_set_nodelay(s);
	g_mutex_lock(&s->lock);
	s->connected = true;
	g_mutex_unlock(&s->lock);
	struct queued *q = g_new0(struct queued, 1);
	q->connected = true;
	q->why = g_strdup(cause ? cause : "connected");
	session_enqueue(s, q);
}

static void on_connection_lost(void *context, char *cause)
{
	struct mqtt_session *s = context;
	g_mutex_lock(&s->lock);
	s->connected = false;
	g_mutex_unlock(&s->lock);
	struct queued *q = g_new0(struct queued, 1);
	q->connected = false;
	q->why = g_strdup(cause ? cause : "connection lost");
	session_enqueue(s, q);
}

/* Copies M's user properties into Q: one array, and one buffer of NUL-terminated strings
 * (Paho's are length-counted, not terminated). */
static void copy_user_props(struct queued *q, const MQTTProperties *props)
{
	size_t n = 0, bytes = 0;
	for (int i = 0; i < props->count; i++) {
		const MQTTProperty *p = &props->array[i];
		if (p->identifier != MQTTPROPERTY_CODE_USER_PROPERTY)
			continue;
		n++;
		bytes += (size_t)p->value.data.len + (size_t)p->value.value.len + 2;
	}
	if (n == 0)
		return;
	q->props = g_new0(struct mqtt_user_prop, n);
	q->prop_text = g_malloc(bytes);
	char *t = q->prop_text;
	for (int i = 0; i < props->count; i++) {
		const MQTTProperty *p = &props->array[i];
		if (p->identifier != MQTTPROPERTY_CODE_USER_PROPERTY)
			continue;
		struct mqtt_user_prop *u = &q->props[q->nprops++];
		u->name = t;
		u->name_len = (size_t)p->value.data.len;
		memcpy(t, p->value.data.data, u->name_len);
		t[u->name_len] = '\0';
		t += u->name_len + 1;
		u->value = t;
		u->value_len = (size_t)p->value.value.len;
		memcpy(t, p->value.value.data, u->value_len);
		t[u->value_len] = '\0';
		t += u->value_len + 1;
	}
}

/* Whether TOPIC[0..LEN) matches the MQTT topic filter F (+ one level, # the rest). */
static bool filter_matches(const char *f, const char *t, size_t len)
{
	const char *end = t + len;
	for (;;) {
		if (strcmp(f, "#") == 0)
			return true;
		const char *fe = strchr(f, '/');
		const char *te = memchr(t, '/', (size_t)(end - t));
		size_t fl = fe ? (size_t)(fe - f) : strlen(f);
		size_t tl = te ? (size_t)(te - t) : (size_t)(end - t);
		if (!(fl == 1 && f[0] == '+') && (fl != tl || memcmp(f, t, fl) != 0))
			return false;
		if (!fe)
			return !te;
		if (!te)
			return strcmp(fe + 1, "#") == 0;
		f = fe + 1;
		t = te + 1;
	}
}

/* The largest message S takes on TOPIC[0..LEN). Called on Paho's thread. */
static size_t topic_limit(const struct mqtt_session *s, const char *topic, size_t len)
{
	for (size_t i = 0; i < s->n_limits; i++)
		if (filter_matches(s->limit_filter[i], topic, len))
			return s->limit_max[i];
	return s->max_payload;
}

static int on_message_arrived(void *context, char *topic, int topic_len, MQTTAsync_message *m)
{
	struct mqtt_session *s = context;
	size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);
	size_t limit = topic_limit(s, topic, tlen);
	size_t len = m->payloadlen > 0 ? (size_t)m->payloadlen : 0;
	/* A message over the topic's limit is never copied whole: its first LIMIT + 1 bytes
	 * go on, so the receiver refuses it as too large with its own error (naming topic and
	 * sender) and nothing of it is acted on. */
	if (len > limit) {
		log_warnx("mqtt %s: a message of %zu bytes on %.*s is over the limit of %zu: "
		          "passed on cut to %zu bytes, to be refused",
		          s->client_id, len, (int)tlen, topic, limit, limit + 1);
		len = limit + 1;
	}
	struct queued *q = g_new0(struct queued, 1);
	q->is_message = true;
	q->received_us = clock_now_us();
	q->topic = topic_len > 0 ? g_strndup(topic, (gsize)topic_len) : g_strdup(topic);
	q->len = len;
	q->payload = g_malloc(q->len + 1);
	memcpy(q->payload, m->payload, q->len);
	((char *)q->payload)[q->len] = '\0';
	copy_user_props(q, &m->properties);
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	session_enqueue(s, q);
	return 1;
}

static int session_connect(struct mqtt_session *s);

static gboolean session_retry(gpointer data)
{
	struct mqtt_session *s = data;
	g_source_unref(s->retry_source);
	s->retry_source = NULL;
	if (session_connect(s) != 0)
		session_schedule_retry(s);
	return G_SOURCE_REMOVE;
}

static void on_connect_failure(void *context, MQTTAsync_failureData5 *resp)
{
	struct mqtt_session *s = context;
	struct queued *q = g_new0(struct queued, 1);
	q->connected = false;
	q->why = g_strdup_printf("connect failed: %s (code %d)",
	                         resp && resp->message ? resp->message
	                                               : MQTTAsync_strerror(resp ? resp->code : -1),
	                         resp ? resp->code : -1);
	q->retry = true; /* scheduled from the main loop, where the timer lives */
	session_enqueue(s, q);
}

static void on_connect_success(void *context, MQTTAsync_successData5 *resp)
{
	/* on_connected (MQTTAsync_setConnected) reports every connect, first and later. */
}

static int session_connect(struct mqtt_session *s)
{
	MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer5;
	MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
	MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
	MQTTProperties props = MQTTProperties_initializer;
	MQTTProperty expiry = {.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL};

	expiry.value.integer4 = s->clean_start ? 0 : SESSION_EXPIRY_S;
	MQTTProperties_add(&props, &expiry);
	co.connectProperties = &props;
	co.keepAliveInterval = s->keepalive_s;
	co.cleanstart = s->clean_start;
	co.automaticReconnect = 1;
	co.minRetryInterval = RETRY_MIN_S;
	co.maxRetryInterval = RETRY_MAX_S;
	co.connectTimeout = 5;
	co.onSuccess5 = on_connect_success;
	co.onFailure5 = on_connect_failure;
	co.context = s;
	ssl.trustStore = s->ca;
	ssl.keyStore = s->cert;
	ssl.privateKey = s->key;
	ssl.enableServerCertAuth = 1;
	ssl.verify = 1;
	ssl.sslVersion = MQTT_SSL_VERSION_TLS_1_2; /* a floor, not a pin: TLS 1.3 is negotiated */
	co.ssl = &ssl;
	if (s->will_topic) {
		will.topicName = s->will_topic;
		will.message = s->will_payload;
		will.retained = s->will_retain;
		will.qos = 1;
		co.will = &will;
	}
	int rc = MQTTAsync_connect(s->client, &co);
	MQTTProperties_free(&props);
	if (rc != MQTTASYNC_SUCCESS) {
		log_warnx("mqtt %s: connect to %s: %s", s->client_id, s->uri,
		          MQTTAsync_strerror(rc));
		return -EIO;
	}
	return 0;
}

static void session_schedule_retry(struct mqtt_session *s)
{
	if (s->stopping || s->retry_source)
		return;
	s->retry_source = g_timeout_source_new_seconds((guint)s->retry_s);
	g_source_set_callback(s->retry_source, session_retry, s, NULL);
	g_source_attach(s->retry_source, s->ctx);
	s->retry_s = MIN(s->retry_s * 2, RETRY_MAX_S);
}

static bool parse_uri(const char *uri, char **host, int *port)
{
	const char *p = strstr(uri, "://");
	if (!p)
		return false;
	p += 3;
	const char *colon = strrchr(p, ':');
	if (!colon || colon == p)
		return false;
	char *end;
	long n = strtol(colon + 1, &end, 10);
	if (*end || n <= 0 || n > 65535)
		return false;
	if (*p == '[' && colon[-1] == ']')
		*host = g_strndup(p + 1, (gsize)(colon - p - 2));
	else
		*host = g_strndup(p, (gsize)(colon - p));
	*port = (int)n;
	return true;
}

struct mqtt_session *mqtt_session_new(const struct mqtt_session_config *cfg, GMainContext *ctx,
                                      mqtt_message_fn on_message, mqtt_connection_fn on_connection,
                                      void *user, GError **err)
{
	if (!cfg->uri || !cfg->client_id || !cfg->ca_file || !cfg->cert_file || !cfg->key_file) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		            "mqtt: uri, client id, CA, certificate and key are all required");
		return NULL;
	}
	struct mqtt_session *s = g_new0(struct mqtt_session, 1);
	if (!parse_uri(cfg->uri, &s->host, &s->port) || !g_str_has_prefix(cfg->uri, "ssl://")) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		            "mqtt: uri \"%s\" is not of the form ssl://HOST:PORT", cfg->uri);
		g_free(s);
		return NULL;
	}
	s->ctx = ctx ? g_main_context_ref(ctx) : g_main_context_ref(g_main_context_default());
	s->uri = g_strdup(cfg->uri);
	s->client_id = g_strdup(cfg->client_id);
	s->max_payload = cfg->max_payload ? cfg->max_payload : MSG_MAX_REQUEST_SIZE;
	for (size_t i = 0; i < cfg->n_topic_limits && cfg->topic_limits[i].filter &&
	                   s->n_limits < MQTT_TOPIC_LIMITS_MAX;
	     i++) {
		s->limit_filter[s->n_limits] = g_strdup(cfg->topic_limits[i].filter);
		s->limit_max[s->n_limits++] = cfg->topic_limits[i].max;
	}
	s->ca = g_strdup(cfg->ca_file);
	s->cert = g_strdup(cfg->cert_file);
	s->key = g_strdup(cfg->key_file);
	s->will_topic = g_strdup(cfg->will_topic);
	s->will_payload = g_strdup(cfg->will_payload ? cfg->will_payload : "");
	s->will_retain = cfg->will_retain;
	s->clean_start = cfg->clean_start;
	s->keepalive_s = cfg->keepalive_s > 0 ? cfg->keepalive_s : 5;
	s->on_message = on_message;
	s->on_connection = on_connection;
	s->user = user;
	s->filters = g_ptr_array_new_with_free_func(g_free);
	s->qos = g_array_new(FALSE, FALSE, sizeof(int));
	s->retry_s = RETRY_MIN_S;
	g_mutex_init(&s->lock);
	g_queue_init(&s->queue);

	MQTTAsync_createOptions opts = MQTTAsync_createOptions_initializer5;
	opts.sendWhileDisconnected = 1;
	opts.allowDisconnectedSendAtAnyTime = 1;
	opts.maxBufferedMessages = MAX_BUFFERED_MSGS;
	int rc = MQTTAsync_createWithOptions(&s->client, s->uri, s->client_id,
	                                     MQTTCLIENT_PERSISTENCE_NONE, NULL, &opts);
	if (rc != MQTTASYNC_SUCCESS) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "mqtt: create client: %s",
		            MQTTAsync_strerror(rc));
		mqtt_session_free(s);
		return NULL;
	}
	MQTTAsync_setCallbacks(s->client, s, on_connection_lost, on_message_arrived, NULL);
	MQTTAsync_setConnected(s->client, s, on_connected);
	return s;
}

int mqtt_session_start(struct mqtt_session *s)
{
	if (session_connect(s) != 0)
		session_schedule_retry(s);
	return 0;
}

int mqtt_session_subscribe(struct mqtt_session *s, const char *filter, int qos)
{
	g_ptr_array_add(s->filters, g_strdup(filter));
	g_array_append_val(s->qos, qos);
	if (!mqtt_session_connected(s))
		return 0;
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	int rc = MQTTAsync_subscribe(s->client, filter, qos, &ro);
	return rc == MQTTASYNC_SUCCESS ? 0 : -EIO;
}

int mqtt_session_publish(struct mqtt_session *s, const char *topic, const void *payload, size_t len,
                         int qos, bool retain)
{
	return mqtt_session_publish_props(s, topic, payload, len, qos, retain, NULL, 0);
}

int mqtt_session_publish_props(struct mqtt_session *s, const char *topic, const void *payload,
                               size_t len, int qos, bool retain,
                               const struct mqtt_user_prop *props, size_t n)
{
	if (len > INT32_MAX)
		return -EMSGSIZE;
	MQTTAsync_message m = MQTTAsync_message_initializer;
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	m.payload = (void *)payload;
	m.payloadlen = (int)len;
	m.qos = qos;
	m.retained = retain;
	for (size_t i = 0; i < n; i++) {
		if (props[i].name_len > UINT16_MAX || props[i].value_len > UINT16_MAX) {
			MQTTProperties_free(&m.properties);
			return -EMSGSIZE;
		}
		MQTTProperty p = {.identifier = MQTTPROPERTY_CODE_USER_PROPERTY};
		p.value.data.data = (char *)props[i].name;
		p.value.data.len = (int)props[i].name_len;
		p.value.value.data = (char *)props[i].value;
		p.value.value.len = (int)props[i].value_len;
		if (MQTTProperties_add(&m.properties, &p) != 0) { /* copies the strings */
			MQTTProperties_free(&m.properties);
			return -ENOMEM;
		}
	}
	int rc = MQTTAsync_sendMessage(s->client, topic, &m, &ro);
	MQTTProperties_free(&m.properties); /* Paho keeps its own copy */
	switch (rc) {
	case MQTTASYNC_SUCCESS:
		s->last_token = ro.token;
		return 0;
	case MQTTASYNC_DISCONNECTED:
		return -ENOTCONN;
	case MQTTASYNC_MAX_BUFFERED_MESSAGES:
		return -ENOBUFS;
	default:
		log_warnx("mqtt %s: publish %s: %s", s->client_id, topic, MQTTAsync_strerror(rc));
		return -EIO;
	}
}

int64_t mqtt_session_received_us(const struct mqtt_session *s)
{
	return s->received_us;
}

const struct mqtt_user_prop *mqtt_session_user_props(const struct mqtt_session *s, size_t *n)
{
	*n = s->nprops;
	return s->props;
}

bool mqtt_session_connected(const struct mqtt_session *s)
{
	g_mutex_lock((GMutex *)&s->lock);
	bool c = s->connected;
	g_mutex_unlock((GMutex *)&s->lock);
	return c;
}

static void on_disconnect_done(void *context, MQTTAsync_successData5 *resp)
{
	struct mqtt_session *s = context;
	g_atomic_int_set(&s->disconnected, 1);
}

static void on_disconnect_failed(void *context, MQTTAsync_failureData5 *resp)
{
	struct mqtt_session *s = context;
	g_atomic_int_set(&s->disconnected, 1);
}

void mqtt_session_stop(struct mqtt_session *s, int timeout_ms)
{
	s->stopping = true;
	if (s->retry_source) {
		g_source_destroy(s->retry_source);
		g_source_unref(s->retry_source);
		s->retry_source = NULL;
	}
	if (!MQTTAsync_isConnected(s->client))
		return;
	/* Wait for our last message (typically the final status) to be acknowledged, then
	 * disconnect at once: Paho's own disconnect timeout waits out the whole interval
	 * for reasons of its own. */
	if (s->last_token)
		MQTTAsync_waitForCompletion(s->client, s->last_token, (unsigned long)timeout_ms);
	MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer5;
	d.timeout = 0;
	d.onSuccess5 = on_disconnect_done;
	d.onFailure5 = on_disconnect_failed;
	d.context = s;
	if (MQTTAsync_disconnect(s->client, &d) != MQTTASYNC_SUCCESS)
		return;
	/* Paho flushes in-flight QoS 1 messages (our last status) before it disconnects. */
	for (int waited = 0; waited < timeout_ms + 200 && !g_atomic_int_get(&s->disconnected);
	     waited += 5)
		g_usleep(5000);
}

void mqtt_session_free(struct mqtt_session *s)
{
	if (!s)
		return;
	s->stopping = true;
	if (s->retry_source) {
		g_source_destroy(s->retry_source);
		g_source_unref(s->retry_source);
	}
	if (s->client)
		MQTTAsync_destroy(&s->client);
	g_mutex_lock(&s->lock);
	if (s->dispatch) {
		g_source_destroy(s->dispatch);
		g_source_unref(s->dispatch);
		s->dispatch = NULL;
	}
	g_queue_clear_full(&s->queue, (GDestroyNotify)queued_free);
	g_mutex_unlock(&s->lock);
	g_mutex_clear(&s->lock);
	if (s->filters)
		g_ptr_array_free(s->filters, TRUE);
	if (s->qos)
		g_array_free(s->qos, TRUE);
	g_main_context_unref(s->ctx);
	g_free(s->uri);
	g_free(s->client_id);
	for (size_t i = 0; i < s->n_limits; i++)
		g_free(s->limit_filter[i]);
	g_free(s->ca);
	g_free(s->cert);
	g_free(s->key);
	g_free(s->will_topic);
	g_free(s->will_payload);
	g_free(s->host);
	g_free(s);
}

static int ops_publish(void *ctx, const char *topic, const void *payload, size_t len, int qos,
                       bool retain)
{
	return mqtt_session_publish(ctx, topic, payload, len, qos, retain);
}

static int ops_subscribe(void *ctx, const char *filter, int qos)
{
	return mqtt_session_subscribe(ctx, filter, qos);
}

static int64_t ops_received_us(void *ctx)
{
	return mqtt_session_received_us(ctx);
}

static int ops_publish_props(void *ctx, const char *topic, const void *payload, size_t len,
                             int qos, bool retain, const struct mqtt_user_prop *props, size_t n)
{
	return mqtt_session_publish_props(ctx, topic, payload, len, qos, retain, props, n);
}

static const struct mqtt_user_prop *ops_user_props(void *ctx, size_t *n)
{
	return mqtt_session_user_props(ctx, n);
}

const struct mqtt_ops mqtt_session_ops = {
    .publish = ops_publish,
    .subscribe = ops_subscribe,
    .received_us = ops_received_us,
    .publish_props = ops_publish_props,
    .user_props = ops_user_props,
};
