/* evalroom-archive: the auditor's tool. Each subcommand lives in its own file. */
#ifndef EVALROOM_ARCHIVE_TOOL_H
#define EVALROOM_ARCHIVE_TOOL_H

#include <glib.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "reader.h"
#include "signing.h"

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
int cmd_package(int argc, char **argv);
int cmd_verify_package(int argc, char **argv);

/* What export_clip made. */
struct export_result {
	int64_t segments, first_us, last_us; /* segments remuxed, first start, last end */
	char *codec; /* the video caps name ("video/x-h264", "video/x-h265") or NULL; g_free */
};

/* export_clip (cmd_export.c): remuxes the segments of STREAM overlapping [FROM, TO) into the
 * MP4 at MP4, each segment's SHA-256 checked first; LIST prints each segment row used. Calls
 * gst_init; the caller calls gst_deinit once when res->segments > 0. 0 and *res (its codec is
 * the caller's), -ENOENT (no segment in the range), -EBADMSG (a segment's media does not
 * match its hash, named on stderr), -EIO. */
int export_clip(sqlite3 *db, const char *stream, int64_t from, int64_t to, const char *mp4,
                int list, struct export_result *res);

/* proof_build (cmd_proof.c): the proof.json object (format "evalroom-archive proof v1") of
 * segments row ID against checkpoints row CP_ROW (<= 0: the last), with LEAF_HASHES the
 * verified leaf hashes (archive_verify_report). A new reference, or NULL when the row or
 * checkpoint is missing or the checkpoint does not cover the segment. */
json_t *proof_build(sqlite3 *db, const GByteArray *leaf_hashes, int64_t id, int64_t cp_row);

/* proof_segment_bytes: the segment's bytes, reassembled from its chunks (g_byte_array_unref). */
GByteArray *proof_segment_bytes(sqlite3 *db, int64_t id);

/* proof_check: checks proof P (leaf, audit path to the root, the checkpoint body naming that
 * tender, size and root, its signature by KEY, and when SEG_PATH is given that file's size and
 * SHA-256). NULL when it holds, else a static sentence naming what failed. */
const char *proof_check(json_t *p, const struct archive_pubkey *key, const char *seg_path);

/* timeline_collect (cmd_timeline.c): the timeline items in [FROM, TO) (events and the draw
 * inside it, recorded spans and gaps overlapping it), in time order, as a new JSON array in
 * *json and as display-safe lines appended to TEXT. 0 or -EIO (sqlite). */
int timeline_collect(sqlite3 *db, int64_t from, int64_t to, json_t **json, GString *text);

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

/* tool_time: UTC_US as a person reads it, in the zone of $EVALROOM_TIME_ZONE (default
 * Asia/Shanghai) with the offset written out ("2026-12-07 19:20:05 +08:00"), into BUF
 * (LEN bytes, at least 40), as evalroomctl shows times (local_time.h). For the summaries
 * people read (info, verify); the timeline lists the records with their UTC times as
 * stored. Returns BUF. */
const char *tool_time(char *buf, size_t len, int64_t utc_us);

#endif
