/* evalroom-archive info / checkpoint: what the file holds, and a checkpoint for openssl. */
#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

#include "archive.h"
#include "cosignature.h"
#include "hex.h"
#include "key_history.h"
#include "leaf.h"
#include "note.h"
#include "signing.h"
#include "text_safe.h"
#include "text_width.h"
#include "tool.h"

/* print_field: "LABEL  VALUE" with LABEL (translated) padded to 14 columns on screen. */
static void print_field(const char *label, const char *value)
{
	GString *line = g_string_new(NULL);

	text_pad(line, label, 14);
	printf("%s %s\n", line->str, value);
	g_string_free(line, TRUE);
}

static void print_time(const char *label, sqlite3_stmt *st, int col)
{
	char when[64];

	if (sqlite3_column_type(st, col) != SQLITE_INTEGER) {
		print_field(label, "-");
		return;
	}
	print_field(label, tool_time(when, sizeof(when), sqlite3_column_int64(st, col)));
}

static int query(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
		tool_err(_("sqlite: %s"), sqlite3_errmsg(db));
		return -EIO;
	}
	return 0;
}

/* Column COL as text safe to print (text_safe.h: a file's names must not drive the
 * auditor's terminal); valid until eight more calls. */
static const char *text(sqlite3_stmt *st, int col)
{
	static char *ring[8];
	static unsigned next;
	unsigned i = next++ % G_N_ELEMENTS(ring);

	g_free(ring[i]);
	ring[i] = text_display((const char *)sqlite3_column_text(st, col));
	return ring[i];
}

/* Column COL exactly as stored ("" for NULL): for files an auditor checks bytes of. */
static const char *raw(sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);

	return s ? s : "";
}

/* Multi-line TEXT shown with each line made safe (text_safe.h), the line breaks kept. */
static void print_lines(const char *text)
{
	gchar **lines = g_strsplit(text, "\n", -1);

	for (gchar **l = lines; *l; l++) {
		char *safe = text_display(*l);
		printf("%s%s", safe, l[1] ? "\n" : "");
		g_free(safe);
	}
	g_strfreev(lines);
}

