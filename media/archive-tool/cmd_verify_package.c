/* evalroom-archive verify-package: an evidence package checked without the archive: the
 * manifest, every checkpoint's signatures, chain and timestamp tokens, and every segment's
 * inclusion proof to a signed root. Every failure is named, not only the first. */
#include <errno.h>
#include <glib/gi18n.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "hex.h"
#include "key_history.h"
#include "leaf.h"
#include "package.h"
#include "timestamp.h"
#include "tool.h"
#include "verify.h"

struct check {
	const char *dir;
	int failures;
	const struct key_history *hist; /* the package's key history (or --key-history), or NULL */
};

/* One named failure: "FAILED WHAT: WHY" on stdout. */
static void fail(struct check *c, const char *what, const char *why)
{
	printf(_("FAILED %s: %s\n"), what, why);
	c->failures++;
}

static int read_file(const char *dir, const char *rel, char **data, gsize *len)
{
	char *path = g_build_filename(dir, rel, NULL);
	int ok = g_file_get_contents(path, data, len, NULL);

	g_free(path);
	return ok ? 0 : -EIO;
}

/* A path the manifest or package.json names must stay inside the package. */
static int safe_rel(const char *rel)
{
	char **parts;
	int ok;

	if (!rel || !*rel || rel[0] == '/' || strchr(rel, '\\'))
		return 0;
	parts = g_strsplit(rel, "/", -1);
	ok = 1;
	for (char **p = parts; *p; p++)
		if (!**p || !strcmp(*p, ".") || !strcmp(*p, ".."))
			ok = 0;
	g_strfreev(parts);
	return ok;
}

/* manifest.sha256: every line "HEX  PATH" matches its file, and every file is listed. */
static void check_manifest(struct check *c, guint *files)
{
	GPtrArray *present = package_files(c->dir);
	GHashTable *listed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	char *text = NULL, **lines, hex[65];
	gsize len;
	guint i;

	if (read_file(c->dir, PACKAGE_MANIFEST, &text, &len)) {
		fail(c, PACKAGE_MANIFEST, _("missing or unreadable"));
		goto out;
	}
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		const char *rel = *l + 66;

		if (!**l)
			continue;
		if (strlen(*l) < 67 || (*l)[64] != ' ' || (*l)[65] != ' ' ||
		    strspn(*l, "0123456789abcdef") != 64 || !safe_rel(rel)) {
			fail(c, PACKAGE_MANIFEST,
			     _("a line is not \"SHA-256  PATH\" of a file inside "
			       "the package"));
			continue;
		}
		if (g_hash_table_contains(listed, rel)) {
			fail(c, rel, _("listed twice in the manifest"));
			continue;
		}
		g_hash_table_add(listed, g_strdup(rel));
		if (package_file_sha256(c->dir, rel, hex) != 0)
			fail(c, rel, _("listed in the manifest but missing"));
		else if (strncmp(hex, *l, 64) != 0)
			fail(c, rel,
			     _("its SHA-256 differs from the manifest (the file or the "
			       "manifest was altered)"));
	}
	g_strfreev(lines);
	for (i = 0; i < present->len; i++)
		if (!g_hash_table_contains(listed, present->pdata[i]))
			fail(c, present->pdata[i],
			     _("not in the manifest (added after packaging)"));
	*files = g_hash_table_size(listed);
out:
	g_free(text);
	g_hash_table_unref(listed);
	g_ptr_array_unref(present);
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The key that signed BODY in SLOT: with a key history, the one its key (key2) line names,
 * valid at its time line; else FALLBACK. NULL with *why (new). */
static const struct archive_pubkey *signer_of(struct check *c, const char *body,
                                              enum key_slot slot,
                                              const struct archive_pubkey *fallback, char **why)
{
	return archive_checkpoint_signer(c->hist, body, slot, fallback, why);
}

/* Each checkpoint's body, Ed25519 signature, second signature, chain and timestamp. Fills
 * BODIES (row -> body text) for the proofs. */
