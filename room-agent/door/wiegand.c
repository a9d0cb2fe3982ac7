/* Wiegand framing after the de-facto HID formats:
 * 26-bit H10301: P(even over bits 1..12) FFFFFFFF NNNNNNNNNNNNNNNN P(odd over bits 13..24);
 * 34-bit: P(even over bits 1..16) F16 N16 P(odd over bits 17..32);
 * keypad: 4-bit (key) or 8-bit (~key in the high nibble, key in the low), 10 = '*', 11 = '#'. */
#include "wiegand.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#define WIEGAND_MAX_BITS 64

struct wiegand {
	uint8_t bits[WIEGAND_MAX_BITS];
	unsigned n;
	int overflow;
	uint64_t last_ts;
	uint64_t pin_timeout_ns;
	char pin[WIEGAND_PIN_MAX + 1];
	unsigned pin_len;
	int pin_overflow;
	uint64_t pin_ts;
};

struct wiegand *wiegand_new(unsigned pin_timeout_ms)
{
	struct wiegand *w = g_new0(struct wiegand, 1);

	w->pin_timeout_ns = (uint64_t)pin_timeout_ms * 1000000u;
	return w;
}

void wiegand_free(struct wiegand *w)
{
	g_free(w);
}

void wiegand_push_bit(struct wiegand *w, int bit, uint64_t ts_ns)
{
	if (w->n < WIEGAND_MAX_BITS)
		w->bits[w->n++] = bit ? 1 : 0;
	else
		w->overflow = 1;
	w->last_ts = ts_ns;
}

unsigned wiegand_pending(const struct wiegand *w)
{
	return w->n;
}

static uint32_t bits_value(const uint8_t *b, unsigned from, unsigned count)
{
	uint32_t v = 0;
	unsigned i;

	for (i = 0; i < count; i++)
		v = (v << 1) | b[from + i];
	return v;
}

static unsigned bits_ones(const uint8_t *b, unsigned from, unsigned count)
{
	unsigned i, ones = 0;

	for (i = 0; i < count; i++)
		ones += b[from + i];
	return ones;
}

static void raw_credential(const struct wiegand *w, struct wiegand_result *out)
{
	unsigned i, max = sizeof(out->credential) - 5;

	strcpy(out->credential, "bad:");
	for (i = 0; i < w->n && i < max; i++)
		out->credential[4 + i] = (char)('0' + w->bits[i]);
	out->credential[4 + i] = '\0';
}

static int decode_card(const struct wiegand *w, unsigned half, unsigned fac_bits,
                       struct wiegand_result *out)
{
	const uint8_t *b = w->bits;
	unsigned n = w->n;

	/* Leading parity covers itself plus the first half: even; trailing covers the rest: odd. */
	if (bits_ones(b, 0, half + 1) % 2 != 0 || bits_ones(b, half + 1, half + 1) % 2 != 1) {
		out->kind = WIEGAND_BAD_PARITY;
		raw_credential(w, out);
		return 1;
	}
	out->kind = WIEGAND_CARD;
	out->facility = bits_value(b, 1, fac_bits);
	out->number = bits_value(b, 1 + fac_bits, n - 2 - fac_bits);
	snprintf(out->credential, sizeof(out->credential), "w%u:%u:%u", n, out->facility,
	         out->number);
	return 1;
}

static int pin_reset(struct wiegand *w)
{
	w->pin_len = 0;
	w->pin_overflow = 0;
	w->pin[0] = '\0';
	return 0;
}

static int decode_key(struct wiegand *w, unsigned key, struct wiegand_result *out)
{
	if (w->pin_len && w->last_ts - w->pin_ts > w->pin_timeout_ns)
		pin_reset(w);
	w->pin_ts = w->last_ts;
	if (key == 10) /* '*' clears what was typed */
		return pin_reset(w);
	if (key == 11) {
		if (!w->pin_len || w->pin_overflow) {
			out->kind = WIEGAND_BAD_PIN;
			snprintf(out->credential, sizeof(out->credential), "bad:pin");
		} else {
			out->kind = WIEGAND_PIN;
			snprintf(out->credential, sizeof(out->credential), "pin:%s", w->pin);
		}
		pin_reset(w);
		return 1;
	}
	if (key > 9) { /* 12..15 are not keys on any keypad */
		out->kind = WIEGAND_BAD_LENGTH;
		snprintf(out->credential, sizeof(out->credential), "bad:key%u", key);
		return 1;
	}
	if (w->pin_len == WIEGAND_PIN_MAX) {
		w->pin_overflow = 1;
		return 0;
	}
	w->pin[w->pin_len++] = (char)('0' + key);
	w->pin[w->pin_len] = '\0';
	return 0;
}

int wiegand_end_frame(struct wiegand *w, struct wiegand_result *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	out->bits = w->n;
	if (!w->n)
		return 0;
	if (w->overflow) {
		out->kind = WIEGAND_BAD_LENGTH;
		raw_credential(w, out);
		rc = 1;
	} else if (w->n == 26) {
		rc = decode_card(w, 12, 8, out);
	} else if (w->n == 34) {
		rc = decode_card(w, 16, 16, out);
	} else if (w->n == 4) {
		rc = decode_key(w, bits_value(w->bits, 0, 4), out);
	} else if (w->n == 8) {
		uint32_t v = bits_value(w->bits, 0, 8);

		if (((v >> 4) ^ 0xfu) != (v & 0xfu)) {
			out->kind = WIEGAND_BAD_PARITY;
			raw_credential(w, out);
			rc = 1;
		} else {
			rc = decode_key(w, v & 0xfu, out);
		}
	} else {
		out->kind = WIEGAND_BAD_LENGTH;
		raw_credential(w, out);
		rc = 1;
	}
	w->n = 0;
	w->overflow = 0;
	return rc;
}
