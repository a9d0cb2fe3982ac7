/* Verified copies of the sealed archives (copies.h). */
#include "copies.h"

#include <errno.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/stat.h>

#include "alerts.h"
#include "archives.h"
#include "clock.h"
#include "copy_store.h"
#include "custody.h"
#include "hex.h"
#include "log.h"

#define MAX_STORES 8

enum copy_state { COPY_NONE, COPY_VERIFIED, COPY_FAILED, COPY_BAD };

struct archive_copies {
	int64_t sealed_us;
	char sha256[65]; /* of the sealed file, as the last verified copy read back */
	enum copy_state state[MAX_STORES];
	bool queued[MAX_STORES];
	bool again[MAX_STORES]; /* the file changed while a job on it was queued: copy again */
	char why[MAX_STORES][200]; /* the last failure */
};

enum job_kind { JOB_COPY, JOB_VERIFY, JOB_REMOVE };

struct job {
	struct controller *c;
	enum job_kind kind;
	char tender[64];
	unsigned store;
	char *src;
	char expect[65];  /* JOB_VERIFY: the SHA-256 the copy had when verified */
	int64_t rate_bps; /* JOB_VERIFY: read at most this fast (0: no limit) */
	/* results */
	int rc;
	char *why;
	char got[65];
	int64_t bytes;
};

struct copies {
	struct copy_store *stores[MAX_STORES];
	unsigned n;
	GThreadPool *pool;    /* one worker: copies and reads go one at a time */
	GHashTable *archives; /* tender -> struct archive_copies */
	struct clock_timer *tick, *reverify;
};

/* ---- the worker thread ---- */

struct hashing {
	EVP_MD_CTX *md;
	int64_t bytes, rate_bps, started_mono;
};

static int hash_sink(void *user, const void *buf, size_t len)
{
	struct hashing *h = user;
	EVP_DigestUpdate(h->md, buf, len);
	h->bytes += (int64_t)len;
	if (h->rate_bps > 0) { /* low priority: never faster than the configured rate */
		int64_t due = h->started_mono + h->bytes * G_USEC_PER_SEC / h->rate_bps;
		int64_t now = g_get_monotonic_time();
		if (due > now)
			g_usleep((gulong)(due - now));
	}
	return 0;
}

static void hash_finish(struct hashing *h, char out[65])
{
	uint8_t d[32];
	EVP_DigestFinal_ex(h->md, d, NULL);
	EVP_MD_CTX_free(h->md);
	hex_encode(d, 32, out);
}

static void hash_begin(struct hashing *h, int64_t rate_bps)
{
	h->md = EVP_MD_CTX_new();
	EVP_DigestInit_ex(h->md, EVP_sha256(), NULL);
	h->bytes = 0;
	h->rate_bps = rate_bps;
	h->started_mono = g_get_monotonic_time();
}

static int file_sink(const char *path, struct hashing *h, GError **err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", path,
		            g_strerror(errno));
		return -errno;
	}
	guint8 *buf = g_malloc(1 << 20);
	size_t n;
	while ((n = fread(buf, 1, 1 << 20, f)) > 0)
		hash_sink(h, buf, n);
	int rc = ferror(f) ? -EIO : 0;
	g_free(buf);
	fclose(f);
	if (rc)
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: read error", path);
	return rc;
}

static gboolean job_done(gpointer data);

