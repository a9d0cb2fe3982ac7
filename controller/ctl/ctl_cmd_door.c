/* evalroomctl door ROOM unlock|lock|free-access|status, and lockdown ROOM|--all [--release];
 * both take --reason TEXT. */
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl_commands.h"
#include "ctl_words.h"

static void print_rooms(const json_t *res)
{
	const char *room;
	json_t *v;
	json_object_foreach((json_t *)json_object_get(res, "rooms"), room, v)
	{
		if (json_is_true(json_object_get(v, "ok"))) {
			json_t *st = json_object_get(v, "status");
			printf(_("%-10s door %s%s%s\n"), room,
			       ctl_state_word("door state",
			                      json_string_value(json_object_get(st, "state"))),
			       json_is_true(json_object_get(st, "door_open")) ? _(", open") : "",
			       json_is_true(json_object_get(st, "controller_lost"))
			           ? _(", deciding locally")
			           : "");
		} else {
			printf(_("%-10s FAILED: %s\n"), room,
			       json_string_value(json_object_get(v, "error")));
		}
	}
}

static int run(struct ctl *ctl, const char *what, const char *command, json_t *args)
{
	json_t *res;
	GError *err = NULL;
	if (ctl_request(ctl, command, args, &res, &err) != 0) {
		int rc = ctl_fail(ctl, what, err);
		g_error_free(err);
		return rc;
	}
	if (ctl_want_json(ctl))
		ctl_print_json(res);
	else
		print_rooms(res);
	int failed = (int)json_integer_value(json_object_get(res, "failed"));
	json_decref(res);
	return failed ? 1 : 0;
}

/* Take "--reason TEXT" out of ARGV (in place); *REASON borrows it. -1 when the option
 * has no value. */
static int take_reason(int *argc, char **argv, const char **reason)
{
	int out = 0;
	for (int i = 0; i < *argc; i++) {
		if (strcmp(argv[i], "--reason") == 0) {
			if (i + 1 >= *argc)
				return -1;
			*reason = argv[++i];
			continue;
		}
		argv[out++] = argv[i];
	}
	*argc = out;
	return 0;
}

static int cmd_door(struct ctl *ctl, int argc, char **argv)
{
	static const char *const actions[][2] = {{"unlock", "unlock"},
	                                         {"lock", "lock"},
	                                         {"free-access", "free_access"},
	                                         {"status", "status"}};
	const char *reason = NULL;
	if (take_reason(&argc, argv, &reason) != 0 || argc != 3) {
		fprintf(stderr, _("usage: evalroomctl door ROOM unlock|lock|free-access|status "
		                  "[--reason TEXT]\n"));
		return 2;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(actions); i++)
		if (strcmp(argv[2], actions[i][0]) == 0) {
			json_t *args =
			    json_pack("{s:s, s:s}", "room", argv[1], "action", actions[i][1]);
			if (reason)
				json_object_set_new(args, "reason", json_string(reason));
			return run(ctl, "door", "door", args);
		}
	fprintf(stderr,
	        _("evalroomctl door: unknown action \"%s\" (unlock, lock, free-access, status)\n"),
	        argv[2]);
	return 2;
}

static int cmd_lockdown(struct ctl *ctl, int argc, char **argv)
{
	const char *room = NULL, *reason = NULL;
	bool all = false, release = false;
	if (take_reason(&argc, argv, &reason) != 0) {
		fprintf(stderr, _("usage: evalroomctl lockdown ROOM|--all [--release] "
		                  "[--reason TEXT]\n"));
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0)
			all = true;
		else if (strcmp(argv[i], "--release") == 0)
			release = true;
		else if (argv[i][0] != '-' && !room)
			room = argv[i];
		else {
			fprintf(stderr, _("evalroomctl lockdown: unexpected argument %s\n"),
			        argv[i]);
			return 2;
		}
	}
	if (!!room == all) {
		fprintf(stderr, _("usage: evalroomctl lockdown ROOM|--all [--release] "
		                  "[--reason TEXT]\n"));
		return 2;
	}
	json_t *args = json_pack("{s:b}", "release", release);
	if (all)
		json_object_set_new(args, "all", json_true());
	else
		json_object_set_new(args, "room", json_string(room));
	if (reason)
		json_object_set_new(args, "reason", json_string(reason));
	return run(ctl, "lockdown", "lockdown", args);
}

const struct ctl_command door_ctl_commands[] = {
    {"door", "door ROOM unlock|lock|free-access|status [--reason TEXT]",
     N_("Command a room's door through its agent and show the door's state afterwards.\n"
        "unlock opens it for one pulse (relocked when it closes); free-access leaves it open\n"
        "until lock; both are refused while the room is locked down. Operators only.\n"
        "The command, who gave it, --reason and the door's answer go to the archive of\n"
        "every tender with someone checked in in that room."),
     cmd_door, false},
    {"lockdown", "lockdown ROOM|--all [--release] [--reason TEXT]",
     N_("Lock down one room or every room: no credential opens the door, request-to-exit\n"
        "still lets people out, and the lockdown survives agent restarts and network loss\n"
        "until released with --release. Operators only. The command, who gave it, --reason\n"
        "and the doors' answers go to the archive of every tender with someone checked in\n"
        "in those rooms."),
     cmd_lockdown, false},
    {NULL, NULL, NULL, NULL, false},
};
