/* msg_parse_lifting: msg_parse with one large top-level string member lifted out first.
 *
 * jansson reads a string a byte at a time (about 70 MB/s here), and a media chunk is almost
 * all one base64 string. When that member's value holds only printable ASCII other than '"'
 * and '\\' (base64 always does), it is cut out of the text before parsing and put back as a
 * string afterwards: the same value jansson would have read, at memory speed. The member
 * keeps its place (as ""), so a duplicate is still refused. Any other case (escapes, other
 * bytes, nesting the scan does not follow, a parse error) goes through msg_parse on the
 * original bytes, so results and error texts are msg_parse's. */
#include <string.h>

#include "msg.h"

/* The position after the string that starts at P ('"'), or NULL. */
static const char *skip_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* The position after the value that starts at P (any JSON value), or NULL. */
static const char *skip_value(const char *p, const char *end)
{
	int depth = 0;
	while (p < end) {
		if (*p == '"') {
			p = skip_string(p, end);
			if (!p)
				return NULL;
			if (depth == 0)
				return p;
			continue;
		}
		if (*p == '{' || *p == '[') {
			depth++;
		} else if (*p == '}' || *p == ']') {
			if (depth == 0)
				return p; /* the end of the enclosing object: a scalar ended */
			if (--depth == 0)
				return p + 1;
		} else if (*p == ',' && depth == 0) {
			return p;
		}
		p++;
	}
	return NULL;
}

/* A printable ASCII byte that stands for itself inside a JSON string. */
static bool plain(unsigned char ch)
{
	return ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\';
}

/* Finds NAME's string value among the top-level members of the object in [P, END): its
 * content [*from, *to) when it is all plain bytes. */
static bool find_plain_member(const char *p, const char *end, const char *name, const char **from,
                              const char **to)
{
	size_t name_len = strlen(name);
	p = skip_space(p, end);
	if (p == end || *p != '{')
		return false;
	for (p++;;) {
		p = skip_space(p, end);
		if (p == end || *p != '"')
			return false;
		const char *key = p + 1, *after = skip_string(p, end);
		if (!after)
			return false;
		bool match = (size_t)(after - 1 - key) == name_len && !memcmp(key, name, name_len);
		p = skip_space(after, end);
		if (p == end || *p != ':')
			return false;
		p = skip_space(p + 1, end);
		if (match) {
			if (p == end || *p != '"')
				return false;
			const char *q = p + 1;
			while (q < end && plain((unsigned char)*q))
				q++;
			if (q == end || *q != '"')
				return false;
			*from = p + 1;
			*to = q;
			return true;
		}
		p = skip_value(p, end);
		if (!p)
			return false;
		p = skip_space(p, end);
		if (p == end || *p != ',')
			return false;
		p++;
	}
}

bool msg_plain_member(const void *payload, size_t len, const char *member, size_t *from, size_t *to)
{
	const char *text = payload, *f, *t;
	if (!find_plain_member(text, text + len, member, &f, &t))
		return false;
	*from = (size_t)(f - text);
	*to = (size_t)(t - text);
	return true;
}

int msg_parse_lifting(const void *payload, size_t len, size_t max_len, const char *member,
                      struct msg_envelope *env, json_t **body, GError **err)
{
	const char *text = payload;
	size_t from, to;
	if (len > max_len || !msg_plain_member(payload, len, member, &from, &to) || to - from < 64)
		return msg_parse(payload, len, max_len, env, body, err);
	size_t tail = len - to;
	char *rest = g_malloc(from + tail);
	memcpy(rest, text, from);
	memcpy(rest + from, text + to, tail);
	int rc = msg_parse(rest, from + tail, max_len, env, body, NULL);
	g_free(rest);
	json_t *blank = rc == 0 ? json_object_get(*body, member) : NULL;
	if (!json_is_string(blank) || json_string_length(blank) != 0) {
		/* Not what the scan saw: the ordinary path decides, and words the error. */
		json_decref(*body);
		*body = NULL;
		return msg_parse(payload, len, max_len, env, body, err);
	}
	json_object_set_new(*body, member, json_stringn_nocheck(text + from, to - from));
	return 0;
}
