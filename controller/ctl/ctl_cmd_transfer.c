/* evalroomctl archive transfer|receive: the transfer (移交) of sealed archives from
 * one custodian to another, signed by both (docs/archives.md, "Transfer"). */
#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cert_sig.h"
#include "ctl.h"
#include "ctl_cmd_ops.h"
#include "ctl_commands.h"
#include "ctl_sign.h"
#include "merkle.h"
#include "reader.h"
#include "request.h"
#include "key_history.h"
#include "roots_check.h"
#include "verify.h"

#define MANIFEST        "transfer.json"
#define RECEIPT         "receipt.json"
#define MANIFEST_FORMAT "evalroom-transfer-manifest v1"
#define RECEIPT_FORMAT  "evalroom-transfer-receipt v1"
#define CHUNK           (1024 * 1024)
#define PROBLEMS_MAX    4000

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static long long num(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* The CN of the certificate in PATH into cn[65]; 0 or -EINVAL. */
static int cert_cn(const char *path, char cn[65])
{
	X509 *x = cert_read_file(path);
	cn[0] = '\0';
	if (x)
		X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, 65);
	X509_free(x);
	return cn[0] ? 0 : -EINVAL;
}

/* TEXT's signature by this identity: the signing certificate (PEM, *cert_pem), the
 * signature as base64 (*sig_b64) and the identity (cn[65]). 0, or the exit code. */
static int sign_as_me(struct ctl *ctl, const char *what, const char *text, char **cert_pem,
                      char **sig_b64, char cn[65])
{
	char *cert_path = NULL, *key_path = NULL, *why = NULL;
	int rc = 0;
	ctl_signing_paths(ctl, &cert_path, &key_path);
	if (!g_file_get_contents(cert_path, cert_pem, NULL, NULL) || cert_cn(cert_path, cn) != 0)
		rc = ctl_ops_local_fail(ctl, what, _("%s: cannot read the certificate"), cert_path);
	else if (!(*sig_b64 = ctl_sign_with(key_path, text, strlen(text), &why)))
		rc = ctl_ops_local_fail(ctl, what, "%s", why);
	g_free(cert_path);
	g_free(key_path);
	g_free(why);
	return rc;
}

/* DIR/NAME written with LEN bytes of DATA (mode 0644: these files are meant to travel). */
static int write_in(struct ctl *ctl, const char *what, const char *dir, const char *name,
                    const void *data, gssize len)
{
	char *path = g_build_filename(dir, name, NULL);
	GError *err = NULL;
	int rc = 0;
	if (!g_file_set_contents_full(path, data, len, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &err)) {
		rc = ctl_ops_local_fail(ctl, what, "%s", err->message);
		g_error_free(err);
	}
	g_free(path);
	return rc;
}

/* The signed document TEXT with its signature and signer's certificate beside it in DIR:
 * NAME, NAME.sig (the raw 64 bytes, as openssl pkeyutl -sigfile reads them), CN.signing.crt. */
static int write_signed(struct ctl *ctl, const char *what, const char *dir, const char *name,
                        const char *text, const char *sig_b64, const char *cn,
                        const char *cert_pem)
{
	gsize len = 0;
	guchar *sig = g_base64_decode(sig_b64, &len);
	char *sig_name = g_strconcat(name, ".sig", NULL);
	char *crt_name = g_strconcat(cn, ".signing.crt", NULL);
	int rc = write_in(ctl, what, dir, name, text, -1);
	if (!rc)
		rc = write_in(ctl, what, dir, sig_name, sig, (gssize)len);
	if (!rc)
		rc = write_in(ctl, what, dir, crt_name, cert_pem, -1);
	g_free(sig);
	g_free(sig_name);
	g_free(crt_name);
	return rc;
}

/* ---- prepare ---- */

