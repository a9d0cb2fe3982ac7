#include "leaf.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "hex.h"

#define LEAF_MAGIC "evalroom-leaf v1 "

static void put_line(GByteArray *b, const char *key, const char *value)
{
	g_byte_array_append(b, (const guint8 *)key, (guint)strlen(key));
	g_byte_array_append(b, (const guint8 *)" ", 1);
	g_byte_array_append(b, (const guint8 *)value, (guint)strlen(value));
	g_byte_array_append(b, (const guint8 *)"\n", 1);
}

static void put_int(GByteArray *b, const char *key, int64_t v)
{
	char num[32];

	snprintf(num, sizeof(num), "%" G_GINT64_FORMAT, v);
	put_line(b, key, num);
}

/* Free text goes last-but-length-prefixed so any byte sequence is unambiguous. */
static void put_blob(GByteArray *b, const char *key, const char *text)
{
	size_t n = strlen(text);

	put_int(b, key, (int64_t)n);
	g_byte_array_append(b, (const guint8 *)text, (guint)n);
	g_byte_array_append(b, (const guint8 *)"\n", 1);
}

static GByteArray *start(const char *type)
{
	GByteArray *b = g_byte_array_new();

	g_byte_array_append(b, (const guint8 *)LEAF_MAGIC, (guint)strlen(LEAF_MAGIC));
	g_byte_array_append(b, (const guint8 *)type, (guint)strlen(type));
	g_byte_array_append(b, (const guint8 *)"\n", 1);
	return b;
}

GByteArray *leaf_tender_data(const struct archive_tender *t)
{
	GByteArray *b = start("tender");

	put_line(b, "tender", t->tender);
	put_line(b, "session", t->session);
	put_int(b, "created", t->created_us);
	put_blob(b, "name", t->name);
	return b;
}

GByteArray *leaf_draw_data(const char *record, int64_t time_us)
{
	GByteArray *b = start("draw");

	put_int(b, "time", time_us);
	put_blob(b, "record", record);
	return b;
}

GByteArray *leaf_event_data(const struct archive_event *ev)
{
	GByteArray *b = start("event");

	put_int(b, "time", ev->time_us);
	put_line(b, "kind", ev->kind);
	put_line(b, "source", ev->source);
	put_blob(b, "body", ev->body);
	return b;
}

GByteArray *leaf_segment_data(const struct archive_segment_info *s)
{
	GByteArray *b = start("segment");
	char hex[65];

	hex_encode(s->sha256, 32, hex);
	put_line(b, "stream", s->stream);
	put_int(b, "seq", s->seq);
	put_int(b, "start", s->start_us);
	put_int(b, "end", s->end_us);
	put_int(b, "size", s->size);
	put_line(b, "sha256", hex);
	put_line(b, "container", s->container);
	return b;
}

GByteArray *leaf_gap_data(const struct archive_gap *g)
{
	GByteArray *b = start("gap");

	put_line(b, "stream", g->stream);
	put_int(b, "from", g->from_us);
	put_int(b, "to", g->to_us);
	put_blob(b, "reason", g->reason);
	return b;
}

static int in_set(char c, const char *extra)
{
	return g_ascii_isalnum(c) || (c && strchr(extra, c));
}

/* first char alnum, the rest alnum or `extra`, 1..max chars. */
static int is_ident(const char *s, const char *extra, size_t max)
{
	size_t i;

	if (!s || !g_ascii_isalnum(s[0]))
		return 0;
	for (i = 1; s[i]; i++)
		if (i >= max || !in_set(s[i], extra))
			return 0;
	return 1;
}

static int is_kind(const char *s)
{
	size_t i;

	if (!s || !(g_ascii_islower(s[0]) || g_ascii_isdigit(s[0])))
		return 0;
	for (i = 1; s[i]; i++)
		if (i >= 64 ||
		    !(g_ascii_islower(s[i]) || g_ascii_isdigit(s[i]) || strchr("._-", s[i])))
			return 0;
	return 1;
}

int leaf_tender_id_valid(const char *s)
{
	return is_ident(s, "_.-", 64);
}

const char *leaf_check_tender(const struct archive_tender *t)
{
	if (!is_ident(t->tender, "_.-", 64))
		return "tender: must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}";
	if (!is_ident(t->session, "_.-", 64))
		return "session: must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}";
	if (!t->name || !g_utf8_validate(t->name, -1, NULL))
		return "name: missing or not UTF-8";
	if (t->created_us < 0)
		return "created: negative time";
	if (t->site && !is_ident(t->site, "_.-", 64))
		return "site: must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}";
	return NULL;
}

