/* evalroomctl staff commit|run|show|rotate|sign and draw-room review (docs/staff.md). */
#include <glib/gi18n.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_cmd_ops.h"
#include "ctl_commands.h"
#include "ctl_words.h"

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static void print_excluded(const json_t *res)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(res, "excluded"), i, e)
	{
		printf(_("  not drawable for post %s of %s: %s: %s\n"), str(e, "post"),
		       str(e, "tender"), str(e, "person"), str(e, "reason"));
	}
	json_array_foreach(json_object_get(res, "flagged"), i, e)
	{
		printf(_("  held over a year: %s on post %s since %s (%lld days)\n"),
		       str(e, "person"), str(e, "post"), str(e, "since"),
		       (long long)json_integer_value(json_object_get(e, "days")));
	}
}

/* One request with the options ENTRIES; REQUIRED the options that must be given. Prints
 * the result as JSON or through PRINT. */
static int run_simple(struct ctl *ctl, const char *what, const char *command,
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

static json_t *session_args(char **v, char **pos)
{
	(void)pos;
	return v[0] ? json_pack("{s:s}", "session", v[0]) : NULL;
}

static void print_commit(const json_t *res)
{
	printf(_("Staff draw of session %s committed by %s: %lld posts\n"), str(res, "session"),
	       str(res, "committed_by"),
	       (long long)json_integer_value(json_object_get(res, "posts")));
	printf(_("  commitment: %s\n"), str(res, "commitment"));
	print_excluded(res);
	printf(_("  a witness now runs it: evalroomctl staff run --session %s --witness-entropy "
	         "TEXT --confirm-commitment HEX\n"),
	       str(res, "session"));
}

static void print_assignment(const json_t *list, const char *key)
{
	size_t i;
	json_t *a;
	json_array_foreach(list, i, a)
	{
		printf(_("  %-20s %-14s %s\n"), str(a, "tender"), str(a, "post"), str(a, key));
	}
}

static void print_run(const json_t *res)
{
	printf(_("Staff draw of session %s run by %s (commitment %.16s...)\n"), str(res, "session"),
	       str(res, "witness"), str(res, "commitment"));
	print_assignment(json_object_get(res, "assignment"), "person");
}

static void print_show(const json_t *res)
{
	printf(_("Staff draw of session %s: %s, committed by %s\n"), str(res, "session"),
	       ctl_state_word("draw state", str(res, "state")), str(res, "committed_by"));
	printf(_("  commitment: %s\n"), str(res, "commitment"));
	if (*str(res, "witness"))
		printf(_("  run by: %s\n"), str(res, "witness"));
	print_excluded(res);
	print_assignment(json_object_get(res, "posts"), "person");
}

static int cmd_commit(struct ctl *ctl, int argc, char **argv)
{
	char *v[1] = {NULL};
	const GOptionEntry entries[] = {
	    {"session", 0, 0, G_OPTION_ARG_STRING, &v[0], "session id", "SESSION"},
	    G_OPTION_ENTRY_NULL};
	int rc = run_simple(ctl, "staff commit", "staff.commit", entries, argc, argv, 0,
	                    session_args, v, print_commit);
	g_free(v[0]);
	return rc;
}

static int cmd_show(struct ctl *ctl, int argc, char **argv)
{
	char *v[1] = {NULL};
	const GOptionEntry entries[] = {
	    {"session", 0, 0, G_OPTION_ARG_STRING, &v[0], "session id", "SESSION"},
	    G_OPTION_ENTRY_NULL};
	int rc = run_simple(ctl, "staff show", "staff.show", entries, argc, argv, 0, session_args,
	                    v, print_show);
	g_free(v[0]);
	return rc;
}

static json_t *run_args(char **v, char **pos)
{
	(void)pos;
	return v[0] && v[1] && v[2]
	           ? json_pack("{s:s, s:s, s:s}", "session", v[0], "entropy", v[1], "confirm", v[2])
	           : NULL;
}

static int cmd_run(struct ctl *ctl, int argc, char **argv)
{
	char *v[3] = {NULL};
	const GOptionEntry entries[] = {
	    {"session", 0, 0, G_OPTION_ARG_STRING, &v[0], "session id", "SESSION"},
	    {"witness-entropy", 0, 0, G_OPTION_ARG_STRING, &v[1], "text the witness chose", "TEXT"},
	    {"confirm-commitment", 0, 0, G_OPTION_ARG_STRING, &v[2],
	     "the commitment as published (at least its first 16 hex digits)", "HEX"},
	    G_OPTION_ENTRY_NULL};
	int rc = run_simple(ctl, "staff run", "staff.run", entries, argc, argv, 0, run_args, v,
	                    print_run);
	for (size_t i = 0; i < G_N_ELEMENTS(v); i++)
		g_free(v[i]);
	return rc;
}

static json_t *rotate_args(char **v, char **pos)
{
	(void)pos;
	return v[0] && v[1] && v[2] && v[3] ? json_pack("{s:s, s:s, s:s, s:s}", "tender", v[0],
	                                                "post", v[1], "to", v[2], "reason", v[3])
	                                    : NULL;
}

static void print_rotate(const json_t *res)
{
	printf(_("Handover %lld ordered: post %s of %s from %s to %s\n"),
	       (long long)json_integer_value(json_object_get(res, "handover")), str(res, "post"),
	       str(res, "tender"), str(res, "from"), str(res, "to"));
	printf(_("  both sign it with their own certificate: evalroomctl staff sign --handover "
	         "%lld\n"),
	       (long long)json_integer_value(json_object_get(res, "handover")));
}

static int cmd_rotate(struct ctl *ctl, int argc, char **argv)
{
	char *v[4] = {NULL};
	const GOptionEntry entries[] = {
	    {"tender", 0, 0, G_OPTION_ARG_STRING, &v[0], "tender id", "TENDER"},
	    {"post", 0, 0, G_OPTION_ARG_STRING, &v[1], "the post (a sensitive one)", "POST"},
	    {"to", 0, 0, G_OPTION_ARG_STRING, &v[2], "the incoming staff member's identity", "ID"},
	    {"reason", 0, 0, G_OPTION_ARG_STRING, &v[3], "why", "TEXT"},
	    G_OPTION_ENTRY_NULL};
	int rc = run_simple(ctl, "staff rotate", "staff.rotate", entries, argc, argv, 0,
	                    rotate_args, v, print_rotate);
	for (size_t i = 0; i < G_N_ELEMENTS(v); i++)
		g_free(v[i]);
	return rc;
}

static json_t *sign_args(char **v, char **pos)
{
	(void)pos;
	char *end = NULL;
	long long id = v[0] ? strtoll(v[0], &end, 10) : 0;
	return v[0] && end && !*end && id > 0 ? json_pack("{s:I}", "handover", (json_int_t)id)
	                                      : NULL;
}

static void print_sign(const json_t *res)
{
	if (strcmp(str(res, "state"), "done") == 0)
		printf(
		    _("Handover %lld signed by %s: done, %s now holds the post (signed by %s and "
		      "%s)\n"),
		    (long long)json_integer_value(json_object_get(res, "handover")),
		    str(res, "signed_by"), str(res, "to"), str(res, "from"), str(res, "to"));
	else
		printf(_("Handover %lld signed by %s: waiting for %s\n"),
		       (long long)json_integer_value(json_object_get(res, "handover")),
		       str(res, "signed_by"), str(res, "waiting_for"));
}

static int cmd_sign(struct ctl *ctl, int argc, char **argv)
{
	char *v[1] = {NULL};
	const GOptionEntry entries[] = {
	    {"handover", 0, 0, G_OPTION_ARG_STRING, &v[0], "the handover's number", "N"},
	    G_OPTION_ENTRY_NULL};
	int rc = run_simple(ctl, "staff sign", "staff.sign", entries, argc, argv, 0, sign_args, v,
	                    print_sign);
	g_free(v[0]);
	return rc;
}

static json_t *review_args(char **v, char **pos)
{
	return v[0] ? json_pack("{s:s, s:s}", "tender", pos[0], "note", v[0]) : NULL;
}

static void print_review(const json_t *res)
{
	printf(_("Draw-room footage of %s marked reviewed by %s\n"), str(res, "tender"),
	       str(res, "reviewed_by"));
}

static int cmd_review(struct ctl *ctl, int argc, char **argv)
{
	char *v[1] = {NULL};
	const GOptionEntry entries[] = {
	    {"note", 0, 0, G_OPTION_ARG_STRING, &v[0], "what the review found", "TEXT"},
	    G_OPTION_ENTRY_NULL};
	int rc = run_simple(ctl, "draw-room review", "draw_room.review", entries, argc, argv, 1,
	                    review_args, v, print_review);
	g_free(v[0]);
	return rc;
}

const struct ctl_command staff_ctl_commands[] = {
    {"staff commit", "staff commit --session S",
     N_("Commit to the staff draw of session S: for every open tender and every post of the\n"
        "site file, the staff allowed to hold it under the rotation rules ([staff]\n"
        "max_in_row, tenure_limit_days), each refusal with its reason. A post nobody may\n"
        "hold is refused and nothing is committed. The commitment goes into every tender's\n"
        "archive at once. Operators only."),
     cmd_commit, false},
    {"staff run", "staff run --session S --witness-entropy TEXT --confirm-commitment HEX",
     N_("Run the committed staff draw with the witness's entropy (docs/staff.md): each post\n"
        "of each tender gets one of its eligible staff. The record goes into every tender's\n"
        "archive (evalroom-archive verify-draw re-runs it). Someone drawn to a post held\n"
        "longer than [staff] tenure_warn_days raises staff_post_tenure. Witnesses only."),
     cmd_run, false},
    {"staff show", "staff show --session S",
     N_("The session's staff draw: commitment, state, who may not be drawn and why, and\n"
        "who holds which post of which tender."),
     cmd_show, false},
    {"staff rotate", "staff rotate --tender T --post P --to ID --reason TEXT",
     N_("Order a sensitive post of tender T to change hands now (sensitive posts rotate at\n"
        "any time; others only by the next staff draw). The incoming person must be\n"
        "allowed on the post by the rotation rules. The post changes hands when both\n"
        "people have signed the handover (staff sign). Operators only."),
     cmd_rotate, false},
    {"staff sign", "staff sign --handover N",
     N_("Sign handover N (交接) under this identity's certificate: the outgoing and the\n"
        "incoming person each sign; with both signatures the post changes hands and the\n"
        "handover record goes into the tender's archive and the audit log."),
     cmd_sign, false},
    {"draw-room review", "draw-room review TENDER --note TEXT",
     N_("Mark the draw room's footage of closed tender TENDER as reviewed by the operations\n"
        "office (who, when, NOTE). Until then, [draw_room] review_due_s after the close\n"
        "raises draw_room_unreviewed. Operators only."),
     cmd_review, false},
    {NULL, NULL, NULL, NULL, false},
};
