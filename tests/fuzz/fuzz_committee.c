/* fuzz_committee: the committee importer (committee.import, ops_committee_import): CSV
 * text from the expert database, as an operator sends it in a request's args.csv.
 *
 * Fixture: an in-memory state.db with schemas/examples/site.json imported, session
 * 2026-11-26 and tender T1 in it. The input is the CSV (inputs that are not UTF-8 cannot
 * travel in JSON and are skipped). After each input the committee and the people it
 * added are deleted again, so inputs do not depend on each other.
 *
 * Invariants: a refusal is INVALID/CONFLICT/NOT_FOUND with a UTF-8 message that names a
 * line or the argument, and changes nothing in state.db; an acceptance returns the
 * counts of experts and tenderers and adds exactly that many committee rows, one
 * person row at most per member. */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_state.h"
#include "msg.h"
#include "ops.h"

static int run(struct state *st, const char *command, json_t *args, json_t **result, GError **err)
{
	const struct ops_entry *e = ops_find(command);
	FUZZ_CHECK(e, "no operation %s", command);
	struct request req = {.role = ROLE_OPERATOR, .expires = INT64_MAX, .args = args};
	g_strlcpy(req.requester, "operator-fuzz", sizeof(req.requester));
	g_strlcpy(req.id, "f1", sizeof(req.id));
	g_strlcpy(req.command, command, sizeof(req.command));
	*result = NULL;
	int rc = e->fn(st, &req, result, err);
	json_decref(args);
	return rc;
}

static void fixture_step(struct state *st, const char *command, json_t *args)
{
	json_t *result;
	GError *err = NULL;
	if (run(st, command, args, &result, &err) != 0)
		fuzz_fail("fixture %s: %s", command, err->message);
	json_decref(result);
}

static struct state *fixture(void)
{
	static struct state *st;
	if (st)
		return st;
	st = fuzz_state_get(0);
	fuzz_state_example_site(st);
	fixture_step(st, "session.create", json_pack("{s:s}", "date", "2026-11-26"));
	fixture_step(st, "tender.add",
	             json_pack("{s:s, s:s, s:s}", "session", "2026-11-26", "id", "T1", "name",
	                       "Fuzzed tender"));
	return st;
}

static int64_t count_rows(const char *snapshot, const char *table)
{
	char *key = g_strdup_printf("%s ", table);
	const char *p = strstr(snapshot, key);
	FUZZ_CHECK(p && (p == snapshot || p[-1] == ' '), "no table %s in state.db", table);
	int64_t n = g_ascii_strtoll(p + strlen(key), NULL, 10);
	g_free(key);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();
	json_t *csv = json_stringn((const char *)data, size);
	if (!csv)
		return 0;
	struct state *st = fixture();
	int64_t audit = 0;
	char *before = fuzz_state_snapshot(st, &audit);

	json_t *result;
	GError *err = NULL;
	int rc = run(st, "committee.import", json_pack("{s:s, s:o}", "tender", "T1", "csv", csv),
	             &result, &err);
	char *after = fuzz_state_snapshot(st, &audit);
	if (rc != 0) {
		FUZZ_CHECK(!result, "refused import with a result");
		/* A bad argument comes back in MSG_ERROR (msg_reader_finish), which the
		 * dispatcher answers as "invalid" like REQUEST_ERROR_INVALID. */
		FUZZ_CHECK(err && ((err->domain == REQUEST_ERROR &&
		                    (err->code == REQUEST_ERROR_INVALID ||
		                     err->code == REQUEST_ERROR_CONFLICT ||
		                     err->code == REQUEST_ERROR_NOT_FOUND)) ||
		                   (err->domain == MSG_ERROR && err->code == MSG_ERROR_INVALID)),
		           "refused import: rc %d, %s", rc, err ? err->message : "no error");
		FUZZ_CHECK(*err->message && g_utf8_validate(err->message, -1, NULL),
		           "refusal message is not UTF-8: %s", err->message);
		FUZZ_CHECK(g_str_has_prefix(err->message, "line ") ||
		               strstr(err->message, "args.csv") || strstr(err->message, "person"),
		           "refusal names no line: %s", err->message);
		FUZZ_CHECK(strcmp(before, after) == 0,
		           "a refused import changed state.db: %s -> %s", before, after);
		g_error_free(err);
	} else {
		FUZZ_CHECK(!err && json_is_object(result), "accepted import without a result");
		json_int_t experts = json_integer_value(json_object_get(result, "experts"));
		json_int_t tenderers = json_integer_value(json_object_get(result, "tenderers"));
		int64_t added = count_rows(after, "committee") - count_rows(before, "committee");
		int64_t people = count_rows(after, "person") - count_rows(before, "person");
		FUZZ_CHECK(experts >= 0 && tenderers >= 0 && experts + tenderers >= 1 &&
		               added == experts + tenderers && people >= 0 && people <= added,
		           "import of %" JSON_INTEGER_FORMAT " + %" JSON_INTEGER_FORMAT
		           " members added %" G_GINT64_FORMAT " committee and %" G_GINT64_FORMAT
		           " person rows",
		           experts, tenderers, (gint64)added, (gint64)people);
		json_decref(result);
		fuzz_state_exec(st, "DELETE FROM committee; DELETE FROM person;");
	}
	g_free(after);
	g_free(before);
	return 0;
}