static int cmd_prepare(struct ctl *ctl, int argc, char **argv)
{
	char **tenders = NULL, *to = NULL, *reason = NULL, *dir = NULL;
	const GOptionEntry entries[] = {
	    {"tender", 0, 0, G_OPTION_ARG_STRING_ARRAY, &tenders,
	     "a tender whose sealed archive is handed over (repeat for several)", "TENDER"},
	    {"to", 0, 0, G_OPTION_ARG_STRING, &to, "the receiving custodian (auditor-NAME)", "ID"},
	    {"reason", 0, 0, G_OPTION_ARG_STRING, &reason, "why (required)", "TEXT"},
	    {"output", 'o', 0, G_OPTION_ARG_FILENAME, &dir, "a new directory", "DIR"},
	    G_OPTION_ENTRY_NULL};
	const char *what = "archive transfer";
	char *cert_pem = NULL, *sig = NULL, *text = NULL;
	char me[65] = "";
	json_t *files = json_array(), *res = NULL;
	int rc = ctl_ops_parse(ctl, what, entries, &argc, &argv, 0);
	if (rc)
		goto out;
	if (!tenders || !*tenders || !to || !*to || !reason || !*reason || !dir || !*dir) {
		rc = ctl_ops_local_fail(ctl, what,
		                        _("--tender T (one or more), --to ID, --reason TEXT and -o "
		                          "DIR are required"));
		goto out;
	}
	if (!g_str_has_prefix(to, "auditor-") || strchr(to, '/') || strlen(to) > 64) {
		rc = ctl_ops_local_fail(ctl, what, _("--to: %s is not a custodian (auditor-NAME)"), to);
		goto out;
	}
	if (g_mkdir(dir, 0700) != 0) {
		rc = ctl_ops_local_fail(ctl, what, _("%s: %s (name a new directory)"), dir,
		                        g_strerror(errno));
		goto out;
	}
	/* Each archive fetched as any retrieval is: verified by the controller against the
	 * published roots, recorded, and its bytes checked here. */
	for (char **t = tenders; *t; t++) {
		char *file = g_strconcat(*t, ".evarc", NULL);
		char *path = g_build_filename(dir, file, NULL);
		json_t *got = NULL;
		gint64 resumed = 0;
		rc = ctl_archive_fetch(ctl, what, *t, reason, path, CHUNK, &got, &resumed);
		g_free(path);
		g_free(file);
		if (rc)
			goto out;
		json_array_append_new(
		    files, json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O}", "tender",
		                     json_object_get(got, "tender"), "file", json_object_get(got, "file"),
		                     "bytes", json_object_get(got, "bytes"), "sha256",
		                     json_object_get(got, "sha256"), "tree_size",
		                     json_object_get(got, "tree_size"), "root",
		                     json_object_get(got, "root"), "root_log_line",
		                     json_object_get(got, "root_log_line")));
		json_decref(got);
	}
	char *cert_path = NULL, *key_path = NULL;
	ctl_signing_paths(ctl, &cert_path, &key_path);
	int cn_rc = cert_cn(cert_path, me);
	g_free(cert_path);
	g_free(key_path);
	if (cn_rc != 0) {
		rc = ctl_ops_local_fail(ctl, what, _("cannot read this identity's certificate"));
		goto out;
	}
	json_t *manifest = json_pack("{s:s, s:s, s:s, s:s, s:I, s:O}", "format", MANIFEST_FORMAT,
	                             "from", me, "to", to, "reason", reason, "prepared_us",
	                             (json_int_t)g_get_real_time(), "files", files);
	text = json_dumps(manifest, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(manifest);
	if ((rc = sign_as_me(ctl, what, text, &cert_pem, &sig, me)) != 0)
		goto out;
	rc = ctl_ops_call(ctl, what, "archive.transfer_prepared",
	                  json_pack("{s:s, s:s, s:s}", "manifest", text, "signature", sig,
	                            "certificate", cert_pem),
	                  &res);
	if (!rc)
		rc = write_signed(ctl, what, dir, MANIFEST, text, sig, me, cert_pem);
	if (rc)
		goto out;
	if (ctl_want_json(ctl)) {
		json_object_set_new(res, "directory", json_string(dir));
		ctl_print_json(res);
	} else {
		printf(_("Transfer of %zu archives from %s to %s prepared in %s.\n"),
		       json_array_size(files), me, to, dir);
		size_t i;
		json_t *f;
		json_array_foreach(files, i, f) printf(_("  %-24s %12lld bytes  sha256 %s\n"),
		                                       str(f, "file"), num(f, "bytes"), str(f, "sha256"));
		printf(_("manifest   %s (SHA-256 %s), signed by %s: %s.sig, %s.signing.crt\n"), MANIFEST,
		       str(res, "manifest_sha256"), me, MANIFEST, me);
		printf(_("Hand the directory to %s, who checks it and countersigns with\n"
		         "  evalroomctl archive receive %s\n"),
		       to, dir);
	}
out:
	json_decref(res);
	json_decref(files);
	g_strfreev(tenders);
	g_free(to);
	g_free(reason);
	g_free(dir);
	g_free(cert_pem);
	g_free(sig);
	free(text);
	return rc;
}

