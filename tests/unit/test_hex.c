/* common/hex: the one hex encoder and decoder. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "hex.h"

static void test_encode(void **state)
{
	const uint8_t bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
	char out[2 * sizeof(bytes) + 1];

	assert_ptr_equal(hex_encode(bytes, sizeof(bytes), out), out);
	assert_string_equal(out, "00017f80abff");
	assert_string_equal(hex_encode(bytes, 0, out), "");
	char *dup = hex_encode_dup(bytes, 3);
	assert_string_equal(dup, "00017f");
	g_free(dup);
}

static void test_decode(void **state)
{
	uint8_t out[3];

	assert_int_equal(hex_decode("00aBFf", out, 3), 0);
	assert_memory_equal(out, ((uint8_t[]){0x00, 0xab, 0xff}), 3);
	assert_int_equal(hex_decode_lower("00abff", out, 3), 0);
	assert_memory_equal(out, ((uint8_t[]){0x00, 0xab, 0xff}), 3);
	/* Upper case is not canonical; wrong length, non-digits and NULL are refused. */
	assert_int_equal(hex_decode_lower("00aBff", out, 3), -EINVAL);
	assert_int_equal(hex_decode("00abf", out, 3), -EINVAL);
	assert_int_equal(hex_decode("00abff00", out, 3), -EINVAL);
	assert_int_equal(hex_decode("00agff", out, 3), -EINVAL);
	assert_int_equal(hex_decode(NULL, out, 3), -EINVAL);
}

static void test_round_trip(void **state)
{
	uint8_t bytes[256], back[256];
	char text[513];

	for (int i = 0; i < 256; i++)
		bytes[i] = (uint8_t)i;
	hex_encode(bytes, sizeof(bytes), text);
	assert_int_equal(hex_decode_lower(text, back, sizeof(back)), 0);
	assert_memory_equal(bytes, back, sizeof(bytes));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encode),
	    cmocka_unit_test(test_decode),
	    cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
