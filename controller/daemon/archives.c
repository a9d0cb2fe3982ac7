/* Tender archives on the controller: open per tender, the draw record, events that
 * concern a tender, periodic checkpoints, tender.close (flush, wait, seal). */
#include "archives.h"
#include "venues.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agents.h"
#include "alerts.h"
#include "archive_disk.h"
#include "clock.h"
#include "hex.h"
#include "ingest.h"
#include "keys.h"
#include "leaf.h"
#include "log.h"
#include "msg.h"
#include "reader.h"
#include "request_reply.h"
#include "retention_hold.h"
#include "review.h"
#include "rootlog.h"
#include "route.h"
#include "state.h"
#include "text_safe.h"
#include "witness_log.h"

/* Events an archive could not take because a reader holds it wait in memory, in order, and
 * are tried again this often; a tender close waits this long past its flush wait for them. */
#define HELD_RETRY_MS        200
#define HELD_GRACE_US        (10 * G_USEC_PER_SEC)
#define CLOSE_WAIT_DEFAULT_S 30
#define CLOSE_WAIT_MAX_S     600
/* After a start, closes that waited for a venue wait again this much later (the venues'
 * retained link states come first). */
#define SEAL_RESUME_S 5

struct archives {
	struct archive_signer *signer;
	struct archive_signer *signer2; /* [controller] second_signing_key (SM2), or NULL */
	struct rootlog *roots;          /* the site's root log (state_dir/roots.log) */
	GHashTable *open;               /* name -> struct archive * */
	GHashTable *sealed;             /* tender -> int64_t * sealed_us (as far as known) */
	GHashTable *counts;             /* tender -> guint64 * segments stored since start */
	GHashTable *held; /* name -> GQueue of struct held_event: waiting for a reader */
	GHashTable *waiting; /* tender -> struct closing: its seal waits for a venue */
	bool closing;     /* archives_free has begun: roots go to the log only */
	guint timer, held_timer;
	guint resume_timer; /* at start: closes that waited for a venue wait again */
	int64_t held_warned_us;
};

static void closing_abandon(gpointer p);
static gboolean on_seal_resume(gpointer user);

struct held_event {
	int64_t at_us;
	char *kind, *source, *body;
};

static void held_event_free(gpointer p)
{
	struct held_event *e = p;
	g_free(e->kind);
	g_free(e->source);
	g_free(e->body);
	g_free(e);
}

static void held_queue_free(gpointer p)
{
	g_queue_free_full(p, held_event_free);
}

static void archive_close(gpointer p)
{
	archive_free(p);
}

char *archives_public_pem(struct controller *c)
{
	return archive_signer_public_pem(c->archives->signer);
}

int archives_review(struct controller *c, const char *tender, const char *subject, const char *by,
                    int64_t at_us, const char *note, char **why)
{
	char *path = archives_path(c, tender);
	int rc = review_append(path, c->archives->signer, tender, subject, by, at_us, note, why);
	g_free(path);
	if (rc == 0 && c->archive_appendix) /* a sealed archive's copies get it too */
		c->archive_appendix(c, tender);
	return rc;
}

char *archives_path(struct controller *c, const char *name)
{
	char *file = g_strconcat(name, ".evarc", NULL);
	char *path = g_build_filename(c->cfg.archive_dir, file, NULL);
	g_free(file);
	return path;
}

static void checkpoint_all(struct controller *c)
{
	GHashTableIter it;
	gpointer k, v;
	int64_t now = clock_now_us();
	g_hash_table_iter_init(&it, c->archives->open);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		int rc = archive_checkpoint_if_changed(v, now);
		if (rc < 0)
			log_warnx("archive %s: checkpoint failed: %s", (const char *)k,
			          archive_errmsg(v));
		else if (rc == 1)
			log_debug("archive %s: checkpoint at %" G_GUINT64_FORMAT " leaves",
			          (const char *)k, archive_tree_size(v));
	}
}

static gboolean on_checkpoint_timer(gpointer user)
{
	checkpoint_all(user);
	return G_SOURCE_CONTINUE;
}

int archives_init(struct controller *c, GError **err)
{
	struct archives *as = g_new0(struct archives, 1);
	int rc = archive_signer_load(c->cfg.signing_key, &as->signer);
	if (rc != 0) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
		            "[controller] signing_key %s: %s", c->cfg.signing_key,
		            rc == -ENOENT ? "no such file" : "not an Ed25519 private key (PEM)");
		goto err_signer;
	}
	if (c->cfg.second_signing_key &&
	    (rc = archive_signer_load_any(c->cfg.second_signing_key, &as->signer2)) != 0) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
		            "[controller] second_signing_key %s: %s", c->cfg.second_signing_key,
		            rc == -ENOENT ? "no such file"
		                          : "not an SM2 or Ed25519 private key (PEM)");
		goto err_keys;
	}
	uint8_t raw[32];
	if (archive_signer_raw_public(as->signer, raw) != 0 ||
	    (rc = keys_init(c, raw, as->signer2, err)) != 0) {
		rc = rc ? rc : -EINVAL;
		goto err_keys;
	}
	if (g_mkdir_with_parents(c->cfg.archive_dir, 0700) != 0) {
		rc = -errno;
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "archive_dir %s: %s",
		            c->cfg.archive_dir, g_strerror(-rc));
		goto err_dir;
	}
	char *roots = g_build_filename(c->cfg.state_dir, "roots.log", NULL);
	rc = rootlog_open(roots, as->signer, &as->roots, err);
	g_free(roots);
	if (rc != 0)
		goto err_dir;
	as->open = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, archive_close);
	as->sealed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	as->counts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	as->held = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, held_queue_free);
	as->waiting = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, closing_abandon);
	c->seal_waiting = archives_seal_waiting;
	as->resume_timer = g_timeout_add_seconds(SEAL_RESUME_S, on_seal_resume, c);
	as->timer =
	    g_timeout_add_seconds((guint)c->cfg.checkpoint_interval_s, on_checkpoint_timer, c);
	c->archives = as;
	retention_start(c);
	return 0;
err_dir:
	keys_free(c);
err_keys:
	archive_signer_free(as->signer2);
	archive_signer_free(as->signer);
err_signer:
	g_free(as);
	return rc;
}

static void held_drain(struct controller *c, const char *name);

void archives_close(struct controller *c, const char *name)
{
	held_drain(c, name);
	if (g_hash_table_remove(c->archives->held, name))
		log_warnx("archive %s closed while a reader held it: its waiting events are not "
		          "recorded",
		          name);
	ingest_archive_closing(c, name);
	g_hash_table_remove(c->archives->open, name);
}

void archives_free(struct controller *c)
{
	struct archives *as = c->archives;
	if (!as)
		return;
	retention_stop(c);
	as->closing = true;
	checkpoint_all(c);
	g_source_remove(as->timer);
	g_hash_table_destroy(as->open);
	g_hash_table_destroy(as->sealed);
	g_hash_table_destroy(as->counts);
	if (as->held_timer)
		g_source_remove(as->held_timer);
	if (g_hash_table_size(as->held) > 0)
		log_warnx("%u archives still held by a reader at exit: their waiting events are "
		          "not recorded",
		          g_hash_table_size(as->held));
	g_hash_table_destroy(as->held);
	if (g_hash_table_size(as->waiting) > 0)
		log_warnx("%u tenders still wait for a venue to seal: they stay closing and wait "
		          "again after the next start",
		          g_hash_table_size(as->waiting));
	if (as->resume_timer)
		g_source_remove(as->resume_timer);
	g_hash_table_destroy(as->waiting);
	c->seal_waiting = NULL;
	rootlog_free(as->roots);
	archive_signer_free(as->signer);
	archive_signer_free(as->signer2);
	g_free(as);
	c->archives = NULL;
	keys_free(c);
}

int64_t archives_file_sealed_us(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	int64_t t = 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT sealed_us FROM meta", -1, &stmt, NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		t = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return t;
}

static void mark_sealed(struct controller *c, const char *tender, int64_t at_us)
{
	int64_t *t = g_new(int64_t, 1);
	*t = at_us;
	g_hash_table_replace(c->archives->sealed, g_strdup(tender), t);
}

static int archive_refuse_sealed(const char *tender, GError **err)
{
	g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
	            "the archive of tender %s is sealed: nothing more can be written to it",
	            tender);
	return -EROFS;
}

/* An archive's checkpoint, durable: into the site's root log, then retained on
 * controller/roots for whoever records the published roots. */
