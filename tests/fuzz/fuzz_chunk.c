/* fuzz_chunk: the edge validator of a media chunk's metadata (chunk_meta_parse,
 * common/chunk_meta.c): a chunk's MQTT 5 user properties and its payload's length.
 *
 * Input: the user properties as lines "name=value" (split at the first '='; a line without
 * one is a name with an empty value; bytes are taken as they are, NULs included), then an
 * empty line, then the payload. Without an empty line everything is properties and the
 * payload is empty; an input with no line at all before the empty line has no properties
 * (what an old agent's JSON chunk looks like).
 *
 * Invariants beyond "no crash": a refusal returns a code from the contract with a fault that
 * is non-empty valid UTF-8 (it is published as a JSON string in `error`) and names a user
 * property, the payload or the version; an accepted chunk has sane values (identifier,
 * lower-case hex hash, ranges, the payload inside its segment, `last` exactly at its end),
 * and its properties are exactly the canonical ones chunk_meta_props writes for the parsed
 * values (so no two texts mean the same chunk), which parse back to the same values. */
#include <errno.h>
#include <string.h>

#include "chunk_meta.h"
#include "fuzz.h"

#define MAX_PROPS 64

static void check_accepted(const struct mqtt_user_prop *props, size_t n, const void *payload,
                           size_t len, const struct chunk_meta *m)
{
	FUZZ_CHECK(n == CHUNK_PROPS, "accepted with %zu properties", n);
	FUZZ_CHECK(id_valid(m->stream), "accepted a bad stream");
	FUZZ_CHECK(strlen(m->sha256) == 64 && strspn(m->sha256, "0123456789abcdef") == 64,
	           "accepted a bad sha256");
	FUZZ_CHECK(m->seq >= 1 && m->ts >= 0 && m->segment_seq >= 1 && m->start_us >= 0 &&
	               m->end_us >= m->start_us,
	           "accepted out-of-range numbers");
	FUZZ_CHECK(m->size >= 1 && m->size <= CHUNK_SEGMENT_MAX_BYTES && m->offset >= 0,
	           "accepted a bad size or offset");
	FUZZ_CHECK(len >= 1 && len <= CHUNK_MAX_BYTES && m->offset + (int64_t)len <= m->size,
	           "accepted a payload outside its segment");
	FUZZ_CHECK(m->last == (m->offset + (int64_t)len == m->size), "accepted a wrong 'last'");

	/* Canonical: the input's properties are the rebuilt ones, in any order. */
	struct chunk_props built;
	chunk_meta_props(m, &built);
	for (size_t i = 0; i < n; i++) {
		bool found = false;
		for (int k = 0; k < CHUNK_PROPS && !found; k++)
			found = props[i].name_len == built.p[k].name_len &&
			        memcmp(props[i].name, built.p[k].name, props[i].name_len) == 0 &&
			        props[i].value_len == built.p[k].value_len &&
			        memcmp(props[i].value, built.p[k].value, props[i].value_len) == 0;
		FUZZ_CHECK(found, "accepted a non-canonical property %.*s=%.*s",
		           (int)props[i].name_len, props[i].name, (int)props[i].value_len,
		           props[i].value);
	}
	struct chunk_meta again;
	GError *err = NULL;
	int rc = chunk_meta_parse(built.p, CHUNK_PROPS, payload, len, &again, &err);
	FUZZ_CHECK(rc == 0, "rebuilt properties refused: %s", err ? err->message : "?");
	FUZZ_CHECK(memcmp(&again, m, sizeof(again)) == 0, "rebuilt properties parse differently");
}

static void check_refused(int rc, const GError *err, size_t n)
{
	FUZZ_CHECK(rc == -EINVAL || rc == -EPROTO || rc == -EMSGSIZE,
	           "chunk_meta_parse returned %d", rc);
	FUZZ_CHECK(err && err->message && *err->message, "refused without a fault");
	FUZZ_CHECK(g_utf8_validate(err->message, -1, NULL), "fault text is not UTF-8: %s",
	           err->message);
	FUZZ_CHECK((rc == -EPROTO) == (err->code == MSG_ERROR_VERSION),
	           "version refusal and error code disagree: %d / %d", rc, err->code);
	FUZZ_CHECK(strstr(err->message, "user propert") || strstr(err->message, "payload") ||
	               strstr(err->message, "version") || (n == 0 && strstr(err->message, "metadata")),
	           "fault names no property, payload or version: %s", err->message);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();
	struct mqtt_user_prop props[MAX_PROPS];
	size_t n = 0, pos = 0;
	const char *text = (const char *)data;
	bool ended = false;
	while (pos < size && !ended) {
		const char *nl = memchr(text + pos, '\n', size - pos);
		size_t line_len = nl ? (size_t)(nl - (text + pos)) : size - pos;
		if (line_len == 0 && nl) {
			ended = true;
		} else if (n < MAX_PROPS) {
			const char *line = text + pos;
			const char *eq = memchr(line, '=', line_len);
			size_t name_len = eq ? (size_t)(eq - line) : line_len;
			props[n++] = (struct mqtt_user_prop){
			    .name = line,
			    .name_len = name_len,
			    .value = eq ? eq + 1 : line + line_len,
			    .value_len = eq ? line_len - name_len - 1 : 0,
			};
		}
		pos += line_len + (nl ? 1 : 0);
	}
	const uint8_t *payload = data + pos;
	size_t len = size - pos;

	struct chunk_meta m;
	GError *err = NULL;
	int rc = chunk_meta_parse(props, n, payload, len, &m, &err);
	if (rc == 0) {
		FUZZ_CHECK(!err, "accepted with an error set");
		check_accepted(props, n, payload, len, &m);
	} else {
		check_refused(rc, err, n);
		g_error_free(err);
	}
	return 0;
}
