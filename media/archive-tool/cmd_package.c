/* evalroom-archive package: the evidence package of a time span (docs/archives.md,
 * "Evidence package"): each stream's clip remuxed to MP4, the segments byte for byte with
 * their inclusion proofs, the checkpoints that sign them with their signatures and timestamp
 * tokens, the timeline, an offline player page, a README for checking by hand, a manifest. */
#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "cosignature.h"
#include "hex.h"
#include "key_history.h"
#include "leaf.h"
#include "note.h"
#include "package.h"
#include "tool.h"
#include "verify.h"

struct pkg {
	sqlite3 *db;
	const char *dir;
	const struct archive_verify_report *rep;
	int64_t from, to;
	int64_t first_cp;  /* the earliest checkpoint row a proof uses */
	json_t *streams;   /* package.json "streams" */
	GHashTable *names; /* file names taken by streams */
};

static int save(const char *dir, const char *name, const void *data, size_t len)
{
	char *path = g_build_filename(dir, name, NULL);
	char *parent = g_path_get_dirname(path);
	GError *err = NULL;
	int ok = g_mkdir_with_parents(parent, 0755) == 0 &&
	         g_file_set_contents(path, data, (gssize)len, &err);

	if (!ok)
		tool_err(_("cannot write %s: %s"), path, err ? err->message : g_strerror(errno));
	g_clear_error(&err);
	g_free(parent);
	g_free(path);
	return ok ? 0 : -EIO;
}

static int save_text(const char *dir, const char *name, const char *text)
{
	return save(dir, name, text, strlen(text));
}

/* A file name for stream S: its id with ':' and '/' made '_', unique in the package. */
static char *stream_file_name(struct pkg *p, const char *s)
{
	char *base = g_strdup(s), *name;
	unsigned n = 1;

	g_strdelimit(base, ":/", '_');
	name = g_strdup(base);
	while (g_hash_table_contains(p->names, name)) {
		g_free(name);
		name = g_strdup_printf("%s-%u", base, ++n);
	}
	g_free(base);
	g_hash_table_add(p->names, name);
	return g_strdup(name);
}

/* The streams with a segment in [from, to), by name (when none was asked for). */
static int streams_in_span(sqlite3 *db, int64_t from, int64_t to, GPtrArray *out)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db,
	                       "SELECT DISTINCT stream FROM segments WHERE end_us > ? AND "
	                       "start_us < ? ORDER BY stream",
	                       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, to);
	while (sqlite3_step(st) == SQLITE_ROW)
		g_ptr_array_add(out, g_strdup((const char *)sqlite3_column_text(st, 0)));
	sqlite3_finalize(st);
	return 0;
}

/* Segments row ID's leaf data and the proof's path as text for the README's shell check:
 * "LEAF_INDEX TREE_SIZE CHECKPOINT_FILE\n" then one hex hash a line. */
static char *path_text(json_t *proof, const char *cp_name)
{
	GString *s = g_string_new(NULL);
	json_t *v;
	size_t i;

	g_string_append_printf(s, "%" JSON_INTEGER_FORMAT " %" JSON_INTEGER_FORMAT " %s\n",
	                       json_integer_value(json_object_get(proof, "leaf_index")),
	                       json_integer_value(json_object_get(proof, "tree_size")), cp_name);
	json_array_foreach(json_object_get(proof, "path"), i, v)
	    g_string_append_printf(s, "%s\n", json_string_value(v));
	return g_string_free(s, FALSE);
}

static GByteArray *leaf_of(sqlite3_stmt *st)
{
	struct archive_segment_info s = {
	    .stream = (const char *)sqlite3_column_text(st, 3),
	    .seq = sqlite3_column_int64(st, 1),
	    .start_us = sqlite3_column_int64(st, 4),
	    .end_us = sqlite3_column_int64(st, 5),
	    .size = sqlite3_column_int64(st, 6),
	    .container = (const char *)sqlite3_column_text(st, 8),
	};

	if (sqlite3_column_bytes(st, 7) == 32)
		memcpy(s.sha256, sqlite3_column_blob(st, 7), 32);
	return leaf_segment_data(&s);
}

