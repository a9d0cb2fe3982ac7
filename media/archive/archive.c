#include "archive.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cosignature.h"
#include "hex.h"
#include "key_history.h"
#include "leaf.h"
#include "merkle.h"

extern const char archive_schema_sql[];
extern const char archive_key_history_sql[];

/* How long a write waits for a reader (the auditor tool) to let go of the file before it
 * returns -EAGAIN: short, since the writer is the controller's main loop. */
#define BUSY_TIMEOUT_MS 200

enum stmt_id { ST_EVENT, ST_GAP, ST_SEGMENT, ST_CHUNK, ST_COUNT };

static const char *const stmt_sql[ST_COUNT] = {
    [ST_EVENT] = "INSERT INTO events (leaf, leaf_hash, time_us, kind, source, body) "
                 "VALUES (?, ?, ?, ?, ?, ?)",
    [ST_GAP] = "INSERT INTO gaps (leaf, leaf_hash, stream, from_us, to_us, reason) "
               "VALUES (?, ?, ?, ?, ?, ?)",
    [ST_SEGMENT] = "INSERT INTO segments (leaf, leaf_hash, stream, seq, start_us, end_us, "
                   "size, sha256, container) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [ST_CHUNK] = "INSERT INTO segment_chunks (id, segment, idx, data) "
                 "VALUES (?1 * 1048576 + ?2, ?1, ?2, ?3)",
};

struct archive {
	sqlite3 *db;
	sqlite3_stmt *stmt[ST_COUNT];
	char *path;
	char *tender;
	int version;          /* the file's format version: checkpoints are written in its form */
	char *origin;         /* version 2: the checkpoints' origin, SITE/evalroom/TENDER */
	uint8_t prev[32];     /* version 2: SHA-256 of the last checkpoint's body, or zeros */
	uint8_t key_hash[32]; /* version 2: SHA-256 of the signer's raw public key */
	struct archive_signer *signer2; /* version 2: a second key signing beside it, or NULL */
	uint8_t key2_hash[32];          /* SHA-256 of its DER SPKI */
	struct archive_signer *signer;
	struct merkle_builder tree; /* O(log n) roots at every checkpoint */
	uint64_t checkpointed;
	int sealed;
	int busy;                        /* a segment writer holds the open transaction */
	int batch;                       /* a group commit is open (archive_batch_begin) */
	struct merkle_builder pre_batch; /* the tree as it was when the batch began */
	int batch_lost;                  /* a batch rolled back by an implicit commit, or 0 */
	int wb_fd; /* the file, for writeback hints only; closed after the database (see below) */
	int64_t unflushed; /* segment bytes put in the open batch since its last early flush */
	GMutex flush_lock;
	GCond flush_cond;
	bool flushing; /* an early flush of wb_fd is under way on the helper thread */
	archive_checkpoint_fn on_checkpoint;
	void *on_checkpoint_user;
	struct { /* a checkpoint made inside a transaction, announced after its commit */
		int pending;
		uint64_t size;
		uint8_t root[32];
		int64_t time_us;
	} announce;
	char err[512];
};

struct archive_segment_writer {
	struct archive *a;
	struct archive_segment_info info;
	char *stream;
	int64_t segment_id;
	int64_t written;
	int64_t next_idx;
	uint8_t leaf_hash[32];
	EVP_MD_CTX *sha;
	uint8_t *buf;
	size_t buf_len;
};

static void set_err(struct archive *a, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void set_err(struct archive *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->err, sizeof(a->err), fmt, ap);
	va_end(ap);
}

/* -EAGAIN when a reader holds the file (nothing is wrong: try again later), else -EIO. */
static int failure(struct archive *a)
{
	int code = sqlite3_errcode(a->db) & 0xff;

	return code == SQLITE_BUSY || code == SQLITE_LOCKED ? -EAGAIN : -EIO;
}

/* How the writer keeps a file (create and reopen alike). A rollback journal kept between
 * transactions (PERSIST: its header zeroed and synced at commit, so a committed transaction
 * can never come back as a hot journal) and synchronous=FULL: every commit is durable when
 * it returns. The statement journal of each segment's savepoint (4 pages of 64 KiB copied
 * per segment) stays in memory: it only ever undoes a segment inside the running process,
 * a crash is recovered from the rollback journal alone, and written to a temporary file it
 * cost a quarter of the segment's bytes again in writes. */
#define WRITER_PRAGMAS                                                                        \
	"PRAGMA journal_mode=PERSIST; PRAGMA journal_size_limit=4194304; "                    \
	"PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY;"

static int sql_fail(struct archive *a, const char *what)
{
	set_err(a, "archive %s: %s: sqlite: %s", a->path, what, sqlite3_errmsg(a->db));
	return failure(a);
}

static int exec(struct archive *a, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(a->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		set_err(a, "archive %s: sqlite: %s", a->path, msg ? msg : "?");
		sqlite3_free(msg);
		return failure(a);
	}
	return 0;
}

