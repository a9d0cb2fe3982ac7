/* The web console's language from the browser's Accept-Language (console_lang.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "console_lang.h"

static const char *const one[] = {"zh_CN"};
static const char *const two[] = {"zh_CN", "zh_TW"};

static const char *pick(const char *accept, const char *const *langs, size_t n)
{
	static char out[CONSOLE_LANG_MAX];
	return console_lang_pick(accept, langs, n, out);
}

static void test_pick(void **state)
{
	assert_string_equal(pick("zh-CN,zh;q=0.9,en;q=0.8", one, 1), "zh_CN");
	assert_string_equal(pick("zh", one, 1), "zh_CN");
	assert_string_equal(pick("zh-Hans-CN", one, 1), "zh_CN");
	assert_string_equal(pick("ZH-cn", one, 1), "zh_CN");
	assert_string_equal(pick("en-US,en;q=0.9,zh-CN;q=0.8", one, 1), "en");
	assert_string_equal(pick("en;q=0.5, zh;q=0.9", one, 1), "zh_CN");
	assert_string_equal(pick("fr-FR,de;q=0.9", one, 1), "en");
	assert_string_equal(pick("fr, zh-CN;q=0.1", one, 1), "zh_CN");
	assert_string_equal(pick("zh-CN;q=0", one, 1), "en");
	assert_string_equal(pick("zh-TW", two, 2), "zh_TW");
	assert_string_equal(pick("zh-HK", two, 2), "zh_CN");
	assert_string_equal(pick(NULL, one, 1), "en");
	assert_string_equal(pick("", one, 1), "en");
	assert_string_equal(pick(",,;;q=,zh-CN-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", one, 1), "en");
	assert_string_equal(pick("zh-CN", NULL, 0), "en");
}

static void test_valid(void **state)
{
	assert_true(console_lang_valid("en", one, 1));
	assert_true(console_lang_valid("zh_CN", one, 1));
	assert_false(console_lang_valid("zh-CN", one, 1));
	assert_false(console_lang_valid("../x", one, 1));
	assert_false(console_lang_valid(NULL, one, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pick),
	    cmocka_unit_test(test_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
