/* Custody of the sealed archives: retention, evidence holds, deletion, the custody log
 * (custody.h). */
#include "custody.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archives.h"
#include "clock.h"
#include "custody_log.h"
#include "hex.h"
#include "log.h"
#include "msg.h"
#include "rootlog.h"
#include "state.h"
#include "text_safe.h"

#define REASON_MAX 500

/* What the custody log says of one archive. */
struct custody_archive {
	int64_t retain_until_us; /* 0: none recorded (the default from the seal applies) */
	json_t *holds;           /* active holds: the "hold" records, in order */
	int64_t deleted_line;    /* -1, or the line that recorded the deletion */
};

struct custody {
	struct archive_signer *signer;
	struct custody_log *log;
	GHashTable *archives; /* name -> struct custody_archive */
};

static void custody_archive_free(gpointer p)
{
	struct custody_archive *a = p;
	json_decref(a->holds);
	g_free(a);
}

static struct custody_archive *archive_of(struct custody *cu, const char *name)
{
	struct custody_archive *a = g_hash_table_lookup(cu->archives, name);
	if (!a) {
		a = g_new0(struct custody_archive, 1);
		a->holds = json_array();
		a->deleted_line = -1;
		g_hash_table_insert(cu->archives, g_strdup(name), a);
	}
	return a;
}

/* What record R (as written, with its index) changes. */
static void apply(struct custody *cu, const json_t *r)
{
	const char *kind = json_string_value(json_object_get(r, "kind"));
	const char *tender = json_string_value(json_object_get(r, "tender"));
	if (!kind || !tender)
		return;
	struct custody_archive *a = archive_of(cu, tender);
	if (strcmp(kind, "retention") == 0) {
		int64_t until = json_integer_value(json_object_get(r, "retain_until_us"));
		a->retain_until_us = MAX(a->retain_until_us, until);
	} else if (strcmp(kind, "hold") == 0) {
		json_array_append(a->holds, (json_t *)r);
	} else if (strcmp(kind, "release") == 0) {
		json_int_t hold = json_integer_value(json_object_get(r, "hold"));
		size_t i;
		json_t *h;
		json_array_foreach(a->holds, i, h)
		{
			if (json_integer_value(json_object_get(h, "index")) == hold) {
				json_array_remove(a->holds, i);
				break;
			}
		}
	} else if (strcmp(kind, "deletion") == 0) {
		a->deleted_line = json_integer_value(json_object_get(r, "index"));
	}
}

/* Archive files readable by the controller's user only: tightened at start, so a file
 * written by an older version, or sealed by a crash recovery (0444), is narrowed too. */
static void narrow_modes(struct controller *c)
{
	GDir *dir = g_dir_open(c->cfg.archive_dir, 0, NULL);
	const char *name;
	while (dir && (name = g_dir_read_name(dir))) {
		if (!g_str_has_suffix(name, ".evarc"))
			continue;
		char *path = g_build_filename(c->cfg.archive_dir, name, NULL);
		struct stat sb;
		if (stat(path, &sb) == 0 && (sb.st_mode & 077) &&
		    chmod(path, sb.st_mode & 0700) != 0)
			log_warn("archive %s: chmod", path);
		g_free(path);
	}
	if (dir)
		g_dir_close(dir);
}

int custody_init(struct controller *c, GError **err)
{
	struct custody *cu = g_new0(struct custody, 1);
	struct archive_pubkey *key = NULL;
	char *pem = NULL;
	int rc = archive_signer_load(c->cfg.signing_key, &cu->signer);
	if (rc != 0) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
		            "[controller] signing_key %s: cannot be loaded", c->cfg.signing_key);
		goto err_free;
	}
	pem = archive_signer_public_pem(cu->signer);
	if (!pem || archive_pubkey_from_pem(pem, &key) != 0) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
		            "[controller] signing_key %s: no public key", c->cfg.signing_key);
		rc = -EINVAL;
		goto err_signer;
	}
	char *path = g_build_filename(c->cfg.state_dir, "custody.log", NULL);
	rc = custody_log_open(path, cu->signer, key, c->key_history, &cu->log, err);
	g_free(path);
	if (rc != 0)
		goto err_signer;
	cu->archives = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, custody_archive_free);
	size_t i;
	json_t *r;
	json_array_foreach(custody_log_records(cu->log), i, r) apply(cu, r);
	archive_pubkey_free(key);
	g_free(pem);
	c->custody = cu;
	narrow_modes(c);
	if (c->cfg.custody_retention_days < 15 * 365 + 4)
		log_warnx("[custody] retention_days is %" G_GINT64_FORMAT
		          ": government procurement "
		          "records are to be kept at least 15 years (5479 days)",
		          c->cfg.custody_retention_days);
	return 0;
