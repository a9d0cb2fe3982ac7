/* Group commit of arriving segments. A segment written into its archives joins each archive's
 * open batch (archive_batch_begin); the batches commit together when the main loop has nothing
 * else to do, when they hold ARCHIVE_BATCH_MAX_BYTES, or ARCHIVE_BATCH_MAX_MS after the oldest
 * waiting segment, whichever comes first. Only then are the segments entered in the ledger
 * (one transaction) and acknowledged. One set of fsyncs serves every segment of the group, so
 * a backlog drains at nearly the disk's speed while a lone segment still commits at once. */
#include <errno.h>

#include "archive_disk.h"
#include "archives.h"
#include "clock.h"
#include "ingest.h"
#include "ingest_internal.h"
#include "log.h"

/* A reader holding an archive (the auditor tool on an open file) defers its commit: retried
 * this often, and given up (batch rolled back, segments not acknowledged: the agents keep them
 * and send them again) after GIVE_UP. */
#define RETRY_MS   100
#define GIVE_UP_US (10 * G_USEC_PER_SEC)

struct staged {
	struct segment_meta m;
	char **names;   /* the archives it was written to */
	char **tenders; /* those that are tenders */
};

struct ingest_group {
	GPtrArray *staged;   /* struct staged *, in arrival order */
	GHashTable *batches; /* archive name -> struct archive * with an open batch (borrowed) */
	int64_t bytes;       /* staged since the last commit */
	int64_t since_us;    /* when the oldest segment still waiting was staged */
	guint idle, timer;
};

enum outcome { COMMITTED, DEFERRED, FAILED };

static void staged_free(gpointer p)
{
	struct staged *s = p;
	if (!s)
		return;
	g_strfreev(s->names);
	g_strfreev(s->tenders);
	g_free(s);
}

struct ingest_group *ingest_group_new(void)
{
	struct ingest_group *g = g_new0(struct ingest_group, 1);
	g->staged = g_ptr_array_new_with_free_func(staged_free);
	g->batches = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	return g;
}

void ingest_group_free(struct ingest_group *g)
{
	if (!g)
		return;
	if (g->idle)
		g_source_remove(g->idle);
	if (g->timer)
		g_source_remove(g->timer);
	g_ptr_array_free(g->staged, TRUE);
	g_hash_table_destroy(g->batches);
	g_free(g);
}

static char **strv_of(GPtrArray *names)
{
	char **v = g_new0(char *, names->len + 1);
	for (guint i = 0; i < names->len; i++)
		v[i] = g_strdup(names->pdata[i]);
	return v;
}

/* Commits every open batch; OUT maps each archive name to its outcome. */
static void commit_batches(struct controller *c, GHashTable *out, int64_t now)
{
	struct ingest_group *g = c->ingest->group;
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, g->batches);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct archive *a = v;
		int rc = archive_batch_commit(a);
		if (rc != 0)
			log_debug("archive %s: group commit deferred or failed: %s",
			          (const char *)k, archive_errmsg(a));
		enum outcome o = rc == 0 ? COMMITTED : rc == -EAGAIN ? DEFERRED : FAILED;
		if (o == DEFERRED && now - g->since_us > GIVE_UP_US) {
			archive_batch_abort(a);
			log_warnx("archive %s: a reader has held the file for over %d s: the "
			          "waiting segments are rolled back and will be sent again",
			          (const char *)k, (int)(GIVE_UP_US / G_USEC_PER_SEC));
			o = FAILED;
		} else if (o == FAILED) {
			log_warnx("archive %s: group commit failed: %s", (const char *)k,
			          archive_errmsg(a));
			archive_write_failed(c, k, "a group commit of segments", archive_errmsg(a));
		} else if (o == COMMITTED) {
			archive_write_ok(c, k);
		}
		g_hash_table_insert(out, g_strdup(k), GINT_TO_POINTER(o));
		if (o != DEFERRED)
			g_hash_table_iter_remove(&it);
	}
}

/* The worst outcome over the archives a segment went to. */
static enum outcome staged_outcome(const struct staged *s, GHashTable *outcomes)
{
	enum outcome worst = COMMITTED;
	for (char **n = s->names; *n; n++) {
		gpointer o;
		if (g_hash_table_lookup_extended(outcomes, *n, NULL, &o))
			worst = MAX(worst, (enum outcome)GPOINTER_TO_INT(o));
	}
	return worst;
}

/* The ledger rows of the committed segments, in one durable transaction. A failure is
 * logged: the segments are durable in their archives all the same (a resend is then
 * recognised there and acknowledged again). */
