/* Draw inputs: validation errors, canonical form, feasibility check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <openssl/sha.h>
#include <string.h>

#include "draw.h"

/* Parses text; returns the rc and leaves the error text in *err_out (g_free). */
static int parse_text(const char *text, struct draw_inputs **in, char **err_out)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	GString *err = g_string_new(NULL);
	int rc;

	assert_non_null(j);
	rc = draw_inputs_parse(j, in, err);
	json_decref(j);
	*err_out = g_string_free(err, FALSE);
	return rc;
}

static void expect_error(const char *text, const char *needle)
{
	struct draw_inputs *in = NULL;
	char *err;
	int rc = parse_text(text, &in, &err);

	if (rc != -EINVAL || !strstr(err, needle))
		fail_msg("input %s\n  rc %d, error \"%s\", wanted \"%s\"", text, rc, err, needle);
	assert_null(in);
	g_free(err);
}

#define ROOMS_OK   "\"rooms\":[{\"id\":\"E1\",\"kind\":\"expert\",\"seats\":[\"S1\"]}]"
#define TENDERS_OK "\"tenders\":[{\"id\":\"T1\"}]"

static void test_validation_errors(void **state)
{
	expect_error("[]", "inputs: must be an object");
	expect_error("{\"algorithm\":1," ROOMS_OK "," TENDERS_OK "}", "missing member \"persons\"");
	expect_error("{\"algorithm\":1,\"x\":1," ROOMS_OK "," TENDERS_OK ",\"persons\":[]}",
	             "unknown member \"x\"");
	expect_error("{\"algorithm\":3," ROOMS_OK "," TENDERS_OK ",\"persons\":[]}",
	             "inputs.algorithm: version 3 is not supported");
	expect_error("{\"algorithm\":1.0," ROOMS_OK "," TENDERS_OK ",\"persons\":[]}",
	             "inputs.algorithm: must be an integer");
	expect_error("{\"algorithm\":1,\"rooms\":{}," TENDERS_OK ",\"persons\":[]}",
	             "rooms: must be an array");
	expect_error("{\"algorithm\":1,\"rooms\":[{\"id\":\"E "
	             "1\",\"kind\":\"expert\",\"seats\":[\"S1\"]}]," TENDERS_OK ",\"persons\":[]}",
	             "rooms[0].id: \"E 1\" is not a valid id");
	expect_error("{\"algorithm\":1,\"rooms\":[{\"id\":\"-E\",\"kind\":\"expert\",\"seats\":["
	             "\"S1\"]}]," TENDERS_OK ",\"persons\":[]}",
	             "rooms[0].id");
	expect_error("{\"algorithm\":1,\"rooms\":[{\"id\":\"E1\",\"kind\":\"lobby\",\"seats\":["
	             "\"S1\"]}]," TENDERS_OK ",\"persons\":[]}",
	             "rooms[0].kind: must be \"expert\" or \"tenderer\"");
	expect_error("{\"algorithm\":1,\"rooms\":[{\"id\":\"E1\",\"kind\":\"expert\",\"seats\":[]}]"
	             "," TENDERS_OK ",\"persons\":[]}",
	             "room E1 has no seats");
	expect_error("{\"algorithm\":1,\"rooms\":[{\"id\":\"E1\",\"kind\":\"expert\",\"seats\":["
	             "\"S1\",\"S1\"]}]," TENDERS_OK ",\"persons\":[]}",
	             "seat S1 appears twice in room E1");
	expect_error("{\"algorithm\":1,\"rooms\":[{\"id\":\"E1\",\"kind\":\"expert\",\"seats\":["
	             "\"S1\",7]}]," TENDERS_OK ",\"persons\":[]}",
	             "rooms[0].seats[1]: not a valid id");
	expect_error(
	    "{\"algorithm\":1,\"rooms\":[{\"id\":\"E1\",\"kind\":\"expert\",\"seats\":[\"S1\"]},"
	    "{\"id\":\"E1\",\"kind\":\"expert\",\"seats\":[\"S1\"]}]," TENDERS_OK
	    ",\"persons\":[]}",
	    "room id E1 appears twice");
	expect_error("{\"algorithm\":1," ROOMS_OK
	             ",\"tenders\":[{\"id\":\"T1\"},{\"id\":\"T1\"}],\"persons\":[]}",
	             "tender id T1 appears twice");
	expect_error("{\"algorithm\":1," ROOMS_OK "," TENDERS_OK
	             ",\"persons\":[{\"id\":\"P1\",\"tender\":\"T2\",\"role\":\"expert\"}]}",
	             "person P1 names tender T2, which is not in tenders");
	expect_error("{\"algorithm\":1," ROOMS_OK "," TENDERS_OK
	             ",\"persons\":[{\"id\":\"P1\",\"tender\":\"T1\",\"role\":\"chair\"}]}",
	             "persons[0].role: must be \"expert\" or \"tenderer\"");
	expect_error("{\"algorithm\":1," ROOMS_OK "," TENDERS_OK
	             ",\"persons\":[{\"id\":\"P1\",\"tender\":\"T1\",\"role\":\"expert\"},"
	             "{\"id\":\"P1\",\"tender\":\"T1\",\"role\":\"expert\"}]}",
	             "person id P1 appears twice");
	expect_error("{\"algorithm\":1," ROOMS_OK "," TENDERS_OK
	             ",\"persons\":[{\"id\":\"P1\",\"tender\":\"T1\"}]}",
	             "persons[0]: missing member \"role\"");
	expect_error("{\"algorithm\":1," ROOMS_OK "," TENDERS_OK
	             ",\"persons\":[{\"id\":\"P123456789012345678901234567890123\",\"tender\":"
	             "\"T1\",\"role\":\"expert\"}]}",
	             "persons[0].id");
}

