/* local_time: people read times in the site's zone (Asia/Shanghai unless configured),
 * the zone written out; an unknown zone is an error that names it. */
#include <errno.h>
#include <gio/gio.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "local_time.h"

/* 2026-12-07T11:20:05Z */
#define T_US (1796642405LL * 1000000 + 123456)

static void test_default_shanghai(void **state)
{
	char buf[40];
	unsetenv("EVALROOM_TIME_ZONE");
	GTimeZone *tz = local_time_zone_new(NULL, NULL);
	assert_non_null(tz);
	assert_string_equal(local_time_format(tz, T_US, 0, buf, sizeof(buf)),
	                    "2026-12-07 19:20:05 +08:00");
	assert_string_equal(local_time_format(tz, T_US, 1, buf, sizeof(buf)), "19:20:05 +08:00");
	/* Shortly before midnight UTC it is already the next day in Beijing. */
	assert_string_equal(local_time_format(tz, 1796687999LL * 1000000, 0, buf, sizeof(buf)),
	                    "2026-12-08 07:59:59 +08:00");
	g_time_zone_unref(tz);
}

static void test_configured(void **state)
{
	char buf[40];
	GTimeZone *tz = local_time_zone_new("Asia/Urumqi", NULL);
	assert_non_null(tz);
	assert_string_equal(local_time_format(tz, T_US, 0, buf, sizeof(buf)),
	                    "2026-12-07 17:20:05 +06:00");
	g_time_zone_unref(tz);
	setenv("EVALROOM_TIME_ZONE", "UTC", 1);
	tz = local_time_zone_new("", NULL);
	assert_string_equal(local_time_format(tz, T_US, 0, buf, sizeof(buf)),
	                    "2026-12-07 11:20:05 +00:00");
	g_time_zone_unref(tz);
	unsetenv("EVALROOM_TIME_ZONE");
}

static void test_unknown(void **state)
{
	GError *err = NULL;
	assert_null(local_time_zone_new("Mars/Olympus", &err));
	assert_non_null(strstr(err->message, "Mars/Olympus"));
	g_error_free(err);
}

/* Times people type are read in the site's zone unless they name their own. */
static void test_parse(void **state)
{
	GTimeZone *tz = local_time_zone_new("Asia/Shanghai", NULL);
	int64_t us = 0;

	assert_int_equal(local_time_parse(tz, "2026-12-07T19:20:05.123456", &us), 0);
	assert_int_equal(us, T_US);
	assert_int_equal(local_time_parse(tz, "2026-12-07 19:20:05.123456", &us), 0);
	assert_int_equal(us, T_US);
	assert_int_equal(local_time_parse(tz, "2026-12-07T11:20:05.123456Z", &us), 0);
	assert_int_equal(us, T_US);
	assert_int_equal(local_time_parse(tz, "2026-12-07T21:20:05.123456+10:00", &us), 0);
	assert_int_equal(us, T_US);
	/* A date is its midnight in Beijing: 16:00 UTC the day before. */
	assert_int_equal(local_time_parse(tz, "2026-12-08", &us), 0);
	assert_int_equal(us, 1796659200LL * 1000000);
	assert_int_equal(local_time_parse(tz, "yesterday", &us), -EINVAL);
	assert_int_equal(local_time_parse(tz, "2026-13-01", &us), -EINVAL);
	assert_int_equal(local_time_parse(tz, "", &us), -EINVAL);
	g_time_zone_unref(tz);
	tz = local_time_zone_new("UTC", NULL);
	assert_int_equal(local_time_parse(tz, "2026-12-07T11:20:05.123456", &us), 0);
	assert_int_equal(us, T_US);
	g_time_zone_unref(tz);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_shanghai),
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_configured),
	    cmocka_unit_test(test_unknown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
