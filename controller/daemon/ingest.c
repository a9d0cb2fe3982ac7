/* Media ingest: chunk reassembly, size and hash check, routing, durable writes, acks. */
#include "ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive_disk.h"
#include "archives.h"
#include "chunk_meta.h"
#include "clock.h"
#include "ingest_internal.h"
#include "log.h"
#include "msg.h"
#include "route.h"

/* A partial that got no chunk for this long is dropped (the agent sends the segment
 * again from offset 0 on its ack timeout or next reconnect); a younger one left by a previous run
 * is resumed by the next chunk that continues it. */
#define PARTIAL_IDLE_US (120 * G_USEC_PER_SEC)
#define COPY_BYTES      ARCHIVE_CHUNK_SIZE

static const char ledger_sql[] =
    "CREATE TABLE IF NOT EXISTS segment (room TEXT NOT NULL, stream TEXT NOT NULL,"
    " seq INTEGER NOT NULL, sha256 TEXT NOT NULL, size INTEGER NOT NULL,"
    " start_us INTEGER NOT NULL, end_us INTEGER NOT NULL, archives TEXT NOT NULL,"
    " stored_us INTEGER NOT NULL, PRIMARY KEY (room, stream, seq)) STRICT;"
    "CREATE TABLE IF NOT EXISTS gap (room TEXT NOT NULL, gap_id INTEGER NOT NULL,"
    " stream TEXT NOT NULL, reason TEXT NOT NULL, from_us INTEGER NOT NULL,"
    " to_us INTEGER NOT NULL, archives TEXT NOT NULL, stored_us INTEGER NOT NULL,"
    " PRIMARY KEY (room, gap_id)) STRICT;";

struct partial {
	struct segment_meta m;
	char *path;
	int fd;
	int64_t len; /* bytes present from offset 0 */
	int64_t touched_us;
	/* SHA-256 of the bytes [0, hashed) as they arrived in order, so a segment that came
	 * in order is not read back for its hash (one that did not, or a partial resumed from
	 * an earlier run, is). The archive writer checks the hash of what it stores again. */
	EVP_MD_CTX *sha;
	int64_t hashed;
};

static void partial_free(gpointer p)
{
	struct partial *pa = p;
	if (pa->fd >= 0)
		close(pa->fd);
	EVP_MD_CTX_free(pa->sha);
	g_free(pa->path);
	g_free(pa);
}

static gboolean on_idle_timer(gpointer user)
{
	struct ingest *in = user;
	int64_t now = clock_now_us();
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, in->partials);
	while (g_hash_table_iter_next(&it, NULL, &v))
		if (now - ((struct partial *)v)->touched_us > PARTIAL_IDLE_US) {
			unlink(((struct partial *)v)->path);
			g_hash_table_iter_remove(&it);
		}
	return G_SOURCE_CONTINUE;
}

/* Partial files of earlier runs that nothing resumed: ingest/<room>/<stream>/<seq>.part. */
static void sweep_stale_partials(const char *dir, int depth)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	int64_t now = clock_now_us();
	while (d && (name = g_dir_read_name(d))) {
		char *path = g_build_filename(dir, name, NULL);
		struct stat sb;
		if (depth < 2 && g_file_test(path, G_FILE_TEST_IS_DIR))
			sweep_stale_partials(path, depth + 1);
		else if (depth == 2 && g_str_has_suffix(name, ".part") && stat(path, &sb) == 0 &&
		         now - (int64_t)sb.st_mtime * G_USEC_PER_SEC > PARTIAL_IDLE_US)
			unlink(path);
		g_free(path);
	}
	if (d)
		g_dir_close(d);
}

