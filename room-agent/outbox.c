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

/* When a stored event was last published (in memory only: after a restart everything is
 * replayed on connect and the times start again). */
struct published {
	int64_t seq; /* the key */
	int64_t at;  /* g_get_monotonic_time() */
};

struct outbox {
	sqlite3 *db;
	char *path;
	const struct mqtt_ops *ops;
	void *ctx;
	bool connected;
	GQueue queue;          /* pushed, not yet durable */
	guint flush_id;        /* idle source writing the queue */
	GHashTable *published; /* &seq -> struct published, events sent and not acknowledged */
	int64_t acked_max;     /* highest seq acknowledged exactly (events.ack {seqs}) */
	guint resend_id;       /* 1 s timer while connected */
	uint64_t resent;
};

static void mark_published(struct outbox *o, int64_t seq, int64_t now)
{
	struct published *p = g_hash_table_lookup(o->published, &seq);
	if (!p) {
		p = g_new0(struct published, 1);
		p->seq = seq;
		g_hash_table_insert(o->published, &p->seq, p);
	}
	p->at = now;
}

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
	o->published = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
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
	if (o->resend_id)
		g_source_remove(o->resend_id);
	g_hash_table_destroy(o->published);
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
	int64_t now = g_get_monotonic_time();
	while ((q = g_queue_pop_head(&o->queue))) {
		if (o->connected) {
			o->ops->publish(o->ctx, q->topic, q->text, q->len, 1, false);
			mark_published(o, q->seq, now);
		}
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

static gboolean on_resend_timer(gpointer data)
{
	outbox_resend_due(data, g_get_monotonic_time());
	return G_SOURCE_CONTINUE;
}

void outbox_set_connected(struct outbox *o, bool connected)
{
	if (o->flush_id) {
		g_source_remove(o->flush_id);
		outbox_flush(o); /* keep the order: what was pushed before goes first */
	}
	o->connected = connected;
	if (o->resend_id) {
		g_source_remove(o->resend_id);
		o->resend_id = 0;
	}
	if (!connected)
		return;
	o->resend_id = g_timeout_add_seconds(1, on_resend_timer, o);
	sqlite3_stmt *st = NULL;
	int64_t now = g_get_monotonic_time();
	if (sqlite3_prepare_v2(o->db, "SELECT topic, payload, seq FROM outbox ORDER BY seq", -1,
	                       &st, NULL) != SQLITE_OK) {
		log_warnx("outbox %s: sqlite: %s", o->path, sqlite3_errmsg(o->db));
		return;
	}
	unsigned n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *topic = (const char *)sqlite3_column_text(st, 0);
		const void *payload = sqlite3_column_text(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 1);
		o->ops->publish(o->ctx, topic, payload, len, 1, false);
		mark_published(o, sqlite3_column_int64(st, 2), now);
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
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, o->published);
	while (g_hash_table_iter_next(&it, NULL, &v))
		if ((uint64_t)((struct published *)v)->seq <= seq)
			g_hash_table_iter_remove(&it);
}

void outbox_ack_seqs(struct outbox *o, const uint64_t *seqs, size_t n)
{
	sqlite3_stmt *st = NULL;
	bool ok = sqlite3_exec(o->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK &&
	          sqlite3_prepare_v2(o->db, "DELETE FROM outbox WHERE seq = ?", -1, &st, NULL) ==
	              SQLITE_OK;
	for (size_t i = 0; i < n && ok; i++) {
		int64_t seq = (int64_t)seqs[i];
		sqlite3_reset(st);
		ok = sqlite3_bind_int64(st, 1, seq) == SQLITE_OK && sqlite3_step(st) == SQLITE_DONE;
	}
	sqlite3_finalize(st);
	if (ok)
		ok = sqlite3_exec(o->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
	if (!ok) {
		/* Nothing deleted: the events are sent again and acknowledged again. */
		log_warnx("outbox %s: sqlite: %s", o->path, sqlite3_errmsg(o->db));
		sqlite3_exec(o->db, "ROLLBACK", NULL, NULL, NULL);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t seq = (int64_t)seqs[i];
		g_hash_table_remove(o->published, &seq);
		if (seq > o->acked_max)
			o->acked_max = seq;
	}
}

static gint cmp_int64(gconstpointer a, gconstpointer b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

unsigned outbox_resend_due(struct outbox *o, int64_t now_us)
{
	if (!o->connected || g_hash_table_size(o->published) == 0)
		return 0;
	GArray *due = g_array_new(FALSE, FALSE, sizeof(int64_t));
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, o->published);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		const struct published *p = v;
		int64_t age = now_us - p->at;
		if ((p->seq < o->acked_max && age > OUTBOX_RESEND_AFTER_ACK_US) ||
		    age > OUTBOX_RESEND_BACKSTOP_US)
			g_array_append_val(due, p->seq);
	}
	g_array_sort(due, cmp_int64);
	unsigned sent = 0, gone = 0;
	sqlite3_stmt *st = NULL;
	if (due->len && sqlite3_prepare_v2(o->db, "SELECT topic, payload FROM outbox WHERE seq = ?",
	                                   -1, &st, NULL) != SQLITE_OK) {
		log_warnx("outbox %s: sqlite: %s", o->path, sqlite3_errmsg(o->db));
		due->len = 0;
	}
	for (guint i = 0; i < due->len && sent < OUTBOX_RESEND_MAX; i++) {
		int64_t seq = g_array_index(due, int64_t, i);
		sqlite3_reset(st);
		if (sqlite3_bind_int64(st, 1, seq) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
			/* Acknowledged meanwhile, or never stored (a failed write): not ours
			 * to send again. */
			g_hash_table_remove(o->published, &seq);
			gone++;
			continue;
		}
		const char *topic = (const char *)sqlite3_column_text(st, 0);
		const void *payload = sqlite3_column_text(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 1);
		o->ops->publish(o->ctx, topic, payload, len, 1, false);
		mark_published(o, seq, now_us);
		sent++;
	}
	sqlite3_finalize(st);
	if (sent) {
		o->resent += sent;
		log_info("outbox: sent %u unacknowledged event(s) again (%u due, %" G_GUINT64_FORMAT
		         " in all)",
		         sent, due->len - gone, o->resent);
	}
	g_array_free(due, TRUE);
	return sent;
}

uint64_t outbox_resent(struct outbox *o)
{
	return o->resent;
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
