/* Alerts (controller/daemon/alerts.c over state.db): raise, dedupe, acknowledge, resolve, auto
 * clear, never deleted, hooks, and the causes the controller sees itself (agent offline
 * after the grace period, clock skew on two consecutive statuses that agree). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "alerts.h"
#include "archive_disk.h"
#include "clock.h"
#include "controller.h"
#include "state_db.h"
#include "test_ops_helpers.h"

struct fixture {
	struct ops_fixture *db;
	struct controller c;
	struct clock_fake *clock; /* the alerts' grace periods run on it: no sleeping */
	GString *changes;         /* "raised:1 repeated:1 ..." as the hook saw them */
};

/* Alert text arguments, NULL-terminated. */
#define ARGS(...)       ((const char *[]){__VA_ARGS__, NULL})
#define WRONG_SEAT_ARGS ARGS("expert-1", "S1", "S2", "E1")

static void record_change(struct controller *c, const char *change, const json_t *alert, void *user)
{
	struct fixture *f = user;

	assert_ptr_equal(c, &f->c);
	g_string_append_printf(f->changes, "%s:%lld ", change,
	                       (long long)json_integer_value(json_object_get(alert, "id")));
}

static int setup(void **ctx)
{
	struct fixture *f = g_new0(struct fixture, 1);

	f->db = ops_fixture_new();
	f->c.state = f->db->st;
	f->c.rooms = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
	f->c.cfg.offline_grace_ms = 100;
	f->clock = clock_fake_new(clock_now_us());
	f->c.clock = clock_fake_source(f->clock);
	assert_int_equal(alerts_init(&f->c), 0);
	f->changes = g_string_new("");
	alerts_set_hook(&f->c, record_change, f);
	*ctx = f;
	return 0;
}

static int teardown(void **ctx)
{
	struct fixture *f = *ctx;

	alerts_free(&f->c);
	clock_fake_free(f->clock);
	g_hash_table_destroy(f->c.rooms);
	ops_fixture_free(f->db);
	g_string_free(f->changes, TRUE);
	g_free(f);
	return 0;
}

static json_t *alert_get(struct fixture *f, int64_t id)
{
	json_t *a = NULL;

	assert_int_equal(state_alert_get(f->c.state, id, &a, NULL), 0);
	return a;
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "(absent)";
}

