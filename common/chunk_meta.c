#include "chunk_meta.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The properties, in the order a sender writes them. */
enum prop {
	P_V,
	P_KIND,
	P_SEQ,
	P_TS,
	P_STREAM,
	P_SEGMENT_SEQ,
	P_START_US,
	P_END_US,
	P_SIZE,
	P_SHA256,
	P_RECOVERED,
	P_OFFSET,
	P_LAST,
};

static const char *const prop_names[CHUNK_PROPS] = {
    "v",      "kind",   "seq",       "ts",     "stream",    "segment_seq", "start_us",
    "end_us", "size",   "sha256",    "recovered", "offset", "last",
};

/* More properties than this are refused before any is looked at. */
#define PROPS_MAX (2 * CHUNK_PROPS)

/* A property name fit for an error text (published as a JSON string): printable ASCII,
 * anything else as '?', at most 32 characters. */
static void printable(const char *s, size_t len, char out[40])
{
	size_t n = MIN(len, (size_t)32), i;
	for (i = 0; i < n; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (len > n)
		out[i++] = '.', out[i++] = '.', out[i++] = '.';
	out[i] = '\0';
}

static int fail(GError **err, int code, int rc, const char *name, const char *fmt, ...)
    G_GNUC_PRINTF(5, 6);
static int fail(GError **err, int code, int rc, const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (name)
		g_set_error(err, MSG_ERROR, code, "user property '%s': %s", name, what);
	else
		g_set_error(err, MSG_ERROR, code, "%s", what);
	g_free(what);
	return rc;
}

/* A canonical decimal integer in [MIN, MAX]: digits only, no sign, no leading zero. */
static bool parse_int(const char *s, size_t len, int64_t min, int64_t max, int64_t *out)
{
	if (len == 0 || len > 19 || (len > 1 && s[0] == '0'))
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0'); /* 19 digits fit in 64 bits */
	}
	if (v > (uint64_t)INT64_MAX || (int64_t)v < min || (int64_t)v > max)
		return false;
	*out = (int64_t)v;
	return true;
}

static bool parse_bool(const char *s, size_t len, bool *out)
{
	if (len == 4 && memcmp(s, "true", 4) == 0)
		*out = true;
	else if (len == 5 && memcmp(s, "false", 5) == 0)
		*out = false;
	else
		return false;
	return true;
}

