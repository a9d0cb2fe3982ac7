#include "msg.h"

#include <errno.h>
#include <string.h>

#include "clock.h"

G_DEFINE_QUARK(evalroom_msg_error, msg_error)

static const char *const envelope_members[] = {"v", "kind", "seq", "ts", NULL};

bool id_valid(const char *s)
{
	if (!s || !g_ascii_isalnum(s[0]))
		return false;
	size_t n = strlen(s);
	if (n > MSG_ID_MAX)
		return false;
	for (size_t i = 1; i < n; i++)
		if (!g_ascii_isalnum(s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

int msg_parse(const void *payload, size_t len, size_t max_len, struct msg_envelope *env,
              json_t **body, GError **err)
{
	*body = NULL;
	if (len > max_len) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_TOO_LARGE,
		            "payload of %zu bytes exceeds the limit of %zu", len, max_len);
		return -EMSGSIZE;
	}
	json_error_t je;
	/* JSON_REJECT_DUPLICATES: a repeated member could make two readers see two values. */
	json_t *o = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &je);
	if (!o) {
		/* jansson quotes the bytes near the fault, which may cut a UTF-8 sequence or be
		 * invalid UTF-8; the fault is published as a JSON string, so make it valid. */
		char *text = g_utf8_make_valid(je.text, -1);
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID, "not valid JSON: %s (at byte %d)",
		            text, je.position);
		g_free(text);
		return -EINVAL;
	}
	if (!json_is_object(o)) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID, "payload is not a JSON object");
		json_decref(o);
		return -EINVAL;
	}
	json_t *v = json_object_get(o, "v");
	if (!json_is_integer(v)) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
		            "member 'v': missing or not an integer");
		goto err_invalid;
	}
	if (json_integer_value(v) != MSG_VERSION) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_VERSION,
		            "member 'v': protocol version %" JSON_INTEGER_FORMAT
		            " is not supported (this side speaks %d)",
		            json_integer_value(v), MSG_VERSION);
		json_decref(o);
		return -EPROTO;
	}
	json_t *kind = json_object_get(o, "kind");
	if (!json_is_string(kind) || json_string_length(kind) == 0 ||
	    json_string_length(kind) >= MSG_KIND_MAX) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
		            "member 'kind': missing, not a string or too long");
		goto err_invalid;
	}
	json_t *seq = json_object_get(o, "seq");
	if (!json_is_integer(seq) || json_integer_value(seq) < 1) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
		            "member 'seq': missing or not a positive integer");
		goto err_invalid;
	}
	json_t *ts = json_object_get(o, "ts");
	if (!json_is_integer(ts) || json_integer_value(ts) < 0) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
		            "member 'ts': missing or not a non-negative integer (UTC us)");
		goto err_invalid;
	}
	g_strlcpy(env->kind, json_string_value(kind), sizeof(env->kind));
	env->seq = (uint64_t)json_integer_value(seq);
	env->ts = json_integer_value(ts);
	*body = o;
	return 0;
err_invalid:
	json_decref(o);
	return -EINVAL;
}

int msg_parse_kind(const void *payload, size_t len, size_t max_len, const char *kind,
                   const char *topic_name, struct msg_envelope *env, json_t **body, GError **err)
{
	int rc = msg_parse(payload, len, max_len, env, body, err);
	if (rc != 0)
		return rc;
	if (strcmp(env->kind, kind) != 0) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
		            "kind \"%s\" is not allowed on a%s %s topic", env->kind,
		            strchr("aeiou", topic_name[0]) ? "n" : "", topic_name);
		json_decref(*body);
		*body = NULL;
		return -EINVAL;
	}
	return 0;
}

void msg_reader_init(struct msg_reader *r, json_t *obj, const char *path)
{
	memset(r, 0, sizeof(*r));
	r->obj = obj;
	r->path = path;
}

