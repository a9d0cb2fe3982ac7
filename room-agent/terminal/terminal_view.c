#include "terminal_view.h"

#include <glib.h>
#include <glib/gi18n.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

G_GNUC_PRINTF(2, 3)
static void add_line(struct terminal_view_text *t, const char *fmt, ...)
{
	if (t->nlines >= TERMINAL_VIEW_LINES)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->lines[t->nlines++], TERMINAL_VIEW_LINE_MAX, fmt, ap);
	va_end(ap);
}

static void add_code_field(struct terminal_view_text *t, size_t n)
{
	char stars[TERMINAL_CODE_MAX + 1];
	size_t i;
	for (i = 0; i < n && i < TERMINAL_CODE_MAX; i++)
		stars[i] = '*';
	stars[i] = '\0';
	add_line(t, _("Code: [%s]"), stars);
}

void terminal_view_lines(const struct terminal_view *v, struct terminal_view_text *t)
{
	memset(t, 0, sizeof(*t));
	if (v->agent_unreachable)
		snprintf(t->banner, sizeof(t->banner),
		         _("ROOM AGENT UNREACHABLE - please wait or call the attendant"));
	const char *msg = v->message ? v->message : "";

	switch (v->state) {
	case TERMINAL_STATE_LOCKED:
		snprintf(t->title, sizeof(t->title), _("Room %s  Seat %s"), v->room, v->seat);
		add_line(t, _("This seat is locked."));
		add_line(t, _("Please enter your login code and press Enter."));
		add_line(t, "%s", "");
		add_code_field(t, v->code_len);
		if (*msg) {
			add_line(t, "%s", "");
			add_line(t, "%s", msg);
		}
		snprintf(t->keys, sizeof(t->keys), _("Enter: log in   Backspace: correct"));
		break;
	case TERMINAL_STATE_CHECKING:
		snprintf(t->title, sizeof(t->title), _("Room %s  Seat %s"), v->room, v->seat);
		add_line(t, _("Checking your login code..."));
		break;
	case TERMINAL_STATE_LOGGED_IN:
		snprintf(t->title, sizeof(t->title), _("Welcome, %s"), v->person_name);
		add_line(t, _("Room %s  Seat %s"), v->room, v->seat);
		add_line(t, _("Tender %s: %s"), v->tender_id, v->tender_name);
		if (*msg) {
			add_line(t, "%s", "");
			add_line(t, "%s", msg);
		}
		if (v->confirm_logout) {
			add_line(t, "%s", "");
			add_line(t, _("Log out now? Press Y to log out, N to stay."));
			snprintf(t->keys, sizeof(t->keys), _("Y: log out   N: stay"));
		} else {
			snprintf(t->keys, sizeof(t->keys),
			         _("L: log out   H: call for help   B: take a break"));
		}
		break;
	case TERMINAL_STATE_BREAK:
		snprintf(t->title, sizeof(t->title), _("On break"));
		add_line(t, _("%s - Room %s  Seat %s"), v->person_name, v->room, v->seat);
		add_line(t, _("Tender %s: %s"), v->tender_id, v->tender_name);
		add_line(t, _("Your break has been recorded."));
		if (*msg)
			add_line(t, "%s", msg);
		snprintf(t->keys, sizeof(t->keys), _("R: return from the break"));
		break;
	case TERMINAL_STATE_OPERATOR_LOCKED:
		snprintf(t->title, sizeof(t->title), _("Seat locked by the operator"));
		add_line(t, _("Room %s  Seat %s"), v->room, v->seat);
		add_line(t, _("Reason: %s"),
		         v->lock_reason && *v->lock_reason ? v->lock_reason : "-");
		add_line(t, _("Please wait for the operator or call the attendant."));
		break;
	case TERMINAL_STATE_BLOCKED:
		snprintf(t->title, sizeof(t->title), _("Seat locked: call the attendant"));
		add_line(t, _("Room %s  Seat %s"), v->room, v->seat);
		add_line(t, _("Too many wrong login codes were entered at this seat."));
		if (*msg)
			add_line(t, "%s", msg);
		break;
	}
}
