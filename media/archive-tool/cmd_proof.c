/* evalroom-archive proof / verify-proof: an RFC 6962 inclusion proof that one segment is a
 * leaf of the tree whose root the controller signed, checkable without the archive. */
#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "archive.h"
#include "hex.h"
#include "key_history.h"
#include "leaf.h"
#include "merkle.h"
#include "tool.h"
#include "verify.h"
#include "text_safe.h"

#define PROOF_FORMAT "evalroom-archive proof v1"

static char *hex_of(const void *p, size_t n)
{
	char *s = g_malloc(2 * n + 1);

	hex_encode(p, n, s);
	return s;
}

static json_t *hex_json(const void *p, size_t n)
{
	char *s = hex_of(p, n);
	json_t *j = json_string(s);

	g_free(s);
	return j;
}

static int save(const char *dir, const char *name, const void *data, size_t len)
{
	char *path = g_build_filename(dir, name, NULL);
	int ok = g_file_set_contents(path, data, (gssize)len, NULL);

	if (!ok)
		tool_err(_("cannot write %s"), path);
	g_free(path);
	return ok ? 0 : -EIO;
}

GByteArray *proof_segment_bytes(sqlite3 *db, int64_t id)
{
	GByteArray *b = g_byte_array_new();
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(
	        db,
	        "SELECT data FROM segment_chunks "
	        "WHERE id BETWEEN ?1 * 1048576 AND ?1 * 1048576 + 1048575 ORDER BY id",
	        -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, id);
		while (sqlite3_step(st) == SQLITE_ROW)
			g_byte_array_append(b, sqlite3_column_blob(st, 0),
			                    (guint)sqlite3_column_bytes(st, 0));
		sqlite3_finalize(st);
	}
	return b;
}

