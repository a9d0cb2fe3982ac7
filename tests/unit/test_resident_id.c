/* resident_id_problem: GB 11643 check digit, length and date of birth; numbers that
 * are no resident ID numbers pass through to the caller's own rules. */
#include <glib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "resident_id.h"

#define TODAY 20261207u

static void test_right_numbers(void **state)
{
	/* Check digits computed by hand from the weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2. */
	assert_null(resident_id_problem("11010519491231002X", TODAY));
	assert_null(resident_id_problem("11010519491231002x", TODAY)); /* x as typed */
	assert_null(resident_id_problem("110105194912310038", TODAY));
	assert_null(resident_id_problem("320102198001010016", TODAY));
	assert_null(resident_id_problem("110105 19491231 002X", TODAY)); /* spaces ignored */
	assert_null(resident_id_problem("110105202612070017", TODAY));   /* born today */
}

static void test_not_resident_ids(void **state)
{
	assert_null(resident_id_problem("E12345678", TODAY)); /* a passport */
	assert_null(resident_id_problem("12345678", TODAY));
	assert_null(resident_id_problem("123", TODAY));
	assert_null(resident_id_problem("", TODAY));
	assert_null(resident_id_problem("11010519491231002XY", TODAY));
	assert_null(resident_id_problem("12345678901234567890", TODAY)); /* 20 digits */
}

static void test_wrong_numbers(void **state)
{
	const char *p;
	/* One digit off: the check digit catches it. */
	p = resident_id_problem("110105194912310029", TODAY);
	assert_non_null(p);
	assert_non_null(strstr(p, "check digit"));
	p = resident_id_problem("110105194912310128", TODAY); /* two digits swapped */
	assert_non_null(p);
	/* Length. */
	assert_non_null(strstr(resident_id_problem("11010519491231002", TODAY), "too short"));
	assert_non_null(strstr(resident_id_problem("1101051949123100221", TODAY), "too long"));
	assert_non_null(strstr(resident_id_problem("110105491231002", TODAY), "15-digit"));
	/* Dates: 31 November, a year before 1900, born tomorrow. */
	assert_non_null(strstr(resident_id_problem("110105194911310028", TODAY), "date of birth"));
	assert_non_null(strstr(resident_id_problem("110105189912310023", TODAY), "date of birth"));
	assert_non_null(strstr(resident_id_problem("110105202612080012", TODAY), "date of birth"));
	/* 29 February only in a leap year. */
	assert_non_null(strstr(resident_id_problem("110105199002290018", TODAY), "date of birth"));
	/* An X anywhere but last makes it no resident ID number: the caller's rules apply. */
	assert_null(resident_id_problem("1101051949123100X2", TODAY));
}

static void test_today(void **state)
{
	unsigned d = resident_id_today();
	assert_true(d > 20000101u && d < 30000101u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_right_numbers),
	    cmocka_unit_test(test_not_resident_ids),
	    cmocka_unit_test(test_wrong_numbers),
	    cmocka_unit_test(test_today),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
