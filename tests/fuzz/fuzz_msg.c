/* fuzz_msg: the edge validator of every MQTT payload (msg_parse) and the typed readers
 * (msg_read_*), over the kinds of schemas/json plus a generic walk for any other kind.
 *
 * Invariants beyond "no crash": a refusal has a return code from the contract and a
 * fault text that is valid UTF-8 (it is published as a JSON string in `error`); an
 * accepted payload has a sane envelope and survives dump + re-parse unchanged; a reader
 * that finishes cleanly has produced every required member. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "msg.h"

static void check_fault(const GError *err, const char *where)
{
	FUZZ_CHECK(err && err->message && *err->message, "%s: refused without a fault", where);
	FUZZ_CHECK(g_utf8_validate(err->message, -1, NULL),
	           "%s: fault text is not UTF-8, so it cannot be published: %s", where,
	           err->message);
}

static void reader_done(struct msg_reader *r, bool complete)
{
	GError *err = NULL;
	int rc = msg_reader_finish(r, &err);
	if (rc == 0) {
		FUZZ_CHECK(!err, "reader finished cleanly but left an error");
		FUZZ_CHECK(complete, "reader finished cleanly with a required member missing");
		return;
	}
	FUZZ_CHECK(rc == -EINVAL, "msg_reader_finish returned %d", rc);
	check_fault(err, "reader");
	FUZZ_CHECK(strstr(err->message, "member '"), "reader fault names no member: %s",
	           err->message);
	g_error_free(err);
}

static const char *const status_states[] = {"online", "offline", "stopped", NULL};
static const char *const response_codes[] = {
    "invalid", "denied", "not_found", "conflict", "expired", "unavailable", "internal", NULL,
};

static void read_status(json_t *body)
{
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	int state = msg_read_enum(&r, "state", true, status_states);
	const char *identity = msg_read_string(&r, "identity", true, 64);
	msg_read_string(&r, "version", false, 32);
	msg_read_int(&r, "started", false, 0, INT64_MAX, 0);
	msg_read_object(&r, "detail", false);
	reader_done(&r, state >= 0 && identity);
}

static void read_error(json_t *body)
{
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	const char *topic = msg_read_string(&r, "topic", true, 256);
	const char *sender = msg_read_id(&r, "sender", true);
	const char *fault = msg_read_string(&r, "fault", true, 4096);
	reader_done(&r, topic && sender && fault && id_valid(sender));
}

static void read_command(json_t *body)
{
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	const char *id = msg_read_string(&r, "id", true, 63);
	int64_t expires = msg_read_int(&r, "expires", true, 0, INT64_MAX, -1);
	const char *command = msg_read_string(&r, "command", true, 47);
	json_t *args = msg_read_object(&r, "args", false);
	reader_done(&r, id && expires >= 0 && command);
	if (args) {
		/* Typical arguments, read the way handlers read them. */
		struct msg_reader a;
		msg_reader_init(&a, args, "args");
		const char *room = msg_read_id(&a, "room", false);
		msg_read_int(&a, "seconds", false, 1, 3600, 300);
		msg_read_bool(&a, "force", false, false);
		json_t *items = msg_read_array(&a, "items", false, 16);
		reader_done(&a, !room || id_valid(room));
		for (size_t i = 0; items && i < json_array_size(items); i++) {
			struct msg_reader it;
			msg_reader_init(&it, json_array_get(items, i), "args.items[]");
			const char *name = msg_read_id(&it, "name", true);
			reader_done(&it, name != NULL);
		}
	}
}

static void read_reply(json_t *body, bool response)
{
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	const char *id = msg_read_string(&r, "id", !response, 63);
	json_t *ok = json_object_get(body, "ok");
	bool okv = msg_read_bool(&r, "ok", true, false);
	msg_read_object(&r, "result", false);
	if (response) {
		json_t *error = msg_read_object(&r, "error", false);
		reader_done(&r, json_is_boolean(ok));
		if (error) {
			struct msg_reader e;
			msg_reader_init(&e, error, "error");
			int code = msg_read_enum(&e, "code", true, response_codes);
			const char *message = msg_read_string(&e, "message", true, 4096);
			reader_done(&e, code >= 0 && message);
		}
	} else {
		msg_read_string(&r, "error", false, 4096);
		reader_done(&r, json_is_boolean(ok) && id);
	}
	(void)okv;
}

