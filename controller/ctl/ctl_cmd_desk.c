/* evalroomctl desk checkin|readmit|list (the security desk) and seat lock|unlock
 * (operators). */
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl_cmd_ops.h"
#include "ctl_commands.h"
#include "ctl_table.h"
#include "ctl_words.h"
#include "resident_id.h"

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* What the desk reads out and hands over: the room and seat (revealed only now), the
 * credential, the login code and the deadline. */
static void print_admission(const struct ctl *ctl, const json_t *r, bool readmitted)
{
	char until[40];
	ctl_time_of_day(ctl, json_integer_value(json_object_get(r, "admission_deadline")), until,
	                sizeof(until));
	const char *cred = str(r, "credential");
	printf(readmitted ? _("Readmitted %s (%s), tender %s: %s\n")
	                  : _("Checked in %s (%s), tender %s: %s\n"),
	       str(r, "person"), str(r, "name"), str(r, "tender"), str(r, "tender_name"));
	printf(_("  room:        %s\n"), str(r, "room"));
	printf(_("  seat:        %s\n"), str(r, "seat"));
	if (strncmp(cred, "pin:", 4) == 0)
		printf(_("  door PIN:    %s (one use)\n"), cred + 4);
	else
		printf(_("  door card:   %s (one use)\n"), cred);
	printf(_("  login code:  %s (one use, at seat %s only)\n"), str(r, "login_code"),
	       str(r, "seat"));
	printf(_("  enter room %s before %s (%lld min)\n"), str(r, "room"), until,
	       (long long)json_integer_value(json_object_get(r, "admission_window_s")) / 60);
}

static int finish(struct ctl *ctl, json_t *res, bool readmitted)
{
	if (ctl_want_json(ctl))
		ctl_print_json(res);
	else
		print_admission(ctl, res, readmitted);
	json_decref(res);
	return 0;
}