static void reader_fail(struct msg_reader *r, const char *key, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static void reader_fail(struct msg_reader *r, const char *key, const char *fmt, ...)
{
	if (r->error)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (r->path)
		r->error = g_error_new(MSG_ERROR, MSG_ERROR_INVALID, "member '%s.%s': %s", r->path,
		                       key, what);
	else
		r->error = g_error_new(MSG_ERROR, MSG_ERROR_INVALID, "member '%s': %s", key, what);
	g_free(what);
}

static json_t *reader_get(struct msg_reader *r, const char *key, bool required)
{
	if (r->nseen < G_N_ELEMENTS(r->seen))
		r->seen[r->nseen++] = key;
	if (!json_is_object(r->obj)) {
		reader_fail(r, key, "the enclosing value is not an object");
		return NULL;
	}
	json_t *v = json_object_get(r->obj, key);
	if (!v && required)
		reader_fail(r, key, "missing");
	return v;
}

const char *msg_read_string(struct msg_reader *r, const char *key, bool required, size_t max_len)
{
	json_t *v = reader_get(r, key, required);
	if (!v)
		return NULL;
	if (!json_is_string(v)) {
		reader_fail(r, key, "expected a string");
		return NULL;
	}
	size_t n = json_string_length(v);
	if (n > max_len) {
		reader_fail(r, key, "string of %zu bytes is longer than %zu", n, max_len);
		return NULL;
	}
	if (strlen(json_string_value(v)) != n) {
		reader_fail(r, key, "string contains a NUL character");
		return NULL;
	}
	return json_string_value(v);
}

const char *msg_read_id(struct msg_reader *r, const char *key, bool required)
{
	const char *s = msg_read_string(r, key, required, MSG_ID_MAX);
	if (s && !id_valid(s)) {
		reader_fail(r, key, "\"%s\" is not an identifier ([A-Za-z0-9][A-Za-z0-9_-]*)", s);
		return NULL;
	}
	return s;
}

int msg_read_enum(struct msg_reader *r, const char *key, bool required, const char *const *values)
{
	const char *s = msg_read_string(r, key, required, 64);
	if (!s)
		return -1;
	for (int i = 0; values[i]; i++)
		if (strcmp(values[i], s) == 0)
			return i;
	char *all = g_strjoinv(", ", (char **)values);
	reader_fail(r, key, "\"%s\" is not one of: %s", s, all);
	g_free(all);
	return -1;
}

int64_t msg_read_int(struct msg_reader *r, const char *key, bool required, int64_t min, int64_t max,
                     int64_t def)
{
	json_t *v = reader_get(r, key, required);
	if (!v)
		return def;
	if (!json_is_integer(v)) {
		reader_fail(r, key, "expected an integer");
		return def;
	}
	json_int_t n = json_integer_value(v);
	if (n < min || n > max) {
		reader_fail(r, key,
		            "%" JSON_INTEGER_FORMAT " is out of range [%" G_GINT64_FORMAT
		            ", %" G_GINT64_FORMAT "]",
		            n, (gint64)min, (gint64)max);
		return def;
	}
	return n;
}

bool msg_read_bool(struct msg_reader *r, const char *key, bool required, bool def)
{
	json_t *v = reader_get(r, key, required);
	if (!v)
		return def;
	if (!json_is_boolean(v)) {
		reader_fail(r, key, "expected true or false");
		return def;
	}
	return json_is_true(v);
}

json_t *msg_read_object(struct msg_reader *r, const char *key, bool required)
{
	json_t *v = reader_get(r, key, required);
	if (v && !json_is_object(v)) {
		reader_fail(r, key, "expected an object");
		return NULL;
	}
	return v;
}

json_t *msg_read_array(struct msg_reader *r, const char *key, bool required, size_t max_items)
{
	json_t *v = reader_get(r, key, required);
	if (!v)
		return NULL;
	if (!json_is_array(v)) {
		reader_fail(r, key, "expected an array");
		return NULL;
	}
	if (json_array_size(v) > max_items) {
		reader_fail(r, key, "%zu items exceed the limit of %zu", json_array_size(v),
		            max_items);
		return NULL;
	}
	return v;
}

static bool reader_known(const struct msg_reader *r, const char *key)
{
	if (!r->path)
		for (int i = 0; envelope_members[i]; i++)
			if (strcmp(envelope_members[i], key) == 0)
				return true;
	for (unsigned i = 0; i < r->nseen; i++)
		if (strcmp(r->seen[i], key) == 0)
			return true;
	return false;
}

int msg_reader_finish(struct msg_reader *r, GError **err)
{
	if (!r->error && json_is_object(r->obj)) {
		const char *key;
		json_t *v;
		json_object_foreach(r->obj, key, v)
		{
			if (!reader_known(r, key)) {
				reader_fail(r, key, "unknown member");
				break;
			}
		}
	}
	if (r->error) {
		g_propagate_error(err, r->error);
		r->error = NULL;
		return -EINVAL;
	}
	return 0;
}

json_t *msg_new(const char *kind, struct seq_counter *seq)
{
	return json_pack("{s:i, s:s, s:I, s:I}", "v", MSG_VERSION, "kind", kind, "seq",
	                 (json_int_t)seq_next(seq), "ts", (json_int_t)clock_now_us());
}

char *msg_dump(const json_t *obj, size_t *len)
{
	char *s = json_dumps(obj, JSON_COMPACT);
	char *copy = g_strdup(s ? s : "null");
	free(s);
	if (len)
		*len = strlen(copy);
	return copy;
}
