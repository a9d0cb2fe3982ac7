/* Admission list: every reason, atomic replacement, validation, and entries of other
 * rooms that name neither the person nor the room. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "admission.h"

#include <errno.h>

#define NOW  1764100000000000ll /* 2025-11-25, µs */
#define HOUR 3600000000ll

static const struct admission_entry entries[] = {
    {"w26:1:100", "expert-a", false, NOW - HOUR, NOW + HOUR, NULL, NULL, false, 0},
    {"w26:1:101", "expert-b", false, NOW - 2 * HOUR, NOW - HOUR, NULL, NULL, false, 0},
    {"pin:4711", "expert-c", false, NOW + HOUR, NOW + 2 * HOUR, NULL, NULL, false, 0},
    {"w26:1:102", NULL, true, NOW - HOUR, NOW + HOUR, NULL, NULL, false, 0},
};

static void test_reasons(void **state)
{
	struct admission *a = admission_new("R1");
	char person[ADMISSION_PERSON_MAX];

	assert_int_equal(admission_replace(a, entries, 4, NULL), 0);
	assert_int_equal(admission_count(a), 4);
	assert_int_equal(admission_decide(a, "w26:1:100", NOW, person), ADMISSION_GRANTED);
	assert_string_equal(person, "expert-a");
	assert_int_equal(admission_decide(a, "w26:1:101", NOW, person), ADMISSION_EXPIRED);
	assert_string_equal(person, "expert-b");
	assert_int_equal(admission_decide(a, "pin:4711", NOW, person), ADMISSION_NOT_YET_VALID);
	assert_int_equal(admission_decide(a, "w26:1:102", NOW, person), ADMISSION_NOT_THIS_ROOM);
	assert_string_equal(person, ""); /* the room is never told whose it is */
	assert_int_equal(admission_decide(a, "w26:1:999", NOW, person), ADMISSION_UNKNOWN);
	assert_string_equal(person, "");
	assert_int_equal(admission_decide(a, "", NOW, NULL), ADMISSION_UNKNOWN);
	assert_int_equal(admission_decide(a, NULL, NOW, NULL), ADMISSION_UNKNOWN);
	/* The window is [from, until). */
	assert_int_equal(admission_decide(a, "w26:1:100", NOW + HOUR - 1, NULL), ADMISSION_GRANTED);
	assert_int_equal(admission_decide(a, "w26:1:100", NOW + HOUR, NULL), ADMISSION_EXPIRED);
	assert_int_equal(admission_decide(a, "w26:1:100", NOW - HOUR, NULL), ADMISSION_GRANTED);
	assert_int_equal(admission_decide(a, "w26:1:100", NOW - HOUR - 1, NULL),
	                 ADMISSION_NOT_YET_VALID);
	assert_string_equal(admission_reason_name(ADMISSION_NOT_THIS_ROOM), "not_this_room");
	admission_free(a);
}

static void test_invalid_list_keeps_old(void **state)
{
	struct admission *a = admission_new("R1");
	struct admission_entry bad[2] = {entries[0], entries[1]};
	GError *err = NULL;

	assert_int_equal(admission_replace(a, entries, 1, NULL), 0);
	bad[1].person = "";
	assert_int_equal(admission_replace(a, bad, 2, &err), -EINVAL);
	assert_non_null(strstr(err->message, "entry 1: person"));
	g_clear_error(&err);
	bad[1] = entries[1];
	bad[1].valid_until_us = bad[1].valid_from_us;
	assert_int_equal(admission_replace(a, bad, 2, &err), -EINVAL);
	assert_non_null(strstr(err->message, "entry 1: valid_until"));
	g_clear_error(&err);
	bad[1] = entries[0];
	assert_int_equal(admission_replace(a, bad, 2, &err), -EINVAL);
	assert_non_null(strstr(err->message, "listed twice"));
	g_clear_error(&err);
	bad[1] = entries[1];
	bad[1].credential = "has space";
	assert_int_equal(admission_replace(a, bad, 2, &err), -EINVAL);
	assert_non_null(strstr(err->message, "entry 1: credential"));
	g_clear_error(&err);
	/* The old list is still in force. */
	assert_int_equal(admission_decide(a, "w26:1:100", NOW, NULL), ADMISSION_GRANTED);
	assert_int_equal(admission_count(a), 1);
	/* A valid replacement drops what is no longer listed. */
	assert_int_equal(admission_replace(a, entries + 1, 1, NULL), 0);
	assert_int_equal(admission_decide(a, "w26:1:100", NOW, NULL), ADMISSION_UNKNOWN);
	admission_free(a);
}