json_t *proof_build(sqlite3 *db, const GByteArray *leaf_hashes, int64_t id, int64_t cp_row)
{
	sqlite3_stmt *seg = NULL, *cp = NULL;
	uint8_t path[MERKLE_MAX_PATH][32], root[32];
	json_t *proof = NULL, *jpath;
	int64_t leaf, size;
	size_t len, i;

	if (sqlite3_prepare_v2(
	        db,
	        "SELECT leaf, stream, seq, start_us, end_us, size, sha256, container, "
	        "(SELECT tender FROM meta) FROM segments WHERE id = ?",
	        -1, &seg, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "SELECT id, tree_size, body, signature FROM checkpoints "
	                       "WHERE id = ?1 OR (?1 <= 0 AND id = (SELECT max(id) FROM "
	                       "checkpoints))",
	                       -1, &cp, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(seg, 1, id);
	sqlite3_bind_int64(cp, 1, cp_row);
	if (sqlite3_step(seg) != SQLITE_ROW || sqlite3_step(cp) != SQLITE_ROW)
		goto out;
	leaf = sqlite3_column_int64(seg, 0);
	size = sqlite3_column_int64(cp, 1);
	if (leaf < 0 || size < 0 || (uint64_t)size * 32 > leaf_hashes->len ||
	    merkle_inclusion_path(leaf_hashes->data, (uint64_t)size, (uint64_t)leaf, path, &len))
		goto out;
	merkle_root(leaf_hashes->data, (uint64_t)size, root);
	jpath = json_array();
	for (i = 0; i < len; i++)
		json_array_append_new(jpath, hex_json(path[i], 32));
	proof = json_pack(
	    "{s:s, s:s, s:{s:I, s:s, s:I, s:I, s:I, s:I, s:o, s:s}, s:I, s:o, s:I, s:o, s:o, "
	    "s:I, s:s, s:o}",
	    "format", PROOF_FORMAT, "tender", (const char *)sqlite3_column_text(seg, 8), "segment",
	    "row", (json_int_t)id, "stream", (const char *)sqlite3_column_text(seg, 1), "seq",
	    (json_int_t)sqlite3_column_int64(seg, 2), "start_us",
	    (json_int_t)sqlite3_column_int64(seg, 3), "end_us",
	    (json_int_t)sqlite3_column_int64(seg, 4), "size",
	    (json_int_t)sqlite3_column_int64(seg, 5), "sha256",
	    hex_json(sqlite3_column_blob(seg, 6), 32), "container",
	    (const char *)sqlite3_column_text(seg, 7), "leaf_index", (json_int_t)leaf, "leaf_hash",
	    hex_json(leaf_hashes->data + leaf * 32, 32), "tree_size", (json_int_t)size, "path",
	    jpath, "root", hex_json(root, 32), "checkpoint_row",
	    (json_int_t)sqlite3_column_int64(cp, 0), "checkpoint_body",
	    (const char *)sqlite3_column_text(cp, 2), "signature",
	    hex_json(sqlite3_column_blob(cp, 3), (size_t)sqlite3_column_bytes(cp, 3)));
out:
	sqlite3_finalize(seg);
	sqlite3_finalize(cp);
	return proof;
}

static int segment_exists(sqlite3 *db, int64_t id)
{
	sqlite3_stmt *st;
	int found = 0;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM segments WHERE id = ?", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_int64(st, 1, id);
		found = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
	}
	return found;
}

static int write_proof(struct archive_reader *r, const struct archive_verify_report *rep, gint64 id,
                       const char *dir)
{
	sqlite3 *db = archive_reader_db(r);
	json_t *proof = NULL;
	GByteArray *bytes = NULL;
	char *text = NULL, *body;
	int rc = EXIT_FAILED;
	json_int_t leaf, size;
	uint8_t sig[64];

	if (!segment_exists(db, id)) {
		tool_err(_("no segments row %lld"), (long long)id);
		return EXIT_USAGE;
	}
	proof = proof_build(db, rep->leaf_hashes, id, 0);
	if (!proof) {
		tool_err(_("segments row %lld: malformed record"), (long long)id);
		goto out;
	}
	leaf = json_integer_value(json_object_get(proof, "leaf_index"));
	size = json_integer_value(json_object_get(proof, "tree_size"));
	body = (char *)json_string_value(json_object_get(proof, "checkpoint_body"));
	hex_decode(json_string_value(json_object_get(proof, "signature")), sig, 64);
	g_mkdir_with_parents(dir, 0755);
	text = json_dumps(proof, JSON_INDENT(1));
	bytes = proof_segment_bytes(db, id);
	if (save(dir, "proof.json", text, strlen(text)) ||
	    save(dir, "segment.ts", bytes->data, bytes->len) ||
	    save(dir, "checkpoint.txt", body, strlen(body)) || save(dir, "checkpoint.sig", sig, 64))
		goto out;
	printf(_("proof for segments row %lld (leaf %lld of %lld) written to "
	         "%s/{proof.json,segment.ts,checkpoint.txt,checkpoint.sig}\ncheck with: "
	         "evalroom-archive verify-proof %s/proof.json --pubkey controller-signing.pub\n"),
	       (long long)id, (long long)leaf, (long long)size, dir, dir);
	rc = EXIT_INTACT;
out:
	if (bytes)
		g_byte_array_unref(bytes);
	free(text);
	json_decref(proof);
	return rc;
}

int cmd_proof(int argc, char **argv)
{
	char *dir = NULL, *pub = NULL;
	gint64 id = -1;
	GOptionEntry opts[] = {
	    {"segment", 's', 0, G_OPTION_ARG_INT64, &id, N_("segments row id (see export)"), "ID"},
	    {"output", 'o', 0, G_OPTION_ARG_FILENAME, &dir, N_("directory to write into"), "DIR"},
	    {"pubkey", 'k', 0, G_OPTION_ARG_FILENAME, &pub,
	     N_("check the archive against this key first"), "PUB"},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	struct archive_verify_report rep;
	struct archive_pubkey *key = NULL;
	struct archive_reader *r;
	int rc;

	if (!tool_parse(
	        &argc, &argv, "FILE",
	        N_("Verifies the archive, then writes DIR/proof.json (segment record, leaf index, "
	           "RFC 6962 audit path, root, signed checkpoint body and signature), "
	           "DIR/segment.ts (the segment's exact bytes) and DIR/checkpoint.{txt,sig}."),
	        opts, 1))
		return EXIT_USAGE;
	if (id < 0 || !dir) {
		tool_err(_("proof needs --segment ID and -o DIR"));
		rc = EXIT_USAGE;
		goto out;
	}
	if (pub && archive_pubkey_load(pub, &key)) {
		tool_err(_("%s: not a readable Ed25519 public key"), pub);
		rc = EXIT_USAGE;
		goto out;
	}
	r = tool_open(argv[1]);
	if (!r) {
		rc = EXIT_BAD_FILE;
		goto out;
	}
	if (archive_verify(r, key, &rep) != 0) {
		tool_err(_("%s does not verify, no proof made: %s"), argv[1],
		         rep.problem ? rep.problem : "?");
		rc = EXIT_TAMPERED;
	} else {
		rc = write_proof(r, &rep, id, dir);
	}
	archive_verify_report_clear(&rep);
	archive_reader_free(r);
out:
	archive_pubkey_free(key);
	g_free(dir);
	g_free(pub);
	return rc;
}

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int jint(json_t *o, const char *k, int64_t *out)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -EINVAL;
	*out = json_integer_value(v);
	return 0;
}

const char *proof_check(json_t *p, const struct archive_pubkey *key, const char *seg_path)
{
	static char why[256];
	struct archive_segment_info s = {0};
	uint8_t path[MERKLE_MAX_PATH][32], leaf_hash[32], root[32], sig[64];
	json_t *seg = json_object_get(p, "segment"), *jpath = json_object_get(p, "path");
	int64_t index, size;
	const char *body, *tender;
	char *expect_line;
	GByteArray *data;
	size_t i, n;
	int found;

	if (g_strcmp0(jstr(p, "format"), PROOF_FORMAT) != 0)
		return "format: not \"" PROOF_FORMAT "\"";
	tender = jstr(p, "tender");
	if (!tender || !json_is_object(seg) || !json_is_array(jpath))
		return "tender, segment or path missing";
	s.stream = jstr(seg, "stream");
	s.container = jstr(seg, "container");
	if (jint(seg, "seq", &s.seq) || jint(seg, "start_us", &s.start_us) ||
	    jint(seg, "end_us", &s.end_us) || jint(seg, "size", &s.size) ||
	    hex_decode(jstr(seg, "sha256"), s.sha256, 32) || !s.stream || !s.container)
		return "segment: a field is missing or malformed";
	if (leaf_check_segment(&s))
		return leaf_check_segment(&s);
	if (jint(p, "leaf_index", &index) || jint(p, "tree_size", &size) || index >= size)
		return "leaf_index/tree_size: missing or leaf_index >= tree_size";
	n = json_array_size(jpath);
	if (n > MERKLE_MAX_PATH)
		return "path: too long";
	for (i = 0; i < n; i++)
		if (hex_decode(json_string_value(json_array_get(jpath, i)), path[i], 32))
			return "path: an entry is not 64 hex digits";
	if (hex_decode(jstr(p, "root"), root, 32))
		return "root: not 64 hex digits";
	data = leaf_segment_data(&s);
	merkle_leaf_hash(data->data, data->len, leaf_hash);
	g_byte_array_unref(data);
	if (merkle_inclusion_verify(leaf_hash, (uint64_t)index, (uint64_t)size,
	                            (const uint8_t(*)[32])path, n, root) != 0)
		return "the audit path does not lead from the segment's leaf to the root";
	body = jstr(p, "checkpoint_body");
	if (!body)
		return "checkpoint_body missing";
	/* The signed body must name this tender, this tree size and this root: format version
	 * 1's own body, or version 2's C2SP checkpoint (origin SITE/evalroom/TENDER). */
	if (g_str_has_prefix(body, "evalroom-archive checkpoint v1\n")) {
		expect_line = g_strdup_printf(
		    "evalroom-archive checkpoint v1\ntender %s\nsize %lld\nroot %s\n", tender,
		    (long long)size, jstr(p, "root"));
		found = g_str_has_prefix(body, expect_line);
	} else {
		char *b64 = g_base64_encode(root, 32);
		const char *nl = strchr(body, '\n');

		expect_line =
		    g_strdup_printf("/evalroom/%s\n%lld\n%s\n", tender, (long long)size, b64);
		g_free(b64);
		found = nl && (size_t)(nl - body) > strlen(tender) + 10 &&
		        g_str_has_prefix(nl - strlen(tender) - 10, expect_line) &&
		        !memchr(body, ' ', (size_t)(nl - body));
	}
	g_free(expect_line);
	if (!found)
		return "checkpoint_body does not name this tender, tree size and root";
	if (hex_decode(jstr(p, "signature"), sig, 64))
		return "signature: not 128 hex digits";
	if (archive_pubkey_verify(key, body, strlen(body), sig, 64) != 0)
		return "checkpoint signature invalid for the given public key";
	if (seg_path) {
		gchar *bytes;
		gsize len;
		uint8_t d[32];

		if (!g_file_get_contents(seg_path, &bytes, &len, NULL))
			return "segment file unreadable";
		SHA256((const uint8_t *)bytes, len, d);
		g_free(bytes);
		if ((int64_t)len != s.size || memcmp(d, s.sha256, 32) != 0) {
			snprintf(why, sizeof(why),
			         "%s: size or SHA-256 differs from the proven segment", seg_path);
			return why;
		}
	}
	return NULL;
}

int cmd_verify_proof(int argc, char **argv)
{
	char *pub = NULL, *seg = NULL, *dir, *hist_path = NULL, *kwhy = NULL;
	struct key_history *hist = NULL;
	const struct archive_pubkey *signer;
	GOptionEntry opts[] = {
	    {"pubkey", 'k', 0, G_OPTION_ARG_FILENAME, &pub,
	     N_("controller's public key (required)"), "controller-signing.pub"},
	    {"key-history", 0, 0, G_OPTION_ARG_FILENAME, &hist_path,
	     N_("the controller's key history (key-history.log): after a key rotation, check the "
	        "signature with the key the checkpoint's key line names, in use and not revoked at "
	        "its time; --pubkey must be one of its keys"),
	     "key-history.log"},
	    {"segment-file", 0, 0, G_OPTION_ARG_FILENAME, &seg,
	     N_("the segment bytes to check (default: segment.ts next to the proof)"), "FILE"},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	struct archive_pubkey *key = NULL;
	json_error_t jerr;
	const char *why;
	json_t *p = NULL;
	int rc = EXIT_USAGE;

	if (!tool_parse(
	        &argc, &argv, "PROOF.json",
	        N_("Checks a proof made by `proof` without the archive: the segment's leaf hash, "
	           "the RFC 6962 audit path to the root, that the signed checkpoint body names "
	           "that root and tree size, its Ed25519 signature with --pubkey, and the SHA-256 "
	           "of the segment file."),
	        opts, 1))
		goto out;
	if (!pub || archive_pubkey_load(pub, &key)) {
		tool_err(_("verify-proof needs --pubkey with a readable Ed25519 public key"));
		goto out;
	}
	p = json_load_file(argv[1], JSON_REJECT_DUPLICATES, &jerr);
	if (!p || !json_is_object(p)) {
		char *why_text = text_display(p ? "not a JSON object" : jerr.text); /* quotes the file */
		tool_err(_("%s: not a proof: %s"), argv[1], why_text);
		g_free(why_text);
		rc = EXIT_BAD_FILE;
		goto out;
	}
	if (!seg) {
		dir = g_path_get_dirname(argv[1]);
		seg = g_build_filename(dir, "segment.ts", NULL);
		g_free(dir);
		if (!g_file_test(seg, G_FILE_TEST_EXISTS))
			g_clear_pointer(&seg, g_free);
	}
	if (hist_path) {
		GError *herr = NULL;
		uint8_t raw[32], idh[32];

		if (key_history_load(hist_path, &hist, &herr) != 0) {
			printf(_("FAILED %s: %s\n"), hist_path, herr->message);
			g_error_free(herr);
			rc = EXIT_TAMPERED;
			goto out;
		}
		archive_pubkey_raw(key, raw);
		checkpoint_sha256(raw, 32, idh);
		if (key_history_keys(hist) > 0 && !key_history_find(hist, idh)) {
			printf(_("FAILED %s: the key given with --pubkey is none of the keys of the key "
			         "history\n"),
			       argv[1]);
			rc = EXIT_TAMPERED;
			goto out;
		}
	}
	const char *body = json_string_value(json_object_get(p, "checkpoint_body"));
	signer = archive_checkpoint_signer(hist, body ? body : "", KEY_SLOT_MAIN, key, &kwhy);
	why = signer ? proof_check(p, signer, seg) : kwhy;
	if (why) {
		printf(_("FAILED %s: %s\n"), argv[1], why);
		rc = EXIT_TAMPERED;
	} else {
		printf(_("OK %s: the segment is leaf %lld of the tree of %lld leaves signed in the "
		         "checkpoint%s\n"),
		       argv[1], (long long)json_integer_value(json_object_get(p, "leaf_index")),
		       (long long)json_integer_value(json_object_get(p, "tree_size")),
		       seg ? "; segment file matches" : " (no segment file checked)");
		rc = EXIT_INTACT;
	}
out:
	json_decref(p);
	archive_pubkey_free(key);
	key_history_free(hist);
	g_free(hist_path);
	g_free(kwhy);
	g_free(pub);
	g_free(seg);
	return rc;
}
