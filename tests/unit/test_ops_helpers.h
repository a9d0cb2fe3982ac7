/* Shared by the test_ops_*.c cmocka files: a temporary state.db and a way to call an
 * operation the way the controller's dispatcher does (arguments as JSON text, the
 * audit record written after the operation). Include after cmocka.h. */
#pragma once
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "state.h"

struct ops_fixture {
	char *dir;
	char *path;
	struct state *st;
};

static inline struct ops_fixture *ops_fixture_new(void)
{
	struct ops_fixture *f = g_new0(struct ops_fixture, 1);

	f->dir = g_dir_make_tmp("test_ops_XXXXXX", NULL);
	assert_non_null(f->dir);
	f->path = g_build_filename(f->dir, "state.db", NULL);
	f->st = state_open(f->path, NULL);
	assert_non_null(f->st);
	return f;
}

static inline void ops_fixture_free(struct ops_fixture *f)
{
	const char *name;
	GDir *d;

	state_close(f->st);
	d = g_dir_open(f->dir, 0, NULL);
	while ((name = g_dir_read_name(d))) {
		char *p = g_build_filename(f->dir, name, NULL);

		g_unlink(p);
		g_free(p);
	}
	g_dir_close(d);
	g_rmdir(f->dir);
	g_free(f->path);
	g_free(f->dir);
	g_free(f);
}

/* ops_dump: with OPS_DUMP_DIR set (tests/integration/test_ops_schemas.py sets it), append
 * each call and its answer as one JSON line to $OPS_DUMP_DIR/ops.jsonl, so the JSON
 * Schemas of requests and responses are checked against what the code really does. */
static inline void ops_dump(const char *command, const json_t *args, const json_t *res,
                            const GError *err)
{
	const char *dir = getenv("OPS_DUMP_DIR");
	char *path, *line;
	json_t *o;
	FILE *fp;

	if (!dir)
		return;
	o = json_pack("{s:s, s:O, s:b}", "command", command, "args", args, "ok", res != NULL);
	if (res)
		json_object_set(o, "result", (json_t *)res);
	else
		json_object_set_new(o, "error",
		                    json_pack("{s:s, s:s}", "code",
		                              request_error_code_name(err ? err->code : 0),
		                              "message", err ? err->message : ""));
	path = g_build_filename(dir, "ops.jsonl", NULL);
	fp = fopen(path, "a");
	assert_non_null(fp);
	line = json_dumps(o, JSON_COMPACT);
	fprintf(fp, "%s\n", line);
	fclose(fp);
	free(line);
	g_free(path);
	json_decref(o);
}

/* ops_call: run COMMAND with ARGS (JSON text) as operator-test; returns the operation's
 * return value, *res the result (or NULL), *err the error (caller frees either). */
static inline int ops_call_args(struct state *st, const char *command, json_t *args, json_t **res,
                                GError **err)
{
	const struct ops_entry *e = ops_find(command);
	struct request req = {.role = ROLE_OPERATOR, .expires = INT64_MAX};
	int rc;

	assert_non_null(e);
	assert_non_null(args);
	g_strlcpy(req.requester, "operator-test", sizeof(req.requester));
	g_strlcpy(req.id, "t1", sizeof(req.id));
	g_strlcpy(req.command, command, sizeof(req.command));
	req.args = args;
	*res = NULL;
	rc = e->fn(st, &req, res, err);
	if (e->audited)
		assert_int_equal(ops_audit_record(st, &req, g_get_real_time(), err ? *err : NULL),
		                 0);
	ops_dump(command, args, *res, err ? *err : NULL);
	if (rc == 0)
		assert_non_null(*res);
	else
		assert_null(*res);
	json_decref(args);
	return rc;
}

static inline int ops_call(struct state *st, const char *command, const char *args_json,
                           json_t **res, GError **err)
{
	json_error_t jerr;
	json_t *args = json_loads(args_json, 0, &jerr);

	if (!args)
		fail_msg("test args: %s: %s", args_json, jerr.text);
	return ops_call_args(st, command, args, res, err);
}

