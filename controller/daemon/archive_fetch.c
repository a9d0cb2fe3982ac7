/* Retrieval of sealed archives by their custodian (archive_fetch.h). */
#include "archive_fetch.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archives.h"
#include "clock.h"
#include "custody.h"
#include "hex.h"
#include "log.h"
#include "merkle.h"
#include "msg.h"
#include "request_reply.h"
#include "roots_check.h"
#include "state.h"
#include "verify.h"

#define CHUNK_MAX    (1024 * 1024) /* a response stays well under the 4 MiB request limit */
#define FETCH_IDLE_S 600

struct fetch {
	char id[33];
	char requester[64];
	char tender[64];
	int fd;
	int64_t bytes;
	int64_t used_mono_us;
};

struct fetches {
	GHashTable *by_id; /* id -> struct fetch */
};

static void fetch_free(gpointer p)
{
	struct fetch *f = p;
	if (f->fd >= 0)
		close(f->fd);
	g_free(f);
}

static struct fetches *fetches_of(struct controller *c)
{
	if (!c->fetches) {
		c->fetches = g_new0(struct fetches, 1);
		c->fetches->by_id =
		    g_hash_table_new_full(g_str_hash, g_str_equal, NULL, fetch_free);
	}
	return c->fetches;
}

void fetches_free(struct controller *c)
{
	if (!c->fetches)
		return;
	g_hash_table_destroy(c->fetches->by_id);
	g_free(c->fetches);
	c->fetches = NULL;
}

/* Retrievals idle for FETCH_IDLE_S are forgotten (their file closed). */
static void fetches_expire(struct controller *c)
{
	int64_t now = clock_source_mono_us(c->clock);
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, fetches_of(c)->by_id);
	while (g_hash_table_iter_next(&it, NULL, &v))
		if (now - ((struct fetch *)v)->used_mono_us > FETCH_IDLE_S * G_USEC_PER_SEC)
			g_hash_table_iter_remove(&it);
}

/* ---- the check, on a worker thread: the whole file verified and hashed ---- */

struct check {
	struct controller *c;
	struct request *req;
	char tender[64];
	char *reason;
	char *path;
	char *pubkey_pem;
	/* results */
	int rc;
	char *problem;
	struct archive_verify_report rep;
	uint8_t sha256[32];
	int64_t bytes;
};

static void check_free(struct check *k)
{
	archive_verify_report_clear(&k->rep);
	g_free(k->problem);
	g_free(k->reason);
	g_free(k->path);
	g_free(k->pubkey_pem);
	g_free(k);
}

static int file_sha256(const char *path, uint8_t out[32], int64_t *bytes)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	enum { BUF = 1 << 20 };
	guint8 *buf = g_malloc(BUF);
	ssize_t n;
	int64_t total = 0;
	while ((n = read(fd, buf, BUF)) > 0) {
		EVP_DigestUpdate(md, buf, (size_t)n);
		total += n;
	}
	int rc = n < 0 ? -errno : 0;
	EVP_DigestFinal_ex(md, out, NULL);
	EVP_MD_CTX_free(md);
	g_free(buf);
	close(fd);
	*bytes = total;
	return rc;
}

static gboolean check_done(gpointer data);

/* The worker thread: reads the file only; hands K back to the main loop when done. */
static gpointer check_in_thread(gpointer data)
{
	struct check *k = data;
	struct archive_reader *r = NULL;
	struct archive_pubkey *key = NULL;
	char *why = NULL;
	if (archive_pubkey_from_pem(k->pubkey_pem, &key) != 0) {
		k->rc = -EINVAL;
		k->problem = g_strdup("the controller's public key cannot be read");
		goto out;
	}
	k->rc = archive_reader_open(k->path, &r, &why);
	if (k->rc != 0) {
		k->problem = why ? why : g_strdup(g_strerror(-k->rc));
		why = NULL;
		goto out;
	}
	/* Archives sealed before a key rotation are checked against the key history. */
	k->rc = archive_verify_history(r, key, NULL, k->c->key_history, &k->rep);
	if (k->rc == 0)
		k->rc = file_sha256(k->path, k->sha256, &k->bytes);
out:
	archive_reader_free(r);
	archive_pubkey_free(key);
	g_free(why);
	g_idle_add(check_done, k);
	return NULL;
}

