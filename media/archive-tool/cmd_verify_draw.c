/* evalroom-archive verify-draw: re-run the seat draw from an archive's draw record (and
 * from each later replacement's record), or from an exported draw.json. */
#include <errno.h>
#include <glib/gi18n.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "draw.h"
#include "draw_cli.h"
#include "staff_draw.h"
#include "venue_draw.h"
#include "tool.h"
#include "text_safe.h"

/* 1 when PATH starts like an SQLite database (an .evarc), 0 otherwise. */
static int looks_like_sqlite(const char *path)
{
	char head[16] = {0};
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = fread(head, 1, sizeof(head), f);
	fclose(f);
	return n == sizeof(head) && memcmp(head, "SQLite format 3", 16) == 0;
}

/* Verifies one record's text; prints the verdict naming WHERE. 0 verified, 1 not. */
static int verify_text(const char *where, const char *text)
{
	json_error_t jerr;
	/* duplicate keys could show one value to us and another to a different parser */
	json_t *rec = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!rec) {
		char *why = text_display(jerr.text); /* quotes the record's own bytes */
		printf(_("verify-draw %s: MALFORMED: %s\n"), where, why);
		g_free(why);
		return 1;
	}
	GString *report = g_string_new(NULL);
	int rc = staff_record_is(rec)   ? staff_record_verify(rec, report)
	         : venue_record_is(rec) ? venue_record_verify(rec, report)
	                                : draw_record_verify(rec, report);
	printf(_("verify-draw %s: %s: %s\n"), where,
	       rc == 0         ? "VERIFIED"
	       : rc == -EINVAL ? "MISMATCH"
	                       : "MALFORMED",
	       report->str);
	g_string_free(report, TRUE);
	json_decref(rec);
	return rc == 0 ? 0 : 1;
}

static int verify_archive(const char *path)
{
	struct archive_reader *r = tool_open(path);
	if (!r)
		return EXIT_BAD_FILE;
	sqlite3 *db = archive_reader_db(r);
	sqlite3_stmt *st = NULL;
	int failed = 0, n = 0;
	if (sqlite3_prepare_v2(db, "SELECT record FROM draw WHERE id = 1", -1, &st, NULL) ==
	        SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		char *where = g_strdup_printf("%s (draw record)", path);
		failed |= verify_text(where, (const char *)sqlite3_column_text(st, 0));
		g_free(where);
		n++;
	}
	sqlite3_finalize(st);
	/* A replacement after the run is archived as a draw.replaced event holding the whole
	 * new record, and the release of the sealed seat map as a draw.released event holding
	 * it (docs/draw.md 7.1): each must re-run to the same seats too. The staff draw's
	 * record is in its staff.run event (docs/staff.md), a venue draw's in its venue.run
	 * event (docs/draw.md section 12). */
	if (sqlite3_prepare_v2(db,
	                       "SELECT id, body, kind FROM events WHERE kind IN ('draw.replaced', "
	                       "'draw.released', 'staff.run', 'venue.run') ORDER BY leaf",
	                       -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			char *where = g_strdup_printf("%s (events row %lld, %s)", path,
			                              (long long)sqlite3_column_int64(st, 0),
			                              (const char *)sqlite3_column_text(st, 2));
			json_t *body =
			    json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
			json_t *rec = json_object_get(body, "record");
			char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
			if (text) {
				failed |= verify_text(where, text);
			} else {
				printf(_("verify-draw %s: MALFORMED: no member 'record'\n"), where);
				failed = 1;
			}
			free(text);
			json_decref(body);
			g_free(where);
			n++;
		}
	}
	sqlite3_finalize(st);
	archive_reader_free(r);
	if (n == 0) {
		printf(_("verify-draw %s: NO DRAW RECORD: the archive holds none\n"), path);
		return EXIT_TAMPERED;
	}
	if (!failed)
		printf(_("verify-draw %s: the draw record is part of the signed tree: run "
		         "`evalroom-archive verify` to prove the file intact\n"),
		       path);
	return failed ? EXIT_TAMPERED : EXIT_INTACT;
}

int cmd_verify_draw(int argc, char **argv)
{
	if (!tool_parse(&argc, &argv, "FILE",
	                N_("Re-runs the seat draw from the draw record of FILE (an .evarc archive, "
	                   "including every later replacement, the staff draw and the venue draws, or "
	                   "an exported draw.json, staff or venue draw record) and compares "
	                   "commitment, seed and every seat, post or venue."),
	                NULL, 1))
		return EXIT_USAGE;
	if (looks_like_sqlite(argv[1]))
		return verify_archive(argv[1]);
	char *args[] = {"verify-draw", argv[1], NULL};
	int rc = draw_cli_verify_draw(2, args);
	return rc == 0 ? EXIT_INTACT : rc == 1 ? EXIT_TAMPERED : EXIT_BAD_FILE;
}
