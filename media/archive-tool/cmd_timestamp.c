/* evalroom-archive timestamp: an RFC 3161 timestamp of a checkpoint, from a TSA or a reply
 * file, stored in the archive (sealed or not). */
#include <errno.h>
#include <glib/gi18n.h>
#include <stdio.h>

#include "clock.h"
#include "timestamp.h"
#include "tool.h"

int cmd_timestamp(int argc, char **argv)
{
	char *tsa = NULL, *reply_path = NULL, *err = NULL;
	gint64 row = 0;
	int timeout_ms = 10000, rc;
	GOptionEntry opts[] = {
	    {"tsa", 't', 0, G_OPTION_ARG_STRING, &tsa,
	     "ask this timestamp authority (http://HOST[:PORT]/PATH, RFC 3161 over HTTP) for a "
	     "timestamp of the last checkpoint",
	     "URL"},
	    {"reply", 0, 0, G_OPTION_ARG_FILENAME, &reply_path,
	     "store this DER TimeStampResp instead (obtained by other means, e.g. openssl ts "
	     "-query and a TSA's web form), for the checkpoint --row (default: the last)",
	     "FILE"},
	    {"row", 0, 0, G_OPTION_ARG_INT64, &row, "checkpoint row id for --reply", "ID"},
	    {"timeout-ms", 0, 0, G_OPTION_ARG_INT, &timeout_ms, "give up on the TSA after this",
	     "MS"},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	struct archive_reader *r;
	int64_t cp = row;

	if (!tool_parse(&argc, &argv, "FILE",
	                N_("Stores an RFC 3161 timestamp of a checkpoint's body in the archive, "
	                   "sealed or not: the reply is checked against that body first and "
	                   "proves itself, so nothing signed changes. The controller asks its "
	                   "TSA at sealing; this adds one later (the TSA was down) or another."),
	                opts, 1))
		return EXIT_USAGE;
	if (!tsa == !reply_path || timeout_ms <= 0) {
		tool_err(_("give exactly one of --tsa URL and --reply FILE"));
		rc = EXIT_USAGE;
		goto out;
	}
	/* A readable archive of a version that has timestamps, before anything is written. */
	r = tool_open(argv[1]);
	if (!r) {
		rc = EXIT_BAD_FILE;
		goto out;
	}
	rc = archive_reader_version(r);
	archive_reader_free(r);
	if (rc < 2) {
		tool_err(_("%s: format version %d has no timestamps table"), argv[1], rc);
		rc = EXIT_BAD_FILE;
		goto out;
	}
	if (tsa) {
		rc = archive_timestamp_last(argv[1], tsa, timeout_ms, &cp, &err);
	} else {
		gchar *data;
		gsize len;
		GError *gerr = NULL;

		if (!g_file_get_contents(reply_path, &data, &len, &gerr)) {
			tool_err("%s", gerr->message);
			g_error_free(gerr);
			rc = EXIT_USAGE;
			goto out;
		}
		rc = archive_timestamp_add(argv[1], row, data, len, &err);
		g_free(data);
	}
	if (rc) {
		tool_err("%s", err ? err : g_strerror(-rc));
		rc = rc == -EBADMSG ? EXIT_TAMPERED : EXIT_FAILED;
		goto out;
	}
	printf(_("%s: timestamp stored for checkpoints row %lld\n"), argv[1], (long long)cp);
	rc = EXIT_INTACT;
out:
	g_free(err);
	g_free(tsa);
	g_free(reply_path);
	return rc;
}
