/* evalroomctl: the operator's, security desk's and auditor's command-line tool. */
#include <glib/gi18n.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_client.h"
#include "ctl_commands.h"
#include "i18n.h"
#include "log.h"
#include "text_width.h"

static void usage(FILE *out)
{
	fprintf(out, "%s",
	        _("usage: evalroomctl [--config FILE] [--json] [--timeout S] COMMAND [ARGS]\n\n"
	          "Global options:\n"
	          "  -c, --config FILE  client configuration ([mqtt] uri, ca, cert, key); default\n"
	          "                     $EVALROOM_CTL_CONFIG, ~/.config/evalroom/ctl.conf or\n"
	          "                     /etc/evalroom/ctl.conf. The certificate's CN is your\n"
	          "                     identity (operator-*, desk-*, auditor-*).\n"
	          "  --json             print results as JSON (for scripts)\n"
	          "  --timeout S        seconds to wait for the controller (default 10)\n"
	          "  -h, --help         this text; COMMAND --help for a command's own\n\n"
	          "Commands:\n"));
	for (const struct ctl_command *const *t = ctl_command_tables; *t; t++)
		for (const struct ctl_command *c = *t; c->name; c++)
			fprintf(out, "  %s\n", c->usage);
	fprintf(out, "\n%s",
	        _("Exit status: 0 done, 1 refused by the controller, 2 usage or local input "
	          "error,\n3 controller unreachable.\n"));
}

/* Find the longest command name matching the leading words of ARGV. */
static const struct ctl_command *command_find(int argc, char **argv, int *words)
{
	const struct ctl_command *best = NULL;
	int best_words = 0;
	for (const struct ctl_command *const *t = ctl_command_tables; *t; t++) {
		for (const struct ctl_command *c = *t; c->name; c++) {
			char **parts = g_strsplit(c->name, " ", 0);
			int n = (int)g_strv_length(parts), i;
			for (i = 0; i < n && i < argc; i++)
				if (strcmp(parts[i], argv[i]) != 0)
					break;
			if (i == n && n > best_words) {
				best = c;
				best_words = n;
			}
			g_strfreev(parts);
		}
	}
	*words = best_words;
	return best;
}

/* The first sentence of HELP (English or Chinese), newly allocated. */
static char *help_summary(const char *help)
{
	const char *end = help + strlen(help);
	for (const char *p = help; *p; p++) {
		if (p[0] == '.' && (p[1] == ' ' || p[1] == '\n' || p[1] == '\0')) {
			end = p + 1;
			break;
		}
		if (g_str_has_prefix(p, "\xe3\x80\x82")) { /* U+3002, the full stop of CJK text */
			end = p + 3;
			break;
		}
	}
	return g_strndup(help, (gsize)(end - help));
}

/* group_help: if GROUP is the first word of multi-word commands ("draw" for draw commit,
 * draw run, ...), print their synopses with a line each on OUT and return how many;
 * 0 when GROUP is no group. */
static int group_help(FILE *out, const char *group)
{
	size_t glen = strlen(group);
	int n = 0;
	for (const struct ctl_command *const *t = ctl_command_tables; *t; t++) {
		for (const struct ctl_command *c = *t; c->name; c++) {
			if (strncmp(c->name, group, glen) != 0 || c->name[glen] != ' ')
				continue;
			if (n++ == 0)
				fprintf(out,
				        _("usage: evalroomctl %s COMMAND [ARGS]\n\nCommands:\n"),
				        group);
			char *summary = help_summary(_(c->help));
			char *wrapped = text_wrap(summary, "      ", 79);
			fprintf(out, "  %s\n%s", c->usage, wrapped);
			g_free(wrapped);
			g_free(summary);
		}
	}
	if (n)
		fprintf(out, _("\n\"evalroomctl %s COMMAND --help\" explains one command.\n"),
		        group);
	return n;
}

int main(int argc, char **argv)
{
	struct ctl_options opt = {0};
	int i = 1;
	i18n_init();
	log_init("evalroomctl", 0);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			opt.json = true;
		} else if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) &&
		           i + 1 < argc) {
			opt.config = argv[++i];
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			opt.timeout_s = atoi(argv[++i]);
			if (opt.timeout_s <= 0 || opt.timeout_s > 3600) {
				fprintf(stderr, _("evalroomctl: --timeout: expected 1..3600 s\n"));
				return 2;
			}
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, _("evalroomctl: unknown option %s (try --help)\n"),
			        argv[i]);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	int words = 0;
	const struct ctl_command *cmd = command_find(argc - i, argv + i, &words);
	if (!cmd) {
		/* A group's name alone or with --help lists the group's commands. */
		bool asked = i + 1 < argc &&
		             (strcmp(argv[i + 1], "--help") == 0 || strcmp(argv[i + 1], "-h") == 0);
		if (asked && group_help(stdout, argv[i]))
			return 0;
		if (i + 1 < argc && !asked)
			fprintf(stderr, _("evalroomctl: unknown command \"%s %s\" (try --help)\n"),
			        argv[i], argv[i + 1]);
		if (group_help(stderr, argv[i]))
			return 2;
		if (i + 1 >= argc || asked)
			fprintf(stderr, _("evalroomctl: unknown command \"%s\" (try --help)\n"),
			        argv[i]);
		return 2;
	}
	/* Options may also follow the command: pull out the global ones. */
	GPtrArray *rest = g_ptr_array_new();
	g_ptr_array_add(rest, (char *)cmd->name);
	for (int k = i + words; k < argc; k++) {
		if (strcmp(argv[k], "--json") == 0)
			opt.json = true;
		else if (strcmp(argv[k], "--help") == 0 || strcmp(argv[k], "-h") == 0) {
			printf(_("usage: evalroomctl %s\n\n%s\n"), cmd->usage, _(cmd->help));
			g_ptr_array_free(rest, TRUE);
			return 0;
		} else
			g_ptr_array_add(rest, argv[k]);
	}
	g_ptr_array_add(rest, NULL);
	int rargc = (int)rest->len - 1;
	char **rargv = (char **)rest->pdata;

	struct ctl *ctl = NULL;
	int rc;
	if (!cmd->local) {
		GError *err = NULL;
		ctl = ctl_new(&opt, &err);
		if (!ctl) {
			rc = ctl_fail(NULL, "configuration", err);
			g_error_free(err);
			g_ptr_array_free(rest, TRUE);
			return rc;
		}
	}
	rc = cmd->run(ctl, rargc, rargv);
	ctl_free(ctl);
	g_ptr_array_free(rest, TRUE);
	/* Leave without the exit handlers: Paho's library threads can still be winding down
	 * after the client is destroyed, and racing them through libc's exit cleanup has been
	 * seen to corrupt the heap (once in about 50 runs under ASan). Everything we own is
	 * freed and our output flushed. */
	fflush(stdout);
	fflush(stderr);
	_exit(rc);
}
