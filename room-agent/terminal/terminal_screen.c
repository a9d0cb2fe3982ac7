#include "terminal_screen.h"

#include <curses.h>
#include <gio/gio.h>
#include <glib/gi18n.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#include "big_text.h"
#include "terminal.h"

struct terminal_screen {
	struct terminal_view_text text;
	char big[40]; /* the seat in block letters on the screens without a person, or "" */
	bool have_text;
	bool colors;
};

enum { PAIR_BANNER = 1, PAIR_TITLE, PAIR_KEYS };

struct terminal_screen *terminal_screen_new(GError **err)
{
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
		            _("the screen needs a terminal on stdin and stdout (or use --batch)"));
		return NULL;
	}
	if (!newterm(NULL, stdout, stdin)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
		            _("cannot initialise the terminal (TERM=%s)"),
		            g_getenv("TERM") ? g_getenv("TERM") : "");
		return NULL;
	}
	struct terminal_screen *s = g_new0(struct terminal_screen, 1);
	raw();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	if (has_colors()) {
		start_color();
		use_default_colors();
		init_pair(PAIR_BANNER, COLOR_WHITE, COLOR_RED);
		init_pair(PAIR_TITLE, COLOR_CYAN, -1);
		init_pair(PAIR_KEYS, COLOR_BLACK, COLOR_WHITE);
		s->colors = true;
	}
	return s;
}

void terminal_screen_free(struct terminal_screen *s)
{
	if (!s)
		return;
	endwin();
	g_free(s);
}

/* Display columns of UTF-8 text S (names may be CJK, two columns per character). */
static int text_width(const char *s)
{
	size_t n = mbstowcs(NULL, s, 0);
	if (n == (size_t)-1)
		return (int)strlen(s);
	wchar_t *w = g_new(wchar_t, n + 1);
	mbstowcs(w, s, n + 1);
	int width = wcswidth(w, n);
	g_free(w);
	return width < 0 ? (int)n : width;
}

static void put_centered(int row, const char *s, attr_t attr)
{
	int w = text_width(s);
	int x = w < COLS ? (COLS - w) / 2 : 0;
	attron(attr);
	mvaddstr(row, x, s);
	attroff(attr);
}

static void fill_row(int row, attr_t attr)
{
	attron(attr);
	mvhline(row, 0, ' ', COLS);
	attroff(attr);
}

static void draw(struct terminal_screen *s)
{
	const struct terminal_view_text *t = &s->text;
	erase();
	if (t->banner[0]) {
		attr_t a = A_BOLD | (s->colors ? COLOR_PAIR(PAIR_BANNER) : A_REVERSE);
		fill_row(0, a);
		put_centered(0, t->banner, a);
	}
	put_centered(1, _("evalroom - bid evaluation workstation"), A_DIM);
	int top = LINES >= 24 ? 4 : 2;
	if (COLS > 4 && LINES > top + 4) {
		mvhline(top - 1, 2, ACS_HLINE, COLS - 4);
		mvhline(LINES - 4, 2, ACS_HLINE, COLS - 4);
	}
	put_centered(top + 1, t->title, A_BOLD | (s->colors ? COLOR_PAIR(PAIR_TITLE) : 0));
	int row = top + 3;
	int big_w = s->big[0] ? big_text_width(s->big) : -1;
	if (big_w > 0 && big_w <= COLS - 4 && LINES >= 24) {
		for (int r = 0; r < BIG_TEXT_ROWS; r++) {
			char pixels[128];
			big_text_row(s->big, r, pixels, sizeof(pixels));
			int x = (COLS - big_w) / 2;
			for (int i = 0; pixels[i]; i++)
				mvaddch(row + r, x + i, pixels[i] == '#' ? ' ' | A_REVERSE : ' ');
		}
		row += BIG_TEXT_ROWS + 1;
	}
	for (unsigned i = 0; i < t->nlines && row < LINES - 4; i++, row++)
		put_centered(row, t->lines[i], i == 0 ? A_BOLD : A_NORMAL);
	if (t->keys[0]) {
		attr_t a = s->colors ? COLOR_PAIR(PAIR_KEYS) : A_REVERSE;
		fill_row(LINES - 2, a);
		put_centered(LINES - 2, t->keys, a);
	}
	refresh();
}

static void screen_render(void *ctx, const struct terminal_view *v)
{
	struct terminal_screen *s = ctx;
	terminal_view_lines(v, &s->text);
	bool anonymous = v->state != TERMINAL_STATE_LOGGED_IN && v->state != TERMINAL_STATE_BREAK;
	g_snprintf(s->big, sizeof(s->big), "SEAT %s", v->seat);
	if (!anonymous || big_text_width(s->big) > 76)
		g_snprintf(s->big, sizeof(s->big), "%s", anonymous ? v->seat : "");
	s->have_text = true;
	draw(s);
}

const struct terminal_view_ops terminal_screen_view_ops = {
    .render = screen_render,
};

int terminal_screen_read_key(struct terminal_screen *s)
{
	for (;;) {
		int c = getch();
		switch (c) {
		case ERR:
			return -1;
		case KEY_RESIZE:
			if (s->have_text)
				draw(s);
			continue;
		case KEY_ENTER:
		case '\r':
		case '\n':
			return TERMINAL_KEY_ENTER;
		case KEY_BACKSPACE:
		case KEY_DC:
		case 127:
		case '\b':
			return TERMINAL_KEY_BACKSPACE;
		case 27:
			return TERMINAL_KEY_ESCAPE;
		default:
			if (c > 0 && c < 127)
				return c;
			continue; /* function keys and the like mean nothing here */
		}
	}
}