/* Another room's credential is not_this_room whatever the time (as when the list named
 * the room), a person on such an entry is refused, and this room's own entry for the
 * same credential wins. */
static void test_elsewhere_entries(void **state)
{
	struct admission *a = admission_new("R1");
	struct admission_entry e[2] = {
	    {"pin:2222", NULL, true, NOW - HOUR, NOW + HOUR, NULL, NULL, false, 0},
	    {"w26:1:7", NULL, true, NOW + HOUR, NOW + 2 * HOUR, NULL, NULL, false, 0},
	};
	char person[ADMISSION_PERSON_MAX] = "x";
	GError *err = NULL;

	assert_int_equal(admission_replace(a, e, 2, NULL), 0);
	assert_int_equal(admission_count(a), 2);
	assert_int_equal(admission_decide(a, "pin:2222", NOW, person), ADMISSION_NOT_THIS_ROOM);
	assert_string_equal(person, "");
	assert_int_equal(admission_decide(a, "pin:2222", NOW + 3 * HOUR, NULL),
	                 ADMISSION_NOT_THIS_ROOM);
	assert_int_equal(admission_decide(a, "w26:1:7", NOW, NULL), ADMISSION_NOT_THIS_ROOM);
	assert_int_equal(admission_decide(a, "pin:2223", NOW, NULL), ADMISSION_UNKNOWN);

	e[1].person = "expert-z";
	assert_int_equal(admission_replace(a, e, 2, &err), -EINVAL);
	assert_non_null(strstr(err->message, "entry 1: person"));
	g_clear_error(&err);
	e[1].person = NULL;
	e[1].valid_until_us = e[1].valid_from_us;
	assert_int_equal(admission_replace(a, e, 2, &err), -EINVAL);
	assert_non_null(strstr(err->message, "entry 1: valid_until"));
	g_clear_error(&err);
	assert_int_equal(admission_decide(a, "w26:1:7", NOW, NULL), ADMISSION_NOT_THIS_ROOM);

	/* Here and elsewhere at once (a stale list during a move): this room decides. */
	e[1] = (struct admission_entry){"pin:2222", "expert-y", false, NOW - HOUR, NOW + HOUR,
	                                NULL,       NULL,       false, 0};
	assert_int_equal(admission_replace(a, e, 2, NULL), 0);
	assert_int_equal(admission_decide(a, "pin:2222", NOW, person), ADMISSION_GRANTED);
	assert_string_equal(person, "expert-y");
	admission_free(a);
}

/* The two-person rule of an escorted entry (docs/witness.md): neither credential opens
 * alone; the other one within the window opens (naming the escorted person); too late,
 * the wait starts anew; the same credential twice does not pair with itself. */
static void test_escorted_pair(void **state)
{
	(void)state;
	struct admission *a = admission_new("E1");
	const int64_t W = 2000000; /* 2 s */
	struct admission_entry e[3] = {
	    {"pin:1111", "witness-w", false, NOW - HOUR, NOW + HOUR, NULL, "A7", false, W},
	    {"pin:2222", "supervisor-s", false, NOW - HOUR, NOW + HOUR, NULL, "A7", true, W},
	    {"pin:3333", "expert-x", false, NOW - HOUR, NOW + HOUR, NULL, NULL, false, 0},
	};
	char person[ADMISSION_PERSON_MAX];
	assert_int_equal(admission_replace(a, e, 3, NULL), 0);
	/* alone: nothing opens, again and again */
	assert_int_equal(admission_decide(a, "pin:1111", NOW, person), ADMISSION_AWAITING_ESCORT);
	assert_string_equal(person, "witness-w");
	assert_int_equal(admission_decide(a, "pin:1111", NOW + 1000, person),
	                 ADMISSION_AWAITING_ESCORT);
	/* the escort too late: a new wait, nothing opens */
	assert_int_equal(admission_decide(a, "pin:2222", NOW + 1000 + W + 1, person),
	                 ADMISSION_AWAITING_ESCORT);
	/* the wait, as the agent writes it down (a restart ends it: docs/door.md) */
	struct admission_wait w;
	assert_int_equal(admission_wait_of(a, NOW + 1000 + W + 2, &w), 0);
	assert_string_equal(w.pair, "A7");
	assert_string_equal(w.person, "supervisor-s");
	assert_true(w.escort);
	assert_int_equal(w.at_us, NOW + 1000 + W + 1);
	assert_int_equal(w.window_us, W);
	assert_int_equal(admission_wait_of(a, NOW + 1000 + 2 * W + 2, &w), -ENOENT); /* passed */
	/* the escorted person within the window of that: granted, naming them */
	assert_int_equal(admission_decide(a, "pin:1111", NOW + 1000 + W + 500000, person),
	                 ADMISSION_GRANTED);
	assert_string_equal(person, "witness-w");
	assert_int_equal(admission_wait_of(a, NOW + 1000 + W + 500001, &w), -ENOENT);
	/* the pair is spent: the next one waits again */
	assert_int_equal(admission_decide(a, "pin:2222", NOW + 2 * W + 10, person),
	                 ADMISSION_AWAITING_ESCORT);
	/* an ordinary entry is unaffected */
	assert_int_equal(admission_decide(a, "pin:3333", NOW, person), ADMISSION_GRANTED);
	assert_string_equal(admission_reason_name(ADMISSION_AWAITING_ESCORT), "awaiting_escort");
	/* a pair on an elsewhere entry, or without a window, is refused */
	struct admission_entry bad = {"pin:4444", NULL, true,  NOW - HOUR, NOW + HOUR,
	                              NULL,       "A8", false, W};
	assert_int_equal(admission_replace(a, &bad, 1, NULL), -EINVAL);
	bad = (struct admission_entry){"pin:4444", "p",  false, NOW - HOUR, NOW + HOUR,
	                               NULL,       "A8", false, 0};
	assert_int_equal(admission_replace(a, &bad, 1, NULL), -EINVAL);
	admission_free(a);
}

