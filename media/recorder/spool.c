#include "spool.h"

#include <errno.h>
#include <glib.h>
#include <sqlite3.h>
#include <string.h>

extern const char spool_schema_sql[];

struct spool {
	sqlite3 *db;
	char *path;
};

static const char *const reason_names[] = {
    "camera_lost",      "agent_restart", "disk_full",      "camera_unauthorized",
    "camera_not_found", "camera_silent", "stream_changed",
};

const char *gap_reason_name(enum gap_reason r)
{
	if ((unsigned)r >= G_N_ELEMENTS(reason_names))
		return "unknown";
	return reason_names[r];
}

int gap_reason_parse(const char *name, enum gap_reason *out)
{
	for (size_t i = 0; i < G_N_ELEMENTS(reason_names); i++) {
		if (name && strcmp(name, reason_names[i]) == 0) {
			*out = (enum gap_reason)i;
			return 0;
		}
	}
	return -EINVAL;
}

static int spool_fail(struct spool *sp, const char *what)
{
	g_warning("spool %s: %s: %s", sp->path, what, sqlite3_errmsg(sp->db));
	return -EIO;
}

static int spool_prepare(struct spool *sp, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(sp->db, sql, -1, st, NULL) != SQLITE_OK)
		return spool_fail(sp, "prepare");
	return 0;
}

/* Runs a statement that returns no rows, binding text/int64 parameters from fmt
 * ('t' = const char *, 'i' = int64_t). */
static int spool_exec(struct spool *sp, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st;
	int rc = spool_prepare(sp, sql, &st);
	if (rc)
		return rc;
	va_list ap;
	va_start(ap, fmt);
	for (int i = 0; fmt[i]; i++) {
		if (fmt[i] == 't')
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1,
			                  SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
	}
	va_end(ap);
	int s = sqlite3_step(st);
	if (s == SQLITE_CONSTRAINT)
		rc = -EEXIST;
	else if (s != SQLITE_DONE)
		rc = spool_fail(sp, sql);
	sqlite3_finalize(st);
	return rc;
}

/* A spool created before the camera gap reasons existed has a gap table whose CHECK
 * refuses them. SQLite cannot alter a CHECK, so the table is rebuilt in one
 * transaction, keeping its rows and its AUTOINCREMENT counter: gap ids are the
 * controller's dedupe key and must never be reused. */
static int spool_migrate_gap_reasons(sqlite3 *db, char **msg)
{
	sqlite3_stmt *st;
	gboolean old = FALSE;
	if (sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master WHERE name = 'gap'", -1, &st,
	                       NULL) != SQLITE_OK)
		return SQLITE_ERROR;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *sql = (const char *)sqlite3_column_text(st, 0);
		old = sql && !strstr(sql, "stream_changed");
	}
	sqlite3_finalize(st);
	if (!old)
		return SQLITE_OK;
	return sqlite3_exec(
	    db,
	    "BEGIN IMMEDIATE;"
	    "CREATE TEMP TABLE gap_seq AS SELECT seq FROM sqlite_sequence WHERE name = 'gap';"
	    "ALTER TABLE gap RENAME TO gap_before_camera_reasons;"
	    "CREATE TABLE gap ("
	    " id INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL,"
	    " reason TEXT NOT NULL CHECK (reason IN ('camera_lost', 'agent_restart', 'disk_full',"
	    "  'camera_unauthorized', 'camera_not_found', 'camera_silent', 'stream_changed')),"
	    " from_us INTEGER NOT NULL,"
	    " to_us INTEGER CHECK (to_us IS NULL OR to_us >= from_us));"
	    "INSERT INTO gap SELECT * FROM gap_before_camera_reasons;"
	    "DROP TABLE gap_before_camera_reasons;"
	    "DELETE FROM sqlite_sequence WHERE name = 'gap';"
	    "INSERT INTO sqlite_sequence(name, seq) SELECT 'gap', seq FROM gap_seq;"
	    "DROP TABLE gap_seq;"
	    "COMMIT;",
	    NULL, NULL, msg);
}