static void test_id_rule(void **state)
{
	assert_true(draw_id_valid("a"));
	assert_true(draw_id_valid("A-b_9"));
	assert_true(draw_id_valid("P1234567890123456789012345678901"));   /* 32 chars */
	assert_false(draw_id_valid("P12345678901234567890123456789012")); /* 33 */
	assert_false(draw_id_valid(""));
	assert_false(draw_id_valid("_a"));
	assert_false(draw_id_valid("a/b"));
	assert_false(draw_id_valid("a\xc3\xa9"));
}

static void test_canonical_form(void **state)
{
	/* members, persons, rooms, seats and tenders deliberately out of order */
	const char *messy =
	    "{ \"tenders\": [ {\"id\":\"Tb\"}, {\"id\":\"Ta\"} ],\n"
	    "  \"persons\": [ {\"role\":\"tenderer\",\"id\":\"p2\",\"tender\":\"Tb\"},\n"
	    "                 {\"tender\":\"Ta\",\"id\":\"P1\",\"role\":\"expert\"} ],\n"
	    "  \"rooms\": [ "
	    "{\"seats\":[\"s2\",\"S10\",\"S9\"],\"kind\":\"tenderer\",\"id\":\"W\"},\n"
	    "               {\"id\":\"E\",\"kind\":\"expert\",\"seats\":[\"S1\"]} ],\n"
	    "  \"algorithm\": 1 }";
	const char *want =
	    "{\"algorithm\":1,\"persons\":[{\"id\":\"P1\",\"role\":\"expert\",\"tender\":\"Ta\"},"
	    "{\"id\":\"p2\",\"role\":\"tenderer\",\"tender\":\"Tb\"}],\"rooms\":[{\"id\":\"E\","
	    "\"kind\":\"expert\",\"seats\":[\"S1\"]},{\"id\":\"W\",\"kind\":\"tenderer\",\"seats\":"
	    "[\"S10\",\"S9\",\"s2\"]}],\"tenders\":[{\"id\":\"Ta\"},{\"id\":\"Tb\"}]}";
	struct draw_inputs *in, *again;
	uint8_t hash[DRAW_HASH_LEN], expect[DRAW_HASH_LEN];
	char *err, *canon, *canon2, *dumped;
	json_t *j;

	assert_int_equal(parse_text(messy, &in, &err), 0);
	g_free(err);
	canon = draw_inputs_canonical(in);
	assert_string_equal(canon, want);
	draw_inputs_hash(in, hash);
	SHA256((const unsigned char *)want, strlen(want), expect);
	assert_memory_equal(hash, expect, DRAW_HASH_LEN);

	/* the canonical JSON object reparses to the same canonical text */
	j = draw_inputs_to_json(in);
	dumped = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(dumped, want);
	assert_int_equal(parse_text(dumped, &again, &err), 0);
	canon2 = draw_inputs_canonical(again);
	assert_string_equal(canon2, want);

	assert_int_equal(draw_inputs_find_person(in, "p2"), 1);
	assert_int_equal(draw_inputs_find_person(in, "nobody"), -1);
	assert_int_equal(draw_inputs_find_room(in, "W"), 1);
	free(dumped);
	json_decref(j);
	g_free(err);
	g_free(canon);
	g_free(canon2);
	draw_inputs_free(in);
	draw_inputs_free(again);
}

