#include "verify.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <string.h>

#include "archive.h"
#include "clock.h"
#include "hex.h"
#include "key_history.h"
#include "leaf.h"
#include "merkle.h"
#include "timestamp.h"

/* Problem ordering: record problems by leaf index, then checkpoint problems, then unsigned
 * records, so the report names the earliest damage. */
#define KEY_CHECKPOINT (UINT64_C(1) << 62)
#define KEY_UNSIGNED   (UINT64_C(1) << 63)

struct entry {
	uint64_t leaf;
	const char *table;
	int64_t rowid;
	uint8_t hash[32];
};

struct ctx {
	sqlite3 *db;
	struct archive_verify_report *rep;
	GArray *entries;
	uint64_t problem_key;
	char *tender;
	int64_t sealed_event_leaf; /* leaf of the archive.sealed event, or -1 */
	int version;               /* the file's format version */
	char *site;                /* version 2: meta.site */
	int64_t sealed_us;         /* meta.sealed_us, or -1 */
	int meta_key_ok;           /* meta.signing_pubkey is an Ed25519 key */
	uint8_t meta_key_hash[32]; /* SHA-256 of its raw public key */
	uint8_t meta_key_raw[32];
	struct archive_pubkey *key2;             /* meta.signing_pubkey2, or NULL */
	const struct archive_pubkey *key2_check; /* what the second signatures are checked with */
	uint8_t key2_hash[32];                   /* SHA-256 of its DER SPKI */
	int key2_sm2;
	/* Key history (version 3, or given with --key-history): */
	int64_t created_us;                /* meta.created_us */
	GPtrArray *key_rows;               /* key_history rows: struct key_row * */
	struct key_history *rows_history;  /* those rows as a history (owned) */
	const struct key_history *history; /* the history checkpoints are checked against */
	struct signers {
		GString *text; /* which key signed which checkpoints */
		const struct key_window *last;
		int64_t first_id, last_id;
	} signers, signers2; /* the checkpoint key's, the second key's */
};

struct key_row {
	int64_t rowid;
	uint64_t leaf;
	char *entry;
	GByteArray *sig, *sig2;
};

static void problem(struct ctx *c, uint64_t key, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void problem(struct ctx *c, uint64_t key, const char *fmt, ...)
{
	va_list ap;

	if (c->rep->problem && key >= c->problem_key)
		return;
	g_free(c->rep->problem);
	va_start(ap, fmt);
	c->rep->problem = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	c->problem_key = key;
}

/* Column readers: a tampered row may hold any type; `ok` drops to 0 on the wrong one. */
static const char *col_text(sqlite3_stmt *st, int i, int *ok)
{
	if (sqlite3_column_type(st, i) != SQLITE_TEXT) {
		*ok = 0;
		return "";
	}
	return (const char *)sqlite3_column_text(st, i);
}

static int64_t col_int(sqlite3_stmt *st, int i, int *ok)
{
	if (sqlite3_column_type(st, i) != SQLITE_INTEGER)
		*ok = 0;
	return sqlite3_column_int64(st, i);
}

static const uint8_t *col_hash(sqlite3_stmt *st, int i, int *ok)
{
	static const uint8_t zero[32];

	if (sqlite3_column_type(st, i) != SQLITE_BLOB || sqlite3_column_bytes(st, i) != 32) {
		*ok = 0;
		return zero;
	}
	return sqlite3_column_blob(st, i);
}

typedef GByteArray *(*leaf_builder)(struct ctx *c, sqlite3_stmt *st, int64_t rowid, uint64_t leaf,
                                    int *ok);

static GByteArray *build_meta(struct ctx *c, sqlite3_stmt *st, int64_t rowid, uint64_t leaf,
                              int *ok)
{
	struct archive_tender t;

	t.tender = col_text(st, 3, ok);
	t.session = col_text(st, 4, ok);
	t.created_us = col_int(st, 5, ok);
	t.name = col_text(st, 6, ok);
	c->created_us = t.created_us;
	g_free(c->tender);
	c->tender = g_strdup(t.tender);
	return leaf_tender_data(&t);
}

static GByteArray *build_draw(struct ctx *c, sqlite3_stmt *st, int64_t rowid, uint64_t leaf,
                              int *ok)
{
	int64_t t = col_int(st, 3, ok);

	return leaf_draw_data(col_text(st, 4, ok), t);
}

static GByteArray *build_event(struct ctx *c, sqlite3_stmt *st, int64_t rowid, uint64_t leaf,
                               int *ok)
{
	struct archive_event ev;

	ev.time_us = col_int(st, 3, ok);
	ev.kind = col_text(st, 4, ok);
	ev.source = col_text(st, 5, ok);
	ev.body = col_text(st, 6, ok);
	if (strcmp(ev.kind, "archive.sealed") == 0 && g_strcmp0(ev.source, "archive") == 0)
		c->sealed_event_leaf = (int64_t)leaf;
	c->rep->events++;
	return leaf_event_data(&ev);
}

/* Recomputes a segment's SHA-256 and size from its chunks. */
static void check_media(struct ctx *c, int64_t rowid, uint64_t leaf,
                        const struct archive_segment_info *s)
{
	sqlite3_stmt *st;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t digest[32];
	int64_t expect = 0, size = 0;
	int rc;

	if (!md || sqlite3_prepare_v2(
	               c->db,
	               "SELECT id, idx, data, segment FROM segment_chunks "
	               "WHERE id BETWEEN ?1 * 1048576 AND ?1 * 1048576 + 1048575 ORDER BY id",
	               -1, &st, NULL) != SQLITE_OK) {
		EVP_MD_CTX_free(md);
		problem(c, leaf, "segment_chunks: unreadable: sqlite: %s", sqlite3_errmsg(c->db));
		return;
	}
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	sqlite3_bind_int64(st, 1, rowid);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t idx = sqlite3_column_int64(st, 1);
		int n = sqlite3_column_bytes(st, 2);

		if (idx != expect || sqlite3_column_int64(st, 3) != rowid ||
		    sqlite3_column_type(st, 2) != SQLITE_BLOB) {
			problem(c, leaf,
			        "segment_chunks of segments row %" G_GINT64_FORMAT
			        " (stream %s seq %" G_GINT64_FORMAT "): chunk %" G_GINT64_FORMAT
			        " %s",
			        rowid, s->stream, s->seq, expect,
			        idx != expect ? "missing or out of order" : "is not a BLOB");
			goto out;
		}
		EVP_DigestUpdate(md, sqlite3_column_blob(st, 2), (size_t)n);
		size += n;
		expect++;
	}
	if (rc != SQLITE_DONE) {
		problem(c, leaf, "segment_chunks of segments row %" G_GINT64_FORMAT ": sqlite: %s",
		        rowid, sqlite3_errmsg(c->db));
		goto out;
	}
	EVP_DigestFinal_ex(md, digest, NULL);
	if (size != s->size)
		problem(c, leaf,
		        "segments row %" G_GINT64_FORMAT " (stream %s seq %" G_GINT64_FORMAT
		        ", leaf %" G_GUINT64_FORMAT "): media is %" G_GINT64_FORMAT
		        " bytes, the record says %" G_GINT64_FORMAT,
		        rowid, s->stream, s->seq, leaf, size, s->size);
	else if (memcmp(digest, s->sha256, 32) != 0)
		problem(c, leaf,
		        "segments row %" G_GINT64_FORMAT " (stream %s seq %" G_GINT64_FORMAT
		        ", leaf %" G_GUINT64_FORMAT
		        "): media altered: SHA-256 of its segment_chunks does not match",
		        rowid, s->stream, s->seq, leaf);
out:
	sqlite3_finalize(st);
	EVP_MD_CTX_free(md);
}

