/* evalroomctl draw commit|show|abandon|run|replace|export. */
#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl_cmd_ops.h"
#include "ctl_words.h"
#include "text_width.h"

static const char *member_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static long long member_int(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

static int finish(struct ctl *ctl, json_t *res, void (*print)(const json_t *res))
{
	if (ctl_want_json(ctl))
		ctl_print_json(res);
	else
		print(res);
	json_decref(res);
	return 0;
}

/* session_only: the commands that take just --session. */
static int session_only(struct ctl *ctl, const char *what, int *argc, char ***argv, char **session)
{
	const GOptionEntry entries[] = {
	    {"session", 0, 0, G_OPTION_ARG_STRING, session, "session id", "SESSION"},
	    G_OPTION_ENTRY_NULL};
	int rc = ctl_ops_parse(ctl, what, entries, argc, argv, 0);

	if (!rc && !*session)
		rc = ctl_ops_local_fail(ctl, what, _("--session is required"));
	return rc;
}

static void print_commit(const json_t *res)
{
	const json_t *old = json_object_get(res, "abandoned");

	if (old)
		printf(_("The earlier commitment %s was abandoned: %s.\n"),
		       member_str(old, "commitment"), member_str(old, "reason"));
	printf(_("Draw of session %s committed by %s: %lld people, %lld tenders, %lld rooms.\n"
	         "Commitment: %s\n"
	         "Input hash: %s\n"
	         "It is archived in every tender archive of the session and published on\n"
	         "evalroom/v1/draw/%s/commitment. The witness now checks it and enters entropy "
	         "with\n"
	         "  evalroomctl draw run --session %s --witness-entropy TEXT\n"),
	       member_str(res, "session"), member_str(res, "committed_by"),
	       member_int(res, "persons"), member_int(res, "tenders"), member_int(res, "rooms"),
	       member_str(res, "commitment"), member_str(res, "input_hash"),
	       member_str(res, "session"), member_str(res, "session"));
}

static void print_show(const json_t *res)
{
	printf(_("Draw of session %s (algorithm %lld): %s\n"
	         "Commitment:   %s\n"
	         "Input hash:   %s\n"
	         "Committed by: %s\n"),
	       member_str(res, "session"), member_int(res, "algorithm"),
	       strcmp(member_str(res, "state"), "run") == 0
	           ? _("run")
	           : (json_is_true(json_object_get(res, "runnable"))
	                  ? _("committed, waiting for the witness")
	                  : _("committed, but its secret was lost in a controller restart: "
	                      "draw commit again")),
	       member_str(res, "commitment"), member_str(res, "input_hash"),
	       member_str(res, "committed_by"));
	if (json_object_get(res, "witness"))
		printf(_("Witness:      %s\n"), member_str(res, "witness"));
}

int ctl_cmd_draw_show(struct ctl *ctl, int argc, char **argv)
{
	char *session = NULL;
	json_t *res;
	int rc = session_only(ctl, "draw show", &argc, &argv, &session);

	if (!rc)
		rc = ctl_ops_call(ctl, "draw show", "draw.show",
		                  json_pack("{s:s}", "session", session), &res);
	if (!rc)
		rc = finish(ctl, res, print_show);
	g_free(session);
	return rc;
}

static void print_abandon(const json_t *res)
{
	printf(_("Commitment %s of session %s abandoned (%s). The tender archives keep it;\n"
	         "make a new one with draw commit.\n"),
	       member_str(res, "commitment"), member_str(res, "session"),
	       member_str(res, "reason"));
}

int ctl_cmd_draw_abandon(struct ctl *ctl, int argc, char **argv)
{
	char *session = NULL, *reason = NULL;
	const GOptionEntry entries[] = {
	    {"session", 0, 0, G_OPTION_ARG_STRING, &session, "session id", "SESSION"},
	    {"reason", 0, 0, G_OPTION_ARG_STRING, &reason, "why", "TEXT"},
	    G_OPTION_ENTRY_NULL};
	const char *what = "draw abandon";
	json_t *res;
	int rc = ctl_ops_parse(ctl, what, entries, &argc, &argv, 0);

	if (!rc && (!session || !reason))
		rc = ctl_ops_local_fail(ctl, what, _("--session and --reason are required"));
	if (!rc)
		rc = ctl_ops_call(ctl, what, "draw.abandon",
		                  json_pack("{s:s, s:s}", "session", session, "reason", reason), &res);
	if (!rc)
		rc = finish(ctl, res, print_abandon);
	g_free(session);
	g_free(reason);
	return rc;
}

int ctl_cmd_draw_commit(struct ctl *ctl, int argc, char **argv)
{
	char *session = NULL;
	json_t *res;
	int rc = session_only(ctl, "draw commit", &argc, &argv, &session);

	if (!rc)
		rc = ctl_ops_call(ctl, "draw commit", "draw.commit",
		                  json_pack("{s:s}", "session", session), &res);
	if (!rc)
		rc = finish(ctl, res, print_commit);
	g_free(session);
	return rc;
}

static void print_run(const json_t *res)
{
	GString *line = g_string_new(NULL);
	json_t *r;
	size_t i;

	printf(_("Draw of session %s run by witness %s on commitment %s: %lld people seated.\n"
	         "Seats are revealed at check-in.\n"),
	       member_str(res, "session"), member_str(res, "witness"),
	       member_str(res, "commitment"), member_int(res, "seated"));
	g_string_append(line, "  ");
	text_pad(line, _("room"), 12);
	g_string_append_c(line, ' ');
	text_pad(line, _("kind"), 9);
	printf("%s %s\n", line->str, _("occupied"));
	json_array_foreach(json_object_get(res, "rooms"), i, r)
	{
		g_string_assign(line, "  ");
		text_pad(line, member_str(r, "room"), 12);
		g_string_append_c(line, ' ');
		text_pad(line, ctl_state_word("room kind", member_str(r, "kind")), 9);
		printf("%s ", line->str);
		/* TRANSLATORS: seats occupied of the room's seats. */
		printf(_("%lld of %lld\n"), member_int(r, "occupied"), member_int(r, "seats"));
	}
	g_string_free(line, TRUE);
}

/* ask_confirmation: the witness retypes the commitment they saw published; its
 * first 16 or more hex digits go into *CONFIRM (g_free). */
static int ask_confirmation(struct ctl *ctl, const char *what, char **confirm)
{
	char line[160];

	if (!isatty(STDIN_FILENO))
		return ctl_ops_local_fail(ctl, what,
		                          _("--confirm-commitment HEX is required when standard "
		                            "input is not a terminal"));
	fputs(_("Compare it with the commitment published before you chose the entropy.\n"
	        "Type the published commitment (at least its first 16 hex digits): "),
	      stderr);
	if (!fgets(line, sizeof(line), stdin))
		return ctl_ops_local_fail(ctl, what, _("no confirmation typed"));
	*confirm = g_strstrip(g_ascii_strdown(line, -1));
	return 0;
}

int ctl_cmd_draw_run(struct ctl *ctl, int argc, char **argv)
{
	char *session = NULL, *entropy = NULL, *confirm = NULL;
	const GOptionEntry entries[] = {
	    {"session", 0, 0, G_OPTION_ARG_STRING, &session, "session id", "SESSION"},
	    {"witness-entropy", 0, 0, G_OPTION_ARG_STRING, &entropy, "text the witness chose",
	     "TEXT"},
	    {"confirm-commitment", 0, 0, G_OPTION_ARG_STRING, &confirm,
	     "the commitment as published (at least its first 16 hex digits)", "HEX"},
	    G_OPTION_ENTRY_NULL};
	const char *what = "draw run";
	json_t *res = NULL;
	int rc;

	rc = ctl_ops_parse(ctl, what, entries, &argc, &argv, 0);
	if (!rc && (!session || !entropy))
		rc = ctl_ops_local_fail(ctl, what,
		                        _("--session and --witness-entropy are required"));
	/* first the commitment the controller holds, for the witness to compare */
	if (!rc)
		rc = ctl_ops_call(ctl, what, "draw.show", json_pack("{s:s}", "session", session),
		                  &res);
	if (!rc) {
		if (!ctl_want_json(ctl))
			print_show(res);
		json_decref(res);
		res = NULL;
		if (!confirm)
			rc = ask_confirmation(ctl, what, &confirm);
	}
	if (!rc)
		rc = ctl_ops_call(ctl, what, "draw.run",
		                  json_pack("{s:s, s:s, s:s}", "session", session, "entropy",
		                            entropy, "confirm", confirm),
		                  &res);
	if (!rc)
		rc = finish(ctl, res, print_run);
	g_free(session);
	g_free(entropy);
	g_free(confirm);
	return rc;
}

static void print_replace(const json_t *res)
{
	if (json_object_get(res, "replaces"))
		printf(
		    _("%s seated for tender %s as replacement %lld of %s; nobody else moved. The "
		      "seat is revealed at check-in.\n"),
		    member_str(res, "person"), member_str(res, "tender"),
		    member_int(res, "replacement"), member_str(res, "replaces"));
	else
		printf(_("%s seated for tender %s as replacement %lld; nobody else moved. The seat "
		         "is revealed at check-in.\n"),
		       member_str(res, "person"), member_str(res, "tender"),
		       member_int(res, "replacement"));
}

int ctl_cmd_draw_replace(struct ctl *ctl, int argc, char **argv)
{
	char *tender = NULL, *person = NULL, *replaces = NULL;
	const GOptionEntry entries[] = {
	    {"tender", 0, 0, G_OPTION_ARG_STRING, &tender, "tender id", "TENDER"},
	    {"person", 0, 0, G_OPTION_ARG_STRING, &person, "the person to seat", "PERSON"},
	    {"replaces", 0, 0, G_OPTION_ARG_STRING, &replaces, "the person who withdraws",
	     "PERSON"},
	    G_OPTION_ENTRY_NULL};
	const char *what = "draw replace";
	json_t *args, *res;
	int rc;

	rc = ctl_ops_parse(ctl, what, entries, &argc, &argv, 0);
	if (!rc && (!tender || !person))
		rc = ctl_ops_local_fail(ctl, what, _("--tender and --person are required"));
	if (!rc) {
		args = json_pack("{s:s, s:s}", "tender", tender, "person", person);
		if (replaces)
			json_object_set_new(args, "replaces", json_string(replaces));
		rc = ctl_ops_call(ctl, what, "draw.replace", args, &res);
	}
	if (!rc)
		rc = finish(ctl, res, print_replace);
	g_free(tender);
	g_free(person);
	g_free(replaces);
	return rc;
}

/* write_private: TEXT into a new file PATH readable by its owner only (it holds the
 * whole seat map). */
static int write_private(const char *path, const char *text, GError **err)
{
	size_t len = strlen(text), done = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		goto err_errno;
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto err_close;
		done += (size_t)n;
	}
	if (fsync(fd) < 0)
		goto err_close;
	if (close(fd) < 0)
		goto err_errno;
	return 0;

err_close : {
	int saved = errno;

	close(fd);
	errno = saved;
}
err_errno:
	g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", path,
	            g_strerror(errno));
	return -errno;
}