/* A new or re-permissioned file is durable only once its directory entry is. */
static int fsync_dir(struct archive *a)
{
	char *dir = g_path_get_dirname(a->path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0 || fsync(fd) != 0) {
		rc = -errno;
		set_err(a, "archive %s: fsync directory %s: %s", a->path, dir, g_strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	g_free(dir);
	return rc;
}

const char *archive_errmsg(const struct archive *a)
{
	return a->err;
}

uint64_t archive_tree_size(const struct archive *a)
{
	return a->tree.size;
}

void archive_tree_root(const struct archive *a, uint8_t root[32])
{
	merkle_builder_root(&a->tree, root);
}

static int ready(struct archive *a)
{
	if (a->sealed) {
		set_err(a, "archive %s: sealed, no further writes", a->path);
		return -EROFS;
	}
	if (a->busy) {
		set_err(a, "archive %s: a segment is being written", a->path);
		return -EBUSY;
	}
	return 0;
}

/* Rolls the open batch back: its records and leaves are gone, as if never appended. */
static void batch_rollback(struct archive *a)
{
	sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
	a->tree = a->pre_batch;
	a->batch = 0;
}

/* Anything but a segment commits the open batch first: it must be durable when its own call
 * returns, and it must not depend on a batch that could still fail. A batch that cannot commit
 * is rolled back and reported by the next archive_batch_commit(). */
static int settle(struct archive *a)
{
	int rc;

	if (!a->batch)
		return 0;
	rc = exec(a, "COMMIT");
	if (rc == 0)
		a->batch = 0;
	if (rc == -EAGAIN)
		return rc; /* a reader: the batch stays, and this record waits too */
	if (rc) {
		batch_rollback(a);
		a->batch_lost = rc;
	}
	return 0;
}

/* ready() for a record that is committed on its own (not a segment): settles the batch. */
static int ready_alone(struct archive *a)
{
	int rc = ready(a);

	if (rc == 0)
		rc = settle(a);
	return rc;
}

/* Early flush of a large batch. A batch's commit waits for the disk to make everything
 * written since the last commit durable; for a backlog's batch of tens of MiB that wait
 * (the first of the commit's fsyncs, which flushes the disk's cache) was the largest part of
 * the commit, with nothing else happening meanwhile. So once a batch has put this many bytes
 * into the file since its last early flush, a helper thread fdatasyncs the file on the hint
 * descriptor while the caller goes on with the next segments, and the commit finds little
 * left to flush. Small batches (the usual live load) never reach it.
 * This never weakens anything: pages SQLite has written may reach the disk at any moment
 * anyway, and the commit's own fsyncs, in SQLite's order, are unchanged, so a crash leaves what
 * it would have left. A write error the early flush meets is still reported to SQLite's own
 * descriptor at the commit's fsync (Linux reports a writeback error once to each open file
 * description of the file). The descriptor is closed only once the flush has returned. */
#define EARLY_FLUSH_BYTES (8 * 1024 * 1024)

static void early_flush_run(gpointer data, gpointer user)
{
	struct archive *a = data;

	(void)user;
	fdatasync(a->wb_fd); /* a hint: its result is the commit's to report */
	g_mutex_lock(&a->flush_lock);
	a->flushing = false;
	g_cond_signal(&a->flush_cond);
	g_mutex_unlock(&a->flush_lock);
}

/* *POOL, a pool of one thread running FN, made on first use (ONCE guards it); NULL if it cannot
 * be had. */
static GThreadPool *one_thread_pool(GThreadPool **pool, gsize *once, GFunc fn)
{
	if (g_once_init_enter(once)) {
		*pool = g_thread_pool_new(fn, NULL, 1, FALSE, NULL);
		g_once_init_leave(once, 1);
	}
	return *pool;
}

/* One flushing thread for the process (every archive's early flushes take turns). */
static GThreadPool *flush_pool(void)
{
	static GThreadPool *pool;
	static gsize once;

	return one_thread_pool(&pool, &once, early_flush_run);
}

/* Starts an early flush of A unless one is under way; true when one was started. */
static bool early_flush_start(struct archive *a)
{
	GThreadPool *pool = flush_pool();
	bool start;

	if (!pool)
		return false;
	g_mutex_lock(&a->flush_lock);
	start = !a->flushing;
	a->flushing = true;
	g_mutex_unlock(&a->flush_lock);
	if (start && !g_thread_pool_push(pool, a, NULL)) {
		g_mutex_lock(&a->flush_lock);
		a->flushing = false;
		g_mutex_unlock(&a->flush_lock);
		return false;
	}
	return start;
}

static void early_flush_wait(struct archive *a)
{
	g_mutex_lock(&a->flush_lock);
	while (a->flushing)
		g_cond_wait(&a->flush_cond, &a->flush_lock);
	g_mutex_unlock(&a->flush_lock);
}

/* Inside a batch SQLite's page cache spills the segment into the file as it goes; asking the
 * kernel to start writing those pages now lets the disk work while the next segment is hashed,
 * so the batch's fsync finds little left to do; past EARLY_FLUSH_BYTES (BYTES more were just
 * put in the batch) the flush is started too. Hints only: durability is still the commit's. */
static void start_writeback(struct archive *a, int64_t bytes)
{
	if (a->wb_fd < 0)
		a->wb_fd = open(a->path, O_RDONLY | O_CLOEXEC);
	if (a->wb_fd < 0)
		return;
	sync_file_range(a->wb_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	a->unflushed += bytes;
	if (a->unflushed >= EARLY_FLUSH_BYTES && early_flush_start(a))
		a->unflushed = 0;
}

/* Closing any descriptor of a file drops every POSIX lock this process holds on it, SQLite's
 * included, so the hint descriptor is closed only once the database is, and once no early
 * flush uses it. */
static void close_db(struct archive *a)
{
	sqlite3_close(a->db);
	a->db = NULL;
	early_flush_wait(a);
	if (a->wb_fd >= 0)
		close(a->wb_fd);
	a->wb_fd = -1;
}

static int prepare_all(struct archive *a)
{
	int i;

	for (i = 0; i < ST_COUNT; i++)
		if (sqlite3_prepare_v3(a->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                       &a->stmt[i], NULL) != SQLITE_OK)
			return sql_fail(a, "prepare");
	return 0;
}

static struct archive *archive_alloc(const char *path, struct archive_signer *signer)
{
	struct archive *a = g_new0(struct archive, 1);

	a->path = g_strdup(path);
	a->signer = signer;
	a->wb_fd = -1;
	g_mutex_init(&a->flush_lock);
	g_cond_init(&a->flush_cond);
	merkle_builder_init(&a->tree);
	return a;
}

void archive_free(struct archive *a)
{
	int i;

	if (!a)
		return;
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(a->stmt[i]);
	close_db(a);
	g_mutex_clear(&a->flush_lock);
	g_cond_clear(&a->flush_cond);
	g_free(a->tender);
	g_free(a->origin);
	g_free(a->path);
	g_free(a);
}

/* Version 2 checkpoints name the key that signs them: SHA-256 of its raw public key. */
static int key_hash_of(struct archive *a)
{
	uint8_t raw[32];

	if (archive_signer_raw_public(a->signer, raw) != 0) {
		set_err(a, "archive %s: the signing key is not an Ed25519 key", a->path);
		return -EINVAL;
	}
	checkpoint_sha256(raw, sizeof(raw), a->key_hash);
	if (a->signer2 && archive_signer_spki_sha256(a->signer2, a->key2_hash) != 0) {
		set_err(a, "archive %s: the second signing key is unusable", a->path);
		return -EINVAL;
	}
	return 0;
}

static int open_db(struct archive *a, int flags)
{
	if (sqlite3_open_v2(a->path, &a->db, flags, NULL) != SQLITE_OK)
		return sql_fail(a, "open");
	sqlite3_extended_result_codes(a->db, 1);
	/* A controller under load may briefly meet a reader (the auditor tool) holding a lock. */
	sqlite3_busy_timeout(a->db, BUSY_TIMEOUT_MS);
	return 0;
}

int archive_create(const char *path, const struct archive_tender *tender,
                   struct archive_signer *signer, struct archive **out)
{
	return archive_create_signed(path, tender, signer, NULL, out);
}

int archive_create_signed(const char *path, const struct archive_tender *tender,
                          struct archive_signer *signer, struct archive_signer *signer2,
                          struct archive **out)
{
	return archive_create_keyed(path, tender, signer, signer2, NULL, out);
}

static void bind_leaf(struct archive *a, sqlite3_stmt *st, GByteArray *data, uint8_t hash[32]);
static int insert_leaf_row(struct archive *a, sqlite3_stmt *st, const uint8_t hash[32],
                           const char *what);

/* Inserts entries FROM.. of H as key_history rows, each a leaf (inside the caller's
 * transaction). */
static int key_rows_insert(struct archive *a, const struct key_history *h, guint from)
{
	sqlite3_stmt *st;
	int rc = 0;

	if (sqlite3_prepare_v2(a->db,
	                       "INSERT INTO key_history (leaf, leaf_hash, entry, signature, "
	                       "signature2) VALUES (?, ?, ?, ?, ?)",
	                       -1, &st, NULL) != SQLITE_OK)
		return sql_fail(a, "key history");
	for (guint i = from; rc == 0 && i < key_history_length(h); i++) {
		const struct key_entry *e = key_history_entry(h, i);
		uint8_t hash[32];

		bind_leaf(a, st,
		          key_history_leaf_data(e->text, e->sig->data, e->sig->len,
		                                e->sig2 ? e->sig2->data : NULL,
		                                e->sig2 ? e->sig2->len : 0),
		          hash);
		sqlite3_bind_text(st, 3, e->text, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 4, e->sig->data, (int)e->sig->len, SQLITE_STATIC);
		if (e->sig2)
			sqlite3_bind_blob(st, 5, e->sig2->data, (int)e->sig2->len, SQLITE_STATIC);
		rc = insert_leaf_row(a, st, hash, "key history");
	}
	sqlite3_finalize(st);
	return rc;
}

/* 0 when SIGNER is the current key of H (or H holds no key), else -EINVAL with the error set. */
static int signer_is_current(struct archive *a, struct archive_signer *signer,
                             const struct key_history *h)
{
	const struct key_window *cur = h ? key_history_current(h) : NULL;
	uint8_t raw[32];
	char id[KEY_ID_HEX];

	if (!cur)
		return 0;
	if (archive_signer_raw_public(signer, raw) == 0 && memcmp(raw, cur->raw, 32) == 0)
		return 0;
	key_id_hex(raw, id);
	set_err(a, "archive %s: the signing key %s is not the current key of the key history (%s)",
	        a->path, id, cur->id);
	return -EINVAL;
}

/* 0 when SIGNER2 is the current second key of H, or H has no entry about the second key, or
 * there is no second key; else -EINVAL with the error set. */
static int second_is_current(struct archive *a, struct archive_signer *signer2,
                             const struct key_history *h)
{
	const struct key_window *cur = h ? key_history_slot_current(h, KEY_SLOT_SECOND) : NULL;
	uint8_t id[32];
	char hex[KEY_ID_HEX];

	if (!cur || !signer2)
		return 0;
	if (archive_signer_spki_sha256(signer2, id) == 0 && memcmp(id, cur->idh, 32) == 0)
		return 0;
	hex_encode(id, 32, hex);
	set_err(a,
	        "archive %s: the second signing key %s is not the current second key of the key "
	        "history (%s)",
	        a->path, hex, cur->id);
	return -EINVAL;
}

int archive_create_keyed(const char *path, const struct archive_tender *tender,
                         struct archive_signer *signer, struct archive_signer *signer2,
                         const struct key_history *history, struct archive **out)
{
	static const char *const meta_sql =
	    "INSERT INTO meta (id, leaf, leaf_hash, tender, name, session, created_us, "
	    "signing_pubkey, site, signing_pubkey2) VALUES (1, 0, ?, ?, ?, ?, ?, ?, ?, ?)";
	const char *bad = leaf_check_tender(tender);
	struct archive *a;
	sqlite3_stmt *st = NULL;
	GByteArray *data;
	uint8_t hash[32];
	char *pem, pragmas[320];
	int fd, rc;

	if (bad)
		return -EINVAL;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	close(fd);
	a = archive_alloc(path, signer);
	a->tender = g_strdup(tender->tender);
	a->version = ARCHIVE_FORMAT_VERSION;
	a->origin =
	    checkpoint_origin(tender->site ? tender->site : ARCHIVE_DEFAULT_SITE, tender->tender);
	a->signer2 = signer2;
	rc = key_hash_of(a);
	if (rc == 0)
		rc = signer_is_current(a, signer, history);
	if (rc == 0)
		rc = second_is_current(a, signer2, history);
	if (rc)
		goto err_free;
	rc = open_db(a, SQLITE_OPEN_READWRITE);
	if (rc)
		goto err_free;
	/* Page size first: it only applies before the first table. A rollback journal, not WAL:
	 * pages appended past the end of the file (all media) are not journaled, so each byte of a
	 * segment is written once; WAL would write it twice (log, then checkpoint). */
	snprintf(pragmas, sizeof(pragmas),
	         "PRAGMA page_size=65536; PRAGMA application_id=%d; PRAGMA user_version=%d; %s",
	         ARCHIVE_APPLICATION_ID, ARCHIVE_FORMAT_VERSION, WRITER_PRAGMAS);
	rc = exec(a, pragmas);
	if (rc)
		goto err_free;
	rc = exec(a, "BEGIN IMMEDIATE");
	if (rc)
		goto err_free;
	rc = exec(a, archive_schema_sql);
	if (rc == 0)
		rc = exec(a, archive_key_history_sql);
	if (rc)
		goto err_rollback;
	data = leaf_tender_data(tender);
	merkle_leaf_hash(data->data, data->len, hash);
	g_byte_array_unref(data);
	pem = archive_signer_public_pem(signer);
	if (!pem || sqlite3_prepare_v2(a->db, meta_sql, -1, &st, NULL) != SQLITE_OK) {
		g_free(pem);
		rc = sql_fail(a, "meta");
		goto err_rollback;
	}
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, tender->tender, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, tender->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, tender->session, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, tender->created_us);
	sqlite3_bind_text(st, 6, pem, -1, g_free);
	sqlite3_bind_text(st, 7, tender->site ? tender->site : ARCHIVE_DEFAULT_SITE, -1,
	                  SQLITE_STATIC);
	if (signer2)
		sqlite3_bind_text(st, 8, archive_signer_public_pem(signer2), -1, g_free);
	else
		sqlite3_bind_null(st, 8);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rc = sql_fail(a, "meta");
		goto err_stmt;
	}
	sqlite3_finalize(st);
	merkle_builder_add(&a->tree, hash);
	rc = history ? key_rows_insert(a, history, 0) : 0;
	if (rc == 0)
		rc = exec(a, "COMMIT");
	if (rc)
		goto err_rollback;
	rc = fsync_dir(a);
	if (rc)
		goto err_free;
	rc = prepare_all(a);
	if (rc)
		goto err_free;
	*out = a;
	return 0;

err_stmt:
	sqlite3_finalize(st);
err_rollback:
	sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
err_free:
	archive_free(a);
	unlink(path);
	return rc;
}

static int seal_finish(struct archive *a);
static int checkpoint_write(struct archive *a, int64_t time_us, int64_t sealed_us);

static int load_leaves(struct archive *a)
{
	static const char *const sql =
	    "SELECT leaf, leaf_hash FROM meta UNION ALL SELECT leaf, leaf_hash FROM draw "
	    "UNION ALL SELECT leaf, leaf_hash FROM events UNION ALL "
	    "SELECT leaf, leaf_hash FROM segments UNION ALL SELECT leaf, leaf_hash FROM gaps "
	    "ORDER BY 1";
	/* Version 3: the key history's rows are leaves too. */
	static const char *const sql3 =
	    "SELECT leaf, leaf_hash FROM meta UNION ALL SELECT leaf, leaf_hash FROM draw "
	    "UNION ALL SELECT leaf, leaf_hash FROM events UNION ALL "
	    "SELECT leaf, leaf_hash FROM segments UNION ALL SELECT leaf, leaf_hash FROM gaps "
	    "UNION ALL SELECT leaf, leaf_hash FROM key_history ORDER BY 1";
	sqlite3_stmt *st;
	int64_t expect = 0;
	int rc = 0;

	if (sqlite3_prepare_v2(a->db, a->version >= 3 ? sql3 : sql, -1, &st, NULL) != SQLITE_OK)
		return sql_fail(a, "load leaves");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_int64(st, 0) != expect || sqlite3_column_bytes(st, 1) != 32) {
			set_err(a, "archive %s: leaf %" G_GINT64_FORMAT " missing or malformed",
			        a->path, expect);
			sqlite3_finalize(st);
			return -EBADMSG;
		}
		merkle_builder_add(&a->tree, sqlite3_column_blob(st, 1));
		expect++;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sql_fail(a, "load leaves");
}

