/* The check-in's pure parts: door PINs, login codes, card credentials, the code digest
 * the agent compares, and the admission window. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "checkin_codes.h"

static void test_pin_shape_and_spread(void **state)
{
	(void)state;
	unsigned counts[10] = {0};
	char prev[16] = "", pin[16];
	unsigned repeats = 0;
	for (int i = 0; i < 2000; i++) {
		assert_int_equal(checkin_pin_new(pin, sizeof(pin)), 0);
		assert_int_equal(strlen(pin), 4 + CHECKIN_PIN_LEN);
		assert_memory_equal(pin, "pin:", 4);
		for (int k = 4; k < 10; k++) {
			assert_true(pin[k] >= '0' && pin[k] <= '9');
			counts[pin[k] - '0']++;
		}
		repeats += strcmp(prev, pin) == 0;
		strcpy(prev, pin);
	}
	/* 12000 digits: each should appear about 1200 times; 900..1500 is > 8 sigma wide. */
	for (int d = 0; d < 10; d++)
		assert_in_range(counts[d], 900, 1500);
	assert_true(repeats < 3);
	assert_int_equal(checkin_pin_new(pin, 10), -EINVAL);
}

static void test_code_alphabet_and_spread(void **state)
{
	(void)state;
	const char *alphabet = CHECKIN_CODE_ALPHABET;
	size_t n = strlen(alphabet);
	unsigned counts[64] = {0};
	char code[CHECKIN_CODE_LEN + 1];
	for (int i = 0; i < 3000; i++) {
		assert_int_equal(checkin_code_new(code, sizeof(code)), 0);
		assert_int_equal(strlen(code), CHECKIN_CODE_LEN);
		assert_true(checkin_code_valid(code));
		for (int k = 0; k < CHECKIN_CODE_LEN; k++) {
			const char *at = strchr(alphabet, code[k]);
			assert_non_null(at);
			counts[at - alphabet]++;
		}
	}
	/* No look-alikes at all. */
	assert_null(strpbrk(alphabet, "01ILO"));
	/* 24000 characters over 31 symbols: about 774 each. */
	for (size_t k = 0; k < n; k++)
		assert_in_range(counts[k], 600, 960);
	assert_int_equal(checkin_code_new(code, CHECKIN_CODE_LEN), -EINVAL);
}

static void test_card_credential(void **state)
{
	(void)state;
	char out[32];
	assert_int_equal(checkin_card_credential("12:3456", out, sizeof(out)), 0);
	assert_string_equal(out, "w26:12:3456");
	assert_int_equal(checkin_card_credential("255:65535", out, sizeof(out)), 0);
	assert_string_equal(out, "w26:255:65535");
	assert_int_equal(checkin_card_credential("007:0", out, sizeof(out)), 0);
	assert_string_equal(out, "w26:7:0");
	const char *bad[] = {"256:1", "1:65536", "12",   ":1", "1:",      "a:1",
	                     "1:2:3", "-1:2",    "1:+2", "",   "123456:1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(checkin_card_credential(bad[i], out, sizeof(out)), -EINVAL);
	assert_int_equal(checkin_card_credential(NULL, out, sizeof(out)), -EINVAL);
	assert_int_equal(checkin_card_credential("12:3456", out, 8), -EINVAL);
}

static void test_code_valid(void **state)
{
	(void)state;
	assert_true(checkin_code_valid("AB12"));
	assert_true(checkin_code_valid("abcdEFGH12345678"));
	assert_false(checkin_code_valid("AB1"));
	assert_false(checkin_code_valid("abcdEFGH123456789"));
	assert_false(checkin_code_valid("AB 12"));
	assert_false(checkin_code_valid("AB-12"));
	assert_false(checkin_code_valid("ÄB12"));
	assert_false(checkin_code_valid(""));
	assert_false(checkin_code_valid(NULL));
}

static void test_digest(void **state)
{
	(void)state;
	char a[CHECKIN_DIGEST_HEX], b[CHECKIN_DIGEST_HEX], c[CHECKIN_DIGEST_HEX],
	    d[CHECKIN_DIGEST_HEX];
	checkin_code_digest("E1", "K7Q2M9XA", a);
	checkin_code_digest("E1", "k7q2m9xa", b);
	checkin_code_digest("E2", "K7Q2M9XA", c);
	checkin_code_digest("E1", "K7Q2M9XB", d);
	assert_int_equal(strlen(a), 64);
	assert_true(checkin_digest_equal(a, b));  /* Caps Lock costs no try */
	assert_false(checkin_digest_equal(a, c)); /* salted with the room */
	assert_false(checkin_digest_equal(a, d));
	/* The room and the code cannot slide into each other. */
	checkin_code_digest("E1K", "7Q2M", c);
	checkin_code_digest("E1", "K7Q2M", d);
	assert_false(checkin_digest_equal(c, d));
	assert_false(checkin_digest_equal(a, ""));
	assert_false(checkin_digest_equal("", ""));
	/* A value anyone can recompute without this code (docs/checkin.md):
	 * printf 'evalroom-login-code\0R1\0ABCD' | sha256sum */
	checkin_code_digest("R1", "abcd", a);
	assert_string_equal(a, "87661faac998ff19fcdcc6f3661557d62d0fef5675dd654bf2a83a7973c8bfba");
}

static void test_window(void **state)
{
	(void)state;
	int64_t issued = 1764115200000000;
	int64_t end = checkin_window_end(issued, 300);
	assert_int_equal(end - issued, 300 * 1000000LL);
	assert_true(checkin_window_open(end, issued));
	assert_true(checkin_window_open(end, end - 1));
	assert_false(checkin_window_open(end, end));
	assert_false(checkin_window_open(end, end + 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pin_shape_and_spread),
	    cmocka_unit_test(test_code_alphabet_and_spread),
	    cmocka_unit_test(test_card_credential),
	    cmocka_unit_test(test_code_valid),
	    cmocka_unit_test(test_digest),
	    cmocka_unit_test(test_window),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
