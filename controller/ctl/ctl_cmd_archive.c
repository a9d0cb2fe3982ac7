/* evalroomctl archive fetch|access-log|custody-log|hold|release|delete: the custody of the
 * sealed archives (docs/archives.md, "Custody"). */
#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_cmd_ops.h"
#include "ctl_table.h"
#include "ctl_words.h"
#include "request.h"

#define CHUNK_DEFAULT (1024 * 1024)
#define CHUNK_MIN     4096

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static long long num(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* ---- archive fetch ---- */

/* What a partial download FILE.part holds, from FILE.part.json: the archive it belongs to
 * (its SHA-256 as the controller announced it). Resumed only for the very same file. */
static gboolean part_matches(const char *meta_path, const json_t *res)
{
	json_t *meta = json_load_file(meta_path, 0, NULL);
	gboolean same = meta && strcmp(str(meta, "tender"), str(res, "tender")) == 0 &&
	                strcmp(str(meta, "sha256"), str(res, "sha256")) == 0 &&
	                num(meta, "bytes") == num(res, "bytes");
	json_decref(meta);
	return same;
}

static int file_sha256_hex(const char *path, char out[65])
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -errno;
	GChecksum *cs = g_checksum_new(G_CHECKSUM_SHA256);
	guchar buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		g_checksum_update(cs, buf, (gssize)n);
	int rc = ferror(f) ? -EIO : 0;
	fclose(f);
	g_strlcpy(out, g_checksum_get_string(cs), 65);
	g_checksum_free(cs);
	return rc;
}

/* One chunk at OFFSET into FD; waits and asks again when the controller's rate limit
 * answers. 0, or the exit code after printing the failure. */
static int fetch_chunk(struct ctl *ctl, const char *what, const char *id, gint64 offset, int chunk,
                       int fd, gint64 *got)
{
	for (;;) {
		json_t *res = NULL;
		GError *err = NULL;
		int rc = ctl_request(ctl, "archive.fetch_chunk",
		                     json_pack("{s:s, s:I, s:i}", "fetch", id, "offset",
		                               (json_int_t)offset, "length", chunk),
		                     &res, &err);
		if (rc != 0 && err->domain == REQUEST_ERROR &&
		    err->code == REQUEST_ERROR_RATE_LIMITED) {
			g_error_free(err);
			g_usleep(200 * 1000);
			continue;
		}
		if (rc != 0) {
			rc = ctl_fail(ctl, what, err);
			g_error_free(err);
			return rc;
		}
		gsize len = 0;
		guchar *data = g_base64_decode(str(res, "data"), &len);
		bool ok = num(res, "offset") == offset && (long long)len == num(res, "bytes") &&
		          len > 0 && pwrite(fd, data, len, offset) == (ssize_t)len;
		g_free(data);
		json_decref(res);
		if (!ok)
			return ctl_ops_local_fail(
			    ctl, what, _("chunk at byte %lld not received or not written intact"),
			    (long long)offset);
		*got = (gint64)len;
		return 0;
	}
}

static void print_fetched(const json_t *res, const char *out, gint64 resumed)
{
	printf(_("Archive of tender %s fetched into %s.\n"), str(res, "tender"), out);
	printf(_("bytes      %lld%s\n"), num(res, "bytes"),
	       resumed ? _(" (resumed a partial download)") : "");
	printf(_("sha256     %s\n"), str(res, "sha256"));
	printf(_("tree size  %lld\n"), num(res, "tree_size"));
	printf(_("root       %s (published in the site's root log, line %lld)\n"), str(res, "root"),
	       num(res, "root_log_line"));
	printf("%s", _("The controller verified every record and signature and checked the file "
	               "against the published roots;\nthe bytes received match its SHA-256. The "
	               "fetch is recorded in the custody log and the audit.\n"));
}

