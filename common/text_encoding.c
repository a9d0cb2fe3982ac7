#include "text_encoding.h"

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <string.h>

/* Characters Chinese names, titles and lists are written with, besides ASCII. */
static bool chinese_text_char(gunichar c)
{
	return (c >= 0x4E00 && c <= 0x9FFF) ||   /* CJK unified ideographs */
	       (c >= 0x3400 && c <= 0x4DBF) ||   /* extension A */
	       (c >= 0x20000 && c <= 0x3134F) || /* extensions B to G (rare names) */
	       (c >= 0x3000 && c <= 0x303F) ||   /* CJK punctuation */
	       (c >= 0xFF00 && c <= 0xFFEF) ||   /* full-width forms */
	       (c >= 0x2010 && c <= 0x2027) ||   /* dashes, quotes, ellipsis */
	       c == 0x00B7 || c == 0x30FB;       /* middle dots between parts of a name */
}

static void refuse(GError **err)
{
	g_set_error_literal(
	    err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
	    _("the file is neither UTF-8 text nor Chinese text saved as GB18030, so its "
	      "names cannot be read safely. Save it as UTF-8 and try again: in Excel, "
	      "\"Save As\" > \"CSV UTF-8 (Comma delimited)\"; in WPS, \"Save As\" and choose "
	      "the UTF-8 encoding; in LibreOffice, \"Save As\" > \"Text CSV\" with the "
	      "character set \"Unicode (UTF-8)\"."));
}

/* Mostly UTF-8 with a few bad bytes (a damaged or cut file) must not pass for GB18030:
 * UTF-8 Chinese read as GB18030 is Chinese-looking nonsense. True when at most one in
 * ten of the non-ASCII bytes falls outside a valid UTF-8 sequence; *LINE is the line of
 * the first bad byte. */
static bool damaged_utf8(const char *data, gsize len, unsigned *line)
{
	gsize high = 0, bad = 0;
	const char *p = data, *end = data + len;
	*line = 0;
	while (p < end) {
		const char *stop;
		g_utf8_validate_len(p, (gsize)(end - p), &stop);
		for (const char *q = p; q < stop; q++)
			high += (unsigned char)*q >= 0x80;
		if (stop >= end)
			break;
		if (!*line) {
			*line = 1;
			for (const char *q = data; q < stop; q++)
				*line += *q == '\n';
		}
		high++;
		bad++;
		p = stop + 1;
	}
	return bad * 10 <= high;
}

char *text_to_utf8(const char *data, gsize len, bool *from_gb18030, GError **err)
{
	*from_gb18030 = false;
	if (memchr(data, '\0', len)) {
		g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
		                    _("the file holds NUL bytes: it is no text file (UTF-16 "
		                      "text? save it as UTF-8)"));
		return NULL;
	}
	if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
		data += 3;
		len -= 3;
	}
	if (g_utf8_validate_len(data, len, NULL))
		return g_strndup(data, len);

	unsigned line;
	if (damaged_utf8(data, len, &line)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
		            _("the file is UTF-8 text with damaged bytes (first on line %u): "
		              "save it again as UTF-8 from the program that made it"),
		            line);
		return NULL;
	}
	gsize written = 0;
	char *text = g_convert(data, (gssize)len, "UTF-8", "GB18030", NULL, &written, NULL);
	if (!text) {
		refuse(err);
		return NULL;
	}
	for (const char *p = text; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (c >= 0x80 && !chinese_text_char(c)) {
			g_free(text);
			refuse(err);
			return NULL;
		}
	}
	*from_gb18030 = true;
	return text;
}
