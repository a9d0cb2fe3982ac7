/* Routing queries of the ingest (controller/state/route.h) over a real state.db with the
 * example site (E1, E2: two seats each with cameras cam-<room>-<seat>; T1: one seat)
 * and a run draw: which tenders a segment of a stream belongs to, and when (from the
 * check-in of the person drawn to the seat or room on: the seat map is sealed until it). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib/gstdio.h>
#include <jansson.h>

#include "route.h"
#include "test_ops_helpers.h"

#define SESSION "2026-11-26"

static int setup(void **ctx)
{
	struct ops_fixture *f = ops_fixture_new();

	ops_two_tenders(f->st, EXAMPLE_SITE, SESSION);
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
	ops_draw_commit_run(st, SESSION, "witness 4711");
}

/* The tenders of a segment as "TA,TB" ("" for none). */
static char *route(struct state *st, const char *room, const char *stream, int64_t to_us,
                   bool *seat, bool *known)
{
	GPtrArray *t = g_ptr_array_new_with_free_func(g_free);
	bool s, k;
	assert_int_equal(route_segment_tenders(st, room, stream, 0, to_us, t, &s, &k, NULL), 0);
	if (seat)
		*seat = s;
	if (known)
		*known = k;
	g_ptr_array_add(t, NULL);
	char *out = g_strjoinv(",", (char **)t->pdata);
	g_ptr_array_free(t, TRUE);
	return out;
}

static void expect(struct state *st, const char *room, const char *stream, int64_t to_us,
                   const char *tenders, bool seat, bool known)
{
	bool s, k;
	char *got = route(st, room, stream, to_us, &s, &k);
	assert_string_equal(got, tenders);
	assert_true(s == seat);
	assert_true(k == known);
	g_free(got);
}

static void test_nobody_seated_before_the_draw(void **ctx)
{
	struct ops_fixture *f = *ctx;
	expect(f->st, "E1", "cam-E1", INT64_MAX, "", false, true);
	expect(f->st, "E1", "cam-E1-S1", INT64_MAX, "", true, true);
}

#define CHECKIN_US 2000000000000000LL /* a check-in time after the draw's */

static void test_seat_and_room_streams_after_the_draw(void **ctx)
{
	struct ops_fixture *f = *ctx;
	run_draw(f->st);
	json_t *list;
	assert_int_equal(state_assignment_list(f->st, SESSION, &list, NULL), 0);
	assert_int_equal(json_array_size(list), 4);
	size_t i;
	json_t *a;
	/* Drawn but nobody checked in: no stream of any seat or room is anyone's (it would
	 * tell a tender archive's reader where the draw put that tender's people). */
	json_array_foreach(list, i, a)
	{
		const char *room = json_string_value(json_object_get(a, "room"));
		char *cam = g_strdup_printf("cam-%s-%s", room,
		                            json_string_value(json_object_get(a, "seat")));
		if (strcmp(room, "T1") != 0)
			expect(f->st, room, cam, INT64_MAX, "", true, true);
		expect(f->st, room, "cam-E1", INT64_MAX, "", false, strcmp(room, "E1") == 0);
		g_free(cam);
	}
	/* A failed screening is no check-in. */
	json_array_foreach(list, i, a)
	assert_int_equal(state_checkin_add(f->st, SESSION,
	                                   json_string_value(json_object_get(a, "person")),
	                                   CHECKIN_US - 10, "desk-entrance", "failed", NULL, NULL),
	                 0);
	expect(f->st, "E1", "cam-E1", INT64_MAX, "", false, true);
	json_array_foreach(list, i, a)
	{
		const char *person = json_string_value(json_object_get(a, "person"));
		int64_t seated, checked;
		GError *err = NULL;
		assert_int_equal(route_checkin_span(f->st, SESSION, person, &seated, &checked, &err),
		                 -ENOENT);
		assert_non_null(strstr(err->message, person));
		g_clear_error(&err);
		assert_int_equal(state_checkin_add(f->st, SESSION, person, CHECKIN_US,
		                                   "desk-entrance", "passed", NULL, NULL),
		                 0);
		assert_int_equal(route_checkin_span(f->st, SESSION, person, &seated, &checked, NULL),
		                 0);
		assert_true(seated > 0 && seated < CHECKIN_US);
		assert_true(checked == CHECKIN_US);
	}
	GHashTable *room_tenders = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	json_array_foreach(list, i, a)
	{
		const char *room = json_string_value(json_object_get(a, "room"));
		const char *seat = json_string_value(json_object_get(a, "seat"));
		const char *tender = json_string_value(json_object_get(a, "tender"));
		char *cam = g_strdup_printf("cam-%s-%s", room, seat);
		if (strcmp(room, "T1") != 0) /* T1's seat has a camera named otherwise */
			expect(f->st, room, cam, INT64_MAX, tender, true, true);
		g_free(cam);
		/* A recorded call of the seat (docs/call.md), both directions: the seat's tender,
		 * from the check-in on, as its camera. */
		char *call_seat = g_strdup_printf("call-%s-seat", seat);
		char *call_witness = g_strdup_printf("call-%s-witness", seat);
		expect(f->st, room, call_seat, INT64_MAX, tender, true, true);
		expect(f->st, room, call_witness, INT64_MAX, tender, true, true);
		expect(f->st, room, call_seat, CHECKIN_US - 1, "", true, true);
		g_free(call_seat);
		g_free(call_witness);
		char *prev = g_hash_table_lookup(room_tenders, room);
		char *joined = !prev                      ? g_strdup(tender)
		               : strstr(prev, tender)     ? g_strdup(prev)
		               : strcmp(prev, tender) < 0 ? g_strdup_printf("%s,%s", prev, tender)
		                                          : g_strdup_printf("%s,%s", tender, prev);
		g_hash_table_replace(room_tenders, g_strdup(room), joined);
	}
	json_decref(list);
	/* Room streams: every tender with someone in the room, each once, in order. */
	expect(f->st, "E1", "cam-E1", INT64_MAX, g_hash_table_lookup(room_tenders, "E1"), false,
	       true);
	expect(f->st, "E2", "cam-E2", INT64_MAX, g_hash_table_lookup(room_tenders, "E2"), false,
	       true);
	expect(f->st, "T1", "cam-T1", INT64_MAX, "TA", false, true);
	/* A name the site does not list for the room counts as a room stream, unknown. */
	expect(f->st, "E1", "usb-cam", INT64_MAX, g_hash_table_lookup(room_tenders, "E1"), false,
	       false);
	/* A call of a seat the room does not have, or a name only like a call's, is a room
	 * stream the site does not know. */
	expect(f->st, "E1", "call-S9-seat", INT64_MAX, g_hash_table_lookup(room_tenders, "E1"),
	       false, false);
	expect(f->st, "E1", "call-S1-other", INT64_MAX, g_hash_table_lookup(room_tenders, "E1"),
	       false, false);
	/* Another room's seat camera published by E1 is not a seat of E1. */
	expect(f->st, "E1", "cam-E2-S1", INT64_MAX, g_hash_table_lookup(room_tenders, "E1"), false,
	       false);
	/* Before anyone was seated (the draw's time): nobody's. */
	expect(f->st, "E1", "cam-E1", 1, "", false, true);
	expect(f->st, "E1", "cam-E1-S1", 1, "", true, true);
	/* Seated but ending before the check-in: nobody's; the segment during which the
	 * person checked in (ending at or after it) is theirs. */
	expect(f->st, "E1", "cam-E1", CHECKIN_US - 1, "", false, true);
	expect(f->st, "E1", "cam-E1-S1", CHECKIN_US - 1, "", true, true);
	expect(f->st, "E1", "cam-E1", CHECKIN_US, g_hash_table_lookup(room_tenders, "E1"), false,
	       true);
	g_hash_table_destroy(room_tenders);

	GPtrArray *rooms = g_ptr_array_new_with_free_func(g_free);
	assert_int_equal(route_tender_rooms(f->st, "TB", rooms, NULL), 0);
	assert_int_equal(rooms->len, 1);
	g_ptr_array_free(rooms, TRUE);
	rooms = g_ptr_array_new_with_free_func(g_free);
	assert_int_equal(route_tender_rooms(f->st, "TA", rooms, NULL), 0);
	assert_int_equal(rooms->len, 3); /* two experts in different rooms, one in T1 */
	g_ptr_array_free(rooms, TRUE);

	char t[STATE_ID_SIZE];
	assert_int_equal(route_person_tender(f->st, "xpsun", t, NULL), 0);
	assert_string_equal(t, "TB");
	assert_int_equal(route_person_tender(f->st, "nobody", t, NULL), -ENOENT);
}

