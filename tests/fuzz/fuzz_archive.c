/* fuzz_archive: the archive reader and verifier (media/archive/reader.c, verify.c) and the
 * auditor's tool commands on top of them (evalroom-archive info, timeline, verify), which
 * read files handed over by anyone. The input is the whole archive file.
 *
 * Invariants: archive_reader_open either opens or refuses with -EBADMSG/-ENOTSUP and a
 * message naming the file; archive_verify returns 0 (then every leaf is signed, the report
 * is complete and has no problem) or -EBADMSG/-EIO with a non-empty problem, the same with
 * the embedded key and with the seeds' public key when that key is the embedded one; the
 * tool agrees with the library: a file the reader refuses is exit 3 for every command with
 * the reader's message on stderr, verify exits 0 exactly when archive_verify returned 0,
 * and every non-zero exit comes with an "evalroom-archive: " or "FAILED" line. */
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "tool.h"
#include "verify.h"

static char *arc_path;
static struct archive_pubkey *seed_key;

static void setup(void)
{
	GError *err = NULL;
	char *dir = g_dir_make_tmp("fuzz_archive-XXXXXX", &err);

	FUZZ_CHECK(dir, "cannot make a temp dir: %s", err ? err->message : "?");
	arc_path = g_build_filename(dir, "input.evarc", NULL);
	g_free(dir);
	FUZZ_CHECK(archive_pubkey_load(FUZZ_ARCHIVE_PUB, &seed_key) == 0, "cannot load %s",
	           FUZZ_ARCHIVE_PUB);
}

/* Output of one tool command: its exit code and what it wrote on stderr (stdout is
 * discarded: info and timeline print whatever the file holds). */
struct tool_run {
	int rc;
	char *err;
	char *out_first; /* first line on stdout (verify's OK/FAILED) */
};

static char *read_fd(int fd)
{
	GString *s = g_string_new(NULL);
	char buf[4096];
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		g_string_append_len(s, buf, n);
	return g_string_free(s, FALSE);
}

static void run_tool(int (*cmd)(int, char **), const char *name, const char *opt,
                     struct tool_run *out)
{
	char *argv[4] = {g_strdup(name), g_strdup(arc_path), opt ? g_strdup(opt) : NULL, NULL};
	char **owned = g_memdup2(argv, sizeof(argv));
	int argc = opt ? 3 : 2;
	int fd_err = memfd_create("fuzz-stderr", MFD_CLOEXEC);
	int fd_out = memfd_create("fuzz-stdout", MFD_CLOEXEC);
	int save_err, save_out;