static void publish_root(void *user, const char *name, uint64_t size, const uint8_t root[32],
                         int64_t time_us)
{
	struct controller *c = user;
	struct rootlog_entry e;
	GError *err = NULL;
	if (rootlog_append(c->archives->roots, name, size, root, time_us, &e, &err) != 0) {
		log_warnx("%s (the checkpoint of %s at size %" G_GUINT64_FORMAT
		          " is not published)",
		          err->message, name, size);
		archive_write_failed(c, name, "its checkpoint's root in the site's root log",
		                     err->message);
		g_error_free(err);
		return;
	}
	if (c->archives->closing) /* the final checkpoints at exit: MQTT is gone already */
		return;
	char root_hex[65], hash_hex[65];
	hex_encode(root, 32, root_hex);
	hex_encode(e.hash, 32, hash_hex);
	char *line = rootlog_line(&e);
	json_t *m = node_msg_new(c->node, "roots.checkpoint");
	json_object_update_new(m, json_pack("{s:s, s:I, s:s, s:I, s:I, s:s, s:s}", "tender", name,
	                                    "size", (json_int_t)size, "root", root_hex, "time_us",
	                                    (json_int_t)time_us, "log_index", (json_int_t)e.index,
	                                    "log_hash", hash_hex, "line", line));
	g_free(line);
	node_publish(c->node, TOPIC_PREFIX "controller/roots", m, true);
	json_decref(m);
}

/* A new archive is made whole under a hidden name beside its place (schema, metadata, leaf
 * 0), readable by the controller's user only, and then renamed into place without
 * replacing anything: a reader never sees a file at PATH without its tables. A leftover of
 * a crash while creating is never published, so it is simply made again. */
static int create_in_place(const char *path, const struct archive_tender *meta,
                           struct archive_signer *signer, struct archive_signer *signer2,
                           const struct key_history *history, struct archive **out)
{
	char *dir = g_path_get_dirname(path), *base = g_path_get_basename(path);
	char *hidden = g_strdup_printf(".%s.creating", base);
	char *tmp = g_build_filename(dir, hidden, NULL);
	char *tmp_journal = g_strconcat(tmp, "-journal", NULL);
	struct archive *a = NULL;
	unlink(tmp);
	unlink(tmp_journal);
	int rc = archive_create_keyed(tmp, meta, signer, signer2, history, &a);
	archive_free(a); /* committed: its persisted journal is not hot and can go */
	*out = NULL;
	if (rc != 0)
		goto out;
	unlink(tmp_journal);
	if (chmod(tmp, 0600) != 0 ||
	    renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) != 0) {
		rc = -errno;
		unlink(tmp);
		goto out;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	if (rc == 0)
		rc = archive_open_keyed(path, signer, signer2, history, clock_now_us(), out);
out:
	g_free(tmp_journal);
	g_free(tmp);
	g_free(hidden);
	g_free(base);
	g_free(dir);
	return rc;
}

int archives_obtain(struct controller *c, const char *name, const struct archive_tender *meta,
                    struct archive **out, GError **err)
{
	struct archives *as = c->archives;
	struct archive *a = g_hash_table_lookup(as->open, name);
	if (a) {
		*out = a;
		return 0;
	}
	if (g_hash_table_contains(as->sealed, name))
		return archive_refuse_sealed(name, err);
	char *path = archives_path(c, name);
	int rc = g_file_test(path, G_FILE_TEST_EXISTS)
	             ? archive_open_keyed(path, as->signer, as->signer2, c->key_history,
	                                  clock_now_us(), &a)
	             : create_in_place(path, meta, as->signer, as->signer2, c->key_history, &a);
	if (rc == -EROFS) {
		mark_sealed(c, name, archives_file_sealed_us(path));
		rc = archive_refuse_sealed(name, err);
	} else if (rc != 0) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_INTERNAL, "archive %s: %s", path,
		            a ? archive_errmsg(a) : g_strerror(-rc));
		archive_free(a);
		log_warnx("archive %s: cannot open or create it: %s", path, g_strerror(-rc));
		archive_write_failed(c, name, "the archive file (cannot open or create it)",
		                     g_strerror(-rc));
	} else {
		archive_on_checkpoint(a, publish_root, c);
		g_hash_table_insert(as->open, g_strdup(name), a);
		*out = a;
	}
	g_free(path);
	return rc;
}

int archives_get(struct controller *c, const char *tender, struct archive **out, GError **err)
{
	struct archive *a = g_hash_table_lookup(c->archives->open, tender);
	if (a) {
		*out = a;
		return 0;
	}
	struct state_tender t;
	int rc = state_tender_get(c->state, tender, &t, err);
	if (rc != 0)
		return rc;
	/* A sealed tender whose file is gone was deleted after its retention (custody.c): it
	 * is never made again. */
	char *path = archives_path(c, tender);
	bool gone = strcmp(t.state, "sealed") == 0 && !g_file_test(path, G_FILE_TEST_EXISTS);
	g_free(path);
	if (gone) {
		mark_sealed(c, tender, 0);
		return archive_refuse_sealed(tender, err);
	}
	struct archive_tender meta = {
	    .tender = t.id, .name = t.name, .session = t.session, .created_us = clock_now_us(),
	    .site = c->cfg.site};
	return archives_obtain(c, tender, &meta, out, err);
}

/* Appends E to archive NAME (A): at once, or, while a reader holds the file (or earlier
 * events still wait), after the ones waiting, when the reader lets go. */
static void held_schedule(struct controller *c);

/* Appends E to A now; a failure other than a reader holding the file is logged. */
static int append_now(struct controller *c, struct archive *a, const char *name,
                      const struct held_event *e)
{
	struct archive_event ev = {e->at_us, e->kind, e->source, e->body};
	int rc = archive_append_event(a, &ev);
	if (rc != 0 && rc != -EAGAIN) {
		log_warnx("archive %s: event %s not recorded: %s", name, e->kind,
		          archive_errmsg(a));
		char *what = g_strdup_printf("event %s", e->kind);
		archive_write_failed(c, name, what, archive_errmsg(a));
		g_free(what);
	} else if (rc == 0) {
		archive_write_ok(c, name);
	}
	return rc;
}

static int append_or_hold(struct controller *c, const char *name, struct archive *a,
                          const struct held_event *e)
{
	GQueue *q = g_hash_table_lookup(c->archives->held, name);
	if (!q) {
		int rc = append_now(c, a, name, e);
		if (rc != -EAGAIN)
			return rc;
		log_info("archive %s: a reader holds the file; event %s waits for it", name,
		         e->kind);
		q = g_queue_new();
		g_hash_table_insert(c->archives->held, g_strdup(name), q);
	}
	struct held_event *copy = g_new(struct held_event, 1);
	*copy = (struct held_event){e->at_us, g_strdup(e->kind), g_strdup(e->source),
	                            g_strdup(e->body)};
	g_queue_push_tail(q, copy);
	held_schedule(c);
	return 0;
}

/* Appends NAME's waiting events in order, up to the first the reader still holds back. */
static void held_drain(struct controller *c, const char *name)
{
	GQueue *q = g_hash_table_lookup(c->archives->held, name);
	struct archive *a = g_hash_table_lookup(c->archives->open, name);
	while (q && a && !g_queue_is_empty(q)) {
		if (append_now(c, a, name, g_queue_peek_head(q)) == -EAGAIN)
			return;
		held_event_free(g_queue_pop_head(q));
	}
	if (q)
		g_hash_table_remove(c->archives->held, name);
}

static gboolean on_held_timer(gpointer user)
{
	struct controller *c = user;
	struct archives *as = c->archives;
	GList *names = g_hash_table_get_keys(as->held);
	for (GList *n = names; n; n = n->next)
		held_drain(c, n->data);
	g_list_free(names);
	if (g_hash_table_size(as->held) == 0) {
		as->held_timer = 0;
		return G_SOURCE_REMOVE;
	}
	int64_t now = clock_now_us();
	if (now - as->held_warned_us > 30 * G_USEC_PER_SEC) {
		as->held_warned_us = now;
		log_warnx("%u archives held by a reader for a while: their events wait in memory",
		          g_hash_table_size(as->held));
	}
	return G_SOURCE_CONTINUE;
}

static void held_schedule(struct controller *c)
{
	if (!c->archives->held_timer)
		c->archives->held_timer = g_timeout_add(HELD_RETRY_MS, on_held_timer, c);
}

int archives_event(struct controller *c, const char *tender, int64_t at_us, const char *kind,
                   const char *source, json_t *body)
{
	struct archive *a;
	GError *err = NULL;
	int rc = archives_get(c, tender, &a, &err);
	if (rc == -EROFS && archives_sealed_at(c, tender) &&
	    at_us >= archives_sealed_at(c, tender)) {
		g_clear_error(&err); /* after the tender's end: not its business */
		json_decref(body);
		return 0;
	}

	if (rc == 0) {
		struct held_event e = {at_us, (char *)kind, (char *)source,
		                       json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS)};
		rc = append_or_hold(c, tender, a, &e);
		free(e.body);
	} else {
		log_warnx("tender %s: event %s from %s refused: %s", tender, kind, source,
		          err->message);
		g_clear_error(&err);
	}
	json_decref(body);
	return rc;
}

