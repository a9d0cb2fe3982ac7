/* text_width, text_pad, text_wrap: Chinese takes two columns a character, so padded
 * columns and wrapped help line up in Chinese as they do in English. */
#include <glib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "text_width.h"

static void test_width(void **state)
{
	assert_int_equal(text_width(""), 0);
	assert_int_equal(text_width("R1"), 2);
	assert_int_equal(text_width("李娜"), 4);
	assert_int_equal(text_width("评标室 E1"), 9);
	assert_int_equal(text_width("（）：。"), 8);  /* full-width punctuation */
	assert_int_equal(text_width("e\xcc\x81"), 1); /* e + combining acute */
	assert_int_equal(text_width("a\xff"), 2);     /* invalid UTF-8: a column a byte */
}

static void test_fit(void **state)
{
	assert_int_equal(text_fit("abc", 2), 2);
	assert_int_equal(text_fit("李娜", 3), 3); /* one character (3 bytes) in 2 columns */
	assert_int_equal(text_fit("李娜", 4), 6);
	assert_int_equal(text_fit("李娜", 1), 0); /* never half a character */
	assert_int_equal(text_fit("a李", 80), 4);
}

static void test_pad_lines_up(void **state)
{
	const char *names[] = {"Li Na", "李娜", "欧阳明月", "Zhang"};
	int col = -1;
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		GString *row = g_string_new("| ");
		text_pad(row, names[i], 10);
		g_string_append(row, "| X");
		/* The column after the name starts at the same display column on every row. */
		int w = text_width(row->str) - 3;
		if (col < 0)
			col = w;
		assert_int_equal(w, col);
		g_string_free(row, TRUE);
	}
	GString *wide = g_string_new(NULL);
	text_pad(wide, "一二三四五六", 4); /* wider than the column: kept whole, no padding */
	assert_string_equal(wide->str, "一二三四五六");
	g_string_free(wide, TRUE);
}

static void check_lines(const char *wrapped, const char *indent, int width)
{
	char **lines = g_strsplit(wrapped, "\n", -1);
	guint n = g_strv_length(lines);
	assert_true(n >= 2);
	assert_string_equal(lines[n - 1], ""); /* ends in a newline */
	for (guint i = 0; i + 1 < n; i++) {
		assert_true(g_str_has_prefix(lines[i], indent));
		assert_true(text_width(lines[i]) <= width);
		assert_false(g_str_has_suffix(lines[i], " "));
	}
	g_strfreev(lines);
}

static void test_wrap(void **state)
{
	char *en = text_wrap("Fix the seat draw's inputs (rooms, seats, tenders, committees),\n"
	                     "check that everyone can be seated.",
	                     "    ", 30);
	assert_string_equal(en, "    Fix the seat draw's inputs\n"
	                        "    (rooms, seats, tenders,\n"
	                        "    committees), check that\n"
	                        "    everyone can be seated.\n");
	check_lines(en, "    ", 30);
	g_free(en);

	char *zh =
	    text_wrap("固定座位抽签的输入（评标室、座位、标段、评标委员会），检查所有人都能按规则\n"
	              "安排座位。",
	              "  ", 20);
	/* A CJK line break joins without a space; lines break between any two characters. */
	check_lines(zh, "  ", 20);
	char **parts = g_strsplit(zh, "\n", -1);
	GString *again = g_string_new(NULL);
	for (char **l = parts; *l; l++)
		g_string_append(again, *l + (**l ? 2 : 0));
	assert_string_equal(
	    again->str, "固定座位抽签的输入（评标室、座位、标段、评标委员会），检查所有人都能按规则"
	                "安排座位。");
	g_string_free(again, TRUE);
	g_strfreev(parts);
	g_free(zh);

	char *one = text_wrap("short", "", 80);
	assert_string_equal(one, "short\n");
	g_free(one);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_width),
	    cmocka_unit_test(test_fit),
	    cmocka_unit_test(test_pad_lines_up),
	    cmocka_unit_test(test_wrap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
