#include "cosignature.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <string.h>

#include "appendix.h"
#include "hex.h"
#include "note.h"

struct cosig_policy_key {
	char *name;
	uint32_t key_id;
	uint8_t pub[32];
};

struct cosig_policy {
	GArray *keys; /* struct cosig_policy_key */
};

char *cosig_message(const char *body, uint64_t time)
{
	return g_strdup_printf("cosignature/v1\ntime %" G_GUINT64_FORMAT "\n%s", time, body);
}

int cosig_sign(const struct archive_signer *s, const char *body, uint64_t time, uint8_t sig[64])
{
	char *msg;
	int rc;

	if (strcmp(archive_signer_algorithm(s), "ed25519") != 0)
		return -EINVAL;
	msg = cosig_message(body, time);
	rc = archive_signer_sign(s, msg, strlen(msg), sig);
	g_free(msg);
	return rc;
}

int cosig_check(const uint8_t pub[32], const char *body, uint64_t time, const uint8_t sig[64])
{
	EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char *msg = cosig_message(body, time);
	int rc = -EBADMSG;

	if (key && ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
	    EVP_DigestVerify(ctx, sig, 64, (const unsigned char *)msg, strlen(msg)) == 1)
		rc = 0;
	g_free(msg);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return rc;
}

char *cosig_note_line(const struct cosignature *cs)
{
	uint8_t ts[8 + 64];

	for (int i = 0; i < 8; i++)
		ts[i] = (uint8_t)(cs->time >> (56 - 8 * i));
	memcpy(ts + 8, cs->signature, 64);
	return note_signature_line(cs->name, cs->key_id, ts, sizeof(ts));
}

/* A stored key id (8 lower-case hex digits) as a number: true when HEX is one. */
static bool key_id_of(const char *hex, uint32_t *out)
{
	uint8_t b[4];

	if (!hex || strlen(hex) != 8 || hex_decode_lower(hex, b, 4) != 0)
		return false;
	*out = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
	return true;
}

char *cosig_note_lines(sqlite3 *db, int64_t checkpoint)
{
	GString *out = g_string_new(NULL);
	sqlite3_stmt *st = NULL;

	/* the appendix is absent until the first cosignature */
	if (sqlite3_prepare_v2(db,
	                       "SELECT name, key_id, time, signature FROM " COSIG_TABLE
	                       " WHERE checkpoint = ? ORDER BY id",
	                       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, checkpoint);
		while (sqlite3_step(st) == SQLITE_ROW) {
			struct cosignature cs = {0};
			const char *name = (const char *)sqlite3_column_text(st, 0);
			const char *kid = (const char *)sqlite3_column_text(st, 1);
			if (!name || strlen(name) > COSIG_NAME_MAX || !key_id_of(kid, &cs.key_id) ||
			    sqlite3_column_bytes(st, 3) != 64)
				continue;
			g_strlcpy(cs.name, name, sizeof(cs.name));
			cs.time = (uint64_t)sqlite3_column_int64(st, 2);
			memcpy(cs.signature, sqlite3_column_blob(st, 3), 64);
			char *line = cosig_note_line(&cs);
			g_string_append(out, line);
			g_free(line);
		}
	}
	sqlite3_finalize(st);
	return g_string_free(out, FALSE);
}

static int store_fail(sqlite3 *db, const char *what, char **why)
{
	int code = db ? sqlite3_errcode(db) : SQLITE_CANTOPEN;
	*why = g_strdup_printf("cosignature not stored: %s: %s", what,
	                       db ? sqlite3_errmsg(db) : "cannot open");
	return code == SQLITE_BUSY || code == SQLITE_LOCKED ? -EAGAIN : -EIO;
}

static const char create_sql[] = "CREATE TABLE IF NOT EXISTS " COSIG_TABLE " ("
                                 "  id INTEGER PRIMARY KEY,"
                                 "  checkpoint INTEGER NOT NULL,"
                                 "  tree_size INTEGER NOT NULL,"
                                 "  name TEXT NOT NULL,"
                                 "  key_id TEXT NOT NULL,"
                                 "  time INTEGER NOT NULL,"
                                 "  signature BLOB NOT NULL,"
                                 "  UNIQUE (checkpoint, name, key_id))";

