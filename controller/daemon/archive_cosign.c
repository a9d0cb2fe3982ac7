#include "archive_cosign.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "archives.h"
#include "clock.h"
#include "cosignature.h"
#include "hex.h"
#include "keys.h"
#include "log.h"
#include "msg.h"
#include "note.h"
#include "ops.h"
#include "reader.h"

/* A cosignature's timestamp may run ahead of the controller's clock by this much. */
#define COSIGN_FUTURE_S 600

/* The archive of TENDER opened read-only (its file must exist): 0 or -errno with *err. */
static int open_reader(struct controller *c, const char *tender, struct archive_reader **r,
                       GError **err)
{
	char *path = archives_path(c, tender), *why = NULL;
	int rc = archive_reader_open(path, r, &why);
	g_free(path);
	if (rc == -ENOENT)
		rc = ops_fail(err, REQUEST_ERROR_NOT_FOUND, ENOENT, "tender %s has no archive",
		              tender);
	else if (rc != 0)
		rc = ops_fail(err, REQUEST_ERROR_INTERNAL, EIO, "the archive of tender %s: %s",
		              tender, why ? why : "unreadable");
	g_free(why);
	return rc;
}

/* The tender archives (not the site's retention archives) and whether each is sealed. */
static json_t *tender_list(struct controller *c)
{
	json_t *list = json_array();
	GDir *dir = g_dir_open(c->cfg.archive_dir, 0, NULL);
	const char *name;
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	while (dir && (name = g_dir_read_name(dir)))
		if (g_str_has_suffix(name, ".evarc") && !g_str_has_prefix(name, "site-"))
			g_ptr_array_add(names, g_strndup(name, strlen(name) - 6));
	if (dir)
		g_dir_close(dir);
	for (guint i = 0; i < names->len; i++) {
		char *path = archives_path(c, names->pdata[i]);
		struct stat sb;
		/* a sealed archive is read-only (a stat, not an open, for each of many files) */
		bool sealed = stat(path, &sb) == 0 && !(sb.st_mode & 0222);
		json_array_append_new(
		    list, json_pack("{s:s, s:b}", "tender", names->pdata[i], "sealed", sealed));
		g_free(path);
	}
	g_ptr_array_free(names, TRUE);
	return list;
}

/* archive.checkpoint {tender?, from?}: TENDER's newest checkpoint (body, the controller's
 * signature) and the RFC 9162 consistency proof to it from the tree of FROM leaves (the size
 * the cosigner cosigned last; 0 or absent: none). Without a tender: the tender archives. */
static int handle_checkpoint(struct controller *c, const struct request *req, json_t **result,
                             GError **err)
{
	struct msg_reader rd;
	msg_reader_init(&rd, req->args, "args");
	const char *tender = msg_read_id(&rd, "tender", false);
	int64_t from = msg_read_int(&rd, "from", false, 0, INT64_MAX, 0);
	if (msg_reader_finish(&rd, err) != 0)
		return -EINVAL;
	if (!tender) {
		*result = json_pack("{s:o}", "tenders", tender_list(c));
		return 0;
	}
	struct archive_reader *r = NULL;
	int rc = open_reader(c, tender, &r, err);
	if (rc != 0)
		return rc;
	int64_t id = 0;
	uint64_t size = 0;
	uint8_t root[32], sig[64], proof[MERKLE_MAX_CONSISTENCY][MERKLE_HASH_LEN];
	size_t len = 0;
	char *body = NULL;
	rc = cosig_last_checkpoint(archive_reader_db(r), &id, &size, root, &body, sig);
	if (rc == -ENOENT) {
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, ENOENT,
		              "the archive of tender %s has no checkpoint yet", tender);
		goto out;
	}
	if (rc != 0) {
		rc = ops_fail(err, REQUEST_ERROR_INTERNAL, EIO,
		              "the archive of tender %s: its checkpoints are unreadable", tender);
		goto out;
	}
	if (g_str_has_prefix(body, "evalroom-archive checkpoint v1")) {
		rc =
		    ops_fail(err, REQUEST_ERROR_CONFLICT, ENOTSUP,
		             "the archive of tender %s is of format version 1: its checkpoints are "
		             "no C2SP checkpoints and are not cosigned",
		             tender);
		goto out;
	}
	json_t *path = json_array();
	/* a FROM beyond the newest size gets no proof: the cosigner sees the rollback itself */
	if ((uint64_t)from <= size) {
		if (cosig_consistency_proof(archive_reader_db(r), (uint64_t)from, size, proof,
		                            &len) != 0) {
			json_decref(path);
			rc = ops_fail(err, REQUEST_ERROR_INTERNAL, EIO,
			              "the archive of tender %s: its leaf hashes are unreadable",
			              tender);
			goto out;
		}
		for (size_t i = 0; i < len; i++) {
			char hex[65];
			hex_encode(proof[i], 32, hex);
			json_array_append_new(path, json_string(hex));
		}
	}
	char *sig_b64 = g_base64_encode(sig, 64);
	*result = json_pack("{s:s, s:I, s:I, s:s, s:s, s:I, s:o}", "tender", tender, "checkpoint",
	                    (json_int_t)id, "tree_size", (json_int_t)size, "body", body,
	                    "signature", sig_b64, "from", (json_int_t)from, "proof", path);
	g_free(sig_b64);
	/* The key history, so a cosigner that knows an earlier key learns the one that signs
	 * now from the rotations, each signed by the old and the new key (docs/archives.md). */
	json_t *hist = keys_history_json(c);
	if (hist)
		json_object_set_new(*result, "key_history", hist);