const char *leaf_check_event(const struct archive_event *ev)
{
	json_t *j;
	json_error_t err;
	int obj;

	if (ev->time_us < 0)
		return "time: negative";
	if (!is_kind(ev->kind))
		return "kind: must match [a-z0-9][a-z0-9._-]{0,63}";
	if (!is_ident(ev->source, "_.:/-", 128))
		return "source: must match [A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}";
	if (!ev->body)
		return "body: missing";
	j = json_loads(ev->body, JSON_REJECT_DUPLICATES, &err);
	obj = j && json_is_object(j);
	json_decref(j);
	if (!obj)
		return "body: not a JSON object";
	return NULL;
}

const char *leaf_check_segment(const struct archive_segment_info *s)
{
	if (!is_ident(s->stream, "_.:/-", 128))
		return "stream: must match [A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}";
	if (s->seq < 0)
		return "seq: negative";
	if (s->start_us < 0 || s->end_us < s->start_us)
		return "start/end: negative or end before start";
	if (s->size <= 0)
		return "size: must be > 0";
	if (!s->container || strcmp(s->container, "mpegts") != 0)
		return "container: must be \"mpegts\"";
	return NULL;
}

const char *leaf_check_gap(const struct archive_gap *g)
{
	if (!is_ident(g->stream, "_.:/-", 128))
		return "stream: must match [A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}";
	if (g->from_us < 0 || g->to_us < g->from_us)
		return "from/to: negative or to before from";
	if (!g->reason || !g->reason[0] || !g_utf8_validate(g->reason, -1, NULL))
		return "reason: missing, empty or not UTF-8";
	return NULL;
}

int leaf_parse_time(const char *text, int64_t *out_us)
{
	GTimeZone *utc;
	GDateTime *dt;
	char *end;
	gint64 v;

	if (!text || !*text)
		return -EINVAL;
	if (g_ascii_isdigit(text[0]) && !strchr(text, '-')) {
		errno = 0;
		v = g_ascii_strtoll(text, &end, 10);
		if (errno || *end || v < 0)
			return -EINVAL;
		*out_us = v;
		return 0;
	}
	utc = g_time_zone_new_utc();
	dt = g_date_time_new_from_iso8601(text, utc);
	g_time_zone_unref(utc);
	if (!dt)
		return -EINVAL;
	*out_us = g_date_time_to_unix(dt) * 1000000 + g_date_time_get_microsecond(dt);
	g_date_time_unref(dt);
	return 0;
}

char *checkpoint_body(const char *tender, uint64_t size, const uint8_t root[32], int64_t time_us)
{
	char hex[65], when[64];

	hex_encode(root, 32, hex);
	clock_format_us(time_us, when, sizeof(when));
	return g_strdup_printf("evalroom-archive checkpoint v1\ntender %s\nsize %" G_GUINT64_FORMAT
	                       "\nroot %s\ntime %s\n",
	                       tender, size, hex, when);
}

char *checkpoint_origin(const char *site, const char *tender)
{
	return g_strdup_printf("%s/evalroom/%s", site, tender);
}

char *checkpoint_body_v2(const struct checkpoint_fields *f)
{
	char prev[65], key[65], when[64], sealed[80] = "", key2[80] = "";
	char *root = g_base64_encode(f->root, 32), *body;

	hex_encode(f->prev, 32, prev);
	hex_encode(f->key_hash, 32, key);
	if (f->key2_hash) {
		char h[65];

		hex_encode(f->key2_hash, 32, h);
		snprintf(key2, sizeof(key2), "key2 %s\n", h);
	}
	clock_format_us(f->time_us, when, sizeof(when));
	if (f->sealed_us >= 0) {
		char at[64];

		clock_format_us(f->sealed_us, at, sizeof(at));
		snprintf(sealed, sizeof(sealed), "sealed %s\n", at);
	}
	body = g_strdup_printf("%s\n%" G_GUINT64_FORMAT "\n%s\ntime %s\nprev %s\nkey %s\n%s%s",
	                       f->origin, f->size, root, when, prev, key, key2, sealed);
	g_free(root);
	return body;
}

void checkpoint_sha256(const void *data, size_t len, uint8_t out[32])
{
	EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL);
}

char *checkpoint_line_value(const char *body, const char *key)
{
	char **lines = g_strsplit(body, "\n", -1), *v = NULL;
	size_t n = strlen(key);

	for (char **l = lines; *l && !v; l++)
		if (!strncmp(*l, key, n) && (*l)[n] == ' ')
			v = g_strdup(*l + n + 1);
	g_strfreev(lines);
	return v;
}