err_signer:
	archive_pubkey_free(key);
	g_free(pem);
	archive_signer_free(cu->signer);
err_free:
	g_free(cu);
	return rc ? rc : -EIO;
}

void custody_free(struct controller *c)
{
	struct custody *cu = c->custody;
	if (!cu)
		return;
	g_hash_table_destroy(cu->archives);
	custody_log_free(cu->log);
	archive_signer_free(cu->signer);
	g_free(cu);
	c->custody = NULL;
}

int custody_record(struct controller *c, json_t *record, GError **err)
{
	struct custody *cu = c->custody;
	json_object_set_new(record, "time_us", json_integer(clock_source_now_us(c->clock)));
	int rc = custody_log_append(cu->log, record, err);
	json_decref(record);
	if (rc == 0) {
		const json_t *all = custody_log_records(cu->log);
		apply(cu, json_array_get(all, json_array_size(all) - 1));
	}
	return rc;
}

void custody_on_sealed(struct controller *c, const char *tender, int64_t sealed_us)
{
	char *path = archives_path(c, tender);
	if (chmod(path, 0400) != 0)
		log_warn("archive %s: chmod 0400", path);
	g_free(path);
	if (!c->custody)
		return;
	int64_t days = c->cfg.custody_retention_days;
	GError *err = NULL;
	if (custody_record(c,
	                   json_pack("{s:s, s:s, s:I, s:I, s:I, s:s}", "kind", "retention",
	                             "tender", tender, "sealed_us", (json_int_t)sealed_us,
	                             "retain_until_us",
	                             (json_int_t)(sealed_us + days * 86400 * G_USEC_PER_SEC),
	                             "days", (json_int_t)days, "identity", "controller"),
	                   &err) != 0) {
		log_warnx("tender %s: retention not recorded in the custody log (%s): the default "
		          "from its seal applies",
		          tender, err->message);
		g_error_free(err);
	}
}

const json_t *custody_records(struct controller *c)
{
	return custody_log_records(c->custody->log);
}

int64_t custody_deleted_at(struct controller *c, const char *name)
{
	struct custody_archive *a =
	    c->custody ? g_hash_table_lookup(c->custody->archives, name) : NULL;
	return a ? a->deleted_line : -1;
}

/* When NAME's retention ends: as recorded, else [custody] retention_days from its seal. */
static int64_t retain_until(struct controller *c, const char *name)
{
	struct custody_archive *a = g_hash_table_lookup(c->custody->archives, name);
	if (a && a->retain_until_us)
		return a->retain_until_us;
	int64_t sealed = archives_sealed_at(c, name);
	if (!sealed) {
		char *path = archives_path(c, name);
		sealed = archives_file_sealed_us(path);
		g_free(path);
	}
	return sealed ? sealed + c->cfg.custody_retention_days * 86400 * G_USEC_PER_SEC : 0;
}

void custody_archive_json(struct controller *c, const char *name, json_t *entry)
{
	if (!c->custody)
		return;
	struct custody_archive *a = g_hash_table_lookup(c->custody->archives, name);
	int64_t until = retain_until(c, name);
	if (until)
		json_object_set_new(entry, "retain_until_us", json_integer(until));
	json_object_set_new(entry, "holds",
	                    json_integer(a ? (json_int_t)json_array_size(a->holds) : 0));
}

/* The reason a custody request gives: required, one clean line of text. */
static const char *read_reason(struct msg_reader *r)
{
	return msg_read_string(r, "reason", true, REASON_MAX);
}

static int reason_check(const char *reason, GError **err)
{
	if (!*reason || !text_clean(reason)) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_INVALID,
		            "member 'args.reason': say why in one line of plain text");
		return -EINVAL;
	}
	return 0;
}

int custody_read_args(const struct request *req, const char **tender, const char **reason,
                      GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	*tender = msg_read_id(&r, "tender", true);
	*reason = read_reason(&r);
	if (msg_reader_finish(&r, err) != 0 || reason_check(*reason, err) != 0)
		return -EINVAL;
	return 0;
}