static bool lower_hex64(const char *s, size_t len)
{
	if (len != 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool id_valid_n(const char *s, size_t len)
{
	if (len == 0 || len > MSG_ID_MAX || !g_ascii_isalnum(s[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!g_ascii_isalnum(s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

static int prop_index(const struct mqtt_user_prop *p)
{
	for (int i = 0; i < CHUNK_PROPS; i++)
		if (strlen(prop_names[i]) == p->name_len &&
		    memcmp(prop_names[i], p->name, p->name_len) == 0)
			return i;
	return -1;
}

/* No properties: an old agent's JSON chunk, or no metadata at all. */
static int no_props(const void *payload, size_t len, GError **err)
{
	const char *s = payload;
	size_t i = 0;
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	if (i < len && s[i] == '{')
		return fail(err, MSG_ERROR_VERSION, -EPROTO, NULL,
		            "a JSON segment.chunk with base64 data (chunk version 1) is no longer "
		            "accepted: this controller speaks chunk version %d (the media bytes "
		            "as the payload, the metadata in MQTT 5 user properties; "
		            "schemas/topics.md); update the agent",
		            CHUNK_VERSION);
	return fail(err, MSG_ERROR_INVALID, -EINVAL, NULL,
	            "no metadata: a media chunk (version %d) carries its metadata in MQTT 5 user "
	            "properties",
	            CHUNK_VERSION);
}

/* Reads property I's value into M. 0, or -EINVAL with *err. */
static int read_value(int i, const char *s, size_t len, struct chunk_meta *m, GError **err)
{
	const char *name = prop_names[i];
	int64_t v = 0;
	switch ((enum prop)i) {
	case P_V:
		break; /* checked before the others */
	case P_KIND:
		if (len != strlen("segment.chunk") || memcmp(s, "segment.chunk", len) != 0)
			return fail(err, MSG_ERROR_INVALID, -EINVAL, name,
			            "must be \"segment.chunk\" on a media topic");
		break;
	case P_STREAM:
		if (!id_valid_n(s, len))
			return fail(err, MSG_ERROR_INVALID, -EINVAL, name,
			            "not an identifier ([A-Za-z0-9][A-Za-z0-9_-]{0,31})");
		memcpy(m->stream, s, len);
		m->stream[len] = '\0';
		break;
	case P_SHA256:
		if (!lower_hex64(s, len))
			return fail(err, MSG_ERROR_INVALID, -EINVAL, name,
			            "not 64 lower-case hex digits");
		memcpy(m->sha256, s, 64);
		m->sha256[64] = '\0';
		break;
	case P_RECOVERED:
	case P_LAST:
		if (!parse_bool(s, len, i == P_LAST ? &m->last : &m->recovered))
			return fail(err, MSG_ERROR_INVALID, -EINVAL, name,
			            "must be \"true\" or \"false\"");
		break;
	case P_SEQ:
	case P_SEGMENT_SEQ:
		if (!parse_int(s, len, 1, INT64_MAX, &v))
			return fail(err, MSG_ERROR_INVALID, -EINVAL, name,
			            "not a decimal integer from 1 to %" PRId64, INT64_MAX);
		if (i == P_SEQ)
			m->seq = (uint64_t)v;
		else
			m->segment_seq = v;
		break;
	case P_TS:
	case P_START_US:
	case P_END_US:
		if (!parse_int(s, len, 0, INT64_MAX, &v))
			return fail(err, MSG_ERROR_INVALID, -EINVAL, name,
			            "not a decimal integer from 0 to %" PRId64, INT64_MAX);
		*(i == P_TS ? &m->ts : i == P_START_US ? &m->start_us : &m->end_us) = v;
		break;
	case P_SIZE:
		if (!parse_int(s, len, 1, CHUNK_SEGMENT_MAX_BYTES, &m->size))
			return fail(err, MSG_ERROR_INVALID, -EINVAL, name,
			            "not a decimal integer from 1 to %" PRId64,
			            CHUNK_SEGMENT_MAX_BYTES);
		break;
	case P_OFFSET:
		if (!parse_int(s, len, 0, CHUNK_SEGMENT_MAX_BYTES - 1, &m->offset))
			return fail(err, MSG_ERROR_INVALID, -EINVAL, name,
			            "not a decimal integer from 0 to %" PRId64,
			            CHUNK_SEGMENT_MAX_BYTES - 1);
		break;
	}
	return 0;
}

int chunk_meta_parse(const struct mqtt_user_prop *props, size_t n, const void *payload, size_t len,
                     struct chunk_meta *out, GError **err)
{
	memset(out, 0, sizeof(*out));
	if (n == 0)
		return no_props(payload, len, err);
	if (n > PROPS_MAX)
		return fail(err, MSG_ERROR_INVALID, -EINVAL, NULL,
		            "%zu user properties: a media chunk has %d", n, CHUNK_PROPS);
	/* The version first, so an agent of another version hears that and nothing else. */
	for (size_t k = 0; k < n; k++) {
		const struct mqtt_user_prop *p = &props[k];
		if (prop_index(p) != P_V)
			continue;
		int64_t v;
		if (!parse_int(p->value, p->value_len, 0, INT64_MAX, &v) || v != CHUNK_VERSION) {
			char shown[40];
			printable(p->value, p->value_len, shown);
			return fail(err, MSG_ERROR_VERSION, -EPROTO, "v",
			            "chunk version \"%s\" is not supported: this controller speaks "
			            "chunk version %d (schemas/topics.md)",
			            shown, CHUNK_VERSION);
		}
	}
	bool seen[CHUNK_PROPS] = {false};
	for (size_t k = 0; k < n; k++) {
		const struct mqtt_user_prop *p = &props[k];
		int i = prop_index(p);
		if (i < 0) {
			char shown[40];
			printable(p->name, p->name_len, shown);
			return fail(err, MSG_ERROR_INVALID, -EINVAL, shown, "unknown");
		}
		if (seen[i])
			return fail(err, MSG_ERROR_INVALID, -EINVAL, prop_names[i], "given twice");
		seen[i] = true;
		if (p->value_len > CHUNK_VALUE_MAX || memchr(p->value, '\0', p->value_len))
			return fail(err, MSG_ERROR_INVALID, -EINVAL, prop_names[i],
			            p->value_len > CHUNK_VALUE_MAX ? "value too long"
			                                           : "value holds a NUL");
		int rc = read_value(i, p->value, p->value_len, out, err);
		if (rc)
			return rc;
	}
	for (int i = 0; i < CHUNK_PROPS; i++)
		if (!seen[i])
			return fail(err, MSG_ERROR_INVALID, -EINVAL, prop_names[i], "missing");
	if (out->end_us < out->start_us)
		return fail(err, MSG_ERROR_INVALID, -EINVAL, "end_us", "before start_us");
	if (len == 0)
		return fail(err, MSG_ERROR_INVALID, -EINVAL, NULL, "payload: empty (no media bytes)");
	if (len > CHUNK_MAX_BYTES)
		return fail(err, MSG_ERROR_TOO_LARGE, -EMSGSIZE, NULL,
		            "payload of %zu bytes exceeds the chunk limit of %d", len,
		            CHUNK_MAX_BYTES);
	if (out->offset + (int64_t)len > out->size)
		return fail(err, MSG_ERROR_INVALID, -EINVAL, "offset",
		            "%" PRId64 " + %zu payload bytes is beyond 'size' (%" PRId64 ")",
		            out->offset, len, out->size);
	if (out->last != (out->offset + (int64_t)len == out->size))
		return fail(err, MSG_ERROR_INVALID, -EINVAL, "last",
		            out->last ? "true, but the payload does not end at 'size'"
		                      : "false, but the payload ends at 'size'");
	return 0;
}

void chunk_meta_props(const struct chunk_meta *m, struct chunk_props *out)
{
	/* The numbers, as the receiver reads them (a negative one would be refused there). */
	const uint64_t num[CHUNK_PROPS] = {
	    [P_V] = CHUNK_VERSION,
	    [P_SEQ] = m->seq,
	    [P_TS] = (uint64_t)m->ts,
	    [P_SEGMENT_SEQ] = (uint64_t)m->segment_seq,
	    [P_START_US] = (uint64_t)m->start_us,
	    [P_END_US] = (uint64_t)m->end_us,
	    [P_SIZE] = (uint64_t)m->size,
	    [P_OFFSET] = (uint64_t)m->offset,
	};
	const char *const text[CHUNK_PROPS] = {
	    [P_KIND] = "segment.chunk",
	    [P_STREAM] = m->stream,
	    [P_SHA256] = m->sha256,
	    [P_RECOVERED] = m->recovered ? "true" : "false",
	    [P_LAST] = m->last ? "true" : "false",
	};
	for (int i = 0; i < CHUNK_PROPS; i++) {
		char *t = out->text[i];
		if (text[i])
			g_strlcpy(t, text[i], sizeof(out->text[i]));
		else
			snprintf(t, sizeof(out->text[i]), "%" PRIu64, num[i]);
		out->p[i] = (struct mqtt_user_prop){.name = prop_names[i],
		                                    .value = t,
		                                    .name_len = strlen(prop_names[i]),
		                                    .value_len = strlen(t)};
	}
}
