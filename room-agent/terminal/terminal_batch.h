/* The --batch view: each new screen as one plain line on a stream, for automation:
 *   screen=<state> | [banner: ...] | <title> | <body lines...> | keys: <actions>
 * Empty lines are left out; an unchanged screen is not printed again. */
#pragma once
#include <stdio.h>

#include "terminal_view.h"

struct terminal_batch {
	FILE *out;
	char *last;
};

/* The view ops; ctx is a struct terminal_batch * whose OUT is set (last starts NULL and
 * is g_free'd by the owner). */
extern const struct terminal_view_ops terminal_batch_view_ops;

/* terminal_batch_format: the line for V (g_free). */
char *terminal_batch_format(const struct terminal_view *v);