int ingest_init(struct controller *c, GError **err)
{
	struct ingest *in = g_new0(struct ingest, 1);
	char *path = g_build_filename(c->cfg.state_dir, "ingest.db", NULL);
	int rc = -EIO;
	in->dir = g_build_filename(c->cfg.state_dir, "ingest", NULL);
	if (g_mkdir_with_parents(in->dir, 0700) != 0) {
		rc = -errno;
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", in->dir,
		            g_strerror(-rc));
		goto err_dir;
	}
	if (sqlite3_open(path, &in->ledger) != SQLITE_OK ||
	    sqlite3_exec(
	        in->ledger,
	        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=2000;", NULL,
	        NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(in->ledger, ledger_sql, NULL, NULL, NULL) != SQLITE_OK) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", path,
		            sqlite3_errmsg(in->ledger));
		goto err_db;
	}
	sweep_stale_partials(in->dir, 0);
	in->partials = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, partial_free);
	in->idle_timer = g_timeout_add_seconds(30, on_idle_timer, in);
	in->group = ingest_group_new();
	c->ingest = in;
	g_free(path);
	return 0;
err_db:
	sqlite3_close(in->ledger);
err_dir:
	g_free(in->dir);
	g_free(in);
	g_free(path);
	return rc;
}

void ingest_free(struct controller *c)
{
	struct ingest *in = c->ingest;
	if (!in)
		return;
	ingest_commit(c); /* what is durable is acknowledged before the connection goes */
	ingest_group_free(in->group);
	g_source_remove(in->idle_timer);
	g_hash_table_destroy(in->partials);
	sqlite3_close(in->ledger);
	g_free(in->dir);
	g_free(in);
	c->ingest = NULL;
}

/* ---- the ledger ---- */

/* 1 stored with the same hash, 0 not stored, -EEXIST stored with another hash, -EIO. */
static int ledger_segment(struct ingest *in, const struct segment_meta *m)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(
	        in->ledger, "SELECT sha256 FROM segment WHERE room = ? AND stream = ? AND seq = ?",
	        -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, m->room, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, m->stream, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, m->seq);
	int s = sqlite3_step(st), rc;
	if (s == SQLITE_ROW)
		rc = strcmp((const char *)sqlite3_column_text(st, 0), m->sha256) == 0 ? 1 : -EEXIST;
	else
		rc = s == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(st);
	return rc;
}

int ingest_ledger_add_segment(struct ingest *in, const struct segment_meta *m, const char *where)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(in->ledger,
	                       "INSERT OR IGNORE INTO segment VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	                       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, m->room, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, m->stream, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, m->seq);
	sqlite3_bind_text(st, 4, m->sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, m->size);
	sqlite3_bind_int64(st, 6, m->start_us);
	sqlite3_bind_int64(st, 7, m->end_us);
	sqlite3_bind_text(st, 8, where, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, clock_now_us());
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
	sqlite3_finalize(st);
	return rc;
}

/* ---- acknowledgements and refusals ---- */

void ingest_send_ack(struct controller *c, const char *room, const char *stream, const char *what,
                     int64_t id)
{
	char topic[128];
	snprintf(topic, sizeof(topic), TOPIC_PREFIX "room/%s/cmd", room);
	json_t *m = node_msg_new(c->node, "segment.ack");
	json_object_set_new(m, "stream", json_string(stream));
	json_object_set_new(m, what, json_integer(id));
	node_publish(c->node, topic, m, false);
	json_decref(m);
}

static void refuse(struct controller *c, const char *room, const char *what, GError *err)
{
	char topic[128], sender[64];
	snprintf(topic, sizeof(topic), TOPIC_PREFIX "room/%s/%s", room, what);
	snprintf(sender, sizeof(sender), "agent-%s", room);
	node_report_error(c->node, topic, sender, err);
	g_error_free(err);
}

/* The stream's name inside an archive: the site's device id, or room/stream for a
 * stream the site does not list (so two rooms' unknown names cannot mix). */
static char *archive_stream_name(const char *room, const char *stream, bool known)
{
	return known ? g_strdup(stream) : g_strdup_printf("%s/%s", room, stream);
}

/* ---- routing ---- */

struct targets {
	GPtrArray *names;    /* archive names (tender ids, site-YYYY-MM-DD) */
	GPtrArray *archives; /* struct archive *, borrowed */
	GPtrArray *tenders;  /* the subset of names that are tenders */
	char *stream;        /* name inside the archives */
};

