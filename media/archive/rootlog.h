/* The site's root log: every checkpoint the controller signs, published outside the archive
 * as it is made, in an append-only text file with its own hash chain and a signature per
 * line, so that a tender archive truncated (with its newest checkpoints) or rewritten after
 * the fact is seen to be behind, or forked from, what was published. Specified in
 * docs/archive-format.md ("The root log").
 *
 * One line per checkpoint:
 *   <index> <time_us> <tender> <size> <root hex> <prev hex> <signature base64>
 * The signed message of a line is "evalroom-roots v1\n" followed by the line's first six
 * fields and "\n"; the line's hash is the SHA-256 of that message, and <prev> is the hash
 * of the line before it (64 zeros for line 0). */
#ifndef EVALROOM_ARCHIVE_ROOTLOG_H
#define EVALROOM_ARCHIVE_ROOTLOG_H
#include <glib.h>
#include <stdint.h>

#include "signing.h"

struct rootlog;

/* Errors of this module: the code is an errno value. */
GQuark rootlog_error_quark(void);

struct rootlog_entry {
	uint64_t index;
	int64_t time_us;
	char tender[65];
	uint64_t size;
	uint8_t root[32];
	uint8_t prev[32];
	uint8_t hash[32]; /* of this entry's signed message */
	uint8_t sig[64];  /* Ed25519 signature of the signed message */
};

/* rootlog_line: E as its line in the log (no newline); g_free it. */
char *rootlog_line(const struct rootlog_entry *e);

/* rootlog_open: opens the log at PATH for appending, signing with SIGNER (borrowed), creating
 * it (mode 0640) when missing. An existing log is read through and its chain checked (not
 * its signatures: the key may have changed); a broken chain or a half-written last line is
 * refused with -EBADMSG and nothing is appended. 0, -EBADMSG, -EIO with *err set. */
int rootlog_open(const char *path, struct archive_signer *signer, struct rootlog **out,
                 GError **err);
void rootlog_free(struct rootlog *l);

/* rootlog_append: appends the checkpoint (TENDER, SIZE, ROOT) made at TIME_US, durably
 * (fsync) before it returns 0; *OUT (may be NULL) receives the entry. -EIO with *err. */
int rootlog_append(struct rootlog *l, const char *tender, uint64_t size, const uint8_t root[32],
                   int64_t time_us, struct rootlog_entry *out, GError **err);

/* rootlog_read: reads and checks the whole log at PATH: line syntax, the hash chain, and,
 * when KEY is given, every line's signature. Calls FN for each entry in order (FN may be
 * NULL). 0, or -EBADMSG naming the first bad line, -ENOENT, -EIO, with *err set. */
typedef void (*rootlog_fn)(const struct rootlog_entry *e, void *user);
/* rootlog_read_history: the same, each line's signature (when KEY is given) checked by the
 * key HISTORY (key_history.h; NULL: none) has in use at the line's time, so a log that spans
 * a key rotation reads whole; KEY only vouches for lines of a time the history does not
 * cover (none, once it holds a rotation). */
struct key_history;
int rootlog_read_history(const char *path, const struct archive_pubkey *key,
                         const struct key_history *history, rootlog_fn fn, void *user,
                         GError **err);
int rootlog_read(const char *path, const struct archive_pubkey *key, rootlog_fn fn, void *user,
                 GError **err);

#endif
