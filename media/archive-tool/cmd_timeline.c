/* evalroom-archive timeline: events, each stream's recorded spans and its gaps, by time. */
#include <errno.h>
#include <glib/gi18n.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "leaf.h"
#include "text_safe.h"
#include "tool.h"

/* Consecutive segments of a stream form one span when their sequence numbers follow and
 * the next starts no later than this after the previous ends (muxer rounding). */
#define SPAN_TOLERANCE_US 500000

struct item {
	int64_t from_us, to_us;
	int order; /* tie-break: draw, event, span, gap */
	json_t *json;
	char *line;
};

static gint item_cmp(gconstpointer a, gconstpointer b)
{
	const struct item *x = a, *y = b;

	if (x->from_us != y->from_us)
		return x->from_us < y->from_us ? -1 : 1;
	return x->order - y->order;
}

/* One line of the human timeline: names and notes in the file are shown escaped (a
 * tampered or hostile file must not drive the auditor's terminal: text_safe.h). */
static void print_safe(const char *line)
{
	char *safe = text_display(line);
	printf("%s\n", safe);
	g_free(safe);
}

static const char *col(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s ? s : "";
}

static void add(GArray *items, int64_t from, int64_t to, int order, json_t *j, char *line)
{
	struct item it = {from, to, order, j, line};

	g_array_append_val(items, it);
}

static char *span_text(int64_t from, int64_t to)
{
	char a[64], b[64];

	clock_format_us(from, a, sizeof(a));
	clock_format_us(to, b, sizeof(b));
	return g_strdup_printf("%s .. %s", a, b);
}

static void flush_span(GArray *items, const char *stream, int64_t from, int64_t to, int64_t seq0,
                       int64_t seq1, int64_t n, int64_t bytes)
{
	char *when = span_text(from, to);
	char a[64], s0[24], s1[24], sn[24];

	clock_format_us(from, a, sizeof(a));
	add(items, from, to, 2,
	    json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "type", "span", "stream", stream,
	              "from_us", (json_int_t)from, "to_us", (json_int_t)to, "first_seq",
	              (json_int_t)seq0, "last_seq", (json_int_t)seq1, "segments", (json_int_t)n,
	              "bytes", (json_int_t)bytes),
	    g_strdup_printf(
	        /* TRANSLATORS: "recorded" is the line's type keyword, kept in English like
	           event, GAP and draw; then the stream, the span, the first and last sequence
	           numbers and the number of segments. */
	        _("%s  recorded %-20s %s (seq %s..%s, %s segments)"), a, stream, when,
	        tool_num(s0, sizeof(s0), seq0), tool_num(s1, sizeof(s1), seq1),
	        tool_num(sn, sizeof(sn), n)));
	g_free(when);
}

static int load_spans(sqlite3 *db, GArray *items)
{
	sqlite3_stmt *st;
	char *stream = NULL;
	int64_t from = 0, to = 0, seq0 = 0, seq1 = 0, n = 0, bytes = 0;

	if (sqlite3_prepare_v2(db,
	                       "SELECT stream, seq, start_us, end_us, size FROM segments "
	                       "ORDER BY stream, seq",
	                       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *s = col(st, 0);
		int64_t seq = sqlite3_column_int64(st, 1), start = sqlite3_column_int64(st, 2),
		        end = sqlite3_column_int64(st, 3);

		if (stream &&
		    (strcmp(stream, s) != 0 || seq != seq1 + 1 || start > to + SPAN_TOLERANCE_US)) {
			flush_span(items, stream, from, to, seq0, seq1, n, bytes);
			g_clear_pointer(&stream, g_free);
		}
		if (!stream) {
			stream = g_strdup(s);
			from = start;
			seq0 = seq;
			n = bytes = 0;
		}
		to = MAX(to, end);
		if (n == 0)
			to = end;
		seq1 = seq;
		n++;
		bytes += sqlite3_column_int64(st, 4);
	}
	if (stream)
		flush_span(items, stream, from, to, seq0, seq1, n, bytes);
	g_free(stream);
	sqlite3_finalize(st);
	return 0;
}

static int load_rows(sqlite3 *db, GArray *items)
{
	sqlite3_stmt *st;
	char when[64], n[24];

	if (sqlite3_prepare_v2(db, "SELECT id, time_us, kind, source, body FROM events", -1, &st,
	                       NULL) != SQLITE_OK)
		return -EIO;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t t = sqlite3_column_int64(st, 1);
		json_t *body = json_loads(col(st, 4), 0, NULL);

		clock_format_us(t, when, sizeof(when));
		add(items, t, t, 1,
		    json_pack("{s:s, s:I, s:I, s:s, s:s, s:o}", "type", "event", "row",
		              (json_int_t)sqlite3_column_int64(st, 0), "time_us", (json_int_t)t,
		              "kind", col(st, 2), "source", col(st, 3), "body",
		              body ? body : json_string(col(st, 4))),
		    g_strdup_printf("%s  event    %-20s %-16s %s", when, col(st, 2), col(st, 3),
		                    col(st, 4)));
	}
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db, "SELECT id, stream, from_us, to_us, reason FROM gaps", -1, &st,
	                       NULL) != SQLITE_OK)
		return -EIO;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t from = sqlite3_column_int64(st, 2), to = sqlite3_column_int64(st, 3);
		char *span = span_text(from, to);

		clock_format_us(from, when, sizeof(when));
		add(items, from, to, 3,
		    json_pack("{s:s, s:I, s:s, s:I, s:I, s:s}", "type", "gap", "row",
		              (json_int_t)sqlite3_column_int64(st, 0), "stream", col(st, 1),
		              "from_us", (json_int_t)from, "to_us", (json_int_t)to, "reason",
		              col(st, 4)),
		    g_strdup_printf("%s  GAP      %-20s %s: %s", when, col(st, 1), span,
		                    col(st, 4)));
		g_free(span);
	}
	sqlite3_finalize(st);
	/* the appendix's reviews (review.h), when there are any: checked by verify */
	if (sqlite3_prepare_v2(db, "SELECT id, time_us, subject, reviewed_by, note FROM reviews",
	                       -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			int64_t t = sqlite3_column_int64(st, 1);
			clock_format_us(t, when, sizeof(when));
			add(items, t, t, 1,
			    json_pack("{s:s, s:I, s:I, s:s, s:s, s:s}", "type", "review", "row",
			              (json_int_t)sqlite3_column_int64(st, 0), "time_us",
			              (json_int_t)t, "subject", col(st, 2), "reviewed_by",
			              col(st, 3), "note", col(st, 4)),
			    /* TRANSLATORS: "review" is the line's type keyword, kept in English
			       like event and GAP; then the subject (draw_room), who, and their
			       note. */
			    g_strdup_printf(_("%s  review   %-20s %-16s %s"), when, col(st, 2),
			                    col(st, 3), col(st, 4)));
		}
		sqlite3_finalize(st);
	}
	if (sqlite3_prepare_v2(db, "SELECT time_us, length(record) FROM draw", -1, &st, NULL) !=
	    SQLITE_OK)
		return -EIO;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t t = sqlite3_column_int64(st, 0);

		clock_format_us(t, when, sizeof(when));
		add(items, t, t, 0,
		    json_pack("{s:s, s:I, s:I}", "type", "draw", "time_us", (json_int_t)t, "bytes",
		              (json_int_t)sqlite3_column_int64(st, 1)),
		    g_strdup_printf(_("%s  draw     record stored (%s bytes; see verify-draw)"),
		                    when, tool_num(n, sizeof(n), sqlite3_column_int64(st, 1))));
	}
	sqlite3_finalize(st);
	return 0;
}

