#include "terminal_batch.h"

#include <glib.h>
#include <string.h>

char *terminal_batch_format(const struct terminal_view *v)
{
	struct terminal_view_text t;
	terminal_view_lines(v, &t);
	GString *s = g_string_new("screen=");
	g_string_append(s, terminal_state_name(v->state));
	if (t.banner[0])
		g_string_append_printf(s, " | banner: %s", t.banner);
	g_string_append_printf(s, " | %s", t.title);
	for (unsigned i = 0; i < t.nlines; i++)
		if (t.lines[i][0])
			g_string_append_printf(s, " | %s", t.lines[i]);
	if (t.keys[0])
		g_string_append_printf(s, " | keys: %s", t.keys);
	return g_string_free(s, FALSE);
}

static void batch_render(void *ctx, const struct terminal_view *v)
{
	struct terminal_batch *b = ctx;
	char *line = terminal_batch_format(v);
	if (b->last && strcmp(b->last, line) == 0) {
		g_free(line);
		return;
	}
	fprintf(b->out, "%s\n", line);
	fflush(b->out);
	g_free(b->last);
	b->last = line;
}

const struct terminal_view_ops terminal_batch_view_ops = {
    .render = batch_render,
};