/* ---- receive ---- */

static char *sha256_file(const char *path, gint64 *bytes)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	GChecksum *cs = g_checksum_new(G_CHECKSUM_SHA256);
	guchar *buf = g_malloc(1 << 20);
	size_t n;
	*bytes = 0;
	while ((n = fread(buf, 1, 1 << 20, f)) > 0) {
		g_checksum_update(cs, buf, (gssize)n);
		*bytes += (gint64)n;
	}
	char *hex = ferror(f) ? NULL : g_strdup(g_checksum_get_string(cs));
	fclose(f);
	g_free(buf);
	g_checksum_free(cs);
	return hex;
}

/* One file of the manifest F, checked in DIR against the manifest and against the roots the
 * controller published for its tender (ROOTS, the archives.roots answer). NULL when it
 * holds, else what is wrong (new). */
static char *check_file(const char *dir, const json_t *f, const json_t *roots)
{
	const char *tender = str(f, "tender"), *file = str(f, "file");
	char *expect = g_strconcat(tender, ".evarc", NULL);
	bool named = strcmp(file, expect) == 0 && !strchr(tender, '/') && *tender;
	g_free(expect);
	if (!named)
		return g_strdup_printf(_("%s: not the file name of tender %s"), file, tender);
	char *path = g_build_filename(dir, file, NULL), *why = NULL, *sha = NULL;
	struct archive_reader *r = NULL;
	struct archive_pubkey *key = NULL;
	struct archive_verify_report rep = {0};
	gint64 bytes = 0;
	if (!(sha = sha256_file(path, &bytes))) {
		why = g_strdup_printf(_("%s: missing or unreadable"), file);
		goto out;
	}
	if (strcmp(sha, str(f, "sha256")) != 0 || bytes != num(f, "bytes")) {
		why = g_strdup_printf(_("%s: altered after it was prepared: SHA-256 %s (%lld bytes), "
		                        "the manifest says %s (%lld bytes)"),
		                      file, sha, (long long)bytes, str(f, "sha256"), num(f, "bytes"));
		goto out;
	}
	char *rerr = NULL;
	/* The key travels as base64 DER (a response's strings carry no line breaks). */
	GString *pem = g_string_new("-----BEGIN PUBLIC KEY-----\n");
	const char *b64 = str(roots, "pubkey_spki");
	for (size_t k = 0; k < strlen(b64); k += 64)
		g_string_append_printf(pem, "%.64s\n", b64 + k);
	g_string_append(pem, "-----END PUBLIC KEY-----\n");
	int krc = archive_pubkey_from_pem(pem->str, &key);
	g_string_free(pem, TRUE);
	if (krc != 0) {
		why = g_strdup_printf(_("%s: the controller's public key cannot be read"), file);
		goto out;
	}
	if (archive_reader_open(path, &r, &rerr) != 0) {
		why = g_strdup_printf(_("%s: cannot be read as an archive: %s"), file,
		                      rerr ? rerr : "?");
		g_free(rerr);
		goto out;
	}
	/* After a key rotation: checked against the controller's key history, so an archive
	 * sealed under an earlier key verifies with the current one. */
	struct key_history *hist = NULL;
	json_t *hl = json_object_get(roots, "key_history");
	if (json_is_array(hl) && json_array_size(hl) > 0) {
		GString *text = g_string_new(NULL);
		size_t j;
		json_t *l;
		json_array_foreach(hl, j, l)
		{
			const char *line = json_string_value(l);
			g_string_append_printf(text, "%s\n", line ? line : "");
		}
		GError *herr = NULL;
		int hrc = key_history_parse(text->str, "archives.roots", &hist, &herr);
		g_string_free(text, TRUE);
		if (hrc != 0) {
			why = g_strdup_printf("%s: %s", file, herr->message);
			g_error_free(herr);
			goto out;
		}
	}
	int vrc = archive_verify_history(r, key, NULL, hist, &rep);
	key_history_free(hist);
	if (vrc != 0) {
		why = g_strdup_printf(_("%s: does not verify: %s"), file, rep.problem ? rep.problem : "?");
		goto out;
	}
	uint8_t root[MERKLE_HASH_LEN];
	char root_hex[65] = "";
	if (merkle_root(rep.leaf_hashes->data, rep.leaves, root) == 0)
		for (int i = 0; i < MERKLE_HASH_LEN; i++)
			g_snprintf(root_hex + 2 * i, 3, "%02x", root[i]);
	if (!rep.sealed || g_strcmp0(rep.tender, tender) != 0 ||
	    (long long)rep.leaves != num(f, "tree_size") || strcmp(root_hex, str(f, "root")) != 0) {
		why = g_strdup_printf(_("%s: not the sealed archive of %s with %lld records and root %s "
		                        "that the manifest names"),
		                      file, tender, num(f, "tree_size"), str(f, "root"));
		goto out;
	}
	struct roots_check rc = {0};
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(roots, "published"), i, p)
	{
		struct rootlog_entry e = {0};
		e.index = (uint64_t)num(p, "line");
		e.size = (uint64_t)num(p, "size");
		g_strlcpy(e.tender, tender, sizeof e.tender);
		const char *hex = str(p, "root");
		for (int k = 0; k < 32 && strlen(hex) == 64; k++)
			e.root[k] = (uint8_t)(g_ascii_xdigit_value(hex[2 * k]) * 16 +
			                      g_ascii_xdigit_value(hex[2 * k + 1]));
		roots_check_entry(&e, tender, rep.leaf_hashes, &rc);
	}
	if (rc.problem)
		why = g_strdup_printf("%s: %s", file, rc.problem);
	else if (rc.latest_size != rep.leaves)
		why = g_strdup_printf(_("%s: its final checkpoint (size %lld) is not the latest the "
		                        "site published for %s (size %lld)"),
		                      file, (long long)rep.leaves, tender, (long long)rc.latest_size);
	g_free(rc.problem);