static GByteArray *build_segment(struct ctx *c, sqlite3_stmt *st, int64_t rowid, uint64_t leaf,
                                 int *ok)
{
	struct archive_segment_info s;

	s.stream = col_text(st, 3, ok);
	s.seq = col_int(st, 4, ok);
	s.start_us = col_int(st, 5, ok);
	s.end_us = col_int(st, 6, ok);
	s.size = col_int(st, 7, ok);
	memcpy(s.sha256, col_hash(st, 8, ok), 32);
	s.container = col_text(st, 9, ok);
	c->rep->segments++;
	return leaf_segment_data(&s);
}

static GByteArray *build_gap(struct ctx *c, sqlite3_stmt *st, int64_t rowid, uint64_t leaf, int *ok)
{
	struct archive_gap g;

	g.stream = col_text(st, 3, ok);
	g.from_us = col_int(st, 4, ok);
	g.to_us = col_int(st, 5, ok);
	g.reason = col_text(st, 6, ok);
	c->rep->gaps++;
	return leaf_gap_data(&g);
}

static void key_row_free(gpointer p)
{
	struct key_row *k = p;

	g_free(k->entry);
	g_byte_array_unref(k->sig);
	if (k->sig2)
		g_byte_array_unref(k->sig2);
	g_free(k);
}

/* A key_history row (version 3): its leaf covers every column; the entries are checked as a
 * history afterwards (check_key_history). */
static GByteArray *build_key_row(struct ctx *c, sqlite3_stmt *st, int64_t rowid, uint64_t leaf,
                                 int *ok)
{
	struct key_row *k = g_new0(struct key_row, 1);
	int t2 = sqlite3_column_type(st, 5);

	k->rowid = rowid;
	k->leaf = leaf;
	k->entry = g_strdup(col_text(st, 3, ok));
	if (sqlite3_column_type(st, 4) != SQLITE_BLOB || (t2 != SQLITE_BLOB && t2 != SQLITE_NULL))
		*ok = 0;
	k->sig = g_byte_array_new();
	g_byte_array_append(k->sig, sqlite3_column_blob(st, 4), (guint)sqlite3_column_bytes(st, 4));
	if (t2 == SQLITE_BLOB) {
		k->sig2 = g_byte_array_new();
		g_byte_array_append(k->sig2, sqlite3_column_blob(st, 5),
		                    (guint)sqlite3_column_bytes(st, 5));
	}
	g_ptr_array_add(c->key_rows, k);
	return key_history_leaf_data(k->entry, k->sig->data, k->sig->len,
	                             k->sig2 ? k->sig2->data : NULL, k->sig2 ? k->sig2->len : 0);
}

