/* Plain-text tables for evalroomctl's human output: each column as wide as its widest
 * cell in display columns, so Chinese names and headers line up as English ones do. */
#pragma once
#include <stdio.h>

struct ctl_table;

/* ctl_table_new: a table with the NCOLS column HEADERS (copied; translate them before). */
struct ctl_table *ctl_table_new(int ncols, const char *const *headers);
/* ctl_table_align_right: numbers in column COL line up on the right. */
void ctl_table_align_right(struct ctl_table *t, int col);
/* ctl_table_add: one row of NCOLS cells (copied; NULL prints "-"). */
void ctl_table_add(struct ctl_table *t, const char *const *cells);
/* ctl_table_print: the header and the rows on OUT, columns two spaces apart, the last
 * column unpadded. */
void ctl_table_print(const struct ctl_table *t, FILE *out);
void ctl_table_free(struct ctl_table *t);
