#include "outbox.h"

#include <errno.h>
#include <sqlite3.h>
#include <string.h>

#include "log.h"
#include "msg.h"

struct queued_event {
	int64_t seq;
	char *topic;
	char *text;
	size_t len;
};

struct outbox {
	sqlite3 *db;
	char *path;
	const struct mqtt_ops *ops;
	void *ctx;
	bool connected;
	GQueue queue;   /* pushed, not yet durable */
	guint flush_id; /* idle source writing the queue */
};

static void queued_free(struct queued_event *q)
{
	g_free(q->topic);
	g_free(q->text);
	g_free(q);
}

static const char outbox_schema[] = "PRAGMA journal_mode=WAL;"
                                    "PRAGMA synchronous=FULL;"
                                    "CREATE TABLE IF NOT EXISTS outbox ("
                                    "  seq INTEGER PRIMARY KEY," /* the message's envelope seq */
                                    "  topic TEXT NOT NULL,"
                                    "  payload TEXT NOT NULL);";

static gboolean outbox_flush(gpointer data);

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
	if (o->flush_id) {
		g_source_remove(o->flush_id);
		outbox_flush(o);
	}
	sqlite3_close(o->db);
	g_free(o->path);
	g_free(o);
}

/* Write every queued event in one transaction (one fsync), then publish them: an event
 * is on disk before anyone can have seen it, and a burst costs one sync. Runs from the
 * main loop just after the handler that produced the events, so a command's reply is
 * not held up behind the disk. */
static gboolean outbox_flush(gpointer data)
{
	struct outbox *o = data;
	o->flush_id = 0;
	sqlite3_stmt *st = NULL;
	bool durable =
	    sqlite3_exec(o->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(o->db, "INSERT INTO outbox(seq, topic, payload) VALUES (?,?,?)", -1,
	                       &st, NULL) == SQLITE_OK;
	for (GList *l = o->queue.head; l && durable; l = l->next) {
		struct queued_event *q = l->data;
		sqlite3_reset(st);
		durable =
		    sqlite3_bind_int64(st, 1, q->seq) == SQLITE_OK &&
		    sqlite3_bind_text(st, 2, q->topic, -1, SQLITE_STATIC) == SQLITE_OK &&
		    sqlite3_bind_text(st, 3, q->text, (int)q->len, SQLITE_STATIC) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_DONE;
	}
	sqlite3_finalize(st);
	if (durable)
		durable = sqlite3_exec(o->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
	if (!durable) {
		log_warnx("outbox %s: sqlite: %s: %u event(s) published without a durable copy",
		          o->path, sqlite3_errmsg(o->db), o->queue.length);
		sqlite3_exec(o->db, "ROLLBACK", NULL, NULL, NULL);
	}
	struct queued_event *q;
	while ((q = g_queue_pop_head(&o->queue))) {
		if (o->connected)
			o->ops->publish(o->ctx, q->topic, q->text, q->len, 1, false);
		queued_free(q);
	}
	return G_SOURCE_REMOVE;
}

int outbox_push(struct outbox *o, const char *topic, const json_t *msg)
{
	struct queued_event *q = g_new0(struct queued_event, 1);
	q->seq = json_integer_value(json_object_get(msg, "seq"));
	q->topic = g_strdup(topic);
	q->text = msg_dump(msg, &q->len);
	g_queue_push_tail(&o->queue, q);
	if (!o->flush_id)
		o->flush_id = g_idle_add_full(G_PRIORITY_HIGH_IDLE, outbox_flush, o, NULL);
	return 0;
}

void outbox_set_connected(struct outbox *o, bool connected)
{
	if (o->flush_id) {
		g_source_remove(o->flush_id);
		outbox_flush(o); /* keep the order: what was pushed before goes first */
	}
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