/* segments/NAME/SEQ.ts, proofs/NAME/SEQ.{json,leaf,path} of every segment of STREAM in the
 * span, each proven in the earliest checkpoint that covers it. */
static int package_segments(struct pkg *p, const char *stream, const char *name, json_t *segs)
{
	sqlite3_stmt *st, *cp;
	int rc = 0;

	if (sqlite3_prepare_v2(p->db,
	                       "SELECT id, seq, leaf, stream, start_us, end_us, size, sha256, "
	                       "container FROM segments WHERE stream = ? AND end_us > ? AND "
	                       "start_us < ? ORDER BY seq",
	                       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_prepare_v2(p->db, "SELECT min(id) FROM checkpoints WHERE tree_size > ?", -1,
	                       &cp, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return -EIO;
	}
	sqlite3_bind_text(st, 1, stream, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, p->from);
	sqlite3_bind_int64(st, 3, p->to);
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0), seq = sqlite3_column_int64(st, 1), row;
		char *seg_file = g_strdup_printf("segments/%s/%06lld.ts", name, (long long)seq);
		char *base = g_strdup_printf("proofs/%s/%06lld", name, (long long)seq);
		char *proof_file = g_strconcat(base, ".json", NULL);
		char *leaf_file = g_strconcat(base, ".leaf", NULL);
		char *path_file = g_strconcat(base, ".path", NULL);
		char *cp_name, *text = NULL, *path = NULL;
		GByteArray *bytes = NULL, *leaf = NULL;
		json_t *proof = NULL;

		sqlite3_bind_int64(cp, 1, sqlite3_column_int64(st, 2));
		row = sqlite3_step(cp) == SQLITE_ROW && sqlite3_column_type(cp, 0) != SQLITE_NULL
		          ? sqlite3_column_int64(cp, 0)
		          : 0;
		sqlite3_reset(cp);
		cp_name = g_strdup_printf("%06lld", (long long)row);
		proof = row ? proof_build(p->db, p->rep->leaf_hashes, id, row) : NULL;
		if (!proof) {
			tool_err(_("segments row %lld: no checkpoint covers it"), (long long)id);
			rc = -EBADMSG;
			goto next;
		}
		if (p->first_cp == 0 || row < p->first_cp)
			p->first_cp = row;
		bytes = proof_segment_bytes(p->db, id);
		leaf = leaf_of(st);
		text = json_dumps(proof, JSON_INDENT(1));
		path = path_text(proof, cp_name);
		rc = save(p->dir, seg_file, bytes->data, bytes->len);
		if (rc == 0)
			rc = save_text(p->dir, proof_file, text);
		if (rc == 0)
			rc = save(p->dir, leaf_file, leaf->data, leaf->len);
		if (rc == 0)
			rc = save_text(p->dir, path_file, path);
		json_array_append_new(
		    segs,
		    json_pack("{s:I, s:I, s:I, s:I, s:O, s:s, s:s, s:I}", "row", (json_int_t)id,
		              "seq", (json_int_t)seq, "start_us",
		              (json_int_t)sqlite3_column_int64(st, 4), "end_us",
		              (json_int_t)sqlite3_column_int64(st, 5), "sha256",
		              json_object_get(json_object_get(proof, "segment"), "sha256"), "file",
		              seg_file, "proof", proof_file, "checkpoint_row", (json_int_t)row));
	next:
		if (bytes)
			g_byte_array_unref(bytes);
		if (leaf)
			g_byte_array_unref(leaf);
		json_decref(proof);
		free(text);
		g_free(path);
		g_free(cp_name);
		g_free(path_file);
		g_free(leaf_file);
		g_free(proof_file);
		g_free(base);
		g_free(seg_file);
	}
	sqlite3_finalize(cp);
	sqlite3_finalize(st);
	return rc;
}

