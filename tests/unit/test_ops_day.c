/* The operator's day-one operations before the draw: site import, sessions, tenders,
 * committee import, and the audit log they leave. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "test_ops_helpers.h"

static int setup(void **ctx)
{
	*ctx = ops_fixture_new();
	return 0;
}

static int teardown(void **ctx)
{
	ops_fixture_free(*ctx);
	return 0;
}

/* A site, a session and a tender, ready for committees. */
static int setup_day(void **ctx)
{
	struct ops_fixture *f = ops_fixture_new();

	ops_import_site(f->st, EXAMPLE_SITE);
	json_decref(ops_ok(f->st, "session.create", "{\"date\":\"2026-11-26\"}"));
	json_decref(ops_ok(f->st, "tender.add",
	                   "{\"session\":\"2026-11-26\",\"id\":\"TA\",\"name\":\"Road works\"}"));
	json_decref(ops_ok(f->st, "tender.add",
	                   "{\"session\":\"2026-11-26\",\"id\":\"TB\",\"name\":\"School\"}"));
	*ctx = f;
	return 0;
}

static json_int_t member_int(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static size_t committee_size(struct state *st, const char *tender)
{
	json_t *list;
	size_t n;

	assert_int_equal(state_committee_list(st, "2026-11-26", tender, &list, NULL), 0);
	n = json_array_size(list);
	json_decref(list);
	return n;
}

static void test_site_import(void **ctx)
{
	struct ops_fixture *f = *ctx;
	json_error_t jerr;
	json_t *site = json_load_file(EXAMPLE_SITE, 0, &jerr), *res, *rooms;
	GError *err = NULL;

	assert_int_equal(
	    ops_call_args(f->st, "site.import", json_pack("{s:o}", "site", site), &res, &err), 0);
	assert_string_equal(json_string_value(json_object_get(res, "id")), "hq");
	assert_int_equal(member_int(res, "rooms"), 3);
	assert_int_equal(member_int(res, "expert_rooms"), 2);
	assert_int_equal(member_int(res, "tenderer_rooms"), 1);
	assert_int_equal(member_int(res, "seats"), 5);
	json_decref(res);
	assert_int_equal(state_site_rooms(f->st, &rooms, NULL), 0);
	assert_int_equal(json_array_size(rooms), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rooms, 2), "kind")),
	                    "tenderer");
	assert_int_equal(json_array_size(json_object_get(json_array_get(rooms, 0), "seats")), 2);
	json_decref(rooms);
	/* Importing again replaces the site rather than doubling it. */
	ops_import_site(f->st, EXAMPLE_SITE);
	assert_int_equal(state_site_rooms(f->st, &rooms, NULL), 0);
	assert_int_equal(json_array_size(rooms), 3);
	json_decref(rooms);
}

static void test_site_import_invalid_changes_nothing(void **ctx)
{
	struct ops_fixture *f = *ctx;
	json_t *sum;
	GError *err = NULL;

	ops_refused(f->st, "site.import",
	            "{\"site\":{\"id\":\"hq\",\"rooms\":[{\"id\":\"E 1\",\"kind\":\"expert\","
	            "\"door\":\"D1\",\"seats\":[]}]}}",
	            REQUEST_ERROR_INVALID, "rooms[0].id");
	ops_refused(f->st, "site.import", "{}", REQUEST_ERROR_INVALID, "site");
	ops_refused(f->st, "site.import", "{\"site\":{},\"extra\":1}", REQUEST_ERROR_INVALID,
	            "extra");
	assert_int_equal(state_site_summary(f->st, &sum, &err), -ENOENT);
	g_error_free(err);
}

static void test_session_create(void **ctx)
{
	struct ops_fixture *f = *ctx;
	json_t *res = ops_ok(f->st, "session.create", "{\"date\":\"2026-11-26\"}");
	struct state_session s;

	assert_string_equal(json_string_value(json_object_get(res, "session")), "2026-11-26");
	json_decref(res);
	res = ops_ok(f->st, "session.create", "{\"date\":\"2026-11-26\",\"id\":\"pm\"}");
	json_decref(res);
	assert_int_equal(state_session_get(f->st, "pm", &s, NULL), 0);
	assert_string_equal(s.date, "2026-11-26");
	ops_refused(f->st, "session.create", "{\"date\":\"2026-11-26\"}", REQUEST_ERROR_CONFLICT,
	            "already exists");
	ops_refused(f->st, "session.create", "{\"date\":\"2026-02-30\"}", REQUEST_ERROR_INVALID,
	            "args.date");
	ops_refused(f->st, "session.create", "{\"date\":\"26.11.2026\"}", REQUEST_ERROR_INVALID,
	            "args.date");
	ops_refused(f->st, "session.create", "{\"date\":\"2026-11-27\",\"id\":\"a/b\"}",
	            REQUEST_ERROR_INVALID, "id");
}

