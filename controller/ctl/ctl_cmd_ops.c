/* The table of the operations' evalroomctl subcommands and their shared helpers. */
#include "ctl_cmd_ops.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <stdarg.h>
#include <stdio.h>

const struct ctl_command ops_ctl_commands[] = {
    {"site import", "site import FILE",
     N_("Import the site description FILE (JSON: venues, rooms with their kind, door,\n"
        "cameras and seats; see schemas/examples/site.json), replacing the one the\n"
        "controller holds. Refused while an open session has a seat draw."),
     ctl_cmd_site_import, false},
    {"session create", "session create --date YYYY-MM-DD [--id SESSION]",
     N_("Create the evaluation session of a day. Its id is the date unless --id names\n"
        "another (for a second session on the same day)."),
     ctl_cmd_session_create, false},
    {"tender add",
     "tender add --session SESSION --id TENDER --name NAME [--tenderer NAME] [--agency NAME]",
     N_("Register a tender in a session. TENDER is an identifier (letters, digits, - and _)\n"
        "that also names the tender's archive file. --tenderer and --agency name the\n"
        "tenderer and the procuring agency: the controller then warns when an expert sits on\n"
        "their committees more often than chance across sessions (docs/warnings.md)."),
     ctl_cmd_tender_add, false},
    {"committee import", "committee import --tender TENDER FILE.csv",
     N_("Import a tender's committee from CSV: a header line with the columns\n"
        "person_id,name,id_number,role and optionally card, then one line per person;\n"
        "role is expert or tenderer. A bad line is reported with its number and nothing of\n"
        "the file is imported. See docs/operator.md."),
     ctl_cmd_committee_import, false},
    {"draw commit", "draw commit --session SESSION",
     N_("Fix the seat draw's inputs (rooms, seats, tenders, committees), check that everyone\n"
        "can be seated under the rules, and print the commitment to publish before the\n"
        "witness enters entropy."),
     ctl_cmd_draw_commit, false},
    {"draw show", "draw show --session SESSION",
     N_("Show the session's draw commitment: commitment, input hash, who committed it and\n"
        "when, and whether it has run (and by which witness). Never a seat. Operators,\n"
        "auditors and witnesses."),
     ctl_cmd_draw_show, false},
    {"draw abandon", "draw abandon --session SESSION --reason TEXT",
     N_("Abandon a commitment that has not run (e.g. wrong inputs), so draw commit can make\n"
        "a new one. The tender archives keep the abandoned commitment and the reason."),
     ctl_cmd_draw_abandon, false},
    {"draw run", "draw run --session SESSION --witness-entropy TEXT [--confirm-commitment HEX]",
     N_("The witness's step (a witness-<name> identity only): shows the session's commitment,\n"
        "takes the witness's confirmation that it is the one published (HEX: at least its\n"
        "first 16 hex digits; asked on the terminal when not given), then runs the draw with\n"
        "the entropy and seats everyone. Prints how many people each room holds, never who\n"
        "sits where: seats are revealed at check-in."),
     ctl_cmd_draw_run, false},
    {"draw replace", "draw replace --tender TENDER --person PERSON [--replaces PERSON]",
     N_("Seat a replacement (补抽): PERSON, already imported into TENDER's committee after\n"
        "the draw, takes a free seat under the same rules; nobody else moves. With\n"
        "--replaces the named member of the same tender and role gives up their seat first."),
     ctl_cmd_draw_replace, false},
    {"draw export", "draw export --session SESSION [-o FILE]",
     N_("Write the draw's full record (inputs, commitment, secret, entropy, seed, seat map,\n"
        "replacements) to FILE (mode 0600) or stdout, for auditors and archives;\n"
        "`evalroom-archive verify-draw FILE` re-runs it. It holds the whole seat map."),
     ctl_cmd_draw_export, false},
    {"audit", "audit [--since TIME] [--limit N]",
     N_("List the operator audit log (who did what, when, and the outcome), oldest first.\n"
        "TIME is an ISO 8601 time or a date, read in the site's time zone unless it names\n"
        "its own (Z, +08:00)."),
     ctl_cmd_audit, false},
    {NULL, NULL, NULL, NULL, false},
};

int ctl_ops_local_fail(struct ctl *ctl, const char *what, const char *fmt, ...)
{
	GError *err;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	err = g_error_new_valist(G_OPTION_ERROR, G_OPTION_ERROR_FAILED, fmt, ap);
	va_end(ap);
	rc = ctl_fail(ctl, what, err);
	g_error_free(err);
	return rc;
}

int ctl_ops_parse(struct ctl *ctl, const char *what, const GOptionEntry *entries, int *argc,
                  char ***argv, int npos)
{
	GOptionContext *oc = g_option_context_new(NULL);
	GError *err = NULL;
	int rc = 0;

	/* evalroomctl itself answers --help with the command's usage and help text. */
	g_option_context_set_help_enabled(oc, FALSE);
	g_option_context_add_main_entries(oc, entries, NULL);
	if (!g_option_context_parse(oc, argc, argv, &err)) {
		rc = ctl_fail(ctl, what, err);
		g_error_free(err);
	} else if (*argc - 1 != npos) {
		rc = *argc - 1 > npos
		         ? ctl_ops_local_fail(ctl, what, _("unexpected argument %s"),
		                              (*argv)[npos + 1])
		         : ctl_ops_local_fail(ctl, what, _("missing argument (try --help)"));
	}
	g_option_context_free(oc);
	return rc;
}

int ctl_ops_call(struct ctl *ctl, const char *what, const char *command, json_t *args, json_t **res)
{
	GError *err = NULL;
	int rc;

	if (ctl_request(ctl, command, args, res, &err) == 0)
		return 0;
	rc = ctl_fail(ctl, what, err);
	g_error_free(err);
	return rc;
}

/* One request with the options ENTRIES; REQUIRED the options that must be given. Prints
 * the result as JSON or through PRINT. */
int ctl_ops_run_simple(struct ctl *ctl, const char *what, const char *command,
                       const GOptionEntry *entries, int argc, char **argv, int npos,
                       json_t *(*args_of)(char **values, char **pos), char **values,
                       void (*print)(const json_t *res))
{
	json_t *res = NULL;
	int rc = ctl_ops_parse(ctl, what, entries, &argc, &argv, npos);
	if (rc)
		return rc;
	json_t *args = args_of(values, argv + 1);
	if (!args)
		return ctl_ops_local_fail(ctl, what, _("missing option (try --help)"));
	rc = ctl_ops_call(ctl, what, command, args, &res);
	if (rc)
		return rc;
	if (ctl_want_json(ctl))
		ctl_print_json(res);
	else
		print(res);
	json_decref(res);
	return 0;
}
