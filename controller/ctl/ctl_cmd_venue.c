/* evalroomctl venue book|draw|redraw|run|show: the venues of a tender (docs/venues.md,
 * "Choosing a tender's venues"; the draws: docs/draw.md section 12). */
#include <glib/gi18n.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "ctl_cmd_ops.h"
#include "ctl_commands.h"

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* "a, b, c" of an array of strings (or of objects' KEY when KEY is not NULL); g_free(). */
static char *joined(const json_t *arr, const char *key)
{
	GString *s = g_string_new(NULL);
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		const char *t = key ? str(v, key) : json_string_value(v);
		g_string_append_printf(s, "%s%s", i ? ", " : "", t ? t : "");
	}
	if (!s->len)
		g_string_append(s, "-");
	return g_string_free(s, FALSE);
}

/* A comma-separated list of venue ids as a JSON array (empty entries left out). */
static json_t *venue_array(const char *list)
{
	json_t *arr = json_array();
	char **parts = g_strsplit(list, ",", -1);
	for (char **p = parts; *p; p++) {
		char *t = g_strstrip(*p);
		if (*t)
			json_array_append_new(arr, json_string(t));
	}
	g_strfreev(parts);
	return arr;
}

static json_t *book_args(char **v, char **pos)
{
	if (!v[0])
		return NULL;
	json_t *a = json_pack("{s:s, s:o}", "tender", pos[0], "venues", venue_array(v[0]));
	if (v[1])
		json_object_set_new(a, "reason", json_string(v[1]));
	return a;
}

static void print_book(const json_t *res)
{
	char *booked = joined(json_object_get(res, "venues"), NULL);
	char *chosen = joined(json_object_get(res, "chosen"), NULL);
	printf(_("Tender %s: venues %s booked by %s\n"), str(res, "tender"), booked,
	       str(res, "booked_by"));
	printf(_("  the tender's venues now: %s\n"), chosen);
	g_free(booked);
	g_free(chosen);
}

static int cmd_book(struct ctl *ctl, int argc, char **argv)
{
	char *v[2] = {NULL};
	const GOptionEntry entries[] = {
	    {"venues", 0, 0, G_OPTION_ARG_STRING, &v[0], "the venues booked, comma-separated",
	     "V1,V2"},
	    {"reason", 0, 0, G_OPTION_ARG_STRING, &v[1], "what the booking rests on", "TEXT"},
	    G_OPTION_ENTRY_NULL};
	int rc = ctl_ops_run_simple(ctl, "venue book", "venue.book", entries, argc, argv, 1,
	                            book_args, v, print_book);
	for (size_t i = 0; i < G_N_ELEMENTS(v); i++)
		g_free(v[i]);
	return rc;
}

static void print_commit(const json_t *res)
{
	char *from = joined(json_object_get(res, "candidates"), NULL);
	printf(_("Venue draw of tender %s (round %lld) committed by %s: %lld of %s\n"),
	       str(res, "tender"), (long long)json_integer_value(json_object_get(res, "round")),
	       str(res, "committed_by"),
	       (long long)json_integer_value(json_object_get(res, "count")), from);
	g_free(from);
	if (json_array_size(json_object_get(res, "excluded"))) {
		char *ex = joined(json_object_get(res, "excluded"), NULL);
		printf(_("  excluded as failed: %s (%s)\n"), ex, str(res, "reason"));
		g_free(ex);
	}
	printf(_("  commitment: %s\n"), str(res, "commitment"));
	printf(_("  a supervisor now witnesses it: evalroomctl venue run %s --witness-entropy "
	         "TEXT --confirm-commitment HEX\n"),
	       str(res, "tender"));
}

static json_t *draw_args(char **v, char **pos)
{
	if (!v[0] || !v[1])
		return NULL;
	char *end = NULL;
	long long count = strtoll(v[1], &end, 10);
	if (!*v[1] || *end)
		count = 0; /* refused by the controller with its reason */
	return json_pack("{s:s, s:o, s:I}", "tender", pos[0], "from", venue_array(v[0]), "count",
	                 (json_int_t)count);
}

static int cmd_draw(struct ctl *ctl, int argc, char **argv)
{
	char *v[2] = {NULL};
	const GOptionEntry entries[] = {
	    {"from", 0, 0, G_OPTION_ARG_STRING, &v[0], "the candidate venues, comma-separated",
	     "V1,V2,V3"},
	    {"count", 0, 0, G_OPTION_ARG_STRING, &v[1], "how many venues to draw", "N"},
	    G_OPTION_ENTRY_NULL};
	int rc = ctl_ops_run_simple(ctl, "venue draw", "venue.draw", entries, argc, argv, 1,
	                            draw_args, v, print_commit);
	for (size_t i = 0; i < G_N_ELEMENTS(v); i++)
		g_free(v[i]);
	return rc;
}

static json_t *redraw_args(char **v, char **pos)
{
	return v[0] && v[1] ? json_pack("{s:s, s:o, s:s}", "tender", pos[0], "failed",
	                                venue_array(v[0]), "reason", v[1])
	                    : NULL;
}

static int cmd_redraw(struct ctl *ctl, int argc, char **argv)
{
	char *v[2] = {NULL};
	const GOptionEntry entries[] = {
	    {"failed", 0, 0, G_OPTION_ARG_STRING, &v[0],
	     "the drawn venues that failed, comma-separated", "V1,V2"},
	    {"reason", 0, 0, G_OPTION_ARG_STRING, &v[1], "why the last draw failed", "TEXT"},
	    G_OPTION_ENTRY_NULL};
	int rc = ctl_ops_run_simple(ctl, "venue redraw", "venue.redraw", entries, argc, argv, 1,
	                            redraw_args, v, print_commit);
	for (size_t i = 0; i < G_N_ELEMENTS(v); i++)
		g_free(v[i]);
	return rc;
}

