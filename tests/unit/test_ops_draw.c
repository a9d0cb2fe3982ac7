/* The seat draw operations over state.db: commit, run, replace, export, and their
 * refusals. The site is schemas/examples/site.json: expert rooms E1 and E2 with two
 * seats each, tenderer room T1 with one seat. Person ids use letters outside a-f so
 * they can never appear inside a hex digest by chance. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "draw.h"
#include "hex.h"
#include "ops_internal.h"
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

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static json_t *assignments(struct state *st)
{
	json_t *list;

	assert_int_equal(state_assignment_list(st, SESSION, &list, NULL), 0);
	return list;
}

static const json_t *seat_of(const json_t *list, const char *person)
{
	size_t i;
	json_t *a;

	json_array_foreach(list, i, a)
	{
		if (strcmp(str(a, "person"), person) == 0)
			return a;
	}
	return NULL;
}

/* commit: draw.commit of SESSION; the commitment (g_free). */
static char *commit(struct state *st)
{
	json_t *res = ops_ok(st, "draw.commit", "{\"session\":\"" SESSION "\"}");
	char *c = g_strdup(str(res, "commitment"));

	json_decref(res);
	return c;
}

/* run_args: draw.run's arguments with ENTROPY and CONFIRM (g_free). */
static char *run_args(const char *entropy, const char *confirm)
{
	return g_strdup_printf("{\"session\":\"" SESSION "\",\"entropy\":\"%s\",\"confirm\":\"%s\"}",
	                       entropy, confirm);
}

static json_t *run_ok(struct state *st, const char *commitment, const char *entropy)
{
	char *args = run_args(entropy, commitment);
	json_t *res = ops_ok(st, "draw.run", args);

	g_free(args);
	return res;
}

/* open_the_seal: the session's tenders close, which releases the seat map. */
static void open_the_seal(struct state *st)
{
	assert_int_equal(state_tender_set_state(st, "TA", "closing", NULL), 0);
	assert_int_equal(state_tender_set_state(st, "TB", "closing", NULL), 0);
}

static void run_draw(struct state *st)
{
	char *c = commit(st);

	json_decref(run_ok(st, c, "witness 4711"));
	g_free(c);
}

static void test_run_before_commit_refused(void **ctx)
{
	struct ops_fixture *f = *ctx;
	json_t *list;

	ops_refused(f->st, "draw.run",
	            "{\"session\":\"" SESSION "\",\"entropy\":\"x\",\"confirm\":\"0123456789abcdef\"}",
	            REQUEST_ERROR_CONFLICT, "no committed draw: run draw commit first");
	ops_refused(f->st, "draw.show", "{\"session\":\"" SESSION "\"}", REQUEST_ERROR_NOT_FOUND,
	            "no committed draw");
	ops_refused(f->st, "draw.abandon", "{\"session\":\"" SESSION "\",\"reason\":\"x\"}",
	            REQUEST_ERROR_NOT_FOUND, "no committed draw");
	list = assignments(f->st);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	ops_refused(f->st, "draw.export", "{\"session\":\"" SESSION "\"}", REQUEST_ERROR_NOT_FOUND,
	            "no committed draw");
	ops_refused(f->st, "draw.replace", "{\"tender\":\"TB\",\"person\":\"xpsun\"}",
	            REQUEST_ERROR_CONFLICT, "has not run");
}

static void test_infeasible_refused_before_commit(void **ctx)
{
	struct ops_fixture *f = *ctx;
	struct state_draw sd;
	GError *err = NULL;

	/* T1 has one seat; a second tenderer representative cannot be seated. */
	assert_int_equal(ops_import_committee(f->st, "TB",
	                                      "person_id,name,id_number,role\n"
	                                      "rpother,Other Ltd,55555555,tenderer\n",
	                                      NULL),
	                 0);
	ops_refused(f->st, "draw.commit", "{\"session\":\"" SESSION "\"}", REQUEST_ERROR_CONFLICT,
	            "infeasible");
	assert_int_equal(state_draw_get(f->st, SESSION, &sd, &err), -ENOENT);
	g_clear_error(&err);
	/* Nothing was fixed, so the committees can still change. */
	assert_int_equal(ops_import_committee(f->st, "TA",
	                                      "person_id,name,id_number,role\n"
	                                      "xpmore,More,56565656,expert\n",
	                                      NULL),
	                 0);
	ops_refused(f->st, "draw.commit", "{\"session\":\"nosuch\"}", REQUEST_ERROR_NOT_FOUND,
	            "no session");
}