static json_int_t num(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static size_t list_size(struct fixture *f, bool open_only)
{
	json_t *list = NULL;
	size_t n;

	assert_int_equal(state_alert_list(f->c.state, open_only, 0, 1000, &list, NULL), 0);
	n = json_array_size(list);
	json_decref(list);
	return n;
}

static void test_raise_and_dedupe(void **ctx)
{
	struct fixture *f = *ctx;
	struct alert_subject door = {.room = "E1"};
	struct alert_subject other = {.room = "E2"};
	int64_t a, b, c;
	json_t *o;

	a = alert_raise_text(&f->c, ALERT_DOOR_FORCED, &door, "door_forced", ARGS("E1"),
	                     json_pack("{s:s}", "state", "forced_open"));
	assert_true(a > 0);
	b = alert_raise_text(&f->c, ALERT_DOOR_FORCED, &door, "door_forced", ARGS("E1"),
	                     json_pack("{s:s}", "state", "forced_open"));
	assert_int_equal(b, a);
	c = alert_raise_text(&f->c, ALERT_DOOR_FORCED, &other, "door_forced", ARGS("E2"), NULL);
	assert_true(c > 0 && c != a);
	/* Same room, another kind: another alert. */
	assert_true(alert_raise_text(&f->c, ALERT_DOOR_HELD, &door, "door_held", ARGS("E1"), NULL) >
	            c);

	o = alert_get(f, a);
	assert_string_equal(str(o, "kind"), "door_forced");
	assert_string_equal(str(o, "state"), "open");
	assert_string_equal(str(o, "room"), "E1");
	assert_null(json_object_get(o, "seat")); /* not applicable: absent */
	assert_int_equal(num(o, "count"), 2);
	assert_string_equal(str(o, "detail"), "door of room E1 forced open (opened while locked)");
	assert_string_equal(str(json_object_get(o, "extra"), "state"), "forced_open");
	assert_string_equal(str(json_object_get(json_object_get(o, "extra"), "text"), "id"),
	                    "door_forced");
	assert_true(num(o, "last_at") >= num(o, "raised_at"));
	json_decref(o);
	assert_int_equal(list_size(f, true), 3);
	char *want = g_strdup_printf("raised:%lld repeated:%lld raised:%lld raised:%lld ",
	                             (long long)a, (long long)a, (long long)c, (long long)c + 1);
	assert_string_equal(f->changes->str, want);
	g_free(want);
}

static void test_ack_then_resolve(void **ctx)
{
	struct fixture *f = *ctx;
	struct alert_subject seat = {.room = "E1", .seat = "S2", .tender = "T-001"};
	GError *err = NULL;
	int64_t id, again;
	json_t *o;

	id = alert_raise_text(&f->c, ALERT_WRONG_SEAT, &seat, "wrong_seat", WRONG_SEAT_ARGS, NULL);
	assert_true(id > 0);
	assert_int_equal(alert_ack(&f->c, id, "operator-alice", "calling the room", &err), 0);
	o = alert_get(f, id);
	assert_string_equal(str(o, "state"), "acknowledged");
	assert_string_equal(str(o, "acked_by"), "operator-alice");
	assert_string_equal(str(o, "ack_note"), "calling the room");
	assert_string_equal(str(o, "tender"), "T-001");
	json_decref(o);

	/* A second acknowledgement is refused and changes nothing. */
	assert_int_equal(alert_ack(&f->c, id, "operator-bob", "me too", &err), -EALREADY);
	assert_int_equal(err->code, REQUEST_ERROR_CONFLICT);
	assert_non_null(strstr(err->message, "already acknowledged"));
	g_clear_error(&err);
	o = alert_get(f, id);
	assert_string_equal(str(o, "acked_by"), "operator-alice");
	json_decref(o);

	/* While acknowledged it is still open: the same cause counts on it. */
	again = alert_raise_text(&f->c, ALERT_WRONG_SEAT, &seat, "wrong_seat", WRONG_SEAT_ARGS, NULL);
	assert_int_equal(again, id);
	assert_int_equal(list_size(f, true), 1);

	assert_int_equal(alert_resolve(&f->c, id, "operator-bob", "expert reseated", &err), 0);
	o = alert_get(f, id);
	assert_string_equal(str(o, "state"), "resolved");
	assert_string_equal(str(o, "resolved_by"), "operator-bob");
	assert_string_equal(str(o, "resolve_note"), "expert reseated");
	assert_string_equal(str(o, "acked_by"), "operator-alice"); /* history kept */
	json_decref(o);
	assert_int_equal(alert_resolve(&f->c, id, "operator-bob", "again", &err), -EALREADY);
	g_clear_error(&err);
	assert_int_equal(alert_ack(&f->c, id, "operator-bob", "late", &err), -EALREADY);
	g_clear_error(&err);
	assert_int_equal(list_size(f, true), 0);
	assert_int_equal(list_size(f, false), 1);

	/* The cause again after resolution: a new alert. */
	again = alert_raise_text(&f->c, ALERT_WRONG_SEAT, &seat, "wrong_seat", WRONG_SEAT_ARGS, NULL);
	assert_true(again > id);
}

static void test_unknown_id_refused(void **ctx)
{
	struct fixture *f = *ctx;
	GError *err = NULL;

	assert_int_equal(alert_ack(&f->c, 4242, "operator-alice", "x", &err), -ENOENT);
	assert_int_equal(err->code, REQUEST_ERROR_NOT_FOUND);
	assert_string_equal(err->message, "no alert 4242");
	g_clear_error(&err);
	assert_int_equal(alert_resolve(&f->c, 4242, "operator-alice", "x", &err), -ENOENT);
	g_clear_error(&err);
	assert_int_equal(list_size(f, false), 0);
	assert_string_equal(f->changes->str, "");
}

static void test_auto_clear(void **ctx)
{
	struct fixture *f = *ctx;
	struct alert_subject s = {.room = "E2", .stream = "cam1"};
	struct alert_subject other = {.room = "E2", .stream = "cam2"};
	int64_t id, id2;
	json_t *o;

	id = alert_raise_text(&f->c, ALERT_STREAM_LOST, &s, "stream_lost", ARGS("cam1", "E2"), NULL);
	id2 = alert_raise_text(&f->c, ALERT_STREAM_LOST, &other, "stream_lost", ARGS("cam2", "E2"),
	                       NULL);
	alert_clear(&f->c, ALERT_STREAM_LOST, &s, "camera recording again");
	o = alert_get(f, id);
	assert_string_equal(str(o, "state"), "resolved");
	assert_string_equal(str(o, "resolved_by"), "auto: camera recording again");
	json_decref(o);
	o = alert_get(f, id2);
	assert_string_equal(str(o, "state"), "open");
	json_decref(o);
	/* Clearing what is not open changes nothing. */
	alert_clear(&f->c, ALERT_STREAM_LOST, &s, "again");
	alert_clear(&f->c, ALERT_TAMPER, &s, "nothing");
	o = alert_get(f, id);
	assert_string_equal(str(o, "resolved_by"), "auto: camera recording again");
	json_decref(o);
	assert_int_equal(list_size(f, false), 2);
}

static void test_never_deleted(void **ctx)
{
	struct fixture *f = *ctx;
	struct alert_subject s = {.room = "E1"};
	int64_t id = alert_raise_text(&f->c, ALERT_TAMPER, &s, "tamper", ARGS("E1"), NULL);
	char *msg = NULL;

	assert_true(id > 0);
	assert_int_not_equal(sqlite3_exec(f->c.state->db, "DELETE FROM alert", NULL, NULL, &msg),
	                     SQLITE_OK);
	assert_non_null(strstr(msg, "never deleted"));
	sqlite3_free(msg);
	assert_int_equal(list_size(f, false), 1);
}

static void test_bad_input_refused(void **ctx)
{
	struct fixture *f = *ctx;
	struct alert_subject bad = {.room = "E1/../x"};
	struct alert_subject good = {.room = "E1"};

	assert_int_equal(alert_raise_text(&f->c, ALERT_TAMPER, &bad, "tamper", ARGS("E1"), NULL),
	                 -EINVAL);
	assert_int_equal(
	    alert_raise_text(&f->c, ALERT_KIND_COUNT, &good, "tamper", ARGS("E1"), NULL), -EINVAL);
	/* a text of another kind, no text, an unknown text, the wrong number of arguments */
	assert_int_equal(
	    alert_raise_text(&f->c, ALERT_TAMPER, &good, "door_forced", ARGS("E1"), NULL), -EINVAL);
	assert_int_equal(alert_raise_text(&f->c, ALERT_TAMPER, &good, NULL, ARGS("E1"), NULL),
	                 -EINVAL);
	assert_int_equal(alert_raise_text(&f->c, ALERT_TAMPER, &good, "nope", ARGS("E1"), NULL),
	                 -EINVAL);
	assert_int_equal(alert_raise_text(&f->c, ALERT_TAMPER, &good, "tamper", ARGS("E1", "E2"),
	                                  NULL),
	                 -EINVAL);
	assert_int_equal(alert_raise_text(&f->c, ALERT_TAMPER, &good, "tamper", ARGS("E1"),
	                                  json_string("not an object")),
	                 -EINVAL);
	assert_int_equal(list_size(f, false), 0);
}

static void test_kind_names(void **ctx)
{
	enum alert_kind k;

	(void)ctx;
	for (int i = 0; i < ALERT_KIND_COUNT; i++) {
		assert_true(alert_kind_parse(alert_kind_name((enum alert_kind)i), &k));
		assert_int_equal(k, i);
	}
	assert_false(alert_kind_parse("door_exploded", &k));
	assert_string_equal(alert_kind_name(ALERT_AGENT_OFFLINE), "agent_offline");
}

/* Let MS milliseconds pass on the alerts' fake clock (their timers fire, in order). */
static void run_clock_ms(struct fixture *f, int ms)
{
	clock_fake_advance(f->clock, (int64_t)ms * 1000);
}

static void presence_set(struct fixture *f, const char *room, bool online)
{
	struct room_presence *p = g_hash_table_lookup(f->c.rooms, room);

	if (!p) {
		p = g_new0(struct room_presence, 1);
		g_strlcpy(p->room, room, sizeof(p->room));
		g_hash_table_insert(f->c.rooms, p->room, p);
	}
	p->online = online;
	p->since_us = clock_now_us();
	g_strlcpy(p->state, online ? "online" : "offline", sizeof(p->state));
	alerts_agent_presence(&f->c, room, online);
}

static void test_agent_offline_after_grace(void **ctx)
{
	struct fixture *f = *ctx;
	json_t *list = NULL;

	presence_set(f, "E1", true);
	presence_set(f, "E1", false);
	run_clock_ms(f, 99);
	assert_int_equal(list_size(f, true), 0); /* still within the grace period */
	run_clock_ms(f, 1);
	assert_int_equal(state_alert_list(f->c.state, true, 0, 10, &list, NULL), 0);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(str(json_array_get(list, 0), "kind"), "agent_offline");
	assert_string_equal(str(json_array_get(list, 0), "room"), "E1");
	json_decref(list);

	presence_set(f, "E1", true);
	assert_int_equal(list_size(f, true), 0);
	assert_int_equal(state_alert_list(f->c.state, false, 0, 10, &list, NULL), 0);
	assert_string_equal(str(json_array_get(list, 0), "resolved_by"), "auto: agent back online");
	json_decref(list);
}

static void test_agent_restart_within_grace_pages_nobody(void **ctx)
{
	struct fixture *f = *ctx;

	presence_set(f, "E1", true);
	presence_set(f, "E1", false);
	run_clock_ms(f, 30);
	presence_set(f, "E1", true);
	run_clock_ms(f, 200);
	assert_int_equal(list_size(f, false), 0);
}

static void test_agent_offline_only_for_known_rooms(void **ctx)
{
	struct fixture *f = *ctx;

	/* Never seen online and not in the (absent) site: no alert. */
	presence_set(f, "Z9", false);
	run_clock_ms(f, 200);
	assert_int_equal(list_size(f, false), 0);

	/* A room of the imported site is known even if it never came online. */
	ops_import_site(f->c.state, EXAMPLE_SITE);
	presence_set(f, "E2", false);
	run_clock_ms(f, 200);
	assert_int_equal(list_size(f, true), 1);
}

static void test_clock_skew(void **ctx)
{
	struct fixture *f = *ctx;
	int64_t now = clock_now_us();
	json_t *list = NULL, *a;

	alerts_agent_clock(&f->c, "E1", now + 1500000, now); /* within the 2 s default */
	assert_int_equal(list_size(f, false), 0);
	alerts_agent_clock(&f->c, "E1", now - 5000000, now);
	assert_int_equal(list_size(f, false), 0); /* one status off is not yet a wrong clock */
	alerts_agent_clock(&f->c, "E1", now + 10000000 - 5010000, now + 10000000);
	assert_int_equal(state_alert_list(f->c.state, true, 0, 10, &list, NULL), 0);
	assert_int_equal(json_array_size(list), 1);
	a = json_array_get(list, 0);
	assert_string_equal(str(a, "kind"), "clock_skew");
	assert_non_null(strstr(str(a, "detail"), "5.0 s behind"));
	assert_int_equal(num(json_object_get(a, "extra"), "skew_us"), -5010000);
	json_decref(list);
	alerts_agent_clock(&f->c, "E1", now + 100, now);
	assert_int_equal(list_size(f, true), 0);
	assert_int_equal(list_size(f, false), 1);
}

/* Two consecutive statuses: one within the limit in between starts the count again. */
static void test_clock_skew_needs_two_consecutive(void **ctx)
{
	struct fixture *f = *ctx;
	int64_t t = clock_now_us();

	alerts_agent_clock(&f->c, "E1", t - 3000000, t);
	alerts_agent_clock(&f->c, "E1", t + 10000000, t + 10000000);
	alerts_agent_clock(&f->c, "E1", t + 20000000 - 3000000, t + 20000000);
	assert_int_equal(list_size(f, false), 0);
	/* Another room's reading does not count for E1. */
	alerts_agent_clock(&f->c, "E2", t + 30000000 - 3000000, t + 30000000);
	assert_int_equal(list_size(f, false), 0);
	alerts_agent_clock(&f->c, "E1", t + 30000000 - 3100000, t + 30000000);
	assert_int_equal(list_size(f, true), 1);
	assert_string_equal(f->changes->str, "raised:1 ");
}

/* A backlog (a stalled controller, a reconnect): statuses sent 1 s apart arrive at once,
 * each one less late than the one before. Their readings disagree: nothing is raised. */
static void test_clock_skew_backlog_raises_nothing(void **ctx)
{
	struct fixture *f = *ctx;
	int64_t sent = clock_now_us(), arrived = sent + 4000000;

	for (int i = 0; i < 4; i++)
		alerts_agent_clock(&f->c, "E1", sent + i * 1000000, arrived + i * 1000);
	assert_int_equal(list_size(f, false), 0);
	/* The real next heartbeat, on time. */
	alerts_agent_clock(&f->c, "E1", sent + 10000000, sent + 10001000);
	assert_int_equal(list_size(f, false), 0);
}

/* While the alert is open, every status off counts on it (either way); after it was
 * resolved by hand, a new alert needs two consecutive readings again. */
static void test_clock_skew_repeats_while_open(void **ctx)
{
	struct fixture *f = *ctx;
	int64_t t = clock_now_us();
	json_t *list = NULL;
	int64_t id;

	alerts_agent_clock(&f->c, "E1", t - 5000000, t);
	alerts_agent_clock(&f->c, "E1", t + 1000000 - 5000000, t + 1000000);
	alerts_agent_clock(&f->c, "E1", t + 2000000 + 4000000, t + 2000000);
	assert_int_equal(state_alert_list(f->c.state, true, 0, 10, &list, NULL), 0);
	assert_int_equal(json_array_size(list), 1);
	id = num(json_array_get(list, 0), "id");
	assert_int_equal(num(json_array_get(list, 0), "count"), 2);
	json_decref(list);

	assert_int_equal(alert_resolve(&f->c, id, "operator-alice", "clock fixed", NULL), 0);
	alerts_agent_clock(&f->c, "E1", t + 3000000 - 5000000, t + 3000000);
	assert_int_equal(list_size(f, true), 0);
	alerts_agent_clock(&f->c, "E1", t + 4000000 - 5000000, t + 4000000);
	assert_int_equal(list_size(f, true), 1);
}

static void test_counts(void **ctx)
{
	struct fixture *f = *ctx;
	struct alert_subject s = {.room = "E1"};
	int64_t a = alert_raise_text(&f->c, ALERT_DOOR_FORCED, &s, "door_forced", ARGS("E1"), NULL);
	json_t *counts;

	alert_raise_text(&f->c, ALERT_DOOR_HELD, &s, "door_held", ARGS("E1"), NULL);
	assert_int_equal(alert_ack(&f->c, a, "operator-alice", "on my way", NULL), 0);
	counts = alerts_counts_json(&f->c);
	assert_int_equal(num(counts, "open"), 1);
	assert_int_equal(num(counts, "acknowledged"), 1);
	json_decref(counts);
}

/* The open alert of KIND (its id), 0 when none. */
static int64_t open_alert(struct fixture *f, const char *kind)
{
	json_t *list = NULL, *a;
	int64_t id = 0;
	size_t i;

	assert_int_equal(state_alert_list(f->c.state, true, 0, 1000, &list, NULL), 0);
	json_array_foreach(list, i, a)
	{
		if (strcmp(str(a, "kind"), kind) == 0)
			id = num(a, "id");
	}
	json_decref(list);
	return id;
}

/* The archive disk is read on the controller's clock: a fake clock drives its check
 * without sleeping, and its alert carries a language-neutral text (id and arguments). */
static void test_archive_disk_on_clock(void **ctx)
{
	struct fixture *f = *ctx;
	char *dir = g_dir_make_tmp("evalroom-disk-XXXXXX", NULL);

	assert_non_null(dir);
	f->c.cfg.archive_dir = dir;
	f->c.cfg.disk_check_s = 60;
	f->c.cfg.disk_low_free_percent = 0;
	f->c.cfg.disk_low_days = 0;
	f->c.cfg.disk_full_free_mb = 0;
	unsigned timers = clock_fake_pending(f->clock);
	archive_disk_init(&f->c);
	assert_int_equal(clock_fake_pending(f->clock), timers + 1);
	assert_int_equal(open_alert(f, "archive_disk_low"), 0);

	/* Any free space is now too little, but nothing is read before the next check. */
	f->c.cfg.disk_low_free_percent = 101;
	run_clock_ms(f, 59999);
	assert_int_equal(open_alert(f, "archive_disk_low"), 0);
	run_clock_ms(f, 1);
	int64_t id = open_alert(f, "archive_disk_low");
	assert_true(id > 0);
	json_t *a = alert_get(f, id);
	const json_t *text = json_object_get(json_object_get(a, "extra"), "text");
	/* With the days left when others filled the shared disk meanwhile. */
	bool days = strcmp(str(text, "id"), "archive_disk_days") == 0;
	assert_true(days || strcmp(str(text, "id"), "archive_disk") == 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(text, "args"), 0)),
	                    dir);
	assert_int_equal(json_array_size(json_object_get(text, "args")), days ? 5 : 4);
	assert_true(g_str_has_prefix(str(a, "detail"), "archive disk "));
	json_decref(a);
	assert_int_equal(clock_fake_pending(f->clock), timers + 1); /* re-armed */

	/* The cause goes: the next check resolves it. */
	f->c.cfg.disk_low_free_percent = 0;
	run_clock_ms(f, 60000);
	assert_int_equal(open_alert(f, "archive_disk_low"), 0);

	archive_disk_free(&f->c);
	assert_int_equal(clock_fake_pending(f->clock), timers);
	g_rmdir(dir);
	g_free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_raise_and_dedupe, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ack_then_resolve, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_id_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_auto_clear, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_never_deleted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_input_refused, setup, teardown),
	    cmocka_unit_test(test_kind_names),
	    cmocka_unit_test_setup_teardown(test_agent_offline_after_grace, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_agent_restart_within_grace_pages_nobody, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_agent_offline_only_for_known_rooms, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_clock_skew, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clock_skew_needs_two_consecutive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_clock_skew_backlog_raises_nothing, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_clock_skew_repeats_while_open, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_archive_disk_on_clock, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
