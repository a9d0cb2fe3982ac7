#include "ctl_table.h"

#include <glib.h>
#include <stdbool.h>

#include "text_width.h"

struct ctl_table {
	int ncols;
	GPtrArray *rows; /* of char ** (ncols strings each), the header first */
	int *width;
	gboolean *right;
};

static char **row_copy(int n, const char *const *cells)
{
	char **r = g_new0(char *, (gsize)n + 1);
	for (int i = 0; i < n; i++)
		r[i] = g_strdup(cells[i] ? cells[i] : "-");
	return r;
}

struct ctl_table *ctl_table_new(int ncols, const char *const *headers)
{
	struct ctl_table *t = g_new0(struct ctl_table, 1);
	t->ncols = ncols;
	t->rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
	t->width = g_new0(int, ncols);
	t->right = g_new0(gboolean, ncols);
	ctl_table_add(t, headers);
	return t;
}

void ctl_table_align_right(struct ctl_table *t, int col)
{
	if (col >= 0 && col < t->ncols)
		t->right[col] = TRUE;
}

void ctl_table_add(struct ctl_table *t, const char *const *cells)
{
	char **r = row_copy(t->ncols, cells);
	for (int i = 0; i < t->ncols; i++) {
		int w = text_width(r[i]);
		if (w > t->width[i])
			t->width[i] = w;
	}
	g_ptr_array_add(t->rows, r);
}

void ctl_table_print(const struct ctl_table *t, FILE *out)
{
	GString *line = g_string_new(NULL);
	for (guint k = 0; k < t->rows->len; k++) {
		char **r = g_ptr_array_index(t->rows, k);
		g_string_truncate(line, 0);
		for (int i = 0; i < t->ncols; i++) {
			bool last = i == t->ncols - 1;
			int pad = t->width[i] - text_width(r[i]);
			if (t->right[i])
				for (int s = 0; s < pad; s++)
					g_string_append_c(line, ' ');
			g_string_append(line, r[i]);
			if (!last && !t->right[i])
				for (int s = 0; s < pad; s++)
					g_string_append_c(line, ' ');
			if (!last)
				g_string_append(line, "  ");
		}
		fprintf(out, "%s\n", line->str);
	}
	g_string_free(line, TRUE);
}

void ctl_table_free(struct ctl_table *t)
{
	if (!t)
		return;
	g_ptr_array_free(t->rows, TRUE);
	g_free(t->width);
	g_free(t->right);
	g_free(t);
}
