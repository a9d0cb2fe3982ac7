/* The staff draw (common/draw/staff_draw.h) against the worked example of docs/staff.md
 * section 6, whose figures an independent re-implementation
 * (tests/integration/staff_reference.py) computed: canonical text, hashes, seed and every
 * post; then the record's verification and its refusals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"
#include "staff_draw.h"

static const char example_inputs[] =
    "{\"algorithm\": 1, \"draw\": \"staff\", \"session\": \"2026-12-07\", \"date\": "
    "\"2026-12-07\", \"slots\": ["
    "{\"tender\": \"ZB-2026-0113\", \"post\": \"witness\", \"eligible\": [\"witness-notary2\", "
    "\"witness-notary1\", \"witness-notary3\"]},"
    "{\"tender\": \"ZB-2026-0113\", \"post\": \"desk\", \"eligible\": [\"desk-east\", "
    "\"desk-entrance\"]},"
    "{\"tender\": \"ZB-2026-0114\", \"post\": \"witness\", \"eligible\": [\"witness-notary3\", "
    "\"witness-notary2\"]},"
    "{\"tender\": \"ZB-2026-0114\", \"post\": \"desk\", \"eligible\": [\"desk-entrance\", "
    "\"desk-east\"]}]}";

static const char example_canonical[] =
    "{\"algorithm\":1,\"date\":\"2026-12-07\",\"draw\":\"staff\",\"session\":\"2026-12-07\","
    "\"slots\":[{\"eligible\":[\"desk-east\",\"desk-entrance\"],\"post\":\"desk\",\"tender\":"
    "\"ZB-2026-0113\"},{\"eligible\":[\"witness-notary1\",\"witness-notary2\",\"witness-"
    "notary3\"],\"post\":\"witness\",\"tender\":\"ZB-2026-0113\"},{\"eligible\":[\"desk-east\","
    "\"desk-entrance\"],\"post\":\"desk\",\"tender\":\"ZB-2026-0114\"},{\"eligible\":["
    "\"witness-notary2\",\"witness-notary3\"],\"post\":\"witness\",\"tender\":"
    "\"ZB-2026-0114\"}]}";

#define SECRET  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define ENTROPY "witness 2026-12-07: 2 7 1 8 28"

static struct staff_inputs *example(void)
{
	json_t *j = json_loads(example_inputs, 0, NULL);
	struct staff_inputs *in = NULL;
	GString *err = g_string_new(NULL);
	assert_non_null(j);
	assert_int_equal(staff_inputs_parse(j, &in, err), 0);
	g_string_free(err, TRUE);
	json_decref(j);
	return in;
}

static json_t *example_record(void)
{
	uint8_t secret[DRAW_SECRET_LEN];
	struct staff_inputs *in = example();
	assert_int_equal(hex_decode(SECRET, secret, sizeof(secret)), 0);
	json_t *rec = staff_record_make(in, secret, ENTROPY);
	staff_inputs_free(in);
	return rec;
}

static void test_example(void **ctx)
{
	(void)ctx;
	struct staff_inputs *in = example();
	char *text = staff_inputs_canonical(in);
	assert_string_equal(text, example_canonical);
	g_free(text);
	staff_inputs_free(in);

	json_t *rec = example_record();
	const struct {
		const char *key, *value;
	} want[] = {
	    {"input_hash", "ab89d0454ab0e143ee8173c06ca904f7b85f703455b586b7428da5381374eecb"},
	    {"commitment", "3685b6e5bc8e7752a583b143dd058ee377732f6786622aab5f3e5825d6a862bb"},
	    {"entropy_hash", "c85b3728990b0479c7d398758e9fbff209df42e577dc16c729e7e5359eb75cf1"},
	    {"seed", "c78699da1586c1f63401b9a019ae1e8420c4ffe88f2d30b9e345de58e53017d6"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(want); i++)
		assert_string_equal(json_string_value(json_object_get(rec, want[i].key)),
		                    want[i].value);
	const char *people[] = {"desk-entrance", "witness-notary1", "desk-east", "witness-notary2"};
	const int n[] = {2, 3, 2, 2}, k[] = {1, 0, 0, 0};
	json_t *a = json_object_get(rec, "assignment");
	assert_int_equal(json_array_size(a), 4);
	for (size_t i = 0; i < 4; i++) {
		json_t *x = json_array_get(a, i);
		assert_string_equal(json_string_value(json_object_get(x, "person")), people[i]);
		assert_int_equal(json_integer_value(json_object_get(x, "n")), n[i]);
		assert_int_equal(json_integer_value(json_object_get(x, "k")), k[i]);
	}
	GString *report = g_string_new(NULL);
	assert_int_equal(staff_record_verify(rec, report), 0);
	assert_non_null(strstr(report->str, "4 posts re-drawn and identical"));
	g_string_free(report, TRUE);
	json_decref(rec);
}

static void test_tampered_records(void **ctx)
{
	(void)ctx;
	GString *report = g_string_new(NULL);
	/* another person on a post */
	json_t *rec = example_record();
	json_object_set_new(json_array_get(json_object_get(rec, "assignment"), 1), "person",
	                    json_string("witness-notary3"));
	assert_int_equal(staff_record_verify(rec, report), -EINVAL);
	assert_non_null(strstr(report->str, "assignment[1]: the draw gives witness-notary1"));
	json_decref(rec);
	/* another entropy than the one the seed was made with */
	g_string_truncate(report, 0);
	rec = example_record();
	json_object_set_new(rec, "entropy", json_string("witness 2026-12-07: 3 1 4"));
	assert_int_equal(staff_record_verify(rec, report), -EINVAL);
	assert_non_null(strstr(report->str, "entropy_hash does not match"));
	json_decref(rec);
	/* a person struck from a slot's list after the commitment */
	g_string_truncate(report, 0);
	rec = example_record();
	json_array_remove(
	    json_object_get(
	        json_array_get(json_object_get(json_object_get(rec, "inputs"), "slots"), 1),
	        "eligible"),
	    2);
	assert_int_equal(staff_record_verify(rec, report), -EINVAL);
	assert_non_null(strstr(report->str, "input_hash does not match"));
	json_decref(rec);
	/* malformed: an unknown member, a slot nobody may hold */
	g_string_truncate(report, 0);
	rec = example_record();
	json_object_set_new(rec, "extra", json_true());
	assert_int_equal(staff_record_verify(rec, report), -EBADMSG);
	json_decref(rec);
	g_string_free(report, TRUE);
}

