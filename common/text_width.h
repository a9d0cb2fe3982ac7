/* Display width of UTF-8 text for terminals: a CJK character takes two columns, a
 * combining mark none, so tables and wrapped text line up in Chinese as in English. */
#pragma once
#include <glib.h>

/* text_width: the columns UTF-8 text S takes on a terminal (invalid UTF-8 counts one
 * column a byte). */
int text_width(const char *s);

/* text_fit: how many bytes of S fit in WIDTH columns, never cutting a character. */
size_t text_fit(const char *s, int width);

/* text_pad: append S to OUT, then spaces up to WIDTH columns (none if S is wider). */
void text_pad(GString *out, const char *s, int width);

/* text_wrap: TEXT (line breaks become spaces, or nothing between CJK characters) wrapped
 * to lines of at most WIDTH columns, each starting with INDENT and ending in "\n";
 * English breaks at spaces, CJK between any two characters. Newly allocated. */
char *text_wrap(const char *text, const char *indent, int width);
