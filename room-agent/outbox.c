#include "outbox.h"

#include <errno.h>
#include <sqlite3.h>
#include <string.h>

#include "log.h"
#include "msg.h"

struct outbox {
	sqlite3 *db;
	char *path;
	const struct mqtt_ops *ops;
	void *ctx;
	bool connected;
};

static const char outbox_schema[] = "PRAGMA journal_mode=WAL;"
                                    "PRAGMA synchronous=FULL;"
                                    "CREATE TABLE IF NOT EXISTS outbox ("
                                    "  seq INTEGER PRIMARY KEY," /* the message's envelope seq */
                                    "  topic TEXT NOT NULL,"
                                    "  payload TEXT NOT NULL);";

struct outbox *outbox_open(const char *path, const struct mqtt_ops *ops, void *ctx, GError **err)
{
	struct outbox *o = g_new0(struct outbox, 1);
	o->path = g_strdup(path);
	o->ops = ops;
	o->ctx = ctx;
	if (sqlite3_open(path, &o->db) != SQLITE_OK ||
	    sqlite3_exec(o->db, outbox_schema, NULL, NULL, NULL) != SQLITE_OK) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "outbox %s: sqlite: %s", path,
		            sqlite3_errmsg(o->db));
		outbox_close(o);
		return NULL;
	}
	sqlite3_busy_timeout(o->db, 2000);
	return o;
}

void outbox_close(struct outbox *o)
{
	if (!o)
		return;
	sqlite3_close(o->db);
	g_free(o->path);
	g_free(o);
}

int outbox_push(struct outbox *o, const char *topic, const json_t *msg)
{
	size_t len;
	char *text = msg_dump(msg, &len);
	json_int_t seq = json_integer_value(json_object_get(msg, "seq"));
	sqlite3_stmt *st = NULL;
	int rc = 0;
	if (sqlite3_prepare_v2(o->db, "INSERT INTO outbox(seq, topic, payload) VALUES (?,?,?)", -1,
	                       &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, seq) != SQLITE_OK ||
	    sqlite3_bind_text(st, 2, topic, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 3, text, (int)len, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE) {
		log_warnx("outbox %s: sqlite: %s: event seq %lld published without a durable copy",
		          o->path, sqlite3_errmsg(o->db), (long long)seq);
		rc = -EIO;
	}
	sqlite3_finalize(st);
	if (o->connected)
		o->ops->publish(o->ctx, topic, text, len, 1, false);
	g_free(text);
	return rc;
}

void outbox_set_connected(struct outbox *o, bool connected)
{
	o->connected = connected;
	if (!connected)
		return;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(o->db, "SELECT topic, payload FROM outbox ORDER BY seq", -1, &st,
	                       NULL) != SQLITE_OK) {
		log_warnx("outbox %s: sqlite: %s", o->path, sqlite3_errmsg(o->db));
		return;
	}
	unsigned n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *topic = (const char *)sqlite3_column_text(st, 0);
		const void *payload = sqlite3_column_text(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 1);
		o->ops->publish(o->ctx, topic, payload, len, 1, false);
		n++;
	}
	sqlite3_finalize(st);
	if (n)
		log_info("outbox: replayed %u unacknowledged event(s)", n);
}

void outbox_ack(struct outbox *o, uint64_t seq)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(o->db, "DELETE FROM outbox WHERE seq <= ?", -1, &st, NULL) !=
	        SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE)
		log_warnx("outbox %s: sqlite: %s", o->path, sqlite3_errmsg(o->db));
	sqlite3_finalize(st);
}

int64_t outbox_pending(struct outbox *o)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;
	if (sqlite3_prepare_v2(o->db, "SELECT count(*) FROM outbox", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}