int archive_open(const char *path, struct archive_signer *signer, struct archive **out)
{
	return archive_open_signed(path, signer, NULL, out);
}

int archive_open_signed(const char *path, struct archive_signer *signer,
                        struct archive_signer *signer2, struct archive **out)
{
	return archive_open_keyed(path, signer, signer2, NULL, 0, out);
}

/* The key history rows of A (version 3), checked as a history; *OUT NULL for an earlier
 * version. */
static int key_rows_load(struct archive *a, struct key_history **out)
{
	char *why = NULL;
	int rc;

	*out = NULL;
	if (a->version < 3)
		return 0;
	rc = key_history_read_db(a->db, out, &why);
	if (rc) {
		set_err(a, "archive %s: %s", a->path, why);
		g_free(why);
	}
	return rc;
}

/* Decides whether SIGNER may go on writing A, whose meta records META_PEM: it must be the key
 * the archive's own history (ROWS) ends with, or the meta key without one; or, with the
 * controller's history H holding ROWS as its beginning, H's current key (the entries after
 * ROWS are then appended: *APPEND = their first index). */
static int key_continue(struct archive *a, struct archive_signer *signer, const char *meta_pem,
                        const struct key_history *rows, const struct key_history *h, guint *append)
{
	guint n = rows ? key_history_length(rows) : 0;
	const struct key_window *cur = rows ? key_history_current(rows) : NULL;
	uint8_t raw[32];
	char *pem;
	int same;

	*append = G_MAXUINT;
	if (h && key_history_length(h) > n && a->version >= 2) {
		for (guint i = 0; i < n; i++)
			if (strcmp(key_history_entry(h, i)->text,
			           key_history_entry(rows, i)->text)) {
				set_err(
				    a,
				    "archive %s: its key history differs from the controller's at "
				    "entry %u",
				    a->path, i);
				return -EINVAL;
			}
		*append = n;
		return signer_is_current(a, signer, h);
	}
	if (cur)
		same = archive_signer_raw_public(signer, raw) == 0 && !memcmp(raw, cur->raw, 32);
	else {
		pem = archive_signer_public_pem(signer);
		same = pem && g_strcmp0(pem, meta_pem) == 0;
		g_free(pem);
	}
	if (!same) {
		set_err(a, "archive %s: signing key differs from the one recorded in %s", a->path,
		        cur ? "its key history" : "meta");
		return -EINVAL;
	}
	return 0;
}

