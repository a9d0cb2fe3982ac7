/* evalroomctl evidence holds|release: the evidence holds on the site's recordings
 * (docs/archives.md, "Evidence holds"). */
#include <glib/gi18n.h>
#include <stdio.h>

#include "ctl.h"
#include "ctl_cmd_ops.h"
#include "ctl_commands.h"
#include "ctl_table.h"

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static long long num(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* What a hold's source is called where people read it. */
static const char *source_text(const char *source)
{
	if (g_strcmp0(source, "note") == 0)
		return _("witness note");
	if (g_strcmp0(source, "warning") == 0)
		return _("behaviour warning");
	if (g_strcmp0(source, "checkin") == 0)
		return _("before check-in");
	if (g_strcmp0(source, "draw") == 0)
		return _("seat map sealed");
	if (g_strcmp0(source, "file") == 0)
		return _("hold file");
	return source;
}

static void print_holds(struct ctl *ctl, const json_t *holds)
{
	const char *head[] = {_("HOLD"),   _("SOURCE"), _("FROM"), _("TO"),
	                      _("TENDER"), _("WHY"),    _("BY"),   _("RELEASED")};
	struct ctl_table *tab = ctl_table_new(G_N_ELEMENTS(head), head);
	size_t i;
	json_t *h;
	json_array_foreach(holds, i, h)
	{
		char id[24], from[64], to[64], why[300], rel[300] = "";
		g_snprintf(id, sizeof id, "%lld", num(h, "id"));
		ctl_time(ctl, num(h, "from_us"), from, sizeof from);
		ctl_time(ctl, num(h, "to_us"), to, sizeof to);
		if (*str(h, "stream"))
			g_snprintf(why, sizeof why, "%s (%s)", str(h, "why"), str(h, "stream"));
		else
			g_snprintf(why, sizeof why, "%s", str(h, "why"));
		if (json_object_get(h, "released_at"))
			g_snprintf(rel, sizeof rel, "%s: %s", str(h, "released_by"),
			           str(h, "release_reason"));
		const char *row[] = {id,
		                     source_text(str(h, "source")),
		                     from,
		                     to,
		                     str(h, "tender"),
		                     why,
		                     str(h, "author"),
		                     rel};
		ctl_table_add(tab, row);
	}
	ctl_table_print(tab, stdout);
	ctl_table_free(tab);
}

static int cmd_evidence_holds(struct ctl *ctl, int argc, char **argv)
{
	gboolean all = FALSE;
	const GOptionEntry entries[] = {{"all", 0, 0, G_OPTION_ARG_NONE, &all, NULL, NULL},
	                                G_OPTION_ENTRY_NULL};
	const char *what = "evidence holds";
	json_t *res = NULL;
	int rc = ctl_ops_parse(ctl, what, entries, &argc, &argv, 0);
	if (!rc)
		rc =
		    ctl_ops_call(ctl, what, "evidence.holds", json_pack("{s:b}", "all", all), &res);
	if (!rc && ctl_want_json(ctl)) {
		ctl_print_json(res);
	} else if (!rc) {
		const json_t *holds = json_object_get(res, "holds");
		if (json_array_size(holds) == 0)
			printf("%s", _("No evidence hold.\n"));
		else
			print_holds(ctl, holds);
	}
	json_decref(res);
	return rc;
}

static int cmd_evidence_release(struct ctl *ctl, int argc, char **argv)
{
	char *reason = NULL;
	gint64 hold = 0;
	const GOptionEntry entries[] = {{"hold", 0, 0, G_OPTION_ARG_INT64, &hold, NULL, NULL},
	                                {"reason", 0, 0, G_OPTION_ARG_STRING, &reason, NULL, NULL},
	                                G_OPTION_ENTRY_NULL};
	const char *what = "evidence release";
	json_t *res = NULL;
	int rc = ctl_ops_parse(ctl, what, entries, &argc, &argv, 0);
	if (!rc && (hold <= 0 || !reason || !*reason))
		rc = ctl_ops_local_fail(ctl, what, "%s",
		                        _("--hold N and --reason TEXT are required"));
	if (!rc)
		rc = ctl_ops_call(
		    ctl, what, "evidence.release",
		    json_pack("{s:I, s:s}", "hold", (json_int_t)hold, "reason", reason), &res);
	if (!rc && ctl_want_json(ctl))
		ctl_print_json(res);
	else if (!rc)
		printf(_("Evidence hold %lld released: the retention sweep may delete the days it "
		         "covered once they are past retention_days, unless another hold covers "
		         "them.\n"),
		       num(res, "released"));
	json_decref(res);
	g_free(reason);
	return rc;
}

const struct ctl_command evidence_ctl_commands[] = {
    {"evidence holds", "evidence holds [--all]",
     N_("List the evidence holds on the site's recordings: while one covers a day, that\n"
        "day's retention archive (site-YYYY-MM-DD.evarc) is kept past retention_days. A\n"
        "witness note's evidence span, a behaviour warning's, and a seat's recording before\n"
        "its person's check-in each place one. --all: released holds too."),
     cmd_evidence_holds, false},
    {"evidence release", "evidence release --hold N --reason TEXT",
     N_("Release an evidence hold once its case is closed (auditors, supervisors); who\n"
        "released it, when and why are kept with it and in the audit log."),
     cmd_evidence_release, false},
    {NULL, NULL, NULL, NULL, false},
};