int spool_open(const char *db_path, struct spool **out)
{
	char *msg = NULL;
	struct spool *sp = g_new0(struct spool, 1);
	sp->path = g_strdup(db_path);
	if (sqlite3_open_v2(db_path, &sp->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK)
		goto err_db;
	sqlite3_busy_timeout(sp->db, 2000);
	if (sqlite3_exec(
	        sp->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
	        NULL, NULL, &msg) != SQLITE_OK ||
	    spool_migrate_gap_reasons(sp->db, &msg) != SQLITE_OK ||
	    sqlite3_exec(sp->db, spool_schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
		g_warning("spool %s: schema: %s", db_path, msg ? msg : "?");
		sqlite3_free(msg);
		msg = (char *)"logged";
		goto err_db;
	}
	*out = sp;
	return 0;

err_db:
	if (sp->db && !msg)
		g_warning("spool %s: open: %s", db_path, sqlite3_errmsg(sp->db));
	sqlite3_close(sp->db);
	g_free(sp->path);
	g_free(sp);
	return -EIO;
}

int spool_clone(struct spool *sp, struct spool **out)
{
	return spool_open(sp->path, out);
}

void spool_free(struct spool *sp)
{
	if (!sp)
		return;
	sqlite3_close(sp->db);
	g_free(sp->path);
	g_free(sp);
}

int spool_stream_position(struct spool *sp, const char *stream, int64_t *next_seq,
                          int64_t *last_end_us)
{
	sqlite3_stmt *st;
	int rc =
	    spool_prepare(sp, "SELECT next_seq, last_end_us FROM stream_seq WHERE stream = ?", &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, stream, -1, SQLITE_TRANSIENT);
	*next_seq = 1;
	*last_end_us = -1;
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW) {
		*next_seq = sqlite3_column_int64(st, 0);
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			*last_end_us = sqlite3_column_int64(st, 1);
	} else if (s != SQLITE_DONE) {
		rc = spool_fail(sp, "stream position");
	}
	sqlite3_finalize(st);
	return rc;
}

int spool_segment_begin(struct spool *sp, const char *stream, int64_t seq, int64_t start_us,
                        const char *path)
{
	return spool_exec(sp,
	                  "INSERT OR REPLACE INTO open_segment(stream, seq, start_us, path) "
	                  "VALUES (?, ?, ?, ?)",
	                  "tiit", stream, seq, start_us, path);
}

int spool_segment_abandon(struct spool *sp, const char *stream, int64_t seq)
{
	return spool_exec(sp, "DELETE FROM open_segment WHERE stream = ? AND seq = ?", "ti", stream,
	                  seq);
}

static void copy_text(char *dst, size_t cap, const unsigned char *src)
{
	g_strlcpy(dst, src ? (const char *)src : "", cap);
}

/* Every row of the bound statement ST as an array of ELEM-byte structs filled by FROM_ROW
 * (*out, *n: the rows read, even after a failure); ST is finalized. */
static int collect_rows(struct spool *sp, sqlite3_stmt *st, size_t elem,
                        void (*from_row)(sqlite3_stmt *, void *), const char *what, void **out,
                        size_t *n)
{
	GArray *a = g_array_new(FALSE, TRUE, (guint)elem);
	void *row = g_malloc0(elem);
	int s, rc = 0;
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		memset(row, 0, elem);
		from_row(st, row);
		g_array_append_vals(a, row, 1);
	}
	if (s != SQLITE_DONE)
		rc = spool_fail(sp, what);
	sqlite3_finalize(st);
	g_free(row);
	*n = a->len;
	*out = g_array_free(a, FALSE);
	return rc;
}

static void open_segment_from_row(sqlite3_stmt *st, void *row)
{
	struct spool_open_segment *o = row;
	copy_text(o->stream, sizeof(o->stream), sqlite3_column_text(st, 0));
	o->seq = sqlite3_column_int64(st, 1);
	o->start_us = sqlite3_column_int64(st, 2);
	copy_text(o->path, sizeof(o->path), sqlite3_column_text(st, 3));
}