int archives_day_event(struct controller *c, int64_t at_us, const char *kind, const char *source,
                       json_t *body, json_t *written)
{
	GDateTime *now = g_date_time_new_now_local();
	char *date = g_date_time_format(now, "%Y-%m-%d");
	g_date_time_unref(now);
	char session[STATE_ID_SIZE] = "";
	json_t *tenders = NULL;
	GError *err = NULL;
	if (state_session_open_on(c->state, date, session, &err) != 0 ||
	    state_tender_list(c->state, session, &tenders, &err) != 0)
		g_clear_error(&err); /* no session open today: no tender concerned */
	g_free(date);
	int n = 0;
	size_t i;
	json_t *t;
	json_array_foreach(tenders, i, t)
	{
		struct state_tender st;
		const char *id = json_string_value(t);
		if (!id || state_tender_get(c->state, id, &st, &err) != 0) {
			g_clear_error(&err);
			continue;
		}
		if (strcmp(st.state, "open") != 0)
			continue;
		if (archives_event(c, id, at_us, kind, source, json_deep_copy(body)) == 0) {
			n++;
			if (written)
				json_array_append_new(written, json_string(id));
		}
	}
	json_decref(tenders);
	json_decref(body);
	return n;
}

int64_t archives_sealed_at(struct controller *c, const char *tender)
{
	int64_t *t = g_hash_table_lookup(c->archives->sealed, tender);
	return t ? *t : 0;
}

void archives_count_segment(struct controller *c, const char *tender)
{
	guint64 *n = g_hash_table_lookup(c->archives->counts, tender);
	if (!n) {
		n = g_new0(guint64, 1);
		g_hash_table_insert(c->archives->counts, g_strdup(tender), n);
	}
	(*n)++;
}

static guint64 segment_count(struct controller *c, const char *tender)
{
	guint64 *n = g_hash_table_lookup(c->archives->counts, tender);
	return n ? *n : 0;
}

/* ---- hooks ---- */

/* The session's full draw record into each of its tender archives that can still take
 * it. REPLACEMENT: a replacement changed an already released record (then archives
 * holding the first one get the new one as an event). An archive receiving the record
 * for the first time also gets a draw.released event with what proves it was fixed
 * before the entropy (commitment, input hash, seed). */
static void store_draw_records(struct controller *c, const char *session, int64_t now,
                               bool replacement)
{
	struct state_draw d;
	json_t *tenders = NULL;
	GError *err = NULL;
	if (state_draw_get(c->state, session, &d, &err) != 0 ||
	    state_tender_list(c->state, session, &tenders, &err) != 0) {
		log_warnx("session %s: draw record not archived: %s", session, err->message);
		g_clear_error(&err);
		if (!tenders)
			return;
		state_draw_clear(&d);
		json_decref(tenders);
		return;
	}
	size_t i;
	json_t *v;
	json_array_foreach(tenders, i, v)
	{
		const char *t = json_string_value(v);
		struct archive *a;
		if (archives_get(c, t, &a, &err) != 0) {
			log_warnx("tender %s: draw record not archived: %s", t, err->message);
			g_clear_error(&err);
			continue;
		}
		int rc = archive_store_draw(a, d.record, now);
		if (rc == -EEXIST && replacement) /* the new record as an event */
			archives_event(c, t, now, "draw.replaced", "controller",
			               json_pack("{s:o}", "record", json_loads(d.record, 0, NULL)));
		else if (rc != -EEXIST) {
			/* The release: the proof it was fixed before (commitment, input hash,
			 * seed) and the record itself, as an event too, which waits for a busy
			 * archive where the draw row could not (a reader holding it) */
			if (rc != 0)
				log_warnx("tender %s: draw record not stored (%s): kept in the "
				          "draw.released event",
				          t, archive_errmsg(a));
			archives_event(c, t, now, "draw.released", "controller",
			               json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:o}", "session",
			                         session, "commitment", d.commitment, "input_hash",
			                         d.input_hash, "seed", d.seed, "committed_at",
			                         (json_int_t)d.committed_at, "run_at",
			                         (json_int_t)d.run_at, "record",
			                         json_loads(d.record, 0, NULL)));
			/* what the seats recorded from the run until their people checked in
			 * (also the seats of people who never did) is in the retention archives
			 * of those days: kept for this tender's auditor */
			char *why = g_strdup_printf("release %s %s", session, t);
			retention_hold(c, "draw", t, 0, why, d.run_at, now);
			g_free(why);
		}
	}
	json_decref(tenders);
	state_draw_clear(&d);
}

/* The draw's commitment, published and archived as soon as it is made (docs/draw.md
 * section 1): KIND ("draw.commit", "draw.commitment_ended", "draw.run") with BODY
 * (borrowed) goes to every tender archive of SESSION, and each archive takes a signed
 * checkpoint at once, so its time proves the commitment came before the entropy. */
static void archive_draw_step(struct controller *c, const char *session, const char *kind,
                              const char *source, const json_t *body, int64_t now)
{
	json_t *tenders = NULL, *v;
	GError *err = NULL;
	size_t i;
	if (!c->archives)
		return;
	if (state_tender_list(c->state, session, &tenders, &err) != 0) {
		log_warnx("session %s: %s not archived: %s", session, kind, err->message);
		g_clear_error(&err);
		return;
	}
	json_array_foreach(tenders, i, v)
	{
		const char *t = json_string_value(v);
		struct archive *a;
		if (archives_event(c, t, now, kind, source, json_deep_copy(body)) != 0)
			continue;
		if (archives_get(c, t, &a, &err) != 0) {
			g_clear_error(&err);
			continue;
		}
		if (archive_checkpoint_if_changed(a, clock_now_us()) < 0)
			log_warnx("archive %s: checkpoint after %s failed: %s", t, kind,
			          archive_errmsg(a));
	}
	json_decref(tenders);
}

/* The retained evalroom/v1/draw/<session>/commitment: the session's current
 * commitment and its state, for the witness room (never a seat). */
static void publish_commitment(struct controller *c, const char *session, const json_t *body,
                               const char *state)
{
	json_t *m = node_msg_new(c->node, "draw.commitment");
	static const char *const keep[] = {
	    "session",      "algorithm",    "commitment", "input_hash",
	    "committed_by", "committed_at", "witness",    "run_at",
	    "reason",       "ended_at",     NULL};
	for (const char *const *k = keep; *k; k++)
		if (json_object_get(body, *k))
			json_object_set(m, *k, json_object_get(body, *k));
	json_object_set_new(m, "state", json_string(state));
	char *topic = g_strdup_printf(TOPIC_PREFIX "draw/%s/commitment", session);
	node_publish(c->node, topic, m, true);
	g_free(topic);
	json_decref(m);
}

static void after_draw_request(struct controller *c, const struct request *req,
                               const json_t *result, int64_t now)
{
	const char *s = json_string_value(json_object_get(result, "session"));
	if (!s)
		return;
	if (strcmp(req->command, "draw.commit") == 0) {
		const json_t *ended = json_object_get(result, "abandoned");
		if (ended)
			archive_draw_step(c, s, "draw.commitment_ended", "controller", ended, now);
		json_t *body = json_pack("{s:s, s:O, s:O, s:O, s:O, s:O}", "session", s,
		                         "algorithm", json_object_get(result, "algorithm"),
		                         "commitment", json_object_get(result, "commitment"),
		                         "input_hash", json_object_get(result, "input_hash"),
		                         "committed_by", json_object_get(result, "committed_by"),
		                         "committed_at", json_object_get(result, "committed_at"));
		if (body) {
			archive_draw_step(c, s, "draw.commit", req->requester, body, now);
			publish_commitment(c, s, body, "committed");
		}
		json_decref(body);
	} else if (strcmp(req->command, "draw.abandon") == 0) {
		archive_draw_step(c, s, "draw.commitment_ended", req->requester, result, now);
		publish_commitment(c, s, result, "abandoned");
	} else if (strcmp(req->command, "draw.run") == 0) {
		json_t *body = json_deep_copy(result);
		json_object_del(body, "rooms"); /* per-room counts: not evidence of the draw */
		json_object_del(body, "seated");
		archive_draw_step(c, s, "draw.run", req->requester, body, now);
		publish_commitment(c, s, body, "run");
		json_decref(body);
	}
}

/* The seat map's seal (docs/draw.md section 8): once everyone SESSION's draw seated has
 * checked in, or no tender of it is open any more, its tender archives get the full
 * record. */
static int release_if_due(struct controller *c, const char *session, int64_t now, bool replacement)
{
	struct state_draw d;
	GError *err = NULL;
	int pending = 0, open = 0;
	if (state_draw_get(c->state, session, &d, &err) != 0) {
		g_clear_error(&err);
		return 0;
	}
	bool run = d.run;
	state_draw_clear(&d);
	if (!run || state_draw_seal(c->state, session, &pending, &open, &err) != 0) {
		g_clear_error(&err);
		return 0;
	}
	if (pending == 0 || open == 0)
		store_draw_records(c, session, now, replacement);
	return pending && open ? pending : 0;
}

/* The tender an operator request concerns: args.tender, or the tender of args.person. */
static bool request_tender(struct controller *c, const struct request *req,
                           char tender[STATE_ID_SIZE])
{
	const char *t = json_string_value(json_object_get(req->args, "tender"));
	if (t && id_valid(t)) {
		g_strlcpy(tender, t, STATE_ID_SIZE);
		return true;
	}
	const char *p = json_string_value(json_object_get(req->args, "person"));
	GError *err = NULL;
	if (p && id_valid(p) && route_person_tender(c->state, p, tender, &err) == 0)
		return true;
	g_clear_error(&err);
	return false;
}

