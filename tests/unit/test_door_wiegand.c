/* Wiegand decoding: card formats, parity, lengths and keypad PINs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wiegand.h"

#define MS 1000000ull

static void push_bits(struct wiegand *w, const char *bits, uint64_t *ts)
{
	for (; *bits; bits++, *ts += 2 * MS)
		wiegand_push_bit(w, *bits == '1', *ts);
}

static int frame(struct wiegand *w, const char *bits, uint64_t *ts, struct wiegand_result *r)
{
	push_bits(w, bits, ts);
	*ts += 100 * MS;
	return wiegand_end_frame(w, r);
}

/* Build a card frame with its parity bits, independently of the decoder. */
static void card_bits(unsigned len, uint32_t fac, uint32_t num, char *out)
{
	unsigned half = (len - 2) / 2, i, ones;
	uint64_t data = ((uint64_t)fac << 16) | num;

	for (i = 0; i < len - 2; i++)
		out[1 + i] = (char)('0' + ((data >> (len - 3 - i)) & 1));
	for (ones = 0, i = 1; i <= half; i++)
		ones += out[i] == '1';
	out[0] = ones % 2 ? '1' : '0';
	for (ones = 0, i = half + 1; i <= len - 2; i++)
		ones += out[i] == '1';
	out[len - 1] = ones % 2 ? '0' : '1';
	out[len] = '\0';
}

static void test_26bit_known_vector(void **state)
{
	struct wiegand *w = wiegand_new(10000);
	struct wiegand_result r;
	uint64_t ts = MS;

	/* Facility 1, card 1 in H10301: even parity 1, odd parity 0. */
	assert_int_equal(frame(w, "10000000100000000000000010", &ts, &r), 1);
	assert_int_equal(r.kind, WIEGAND_CARD);
	assert_int_equal(r.bits, 26);
	assert_int_equal(r.facility, 1);
	assert_int_equal(r.number, 1);
	assert_string_equal(r.credential, "w26:1:1");
	wiegand_free(w);
}

static void test_26bit_and_34bit_roundtrip(void **state)
{
	struct wiegand *w = wiegand_new(10000);
	struct wiegand_result r;
	uint64_t ts = MS;
	char bits[40];

	card_bits(26, 255, 65535, bits);
	assert_int_equal(frame(w, bits, &ts, &r), 1);
	assert_int_equal(r.kind, WIEGAND_CARD);
	assert_string_equal(r.credential, "w26:255:65535");
	card_bits(26, 12, 3456, bits);
	assert_int_equal(frame(w, bits, &ts, &r), 1);
	assert_string_equal(r.credential, "w26:12:3456");
	card_bits(34, 40000, 12345, bits);
	assert_int_equal(frame(w, bits, &ts, &r), 1);
	assert_int_equal(r.kind, WIEGAND_CARD);
	assert_int_equal(r.bits, 34);
	assert_int_equal(r.facility, 40000);
	assert_int_equal(r.number, 12345);
	assert_string_equal(r.credential, "w34:40000:12345");
	wiegand_free(w);
}

static void test_parity_errors_reported_not_guessed(void **state)
{
	struct wiegand *w = wiegand_new(10000);
	struct wiegand_result r;
	uint64_t ts = MS;
	char bits[40];
	unsigned pos;

	for (pos = 0; pos < 26; pos++) {
		card_bits(26, 12, 3456, bits);
		bits[pos] = bits[pos] == '1' ? '0' : '1';
		assert_int_equal(frame(w, bits, &ts, &r), 1);
		assert_int_equal(r.kind, WIEGAND_BAD_PARITY);
		assert_int_equal(r.bits, 26);
		assert_memory_equal(r.credential, "bad:", 4);
		assert_string_equal(r.credential + 4, bits);
	}
	card_bits(34, 1, 2, bits);
	bits[33] = bits[33] == '1' ? '0' : '1';
	assert_int_equal(frame(w, bits, &ts, &r), 1);
	assert_int_equal(r.kind, WIEGAND_BAD_PARITY);
	wiegand_free(w);
}

