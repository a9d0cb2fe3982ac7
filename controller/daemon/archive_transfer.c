/* Transfer of sealed archives between custodians (archive_transfer.h). */
#include "archive_transfer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "archives.h"
#include "key_history.h"
#include "keys.h"
#include "cert_sig.h"
#include "custody.h"
#include "hex.h"
#include "log.h"
#include "msg.h"
#include "ops.h"
#include "rootlog.h"
#include "text_safe.h"

#define MANIFEST_FORMAT "evalroom-transfer-manifest v1"
#define RECEIPT_FORMAT  "evalroom-transfer-receipt v1"
#define DOC_MAX         (1024 * 1024) /* a manifest of a few thousand archives */
#define FILES_MAX       4096
#define PROBLEMS_MAX    4000

/* IDENTITY is a custodian's: auditor-<name>. */
static bool custodian(const char *identity)
{
	return identity && g_str_has_prefix(identity, "auditor-") && id_valid(identity + 8);
}

static bool hex64(const char *s)
{
	if (!s || strlen(s) != 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!g_ascii_isxdigit(*p) || g_ascii_isupper(*p))
			return false;
	return true;
}

static void sha256_hex(const char *text, char out[65])
{
	char *h = g_compute_checksum_for_string(G_CHECKSUM_SHA256, text, -1);
	g_strlcpy(out, h, 65);
	g_free(h);
}

/* SIG_B64 over the bytes of DOC by the certificate CERT, which must be the site CA's and
 * the requester's. 0, or -EACCES / -EIO with *err. */
static int signed_by_requester(struct controller *c, const struct request *req, const char *doc,
                               const char *sig_b64, const char *cert, const char *what,
                               GError **err)
{
	X509 *ca = cert_read_file(c->cfg.ca);
	if (!ca)
		return ops_fail(err, REQUEST_ERROR_INTERNAL, EIO, "the site CA %s is unreadable",
		                c->cfg.ca);
	gsize len = 0;
	guchar *sig = g_base64_decode(sig_b64, &len);
	char identity[65] = "", *why = NULL;
	int rc = 0;
	if (cert_sig_check(cert, sig, len, doc, strlen(doc), what, ca, identity, &why) != 0)
		rc = ops_fail(err, REQUEST_ERROR_DENIED, EACCES, "%s: nothing recorded", why);
	else if (strcmp(identity, req->requester) != 0)
		rc = ops_fail(err, REQUEST_ERROR_DENIED, EACCES,
		              "the certificate is %s's, not the requester's (%s): nothing recorded",
		              identity, req->requester);
	g_free(why);
	g_free(sig);
	X509_free(ca);
	return rc;
}

/* One file of a manifest (WITH_LOG_LINE) or a receipt, checked into its members. */
static int read_file_entry(json_t *e, size_t i, bool with_log_line, GError **err)
{
	struct msg_reader r;
	char *path = g_strdup_printf("files[%zu]", i);
	msg_reader_init(&r, e, path);
	const char *tender = msg_read_id(&r, "tender", true);
	const char *file = msg_read_string(&r, "file", true, 64);
	msg_read_int(&r, "bytes", true, 1, INT64_MAX, 0);
	const char *sha = msg_read_string(&r, "sha256", true, 64);
	msg_read_int(&r, "tree_size", true, 1, INT64_MAX, 0);
	const char *root = msg_read_string(&r, "root", true, 64);
	if (with_log_line)
		msg_read_int(&r, "root_log_line", true, 0, INT64_MAX, 0);
	int rc = msg_reader_finish(&r, err);
	if (rc == 0 && (!hex64(sha) || !hex64(root)))
		rc = ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		              "%s: sha256 and root are 64 lower-case hex digits", path);
	else if (rc == 0 && strcmp(file, tender) != 0 && !(g_str_has_prefix(file, tender) &&
	                                                  strcmp(file + strlen(tender), ".evarc") == 0))
		rc = ops_fail(err, REQUEST_ERROR_INVALID, EINVAL, "%s: the file of %s is %s.evarc",
		              path, tender, tender);
	g_free(path);
	return rc;
}

