/* The broker's client-id rule (broker/clientid_rule.c): an identity names only its own
 * sessions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "clientid_rule.h"

static void test_own_id_and_suffixes(void **state)
{
	assert_true(clientid_rule_allowed("controller", "controller"));
	assert_true(clientid_rule_allowed("agent-E1", "agent-E1"));
	assert_true(clientid_rule_allowed("operator-alice", "operator-alice:4711-9f3c00aa"));
	assert_true(clientid_rule_allowed("terminal-E1-S1", "terminal-E1-S1:x"));
}

static void test_foreign_ids_refused(void **state)
{
	/* The hostile tester's ids: a kiosk naming the controller's or an agent's session. */
	assert_false(clientid_rule_allowed("terminal-E1-S1", "controller"));
	assert_false(clientid_rule_allowed("terminal-E1-S1", "agent-E2"));
	/* Prefixes that are not the identity followed by ':'. */
	assert_false(clientid_rule_allowed("agent-E1", "agent-E10"));
	assert_false(clientid_rule_allowed("agent-E1", "agent-E1-x"));
	assert_false(clientid_rule_allowed("agent-E1", "agent-E1:"));
	assert_false(clientid_rule_allowed("agent-E10", "agent-E1"));
	assert_false(clientid_rule_allowed("agent-E1", ""));
	assert_false(clientid_rule_allowed("agent-E1", NULL));
	assert_false(clientid_rule_allowed("", "anything"));
	assert_false(clientid_rule_allowed(NULL, "controller"));
	/* A CN holding ':' could name "controller:..." sessions of another identity. */
	assert_false(clientid_rule_allowed("controller:x", "controller:x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_own_id_and_suffixes),
	    cmocka_unit_test(test_foreign_ids_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
