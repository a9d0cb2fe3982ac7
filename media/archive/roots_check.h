/* An archive's leaves against what the site's root log published for its tender
 * (rootlog.h): whether the file is behind, or forked from, any published checkpoint. Used by
 * `evalroom-archive verify --roots` and by the controller before it hands a sealed archive
 * out (evalroomctl archive fetch). */
#ifndef EVALROOM_ARCHIVE_ROOTS_CHECK_H
#define EVALROOM_ARCHIVE_ROOTS_CHECK_H
#include <glib.h>
#include <stdint.h>

#include "rootlog.h"
#include "signing.h"

struct roots_check {
	uint64_t published;   /* checkpoints of the tender in the log */
	uint64_t latest_size; /* the largest published size (0: none) */
	uint8_t latest_root[32];
	uint64_t latest_index; /* its line in the log */
	char *problem;         /* the first inconsistency (g_free), or NULL */
};

/* roots_check_archive: reads the root log at LOG (signatures checked when KEY) and compares
 * each checkpoint published for TENDER with the archive whose recomputed leaf hashes are
 * LEAF_HASHES (32 bytes each, in tree order). Fills *out (problem NULL when consistent).
 * 0 when the log was read (consistent or not: see out->problem), or -EBADMSG / -EIO / -ENOENT
 * when the log itself is unreadable or broken, with *err. */
int roots_check_archive(const char *log, const struct archive_pubkey *key, const char *tender,
                        const GByteArray *leaf_hashes, struct roots_check *out, GError **err);

/* roots_check_archive_history: the same, the log's lines checked against the key HISTORY has
 * in use at each line's time (rootlog_read_history; NULL: KEY alone). */
struct key_history;
int roots_check_archive_history(const char *log, const struct archive_pubkey *key,
                                const struct key_history *history, const char *tender,
                                const GByteArray *leaf_hashes, struct roots_check *out,
                                GError **err);

/* roots_check_entry: one published checkpoint E (from the log, or as the controller
 * reported it: docs/archives.md, "Transfer") compared with the archive of TENDER whose leaf
 * hashes are LEAF_HASHES; an entry of another tender is skipped. Accumulates into *out
 * (zeroed before the first entry); out->problem is set by the first inconsistency. */
void roots_check_entry(const struct rootlog_entry *e, const char *tender,
                       const GByteArray *leaf_hashes, struct roots_check *out);

#endif