/* The fetch line by which IDENTITY took the archive of TENDER with SHA256 and ROOT, or NULL:
 * what is handed over must be what the controller verified and recorded as handed out. */
static const json_t *fetched(struct controller *c, const char *identity, const json_t *file)
{
	const char *tender = json_string_value(json_object_get(file, "tender"));
	size_t i;
	json_t *r;
	json_array_foreach(custody_records(c), i, r)
	{
		if (g_strcmp0(json_string_value(json_object_get(r, "kind")), "fetch") == 0 &&
		    g_strcmp0(json_string_value(json_object_get(r, "identity")), identity) == 0 &&
		    g_strcmp0(json_string_value(json_object_get(r, "tender")), tender) == 0 &&
		    json_equal(json_object_get(r, "sha256"), json_object_get(file, "sha256")) &&
		    json_equal(json_object_get(r, "root"), json_object_get(file, "root")) &&
		    json_equal(json_object_get(r, "tree_size"), json_object_get(file, "tree_size")) &&
		    json_equal(json_object_get(r, "bytes"), json_object_get(file, "bytes")))
			return r;
	}
	return NULL;
}

/* The `transfer` lines of the manifest with SHA256 (new array; empty when none). */
static json_t *transfer_lines(struct controller *c, const char *sha256, const char *kind)
{
	json_t *out = json_array();
	size_t i;
	json_t *r;
	json_array_foreach(custody_records(c), i, r)
	{
		if (g_strcmp0(json_string_value(json_object_get(r, "kind")), kind) == 0 &&
		    g_strcmp0(json_string_value(json_object_get(r, "manifest_sha256")), sha256) == 0)
			json_array_append(out, r);
	}
	return out;
}

/* A parsed JSON document (a manifest or a receipt) from TEXT: one object, no duplicate
 * members. NULL with *err. */
