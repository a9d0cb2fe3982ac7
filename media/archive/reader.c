#include "reader.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive.h"

struct archive_reader {
	sqlite3 *db;
	char *path;
	uint64_t budget; /* SQLite progress calls left before a query is stopped */
	int version;     /* PRAGMA user_version, the file's format version */
};

/* The tables of the archive format (schemas/sql/archive.sql, every version). */
static const char *const known_tables[] = {"meta", "draw", "events", "segments", "segment_chunks",
                                           "gaps", "checkpoints", "timestamps", "key_history",
                                           /* the signed appendix (appendix.h) */
                                           "witness_signatures", "reviews",
                                           /* cosignatures (cosignature.h) */
                                           "cosignatures", NULL};

/* SQLite calls this every PROGRESS_OPS virtual-machine steps; a query is stopped when the
 * reader's budget is spent. The budget grows with the file (every legitimate query is
 * linear in it), so a crafted file cannot keep the auditor's tool busy for ever. */
#define PROGRESS_OPS 10000

static int progress(void *data)
{
	struct archive_reader *r = data;

	if (r->budget == 0)
		return 1;
	r->budget--;
	return 0;
}

static bool known_table(const char *name)
{
	for (size_t i = 0; known_tables[i]; i++)
		if (strcmp(name, known_tables[i]) == 0)
			return true;
	return false;
}

/* Refuse any schema object the format does not have before any query of the file runs:
 * a view in place of a table (a recursive query could hang every command), a trigger,
 * a virtual table, an unknown table. Indexes on the format's tables are allowed. */