static void test_tender_add(void **ctx)
{
	struct ops_fixture *f = *ctx;
	struct state_tender t;
	GError *err = NULL;

	ops_refused(f->st, "tender.add", "{\"session\":\"nosuch\",\"id\":\"T9\",\"name\":\"x\"}",
	            REQUEST_ERROR_NOT_FOUND, "no session \"nosuch\"");
	assert_int_equal(state_tender_get(f->st, "T9", &t, &err), -ENOENT);
	g_clear_error(&err);
	json_decref(ops_ok(f->st, "session.create", "{\"date\":\"2026-11-26\"}"));
	json_decref(ops_ok(f->st, "tender.add",
	                   "{\"session\":\"2026-11-26\",\"id\":\"T9\",\"name\":\"Bridge\"}"));
	assert_int_equal(state_tender_get(f->st, "T9", &t, NULL), 0);
	assert_string_equal(t.session, "2026-11-26");
	assert_string_equal(t.name, "Bridge");
	assert_string_equal(t.state, "open");
	ops_refused(f->st, "tender.add",
	            "{\"session\":\"2026-11-26\",\"id\":\"T9\",\"name\":\"y\"}",
	            REQUEST_ERROR_CONFLICT, "already exists");
	ops_refused(f->st, "tender.add", "{\"session\":\"2026-11-26\",\"id\":\"T8\",\"name\":\"\"}",
	            REQUEST_ERROR_INVALID, "args.name");
}

static void test_committee_import(void **ctx)
{
	struct ops_fixture *f = *ctx;
	struct state_person p;
	char hmac[65];
	json_t *res, *list;
	GError *err = NULL;

	res = NULL;
	assert_int_equal(
	    ops_call_args(f->st, "committee.import",
	                  json_pack("{s:s, s:s}", "tender", "TA", "csv",
	                            "\xEF\xBB\xBFperson_id,name,id_number,role,card\r\n"
	                            "p-wang,\"Wang, Li\",11010519491231002X,expert,\r\n"
	                            "p-zhao,Zhao Min,110105194912310038,expert,C1234\r\n"
	                            "\r\n"
	                            "p-firm,\"Acme \"\"Build\"\" Ltd\",91110000,tenderer,\r\n"),
	                  &res, &err),
	    0);
	assert_int_equal(member_int(res, "experts"), 2);
	assert_int_equal(member_int(res, "tenderers"), 1);
	json_decref(res);
	assert_int_equal(state_person_get(f->st, "p-wang", &p, NULL), 0);
	assert_string_equal(p.name, "Wang, Li");
	assert_string_equal(p.card, "");
	state_id_number_hmac(f->st, "11010519491231002x", hmac);
	assert_string_equal(p.id_number_hmac, hmac);
	assert_int_equal(state_person_get(f->st, "p-firm", &p, NULL), 0);
	assert_string_equal(p.name, "Acme \"Build\" Ltd");
	assert_int_equal(state_person_get(f->st, "p-zhao", &p, NULL), 0);
	assert_string_equal(p.card, "C1234");
	assert_int_equal(state_committee_list(f->st, "2026-11-26", "TA", &list, NULL), 0);
	assert_int_equal(json_array_size(list), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "role")),
	                    "tenderer");
	json_decref(list);
}

/* Each bad file is refused naming its line, and nothing of it (not even the good rows
 * before the bad one) is imported. */
static void test_committee_bad_rows(void **ctx)
{
	static const struct {
		const char *csv;
		const char *reason;
	} cases[] = {
	    {"person_id,name,id_number,role\np1,A,12345678,expert\np2,B,12345678,judge\n",
	     "line 3: role \"judge\""},
	    {"person_id,name,id_number,role\np1,A,12345678,expert\np1,B,12345679,expert\n",
	     "line 3: person p1 appears twice"},
	    {"person_id,name,id_number,role\np1,A,12345678,expert\n\np 2,B,12345679,expert\n",
	     "line 4: person_id \"p 2\""},
	    {"person_id,name,id_number,role\np1,A,12345678\n", "line 2: 3 columns"},
	    {"person_id,name,id_number,role\np1,A,12-34,expert\n", "line 2: id_number"},
	    {"person_id,name,id_number,role\np1,,12345678,expert\n", "line 2: name"},
	    {"person_id,name,id_number,role\np1,\"A,12345678,expert\n", "line 2: a quoted"},
	    {"person_id,name,role\np1,A,expert\n", "line 1: the header lacks column \"id_number\""},
	    {"person_id,name,id_number,role,phone\n", "line 1: unknown column \"phone\""},
	    {"\np1,A,12345678,expert\n", "line 1: the header is missing"},
	    {"person_id,name,id_number,role\n", "no committee members"},
	    {"person_id,name,id_number,role\np1,A,12345678,expert,x\n", "line 2: 5 columns"},
	};
	struct ops_fixture *f = *ctx;
	struct state_person p;

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		GError *err = NULL;

		assert_int_equal(ops_import_committee(f->st, "TA", cases[i].csv, &err), -EINVAL);
		if (!strstr(err->message, cases[i].reason))
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err->message, cases[i].reason);
		assert_int_equal(err->code, REQUEST_ERROR_INVALID);
		g_error_free(err);
		assert_int_equal(committee_size(f->st, "TA"), 0);
		err = NULL;
		assert_int_equal(state_person_get(f->st, "p1", &p, &err), -ENOENT);
		g_error_free(err);
	}
}