static int package_stream(struct pkg *p, const char *stream)
{
	char *name = stream_file_name(p, stream);
	char *clip = g_strdup_printf("clips/%s.mp4", name);
	char *clip_path = g_build_filename(p->dir, clip, NULL);
	char *parent = g_path_get_dirname(clip_path);
	struct export_result res = {0};
	json_t *segs = json_array();
	char a[64], b[64];
	int rc;

	g_mkdir_with_parents(parent, 0755);
	rc = export_clip(p->db, stream, p->from, p->to, clip_path, 0, &res);
	if (rc == 0)
		rc = package_segments(p, stream, name, segs);
	if (rc == 0) {
		int h265 = g_strcmp0(res.codec, "video/x-h265") == 0;

		json_array_append_new(p->streams,
		                      json_pack("{s:s, s:s, s:s, s:s?, s:b, s:I, s:I, s:o}",
		                                "stream", stream, "name", name, "clip", clip,
		                                "codec", res.codec, "browser_plays", !h265,
		                                "first_us", (json_int_t)res.first_us, "last_us",
		                                (json_int_t)res.last_us, "segments", segs));
		segs = NULL;
		clock_format_us(res.first_us, a, sizeof(a));
		clock_format_us(res.last_us, b, sizeof(b));
		printf(_("  %s: %lld segments, %s .. %s -> %s\n"), stream, (long long)res.segments,
		       a, b, clip);
		if (h265)
			printf(
			    _("  %s is H.265: browsers such as Chromium do not play it; the page "
			      "says so, open the clip in a player that does (VLC, mpv)\n"),
			    stream);
	} else if (rc == -ENOENT) {
		tool_err(_("stream %s has no segments in that range"), stream);
	}
	json_decref(segs);
	g_free(res.codec);
	g_free(parent);
	g_free(clip_path);
	g_free(clip);
	g_free(name);
	return rc;
}

/* keys/key-history.log: the archive's key history (format version 3), in the controller's
 * file format, when it has entries; *OUT the history (NULL without one). */
static int package_key_history(struct pkg *p, struct key_history **out)
{
	sqlite3_stmt *st;
	GString *lines;
	char *why = NULL;
	int present = 0, rc = 0;

	*out = NULL;
	if (sqlite3_prepare_v2(p->db,
	                       "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = "
	                       "'key_history'",
	                       -1, &st, NULL) == SQLITE_OK)
		present = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (!present)
		return 0;
	if (key_history_read_db(p->db, out, &why) != 0) {
		tool_err("%s", why);
		g_free(why);
		return -EIO;
	}
	if (key_history_length(*out) == 0)
		return 0;
	lines = g_string_new(NULL);
	for (guint i = 0; i < key_history_length(*out); i++) {
		char *l = key_history_line(key_history_entry(*out, i));

		g_string_append(lines, l);
		g_free(l);
	}
	rc = save_text(p->dir, PACKAGE_KEY_HISTORY, lines->str);
	g_string_free(lines, TRUE);
	return rc;
}

/* checkpoints/ROW.{txt,sig,sig2,note,tst} for every checkpoint from the earliest a proof
 * uses to the last (the chain of prev lines joins them), and keys/ the recorded keys and the
 * key history. */