/* Appends entries FROM.. of H to A as key_history rows (a version 2 file becomes version 3
 * first: the table is added) and signs a checkpoint with the current key, in one transaction:
 * the rotation and what the new key signs land together. */
static int key_rows_append(struct archive *a, const struct key_history *h, guint from,
                           int64_t now_us)
{
	struct merkle_builder before = a->tree;
	uint8_t prev_before[32];
	int rc;

	memcpy(prev_before, a->prev, 32);
	rc = exec(a, "BEGIN IMMEDIATE");
	if (rc)
		return rc;
	if (a->version < 3) {
		rc = exec(a, archive_key_history_sql);
		if (rc == 0)
			rc = exec(a, "PRAGMA user_version=3");
	}
	if (rc == 0)
		rc = key_rows_insert(a, h, from);
	if (rc == 0)
		rc = checkpoint_write(a, now_us, -1);
	if (rc == 0)
		rc = exec(a, "COMMIT");
	if (rc) {
		sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
		a->tree = before;
		memcpy(a->prev, prev_before, 32);
		a->announce.pending = 0;
		return rc;
	}
	a->version = 3;
	return 0;
}

int archive_open_keyed(const char *path, struct archive_signer *signer,
                       struct archive_signer *signer2, const struct key_history *history,
                       int64_t now_us, struct archive **out)
{
	struct key_history *rows = NULL;
	guint append = G_MAXUINT;
	char *meta_pem = NULL;
	struct archive *a;
	sqlite3_stmt *st = NULL;
	int rc;

	if (access(path, F_OK) != 0)
		return -errno;
	a = archive_alloc(path, signer);
	rc = open_db(a, SQLITE_OPEN_READWRITE);
	if (rc)
		goto err_free;
	rc = exec(a, WRITER_PRAGMAS);
	if (rc)
		goto err_free;
	if (sqlite3_prepare_v2(a->db,
	                       "SELECT (SELECT application_id FROM pragma_application_id), "
	                       "(SELECT user_version FROM pragma_user_version)",
	                       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int(st, 0) != ARCHIVE_APPLICATION_ID ||
	    sqlite3_column_int(st, 1) < ARCHIVE_FORMAT_VERSION_MIN ||
	    sqlite3_column_int(st, 1) > ARCHIVE_FORMAT_VERSION) {
		set_err(a, "archive %s: wrong application id or format version", path);
		rc = -EBADMSG;
		goto err_stmt;
	}
	/* An open file keeps the format it was created in: a version 1 tender begun before an
	 * upgrade is finished in version 1 (its checkpoints in that form). */
	a->version = sqlite3_column_int(st, 1);
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(
	        a->db,
	        a->version >= 2
	            ? "SELECT tender, sealed_us, signing_pubkey, "
	              "(SELECT coalesce(max(tree_size), 0) FROM checkpoints), site, "
	              "(SELECT body FROM checkpoints ORDER BY id DESC LIMIT 1), signing_pubkey2 "
	              "FROM meta"
	            : "SELECT tender, sealed_us, signing_pubkey, "
	              "(SELECT coalesce(max(tree_size), 0) FROM checkpoints), NULL, NULL, NULL "
	              "FROM meta",
	        -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		set_err(a, "archive %s: not an evalroom archive (%s)", path, sqlite3_errmsg(a->db));
		rc = -EBADMSG;
		goto err_stmt;
	}
	if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
		/* A crash between the sealing commit and the chmod: finish it, then refuse. */
		sqlite3_finalize(st);
		st = NULL;
		rc = seal_finish(a);
		set_err(a, "archive %s: sealed", path);
		rc = rc ? rc : -EROFS;
		goto err_stmt;
	}
	meta_pem = g_strdup((const char *)sqlite3_column_text(st, 2));
	rc = key_rows_load(a, &rows);
	if (rc == 0)
		rc = key_continue(a, signer, meta_pem, rows, history, &append);
	if (rc)
		goto err_stmt;
	a->tender = g_strdup((const char *)sqlite3_column_text(st, 0));
	a->checkpointed = (uint64_t)sqlite3_column_int64(st, 3);
	if (a->version >= 2) {
		const char *site = (const char *)sqlite3_column_text(st, 4);

		if (!site || !leaf_tender_id_valid(site)) {
			set_err(a, "archive %s: meta.site is missing or malformed", path);
			rc = -EBADMSG;
			goto err_stmt;
		}
		a->origin = checkpoint_origin(site, a->tender);
		if (sqlite3_column_type(st, 5) == SQLITE_TEXT)
			checkpoint_sha256(sqlite3_column_text(st, 5),
			                  (size_t)sqlite3_column_bytes(st, 5), a->prev);
		if (sqlite3_column_type(st, 6) == SQLITE_TEXT) {
			/* The second key in use: the current one of the history the file goes on
			 * with (the controller's when its entries are appended now), once an entry
			 * concerns it; else the one meta records. */
			const struct key_history *eff = append != G_MAXUINT ? history : rows;
			const struct key_window *w2 =
			    eff ? key_history_slot_current(eff, KEY_SLOT_SECOND) : NULL;
			char *pem2 = signer2 ? archive_signer_public_pem(signer2) : NULL;
			uint8_t id2[32];
			int same = w2 ? signer2 && archive_signer_spki_sha256(signer2, id2) == 0 &&
			                    memcmp(id2, w2->idh, 32) == 0
			              : g_strcmp0(pem2, (const char *)sqlite3_column_text(st, 6)) == 0;

			g_free(pem2);
			if (!same) {
				set_err(
				    a,
				    "archive %s: it is signed by a second key too, and that key "
				    "was not given or differs",
				    path);
				rc = -EINVAL;
				goto err_stmt;
			}
			a->signer2 = signer2;
		}
		rc = key_hash_of(a);
		if (rc)
			goto err_stmt;
	}
	sqlite3_finalize(st);
	rc = load_leaves(a);
	if (rc)
		goto err_free;
	rc = prepare_all(a);
	if (rc)
		goto err_free;
	if (append != G_MAXUINT)
		rc = key_rows_append(a, history, append, now_us);
	if (rc)
		goto err_free;
	key_history_free(rows);
	g_free(meta_pem);
	*out = a;
	return 0;

err_stmt:
	sqlite3_finalize(st);
err_free:
	key_history_free(rows);
	g_free(meta_pem);
	archive_free(a);
	return rc;
}

