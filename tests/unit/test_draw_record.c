/* The draw record: export, verify-draw accepting it and rejecting each kind of change. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "draw.h"
#include "draw_cli.h"

static const char site_json[] =
    "{\"algorithm\":1,"
    "\"rooms\":[{\"id\":\"E1\",\"kind\":\"expert\",\"seats\":[\"S1\",\"S2\"]},"
    "{\"id\":\"E2\",\"kind\":\"expert\",\"seats\":[\"S1\",\"S2\"]},"
    "{\"id\":\"E3\",\"kind\":\"expert\",\"seats\":[\"S1\",\"S2\",\"S3\"]},"
    "{\"id\":\"W1\",\"kind\":\"tenderer\",\"seats\":[\"S1\",\"S2\",\"S3\"]}],"
    "\"tenders\":[{\"id\":\"T1\"},{\"id\":\"T2\"}],"
    "\"persons\":[{\"id\":\"A1\",\"tender\":\"T1\",\"role\":\"expert\"},"
    "{\"id\":\"A2\",\"tender\":\"T1\",\"role\":\"expert\"},"
    "{\"id\":\"B1\",\"tender\":\"T2\",\"role\":\"expert\"},"
    "{\"id\":\"B2\",\"tender\":\"T2\",\"role\":\"expert\"},"
    "{\"id\":\"B3\",\"tender\":\"T2\",\"role\":\"expert\"},"
    "{\"id\":\"Q1\",\"tender\":\"T1\",\"role\":\"tenderer\"}]}";

/* A run draw with one replacement, exported. */
static json_t *make_record(void)
{
	json_t *j = json_loads(site_json, 0, NULL), *rec;
	struct draw_inputs *in;
	struct draw *d;
	struct draw_person p = {.id = "B4", .tender = "T2", .role = DRAW_ROLE_EXPERT};

	assert_non_null(j);
	assert_int_equal(draw_inputs_parse(j, &in, NULL), 0);
	assert_int_equal(draw_commit(in, NULL, &d, NULL), 0);
	assert_null(draw_record_export(d)); /* nothing to export before the run */
	assert_int_equal(draw_run(d, "witness: 7 3 9 1", NULL), 0);
	assert_int_equal(draw_run(d, "again", NULL), -EINVAL);
	assert_int_equal(draw_replace(d, &p, "B1", NULL), 0);
	rec = draw_record_export(d);
	draw_free(d);
	draw_inputs_free(in);
	json_decref(j);
	return rec;
}

static void expect_verdict(const json_t *rec, int want_rc, const char *needle)
{
	GString *report = g_string_new(NULL);
	int rc = draw_record_verify(rec, report);

	if (rc != want_rc || !strstr(report->str, needle))
		fail_msg("verify: rc %d report \"%s\"; wanted rc %d and \"%s\"", rc, report->str,
		         want_rc, needle);
	g_string_free(report, TRUE);
}

static void test_accepts_exported_record(void **state)
{
	json_t *rec = make_record();
	struct draw *d;
	const char *room, *seat;

	expect_verdict(rec, 0, "6 seats and 1 replacements re-run identically");
	/* a loaded record seats everyone as recorded */
	assert_int_equal(draw_record_load(rec, &d, NULL), 0);
	assert_int_equal(draw_seat_of(d, "B4", &room, &seat), 0);
	assert_string_equal(room,
	                    json_string_value(json_object_get(
	                        json_array_get(json_object_get(rec, "replacements"), 0), "room")));
	assert_int_equal(draw_seat_of(d, "B1", &room, &seat), -ESRCH);
	draw_free(d);
	json_decref(rec);
}

static void test_rejects_changed_input(void **state)
{
	json_t *rec = make_record();
	json_t *persons = json_object_get(json_object_get(rec, "inputs"), "persons");

	/* A2 moves from tender T1 to T2: still a valid, feasible input */
	json_object_set_new(json_array_get(persons, 1), "tender", json_string("T2"));
	expect_verdict(rec, -EINVAL, "commitment does not match secret and inputs");
	json_decref(rec);

	rec = make_record();
	json_array_append_new(
	    json_object_get(
	        json_array_get(json_object_get(json_object_get(rec, "inputs"), "rooms"), 0),
	        "seats"),
	    json_string("S9"));
	expect_verdict(rec, -EINVAL, "commitment does not match secret and inputs");
	json_decref(rec);
}

static void test_rejects_changed_secret(void **state)
{
	json_t *rec = make_record();
	char *secret = g_strdup(json_string_value(json_object_get(rec, "secret")));

	secret[0] = secret[0] == '0' ? '1' : '0';
	json_object_set_new(rec, "secret", json_string(secret));
	expect_verdict(rec, -EINVAL, "commitment does not match secret and inputs");
	g_free(secret);
	json_decref(rec);
}