static void test_commit(void **ctx)
{
	struct ops_fixture *f = *ctx;
	json_t *res = ops_ok(f->st, "draw.commit", "{\"session\":\"" SESSION "\"}");
	struct state_draw sd;
	uint8_t secret[DRAW_SECRET_LEN], hash[DRAW_HASH_LEN], commitment[DRAW_HASH_LEN];
	char hex[2 * DRAW_HASH_LEN + 1];
	GError *err = NULL;

	assert_int_equal(strlen(str(res, "commitment")), 64);
	assert_int_equal(json_integer_value(json_object_get(res, "persons")), 4);
	assert_int_equal(json_integer_value(json_object_get(res, "rooms")), 3);
	assert_null(json_object_get(res, "secret"));
	assert_string_equal(str(res, "committed_by"), "operator-test");
	/* state.db never holds the secret: only the controller's memory does, and the
	 * published commitment is hash(that secret, the stored input hash). */
	assert_int_equal(state_draw_get(f->st, SESSION, &sd, NULL), 0);
	assert_false(sd.run);
	assert_string_equal(sd.commitment, str(res, "commitment"));
	assert_string_equal(sd.input_hash, str(res, "input_hash"));
	assert_string_equal(sd.secret, "");
	assert_true(ops_draw_vault_get(sd.commitment, secret));
	assert_int_equal(hex_decode_lower(sd.input_hash, hash, DRAW_HASH_LEN), 0);
	draw_commitment_compute(secret, hash, commitment);
	hex_encode(commitment, DRAW_HASH_LEN, hex);
	assert_string_equal(hex, str(res, "commitment"));
	/* ...and the input hash is SHA-256 of the stored canonical input. */
	gchar *sha = g_compute_checksum_for_string(G_CHECKSUM_SHA256, sd.input, -1);
	assert_string_equal(sha, sd.input_hash);
	g_free(sha);
	assert_non_null(strstr(sd.input, "\"xpwang\""));
	state_draw_clear(&sd);
	json_decref(res);

	ops_refused(f->st, "draw.commit", "{\"session\":\"" SESSION "\"}", REQUEST_ERROR_CONFLICT,
	            "already has a draw");
	/* The inputs are fixed until the run. */
	assert_int_equal(ops_import_committee(f->st, "TB",
	                                      "person_id,name,id_number,role\n"
	                                      "xplate,Late,66666666,expert\n",
	                                      &err),
	                 -EBUSY);
	assert_non_null(strstr(err->message, "fixed until it has run"));
	g_error_free(err);
}

static void test_run_seats_everyone_and_tells_counts_only(void **ctx)
{
	struct ops_fixture *f = *ctx;
	json_t *res, *list, *rooms, *r;
	size_t i, total = 0;
	char *text;

	char *c = commit(f->st), *args;

	/* the witness confirms the published commitment; another one is refused */
	args = run_args("witness 4711", "0000000000000000");
	ops_refused(f->st, "draw.run", args, REQUEST_ERROR_CONFLICT,
	            "is not the commitment of session");
	g_free(args);
	args = run_args("witness 4711", "abc");
	ops_refused(f->st, "draw.run", args, REQUEST_ERROR_INVALID, "args.confirm");
	g_free(args);
	args = g_strndup(c, 16);
	res = run_ok(f->st, args, "witness 4711");
	g_free(args);
	assert_string_equal(str(res, "witness"), "operator-test");
	assert_string_equal(str(res, "commitment"), c);
	assert_string_equal(str(res, "entropy"), "witness 4711");
	g_free(c);
	text = json_dumps(res, JSON_COMPACT);
	/* Nobody's seat leaks: no person id, nor the secret or seed that would let a
	 * reader recompute the map. */
	assert_null(strstr(text, "xpwang"));
	assert_null(strstr(text, "xpzhou"));
	assert_null(strstr(text, "xpsun"));
	assert_null(strstr(text, "rpfirm"));
	assert_null(strstr(text, "secret"));
	assert_null(strstr(text, "seed"));
	free(text);
	rooms = json_object_get(res, "rooms");
	assert_int_equal(json_array_size(rooms), 3);
	json_array_foreach(rooms, i, r)
	{
		total += (size_t)json_integer_value(json_object_get(r, "occupied"));
		if (strcmp(str(r, "room"), "T1") == 0)
			assert_int_equal(json_integer_value(json_object_get(r, "occupied")), 1);
	}
	assert_int_equal(total, 4);
	assert_int_equal(json_integer_value(json_object_get(res, "seated")), 4);
	json_decref(res);

	list = assignments(f->st);
	assert_int_equal(json_array_size(list), 4);
	/* The rules hold in what state.db keeps: tender TA's two experts in different
	 * expert rooms, the tenderer in T1. */
	assert_string_not_equal(str(seat_of(list, "xpwang"), "room"),
	                        str(seat_of(list, "xpzhou"), "room"));
	assert_string_equal(str(seat_of(list, "rpfirm"), "room"), "T1");
	assert_string_equal(str(seat_of(list, "xpsun"), "tender"), "TB");
	json_decref(list);

	args = run_args("again", "0123456789abcdef");
	ops_refused(f->st, "draw.run", args, REQUEST_ERROR_CONFLICT, "already run");
	g_free(args);
	args = run_args("", "0123456789abcdef");
	ops_refused(f->st, "draw.run", args, REQUEST_ERROR_INVALID, "entropy");
	g_free(args);
	ops_refused(f->st, "draw.abandon", "{\"session\":\"" SESSION "\",\"reason\":\"late\"}",
	            REQUEST_ERROR_CONFLICT, "cannot be abandoned");
}