out:
	archive_verify_report_clear(&rep);
	archive_reader_free(r);
	archive_pubkey_free(key);
	g_free(sha);
	g_free(path);
	return why;
}

/* The manifest in DIR: its text (*text), parsed (*manifest), checked as signed by the
 * custodian it names as handing over, with a certificate of the site CA. 0, or the exit code. */
static int read_manifest(struct ctl *ctl, const char *what, const char *dir, char **text,
                         json_t **manifest)
{
	char *path = g_build_filename(dir, MANIFEST, NULL), *sig_path = NULL, *crt_path = NULL;
	char *sig = NULL, *cert = NULL, *why = NULL, signer[65] = "";
	gsize sig_len = 0;
	X509 *ca = NULL;
	int rc = 0;
	if (!g_file_get_contents(path, text, NULL, NULL) ||
	    !(*manifest = json_loads(*text, JSON_REJECT_DUPLICATES, NULL)) ||
	    strcmp(str(*manifest, "format"), MANIFEST_FORMAT) != 0) {
		rc = ctl_ops_local_fail(ctl, what, _("%s: not a transfer manifest"), path);
		goto out;
	}
	const char *from = str(*manifest, "from");
	if (!g_str_has_prefix(from, "auditor-") || strchr(from, '/')) {
		rc = ctl_ops_local_fail(ctl, what, _("%s: not a transfer manifest"), path);
		goto out;
	}
	sig_path = g_strconcat(path, ".sig", NULL);
	crt_path = g_strdup_printf("%s/%s.signing.crt", dir, str(*manifest, "from"));
	if (!g_file_get_contents(sig_path, &sig, &sig_len, NULL) ||
	    !g_file_get_contents(crt_path, &cert, NULL, NULL)) {
		rc = ctl_ops_local_fail(ctl, what, _("%s and %s are needed beside the manifest"),
		                        sig_path, crt_path);
		goto out;
	}
	if (!(ca = cert_read_file(ctl_ca_path(ctl)))) {
		rc = ctl_ops_local_fail(ctl, what, _("%s: cannot read the site CA"), ctl_ca_path(ctl));
		goto out;
	}
	if (cert_sig_check(cert, (const uint8_t *)sig, sig_len, *text, strlen(*text),
	                   "the transfer manifest", ca, signer, &why) != 0 ||
	    strcmp(signer, str(*manifest, "from")) != 0)
		rc = ctl_ops_local_fail(ctl, what, _("the manifest is not signed by %s: %s"),
		                        str(*manifest, "from"),
		                        why ? why : _("the certificate is another identity's"));
out:
	X509_free(ca);
	g_free(path);
	g_free(sig_path);
	g_free(crt_path);
	g_free(sig);
	g_free(cert);
	g_free(why);
	return rc;
}