/* Whether REQ commands a door or a seat (docs/operator.md): evidence for the tenders of
 * the people in that room or at that seat. */
static bool room_command(const struct request *req)
{
	return strcmp(req->command, "door") == 0 || strcmp(req->command, "lockdown") == 0 ||
	       strcmp(req->command, "seat.lock") == 0 || strcmp(req->command, "seat.unlock") == 0 ||
	       strcmp(req->command, "live.open") == 0 || strcmp(req->command, "live.close") == 0;
}

/* The tenders with someone checked in at NOW in the room(s) or at the seat a door or
 * seat command names (every room of the site for lockdown --all). A new array of ids. */
static json_t *room_command_tenders(struct controller *c, const struct request *req, int64_t now)
{
	GPtrArray *rooms = g_ptr_array_new_with_free_func(g_free);
	GPtrArray *tenders = g_ptr_array_new_with_free_func(g_free);
	json_t *out = json_array();
	GError *err = NULL;
	const char *room = json_string_value(json_object_get(req->args, "room"));
	const char *seat = json_string_value(json_object_get(req->args, "seat"));
	if (room && id_valid(room)) {
		g_ptr_array_add(rooms, g_strdup(room));
	} else if (json_is_true(json_object_get(req->args, "all"))) {
		json_t *site = NULL;
		size_t i;
		json_t *r;
		if (state_site_rooms(c->state, &site, &err) != 0)
			g_clear_error(&err);
		json_array_foreach(site, i, r)
		{
			const char *id = json_string_value(json_object_get(r, "id"));
			if (id)
				g_ptr_array_add(rooms, g_strdup(id));
		}
		json_decref(site);
	}
	for (guint i = 0; i < rooms->len; i++) {
		int rc =
		    g_str_has_prefix(req->command, "seat.")
		        ? (seat && id_valid(seat) ? route_seat_tenders(c->state, rooms->pdata[i],
		                                                       seat, now, tenders, &err)
		                                  : 0)
		        : route_room_tenders(c->state, rooms->pdata[i], now, tenders, &err);
		if (rc != 0) {
			log_warnx("%s: tenders of room %s: %s", req->command,
			          (const char *)rooms->pdata[i], err->message);
			g_clear_error(&err);
		}
	}
	for (guint i = 0; i < tenders->len; i++) {
		bool dup = false;
		size_t j;
		json_t *t;
		json_array_foreach(out, j, t) dup =
		    dup || strcmp(json_string_value(t), tenders->pdata[i]) == 0;
		if (!dup)
			json_array_append_new(out, json_string(tenders->pdata[i]));
	}
	g_ptr_array_free(rooms, TRUE);
	g_ptr_array_free(tenders, TRUE);
	return out;
}

/* Every tender a request concerns: its tender (or person's), or, for a request on a
 * whole session (the draw), each tender of that session, or, for a door or seat command,
 * the tenders of the people in that room or at that seat. A new array of ids. */
static json_t *request_tenders(struct controller *c, const struct request *req)
{
	if (room_command(req))
		return room_command_tenders(c, req, clock_now_us());
	char tender[STATE_ID_SIZE];
	if (request_tender(c, req, tender))
		return json_pack("[s]", tender);
	const char *s = json_string_value(json_object_get(req->args, "session"));
	json_t *list = NULL;
	GError *err = NULL;
	if (!s || !id_valid(s) || strcmp(req->command, "session.create") == 0 ||
	    state_tender_list(c->state, s, &list, &err) != 0) {
		g_clear_error(&err);
		return json_array();
	}
	return list;
}

/* escort.approve or an escorted staff.admit (RESULT) as an "escort.approved" or
 * "escort.admitted" event in the archive of every tender with someone in the room. */
static void escort_step(struct controller *c, const struct request *req, const json_t *result,
                        int64_t now)
{
	const char *room = json_string_value(json_object_get(result, "room"));
	GPtrArray *tenders = g_ptr_array_new_with_free_func(g_free);
	GError *err = NULL;
	if (room && route_room_tenders(c->state, room, now, tenders, &err) != 0)
		g_clear_error(&err);
	json_t *body = json_deep_copy(result);
	json_object_del(body, "credential"); /* never a credential in an archive */
	json_object_set_new(body, "by", json_string(req->requester));
	const char *kind =
	    strcmp(req->command, "escort.approve") == 0 ? "escort.approved" : "escort.admitted";
	for (guint i = 0; i < tenders->len; i++)
		archives_event(c, tenders->pdata[i], now, kind, req->requester, json_incref(body));
	json_decref(body);
	g_ptr_array_free(tenders, TRUE);
}

void archives_after_request(struct controller *c, const struct request *req, const json_t *result,
                            const GError *err)
{
	int64_t now = clock_now_us();
	if (!err && g_str_has_prefix(req->command, "draw.") && result)
		after_draw_request(c, req, result, now);
	if (!c->archives)
		return;
	if (!err && strcmp(req->command, "tender.add") == 0) {
		struct archive *a;
		GError *e = NULL;
		const char *t = json_string_value(json_object_get(req->args, "id"));
		if (t && archives_get(c, t, &a, &e) != 0) {
			log_warnx("tender %s: archive not created: %s", t, e->message);
			g_clear_error(&e);
		}
	}
	/* The record waits for the seal to open: a check-in or a replacement may open it. */
	if (!err && (strcmp(req->command, "desk.checkin") == 0 ||
	             strcmp(req->command, "draw.replace") == 0)) {
		struct state_tender t;
		GError *e = NULL;
		if (request_tender(c, req, t.id) && state_tender_get(c->state, t.id, &t, &e) == 0)
			release_if_due(c, t.session, now,
			               strcmp(req->command, "draw.replace") == 0);
		g_clear_error(&e);
		if (result && strcmp(req->command, "desk.checkin") == 0)
			archives_on_checkin(c, result);
	}
	if (!req->audited || strcmp(req->command, "tender.close") == 0)
		return;
	/* an escorted entry's steps concern the tenders with someone in that room */
	if (!err && result &&
	    (strcmp(req->command, "escort.approve") == 0 ||
	     (strcmp(req->command, "staff.admit") == 0 && json_object_get(result, "escorted")))) {
		escort_step(c, req, result, now);
		return;
	}
	/* a witness's note that was taken is its own witness.note event (watch.c), and so is
	 * a watcher's console page open (console.viewed); a signature of the witness log goes
	 * to the archive's signed appendix */
	if ((!err && strcmp(req->command, "witness.note") == 0) ||
	    (!err && strcmp(req->command, "console.opened") == 0) ||
	    strcmp(req->command, "witness.sign") == 0)
		return;
	/* a cosignature goes to the archive's appendix (archive_cosign.c); as a record it would
	 * grow the very tree it cosigns */
	if (strcmp(req->command, "archive.cosign") == 0)
		return;
	/* Operator actions that concern the tender, refused ones too (the audit log's view).
	 * A committee CSV holds identity numbers: only its size goes in. */
	json_t *tenders = request_tenders(c, req);
	json_t *args = json_deep_copy(req->args);
	const char *csv = json_string_value(json_object_get(args, "csv"));
	if (csv)
		json_object_set_new(args, "csv", json_sprintf("(%zu bytes)", strlen(csv)));
	/* Identity numbers and credentials stay out of the archive (the desk's check is
	 * recorded by its outcome). */
	static const char *const withheld[] = {"id_number", "card", "code", NULL};
	for (const char *const *k = withheld; *k; k++)
		if (json_object_get(args, *k))
			json_object_set_new(args, *k, json_string("(withheld)"));
	char kind[64];
	snprintf(kind, sizeof(kind), "operator.%s", req->command);
	for (char *p = kind; *p; p++)
		*p = g_ascii_tolower(*p);
	size_t i;
	json_t *t;
	json_array_foreach(tenders, i, t)
	{
		const char *tender = json_string_value(t);
		struct state_tender st;
		GError *e = NULL;
		/* a refused tender.add names a tender that may not exist */
		if (state_tender_get(c->state, tender, &st, &e) != 0) {
			g_clear_error(&e);
			continue;
		}
		json_t *body = json_pack("{s:s, s:O, s:s, s:s*}", "identity", req->requester, "args",
		                         args, "outcome", err ? "refused" : "ok", "message",
		                         err ? err->message : NULL);
		/* A door or seat command's evidence holds what the door or seat answered. */
		if (room_command(req) && result)
			json_object_set_new(body, "result", json_deep_copy(result));
		archives_event(c, tender, now, kind, req->requester, body);
	}
	json_decref(args);
	json_decref(tenders);
}

