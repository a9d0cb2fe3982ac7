/* common/text_safe: what reaches a screen is shown escaped, what is imported is clean. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>

#include "text_safe.h"

static void check(const char *in, const char *want)
{
	char *got = text_display(in);
	assert_string_equal(got, want);
	g_free(got);
}

static void test_display(void **state)
{
	(void)state;
	check("Ring road, lot 3", "Ring road, lot 3");
	check("环路 三标段", "环路 三标段");
	check("a\x1b]0;owned\x07z", "a\\x1b]0;owned\\x07z");
	check("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H");
	check("note\nALERT 99 open fake", "note\\x0aALERT 99 open fake");
	check("tab\there\r", "tab\\x09here\\x0d");
	check("del\x7f", "del\\x7f");
	check("evil\xe2\x80\xaegnp.exe", "evil\\u{202E}gnp.exe"); /* U+202E */
	check("\xe2\x81\xa6x\xe2\x81\xa9", "\\u{2066}x\\u{2069}");
	check("\xc2\x9b"
	      "31m",
	      "\\u{009B}31m"); /* C1 CSI */
	check("bad\xff\xfe", "bad\\xff\\xfe");
	check("cut\xe2\x80", "cut\\xe2\\x80");
	check(NULL, "");
}

static void test_clean(void **state)
{
	(void)state;
	assert_true(text_clean("Wang Li"));
	assert_true(text_clean("王立"));
	assert_false(text_clean("a\x1b[31m"));
	assert_false(text_clean("two\nlines"));
	assert_false(text_clean("x\xe2\x80\xaey"));
	assert_false(text_clean("bad\xff"));
	assert_false(text_clean(NULL));
}

static void test_json(void **state)
{
	(void)state;
	json_t *v = json_pack("{s:s, s:[s, {s:s}], s:i}", "note", "a\x1b[2Jb", "list", "ok", "deep",
	                      "\xe2\x80\xae", "n", 3);
	text_display_json(v);
	assert_string_equal(json_string_value(json_object_get(v, "note")), "a\\x1b[2Jb");
	json_t *list = json_object_get(v, "list");
	assert_string_equal(json_string_value(json_array_get(list, 0)), "ok");
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "deep")),
	                    "\\u{202E}");
	assert_int_equal(json_integer_value(json_object_get(v, "n")), 3);
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_display),
	    cmocka_unit_test(test_clean),
	    cmocka_unit_test(test_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
