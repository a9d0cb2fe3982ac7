#include "text_safe.h"

#include <glib.h>
#include <string.h>

static bool unsafe(gunichar c)
{
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) || c == 0x061c || c == 0x200e ||
	       c == 0x200f || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
	       c == 0x2028 || c == 0x2029;
}

char *text_display(const char *s)
{
	GString *out = g_string_new(NULL);
	const char *p = s ? s : "", *end = p + strlen(p);

	while (p < end) {
		gunichar c = g_utf8_get_char_validated(p, end - p);
		if (c == (gunichar)-1 || c == (gunichar)-2) {
			g_string_append_printf(out, "\\x%02x", (unsigned char)*p);
			p++;
			continue;
		}
		const char *next = g_utf8_next_char(p);
		if (!unsafe(c))
			g_string_append_len(out, p, next - p);
		else if (c < 0x80)
			g_string_append_printf(out, "\\x%02x", (unsigned)c);
		else
			g_string_append_printf(out, "\\u{%04X}", (unsigned)c);
		p = next;
	}
	return g_string_free(out, FALSE);
}

/* A string member in place, anything else recursively. */
static void display_value(json_t *m)
{
	if (json_is_string(m)) {
		char *safe = text_display(json_string_value(m));
		json_string_set(m, safe);
		g_free(safe);
	} else {
		text_display_json(m);
	}
}

void text_display_json(json_t *v)
{
	const char *key;
	json_t *m;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, key, m) display_value(m);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m) display_value(m);
	}
}

bool text_clean(const char *s)
{
	const char *end;

	if (!s || !g_utf8_validate(s, -1, &end))
		return false;
	for (const char *p = s; *p; p = g_utf8_next_char(p))
		if (unsafe(g_utf8_get_char(p)))
			return false;
	return true;
}
