/* Text that reaches a person's screen: names, notes and messages from the network, the
 * state database or an archive file can carry terminal escape sequences (ESC ...: a
 * changed window title, a cleared screen), newlines that fake a line of output, or
 * Unicode bidirectional controls (U+202E) that show text in another order than it is.
 * Display code shows such text through text_display; importers refuse it with
 * text_clean. */
#pragma once
#include <jansson.h>
#include <stdbool.h>

/* text_display: a new string (g_free) showing S safely on one line of a terminal: every
 * C0 control (newline and tab included), DEL, C1 control, bidirectional formatting
 * character (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) and line or
 * paragraph separator (U+2028, U+2029) is shown as a visible escape (\x1b, \u{202E}),
 * and each byte of invalid UTF-8 as \xHH. Clean text comes back unchanged. NULL gives
 * "". */
char *text_display(const char *s);
/* text_display_json: replace every string in V (objects and arrays, recursively; not the
 * keys) by its text_display form, in place. */
void text_display_json(json_t *v);
/* text_clean: whether S is valid UTF-8 without any of the characters text_display
 * escapes: what an imported name or a note must be. */
bool text_clean(const char *s);
