#include "text_width.h"

#include <stdbool.h>
#include <string.h>

static int char_width(gunichar c)
{
	if (g_unichar_iszerowidth(c))
		return 0;
	return g_unichar_iswide(c) ? 2 : 1;
}

int text_width(const char *s)
{
	int w = 0;
	const char *end = s + strlen(s);
	while (s < end) {
		gunichar c = g_utf8_get_char_validated(s, end - s);
		if (c == (gunichar)-1 || c == (gunichar)-2) {
			w++;
			s++;
			continue;
		}
		w += char_width(c);
		s = g_utf8_next_char(s);
	}
	return w;
}

size_t text_fit(const char *s, int width)
{
	const char *p = s, *end = s + strlen(s);
	int w = 0;
	while (p < end) {
		gunichar c = g_utf8_get_char_validated(p, end - p);
		const char *next =
		    c == (gunichar)-1 || c == (gunichar)-2 ? p + 1 : g_utf8_next_char(p);
		int cw = next == p + 1 && c >= 0x80 ? 1 : char_width(c);
		if (w + cw > width)
			break;
		w += cw;
		p = next;
	}
	return (size_t)(p - s);
}

void text_pad(GString *out, const char *s, int width)
{
	g_string_append(out, s);
	for (int w = text_width(s); w < width; w++)
		g_string_append_c(out, ' ');
}

/* One unit that is never split: a word of non-wide characters, one wide character, or
 * a run of spaces. Returns its length in bytes from S. */
static size_t next_unit(const char *s, bool *space, bool *wide)
{
	gunichar c = g_utf8_get_char(s);
	*space = c == ' ';
	*wide = g_unichar_iswide(c);
	if (*wide) {
		/* Keep CJK punctuation with its neighbour: no line starts with "。" or "）"
		 * and none ends with "（". */
		const char *p = g_utf8_next_char(s);
		while (*p) {
			gunichar prev = g_utf8_get_char(g_utf8_prev_char(p)),
			         d = g_utf8_get_char(p);
			GUnicodeType t = g_unichar_type(d);
			if (!g_unichar_iswide(d) ||
			    (g_unichar_type(prev) != G_UNICODE_OPEN_PUNCTUATION &&
			     t != G_UNICODE_CLOSE_PUNCTUATION && t != G_UNICODE_OTHER_PUNCTUATION))
				break;
			p = g_utf8_next_char(p);
		}
		return (size_t)(p - s);
	}
	const char *p = s;
	while (*p) {
		gunichar d = g_utf8_get_char(p);
		if ((d == ' ') != *space || g_unichar_iswide(d))
			break;
		p = g_utf8_next_char(p);
	}
	return (size_t)(p - s);
}

char *text_wrap(const char *text, const char *indent, int width)
{
	/* Join the lines first: a line break is a space in English, nothing in CJK. */
	GString *flat = g_string_new(NULL);
	for (const char *p = text; *p; p++) {
		if (*p != '\n')
			g_string_append_c(flat, *p);
		else if (p > text && (unsigned char)p[-1] < 0x80 && p[1] &&
		         (unsigned char)p[1] < 0x80)
			g_string_append_c(flat, ' ');
	}
	char *valid = g_utf8_make_valid(flat->str, -1);
	g_string_free(flat, TRUE);

	GString *out = g_string_new(indent);
	int start = text_width(indent), col = start;
	bool line_empty = true;
	for (const char *p = valid; *p;) {
		bool space, wide;
		size_t n = next_unit(p, &space, &wide);
		char *unit = g_strndup(p, n);
		int w = text_width(unit);
		p += n;
		if (space) {
			if (!line_empty && col + w < width) {
				g_string_append(out, unit);
				col += w;
			}
			g_free(unit);
			continue;
		}
		if (!line_empty && col + w > width) {
			/* Drop the spaces the line ended with, then start the next one. */
			while (out->len && out->str[out->len - 1] == ' ')
				g_string_truncate(out, out->len - 1);
			g_string_append_c(out, '\n');
			g_string_append(out, indent);
			col = start;
		}
		g_string_append(out, unit);
		col += w;
		line_empty = false;
		g_free(unit);
	}
	g_free(valid);
	g_string_append_c(out, '\n');
	return g_string_free(out, FALSE);
}
