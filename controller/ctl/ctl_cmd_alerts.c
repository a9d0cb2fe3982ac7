/* evalroomctl alerts, alert ack, alert resolve, rooms (and the table entry of watch). */
#include "ctl_cmd_alerts.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_text.h"
#include "clock.h"
#include "ctl_cmd_ops.h"
#include "ctl_table.h"
#include "text_width.h"

static const char *member_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static json_int_t member_int(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

char *ctl_alert_detail(const json_t *alert)
{
	const json_t *text = json_object_get(json_object_get(alert, "extra"), "text");
	const json_t *args = json_object_get(text, "args");
	const char *v[ALERT_TEXT_ARGS_MAX];
	size_t n = json_array_size(args), i;
	const json_t *arg;
	char *s = NULL;

	if (json_is_array(args) && n <= ALERT_TEXT_ARGS_MAX) {
		bool strings = true;
		json_array_foreach(args, i, arg)
		{
			v[i] = json_string_value(arg);
			strings = strings && v[i];
		}
		if (strings)
			s = alert_text_render(json_string_value(json_object_get(text, "id")), v, n,
			                      true);
	}
	return s ? s : g_strdup(member_str(alert, "detail"));
}

const char *ctl_alert_kind_name(const char *kind)
{
	const char *name = alert_kind_text(kind);

	return name ? _(name) : kind;
}

char *ctl_alert_subject(const json_t *alert, char *buf, size_t size)
{
	/* Each member with its name, in the order a person places an alert. */
	static const struct {
		const char *key;
		const char *label;
	} parts[] = {
	    {"room", N_("room %s")},     {"seat", N_("seat %s")},     {"person", N_("person %s")},
	    {"tender", N_("tender %s")}, {"stream", N_("stream %s")}, {"venue", N_("venue %s")},
	};
	GString *out = g_string_new(NULL);

	for (size_t i = 0; i < G_N_ELEMENTS(parts); i++) {
		const char *v = json_string_value(json_object_get(alert, parts[i].key));
		if (!v)
			continue;
		if (out->len)
			g_string_append_c(out, ' ');
		/* the translated label through the renderer that takes only %s */
		char *part = alert_text_format(_(parts[i].label), &v, 1);
		g_string_append(out, part ? part : v);
		g_free(part);
	}
	g_strlcpy(buf, out->len ? out->str : "-", size);
	g_string_free(out, TRUE);
	return buf;
}

char *ctl_venue_line(struct ctl *ctl, const json_t *venue, char *buf, size_t size)
{
	const json_t *b = json_object_get(venue, "backlog");
	char since[64];
	ctl_time(ctl, member_int(venue, "since"), since, sizeof(since));
	bool down = strcmp(member_str(venue, "link"), "down") == 0;
	long long down_s = (long long)member_int(venue, "down_for_s");
	if (down)
		snprintf(
		    buf, size,
		    _("venue %s: link DOWN for %lld min %02lld s (since %s); %lld rooms working "
		      "locally"),
		    member_str(venue, "venue"), down_s / 60, down_s % 60, since,
		    (long long)member_int(venue, "rooms"));
	else
		snprintf(
		    buf, size,
		    _("venue %s: link up since %s; backlog %lld events, %lld segments, %.1f MB"),
		    member_str(venue, "venue"), since, (long long)member_int(b, "events"),
		    (long long)member_int(b, "segments"), (double)member_int(b, "bytes") / 1e6);
	/* the tenders whose seal waits for this venue */
	const json_t *waiting = json_object_get(venue, "tenders_waiting");
	size_t i, len = strlen(buf);
	const json_t *t;
	json_array_foreach(waiting, i, t)
	{
		if (len + 1 >= size)
			break;
		snprintf(buf + len, size - len, _("; tender %s waits for it to seal"),
		         json_string_value(t));
		len = strlen(buf);
	}
	return buf;
}

char *ctl_seat_summary(const json_t *room, char *buf, size_t size)
{
	const json_t *n = json_object_get(room, "seat_counts");

	/* TRANSLATORS: a room's seats: logged in, expected, free, offline (short: a column) */
	snprintf(buf, size, _("%lld in/%lld exp, %lld free, %lld off"),
	         (long long)member_int(n, "logged_in"), (long long)member_int(n, "expected"),
	         (long long)member_int(n, "free"), (long long)member_int(n, "offline"));
	return buf;
}

char *ctl_streams_summary(const json_t *room, char *buf, size_t size)
{
	long long rec = 0, lost = 0, stopped = 0;
	size_t i;
	json_t *s;

	json_array_foreach(json_object_get(room, "streams"), i, s)
	{
		const char *st = member_str(s, "state");
		rec += strcmp(st, "recording") == 0;
		lost += strcmp(st, "lost") == 0;
		stopped += strcmp(st, "stopped") == 0;
	}
	if (rec + lost + stopped == 0)
		g_strlcpy(buf, "-", size);
	else if (lost)
		/* TRANSLATORS: a room's streams: how many record, how many are lost */
		snprintf(buf, size, _("%lld rec, %lld LOST"), rec, lost);
	else if (stopped)
		snprintf(buf, size, _("%lld rec, some stopped"), rec);
	else
		snprintf(buf, size, _("%lld rec"), rec);
	return buf;
}

void ctl_room_headers(const char *head[CTL_ROOM_COLS])
{
	const char *h[CTL_ROOM_COLS] = {_("ROOM"),  _("KIND"),     _("AGENT"),
	                                _("DOOR"),  _("LOCKDOWN"), _("STREAMS"),
	                                _("SEATS"), _("TENDERS"),  _("ALERTS")};

	memcpy(head, h, sizeof(h));
}

void ctl_room_cells(const json_t *r, struct ctl_room_buf *buf, const char *cells[CTL_ROOM_COLS])
{
	g_snprintf(buf->tenders, sizeof(buf->tenders), "%lld",
	           (long long)member_int(r, "tenders_present"));
	g_snprintf(buf->open, sizeof(buf->open), "%lld", (long long)member_int(r, "open_alerts"));
	cells[0] = member_str(r, "room");
	cells[1] = ctl_state_word("room kind", member_str(r, "kind"));
	cells[2] = ctl_state_word("agent state", member_str(r, "agent"));
	cells[3] = ctl_state_word("door state", member_str(r, "door"));
	cells[4] =
	    json_is_true(json_object_get(r, "lockdown")) ? C_("lockdown column", "LOCKDOWN") : "-";
	cells[5] = ctl_streams_summary(r, buf->streams, sizeof(buf->streams));
	cells[6] = ctl_seat_summary(r, buf->seats, sizeof(buf->seats));
	cells[7] = buf->tenders;
	cells[8] = buf->open;
}

static void print_alert_line(const struct ctl *ctl, const json_t *a)
{
	char when[40], subject[160];
	char *detail = ctl_alert_detail(a);

	/* Padded by display width, under the headers of cmd_alerts. The kind stays its
	 * identifier here (the name follows on the next line). */
	GString *line = g_string_new(NULL);
	g_string_append_printf(line, "%6lld  ", (long long)member_int(a, "id"));
	text_pad(line, ctl_state_word("alert state", member_str(a, "state")), 12);
	g_string_append(line, "  ");
	text_pad(line, member_str(a, "kind"), 16);
	g_string_append(line, "  ");
	text_pad(line, ctl_alert_subject(a, subject, sizeof(subject)), 20);
	printf("%s  %s  x%lld\n", line->str,
	       ctl_time(ctl, member_int(a, "last_at"), when, sizeof(when)),
	       (long long)member_int(a, "count"));
	g_string_free(line, TRUE);
	/* The kind's name in the reader's language before the sentence (a kind a newer
	 * controller raises and this client does not know: the sentence alone). */
	const char *kind_text = alert_kind_text(member_str(a, "kind"));
	if (kind_text)
		/* TRANSLATORS: an alert kind's name ("door forced open"), its sentence. */
		printf(_("        %s: %s\n"), _(kind_text), detail);
	else
		printf("        %s\n", detail);
	g_free(detail);
	const json_t *ev = json_object_get(json_object_get(a, "extra"), "evidence");
	if (json_is_object(ev)) {
		char to[40];
		GString *streams = g_string_new(NULL);
		size_t i;
		json_t *s;
		json_array_foreach(json_object_get(ev, "streams"), i, s)
		    g_string_append_printf(streams, "%s%s", i ? ", " : "", member_str(s, "stream"));
		/* TRANSLATORS: a behaviour warning's evidence span: from, to, the recordings */
		printf(_("        evidence: %s to %s, streams %s\n"),
		       ctl_time(ctl, member_int(ev, "from_us"), when, sizeof(when)),
		       ctl_time(ctl, member_int(ev, "to_us"), to, sizeof(to)),
		       streams->len ? streams->str : "-");
		g_string_free(streams, TRUE);
	}
	if (json_object_get(a, "acked_by"))
		printf(_("        acknowledged by %s at %s: %s\n"), member_str(a, "acked_by"),
		       ctl_time(ctl, member_int(a, "acked_at"), when, sizeof(when)),
		       member_str(a, "ack_note"));
	if (json_object_get(a, "resolved_by")) {
		printf(_("        resolved by %s at %s"), member_str(a, "resolved_by"),
		       ctl_time(ctl, member_int(a, "resolved_at"), when, sizeof(when)));
		if (json_object_get(a, "resolve_note"))
			printf(": %s", member_str(a, "resolve_note"));
		putchar('\n');
	}
}

static int cmd_alerts(struct ctl *ctl, int argc, char **argv)
{
	gboolean open_only = FALSE;
	char *since = NULL;
	int limit = 1000;
	const GOptionEntry entries[] = {
	    {"open", 0, 0, G_OPTION_ARG_NONE, &open_only, "only unresolved alerts", NULL},
	    {"since", 0, 0, G_OPTION_ARG_STRING, &since, "last seen at or after TIME", "TIME"},
	    {"limit", 0, 0, G_OPTION_ARG_INT, &limit, "at most N alerts (1..10000)", "N"},
	    G_OPTION_ENTRY_NULL};
	const char *what = "alerts";
	int64_t since_us = 0;
	json_t *res = NULL;
	int rc;

	rc = ctl_ops_parse(ctl, what, entries, &argc, &argv, 0);
	if (!rc && since && ctl_parse_time(ctl, since, &since_us))
		rc = ctl_ops_local_fail(
		    ctl, what, _("--since: \"%s\" is neither an ISO 8601 time nor a date"), since);
	if (!rc && (limit < 1 || limit > 10000))
		rc = ctl_ops_local_fail(ctl, what, _("--limit: expected 1..10000, got %d"), limit);
	if (!rc)
		rc = ctl_ops_call(ctl, what, "alerts.list",
		                  json_pack("{s:b, s:I, s:i}", "open", open_only, "since",
		                            (json_int_t)since_us, "limit", limit),
		                  &res);
	g_free(since);
	if (rc)
		return rc;
	if (ctl_want_json(ctl)) {
		ctl_print_json(res);
	} else {
		json_t *list = json_object_get(res, "alerts"), *a;
		const json_t *counts = json_object_get(res, "counts");
		size_t i;

		printf(_("%lld open, %lld acknowledged (unresolved); %zu listed, newest first\n"),
		       (long long)member_int(counts, "open"),
		       (long long)member_int(counts, "acknowledged"), json_array_size(list));
		if (json_array_size(list)) {
			/* The headers over print_alert_line's columns, padded by display width. */
			GString *h = g_string_new(NULL);
			const char *id = _("ID");
			for (int w = text_width(id); w < 6; w++)
				g_string_append_c(h, ' ');
			g_string_append(h, id);
			g_string_append(h, "  ");
			text_pad(h, _("STATE"), 12);
			g_string_append(h, "  ");
			text_pad(h, _("KIND"), 16);
			g_string_append(h, "  ");
			text_pad(h, _("SUBJECT"), 20);
			printf("%s  %s\n", h->str, _("LAST SEEN"));
			g_string_free(h, TRUE);
		}
		json_array_foreach(list, i, a)
		{
			print_alert_line(ctl, a);
		}
	}
	json_decref(res);
	return 0;
}

/* alert ack|resolve ID --note TEXT */
static int cmd_alert_change(struct ctl *ctl, int argc, char **argv, bool resolve)
{
	char *note = NULL, *end = NULL;
	const GOptionEntry entries[] = {
	    {"note", 0, 0, G_OPTION_ARG_STRING, &note, "what was done or seen", "TEXT"},
	    G_OPTION_ENTRY_NULL};
	const char *what = resolve ? "alert resolve" : "alert ack";
	long long id = 0;
	json_t *res = NULL;
	int rc;

	rc = ctl_ops_parse(ctl, what, entries, &argc, &argv, 1);
	if (!rc) {
		errno = 0;
		id = strtoll(argv[1], &end, 10);
		if (errno || !*argv[1] || *end || id < 1)
			rc = ctl_ops_local_fail(ctl, what, _("ID: \"%s\" is not an alert number"),
			                        argv[1]);
	}
	if (!rc && (!note || !*g_strstrip(note)))
		rc = ctl_ops_local_fail(ctl, what,
		                        _("--note TEXT is required: say what was done or seen"));
	if (!rc)
		rc =
		    ctl_ops_call(ctl, what, resolve ? "alert.resolve" : "alert.ack",
		                 json_pack("{s:I, s:s}", "id", (json_int_t)id, "note", note), &res);
	g_free(note);
	if (rc)
		return rc;
	if (ctl_want_json(ctl)) {
		ctl_print_json(res);
	} else {
		printf(resolve ? _("Alert %lld resolved.\n") : _("Alert %lld acknowledged.\n"), id);
		print_alert_line(ctl, res);
	}
	json_decref(res);
	return 0;
}

static int cmd_alert_ack(struct ctl *ctl, int argc, char **argv)
{
	return cmd_alert_change(ctl, argc, argv, false);
}

static int cmd_alert_resolve(struct ctl *ctl, int argc, char **argv)
{
	return cmd_alert_change(ctl, argc, argv, true);
}

static int cmd_rooms(struct ctl *ctl, int argc, char **argv)
{
	const GOptionEntry entries[] = {G_OPTION_ENTRY_NULL};
	const char *what = "rooms";
	json_t *res = NULL, *r;
	size_t i;
	int rc;

	rc = ctl_ops_parse(ctl, what, entries, &argc, &argv, 0);
	if (!rc)
		rc = ctl_ops_call(ctl, what, "rooms", NULL, &res);
	if (rc)
		return rc;
	if (ctl_want_json(ctl)) {
		ctl_print_json(res);
		json_decref(res);
		return 0;
	}
	const char *head[CTL_ROOM_COLS];
	ctl_room_headers(head);
	struct ctl_table *tab = ctl_table_new(CTL_ROOM_COLS, head);
	ctl_table_align_right(tab, 7);
	ctl_table_align_right(tab, 8);
	json_array_foreach(json_object_get(res, "rooms"), i, r)
	{
		struct ctl_room_buf buf;
		const char *row[CTL_ROOM_COLS];
		ctl_room_cells(r, &buf, row);
		ctl_table_add(tab, row);
	}
	ctl_table_print(tab, stdout);
	ctl_table_free(tab);
	json_decref(res);
	/* the secondary venues' links (none without secondary venues) */
	res = NULL;
	if (ctl_ops_call(ctl, what, "venues", NULL, &res) == 0) {
		json_array_foreach(json_object_get(res, "venues"), i, r)
		{
			char line[256];
			printf("%s\n", ctl_venue_line(ctl, r, line, sizeof(line)));
		}
	}
	json_decref(res);
	return 0;
}

static int cmd_venues(struct ctl *ctl, int argc, char **argv)
{
	const GOptionEntry entries[] = {G_OPTION_ENTRY_NULL};
	const char *what = "venues";
	json_t *res = NULL, *v;
	size_t i;
	int rc = ctl_ops_parse(ctl, what, entries, &argc, &argv, 0);
	if (!rc)
		rc = ctl_ops_call(ctl, what, "venues", NULL, &res);
	if (rc)
		return rc;
	if (ctl_want_json(ctl)) {
		ctl_print_json(res);
		json_decref(res);
		return 0;
	}
	json_array_foreach(json_object_get(res, "venues"), i, v)
	{
		char line[256];
		printf("%s\n", ctl_venue_line(ctl, v, line, sizeof(line)));
	}
	if (!json_array_size(json_object_get(res, "venues")))
		printf("%s\n", _("no secondary venue has been heard of"));
	json_decref(res);
	return 0;
}

const struct ctl_command alert_ctl_commands[] = {
    {"alerts", "alerts [--open] [--since TIME] [--limit N]",
     N_("List alerts, newest first: kind, subject (room, seat, person, tender, stream), when\n"
        "last seen and how often, and who acknowledged or resolved them. --open shows the\n"
        "unresolved ones only. TIME is an ISO 8601 time or a date, read in the site's time\n"
        "zone unless it names its own (Z, +08:00). A behaviour warning (warn_*) also shows\n"
        "its evidence span: the time range and the recordings to review (docs/warnings.md).\n"
        "See docs/console.md."),
     cmd_alerts, false},
    {"alert ack", "alert ack ID --note TEXT",
     N_("Acknowledge alert ID: you have seen it and say what you are doing about it. Your\n"
        "identity (your certificate) and the note are recorded with the alert and in the\n"
        "audit log. Operators only."),
     cmd_alert_ack, false},
    {"alert resolve", "alert resolve ID --note TEXT",
     N_("Resolve alert ID by hand (most alerts resolve themselves when their cause clears).\n"
        "Your identity and the note are recorded. Operators only."),
     cmd_alert_resolve, false},
    {"rooms", "rooms",
     N_("The live view of every room: agent online, door state and lockdown, streams\n"
        "recording or lost, seats (logged in, expected, free, offline), how many tenders have\n"
        "someone present (never who sits where) and open alerts; then each secondary\n"
        "venue's link to the main venue (down: for how long) and the backlog its rooms hold\n"
        "(docs/venues.md)."),
     cmd_rooms, false},
    {"venues", "venues",
     N_("Each secondary venue whose bridge the main venue has heard of: its link (up, or\n"
        "down and for how long), its rooms and the backlog they hold (events, segments,\n"
        "bytes) as their agents last reported it. See docs/venues.md."),
     cmd_venues, false},
    {"watch", "watch",
     N_("Full-screen live view (refreshes every 0.5 s): rooms, then open alerts newest first.\n"
        "Keys: up/down select an alert, a acknowledge it (type a note), l lock down its room\n"
        "(or a room you type), r release a room, q quit. See docs/console.md."),
     ctl_cmd_watch, false},
    {NULL, NULL, NULL, NULL, false},
};
