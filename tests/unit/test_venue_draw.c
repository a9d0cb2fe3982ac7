/* The venue draw (common/draw/venue_draw.h) against the worked example of docs/draw.md
 * section 12, whose figures an independent re-implementation from that page computed:
 * canonical text, hashes, seed and every venue of both rounds; then the record's
 * verification and its refusals. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"
#include "venue_draw.h"

#define SECRET "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

struct example {
	const char *inputs, *canonical, *entropy;
	const char *input_hash, *commitment, *entropy_hash, *seed;
	const char *venue[2];
	int n[2], k[2];
};

static const struct example round1 = {
    "{\"tender\": \"ZB-2026-0113\", \"draw\": \"venue\", \"algorithm\": 1, \"round\": 1, "
    "\"candidates\": [\"west\", \"north\", \"south\", \"east\"], \"count\": 2, \"excluded\": []}",
    "{\"algorithm\":1,\"candidates\":[\"east\",\"north\",\"south\",\"west\"],\"count\":2,"
    "\"draw\":\"venue\",\"excluded\":[],\"round\":1,\"tender\":\"ZB-2026-0113\"}",
    "supervisor 2026-12-07: 9 2 6 5",
    "44be359fc8e30136537de01b8ee45ff8882586b7d00f55e50090ccb32ca9a8d8",
    "90db55ec7718174eac0787b2f963f8701af7792ff473ce00f17f851faf86d49a",
    "d993dfe5964f91f8f89aad251afeb03e0219a9db7a4a3538e24ef6fbd6549cd0",
    "4064039fcca11677e4551ec570872922c3cdd45dc16bbf0a383aac943f1d1e73",
    {"east", "north"},
    {4, 3},
    {0, 0},
};

static const struct example round2 = {
    "{\"algorithm\": 1, \"draw\": \"venue\", \"tender\": \"ZB-2026-0113\", \"round\": 2, "
    "\"candidates\": [\"west\", \"south\", \"north\"], \"count\": 2, \"excluded\": [\"east\"]}",
    "{\"algorithm\":1,\"candidates\":[\"north\",\"south\",\"west\"],\"count\":2,"
    "\"draw\":\"venue\",\"excluded\":[\"east\"],\"round\":2,\"tender\":\"ZB-2026-0113\"}",
    "supervisor 2026-12-07: 3 5 8 9 7",
    "ceab09d8a3e1c7dc160f53b71e3b5c11994672cc3546d1d1d0b7a6be8308552c",
    "d0bd098d50520aa4e99ef3c1a7c9d57cbf25e9559a4fcdff19c9b492e0fc01c8",
    "92ec720828f37b63f6bcf72f5fd887e17f3d0d8eebf18067daba4f54fc5c440c",
    "37b1675f35f9d519b68104cf2f3aa9fbc7dd6735090210c4af0ff43e4d88451c",
    {"south", "north"},
    {3, 2},
    {1, 0},
};

static int parse_text(const char *text, struct venue_inputs **in, GString *err)
{
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	int rc = venue_inputs_parse(j, in, err);
	json_decref(j);
	return rc;
}

static json_t *record_of(const struct example *ex)
{
	uint8_t secret[DRAW_SECRET_LEN];
	struct venue_inputs *in = NULL;
	GString *err = g_string_new(NULL);
	assert_int_equal(parse_text(ex->inputs, &in, err), 0);
	g_string_free(err, TRUE);
	assert_int_equal(hex_decode(SECRET, secret, sizeof(secret)), 0);
	json_t *rec = venue_record_make(in, secret, ex->entropy);
	venue_inputs_free(in);
	return rec;
}

static void check_example(const struct example *ex)
{
	struct venue_inputs *in = NULL;
	GString *err = g_string_new(NULL);
	assert_int_equal(parse_text(ex->inputs, &in, err), 0);
	char *canonical = venue_inputs_canonical(in);
	assert_string_equal(canonical, ex->canonical);
	g_free(canonical);
	venue_inputs_free(in);

	json_t *rec = record_of(ex);
	assert_string_equal(json_string_value(json_object_get(rec, "input_hash")), ex->input_hash);
	assert_string_equal(json_string_value(json_object_get(rec, "commitment")), ex->commitment);
	assert_string_equal(json_string_value(json_object_get(rec, "entropy_hash")),
	                    ex->entropy_hash);
	assert_string_equal(json_string_value(json_object_get(rec, "seed")), ex->seed);
	json_t *chosen = json_object_get(rec, "chosen");
	assert_int_equal(json_array_size(chosen), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *c = json_array_get(chosen, i);
		assert_string_equal(json_string_value(json_object_get(c, "venue")), ex->venue[i]);
		assert_int_equal(json_integer_value(json_object_get(c, "n")), ex->n[i]);
		assert_int_equal(json_integer_value(json_object_get(c, "k")), ex->k[i]);
	}
	assert_int_equal(venue_record_verify(rec, err), 0);
	assert_non_null(strstr(err->str, "re-drawn and identical"));
	g_string_free(err, TRUE);
	json_decref(rec);
}

static void test_example_rounds(void **state)
{
	(void)state;
	check_example(&round1);
	check_example(&round2);
}

static int verify_changed(const char *member, json_t *value, GString *report)
{
	json_t *rec = record_of(&round1);
	json_object_set_new(rec, member, value);
	g_string_truncate(report, 0);
	int rc = venue_record_verify(rec, report);
	json_decref(rec);
	return rc;
}

static void test_tampered_records(void **state)
{
	(void)state;
	GString *report = g_string_new(NULL);

	/* another venue than the draw gives */
	json_t *rec = record_of(&round1);
	json_object_set_new(json_array_get(json_object_get(rec, "chosen"), 1), "venue",
	                    json_string("south"));
	assert_int_equal(venue_record_verify(rec, report), -EINVAL);
	assert_non_null(strstr(report->str, "chosen[1]: the draw gives venue north, the record "
	                                    "says south"));
	json_decref(rec);

	/* another entropy: the entropy hash no longer matches */
	assert_int_equal(verify_changed("entropy", json_string("supervisor: 1 2 3"), report),
	                 -EINVAL);
	assert_non_null(strstr(report->str, "entropy_hash does not match"));

	/* the candidates changed after the commitment */
	rec = record_of(&round1);
	json_array_remove(json_object_get(json_object_get(rec, "inputs"), "candidates"), 0);
	g_string_truncate(report, 0);
	assert_int_equal(venue_record_verify(rec, report), -EINVAL);
	assert_non_null(strstr(report->str, "input_hash does not match"));
	json_decref(rec);

	/* an unknown member, and no record at all */
	assert_int_equal(verify_changed("extra", json_true(), report), -EBADMSG);
	assert_int_equal(verify_changed("seed", json_string("zz"), report), -EBADMSG);
	g_string_free(report, TRUE);
}