static int cmd_checkin(struct ctl *ctl, int argc, char **argv)
{
	char *person = NULL, *id_number = NULL, *screening = NULL, *note = NULL, *card = NULL,
	     *session = NULL;
	const GOptionEntry entries[] = {
	    {"person", 0, 0, G_OPTION_ARG_STRING, &person, NULL, NULL},
	    {"id-number", 0, 0, G_OPTION_ARG_STRING, &id_number, NULL, NULL},
	    {"screening", 0, 0, G_OPTION_ARG_STRING, &screening, NULL, NULL},
	    {"note", 0, 0, G_OPTION_ARG_STRING, &note, NULL, NULL},
	    {"card", 0, 0, G_OPTION_ARG_STRING, &card, NULL, NULL},
	    {"session", 0, 0, G_OPTION_ARG_STRING, &session, NULL, NULL},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	int rc = ctl_ops_parse(ctl, "desk checkin", entries, &argc, &argv, 0);
	json_t *res = NULL;
	if (rc)
		goto out;
	if (!person || !id_number || !screening) {
		rc = ctl_ops_local_fail(ctl, "desk checkin",
		                        _("--person, --id-number and --screening are required"));
		goto out;
	}
	if (strcmp(id_number, "-") == 0) {
		/* Read from stdin (a card reader or the keyboard), so the number appears in
		 * neither the process list nor the shell's history. */
		char line[80];
		g_free(id_number);
		id_number = NULL;
		if (!fgets(line, sizeof(line), stdin)) {
			rc = ctl_ops_local_fail(ctl, "desk checkin",
			                        _("--id-number -: nothing on stdin"));
			goto out;
		}
		line[strcspn(line, "\r\n")] = '\0';
		id_number = g_strdup(line);
		memset(line, 0, sizeof(line));
	}
	/* A mistyped resident ID number is caught here, before anything is sent or recorded. */
	const char *why = resident_id_problem(id_number, resident_id_today());
	if (why) {
		rc = ctl_ops_local_fail(ctl, "desk checkin", _("--id-number: %s"), why);
		goto out;
	}
	json_t *args = json_pack("{s:s, s:s, s:s}", "person", person, "id_number", id_number,
	                         "screening", screening);
	if (note)
		json_object_set_new(args, "note", json_string(note));
	if (card)
		json_object_set_new(args, "card", json_string(card));
	if (session)
		json_object_set_new(args, "session", json_string(session));
	rc = ctl_ops_call(ctl, "desk checkin", "desk.checkin", args, &res);
	if (rc == 0)
		rc = finish(ctl, res, false);
out:
	if (id_number)
		memset(id_number, 0, strlen(id_number));
	g_free(person);
	g_free(id_number);
	g_free(screening);
	g_free(note);
	g_free(card);
	g_free(session);
	return rc;
}

static int cmd_readmit(struct ctl *ctl, int argc, char **argv)
{
	char *person = NULL, *reason = NULL, *card = NULL, *session = NULL;
	const GOptionEntry entries[] = {
	    {"person", 0, 0, G_OPTION_ARG_STRING, &person, NULL, NULL},
	    {"reason", 0, 0, G_OPTION_ARG_STRING, &reason, NULL, NULL},
	    {"card", 0, 0, G_OPTION_ARG_STRING, &card, NULL, NULL},
	    {"session", 0, 0, G_OPTION_ARG_STRING, &session, NULL, NULL},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	int rc = ctl_ops_parse(ctl, "desk readmit", entries, &argc, &argv, 0);
	json_t *res = NULL;
	if (rc)
		goto out;
	if (!person || !reason) {
		rc = ctl_ops_local_fail(ctl, "desk readmit",
		                        _("--person and --reason are required"));
		goto out;
	}
	json_t *args = json_pack("{s:s, s:s}", "person", person, "reason", reason);
	if (card)
		json_object_set_new(args, "card", json_string(card));
	if (session)
		json_object_set_new(args, "session", json_string(session));
	rc = ctl_ops_call(ctl, "desk readmit", "desk.readmit", args, &res);
	if (rc == 0)
		rc = finish(ctl, res, true);
out:
	g_free(person);
	g_free(reason);
	g_free(card);
	g_free(session);
	return rc;
}

static int cmd_list(struct ctl *ctl, int argc, char **argv)
{
	char *session = NULL;
	const GOptionEntry entries[] = {
	    {"session", 0, 0, G_OPTION_ARG_STRING, &session, NULL, NULL},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	int rc = ctl_ops_parse(ctl, "desk list", entries, &argc, &argv, 0);
	json_t *res = NULL;
	if (rc)
		goto out;
	json_t *args = json_object();
	if (session)
		json_object_set_new(args, "session", json_string(session));
	rc = ctl_ops_call(ctl, "desk list", "desk.list", args, &res);
	if (rc)
		goto out;
	if (ctl_want_json(ctl)) {
		ctl_print_json(res);
	} else {
		json_t *n = json_object_get(res, "counts");
		printf(_("session %s: %lld expected, %lld admitted, %lld inside, %lld out\n"),
		       str(res, "session"),
		       (long long)json_integer_value(json_object_get(n, "expected")),
		       (long long)json_integer_value(json_object_get(n, "admitted")),
		       (long long)json_integer_value(json_object_get(n, "inside")),
		       (long long)json_integer_value(json_object_get(n, "out")));
		const char *head[] = {_("PERSON"), _("NAME"), _("TENDER"), _("STATE"),
		                      _("ROOM"),   _("SEAT"), _("SINCE")};
		struct ctl_table *tab = ctl_table_new(G_N_ELEMENTS(head), head);
		size_t i;
		json_t *p;
		json_array_foreach(json_object_get(res, "persons"), i, p)
		{
			json_int_t since = json_integer_value(json_object_get(p, "since"));
			char t[40] = "-";
			if (since)
				ctl_time_of_day(ctl, since, t, sizeof(t));
			const char *row[] = {str(p, "person"),
			                     str(p, "name"),
			                     str(p, "tender"),
			                     ctl_state_word("person state", str(p, "state")),
			                     str(p, "room"),
			                     str(p, "seat"),
			                     t};
			ctl_table_add(tab, row);
		}
		ctl_table_print(tab, stdout);
		ctl_table_free(tab);
	}
	json_decref(res);
out:
	g_free(session);
	return rc;
}

static int cmd_seat(struct ctl *ctl, int argc, char **argv, bool lock)
{
	const char *what = lock ? "seat lock" : "seat unlock";
	char *reason = NULL;
	const GOptionEntry lock_entries[] = {
	    {"reason", 0, 0, G_OPTION_ARG_STRING, &reason, NULL, NULL},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	int rc = ctl_ops_parse(ctl, what, lock_entries, &argc, &argv, 2);
	json_t *res = NULL;
	if (rc)
		goto out;
	json_t *args = json_pack("{s:s, s:s}", "room", argv[1], "seat", argv[2]);
	if (reason)
		json_object_set_new(args, "reason", json_string(reason));
	rc = ctl_ops_call(ctl, what, lock ? "seat.lock" : "seat.unlock", args, &res);
	if (rc)
		goto out;
	if (ctl_want_json(ctl))
		ctl_print_json(res);
	else
		printf(_("room %s seat %s: %s\n"), argv[1], str(res, "seat"),
		       ctl_state_word("seat state", str(res, "state")));
	json_decref(res);
out:
	g_free(reason);
	return rc;
}

static int cmd_seat_lock(struct ctl *ctl, int argc, char **argv)
{
	return cmd_seat(ctl, argc, argv, true);
}

static int cmd_seat_unlock(struct ctl *ctl, int argc, char **argv)
{
	return cmd_seat(ctl, argc, argv, false);
}

const struct ctl_command desk_ctl_commands[] = {
    {"desk checkin",
     "desk checkin --person P --id-number N --screening passed|failed [--note TEXT] "
     "[--card FAC:NUM] [--session S]",
     N_("Check an expert in at the entrance: the identity number must match the committee's\n"
        "record (--id-number - reads it from stdin, keeping it out of the process list);\n"
        "the screening (no phone or other device) must have passed. Prints the\n"
        "room and seat (revealed only now), a one-time door PIN (or, with --card, the\n"
        "expert's Wiegand card FAC:NUM), a one-time login code for that seat, and the\n"
        "deadline to enter the room. A failed screening is recorded, alerted and refused.\n"
        "The session is today's open one unless --session names it. Desk and operators."),
     cmd_checkin, false},
    {"desk readmit", "desk readmit --person P --reason TEXT [--card FAC:NUM] [--session S]",
     N_("Let an expert who has left (logged out) or missed the admission window back in:\n"
        "a new one-time credential and login code; the old ones stop working."),
     cmd_readmit, false},
    {"desk list", "desk list [--session S]",
     N_("Who of today's session is expected, admitted (credential issued), inside or out;\n"
        "room and seat only for those checked in."),
     cmd_list, false},
    {"seat lock", "seat lock ROOM SEAT [--reason TEXT]",
     N_("Lock a seat's terminal remotely: the session (and its recording binding) is kept\n"
        "underneath, the screen shows the operator lock. Operators only."),
     cmd_seat_lock, false},
    {"seat unlock", "seat unlock ROOM SEAT [--reason TEXT]",
     N_("Unlock a seat locked by an operator or blocked after five wrong login codes.\n"
        "Operators only."),
     cmd_seat_unlock, false},
    {NULL, NULL, NULL, NULL, false},
};