static int scan_table(struct ctx *c, const char *table, const char *sql, leaf_builder build)
{
	sqlite3_stmt *st;
	int64_t expect_row = 1, prev_leaf = -1, prev_row = 0;
	int rc;

	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
		problem(c, 0, "%s: unreadable: sqlite: %s", table, sqlite3_errmsg(c->db));
		return -EIO;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct entry e = {0};
		int64_t rowid = sqlite3_column_int64(st, 0);
		uint64_t key = (uint64_t)(prev_leaf + 1);
		int ok = 1;
		int64_t leaf = col_int(st, 1, &ok);
		const uint8_t *stored = col_hash(st, 2, &ok);
		GByteArray *data;

		if (rowid > expect_row)
			problem(c, key,
			        "%s row %" G_GINT64_FORMAT
			        " missing (deleted; next present row is %" G_GINT64_FORMAT ")",
			        table, expect_row, rowid);
		expect_row = rowid + 1;
		if (!ok || leaf < 0) {
			problem(c, key, "%s row %" G_GINT64_FORMAT ": leaf or leaf_hash malformed",
			        table, rowid);
			continue;
		}
		if (leaf <= prev_leaf)
			problem(c, (uint64_t)leaf,
			        "%s row %" G_GINT64_FORMAT " (leaf %" G_GINT64_FORMAT
			        "): reordered: it follows row %" G_GINT64_FORMAT
			        " which holds the later leaf %" G_GINT64_FORMAT,
			        table, rowid, leaf, prev_row, prev_leaf);
		data = build(c, st, rowid, (uint64_t)leaf, &ok);
		merkle_leaf_hash(data->data, data->len, e.hash);
		g_byte_array_unref(data);
		if (!ok)
			problem(c, (uint64_t)leaf,
			        "%s row %" G_GINT64_FORMAT " (leaf %" G_GINT64_FORMAT
			        "): altered: a column holds the wrong type",
			        table, rowid, leaf);
		else if (memcmp(e.hash, stored, 32) != 0)
			problem(c, (uint64_t)leaf,
			        "%s row %" G_GINT64_FORMAT " (leaf %" G_GINT64_FORMAT
			        "): altered: its content does not match its leaf hash",
			        table, rowid, leaf);
		else if (build == build_segment) {
			struct archive_segment_info s = {0};

			s.stream = (const char *)sqlite3_column_text(st, 3);
			s.seq = sqlite3_column_int64(st, 4);
			s.size = sqlite3_column_int64(st, 7);
			memcpy(s.sha256, sqlite3_column_blob(st, 8), 32);
			check_media(c, rowid, (uint64_t)leaf, &s);
		}
		e.leaf = (uint64_t)leaf;
		e.table = table;
		e.rowid = rowid;
		g_array_append_val(c->entries, e);
		prev_leaf = MAX(prev_leaf, leaf);
		prev_row = rowid;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		problem(c, 0, "%s: unreadable: sqlite: %s", table, sqlite3_errmsg(c->db));
		return -EIO;
	}
	return 0;
}

static gint entry_cmp(gconstpointer a, gconstpointer b)
{
	const struct entry *x = a, *y = b;

	return x->leaf < y->leaf ? -1 : x->leaf > y->leaf;
}

/* Walks the leaves in order; returns how many leading leaves are present and contiguous. */
static uint64_t check_leaf_order(struct ctx *c)
{
	uint64_t i, n = c->entries->len;
	struct entry *e;

	g_array_sort(c->entries, entry_cmp);
	for (i = 0; i < n; i++) {
		e = &g_array_index(c->entries, struct entry, i);
		if (e->leaf == i) {
			g_byte_array_append(c->rep->leaf_hashes, e->hash, 32);
			continue;
		}
		if (e->leaf < i)
			problem(c, e->leaf,
			        "%s row %" G_GINT64_FORMAT ": leaf %" G_GUINT64_FORMAT
			        " is used twice",
			        e->table, e->rowid, e->leaf);
		else
			problem(c, i,
			        "leaf %" G_GUINT64_FORMAT " missing (a record was deleted before "
			        "%s row %" G_GINT64_FORMAT ")",
			        i, e->table, e->rowid);
		return i;
	}
	return n;
}

static int check_meta(struct ctx *c, const struct archive_pubkey **key,
                      struct archive_pubkey **owned)
{
	struct archive_pubkey *recorded = NULL;
	sqlite3_stmt *st;
	uint8_t raw[32];
	int rc = -EIO, step = 0;

	if (sqlite3_prepare_v2(
	        c->db,
	        c->version >= 2
	            ? "SELECT signing_pubkey, sealed_us, site, signing_pubkey2 FROM meta"
	            : "SELECT signing_pubkey, sealed_us, NULL, NULL FROM meta",
	        -1, &st, NULL) != SQLITE_OK ||
	    (step = sqlite3_step(st)) != SQLITE_ROW) {
		problem(c, 0, "meta: missing row: %s", sqlite3_errmsg(c->db));
		/* A readable table without its row was tampered with, not unreadable. */
		if (st && step == SQLITE_DONE)
			rc = -EBADMSG;
		goto out;
	}
	c->rep->sealed = sqlite3_column_type(st, 1) != SQLITE_NULL;
	c->sealed_us = sqlite3_column_type(st, 1) == SQLITE_INTEGER ? sqlite3_column_int64(st, 1)
	               : c->rep->sealed                             ? -2
	                                                            : -1;
	if (c->version >= 2) {
		const char *site = (const char *)sqlite3_column_text(st, 2);

		if (sqlite3_column_type(st, 2) != SQLITE_TEXT || !leaf_tender_id_valid(site))
			problem(c, 0, "meta row 1: site is missing or malformed (altered)");
		c->site = g_strdup(site ? site : "");
		if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
			const char *pem2 = (const char *)sqlite3_column_text(st, 3);
			char *canonical = NULL;

			if (sqlite3_column_type(st, 3) == SQLITE_TEXT &&
			    archive_pubkey_from_pem_any(pem2, &c->key2) == 0)
				canonical = archive_pubkey_pem(c->key2);
			if (!canonical || strcmp(canonical, pem2) != 0 ||
			    archive_pubkey_spki_sha256(c->key2, c->key2_hash) != 0) {
				problem(c, 0,
				        "meta row 1: signing_pubkey2 is not an SM2 or Ed25519 "
				        "public key in the form the writer records it (altered)");
				archive_pubkey_free(c->key2);
				c->key2 = NULL;
			}
			g_free(canonical);
		}
	}
	/* The exact text the writer records: PEM readers skip text around the key, and no byte
	 * of the column may change unnoticed. */
	if (sqlite3_column_type(st, 0) == SQLITE_TEXT &&
	    archive_pubkey_from_pem((const char *)sqlite3_column_text(st, 0), &recorded) == 0 &&
	    archive_pubkey_raw(recorded, raw) == 0) {
		char *canonical = archive_pubkey_pem(recorded);

		c->meta_key_ok =
		    g_strcmp0(canonical, (const char *)sqlite3_column_text(st, 0)) == 0;
		g_free(canonical);
		checkpoint_sha256(raw, sizeof(raw), c->meta_key_hash);
		memcpy(c->meta_key_raw, raw, 32);
	}
	if (!c->meta_key_ok) {
		problem(c, 0,
		        "meta row 1: signing_pubkey is not an Ed25519 public key in the form "
		        "the writer records it (altered)");
		if (!*key) {
			rc = -EBADMSG;
			goto out;
		}
	} else if (*key) {
		c->rep->key_differs = !archive_pubkey_equal(*key, recorded);
	}
	if (!*key) {
		*owned = recorded;
		recorded = NULL;
		*key = *owned;
		c->rep->key_embedded = 1;
	}
	rc = 0;