static int check_schema(struct archive_reader *r, char **err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(r->db, "SELECT type, name, tbl_name, sql FROM sqlite_schema",
	                            -1, &st, NULL);
	if (rc != SQLITE_OK) {
		char *why = g_utf8_make_valid(sqlite3_errmsg(r->db), -1);
		*err = g_strdup_printf("%s: unreadable archive: sqlite: %s", r->path, why);
		g_free(why);
		return -EBADMSG;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(st, 0);
		const char *name = (const char *)sqlite3_column_text(st, 1);
		const char *tbl = (const char *)sqlite3_column_text(st, 2);
		const char *sql = (const char *)sqlite3_column_text(st, 3);
		bool ok = false;

		if (!type || !name)
			ok = false;
		else if (strcmp(type, "table") == 0)
			ok = known_table(name) &&
			     !(sql && g_ascii_strncasecmp(sql, "CREATE VIRTUAL", 14) == 0);
		else if (strcmp(type, "index") == 0)
			ok = tbl && known_table(tbl);
		if (!ok) {
			char *t = g_utf8_make_valid(type ? type : "?", -1);
			char *n = g_utf8_make_valid(name ? name : "?", -1);
			*err =
			    g_strdup_printf("%s: tampered: the file holds a %s \"%s\", which the "
			                    "archive format has not; nothing in it was read",
			                    r->path, t, n);
			g_free(t);
			g_free(n);
			sqlite3_finalize(st);
			return -EBADMSG;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		char *why = g_utf8_make_valid(sqlite3_errmsg(r->db), -1);
		*err = g_strdup_printf("%s: unreadable archive: sqlite: %s", r->path, why);
		g_free(why);
		return -EBADMSG;
	}
	return 0;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The 100-byte SQLite header tells us page size, page count, application id and
 * user_version without trusting SQLite to cope with a foreign or cut file. */
static int check_header(const char *path, int *out_version, char **err)
{
	uint8_t h[100];
	struct stat st;
	uint32_t page_size, pages, app, version;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		*err = g_strdup_printf("%s: cannot open: %s", path, g_strerror(e));
		return -e;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		*err = g_strdup_printf("%s: not a regular file", path);
		return -EBADMSG;
	}
	n = read(fd, h, sizeof(h));
	close(fd);
	if (n < (ssize_t)sizeof(h) || memcmp(h, "SQLite format 3", 16) != 0) {
		*err = g_strdup_printf("%s: not an evalroom archive (%s)", path,
		                       n < (ssize_t)sizeof(h) ? "shorter than an SQLite header"
		                                              : "not an SQLite database");
		return -EBADMSG;
	}
	page_size = (uint32_t)h[16] << 8 | h[17];
	if (page_size == 1)
		page_size = 65536;
	app = be32(h + 68);
	version = be32(h + 60);
	if (app != ARCHIVE_APPLICATION_ID) {
		*err = g_strdup_printf("%s: not an evalroom archive (SQLite application_id 0x%08x, "
		                       "expected 0x%08x)",
		                       path, app, ARCHIVE_APPLICATION_ID);
		return -EBADMSG;
	}
	if (version > ARCHIVE_FORMAT_VERSION) {
		*err = g_strdup_printf("%s: archive format version %u is newer than this tool "
		                       "(reads up to %d); use a newer evalroom-archive",
		                       path, version, ARCHIVE_FORMAT_VERSION);
		return -ENOTSUP;
	}
	if (version < ARCHIVE_FORMAT_VERSION_MIN) {
		*err = g_strdup_printf("%s: archive format version %u is invalid", path, version);
		return -EBADMSG;
	}
	if (page_size < 512 || (page_size & (page_size - 1)) != 0) {
		*err = g_strdup_printf("%s: corrupt SQLite header (page size %u)", path, page_size);
		return -EBADMSG;
	}
	*out_version = (int)version;
	pages = be32(h + 28);
	/* The in-header page count is valid only when its change counter matches (offset 92). */
	if (be32(h + 92) == be32(h + 24) &&
	    ((uint64_t)st.st_size < (uint64_t)pages * page_size || st.st_size % page_size)) {
		*err =
		    g_strdup_printf("%s: truncated: the header declares %u pages of %u bytes "
		                    "(%llu bytes) but the file has %llu bytes",
		                    path, pages, page_size, (unsigned long long)pages * page_size,
		                    (unsigned long long)st.st_size);
		return -EBADMSG;
	}
	return 0;
}

int archive_reader_open(const char *path, struct archive_reader **out, char **err)
{
	struct archive_reader *r;
	int rc, version = 0;

	*err = NULL;
	rc = check_header(path, &version, err);
	if (rc)
		return rc;
	r = g_new0(struct archive_reader, 1);
	r->version = version;
	r->path = g_strdup(path);
	/* Read-only: the auditor's tool must never change the evidence. */
	rc = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READONLY, NULL);
	if (rc != SQLITE_OK) {
		char *why = g_utf8_make_valid(r->db ? sqlite3_errmsg(r->db) : "out of memory", -1);
		*err = g_strdup_printf("%s: cannot open: sqlite: %s", path, why);
		g_free(why);
		archive_reader_free(r);
		return -EBADMSG;
	}
	sqlite3_busy_timeout(r->db, 5000);
	rc = check_schema(r, err);
	if (rc) {
		archive_reader_free(r);
		return rc;
	}
	{
		struct stat st;
		uint64_t size = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
		/* About 10^8 VM steps for a small file, and 6,400 per byte beyond. */
		r->budget = 10000 + size * 64 / 100;
	}
	sqlite3_progress_handler(r->db, PROGRESS_OPS, progress, r);
	rc = sqlite3_exec(r->db, "SELECT count(*) FROM meta", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		/* SQLite quotes the damaged schema text, which may be any bytes. */
		char *why = g_utf8_make_valid(sqlite3_errmsg(r->db), -1);
		*err = g_strdup_printf("%s: unreadable archive: sqlite: %s", path, why);
		g_free(why);
		archive_reader_free(r);
		return -EBADMSG;
	}
	*out = r;
	return 0;
}

void archive_reader_free(struct archive_reader *r)
{
	if (!r)
		return;
	sqlite3_close(r->db);
	g_free(r->path);
	g_free(r);
}

sqlite3 *archive_reader_db(const struct archive_reader *r)
{
	return r->db;
}

const char *archive_reader_path(const struct archive_reader *r)
{
	return r->path;
}

int archive_reader_version(const struct archive_reader *r)
{
	return r->version;
}
