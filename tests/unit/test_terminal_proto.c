/* The seat protocol codec: the published examples parse, limits hold, and the builders
 * produce what the schemas describe. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "terminal_proto.h"

static char *read_example(const char *kind, size_t *len)
{
	char *path = g_strdup_printf("%s/schemas/examples/%s.json", EVALROOM_SOURCE_DIR, kind);
	char *text = NULL;
	GError *err = NULL;
	if (!g_file_get_contents(path, &text, len, &err))
		fail_msg("%s", err->message);
	g_free(path);
	return text;
}

static int parse_example(const char *kind, struct terminal_down *d)
{
	size_t len;
	char *text = read_example(kind, &len);
	GError *err = NULL;
	int rc = terminal_down_parse(text, len, d, &err);
	if (rc)
		fail_msg("%s: %s", kind, err->message);
	g_free(text);
	return rc;
}

static void test_examples_parse(void **state)
{
	struct terminal_down d;
	assert_int_equal(parse_example("terminal.login_result", &d), 0);
	assert_int_equal(d.kind, TERMINAL_DOWN_LOGIN_RESULT);
	assert_true(d.ok);
	assert_int_equal(d.reason, TERMINAL_REASON_OK);
	assert_int_equal(d.tries_left, -1);
	assert_string_equal(d.person_id, "E042");
	assert_string_equal(d.person_name, "张伟");
	assert_string_equal(d.tender_id, "T2026-017");
	assert_true(d.re > 0);

	assert_int_equal(parse_example("terminal.lock", &d), 0);
	assert_int_equal(d.kind, TERMINAL_DOWN_LOCK);
	assert_string_equal(d.lock_reason, "lockdown of room R1 by operator-alice");

	assert_int_equal(parse_example("terminal.unlock", &d), 0);
	assert_int_equal(d.kind, TERMINAL_DOWN_UNLOCK);

	assert_int_equal(parse_example("terminal.ack", &d), 0);
	assert_int_equal(d.kind, TERMINAL_DOWN_ACK);
	assert_int_equal(d.seat, TERMINAL_SEAT_IN_USE);
}

static void test_up_examples_are_not_down_messages(void **state)
{
	static const char *const up[] = {"terminal.login", "terminal.logout", "terminal.help",
	                                 "terminal.break", "terminal.heartbeat"};
	for (size_t i = 0; i < G_N_ELEMENTS(up); i++) {
		size_t len;
		char *text = read_example(up[i], &len);
		struct terminal_down d;
		GError *err = NULL;
		assert_int_equal(terminal_down_parse(text, len, &d, &err), -EINVAL);
		assert_non_null(strstr(err->message, "not a message for a terminal"));
		g_error_free(err);
		g_free(text);
	}
}

static int parse_text(const char *text, GError **err)
{
	struct terminal_down d;
	return terminal_down_parse(text, strlen(text), &d, err);
}

#define RESULT_WITH_NAME                                                                           \
	"{\"v\":1,\"kind\":\"terminal.login_result\",\"seq\":5,\"ts\":1,\"re\":4,\"ok\":true,"     \
	"\"reason\":\"ok\",\"person\":{\"id\":\"E1\",\"name\":\"%s\"},\"tender\":{\"id\":\"T1\","  \
	"\"name\":\"x\"}}"

static void test_limits(void **state)
{
	GError *err = NULL;
	char name[TERMINAL_NAME_MAX + 2];
	memset(name, 'n', sizeof(name));
	name[TERMINAL_NAME_MAX] = '\0';
	char *text = g_strdup_printf(RESULT_WITH_NAME, name);
	assert_int_equal(parse_text(text, &err), 0);
	g_free(text);
	name[TERMINAL_NAME_MAX] = 'n';
	name[TERMINAL_NAME_MAX + 1] = '\0';
	text = g_strdup_printf(RESULT_WITH_NAME, name);
	assert_int_equal(parse_text(text, &err), -EINVAL);
	assert_non_null(strstr(err->message, "person.name"));
	g_clear_error(&err);
	g_free(text);

	text = g_strdup_printf(RESULT_WITH_NAME, "");
	assert_int_equal(parse_text(text, &err), -EINVAL);
	assert_non_null(strstr(err->message, "person.name"));
	g_clear_error(&err);
	g_free(text);

	assert_int_equal(
	    parse_text("{\"v\":1,\"kind\":\"terminal.login_result\",\"seq\":5,\"ts\":1,"
	               "\"re\":4,\"ok\":false,\"reason\":\"wrong_code\","
	               "\"tries_left\":100}",
	               &err),
	    -EINVAL);
	assert_non_null(strstr(err->message, "tries_left"));
	g_clear_error(&err);

	assert_int_equal(parse_text("{\"v\":1,\"kind\":\"terminal.ack\",\"seq\":5,\"ts\":1,"
	                            "\"re\":0,\"seat\":\"open\"}",
	                            &err),
	                 -EINVAL);
	g_clear_error(&err);

	/* One byte over the message size limit is refused before parsing. */
	GString *big = g_string_new("{\"v\":1,\"kind\":\"terminal.lock\",\"seq\":5,\"ts\":1,"
	                            "\"reason\":\"x\",\"pad\":\"");
	while (big->len < MSG_MAX_SIZE - 1)
		g_string_append_c(big, 'p');
	g_string_append(big, "\"}");
	struct terminal_down d;
	assert_int_equal(terminal_down_parse(big->str, big->len, &d, &err), -EMSGSIZE);
	g_clear_error(&err);
	g_string_free(big, TRUE);
}