out:
	archive_pubkey_free(recorded);
	sqlite3_finalize(st);
	return rc;
}

/* The line of TEXT starting with PREFIX, or "" (a new string, g_free). */
static char *line_of(const char *text, const char *prefix)
{
	char **lines = g_strsplit(text, "\n", -1);
	char *out = NULL;

	for (guint i = 0; lines[i] && !out; i++)
		if (g_str_has_prefix(lines[i], prefix))
			out = g_strdup(lines[i]);
	g_strfreev(lines);
	return out ? out : g_strdup("");
}

/* Why a version 2 body differs from the one its columns and its predecessor make: names the
 * extension line that differs (chain, keys, seal), else the columns. A new string. */
static char *body_mismatch(const char *body, const char *expect, int64_t id)
{
	static const struct {
		const char *prefix;
		const char *why;
	} lines[] = {
	    {"prev ", "chain broken: it does not name the checkpoint before it as its predecessor "
	              "(a checkpoint was removed, inserted or reordered)"},
	    {"key ", "it names another signing key than meta.signing_pubkey records (the recorded "
	             "key was altered)"},
	    {"key2 ", "it names another second key than meta.signing_pubkey2 records (the "
	              "recorded second key was altered, added or removed)"},
	    {"sealed ", "meta.sealed_us is not the seal it signs (the seal time was altered, the "
	                "seal cleared, or records added after it)"},
	};
	char *why = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(lines) && !why; i++) {
		char *a = line_of(body, lines[i].prefix), *b = line_of(expect, lines[i].prefix);

		if (strcmp(a, b) != 0)
			why = g_strdup_printf("checkpoints row %" G_GINT64_FORMAT ": %s", id,
			                      lines[i].why);
		g_free(a);
		g_free(b);
	}
	return why ? why
	           : g_strdup_printf("checkpoints row %" G_GINT64_FORMAT
	                             ": signed body does not match its columns",
	                             id);
}

/* The archive's key history rows checked as a history (entries in order, chained, each signed
 * by the keys it concerns); with EXT (--key-history) given, the rows must be its beginning and
 * EXT is what the checkpoints are checked against. Then the meta key must be the key in use at
 * the archive's creation, and a KEY given with --pubkey one of the history's keys. */
static void check_key_history(struct ctx *c, const struct key_history *ext,
                              const struct archive_pubkey *key)
{
	uint8_t raw[32];

	c->rows_history = key_history_new();
	for (guint i = 0; i < c->key_rows->len; i++) {
		struct key_row *k = g_ptr_array_index(c->key_rows, i);
		char *why = NULL;

		if (key_history_add(c->rows_history, k->entry, k->sig->data, k->sig->len,
		                    k->sig2 ? k->sig2->data : NULL, k->sig2 ? k->sig2->len : 0,
		                    &why) != 0) {
			problem(c, k->leaf,
			        "key_history row %" G_GINT64_FORMAT " (leaf %" G_GUINT64_FORMAT
			        ", entry %u): %s",
			        k->rowid, k->leaf, i, why);
			g_free(why);
			return;
		}
		if (ext && (i >= key_history_length(ext) ||
		            strcmp(key_history_entry(ext, i)->text, k->entry) != 0)) {
			problem(
			    c, k->leaf,
			    "key_history row %" G_GINT64_FORMAT
			    " (entry %u): differs from the key history given with --key-history",
			    k->rowid, i);
			return;
		}
	}
	c->history = ext ? ext : c->rows_history;
	if (key_history_length(c->history) == 0) {
		c->history = NULL;
		return;
	}
	c->rep->key_rotations = 0;
	for (guint i = 0; i < key_history_length(c->history); i++)
		if (key_history_entry(c->history, i)->ev.kind == KEY_EVENT_ROTATE)
			c->rep->key_rotations++;
		else
			c->rep->key_revocations++;
	if (c->meta_key_ok && key_history_keys(c->history) > 0) {
		const struct key_window *w = key_history_at(c->history, c->created_us);

		if (!w || memcmp(w->raw, c->meta_key_raw, 32) != 0)
			problem(
			    c, 0,
			    "meta row 1: signing_pubkey is not the key the key history has in use "
			    "at the archive's creation (altered)");
	}
	if (c->key2 && key_history_slot_keys(c->history, KEY_SLOT_SECOND) > 0) {
		const struct key_window *w2 =
		    key_history_slot_at(c->history, KEY_SLOT_SECOND, c->created_us);

		if (!w2 || memcmp(w2->idh, c->key2_hash, 32) != 0)
			problem(c, 0,
			        "meta row 1: signing_pubkey2 is not the second key the key history has "
			        "in use at the archive's creation (altered)");
	}
	if (key && !c->rep->key_embedded && key_history_keys(c->history) > 0) {
		uint8_t id[32];

		if (archive_pubkey_raw(key, raw) == 0) {
			checkpoint_sha256(raw, 32, id);
			if (key_history_find(c->history, id)) {
				c->rep->key_differs = 0;
				return;
			}
		}
		problem(c, KEY_CHECKPOINT,
		        "the key given with --pubkey is none of the keys of the key history");
	}
}