static void test_export_verifies(void **ctx)
{
	struct ops_fixture *f = *ctx;
	json_t *rec, *list;
	GString *report = g_string_new(NULL);

	ops_refused(f->st, "draw.export", "{\"session\":\"nosuch\"}", REQUEST_ERROR_NOT_FOUND,
	            "no committed draw");
	run_draw(f->st);
	/* sealed until check-in: nobody has checked in and both tenders are open */
	ops_refused(f->st, "draw.export", "{\"session\":\"" SESSION "\"}", REQUEST_ERROR_CONFLICT,
	            "sealed until check-in: 4 seated people have not checked in");
	open_the_seal(f->st);
	rec = ops_ok(f->st, "draw.export", "{\"session\":\"" SESSION "\"}");
	assert_string_equal(str(rec, "entropy"), "witness 4711");
	assert_int_equal(strlen(str(rec, "secret")), 64);
	assert_int_equal(draw_record_verify(rec, report), 0);
	/* The exported seat map is the one state.db keeps. */
	list = assignments(f->st);
	assert_int_equal(json_array_size(json_object_get(rec, "assignments")),
	                 json_array_size(list));
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(rec, "assignments"), i, a)
	{
		const json_t *mine = seat_of(list, str(a, "person"));

		assert_non_null(mine);
		assert_string_equal(str(a, "room"), str(mine, "room"));
		assert_string_equal(str(a, "seat"), str(mine, "seat"));
	}
	json_decref(list);
	json_decref(rec);
	g_string_free(report, TRUE);
}

static void test_replacement_moves_nobody(void **ctx)
{
	struct ops_fixture *f = *ctx;
	json_t *before, *after, *res, *rec;
	char *text;
	size_t i;
	json_t *a;

	run_draw(f->st);
	before = assignments(f->st);
	/* A replacement expert for TB arrives from the expert database. */
	assert_int_equal(ops_import_committee(f->st, "TB",
	                                      "person_id,name,id_number,role\n"
	                                      "xpnew,New,77777777,expert\n",
	                                      NULL),
	                 0);
	res = ops_ok(f->st, "draw.replace", "{\"tender\":\"TB\",\"person\":\"xpnew\"}");
	assert_int_equal(json_integer_value(json_object_get(res, "replacement")), 1);
	text = json_dumps(res, JSON_COMPACT);
	assert_null(strstr(text, "\"room\""));
	assert_null(strstr(text, "\"seat\""));
	free(text);
	json_decref(res);
	after = assignments(f->st);
	assert_int_equal(json_array_size(after), json_array_size(before) + 1);
	json_array_foreach(before, i, a)
	{
		const json_t *now = seat_of(after, str(a, "person"));

		assert_non_null(now);
		assert_string_equal(str(a, "room"), str(now, "room"));
		assert_string_equal(str(a, "seat"), str(now, "seat"));
	}
	/* The two experts of TB sit in different rooms (two expert rooms, two experts). */
	assert_string_not_equal(str(seat_of(after, "xpnew"), "room"),
	                        str(seat_of(after, "xpsun"), "room"));
	assert_int_equal(
	    json_integer_value(json_object_get(seat_of(after, "xpnew"), "replacement")), 1);
	json_decref(before);
	json_decref(after);
	open_the_seal(f->st);
	rec = ops_ok(f->st, "draw.export", "{\"session\":\"" SESSION "\"}");
	assert_int_equal(json_array_size(json_object_get(rec, "replacements")), 1);
	assert_int_equal(draw_record_verify(rec, NULL), 0);
	json_decref(rec);

	ops_refused(f->st, "draw.replace", "{\"tender\":\"TB\",\"person\":\"xpnew\"}",
	            REQUEST_ERROR_CONFLICT, "already took part");
	ops_refused(f->st, "draw.replace", "{\"tender\":\"TB\",\"person\":\"nobody\"}",
	            REQUEST_ERROR_NOT_FOUND, "not in the committee");
	ops_refused(f->st, "draw.replace", "{\"tender\":\"T404\",\"person\":\"xpnew\"}",
	            REQUEST_ERROR_NOT_FOUND, "no tender");
}

