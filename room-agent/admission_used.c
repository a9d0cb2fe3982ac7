#include "admission_used.h"

#include <errno.h>
#include <sqlite3.h>

#include "log.h"

struct admission_used {
	sqlite3 *db;
	char *path;
};

/* synchronous=FULL: a use must outlive a power cut that follows the door's opening (a
 * board that comes back within the admission window would otherwise let it in again).
 * The digest is the keyed admission digest (credential.h), already in admission.json. */
static const char schema[] = "PRAGMA journal_mode=WAL;"
                             "PRAGMA synchronous=FULL;"
                             "CREATE TABLE IF NOT EXISTS admission_used ("
                             "  digest TEXT NOT NULL,"
                             "  valid_from INTEGER NOT NULL,"
                             "  valid_until INTEGER NOT NULL,"
                             "  PRIMARY KEY (digest, valid_from));";

struct admission_used *admission_used_open(const char *path, GError **err)
{
	struct admission_used *s = g_new0(struct admission_used, 1);

	s->path = g_strdup(path);
	if (sqlite3_open(path, &s->db) != SQLITE_OK ||
	    sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
		            "admissions used %s: sqlite: %s", path, sqlite3_errmsg(s->db));
		admission_used_close(s);
		return NULL;
	}
	sqlite3_busy_timeout(s->db, 2000);
	return s;
}

void admission_used_close(struct admission_used *s)
{
	if (!s)
		return;
	sqlite3_close(s->db);
	g_free(s->path);
	g_free(s);
}

int admission_used_put(struct admission_used *s, const struct admission_use *use, int64_t now_us)
{
	sqlite3_stmt *del = NULL, *ins = NULL;
	int rc = -EIO;

	if (sqlite3_prepare_v2(s->db, "DELETE FROM admission_used WHERE valid_until < ?", -1, &del,
	                       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
	                       "INSERT OR IGNORE INTO admission_used(digest, valid_from, "
	                       "valid_until) VALUES (?, ?, ?)",
	                       -1, &ins, NULL) != SQLITE_OK)
		goto err_log;
	sqlite3_bind_int64(del, 1, now_us);
	if (sqlite3_step(del) != SQLITE_DONE)
		goto err_log;
	sqlite3_bind_text(ins, 1, use->digest, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 2, use->valid_from_us);
	sqlite3_bind_int64(ins, 3, use->valid_until_us);
	if (sqlite3_step(ins) != SQLITE_DONE)
		goto err_log;
	rc = 0;
	goto out;
err_log:
	log_warnx("admissions used %s: %s", s->path, sqlite3_errmsg(s->db));
out:
	sqlite3_finalize(del);
	sqlite3_finalize(ins);
	return rc;
}

int admission_used_each(struct admission_used *s, int64_t now_us,
                        void (*fn)(const struct admission_use *use, void *user), void *user)
{
	sqlite3_stmt *q = NULL;
	int step;

	if (sqlite3_prepare_v2(s->db,
	                       "SELECT digest, valid_from, valid_until FROM admission_used "
	                       "WHERE valid_until > ?",
	                       -1, &q, NULL) != SQLITE_OK)
		goto err_log;
	sqlite3_bind_int64(q, 1, now_us);
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		struct admission_use use = {0};
		const char *digest = (const char *)sqlite3_column_text(q, 0);

		g_strlcpy(use.digest, digest ? digest : "", sizeof(use.digest));
		use.valid_from_us = sqlite3_column_int64(q, 1);
		use.valid_until_us = sqlite3_column_int64(q, 2);
		fn(&use, user);
	}
	if (step != SQLITE_DONE)
		goto err_log;
	sqlite3_finalize(q);
	return 0;
err_log:
	log_warnx("admissions used %s: %s", s->path, sqlite3_errmsg(s->db));
	sqlite3_finalize(q);
	return -EIO;
}
