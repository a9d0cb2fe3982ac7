/* evalroomctl site import, session create, tender add, committee import, audit. */
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "ctl_cmd_ops.h"
#include "ctl_table.h"
#include "ctl_words.h"
#include "text_encoding.h"
#include "text_safe.h"

#define CSV_FILE_MAX (3 * 1024 * 1024)

static json_int_t member_int(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *member_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* finish: print RES as JSON or through PRINT, free it, exit code 0. */
static int finish(struct ctl *ctl, json_t *res, void (*print)(const json_t *res))
{
	if (ctl_want_json(ctl))
		ctl_print_json(res);
	else
		print(res);
	json_decref(res);
	return 0;
}

static void print_site(const json_t *res)
{
	printf(_("Site %s imported: %lld rooms (%lld expert, %lld tenderer), %lld seats.\n"),
	       member_str(res, "id"), (long long)member_int(res, "rooms"),
	       (long long)member_int(res, "expert_rooms"),
	       (long long)member_int(res, "tenderer_rooms"), (long long)member_int(res, "seats"));
}

int ctl_cmd_site_import(struct ctl *ctl, int argc, char **argv)
{
	const GOptionEntry entries[] = {G_OPTION_ENTRY_NULL};
	const char *what = "site import";
	json_error_t jerr;
	json_t *site, *res;
	int rc;

	rc = ctl_ops_parse(ctl, what, entries, &argc, &argv, 1);
	if (rc)
		return rc;
	char *raw = NULL, *text;
	gsize len = 0;
	GError *err = NULL;
	bool from_gb18030;
	if (!g_file_get_contents(argv[1], &raw, &len, &err)) {
		rc = ctl_fail(ctl, what, err);
		g_error_free(err);
		return rc;
	}
	/* Names in the site file may be Chinese, saved as UTF-8 or GB18030. */
	text = text_to_utf8(raw, len, &from_gb18030, &err);
	g_free(raw);
	if (!text) {
		rc = ctl_ops_local_fail(ctl, what, "%s: %s", argv[1], err->message);
		g_error_free(err);
		return rc;
	}
	site = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	g_free(text);
	if (!site) {
		char *quoted = text_display(jerr.text); /* the file's own bytes */
		rc = ctl_ops_local_fail(ctl, what, _("%s: line %d: %s"), argv[1], jerr.line, quoted);
		g_free(quoted);
		return rc;
	}
	rc = ctl_ops_call(ctl, what, "site.import", json_pack("{s:o}", "site", site), &res);
	return rc ? rc : finish(ctl, res, print_site);
}

static void print_session(const json_t *res)
{
	printf(_("Session %s created for %s.\n"), member_str(res, "session"),
	       member_str(res, "date"));
}

int ctl_cmd_session_create(struct ctl *ctl, int argc, char **argv)
{
	char *date = NULL, *id = NULL;
	const GOptionEntry entries[] = {
	    {"date", 0, 0, G_OPTION_ARG_STRING, &date, "day of the session", "YYYY-MM-DD"},
	    {"id", 0, 0, G_OPTION_ARG_STRING, &id, "session id (default: the date)", "ID"},
	    G_OPTION_ENTRY_NULL};
	const char *what = "session create";
	json_t *args, *res;
	int rc;

	rc = ctl_ops_parse(ctl, what, entries, &argc, &argv, 0);
	if (!rc && !date)
		rc = ctl_ops_local_fail(ctl, what, _("--date is required"));
	if (rc)
		goto out;
	args = json_pack("{s:s}", "date", date);
	if (id)
		json_object_set_new(args, "id", json_string(id));
	rc = ctl_ops_call(ctl, what, "session.create", args, &res);
	if (!rc)
		rc = finish(ctl, res, print_session);
out:
	g_free(date);
	g_free(id);
	return rc;
}

static void print_tender(const json_t *res)
{
	printf(_("Tender %s (%s) added to session %s.\n"), member_str(res, "tender"),
	       member_str(res, "name"), member_str(res, "session"));
}

int ctl_cmd_tender_add(struct ctl *ctl, int argc, char **argv)
{
	char *session = NULL, *id = NULL, *name = NULL, *tenderer = NULL, *agency = NULL;
	const GOptionEntry entries[] = {
	    {"session", 0, 0, G_OPTION_ARG_STRING, &session, "session id", "SESSION"},
	    {"id", 0, 0, G_OPTION_ARG_STRING, &id, "tender id", "TENDER"},
	    {"name", 0, 0, G_OPTION_ARG_STRING, &name, "tender name", "NAME"},
	    {"tenderer", 0, 0, G_OPTION_ARG_STRING, &tenderer, "the tenderer", "NAME"},
	    {"agency", 0, 0, G_OPTION_ARG_STRING, &agency, "the procuring agency",
	     "NAME"},
	    G_OPTION_ENTRY_NULL};
	json_t *args;
	const char *what = "tender add";
	json_t *res;
	int rc;

	rc = ctl_ops_parse(ctl, what, entries, &argc, &argv, 0);
	if (!rc && (!session || !id || !name))
		rc = ctl_ops_local_fail(ctl, what, _("--session, --id and --name are required"));
	if (!rc) {
		args = json_pack("{s:s, s:s, s:s}", "session", session, "id", id, "name", name);
		if (tenderer)
			json_object_set_new(args, "tenderer", json_string(tenderer));
		if (agency)
			json_object_set_new(args, "agency", json_string(agency));
		rc = ctl_ops_call(ctl, what, "tender.add", args, &res);
	}
	if (!rc)
		rc = finish(ctl, res, print_tender);
	g_free(session);
	g_free(id);
	g_free(name);
	g_free(tenderer);
	g_free(agency);
	return rc;
}

static void print_committee(const json_t *res)
{
	long long e = member_int(res, "experts"), t = member_int(res, "tenderers");

	char *experts =
	    g_strdup_printf(ngettext("%lld expert", "%lld experts", (unsigned long)e), e);
	char *reps = g_strdup_printf(ngettext("%lld tenderer representative",
	                                      "%lld tenderer representatives", (unsigned long)t),
	                             t);
	printf(_("Committee of tender %s imported: %s, %s.\n"), member_str(res, "tender"), experts,
	       reps);
	g_free(experts);
	g_free(reps);
}

int ctl_cmd_committee_import(struct ctl *ctl, int argc, char **argv)
{
	char *tender = NULL, *text = NULL;
	const GOptionEntry entries[] = {
	    {"tender", 0, 0, G_OPTION_ARG_STRING, &tender, "tender id", "TENDER"},
	    G_OPTION_ENTRY_NULL};
	const char *what = "committee import";
	GError *err = NULL;
	gsize len = 0;
	json_t *res;
	int rc;

	rc = ctl_ops_parse(ctl, what, entries, &argc, &argv, 1);
	if (!rc && !tender)
		rc = ctl_ops_local_fail(ctl, what, _("--tender is required"));
	if (rc)
		goto out;
	if (!g_file_get_contents(argv[1], &text, &len, &err)) {
		rc = ctl_fail(ctl, what, err);
		g_error_free(err);
		goto out;
	}
	if (len > CSV_FILE_MAX) {
		rc = ctl_ops_local_fail(ctl, what, _("%s: must be text of at most %d KiB"), argv[1],
		                        CSV_FILE_MAX / 1024);
		goto out;
	}
	/* A list saved by a spreadsheet on Chinese Windows is GB18030: read it as such. */
	bool from_gb18030;
	char *utf8 = text_to_utf8(text, len, &from_gb18030, &err);
	g_free(text);
	text = utf8;
	if (!text) {
		rc = ctl_ops_local_fail(ctl, what, "%s: %s", argv[1], err->message);
		g_error_free(err);
		goto out;
	}
	if (from_gb18030 && !ctl_want_json(ctl))
		fprintf(stderr,
		        _("evalroomctl: %s: %s is GB18030 text (Chinese Windows); read as "
		          "such\n"),
		        what, argv[1]);
	rc = ctl_ops_call(ctl, what, "committee.import",
	                  json_pack("{s:s, s:s}", "tender", tender, "csv", text), &res);
	if (!rc)
		rc = finish(ctl, res, print_committee);
out:
	g_free(text);
	g_free(tender);
	return rc;
}

static void print_audit(const struct ctl *ctl, const json_t *res)
{
	json_t *records = json_object_get(res, "records"), *r;
	size_t i;
	char t[40];

	if (json_array_size(records) == 0) {
		printf("%s", _("No audit records.\n"));
		return;
	}
	const char *head[] = {_("time"), _("identity"), _("command"), _("outcome"), _("arguments")};
	struct ctl_table *tab = ctl_table_new(G_N_ELEMENTS(head), head);
	json_array_foreach(records, i, r)
	{
		const char *row[] = {ctl_time(ctl, member_int(r, "at"), t, sizeof(t)),
		                     member_str(r, "identity"), member_str(r, "command"),
		                     ctl_state_word("audit outcome", member_str(r, "outcome")),
		                     member_str(r, "args")};
		ctl_table_add(tab, row);
		if (json_object_get(r, "message")) {
			const char *why[] = {"", "", "", "", member_str(r, "message")};
			ctl_table_add(tab, why);
		}
	}
	ctl_table_print(tab, stdout);
	ctl_table_free(tab);
}

int ctl_cmd_audit(struct ctl *ctl, int argc, char **argv)
{
	char *since = NULL;
	int limit = 1000;
	const GOptionEntry entries[] = {
	    {"since", 0, 0, G_OPTION_ARG_STRING, &since, "from this time on", "TIME"},
	    {"limit", 0, 0, G_OPTION_ARG_INT, &limit, "at most N records (1..10000)", "N"},
	    G_OPTION_ENTRY_NULL};
	const char *what = "audit";
	int64_t since_us = 0;
	json_t *res;
	int rc;

	rc = ctl_ops_parse(ctl, what, entries, &argc, &argv, 0);
	if (!rc && since && ctl_parse_time(ctl, since, &since_us))
		rc = ctl_ops_local_fail(
		    ctl, what, _("--since: \"%s\" is neither an ISO 8601 time nor a date"), since);
	if (!rc)
		rc = ctl_ops_call(
		    ctl, what, "audit.list",
		    json_pack("{s:I, s:i}", "since", (json_int_t)since_us, "limit", limit), &res);
	if (!rc && ctl_want_json(ctl))
		ctl_print_json(res);
	else if (!rc)
		print_audit(ctl, res);
	if (!rc)
		json_decref(res);
	g_free(since);
	return rc;
}