/* Runs one prepared insert as its own durable transaction and adds its leaf. */
/* The archive takes a record of its own (ready_alone) and the record is well-formed: BAD is
 * its check's complaint, or NULL. */
static int record_checked(struct archive *a, const char *what, const char *bad)
{
	int rc = ready_alone(a);

	if (rc)
		return rc;
	if (bad) {
		set_err(a, "archive %s: %s %s", a->path, what, bad);
		return -EINVAL;
	}
	return 0;
}

/* The leaf hash of DATA (consumed) into HASH, bound with the next leaf index as the first
 * two parameters of ST. */
static void bind_leaf(struct archive *a, sqlite3_stmt *st, GByteArray *data, uint8_t hash[32])
{
	merkle_leaf_hash(data->data, data->len, hash);
	g_byte_array_unref(data);
	sqlite3_bind_int64(st, 1, (int64_t)archive_tree_size(a));
	sqlite3_bind_blob(st, 2, hash, 32, SQLITE_STATIC);
}

static int insert_leaf_row(struct archive *a, sqlite3_stmt *st, const uint8_t hash[32],
                           const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return sql_fail(a, what);
	merkle_builder_add(&a->tree, hash);
	return 0;
}

int archive_store_draw(struct archive *a, const char *record_json, int64_t time_us)
{
	sqlite3_stmt *st;
	json_error_t jerr;
	json_t *j;
	uint8_t hash[32];
	int rc;

	rc = ready_alone(a);
	if (rc)
		return rc;
	j = record_json ? json_loads(record_json, 0, &jerr) : NULL;
	if (!j || time_us < 0) {
		set_err(a, "archive %s: draw record: %s", a->path,
		        j ? "negative time" : "not JSON");
		json_decref(j);
		return -EINVAL;
	}
	json_decref(j);
	if (sqlite3_prepare_v2(a->db,
	                       "INSERT INTO draw (id, leaf, leaf_hash, time_us, record) "
	                       "VALUES (1, ?, ?, ?, ?)",
	                       -1, &st, NULL) != SQLITE_OK)
		return sql_fail(a, "draw");
	bind_leaf(a, st, leaf_draw_data(record_json, time_us), hash);
	sqlite3_bind_int64(st, 3, time_us);
	sqlite3_bind_text(st, 4, record_json, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT) {
		set_err(a, "archive %s: draw record already stored", a->path);
		sqlite3_finalize(st);
		return -EEXIST;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sql_fail(a, "draw");
	merkle_builder_add(&a->tree, hash);
	return 0;
}

int archive_append_event(struct archive *a, const struct archive_event *ev)
{
	sqlite3_stmt *st = a->stmt[ST_EVENT];
	uint8_t hash[32];
	int rc = record_checked(a, "event", leaf_check_event(ev));

	if (rc)
		return rc;
	bind_leaf(a, st, leaf_event_data(ev), hash);
	sqlite3_bind_int64(st, 3, ev->time_us);
	sqlite3_bind_text(st, 4, ev->kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, ev->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, ev->body, -1, SQLITE_STATIC);
	return insert_leaf_row(a, st, hash, "event");
}

int archive_append_gap(struct archive *a, const struct archive_gap *gap)
{
	sqlite3_stmt *st = a->stmt[ST_GAP];
	uint8_t hash[32];
	int rc = record_checked(a, "gap", leaf_check_gap(gap));

	if (rc)
		return rc;
	bind_leaf(a, st, leaf_gap_data(gap), hash);
	sqlite3_bind_text(st, 3, gap->stream, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, gap->from_us);
	sqlite3_bind_int64(st, 5, gap->to_us);
	sqlite3_bind_text(st, 6, gap->reason, -1, SQLITE_STATIC);
	return insert_leaf_row(a, st, hash, "gap");
}

/* Undoes the segment being written: its own transaction, or its savepoint in a batch. */
static void segment_rollback(struct archive *a)
{
	if (a->batch)
		sqlite3_exec(a->db, "ROLLBACK TO segment; RELEASE segment", NULL, NULL, NULL);
	else
		sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
}

int archive_segment_begin(struct archive *a, const struct archive_segment_info *info,
                          struct archive_segment_writer **out)
{
	sqlite3_stmt *st = a->stmt[ST_SEGMENT];
	struct archive_segment_writer *w;
	const char *bad;
	GByteArray *data;
	int rc;

	rc = ready(a);
	if (rc)
		return rc;
	bad = leaf_check_segment(info);
	if (bad) {
		set_err(a, "archive %s: segment %s", a->path, bad);
		return -EINVAL;
	}
	w = g_new0(struct archive_segment_writer, 1);
	w->a = a;
	w->info = *info;
	w->stream = g_strdup(info->stream);
	w->info.stream = w->stream;
	w->info.container = "mpegts";
	data = leaf_segment_data(&w->info);
	merkle_leaf_hash(data->data, data->len, w->leaf_hash);
	g_byte_array_unref(data);
	w->sha = EVP_MD_CTX_new();
	w->buf = g_malloc(ARCHIVE_CHUNK_SIZE);
	if (!w->sha || EVP_DigestInit_ex(w->sha, EVP_sha256(), NULL) != 1) {
		rc = -ENOMEM;
		goto err_free;
	}
	rc = exec(a, a->batch ? "SAVEPOINT segment" : "BEGIN IMMEDIATE");
	if (rc)
		goto err_free;
	sqlite3_bind_int64(st, 1, (int64_t)archive_tree_size(a));
	sqlite3_bind_blob(st, 2, w->leaf_hash, 32, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, info->stream, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, info->seq);
	sqlite3_bind_int64(st, 5, info->start_us);
	sqlite3_bind_int64(st, 6, info->end_us);
	sqlite3_bind_int64(st, 7, info->size);
	sqlite3_bind_blob(st, 8, info->sha256, 32, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, "mpegts", -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		set_err(a, "archive %s: segment %s seq %" G_GINT64_FORMAT " already stored",
		        a->path, info->stream, info->seq);
		rc = -EEXIST;
		goto err_rollback;
	}
	if (rc != SQLITE_DONE) {
		rc = sql_fail(a, "segment");
		goto err_rollback;
	}
	w->segment_id = sqlite3_last_insert_rowid(a->db);
	a->busy = 1;
	*out = w;
	return 0;

err_rollback:
	segment_rollback(a);
err_free:
	EVP_MD_CTX_free(w->sha);
	g_free(w->buf);
	g_free(w->stream);
	g_free(w);
	return rc;
}

/* A chunk's row is inserted holding LEN zero bytes, then its bytes are written into that row's
 * pages in place (incremental blob I/O): bound as a parameter, the 1 MiB would first be copied
 * into a record buffer SQLite allocates and frees for every row, then into the pages. The
 * stored row is the same BLOB either way (the file format does not change), written through
 * the same pager, journal and transaction. The blob handle is closed before returning: an
 * open one would keep the savepoint and the batch from being released or committed. */
static int insert_chunk(struct archive_segment_writer *w, const void *data, size_t len)
{
	sqlite3_stmt *st = w->a->stmt[ST_CHUNK];
	int64_t id = w->segment_id * ARCHIVE_CHUNKS_PER_SEGMENT + w->next_idx;
	sqlite3_blob *blob;
	int rc;

	sqlite3_bind_int64(st, 1, w->segment_id);
	sqlite3_bind_int64(st, 2, w->next_idx);
	sqlite3_bind_zeroblob(st, 3, (int)len);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return sql_fail(w->a, "segment chunk");
	if (sqlite3_blob_open(w->a->db, "main", "segment_chunks", "data", id, 1, &blob) !=
	    SQLITE_OK)
		return sql_fail(w->a, "segment chunk");
	rc = sqlite3_blob_write(blob, data, (int)len, 0);
	if (sqlite3_blob_close(blob) != SQLITE_OK || rc != SQLITE_OK)
		return sql_fail(w->a, "segment chunk");
	w->next_idx++;
	return 0;
}

/* The SHA-256 of what a writer stores runs on a helper thread while SQLite stores the same
 * bytes on the caller's: the two cost about the same, so a large write takes half as long on
 * a second core. The helper only reads the caller's buffer and has the digest to itself until
 * the write returns; the caller's thread never waits for anything but that job. */
#define PARALLEL_HASH_MIN (256 * 1024)

struct hash_job {
	EVP_MD_CTX *ctx;
	const void *data;
	size_t len;
	GMutex lock;
	GCond cond;
	bool done;
};

static void hash_run(gpointer data, gpointer user)
{
	struct hash_job *j = data;

	(void)user;
	EVP_DigestUpdate(j->ctx, j->data, j->len);
	g_mutex_lock(&j->lock);
	j->done = true;
	g_cond_signal(&j->cond);
	g_mutex_unlock(&j->lock);
}

/* One hashing thread for the process. */
static GThreadPool *hash_pool(void)
{
	static GThreadPool *pool;
	static gsize once;

	return one_thread_pool(&pool, &once, hash_run);
}

static int store_bytes(struct archive_segment_writer *w, const uint8_t *p, size_t len)
{
	size_t take;
	int rc;

	while (len > 0) {
		/* Whole chunks straight from the caller's buffer: no copy on the hot path. */
		if (w->buf_len == 0 && len >= ARCHIVE_CHUNK_SIZE) {
			rc = insert_chunk(w, p, ARCHIVE_CHUNK_SIZE);
			if (rc)
				return rc;
			p += ARCHIVE_CHUNK_SIZE;
			len -= ARCHIVE_CHUNK_SIZE;
			continue;
		}
		take = MIN(len, ARCHIVE_CHUNK_SIZE - w->buf_len);
		memcpy(w->buf + w->buf_len, p, take);
		w->buf_len += take;
		p += take;
		len -= take;
		if (w->buf_len == ARCHIVE_CHUNK_SIZE) {
			rc = insert_chunk(w, w->buf, w->buf_len);
			if (rc)
				return rc;
			w->buf_len = 0;
		}
	}
	return 0;
}

int archive_segment_write(struct archive_segment_writer *w, const void *data, size_t len)
{
	struct hash_job job = {.ctx = w->sha, .data = data, .len = len};
	GThreadPool *pool = len >= PARALLEL_HASH_MIN ? hash_pool() : NULL;
	int rc;

	if ((int64_t)len > w->info.size - w->written) {
		set_err(w->a,
		        "archive %s: segment %s seq %" G_GINT64_FORMAT
		        ": more bytes than the declared size %" G_GINT64_FORMAT,
		        w->a->path, w->stream, w->info.seq, w->info.size);
		return -EBADMSG;
	}
	if (pool) {
		g_mutex_init(&job.lock);
		g_cond_init(&job.cond);
		if (!g_thread_pool_push(pool, &job, NULL))
			hash_run(&job, NULL);
	} else {
		EVP_DigestUpdate(w->sha, data, len);
	}
	w->written += (int64_t)len;
	rc = store_bytes(w, data, len);
	if (pool) {
		g_mutex_lock(&job.lock);
		while (!job.done)
			g_cond_wait(&job.cond, &job.lock);
		g_mutex_unlock(&job.lock);
		g_mutex_clear(&job.lock);
		g_cond_clear(&job.cond);
	}
	return rc;
}

static void writer_free(struct archive_segment_writer *w)
{
	w->a->busy = 0;
	EVP_MD_CTX_free(w->sha);
	g_free(w->buf);
	g_free(w->stream);
	g_free(w);
}

void archive_segment_abort(struct archive_segment_writer *w)
{
	if (!w)
		return;
	segment_rollback(w->a);
	writer_free(w);
}

int archive_segment_commit(struct archive_segment_writer *w)
{
	struct archive *a = w->a;
	uint8_t digest[32];
	int rc;

	if (w->buf_len > 0) {
		rc = insert_chunk(w, w->buf, w->buf_len);
		if (rc)
			goto err_abort;
	}
	EVP_DigestFinal_ex(w->sha, digest, NULL);
	if (w->written != w->info.size || memcmp(digest, w->info.sha256, 32) != 0) {
		set_err(a,
		        "archive %s: segment %s seq %" G_GINT64_FORMAT
		        ": received %" G_GINT64_FORMAT " bytes, declared %" G_GINT64_FORMAT "%s",
		        a->path, w->stream, w->info.seq, w->written, w->info.size,
		        w->written == w->info.size ? "; SHA-256 differs from the declared one"
		                                   : "");
		rc = -EBADMSG;
		goto err_abort;
	}
	rc = exec(a, a->batch ? "RELEASE segment" : "COMMIT");
	if (rc)
		goto err_abort;
	if (a->batch)
		start_writeback(a, w->written);
	merkle_builder_add(&a->tree, w->leaf_hash);
	writer_free(w);
	return 0;

err_abort:
	archive_segment_abort(w);
	return rc;
}

int archive_append_segment(struct archive *a, const struct archive_segment_info *info,
                           const void *data)
{
	struct archive_segment_writer *w;
	int rc;

	rc = archive_segment_begin(a, info, &w);
	if (rc)
		return rc;
	rc = archive_segment_write(w, data, (size_t)info->size);
	if (rc) {
		archive_segment_abort(w);
		return rc;
	}
	return archive_segment_commit(w);
}

int archive_batch_begin(struct archive *a)
{
	int rc = ready(a);

	if (rc || a->batch)
		return rc;
	rc = exec(a, "BEGIN IMMEDIATE");
	if (rc)
		return rc;
	a->pre_batch = a->tree;
	a->batch = 1;
	a->unflushed = 0;
	return 0;
}

int archive_batch_open(const struct archive *a)
{
	return a->batch;
}

int archive_batch_commit(struct archive *a)
{
	int rc, lost = a->batch_lost;

	if (a->busy) {
		set_err(a, "archive %s: a segment is being written", a->path);
		return -EBUSY;
	}
	if (a->batch) {
		/* No waiting on the caller's loop: a reader holding the file gets its turn and
		 * the batch stays open for the next try. */
		sqlite3_busy_timeout(a->db, 0);
		rc = sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL);
		sqlite3_busy_timeout(a->db, BUSY_TIMEOUT_MS);
		if ((rc & 0xff) == SQLITE_BUSY) {
			set_err(a, "archive %s: a reader holds the file; batch kept, commit again",
			        a->path);
			return -EAGAIN;
		}
		if (rc != SQLITE_OK) {
			sql_fail(a, "batch commit");
			batch_rollback(a);
			return -EIO;
		}
		a->batch = 0;
	}
	a->batch_lost = 0;
	if (lost)
		set_err(a, "archive %s: an earlier batch could not be committed and was dropped",
		        a->path);
	return lost;
}