static void test_login_code_shape(void **state)
{
	assert_true(terminal_login_code_valid("1234"));
	assert_true(terminal_login_code_valid("AbCd12345678wxyz"));
	assert_false(terminal_login_code_valid("123"));
	assert_false(terminal_login_code_valid("AbCd12345678wxyz9"));
	assert_false(terminal_login_code_valid("12 34"));
	assert_false(terminal_login_code_valid("12é4"));
	assert_false(terminal_login_code_valid(""));
}

static void test_builders(void **state)
{
	struct seq_counter seq = {0};
	json_t *m = terminal_msg_heartbeat(&seq, TERMINAL_STATE_OPERATOR_LOCKED, 42);
	assert_string_equal(json_string_value(json_object_get(m, "kind")), "terminal.heartbeat");
	assert_string_equal(json_string_value(json_object_get(m, "state")), "operator_locked");
	assert_int_equal(json_integer_value(json_object_get(m, "uptime_s")), 42);
	assert_int_equal(json_object_size(m), 6);
	uint64_t first = (uint64_t)json_integer_value(json_object_get(m, "seq"));
	json_decref(m);
	m = terminal_msg_break(&seq, false);
	assert_string_equal(json_string_value(json_object_get(m, "phase")), "end");
	assert_true((uint64_t)json_integer_value(json_object_get(m, "seq")) > first);
	json_decref(m);
	/* An error quoting invalid UTF-8 still serialises. */
	m = terminal_msg_error(&seq, "t", "agent-R1", "bad \xff byte");
	size_t len;
	char *text = msg_dump(m, &len);
	assert_non_null(strstr(text, "\"fault\":\"bad "));
	g_free(text);
	json_decref(m);
}

/* Parse OBJ (consumed) as a down message. */
static int down_of(json_t *obj, struct terminal_down *d)
{
	size_t len;
	char *text = msg_dump(obj, &len);
	json_decref(obj);
	GError *err = NULL;
	int rc = terminal_down_parse(text, len, d, &err);
	if (rc)
		fail_msg("%s: %s", text, err->message);
	g_free(text);
	return rc;
}

static int up_of(json_t *obj, struct terminal_up *u, GError **err)
{
	size_t len;
	char *text = msg_dump(obj, &len);
	json_decref(obj);
	int rc = terminal_up_parse(text, len, u, err);
	g_free(text);
	return rc;
}

static void test_down_round_trip(void **state)
{
	struct seq_counter seq = {0};
	struct terminal_down d;
	down_of(terminal_msg_login_ok(&seq, 77, true, "E9", "王芳", "T3", "Lot 3"), &d);
	assert_true(d.ok && d.resumed);
	assert_int_equal(d.re, 77);
	assert_string_equal(d.person_name, "王芳");
	assert_string_equal(d.tender_name, "Lot 3");
	down_of(terminal_msg_login_refused(&seq, 78, TERMINAL_REASON_WRONG_CODE, 2, NULL), &d);
	assert_false(d.ok);
	assert_int_equal(d.reason, TERMINAL_REASON_WRONG_CODE);
	assert_int_equal(d.tries_left, 2);
	down_of(terminal_msg_login_refused(&seq, 79, TERMINAL_REASON_SEAT_LOCKED, 3, "fire drill"),
	        &d);
	assert_int_equal(d.reason, TERMINAL_REASON_SEAT_LOCKED);
	assert_int_equal(d.tries_left, -1);
	assert_string_equal(d.message, "fire drill");
	down_of(terminal_msg_lock(&seq, "operator"), &d);
	assert_string_equal(d.lock_reason, "operator");
	down_of(terminal_msg_unlock(&seq), &d);
	assert_int_equal(d.kind, TERMINAL_DOWN_UNLOCK);
	down_of(terminal_msg_ack(&seq, 80, TERMINAL_SEAT_BLOCKED), &d);
	assert_int_equal(d.seat, TERMINAL_SEAT_BLOCKED);
	assert_int_equal(d.re, 80);
}