int cmd_info(int argc, char **argv)
{
	struct archive_reader *r;
	sqlite3_stmt *st;
	sqlite3 *db;
	int rc = EXIT_FAILED;

	if (!tool_parse(&argc, &argv, "FILE",
	                N_("Prints the tender, the format, record counts, streams and checkpoints. "
	                   "Reads only; does not verify (see verify)."),
	                NULL, 1))
		return EXIT_USAGE;
	r = tool_open(argv[1]);
	if (!r)
		return EXIT_BAD_FILE;
	db = archive_reader_db(r);
	if (query(db,
	          "SELECT tender, name, session, created_us, sealed_us, "
	          "(SELECT user_version FROM pragma_user_version), "
	          "(SELECT page_size FROM pragma_page_size), "
	          "(SELECT count(*) FROM events), (SELECT count(*) FROM gaps), "
	          "(SELECT count(*) FROM draw), (SELECT count(*) FROM checkpoints) FROM meta",
	          &st))
		goto out;
	if (sqlite3_step(st) != SQLITE_ROW) {
		tool_err(_("%s: meta row missing: %s"), argv[1], sqlite3_errmsg(db));
		sqlite3_finalize(st);
		goto out;
	}
	char n1[24], n2[24], n3[24], n4[24];
	char *format = g_strdup_printf(_("%s (application_id 0x%08x, page size %s)"),
	                               tool_num(n1, sizeof(n1), sqlite3_column_int(st, 5)),
	                               ARCHIVE_APPLICATION_ID,
	                               tool_num(n2, sizeof(n2), sqlite3_column_int(st, 6)));
	print_field(_("file"), argv[1]);
	print_field(_("format"), format);
	g_free(format);
	print_field(_("tender"), text(st, 0));
	print_field(_("name"), text(st, 1));
	print_field(_("session"), text(st, 2));
	print_time(_("created"), st, 3);
	if (sqlite3_column_type(st, 4) == SQLITE_INTEGER)
		print_time(_("sealed"), st, 4);
	else /* docs/archives.md: a long read of the live file holds back the controller */
		print_field(_("sealed"),
		            _("no: open, still being written (read a copy for anything long)"));
	print_field(_("draw record"), sqlite3_column_int(st, 9) ? _("stored") : _("absent"));
	print_field(_("events"), tool_num(n1, sizeof(n1), sqlite3_column_int(st, 7)));
	print_field(_("gaps"), tool_num(n1, sizeof(n1), sqlite3_column_int(st, 8)));
	print_field(_("checkpoints"), tool_num(n1, sizeof(n1), sqlite3_column_int(st, 10)));
	sqlite3_finalize(st);

	if (query(db,
	          "SELECT stream, count(*), min(seq), max(seq), min(start_us), max(end_us), "
	          "sum(size) FROM segments GROUP BY stream ORDER BY stream",
	          &st))
		goto out;
	printf("%s\n", _("streams:"));
	while (sqlite3_step(st) == SQLITE_ROW) {
		char a[64], b[64];

		tool_time(a, sizeof(a), sqlite3_column_int64(st, 4));
		tool_time(b, sizeof(b), sqlite3_column_int64(st, 5));
		printf("  %-24s ", text(st, 0));
		/* TRANSLATORS: segments, first and last sequence number, from, to, bytes. */
		printf(_("%s segments (seq %s..%s) %s .. %s, %s bytes\n"),
		       tool_num(n1, sizeof(n1), sqlite3_column_int(st, 1)),
		       tool_num(n2, sizeof(n2), sqlite3_column_int64(st, 2)),
		       tool_num(n3, sizeof(n3), sqlite3_column_int64(st, 3)), a, b,
		       tool_num(n4, sizeof(n4), sqlite3_column_int64(st, 6)));
	}
	sqlite3_finalize(st);
	if (query(
	        db,
	        "SELECT id, tree_size, lower(hex(root)), time_us FROM checkpoints ORDER BY id DESC "
	        "LIMIT 1",
	        &st))
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW) {
		char when[64];

		tool_time(when, sizeof(when), sqlite3_column_int64(st, 3));
		printf(_("last checkpoint: row %s, tree size %s, root %s, %s\n"),
		       tool_num(n1, sizeof(n1), sqlite3_column_int64(st, 0)),
		       tool_num(n2, sizeof(n2), sqlite3_column_int64(st, 1)), text(st, 2), when);
	}
	sqlite3_finalize(st);
	rc = EXIT_INTACT;
out:
	archive_reader_free(r);
	return rc;
}

static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char *path = g_build_filename(dir, name, NULL);
	GError *err = NULL;
	int ok = g_file_set_contents(path, data, (gssize)len, &err);

	if (!ok)
		tool_err("%s", err->message);
	g_clear_error(&err);
	g_free(path);
	return ok ? 0 : -EIO;
}

/* Format version 3: the PEM of the key of SLOT that BODY's key (key2) line names when the
 * key history holds it (after a rotation: not the one meta records), the raw key of a main
 * key into RAW (when not NULL); NULL otherwise. */
static char *history_key(struct archive_reader *r, const char *body, enum key_slot slot,
                         uint8_t raw[32])
{
	struct key_history *h = NULL;
	char *hex = checkpoint_line_value(body, slot == KEY_SLOT_SECOND ? "key2" : "key");
	char *why = NULL, *pem = NULL;
	uint8_t id[32];

	if (archive_reader_version(r) >= 3 && hex && hex_decode_lower(hex, id, 32) == 0 &&
	    key_history_read_db(archive_reader_db(r), &h, &why) == 0) {
		const struct key_window *w = key_history_slot_find(h, slot, id);

		if (w) {
			if (raw)
				memcpy(raw, w->raw, 32);
			pem = archive_pubkey_pem(w->pub);
		}
	}
	key_history_free(h);
	g_free(why);
	g_free(hex);
	return pem;
}