static void test_replacement_of_a_withdrawn_expert(void **ctx)
{
	struct ops_fixture *f = *ctx;
	json_t *before, *after;

	run_draw(f->st);
	assert_int_equal(ops_import_committee(f->st, "TA",
	                                      "person_id,name,id_number,role\n"
	                                      "xpsub,Sub,88888888,expert\n",
	                                      NULL),
	                 0);
	before = assignments(f->st);
	assert_non_null(seat_of(before, "xpzhou"));
	json_decref(ops_ok(f->st, "draw.replace",
	                   "{\"tender\":\"TA\",\"person\":\"xpsub\",\"replaces\":\"xpzhou\"}"));
	after = assignments(f->st);
	assert_null(seat_of(after, "xpzhou"));
	assert_non_null(seat_of(after, "xpsub"));
	assert_int_equal(json_array_size(after), json_array_size(before));
	/* TA's remaining expert and its replacement are still in different rooms. */
	assert_string_not_equal(str(seat_of(after, "xpsub"), "room"),
	                        str(seat_of(after, "xpwang"), "room"));
	json_decref(before);
	json_decref(after);
}

/* A controller restart loses the secret (it is only in memory): the commitment can no
 * longer run; the next commit drops it and says so, for the archives. */
static void test_restart_forces_a_new_commitment(void **ctx)
{
	struct ops_fixture *f = *ctx;
	char *c = commit(f->st), *c2, *args;
	json_t *res;

	res = ops_ok(f->st, "draw.show", "{\"session\":\"" SESSION "\"}");
	assert_string_equal(str(res, "state"), "committed");
	assert_true(json_is_true(json_object_get(res, "runnable")));
	json_decref(res);
	ops_draw_vault_forget(c); /* what a restart does */
	res = ops_ok(f->st, "draw.show", "{\"session\":\"" SESSION "\"}");
	assert_false(json_is_true(json_object_get(res, "runnable")));
	json_decref(res);
	args = run_args("witness", c);
	ops_refused(f->st, "draw.run", args, REQUEST_ERROR_CONFLICT, "can no longer run");
	g_free(args);

	res = ops_ok(f->st, "draw.commit", "{\"session\":\"" SESSION "\"}");
	c2 = g_strdup(str(res, "commitment"));
	assert_string_not_equal(c, c2);
	assert_string_equal(str(json_object_get(res, "abandoned"), "commitment"), c);
	assert_non_null(strstr(str(json_object_get(res, "abandoned"), "reason"), "restarted"));
	json_decref(res);
	json_decref(run_ok(f->st, c2, "witness"));
	g_free(c);
	g_free(c2);
}

/* An operator abandons a commitment with a reason; a new one can then be made. */
static void test_abandon(void **ctx)
{
	struct ops_fixture *f = *ctx;
	char *c = commit(f->st);
	json_t *res;

	ops_refused(f->st, "draw.abandon", "{\"session\":\"" SESSION "\",\"reason\":\"\"}",
	            REQUEST_ERROR_INVALID, "args.reason");
	res = ops_ok(f->st, "draw.abandon",
	             "{\"session\":\"" SESSION "\",\"reason\":\"wrong committee list\"}");
	assert_string_equal(str(res, "commitment"), c);
	assert_string_equal(str(res, "reason"), "wrong committee list");
	assert_string_equal(str(res, "ended_by"), "operator-test");
	json_decref(res);
	ops_refused(f->st, "draw.show", "{\"session\":\"" SESSION "\"}", REQUEST_ERROR_NOT_FOUND,
	            "no committed draw");
	g_free(c);
	run_draw(f->st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_restart_forces_a_new_commitment, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_abandon, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_run_before_commit_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_infeasible_refused_before_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_run_seats_everyone_and_tells_counts_only, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_export_verifies, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replacement_moves_nobody, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replacement_of_a_withdrawn_expert, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