static void test_refused_inputs(void **state)
{
	(void)state;
	static const struct {
		const char *text, *why;
	} bad[] = {
	    {"{\"algorithm\":1,\"draw\":\"venue\",\"tender\":\"T\",\"round\":1,\"candidates\":"
	     "[\"a\",\"b\"],\"count\":3,\"excluded\":[]}",
	     "count: 3 venues wanted but only 2 candidates"},
	    {"{\"algorithm\":1,\"draw\":\"venue\",\"tender\":\"T\",\"round\":1,\"candidates\":"
	     "[],\"count\":1,\"excluded\":[]}",
	     "candidates: empty"},
	    {"{\"algorithm\":1,\"draw\":\"venue\",\"tender\":\"T\",\"round\":2,\"candidates\":"
	     "[\"a\",\"b\"],\"count\":1,\"excluded\":[\"b\"]}",
	     "excluded: venue b is also a candidate"},
	    {"{\"algorithm\":1,\"draw\":\"venue\",\"tender\":\"T\",\"round\":1,\"candidates\":"
	     "[\"a\",\"a\"],\"count\":1,\"excluded\":[]}",
	     "candidates: venue a named twice"},
	    {"{\"algorithm\":1,\"draw\":\"staff\",\"tender\":\"T\",\"round\":1,\"candidates\":"
	     "[\"a\"],\"count\":1,\"excluded\":[]}",
	     "draw: must be \"venue\""},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		struct venue_inputs *in = NULL;
		GString *err = g_string_new(NULL);
		assert_int_equal(parse_text(bad[i].text, &in, err), -EINVAL);
		assert_null(in);
		if (!strstr(err->str, bad[i].why))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err->str, bad[i].why);
		g_string_free(err, TRUE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example_rounds),
	    cmocka_unit_test(test_tampered_records),
	    cmocka_unit_test(test_refused_inputs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