/* DIR/checkpoint.sig2 and DIR/embedded-signing2.pub: the second key's signature of
 * checkpoint ID (body BODY) and that key (the one its key2 line names), when the archive has a
 * second key. */
static int save_second(struct archive_reader *r, sqlite3_int64 id, const char *body,
                       const char *dir)
{
	char *pem2 = history_key(r, body, KEY_SLOT_SECOND, NULL);

	sqlite3_stmt *st;
	int rc = 0;

	if (query(
	        archive_reader_db(r),
	        "SELECT c.signature2, m.signing_pubkey2 FROM checkpoints c, meta m WHERE c.id = ? "
	        "AND c.signature2 IS NOT NULL AND m.signing_pubkey2 IS NOT NULL",
	        &st))
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_BLOB) {
		rc = write_file(dir, "checkpoint.sig2", sqlite3_column_blob(st, 0),
		                (size_t)sqlite3_column_bytes(st, 0));
		if (rc == 0)
			rc = write_file(dir, "embedded-signing2.pub", pem2 ? pem2 : raw(st, 1),
			                strlen(pem2 ? pem2 : raw(st, 1)));
		if (rc == 0)
			/* TRANSLATORS: the directory, four times; the command line stays as it is. */
			printf(_("second signature: %s/checkpoint.sig2 (key %s/embedded-signing2.pub); "
			         "an SM2 one checks with:\n  openssl pkeyutl -verify -pubin -inkey "
			         "sm2-signing.pub -rawin -digest sm3 -pkeyopt distid:1234567812345678 "
			         "-in %s/checkpoint.txt -sigfile %s/checkpoint.sig2\n"),
			       dir, dir, dir, dir);
	}
	sqlite3_finalize(st);
	g_free(pem2);
	return rc;
}

/* DIR/checkpoint.tst: the last RFC 3161 timestamp token stored for checkpoint ID, if any. */
static int save_timestamp(struct archive_reader *r, sqlite3_int64 id, const char *dir)
{
	sqlite3_stmt *st;
	int rc = 0;

	if (query(archive_reader_db(r),
	          "SELECT token FROM timestamps WHERE checkpoint = ? ORDER BY id DESC LIMIT 1",
	          &st))
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_BLOB) {
		rc = write_file(dir, "checkpoint.tst", sqlite3_column_blob(st, 0),
		                (size_t)sqlite3_column_bytes(st, 0));
		if (rc == 0)
			/* TRANSLATORS: the directory, three times; the command line stays as it is. */
			printf(_("RFC 3161 timestamp: %s/checkpoint.tst; check with:\n  openssl ts "
			         "-verify -data %s/checkpoint.txt -in %s/checkpoint.tst -token_in -CAfile "
			         "tsa-ca.pem\n"),
			       dir, dir, dir);
	}
	sqlite3_finalize(st);
	return rc;
}

