/* text_to_utf8: UTF-8 as it is (without a byte-order mark), GB18030 Chinese converted,
 * anything else refused with a message saying how to save the file as UTF-8. */
#include <gio/gio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "text_encoding.h"

#define NAMES_UTF8 "person_id,name\nE1,欧阳明月\nE2,阿卜杜·热合曼\n"

static char *conv(const char *data, gsize len, bool *gb, GError **err)
{
	return text_to_utf8(data, len, gb, err);
}

static void test_utf8_kept(void **state)
{
	bool gb = true;
	GError *err = NULL;
	char *t = conv(NAMES_UTF8, strlen(NAMES_UTF8), &gb, &err);
	assert_string_equal(t, NAMES_UTF8);
	assert_false(gb);
	g_free(t);
	/* Excel's "CSV UTF-8" starts with a byte-order mark: dropped. */
	const char bom[] = "\xEF\xBB\xBF" NAMES_UTF8;
	t = conv(bom, strlen(bom), &gb, &err);
	assert_string_equal(t, NAMES_UTF8);
	g_free(t);
}

static void test_gb18030_converted(void **state)
{
	gsize n = 0;
	char *gbk = g_convert(NAMES_UTF8, -1, "GB18030", "UTF-8", NULL, &n, NULL);
	assert_non_null(gbk);
	assert_false(g_utf8_validate(gbk, (gssize)n, NULL));
	bool gb = false;
	GError *err = NULL;
	char *t = conv(gbk, n, &gb, &err);
	assert_non_null(t);
	assert_string_equal(t, NAMES_UTF8);
	assert_true(gb);
	g_free(t);
	g_free(gbk);
}

static void test_refused(void **state)
{
	bool gb = false;
	GError *err = NULL;
	/* Latin-1 is no GB18030: refused, and the message says how to save as UTF-8. */
	const char latin1[] = "person_id,name\nE1,Zo\xEB M\xFCller\n";
	assert_null(conv(latin1, strlen(latin1), &gb, &err));
	assert_non_null(strstr(err->message, "CSV UTF-8"));
	g_clear_error(&err);
	/* Latin-1 that happens to decode as GB18030, but into characters no Chinese list
	 * holds (here U+0080, a control character): refused too. */
	const char odd[] = "x,\x81\x30\x81\x30\n"; /* U+0080 */
	assert_null(conv(odd, strlen(odd), &gb, &err));
	g_clear_error(&err);
	/* UTF-8 Chinese with one damaged byte: not taken for GB18030 nonsense. */
	char *damaged = g_strdup(NAMES_UTF8);
	damaged[strlen("person_id,name\nE1,")] = '\xFF';
	assert_null(conv(damaged, strlen(damaged), &gb, &err));
	assert_non_null(strstr(err->message, "line 2"));
	g_clear_error(&err);
	g_free(damaged);
	/* UTF-16 (NUL bytes). */
	const char utf16[] = {'p', 0, 'e', 0, 'r', 0};
	assert_null(conv(utf16, sizeof(utf16), &gb, &err));
	assert_non_null(strstr(err->message, "UTF-8"));
	g_clear_error(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_utf8_kept),
	    cmocka_unit_test(test_gb18030_converted),
	    cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