	FUZZ_CHECK(fd_err >= 0 && fd_out >= 0, "memfd_create failed");
	fflush(stdout);
	fflush(stderr);
	save_err = dup(2);
	save_out = dup(1);
	/* A sanitizer report inside the command lands in the memfd; libFuzzer still keeps the
	 * input, and the replay binary reproduces it with the report on the terminal. */
	dup2(fd_err, 2);
	dup2(fd_out, 1);
	out->rc = cmd(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(save_err, 2);
	dup2(save_out, 1);
	close(save_err);
	close(save_out);
	out->err = read_fd(fd_err);
	{
		char *all = read_fd(fd_out);
		char *nl = strchr(all, '\n');

		if (nl)
			*nl = '\0';
		out->out_first = all;
	}
	close(fd_err);
	close(fd_out);
	for (int i = 0; i < 3; i++)
		g_free(owned[i]);
	g_free(owned);
}

static void tool_run_clear(struct tool_run *t)
{
	g_free(t->err);
	g_free(t->out_first);
}

/* Every command on a file the reader refuses: exit 3 with the reader's message. */
static void check_refused_everywhere(const char *msg)
{
	static const struct {
		int (*fn)(int, char **);
		const char *name;
	} cmds[] = {{cmd_info, "info"}, {cmd_timeline, "timeline"}, {cmd_verify, "verify"}};

	for (size_t i = 0; i < G_N_ELEMENTS(cmds); i++) {
		struct tool_run t;

		run_tool(cmds[i].fn, cmds[i].name, NULL, &t);
		FUZZ_CHECK(t.rc == EXIT_BAD_FILE, "%s exit %d on a file the reader refuses (%s)",
		           cmds[i].name, t.rc, msg);
		FUZZ_CHECK(strstr(t.err, msg), "%s does not print the reader's message '%s': %s",
		           cmds[i].name, msg, t.err);
		tool_run_clear(&t);
	}
}

static int check_verify(struct archive_reader *r, const struct archive_pubkey *key)
{
	struct archive_verify_report rep;
	int rc = archive_verify(r, key, &rep);

	FUZZ_CHECK(rc == 0 || rc == -EBADMSG || rc == -EIO, "archive_verify returned %d", rc);
	FUZZ_CHECK(rep.leaf_hashes, "report without leaf hashes");
	if (rc == 0) {
		FUZZ_CHECK(!rep.problem, "intact but a problem: %s", rep.problem);
		FUZZ_CHECK(rep.signed_leaves == rep.leaves && rep.leaves >= 1,
		           "intact with %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
		           " leaves signed",
		           rep.signed_leaves, rep.leaves);
		FUZZ_CHECK(rep.leaf_hashes->len == 32 * rep.leaves,
		           "%u bytes of leaf hashes for %" G_GUINT64_FORMAT " leaves",
		           rep.leaf_hashes->len, rep.leaves);
		FUZZ_CHECK(rep.checkpoints >= 1, "intact without a checkpoint");
		FUZZ_CHECK(rep.key_embedded == (key == NULL), "key_embedded %d", rep.key_embedded);
	} else {
		FUZZ_CHECK(rep.problem && rep.problem[0], "archive_verify %d without a problem",
		           rc);
	}
	archive_verify_report_clear(&rep);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct archive_reader *r = NULL;
	struct tool_run t;
	char *err = (char *)"untouched";
	GError *gerr = NULL;
	int rc, vrc;

	fuzz_init();
	if (!arc_path)
		setup();
	FUZZ_CHECK(g_file_set_contents(arc_path, (const char *)data, (gssize)size, &gerr),
	           "cannot write the input: %s", gerr ? gerr->message : "?");
	rc = archive_reader_open(arc_path, &r, &err);
	if (rc != 0) {
		FUZZ_CHECK(rc == -EBADMSG || rc == -ENOTSUP, "archive_reader_open returned %d (%s)",
		           rc, g_strerror(-rc));
		FUZZ_CHECK(!r, "a refusal set *out");
		FUZZ_CHECK(err && g_str_has_prefix(err, arc_path) &&
		               strlen(err) > strlen(arc_path) + 2,
		           "refusal without a message naming the file: %s", err ? err : "(null)");
		FUZZ_CHECK(g_utf8_validate(err, -1, NULL), "refusal message is not UTF-8");
		check_refused_everywhere(err);
		g_free(err);
		return 0;
	}
	FUZZ_CHECK(r && !err, "opened but *out is NULL or *err is set");
	FUZZ_CHECK(!strcmp(archive_reader_path(r), arc_path), "reader path differs");

	vrc = check_verify(r, NULL);
	{
		/* With the controller's key: the same verdict when it is the embedded key. An
		 * archive that verifies with it is intact with the embedded key too, unless the
		 * embedded key was changed (then the embedded-key verdict is a problem). */
		int krc = check_verify(r, seed_key);

		if (krc == 0)
			FUZZ_CHECK(vrc == 0 || vrc == -EBADMSG, "verifies with the key, %d without",
			           vrc);
	}
	archive_reader_free(r);

	run_tool(cmd_verify, "verify", NULL, &t);
	FUZZ_CHECK(t.rc == (vrc == 0          ? EXIT_INTACT
	                    : vrc == -EBADMSG ? EXIT_TAMPERED
	                                      : EXIT_BAD_FILE),
	           "verify exit %d, archive_verify %d", t.rc, vrc);
	FUZZ_CHECK(g_str_has_prefix(t.out_first, vrc == 0 ? "OK " : "FAILED "),
	           "verify printed '%s' for %d", t.out_first, vrc);
	tool_run_clear(&t);

	run_tool(cmd_info, "info", NULL, &t);
	FUZZ_CHECK(t.rc == EXIT_INTACT ||
	               (t.rc == EXIT_FAILED && g_str_has_prefix(t.err, "evalroom-archive: ")),
	           "info exit %d: %s", t.rc, t.err);
	FUZZ_CHECK(vrc != 0 || t.rc == EXIT_INTACT, "info fails on an intact archive: %s", t.err);
	tool_run_clear(&t);

	run_tool(cmd_timeline, "timeline", "--json", &t);
	FUZZ_CHECK(t.rc == EXIT_INTACT ||
	               (t.rc == EXIT_FAILED && g_str_has_prefix(t.err, "evalroom-archive: ")),
	           "timeline exit %d: %s", t.rc, t.err);
	FUZZ_CHECK(vrc != 0 || t.rc == EXIT_INTACT, "timeline fails on an intact archive: %s",
	           t.err);
	tool_run_clear(&t);
	return 0;
}