static void test_up_round_trip(void **state)
{
	struct seq_counter seq = {0};
	struct terminal_up u;
	GError *err = NULL;
	assert_int_equal(up_of(terminal_msg_login(&seq, "AB12"), &u, &err), 0);
	assert_int_equal(u.kind, TERMINAL_UP_LOGIN);
	assert_string_equal(u.code, "AB12");
	assert_int_equal(up_of(terminal_msg_break(&seq, true), &u, &err), 0);
	assert_true(u.break_start);
	assert_int_equal(up_of(terminal_msg_heartbeat(&seq, TERMINAL_STATE_BREAK, 9), &u, &err), 0);
	assert_int_equal(u.state, TERMINAL_STATE_BREAK);
	assert_int_equal(u.uptime_s, 9);
	assert_int_equal(up_of(terminal_msg_logout(&seq), &u, &err), 0);
	assert_int_equal(u.kind, TERMINAL_UP_LOGOUT);
	assert_int_equal(up_of(terminal_msg_help(&seq), &u, &err), 0);
	assert_int_equal(u.kind, TERMINAL_UP_HELP);
	assert_int_equal(up_of(terminal_msg_error(&seq, "t/down", "agent-R1", "bad"), &u, &err), 0);
	assert_string_equal(u.fault, "bad");
	/* The up examples parse too. */
	static const char *const kinds[] = {"terminal.login", "terminal.logout", "terminal.help",
	                                    "terminal.break", "terminal.heartbeat"};
	for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
		size_t len;
		char *text = read_example(kinds[i], &len);
		if (terminal_up_parse(text, len, &u, &err))
			fail_msg("%s: %s", kinds[i], err->message);
		assert_int_equal(u.kind, (enum terminal_up_kind)i);
		g_free(text);
	}
}

static void test_up_refused(void **state)
{
	static const char *const bad[] = {
	    "{\"v\":1,\"kind\":\"terminal.login\",\"seq\":1,\"ts\":1,\"code\":\"12 4\"}",
	    "{\"v\":1,\"kind\":\"terminal.login\",\"seq\":1,\"ts\":1,\"code\":"
	    "\"1234567890abcdefg\"}",
	    "{\"v\":1,\"kind\":\"terminal.login\",\"seq\":1,\"ts\":1}",
	    "{\"v\":1,\"kind\":\"terminal.break\",\"seq\":1,\"ts\":1,\"phase\":\"lunch\"}",
	    "{\"v\":1,\"kind\":\"terminal.heartbeat\",\"seq\":1,\"ts\":1,\"state\":\"x\","
	    "\"uptime_s\":1}",
	    "{\"v\":1,\"kind\":\"terminal.heartbeat\",\"seq\":1,\"ts\":1,\"state\":\"locked\","
	    "\"uptime_s\":-1}",
	    "{\"v\":1,\"kind\":\"terminal.help\",\"seq\":1,\"ts\":1,\"urgent\":true}",
	    "{\"v\":1,\"kind\":\"terminal.ack\",\"seq\":1,\"ts\":1,\"re\":1,\"seat\":\"open\"}",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		struct terminal_up u;
		GError *err = NULL;
		if (terminal_up_parse(bad[i], strlen(bad[i]), &u, &err) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
		g_error_free(err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_examples_parse),
	    cmocka_unit_test(test_up_examples_are_not_down_messages),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_login_code_shape),
	    cmocka_unit_test(test_builders),
	    cmocka_unit_test(test_down_round_trip),
	    cmocka_unit_test(test_up_round_trip),
	    cmocka_unit_test(test_up_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