/* With a key history: the key of SLOT a checkpoint's key (or key2) line names (BODY), which
 * must be valid at its time T. *W gets it (NULL when the body names none or the history holds
 * no such key); returns NULL when it may sign then, else why not (a new string). */
static char *checkpoint_key(struct ctx *c, int64_t id, const char *body, int64_t t,
                            enum key_slot slot, const struct key_window **w)
{
	const char *tag = slot == KEY_SLOT_SECOND ? "\nkey2 " : "\nkey ";
	const char *p = strstr(body, tag);
	size_t n = strlen(tag);
	uint8_t hash[32];
	char hex[65], *why;

	*w = NULL;
	if (!p || strlen(p + n) < 65 || p[n + 64] != '\n' ||
	    key_history_slot_keys(c->history, slot) == 0)
		return NULL;
	memcpy(hex, p + n, 64);
	hex[64] = '\0';
	if (hex_decode_lower(hex, hash, 32) != 0)
		return NULL;
	*w = key_history_slot_find(c->history, slot, hash);
	if (!*w)
		return g_strdup_printf("checkpoints row %" G_GINT64_FORMAT
		                       ": signed by a %s the key history does not hold",
		                       id, slot == KEY_SLOT_SECOND ? "second key" : "key");
	why = key_window_check_use(*w, t);
	if (why) {
		char *out = g_strdup_printf("checkpoints row %" G_GINT64_FORMAT ": %s%s", id,
		                            slot == KEY_SLOT_SECOND ? "second signature " : "", why);

		g_free(why);
		return out;
	}
	return NULL;
}

/* Notes which key signed checkpoint ID (for the report: "key X: checkpoints 1-4"). */
static void note_signer(struct signers *sg, const struct key_window *w, int64_t id)
{
	if (w == sg->last) {
		sg->last_id = id;
		return;
	}
	if (sg->last)
		g_string_append_printf(
		    sg->text, "%skey %s (checkpoints %" G_GINT64_FORMAT "-%" G_GINT64_FORMAT ")",
		    sg->text->len ? ", " : "", sg->last->id, sg->first_id, sg->last_id);
	sg->last = w;
	sg->first_id = sg->last_id = id;
}

/* 1 when KEY2 (--pubkey2) is a second key of the key history: any of them anchors it (every
 * rotation of the second key is signed by both). */
static int second_in_history(struct ctx *c, const struct archive_pubkey *key2)
{
	uint8_t id[32];

	return c->history && archive_pubkey_spki_sha256(key2, id) == 0 &&
	       key_history_slot_find(c->history, KEY_SLOT_SECOND, id) != NULL;
}

