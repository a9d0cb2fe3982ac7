/* Every alert kind the controller can raise has a text a person reads (issue 24): a name
 * for the kind and at least one detail text (common/alert_text.h), so that a kind added
 * without them fails here; and a text of one kind cannot be raised as another's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "alert_text.h"
#include "alerts.h"

static void test_every_kind_has_its_texts(void **state)
{
	for (int k = 0; k < ALERT_KIND_COUNT; k++) {
		const char *name = alert_kind_name((enum alert_kind)k);
		print_message("%-24s %s\n", name, alert_kind_text(name) ? alert_kind_text(name) : "?");
		if (!alert_kind_text(name))
			fail_msg("alert kind %s has no name for people: add it to kinds[] in "
			         "common/alert_text.c (and its translation to po/*.po)",
			         name);
		if (!alert_kind_has_text(name))
			fail_msg("alert kind %s has no detail text: add its texts to texts[] in "
			         "common/alert_text.c and raise it with alert_raise_text",
			         name);
		enum alert_kind back;
		assert_true(alert_kind_parse(name, &back));
		assert_int_equal(back, k);
	}
	assert_null(alert_kind_text("no_such_kind"));
	assert_false(alert_kind_has_text("no_such_kind"));
}

static void test_texts_name_real_kinds(void **state)
{
	static const char *const ids[] = {
	    "door_forced", "archive_copy_failed", "archive_copy_remove_failed",
	    "archive_copies_missing", "archive_copy_bad", "warn_breaks", "warn_long_break",
	    "warn_synchronised", "warn_vacant_logout", "warn_vacant_tries", "warn_inside_exit",
	    "warn_off_hours_login", "warn_entry_late", "warn_affinity_agency", "venue_link_lost",
	    "venue_fault_near", "witness_breach_seat", "witness_incident", "escort_missing_escort",
	    "escort_missing_escorted"};
	for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
		enum alert_kind kind;
		const char *k = alert_text_kind(ids[i]);
		assert_non_null(k);
		assert_true(alert_kind_parse(k, &kind));
	}
	assert_string_equal(alert_text_kind("warn_vacant_help"), "warn_vacant_seat");
	assert_string_equal(alert_text_kind("escort_missing_escort"), "escort_missing");
	assert_null(alert_text_kind("no_such_text"));
	/* The English rendering of a warning's text with its arguments. */
	const char *a[] = {"E1", "S2"};
	char *s = alert_text_render("warn_vacant_break", a, 2, false);
	assert_string_equal(s, "a break at seat E1 of room S2 while nobody is logged in there");
	g_free(s);
	const char *v[] = {"V2", "200", "240"};
	s = alert_text_render("venue_fault_near", v, 3, false);
	assert_string_equal(s, "the link to venue V2 has been down for 200 min; a fault not mended "
	                       "within 240 min during an evaluation calls for a new committee");
	g_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_kind_has_its_texts),
	    cmocka_unit_test(test_texts_name_real_kinds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
