/* msg_parse_lifting: the fast path for a media chunk's base64 member gives msg_parse's
 * result, and msg_parse's errors, on the cases the scan must get right. */
#include <glib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "msg.h"

#define ENVELOPE "\"v\":1,\"seq\":3,\"ts\":5,\"kind\":\"segment.chunk\""

static char *b64(size_t n)
{
	guchar *raw = g_malloc(n);
	for (size_t i = 0; i < n; i++)
		raw[i] = (guchar)(i * 131 + 7);
	char *s = g_base64_encode(raw, n);
	g_free(raw);
	return s;
}

/* Both parsers on TEXT: same code; same body or same error text. Returns the code. */
static int both(const char *text, json_t **body)
{
	struct msg_envelope e1, e2;
	json_t *b1 = NULL;
	GError *x1 = NULL, *x2 = NULL;
	int r1 = msg_parse(text, strlen(text), MSG_MAX_CHUNK_SIZE, &e1, &b1, &x1);
	int r2 = msg_parse_lifting(text, strlen(text), MSG_MAX_CHUNK_SIZE, "data", &e2, body, &x2);

	assert_int_equal(r1, r2);
	if (r1 == 0) {
		assert_true(json_equal(b1, *body));
		assert_string_equal(e1.kind, e2.kind);
	} else {
		assert_null(*body);
		assert_string_equal(x1->message, x2->message);
	}
	json_decref(b1);
	g_clear_error(&x1);
	g_clear_error(&x2);
	return r1;
}

static void test_chunk_lifted_same_value(void **state)
{
	(void)state;
	char *data = b64(4000);
	char *text =
	    g_strdup_printf("{" ENVELOPE ",\"room\":\"E1\",\"data\":\"%s\",\"last\":true}", data);
	json_t *body = NULL;
	assert_int_equal(both(text, &body), 0);
	assert_string_equal(json_string_value(json_object_get(body, "data")), data);
	assert_true(json_is_true(json_object_get(body, "last")));
	json_decref(body);
	g_free(text);
	g_free(data);
}

static void test_nested_and_escaped(void **state)
{
	(void)state;
	char *data = b64(300);
	json_t *body = NULL;
	/* a nested "data" before the top-level one: only the top-level one is the member */
	char *text =
	    g_strdup_printf("{" ENVELOPE ",\"x\":{\"data\":\"%s\",\"a\":[1,{\"data\":\"y\"}]},"
	                    "\"data\":\"%s\"}",
	                    data, data + 10);
	assert_int_equal(both(text, &body), 0);
	assert_string_equal(json_string_value(json_object_get(body, "data")), data + 10);
	json_decref(body);
	g_free(text);
	/* an escape inside the value: the ordinary path, same value */
	text = g_strdup_printf("{" ENVELOPE ",\"data\":\"%.100s\\/%s\"}", data, data + 100);
	assert_int_equal(both(text, &body), 0);
	assert_non_null(strstr(json_string_value(json_object_get(body, "data")), "/"));
	json_decref(body);
	g_free(text);
	g_free(data);
}

static void test_refusals_worded_alike(void **state)
{
	(void)state;
	char *data = b64(300);
	json_t *body = NULL;
	/* each case: the text before the base64 value and after it */
	const char *const forms[][2] = {
	    {"{" ENVELOPE ",\"data\":\"", "\",\"data\":\"AAAA\"}"}, /* duplicate member */
	    {"{" ENVELOPE ",\"data\":\"", "\" \"x\"}"},             /* string after string */
	    {"{" ENVELOPE ",\"data\":\"", "\",\"n\":01}"},          /* bad number after it */
	    {"{\"v\":2,\"seq\":1,\"ts\":1,\"kind\":\"k\",\"data\":\"", "\"}"}, /* version */
	    {"[\"data\",\"", "\"]"},                                           /* not an object */
	};
	for (size_t i = 0; i < G_N_ELEMENTS(forms); i++) {
		char *text = g_strconcat(forms[i][0], data, forms[i][1], NULL);
		assert_int_not_equal(both(text, &body), 0);
		g_free(text);
	}
	g_free(data);
}

static bool found(const char *text, size_t *from, size_t *to)
{
	return msg_plain_member(text, strlen(text), "data", from, to);
}

/* The scan itself: where it finds the member, and where it must not. */
static void test_scan(void **state)
{
	(void)state;
	size_t f, t;
	const char *top = "{\"a\":{\"data\":\"no\"},\"b\":[1,\"}\"],\"c\":-1.5e3,\"data\":\"yes\"}";
	assert_true(found(top, &f, &t));
	assert_int_equal(t - f, 3);
	assert_memory_equal(top + f, "yes", 3);
	assert_true(found(" { \"data\" : \"\" } ", &f, &t));
	assert_int_equal(t, f);
	assert_false(found("{\"a\":{\"data\":\"nested only\"}}", &f, &t));
	assert_false(found("{\"data\":\"a\\/b\"}", &f, &t));       /* an escape */
	assert_false(found("{\"data\":\"caf\xc3\xa9\"}", &f, &t)); /* not ASCII */
	assert_false(found("{\"data\":7}", &f, &t));
	assert_false(found("{\"da\\u0074a\":\"x\"}", &f, &t)); /* the key spelt with an escape */
	assert_false(found("[\"data\",\"x\"]", &f, &t));
	assert_false(found("{\"x\":\"unterminated", &f, &t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scan),
	    cmocka_unit_test(test_chunk_lifted_same_value),
	    cmocka_unit_test(test_nested_and_escaped),
	    cmocka_unit_test(test_refusals_worded_alike),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