static void job_run(gpointer data, gpointer user)
{
	struct job *j = data;
	struct copies *cs = user;
	struct copy_store *s = cs->stores[j->store];
	char *name = g_strconcat(j->tender, ".evarc", NULL);
	GError *err = NULL;
	struct hashing h;
	char src_sha[65] = "";
	if (j->kind == JOB_REMOVE) {
		j->rc = s->ops->remove(s->ctx, name, &err);
		goto done;
	}
	if (j->kind == JOB_COPY) {
		hash_begin(&h, 0);
		j->rc = file_sink(j->src, &h, &err);
		hash_finish(&h, src_sha);
		if (j->rc == 0)
			j->rc = s->ops->put(s->ctx, name, j->src, &err);
		g_strlcpy(j->expect, src_sha, sizeof j->expect);
	}
	if (j->rc == 0) { /* read back from the store, and compare */
		hash_begin(&h, j->kind == JOB_VERIFY ? j->rate_bps : 0);
		j->rc = s->ops->read(s->ctx, name, hash_sink, &h, &err);
		j->bytes = h.bytes;
		hash_finish(&h, j->got);
		if (j->rc == 0 && strcmp(j->got, j->expect) != 0) {
			j->rc = -EBADMSG;
			j->why = g_strdup_printf("store %s: %s read back with SHA-256 %s, not %s",
			                         s->label, name, j->got, j->expect);
		}
	}
done:
	if (j->rc != 0 && !j->why)
		j->why = g_strdup(err ? err->message : g_strerror(-j->rc));
	g_clear_error(&err);
	g_free(name);
	g_idle_add(job_done, j);
}

/* ---- the main loop ---- */

static void job_free(struct job *j)
{
	g_free(j->src);
	g_free(j->why);
	g_free(j);
}

static struct archive_copies *copies_of(struct copies *cs, const char *tender)
{
	struct archive_copies *a = g_hash_table_lookup(cs->archives, tender);
	if (!a) {
		a = g_new0(struct archive_copies, 1);
		g_hash_table_insert(cs->archives, g_strdup(tender), a);
	}
	return a;
}

static unsigned verified(const struct copies *cs, const struct archive_copies *a)
{
	unsigned n = 0;
	for (unsigned i = 0; i < cs->n; i++)
		n += a->state[i] == COPY_VERIFIED;
	return n;
}

static void subject_of(const char *tender, struct alert_subject *s)
{
	*s = (struct alert_subject){"", "", "", tender, "", ""};
}

static void enqueue(struct controller *c, enum job_kind kind, const char *tender, unsigned store)
{
	struct copies *cs = c->copies;
	struct archive_copies *a = copies_of(cs, tender);
	if (a->queued[store])
		return;
	struct job *j = g_new0(struct job, 1);
	j->c = c;
	j->kind = kind;
	j->store = store;
	g_strlcpy(j->tender, tender, sizeof j->tender);
	j->src = archives_path(c, tender);
	g_strlcpy(j->expect, a->sha256, sizeof j->expect);
	j->rate_bps = c->cfg.copies_verify_mb_per_s * 1024 * 1024;
	a->queued[store] = true;
	g_thread_pool_push(cs->pool, j, NULL);
}

static void record(struct controller *c, json_t *rec)
{
	GError *err = NULL;
	if (custody_record(c, rec, &err) != 0) {
		log_warnx("custody log: copy not recorded: %s", err->message);
		g_error_free(err);
	}
}

static bool any_state(const struct copies *cs, const struct archive_copies *a, enum copy_state s)
{
	for (unsigned i = 0; i < cs->n; i++)
		if (a->state[i] == s)
			return true;
	return false;
}

/* A copy of a deleted archive removed from its store (or not: alerted). */
static void removed(struct controller *c, const struct job *j, const char *label,
                    const struct alert_subject *s)
{
	if (j->rc == 0) {
		record(c, json_pack("{s:s, s:s, s:s}", "kind", "copy_removed", "tender", j->tender,
		                    "store", label));
		log_info("archive %s: its copy in %s removed after the archive's deletion",
		         j->tender, label);
		return;
	}
	log_warnx("archive %s was deleted, but its copy in backup store %s could not be removed: "
	          "%s",
	          j->tender, label, j->why);
	alert_raise_text(c, ALERT_ARCHIVE_COPY_FAILED, s, "archive_copy_remove_failed",
	                 (const char *[]){j->tender, label, j->why, NULL},
	                 json_pack("{s:s, s:s}", "archive", j->tender, "store", label));
}