void archives_on_agent_event(struct controller *c, const char *room, const char *kind, int64_t ts,
                             json_t *body)
{
	/* What happened at the door and the seats concerns the people inside; recording
	 * health reaches the archives as gaps and (through the alert hook) as alerts. */
	if (!c->archives || !(g_str_has_prefix(kind, "door.") || g_str_has_prefix(kind, "seat.") ||
	                      g_str_has_prefix(kind, "terminal.")))
		return;
	GPtrArray *tenders = g_ptr_array_new_with_free_func(g_free);
	GError *err = NULL;
	if (route_room_tenders(c->state, room, ts, tenders, &err) != 0) {
		log_warnx("room %s: event %s not archived: %s", room, kind, err->message);
		g_clear_error(&err);
	}
	char source[64];
	snprintf(source, sizeof(source), "agent-%s", room);
	for (guint i = 0; i < tenders->len; i++)
		archives_event(c, tenders->pdata[i], ts, kind, source, json_incref(body));
	/* a witness or supervisor at an expert or tenderer door: an escorted entry's step */
	const char *person = json_string_value(json_object_get(body, "person"));
	const char *reason = json_string_value(json_object_get(body, "reason"));
	if (strcmp(kind, "door.event") == 0 && person &&
	    (g_str_has_prefix(person, "witness-") || g_str_has_prefix(person, "supervisor-"))) {
		const char *event = json_string_value(json_object_get(body, "event"));
		const char *step = g_strcmp0(reason, "granted") == 0           ? "escort.entered"
		                   : g_strcmp0(reason, "awaiting_escort") == 0 ? "escort.waiting"
		                   : g_strcmp0(event, "escort_wait_ended") == 0
		                       ? "escort.wait_ended"
		                       : NULL;
		if (!reason)
			reason = "agent_restart"; /* escort_wait_ended: the only step without one */
		for (guint i = 0; step && i < tenders->len; i++)
			archives_event(c, tenders->pdata[i], ts, step, source,
			               json_pack("{s:s, s:s, s:s}", "room", room, "person", person,
			                         "reason", reason));
	}
	/* a watcher coming into a room where no tender is seated (their own room: witness,
	 * supervision, draw): the entry concerns the day's tenders (docs/witness.md "Who
	 * watched what") */
	if (strcmp(kind, "door.event") == 0 && person && tenders->len == 0 &&
	    g_strcmp0(reason, "granted") == 0 &&
	    (g_str_has_prefix(person, "witness-") || g_str_has_prefix(person, "supervisor-") ||
	     g_str_has_prefix(person, "rep-")))
		archives_day_event(c, ts, "staff.entered", source,
		                   json_pack("{s:s, s:s}", "room", room, "person", person), NULL);
	g_ptr_array_free(tenders, TRUE);
}

void archives_on_alert(struct controller *c, const char *change, const json_t *alert, void *user)
{
	(void)user;
	if (!c->archives || !change || !json_is_object(alert))
		return;
	const char *tender = json_string_value(json_object_get(alert, "tender"));
	const char *room = json_string_value(json_object_get(alert, "room"));
	int64_t now = clock_now_us();
	GPtrArray *tenders = g_ptr_array_new_with_free_func(g_free);
	GError *err = NULL;
	if (tender && *tender)
		g_ptr_array_add(tenders, g_strdup(tender));
	else if (room && *room && route_room_tenders(c->state, room, now, tenders, &err) != 0)
		g_clear_error(&err);
	char kind[64];
	snprintf(kind, sizeof(kind), "alert.%s", change);
	for (guint i = 0; i < tenders->len; i++)
		archives_event(c, tenders->pdata[i], now, kind, "controller",
		               json_deep_copy(alert));
	g_ptr_array_free(tenders, TRUE);
}

/* ---- tender.close ----
 * Each room agent of the tender is asked media.flush {before_us: close time}; it answers
 * with how much of what it recorded before then is still unacknowledged, and keeps
 * shipping. The controller asks again until that is 0 (the room confirms) or the wait
 * is over (the room is reported as not confirmed), then seals.
 *
 * A room of a secondary venue that has not confirmed (its link is down, or what it
 * holds has not drained yet) holds the seal: the request is answered "waiting", naming
 * the venue, its rooms and the segments they held when last heard of; the tender stays
 * closing, its rooms are asked again every SEAL_WAIT_POLL_MS while their venue's link is
 * up, and it seals by itself once they have confirmed. An operator may seal it anyway
 * (seal_anyway with a reason): the archive then records what is missing. */

#define FLUSH_POLL_MS     300
#define FLUSH_ASK_MAX_MS  5000
#define SEAL_WAIT_POLL_MS 2000
#define SEAL_WAIT_ASK_S   10 /* each round of questions while the seal waits */
#define SEAL_REASON_MAX   500

struct closing;

struct room_flush {
	struct closing *cl;
	char room[STATE_ID_SIZE];
	char venue[STATE_ID_SIZE]; /* once it held the seal: its secondary venue */
	bool done, confirmed;
	char why[256];
};

struct closing {
	struct controller *c;
	struct request *req; /* NULL once answered "waiting" (until a seal_anyway) */
	char tender[STATE_ID_SIZE];
	char requester[64]; /* who closed it: the tender.closed event's source */
	int64_t close_us, started_us, deadline_us;
	guint64 segments_before;
	GPtrArray *rooms;   /* struct room_flush */
	bool asking;        /* in a round of questions: not finished before its end */
	bool closed_logged; /* the tender.closed event is appended (or waits for a reader) */
	bool log_rendered;  /* the witness log is rendered into the archive */
	bool waiting;       /* in archives->waiting: the seal waits for a venue */
	bool seal_anyway;   /* seal without what the venue's rooms hold, saying so */
	bool finishing;     /* closing_finish has begun (it may retry for a reader) */
	bool resumed;       /* a wait taken up again after a controller restart */
	char anyway_by[64];
	char *reason;
	guint poll_timer; /* while waiting: the next round of questions */
	GPtrArray *alerted; /* venue ids with a tender_seal_waiting alert raised */
};

/* The rooms of secondary venues that hold the seal (not confirmed), by venue:
 * [{venue, link, down_for_s?, rooms: [{room, segments, why}]}]; empty when none. A room
 * that held it once keeps holding it while its venue's link is not heard of (link
 * "unknown": after a restart, before the venue's retained link state has come). */
static json_t *waiting_json(struct closing *cl)
{
	json_t *out = json_array();
	for (guint i = 0; i < cl->rooms->len; i++) {
		struct room_flush *rf = cl->rooms->pdata[i];
		char venue[STATE_ID_SIZE];
		bool up = true, known;
		int64_t segments = 0, down_s = 0;
		if (rf->confirmed)
			continue;
		known = venues_room_at(cl->c, rf->room, venue, &up, &segments, &down_s);
		if (known)
			g_strlcpy(rf->venue, venue, sizeof(rf->venue));
		else if (rf->venue[0])
			g_strlcpy(venue, rf->venue, sizeof(venue));
		else
			continue;
		json_t *v = NULL, *e;
		size_t j;
		json_array_foreach(out, j, e)
		{
			if (strcmp(json_string_value(json_object_get(e, "venue")), venue) == 0)
				v = e;
		}
		if (!v) {
			v = json_pack("{s:s, s:s, s:[]}", "venue", venue, "link",
			              !known ? "unknown" : up ? "up" : "down", "rooms");
			if (known && !up)
				json_object_set_new(v, "down_for_s", json_integer(down_s));
			json_array_append_new(out, v);
		}
		json_array_append_new(json_object_get(v, "rooms"),
		                      json_pack("{s:s, s:I, s:s}", "room", rf->room, "segments",
		                                (json_int_t)segments, "why", rf->why));
	}
	return out;
}

/* The answer while the seal waits: {tender, state: "waiting", close_us, waiting_for}. */
static json_t *waiting_result(struct closing *cl)
{
	return json_pack("{s:s, s:s, s:I, s:o}", "tender", cl->tender, "state", "waiting",
	                 "close_us", (json_int_t)cl->close_us, "waiting_for", waiting_json(cl));
}

/* What a seal anyway leaves out, from WAITING (waiting_json): each room's entry gains
 * its streams with the last segment the archive holds of each ("last_seq": 0 for none):
 * what follows that number up to the close is missing. */
static json_t *missing_json(struct closing *cl, json_t *waiting)
{
	char *path = archives_path(cl->c, cl->tender), *why = NULL;
	struct archive_reader *r = NULL;
	sqlite3_stmt *st = NULL;
	if (archive_reader_open(path, &r, &why) == 0)
		sqlite3_prepare_v2(archive_reader_db(r),
		                   "SELECT coalesce(max(seq), 0) FROM segments WHERE stream = ?", -1,
		                   &st, NULL);
	json_t *out = json_deep_copy(waiting);
	size_t i, j, k;
	json_t *v, *room, *cam;
	json_array_foreach(out, i, v)
	{
		json_array_foreach(json_object_get(v, "rooms"), j, room)
		{
			json_t *cams = NULL, *streams = json_array();
			GError *err = NULL;
			const char *id = json_string_value(json_object_get(room, "room"));
			if (state_room_cameras(cl->c->state, id, &cams, &err) != 0)
				g_clear_error(&err);
			json_array_foreach(cams, k, cam)
			{
				json_int_t last = 0;
				if (st) {
					sqlite3_reset(st);
					sqlite3_bind_text(st, 1, json_string_value(cam), -1, SQLITE_STATIC);
					if (sqlite3_step(st) == SQLITE_ROW)
						last = sqlite3_column_int64(st, 0);
				}
				json_array_append_new(streams, json_pack("{s:O, s:I}", "stream", cam,
				                                         "last_seq", last));
			}
			json_decref(cams);
			json_object_set_new(room, "streams", streams);
		}
	}
	sqlite3_finalize(st);
	archive_reader_free(r);
	g_free(why);
	g_free(path);
	return out;
}