static json_t *parse_doc(const char *text, const char *name, GError **err)
{
	json_error_t je;
	json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(doc)) {
		ops_fail(err, REQUEST_ERROR_INVALID, EINVAL, "member 'args.%s': not a JSON object: %s",
		         name, doc ? "another JSON value" : je.text);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* archive.transfer_prepared {manifest, signature, certificate}: the custodian handing over
 * has signed MANIFEST; each file in it must be one this custodian fetched. */
static int handle_prepared(struct controller *c, const struct request *req, json_t **result,
                           GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *text = msg_read_string(&r, "manifest", true, DOC_MAX);
	const char *sig = msg_read_string(&r, "signature", true, 200);
	const char *cert = msg_read_string(&r, "certificate", true, 8192);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	json_t *doc = parse_doc(text, "manifest", err);
	if (!doc)
		return -EINVAL;
	struct msg_reader m;
	msg_reader_init(&m, doc, "manifest");
	const char *format = msg_read_string(&m, "format", true, 64);
	const char *from = msg_read_string(&m, "from", true, 64);
	const char *to = msg_read_string(&m, "to", true, 64);
	const char *reason = msg_read_string(&m, "reason", true, 500);
	msg_read_int(&m, "prepared_us", true, 0, INT64_MAX, 0);
	json_t *files = msg_read_array(&m, "files", true, FILES_MAX);
	char sha[65];
	int rc = msg_reader_finish(&m, err);
	if (rc != 0)
		goto out;
	if (strcmp(format, MANIFEST_FORMAT) != 0 || !custodian(to) || !text_clean(reason) ||
	    !*reason || json_array_size(files) == 0) {
		rc = ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		              "the manifest is not a transfer manifest (\"%s\") of at least one file "
		              "to a custodian (auditor-NAME) with a reason in one line",
		              MANIFEST_FORMAT);
		goto out;
	}
	if (strcmp(from, req->requester) != 0 || strcmp(to, req->requester) == 0) {
		rc = ops_fail(err, REQUEST_ERROR_DENIED, EACCES,
		              "a manifest is handed over by its requester (%s) to another custodian: "
		              "it says from %s to %s",
		              req->requester, from, to);
		goto out;
	}
	size_t i;
	json_t *f;
	json_array_foreach(files, i, f)
	{
		if ((rc = read_file_entry(f, i, true, err)) != 0)
			goto out;
		const char *tender = json_string_value(json_object_get(f, "tender"));
		if ((rc = custody_archive_present(c, tender, err)) != 0)
			goto out;
		if (!fetched(c, from, f)) {
			rc = ops_fail(err, REQUEST_ERROR_CONFLICT, EINVAL,
			              "files[%zu]: %s fetched no archive of %s with these bytes, SHA-256 "
			              "and root (archive fetch records what it hands out): nothing "
			              "recorded",
			              i, from, tender);
			goto out;
		}
	}
	if ((rc = signed_by_requester(c, req, text, sig, cert, "the transfer manifest", err)) != 0)
		goto out;
	sha256_hex(text, sha);
	json_t *earlier = transfer_lines(c, sha, "transfer");
	size_t n = json_array_size(earlier);
	json_decref(earlier);
	if (n > 0) {
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, EEXIST,
		              "this manifest (SHA-256 %s) is already recorded", sha);
		goto out;
	}
	json_t *lines = json_array();
	json_array_foreach(files, i, f)
	{
		json_t *rec = json_pack("{s:s, s:O, s:s, s:s, s:s, s:O, s:O, s:O, s:O, s:O, s:s, s:s}",
		                        "kind", "transfer", "tender", json_object_get(f, "tender"),
		                        "identity", from, "to", to, "manifest_sha256", sha, "file",
		                        json_object_get(f, "file"), "bytes", json_object_get(f, "bytes"),
		                        "sha256", json_object_get(f, "sha256"), "tree_size",
		                        json_object_get(f, "tree_size"), "root",
		                        json_object_get(f, "root"), "reason", reason, "signature", sig);
		if ((rc = custody_record(c, rec, err)) != 0) {
			json_decref(lines);
			goto out;
		}
		const json_t *all = custody_records(c);
		json_array_append(lines, json_object_get(json_array_get(all, json_array_size(all) - 1),
		                                         "index"));
	}
	*result = json_pack("{s:s, s:s, s:s, s:I, s:o}", "manifest_sha256", sha, "from", from, "to",
	                    to, "files", (json_int_t)json_array_size(files), "custody_lines", lines);
	log_info("transfer %s of %zu archives from %s to %s prepared", sha, json_array_size(files),
	         from, to);
out:
	json_decref(doc);
	return rc;
}

/* The prepared transfer with manifest SHA for the requester (its `transfer` lines, new),
 * or NULL with *err. */
static json_t *transfer_for(struct controller *c, const struct request *req, const char *sha,
                            GError **err)
{
	json_t *lines = transfer_lines(c, sha, "transfer");
	if (json_array_size(lines) == 0) {
		ops_fail(err, REQUEST_ERROR_NOT_FOUND, ENOENT,
		         "no transfer with manifest SHA-256 %s was prepared", sha);
	} else if (g_strcmp0(json_string_value(json_object_get(json_array_get(lines, 0), "to")),
	                     req->requester) != 0) {
		ops_fail(err, REQUEST_ERROR_DENIED, EACCES,
		         "transfer %s is handed over to %s, not to %s", sha,
		         json_string_value(json_object_get(json_array_get(lines, 0), "to")),
		         req->requester);
	} else {
		json_t *done = transfer_lines(c, sha, "transfer_received");
		size_t n = json_array_size(done);
		json_decref(done);
		if (n == 0)
			return lines;
		ops_fail(err, REQUEST_ERROR_CONFLICT, EEXIST, "transfer %s was already received",
		         sha);
	}
	json_decref(lines);
	return NULL;
}

/* archive.transfer_received {receipt, signature, certificate}: the receiving custodian
 * verified every file and countersigned. */