static void expect_infeasible(const char *text, const char *needle)
{
	struct draw_inputs *in;
	struct draw *d = NULL;
	GString *why = g_string_new(NULL);
	char *err;

	assert_int_equal(parse_text(text, &in, &err), 0);
	g_free(err);
	assert_int_equal(draw_inputs_check_feasible(in, why), -ENOSPC);
	if (!strstr(why->str, needle))
		fail_msg("reason \"%s\", wanted \"%s\"", why->str, needle);
	/* nothing is committed for infeasible inputs */
	assert_int_equal(draw_commit(in, NULL, &d, NULL), -ENOSPC);
	assert_null(d);
	g_string_free(why, TRUE);
	draw_inputs_free(in);
}

#define E(id, t) "{\"id\":\"" id "\",\"tender\":\"" t "\",\"role\":\"expert\"}"
#define R(id, t) "{\"id\":\"" id "\",\"tender\":\"" t "\",\"role\":\"tenderer\"}"

static void test_feasibility(void **state)
{
	expect_infeasible("{\"algorithm\":1," ROOMS_OK "," TENDERS_OK
	                  ",\"persons\":[" R("P1", "T1") "]}",
	                  "no tenderer room for 1 tenderer representatives");
	expect_infeasible("{\"algorithm\":1,\"rooms\":[{\"id\":\"W\",\"kind\":\"tenderer\","
	                  "\"seats\":[\"S1\"]}]," TENDERS_OK
	                  ",\"persons\":[" R("P1", "T1") "," R("P2", "T1") "]}",
	                  "too few seats in tenderer rooms: 2 tenderer representatives, 1 seats");
	expect_infeasible("{\"algorithm\":1,\"rooms\":[{\"id\":\"W\",\"kind\":\"tenderer\","
	                  "\"seats\":[\"S1\"]}]," TENDERS_OK ",\"persons\":[" E("P1", "T1") "]}",
	                  "no expert room for 1 experts");
	expect_infeasible("{\"algorithm\":1," ROOMS_OK "," TENDERS_OK
	                  ",\"persons\":[" E("P1", "T1") "," E("P2", "T1") "]}",
	                  "too few seats in expert rooms: 2 experts, 1 seats");
	/* 4 experts over 2 rooms: at most 2 per room, but E2 has one seat */
	expect_infeasible(
	    "{\"algorithm\":1,\"rooms\":[{\"id\":\"E1\",\"kind\":\"expert\",\"seats\":[\"S1\","
	    "\"S2\",\"S3\",\"S4\"]},"
	    "{\"id\":\"E2\",\"kind\":\"expert\",\"seats\":[\"S1\"]}]," TENDERS_OK
	    ",\"persons\":[" E("A", "T1") "," E("B", "T1") "," E("C", "T1") "," E("D", "T1") "]}",
	    "T1 (4 experts, at most 2 per room) need 4 seats but the expert rooms can give them at "
	    "most 3");
	/* each tender alone fits, together they do not: E1 takes one of each, E2 one */
	expect_infeasible(
	    "{\"algorithm\":1,\"rooms\":[{\"id\":\"E1\",\"kind\":\"expert\",\"seats\":[\"S1\","
	    "\"S2\",\"S3\",\"S4\"]},"
	    "{\"id\":\"E2\",\"kind\":\"expert\",\"seats\":[\"S1\"]}],"
	    "\"tenders\":[{\"id\":\"T1\"},{\"id\":\"T2\"}],"
	    "\"persons\":[" E("A", "T1") "," E("B", "T1") "," E("C", "T2") "," E("D", "T2") "]}",
	    "T1 (2 experts, at most 1 per room), T2 (2 experts, at most 1 per room) need 4 seats");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_validation_errors),
	    cmocka_unit_test(test_id_rule),
	    cmocka_unit_test(test_canonical_form),
	    cmocka_unit_test(test_feasibility),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