static void check_checkpoints(struct check *c, json_t *cps, const struct archive_pubkey *key,
                              const struct archive_pubkey *key2, const char *tsa_ca,
                              GHashTable *bodies, int *timestamps)
{
	char *prev = NULL;
	const char *prev_name = NULL;
	json_t *cp;
	size_t i;

	json_array_foreach(cps, i, cp)
	{
		const char *f_txt = jstr(cp, "body"), *f_sig = jstr(cp, "signature");
		const char *f_sig2 = jstr(cp, "signature2"), *f_tst = jstr(cp, "timestamp");
		char *body = NULL, *sig = NULL, *line = NULL;
		gsize blen, slen;
		char hex[65];
		uint8_t d[32];

		if (!safe_rel(f_txt) || !safe_rel(f_sig) || (f_sig2 && !safe_rel(f_sig2)) ||
		    (f_tst && !safe_rel(f_tst)) || !json_is_integer(json_object_get(cp, "row"))) {
			fail(c, "package.json", _("a checkpoint entry is malformed"));
			continue;
		}
		if (read_file(c->dir, f_txt, &body, &blen) ||
		    read_file(c->dir, f_sig, &sig, &slen)) {
			fail(c, f_txt, _("the checkpoint or its signature is missing"));
			g_free(body);
			continue;
		}
		char *kwhy = NULL;
		const struct archive_pubkey *k = signer_of(c, body, KEY_SLOT_MAIN, key, &kwhy);

		if (!k)
			fail(c, f_sig, kwhy);
		else if (archive_pubkey_verify(k, body, blen, (const uint8_t *)sig, slen) != 0)
			fail(c, f_sig,
			     k == key ? _("Ed25519 signature invalid for the given public key")
			              : _("Ed25519 signature invalid for the key its key line names"));
		g_free(kwhy);
		g_free(sig);
		if (f_sig2) {
			const struct archive_pubkey *k2 =
			    signer_of(c, body, KEY_SLOT_SECOND, key2, &kwhy);

			if (!k2 && kwhy)
				fail(c, f_sig2, kwhy);
			else if (!k2)
				fail(c, f_sig2,
				     _("a second signature, but no second key (--pubkey2, or "
				       "keys/signing2.pub)"));
			else if (read_file(c->dir, f_sig2, &sig, &slen))
				fail(c, f_sig2, _("missing"));
			else if (archive_pubkey_verify(k2, body, blen, (const uint8_t *)sig, slen))
				fail(c, f_sig2,
				     _("second signature (SM2 or Ed25519) invalid for the "
				       "second key"));
			g_free(kwhy);
			g_free(sig);
			sig = NULL;
		}
		/* The chain: a version 2 checkpoint names the SHA-256 of the body before it. */
		line = checkpoint_line_value(body, "prev");
		if (prev && line) {
			checkpoint_sha256(prev, strlen(prev), d);
			hex_encode(d, 32, hex);
			if (strcmp(hex, line) != 0) {
				char *why =
				    g_strdup_printf(_("its prev line is not the SHA-256 of %s: "
				                      "the chain is broken"),
				                    prev_name);
				fail(c, f_txt, why);
				g_free(why);
			}
		}
		g_free(line);
		if (f_tst) {
			struct timestamp_info info = {0};
			char *tok = NULL, *why = NULL;
			gsize tlen;

			if (read_file(c->dir, f_tst, &tok, &tlen))
				fail(c, f_tst, _("missing"));
			else if (timestamp_check(tok, tlen, body, blen, tsa_ca, &info, &why) != 0)
				fail(c, f_tst, why ? why : "?");
			else
				(*timestamps)++;
			timestamp_info_clear(&info);
			g_free(why);
			g_free(tok);
		}
		g_hash_table_insert(bodies,
		                    g_strdup_printf("%" JSON_INTEGER_FORMAT,
		                                    json_integer_value(json_object_get(cp, "row"))),
		                    g_strdup(body));
		g_free(prev);
		prev = body;
		prev_name = f_txt;
	}
	g_free(prev);
}

/* Every segment's proof: to a signed root, the checkpoint one of the package's, the
 * segment file the proven bytes. */
static void check_proofs(struct check *c, json_t *streams, const struct archive_pubkey *key,
                         GHashTable *bodies, int *proven)
{
	json_t *s, *seg;
	size_t i, j;

	json_array_foreach(streams, i, s)
	{
		json_array_foreach(json_object_get(s, "segments"), j, seg)
		{
			const char *f_seg = jstr(seg, "file"), *f_proof = jstr(seg, "proof");
			char *proof_path, *seg_path, *row;
			const char *why, *body;
			json_t *p;

			if (!safe_rel(f_seg) || !safe_rel(f_proof)) {
				fail(c, "package.json", _("a segment entry is malformed"));
				continue;
			}
			proof_path = g_build_filename(c->dir, f_proof, NULL);
			seg_path = g_build_filename(c->dir, f_seg, NULL);
			char *kwhy = NULL;
			const struct archive_pubkey *k = NULL;

			p = json_load_file(proof_path, JSON_REJECT_DUPLICATES, NULL);
			if (json_is_object(p) && jstr(p, "checkpoint_body"))
				k = signer_of(c, jstr(p, "checkpoint_body"), KEY_SLOT_MAIN, key, &kwhy);
			if (!json_is_object(p)) {
				fail(c, f_proof, _("missing or not a proof"));
			} else if (kwhy) {
				/* a clip proven only by a checkpoint of a revoked (or unknown) key */
				fail(c, f_proof, kwhy);
			} else if ((why = proof_check(p, k ? k : key, seg_path))) {
				fail(c, f_proof, why);
			} else {
				row = g_strdup_printf(
				    "%" JSON_INTEGER_FORMAT,
				    json_integer_value(json_object_get(p, "checkpoint_row")));
				body = g_hash_table_lookup(bodies, row);
				if (!body || strcmp(body, jstr(p, "checkpoint_body")) != 0)
					fail(c, f_proof,
					     _("its checkpoint is not one of the package's "
					       "checkpoints"));
				else
					(*proven)++;
				g_free(row);
			}
			g_free(kwhy);
			json_decref(p);
			g_free(seg_path);
			g_free(proof_path);
		}
	}
}

