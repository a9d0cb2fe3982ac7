/* Alert texts (common/alert_text.h): a text id and its arguments rendered as a sentence;
 * a template, even a translated one, can only place the arguments it was given. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "alert_text.h"

static void expect(const char *tmpl, const char *const *args, size_t n, const char *want)
{
	char *s = alert_text_format(tmpl, args, n);

	if (!want) {
		assert_null(s);
		return;
	}
	assert_non_null(s);
	assert_string_equal(s, want);
	g_free(s);
}

static void test_format(void **state)
{
	const char *a[] = {"E1", "A3", "7"};

	expect("door of room %s", a, 1, "door of room E1");
	expect("%s and %s (%s %%)", a, 3, "E1 and A3 (7 %)");
	/* A translation may reorder: numbered placeholders. */
	expect("%2$s 座位，%1$s 评标室", a, 2, "A3 座位，E1 评标室");
	expect("%1$s %1$s", a, 1, "E1 E1");
	/* Anything else is refused: no argument read that was not given. */
	expect("%s %s", a, 1, NULL);   /* too few */
	expect("%s", a, 2, NULL);      /* too many */
	expect("%3$s", a, 2, NULL);    /* out of range */
	expect("%1$s %s", a, 1, NULL); /* mixed */
	expect("%d", a, 1, NULL);
	expect("%n", a, 1, NULL);
	expect("%.80s", a, 1, NULL);
	expect("trailing %", a, 0, NULL);
	expect("no placeholders", a, 1, NULL);
	expect("no placeholders", a, 0, "no placeholders");
}

static void test_render(void **state)
{
	const char *a[] = {"E1", "A3", "E2"};
	char *s = alert_text_render("door_forced", a, 1, false);

	assert_string_equal(s, "door of room E1 forced open (opened while locked)");
	g_free(s);
	s = alert_text_render("help_requested", a, 2, true); /* C locale: English */
	assert_string_equal(s, "help requested at seat E1 of room A3");
	g_free(s);
	assert_null(alert_text_render("door_forced", a, 2, false));
	assert_null(alert_text_render("no_such_text", a, 1, false));
	assert_null(alert_text_render(NULL, a, 1, false));
	assert_non_null(alert_text_template("wrong_room"));
	assert_null(alert_text_template("wrong"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_render),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
