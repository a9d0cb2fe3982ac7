/* The appendix of a tender archive: tables outside the Merkle tree whose rows each prove
 * themselves with a signature (the witness log's signatures, witness_log.h; the reviews of
 * its recordings, review.h; the cosignatures of its checkpoints, cosignature.h). They are added after the seal too: a sealed (read-only, 0444)
 * file is made writable for the append and read-only again at once, so every leaf, every
 * checkpoint and the seal stay exactly as they were (docs/archive-format.md). */
#ifndef EVALROOM_ARCHIVE_APPENDIX_H
#define EVALROOM_ARCHIVE_APPENDIX_H

#include <sqlite3.h>
#include <sys/types.h>

struct appendix_tx {
	sqlite3 *db;
	const char *path;
	mode_t mode; /* the file's mode before the append */
	int sealed;  /* it was read-only: made so again at the end */
};

/* appendix_begin: opens the archive at PATH for an append (made writable when sealed), in a
 * transaction (rollback journal DELETE, synchronous FULL), and runs CREATE_SQL (the
 * appendix table's CREATE TABLE IF NOT EXISTS). 0 with TX ready (its db to insert with),
 * or -errno with *why (new); TX needs no appendix_end then. */
int appendix_begin(const char *path, const char *create_sql, struct appendix_tx *tx, char **why);

/* appendix_end: commits when RC is 0 (else rolls back), closes, and makes a sealed file
 * read-only again; the journal is gone afterwards. Returns RC, or -EIO with *why (new)
 * when the commit failed. */
int appendix_end(struct appendix_tx *tx, int rc, char **why);

#endif
