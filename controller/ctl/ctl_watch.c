/* evalroomctl watch: the operator's full-screen live view (ncurses). It asks the
 * controller for `rooms` and the open alerts every half second over the same TLS MQTT
 * identity as every other command, keeps showing the last answer with a banner when the
 * controller cannot be reached, and sends acknowledgements, lockdowns and releases. */
#include <curses.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "ctl_client.h"
#include "ctl_cmd_alerts.h"
#include "request.h"
#include "text_width.h"

#define WATCH_REFRESH_US 500000
#define WATCH_TIMEOUT_S  2
#define WATCH_ALERTS_MAX 200
#define WATCH_INPUT_MAX  200
/* The lead's door commands (evalroomctl lockdown ROOM [--release]). */
#define WATCH_CMD_LOCKDOWN "lockdown"

struct watch {
	struct ctl *ctl;
	json_t *rooms;  /* last `rooms` result, or NULL */
	json_t *alerts; /* last open alerts (array), or NULL */
	json_t *venues; /* last secondary venues (array), or NULL */
	json_t *counts;
	bool reachable;
	int64_t unreachable_since; /* UTC us, 0 while reachable */
	char fault[200];
	int64_t updated; /* UTC us of the last good answer */
	int selected;    /* index into alerts */
	int64_t selected_id;
	char message[240]; /* outcome of the last key command */
};