static void test_rejects_changed_entropy(void **state)
{
	json_t *rec = make_record();

	json_object_set_new(rec, "entropy", json_string("witness: 7 3 9 2"));
	expect_verdict(rec, -EINVAL, "seed does not match secret, entropy and inputs");
	json_decref(rec);
}

static void test_rejects_changed_seat(void **state)
{
	json_t *rec = make_record();
	json_t *a = json_array_get(json_object_get(rec, "assignments"), 2); /* B1 */
	const char *seat = json_string_value(json_object_get(a, "seat"));
	char *want = g_strdup_printf("seat of person B1: record says %s/%s, re-run gives %s/%s",
	                             json_string_value(json_object_get(a, "room")),
	                             strcmp(seat, "S1") == 0 ? "S2" : "S1",
	                             json_string_value(json_object_get(a, "room")), seat);

	json_object_set_new(a, "seat", json_string(strcmp(seat, "S1") == 0 ? "S2" : "S1"));
	expect_verdict(rec, -EINVAL, want);
	g_free(want);
	json_decref(rec);

	rec = make_record();
	a = json_array_get(json_object_get(rec, "replacements"), 0);
	json_object_set_new(a, "room", json_string("E9"));
	expect_verdict(rec, -EINVAL, "replacement 1: seat of person B4: record says E9/");
	json_decref(rec);

	rec = make_record();
	json_array_remove(json_object_get(rec, "assignments"), 5);
	expect_verdict(rec, -EINVAL, "seat of person Q1: missing from the record");
	json_decref(rec);
}

static void test_rejects_malformed(void **state)
{
	json_t *rec = make_record();

	json_object_set_new(rec, "seed", json_string("zz"));
	expect_verdict(rec, -EBADMSG, "seed: must be 64 lower-case hex digits");
	json_object_del(rec, "seed");
	expect_verdict(rec, -EBADMSG, "missing member \"seed\"");
	json_decref(rec);

	rec = make_record();
	json_object_set_new(json_object_get(rec, "inputs"), "algorithm", json_integer(2));
	expect_verdict(rec, -EBADMSG, "algorithm: must equal inputs.algorithm");
	json_decref(rec);

	rec = make_record();
	json_object_set_new(json_object_get(rec, "inputs"), "algorithm", json_integer(3));
	json_object_set_new(rec, "algorithm", json_integer(3));
	expect_verdict(rec, -EBADMSG, "algorithm: version not supported");
	json_decref(rec);

	rec = make_record();
	json_object_set_new(rec, "entropy", json_stringn("a\0b", 3));
	expect_verdict(rec, -EBADMSG, "entropy: must be a string");
	json_decref(rec);

	rec = make_record();
	json_object_set_new(rec, "entropy", json_string(""));
	expect_verdict(rec, -EBADMSG, "entropy: must be 1 to 4096 bytes");
	json_decref(rec);
}

static char *write_temp(const json_t *rec, const char *text)
{
	char *path = g_strdup("/tmp/test_draw_record_XXXXXX");
	int fd = g_mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	if (rec)
		json_dumpf(rec, f, JSON_INDENT(1));
	else
		fputs(text, f);
	fclose(f);
	return path;
}

static int run_cli(const char *path)
{
	char *argv[] = {"verify-draw", (char *)path, NULL};

	return draw_cli_verify_draw(2, argv);
}

static void test_cli_exit_codes(void **state)
{
	json_t *rec = make_record();
	char *ok = write_temp(rec, NULL), *bad, *garbage;
	char *argv[] = {"verify-draw", NULL};

	json_object_set_new(rec, "entropy", json_string("someone else's entropy"));
	bad = write_temp(rec, NULL);
	garbage = write_temp(NULL, "{\"format\": ");
	assert_int_equal(run_cli(ok), 0);
	assert_int_equal(run_cli(bad), 1);
	assert_int_equal(run_cli(garbage), 2);
	assert_int_equal(run_cli("/nonexistent/draw.json"), 2);
	assert_int_equal(draw_cli_verify_draw(1, argv), 2);
	unlink(ok);
	unlink(bad);
	unlink(garbage);
	g_free(ok);
	g_free(bad);
	g_free(garbage);
	json_decref(rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepts_exported_record),
	    cmocka_unit_test(test_rejects_changed_input),
	    cmocka_unit_test(test_rejects_changed_secret),
	    cmocka_unit_test(test_rejects_changed_entropy),
	    cmocka_unit_test(test_rejects_changed_seat),
	    cmocka_unit_test(test_rejects_malformed),
	    cmocka_unit_test(test_cli_exit_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
