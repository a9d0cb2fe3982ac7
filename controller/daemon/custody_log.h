/* The site's custody log (state_dir/custody.log): what happened to the sealed archives
 * after their seal, one signed record a line, in an append-only file with its own hash
 * chain, like the root log: every fetch (who, when, why, which file, its SHA-256), each
 * archive's retention, evidence holds and their release, deletions. Specified in
 * docs/archives.md ("The custody log").
 *
 * A line is a JSON object (members sorted, no spaces) holding the record's own members and
 *   "index" (0, 1, ...), "prev" (hex SHA-256 of the line before's signed message; 64 zeros
 *   for line 0) and "sig" (base64 Ed25519 signature).
 * Its signed message is "evalroom-custody v1\n" + the line without "sig" (members sorted, no
 * spaces) + "\n", so `openssl pkeyutl -verify -rawin` checks a line alone. Main loop only. */
#pragma once
#include <glib.h>
#include <jansson.h>

#include "signing.h"

struct custody_log;

/* custody_log_open: opens the log at PATH (created mode 0600 when missing) for appending,
 * signing with SIGNER (borrowed). An existing log is read through and its chain checked (a
 * broken chain or a half-written last line is refused, nothing appended). With KEY, every
 * line's signature is checked too: by KEY, or by any key of HISTORY (the key history, borrowed,
 * may be NULL) for lines written before a rotation. 0, -EBADMSG, -EIO with *err. */
struct key_history;
int custody_log_open(const char *path, struct archive_signer *signer,
                     const struct archive_pubkey *key, const struct key_history *history,
                     struct custody_log **out, GError **err);
void custody_log_free(struct custody_log *l);

/* custody_log_append: appends RECORD (borrowed; a JSON object with at least "kind" and
 * "time_us", without "index", "prev", "sig"), durably (fsync) before it returns 0. The
 * record as written (index, prev and sig added) is kept in the log's list. -EIO with *err:
 * nothing appended. */
int custody_log_append(struct custody_log *l, const json_t *record, GError **err);

/* custody_log_records: every record in order (borrowed array of the written objects). */
const json_t *custody_log_records(const struct custody_log *l);