void archive_batch_abort(struct archive *a)
{
	if (a->batch && !a->busy)
		batch_rollback(a);
}

static void announce_checkpoint(struct archive *a);

void archive_on_checkpoint(struct archive *a, archive_checkpoint_fn fn, void *user)
{
	a->on_checkpoint = fn;
	a->on_checkpoint_user = user;
	/* The checkpoint archive_open_keyed made with the new key entries is announced now. */
	if (a->announce.pending && sqlite3_get_autocommit(a->db))
		announce_checkpoint(a);
}

static void announce_checkpoint(struct archive *a)
{
	if (a->announce.pending && a->on_checkpoint)
		a->on_checkpoint(a->on_checkpoint_user, a->tender, a->announce.size,
		                 a->announce.root, a->announce.time_us);
	a->announce.pending = 0;
}

/* The checkpoint body of the tree as it is now, in the file's format version; SEALED_US is the
 * seal time when this is the sealing checkpoint, else -1 (version 2 signs it). */
static char *body_now(struct archive *a, int64_t time_us, int64_t sealed_us, uint8_t root[32])
{
	struct checkpoint_fields f = {a->origin,
	                              archive_tree_size(a),
	                              root,
	                              time_us,
	                              a->prev,
	                              a->key_hash,
	                              a->signer2 ? a->key2_hash : NULL,
	                              sealed_us};

	merkle_builder_root(&a->tree, root);
	if (a->version < 2)
		return checkpoint_body(a->tender, f.size, root, time_us);
	return checkpoint_body_v2(&f);
}

