#include "fuzz_state.h"

#include <string.h>

#include "fuzz.h"
#include "ops.h"
#include "state_db.h"

struct state *fuzz_state_get(unsigned reuse)
{
	static struct state *st;
	static unsigned uses;
	if (st && reuse && ++uses % reuse == 0) {
		state_close(st);
		st = NULL;
	}
	if (!st) {
		GError *err = NULL;
		st = state_open(":memory:", &err);
		if (!st)
			fuzz_fail("state_open: %s", err->message);
	}
	return st;
}

char *fuzz_state_snapshot(struct state *st, int64_t *audit_rows)
{
	sqlite3_stmt *tables;
	GString *s = g_string_new(NULL);
	if (sqlite3_prepare_v2(st->db,
	                       "SELECT name FROM sqlite_master WHERE type = 'table' AND "
	                       "name NOT LIKE 'sqlite%' ORDER BY name",
	                       -1, &tables, NULL) != SQLITE_OK)
		fuzz_fail("state snapshot: %s", sqlite3_errmsg(st->db));
	while (sqlite3_step(tables) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(tables, 0);
		char *sql = sqlite3_mprintf("SELECT count(*) FROM \"%w\"", name);
		sqlite3_stmt *count;
		if (sqlite3_prepare_v2(st->db, sql, -1, &count, NULL) != SQLITE_OK ||
		    sqlite3_step(count) != SQLITE_ROW)
			fuzz_fail("state snapshot of %s: %s", name, sqlite3_errmsg(st->db));
		int64_t n = sqlite3_column_int64(count, 0);
		if (strcmp(name, "audit") == 0)
			*audit_rows = n;
		else if (strcmp(name, "answered_request") == 0)
			; /* replay bookkeeping: refusals are answers too, kept until they expire */
		else
			g_string_append_printf(s, "%s %" G_GINT64_FORMAT " ", name, (gint64)n);
		sqlite3_finalize(count);
		sqlite3_free(sql);
	}
	sqlite3_finalize(tables);
	return g_string_free(s, FALSE);
}

void fuzz_state_exec(struct state *st, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fuzz_fail("%s: %s", sql, msg ? msg : "?");
}

void fuzz_state_example_site(struct state *st)
{
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM site", -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW)
		fuzz_fail("site count: %s", sqlite3_errmsg(st->db));
	int64_t n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	if (n > 0)
		return;
	json_error_t je;
	json_t *site = json_load_file(EXAMPLE_SITE, 0, &je);
	if (!site)
		fuzz_fail("%s: %s", EXAMPLE_SITE, je.text);
	struct request req = {.role = ROLE_OPERATOR, .expires = INT64_MAX};
	req.args = json_pack("{s:o}", "site", site);
	g_strlcpy(req.requester, "operator-fuzz", sizeof(req.requester));
	g_strlcpy(req.command, "site.import", sizeof(req.command));
	json_t *result = NULL;
	GError *err = NULL;
	if (ops_site_import(st, &req, &result, &err) != 0)
		fuzz_fail("site.import of %s: %s", EXAMPLE_SITE, err->message);
	json_decref(result);
	json_decref(req.args);
}