static void test_wrong_lengths(void **state)
{
	struct wiegand *w = wiegand_new(10000);
	struct wiegand_result r;
	uint64_t ts = MS;
	char bits[80];

	assert_int_equal(frame(w, "101", &ts, &r), 1);
	assert_int_equal(r.kind, WIEGAND_BAD_LENGTH);
	assert_int_equal(r.bits, 3);
	card_bits(26, 1, 1, bits);
	bits[25] = '\0';
	assert_int_equal(frame(w, bits, &ts, &r), 1);
	assert_int_equal(r.kind, WIEGAND_BAD_LENGTH);
	memset(bits, '1', 70);
	bits[70] = '\0';
	assert_int_equal(frame(w, bits, &ts, &r), 1);
	assert_int_equal(r.kind, WIEGAND_BAD_LENGTH);
	/* Nothing pending: nothing to report. */
	assert_int_equal(wiegand_end_frame(w, &r), 0);
	wiegand_free(w);
}

static const char *const key4[] = {"0000", "0001", "0010", "0011", "0100", "0101",
                                   "0110", "0111", "1000", "1001", "1010", "1011"};
static const char *const key8[] = {"11110000", "11100001", "11010010", "11000011",
                                   "10110100", "10100101", "10010110", "10000111",
                                   "01111000", "01101001", "01011010", "01001011"};

static int keys(struct wiegand *w, const char *const *tab, const char *typed, uint64_t *ts,
                struct wiegand_result *r)
{
	int rc = 0;

	for (; *typed; typed++) {
		int k = *typed == '*' ? 10 : *typed == '#' ? 11 : *typed - '0';

		rc = frame(w, tab[k], ts, r);
		if (*typed != '#')
			assert_int_equal(rc, 0);
	}
	return rc;
}

static void test_keypad_pins(void **state)
{
	struct wiegand *w = wiegand_new(10000);
	struct wiegand_result r;
	uint64_t ts = MS;

	assert_int_equal(keys(w, key4, "4711#", &ts, &r), 1);
	assert_int_equal(r.kind, WIEGAND_PIN);
	assert_string_equal(r.credential, "pin:4711");
	assert_int_equal(keys(w, key8, "9080#", &ts, &r), 1);
	assert_int_equal(r.kind, WIEGAND_PIN);
	assert_string_equal(r.credential, "pin:9080");
	/* '*' clears what was typed before. */
	assert_int_equal(keys(w, key4, "99*123#", &ts, &r), 1);
	assert_string_equal(r.credential, "pin:123");
	/* '#' alone or too many digits: a bad PIN, not a truncated one. */
	assert_int_equal(keys(w, key4, "#", &ts, &r), 1);
	assert_int_equal(r.kind, WIEGAND_BAD_PIN);
	assert_int_equal(keys(w, key4, "1234567890123#", &ts, &r), 1);
	assert_int_equal(r.kind, WIEGAND_BAD_PIN);
	wiegand_free(w);
}

static void test_keypad_bad_complement_and_timeout(void **state)
{
	struct wiegand *w = wiegand_new(1000);
	struct wiegand_result r;
	uint64_t ts = MS;

	assert_int_equal(frame(w, "11110001", &ts, &r), 1);
	assert_int_equal(r.kind, WIEGAND_BAD_PARITY);
	assert_int_equal(keys(w, key4, "12", &ts, &r), 0);
	ts += 5000 * MS; /* longer than the PIN timeout: start over */
	assert_int_equal(keys(w, key4, "34#", &ts, &r), 1);
	assert_string_equal(r.credential, "pin:34");
	wiegand_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_26bit_known_vector),
	    cmocka_unit_test(test_26bit_and_34bit_roundtrip),
	    cmocka_unit_test(test_parity_errors_reported_not_guessed),
	    cmocka_unit_test(test_wrong_lengths),
	    cmocka_unit_test(test_keypad_pins),
	    cmocka_unit_test(test_keypad_bad_complement_and_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
