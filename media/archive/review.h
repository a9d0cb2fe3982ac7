/* The operations office's review of a tender's recordings after the project (the draw
 * room's footage, docs/staff.md section 9): who, when and their note, kept in the archive's
 * appendix table reviews (appendix.h), so a review made after the seal is in the file
 * without changing a sealed byte. Each row is signed by the controller's archive key
 * (the checkpoints' Ed25519 key, meta.signing_pubkey) over exactly
 *
 *     "evalroom review v1\n" "tender " T "\n" "subject " S "\n" "reviewed_by " ID "\n"
 *     "reviewed_at " US "\n" "note " N "\n" <the N bytes of the note> "\n"
 *
 * (the note length-prefixed as in the archive's leaves), so it proves itself. */
#ifndef EVALROOM_ARCHIVE_REVIEW_H
#define EVALROOM_ARCHIVE_REVIEW_H

#include <sqlite3.h>
#include <stdint.h>

#include "signing.h"

#define REVIEW_TABLE "reviews"
/* The subject of a review of the draw room's footage. */
#define REVIEW_DRAW_ROOM "draw_room"

/* review_message: the signed bytes of a review: new text (g_free). */
char *review_message(const char *tender, const char *subject, const char *by, int64_t at_us,
                     const char *note);

/* review_append: SIGNER signs the review of TENDER's SUBJECT by BY at AT_US with NOTE and
 * appends it to the archive at PATH (sealed or not). 0 or -errno with *why (new). */
int review_append(const char *path, const struct archive_signer *signer, const char *tender,
                  const char *subject, const char *by, int64_t at_us, const char *note, char **why);

struct key_history;

/* review_verify: checks every review row of the archive on DB against the archive key in use
 * at the review's time per HISTORY (the controller's key history, --key-history; NULL: the
 * archive's own key_history rows) and not revoked then; without a key history against KEY (the
 * archive's checkpoint key; NULL: the key recorded in meta.signing_pubkey). Returns the number
 * of rows (0 when there is no appendix table), or -EIO; *REPORT (new, "" when no rows) one
 * line per row: "review of S by ID at US: signed by the archive key[ ID, in use then]" or
 * "INVALID: ..." naming the fault (a revoked or replaced key with its time); *BAD the number
 * of invalid rows. */
int review_verify(sqlite3 *db, const struct archive_pubkey *key, const struct key_history *history,
                  char **report, int *bad);

#endif