int custody_archive_present(struct controller *c, const char *name, GError **err)
{
	int64_t line = custody_deleted_at(c, name);
	if (line >= 0) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_NOT_FOUND,
		            "the archive of %s was deleted (custody log line %" G_GINT64_FORMAT ")",
		            name, line);
		return -ENOENT;
	}
	char *path = archives_path(c, name);
	bool there = g_file_test(path, G_FILE_TEST_EXISTS);
	g_free(path);
	if (!there) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_NOT_FOUND, "no archive of %s here",
		            name);
		return -ENOENT;
	}
	return 0;
}

static int handle_hold(struct controller *c, const struct request *req, json_t **result,
                       GError **err)
{
	const char *tender, *reason;
	if (custody_read_args(req, &tender, &reason, err) != 0)
		return -EINVAL;
	int rc = custody_archive_present(c, tender, err);
	if (rc != 0 ||
	    (rc = custody_record(c,
	                         json_pack("{s:s, s:s, s:s, s:s}", "kind", "hold", "tender", tender,
	                                   "identity", req->requester, "reason", reason),
	                         err)) != 0)
		return rc;
	struct custody_archive *a = archive_of(c->custody, tender);
	json_t *h = json_array_get(a->holds, json_array_size(a->holds) - 1);
	*result =
	    json_pack("{s:s, s:O, s:I}", "tender", tender, "hold", json_object_get(h, "index"),
	              "holds", (json_int_t)json_array_size(a->holds));
	log_info("archive %s: evidence hold %" JSON_INTEGER_FORMAT " placed by %s: %s", tender,
	         json_integer_value(json_object_get(h, "index")), req->requester, reason);
	return 0;
}

static int handle_release(struct controller *c, const struct request *req, json_t **result,
                          GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *tender = msg_read_id(&r, "tender", true);
	int64_t hold = msg_read_int(&r, "hold", false, 0, INT64_MAX, -1);
	const char *reason = read_reason(&r);
	if (msg_reader_finish(&r, err) != 0 || reason_check(reason, err) != 0)
		return -EINVAL;
	struct custody_archive *a = g_hash_table_lookup(c->custody->archives, tender);
	size_t n = a ? json_array_size(a->holds) : 0;
	if (n == 0) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		            "the archive of %s is under no evidence hold", tender);
		return -ENOENT;
	}
	if (hold < 0 && n > 1) {
		GString *ids = g_string_new(NULL);
		size_t i;
		json_t *h;
		json_array_foreach(a->holds, i, h)
		    g_string_append_printf(ids, "%s%" JSON_INTEGER_FORMAT, i ? ", " : "",
		                           json_integer_value(json_object_get(h, "index")));
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_INVALID,
		            "the archive of %s is under %zu evidence holds (%s): name the one to "
		            "release",
		            tender, n, ids->str);
		g_string_free(ids, TRUE);
		return -EINVAL;
	}
	json_t *found = NULL, *h;
	size_t i;
	json_array_foreach(a->holds, i, h)
	{
		if (hold < 0 || json_integer_value(json_object_get(h, "index")) == hold)
			found = h;
	}
	if (!found) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_NOT_FOUND,
		            "no evidence hold %" G_GINT64_FORMAT " on the archive of %s", hold,
		            tender);
		return -ENOENT;
	}
	json_t *which = json_incref(json_object_get(found, "index"));
	json_t *placed_by = json_incref(json_object_get(found, "identity"));
	int rc = custody_record(c,
	                        json_pack("{s:s, s:s, s:O, s:O, s:s, s:s}", "kind", "release",
	                                  "tender", tender, "hold", which, "placed_by", placed_by,
	                                  "identity", req->requester, "reason", reason),
	                        err);
	if (rc == 0)
		*result = json_pack("{s:s, s:O, s:I}", "tender", tender, "released", which, "holds",
		                    (json_int_t)json_array_size(a->holds));
	json_decref(which);
	json_decref(placed_by);
	return rc;
}

/* The latest root the site's root log published for TENDER, as hex, and its size. */
struct latest_root {
	const char *tender;
	uint64_t size;
	char root[65];
};

static void note_root(const struct rootlog_entry *e, void *user)
{
	struct latest_root *l = user;
	if (strcmp(e->tender, l->tender) == 0 && e->size >= l->size) {
		l->size = e->size;
		hex_encode(e->root, 32, l->root);
	}
}