int spool_open_segments(struct spool *sp, const char *stream, struct spool_open_segment **out,
                        size_t *n)
{
	sqlite3_stmt *st;
	int rc = spool_prepare(sp,
	                       "SELECT stream, seq, start_us, path FROM open_segment "
	                       "WHERE ?1 IS NULL OR stream = ?1 ORDER BY stream, seq",
	                       &st);
	if (rc)
		return rc;
	if (stream)
		sqlite3_bind_text(st, 1, stream, -1, SQLITE_TRANSIENT);
	return collect_rows(sp, st, sizeof(**out), open_segment_from_row, "open segments",
	                    (void **)out, n);
}

int spool_segment_add(struct spool *sp, const struct spool_segment *g)
{
	char *msg = NULL;
	if (sqlite3_exec(sp->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK) {
		sqlite3_free(msg);
		return spool_fail(sp, "begin");
	}
	int rc =
	    spool_exec(sp,
	               "INSERT INTO segment(stream, seq, start_us, end_us, size, sha256, path, "
	               "recovered) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	               "tiiiitti", g->stream, g->seq, g->start_us, g->end_us, g->size, g->sha256,
	               g->path, (int64_t)(g->recovered ? 1 : 0));
	if (!rc)
		rc = spool_segment_abandon(sp, g->stream, g->seq);
	if (!rc)
		rc = spool_exec(
		    sp,
		    "INSERT INTO stream_seq(stream, next_seq, last_end_us) VALUES (?1, ?2, "
		    "?3) ON CONFLICT(stream) DO UPDATE SET next_seq = max(next_seq, ?2), "
		    "last_end_us = max(coalesce(last_end_us, ?3), ?3)",
		    "tii", g->stream, g->seq + 1, g->end_us);
	if (sqlite3_exec(sp->db, rc ? "ROLLBACK" : "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
		sqlite3_free(msg);
		return spool_fail(sp, "commit");
	}
	return rc;
}

static void segment_from_row(sqlite3_stmt *st, struct spool_segment *g)
{
	memset(g, 0, sizeof(*g));
	copy_text(g->stream, sizeof(g->stream), sqlite3_column_text(st, 0));
	g->seq = sqlite3_column_int64(st, 1);
	g->start_us = sqlite3_column_int64(st, 2);
	g->end_us = sqlite3_column_int64(st, 3);
	g->size = sqlite3_column_int64(st, 4);
	copy_text(g->sha256, sizeof(g->sha256), sqlite3_column_text(st, 5));
	copy_text(g->path, sizeof(g->path), sqlite3_column_text(st, 6));
	g->recovered = sqlite3_column_int(st, 7);
}

#define SEGMENT_COLUMNS "stream, seq, start_us, end_us, size, sha256, path, recovered"

static void segment_row(sqlite3_stmt *st, void *row)
{
	segment_from_row(st, row);
}

int spool_segment_get(struct spool *sp, const char *stream, int64_t seq, struct spool_segment *out)
{
	sqlite3_stmt *st;
	int rc = spool_prepare(
	    sp, "SELECT " SEGMENT_COLUMNS " FROM segment WHERE stream = ? AND seq = ?", &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, stream, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, seq);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		segment_from_row(st, out);
	else if (s == SQLITE_DONE)
		rc = -ENOENT;
	else
		rc = spool_fail(sp, "segment get");
	sqlite3_finalize(st);
	return rc;
}

int spool_segment_delete(struct spool *sp, const char *stream, int64_t seq)
{
	int rc =
	    spool_exec(sp, "DELETE FROM segment WHERE stream = ? AND seq = ?", "ti", stream, seq);
	if (!rc && sqlite3_changes(sp->db) == 0)
		rc = -ENOENT;
	return rc;
}

int spool_segment_list(struct spool *sp, size_t max, struct spool_segment **out, size_t *n)
{
	sqlite3_stmt *st;
	int rc = spool_prepare(
	    sp, "SELECT " SEGMENT_COLUMNS " FROM segment ORDER BY end_us, stream, seq LIMIT ?",
	    &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, (int64_t)max);
	return collect_rows(sp, st, sizeof(**out), segment_row, "segment list", (void **)out, n);
}

int spool_segment_totals(struct spool *sp, int64_t *bytes, int64_t *count)
{
	sqlite3_stmt *st;
	int rc = spool_prepare(sp, "SELECT coalesce(sum(size), 0), count(*) FROM segment", &st);
	if (rc)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*bytes = sqlite3_column_int64(st, 0);
		*count = sqlite3_column_int64(st, 1);
	} else {
		rc = spool_fail(sp, "totals");
	}
	sqlite3_finalize(st);
	return rc;
}

int spool_gap_begin(struct spool *sp, const char *stream, enum gap_reason reason, int64_t from_us,
                    int64_t *id)
{
	int rc = spool_exec(sp, "INSERT INTO gap(stream, reason, from_us) VALUES (?, ?, ?)", "tti",
	                    stream, gap_reason_name(reason), from_us);
	if (!rc)
		*id = sqlite3_last_insert_rowid(sp->db);
	return rc;
}

int spool_gap_end(struct spool *sp, int64_t id, int64_t to_us)
{
	return spool_exec(sp, "UPDATE gap SET to_us = max(from_us, ?) WHERE id = ?", "ii", to_us,
	                  id);
}

static void gap_from_row(sqlite3_stmt *st, struct spool_gap *g)
{
	memset(g, 0, sizeof(*g));
	g->id = sqlite3_column_int64(st, 0);
	copy_text(g->stream, sizeof(g->stream), sqlite3_column_text(st, 1));
	if (gap_reason_parse((const char *)sqlite3_column_text(st, 2), &g->reason))
		g->reason = GAP_CAMERA_LOST;
	g->from_us = sqlite3_column_int64(st, 3);
	g->to_us = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 4);
}

