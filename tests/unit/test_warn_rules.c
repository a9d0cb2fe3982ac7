/* The behaviour warning rules engine (controller/ops/warn_rules.h) on hand-made event
 * sequences: each rule fires on its case at the right moment and not on its near miss. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "warn_rules.h"

#define S(x) ((int64_t)(x) * G_USEC_PER_SEC)
#define T0   S(1796601600LL) /* 2026-12-07 00:00 UTC */

struct seen {
	int n[WARN_RULE_COUNT];
	struct warning last; /* its strings borrowed for the call: copied below */
	char person[16], person2[16], seat[16];
};

static void on_warning(const struct warning *w, void *user)
{
	struct seen *s = user;
	s->n[w->rule]++;
	s->last = *w;
	g_strlcpy(s->person, w->person, sizeof(s->person));
	g_strlcpy(s->person2, w->person2, sizeof(s->person2));
	g_strlcpy(s->seat, w->seat, sizeof(s->seat));
}

static struct warn_rules *engine(struct seen *s)
{
	struct warn_limits l;
	warn_limits_default(&l);
	memset(s, 0, sizeof(*s));
	return warn_rules_new(&l, on_warning, s);
}

static void feed(struct warn_rules *w, enum warn_input k, int64_t at, const char *room,
                 const char *seat, const char *person)
{
	struct warn_event e = {k, at, room, seat, person, person ? "T1" : NULL};
	warn_rules_feed(w, &e);
}

/* PERSON checked in at 09:00 and seated at ROOM/SEAT by 09:02. */
static void seated(struct warn_rules *w, const char *room, const char *seat, const char *person)
{
	feed(w, WIN_CHECKIN, T0 + S(9 * 3600), room, seat, person);
	feed(w, WIN_ENTRY, T0 + S(9 * 3600 + 60), room, NULL, person);
	feed(w, WIN_LOGIN, T0 + S(9 * 3600 + 120), room, seat, person);
}

static void test_poisson_tail(void **state)
{
	(void)state;
	assert_true(warn_poisson_tail(0, 2.0) == 1.0);
	/* P(X >= 1 | 0.5) = 1 - e^-0.5 */
	assert_true(warn_poisson_tail(1, 0.5) > 0.3934 && warn_poisson_tail(1, 0.5) < 0.3935);
	assert_true(warn_poisson_tail(3, 0.05) < 3e-5);
}

static void test_breaks_and_long_break(void **state)
{
	(void)state;
	struct seen s;
	struct warn_rules *w = engine(&s);
	seated(w, "E1", "S1", "a");
	int64_t t = T0 + S(10 * 3600);
	for (int i = 0; i < 3; i++, t += S(600)) {
		feed(w, WIN_BREAK_START, t, "E1", "S1", "a");
		feed(w, WIN_BREAK_END, t + S(120), "E1", "S1", "a");
	}
	assert_int_equal(s.n[WARN_BREAKS], 0); /* three within the hour are allowed */
	feed(w, WIN_BREAK_START, t, "E1", "S1", "a");
	assert_int_equal(s.n[WARN_BREAKS], 1);
	assert_true(s.last.from_us == T0 + S(10 * 3600) && s.last.to_us == t);
	warn_rules_tick(w, t + S(1200));
	assert_int_equal(s.n[WARN_LONG_BREAK], 0); /* exactly the limit */
	warn_rules_tick(w, t + S(1201));
	assert_int_equal(s.n[WARN_LONG_BREAK], 1);
	assert_string_equal(s.person, "a");
	warn_rules_tick(w, t + S(1300));
	assert_int_equal(s.n[WARN_LONG_BREAK], 1); /* once per break */
	warn_rules_free(w);
}