static void test_inputs_refused(void **ctx)
{
	(void)ctx;
	static const struct {
		const char *json, *why;
	} cases[] = {
	    {"{\"algorithm\":2,\"draw\":\"staff\",\"session\":\"S\",\"date\":\"2026-12-07\","
	     "\"slots\":[]}",
	     "algorithm: must be 1"},
	    {"{\"algorithm\":1,\"draw\":\"staff\",\"session\":\"S\",\"date\":\"2026-02-30\","
	     "\"slots\":[]}",
	     "date: must be a date"},
	    {"{\"algorithm\":1,\"draw\":\"staff\",\"session\":\"S\",\"date\":\"2026-12-07\","
	     "\"slots\":[{\"tender\":\"T\",\"post\":\"p\",\"eligible\":[]}]}",
	     "slots[0].eligible: empty: nobody may hold post p for tender T"},
	    {"{\"algorithm\":1,\"draw\":\"staff\",\"session\":\"S\",\"date\":\"2026-12-07\","
	     "\"slots\":[{\"tender\":\"T\",\"post\":\"p\",\"eligible\":[\"a\",\"a\"]}]}",
	     "slots[0].eligible: \"a\" named twice"},
	    {"{\"algorithm\":1,\"draw\":\"staff\",\"session\":\"S\",\"date\":\"2026-12-07\","
	     "\"slots\":[{\"tender\":\"T\",\"post\":\"p\",\"eligible\":[\"a\"]},"
	     "{\"tender\":\"T\",\"post\":\"p\",\"eligible\":[\"b\"]}]}",
	     "slots: post p of tender T named twice"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		json_t *j = json_loads(cases[i].json, 0, NULL);
		struct staff_inputs *in = NULL;
		GString *err = g_string_new(NULL);
		assert_non_null(j);
		assert_int_equal(staff_inputs_parse(j, &in, err), -EINVAL);
		assert_null(in);
		assert_non_null(strstr(err->str, cases[i].why));
		g_string_free(err, TRUE);
		json_decref(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example),
	    cmocka_unit_test(test_tampered_records),
	    cmocka_unit_test(test_inputs_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
