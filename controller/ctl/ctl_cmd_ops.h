/* evalroomctl subcommands of the operator's day-one operations (ops.h): site import,
 * session create, tender add, committee import, draw commit|show|abandon|run|replace|export, audit. */
#pragma once
#include <glib.h>
#include <jansson.h>

#include "ctl.h"

/* The subcommands, terminated by a zeroed entry (for ctl_command_tables). */
extern const struct ctl_command ops_ctl_commands[];
/* tender close, archives (ctl_cmd_tender.c). */
extern const struct ctl_command tender_ctl_commands[];
/* archive fetch|access-log|custody-log|hold|release|delete (ctl_cmd_archive.c). */
extern const struct ctl_command archive_ctl_commands[];

/* Helpers shared by the ctl_cmd_*.c files. */

/* ctl_archive_fetch: retrieves the sealed archive of TENDER for REASON into the new file
 * OUT in CHUNK-byte requests, resuming OUT.part when it holds the same archive (*resumed:
 * the bytes it held), and keeps it only once its SHA-256 is the one the controller
 * verified. 0 with *result (the archive.fetch answer: tender, file, bytes, sha256,
 * tree_size, root, root_log_line, fetch; caller decref's), or the exit code after printing
 * the fault. */
int ctl_archive_fetch(struct ctl *ctl, const char *what, const char *tender, const char *reason,
                      const char *out, int chunk, json_t **result, gint64 *resumed);

/* ctl_ops_parse: parse the subcommand's options ENTRIES out of ARGC and ARGV (argv[0] is
 * the subcommand name); then exactly NPOS positional arguments must remain. Returns 0,
 * or the exit code after printing the usage fault. */
int ctl_ops_parse(struct ctl *ctl, const char *what, const GOptionEntry *entries, int *argc,
                  char ***argv, int npos);
/* ctl_ops_call: ctl_request COMMAND with ARGS (stolen); 0 with *res (caller decref's),
 * or the exit code after printing the failure. */
int ctl_ops_call(struct ctl *ctl, const char *what, const char *command, json_t *args,
                 json_t **res);
/* ctl_ops_local_fail: a local fault (file, usage) as exit code 2, printed like ctl_fail. */
int ctl_ops_local_fail(struct ctl *ctl, const char *what, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* The subcommands' run functions (ctl_cmd_day.c, ctl_cmd_draw.c). */
int ctl_cmd_site_import(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_session_create(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_tender_add(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_committee_import(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_audit(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_draw_commit(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_draw_run(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_draw_show(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_draw_abandon(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_draw_replace(struct ctl *ctl, int argc, char **argv);
int ctl_cmd_draw_export(struct ctl *ctl, int argc, char **argv);

/* ctl_ops_run_simple: one request COMMAND (WHAT in messages) with the options ENTRIES and
 * NPOS positional arguments; ARGS_OF builds its arguments from VALUES (the options' values)
 * and POS (the positional ones), NULL when one that must be given is missing. Prints the
 * result as JSON or through PRINT. 0 or the exit code. */
int ctl_ops_run_simple(struct ctl *ctl, const char *what, const char *command,
                       const GOptionEntry *entries, int argc, char **argv, int npos,
                       json_t *(*args_of)(char **values, char **pos), char **values,
                       void (*print)(const json_t *res));
