/* Large block letters for the seat screen: a 3x5 pixel font (A-Z, 0-9, '-', '_', space),
 * each pixel two columns wide so the seat reads from across the room. */
#pragma once
#include <stddef.h>

#define BIG_TEXT_ROWS 5

/* big_text_width: columns TEXT takes, or -1 when a character has no glyph (lower case is
 * shown as upper case). */
int big_text_width(const char *text);
/* big_text_row: pixel row R (0 top .. BIG_TEXT_ROWS - 1) of TEXT into BUF, '#' for a lit
 * pixel column and ' ' otherwise, NUL-terminated and truncated to SIZE. */
void big_text_row(const char *text, int r, char *buf, size_t size);