out:
	g_free(body);
	archive_reader_free(r);
	return rc;
}

/* Stores CS in TENDER's archive: through the writer while it is open, in the file itself
 * (made writable for that insert) once sealed. 0 or -errno with *err. */
static int store(struct controller *c, const char *tender, const struct cosignature *cs,
                 GError **err)
{
	struct archive *a = NULL;
	GError *e = NULL;
	char *why = NULL;
	int rc = archives_get(c, tender, &a, &e);
	if (rc == 0) {
		rc = archive_append_cosignature(a, cs);
		if (rc != 0)
			why = g_strdup(archive_errmsg(a));
	} else if (rc == -EROFS) {
		char *path = archives_path(c, tender);
		rc = cosig_store_file(path, cs, &why);
		g_free(path);
		if (rc == 0 && c->archive_appendix) /* a sealed archive's copies get it too */
			c->archive_appendix(c, tender);
	} else {
		why = g_strdup(e->message);
	}
	g_clear_error(&e);
	if (rc != 0)
		rc = ops_fail(err,
		              rc == -EAGAIN ? REQUEST_ERROR_UNAVAILABLE : REQUEST_ERROR_INTERNAL,
		              -rc, "%s (try again)", why ? why : "the archive cannot be written");
	g_free(why);
	return rc;
}

/* archive.cosign {tender, checkpoint_sha256, vkey, time, signature}: a cosignature/v1 of
 * the checkpoint whose body has that SHA-256, by the key VKEY names; checked, then stored. */
static int handle_cosign(struct controller *c, const struct request *req, json_t **result,
                         GError **err)
{
	struct msg_reader rd;
	msg_reader_init(&rd, req->args, "args");
	const char *tender = msg_read_id(&rd, "tender", true);
	const char *sha_hex = msg_read_string(&rd, "checkpoint_sha256", true, 64);
	const char *vkey = msg_read_string(&rd, "vkey", true, COSIG_NAME_MAX + 80);
	int64_t time = msg_read_int(&rd, "time", true, 0, INT64_MAX, 0);
	const char *sig_b64 = msg_read_string(&rd, "signature", true, 100);
	if (msg_reader_finish(&rd, err) != 0)
		return -EINVAL;
	struct cosignature cs = {0};
	uint8_t sha[32], type = 0, pub[32];
	char *name = NULL, *why = NULL, *body = NULL;
	gsize sig_len = 0;
	guchar *sig = g_base64_decode(sig_b64, &sig_len);
	struct archive_reader *r = NULL;
	int rc = 0;
	if (hex_decode_lower(sha_hex, sha, 32) != 0 || sig_len != 64) {
		rc = ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		              "args.checkpoint_sha256 must be 64 lower-case hex digits and "
		              "args.signature the base64 of 64 bytes");
		goto out;
	}
	if (note_vkey_parse(vkey, &name, &type, pub, &cs.key_id, &why) != 0 ||
	    type != NOTE_TYPE_COSIGNATURE_V1 || strlen(name) > COSIG_NAME_MAX) {
		rc =
		    ops_fail(err, REQUEST_ERROR_INVALID, EINVAL, "args.vkey: %s",
		             why ? why : "not a cosigner's verifier key (type 0x04, a short name)");
		goto out;
	}
	if (time > clock_now_us() / G_USEC_PER_SEC + COSIGN_FUTURE_S) {
		rc = ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		              "args.time: the cosignature is dated in the future");
		goto out;
	}
	rc = open_reader(c, tender, &r, err);
	if (rc != 0)
		goto out;
	rc = cosig_find_checkpoint(archive_reader_db(r), sha, &cs.checkpoint, &cs.tree_size, &body);
	archive_reader_free(r);
	if (rc != 0) {
		rc = ops_fail(
		    err, REQUEST_ERROR_NOT_FOUND, ENOENT,
		    "the archive of tender %s holds no checkpoint with SHA-256 %s: nothing "
		    "stored",
		    tender, sha_hex);
		goto out;
	}
	if (cosig_check(pub, body, (uint64_t)time, sig) != 0) {
		rc = ops_fail(err, REQUEST_ERROR_DENIED, EACCES,
		              "the cosignature of %s does not verify with its key over that "
		              "checkpoint: nothing stored",
		              name);
		goto out;
	}
	g_strlcpy(cs.name, name, sizeof(cs.name));
	cs.time = (uint64_t)time;
	memcpy(cs.signature, sig, 64);
	rc = store(c, tender, &cs, err);
	if (rc != 0)
		goto out;
	char kid[9];
	g_snprintf(kid, sizeof(kid), "%08x", cs.key_id);
	log_info("tender %s: checkpoint %" G_GINT64_FORMAT " (size %" G_GUINT64_FORMAT
	         ") cosigned by %s (key %s, identity %s)",
	         tender, cs.checkpoint, cs.tree_size, name, kid, req->requester);
	*result = json_pack("{s:s, s:I, s:I, s:s, s:s}", "tender", tender, "checkpoint",
	                    (json_int_t)cs.checkpoint, "tree_size", (json_int_t)cs.tree_size,
	                    "name", name, "key_id", kid);
out:
	g_free(sig);
	g_free(name);
	g_free(why);
	g_free(body);
	return rc;
}

const struct request_handler cosign_request_handlers[] = {
    {"archive.checkpoint", ROLE_OPERATOR | ROLE_AUDITOR | ROLE_SUPERVISOR, handle_checkpoint,
     false},
    {"archive.cosign", ROLE_AUDITOR | ROLE_SUPERVISOR, handle_cosign, true},
    {NULL, 0, NULL, false},
};