/* The package's key history (keys/key-history.log), checked entry by entry; with EXT
 * (--key-history) its entries must be EXT's beginning and EXT is used. KEY (--pubkey) must then
 * be one of the history's keys, KEY2 (--pubkey2) one of its second keys once it has any: every
 * rotation is signed by both keys, so any of them anchors the others. Sets c->hist. */
static void check_key_history(struct check *c, const struct key_history *ext,
                              const struct archive_pubkey *key, const struct archive_pubkey *key2,
                              struct key_history **own)
{
	char *text = NULL;
	GError *err = NULL;
	uint8_t raw[32], idh[32];
	gsize len;

	if (read_file(c->dir, PACKAGE_KEY_HISTORY, &text, &len) == 0) {
		if (key_history_parse(text, PACKAGE_KEY_HISTORY, own, &err) != 0) {
			fail(c, PACKAGE_KEY_HISTORY, err->message);
			g_error_free(err);
			g_free(text);
			return;
		}
		g_free(text);
	}
	if (ext && *own) {
		for (guint i = 0; i < key_history_length(*own); i++)
			if (i >= key_history_length(ext) ||
			    strcmp(key_history_entry(ext, i)->text, key_history_entry(*own, i)->text)) {
				char *why = g_strdup_printf(_("entry %u differs from the key history "
				                              "given with --key-history"),
				                            i);

				fail(c, PACKAGE_KEY_HISTORY, why);
				g_free(why);
				return;
			}
	}
	c->hist = ext ? ext : *own;
	if (!c->hist)
		return;
	if (key_history_keys(c->hist) > 0 &&
	    (archive_pubkey_raw(key, raw) != 0 ||
	     (EVP_Digest(raw, 32, idh, NULL, EVP_sha256(), NULL), !key_history_find(c->hist, idh))))
		fail(c, "--pubkey", _("the key given is none of the keys of the key history"));
	if (key2 && key_history_slot_keys(c->hist, KEY_SLOT_SECOND) > 0 &&
	    (archive_pubkey_spki_sha256(key2, idh) != 0 ||
	     !key_history_slot_find(c->hist, KEY_SLOT_SECOND, idh)))
		fail(c, "--pubkey2", _("the key given is none of the second keys of the key history"));
}