static int handle_delete(struct controller *c, const struct request *req, json_t **result,
                         GError **err)
{
	const char *tender, *reason;
	if (custody_read_args(req, &tender, &reason, err) != 0)
		return -EINVAL;
	int rc = custody_archive_present(c, tender, err);
	if (rc != 0)
		return rc;
	char *path = archives_path(c, tender);
	int64_t now = clock_source_now_us(c->clock), until = retain_until(c, tender);
	struct custody_archive *a = g_hash_table_lookup(c->custody->archives, tender);
	char when[40];
	struct stat sb;
	if (!until) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		            "the archive of %s is not sealed: only a sealed archive past its "
		            "retention can be deleted",
		            tender);
		rc = -EBUSY;
	} else if (now < until) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		            "the archive of %s is retained until %s (%" G_GINT64_FORMAT
		            " days from now): not deleted",
		            tender, clock_format_us(until, when, sizeof when),
		            (until - now) / ((int64_t)86400 * G_USEC_PER_SEC) + 1);
		rc = -EPERM;
	} else if (a && json_array_size(a->holds) > 0) {
		json_t *h = json_array_get(a->holds, 0);
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_CONFLICT,
		            "the archive of %s is under evidence hold %" JSON_INTEGER_FORMAT
		            " (placed by %s: %s)%s: release it first; not deleted",
		            tender, json_integer_value(json_object_get(h, "index")),
		            json_string_value(json_object_get(h, "identity")),
		            json_string_value(json_object_get(h, "reason")),
		            json_array_size(a->holds) > 1 ? " and others" : "");
		rc = -EPERM;
	} else if (stat(path, &sb) != 0) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_INTERNAL, "archive %s: %s", path,
		            g_strerror(errno));
		rc = -EIO;
	}
	if (rc != 0)
		goto out;
	/* What was deleted, as the root log published it, signed into the custody log first;
	 * the file goes only once that record is durable. */
	struct latest_root lr = {.tender = tender};
	char *roots = g_build_filename(c->cfg.state_dir, "roots.log", NULL);
	GError *lerr = NULL;
	if (rootlog_read(roots, NULL, note_root, &lr, &lerr) != 0) {
		log_warnx("archive %s deletion: root log not read: %s", tender, lerr->message);
		g_clear_error(&lerr);
	}
	g_free(roots);
	char *file = g_path_get_basename(path);
	rc = custody_record(c,
	                    json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:I, s:s, s:s}", "kind",
	                              "deletion", "tender", tender, "file", file, "bytes",
	                              (json_int_t)sb.st_size, "tree_size", (json_int_t)lr.size,
	                              "root", lr.root, "retain_until_us", (json_int_t)until,
	                              "identity", req->requester, "reason", reason),
	                    err);
	g_free(file);
	if (rc != 0)
		goto out;
	if (unlink(path) != 0) {
		rc = -errno;
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_INTERNAL,
		            "archive %s: deletion recorded but the file could not be removed: %s",
		            path, g_strerror(-rc));
		goto out;
	}
	int fd = open(c->cfg.archive_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	if (c->archive_deleted)
		c->archive_deleted(c, tender);
	*result = json_pack("{s:s, s:s, s:I, s:I}", "tender", tender, "path", path, "bytes",
	                    (json_int_t)sb.st_size, "custody_line",
	                    (json_int_t)custody_deleted_at(c, tender));
	log_info("archive %s deleted by %s after its retention: %s", path, req->requester, reason);
out:
	g_free(path);
	return rc;
}

static int handle_custody_log(struct controller *c, const struct request *req, json_t **result,
                              GError **err)
{
	static const char *const kinds[] = {"fetch",    "retention",         "hold",
	                                    "release",  "deletion",          "copy",
	                                    "copy_bad", "copy_removed",      "transfer",
	                                    "transfer_received", "transfer_refused", NULL};
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *tender = msg_read_id(&r, "tender", false);
	int kind = msg_read_enum(&r, "kind", false, kinds);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	json_t *out = json_array();
	size_t i;
	json_t *rec;
	json_array_foreach(custody_log_records(c->custody->log), i, rec)
	{
		if (tender && g_strcmp0(json_string_value(json_object_get(rec, "tender")), tender))
			continue;
		if (kind >= 0 &&
		    g_strcmp0(json_string_value(json_object_get(rec, "kind")), kinds[kind]))
			continue;
		json_array_append(out, rec);
	}
	*result = json_pack("{s:o}", "records", out);
	return 0;
}

const struct request_handler custody_request_handlers[] = {
    {"archive.hold", CUSTODY_HOLD_ROLES, handle_hold, true},
    {"archive.release", CUSTODY_HOLD_ROLES, handle_release, true},
    {"archive.delete", CUSTODY_CUSTODIAN_ROLES, handle_delete, true},
    {"archives.custody_log", ROLE_OPERATOR | ROLE_AUDITOR, handle_custody_log, false},
    {NULL, 0, NULL, false},
};