static void test_committee_conflicts(void **ctx)
{
	struct ops_fixture *f = *ctx;
	GError *err = NULL;

	assert_int_equal(ops_import_committee(f->st, "TA",
	                                      "person_id,name,id_number,role\n"
	                                      "p1,Anna,12345678,expert\n",
	                                      NULL),
	                 0);
	/* One person, one seat: not in two committees of the same session. */
	assert_int_equal(ops_import_committee(f->st, "TB",
	                                      "person_id,name,id_number,role\n"
	                                      "p2,Bo,22345678,expert\n"
	                                      "p1,Anna,12345678,expert\n",
	                                      &err),
	                 -EEXIST);
	assert_non_null(strstr(err->message, "line 3: person p1 already sits in the committee "
	                                     "of tender TA"));
	g_clear_error(&err);
	assert_int_equal(committee_size(f->st, "TB"), 0);
	/* The same id with another identity number is someone else. */
	assert_int_equal(ops_import_committee(f->st, "TB",
	                                      "person_id,name,id_number,role\n"
	                                      "p1,Anna,99999999,expert\n",
	                                      &err),
	                 -EEXIST);
	assert_non_null(strstr(err->message, "line 2: person p1 is already registered"));
	g_clear_error(&err);
	ops_refused(f->st, "committee.import",
	            "{\"tender\":\"T404\",\"csv\":\"person_id,name,id_number,role\\n\"}",
	            REQUEST_ERROR_NOT_FOUND, "no tender \"T404\"");
}

static void test_audit_records(void **ctx)
{
	struct ops_fixture *f = *ctx;
	json_t *res, *records, *last;
	const char *args;

	assert_int_equal(ops_import_committee(f->st, "TA",
	                                      "person_id,name,id_number,role\n"
	                                      "p1,Anna,SECRET123456,expert\n",
	                                      NULL),
	                 0);
	ops_refused(f->st, "tender.add", "{\"session\":\"nosuch\",\"id\":\"T9\",\"name\":\"x\"}",
	            REQUEST_ERROR_NOT_FOUND, "nosuch");
	res = ops_ok(f->st, "audit.list", "{}");
	records = json_object_get(res, "records");
	/* site.import, session.create, 2 x tender.add (setup), committee.import, tender.add */
	assert_int_equal(json_array_size(records), 6);
	last = json_array_get(records, 5);
	assert_string_equal(json_string_value(json_object_get(last, "identity")), "operator-test");
	assert_string_equal(json_string_value(json_object_get(last, "command")), "tender.add");
	assert_string_equal(json_string_value(json_object_get(last, "outcome")), "not_found");
	assert_non_null(strstr(json_string_value(json_object_get(last, "message")), "nosuch"));
	args = json_string_value(json_object_get(json_array_get(records, 4), "args"));
	assert_non_null(strstr(args, "\"tender\":\"TA\""));
	assert_non_null(strstr(args, "sha256"));
	/* Identity numbers never reach the audit log. */
	assert_null(strstr(args, "SECRET123456"));
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(records, 4), "outcome")), "ok");
	json_decref(res);
	res = ops_ok(f->st, "audit.list", "{\"since\":0,\"limit\":2}");
	assert_int_equal(json_array_size(json_object_get(res, "records")), 2);
	json_decref(res);
	ops_refused(f->st, "audit.list", "{\"limit\":0}", REQUEST_ERROR_INVALID, "limit");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_site_import, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_site_import_invalid_changes_nothing, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_session_create, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tender_add, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_committee_import, setup_day, teardown),
	    cmocka_unit_test_setup_teardown(test_committee_bad_rows, setup_day, teardown),
	    cmocka_unit_test_setup_teardown(test_committee_conflicts, setup_day, teardown),
	    cmocka_unit_test_setup_teardown(test_audit_records, setup_day, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
