/* state.db's check-in side (controller/state/state_checkin.c) on a real database prepared by
 * the operator's operations: seating lookup and its refusals, admissions (one active per
 * person, wiped credentials), presence, the desk list, and the seat bindings the
 * archive router asks about. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "test_ops_helpers.h"

#define DAY "2026-11-26"

static int setup(void **ctx)
{
	struct ops_fixture *f = ops_fixture_new();
	ops_import_site(f->st, EXAMPLE_SITE);
	json_decref(ops_ok(f->st, "session.create", "{\"date\":\"" DAY "\"}"));
	json_decref(ops_ok(f->st, "tender.add",
	                   "{\"session\":\"" DAY "\",\"id\":\"TA\",\"name\":\"Ring road\"}"));
	json_decref(ops_ok(f->st, "tender.add",
	                   "{\"session\":\"" DAY "\",\"id\":\"TB\",\"name\":\"School\"}"));
	assert_int_equal(ops_import_committee(f->st, "TA",
	                                      "person_id,name,id_number,role\n"
	                                      "xp-wang,Wang Li,1111,expert\n"
	                                      "xp-zhou,Zhou Min,2222,expert\n",
	                                      NULL),
	                 0);
	assert_int_equal(ops_import_committee(f->st, "TB",
	                                      "person_id,name,id_number,role\n"
	                                      "xp-sun,Sun Yu,3333,expert\n",
	                                      NULL),
	                 0);
	*ctx = f;
	return 0;
}

static int teardown(void **ctx)
{
	ops_fixture_free(*ctx);
	return 0;
}

static void run_draw(struct state *st)
{
	ops_draw_commit_run(st, DAY, "w 1");
}

static void test_seating_refusals_then_found(void **ctx)
{
	struct ops_fixture *f = *ctx;
	struct state_assignment a;
	GError *err = NULL;
	assert_int_equal(state_seating_find(f->st, NULL, DAY, "xp-wang", &a, &err), -ENOENT);
	assert_non_null(strstr(err->message, "not seated yet"));
	g_clear_error(&err);
	assert_int_equal(state_seating_find(f->st, NULL, "2026-11-27", "xp-wang", &a, &err),
	                 -ENOENT);
	assert_non_null(strstr(err->message, "no committee of an open session dated 2026-11-27"));
	g_clear_error(&err);
	run_draw(f->st);
	assert_int_equal(state_seating_find(f->st, NULL, DAY, "xp-wang", &a, &err), 0);
	assert_string_equal(a.session, DAY);
	assert_string_equal(a.tender, "TA");
	assert_true(strcmp(a.room, "E1") == 0 || strcmp(a.room, "E2") == 0);
	assert_int_equal(state_seating_find(f->st, DAY, NULL, "xp-sun", &a, &err), 0);
	assert_string_equal(a.tender, "TB");
	assert_int_equal(state_seating_find(f->st, "other", NULL, "xp-sun", &a, &err), -ENOENT);
	assert_non_null(strstr(err->message, "open session other"));
	g_clear_error(&err);
	char id[STATE_ID_SIZE];
	assert_int_equal(state_session_open_on(f->st, DAY, id, NULL), 0);
	assert_string_equal(id, DAY);
	assert_int_equal(state_session_open_on(f->st, "2026-01-01", id, &err), -ENOENT);
	g_clear_error(&err);
}

static void admission_for(struct state *st, const char *person, const char *credential, int64_t now,
                          struct state_admission *out)
{
	struct state_assignment s;
	assert_int_equal(state_seating_find(st, DAY, NULL, person, &s, NULL), 0);
	memset(out, 0, sizeof(*out));
	strcpy(out->session, s.session);
	strcpy(out->person, s.person);
	strcpy(out->tender, s.tender);
	strcpy(out->room, s.room);
	strcpy(out->seat, s.seat);
	strcpy(out->credential, credential);
	memset(out->code_digest, 'a', 64);
	out->issued_at = now;
	out->valid_until = now + 300000000;
	out->code_valid_until = now + 3600000000;
}

static void test_admissions_and_presence(void **ctx)
{
	struct ops_fixture *f = *ctx;
	run_draw(f->st);
	struct state_admission a, b, got;
	int64_t id1, id2;
	json_t *active;
	char presence[16];
	int64_t since;

	assert_int_equal(state_presence_get(f->st, DAY, "xp-wang", presence, &since, NULL), 0);
	assert_string_equal(presence, "expected");
	assert_int_equal(since, 0);

	admission_for(f->st, "xp-wang", "pin:123456", 1000, &a);
	assert_int_equal(state_admission_add(f->st, &a, "desk-entrance", NULL, &id1, NULL), 0);
	assert_int_equal(state_presence_set(f->st, DAY, "xp-wang", "admitted", 1000, NULL), 0);
	admission_for(f->st, "xp-zhou", "w26:12:3456", 1001, &b);
	assert_int_equal(state_admission_add(f->st, &b, "desk-entrance", NULL, NULL, NULL), 0);
	assert_int_equal(state_admission_active(f->st, &active, NULL), 0);
	assert_int_equal(json_array_size(active), 2);
	json_decref(active);

	/* A readmission replaces the person's earlier admission; its credential is wiped. */
	admission_for(f->st, "xp-wang", "pin:654321", 2000, &a);
	assert_int_equal(state_admission_add(f->st, &a, "desk-entrance", "lost PIN", &id2, NULL),
	                 0);
	assert_int_equal(state_admission_active(f->st, &active, NULL), 0);
	assert_int_equal(json_array_size(active), 2);
	json_t *e;
	size_t i;
	json_array_foreach(active, i, e)
	{
		assert_string_not_equal(json_string_value(json_object_get(e, "credential")),
		                        "pin:123456");
	}
	json_decref(active);
	char *old = NULL;
	{
		sqlite3 *db;
		assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL),
		                 SQLITE_OK);
		sqlite3_stmt *stmt;
		sqlite3_prepare_v2(db,
		                   "SELECT state || ':' || credential FROM admission WHERE id = ?",
		                   -1, &stmt, NULL);
		sqlite3_bind_int64(stmt, 1, id1);
		assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
		old = g_strdup((const char *)sqlite3_column_text(stmt, 0));
		sqlite3_finalize(stmt);
		sqlite3_close(db);
	}
	assert_string_equal(old, "replaced:");
	g_free(old);

	/* Used once: no longer active, found no more for the room. */
	assert_int_equal(state_admission_active_of(f->st, "xp-wang", a.room, &got, NULL), 0);
	assert_int_equal(got.id, id2);
	assert_string_equal(got.credential, "pin:654321");
	assert_int_equal(state_admission_end(f->st, id2, "used", 2500, NULL), 0);
	GError *err = NULL;
	assert_int_equal(state_admission_end(f->st, id2, "used", 2600, &err), -ENOENT);
	g_clear_error(&err);
	assert_int_equal(state_admission_active_of(f->st, "xp-wang", a.room, &got, &err), -ENOENT);
	g_clear_error(&err);
	assert_int_equal(state_admission_latest(f->st, DAY, "xp-wang", &got, NULL), 0);
	assert_string_equal(got.state, "used");
	assert_string_equal(got.credential, "");

	/* What a returning agent is sent again: each person's latest admission with a
	 * login code still valid (used ones too: the agent keeps them spent). */
	json_t *seats;
	assert_int_equal(state_admission_seats(f->st, a.room, 2600, &seats, NULL), 0);
	bool wang = false;
	json_array_foreach(seats, i, e)
	{
		const char *p = json_string_value(json_object_get(e, "person"));
		assert_string_not_equal(p, "xp-sun");
		if (strcmp(p, "xp-wang") == 0) {
			wang = true;
			assert_string_equal(json_string_value(json_object_get(e, "seat")), a.seat);
			assert_string_equal(json_string_value(json_object_get(e, "tender_name")),
			                    "Ring road");
			assert_int_equal(json_integer_value(json_object_get(e, "code_valid_until")),
			                 a.code_valid_until);
		}
	}
	assert_true(wang);
	json_decref(seats);
	assert_int_equal(state_admission_seats(f->st, a.room, a.code_valid_until, &seats, NULL), 0);
	json_array_foreach(seats, i, e)
	{
		assert_string_not_equal(json_string_value(json_object_get(e, "person")), "xp-wang");
	}
	json_decref(seats);

	/* The desk list: room and seat only for those checked in. */
	assert_int_equal(state_presence_set(f->st, DAY, "xp-wang", "inside", 2500, NULL), 0);
	json_t *list;
	assert_int_equal(state_checkin_list(f->st, DAY, &list, NULL), 0);
	assert_int_equal(json_array_size(list), 3);
	json_array_foreach(list, i, e)
	{
		const char *p = json_string_value(json_object_get(e, "person"));
		const char *st = json_string_value(json_object_get(e, "state"));
		if (strcmp(p, "xp-wang") == 0) {
			assert_string_equal(st, "inside");
			assert_string_equal(json_string_value(json_object_get(e, "room")), a.room);
			assert_string_equal(json_string_value(json_object_get(e, "credential")),
			                    "used");
		} else if (strcmp(p, "xp-sun") == 0) {
			assert_string_equal(st, "expected");
			assert_null(json_object_get(e, "room"));
			assert_null(json_object_get(e, "seat"));
		}
	}
	json_decref(list);
}