static int cmd_receive(struct ctl *ctl, int argc, char **argv)
{
	const GOptionEntry entries[] = {G_OPTION_ENTRY_NULL};
	const char *what = "archive receive";
	char *text = NULL, *cert_pem = NULL, *sig = NULL, *receipt_text = NULL, *msha = NULL;
	char me[65] = "";
	json_t *manifest = NULL, *res = NULL, *checked = json_array();
	GPtrArray *problems = g_ptr_array_new_with_free_func(g_free);
	int rc = ctl_ops_parse(ctl, what, entries, &argc, &argv, 1);
	if (rc)
		goto out;
	const char *dir = argv[1];
	if ((rc = read_manifest(ctl, what, dir, &text, &manifest)) != 0)
		goto out;
	msha = g_compute_checksum_for_string(G_CHECKSUM_SHA256, text, -1);
	char *cert_path = NULL, *key_path = NULL;
	ctl_signing_paths(ctl, &cert_path, &key_path);
	cert_cn(cert_path, me);
	g_free(cert_path);
	g_free(key_path);
	if (strcmp(me, str(manifest, "to")) != 0) {
		rc = ctl_ops_local_fail(ctl, what, _("the manifest hands the archives to %s, not to %s"),
		                        str(manifest, "to"), me);
		goto out;
	}
	/* Every file: its bytes against the manifest, the whole archive verified with the
	 * controller's key, and against every root the site published for its tender. */
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(manifest, "files"), i, f)
	{
		json_t *roots = NULL;
		rc = ctl_ops_call(ctl, what, "archives.roots",
		                  json_pack("{s:s}", "tender", str(f, "tender")), &roots);
		if (rc)
			goto out;
		char *why = check_file(dir, f, roots);
		json_decref(roots);
		if (why)
			g_ptr_array_add(problems, why);
		else
			json_array_append_new(
			    checked, json_pack("{s:O, s:O, s:O, s:O, s:O, s:O}", "tender",
			                       json_object_get(f, "tender"), "file", json_object_get(f, "file"),
			                       "bytes", json_object_get(f, "bytes"), "sha256",
			                       json_object_get(f, "sha256"), "tree_size",
			                       json_object_get(f, "tree_size"), "root",
			                       json_object_get(f, "root")));
	}
	if (problems->len > 0 || json_array_size(checked) == 0) {
		if (problems->len == 0)
			g_ptr_array_add(problems, g_strdup(_("the manifest lists no file")));
		g_ptr_array_add(problems, NULL);
		char *all = g_strjoinv("; ", (char **)problems->pdata);
		if (strlen(all) > PROBLEMS_MAX)
			all[PROBLEMS_MAX] = '\0';
		json_t *ignored = NULL;
		int rrc = ctl_ops_call(ctl, what, "archive.transfer_refused",
		                       json_pack("{s:s, s:s}", "manifest_sha256", msha, "problems", all),
		                       &ignored);
		json_decref(ignored);
		GError *err = g_error_new(REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		                          _("not signed: %u of %zu files do not verify: %s%s"),
		                          problems->len - 1,
		                          json_array_size(json_object_get(manifest, "files")), all,
		                          rrc ? "" : _(" (the refusal is in the custody log)"));
		rc = ctl_fail(ctl, what, err);
		g_error_free(err);
		g_free(all);
		goto out;
	}
	json_t *receipt = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:O}", "format", RECEIPT_FORMAT,
	                            "manifest_sha256", msha, "from", str(manifest, "from"), "to",
	                            me, "received_us", (json_int_t)g_get_real_time(), "result",
	                            "verified", "files", checked);
	receipt_text = json_dumps(receipt, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(receipt);
	if ((rc = sign_as_me(ctl, what, receipt_text, &cert_pem, &sig, me)) != 0)
		goto out;
	rc = ctl_ops_call(ctl, what, "archive.transfer_received",
	                  json_pack("{s:s, s:s, s:s}", "receipt", receipt_text, "signature", sig,
	                            "certificate", cert_pem),
	                  &res);
	if (!rc)
		rc = write_signed(ctl, what, dir, RECEIPT, receipt_text, sig, me, cert_pem);
	if (rc)
		goto out;
	if (ctl_want_json(ctl)) {
		ctl_print_json(res);
	} else {
		printf(_("Received %zu archives from %s: every file verified against the manifest "
		         "and the roots the site published.\n"),
		       json_array_size(checked), str(manifest, "from"));
		printf(_("receipt    %s (SHA-256 %s), countersigned by %s: %s.sig, %s.signing.crt\n"),
		       RECEIPT, str(res, "receipt_sha256"), me, RECEIPT, me);
		printf(_("The transfer is recorded in the custody log.\n"));
	}
out:
	json_decref(res);
	json_decref(manifest);
	json_decref(checked);
	g_ptr_array_free(problems, TRUE);
	g_free(text);
	g_free(msha);
	g_free(cert_pem);
	g_free(sig);
	free(receipt_text);
	return rc;
}

const struct ctl_command transfer_ctl_commands[] = {
    {"archive transfer",
     "archive transfer --tender T [--tender T2 ...] --to auditor-NAME --reason TEXT -o DIR",
     N_("Hand sealed archives over (移交) to another custodian: each archive is fetched into\n"
        "the new directory DIR (verified by the controller and recorded like any fetch), and\n"
        "a manifest DIR/transfer.json (files, sizes, SHA-256, tree sizes, roots, who hands\n"
        "over, who receives, why) is signed with this custodian's signing key\n"
        "(transfer.json.sig, and the certificate beside it). The controller checks the\n"
        "signature and records the transfer in the custody log. Auditors only."),
     cmd_prepare, false},
    {"archive receive", "archive receive DIR",
     N_("Take over the archives of a prepared transfer, as the custodian it names: every\n"
        "file in DIR is checked against the manifest (size, SHA-256), verified in full with\n"
        "the controller's key, and against every root the site published for its tender.\n"
        "Only when all hold is a receipt DIR/receipt.json countersigned with this\n"
        "custodian's signing key; otherwise each failing file is named and nothing is\n"
        "signed. Either outcome is recorded in the custody log. Auditors only."),
     cmd_receive, false},
    {NULL, NULL, NULL, NULL, false},
};