static gboolean job_done(gpointer data)
{
	struct job *j = data;
	struct controller *c = j->c;
	struct copies *cs = c->copies;
	if (!cs) {
		job_free(j);
		return G_SOURCE_REMOVE;
	}
	const char *label = cs->stores[j->store]->label;
	struct alert_subject s;
	subject_of(j->tender, &s);
	if (j->kind == JOB_REMOVE) {
		removed(c, j, label, &s);
		job_free(j);
		return G_SOURCE_REMOVE;
	}
	struct archive_copies *a = copies_of(cs, j->tender);
	a->queued[j->store] = false;
	if (a->again[j->store]) { /* what this job copied or read is no longer the file */
		a->again[j->store] = false;
		a->state[j->store] = COPY_NONE;
		enqueue(c, JOB_COPY, j->tender, j->store);
		job_free(j);
		return G_SOURCE_REMOVE;
	}
	if (j->rc == 0) {
		if (j->kind == JOB_COPY) {
			a->state[j->store] = COPY_VERIFIED;
			g_strlcpy(a->sha256, j->got, sizeof a->sha256);
			record(c, json_pack("{s:s, s:s, s:s, s:s, s:I}", "kind", "copy", "tender",
			                    j->tender, "store", label, "sha256", j->got, "bytes",
			                    (json_int_t)j->bytes));
			log_info("archive %s: copy in %s verified (%" G_GINT64_FORMAT " bytes)",
			         j->tender, label, j->bytes);
		}
	} else if (j->kind == JOB_COPY) {
		a->state[j->store] = COPY_FAILED;
		g_strlcpy(a->why[j->store], j->why, sizeof a->why[j->store]);
		log_warnx("archive %s: the copy to backup store %s failed: %s", j->tender, label,
		          j->why);
		alert_raise_text(c, ALERT_ARCHIVE_COPY_FAILED, &s, "archive_copy_failed",
		                 (const char *[]){j->tender, label, j->why, NULL},
		                 json_pack("{s:s, s:s}", "archive", j->tender, "store", label));
	} else {
		a->state[j->store] = COPY_BAD;
		record(c, json_pack("{s:s, s:s, s:s, s:s}", "kind", "copy_bad", "tender", j->tender,
		                    "store", label, "why", j->why));
		log_warnx("archive %s: its copy in backup store %s is bad: %s; it is copied again",
		          j->tender, label, j->why);
		alert_raise_text(c, ALERT_ARCHIVE_COPY_BAD, &s, "archive_copy_bad",
		                 (const char *[]){j->tender, label, j->why, NULL},
		                 json_pack("{s:s, s:s}", "archive", j->tender, "store", label));
	}
	if (!any_state(cs, a, COPY_FAILED))
		alert_clear(c, ALERT_ARCHIVE_COPY_FAILED, &s,
		            "auto: every backup store took its copy");
	if (!any_state(cs, a, COPY_BAD) && j->kind == JOB_COPY && j->rc == 0)
		alert_clear(c, ALERT_ARCHIVE_COPY_BAD, &s, "auto: copied again and verified");
	job_free(j);
	return G_SOURCE_REMOVE;
}

/* Every sealed archive: the copies it lacks are (re)made, and one with fewer verified
 * copies than stores [copies] due_s after its seal is alerted. */