static void test_bindings(void **ctx)
{
	struct ops_fixture *f = *ctx;
	char person[STATE_ID_SIZE], tender[STATE_ID_SIZE];
	json_t *tenders;

	assert_int_equal(state_binding_at(f->st, "E1", "S1", 50, person, tender, NULL), -ENOENT);
	assert_int_equal(state_binding_open(f->st, "E1", "S1", "xp-wang", "TA", 100, NULL), 0);
	assert_int_equal(state_binding_open(f->st, "E1", "S2", "xp-sun", "TB", 150, NULL), 0);
	assert_int_equal(state_binding_at(f->st, "E1", "S1", 99, person, tender, NULL), -ENOENT);
	assert_int_equal(state_binding_at(f->st, "E1", "S1", 100, person, tender, NULL), 0);
	assert_string_equal(person, "xp-wang");
	assert_string_equal(tender, "TA");
	assert_int_equal(state_tenders_in_room_at(f->st, "E1", 120, &tenders, NULL), 0);
	assert_int_equal(json_array_size(tenders), 1);
	json_decref(tenders);
	assert_int_equal(state_tenders_in_room_at(f->st, "E1", 160, &tenders, NULL), 0);
	assert_int_equal(json_array_size(tenders), 2);
	assert_string_equal(json_string_value(json_array_get(tenders, 0)), "TA");
	assert_string_equal(json_string_value(json_array_get(tenders, 1)), "TB");
	json_decref(tenders);

	/* Logout at 200: [100, 200) belongs to TA, 200 on to nobody. */
	assert_int_equal(state_binding_close(f->st, "E1", "S1", 200, NULL), 0);
	assert_int_equal(state_binding_at(f->st, "E1", "S1", 199, person, tender, NULL), 0);
	assert_int_equal(state_binding_at(f->st, "E1", "S1", 200, person, tender, NULL), -ENOENT);
	/* A login without a logout seen (agent restart) closes the open binding first. */
	assert_int_equal(state_binding_open(f->st, "E1", "S2", "xp-zhou", "TA", 300, NULL), 0);
	assert_int_equal(state_binding_at(f->st, "E1", "S2", 299, person, tender, NULL), 0);
	assert_string_equal(person, "xp-sun");
	assert_int_equal(state_binding_at(f->st, "E1", "S2", 300, person, tender, NULL), 0);
	assert_string_equal(person, "xp-zhou");
	assert_int_equal(state_tenders_in_room_at(f->st, "E1", 300, &tenders, NULL), 0);
	assert_int_equal(json_array_size(tenders), 1);
	json_decref(tenders);
	assert_int_equal(state_tenders_in_room_at(f->st, "E2", 300, &tenders, NULL), 0);
	assert_int_equal(json_array_size(tenders), 0);
	json_decref(tenders);
	/* Closing a seat nobody is bound to changes nothing. */
	assert_int_equal(state_binding_close(f->st, "E2", "S1", 400, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_seating_refusals_then_found, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_admissions_and_presence, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bindings, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
