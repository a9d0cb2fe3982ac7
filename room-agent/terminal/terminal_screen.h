/* The full-screen ncurses view of a seat (an 80x24 terminal is enough). */
#pragma once
#include <glib.h>

#include "terminal_view.h"

struct terminal_screen;

/* terminal_screen_new: take over the controlling terminal (stdin/stdout) in raw mode, so
 * Ctrl-C or Ctrl-Z typed by the expert cannot end the kiosk. Returns NULL with *err set
 * when stdin/stdout is not a terminal. terminal_screen_free restores it. */
struct terminal_screen *terminal_screen_new(GError **err);
void terminal_screen_free(struct terminal_screen *s);

/* The view ops; ctx is the struct terminal_screen *. */
extern const struct terminal_view_ops terminal_screen_view_ops;

/* terminal_screen_read_key: the next pending keystroke as a terminal_key code, or -1 when
 * none is pending. Handles terminal resizes itself (redraws the last screen). */
int terminal_screen_read_key(struct terminal_screen *s);