static void test_tender_state(void **ctx)
{
	struct ops_fixture *f = *ctx;
	struct state_tender t;
	GError *err = NULL;
	assert_int_equal(state_tender_set_state(f->st, "TA", "sealed", NULL), 0);
	assert_int_equal(state_tender_get(f->st, "TA", &t, NULL), 0);
	assert_string_equal(t.state, "sealed");
	assert_int_equal(state_tender_set_state(f->st, "TX", "sealed", &err), -ENOENT);
	assert_non_null(strstr(err->message, "TX"));
	g_clear_error(&err);
	/* The schema allows only the three states. */
	assert_int_not_equal(state_tender_set_state(f->st, "TA", "gone", &err), 0);
	g_clear_error(&err);
}

/* A site with a draw room (the example site and DR1, camera cam-DR1), in a temporary
 * file: its camera belongs to every open tender, seated or not. */
static int setup_draw_room(void **ctx)
{
	struct ops_fixture *f = ops_fixture_new();
	json_t *site = json_load_file(EXAMPLE_SITE, 0, NULL);
	assert_non_null(site);
	json_array_append_new(json_object_get(site, "rooms"),
	                      json_pack("{s:s, s:s, s:s, s:[s]}", "id", "DR1", "kind", "draw",
	                                "door", "D-DR1", "cameras", "cam-DR1"));
	char *dir = g_dir_make_tmp("route-draw-XXXXXX", NULL);
	char *path = g_build_filename(dir, "site.json", NULL);
	assert_int_equal(json_dump_file(site, path, 0), 0);
	json_decref(site);
	ops_two_tenders(f->st, path, SESSION);
	g_unlink(path);
	g_rmdir(dir);
	g_free(path);
	g_free(dir);
	*ctx = f;
	return 0;
}

static void test_draw_room_stream(void **ctx)
{
	struct ops_fixture *f = *ctx;
	/* nobody is seated in a draw room, before the draw or after it */
	expect(f->st, "DR1", "cam-DR1", INT64_MAX, "TA,TB", false, true);
	run_draw(f->st);
	expect(f->st, "DR1", "cam-DR1", INT64_MAX, "TA,TB", false, true);
	/* a tender no longer open gets no more of it; a time before the tenders, none */
	assert_int_equal(state_tender_set_state(f->st, "TA", "closing", NULL), 0);
	expect(f->st, "DR1", "cam-DR1", INT64_MAX, "TB", false, true);
	expect(f->st, "DR1", "cam-DR1", 1, "", false, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_nobody_seated_before_the_draw, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_seat_and_room_streams_after_the_draw, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_tender_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_draw_room_stream, setup_draw_room, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