int timeline_collect(sqlite3 *db, int64_t from, int64_t to, json_t **json, GString *text)
{
	GArray *items = g_array_new(FALSE, FALSE, sizeof(struct item));
	int rc = load_rows(db, items);
	guint i;

	if (rc == 0)
		rc = load_spans(db, items);
	if (rc == 0) {
		g_array_sort(items, item_cmp);
		*json = json_array();
		for (i = 0; i < items->len; i++) {
			struct item *it = &g_array_index(items, struct item, i);
			char *safe;

			/* In the span: a point inside it, or a span or gap that overlaps it. */
			if (it->from_us >= to || (it->to_us < from) ||
			    (it->to_us == it->from_us && it->from_us < from))
				continue;
			json_array_append(*json, it->json);
			safe = text_display(it->line);
			g_string_append_printf(text, "%s\n", safe);
			g_free(safe);
		}
	}
	for (i = 0; i < items->len; i++) {
		json_decref(g_array_index(items, struct item, i).json);
		g_free(g_array_index(items, struct item, i).line);
	}
	g_array_unref(items);
	return rc;
}

int cmd_timeline(int argc, char **argv)
{
	gboolean as_json = FALSE;
	GOptionEntry opts[] = {{"json", 'j', 0, G_OPTION_ARG_NONE, &as_json,
	                        N_("one JSON array of {type: draw|event|span|gap|review, ...}"),
	                        NULL},
	                       {NULL, 0, 0, 0, NULL, NULL, NULL}};
	struct archive_reader *r;
	GArray *items;
	json_t *arr;
	guint i;
	int rc;

	if (!tool_parse(
	        &argc, &argv, "FILE",
	        N_("Every event, every stream's recorded spans (runs of consecutive segments) "
	           "and every gap with its reason, in time order. Reads only; run verify to "
	           "know the records are genuine."),
	        opts, 1))
		return EXIT_USAGE;
	r = tool_open(argv[1]);
	if (!r)
		return EXIT_BAD_FILE;
	items = g_array_new(FALSE, FALSE, sizeof(struct item));
	rc = load_rows(archive_reader_db(r), items);
	if (rc == 0)
		rc = load_spans(archive_reader_db(r), items);
	if (rc) {
		tool_err(_("%s: sqlite: %s"), argv[1], sqlite3_errmsg(archive_reader_db(r)));
		rc = EXIT_FAILED;
	} else {
		g_array_sort(items, item_cmp);
		arr = json_array();
		for (i = 0; i < items->len; i++) {
			struct item *it = &g_array_index(items, struct item, i);

			if (as_json)
				json_array_append(arr, it->json);
			else
				print_safe(it->line);
		}
		if (as_json) {
			json_dumpf(arr, stdout, JSON_INDENT(1));
			putchar('\n');
		}
		json_decref(arr);
		rc = EXIT_INTACT;
	}
	for (i = 0; i < items->len; i++) {
		json_decref(g_array_index(items, struct item, i).json);
		g_free(g_array_index(items, struct item, i).line);
	}
	g_array_unref(items);
	archive_reader_free(r);
	return rc;
}
