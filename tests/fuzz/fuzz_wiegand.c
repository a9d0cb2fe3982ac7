/* fuzz_wiegand: the door's Wiegand decoder (bits from a reader's D0/D1 lines, which
 * anyone at the door can drive) against an independent model of the formats in
 * room-agent/door/wiegand.c's header comment.
 *
 * Input: one byte per event. 0xFF ends a frame (the quiet gap); any other byte pushes
 * bit (b & 1) after a gap of (b >> 1)^2 * 0.1 ms, so keypad timeouts (1 s here) happen.
 *
 * Invariants: every frame is reported as the model says: a 26/34-bit card with good
 * parity as CARD with its facility, number and "wN:F:N"; bad parity or length as
 * BAD_* with "bad:..."; keypad keys as a PIN only on '#', with exactly the digits typed
 * since the last '*', '#' or timeout, and a credential that always fits its buffer. */
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "wiegand.h"

#define PIN_TIMEOUT_MS 1000

struct model {
	uint8_t bits[80];
	unsigned n;
	char pin[64];
	unsigned pin_len;
	uint64_t pin_ts;
};

static unsigned ones(const uint8_t *b, unsigned from, unsigned count)
{
	unsigned k = 0;
	for (unsigned i = 0; i < count; i++)
		k += b[from + i];
	return k;
}

static uint32_t value(const uint8_t *b, unsigned from, unsigned count)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < count; i++)
		v = v << 1 | b[from + i];
	return v;
}

static void expect_card(const struct model *m, const struct wiegand_result *r, int rc)
{
	unsigned half = m->n == 26 ? 12 : 16, fac = m->n == 26 ? 8 : 16;
	bool parity = ones(m->bits, 0, half + 1) % 2 == 0 && ones(m->bits, half + 1, half + 1) % 2;
	FUZZ_CHECK(rc == 1, "a %u-bit frame was not reported", m->n);
	if (!parity) {
		FUZZ_CHECK(r->kind == WIEGAND_BAD_PARITY, "bad parity reported as %d", r->kind);
		return;
	}
	char cred[72];
	uint32_t f = value(m->bits, 1, fac), num = value(m->bits, 1 + fac, 16);
	snprintf(cred, sizeof(cred), "w%u:%u:%u", m->n, f, num);
	FUZZ_CHECK(r->kind == WIEGAND_CARD && r->facility == f && r->number == num &&
	               strcmp(r->credential, cred) == 0,
	           "card %s decoded as kind %d %s", cred, r->kind, r->credential);
}

static void expect_key(struct model *m, unsigned key, uint64_t ts, const struct wiegand_result *r,
                       int rc)
{
	if (m->pin_len && ts - m->pin_ts > (uint64_t)PIN_TIMEOUT_MS * 1000000u)
		m->pin_len = 0;
	m->pin_ts = ts;
	if (key == 10) {
		m->pin_len = 0;
		FUZZ_CHECK(rc == 0, "'*' reported");
	} else if (key == 11) {
		FUZZ_CHECK(rc == 1, "'#' not reported");
		if (m->pin_len == 0 || m->pin_len > WIEGAND_PIN_MAX) {
			FUZZ_CHECK(r->kind == WIEGAND_BAD_PIN, "bad PIN reported as %d %s", r->kind,
			           r->credential);
		} else {
			char cred[72];
			snprintf(cred, sizeof(cred), "pin:%.*s", (int)m->pin_len, m->pin);
			FUZZ_CHECK(r->kind == WIEGAND_PIN && strcmp(r->credential, cred) == 0,
			           "PIN %s reported as %d %s", cred, r->kind, r->credential);
		}
		m->pin_len = 0;
	} else if (key > 9) {
		FUZZ_CHECK(rc == 1 && r->kind == WIEGAND_BAD_LENGTH, "key %u reported as %d", key,
		           r->kind);
	} else {
		FUZZ_CHECK(rc == 0, "digit reported");
		if (m->pin_len < sizeof(m->pin))
			m->pin[m->pin_len] = (char)('0' + key);
		if (m->pin_len <= WIEGAND_PIN_MAX)
			m->pin_len++;
	}
}

static void end_frame(struct wiegand *w, struct model *m, uint64_t ts)
{
	struct wiegand_result r;
	FUZZ_CHECK(wiegand_pending(w) == (m->n > 64 ? 64 : m->n), "pending %u, pushed %u",
	           wiegand_pending(w), m->n);
	int rc = wiegand_end_frame(w, &r);
	FUZZ_CHECK(wiegand_pending(w) == 0, "frame not cleared");
	FUZZ_CHECK(memchr(r.credential, '\0', sizeof(r.credential)), "credential unterminated");
	if (m->n == 0) {
		FUZZ_CHECK(rc == 0, "an empty frame was reported");
	} else if (m->n == 26 || m->n == 34) {
		expect_card(m, &r, rc);
	} else if (m->n == 4) {
		expect_key(m, value(m->bits, 0, 4), ts, &r, rc);
	} else if (m->n == 8 && (value(m->bits, 0, 4) ^ 0xfu) == value(m->bits, 4, 4)) {
		expect_key(m, value(m->bits, 4, 4), ts, &r, rc);
	} else {
		FUZZ_CHECK(rc == 1 &&
		               (r.kind == WIEGAND_BAD_LENGTH || r.kind == WIEGAND_BAD_PARITY) &&
		               g_str_has_prefix(r.credential, "bad:"),
		           "%u-bit frame reported as %d %s", m->n, r.kind, r.credential);
	}
	if (rc == 1)
		FUZZ_CHECK(r.bits == m->n || (m->n > 64 && r.bits == 64), "result bits %u for %u",
		           r.bits, m->n);
	m->n = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();
	struct wiegand *w = wiegand_new(PIN_TIMEOUT_MS);
	struct model m = {0};
	uint64_t ts = 1000000000u;
	for (size_t i = 0; i < size; i++) {
		if (data[i] == 0xff) {
			end_frame(w, &m, ts);
			continue;
		}
		uint64_t gap = data[i] >> 1;
		ts += gap * gap * 100000u;
		wiegand_push_bit(w, data[i] & 1, ts);
		if (m.n < sizeof(m.bits))
			m.bits[m.n] = data[i] & 1;
		m.n++;
	}
	end_frame(w, &m, ts);
	wiegand_free(w);
	return 0;
}
