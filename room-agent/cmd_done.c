#include "cmd_done.h"

#include <errno.h>
#include <sqlite3.h>

#include "log.h"

struct cmd_done {
	sqlite3 *db;
	char *path;
};

/* synchronous=NORMAL: in WAL mode a commit survives the agent's crash or kill (the
 * question here: a restart between two deliveries); a power cut may lose the last
 * commits, but a board boots in far longer than a command lives (a few seconds), so
 * no command outliving it could run again. It spares the command's reply an fsync. */
static const char schema[] = "PRAGMA journal_mode=WAL;"
                             "PRAGMA synchronous=NORMAL;"
                             "CREATE TABLE IF NOT EXISTS command_done ("
                             "  id TEXT PRIMARY KEY,"
                             "  expires INTEGER NOT NULL,"
                             "  reply TEXT NOT NULL);";

struct cmd_done *cmd_done_open(const char *path, GError **err)
{
	struct cmd_done *d = g_new0(struct cmd_done, 1);

	d->path = g_strdup(path);
	if (sqlite3_open(path, &d->db) != SQLITE_OK ||
	    sqlite3_exec(d->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "commands done %s: sqlite: %s",
		            path, sqlite3_errmsg(d->db));
		cmd_done_close(d);
		return NULL;
	}
	sqlite3_busy_timeout(d->db, 2000);
	return d;
}

void cmd_done_close(struct cmd_done *d)
{
	if (!d)
		return;
	sqlite3_close(d->db);
	g_free(d->path);
	g_free(d);
}

int cmd_done_put(struct cmd_done *d, const char *id, int64_t expires, const char *reply,
                 int64_t now)
{
	sqlite3_stmt *del = NULL, *ins = NULL;
	int rc = -EIO;

	if (sqlite3_prepare_v2(d->db, "DELETE FROM command_done WHERE expires < ?", -1, &del,
	                       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(d->db,
	                       "INSERT OR REPLACE INTO command_done(id, expires, reply) "
	                       "VALUES (?, ?, ?)",
	                       -1, &ins, NULL) != SQLITE_OK)
		goto err_log;
	sqlite3_bind_int64(del, 1, now);
	if (sqlite3_step(del) != SQLITE_DONE)
		goto err_log;
	sqlite3_bind_text(ins, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(ins, 2, expires);
	sqlite3_bind_text(ins, 3, reply, -1, SQLITE_STATIC);
	if (sqlite3_step(ins) != SQLITE_DONE)
		goto err_log;
	rc = 0;
	goto out;
err_log:
	log_warnx("commands done %s: %s", d->path, sqlite3_errmsg(d->db));
out:
	sqlite3_finalize(del);
	sqlite3_finalize(ins);
	return rc;
}

char *cmd_done_get(struct cmd_done *d, const char *id, int64_t now)
{
	sqlite3_stmt *q = NULL;
	char *reply = NULL;

	if (sqlite3_prepare_v2(d->db,
	                       "SELECT reply FROM command_done WHERE id = ? AND expires >= ?", -1,
	                       &q, NULL) != SQLITE_OK) {
		log_warnx("commands done %s: %s", d->path, sqlite3_errmsg(d->db));
		return NULL;
	}
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, now);
	if (sqlite3_step(q) == SQLITE_ROW)
		reply = g_strdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	return reply;
}