static void test_synchronised(void **state)
{
	(void)state;
	struct seen s;
	struct warn_rules *w = engine(&s);
	seated(w, "E1", "S1", "a");
	seated(w, "E2", "S1", "b");
	seated(w, "E3", "S1", "c");
	for (int i = 0; i < 3; i++) {
		int64_t t = T0 + S(10 * 3600 + i * 3600);
		feed(w, WIN_HELP, t, "E1", "S1", "a");
		feed(w, WIN_HELP, t + S(3), "E2", "S1", "b");
		feed(w, WIN_HELP, t + S(30), "E3", "S1", "c"); /* too late to count */
	}
	assert_int_equal(s.n[WARN_SYNC], 1);
	assert_string_equal(s.person, "b");
	assert_string_equal(s.person2, "a");
	assert_int_equal(s.last.n_places, 2);
	warn_rules_free(w);
}

static void test_vacant_seat_and_inside_exit(void **state)
{
	(void)state;
	struct seen s;
	struct warn_rules *w = engine(&s);
	seated(w, "E1", "S1", "a");
	/* a typo then a login: quiet */
	feed(w, WIN_SEAT_TRY, T0 + S(9 * 3600 + 200), "E1", "S2", NULL);
	seated(w, "E1", "S2", "b");
	warn_rules_tick(w, T0 + S(9 * 3600 + 400));
	assert_int_equal(s.n[WARN_VACANT_SEAT], 0);
	/* attempts at S3, nobody logs in */
	feed(w, WIN_SEAT_TRY, T0 + S(11 * 3600), "E1", "S3", NULL);
	warn_rules_tick(w, T0 + S(11 * 3600 + 121));
	assert_int_equal(s.n[WARN_VACANT_SEAT], 1);
	assert_string_equal(s.seat, "S3");
	/* the door opened from inside while both sit logged in */
	feed(w, WIN_REX, T0 + S(12 * 3600), "E1", NULL, NULL);
	assert_int_equal(s.n[WARN_INSIDE_EXIT], 1);
	/* on a break one may leave, once */
	feed(w, WIN_BREAK_START, T0 + S(13 * 3600), "E1", "S1", "a");
	feed(w, WIN_REX, T0 + S(13 * 3600 + 10), "E1", NULL, NULL);
	assert_int_equal(s.n[WARN_INSIDE_EXIT], 1);
	feed(w, WIN_REX, T0 + S(13 * 3600 + 20), "E1", NULL, NULL);
	assert_int_equal(s.n[WARN_INSIDE_EXIT], 2);
	warn_rules_free(w);
}

static void test_hours_and_entry(void **state)
{
	(void)state;
	struct seen s;
	struct warn_rules *w = engine(&s); /* hours 07:30-18:30 UTC (no zone) */
	feed(w, WIN_CHECKIN, T0 + S(7 * 3600 + 29 * 60), "E1", "S1", "a");
	assert_int_equal(s.n[WARN_OFF_HOURS], 1);
	feed(w, WIN_CHECKIN, T0 + S(7 * 3600 + 30 * 60), "E2", "S1", "b");
	assert_int_equal(s.n[WARN_OFF_HOURS], 1);
	feed(w, WIN_ENTRY, T0 + S(7 * 3600 + 30 * 60 + 180), "E2", NULL, "b");
	assert_int_equal(s.n[WARN_ENTRY_LATE], 0); /* exactly the limit */
	feed(w, WIN_CHECKIN, T0 + S(8 * 3600), "E3", "S1", "c");
	feed(w, WIN_ENTRY, T0 + S(8 * 3600 + 181), "E3", NULL, "c");
	assert_int_equal(s.n[WARN_ENTRY_LATE], 1);
	assert_true(s.last.from_us == T0 + S(8 * 3600));
	warn_rules_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_poisson_tail),
	    cmocka_unit_test(test_breaks_and_long_break),
	    cmocka_unit_test(test_synchronised),
	    cmocka_unit_test(test_vacant_seat_and_inside_exit),
	    cmocka_unit_test(test_hours_and_entry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