static int handle_received(struct controller *c, const struct request *req, json_t **result,
                           GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *text = msg_read_string(&r, "receipt", true, DOC_MAX);
	const char *sig = msg_read_string(&r, "signature", true, 200);
	const char *cert = msg_read_string(&r, "certificate", true, 8192);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	json_t *doc = parse_doc(text, "receipt", err), *lines = NULL;
	if (!doc)
		return -EINVAL;
	struct msg_reader m;
	msg_reader_init(&m, doc, "receipt");
	const char *format = msg_read_string(&m, "format", true, 64);
	const char *msha = msg_read_string(&m, "manifest_sha256", true, 64);
	const char *from = msg_read_string(&m, "from", true, 64);
	const char *to = msg_read_string(&m, "to", true, 64);
	const char *verdict = msg_read_string(&m, "result", true, 64);
	msg_read_int(&m, "received_us", true, 0, INT64_MAX, 0);
	json_t *files = msg_read_array(&m, "files", true, FILES_MAX);
	char sha[65];
	int rc = msg_reader_finish(&m, err);
	if (rc != 0)
		goto out;
	if (strcmp(format, RECEIPT_FORMAT) != 0 || !hex64(msha) || strcmp(verdict, "verified") != 0) {
		rc = ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		              "the receipt is not a transfer receipt (\"%s\") with result \"verified\" "
		              "naming a manifest's SHA-256",
		              RECEIPT_FORMAT);
		goto out;
	}
	if (strcmp(to, req->requester) != 0) {
		rc = ops_fail(err, REQUEST_ERROR_DENIED, EACCES,
		              "a receipt is signed by its requester (%s): it says %s", req->requester,
		              to);
		goto out;
	}
	if (!(lines = transfer_for(c, req, msha, err))) {
		rc = -ENOENT;
		goto out;
	}
	const char *handed_by = json_string_value(json_object_get(json_array_get(lines, 0), "identity"));
	bool same = strcmp(from, handed_by) == 0 && json_array_size(files) == json_array_size(lines);
	size_t i;
	json_t *f;
	json_array_foreach(files, i, f)
	{
		if ((rc = read_file_entry(f, i, false, err)) != 0)
			goto out;
		const json_t *l = json_array_get(lines, i);
		same = same && l &&
		       json_equal(json_object_get(l, "tender"), json_object_get(f, "tender")) &&
		       json_equal(json_object_get(l, "sha256"), json_object_get(f, "sha256")) &&
		       json_equal(json_object_get(l, "root"), json_object_get(f, "root"));
	}
	if (!same) {
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, EINVAL,
		              "the receipt does not list the files of transfer %s as %s handed them "
		              "over: nothing recorded",
		              msha, handed_by);
		goto out;
	}
	if ((rc = signed_by_requester(c, req, text, sig, cert, "the transfer receipt", err)) != 0)
		goto out;
	sha256_hex(text, sha);
	json_t *out_lines = json_array();
	json_array_foreach(files, i, f)
	{
		json_t *rec = json_pack("{s:s, s:O, s:s, s:s, s:s, s:s, s:O, s:s, s:s}", "kind",
		                        "transfer_received", "tender", json_object_get(f, "tender"),
		                        "identity", to, "from", from, "manifest_sha256", msha,
		                        "receipt_sha256", sha, "sha256", json_object_get(f, "sha256"),
		                        "result", verdict, "signature", sig);
		if ((rc = custody_record(c, rec, err)) != 0) {
			json_decref(out_lines);
			goto out;
		}
		const json_t *all = custody_records(c);
		json_array_append(out_lines, json_object_get(
		                                 json_array_get(all, json_array_size(all) - 1), "index"));
	}
	*result = json_pack("{s:s, s:s, s:s, s:s, s:I, s:o}", "manifest_sha256", msha,
	                    "receipt_sha256", sha, "from", from, "to", to, "files",
	                    (json_int_t)json_array_size(files), "custody_lines", out_lines);
	log_info("transfer %s received and countersigned by %s", msha, to);
out:
	json_decref(lines);
	json_decref(doc);
	return rc;
}

/* archive.transfer_refused {manifest_sha256, problems}: the receiving custodian found files
 * that do not verify and does not sign; recorded, the transfer stays open. */