static void check_checkpoints(struct ctx *c, const struct archive_pubkey *key, uint64_t n)
{
	struct merkle_builder tree;
	sqlite3_stmt *st;
	uint64_t prev = 0;
	uint8_t prev_hash[32] = {0};
	int64_t expect_id = 1, last_id = 0;
	char *origin =
	    c->version >= 2 ? checkpoint_origin(c->site, c->tender ? c->tender : "") : NULL;
	int rc;

	merkle_builder_init(&tree);
	if (sqlite3_prepare_v2(c->db, "SELECT coalesce(max(id), 0) FROM checkpoints", -1, &st,
	                       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		last_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(c->db,
	                       c->version >= 2
	                           ? "SELECT id, tree_size, root, time_us, body, signature, "
	                             "signature2 FROM checkpoints ORDER BY id"
	                           : "SELECT id, tree_size, root, time_us, body, signature, NULL "
	                             "FROM checkpoints ORDER BY id",
	                       -1, &st, NULL) != SQLITE_OK) {
		problem(c, KEY_CHECKPOINT, "checkpoints: unreadable: sqlite: %s",
		        sqlite3_errmsg(c->db));
		g_free(origin);
		return;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int ok = 1;
		int64_t id = sqlite3_column_int64(st, 0);
		int64_t size = col_int(st, 1, &ok);
		const uint8_t *root = col_hash(st, 2, &ok);
		int64_t t = col_int(st, 3, &ok);
		const char *body = col_text(st, 4, &ok);
		const void *sig = sqlite3_column_blob(st, 5);
		int sig_len = sqlite3_column_bytes(st, 5);
		uint64_t k = KEY_CHECKPOINT + (uint64_t)id;
		uint8_t computed[32];
		char *expect;

		c->rep->checkpoints++;
		if (id != expect_id)
			problem(c, KEY_CHECKPOINT + (uint64_t)expect_id,
			        "checkpoints row %" G_GINT64_FORMAT
			        " missing (deleted; next present row is %" G_GINT64_FORMAT ")",
			        expect_id, id);
		expect_id = id + 1;
		if (!ok || size < 0) {
			problem(c, k, "checkpoints row %" G_GINT64_FORMAT ": malformed columns",
			        id);
			continue;
		}
		if ((uint64_t)size > n) {
			problem(c, n,
			        "checkpoints row %" G_GINT64_FORMAT " signs %" G_GINT64_FORMAT
			        " leaves but only %" G_GUINT64_FORMAT
			        " are present: leaf %" G_GUINT64_FORMAT " onwards deleted",
			        id, size, n, n);
			checkpoint_sha256(body, strlen(body), prev_hash);
			continue;
		}
		if ((uint64_t)size < prev)
			problem(c, k,
			        "checkpoints row %" G_GINT64_FORMAT
			        ": reordered: tree size %" G_GINT64_FORMAT
			        " is smaller than an earlier checkpoint's",
			        id, size);
		/* Sizes only grow, so one pass over the leaves serves every checkpoint. */
		if ((uint64_t)size >= tree.size) {
			while (tree.size < (uint64_t)size)
				merkle_builder_add(&tree,
				                   c->rep->leaf_hashes->data + tree.size * 32);
			merkle_builder_root(&tree, computed);
		} else {
			merkle_root(c->rep->leaf_hashes->data, (uint64_t)size, computed);
		}
		const struct key_window *kw = NULL, *kw2 = NULL;
		char *kwhy = c->history && c->version >= 2
		                 ? checkpoint_key(c, id, body, t, KEY_SLOT_MAIN, &kw)
		                 : NULL;

		/* A second key that rotated: each checkpoint's key2 line names the one in use. */
		if (!kwhy && c->history && c->key2 && c->version >= 2 &&
		    key_history_slot_keys(c->history, KEY_SLOT_SECOND) > 0)
			kwhy = checkpoint_key(c, id, body, t, KEY_SLOT_SECOND, &kw2);
		if (c->version >= 2) {
			struct checkpoint_fields f = {origin,
			                              (uint64_t)size,
			                              root,
			                              t,
			                              prev_hash,
			                              kw ? kw->idh : c->meta_key_hash,
			                              !c->key2 ? NULL
			                              : kw2    ? kw2->idh
			                                       : c->key2_hash,
			                              id == last_id && c->rep->sealed ? c->sealed_us
			                                                              : -1};

			expect = checkpoint_body_v2(&f);
		} else {
			expect =
			    checkpoint_body(c->tender ? c->tender : "", (uint64_t)size, root, t);
		}
		if (memcmp(computed, root, 32) != 0)
			problem(c, k,
			        "checkpoints row %" G_GINT64_FORMAT
			        ": root does not match the first %" G_GINT64_FORMAT
			        " records (a signed record was altered)",
			        id, size);
		else if (strcmp(expect, body) != 0) {
			char *why =
			    c->version >= 2
			        ? body_mismatch(body, expect, id)
			        : g_strdup_printf("checkpoints row %" G_GINT64_FORMAT
			                          ": signed body does not match its columns",
			                          id);

			problem(c, k, "%s", why);
			g_free(why);
		} else if (kwhy) {
			problem(c, k, "%s", kwhy);
		} else if (!sig || archive_pubkey_verify(kw ? kw->pub : key, body, strlen(body),
		                                         sig, (size_t)sig_len) != 0)
			problem(c, k, "checkpoints row %" G_GINT64_FORMAT ": signature invalid%s",
			        id,
			        c->rep->key_embedded ? ""
			        : c->rep->key_differs
			            ? " for the given public key (the file records another signing "
			              "key than --pubkey)"
			            : " for the given public key");
		else if (!c->key2 && sqlite3_column_type(st, 6) != SQLITE_NULL)
			problem(c, k,
			        "checkpoints row %" G_GINT64_FORMAT ": signature2 is set but "
			        "meta.signing_pubkey2 records no second key (altered)",
			        id);
		else if (c->key2 &&
		         (sqlite3_column_type(st, 6) != SQLITE_BLOB ||
		          archive_pubkey_verify(kw2 ? kw2->pub : c->key2_check, body, strlen(body),
		                                sqlite3_column_blob(st, 6),
		                                (size_t)sqlite3_column_bytes(st, 6)) != 0))
			problem(c, k,
			        "checkpoints row %" G_GINT64_FORMAT
			        ": second signature (%s) invalid%s",
			        id, c->key2_sm2 ? "SM2" : "Ed25519",
			        kw2 ? " for the second key its key2 line names"
			        : c->key2_check != c->key2 ? " for the given --pubkey2"
			                                   : "");
		else if ((uint64_t)size > c->rep->signed_leaves)
			c->rep->signed_leaves = (uint64_t)size;
		if (kw && !kwhy)
			note_signer(&c->signers, kw, id);
		if (kw2 && !kwhy)
			note_signer(&c->signers2, kw2, id);
		g_free(kwhy);
		g_free(expect);
		checkpoint_sha256(body, strlen(body), prev_hash);
		prev = MAX(prev, (uint64_t)size);
	}
	if (rc != SQLITE_DONE)
		problem(c, KEY_CHECKPOINT, "checkpoints: unreadable: sqlite: %s",
		        sqlite3_errmsg(c->db));
	sqlite3_finalize(st);
	g_free(origin);
}

static void check_orphans(struct ctx *c)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(c->db,
	                       "SELECT id, segment FROM segment_chunks WHERE segment NOT IN "
	                       "(SELECT id FROM segments) OR id IS NOT segment * 1048576 + idx "
	                       "ORDER BY id LIMIT 1",
	                       -1, &st, NULL) != SQLITE_OK)
		return;
	if (sqlite3_step(st) == SQLITE_ROW)
		problem(c, KEY_CHECKPOINT - 1,
		        "segment_chunks row %" G_GINT64_FORMAT
		        ": not part of its segment (segments row %" G_GINT64_FORMAT
		        " is missing or the chunk id does not match segment and idx)",
		        (gint64)sqlite3_column_int64(st, 0), (gint64)sqlite3_column_int64(st, 1));
	sqlite3_finalize(st);
}