/* What the custodian is told when the file may not be handed out; NULL when it may. The
 * final checkpoint must be the latest the root log published for the tender. */
static char *refusal(struct check *k, const char *roots, struct roots_check *rc_out)
{
	if (k->rc != 0)
		return g_strdup_printf("it does not verify: %s", k->rep.problem ? k->rep.problem
		                                                 : k->problem   ? k->problem
		                                                              : g_strerror(-k->rc));
	if (!k->rep.sealed)
		return g_strdup("it is not sealed: close the tender first");
	if (g_strcmp0(k->rep.tender, k->tender) != 0)
		return g_strdup_printf("the file names tender %s",
		                       k->rep.tender ? k->rep.tender : "?");
	GError *err = NULL;
	struct archive_pubkey *key = NULL;
	archive_pubkey_from_pem(k->pubkey_pem, &key);
	int rc = roots_check_archive_history(roots, key, k->c->key_history, k->tender,
	                                     k->rep.leaf_hashes, rc_out, &err);
	archive_pubkey_free(key);
	if (rc != 0) {
		char *m = g_strdup_printf("the site's root log cannot be read: %s", err->message);
		g_error_free(err);
		return m;
	}
	if (rc_out->problem)
		return g_strdup(rc_out->problem);
	if (rc_out->published == 0 || rc_out->latest_size != k->rep.leaves)
		return g_strdup_printf(
		    "its final checkpoint (size %" G_GUINT64_FORMAT ") was never "
		    "published in the site's root log (latest published: %" G_GUINT64_FORMAT ")",
		    k->rep.leaves, rc_out->latest_size);
	return NULL;
}

static gboolean check_done(gpointer data)
{
	struct check *k = data;
	struct controller *c = k->c;
	GError *err = NULL;
	json_t *result = NULL;
	struct roots_check roots_out = {0};
	char *roots = g_build_filename(c->cfg.state_dir, "roots.log", NULL);
	char *why = refusal(k, roots, &roots_out);
	g_free(roots);
	if (why) {
		g_set_error(&err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		            "the archive of %s is not handed out: %s", k->tender, why);
		log_warnx("archive %s: fetch by %s refused: %s", k->tender, k->req->requester, why);
		g_free(why);
		goto out;
	}
	char sha_hex[65], root_hex[65];
	hex_encode(k->sha256, 32, sha_hex);
	hex_encode(roots_out.latest_root, 32, root_hex);
	struct fetch *f = g_new0(struct fetch, 1);
	f->fd = open(k->path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (f->fd < 0 || fstat(f->fd, &sb) != 0 || sb.st_size != k->bytes) {
		g_set_error(&err, REQUEST_ERROR, REQUEST_ERROR_INTERNAL,
		            "archive %s changed or vanished while it was checked", k->path);
		fetch_free(f);
		goto out;
	}
	char *file = g_path_get_basename(k->path);
	json_t *what = json_pack("{s:s, s:s, s:I, s:s, s:I, s:s, s:I}", "tender", k->tender, "file",
	                         file, "bytes", (json_int_t)k->bytes, "sha256", sha_hex,
	                         "tree_size", (json_int_t)k->rep.leaves, "root", root_hex,
	                         "root_log_line", (json_int_t)roots_out.latest_index);
	g_free(file);
	/* Recorded before a byte is handed out: a fetch that cannot be recorded is refused. */
	json_t *record = json_deep_copy(what);
	json_object_set_new(record, "kind", json_string("fetch"));
	json_object_set_new(record, "identity", json_string(k->req->requester));
	json_object_set_new(record, "reason", json_string(k->reason));
	if (custody_record(c, record, &err) != 0) {
		fetch_free(f);
		json_decref(what);
		err->domain = REQUEST_ERROR;
		err->code = REQUEST_ERROR_INTERNAL;
		goto out;
	}
	char *args = json_dumps(what, JSON_COMPACT | JSON_SORT_KEYS);
	GError *aerr = NULL;
	if (state_audit_append(c->state, clock_now_us(), k->req->requester, "archive.fetch.served",
	                       args, "ok", k->reason, &aerr) != 0) {
		log_warnx("archive %s: fetch by %s not in the audit (%s); it is in the custody log",
		          k->tender, k->req->requester, aerr->message);
		g_clear_error(&aerr);
	}
	free(args);
	for (guint i = 0; i < 16; i++) /* an unguessable id; the requester is checked anyway */
		g_snprintf(f->id + 2 * i, 3, "%02x", g_random_int_range(0, 256));
	g_strlcpy(f->requester, k->req->requester, sizeof f->requester);
	g_strlcpy(f->tender, k->tender, sizeof f->tender);
	f->bytes = k->bytes;
	f->used_mono_us = clock_source_mono_us(c->clock);
	g_hash_table_insert(fetches_of(c)->by_id, f->id, f);
	result = what;
	json_object_set_new(result, "fetch", json_string(f->id));
	json_object_set_new(result, "chunk_max", json_integer(CHUNK_MAX));
	log_info("archive %s: fetch by %s (%s): %" G_GINT64_FORMAT " bytes, sha256 %s", k->tender,
	         k->req->requester, k->reason, k->bytes, sha_hex);
out:
	request_finish(c, k->req, result, err);
	g_clear_error(&err);
	check_free(k);
	return G_SOURCE_REMOVE;
}

static int handle_fetch(struct controller *c, const struct request *req, json_t **result,
                        GError **err)
{
	(void)result;
	const char *tender, *reason;
	int rc = custody_read_args(req, &tender, &reason, err);
	if (rc == 0)
		rc = custody_archive_present(c, tender, err);
	if (rc != 0)
		return rc;
	/* An open tender's archive is refused before it is read: before its first checkpoint
	 * it would not verify, and "does not verify" would be the wrong reason. */
	struct state_tender t;
	if (state_tender_get(c->state, tender, &t, NULL) == 0 && strcmp(t.state, "sealed") != 0) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		            "the archive of %s is not handed out: it is not sealed: close the "
		            "tender first", tender);
		log_warnx("archive %s: fetch by %s refused: not sealed (%s)", tender,
		          req->requester, t.state);
		return -EBUSY;
	}
	char *path = archives_path(c, tender);
	fetches_expire(c);
	struct check *k = g_new0(struct check, 1);
	k->c = c;
	g_strlcpy(k->tender, tender, sizeof k->tender);
	k->reason = g_strdup(reason);
	k->path = path;
	k->pubkey_pem = archives_public_pem(c);
	k->req = request_defer(req);
	g_thread_unref(g_thread_new("archive-fetch", check_in_thread, k));
	return REQUEST_PENDING;
}