static int handle_refused(struct controller *c, const struct request *req, json_t **result,
                          GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *msha = msg_read_string(&r, "manifest_sha256", true, 64);
	const char *problems = msg_read_string(&r, "problems", true, PROBLEMS_MAX);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (!hex64(msha) || !*problems || !text_clean(problems))
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		                "args: a manifest's SHA-256 and the problems in one line of text");
	json_t *lines = transfer_for(c, req, msha, err);
	if (!lines)
		return -ENOENT;
	int rc = 0;
	size_t i;
	json_t *l;
	json_array_foreach(lines, i, l)
	{
		json_t *rec = json_pack("{s:s, s:O, s:s, s:O, s:s, s:s}", "kind", "transfer_refused",
		                        "tender", json_object_get(l, "tender"), "identity",
		                        req->requester, "from", json_object_get(l, "identity"),
		                        "manifest_sha256", msha, "reason", problems);
		if ((rc = custody_record(c, rec, err)) != 0)
			break;
	}
	if (rc == 0)
		*result = json_pack("{s:s, s:s, s:I}", "manifest_sha256", msha, "refused_by",
		                    req->requester, "files", (json_int_t)json_array_size(lines));
	log_warnx("transfer %s refused by %s: %s", msha, req->requester, problems);
	json_decref(lines);
	return rc;
}

struct published {
	const char *tender;
	json_t *list;
};

static void add_published(const struct rootlog_entry *e, void *user)
{
	struct published *p = user;
	if (strcmp(e->tender, p->tender) != 0)
		return;
	char root[65];
	hex_encode(e->root, 32, root);
	json_array_append_new(p->list, json_pack("{s:I, s:I, s:I, s:s}", "line", (json_int_t)e->index,
	                                         "time_us", (json_int_t)e->time_us, "size",
	                                         (json_int_t)e->size, "root", root));
}

/* archives.roots {tender}: every checkpoint the site's root log published for TENDER (the
 * log's signatures checked), and the controller's public key (base64 DER SPKI). */
static int handle_roots(struct controller *c, const struct request *req, json_t **result,
                        GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *tender = msg_read_id(&r, "tender", true);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	char *pem = archives_public_pem(c);
	struct archive_pubkey *key = NULL;
	struct published p = {tender, json_array()};
	char *path = g_build_filename(c->cfg.state_dir, "roots.log", NULL);
	GError *lerr = NULL;
	int rc = pem ? archive_pubkey_from_pem(pem, &key) : -EINVAL;
	if (rc == 0)
		rc = rootlog_read_history(path, key, c->key_history, add_published, &p, &lerr);
	if (rc != 0) {
		rc = ops_fail(err, REQUEST_ERROR_INTERNAL, EIO, "the site's root log: %s",
		              lerr ? lerr->message : "the controller's public key is unreadable");
		json_decref(p.list);
	} else {
		/* base64 DER: the PEM's body without its lines (a response's strings carry no
		 * line breaks) */
		GString *spki = g_string_new(NULL);
		gchar **lines = g_strsplit(pem, "\n", -1);
		for (gchar **l = lines; *l; l++)
			if (**l && !g_str_has_prefix(*l, "-----"))
				g_string_append(spki, g_strstrip(*l));
		g_strfreev(lines);
		*result = json_pack("{s:s, s:s, s:o}", "tender", tender, "pubkey_spki", spki->str,
		                    "published", p.list);
		g_string_free(spki, TRUE);
		/* After a key rotation the receiver checks the files against the key history. */
		json_t *hist = keys_history_json(c);
		if (hist)
			json_object_set_new(*result, "key_history", hist);
	}
	g_clear_error(&lerr);
	archive_pubkey_free(key);
	g_free(path);
	g_free(pem);
	return rc;
}

const struct request_handler transfer_request_handlers[] = {
    {"archives.roots", ROLE_OPERATOR | ROLE_AUDITOR, handle_roots, false},
    {"archive.transfer_prepared", CUSTODY_CUSTODIAN_ROLES, handle_prepared, true},
    {"archive.transfer_received", CUSTODY_CUSTODIAN_ROLES, handle_received, true},
    {"archive.transfer_refused", CUSTODY_CUSTODIAN_ROLES, handle_refused, true},
    {NULL, 0, NULL, false},
};
