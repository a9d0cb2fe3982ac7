/* evalroomctl status: is the controller up, and which room agents are online. */
#include <glib/gi18n.h>
#include <stdio.h>

#include "clock.h"
#include "ctl.h"
#include "ctl_cmd_alerts.h"
#include "ctl_cmd_ops.h"
#include "ctl_commands.h"
#include "provision.h"
#include "text_width.h"

static int cmd_status(struct ctl *ctl, int argc, char **argv)
{
	if (argc > 1) {
		fprintf(stderr, _("evalroomctl status: unexpected argument %s\n"), argv[1]);
		return 2;
	}
	json_t *res;
	GError *err = NULL;
	if (ctl_request(ctl, "status", NULL, &res, &err) != 0) {
		int rc = ctl_fail(ctl, "status", err);
		g_error_free(err);
		return rc;
	}
	if (ctl_want_json(ctl)) {
		ctl_print_json(res);
	} else {
		char t[40];
		json_t *rooms = json_object_get(res, "rooms");
		printf(_("controller: online since %s\n"),
		       ctl_time(ctl, json_integer_value(json_object_get(res, "started")), t,
		                       sizeof(t)));
		json_t *alerts = json_object_get(res, "alerts");
		if (alerts)
			printf(_("alerts: %lld open, %lld acknowledged (evalroomctl alerts --open)\n"),
			       (long long)json_integer_value(json_object_get(alerts, "open")),
			       (long long)json_integer_value(json_object_get(alerts, "acknowledged")));
		printf(_("room agents online: %lld of %zu known\n"),
		       (long long)json_integer_value(json_object_get(res, "agents_online")),
		       json_array_size(rooms));
		size_t i;
		json_t *r;
		json_array_foreach(rooms, i, r)
		{
			/* room and state padded by display width, then since when */
			const char *room = json_string_value(json_object_get(r, "room"));
			GString *line = g_string_new("  ");
			text_pad(line, room ? room : "-", 12);
			g_string_append_c(line, ' ');
			text_pad(line,
			         ctl_state_word("agent state",
			                        json_string_value(json_object_get(r, "state"))),
			         8);
			printf(_("%s since %s\n"), line->str,
			       ctl_time(ctl, json_integer_value(json_object_get(r, "since")), t,
			                sizeof(t)));
			g_string_free(line, TRUE);
		}
	}
	json_decref(res);
	return 0;
}

static int cmd_provision(struct ctl *ctl, int argc, char **argv)
{
	return provision_main(argc, argv);
}

const struct ctl_command core_ctl_commands[] = {
    {"provision",
     "provision --site SITE.json --out DIR [--port N] [--bind ADDR] [--broker-host NAME]... "
     "[--console-host NAME]... [--broker-user USER] [--force]",
     N_("Write the site's CA, broker, web console and client certificates, the archive-signing\n"
        "key, the mosquitto configuration and its ACL into DIR (see docs/provisioning.md). Runs\n"
        "locally; needs no controller."),
     cmd_provision, true},
    {"status", "status", N_("Show whether the controller is up and which room agents are online."),
     cmd_status, false},
    {NULL, NULL, NULL, NULL, false},
};

const struct ctl_command *const ctl_command_tables[] = {
	core_ctl_commands,
	ops_ctl_commands,
	tender_ctl_commands,
	archive_ctl_commands,
	door_ctl_commands,
	alert_ctl_commands,
	desk_ctl_commands,
	witness_ctl_commands,
	transfer_ctl_commands,
	staff_ctl_commands,
	venue_ctl_commands,
	evidence_ctl_commands,
	cosign_ctl_commands,
	NULL,
};