static json_t *rooms_json(const struct closing *cl, bool confirmed)
{
	json_t *a = json_array();
	for (guint i = 0; i < cl->rooms->len; i++) {
		const struct room_flush *rf = cl->rooms->pdata[i];
		if (rf->confirmed && confirmed)
			json_array_append_new(a, json_string(rf->room));
		else if (!rf->confirmed && !confirmed) {
			/* A room of a venue cut off: what it holds waits there; say so. */
			char venue[STATE_ID_SIZE];
			int64_t segments = 0, down_s = 0;
			if (venues_room_cut_off(cl->c, rf->room, venue, &segments, &down_s)) {
				char *why = g_strdup_printf(
				    "the link to venue %s is down (for %" G_GINT64_FORMAT
				    " s): its segments wait in the room's spool (%" G_GINT64_FORMAT
				    " when last heard of) and arrive when the link returns; %s",
				    venue, down_s, segments, rf->why);
				json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "room", rf->room,
				                                   "why", why, "venue", venue));
				g_free(why);
			} else {
				json_array_append_new(
				    a, json_pack("{s:s, s:s}", "room", rf->room, "why", rf->why));
			}
		}
	}
	return a;
}

static void closing_finish(struct closing *cl);

static gboolean on_closing_retry(gpointer user)
{
	closing_finish(user);
	return G_SOURCE_REMOVE;
}

/* Whether the tender's archive still has segments or events waiting for a reader to let go
 * of it (then the close is tried again shortly, for at most HELD_GRACE_US past its wait). */
static bool closing_held(struct closing *cl)
{
	struct controller *c = cl->c;
	ingest_commit(c);
	held_drain(c, cl->tender);
	bool held = ingest_archive_waiting(c, cl->tender) ||
	            g_hash_table_contains(c->archives->held, cl->tender);
	if (!held || clock_now_us() > cl->deadline_us + HELD_GRACE_US)
		return false;
	g_timeout_add(HELD_RETRY_MS, on_closing_retry, cl);
	return true;
}

/* The three-party witness log (witness_log.h, docs/witness.md): rendered from TENDER's
 * archive as it stands and appended to it as the "witness.log" event, before the seal.
 * 0, or -errno (logged: the tender is sealed without it). */
static int witness_log_store(struct controller *c, const char *tender, int64_t now)
{
	char *path = archives_path(c, tender), *why = NULL, *md = NULL;
	struct archive_reader *r = NULL;
	int rc = archive_reader_open(path, &r, &why);
	if (rc == 0)
		rc = witness_log_render(archive_reader_db(r), now, &md);
	archive_reader_free(r);
	if (rc == 0) {
		char *sha = g_compute_checksum_for_string(G_CHECKSUM_SHA256, md, -1);
		rc = archives_event(c, tender, now, "witness.log", "controller",
		                    json_pack("{s:s, s:s}", "sha256", sha, "markdown", md));
		if (rc == 0)
			log_info("tender %s: witness log rendered, SHA-256 %s", tender, sha);
		g_free(sha);
	} else {
		log_warnx("tender %s: witness log not rendered: %s", tender, why ? why : "sqlite");
	}
	g_free(md);
	g_free(why);
	g_free(path);
	return rc;
}

static void closing_finish(struct closing *cl)
{
	cl->finishing = true;
	if (closing_held(cl))
		return;
	struct controller *c = cl->c;
	GError *err = NULL;
	json_t *result = NULL, *anyway = NULL;
	struct archive *a;
	int64_t now = clock_now_us();
	json_t *confirmed = rooms_json(cl, true), *unconfirmed = rooms_json(cl, false);
	guint64 received = segment_count(c, cl->tender) - cl->segments_before;
	if (archives_get(c, cl->tender, &a, &err) != 0)
		goto out;
	ingest_archive_closing(c, cl->tender); /* its last segments acknowledged before the seal */
	json_t *waiting = waiting_json(cl);
	if (cl->seal_anyway && json_array_size(waiting)) {
		anyway = json_pack("{s:s, s:s, s:o}", "reason", cl->reason ? cl->reason : "", "by",
		                   cl->anyway_by, "missing", missing_json(cl, waiting));
		if (!cl->closed_logged) {
			archives_event(c, cl->tender, now, "tender.sealed_anyway", cl->anyway_by,
			               json_deep_copy(anyway));
			log_warnx("tender %s: sealed anyway by %s without what %zu venue(s) hold: %s",
			          cl->tender, cl->anyway_by, json_array_size(waiting), cl->reason);
		}
	}
	json_decref(waiting);
	if (!cl->closed_logged)
		archives_event(c, cl->tender, now, "tender.closed", cl->requester,
		               json_pack("{s:I, s:O, s:O, s:I, s:b}", "close_us",
		                         (json_int_t)cl->close_us, "rooms_confirmed", confirmed,
		                         "rooms_unconfirmed", unconfirmed, "segments_received",
		                         (json_int_t)received, "resumed_after_restart",
		                         cl->resumed));
	cl->closed_logged = true;
	/* resolved before the seal, so that the archive records it */
	for (guint i = 0; i < cl->alerted->len; i++) {
		struct alert_subject subj = {.tender = cl->tender, .venue = cl->alerted->pdata[i]};
		char *why = anyway ? g_strdup_printf("sealed anyway by %s: %s", cl->anyway_by,
		                                     cl->reason)
		                   : g_strdup("the venue's rooms have flushed: sealed");
		alert_clear(c, ALERT_TENDER_SEAL_WAITING, &subj, why);
		g_free(why);
	}
	g_ptr_array_set_size(cl->alerted, 0);
	held_drain(c, cl->tender);
	if (!cl->log_rendered && !g_hash_table_contains(c->archives->held, cl->tender))
		cl->log_rendered = witness_log_store(c, cl->tender, now) == 0;
	int rc =
	    g_hash_table_contains(c->archives->held, cl->tender) ? -EAGAIN : archive_seal(a, now);
	if (rc == -EAGAIN && clock_now_us() <= cl->deadline_us + HELD_GRACE_US) {
		json_decref(confirmed);
		json_decref(unconfirmed);
		json_decref(anyway);
		g_timeout_add(HELD_RETRY_MS, on_closing_retry, cl);
		return;
	}
	if (rc == -EAGAIN) {
		g_set_error(&err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		            "tender %s: not sealed: a reader (evalroom-archive or sqlite3 on the "
		            "open file) still holds its archive; close it again once that is done",
		            cl->tender);
		goto out;
	}
	if (rc != 0) {
		g_set_error(&err, REQUEST_ERROR, REQUEST_ERROR_INTERNAL, "tender %s: seal: %s",
		            cl->tender, archive_errmsg(a));
		goto out;
	}
	uint8_t root[32];
	archive_tree_root(a, root);
	char hex[65];
	hex_encode(root, 32, hex);
	uint64_t size = archive_tree_size(a);
	g_hash_table_remove(c->archives->open, cl->tender);
	mark_sealed(c, cl->tender, now);
	if (c->archive_sealed)
		c->archive_sealed(c, cl->tender, now);
	if (state_tender_set_state(c->state, cl->tender, "sealed", &err) != 0)
		goto out;
	char *path = archives_path(c, cl->tender);
	result = json_pack("{s:s, s:s, s:I, s:s, s:I, s:I, s:O, s:O, s:I}", "tender", cl->tender,
	                   "path", path, "tree_size", (json_int_t)size, "root", hex, "sealed_us",
	                   (json_int_t)now, "segments_received", (json_int_t)received,
	                   "rooms_confirmed", confirmed, "rooms_unconfirmed", unconfirmed,
	                   "waited_ms", (json_int_t)((now - cl->started_us) / 1000));
	if (anyway)
		json_object_set(result, "sealed_anyway", anyway);
	log_info("tender %s sealed: %s, %" G_GUINT64_FORMAT " leaves, root %s, %" G_GUINT64_FORMAT
	         " segments while waiting, %zu rooms not confirmed",
	         cl->tender, path, size, hex, received, json_array_size(unconfirmed));
	archives_timestamp_sealed(c, cl->tender, path);
	g_free(path);
out:
	if (cl->req) {
		request_finish(c, cl->req, result, err);
		cl->req = NULL;
	} else {
		/* sealed by itself after waiting for a venue: nobody waits for the answer */
		if (err)
			log_warnx("tender %s: %s", cl->tender, err->message);
		json_decref(result);
	}
	g_clear_error(&err);
	json_decref(confirmed);
	json_decref(unconfirmed);
	json_decref(anyway);
	if (cl->waiting)
		g_hash_table_steal(c->archives->waiting, cl->tender);
	cl->waiting = false;
	closing_abandon(cl);
}

