/* evalroom-archive: the auditor's tool. Each subcommand lives in its own file. */
#ifndef EVALROOM_ARCHIVE_TOOL_H
#define EVALROOM_ARCHIVE_TOOL_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "reader.h"

/* Exit codes (also in --help and docs/archive-format.md). */
enum tool_exit {
	EXIT_INTACT = 0,   /* success; for verify: the archive is intact and fully signed */
	EXIT_TAMPERED = 1, /* verify / verify-proof found a problem (named on stderr) */
	EXIT_USAGE = 2,    /* bad command line */
	EXIT_BAD_FILE = 3, /* not an archive, truncated, unreadable, future format */
	EXIT_FAILED = 4,   /* an operation failed (I/O, export pipeline, ...) */
};

int cmd_info(int argc, char **argv);
int cmd_checkpoint(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_timeline(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_proof(int argc, char **argv);
int cmd_verify_proof(int argc, char **argv);
int cmd_verify_draw(int argc, char **argv);
int cmd_timestamp(int argc, char **argv);

/* Parses options for a subcommand; prints the error and returns 0 on failure. `nargs` is the
 * number of positional arguments required after the subcommand name. */
int tool_parse(int *argc, char ***argv, const char *params, const char *summary,
               const GOptionEntry *entries, int nargs);

/* Opens FILE for reading, printing a clear error. Returns NULL on failure (exit EXIT_BAD_FILE). */
struct archive_reader *tool_open(const char *path);

/* "evalroom-archive: " + message on stderr. */
void tool_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* tool_num: V printed into BUF (LEN bytes), for messages that take numbers as %s
 * (xgettext cannot read a G_GINT64_FORMAT inside a message). Returns BUF. */
const char *tool_num(char *buf, size_t len, int64_t v);

#endif