int cmd_checkpoint(int argc, char **argv)
{
	char *dir = NULL;
	gint64 row = 0;
	GOptionEntry opts[] = {
	    {"export", 'e', 0, G_OPTION_ARG_FILENAME, &dir,
	     N_("write checkpoint.txt (the signed body), checkpoint.sig (raw Ed25519 signature) "
	        "and embedded-signing.pub (the key recorded in the file) into DIR; format version "
	        "2 adds checkpoint.note (the C2SP signed note), embedded-signing.vkey and, when the "
	        "checkpoint was timestamped, checkpoint.tst (its RFC 3161 token)"),
	     "DIR"},
	    {"row", 0, 0, G_OPTION_ARG_INT64, &row, N_("checkpoint row id (default: the last)"),
	     "ID"},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	struct archive_reader *r;
	struct archive_pubkey *recorded = NULL;
	sqlite3_stmt *st;
	uint8_t pub[32];
	char *note = NULL, *vkey = NULL, *signer_pem = NULL;
	int rc = EXIT_FAILED;

	if (!tool_parse(
	        &argc, &argv, "FILE",
	        N_("Prints a checkpoint's signed body; with --export writes it for checking with "
	           "openssl alone:\n  openssl pkeyutl -verify -pubin -inkey "
	           "controller-signing.pub -rawin -in DIR/checkpoint.txt -sigfile "
	           "DIR/checkpoint.sig"),
	        opts, 1))
		return EXIT_USAGE;
	r = tool_open(argv[1]);
	if (!r) {
		g_free(dir);
		return EXIT_BAD_FILE;
	}
	if (query(archive_reader_db(r),
	          "SELECT c.id, c.body, c.signature, m.signing_pubkey FROM checkpoints c, meta m "
	          "WHERE c.id = ?1 OR (?1 = 0 AND c.id = (SELECT max(id) FROM checkpoints))",
	          &st))
		goto out;
	sqlite3_bind_int64(st, 1, row);
	if (sqlite3_step(st) != SQLITE_ROW) {
		if (row)
			tool_err(_("%s: no checkpoint with that row id"), argv[1]);
		else
			tool_err(_("%s: no checkpoint"), argv[1]);
		rc = EXIT_TAMPERED;
		goto out_stmt;
	}
	char n1[24];
	printf(_("checkpoints row %s:\n"), tool_num(n1, sizeof(n1), sqlite3_column_int64(st, 0)));
	/* Format version 2: the checkpoint as a C2SP signed note, with the recorded key's vkey. */
	if (archive_reader_version(r) >= 2 &&
	    sqlite3_column_bytes(st, 2) == ARCHIVE_SIGNATURE_LEN &&
	    archive_pubkey_from_pem(raw(st, 3), &recorded) == 0 &&
	    archive_pubkey_raw(recorded, pub) == 0) {
		signer_pem = history_key(r, raw(st, 1), KEY_SLOT_MAIN, pub);
		note = note_checkpoint(raw(st, 1), pub, sqlite3_column_blob(st, 2),
		                       ARCHIVE_SIGNATURE_LEN);
		vkey = note_checkpoint_vkey(raw(st, 1), pub);
		/* and the cosigners' signature lines (c2sp.org/tlog-cosignature) after its own */
		if (note) {
			char *cosigs =
			    cosig_note_lines(archive_reader_db(r), sqlite3_column_int64(st, 0));
			char *with = g_strconcat(note, cosigs, NULL);
			g_free(cosigs);
			g_free(note);
			note = with;
		}
	}
	print_lines(note ? note : raw(st, 1));
	if (dir) {
		g_mkdir_with_parents(dir, 0755);
		if (write_file(dir, "checkpoint.txt", raw(st, 1), strlen(raw(st, 1))) ||
		    write_file(dir, "checkpoint.sig", sqlite3_column_blob(st, 2),
		               (size_t)sqlite3_column_bytes(st, 2)) ||
		    write_file(dir, "embedded-signing.pub", signer_pem ? signer_pem : raw(st, 3),
		               strlen(signer_pem ? signer_pem : raw(st, 3))))
			goto out_stmt;
		if (archive_reader_version(r) >= 2 &&
		    (save_second(r, sqlite3_column_int64(st, 0), raw(st, 1), dir) != 0 ||
		     save_timestamp(r, sqlite3_column_int64(st, 0), dir) != 0))
			goto out_stmt;
		if (note && vkey) {
			char *v = g_strconcat(vkey, "\n", NULL);
			int bad = write_file(dir, "checkpoint.note", note, strlen(note)) ||
			          write_file(dir, "embedded-signing.vkey", v, strlen(v));

			g_free(v);
			if (bad)
				goto out_stmt;
		}
		printf(_("written to %s; check with:\n  openssl pkeyutl -verify -pubin -inkey "
		       "controller-signing.pub -rawin -in %s/checkpoint.txt -sigfile "
		       "%s/checkpoint.sig\n"),
		       dir, dir, dir);
	}
	rc = EXIT_INTACT;
out_stmt:
	sqlite3_finalize(st);
out:
	archive_pubkey_free(recorded);
	g_free(signer_pem);
	g_free(note);
	g_free(vkey);
	archive_reader_free(r);
	g_free(dir);
	return rc;
}
