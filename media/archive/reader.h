/* Read-only access to an archive file for the auditor's tool: validates the file before
 * SQLite sees it, so a truncated, foreign or future-format file gets a clear error. */
#ifndef EVALROOM_ARCHIVE_READER_H
#define EVALROOM_ARCHIVE_READER_H

#include <sqlite3.h>

struct archive_reader;

/* Opens `path` read-only (never modifies it). On failure returns -ENOENT, -EACCES,
 * -ENOTSUP (future format version), -EBADMSG (not an archive, truncated, corrupt) and sets
 * *err to a sentence naming the problem (caller g_frees). On success *out (archive_reader_free). */
int archive_reader_open(const char *path, struct archive_reader **out, char **err);
void archive_reader_free(struct archive_reader *r);

/* The read-only connection (owned by the reader). */
sqlite3 *archive_reader_db(const struct archive_reader *r);
const char *archive_reader_path(const struct archive_reader *r);
/* The file's format version (PRAGMA user_version, as its header says). */
int archive_reader_version(const struct archive_reader *r);

#endif
