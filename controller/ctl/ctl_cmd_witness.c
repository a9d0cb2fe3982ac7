/* evalroomctl desk staff-admit (the watchers' own room doors) and witness note (the
 * witness's record), docs/witness.md. */
#include <errno.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_cmd_ops.h"
#include "ctl_commands.h"
#include "ctl_sign.h"
#include "text_safe.h"

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* A copy of the exact answer RES made safe to show on a terminal (text_safe.h): new. */
static json_t *displayed(const json_t *res)
{
	json_t *shown = json_deep_copy(res);
	text_display_json(shown);
	return shown;
}

static int cmd_staff_admit(struct ctl *ctl, int argc, char **argv)
{
	char *identity = NULL, *room = NULL, *card = NULL;
	const GOptionEntry entries[] = {
	    {"identity", 0, 0, G_OPTION_ARG_STRING, &identity, NULL, NULL},
	    {"room", 0, 0, G_OPTION_ARG_STRING, &room, NULL, NULL},
	    {"card", 0, 0, G_OPTION_ARG_STRING, &card, NULL, NULL},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	int rc = ctl_ops_parse(ctl, "desk staff-admit", entries, &argc, &argv, 0);
	json_t *res = NULL;
	if (rc)
		goto out;
	if (!identity || !room) {
		rc = ctl_ops_local_fail(ctl, "desk staff-admit",
		                        _("--identity and --room are required"));
		goto out;
	}
	json_t *args = json_pack("{s:s, s:s}", "identity", identity, "room", room);
	if (card)
		json_object_set_new(args, "card", json_string(card));
	rc = ctl_ops_call(ctl, "desk staff-admit", "staff.admit", args, &res);
	if (rc)
		goto out;
	if (ctl_want_json(ctl)) {
		ctl_print_json(res);
	} else {
		char until[40];
		const char *cred = str(res, "credential");
		ctl_time_of_day(ctl, json_integer_value(json_object_get(res, "admission_deadline")),
		                until, sizeof(until));
		printf(_("Admitted %s to room %s\n"), str(res, "identity"), str(res, "room"));
		if (strncmp(cred, "pin:", 4) == 0)
			printf(_("  door PIN:    %s (one use)\n"), cred + 4);
		else
			printf(_("  door card:   %s (one use)\n"), cred);
		json_t *esc = json_object_get(res, "escorted");
		if (esc)
			printf(_("  escorted entry (approval %lld), as the %s: the door opens only "
			         "when "
			         "both credentials come within %lld s\n"),
			       (long long)json_integer_value(json_object_get(esc, "approval")),
			       str(esc, "as"),
			       (long long)json_integer_value(json_object_get(esc, "window_s")));
		json_t *dr = json_object_get(res, "draw_room");
		if (dr)
			printf(
			    _("  draw room: the door opens only when a tenderer's representative "
			      "and a witness both badge in within %lld s\n"),
			    (long long)json_integer_value(json_object_get(dr, "window_s")));
		printf(_("  enter room %s before %s (%lld min)\n"), str(res, "room"), until,
		       (long long)json_integer_value(json_object_get(res, "admission_window_s")) /
		           60);
	}
	json_decref(res);
out:
	g_free(identity);
	g_free(room);
	g_free(card);
	return rc;
}

/* A time given on the command line: ISO 8601 with a zone ("2026-12-07T10:15:00+08:00"),
 * or UTC microseconds since the epoch. -1 when it is neither. */
static int64_t parse_time(const char *text)
{
	char *end = NULL;
	gint64 us = g_ascii_strtoll(text, &end, 10);
	if (end && end != text && *end == '\0' && us >= 0)
		return us;
	GDateTime *t = g_date_time_new_from_iso8601(text, NULL);
	if (!t)
		return -1;
	int64_t v = g_date_time_to_unix(t) * G_USEC_PER_SEC + g_date_time_get_microsecond(t);
	g_date_time_unref(t);
	return v;
}

static int cmd_note(struct ctl *ctl, int argc, char **argv)
{
	char *tender = NULL, *category = NULL, *text = NULL, *room = NULL, *seat = NULL,
	     *stream = NULL, *at = NULL, *span_stream = NULL, *span_from = NULL, *span_to = NULL;
	const GOptionEntry entries[] = {
	    {"tender", 0, 0, G_OPTION_ARG_STRING, &tender, NULL, NULL},
	    {"category", 0, 0, G_OPTION_ARG_STRING, &category, NULL, NULL},
	    {"text", 0, 0, G_OPTION_ARG_STRING, &text, NULL, NULL},
	    {"room", 0, 0, G_OPTION_ARG_STRING, &room, NULL, NULL},
	    {"seat", 0, 0, G_OPTION_ARG_STRING, &seat, NULL, NULL},
	    {"stream", 0, 0, G_OPTION_ARG_STRING, &stream, NULL, NULL},
	    {"at", 0, 0, G_OPTION_ARG_STRING, &at, NULL, NULL},
	    {"evidence-stream", 0, 0, G_OPTION_ARG_STRING, &span_stream, NULL, NULL},
	    {"evidence-from", 0, 0, G_OPTION_ARG_STRING, &span_from, NULL, NULL},
	    {"evidence-to", 0, 0, G_OPTION_ARG_STRING, &span_to, NULL, NULL},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	int rc = ctl_ops_parse(ctl, "witness note", entries, &argc, &argv, 0);
	json_t *res = NULL;
	if (rc)
		goto out;
	if (!tender || !category || !text) {
		rc = ctl_ops_local_fail(ctl, "witness note",
		                        _("--tender, --category and --text are required"));
		goto out;
	}
	json_t *args =
	    json_pack("{s:s, s:s, s:s}", "tender", tender, "category", category, "text", text);
	const struct {
		const char *key, *value;
	} opt[] = {
	    {"room", room}, {"seat", seat}, {"stream", stream}, {"span_stream", span_stream}};
	for (size_t i = 0; i < G_N_ELEMENTS(opt); i++)
		if (opt[i].value)
			json_object_set_new(args, opt[i].key, json_string(opt[i].value));
	const struct {
		const char *key, *option, *value;
	} times[] = {{"at", "--at", at},
	             {"span_from", "--evidence-from", span_from},
	             {"span_to", "--evidence-to", span_to}};
	for (size_t i = 0; i < G_N_ELEMENTS(times); i++) {
		if (!times[i].value)
			continue;
		int64_t t = parse_time(times[i].value);
		if (t < 0) {
			json_decref(args);
			rc = ctl_ops_local_fail(ctl, "witness note",
			                        _("%s: \"%s\" is not a time (ISO 8601 with a zone, "
			                          "e.g. 2026-12-07T10:15:00+08:00)"),
			                        times[i].option, times[i].value);
			goto out;
		}
		json_object_set_new(args, times[i].key, json_integer(t));
	}
	rc = ctl_ops_call(ctl, "witness note", "witness.note", args, &res);
	if (rc)
		goto out;
	if (ctl_want_json(ctl)) {
		ctl_print_json(res);
	} else {
		printf(_("Noted %s (%s) for tender %s\n"), str(res, "note"), str(res, "category"),
		       str(res, "tender"));
		json_t *ev = json_object_get(res, "evidence");
		if (ev)
			printf(_("  evidence kept: stream %s, %lld s\n"), str(ev, "stream"),
			       (long long)(json_integer_value(json_object_get(ev, "to")) -
			                   json_integer_value(json_object_get(ev, "from"))) /
			           G_USEC_PER_SEC);
		if (json_object_get(res, "alert"))
			printf(_("  supervisors notified: alert %lld\n"),
			       (long long)json_integer_value(json_object_get(res, "alert")));
	}
	json_decref(res);
out:
	g_free(tender);
	g_free(category);
	g_free(text);
	g_free(room);
	g_free(seat);
	g_free(stream);
	g_free(at);
	g_free(span_stream);
	g_free(span_from);
	g_free(span_to);
	return rc;
}

static int cmd_log(struct ctl *ctl, int argc, char **argv)
{
	char *tender = NULL, *out_path = NULL;
	const GOptionEntry entries[] = {{"tender", 0, 0, G_OPTION_ARG_STRING, &tender, NULL, NULL},
	                                {"out", 0, 0, G_OPTION_ARG_FILENAME, &out_path, NULL, NULL},
	                                {NULL, 0, 0, 0, NULL, NULL, NULL}};
	int rc = ctl_ops_parse(ctl, "witness log", entries, &argc, &argv, 0);
	json_t *res = NULL, *shown = NULL;
	GError *err = NULL;
	if (rc)
		goto out;
	if (!tender) {
		rc = ctl_ops_local_fail(ctl, "witness log", _("--tender is required"));
		goto out;
	}
	/* the log's exact bytes: what is written out is what the parties hash and sign */
	ctl_set_exact(ctl, true);
	rc = ctl_ops_call(ctl, "witness log", "witness.log", json_pack("{s:s}", "tender", tender),
	                  &res);
	if (rc)
		goto out;
	if (out_path && !g_file_set_contents(out_path, str(res, "markdown"), -1, &err)) {
		rc = ctl_ops_local_fail(ctl, "witness log", "%s", err->message);
		g_error_free(err);
		goto out;
	}
	if (ctl_want_json(ctl)) {
		ctl_print_json(res);
	} else if (out_path) {
		shown = displayed(res);
		printf(_("Witness log of %s written to %s\n  SHA-256 %s\n  %s\n"), tender, out_path,
		       str(shown, "sha256"), str(shown, "report"));
	} else {
		/* line by line, each made safe for the terminal */
		char **lines = g_strsplit(str(res, "markdown"), "\n", -1);
		for (char **l = lines; *l; l++) {
			char *safe = text_display(*l);
			printf(l[1] ? "%s\n" : "%s", safe);
			g_free(safe);
		}
		g_strfreev(lines);
	}
out:
	json_decref(shown);
	json_decref(res);
	g_free(tender);
	g_free(out_path);
	return rc;
}

/* Signs MSG (the log of TENDER with hash SHA) with the certificate and key at PATHS and
 * hands the signature to the controller; its answer in *res. 0 or the exit status. */
static int sign_one(struct ctl *ctl, const char *tender, const char *sha, const char *msg,
                    char *const paths[2], const char **alg, json_t **res)
{
	char *cert = NULL, *why = NULL, *sig = NULL;
	int rc;
	if (!g_file_get_contents(paths[0], &cert, NULL, NULL))
		return ctl_ops_local_fail(ctl, "witness sign", _("%s: cannot read the certificate"),
		                          paths[0]);
	sig = ctl_sign_any(paths[1], msg, strlen(msg), alg, &why);
	if (!sig)
		rc = ctl_ops_local_fail(ctl, "witness sign", "%s", why);
	else
		rc = ctl_ops_call(ctl, "witness sign", "witness.sign",
		                  json_pack("{s:s, s:s, s:s, s:s}", "tender", tender, "sha256", sha,
		                            "signature", sig, "certificate", cert),
		                  res);
	g_free(cert);
	g_free(why);
	g_free(sig);
	return rc;
}

static int cmd_sign(struct ctl *ctl, int argc, char **argv)
{
	char *tender = NULL, *sha = NULL, *msg = NULL;
	char *paths[2][2] = {{NULL, NULL}, {NULL, NULL}};
	const GOptionEntry entries[] = {{"tender", 0, 0, G_OPTION_ARG_STRING, &tender, NULL, NULL},
	                                {"sha256", 0, 0, G_OPTION_ARG_STRING, &sha, NULL, NULL},
	                                {NULL, 0, 0, 0, NULL, NULL, NULL}};
	int rc = ctl_ops_parse(ctl, "witness sign", entries, &argc, &argv, 0);
	json_t *res = NULL, *algs = json_array();
	if (rc)
		goto out;
	if (!tender) {
		rc = ctl_ops_local_fail(ctl, "witness sign", _("--tender is required"));
		goto out;
	}
	/* the log's exact bytes, hashed here (answers shown are made safe below) */
	ctl_set_exact(ctl, true);
	if (!sha) {
		/* the log as the controller holds it; its hash computed here, not taken on trust */
		rc = ctl_ops_call(ctl, "witness sign", "witness.log",
		                  json_pack("{s:s}", "tender", tender), &res);
		if (rc)
			goto out;
		sha = g_compute_checksum_for_string(G_CHECKSUM_SHA256, str(res, "markdown"), -1);
		if (strcmp(sha, str(res, "sha256")) != 0) {
			rc = ctl_ops_local_fail(ctl, "witness sign",
			                        _("the log received does not match its SHA-256: "
			                          "not signed"));
			goto out;
		}
		json_decref(res);
		res = NULL;
	}
	/* the signed bytes, as docs/archive-format.md defines them (witness_log_message() of
	 * the archive library, which the controller checks against) */
	msg = g_strdup_printf("evalroom witness log v1\n%s\n%s\n", tender, sha);
	/* with every signing key this identity holds: Ed25519, SM2, or both (the site's
	 * witness_signing, docs/witness.md) */
	size_t n = ctl_signing_keys(ctl, paths);
	for (size_t i = 0; i < n && rc == 0; i++) {
		const char *alg = NULL;
		json_decref(res);
		res = NULL;
		rc = sign_one(ctl, tender, sha, msg, paths[i], &alg, &res);
		if (rc)
			break;
		json_array_append_new(algs, json_string(alg));
		if (!ctl_want_json(ctl)) {
			json_t *shown = displayed(res);
			printf(_("Signed the witness log of %s (SHA-256 %s) as %s with its %s key\n"
			         "  %s\n"),
			       tender, sha, str(shown, "identity"),
			       strcmp(alg, "sm2-sm3") == 0 ? "SM2 (SM3)" : "Ed25519",
			       str(shown, "report"));
			json_decref(shown);
		}
	}
	if (rc == 0 && ctl_want_json(ctl)) {
		json_object_set(res, "algorithms", algs);
		ctl_print_json(res);
	}
out:
	json_decref(res);
	json_decref(algs);
	g_free(tender);
	g_free(sha);
	for (size_t i = 0; i < 2; i++) {
		g_free(paths[i][0]);
		g_free(paths[i][1]);
	}
	g_free(msg);
	return rc;
}

static int cmd_approve(struct ctl *ctl, int argc, char **argv)
{
	char *identity = NULL, *escort = NULL, *room = NULL, *reason = NULL, *basis = NULL;
	const GOptionEntry entries[] = {
	    {"identity", 0, 0, G_OPTION_ARG_STRING, &identity, NULL, NULL},
	    {"escort", 0, 0, G_OPTION_ARG_STRING, &escort, NULL, NULL},
	    {"room", 0, 0, G_OPTION_ARG_STRING, &room, NULL, NULL},
	    {"reason", 0, 0, G_OPTION_ARG_STRING, &reason, NULL, NULL},
	    {"basis", 0, 0, G_OPTION_ARG_STRING, &basis, NULL, NULL},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	int rc = ctl_ops_parse(ctl, "escort approve", entries, &argc, &argv, 0);
	json_t *res = NULL;
	if (rc)
		goto out;
	if (!identity || !escort || !room || !reason || !basis) {
		rc = ctl_ops_local_fail(ctl, "escort approve",
		                        _("--identity, --escort, --room, --reason and --basis are "
		                          "required"));
		goto out;
	}
	rc = ctl_ops_call(ctl, "escort approve", "escort.approve",
	                  json_pack("{s:s, s:s, s:s, s:s, s:s}", "identity", identity, "escort",
	                            escort, "room", room, "reason", reason, "basis", basis),
	                  &res);
	if (rc)
		goto out;
	if (ctl_want_json(ctl)) {
		ctl_print_json(res);
	} else {
		char until[40];
		ctl_time_of_day(ctl, json_integer_value(json_object_get(res, "valid_until")), until,
		                sizeof(until));
		printf(_("Approval %lld: %s may enter room %s escorted by %s (until %s)\n"),
		       (long long)json_integer_value(json_object_get(res, "approval")),
		       str(res, "identity"), str(res, "room"), str(res, "escort"), until);
		printf(_("  the desk issues both credentials (desk staff-admit); the door opens "
		         "only when both come within %lld s\n"),
		       (long long)json_integer_value(json_object_get(res, "window_s")));
	}
	json_decref(res);
out:
	g_free(identity);
	g_free(escort);
	g_free(room);
	g_free(reason);
	g_free(basis);
	return rc;
}

const struct ctl_command witness_ctl_commands[] = {
    {"escort approve",
     "escort approve --identity ID --escort SUPERVISOR --room R --reason TEXT --basis TEXT",
     N_("Approve that a witness or supervisor (ID) enters an expert or tenderer room,\n"
        "escorted by another supervisor, for REASON, resting on BASIS (the recorded call\n"
        "of the witness room's phone, or a note). The desk then issues both credentials\n"
        "with desk staff-admit; the door opens only when both are presented within the\n"
        "escort window ([controller] escort_window_s), else nothing opens and an\n"
        "escort_missing alert is raised. Supervisors only."),
     cmd_approve, false},
    {"witness log", "witness log --tender T [--out FILE]",
     N_("The tender's witness log, rendered from its archive when the tender was closed\n"
        "(Markdown, Chinese and English labels), with its SHA-256 and who has signed it.\n"
        "Prints the log, or writes it to FILE. Operators, auditors and the three parties."),
     cmd_log, false},
    {"witness sign", "witness sign --tender T [--sha256 HASH]",
     N_("Sign the tender's witness log with this identity's own signing keys, those that\n"
        "lie beside its TLS files: NAME.signing.key (Ed25519) and NAME.sm2-signing.key\n"
        "(SM2 with SM3), as provisioning issued them for the site's witness_signing. The\n"
        "log is fetched, its SHA-256 computed here and signed with each key; the\n"
        "controller checks each signature and appends it to the archive, sealed or not.\n"
        "--sha256 signs that hash instead (refused unless it is the log's). The witness,\n"
        "the supervisor and the tenderer's representative only."),
     cmd_sign, false},
    {"desk staff-admit", "desk staff-admit --identity ID --room R [--card FAC:NUM]",
     N_("Give a witness (witness-<name>), a supervisor (supervisor-<name>) or a tenderer's\n"
        "representative (rep-<name>) a one-time door credential for their own room: a\n"
        "witness room, a supervision room or a draw room. Any other room is refused (an\n"
        "entry into an expert or tenderer room needs a supervisor's approval and an\n"
        "escort, docs/witness.md). Desk and operators."),
     cmd_staff_admit, false},
    {"witness note",
     "witness note --tender T --category C --text TEXT [--room R [--seat S]] [--stream X] "
     "[--at TIME] [--evidence-stream X --evidence-from TIME --evidence-to TIME]",
     N_("Record what the witness saw into the tender's archive (and the audit log). The\n"
        "evidence span's recordings are kept from retention deletion. A breach or an\n"
        "incident raises a witness_breach alert and notifies the supervisors at once.\n"
        "TIME is ISO 8601 with a zone (2026-12-07T10:15:00+08:00) or UTC microseconds;\n"
        "--at defaults to now. Witnesses only."),
     cmd_note, false},
    {NULL, NULL, NULL, NULL, false},
};