static const char *member_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static json_int_t member_int(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void watch_unreachable(struct watch *w, const GError *err)
{
	if (w->reachable || !w->unreachable_since)
		w->unreachable_since = clock_now_us();
	w->reachable = false;
	g_strlcpy(w->fault, err->message, sizeof(w->fault));
}

/* Ask for the rooms and the open alerts; keep the last good answer otherwise. */
static void watch_refresh(struct watch *w)
{
	json_t *rooms = NULL, *alerts = NULL;
	GError *err = NULL;

	ctl_poll(w->ctl);
	if (ctl_request(w->ctl, "rooms", NULL, &rooms, &err) != 0 ||
	    ctl_request(w->ctl, "alerts.list",
	                json_pack("{s:b, s:i}", "open", 1, "limit", WATCH_ALERTS_MAX), &alerts,
	                &err) != 0) {
		json_decref(rooms);
		if (err->domain == REQUEST_ERROR && err->code == REQUEST_ERROR_UNAVAILABLE)
			watch_unreachable(w, err);
		else
			g_strlcpy(w->message, err->message, sizeof(w->message));
		g_error_free(err);
		return;
	}
	w->reachable = true;
	w->unreachable_since = 0;
	w->updated = clock_now_us();
	json_decref(w->rooms);
	json_decref(w->alerts);
	json_decref(w->counts);
	w->rooms = rooms;
	w->alerts = json_incref(json_object_get(alerts, "alerts"));
	w->counts = json_incref(json_object_get(alerts, "counts"));
	json_decref(alerts);
	json_t *venues = NULL;
	GError *verr = NULL;
	if (ctl_request(w->ctl, "venues", NULL, &venues, &verr) == 0) {
		json_decref(w->venues);
		w->venues = json_incref(json_object_get(venues, "venues"));
	}
	g_clear_error(&verr);
	json_decref(venues);

	/* Keep the selection on the same alert while the list moves. */
	size_t i, n = json_array_size(w->alerts);
	json_t *a;
	w->selected = n ? MIN(w->selected, (int)n - 1) : 0;
	json_array_foreach(w->alerts, i, a)
	{
		if (member_int(a, "id") == w->selected_id)
			w->selected = (int)i;
	}
	w->selected_id = n ? member_int(json_array_get(w->alerts, (size_t)w->selected), "id") : 0;
}

/* Append CELL to LINE cut and padded to WIDTH display columns, then a space; the last
 * column (WIDTH 0) as it is. */
static void watch_cell(GString *line, const char *cell, int width)
{
	if (!width) {
		g_string_append(line, cell);
		return;
	}
	char *cut = g_strndup(cell, text_fit(cell, width));
	text_pad(line, cut, width);
	g_string_append_c(line, ' ');
	g_free(cut);
}

/* The rooms table's columns in display columns (a CJK character takes two): ROOM KIND
 * AGENT DOOR LOCKDOWN STREAMS SEATS TENDERS ALERTS. */
static const int room_cols[CTL_ROOM_COLS] = {10, 8, 8, 12, 8, 16, 34, 7, 0};

static void draw_rooms(struct watch *w, int *y)
{
	json_t *r;
	size_t i;

	const char *head[CTL_ROOM_COLS];
	ctl_room_headers(head);
	GString *line = g_string_new(NULL);
	for (size_t k = 0; k < CTL_ROOM_COLS; k++)
		watch_cell(line, head[k], room_cols[k]);
	attron(A_BOLD);
	mvaddnstr((*y)++, 0, line->str, (int)text_fit(line->str, COLS));
	attroff(A_BOLD);
	json_array_foreach(json_object_get(w->rooms, "rooms"), i, r)
	{
		bool bad = strcmp(member_str(r, "agent"), "online") != 0 ||
		           json_is_true(json_object_get(r, "lockdown")) ||
		           member_int(r, "open_alerts") > 0;
		if (*y >= LINES - 6)
			break;
		struct ctl_room_buf buf;
		const char *cells[CTL_ROOM_COLS];
		ctl_room_cells(r, &buf, cells);
		g_string_truncate(line, 0);
		for (size_t k = 0; k < CTL_ROOM_COLS; k++)
			watch_cell(line, cells[k], room_cols[k]);
		if (bad)
			attron(A_BOLD);
		mvaddnstr((*y)++, 0, line->str, (int)text_fit(line->str, COLS));
		if (bad)
			attroff(A_BOLD);
	}
	g_string_free(line, TRUE);
	json_array_foreach(w->venues, i, r)
	{
		char text[256];
		bool down = strcmp(member_str(r, "link"), "up") != 0;
		if (*y >= LINES - 6)
			break;
		if (down)
			attron(A_BOLD | A_REVERSE);
		ctl_venue_line(w->ctl, r, text, sizeof(text));
		mvaddnstr((*y)++, 0, text, (int)text_fit(text, COLS));
		if (down)
			attroff(A_BOLD | A_REVERSE);
	}
}

static void draw_alerts(struct watch *w, int *y)
{
	json_t *a;
	size_t i;

	(*y)++;
	char *title = g_strdup_printf(_("OPEN ALERTS (newest first): %lld open, %lld acknowledged"),
	                              (long long)member_int(w->counts, "open"),
	                              (long long)member_int(w->counts, "acknowledged"));
	attron(A_BOLD);
	mvaddnstr((*y)++, 0, title, (int)text_fit(title, COLS));
	attroff(A_BOLD);
	g_free(title);
	if (!json_array_size(w->alerts))
		mvaddstr((*y)++, 2, _("none"));
	json_array_foreach(w->alerts, i, a)
	{
		char t[40], subject[160];
		bool acked = strcmp(member_str(a, "state"), "acknowledged") == 0;
		if (*y >= LINES - 3)
			break;
		/* Selection mark, id, state, the kind's name, where, when, how often, the
		 * sentence; padded by display width, cut to the screen. */
		GString *line = g_string_new(NULL);
		g_string_append_printf(line, "%c %5lld ", (int)i == w->selected ? '>' : ' ',
		                       (long long)member_int(a, "id"));
		watch_cell(line, ctl_state_word("alert state", member_str(a, "state")), 12);
		watch_cell(line, ctl_alert_kind_name(member_str(a, "kind")), 20);
		watch_cell(line, ctl_alert_subject(a, subject, sizeof(subject)), 22);
		g_string_append_printf(
		    line, "%s x%lld",
		    ctl_time_of_day(w->ctl, member_int(a, "last_at"), t, sizeof(t)),
		    (long long)member_int(a, "count"));
		if (acked)
			/* TRANSLATORS: in watch, who acknowledged the alert (before its sentence,
			 * which the screen's edge may cut) */
			g_string_append_printf(line, _("  [ack %s]"), member_str(a, "acked_by"));
		char *detail = ctl_alert_detail(a);
		g_string_append_printf(line, "  %s", detail);
		g_free(detail);
		if ((int)i == w->selected)
			attron(A_REVERSE);
		else if (!acked)
			attron(A_BOLD);
		mvaddnstr((*y)++, 0, line->str, (int)text_fit(line->str, COLS));
		attroff(A_REVERSE | A_BOLD);
		g_string_free(line, TRUE);
	}
}

static void watch_draw(struct watch *w)
{
	char now[40], t[40];
	int y = 0;

	erase();
	ctl_time(w->ctl, clock_now_us(), now, sizeof(now));
	mvprintw(y++, 0, _("evalroom watch  %s  %s"), ctl_identity(w->ctl), now);
	if (w->reachable) {
		mvprintw(y++, 0, _("controller: reachable (answered at %s)"),
		         ctl_time_of_day(w->ctl, w->updated, t, sizeof(t)));
	} else {
		attron(A_REVERSE | A_BOLD);
		mvprintw(y++, 0, _(" CONTROLLER UNREACHABLE since %s: %s "),
		         ctl_time(w->ctl, w->unreachable_since, t, sizeof(t)), w->fault);
		attroff(A_REVERSE | A_BOLD);
		if (w->updated)
			mvprintw(y++, 0, _("(showing what it said at %s)"),
			         ctl_time_of_day(w->ctl, w->updated, t, sizeof(t)));
	}
	y++;
	if (w->rooms)
		draw_rooms(w, &y);
	if (w->alerts)
		draw_alerts(w, &y);
	mvaddnstr(LINES - 2, 0, w->message, (int)text_fit(w->message, COLS));
	const char *keys =
	    _("up/down select  a acknowledge  l lock down room  r release room  q quit");
	attron(A_BOLD);
	mvaddnstr(LINES - 1, 0, keys, (int)text_fit(keys, COLS));
	attroff(A_BOLD);
	refresh();
}

/* Ask on the prompt line; the answer is stripped ("" = cancelled). */
static void watch_prompt(const char *question, char *out, size_t size)
{
	move(LINES - 2, 0);
	clrtoeol();
	attron(A_BOLD);
	addnstr(question, COLS);
	attroff(A_BOLD);
	echo();
	curs_set(1);
	timeout(-1);
	out[0] = '\0';
	getnstr(out, (int)size - 1);
	noecho();
	curs_set(0);
	timeout(100);
	g_strstrip(out);
}

static const json_t *selected_alert(struct watch *w)
{
	return json_array_get(w->alerts, (size_t)w->selected);
}

static void watch_ack(struct watch *w)
{
	const json_t *a = selected_alert(w);
	char question[96], note[WATCH_INPUT_MAX];
	json_t *res = NULL;
	GError *err = NULL;
	json_int_t id;

	if (!a) {
		g_strlcpy(w->message, _("no alert selected"), sizeof(w->message));
		return;
	}
	id = member_int(a, "id");
	snprintf(question, sizeof(question), _("Note for alert %lld (empty: cancel): "),
	         (long long)id);
	watch_prompt(question, note, sizeof(note));
	if (!*note) {
		g_strlcpy(w->message, _("acknowledgement cancelled"), sizeof(w->message));
		return;
	}
	if (ctl_request(w->ctl, "alert.ack", json_pack("{s:I, s:s}", "id", id, "note", note), &res,
	                &err) != 0) {
		snprintf(w->message, sizeof(w->message), _("alert %lld NOT acknowledged: %s"),
		         (long long)id, err->message);
		g_error_free(err);
		return;
	}
	snprintf(w->message, sizeof(w->message), _("alert %lld acknowledged by %s"), (long long)id,
	         member_str(res, "acked_by"));
	json_decref(res);
}

static void watch_lockdown(struct watch *w, bool release)
{
	const char *room = member_str(selected_alert(w), "room");
	char question[120], answer[64];
	json_t *res = NULL;
	GError *err = NULL;

	if (*room)
		snprintf(question, sizeof(question),
		         release ? _("Release room [%s] (Enter: %s, other id, or -: cancel): ")
		                 : _("Lock down room [%s] (Enter: %s, other id, or -: cancel): "),
		         room, room);
	else
		g_strlcpy(question,
		          release ? _("Release room (empty: cancel): ")
		                  : _("Lock down room (empty: cancel): "),
		          sizeof(question));
	watch_prompt(question, answer, sizeof(answer));
	if (!*answer && *room)
		g_strlcpy(answer, room, sizeof(answer));
	if (!*answer || strcmp(answer, "-") == 0) {
		g_strlcpy(w->message, release ? _("release cancelled") : _("lockdown cancelled"),
		          sizeof(w->message));
		return;
	}
	json_t *args = json_pack("{s:s}", "room", answer);
	if (release)
		json_object_set_new(args, "release", json_true());
	if (ctl_request(w->ctl, WATCH_CMD_LOCKDOWN, args, &res, &err) != 0) {
		snprintf(w->message, sizeof(w->message),
		         release ? _("room %s NOT released: %s") : _("room %s NOT locked down: %s"),
		         answer, err->message);
		g_error_free(err);
		return;
	}
	snprintf(w->message, sizeof(w->message),
	         release ? _("room %s: release requested") : _("room %s: lockdown requested"),
	         answer);
	json_decref(res);
}

static void watch_select(struct watch *w, int step)
{
	int n = (int)json_array_size(w->alerts);

	if (!n)
		return;
	w->selected = CLAMP(w->selected + step, 0, n - 1);
	w->selected_id = member_int(json_array_get(w->alerts, (size_t)w->selected), "id");
}

int ctl_cmd_watch(struct ctl *ctl, int argc, char **argv)
{
	struct watch w = {.ctl = ctl, .reachable = true};
	int64_t next = 0;
	bool quit = false;

	if (argc > 1) {
		fprintf(stderr, _("evalroomctl watch: unexpected argument %s\n"), argv[1]);
		return 2;
	}
	if (ctl_want_json(ctl)) {
		fprintf(stderr, _("evalroomctl watch: a screen, not JSON: use rooms --json and "
		                  "alerts --open --json\n"));
		return 2;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, _("evalroomctl watch: needs a terminal\n"));
		return 2;
	}
	ctl_set_timeout(ctl, WATCH_TIMEOUT_S);
	if (!initscr()) {
		fprintf(stderr, _("evalroomctl watch: cannot start the screen (TERM?)\n"));
		return 2;
	}
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	timeout(100);
	while (!quit) {
		if (clock_mono_us() >= next) {
			watch_refresh(&w);
			watch_draw(&w);
			next = clock_mono_us() + WATCH_REFRESH_US;
		}
		int ch = getch();
		switch (ch) {
		case ERR:
			continue;
		case 'q':
		case 'Q':
			quit = true;
			continue;
		case KEY_UP:
		case 'k':
			watch_select(&w, -1);
			break;
		case KEY_DOWN:
		case 'j':
			watch_select(&w, 1);
			break;
		case 'a':
			watch_ack(&w);
			next = 0;
			break;
		case 'l':
			watch_lockdown(&w, false);
			next = 0;
			break;
		case 'r':
			watch_lockdown(&w, true);
			next = 0;
			break;
		case KEY_RESIZE:
			break;
		default:
			continue;
		}
		watch_draw(&w);
	}
	endwin();
	json_decref(w.rooms);
	json_decref(w.alerts);
	json_decref(w.venues);
	json_decref(w.counts);
	return 0;
}