static int package_checkpoints(struct pkg *p, json_t **out)
{
	sqlite3_stmt *st, *ts;
	struct archive_pubkey *recorded = NULL;
	struct key_history *hist = NULL;
	uint8_t pub[32];
	int have_raw, rc;
	json_t *arr = json_array();

	if (sqlite3_prepare_v2(p->db,
	                       "SELECT c.id, c.tree_size, c.body, c.signature, c.signature2, "
	                       "m.signing_pubkey, m.signing_pubkey2 FROM checkpoints c, meta m "
	                       "WHERE c.id >= ? ORDER BY c.id",
	                       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_prepare_v2(
	        p->db, "SELECT token FROM timestamps WHERE checkpoint = ? ORDER BY id DESC LIMIT 1",
	        -1, &ts, NULL) != SQLITE_OK) {
		/* a format version 1 file has no timestamps */
		ts = NULL;
	}
	rc = package_key_history(p, &hist);
	sqlite3_bind_int64(st, 1, p->first_cp);
	while (rc == 0 && sqlite3_step(st) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		const char *body = (const char *)sqlite3_column_text(st, 2);
		char *base = g_strdup_printf("checkpoints/%06lld", (long long)id);
		char *f_txt = g_strconcat(base, ".txt", NULL),
		     *f_sig = g_strconcat(base, ".sig", NULL);
		char *f_sig2 = NULL, *f_note = NULL, *f_tst = NULL;

		if (!recorded) {
			const char *pem = (const char *)sqlite3_column_text(st, 5);
			const char *pem2 = (const char *)sqlite3_column_text(st, 6);
			char *vkey;

			rc = save_text(p->dir, "keys/signing.pub", pem ? pem : "");
			if (rc == 0 && pem2)
				rc = save_text(p->dir, "keys/signing2.pub", pem2);
			have_raw = pem && archive_pubkey_from_pem(pem, &recorded) == 0 &&
			           archive_pubkey_raw(recorded, pub) == 0;
			if (!have_raw)
				archive_pubkey_free(g_steal_pointer(&recorded));
			if (rc == 0 && have_raw && (vkey = note_checkpoint_vkey(body, pub))) {
				char *v = g_strconcat(vkey, "\n", NULL);

				rc = save_text(p->dir, "keys/signing.vkey", v);
				g_free(v);
				g_free(vkey);
			}
		}
		if (rc == 0)
			rc = save_text(p->dir, f_txt, body);
		if (rc == 0)
			rc = save(p->dir, f_sig, sqlite3_column_blob(st, 3),
			          (size_t)sqlite3_column_bytes(st, 3));
		if (rc == 0 && sqlite3_column_type(st, 4) == SQLITE_BLOB) {
			f_sig2 = g_strconcat(base, ".sig2", NULL);
			rc = save(p->dir, f_sig2, sqlite3_column_blob(st, 4),
			          (size_t)sqlite3_column_bytes(st, 4));
		}
		if (rc == 0 && recorded &&
		    !g_str_has_prefix(body, "evalroom-archive checkpoint v1") &&
		    sqlite3_column_bytes(st, 3) == ARCHIVE_SIGNATURE_LEN) {
			/* after a rotation the note names the key that signed it, not meta's */
			const char *kl = hist ? strstr(body, "\nkey ") : NULL;
			const struct key_window *w = NULL;
			uint8_t idh[32];
			char hex[65];

			if (kl && strlen(kl) >= 70) {
				g_strlcpy(hex, kl + 5, sizeof(hex));
				if (hex_decode_lower(hex, idh, 32) == 0)
					w = key_history_find(hist, idh);
			}
			char *note = note_checkpoint(body, w ? w->raw : pub,
			                             sqlite3_column_blob(st, 3),
			                             ARCHIVE_SIGNATURE_LEN);

			if (note) {
				/* with the cosigners' lines (c2sp.org/tlog-cosignature) */
				char *cosigs = cosig_note_lines(p->db, id);
				char *with = g_strconcat(note, cosigs, NULL);

				g_free(cosigs);
				g_free(note);
				note = with;
				f_note = g_strconcat(base, ".note", NULL);
				rc = save_text(p->dir, f_note, note);
				g_free(note);
			}
		}
		if (rc == 0 && ts) {
			sqlite3_bind_int64(ts, 1, id);
			if (sqlite3_step(ts) == SQLITE_ROW &&
			    sqlite3_column_type(ts, 0) == SQLITE_BLOB) {
				f_tst = g_strconcat(base, ".tst", NULL);
				rc = save(p->dir, f_tst, sqlite3_column_blob(ts, 0),
				          (size_t)sqlite3_column_bytes(ts, 0));
			}
			sqlite3_reset(ts);
		}
		json_array_append_new(
		    arr, json_pack("{s:I, s:I, s:s, s:s, s:s?, s:s?, s:s?}", "row", (json_int_t)id,
		                   "tree_size", (json_int_t)sqlite3_column_int64(st, 1), "body",
		                   f_txt, "signature", f_sig, "signature2", f_sig2, "note", f_note,
		                   "timestamp", f_tst));
		g_free(f_tst);
		g_free(f_note);
		g_free(f_sig2);
		g_free(f_sig);
		g_free(f_txt);
		g_free(base);
	}
	archive_pubkey_free(recorded);
	key_history_free(hist);
	sqlite3_finalize(ts);
	sqlite3_finalize(st);
	*out = arr;
	return rc;
}

/* Every file under DIR (relative paths, sorted), but the manifest itself. */
static void list_files(const char *root, const char *rel, GPtrArray *out)
{
	char *path = rel ? g_build_filename(root, rel, NULL) : g_strdup(root);
	GDir *d = g_dir_open(path, 0, NULL);
	const char *e;

	while (d && (e = g_dir_read_name(d))) {
		char *r = rel ? g_build_filename(rel, e, NULL) : g_strdup(e);
		char *full = g_build_filename(root, r, NULL);

		if (g_file_test(full, G_FILE_TEST_IS_DIR) &&
		    !g_file_test(full, G_FILE_TEST_IS_SYMLINK)) {
			list_files(root, r, out);
			g_free(r);
		} else if (rel || strcmp(e, PACKAGE_MANIFEST) != 0) {
			g_ptr_array_add(out, r);
		} else {
			g_free(r);
		}
		g_free(full);
	}
	if (d)
		g_dir_close(d);
	g_free(path);
}

static gint str_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

GPtrArray *package_files(const char *dir)
{
	GPtrArray *files = g_ptr_array_new_with_free_func(g_free);

	list_files(dir, NULL, files);
	g_ptr_array_sort(files, str_cmp);
	return files;
}

int package_file_sha256(const char *dir, const char *rel, char hex[65])
{
	char *path = g_build_filename(dir, rel, NULL);
	uint8_t buf[65536], d[32];
	GChecksum *c;
	gsize n = sizeof(d);
	FILE *f = fopen(path, "rb");
	size_t got;

	g_free(path);
	if (!f)
		return -errno;
	c = g_checksum_new(G_CHECKSUM_SHA256);
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
		g_checksum_update(c, buf, got);
	fclose(f);
	g_checksum_get_digest(c, d, &n);
	g_checksum_free(c);
	hex_encode(d, 32, hex);
	return 0;
}

/* manifest.sha256: "HEX  PATH" for every other file, as sha256sum writes and -c reads. */
static int write_manifest(const char *dir, char hex_out[65])
{
	GPtrArray *files = package_files(dir);
	GString *m = g_string_new(NULL);
	char hex[65];
	int rc = 0;
	guint i;

	for (i = 0; rc == 0 && i < files->len; i++) {
		rc = package_file_sha256(dir, files->pdata[i], hex);
		g_string_append_printf(m, "%s  %s\n", hex, (const char *)files->pdata[i]);
	}
	if (rc == 0)
		rc = save_text(dir, PACKAGE_MANIFEST, m->str);
	if (rc == 0)
		rc = package_file_sha256(dir, PACKAGE_MANIFEST, hex_out);
	g_string_free(m, TRUE);
	g_ptr_array_unref(files);
	return rc;
}

static void remove_tree(const char *path)
{
	GDir *d = g_dir_open(path, 0, NULL);
	const char *e;

	while (d && (e = g_dir_read_name(d))) {
		char *p = g_build_filename(path, e, NULL);

		if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
			remove_tree(p);
		else
			g_unlink(p);
		g_free(p);
	}
	if (d)
		g_dir_close(d);
	g_rmdir(path);
}

/* Everything but the manifest, into p->dir. */
static int package_write(struct pkg *p, GPtrArray *streams, const char *file)
{
	json_t *timeline = NULL, *cps = NULL, *pkg = NULL;
	GString *text = g_string_new(NULL);
	char *s = NULL, *js = NULL, *readme = NULL, *base = NULL, a[64], b[64];
	int rc = 0;
	guint i;

	for (i = 0; rc == 0 && i < streams->len; i++)
		rc = package_stream(p, streams->pdata[i]);
	if (rc == 0)
		rc = package_checkpoints(p, &cps);
	if (rc == 0 && timeline_collect(p->db, p->from, p->to, &timeline, text) != 0)
		rc = -EIO;
	if (rc)
		goto out;
	clock_format_us(p->from, a, sizeof(a));
	clock_format_us(p->to, b, sizeof(b));
	base = g_path_get_basename(file);
	pkg = json_pack("{s:s, s:s?, s:s, s:I, s:I, s:s, s:s, s:s, s:O, s:O}", "format",
	                PACKAGE_FORMAT, "tender", p->rep->tender, "archive", base, "from_us",
	                (json_int_t)p->from, "to_us", (json_int_t)p->to, "from", a, "to", b,
	                "timeline", "timeline.json", "streams", p->streams, "checkpoints", cps);
	s = json_dumps(pkg, JSON_INDENT(1));
	rc = save_text(p->dir, "package.json", s);
	free(s);
	s = json_dumps(timeline, JSON_INDENT(1));
	if (rc == 0)
		rc = save_text(p->dir, "timeline.json", s);
	if (rc == 0)
		rc = save_text(p->dir, "timeline.txt", text->str);
	/* The page reads its data from a script: a browser lets a file:// page load a script
	 * beside it, not fetch a JSON file. */
	if (rc == 0) {
		char *ps = json_dumps(pkg, JSON_COMPACT);

		js = g_strdup_printf("/* evalroom evidence package: the data index.html shows. */\n"
		                     "var PACKAGE = %s;\nvar TIMELINE = %s;\n",
		                     ps, s);
		free(ps);
		rc = save_text(p->dir, "package.js", js);
	}
	if (rc == 0)
		rc = save_text(p->dir, "index.html", package_index_html);
	if (rc == 0) {
		readme = package_readme(pkg);
		rc = save_text(p->dir, "README.txt", readme);
	}
out:
	free(s);
	g_free(base);
	g_free(js);
	g_free(readme);
	json_decref(pkg);
	json_decref(cps);
	json_decref(timeline);
	g_string_free(text, TRUE);
	return rc;
}

int cmd_package(int argc, char **argv)
{
	char *from_s = NULL, *to_s = NULL, *dir = NULL, *pub = NULL, **want = NULL;
	GOptionEntry opts[] = {
	    {"from", 'f', 0, G_OPTION_ARG_STRING, &from_s, N_("start of the span (required)"), "T"},
	    {"to", 't', 0, G_OPTION_ARG_STRING, &to_s, N_("end of the span (required)"), "T"},
	    {"streams", 's', 0, G_OPTION_ARG_STRING_ARRAY, &want,
	     N_("streams to include, comma-separated or repeated (default: every stream "
	        "recorded in the span)"),
	     "S,..."},
	    {"output", 'o', 0, G_OPTION_ARG_FILENAME, &dir,
	     N_("the package directory to create (must not exist or be empty)"), "DIR"},
	    {"pubkey", 'k', 0, G_OPTION_ARG_FILENAME, &pub,
	     N_("check the archive against the controller's public key first"),
	     "controller-signing.pub"},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	struct archive_verify_report rep = {0};
	struct archive_pubkey *key = NULL;
	struct archive_reader *r = NULL;
	struct pkg p = {0};
	GPtrArray *streams = g_ptr_array_new_with_free_func(g_free);
	char hex[65], a[64], b[64];
	int rc = EXIT_USAGE, made = 0, verified = 0;
	GDir *d;

	if (!tool_parse(
	        &argc, &argv, "FILE",
	        N_("Writes the evidence package of [--from, --to) into DIR: every stream's clip "
	           "with its audio, remuxed to MP4 without re-encoding (clips/); the recorded "
	           "segments byte for byte (segments/) with their RFC 6962 inclusion proofs in "
	           "the earliest checkpoint that covers each (proofs/); those checkpoints and the "
	           "later ones up to the last, with their Ed25519 and SM2 signatures, signed notes "
	           "and RFC 3161 timestamp tokens (checkpoints/); the keys recorded in the file "
	           "(keys/); the timeline of the span (timeline.json, timeline.txt); index.html, "
	           "which plays the streams side by side in sync with the timeline, offline; "
	           "README.txt, how to check it all with sha256sum and openssl; and "
	           "manifest.sha256. The archive is verified first. Check the package with "
	           "verify-package."),
	        opts, 1))
		goto out;
	if (!from_s || !to_s || !dir) {
		tool_err(_("package needs --from, --to and -o DIR"));
		goto out;
	}
	if (leaf_parse_time(from_s, &p.from) || leaf_parse_time(to_s, &p.to) || p.to <= p.from) {
		tool_err(_("--from/--to: expected ISO 8601 (2026-11-25T09:00:00Z) or microseconds, "
		           "--from before --to"));
		goto out;
	}
	for (char **w = want; w && *w; w++) {
		char **parts = g_strsplit(*w, ",", -1);

		for (char **s = parts; *s; s++)
			if (*g_strstrip(*s) &&
			    !g_ptr_array_find_with_equal_func(streams, *s, g_str_equal, NULL))
				g_ptr_array_add(streams, g_strdup(*s));
		g_strfreev(parts);
	}
	if (pub && archive_pubkey_load(pub, &key)) {
		tool_err(_("%s: not a readable Ed25519 public key (PEM)"), pub);
		goto out;
	}
	d = g_dir_open(dir, 0, NULL);
	if (d) {
		int empty = g_dir_read_name(d) == NULL;

		g_dir_close(d);
		if (!empty) {
			tool_err(_("%s exists and is not empty: give a new directory"), dir);
			goto out;
		}
	} else if (g_file_test(dir, G_FILE_TEST_EXISTS)) {
		tool_err(_("%s exists and is not a directory"), dir);
		goto out;
	}
	rc = EXIT_BAD_FILE;
	r = tool_open(argv[1]);
	if (!r)
		goto out;
	rc = EXIT_TAMPERED;
	verified = 1;
	if (archive_verify(r, key, &rep) != 0) {
		tool_err(_("%s does not verify, no package made: %s"), argv[1],
		         rep.problem ? rep.problem : "?");
		goto out;
	}
	p.db = archive_reader_db(r);
	rc = EXIT_FAILED;
	if (streams->len == 0 && streams_in_span(p.db, p.from, p.to, streams) != 0)
		goto out;
	if (streams->len == 0) {
		tool_err(_("%s: no stream was recorded in that span"), argv[1]);
		goto out;
	}
	if (g_mkdir_with_parents(dir, 0755) != 0) {
		tool_err(_("cannot create %s: %s"), dir, g_strerror(errno));
		goto out;
	}
	made = 1;
	p.dir = dir;
	p.rep = &rep;
	p.streams = json_array();
	p.names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	gst_init(NULL, NULL);
	clock_format_us(p.from, a, sizeof(a));
	clock_format_us(p.to, b, sizeof(b));
	printf(_("evidence package of %s, %s .. %s, into %s:\n"), argv[1], a, b, dir);
	rc = package_write(&p, streams, argv[1]);
	if (rc == 0)
		rc = write_manifest(dir, hex);
	if (rc == 0) {
		printf(_("wrote %s: %u streams; check it with: evalroom-archive verify-package %s "
		         "--pubkey controller-signing.pub (or by hand: %s/README.txt)\n"),
		       dir, streams->len, dir, dir);
		printf(_("SHA-256 of %s/%s: %s (note it in the transmittal record)\n"), dir,
		       PACKAGE_MANIFEST, hex);
		rc = EXIT_INTACT;
	} else {
		rc = rc == -EBADMSG ? EXIT_TAMPERED : EXIT_FAILED;
	}
out:
	if (rc != EXIT_INTACT && made) {
		remove_tree(dir);
		tool_err(_("nothing written (%s removed)"), dir);
	}
	if (p.streams)
		gst_deinit();
	json_decref(p.streams);
	if (p.names)
		g_hash_table_destroy(p.names);
	if (verified)
		archive_verify_report_clear(&rep);
	archive_reader_free(r);
	archive_pubkey_free(key);
	g_ptr_array_unref(streams);
	g_strfreev(want);
	g_free(from_s);
	g_free(to_s);
	g_free(dir);
	g_free(pub);
	return rc;
}