int cmd_verify_package(int argc, char **argv)
{
	char *pub = NULL, *pub2 = NULL, *tsa_ca = NULL, *path, *hist_path = NULL;
	struct key_history *hist = NULL, *ext = NULL;
	GOptionEntry opts[] = {
	    {"key-history", 0, 0, G_OPTION_ARG_FILENAME, &hist_path,
	     N_("the controller's key history (key-history.log, or a copy): check every "
	        "checkpoint against it, revocations made after the package was cut included; "
	        "without it the history the package carries (keys/key-history.log) is used"),
	     "key-history.log"},
	    {"pubkey", 'k', 0, G_OPTION_ARG_FILENAME, &pub,
	     N_("the controller's public key (PEM, required)"), "controller-signing.pub"},
	    {"pubkey2", 0, 0, G_OPTION_ARG_FILENAME, &pub2,
	     N_("the site's second public key (SM2 or Ed25519 PEM); without it the one the "
	        "package records (keys/signing2.pub)"),
	     "sm2-signing.pub"},
	    {"tsa-ca", 0, 0, G_OPTION_ARG_FILENAME, &tsa_ca,
	     N_("the timestamp authority's CA certificate(s) (PEM): check the timestamp tokens "
	        "up to it; without it against the certificate each token carries"),
	     "CA.pem"},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	struct archive_pubkey *key = NULL, *key2 = NULL;
	struct check c = {0};
	GHashTable *bodies = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	json_t *pkg = NULL;
	int rc = EXIT_USAGE, proven = 0, timestamps = 0, key2_recorded = 0;
	guint files = 0;
	char n[4][24];

	if (!tool_parse(
	        &argc, &argv, "DIR",
	        N_("Checks an evidence package made by `package` without the archive: every file "
	           "against manifest.sha256 (and no file outside it), every checkpoint's Ed25519 "
	           "signature with --pubkey and second (SM2) signature, their prev chain, their "
	           "RFC 3161 timestamp tokens, and every segment's inclusion proof to a signed "
	           "root with the segment's SHA-256. Names every failure."),
	        opts, 1))
		goto out;
	if (!pub || archive_pubkey_load(pub, &key)) {
		tool_err(_("verify-package needs --pubkey with a readable Ed25519 public key"));
		goto out;
	}
	if (pub2 && archive_pubkey_load_any(pub2, &key2)) {
		tool_err(_("%s: not a readable SM2 or Ed25519 public key (PEM)"), pub2);
		goto out;
	}
	if (hist_path) {
		GError *herr = NULL;

		if (key_history_load(hist_path, &ext, &herr) != 0) {
			printf(_("FAILED %s: %s\n"), hist_path, herr->message);
			g_error_free(herr);
			rc = EXIT_TAMPERED;
			goto out;
		}
	}
	c.dir = argv[1];
	path = g_build_filename(c.dir, "package.json", NULL);
	pkg = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
	g_free(path);
	if (!json_is_object(pkg) || g_strcmp0(jstr(pkg, "format"), PACKAGE_FORMAT) != 0 ||
	    !json_is_array(json_object_get(pkg, "streams")) ||
	    !json_is_array(json_object_get(pkg, "checkpoints"))) {
		tool_err(_("%s: not an evidence package (package.json missing or not \"%s\")"),
		         c.dir, PACKAGE_FORMAT);
		rc = EXIT_BAD_FILE;
		goto out;
	}
	if (!key2) {
		path = g_build_filename(c.dir, "keys", "signing2.pub", NULL);
		key2_recorded = g_file_test(path, G_FILE_TEST_EXISTS) &&
		                archive_pubkey_load_any(path, &key2) == 0;
		g_free(path);
	}
	check_manifest(&c, &files);
	check_key_history(&c, ext, key, key2, &hist);
	check_checkpoints(&c, json_object_get(pkg, "checkpoints"), key, key2, tsa_ca, bodies,
	                  &timestamps);
	check_proofs(&c, json_object_get(pkg, "streams"), key, bodies, &proven);
	if (c.failures) {
		printf(_("FAILED %s: %d problems (named above)\n"), c.dir, c.failures);
		rc = EXIT_TAMPERED;
		goto out;
	}
	g_snprintf(n[0], sizeof(n[0]), "%u", files);
	g_snprintf(n[1], sizeof(n[1]), "%d", proven);
	g_snprintf(n[2], sizeof(n[2]), "%zu", json_array_size(json_object_get(pkg, "streams")));
	g_snprintf(n[3], sizeof(n[3]), "%zu", json_array_size(json_object_get(pkg, "checkpoints")));
	/* The verdict keyword stays OK in every language; the sentence is translated. */
	printf("OK %s: ", c.dir);
	printf(_("%s files match the manifest; %s segments of %s streams proven in the signed "
	         "checkpoints; %s checkpoints signed and chained\n"),
	       n[0], n[1], n[2], n[3]);
	if (key2 && key2_recorded)
		printf(_("second signatures checked with the key the package records "
		         "(keys/signing2.pub): pass --pubkey2 to prove whose\n"));
	else if (key2)
		printf(_("second signatures checked with %s\n"), pub2);
	if (timestamps)
		printf(_("%d RFC 3161 timestamps valid%s\n"), timestamps,
		       tsa_ca ? _(", checked up to --tsa-ca")
		              : _(" against the certificate each carries: pass --tsa-ca to prove "
		                  "which TSA"));
	else
		printf(_("note: no RFC 3161 timestamp in the package\n"));
	printf(_("note: not covered by any signature, only by the manifest (compare its SHA-256 "
	         "with the transmittal record): the clips (viewing copies of the proven "
	         "segments), timeline.txt, timeline.json, package.json, package.js, index.html "
	         "and README.txt\n"));
	rc = EXIT_INTACT;
out:
	json_decref(pkg);
	key_history_free(hist);
	key_history_free(ext);
	g_free(hist_path);
	g_hash_table_unref(bodies);
	archive_pubkey_free(key);
	archive_pubkey_free(key2);
	g_free(pub);
	g_free(pub2);
	g_free(tsa_ca);
	return rc;
}