static void test_many_entries(void **state)
{
	enum { N = 5000 };
	struct admission_entry *e = g_new0(struct admission_entry, N);
	char **creds = g_new0(char *, N);
	struct admission *a = admission_new("R1");
	size_t i;

	for (i = 0; i < N; i++) {
		creds[i] = g_strdup_printf("w34:%zu:%zu", i / 100, i);
		e[i] = (struct admission_entry){creds[i],   i % 2 ? NULL : "p",
		                                i % 2 == 1, NOW - HOUR,
		                                NOW + HOUR, NULL,
		                                NULL,       false,
		                                0};
	}
	assert_int_equal(admission_replace(a, e, N, NULL), 0);
	for (i = 0; i < N; i++)
		assert_int_equal(admission_decide(a, creds[i], NOW, NULL),
		                 i % 2 ? ADMISSION_NOT_THIS_ROOM : ADMISSION_GRANTED);
	for (i = 0; i < N; i++)
		g_free(creds[i]);
	g_free(creds);
	g_free(e);
	admission_free(a);
}

static void test_single_use(void **state)
{
	struct admission *a = admission_new("R1");
	struct admission_use use, renewed;
	struct admission_entry again[1] = {entries[0]};

	assert_int_equal(admission_replace(a, entries, 4, NULL), 0);
	assert_int_equal(admission_use_of(a, "w26:1:102", &use), -ENOENT); /* elsewhere */
	assert_int_equal(admission_use_of(a, "w26:1:999", &use), -ENOENT);
	assert_int_equal(admission_use_of(a, "w26:1:100", &use), 0);
	assert_int_equal(strlen(use.digest), 64);
	assert_int_equal(use.valid_from_us, NOW - HOUR);
	assert_int_equal(use.valid_until_us, NOW + HOUR);
	assert_int_equal(admission_mark_used(a, &use, NOW), 0);
	assert_int_equal(admission_decide(a, "w26:1:100", NOW, NULL), ADMISSION_USED);
	/* The window's end still says expired. */
	assert_int_equal(admission_decide(a, "w26:1:100", NOW + HOUR, NULL), ADMISSION_EXPIRED);
	/* A new list with the same admission keeps it used ... */
	assert_int_equal(admission_replace(a, entries, 4, NULL), 0);
	assert_int_equal(admission_decide(a, "w26:1:100", NOW, NULL), ADMISSION_USED);
	/* ... a readmission (a new window for the same card) is a new admission. */
	again[0].valid_from_us = NOW - 60;
	assert_int_equal(admission_replace(a, again, 1, NULL), 0);
	assert_int_equal(admission_decide(a, "w26:1:100", NOW, NULL), ADMISSION_GRANTED);
	assert_int_equal(admission_use_of(a, "w26:1:100", &renewed), 0);
	assert_string_equal(renewed.digest, use.digest);
	/* A use whose window has ended is forgotten; a bad digest is refused. */
	assert_int_equal(admission_mark_used(a, &use, NOW + HOUR), 0);
	strcpy(use.digest, "zz");
	assert_int_equal(admission_mark_used(a, &use, NOW), -EINVAL);
	admission_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reasons),           cmocka_unit_test(test_invalid_list_keeps_old),
	    cmocka_unit_test(test_elsewhere_entries), cmocka_unit_test(test_many_entries),
	    cmocka_unit_test(test_single_use),
	    cmocka_unit_test(test_escorted_pair),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
