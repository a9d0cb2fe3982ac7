/* evalroomctl staff commit|run|show|rotate|sign and draw-room review (docs/staff.md). */
#include <glib/gi18n.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert_sig.h"
#include "ctl.h"
#include "ctl_cmd_ops.h"
#include "ctl_commands.h"
#include "ctl_sign.h"
#include "ctl_words.h"
#include "handover_sig.h"

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
	int rc = ctl_ops_run_simple(ctl, "staff commit", "staff.commit", entries, argc, argv, 0,
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
	int rc = ctl_ops_run_simple(ctl, "staff show", "staff.show", entries, argc, argv, 0,
	                            session_args, v, print_show);
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
	int rc = ctl_ops_run_simple(ctl, "staff run", "staff.run", entries, argc, argv, 0, run_args,
	                            v, print_run);
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
	printf(_("  both sign it with their own signing keys: evalroomctl staff sign --handover "
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
	int rc = ctl_ops_run_simple(ctl, "staff rotate", "staff.rotate", entries, argc, argv, 0,
	                            rotate_args, v, print_rotate);
	for (size_t i = 0; i < G_N_ELEMENTS(v); i++)
		g_free(v[i]);
	return rc;
}

static void print_sign(const json_t *res)
{
	GString *algs = g_string_new(NULL);
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(res, "algorithms"), i, a)
	{
		g_string_append_printf(algs, "%s%s", algs->len ? ", " : "",
		                       strcmp(json_string_value(a), "sm2-sm3") == 0 ? "SM2 (SM3)"
		                                                                    : "Ed25519");
	}
	if (strcmp(str(res, "state"), "done") == 0)
		printf(_("Handover %lld signed by %s (%s, %s): done, %s now holds the post (signed "
		         "by %s and %s)\n"),
		       (long long)json_integer_value(json_object_get(res, "handover")),
		       str(res, "signed_by"), ctl_state_word("handover role", str(res, "role")),
		       algs->str, str(res, "to"), str(res, "from"), str(res, "to"));
	else
		printf(_("Handover %lld signed by %s (%s, %s): waiting for %s\n"),
		       (long long)json_integer_value(json_object_get(res, "handover")),
		       str(res, "signed_by"), ctl_state_word("handover role", str(res, "role")),
		       algs->str, str(res, "waiting_for"));
	g_string_free(algs, TRUE);
}

/* This identity's name: the CN of its TLS certificate (new), or NULL. */
static char *own_identity(const struct ctl *ctl)
{
	char *pem = NULL, *why = NULL, cn[65] = "";
	if (!g_file_get_contents(ctl_cert_path(ctl), &pem, NULL, NULL))
		return NULL;
	X509 *x = cert_parse(pem, cn, &why);
	bool named = x && *cn;
	g_free(pem);
	g_free(why);
	X509_free(x);
	return named ? g_strdup(cn) : NULL;
}

/* The handover REC (staff.handover) signed with every signing key of this identity as
 * ROLE at SIGNED_AT: [{certificate, signature}] (new), or NULL with the exit status in *rc. */
static json_t *sign_handover(struct ctl *ctl, const json_t *rec, const char *role,
                             int64_t signed_at, int *rc)
{
	struct handover_fields f;
	char *paths[2][2] = {{NULL, NULL}, {NULL, NULL}};
	json_t *sigs = json_array();
	if (handover_fields_of(rec, &f) != 0) {
		*rc = ctl_ops_local_fail(ctl, "staff sign",
		                         _("the controller's handover record is "
		                           "incomplete: not signed"));
		json_decref(sigs);
		return NULL;
	}
	char *msg = handover_message(&f, role, signed_at);
	size_t n = ctl_signing_keys(ctl, paths);
	*rc = 0;
	for (size_t i = 0; i < n && *rc == 0; i++) {
		char *cert = NULL, *why = NULL, *sig = NULL;
		const char *alg = NULL;
		if (!g_file_get_contents(paths[i][0], &cert, NULL, NULL))
			*rc = ctl_ops_local_fail(ctl, "staff sign",
			                         _("%s: cannot read the certificate"), paths[i][0]);
		else if (!(sig = ctl_sign_any(paths[i][1], msg, strlen(msg), &alg, &why)))
			*rc = ctl_ops_local_fail(ctl, "staff sign", "%s", why);
		else
			json_array_append_new(
			    sigs, json_pack("{s:s, s:s}", "certificate", cert, "signature", sig));
		g_free(cert);
		g_free(why);
		g_free(sig);
	}
	for (size_t i = 0; i < 2; i++) {
		g_free(paths[i][0]);
		g_free(paths[i][1]);
	}
	g_free(msg);
	if (*rc) {
		json_decref(sigs);
		return NULL;
	}
	return sigs;
}

static int cmd_sign(struct ctl *ctl, int argc, char **argv)
{
	char *number = NULL, *me = NULL, *end = NULL;
	const GOptionEntry entries[] = {
	    {"handover", 0, 0, G_OPTION_ARG_STRING, &number, "the handover's number", "N"},
	    G_OPTION_ENTRY_NULL};
	json_t *rec = NULL, *res = NULL, *sigs = NULL;
	int rc = ctl_ops_parse(ctl, "staff sign", entries, &argc, &argv, 0);
	if (rc)
		goto out;
	long long id = number ? strtoll(number, &end, 10) : 0;
	if (!number || !end || *end || id <= 0) {
		rc = ctl_ops_local_fail(ctl, "staff sign",
		                        _("--handover N is required (try --help)"));
		goto out;
	}
	/* the record as the controller holds it; the signed text is built here from its
	 * fields (handover_sig.h), so what is signed is what this person can read */
	rc = ctl_ops_call(ctl, "staff sign", "staff.handover",
	                  json_pack("{s:I}", "handover", (json_int_t)id), &rec);
	if (rc)
		goto out;
	me = own_identity(ctl);
	const char *role =
	    g_strcmp0(me, str(rec, "to")) == 0 ? HANDOVER_INCOMING : HANDOVER_OUTGOING;
	if (!ctl_want_json(ctl) &&
	    (g_strcmp0(me, str(rec, "to")) == 0 || g_strcmp0(me, str(rec, "from")) == 0))
		printf(_("Signing handover %lld as the %s person: post %s of %s from %s to %s, "
		         "reason: %s\n"),
		       id, ctl_state_word("handover role", role), str(rec, "post"),
		       str(rec, "tender"), str(rec, "from"), str(rec, "to"), str(rec, "reason"));
	int64_t signed_at = g_get_real_time();
	sigs = sign_handover(ctl, rec, role, signed_at, &rc);
	if (!sigs)
		goto out;
	rc = ctl_ops_call(ctl, "staff sign", "staff.sign",
	                  json_pack("{s:I, s:I, s:O}", "handover", (json_int_t)id, "signed_at",
	                            (json_int_t)signed_at, "signatures", sigs),
	                  &res);
	if (rc)
		goto out;
	if (ctl_want_json(ctl))
		ctl_print_json(res);
	else
		print_sign(res);
out:
	json_decref(rec);
	json_decref(res);
	json_decref(sigs);
	g_free(me);
	g_free(number);
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
	int rc = ctl_ops_run_simple(ctl, "draw-room review", "draw_room.review", entries, argc,
	                            argv, 1, review_args, v, print_review);
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
     N_("Sign handover N (交接) with this identity's own signing keys, those beside its\n"
        "TLS files (NAME.signing.key: Ed25519, NAME.sm2-signing.key: SM2 with SM3, as\n"
        "provisioning issued them for the site's witness_signing). The handover record is\n"
        "fetched and the exact text signed is built here from its fields (docs/staff.md\n"
        "section 8); the controller checks each signature against the person's site-CA\n"
        "certificate and refuses a bad one. The outgoing and the incoming person each\n"
        "sign; with both, the post changes hands and the record with both signatures and\n"
        "certificates goes into the tender's archive (evalroom-archive verify checks them)."),
     cmd_sign, false},
    {"draw-room review", "draw-room review TENDER --note TEXT",
     N_("Mark the draw room's footage of closed tender TENDER as reviewed by the operations\n"
        "office (who, when, NOTE). Until then, [draw_room] review_due_s after the close\n"
        "raises draw_room_unreviewed. Operators only."),
     cmd_review, false},
    {NULL, NULL, NULL, NULL, false},
};