static void copies_check(struct controller *c)
{
	struct copies *cs = c->copies;
	int64_t now = clock_source_now_us(c->clock);
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, cs->archives);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct archive_copies *a = v;
		if (custody_deleted_at(c, k) >= 0) {
			g_hash_table_iter_remove(&it);
			continue;
		}
		if (!a->sealed_us)
			continue;
		for (unsigned i = 0; i < cs->n; i++)
			if (a->state[i] != COPY_VERIFIED)
				enqueue(c, JOB_COPY, k, i);
		unsigned have = verified(cs, a);
		struct alert_subject s;
		subject_of(k, &s);
		if (have >= cs->n) {
			alert_clear(c, ALERT_ARCHIVE_COPIES_MISSING, &s,
			            "auto: every backup store holds a verified copy");
		} else if (now >= a->sealed_us + c->cfg.copies_due_s * G_USEC_PER_SEC) {
			char n_have[16], n_want[16], after[24];
			snprintf(n_have, sizeof n_have, "%u", have);
			snprintf(n_want, sizeof n_want, "%u", cs->n);
			snprintf(after, sizeof after, "%" G_GINT64_FORMAT,
			         (now - a->sealed_us) / G_USEC_PER_SEC);
			alert_raise_text(c, ALERT_ARCHIVE_COPIES_MISSING, &s, "archive_copies_missing",
			                 (const char *[]){k, n_have, n_want, after, NULL},
			                 json_pack("{s:s, s:i, s:i}", "archive", (const char *)k,
			                           "copies", (int)have, "wanted", (int)cs->n));
		}
	}
}

static void on_tick(void *user)
{
	struct controller *c = user;
	copies_check(c);
	c->copies->tick =
	    clock_timer_start(c->clock, NULL, (unsigned)(c->cfg.copies_check_s * 1000), on_tick, c);
}

static void on_reverify(void *user)
{
	struct controller *c = user;
	struct copies *cs = c->copies;
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, cs->archives);
	while (g_hash_table_iter_next(&it, &k, &v))
		for (unsigned i = 0; i < cs->n; i++)
			if (((struct archive_copies *)v)->state[i] == COPY_VERIFIED)
				enqueue(c, JOB_VERIFY, k, i);
	cs->reverify = clock_timer_start(c->clock, NULL,
	                                 (unsigned)MIN(c->cfg.copies_reverify_s * 1000, G_MAXUINT),
	                                 on_reverify, c);
}

static int store_index(const struct copies *cs, const char *label)
{
	for (unsigned i = 0; i < cs->n; i++)
		if (g_strcmp0(cs->stores[i]->label, label) == 0)
			return (int)i;
	return -1;
}

/* What the custody log says of the copies made before this start. */
static void load_records(struct controller *c)
{
	struct copies *cs = c->copies;
	const json_t *all = custody_records(c);
	json_t *r;
	size_t i;
	json_array_foreach(all, i, r)
	{
		const char *kind = json_string_value(json_object_get(r, "kind"));
		const char *tender = json_string_value(json_object_get(r, "tender"));
		int s = store_index(cs, json_string_value(json_object_get(r, "store")));
		if (!kind || !tender)
			continue;
		if (strcmp(kind, "deletion") == 0) {
			g_hash_table_remove(cs->archives, tender);
		} else if (s >= 0 && strcmp(kind, "copy") == 0) {
			struct archive_copies *a = copies_of(cs, tender);
			a->state[s] = COPY_VERIFIED;
			g_strlcpy(a->sha256, json_string_value(json_object_get(r, "sha256")),
			          sizeof a->sha256);
		} else if (s >= 0 && strcmp(kind, "copy_bad") == 0) {
			copies_of(cs, tender)->state[s] = COPY_BAD;
		}
	}
}

/* The sealed archives on disk (read-only files): their seal times. */
static void scan_sealed(struct controller *c)
{
	GDir *dir = g_dir_open(c->cfg.archive_dir, 0, NULL);
	const char *name;
	while (dir && (name = g_dir_read_name(dir))) {
		if (!g_str_has_suffix(name, ".evarc") || g_str_has_prefix(name, "site-"))
			continue;
		char *path = g_build_filename(c->cfg.archive_dir, name, NULL);
		struct stat sb;
		if (stat(path, &sb) == 0 && !(sb.st_mode & 0222)) {
			char *tender = g_strndup(name, strlen(name) - 6);
			copies_of(c->copies, tender)->sealed_us = archives_file_sealed_us(path);
			g_free(tender);
		}
		g_free(path);
	}
	if (dir)
		g_dir_close(dir);
}