/* ops_ok: COMMAND must succeed; returns its result (caller json_decref's). */
static inline json_t *ops_ok(struct state *st, const char *command, const char *args_json)
{
	GError *err = NULL;
	json_t *res;

	if (ops_call(st, command, args_json, &res, &err))
		fail_msg("%s %s: %s", command, args_json, err->message);
	return res;
}

/* ops_draw_commit_run: draw.commit of SESSION, then draw.run with ENTROPY confirming
 * the commitment (as the witness does); both must succeed. */
static inline void ops_draw_commit_run(struct state *st, const char *session, const char *entropy)
{
	char *args = g_strdup_printf("{\"session\":\"%s\"}", session);
	json_t *res = ops_ok(st, "draw.commit", args);

	g_free(args);
	args = g_strdup_printf("{\"session\":\"%s\",\"entropy\":\"%s\",\"confirm\":\"%s\"}",
	                       session, entropy,
	                       json_string_value(json_object_get(res, "commitment")));
	json_decref(res);
	json_decref(ops_ok(st, "draw.run", args));
	g_free(args);
}

/* ops_refused: COMMAND must fail with CODE and a message containing TEXT. */
static inline void ops_refused(struct state *st, const char *command, const char *args_json,
                               int code, const char *text)
{
	GError *err = NULL;
	json_t *res;

	assert_true(ops_call(st, command, args_json, &res, &err) < 0);
	assert_non_null(err);
	if (err->code != code || !strstr(err->message, text))
		fail_msg("%s: got %s \"%s\", wanted %s containing \"%s\"", command,
		         request_error_code_name(err->code), err->message,
		         request_error_code_name(code), text);
	g_error_free(err);
}

/* ops_import_site: site.import of the file at PATH. */
static inline void ops_import_site(struct state *st, const char *path)
{
	json_error_t jerr;
	json_t *site = json_load_file(path, 0, &jerr), *res;
	GError *err = NULL;

	assert_non_null(site);
	if (ops_call_args(st, "site.import", json_pack("{s:o}", "site", site), &res, &err))
		fail_msg("site.import: %s", err->message);
	json_decref(res);
}

/* ops_import_committee: committee.import of CSV text; returns rc, *err on failure. */
static inline int ops_import_committee(struct state *st, const char *tender, const char *csv,
                                       GError **err)
{
	json_t *res;
	int rc = ops_call_args(st, "committee.import",
	                       json_pack("{s:s, s:s}", "tender", tender, "csv", csv), &res, err);

	json_decref(res);
	return rc;
}

/* ops_two_tenders: the site at SITE_PATH and a day DATE with two tenders: TA ("Roads";
 * experts xpwang and xpzhou, tenderer rpfirm) and TB ("Schools"; expert xpsun). */
static inline void ops_two_tenders(struct state *st, const char *site_path, const char *date)
{
	char *args;

	ops_import_site(st, site_path);
	args = g_strdup_printf("{\"date\":\"%s\"}", date);
	json_decref(ops_ok(st, "session.create", args));
	g_free(args);
	args = g_strdup_printf("{\"session\":\"%s\",\"id\":\"TA\",\"name\":\"Roads\"}", date);
	json_decref(ops_ok(st, "tender.add", args));
	g_free(args);
	args = g_strdup_printf("{\"session\":\"%s\",\"id\":\"TB\",\"name\":\"Schools\"}", date);
	json_decref(ops_ok(st, "tender.add", args));
	g_free(args);
	assert_int_equal(ops_import_committee(st, "TA",
	                                      "person_id,name,id_number,role\n"
	                                      "xpwang,Wang,11111111,expert\n"
	                                      "xpzhou,Zhou,22222222,expert\n"
	                                      "rpfirm,Firm Ltd,33333333,tenderer\n",
	                                      NULL),
	                 0);
	assert_int_equal(ops_import_committee(st, "TB",
	                                      "person_id,name,id_number,role\n"
	                                      "xpsun,Sun,44444444,expert\n",
	                                      NULL),
	                 0);
}