static void record(struct controller *c, GPtrArray *done)
{
	sqlite3 *ledger = c->ingest->ledger;
	bool in_txn = sqlite3_exec(ledger, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK;
	for (guint i = 0; i < done->len; i++) {
		const struct staged *s = done->pdata[i];
		char *where = g_strjoinv(",", s->names);
		if (ingest_ledger_add_segment(c->ingest, &s->m, where) != 0)
			log_warnx("segment %s/%s #%" G_GINT64_FORMAT ": ledger: %s", s->m.room,
			          s->m.stream, s->m.seq, sqlite3_errmsg(ledger));
		g_free(where);
	}
	if (in_txn && sqlite3_exec(ledger, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		log_warnx("ingest ledger: commit: %s", sqlite3_errmsg(ledger));
		sqlite3_exec(ledger, "ROLLBACK", NULL, NULL, NULL);
	}
}

static void acknowledge(struct controller *c, const struct staged *s)
{
	for (char **t = s->tenders; *t; t++)
		archives_count_segment(c, *t);
	log_debug("segment %s/%s #%" G_GINT64_FORMAT " (%" G_GINT64_FORMAT " bytes) stored",
	          s->m.room, s->m.stream, s->m.seq, s->m.size);
	ingest_send_ack(c, s->m.room, s->m.stream, "segment_seq", s->m.seq);
}

static void schedule(struct controller *c, guint retry_ms);

void ingest_commit(struct controller *c)
{
	struct ingest_group *g = c->ingest ? c->ingest->group : NULL;
	if (!g || g_hash_table_size(g->batches) == 0)
		return;
	int64_t now = clock_now_us();
	GHashTable *outcomes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GPtrArray *waiting = g_ptr_array_new_with_free_func(staged_free);
	GPtrArray *done = g_ptr_array_new();
	commit_batches(c, outcomes, now);
	g->bytes = 0;
	for (guint i = 0; i < g->staged->len; i++) {
		struct staged *s = g->staged->pdata[i];
		switch (staged_outcome(s, outcomes)) {
		case COMMITTED:
			g_ptr_array_add(done, s);
			break;
		case DEFERRED:
			g->bytes += s->m.size;
			g_ptr_array_add(waiting, s);
			g->staged->pdata[i] = NULL;
			break;
		case FAILED:
			log_warnx("segment %s/%s #%" G_GINT64_FORMAT
			          " not acknowledged (its archive did not commit): the agent "
			          "sends it again",
			          s->m.room, s->m.stream, s->m.seq);
			break;
		}
	}
	record(c, done);
	for (guint i = 0; i < done->len; i++)
		acknowledge(c, done->pdata[i]);
	g_ptr_array_free(done, TRUE);
	g_ptr_array_set_size(g->staged, 0);
	g_ptr_array_extend_and_steal(g->staged, waiting);
	g_hash_table_destroy(outcomes);
	if (g_hash_table_size(g->batches) > 0)
		schedule(c, RETRY_MS);
}

static gboolean on_idle(gpointer user)
{
	struct controller *c = user;
	c->ingest->group->idle = 0;
	ingest_commit(c);
	return G_SOURCE_REMOVE;
}

static gboolean on_timer(gpointer user)
{
	struct controller *c = user;
	c->ingest->group->timer = 0;
	ingest_commit(c);
	return G_SOURCE_REMOVE;
}

/* Commit when the loop is idle, or after RETRY_MS at the latest. */
static void schedule(struct controller *c, guint retry_ms)
{
	struct ingest_group *g = c->ingest->group;
	if (!g->idle && retry_ms == 0)
		g->idle = g_idle_add_full(G_PRIORITY_DEFAULT_IDLE, on_idle, c, NULL);
	if (!g->timer)
		g->timer = g_timeout_add(retry_ms ? retry_ms : ARCHIVE_BATCH_MAX_MS, on_timer, c);
}

void ingest_group_track(struct controller *c, const char *name, struct archive *a)
{
	struct ingest_group *g = c->ingest->group;
	if (g_hash_table_size(g->batches) == 0)
		g->since_us = clock_now_us();
	if (!g_hash_table_contains(g->batches, name))
		g_hash_table_insert(g->batches, g_strdup(name), a);
	schedule(c, 0);
}

void ingest_group_add(struct controller *c, const struct segment_meta *m, GPtrArray *names,
                      GPtrArray *tenders)
{
	struct ingest_group *g = c->ingest->group;
	struct staged *s = g_new0(struct staged, 1);
	s->m = *m;
	s->names = strv_of(names);
	s->tenders = strv_of(tenders);
	g_ptr_array_add(g->staged, s);
	g->bytes += m->size;
	if (g->bytes >= ARCHIVE_BATCH_MAX_BYTES)
		ingest_commit(c);
}

void ingest_archive_closing(struct controller *c, const char *name)
{
	struct ingest_group *g = c->ingest ? c->ingest->group : NULL;
	if (!g)
		return;
	ingest_commit(c);
	struct archive *a = g_hash_table_lookup(g->batches, name);
	if (!a)
		return;
	archive_batch_abort(a);
	g_hash_table_remove(g->batches, name);
	for (guint i = g->staged->len; i-- > 0;) {
		struct staged *s = g->staged->pdata[i];
		if (!g_strv_contains((const char *const *)s->names, name))
			continue;
		log_warnx("segment %s/%s #%" G_GINT64_FORMAT " not acknowledged: archive %s closed "
		          "before it could commit; the agent sends it again",
		          s->m.room, s->m.stream, s->m.seq, name);
		g->bytes -= s->m.size;
		g_ptr_array_remove_index(g->staged, i);
	}
}

bool ingest_archive_waiting(struct controller *c, const char *name)
{
	struct ingest_group *g = c->ingest ? c->ingest->group : NULL;
	return g && g_hash_table_contains(g->batches, name);
}
