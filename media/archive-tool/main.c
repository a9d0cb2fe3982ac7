/* evalroom-archive: verify, read and export a tender archive (.evarc) with nothing but the
 * file (and, to prove origin, the controller's public key). */
#include <glib.h>
#include <glib/gi18n.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "i18n.h"
#include "local_time.h"
#include "tool.h"

static const char usage_text[] =
    N_("usage: evalroom-archive COMMAND [OPTIONS] ARGS   (COMMAND --help for details)\n"
       "\n"
       "  info FILE                       tender, counts, streams, checkpoints\n"
       "  verify FILE [--pubkey PUB]      recompute every hash, the tree and every signature\n"
       "  timeline FILE [--json]          events, recorded spans and gaps in time order\n"
       "  export FILE --stream S [--from T] [--to T] -o CLIP.mp4\n"
       "                                  remux a stream's segments to MP4 (no re-encoding)\n"
       "  proof FILE --segment ID -o DIR  inclusion proof of one segment in the signed tree\n"
       "  verify-proof DIR/proof.json --pubkey PUB\n"
       "                                  check such a proof with the public key alone\n"
       "  checkpoint FILE --export DIR    write a checkpoint's body and signature for openssl\n"
       "  verify-draw FILE                re-run the seat draw (archive or draw.json)\n"
       "  timestamp FILE --tsa URL        store an RFC 3161 timestamp of the last checkpoint\n"
       "  package FILE --from T --to T [--streams S,...] -o DIR\n"
       "                                  evidence package of a span: clips, segments and\n"
       "                                  their proofs, checkpoints, timeline, offline player\n"
       "  verify-package DIR --pubkey PUB check such a package without the archive\n"
       "\n"
       "Times (T) are ISO 8601 (2026-11-25T09:00:00Z) or UTC microseconds.\n"
       "Exit codes: 0 success/intact, 1 verification failed (the first problem is named),\n"
       "            2 usage error, 3 not a readable archive (truncated, foreign, future\n"
       "            version), 4 operation failed (I/O, export).\n");

#if defined(__SANITIZE_ADDRESS__)
/* GLib deliberately drops its old quark table when it grows (lock-free lookups), and
 * GStreamer registers enough quarks to make it grow: not a leak of ours. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libglib-2.0.so\n";
}
#endif

void tool_err(const char *fmt, ...)
{
	va_list ap;

	fputs("evalroom-archive: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *tool_num(char *buf, size_t len, int64_t v)
{
	g_snprintf(buf, len, "%" G_GINT64_FORMAT, v);
	return buf;
}

const char *tool_time(char *buf, size_t len, int64_t utc_us)
{
	/* $EVALROOM_TIME_ZONE, else the default; an unknown name there falls back to UTC
	 * (the offset printed says which). */
	static GTimeZone *tz;
	if (!tz) {
		tz = local_time_zone_new(NULL, NULL);
		if (!tz)
			tz = g_time_zone_new_utc();
	}
	return local_time_format(tz, utc_us, 0, buf, len);
}

int tool_parse(int *argc, char ***argv, const char *params, const char *summary,
               const GOptionEntry *entries, int nargs)
{
	GOptionContext *ctx = g_option_context_new(params);
	GError *err = NULL;
	int ok;

	g_option_context_set_summary(ctx, _(summary));
	g_option_context_set_description(
	    ctx, _("Exit codes: 0 success, 1 verification failed, 2 usage, 3 not a readable "
	           "archive, 4 operation failed."));
	g_option_context_set_translation_domain(ctx, I18N_DOMAIN);
	if (entries)
		g_option_context_add_main_entries(ctx, entries, NULL);
	ok = g_option_context_parse(ctx, argc, argv, &err);
	if (!ok)
		tool_err("%s", err->message);
	else if (*argc != nargs + 1) {
		char *help = g_option_context_get_help(ctx, TRUE, NULL);

		fputs(help, stderr);
		g_free(help);
		ok = 0;
	}
	g_clear_error(&err);
	g_option_context_free(ctx);
	return ok;
}

struct archive_reader *tool_open(const char *path)
{
	struct archive_reader *r = NULL;
	char *err = NULL;

	if (archive_reader_open(path, &r, &err) != 0) {
		tool_err("%s", err ? err : path);
		g_free(err);
		return NULL;
	}
	return r;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
	    {"info", cmd_info},
	    {"verify", cmd_verify},
	    {"timeline", cmd_timeline},
	    {"export", cmd_export},
	    {"proof", cmd_proof},
	    {"verify-proof", cmd_verify_proof},
	    {"checkpoint", cmd_checkpoint},
	    {"verify-draw", cmd_verify_draw},
	    {"timestamp", cmd_timestamp},
	    {"package", cmd_package},
	    {"verify-package", cmd_verify_package},
	};
	size_t i;

	i18n_init();
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		fputs(_(usage_text), argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_INTACT;
	}
	for (i = 0; i < G_N_ELEMENTS(cmds); i++)
		if (!strcmp(argv[1], cmds[i].name)) {
			char *prg = g_strdup_printf("evalroom-archive %s", cmds[i].name);
			int rc;

			g_set_prgname(prg);
			rc = cmds[i].fn(argc - 1, argv + 1);
			g_free(prg);
			return rc;
		}
	tool_err(_("unknown command '%s'"), argv[1]);
	fputs(_(usage_text), stderr);
	return EXIT_USAGE;
}