/* Inserts CS on DB (inside the caller's transaction, the table there). 0 or -errno, *why. */
static int insert_row(sqlite3 *db, const struct cosignature *cs, char **why)
{
	sqlite3_stmt *st = NULL;
	char key_id[9];
	int rc = 0;

	g_snprintf(key_id, sizeof(key_id), "%08x", cs->key_id);
	if (sqlite3_prepare_v2(db,
	                       "INSERT OR IGNORE INTO " COSIG_TABLE " (checkpoint, tree_size, "
	                       "name, key_id, time, signature) VALUES (?, ?, ?, ?, ?, ?)",
	                       -1, &st, NULL) != SQLITE_OK) {
		rc = store_fail(db, "insert", why);
		goto out;
	}
	sqlite3_bind_int64(st, 1, cs->checkpoint);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)cs->tree_size);
	sqlite3_bind_text(st, 3, cs->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, key_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)cs->time);
	sqlite3_bind_blob(st, 6, cs->signature, 64, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = store_fail(db, "insert", why);
out:
	sqlite3_finalize(st);
	return rc;
}

int cosig_store(sqlite3 *db, const struct cosignature *cs, char **why)
{
	int rc;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, create_sql, NULL, NULL, NULL) != SQLITE_OK)
		rc = store_fail(db, "begin", why);
	else if ((rc = insert_row(db, cs, why)) == 0 &&
	         sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		rc = store_fail(db, "commit", why);
	if (rc != 0)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int cosig_store_file(const char *path, const struct cosignature *cs, char **why)
{
	struct appendix_tx tx;
	int rc = appendix_begin(path, create_sql, &tx, why);

	if (rc != 0)
		return rc;
	return appendix_end(&tx, insert_row(tx.db, cs, why), why);
}

int cosig_last_checkpoint(sqlite3 *db, int64_t *id, uint64_t *size, uint8_t root[32], char **body,
                          uint8_t sig[64])
{
	sqlite3_stmt *st = NULL;
	int rc = -EIO;

	if (sqlite3_prepare_v2(db,
	                       "SELECT id, tree_size, root, body, signature FROM checkpoints "
	                       "ORDER BY id DESC LIMIT 1",
	                       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	int step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		rc = -ENOENT;
	} else if (step == SQLITE_ROW && sqlite3_column_bytes(st, 2) == 32 &&
	           sqlite3_column_bytes(st, 4) == 64 && sqlite3_column_text(st, 3)) {
		*id = sqlite3_column_int64(st, 0);
		*size = (uint64_t)sqlite3_column_int64(st, 1);
		memcpy(root, sqlite3_column_blob(st, 2), 32);
		*body = g_strdup((const char *)sqlite3_column_text(st, 3));
		memcpy(sig, sqlite3_column_blob(st, 4), 64);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int cosig_find_checkpoint(sqlite3 *db, const uint8_t body_sha[32], int64_t *id, uint64_t *size,
                          char **body)
{
	sqlite3_stmt *st = NULL;
	int rc = -ENOENT, step;

	if (sqlite3_prepare_v2(db, "SELECT id, tree_size, body FROM checkpoints ORDER BY id DESC",
	                       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *b = sqlite3_column_text(st, 2);
		uint8_t d[32];
		if (!b)
			continue;
		SHA256(b, (size_t)sqlite3_column_bytes(st, 2), d);
		if (memcmp(d, body_sha, 32) == 0) {
			*id = sqlite3_column_int64(st, 0);
			*size = (uint64_t)sqlite3_column_int64(st, 1);
			*body = g_strdup((const char *)b);
			rc = 0;
			break;
		}
	}
	if (rc != 0 && step != SQLITE_DONE)
		rc = -EIO;
	sqlite3_finalize(st);
	return rc;
}

int cosig_consistency_proof(sqlite3 *db, uint64_t from, uint64_t to,
                            uint8_t proof[][MERKLE_HASH_LEN], size_t *len)
{
	/* Format version 3: the key history's rows are leaves too. */
	static const char *const sql_v3 =
	    "SELECT leaf, leaf_hash FROM ("
	    " SELECT leaf, leaf_hash FROM meta UNION ALL SELECT leaf, leaf_hash FROM draw"
	    " UNION ALL SELECT leaf, leaf_hash FROM events"
	    " UNION ALL SELECT leaf, leaf_hash FROM segments"
	    " UNION ALL SELECT leaf, leaf_hash FROM gaps"
	    " UNION ALL SELECT leaf, leaf_hash FROM key_history) WHERE leaf < ? ORDER BY leaf";
	const char *sql = sql_v3;
	sqlite3_stmt *st = NULL;
	GByteArray *leaves = g_byte_array_new();
	uint64_t n = 0;
	int rc = -EIO, step;

	if (from > to)
		goto out;
	if (sqlite3_prepare_v2(db,
	                       "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND "
	                       "name = 'key_history'",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW)
		sql = "SELECT leaf, leaf_hash FROM ("
		      " SELECT leaf, leaf_hash FROM meta UNION ALL SELECT leaf, leaf_hash FROM draw"
		      " UNION ALL SELECT leaf, leaf_hash FROM events"
		      " UNION ALL SELECT leaf, leaf_hash FROM segments"
		      " UNION ALL SELECT leaf, leaf_hash FROM gaps) WHERE leaf < ? ORDER BY leaf";
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)to);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if ((uint64_t)sqlite3_column_int64(st, 0) != n ||
		    sqlite3_column_bytes(st, 1) != 32) {
			rc = -EINVAL;
			goto out;
		}
		g_byte_array_append(leaves, sqlite3_column_blob(st, 1), 32);
		n++;
	}
	if (step != SQLITE_DONE)
		goto out;
	rc = n == to ? merkle_consistency_proof(leaves->data, to, from, proof, len) : -EINVAL;
out:
	if (from > to)
		rc = -EINVAL;
	sqlite3_finalize(st);
	g_byte_array_unref(leaves);
	return rc;
}

static void policy_key_clear(gpointer p)
{
	g_free(((struct cosig_policy_key *)p)->name);
}

int cosig_policy_load(const char *path, struct cosig_policy **out, char **why)
{
	char *text = NULL, **lines;
	GError *err = NULL;
	struct cosig_policy *p;
	int rc = 0;

	if (!g_file_get_contents(path, &text, NULL, &err)) {
		*why = g_strdup(err->message);
		g_error_free(err);
		return -ENOENT;
	}
	p = g_new0(struct cosig_policy, 1);
	p->keys = g_array_new(FALSE, TRUE, sizeof(struct cosig_policy_key));
	g_array_set_clear_func(p->keys, policy_key_clear);
	lines = g_strsplit(text, "\n", -1);
	for (size_t i = 0; lines[i] && rc == 0; i++) {
		char *l = g_strstrip(lines[i]);
		struct cosig_policy_key k = {0};
		uint8_t type;
		char *bad = NULL;
		if (!*l || *l == '#')
			continue;
		if (note_vkey_parse(l, &k.name, &type, k.pub, &k.key_id, &bad) != 0) {
			*why = g_strdup_printf("%s line %zu: %s", path, i + 1, bad);
			g_free(bad);
			rc = -EINVAL;
		} else if (type != NOTE_TYPE_COSIGNATURE_V1) {
			*why = g_strdup_printf("%s line %zu: the key of %s is not a cosigner's "
			                       "(cosignature/v1 keys have type 0x04)",
			                       path, i + 1, k.name);
			g_free(k.name);
			rc = -EINVAL;
		} else {
			g_array_append_val(p->keys, k);
		}
	}
	g_strfreev(lines);
	g_free(text);
	if (rc == 0 && p->keys->len == 0) {
		*why = g_strdup_printf("%s: no cosigner's verifier key in it", path);
		rc = -EINVAL;
	}
	if (rc != 0) {
		cosig_policy_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void cosig_policy_free(struct cosig_policy *p)
{
	if (!p)
		return;
	g_array_unref(p->keys);
	g_free(p);
}

size_t cosig_policy_size(const struct cosig_policy *p)
{
	return p ? p->keys->len : 0;
}

static const struct cosig_policy_key *policy_find(const struct cosig_policy *p, const char *name,
                                                  uint32_t key_id, guint *index)
{
	for (guint i = 0; p && i < p->keys->len; i++) {
		const struct cosig_policy_key *k =
		    &g_array_index(p->keys, struct cosig_policy_key, i);
		if (k->key_id == key_id && strcmp(k->name, name) == 0) {
			*index = i;
			return k;
		}
	}
	return NULL;
}

struct checkpoint_row {
	uint64_t size;
	char *body;
};

static void checkpoint_row_free(gpointer p)
{
	g_free(((struct checkpoint_row *)p)->body);
	g_free(p);
}

int cosig_verify(sqlite3 *db, const struct cosig_policy *policy, unsigned min,
                 struct cosig_report *rep)
{
	GHashTable *cps =
	    g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, checkpoint_row_free);
	GString *lines = g_string_new(NULL);
	gboolean *valid_final = g_new0(gboolean, cosig_policy_size(policy) + 1);
	sqlite3_stmt *st = NULL;
	int64_t final_id = 0;
	int rc = -EIO, step;

	memset(rep, 0, sizeof(*rep));
	if (sqlite3_prepare_v2(db, "SELECT id, tree_size, body FROM checkpoints ORDER BY id", -1,
	                       &st, NULL) != SQLITE_OK)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct checkpoint_row *row = g_new0(struct checkpoint_row, 1);
		int64_t *id = g_new(int64_t, 1);
		*id = sqlite3_column_int64(st, 0);
		row->size = (uint64_t)sqlite3_column_int64(st, 1);
		row->body = g_strdup((const char *)sqlite3_column_text(st, 2));
		g_hash_table_replace(cps, id, row);
		final_id = *id;
		rep->final_size = row->size;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (step != SQLITE_DONE)
		goto out;
	rc = 0;
	/* the appendix is absent until the first cosignature */
	if (sqlite3_prepare_v2(db,
	                       "SELECT id, checkpoint, tree_size, name, key_id, time, signature "
	                       "FROM " COSIG_TABLE " ORDER BY id",
	                       -1, &st, NULL) == SQLITE_OK) {
		while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
			int64_t id = sqlite3_column_int64(st, 0), cp = sqlite3_column_int64(st, 1);
			uint64_t size = (uint64_t)sqlite3_column_int64(st, 2);
			const char *name = (const char *)sqlite3_column_text(st, 3);
			const char *kid = (const char *)sqlite3_column_text(st, 4);
			int64_t time = sqlite3_column_int64(st, 5);
			const uint8_t *sig = sqlite3_column_blob(st, 6);
			struct checkpoint_row *row = g_hash_table_lookup(cps, &cp);
			uint32_t key_id = 0;
			guint idx = 0;
			rep->rows++;
			if ((uint64_t)id != rep->rows) {
				rep->problem = g_strdup_printf(COSIG_TABLE " row %" G_GUINT64_FORMAT
				                                           " missing (deleted)",
				                               rep->rows);
				break;
			}
			if (!name || !key_id_of(kid, &key_id) ||
			    sqlite3_column_bytes(st, 6) != 64 || time < 0) {
				rep->problem = g_strdup_printf(
				    COSIG_TABLE " row %" G_GINT64_FORMAT ": malformed", id);
				break;
			}
			if (!row) {
				rep->problem = g_strdup_printf(
				    COSIG_TABLE " row %" G_GINT64_FORMAT
				                ": names checkpoint %" G_GINT64_FORMAT
				                ", which the file does not hold",
				    id, cp);
				break;
			}
			if (row->size != size) {
				rep->problem = g_strdup_printf(
				    COSIG_TABLE " row %" G_GINT64_FORMAT
				                ": tree size %" G_GUINT64_FORMAT
				                " is not that of checkpoint %" G_GINT64_FORMAT
				                " (%" G_GUINT64_FORMAT ")",
				    id, size, cp, row->size);
				break;
			}
			const struct cosig_policy_key *k = policy_find(policy, name, key_id, &idx);
			const char *what;
			if (!policy)
				what = "not checked (no --cosigners)";
			else if (!k)
				what = "unknown key";
			else if (cosig_check(k->pub, row->body, (uint64_t)time, sig) != 0)
				what = "BAD SIGNATURE";
			else
				what = "valid";
			g_string_append_printf(
			    lines,
			    "%s: %s (key %s) cosigned checkpoint %" G_GINT64_FORMAT
			    " (size %" G_GUINT64_FORMAT ") at %" G_GINT64_FORMAT "\n",
			    what, name, kid, cp, size, time);
			if (k && strcmp(what, "valid") == 0 && cp == final_id &&
			    !valid_final[idx]) {
				valid_final[idx] = TRUE;
				rep->final_valid++;
			}
			if (k && strcmp(what, "BAD SIGNATURE") == 0)
				rep->problem =
				    g_strdup_printf(COSIG_TABLE " row %" G_GINT64_FORMAT
				                                ": the cosignature of %s (key %s) "
				                                "does not verify (altered)",
				                    id, name, kid);
		}
	}
	if (!rep->problem && policy) {
		GString *missing = g_string_new(NULL);
		for (guint i = 0; i < policy->keys->len; i++)
			if (!valid_final[i])
				g_string_append_printf(
				    missing, "%s%s", missing->len ? ", " : "",
				    g_array_index(policy->keys, struct cosig_policy_key, i).name);
		rep->missing = missing->len ? g_strdup(missing->str) : NULL;
		g_string_free(missing, TRUE);
		if (rep->final_valid < min)
			rep->problem = g_strdup_printf(
			    "cosignatures: the final checkpoint (size %" G_GUINT64_FORMAT
			    ") is cosigned by %u of the %u cosigners required (--min-cosigners); "
			    "missing: %s",
			    rep->final_size, rep->final_valid, min,
			    rep->missing ? rep->missing : "-");
	}
	if (rep->problem)
		rc = -EBADMSG;
out:
	if (rc == -EIO)
		rep->problem = g_strdup_printf(COSIG_TABLE ": sqlite: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	rep->lines = g_string_free(lines, FALSE);
	g_free(valid_final);
	g_hash_table_unref(cps);
	return rc;
}

void cosig_report_clear(struct cosig_report *rep)
{
	g_free(rep->lines);
	g_free(rep->missing);
	g_free(rep->problem);
	memset(rep, 0, sizeof(*rep));
}
