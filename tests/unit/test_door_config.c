/* Door configuration from a key file: values, defaults and errors naming group and key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "door.h"

static const char *const good = "[door.R1]\n"
                                "lock_line=DOOR_LOCK\n"
                                "sensor_line=DOOR_SENSOR\n"
                                "rex_line=DOOR_REX\n"
                                "tamper_line=DOOR_TAMPER\n"
                                "wiegand_d0_line=WIEGAND_D0\n"
                                "wiegand_d1_line=WIEGAND_D1\n"
                                "lock_active_low=true\n"
                                "debounce_ms=15\n"
                                "pulse_ms=4000\n"
                                "held_prealarm_ms=10000\n"
                                "held_alarm_ms=20000\n"
                                "fail_mode=safe\n"
                                "on_controller_lost=fail_state\n";

static int load(const char *text, const char *group, struct door_config *cfg, char **msg)
{
	GKeyFile *kf = g_key_file_new();
	GError *err = NULL;
	int rc;

	assert_true(g_key_file_load_from_data(kf, text, (gsize)-1, G_KEY_FILE_NONE, NULL));
	rc = door_config_load(kf, group, cfg, &err);
	*msg = err ? g_strdup(err->message) : NULL;
	g_clear_error(&err);
	g_key_file_free(kf);
	return rc;
}

static void test_good(void **state)
{
	struct door_config cfg;
	char *msg;

	assert_int_equal(load(good, "door.R1", &cfg, &msg), 0);
	assert_null(msg);
	assert_string_equal(cfg.name, "door.R1");
	assert_string_equal(cfg.lock_line, "DOOR_LOCK");
	assert_string_equal(cfg.wiegand_d1, "WIEGAND_D1");
	assert_true(cfg.lock_active_low);
	assert_false(cfg.sensor_active_low);
	assert_int_equal(cfg.debounce_ms, 15);
	assert_int_equal(cfg.pulse_ms, 4000);
	assert_int_equal(cfg.wiegand_gap_ms, 25); /* default */
	assert_int_equal(cfg.fail_mode, DOOR_FAIL_SAFE);
	assert_int_equal(cfg.on_controller_lost, DOOR_LOST_FAIL);
	door_config_clear(&cfg);
}

static void expect_error(const char *replace, const char *with, const char *needle)
{
	struct door_config cfg;
	char *msg, *text;
	GString *s = g_string_new(good);

	if (replace)
		g_string_replace(s, replace, with, 1);
	text = g_string_free(s, FALSE);
	assert_int_equal(load(text, "door.R1", &cfg, &msg), -EINVAL);
	assert_non_null(msg);
	if (!strstr(msg, needle))
		fail_msg("error '%s' does not name '%s'", msg, needle);
	assert_null(cfg.lock_line); /* cleared on error */
	g_free(msg);
	g_free(text);
}

static void test_errors_name_group_and_key(void **state)
{
	expect_error("lock_line=DOOR_LOCK\n", "", "[door.R1] lock_line: required");
	expect_error("lock_active_low=true", "lock_active_low=maybe", "[door.R1] lock_active_low");
	expect_error("pulse_ms=4000", "pulse_ms=4s", "[door.R1] pulse_ms");
	expect_error("pulse_ms=4000", "pulse_ms=-1", "[door.R1] pulse_ms");
	expect_error("debounce_ms=15", "debounce_ms=99999999999999999999", "[door.R1] debounce_ms");
	expect_error("fail_mode=safe", "fail_mode=open", "[door.R1] fail_mode");
	expect_error("held_alarm_ms=20000", "held_alarm_ms=10000", "held_alarm_ms");
	expect_error("wiegand_d1_line=WIEGAND_D1\n", "", "wiegand_d0_line/wiegand_d1_line");
	expect_error("rex_line=DOOR_REX", "rex_line=DOOR_SENSOR", "DOOR_SENSOR is used twice");
	expect_error("pulse_ms=4000", "puls_ms=4000", "[door.R1] puls_ms: unknown key");
	expect_error("sensor_line=DOOR_SENSOR", "sensor_line=DOOR SENSOR", "[door.R1] sensor_line");
	expect_error("[door.R1]\n", "[door.R1]\nname=R 1\n", "[door.R1] name");
}

static void test_missing_group(void **state)
{
	struct door_config cfg;
	char *msg;

	assert_int_equal(load(good, "door.R9", &cfg, &msg), -EINVAL);
	assert_non_null(strstr(msg, "[door.R9]"));
	g_free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),
	    cmocka_unit_test(test_errors_name_group_and_key),
	    cmocka_unit_test(test_missing_group),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