const struct archive_pubkey *archive_checkpoint_signer(const struct key_history *h,
                                                       const char *body, enum key_slot slot,
                                                       const struct archive_pubkey *fallback,
                                                       char **why)
{
	const struct key_window *w = NULL;
	char *line, *t;
	uint8_t idh[32];
	int64_t at = 0;

	*why = NULL;
	if (!h || key_history_slot_keys(h, slot) == 0)
		return fallback;
	line = checkpoint_line_value(body, slot == KEY_SLOT_SECOND ? "key2" : "key");
	t = checkpoint_line_value(body, "time");
	if (line && t) {
		if (hex_decode_lower(line, idh, 32) != 0 || leaf_parse_time(t, &at) != 0 ||
		    !(w = key_history_slot_find(h, slot, idh)))
			*why = g_strdup_printf("signed by a %s the key history does not hold",
			                       slot == KEY_SLOT_SECOND ? "second key" : "key");
		else
			*why = key_window_check_use(w, at);
	}
	g_free(line);
	g_free(t);
	if (*why)
		return NULL;
	return w ? w->pub : fallback;
}

int archive_verify(struct archive_reader *r, const struct archive_pubkey *key,
                   struct archive_verify_report *rep)
{
	return archive_verify_keys(r, key, NULL, rep);
}

int archive_verify_keys(struct archive_reader *r, const struct archive_pubkey *key,
                        const struct archive_pubkey *key2, struct archive_verify_report *rep)
{
	return archive_verify_history(r, key, key2, NULL, rep);
}

int archive_verify_history(struct archive_reader *r, const struct archive_pubkey *key,
                           const struct archive_pubkey *key2, const struct key_history *history,
                           struct archive_verify_report *rep)
{
	struct archive_pubkey *owned = NULL;
	struct ctx c = {0};
	sqlite3_stmt *st;
	uint64_t n;
	int rc;

	memset(rep, 0, sizeof(*rep));
	rep->leaf_hashes = g_byte_array_new();
	c.db = archive_reader_db(r);
	c.rep = rep;
	c.entries = g_array_new(FALSE, FALSE, sizeof(struct entry));
	c.sealed_event_leaf = -1;
	c.version = archive_reader_version(r);
	rep->version = c.version;
	c.key_rows = g_ptr_array_new_with_free_func(key_row_free);
	c.signers.text = g_string_new(NULL);
	c.signers2.text = g_string_new(NULL);

	/* Structure first: a damaged b-tree makes every later answer meaningless. */
	if (sqlite3_prepare_v2(c.db, "PRAGMA quick_check", -1, &st, NULL) == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW || g_strcmp0((const char *)sqlite3_column_text(st, 0), "ok"))
			problem(&c, 0, "SQLite structure damaged: %s",
			        rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0)
			                         : sqlite3_errmsg(c.db));
		sqlite3_finalize(st);
	}
	if (rep->problem) {
		rc = -EBADMSG;
		goto out;
	}
	rc = check_meta(&c, &key, &owned);
	if (rc)
		goto out;
	if (c.key2) {
		c.key2_sm2 = strcmp(archive_pubkey_algorithm(c.key2), "sm2-sm3") == 0;
		c.key2_check = key2 ? key2 : c.key2;
		rep->second_key = archive_pubkey_algorithm(c.key2);
	} else if (key2) {
		problem(
		    &c, KEY_CHECKPOINT,
		    "meta row 1: no second signing key is recorded, but --pubkey2 was given (the "
		    "archive has only the Ed25519 signatures, or its second key was removed)");
	}
	rc = scan_table(&c, "meta",
	                "SELECT id, leaf, leaf_hash, tender, session, created_us, name FROM meta "
	                "ORDER BY id",
	                build_meta);
	rc = rc ? rc
	        : scan_table(&c, "draw",
	                     "SELECT id, leaf, leaf_hash, time_us, record FROM draw ORDER BY id",
	                     build_draw);
	rc = rc ? rc
	        : scan_table(&c, "events",
	                     "SELECT id, leaf, leaf_hash, time_us, kind, source, body FROM events "
	                     "ORDER BY id",
	                     build_event);
	rc = rc ? rc
	        : scan_table(&c, "segments",
	                     "SELECT id, leaf, leaf_hash, stream, seq, start_us, end_us, size, "
	                     "sha256, container FROM segments ORDER BY id",
	                     build_segment);
	rc = rc ? rc
	        : scan_table(&c, "gaps",
	                     "SELECT id, leaf, leaf_hash, stream, from_us, to_us, reason FROM gaps "
	                     "ORDER BY id",
	                     build_gap);
	if (rc == 0 && c.version >= 3)
		rc = scan_table(&c, "key_history",
		                "SELECT id, leaf, leaf_hash, entry, signature, signature2 FROM "
		                "key_history ORDER BY id",
		                build_key_row);
	if (rc)
		goto out;
	rep->leaves = c.entries->len;
	n = check_leaf_order(&c);
	check_orphans(&c);
	check_key_history(&c, history, key);
	if (c.key2 && key2 && !archive_pubkey_equal(key2, c.key2) && !second_in_history(&c, key2))
		problem(&c, KEY_CHECKPOINT,
		        "meta row 1: signing_pubkey2 records another second key than the one "
		        "given with --pubkey2%s",
		        c.history ? ", and the key history holds no such second key" : "");
	check_checkpoints(&c, key, n);
	note_signer(&c.signers, NULL, 0);
	note_signer(&c.signers2, NULL, 0);
	if (c.signers.text->len)
		rep->key_signers = g_strdup(c.signers.text->str);
	if (c.signers2.text->len)
		rep->key2_signers = g_strdup(c.signers2.text->str);
	if (rep->signed_leaves < n) {
		struct entry *e = &g_array_index(c.entries, struct entry, rep->signed_leaves);

		problem(&c, KEY_UNSIGNED + rep->signed_leaves,
		        "%s row %" G_GINT64_FORMAT " (leaf %" G_GUINT64_FORMAT
		        "): unsigned: not covered by any valid checkpoint (%s)",
		        e->table, e->rowid, e->leaf,
		        rep->checkpoints ? "the last valid one covers fewer leaves"
		                         : "the file has no checkpoint");
	}
	if (rep->sealed && (c.sealed_event_leaf < 0 || (uint64_t)c.sealed_event_leaf + 1 != n))
		problem(&c, KEY_UNSIGNED + n,
		        "events: meta says sealed but the archive.sealed event is not the last "
		        "record (records after sealing, or the end of the archive was removed)");
	if (!rep->sealed && c.sealed_event_leaf >= 0)
		problem(&c, KEY_UNSIGNED + n,
		        "meta row 1: sealed_us was cleared although the archive.sealed event is "
		        "present");
	if (rep->key_differs)
		problem(&c, KEY_UNSIGNED + n + 1,
		        "meta row 1: signing_pubkey records another key than the one given with "
		        "--pubkey, although the checkpoints verify with --pubkey (the recorded key "
		        "was altered)");
	if (c.version < 2)
		rep->unsigned_by_design =
		    "meta.signing_pubkey, meta.sealed_us, the order of the checkpoints (format "
		    "version 1 signs neither; version 2 does)";
	rc = rep->problem ? -EBADMSG : 0;
