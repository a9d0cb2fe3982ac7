#include "hex.h"

#include <errno.h>
#include <glib.h>
#include <stdbool.h>
#include <string.h>

char *hex_encode(const uint8_t *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
	return out;
}

char *hex_encode_dup(const uint8_t *bytes, size_t n)
{
	return hex_encode(bytes, n, g_malloc(2 * n + 1));
}

static int digit_value(char c, bool lower_only)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (!lower_only && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int decode(const char *text, uint8_t *out, size_t n, bool lower_only)
{
	if (!text || strlen(text) != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = digit_value(text[2 * i], lower_only);
		int lo = digit_value(text[2 * i + 1], lower_only);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int hex_decode(const char *text, uint8_t *out, size_t n)
{
	return decode(text, out, n, false);
}

int hex_decode_lower(const char *text, uint8_t *out, size_t n)
{
	return decode(text, out, n, true);
}