static void targets_clear(struct targets *t)
{
	g_ptr_array_free(t->names, TRUE);
	g_ptr_array_free(t->archives, TRUE);
	g_ptr_array_free(t->tenders, TRUE);
	g_free(t->stream);
}

/* The archives a recording of ROOM/STREAM over [FROM, TO] goes to: its tenders' (those with
 * someone at that seat or in that room checked in by TO: route.h), and the site's
 * retention archive when no tender takes it (none, e.g. a seat before its person's
 * check-in while the seat map is sealed, or a sealed one: refused and logged, so nothing
 * recorded is lost). 0 or -errno with *err (nothing stored, no ack). */
static int route(struct controller *c, const char *room, const char *stream, int64_t from_us,
                 int64_t to_us, const char *what, struct targets *t, GError **err)
{
	GPtrArray *tenders = g_ptr_array_new_with_free_func(g_free);
	bool seat_stream, known;
	t->names = g_ptr_array_new_with_free_func(g_free);
	t->archives = g_ptr_array_new();
	t->tenders = g_ptr_array_new_with_free_func(g_free);
	t->stream = NULL;
	int rc = route_segment_tenders(c->state, room, stream, from_us, to_us, tenders,
	                               &seat_stream, &known, err);
	if (rc != 0)
		goto out;
	t->stream = archive_stream_name(room, stream, known);
	bool refused = false;
	for (guint i = 0; i < tenders->len; i++) {
		const char *tender = tenders->pdata[i];
		struct archive *a;
		GError *e = NULL;
		rc = archives_get(c, tender, &a, &e);
		if (rc == -EROFS) {
			int64_t sealed = archives_sealed_at(c, tender);
			if (sealed && from_us >= sealed) {
				g_clear_error(
				    &e); /* recorded after the tender ended: not its own */
			} else {
				log_warnx("%s %s/%s: refused by tender %s (sealed): kept in the "
				          "site's retention archive instead",
				          what, room, stream, tender);
				refused = true;
				g_clear_error(&e);
			}
			rc = 0;
			continue;
		}
		if (rc != 0) {
			g_propagate_error(err, e);
			goto out;
		}
		g_ptr_array_add(t->names, g_strdup(tender));
		g_ptr_array_add(t->tenders, g_strdup(tender));
		g_ptr_array_add(t->archives, a);
	}
	if (t->names->len == 0 || refused) {
		char name[32];
		struct archive *a;
		if ((rc = archives_retention(c, from_us, &a, name, err)) != 0)
			goto out;
		g_ptr_array_add(t->names, g_strdup(name));
		g_ptr_array_add(t->archives, a);
	}
out:
	g_ptr_array_free(tenders, TRUE);
	return rc;
}

static char *targets_text(const struct targets *t)
{
	g_ptr_array_add(t->names, NULL);
	char *s = g_strjoinv(",", (char **)t->names->pdata);
	g_ptr_array_remove_index(t->names, t->names->len - 1);
	return s;
}

/* ---- segments ---- */

static int file_sha256(int fd, int64_t size, char hex[65])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *buf = g_malloc(COPY_BYTES), md[32];
	int64_t off = 0;
	int rc = 0;
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	while (off < size) {
		ssize_t n = pread(fd, buf, (size_t)MIN((int64_t)COPY_BYTES, size - off), off);
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			goto out;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		off += n;
	}
	EVP_DigestFinal_ex(ctx, md, NULL);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
out:
	EVP_MD_CTX_free(ctx);
	g_free(buf);
	return rc;
}