static int checkpoint_write(struct archive *a, int64_t time_us, int64_t sealed_us)
{
	uint8_t root[32], sig[ARCHIVE_SIGNATURE_LEN];
	uint64_t n = archive_tree_size(a);
	GByteArray *sig2 = NULL;
	sqlite3_stmt *st;
	char *body;
	int rc;

	rc = ready_alone(a);
	if (rc)
		return rc;
	body = body_now(a, time_us, sealed_us, root);
	rc = archive_signer_sign(a->signer, body, strlen(body), sig);
	if (rc) {
		set_err(a, "archive %s: signing the checkpoint failed", a->path);
		goto err_body;
	}
	if (a->signer2 && archive_signer_sign_alloc(a->signer2, body, strlen(body), &sig2) != 0) {
		rc = -EIO;
		set_err(a, "archive %s: signing the checkpoint with the second key failed",
		        a->path);
		goto err_body;
	}
	if (sqlite3_prepare_v2(a->db,
	                       a->version >= 2
	                           ? "INSERT INTO checkpoints (tree_size, root, time_us, body, "
	                             "signature, signature2) VALUES (?, ?, ?, ?, ?, ?)"
	                           : "INSERT INTO checkpoints (tree_size, root, time_us, body, "
	                             "signature) VALUES (?, ?, ?, ?, ?)",
	                       -1, &st, NULL) != SQLITE_OK) {
		rc = sql_fail(a, "checkpoint");
		goto err_body;
	}
	if (sig2)
		sqlite3_bind_blob(st, 6, sig2->data, (int)sig2->len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 1, (int64_t)n);
	sqlite3_bind_blob(st, 2, root, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, time_us);
	sqlite3_bind_text(st, 4, body, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, sig, sizeof(sig), SQLITE_STATIC);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : sql_fail(a, "checkpoint");
	sqlite3_finalize(st);
	if (rc == 0) {
		a->checkpointed = n;
		checkpoint_sha256(body, strlen(body), a->prev);
		a->announce.pending = 1;
		a->announce.size = n;
		memcpy(a->announce.root, root, 32);
		a->announce.time_us = time_us;
		if (sqlite3_get_autocommit(a->db))
			announce_checkpoint(a);
	}
err_body:
	if (sig2)
		g_byte_array_unref(sig2);
	g_free(body);
	return rc;
}

