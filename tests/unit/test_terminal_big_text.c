/* The seat screen's block letters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "big_text.h"

static void test_rows_of_s3(void **state)
{
	static const char *const want[BIG_TEXT_ROWS] = {
	    "  ####  ######", "##          ##", "  ##    ######",
	    "    ##      ##", "####    ######",
	};
	char row[64];
	assert_int_equal(big_text_width("S3"), 14);
	for (int r = 0; r < BIG_TEXT_ROWS; r++) {
		big_text_row("s3", r, row, sizeof(row));
		assert_string_equal(row, want[r]);
	}
}

static void test_width_and_truncation(void **state)
{
	assert_int_equal(big_text_width(""), 0);
	assert_int_equal(big_text_width("SEAT S3"), 7 * 8 - 2);
	assert_int_equal(big_text_width("S/3"), -1);
	assert_int_equal(big_text_width("Sé"), -1);
	char row[5];
	big_text_row("88", 0, row, sizeof(row));
	assert_string_equal(row, "####");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rows_of_s3),
	    cmocka_unit_test(test_width_and_truncation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
