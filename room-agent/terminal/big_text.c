#include "big_text.h"

#include <glib.h>
#include <stdbool.h>

#define GLYPH_W    3 /* pixels */
#define PIXEL_COLS 2
#define GAP_COLS   2

/* 15 bits per glyph, row-major from the top-left pixel (bit 14). */
static const struct {
	char c;
	unsigned short bits;
} glyphs[] = {
    {' ', 0x0000}, {'0', 0x7b6f}, {'1', 0x2c97}, {'2', 0x73e7}, {'3', 0x73cf}, {'4', 0x5bc9},
    {'5', 0x79cf}, {'6', 0x79ef}, {'7', 0x7249}, {'8', 0x7bef}, {'9', 0x7bcf}, {'A', 0x2bed},
    {'B', 0x6bae}, {'C', 0x3923}, {'D', 0x6b6e}, {'E', 0x79a7}, {'F', 0x79a4}, {'G', 0x396b},
    {'H', 0x5bed}, {'I', 0x7497}, {'J', 0x126a}, {'K', 0x5bad}, {'L', 0x4927}, {'M', 0x5fed},
    {'N', 0x6b6d}, {'O', 0x2b6a}, {'P', 0x6ba4}, {'Q', 0x2b73}, {'R', 0x6bad}, {'S', 0x388e},
    {'T', 0x7492}, {'U', 0x5b6f}, {'V', 0x5b6a}, {'W', 0x5bfd}, {'X', 0x5aad}, {'Y', 0x5a92},
    {'Z', 0x72a7}, {'-', 0x01c0}, {'_', 0x0007},
};

static int glyph_bits(char c)
{
	c = g_ascii_toupper(c);
	for (size_t i = 0; i < G_N_ELEMENTS(glyphs); i++)
		if (glyphs[i].c == c)
			return glyphs[i].bits;
	return -1;
}

int big_text_width(const char *text)
{
	int n = 0;
	for (const char *p = text; *p; p++, n++)
		if (glyph_bits(*p) < 0)
			return -1;
	return n == 0 ? 0 : n * (GLYPH_W * PIXEL_COLS + GAP_COLS) - GAP_COLS;
}

void big_text_row(const char *text, int r, char *buf, size_t size)
{
	size_t o = 0;
	for (const char *p = text; *p && o + 1 < size; p++) {
		int bits = glyph_bits(*p);
		if (p != text)
			for (int g = 0; g < GAP_COLS && o + 1 < size; g++)
				buf[o++] = ' ';
		for (int x = 0; x < GLYPH_W; x++) {
			bool lit = bits > 0 && (bits >> (14 - (r * GLYPH_W + x))) & 1;
			for (int k = 0; k < PIXEL_COLS && o + 1 < size; k++)
				buf[o++] = lit ? '#' : ' ';
		}
	}
	if (size)
		buf[o] = '\0';
}
