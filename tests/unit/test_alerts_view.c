/* The live room view (controller/daemon/view.c): site rooms with their seats, what the modules
 * report, the agents' presence and open alerts per room; bad input ignored. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "alerts.h"
#include "clock.h"
#include "controller.h"
#include "test_ops_helpers.h"
#include "view.h"

struct fixture {
	struct ops_fixture *db;
	struct controller c;
};

static int setup(void **ctx)
{
	struct fixture *f = g_new0(struct fixture, 1);

	f->db = ops_fixture_new();
	f->c.state = f->db->st;
	f->c.rooms = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
	alerts_init(&f->c);
	view_init(&f->c);
	*ctx = f;
	return 0;
}

static int teardown(void **ctx)
{
	struct fixture *f = *ctx;

	view_free(&f->c);
	alerts_free(&f->c);
	g_hash_table_destroy(f->c.rooms);
	ops_fixture_free(f->db);
	g_free(f);
	return 0;
}

static const json_t *room_of(const json_t *rooms, const char *id)
{
	size_t i;
	json_t *r;

	json_array_foreach(rooms, i, r)
	{
		if (strcmp(json_string_value(json_object_get(r, "room")), id) == 0)
			return r;
	}
	fail_msg("room %s not in the view", id);
	return NULL;
}

static json_int_t count_of(const json_t *room, const char *state)
{
	return json_integer_value(json_object_get(json_object_get(room, "seat_counts"), state));
}

static void test_site_rooms_default(void **ctx)
{
	struct fixture *f = *ctx;
	json_t *rooms;
	const json_t *e1;

	ops_import_site(f->c.state, EXAMPLE_SITE);
	rooms = view_rooms_json(&f->c);
	assert_int_equal(json_array_size(rooms), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rooms, 0), "room")),
	                    "E1");
	assert_string_equal(json_string_value(json_object_get(json_array_get(rooms, 2), "room")),
	                    "T1");
	e1 = room_of(rooms, "E1");
	assert_string_equal(json_string_value(json_object_get(e1, "kind")), "expert");
	assert_string_equal(json_string_value(json_object_get(e1, "agent")), "unknown");
	assert_string_equal(json_string_value(json_object_get(e1, "door")), "unknown");
	assert_false(json_is_true(json_object_get(e1, "lockdown")));
	assert_int_equal(count_of(e1, "free"), 2);
	assert_int_equal(json_integer_value(json_object_get(e1, "tenders_present")), 0);
	json_decref(rooms);
}

static void test_reports_merged(void **ctx)
{
	struct fixture *f = *ctx;
	struct room_presence *p = g_new0(struct room_presence, 1);
	json_t *rooms, *streams, *seats;
	const json_t *e1, *x7;
	char *text;

	ops_import_site(f->c.state, EXAMPLE_SITE);
	g_strlcpy(p->room, "E1", sizeof(p->room));
	g_strlcpy(p->state, "online", sizeof(p->state));
	p->online = true;
	p->since_us = 42;
	g_hash_table_insert(f->c.rooms, p->room, p);
	view_set_door(&f->c, "E1", "forced_open", true);
	view_set_stream(&f->c, "E1", "cam1", "recording");
	view_set_stream(&f->c, "E1", "cam2", "lost");
	view_set_seat(&f->c, "E1", "S1", "logged_in");
	view_set_seat(&f->c, "E1", "S2", "expected");
	view_set_tenders_present(&f->c, "E1", 1);
	view_set_seat(&f->c, "X7", "S9", "offline"); /* a room the site does not know */
	alert_raise_text(&f->c, ALERT_DOOR_FORCED, &(struct alert_subject){.room = "E1"},
	                 "door_forced", (const char *[]){"E1", NULL}, NULL);
	/* Bad reports are ignored. */
	view_set_seat(&f->c, "E1", "S1", "asleep");
	view_set_stream(&f->c, "E1", "cam/1", "recording");
	view_set_door(&f->c, "bad room", "open", false);

	rooms = view_rooms_json(&f->c);
	assert_int_equal(json_array_size(rooms), 4);
	e1 = room_of(rooms, "E1");
	assert_string_equal(json_string_value(json_object_get(e1, "agent")), "online");
	assert_int_equal(json_integer_value(json_object_get(e1, "agent_since")), 42);
	assert_string_equal(json_string_value(json_object_get(e1, "door")), "forced_open");
	assert_true(json_is_true(json_object_get(e1, "lockdown")));
	streams = json_object_get(e1, "streams");
	assert_int_equal(json_array_size(streams), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(streams, 1), "state")),
	                    "lost");
	seats = json_object_get(e1, "seats");
	assert_string_equal(json_string_value(json_object_get(json_array_get(seats, 0), "state")),
	                    "logged_in");
	assert_int_equal(count_of(e1, "logged_in"), 1);
	assert_int_equal(count_of(e1, "expected"), 1);
	assert_int_equal(count_of(e1, "free"), 0);
	assert_int_equal(json_integer_value(json_object_get(e1, "tenders_present")), 1);
	assert_int_equal(json_integer_value(json_object_get(e1, "open_alerts")), 1);
	x7 = room_of(rooms, "X7");
	assert_int_equal(count_of(x7, "offline"), 1);
	assert_null(json_object_get(x7, "kind"));
	/* Never who sits where. */
	text = json_dumps(rooms, 0);
	assert_null(strstr(text, "person"));
	free(text);
	json_decref(rooms);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_site_rooms_default, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reports_merged, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