int copies_init(struct controller *c, GError **err)
{
	gchar **dirs = g_strsplit(c->cfg.copy_stores ? c->cfg.copy_stores : "", ";", -1);
	struct copies *cs = g_new0(struct copies, 1);
	int rc = 0;
	for (gchar **d = dirs; *d; d++) {
		g_strstrip(*d);
		if (!**d)
			continue;
		if (!g_path_is_absolute(*d) || cs->n == MAX_STORES) {
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
			            "[copies] stores: \"%s\": %s", *d,
			            cs->n == MAX_STORES ? "at most 8 stores"
			                                : "not an absolute directory path");
			rc = -EINVAL;
			break;
		}
		cs->stores[cs->n++] = copy_store_dir_new(*d);
	}
	g_strfreev(dirs);
	c->copies = cs;
	if (rc != 0 || cs->n == 0) {
		if (rc != 0)
			copies_free(c);
		return rc;
	}
	cs->archives = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	cs->pool = g_thread_pool_new(job_run, cs, 1, TRUE, NULL);
	load_records(c);
	scan_sealed(c);
	on_tick(c);
	cs->reverify = clock_timer_start(c->clock, NULL,
	                                 (unsigned)MIN(c->cfg.copies_reverify_s * 1000, G_MAXUINT),
	                                 on_reverify, c);
	log_info("%u backup stores for sealed archives: copies re-verified every %" G_GINT64_FORMAT
	         " s",
	         cs->n, c->cfg.copies_reverify_s);
	return 0;
}

void copies_free(struct controller *c)
{
	struct copies *cs = c->copies;
	if (!cs)
		return;
	if (cs->pool)
		g_thread_pool_free(cs->pool, TRUE, TRUE);
	clock_timer_stop(c->clock, cs->tick);
	clock_timer_stop(c->clock, cs->reverify);
	for (unsigned i = 0; i < cs->n; i++)
		copy_store_free(cs->stores[i]);
	if (cs->archives)
		g_hash_table_destroy(cs->archives);
	g_free(cs);
	c->copies = NULL;
}

void copies_on_sealed(struct controller *c, const char *tender, int64_t sealed_us)
{
	struct copies *cs = c->copies;
	if (!cs || cs->n == 0)
		return;
	copies_of(cs, tender)->sealed_us = sealed_us;
	for (unsigned i = 0; i < cs->n; i++)
		enqueue(c, JOB_COPY, tender, i);
}

void copies_on_appendix(struct controller *c, const char *tender)
{
	struct copies *cs = c->copies;
	if (!cs || cs->n == 0 || custody_deleted_at(c, tender) >= 0)
		return;
	struct archive_copies *a = copies_of(cs, tender);
	if (!a->sealed_us)
		a->sealed_us = archives_sealed_at(c, tender);
	if (!a->sealed_us)
		return;
	log_info("archive %s gained an appendix after its seal: copied again to every store",
	         tender);
	for (unsigned i = 0; i < cs->n; i++) {
		if (a->queued[i]) {
			a->again[i] = true;
			continue;
		}
		a->state[i] = COPY_NONE;
		enqueue(c, JOB_COPY, tender, i);
	}
}

void copies_on_deleted(struct controller *c, const char *tender)
{
	struct copies *cs = c->copies;
	if (!cs || cs->n == 0)
		return;
	g_hash_table_remove(cs->archives, tender);
	for (unsigned i = 0; i < cs->n; i++) {
		struct job *j = g_new0(struct job, 1);
		j->c = c;
		j->kind = JOB_REMOVE;
		j->store = i;
		g_strlcpy(j->tender, tender, sizeof j->tender);
		g_thread_pool_push(cs->pool, j, NULL);
	}
}

void copies_archive_json(struct controller *c, const char *name, json_t *entry)
{
	struct copies *cs = c->copies;
	struct archive_copies *a = cs && cs->n ? g_hash_table_lookup(cs->archives, name) : NULL;
	if (!a || !a->sealed_us)
		return;
	json_object_set_new(entry, "copies", json_integer(verified(cs, a)));
	json_object_set_new(entry, "copies_wanted", json_integer(cs->n));
}