/* Any other kind: read every member with the reader matching its JSON type, nested
 * objects through their own reader with a path, as a handler of that kind would. */
static void read_any(json_t *obj, const char *path, int depth)
{
	struct msg_reader r;
	msg_reader_init(&r, obj, path);
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		if (!path && (!strcmp(key, "v") || !strcmp(key, "kind") || !strcmp(key, "seq") ||
		              !strcmp(key, "ts")))
			continue;
		switch (json_typeof(v)) {
		case JSON_STRING:
			if (id_valid(json_string_value(v)))
				FUZZ_CHECK(msg_read_id(&r, key, true), "a valid id was refused");
			else
				msg_read_string(&r, key, true, 1024);
			break;
		case JSON_INTEGER:
			msg_read_int(&r, key, true, INT64_MIN, INT64_MAX, 0);
			break;
		case JSON_TRUE:
		case JSON_FALSE:
			msg_read_bool(&r, key, true, false);
			break;
		case JSON_OBJECT:
			if (msg_read_object(&r, key, true) && depth < 8) {
				char *sub =
				    path ? g_strdup_printf("%s.%s", path, key) : g_strdup(key);
				read_any(v, sub, depth + 1);
				g_free(sub);
			}
			break;
		case JSON_ARRAY:
			msg_read_array(&r, key, true, 64);
			break;
		default:
			/* null and reals: no reader takes them; ask for a string to get a fault. */
			FUZZ_CHECK(!msg_read_string(&r, key, true, 1024), "string reader took a %d",
			           json_typeof(v));
			break;
		}
	}
	reader_done(&r, true);
}

static void check_roundtrip(json_t *body, const struct msg_envelope *env)
{
	size_t len;
	char *text = msg_dump(body, &len);
	struct msg_envelope env2;
	json_t *body2 = NULL;
	GError *err = NULL;
	int rc = msg_parse(text, len, MSG_MAX_SIZE * 2, &env2, &body2, &err);
	FUZZ_CHECK(rc == 0, "re-parse of an accepted message failed: %s", err ? err->message : "?");
	FUZZ_CHECK(strcmp(env->kind, env2.kind) == 0 && env->seq == env2.seq && env->ts == env2.ts,
	           "envelope changed by dump + re-parse");
	FUZZ_CHECK(json_equal(body, body2), "body changed by dump + re-parse: %s", text);
	json_decref(body2);
	g_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();
	struct msg_envelope env;
	json_t *body = NULL;
	GError *err = NULL;

	if (size > 0) {
		int rc = msg_parse(data, size, size - 1, &env, &body, &err);
		FUZZ_CHECK(rc == -EMSGSIZE && !body, "a payload over the limit was not refused");
		check_fault(err, "size limit");
		g_clear_error(&err);
	}

	int rc = msg_parse(data, size, MSG_MAX_SIZE, &env, &body, &err);
	if (rc != 0) {
		FUZZ_CHECK(rc == -EINVAL || rc == -EMSGSIZE || rc == -EPROTO,
		           "msg_parse returned %d", rc);
		FUZZ_CHECK(!body, "msg_parse failed but returned a body");
		check_fault(err, "msg_parse");
		g_error_free(err);
		return 0;
	}
	FUZZ_CHECK(!err && json_is_object(body), "msg_parse succeeded without an object");
	size_t kl = strlen(env.kind);
	FUZZ_CHECK(kl > 0 && kl < MSG_KIND_MAX && g_utf8_validate(env.kind, -1, NULL),
	           "bad kind accepted");
	FUZZ_CHECK(env.seq >= 1 && env.ts >= 0, "bad seq/ts accepted");
	FUZZ_CHECK(json_integer_value(json_object_get(body, "v")) == MSG_VERSION,
	           "wrong version accepted");
	check_roundtrip(body, &env);

	if (strcmp(env.kind, "status") == 0)
		read_status(body);
	else if (strcmp(env.kind, "error") == 0)
		read_error(body);
	else if (strcmp(env.kind, "cmd") == 0 || strcmp(env.kind, "request") == 0)
		read_command(body);
	else if (strcmp(env.kind, "reply") == 0)
		read_reply(body, false);
	else if (strcmp(env.kind, "response") == 0)
		read_reply(body, true);
	else
		read_any(body, NULL, 0);
	json_decref(body);
	return 0;
}