static json_t *run_args(char **v, char **pos)
{
	return v[0] && v[1] ? json_pack("{s:s, s:s, s:s}", "tender", pos[0], "entropy", v[0],
	                                "confirm", v[1])
	                    : NULL;
}

static void print_run(const json_t *res)
{
	char *drawn = joined(json_object_get(res, "drawn"), NULL);
	char *chosen = joined(json_object_get(res, "chosen"), NULL);
	printf(_("Venue draw of tender %s (round %lld) witnessed by %s (commitment %.16s...): "
	         "drawn %s\n"),
	       str(res, "tender"), (long long)json_integer_value(json_object_get(res, "round")),
	       str(res, "witness"), str(res, "commitment"), drawn);
	printf(_("  the tender's venues now: %s\n"), chosen);
	g_free(drawn);
	g_free(chosen);
}

static int cmd_run(struct ctl *ctl, int argc, char **argv)
{
	char *v[2] = {NULL};
	const GOptionEntry entries[] = {
	    {"witness-entropy", 0, 0, G_OPTION_ARG_STRING, &v[0], "text the supervisor chose",
	     "TEXT"},
	    {"confirm-commitment", 0, 0, G_OPTION_ARG_STRING, &v[1],
	     "the commitment as published (at least its first 16 hex digits)", "HEX"},
	    G_OPTION_ENTRY_NULL};
	int rc = ctl_ops_run_simple(ctl, "venue run", "venue.run", entries, argc, argv, 1, run_args,
	                            v, print_run);
	for (size_t i = 0; i < G_N_ELEMENTS(v); i++)
		g_free(v[i]);
	return rc;
}

static json_t *show_args(char **v, char **pos)
{
	(void)v;
	return json_pack("{s:s}", "tender", pos[0]);
}

static void print_show(const json_t *res)
{
	char *chosen = joined(json_object_get(res, "chosen"), "venue");
	printf(_("Tender %s (session %s): venues %s\n"), str(res, "tender"), str(res, "session"),
	       chosen);
	g_free(chosen);
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(res, "selections"), i, s)
	{
		char *venues = joined(json_object_get(s, "venues"), NULL);
		if (strcmp(str(s, "way"), "booking") == 0) {
			printf(_("  booked by %s: %s\n"), str(s, "made_by"), venues);
		} else {
			char *drawn = joined(json_object_get(s, "drawn"), NULL);
			printf(
			    _("  %s round %lld by %s from %s: %s, commitment %.16s..., witness %s, "
			      "drawn %s\n"),
			    str(s, "way"),
			    (long long)json_integer_value(json_object_get(s, "round")),
			    str(s, "made_by"), venues, str(s, "state"), str(s, "commitment"),
			    *str(s, "witness") ? str(s, "witness") : "-", drawn);
			g_free(drawn);
		}
		g_free(venues);
	}
}

static int cmd_show(struct ctl *ctl, int argc, char **argv)
{
	const GOptionEntry entries[] = {G_OPTION_ENTRY_NULL};
	return ctl_ops_run_simple(ctl, "venue show", "venue.show", entries, argc, argv, 1,
	                          show_args, NULL, print_show);
}

const struct ctl_command venue_ctl_commands[] = {
    {"venue book", "venue book TENDER --venues V1,V2 [--reason TEXT]",
     N_("Book venues for tender TENDER in advance (提前预约): their expert rooms seat its\n"
        "experts. The seat draw of the tender's session then covers only the expert rooms\n"
        "of the venues chosen (booked or drawn). The booking goes into the tender's\n"
        "archive. Before the session's seat draw is committed. Operators only."),
     cmd_book, false},
    {"venue draw", "venue draw TENDER --from V1,V2,V3 --count N",
     N_("Commit to an on-site draw (现场抽取) of N venues out of the candidates for tender\n"
        "TENDER, in the seat draw's commit-reveal style (docs/draw.md section 12): the\n"
        "commitment goes into the tender's archive at once; a supervisor then runs it with\n"
        "their entropy (venue run). Operators only."),
     cmd_draw, false},
    {"venue redraw", "venue redraw TENDER --failed V1[,V2] --reason TEXT",
     N_("Commit to a second draw (二次抽取) after the venues named failed: the same number\n"
        "of venues from the last draw's candidates without the failed ones (and without any\n"
        "that failed before). The failed draw's venues are chosen no longer; a supervisor\n"
        "runs the new draw (venue run). Operators only."),
     cmd_redraw, false},
    {"venue run", "venue run TENDER --witness-entropy TEXT --confirm-commitment HEX",
     N_("Witness the tender's committed venue draw as the regulator's representative:\n"
        "confirm the published commitment, enter entropy; the venues are drawn and chosen,\n"
        "the record goes into the tender's archive (evalroom-archive verify-draw re-runs\n"
        "it). Supervisors only."),
     cmd_run, false},
    {"venue show", "venue show TENDER",
     N_("The tender's chosen venues and every booking and venue draw: who, from which\n"
        "venues, commitment, witness and what was drawn."),
     cmd_show, false},
    {NULL, NULL, NULL, NULL, false},
};