out:
	archive_pubkey_free(owned);
	g_array_unref(c.entries);
	g_free(c.site);
	archive_pubkey_free(c.key2);
	g_ptr_array_unref(c.key_rows);
	key_history_free(c.rows_history);
	g_string_free(c.signers.text, TRUE);
	g_string_free(c.signers2.text, TRUE);
	rep->tender = c.tender; /* taken */
	return rc;
}

int archive_verify_timestamps(struct archive_reader *r, const char *ca_file,
                              struct archive_verify_report *rep)
{
	sqlite3 *db = archive_reader_db(r);
	sqlite3_stmt *st;
	int64_t expect = 1, last = 0;
	int rc = 0, step;

	if (archive_reader_version(r) < 2)
		return 0;
	if (sqlite3_prepare_v2(db, "SELECT coalesce(max(id), 0) FROM checkpoints", -1, &st, NULL) ==
	        SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		last = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db,
	                       "SELECT t.id, t.checkpoint, t.token, c.body FROM timestamps t "
	                       "LEFT JOIN checkpoints c ON c.id = t.checkpoint ORDER BY t.id",
	                       -1, &st, NULL) != SQLITE_OK) {
		rep->problem =
		    g_strdup_printf("timestamps: unreadable: sqlite: %s", sqlite3_errmsg(db));
		return -EBADMSG;
	}
	while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0), cp = sqlite3_column_int64(st, 1);
		struct timestamp_info info;
		char *why = NULL;

		if (id != expect) {
			rep->problem = g_strdup_printf("timestamps row %" G_GINT64_FORMAT
			                               " missing (deleted; next present row is "
			                               "%" G_GINT64_FORMAT ")",
			                               expect, id);
			rc = -EBADMSG;
			break;
		}
		expect++;
		if (sqlite3_column_type(st, 1) != SQLITE_INTEGER ||
		    sqlite3_column_type(st, 2) != SQLITE_BLOB ||
		    sqlite3_column_type(st, 3) != SQLITE_TEXT) {
			rep->problem = g_strdup_printf(
			    "timestamps row %" G_GINT64_FORMAT
			    ": malformed, or it names no checkpoint of this file (altered)",
			    id);
			rc = -EBADMSG;
			break;
		}
		if (timestamp_check(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2),
		                    sqlite3_column_text(st, 3), (size_t)sqlite3_column_bytes(st, 3),
		                    ca_file, &info, &why) != 0) {
			rep->problem =
			    g_strdup_printf("timestamps row %" G_GINT64_FORMAT
			                    " (of checkpoints row %" G_GINT64_FORMAT "): %s",
			                    id, cp, why);
			g_free(why);
			rc = -EBADMSG;
			break;
		}
		rep->timestamps++;
		if (cp == last) {
			g_free(rep->final_tsa);
			rep->final_tsa = g_strdup(info.tsa);
			rep->final_time_us = info.time_us;
			rep->final_chain = info.chain;
		}
		timestamp_info_clear(&info);
	}
	sqlite3_finalize(st);
	return rc;
}

void archive_verify_report_clear(struct archive_verify_report *rep)
{
	g_free(rep->problem);
	g_free(rep->final_tsa);
	g_free(rep->tender);
	g_free(rep->key_signers);
	g_free(rep->key2_signers);
	if (rep->leaf_hashes)
		g_byte_array_unref(rep->leaf_hashes);
	memset(rep, 0, sizeof(*rep));
}
