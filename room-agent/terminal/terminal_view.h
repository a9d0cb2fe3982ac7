/* What a seat's screen shows, as data: the state machine fills a terminal_view and
 * hands it to a view backend (ncurses screen, --batch lines, or a test's recorder).
 * terminal_view_lines turns it into the text lines both real backends show, so the
 * full-screen kiosk and --batch always say the same thing. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "terminal_proto.h"

#define TERMINAL_VIEW_LINES    12
#define TERMINAL_VIEW_LINE_MAX 256

struct terminal_view {
	enum terminal_state state;
	const char *room;
	const char *seat;
	size_t code_len;         /* characters typed so far (shown masked) */
	bool confirm_logout;     /* "log out? y/n" is being asked */
	bool agent_unreachable;  /* banner */
	const char *message;     /* result or notice line, "" when none */
	const char *person_name; /* logged in / break */
	const char *tender_id;
	const char *tender_name;
	const char *lock_reason; /* operator lock */
};

struct terminal_view_ops {
	/* render: show V (borrowed for the call only). */
	void (*render)(void *ctx, const struct terminal_view *v);
};

/* A screen as lines. title is the big headline; banner is "" unless the agent is
 * unreachable; lines[0..nlines) are the body, top to bottom. */
struct terminal_view_text {
	char banner[TERMINAL_VIEW_LINE_MAX];
	char title[TERMINAL_VIEW_LINE_MAX];
	char lines[TERMINAL_VIEW_LINES][TERMINAL_VIEW_LINE_MAX];
	unsigned nlines;
	char keys[TERMINAL_VIEW_LINE_MAX]; /* the actions offered, bottom line */
};

/* terminal_view_lines: the text of V's screen into *out. */
void terminal_view_lines(const struct terminal_view *v, struct terminal_view_text *out);