/* Frees CL (a closing no longer in archives->waiting, or being dropped with it at exit). */
static void closing_abandon(gpointer p)
{
	struct closing *cl = p;
	if (cl->poll_timer)
		g_source_remove(cl->poll_timer);
	if (cl->req)
		request_finish(cl->c, cl->req, NULL,
		               &(GError){.domain = REQUEST_ERROR,
		                         .code = REQUEST_ERROR_UNAVAILABLE,
		                         .message = (char *)"the controller is stopping"});
	g_ptr_array_free(cl->rooms, TRUE);
	g_ptr_array_free(cl->alerted, TRUE);
	g_free(cl->reason);
	g_free(cl);
}

static void closing_wait(struct closing *cl, json_t *waiting);

static void closing_check(struct closing *cl)
{
	if (cl->asking)
		return;
	for (guint i = 0; i < cl->rooms->len; i++)
		if (!((struct room_flush *)cl->rooms->pdata[i])->done)
			return;
	json_t *waiting = cl->seal_anyway ? NULL : waiting_json(cl);
	if (json_array_size(waiting)) {
		closing_wait(cl, waiting);
		return;
	}
	json_decref(waiting);
	closing_finish(cl);
}

static void flush_ask(struct room_flush *rf);

/* While the seal waits: the venue rooms not confirmed are asked again, those of a venue
 * whose link is up; closing_check then seals or waits another round. */
static gboolean on_seal_wait_poll(gpointer user)
{
	struct closing *cl = user;
	cl->poll_timer = 0;
	cl->deadline_us = clock_now_us() + SEAL_WAIT_ASK_S * G_USEC_PER_SEC;
	cl->asking = true;
	for (guint i = 0; i < cl->rooms->len; i++) {
		struct room_flush *rf = cl->rooms->pdata[i];
		char venue[STATE_ID_SIZE];
		bool up = false;
		int64_t segments, down_s;
		if (rf->confirmed ||
		    !venues_room_at(cl->c, rf->room, venue, &up, &segments, &down_s) || !up)
			continue;
		rf->done = false;
		flush_ask(rf);
	}
	cl->asking = false;
	closing_check(cl);
	return G_SOURCE_REMOVE;
}

/* The seal waits for WAITING (waiting_json; stolen): the first time, the request is
 * answered with it and the archive records it (tender.seal_waiting); then the next round
 * of questions is set. */
static void closing_wait(struct closing *cl, json_t *waiting)
{
	struct controller *c = cl->c;
	if (!cl->waiting) {
		cl->waiting = true;
		g_hash_table_insert(c->archives->waiting, cl->tender, cl);
		archives_event(c, cl->tender, clock_now_us(), "tender.seal_waiting", cl->requester,
		               json_pack("{s:I, s:O}", "close_us", (json_int_t)cl->close_us,
		                         "waiting_for", waiting));
		size_t i;
		json_t *v;
		json_array_foreach(waiting, i, v)
		{
			const char *venue = json_string_value(json_object_get(v, "venue"));
			log_warnx("tender %s: the seal waits for venue %s (link %s, %zu rooms not "
			          "confirmed): it seals by itself once they have flushed",
			          cl->tender, venue, json_string_value(json_object_get(v, "link")),
			          json_array_size(json_object_get(v, "rooms")));
			GString *rooms = g_string_new(NULL);
			json_int_t segments = 0;
			size_t j;
			json_t *r;
			json_array_foreach(json_object_get(v, "rooms"), j, r)
			{
				g_string_append_printf(rooms, "%s%s", j ? ", " : "",
				                       json_string_value(json_object_get(r, "room")));
				segments += json_integer_value(json_object_get(r, "segments"));
			}
			char nseg[24];
			snprintf(nseg, sizeof(nseg), "%" JSON_INTEGER_FORMAT, segments);
			struct alert_subject subj = {.tender = cl->tender, .venue = venue};
			alert_raise_text(c, ALERT_TENDER_SEAL_WAITING, &subj, "tender_seal_waiting",
			                 (const char *[]){cl->tender, venue, rooms->str, nseg, NULL},
			                 json_pack("{s:I, s:O}", "close_us", (json_int_t)cl->close_us,
			                           "rooms", json_object_get(v, "rooms")));
			g_ptr_array_add(cl->alerted, g_strdup(venue));
			g_string_free(rooms, TRUE);
		}
		if (cl->req) {
			request_finish(c, cl->req, waiting_result(cl), NULL);
			cl->req = NULL;
		}
	}
	json_decref(waiting);
	cl->poll_timer = g_timeout_add(SEAL_WAIT_POLL_MS, on_seal_wait_poll, cl);
}

static gboolean on_flush_retry(gpointer user)
{
	flush_ask(user);
	return G_SOURCE_REMOVE;
}

static void flush_again_or_give_up(struct room_flush *rf)
{
	if (clock_now_us() + FLUSH_POLL_MS * 1000 < rf->cl->deadline_us) {
		g_timeout_add(FLUSH_POLL_MS, on_flush_retry, rf);
		return;
	}
	rf->done = true;
	closing_check(rf->cl);
}

static void on_flush_reply(struct controller *c, const char *room, json_t *result,
                           const GError *err, void *user)
{
	(void)c;
	(void)room;
	struct room_flush *rf = user;
	json_t *p = result ? json_object_get(result, "pending") : NULL;
	if (err) {
		g_strlcpy(rf->why, err->message, sizeof(rf->why));
	} else if (!json_is_integer(p) || json_integer_value(p) < 0) {
		g_strlcpy(rf->why, "media.flush answered without a count 'pending'",
		          sizeof(rf->why));
	} else if (json_integer_value(p) > 0) {
		snprintf(rf->why, sizeof(rf->why),
		         "%" JSON_INTEGER_FORMAT
		         " segments or gaps recorded before the close still unacknowledged",
		         json_integer_value(p));
	} else {
		rf->confirmed = rf->done = true;
		closing_check(rf->cl);
		return;
	}
	flush_again_or_give_up(rf);
}

static void flush_ask(struct room_flush *rf)
{
	struct closing *cl = rf->cl;
	int64_t left_ms = (cl->deadline_us - clock_now_us()) / 1000;
	if (left_ms <= 0) {
		rf->done = true;
		closing_check(cl);
		return;
	}
	int rc = agents_command(cl->c, rf->room, "media.flush",
	                        json_pack("{s:I}", "before_us", (json_int_t)cl->close_us),
	                        (unsigned)MIN(left_ms, FLUSH_ASK_MAX_MS), on_flush_reply, rf);
	if (rc != 0) {
		snprintf(rf->why, sizeof(rf->why), "media.flush not sent: %s", g_strerror(-rc));
		flush_again_or_give_up(rf);
	}
}

static int handle_tender_close(struct controller *c, const struct request *req, json_t **result,
                               GError **err)
{
	(void)result;
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *tender = msg_read_id(&r, "tender", true);
	int64_t wait_s =
	    msg_read_int(&r, "wait_s", false, 0, CLOSE_WAIT_MAX_S, CLOSE_WAIT_DEFAULT_S);
	bool anyway = msg_read_bool(&r, "seal_anyway", false, false);
	const char *reason = msg_read_string(&r, "reason", false, SEAL_REASON_MAX);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (anyway && (!reason || !*reason || !text_clean(reason))) {
		g_set_error_literal(err, REQUEST_ERROR, REQUEST_ERROR_INVALID,
		                    "member 'args.reason': sealing anyway needs a reason: say why "
		                    "in one line of plain text");
		return -EINVAL;
	}
	if (!anyway && reason) {
		g_set_error_literal(err, REQUEST_ERROR, REQUEST_ERROR_INVALID,
		                    "member 'args.reason': a reason goes with seal_anyway only");
		return -EINVAL;
	}
	struct closing *w = g_hash_table_lookup(c->archives->waiting, tender);
	if (w && !anyway) {
		*result = waiting_result(w); /* still waiting: say so again */
		return 0;
	}
	if (w) {
		if (w->seal_anyway || w->req || w->finishing) {
			g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
			            "tender %s is being sealed already", tender);
			return -EBUSY;
		}
		w->seal_anyway = true;
		w->reason = g_strdup(reason);
		g_strlcpy(w->anyway_by, req->requester, sizeof(w->anyway_by));
		w->req = request_defer(req);
		if (w->poll_timer) {
			g_source_remove(w->poll_timer);
			w->poll_timer = 0;
		}
		w->deadline_us = clock_now_us(); /* questions in flight end at their answer */
		closing_check(w);
		return REQUEST_PENDING;
	}
	struct state_tender t;
	int rc = state_tender_get(c->state, tender, &t, err);
	if (rc != 0)
		return rc;
	struct archive *a;
	if ((rc = archives_get(c, tender, &a, err)) != 0)
		return rc;
	GPtrArray *rooms = g_ptr_array_new_with_free_func(g_free);
	if ((rc = route_tender_rooms(c->state, tender, rooms, err)) != 0 ||
	    (rc = state_tender_set_state(c->state, tender, "closing", err)) != 0) {
		g_ptr_array_free(rooms, TRUE);
		return rc;
	}
	/* the session's last open tender closing opens the seat map's seal; a tender
	 * closing while it is still shut says so in its archive (the record reaches the
	 * archives of the tenders closing later) */
	int sealed = release_if_due(c, t.session, clock_now_us(), false);
	if (sealed)
		archives_event(c, tender, clock_now_us(), "draw.withheld", "controller",
		               json_pack("{s:s, s:i, s:s}", "session", t.session, "not_checked_in",
		                         sealed, "reason",
		                         "the seat map is sealed until check-in: the full draw "
		                         "record goes to the archives of the session's tenders "
		                         "still open when it is released"));
	struct closing *cl = g_new0(struct closing, 1);
	cl->c = c;
	g_strlcpy(cl->tender, tender, sizeof(cl->tender));
	g_strlcpy(cl->requester, req->requester, sizeof(cl->requester));
	cl->alerted = g_ptr_array_new_with_free_func(g_free);
	if (anyway) {
		cl->seal_anyway = true;
		cl->reason = g_strdup(reason);
		g_strlcpy(cl->anyway_by, req->requester, sizeof(cl->anyway_by));
	}
	cl->started_us = cl->close_us = clock_now_us();
	cl->deadline_us = cl->started_us + wait_s * G_USEC_PER_SEC;
	cl->segments_before = segment_count(c, tender);
	cl->req = request_defer(req);
	cl->rooms = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < rooms->len; i++) {
		struct room_flush *rf = g_new0(struct room_flush, 1);
		rf->cl = cl;
		g_strlcpy(rf->room, rooms->pdata[i], sizeof(rf->room));
		g_strlcpy(rf->why, wait_s ? "no answer" : "not asked (wait_s = 0)",
		          sizeof(rf->why));
		rf->done = wait_s == 0;
		g_ptr_array_add(cl->rooms, rf);
	}
	g_ptr_array_free(rooms, TRUE);
	/* Ask every room first: a room answering at once must not seal before the others
	 * are asked. */
	cl->asking = true;
	for (guint i = 0; i < cl->rooms->len; i++)
		if (!((struct room_flush *)cl->rooms->pdata[i])->done)
			flush_ask(cl->rooms->pdata[i]);
	cl->asking = false;
	closing_check(cl);
	return REQUEST_PENDING;
}