int ctl_cmd_draw_export(struct ctl *ctl, int argc, char **argv)
{
	char *session = NULL, *out = NULL, *text = NULL;
	const GOptionEntry entries[] = {
	    {"session", 0, 0, G_OPTION_ARG_STRING, &session, "session id", "SESSION"},
	    {"output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "write the record to FILE", "FILE"},
	    G_OPTION_ENTRY_NULL};
	const char *what = "draw export";
	GError *err = NULL;
	json_t *res = NULL;
	int rc;

	rc = ctl_ops_parse(ctl, what, entries, &argc, &argv, 0);
	if (!rc && !session)
		rc = ctl_ops_local_fail(ctl, what, _("--session is required"));
	if (!rc)
		rc = ctl_ops_call(ctl, what, "draw.export", json_pack("{s:s}", "session", session),
		                  &res);
	if (rc)
		goto out;
	if (!out) {
		ctl_print_json(res);
		goto out;
	}
	text = json_dumps(res, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!text) {
		rc = ctl_ops_local_fail(ctl, what, _("the record cannot be encoded"));
		goto out;
	}
	if (write_private(out, text, &err) < 0) {
		rc = ctl_fail(ctl, what, err);
		g_clear_error(&err);
		goto out;
	}
	if (ctl_want_json(ctl)) {
		json_t *o = json_pack("{s:s, s:s}", "session", session, "file", out);

		ctl_print_json(o);
		json_decref(o);
	} else {
		printf(_("Draw record of session %s written to %s.\n"
		         "It holds the whole seat map: keep it sealed until check-in has ended.\n"),
		       session, out);
	}
out:
	free(text);
	json_decref(res);
	g_free(session);
	g_free(out);
	return rc;
}
