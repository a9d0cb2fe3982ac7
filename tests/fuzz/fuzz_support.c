#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

void fuzz_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("fuzz: invariant violated: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

static GLogWriterOutput fuzz_log_write(GLogLevelFlags level, const GLogField *fields, gsize n,
                                       gpointer user)
{
	if (!(level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)))
		return G_LOG_WRITER_HANDLED;
	const char *msg = "";
	for (gsize i = 0; i < n; i++)
		if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
			msg = fields[i].value;
	fuzz_fail("GLib %s: %s", (level & G_LOG_LEVEL_ERROR) ? "error" : "critical", msg);
}

void fuzz_init(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	g_log_set_writer_func(fuzz_log_write, NULL, NULL);
}

static void published_free(gpointer p)
{
	struct fuzz_published *m = p;
	g_free(m->topic);
	g_free(m->payload);
	g_free(m);
}

static int capture_publish(void *ctx, const char *topic, const void *payload, size_t len, int qos,
                           bool retain)
{
	struct fuzz_capture *cap = ctx;
	struct fuzz_published *m = g_new0(struct fuzz_published, 1);
	m->topic = g_strdup(topic);
	m->payload = g_malloc(len + 1);
	memcpy(m->payload, payload, len);
	m->payload[len] = '\0';
	m->len = len;
	m->qos = qos;
	m->retain = retain;
	g_ptr_array_add(cap->msgs, m);
	return 0;
}

static int capture_subscribe(void *ctx, const char *filter, int qos)
{
	return 0;
}

static int64_t capture_received_us(void *ctx)
{
	struct fuzz_capture *cap = ctx;
	return cap->received_us;
}

const struct mqtt_ops fuzz_capture_ops = {
    .publish = capture_publish,
    .subscribe = capture_subscribe,
    .received_us = capture_received_us,
};

void fuzz_capture_init(struct fuzz_capture *cap)
{
	cap->msgs = g_ptr_array_new_with_free_func(published_free);
	cap->received_us = 0;
}

void fuzz_capture_clear(struct fuzz_capture *cap)
{
	g_ptr_array_set_size(cap->msgs, 0);
}

void fuzz_capture_free(struct fuzz_capture *cap)
{
	g_ptr_array_unref(cap->msgs);
	cap->msgs = NULL;
}

unsigned fuzz_capture_count(const struct fuzz_capture *cap, const char *topic)
{
	unsigned n = 0;
	for (guint i = 0; i < cap->msgs->len; i++)
		n += strcmp(((struct fuzz_published *)cap->msgs->pdata[i])->topic, topic) == 0;
	return n;
}

/* Parse what the daemon itself sent with the same edge validator a receiver uses: our
 * own output must pass it. */
static json_t *published_parse(const struct fuzz_published *p, const char *kind)
{
	struct msg_envelope env;
	json_t *body = NULL;
	GError *err = NULL;
	if (msg_parse(p->payload, p->len, MSG_MAX_REQUEST_SIZE, &env, &body, &err) != 0)
		fuzz_fail("published on %s: %s: %s", p->topic, err->message, p->payload);
	FUZZ_CHECK(strcmp(env.kind, kind) == 0, "published on %s: kind %s, expected %s", p->topic,
	           env.kind, kind);
	FUZZ_CHECK(p->qos == 1 && !p->retain, "published on %s: qos %d retain %d", p->topic, p->qos,
	           p->retain);
	return body;
}

void fuzz_check_error_message(const struct fuzz_published *p, const char *topic, const char *sender)
{
	json_t *body = published_parse(p, "error");
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	const char *t = msg_read_string(&r, "topic", true, MSG_MAX_SIZE);
	const char *s = msg_read_string(&r, "sender", true, MSG_MAX_SIZE);
	const char *fault = msg_read_string(&r, "fault", true, MSG_MAX_SIZE);
	GError *err = NULL;
	if (msg_reader_finish(&r, &err) != 0)
		fuzz_fail("error message on %s: %s: %s", p->topic, err->message, p->payload);
	FUZZ_CHECK(strcmp(t, topic) == 0, "error message names topic %s, expected %s", t, topic);
	FUZZ_CHECK(strcmp(s, sender) == 0, "error message names sender %s, expected %s", s, sender);
	FUZZ_CHECK(*fault, "error message with an empty fault");
	json_decref(body);
}

static const char *const response_codes[] = {
    "invalid", "denied", "not_found", "conflict", "expired", "unavailable", "internal", NULL,
};

bool fuzz_check_response(const struct fuzz_published *p, char *id, size_t id_size)
{
	json_t *body = published_parse(p, "response");
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	const char *rid = msg_read_string(&r, "id", false, 63);
	bool ok = msg_read_bool(&r, "ok", true, false);
	json_t *result = msg_read_object(&r, "result", false);
	json_t *error = msg_read_object(&r, "error", false);
	GError *err = NULL;
	if (msg_reader_finish(&r, &err) != 0)
		fuzz_fail("response on %s: %s: %s", p->topic, err->message, p->payload);
	FUZZ_CHECK(!rid || *rid, "response with an empty id: %s", p->payload);
	FUZZ_CHECK(ok ? (result && !error) : (error && !result),
	           "response ok=%d with result %p and error %p: %s", ok, (void *)result,
	           (void *)error, p->payload);
	if (error) {
		struct msg_reader e;
		msg_reader_init(&e, error, "error");
		int code = msg_read_enum(&e, "code", true, response_codes);
		const char *message = msg_read_string(&e, "message", true, MSG_MAX_SIZE);
		if (msg_reader_finish(&e, &err) != 0)
			fuzz_fail("response on %s: %s: %s", p->topic, err->message, p->payload);
		FUZZ_CHECK(code >= 0 && *message, "response error without code or message: %s",
		           p->payload);
	}
	g_strlcpy(id, rid ? rid : "", id_size);
	json_decref(body);
	return ok;
}