/* g_ptr_array_sort hands the comparison pointers to the elements. */
static gint name_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int handle_archives_list(struct controller *c, const struct request *req, json_t **result,
                                GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	json_t *list = json_array();
	GDir *dir = g_dir_open(c->cfg.archive_dir, 0, NULL);
	const char *name;
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	while (dir && (name = g_dir_read_name(dir)))
		if (g_str_has_suffix(name, ".evarc"))
			g_ptr_array_add(names, g_strndup(name, strlen(name) - 6));
	if (dir)
		g_dir_close(dir);
	g_ptr_array_sort(names, name_cmp);
	for (guint i = 0; i < names->len; i++) {
		const char *n = names->pdata[i];
		char *path = archives_path(c, n);
		struct stat sb;
		json_t *e = json_pack("{s:s, s:s}", "name", n, "path", path);
		if (stat(path, &sb) == 0)
			json_object_set_new(e, "bytes", json_integer((json_int_t)sb.st_size));
		struct archive *a = g_hash_table_lookup(c->archives->open, n);
		int64_t *sealed = g_hash_table_lookup(c->archives->sealed, n);
		bool ro = stat(path, &sb) == 0 && !(sb.st_mode & 0222);
		json_object_set_new(e, "state", json_string(a ? "open" : ro ? "sealed" : "closed"));
		json_object_set_new(e, "retention", json_boolean(g_str_has_prefix(n, "site-")));
		if (c->archive_describe)
			c->archive_describe(c, n, e);
		if (a)
			json_object_set_new(e, "tree_size",
			                    json_integer((json_int_t)archive_tree_size(a)));
		if (sealed && *sealed)
			json_object_set_new(e, "sealed_us", json_integer(*sealed));
		json_array_append_new(list, e);
		g_free(path);
	}
	g_ptr_array_free(names, TRUE);
	*result = json_pack("{s:s, s:o}", "dir", c->cfg.archive_dir, "archives", list);
	return 0;
}

const struct request_handler archives_request_handlers[] = {
    {"tender.close", ROLE_OPERATOR, handle_tender_close, true},
    {"archives.list", ROLE_OPERATOR | ROLE_AUDITOR, handle_archives_list, false},
    {NULL, 0, NULL, false},
};

/* After a restart: TENDER (closing) waits again as its archive's last tender.seal_waiting
 * event BODY (by SOURCE) says: the same close time, the rooms it waited for. */
static void closing_resume(struct controller *c, const char *tender, const char *source,
                           json_t *body)
{
	struct closing *cl = g_new0(struct closing, 1);
	cl->c = c;
	g_strlcpy(cl->tender, tender, sizeof(cl->tender));
	g_strlcpy(cl->requester, source, sizeof(cl->requester));
	cl->close_us = json_integer_value(json_object_get(body, "close_us"));
	cl->started_us = cl->deadline_us = clock_now_us();
	cl->segments_before = segment_count(c, tender);
	cl->rooms = g_ptr_array_new_with_free_func(g_free);
	cl->alerted = g_ptr_array_new_with_free_func(g_free);
	cl->resumed = cl->waiting = true;
	size_t i, j;
	json_t *v, *r;
	json_array_foreach(json_object_get(body, "waiting_for"), i, v)
	{
		const char *venue = json_string_value(json_object_get(v, "venue"));
		if (!venue || !id_valid(venue))
			continue;
		g_ptr_array_add(cl->alerted, g_strdup(venue));
		json_array_foreach(json_object_get(v, "rooms"), j, r)
		{
			const char *room = json_string_value(json_object_get(r, "room"));
			if (!room || !id_valid(room))
				continue;
			struct room_flush *rf = g_new0(struct room_flush, 1);
			rf->cl = cl;
			rf->done = true;
			g_strlcpy(rf->room, room, sizeof(rf->room));
			g_strlcpy(rf->venue, venue, sizeof(rf->venue));
			g_strlcpy(rf->why, "not asked again yet since the controller restarted",
			          sizeof(rf->why));
			g_ptr_array_add(cl->rooms, rf);
		}
	}
	if (cl->rooms->len == 0) {
		closing_abandon(cl);
		return;
	}
	log_warnx("tender %s: still closing after a restart: its seal waits again for %u "
	          "room(s) of secondary venues (close time as before)",
	          tender, cl->rooms->len);
	g_hash_table_insert(c->archives->waiting, cl->tender, cl);
	cl->poll_timer = g_timeout_add(SEAL_WAIT_POLL_MS, on_seal_wait_poll, cl);
}

static gboolean on_seal_resume(gpointer user)
{
	struct controller *c = user;
	c->archives->resume_timer = 0;
	GDir *dir = g_dir_open(c->cfg.archive_dir, 0, NULL);
	const char *name;
	while (dir && (name = g_dir_read_name(dir))) {
		if (!g_str_has_suffix(name, ".evarc") || g_str_has_prefix(name, "site-"))
			continue;
		char *tender = g_strndup(name, strlen(name) - 6);
		struct state_tender t;
		GError *err = NULL;
		if (!id_valid(tender) || g_hash_table_contains(c->archives->waiting, tender) ||
		    state_tender_get(c->state, tender, &t, &err) != 0 ||
		    strcmp(t.state, "closing") != 0) {
			g_clear_error(&err);
			g_free(tender);
			continue;
		}
		char *path = archives_path(c, tender), *why = NULL;
		struct archive_reader *rd = NULL;
		sqlite3_stmt *st = NULL;
		json_t *body = NULL;
		char source[64] = "";
		if (archive_reader_open(path, &rd, &why) == 0 &&
		    sqlite3_prepare_v2(archive_reader_db(rd),
		                       "SELECT source, body, (SELECT count(*) FROM events WHERE kind = "
		                       "'tender.closed') FROM events WHERE kind = "
		                       "'tender.seal_waiting' ORDER BY id DESC LIMIT 1",
		                       -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 2) == 0) {
			g_strlcpy(source, (const char *)sqlite3_column_text(st, 0), sizeof(source));
			body = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
		}
		sqlite3_finalize(st);
		archive_reader_free(rd);
		if (json_is_object(body))
			closing_resume(c, tender, source, body);
		json_decref(body);
		g_free(why);
		g_free(path);
		g_free(tender);
	}
	if (dir)
		g_dir_close(dir);
	return G_SOURCE_REMOVE;
}

json_t *archives_seal_waiting(struct controller *c, const char *venue)
{
	json_t *out = json_array();
	if (!c->archives)
		return out;
	GList *ids = g_list_sort(g_hash_table_get_keys(c->archives->waiting), (GCompareFunc)strcmp);
	for (GList *k = ids; k; k = k->next) {
		json_t *w = waiting_json(g_hash_table_lookup(c->archives->waiting, k->data));
		size_t i;
		json_t *v;
		json_array_foreach(w, i, v)
		{
			if (strcmp(json_string_value(json_object_get(v, "venue")), venue) == 0) {
				json_array_append_new(out, json_string(k->data));
				break;
			}
		}
		json_decref(w);
	}
	g_list_free(ids);
	return out;
}