int ctl_archive_fetch(struct ctl *ctl, const char *what, const char *tender, const char *reason,
                      const char *out, int chunk, json_t **result, gint64 *resumed)
{
	json_t *res = NULL;
	char *part = NULL, *meta = NULL;
	int fd = -1;
	gint64 offset = 0;
	int rc = 0;
	*resumed = 0;
	if (g_file_test(out, G_FILE_TEST_EXISTS)) {
		rc = ctl_ops_local_fail(
		    ctl, what, _("%s exists: nothing is overwritten; name another file"), out);
		goto out;
	}
	/* The controller verifies the whole file before it answers. */
	ctl_timeout_at_least(ctl, 300);
	rc = ctl_ops_call(ctl, what, "archive.fetch",
	                  json_pack("{s:s, s:s}", "tender", tender, "reason", reason), &res);
	if (rc)
		goto out;
	part = g_strconcat(out, ".part", NULL);
	meta = g_strconcat(out, ".part.json", NULL);
	struct stat sb;
	if (part_matches(meta, res) && stat(part, &sb) == 0)
		*resumed = offset = MIN((gint64)sb.st_size, (gint64)num(res, "bytes"));
	json_t *m = json_pack("{s:s, s:s, s:I}", "tender", str(res, "tender"), "sha256",
	                      str(res, "sha256"), "bytes", (json_int_t)num(res, "bytes"));
	int dumped = json_dump_file(m, meta, JSON_SORT_KEYS);
	json_decref(m);
	fd = open(part, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (dumped != 0 || fd < 0 || ftruncate(fd, offset) != 0) {
		rc = ctl_ops_local_fail(ctl, what, _("%s: %s"), part, g_strerror(errno));
		goto out;
	}
	if (*resumed && !ctl_want_json(ctl))
		fprintf(stderr, _("resuming %s at byte %lld of %lld\n"), part, (long long)offset,
		        num(res, "bytes"));
	while (offset < num(res, "bytes")) {
		gint64 got = 0;
		rc = fetch_chunk(ctl, what, str(res, "fetch"), offset, chunk, fd, &got);
		if (rc) {
			fprintf(
			    stderr,
			    _("evalroomctl: %s: stopped at byte %lld of %lld; run the same command "
			      "again to resume\n"),
			    what, (long long)offset, num(res, "bytes"));
			goto out;
		}
		offset += got;
	}
	if (fsync(fd) != 0) {
		rc = ctl_ops_local_fail(ctl, what, _("%s: %s"), part, g_strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	char have[65];
	if (file_sha256_hex(part, have) != 0 || strcmp(have, str(res, "sha256")) != 0) {
		unlink(part);
		unlink(meta);
		rc = ctl_ops_local_fail(ctl, what,
		                        _("the bytes received (SHA-256 %s) are not the archive the "
		                          "controller verified (SHA-256 %s): discarded; run the "
		                          "command again"),
		                        have, str(res, "sha256"));
		goto out;
	}
	if (link(part, out) != 0) {
		rc = ctl_ops_local_fail(ctl, what, _("%s: %s"), out, g_strerror(errno));
		goto out;
	}
	unlink(part);
	unlink(meta);
	*result = res;
	res = NULL;
out:
	if (fd >= 0)
		close(fd);
	json_decref(res);
	g_free(part);
	g_free(meta);
	return rc;
}

static int cmd_archive_fetch(struct ctl *ctl, int argc, char **argv)
{
	char *reason = NULL, *out = NULL;
	int chunk = CHUNK_DEFAULT;
	const GOptionEntry entries[] = {
	    {"reason", 0, 0, G_OPTION_ARG_STRING, &reason, "why the archive is taken (required)",
	     "TEXT"},
	    {"output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "where to write it (required)", "FILE"},
	    {"chunk-size", 0, 0, G_OPTION_ARG_INT, &chunk,
	     "bytes per request (4096..1048576, default 1048576)", "BYTES"},
	    G_OPTION_ENTRY_NULL};
	const char *what = "archive fetch";
	json_t *res = NULL;
	gint64 resumed = 0;
	int rc = ctl_ops_parse(ctl, what, entries, &argc, &argv, 1);
	if (rc)
		goto out;
	if (!reason || !*reason || !out || !*out) {
		rc =
		    ctl_ops_local_fail(ctl, what, _("--reason TEXT and -o FILE are both required"));
		goto out;
	}
	if (chunk < CHUNK_MIN || chunk > CHUNK_DEFAULT) {
		rc = ctl_ops_local_fail(ctl, what, _("--chunk-size must be 4096..1048576"));
		goto out;
	}
	rc = ctl_archive_fetch(ctl, what, argv[1], reason, out, chunk, &res, &resumed);
	if (rc)
		goto out;
	if (ctl_want_json(ctl))
		ctl_print_json(res);
	else
		print_fetched(res, out, resumed);
out:
	json_decref(res);
	g_free(reason);
	g_free(out);
	return rc;
}

/* ---- the custody log: access-log and custody-log ---- */

static void print_records(struct ctl *ctl, const json_t *res, bool fetches_only)
{
	json_t *records = json_object_get(res, "records"), *r;
	size_t i;
	char t[40];
	if (json_array_size(records) == 0) {
		printf("%s", fetches_only ? _("No archive has been fetched.\n")
		                          : _("The custody log is empty.\n"));
		return;
	}
	if (fetches_only) {
		const char *head[] = {_("time"),  _("identity"), _("archive"),
		                      _("bytes"), _("sha256"),   _("reason")};
		struct ctl_table *tab = ctl_table_new(G_N_ELEMENTS(head), head);
		ctl_table_align_right(tab, 3);
		json_array_foreach(records, i, r)
		{
			char bytes[24];
			g_snprintf(bytes, sizeof bytes, "%lld", num(r, "bytes"));
			const char *row[] = {ctl_time(ctl, num(r, "time_us"), t, sizeof t),
			                     str(r, "identity"),
			                     str(r, "file"),
			                     bytes,
			                     str(r, "sha256"),
			                     str(r, "reason")};
			ctl_table_add(tab, row);
		}
		ctl_table_print(tab, stdout);
		ctl_table_free(tab);
		return;
	}
	const char *head[] = {_("line"),    _("time"),     _("what"),
	                      _("archive"), _("identity"), _("reason")};
	struct ctl_table *tab = ctl_table_new(G_N_ELEMENTS(head), head);
	json_array_foreach(records, i, r)
	{
		char line[24];
		g_snprintf(line, sizeof line, "%lld", num(r, "index"));
		const char *row[] = {line,
		                     ctl_time(ctl, num(r, "time_us"), t, sizeof t),
		                     ctl_state_word("custody record", str(r, "kind")),
		                     str(r, "tender"),
		                     str(r, "identity"),
		                     str(r, "reason")};
		ctl_table_add(tab, row);
	}
	ctl_table_print(tab, stdout);
	ctl_table_free(tab);
}

static int custody_list(struct ctl *ctl, int argc, char **argv, bool fetches_only)
{
	char *tender = NULL;
	const GOptionEntry entries[] = {
	    {"tender", 0, 0, G_OPTION_ARG_STRING, &tender, "only this tender's archive", "TENDER"},
	    G_OPTION_ENTRY_NULL};
	const char *what = fetches_only ? "archive access-log" : "archive custody-log";
	json_t *res = NULL;
	int rc = ctl_ops_parse(ctl, what, entries, &argc, &argv, 0);
	if (!rc) {
		json_t *args = json_object();
		if (tender)
			json_object_set_new(args, "tender", json_string(tender));
		if (fetches_only)
			json_object_set_new(args, "kind", json_string("fetch"));
		rc = ctl_ops_call(ctl, what, "archives.custody_log", args, &res);
	}
	if (!rc && ctl_want_json(ctl))
		ctl_print_json(res);
	else if (!rc)
		print_records(ctl, res, fetches_only);
	json_decref(res);
	g_free(tender);
	return rc;
}

static int cmd_archive_access_log(struct ctl *ctl, int argc, char **argv)
{
	return custody_list(ctl, argc, argv, true);
}

static int cmd_archive_custody_log(struct ctl *ctl, int argc, char **argv)
{
	return custody_list(ctl, argc, argv, false);
}

/* ---- hold, release, delete ---- */

/* COMMAND {tender, reason[, hold]} from `archive WHAT TENDER --reason TEXT [--hold N]`
 * (--hold only when WITH_HOLD). 0 with *res, or the exit code after printing the fault. */
static int reasoned_call(struct ctl *ctl, int argc, char **argv, const char *what,
                         const char *command, bool with_hold, json_t **res)
{
	char *reason = NULL;
	int hold = -1;
	GOptionEntry entries[] = {
	    {"reason", 0, 0, G_OPTION_ARG_STRING, &reason, "why (required)", "TEXT"},
	    {"hold", 0, 0, G_OPTION_ARG_INT, &hold, "which hold (when there are several)", "N"},
	    G_OPTION_ENTRY_NULL};
	if (!with_hold) /* the option list ends before --hold */
		entries[1] = (GOptionEntry)G_OPTION_ENTRY_NULL;
	int rc = ctl_ops_parse(ctl, what, entries, &argc, &argv, 1);
	if (!rc && (!reason || !*reason))
		rc = ctl_ops_local_fail(ctl, what, _("--reason TEXT is required"));
	if (!rc) {
		json_t *args = json_pack("{s:s, s:s}", "tender", argv[1], "reason", reason);
		if (hold >= 0)
			json_object_set_new(args, "hold", json_integer(hold));
		rc = ctl_ops_call(ctl, what, command, args, res);
	}
	g_free(reason);
	return rc;
}

static int cmd_archive_hold(struct ctl *ctl, int argc, char **argv)
{
	json_t *res = NULL;
	int rc = reasoned_call(ctl, argc, argv, "archive hold", "archive.hold", false, &res);
	if (!rc && ctl_want_json(ctl))
		ctl_print_json(res);
	else if (!rc)
		printf(
		    _("Evidence hold %lld placed on the archive of %s (%lld active): it cannot be "
		      "deleted until released.\n"),
		    num(res, "hold"), str(res, "tender"), num(res, "holds"));
	json_decref(res);
	return rc;
}

static int cmd_archive_release(struct ctl *ctl, int argc, char **argv)
{
	json_t *res = NULL;
	int rc = reasoned_call(ctl, argc, argv, "archive release", "archive.release", true, &res);
	if (!rc && ctl_want_json(ctl))
		ctl_print_json(res);
	else if (!rc)
		printf(_("Evidence hold %lld on the archive of %s released (%lld still active).\n"),
		       num(res, "released"), str(res, "tender"), num(res, "holds"));
	json_decref(res);
	return rc;
}

static int cmd_archive_delete(struct ctl *ctl, int argc, char **argv)
{
	json_t *res = NULL;
	int rc = reasoned_call(ctl, argc, argv, "archive delete", "archive.delete", false, &res);
	if (!rc && ctl_want_json(ctl))
		ctl_print_json(res);
	else if (!rc)
		printf(
		    _("Archive of %s deleted (%lld bytes); the signed deletion record is line %lld "
		      "of the custody log.\n"),
		    str(res, "tender"), num(res, "bytes"), num(res, "custody_line"));
	json_decref(res);
	return rc;
}

const struct ctl_command archive_ctl_commands[] = {
    {"archive fetch", "archive fetch TENDER --reason TEXT -o FILE [--chunk-size BYTES]",
     N_("Retrieve (借阅) a sealed tender archive as its custodian (an auditor identity). The\n"
        "controller verifies the whole file and checks it against every root the site's root\n"
        "log published for the tender; a file that fails, or differs from what was\n"
        "published, is refused. The fetch is recorded (who, when, why, file, SHA-256) in the\n"
        "custody log and the audit before a byte is sent. The file arrives in chunks into\n"
        "FILE.part and becomes FILE only once its SHA-256 matches; an interrupted fetch\n"
        "resumes from FILE.part when the same command is run again. FILE must not exist."),
     cmd_archive_fetch, false},
    {"archive access-log", "archive access-log [--tender TENDER]",
     N_("Print every retrieval of an archive: when, who, which file, its size and SHA-256,\n"
        "and why (from the signed custody log). Operators and auditors."),
     cmd_archive_access_log, false},
    {"archive custody-log", "archive custody-log [--tender TENDER]",
     N_("Print the custody log: fetches, retention, evidence holds and their release,\n"
        "deletions, copies, transfers; each line signed and chained (docs/archives.md).\n"
        "Operators and auditors."),
     cmd_archive_custody_log, false},
    {"archive hold", "archive hold TENDER --reason TEXT",
     N_("Place an evidence hold on a tender's archive (auditors, supervisors): it cannot be\n"
        "deleted, even after its retention, until the hold is released. Recorded in the\n"
        "custody log."),
     cmd_archive_hold, false},
    {"archive release", "archive release TENDER [--hold N] --reason TEXT",
     N_("Release an evidence hold (auditors, supervisors); --hold names it when there are\n"
        "several. Recorded in the custody log with who placed it and who released it."),
     cmd_archive_release, false},
    {"archive delete", "archive delete TENDER --reason TEXT",
     N_("Delete a sealed tender archive once its retention has passed ([custody]\n"
        "retention_days from the seal, 15 years by default) and no evidence hold is on it\n"
        "(the custodian, an auditor identity). A signed deletion record (file, size, final\n"
        "root, who, why) goes into the custody log before the file is removed."),
     cmd_archive_delete, false},
    {NULL, NULL, NULL, NULL, false},
};