int archive_checkpoint(struct archive *a, int64_t time_us)
{
	return checkpoint_write(a, time_us, -1);
}

int archive_checkpoint_if_changed(struct archive *a, int64_t time_us)
{
	int rc;

	if (archive_tree_size(a) == a->checkpointed)
		return 0;
	rc = archive_checkpoint(a, time_us);
	return rc ? rc : 1;
}

/* Makes a sealed archive one self-contained read-only file: an auditor's copy must not need
 * a -journal (or, for files of earlier builds, -wal/-shm) companion, and the controller must
 * not be able to write it again. */
static int seal_finish(struct archive *a)
{
	int i, rc;

	rc = exec(a, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;");
	if (rc)
		return rc;
	for (i = 0; i < ST_COUNT; i++) {
		sqlite3_finalize(a->stmt[i]);
		a->stmt[i] = NULL;
	}
	if (sqlite3_close(a->db) != SQLITE_OK)
		return sql_fail(a, "close");
	a->db = NULL;
	close_db(a);
	a->sealed = 1;
	if (chmod(a->path, 0444) != 0) {
		rc = -errno;
		set_err(a, "archive %s: chmod 0444: %s", a->path, g_strerror(-rc));
		return rc;
	}
	return fsync_dir(a);
}

int archive_seal(struct archive *a, int64_t time_us)
{
	struct archive_event ev = {time_us, "archive.sealed", "archive", NULL};
	struct merkle_builder before;
	uint8_t prev_before[32];
	char *sql;
	int rc;

	rc = ready_alone(a);
	if (rc)
		return rc;
	before = a->tree;
	memcpy(prev_before, a->prev, sizeof(prev_before));
	/* Seal event, final checkpoint and sealed_us land together or not at all. */
	rc = exec(a, "BEGIN IMMEDIATE");
	if (rc)
		return rc;
	sql = g_strdup_printf("{\"tender\":\"%s\"}", a->tender);
	ev.body = sql;
	rc = archive_append_event(a, &ev);
	g_free(sql);
	if (rc == 0)
		rc = checkpoint_write(a, time_us, time_us);
	if (rc == 0) {
		sql = g_strdup_printf("UPDATE meta SET sealed_us = %" G_GINT64_FORMAT, time_us);
		rc = exec(a, sql);
		g_free(sql);
	}
	if (rc == 0)
		rc = exec(a, "COMMIT");
	if (rc) {
		sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
		a->tree = before;
		memcpy(a->prev, prev_before, sizeof(prev_before));
		a->announce.pending = 0;
		return rc;
	}
	announce_checkpoint(a);
	return seal_finish(a);
}

int archive_append_cosignature(struct archive *a, const struct cosignature *cs)
{
	char *why = NULL;
	int rc = ready_alone(a);

	if (rc)
		return rc;
	rc = cosig_store(a->db, cs, &why);
	if (rc)
		set_err(a, "archive %s: %s", a->path, why);
	g_free(why);
	return rc;
}