static void gap_row(sqlite3_stmt *st, void *row)
{
	gap_from_row(st, row);
}

int spool_gap_get(struct spool *sp, int64_t id, struct spool_gap *out)
{
	sqlite3_stmt *st;
	int rc = spool_prepare(
	    sp, "SELECT id, stream, reason, from_us, to_us FROM gap WHERE id = ?", &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		gap_from_row(st, out);
	else if (s == SQLITE_DONE)
		rc = -ENOENT;
	else
		rc = spool_fail(sp, "gap get");
	sqlite3_finalize(st);
	return rc;
}

int spool_gap_find_open(struct spool *sp, const char *stream, struct spool_gap *out)
{
	sqlite3_stmt *st;
	int rc = spool_prepare(sp,
	                       "SELECT id, stream, reason, from_us, to_us FROM gap "
	                       "WHERE stream = ? AND to_us IS NULL ORDER BY id DESC LIMIT 1",
	                       &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, stream, -1, SQLITE_TRANSIENT);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		gap_from_row(st, out);
	else if (s == SQLITE_DONE)
		rc = -ENOENT;
	else
		rc = spool_fail(sp, "gap find open");
	sqlite3_finalize(st);
	return rc;
}

int spool_gap_delete(struct spool *sp, int64_t id)
{
	int rc = spool_exec(sp, "DELETE FROM gap WHERE id = ?", "i", id);
	if (!rc && sqlite3_changes(sp->db) == 0)
		rc = -ENOENT;
	return rc;
}

int spool_gap_list_closed(struct spool *sp, size_t max, struct spool_gap **out, size_t *n)
{
	sqlite3_stmt *st;
	int rc = spool_prepare(sp,
	                       "SELECT id, stream, reason, from_us, to_us FROM gap "
	                       "WHERE to_us IS NOT NULL ORDER BY id LIMIT ?",
	                       &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, (int64_t)max);
	return collect_rows(sp, st, sizeof(**out), gap_row, "gap list", (void **)out, n);
}