static int hex_bytes(const char *hex, uint8_t out[32])
{
	for (int i = 0; i < 32; i++) {
		int hi = g_ascii_xdigit_value(hex[2 * i]),
		    lo = g_ascii_xdigit_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Write the reassembled segment from FD into archive A (already there: fine). */
static int archive_put_segment(struct archive *a, const struct archive_segment_info *info, int fd)
{
	struct archive_segment_writer *w;
	int rc = archive_segment_begin(a, info, &w);
	if (rc == -EEXIST)
		return 0; /* stored before a crash that came before the ledger's row */
	if (rc != 0)
		return rc;
	unsigned char *buf = g_malloc(COPY_BYTES);
	int64_t off = 0;
	while (off < info->size) {
		ssize_t n = pread(fd, buf, (size_t)MIN((int64_t)COPY_BYTES, info->size - off), off);
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			goto err_write;
		}
		if ((rc = archive_segment_write(w, buf, (size_t)n)) != 0)
			goto err_write;
		off += n;
	}
	g_free(buf);
	return archive_segment_commit(w);
err_write:
	g_free(buf);
	archive_segment_abort(w);
	return rc;
}

static void segment_complete(struct controller *c, struct partial *p, const char *key)
{
	struct segment_meta *m = &p->m;
	GError *err = NULL;
	char hex[65];
	int rc = 0;
	if (p->hashed == m->size) {
		unsigned char md[32];
		EVP_DigestFinal_ex(p->sha, md, NULL);
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
	} else {
		rc = file_sha256(p->fd, m->size, hex);
	}
	if (rc != 0) {
		log_warnx("segment %s: cannot read back the reassembled file: %s", key,
		          g_strerror(-rc));
		goto drop;
	}
	if (strcmp(hex, m->sha256) != 0) {
		g_set_error(
		    &err, MSG_ERROR, MSG_ERROR_INVALID,
		    "segment %s/%s #%" G_GINT64_FORMAT ": SHA-256 of the %" G_GINT64_FORMAT
		    " bytes received is %s, not the announced %s: refused, not acknowledged",
		    m->room, m->stream, m->seq, m->size, hex, m->sha256);
		refuse(c, m->room, "media", err);
		goto drop;
	}
	struct targets t;
	if (route(c, m->room, m->stream, m->start_us, m->end_us, "segment", &t, &err) != 0) {
		log_warnx("segment %s not stored now (not acknowledged, the agent sends it again): "
		          "%s",
		          key, err->message);
		g_clear_error(&err);
		targets_clear(&t);
		goto drop;
	}
	struct archive_segment_info info = {.stream = t.stream,
	                                    .seq = m->seq,
	                                    .start_us = m->start_us,
	                                    .end_us = m->end_us,
	                                    .size = m->size,
	                                    .container = "mpegts"};
	hex_bytes(m->sha256, info.sha256);
	for (guint i = 0; i < t.archives->len; i++) {
		struct archive *a = t.archives->pdata[i];
		rc = archive_batch_begin(a);
		if (rc == 0) {
			ingest_group_track(c, t.names->pdata[i], a);
			rc = archive_put_segment(a, &info, p->fd);
		}
		if (rc != 0) {
			log_warnx("segment %s not stored in archive %s (not acknowledged): %s", key,
			          (const char *)t.names->pdata[i], archive_errmsg(a));
			char *what = g_strdup_printf("segment %s", key);
			archive_write_failed(c, t.names->pdata[i], what, archive_errmsg(a));
			g_free(what);
			targets_clear(&t);
			goto drop;
		}
	}
	ingest_group_add(c, m, t.names, t.tenders);
	targets_clear(&t);
drop:
	unlink(p->path);
	g_hash_table_remove(c->ingest->partials, key);
}

static bool meta_equal(const struct segment_meta *a, const struct segment_meta *b)
{
	return a->size == b->size && a->start_us == b->start_us && a->end_us == b->end_us &&
	       strcmp(a->sha256, b->sha256) == 0;
}

static struct partial *partial_get(struct controller *c, const struct segment_meta *m,
                                   const char *key, int64_t offset, GError **err)
{
	struct ingest *in = c->ingest;
	struct partial *p = g_hash_table_lookup(in->partials, key);
	if (p && !meta_equal(&p->m, m)) {
		/* Same number, other announced segment: the old partial cannot be right. */
		unlink(p->path);
		g_hash_table_remove(in->partials, key);
		p = NULL;
	}
	if (p)
		return p;
	char *dir = g_build_filename(in->dir, m->room, m->stream, NULL);
	char *file = g_strdup_printf("%" G_GINT64_FORMAT ".part", m->seq);
	p = g_new0(struct partial, 1);
	p->m = *m;
	p->sha = EVP_MD_CTX_new();
	p->path = g_build_filename(dir, file, NULL);
	g_free(file);
	if (g_mkdir_with_parents(dir, 0700) != 0 ||
	    (p->fd = open(p->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", p->path,
		            g_strerror(errno));
		g_free(dir);
		p->fd = -1;
		partial_free(p);
		return NULL;
	}
	g_free(dir);
	/* A partial left by an earlier run resumes where its file ends, when the chunk
	 * continues it (the broker redelivers what this process had not acknowledged). */
	struct stat sb;
	p->len = offset > 0 && fstat(p->fd, &sb) == 0 ? MIN((int64_t)sb.st_size, m->size) : 0;
	g_hash_table_insert(in->partials, g_strdup(key), p);
	return p;
}

/* The user properties of the message being delivered (none from a backend without them). */
static const struct mqtt_user_prop *delivered_props(struct controller *c, size_t *n)
{
	return node_user_props(c->node, n);
}

void ingest_handle_chunk(struct controller *c, const char *room, const void *payload, size_t len)
{
	GError *err = NULL;
	struct chunk_meta cm;
	size_t nprops;
	const struct mqtt_user_prop *props = delivered_props(c, &nprops);

	if (chunk_meta_parse(props, nprops, payload, len, &cm, &err) != 0)
		goto refuse;
	struct segment_meta m = {.seq = cm.segment_seq,
	                         .start_us = cm.start_us,
	                         .end_us = cm.end_us,
	                         .size = cm.size,
	                         .recovered = cm.recovered};
	g_strlcpy(m.room, room, sizeof(m.room));
	g_strlcpy(m.stream, cm.stream, sizeof(m.stream));
	memcpy(m.sha256, cm.sha256, sizeof(m.sha256));
	int64_t offset = cm.offset, nbytes = (int64_t)len;

	char key[128];
	snprintf(key, sizeof(key), "%s/%s/%" G_GINT64_FORMAT, m.room, m.stream, m.seq);
	int known = ledger_segment(c->ingest, &m);
	if (known == -EEXIST) {
		g_set_error(&err, MSG_ERROR, MSG_ERROR_INVALID,
		            "segment %s is already stored with another SHA-256: refused", key);
		goto refuse;
	}
	if (known == 1) {
		if (cm.last) /* a resend of a stored segment: acknowledged again, not stored */
			ingest_send_ack(c, m.room, m.stream, "segment_seq", m.seq);
		return;
	}
	if (known < 0) {
		log_warnx("segment %s: ledger: %s (not acknowledged)", key,
		          sqlite3_errmsg(c->ingest->ledger));
		return;
	}
	struct partial *p = partial_get(c, &m, key, offset, &err);
	if (!p) {
		log_warnx("segment %s: %s", key, err->message);
		g_clear_error(&err);
		return;
	}
	p->touched_us = clock_now_us();
	if (offset > p->len) {
		/* A chunk is missing (lost with a restart): wait for the agent's resend from
		 * offset 0, which replaces this partial. */
		log_debug("segment %s: chunk at %" G_GINT64_FORMAT " but only %" G_GINT64_FORMAT
		          " bytes held: waiting for a resend",
		          key, offset, p->len);
		return;
	}
	if (offset == 0 && ftruncate(p->fd, 0) != 0)
		log_warn("segment %s: truncate", key);
	if (pwrite(p->fd, payload, len, offset) != (ssize_t)len) {
		log_warn("segment %s: write %s", key, p->path);
		return;
	}
	if (offset == 0 && EVP_DigestInit_ex(p->sha, EVP_sha256(), NULL) == 1)
		p->hashed = 0;
	else if (offset == 0)
		p->hashed = -1; /* no digest: read the file back at the end */
	if (offset == p->hashed && EVP_DigestUpdate(p->sha, payload, len) == 1)
		p->hashed += nbytes;
	p->len = offset == 0 ? nbytes : MAX(p->len, offset + nbytes);
	if (p->len == m.size)
		segment_complete(c, p, key);
	return;
refuse:
	refuse(c, room, "media", err);
}

/* ---- gaps ---- */

static const char *const gap_reasons[] = {
    "camera_lost",      "agent_restart", "disk_full",      "camera_unauthorized",
    "camera_not_found", "camera_silent", "stream_changed", NULL,
};

void ingest_handle_gap(struct controller *c, const char *room, const struct msg_envelope *env,
                       json_t *body)
{
	(void)env;
	GError *err = NULL;
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	const char *rm = msg_read_id(&r, "room", true);
	const char *stream = msg_read_id(&r, "stream", true);
	int64_t gap_id = msg_read_int(&r, "gap_id", true, 1, INT64_MAX, 0);
	int reason = msg_read_enum(&r, "reason", true, gap_reasons);
	int64_t from_us = msg_read_int(&r, "from_us", true, 0, INT64_MAX, 0);
	int64_t to_us = msg_read_int(&r, "to_us", true, 0, INT64_MAX, 0);
	if (msg_reader_finish(&r, &err) != 0)
		goto refuse;
	if (strcmp(rm, room) != 0 || to_us < from_us) {
		g_set_error(&err, MSG_ERROR, MSG_ERROR_INVALID, "%s",
		            strcmp(rm, room) != 0 ? "member 'room': not the room of the topic"
		                                  : "member 'to_us': before from_us");
		goto refuse;
	}
	struct ingest *in = c->ingest;
	sqlite3_stmt *st;
	int seen = -1;
	if (sqlite3_prepare_v2(in->ledger, "SELECT 1 FROM gap WHERE room = ? AND gap_id = ?", -1,
	                       &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, room, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, gap_id);
		int s = sqlite3_step(st);
		seen = s == SQLITE_ROW ? 1 : s == SQLITE_DONE ? 0 : -1;
		sqlite3_finalize(st);
	}
	if (seen < 0) {
		log_warnx("gap %s/%" G_GINT64_FORMAT ": ledger: %s (not acknowledged)", room,
		          gap_id, sqlite3_errmsg(in->ledger));
		return;
	}
	if (seen == 0) {
		struct targets t;
		if (route(c, room, stream, from_us, to_us, "gap", &t, &err) != 0) {
			log_warnx("gap %s/%" G_GINT64_FORMAT " not stored now: %s", room, gap_id,
			          err->message);
			g_clear_error(&err);
			targets_clear(&t);
			return;
		}
		struct archive_gap g = {t.stream, from_us, to_us, gap_reasons[reason]};
		for (guint i = 0; i < t.archives->len; i++)
			if (archive_append_gap(t.archives->pdata[i], &g) != 0) {
				log_warnx("gap %s/%" G_GINT64_FORMAT " not stored in %s: %s", room,
				          gap_id, (const char *)t.names->pdata[i],
				          archive_errmsg(t.archives->pdata[i]));
				targets_clear(&t);
				return;
			}
		char *where = targets_text(&t);
		if (sqlite3_prepare_v2(in->ledger,
		                       "INSERT INTO gap VALUES (?, ?, ?, ?, ?, ?, ?, ?)", -1, &st,
		                       NULL) == SQLITE_OK) {
			sqlite3_bind_text(st, 1, room, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, gap_id);
			sqlite3_bind_text(st, 3, stream, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, gap_reasons[reason], -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 5, from_us);
			sqlite3_bind_int64(st, 6, to_us);
			sqlite3_bind_text(st, 7, where, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 8, clock_now_us());
			if (sqlite3_step(st) != SQLITE_DONE)
				log_warnx("gap ledger: %s", sqlite3_errmsg(in->ledger));
			sqlite3_finalize(st);
		}
		log_info("gap %s/%s #%" G_GINT64_FORMAT " (%s) stored in %s", room, stream, gap_id,
		         gap_reasons[reason], where);
		g_free(where);
		targets_clear(&t);
	}
	ingest_send_ack(c, room, stream, "gap_id", gap_id);
	return;
refuse:
	refuse(c, room, "event", err);
}