static int handle_fetch_chunk(struct controller *c, const struct request *req, json_t **result,
                              GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *id = msg_read_string(&r, "fetch", true, 32);
	int64_t offset = msg_read_int(&r, "offset", true, 0, INT64_MAX, 0);
	int64_t length = msg_read_int(&r, "length", false, 1, CHUNK_MAX, CHUNK_MAX);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	fetches_expire(c);
	struct fetch *f = g_hash_table_lookup(fetches_of(c)->by_id, id);
	if (!f || strcmp(f->requester, req->requester) != 0) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_NOT_FOUND,
		            "no fetch %s of yours under way (idle fetches end after %d s): begin "
		            "again with archive.fetch",
		            id, FETCH_IDLE_S);
		return -ENOENT;
	}
	if (offset > f->bytes) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_INVALID,
		            "member 'args.offset': beyond the file's %" G_GINT64_FORMAT " bytes",
		            f->bytes);
		return -EINVAL;
	}
	size_t want = (size_t)MIN(length, f->bytes - offset);
	guint8 *buf = g_malloc(want ? want : 1);
	ssize_t n = want ? pread(f->fd, buf, want, offset) : 0;
	if (n < 0 || (size_t)n != want) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_INTERNAL, "archive of %s: read: %s",
		            f->tender, n < 0 ? g_strerror(errno) : "short read");
		g_free(buf);
		return -EIO;
	}
	f->used_mono_us = clock_source_mono_us(c->clock);
	char *b64 = g_base64_encode(buf, want);
	g_free(buf);
	*result = json_pack("{s:I, s:I, s:s}", "offset", (json_int_t)offset, "bytes",
	                    (json_int_t)want, "data", b64);
	g_free(b64);
	return 0;
}

const struct request_handler fetch_request_handlers[] = {
    {"archive.fetch", CUSTODY_CUSTODIAN_ROLES, handle_fetch, true},
    {"archive.fetch_chunk", CUSTODY_CUSTODIAN_ROLES | REQUEST_BULK, handle_fetch_chunk, false},
    {NULL, 0, NULL, false},
};
