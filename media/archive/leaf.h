/* The exact bytes of each Merkle leaf and of a checkpoint body (docs/archive-format.md),
 * shared by the writer and the verifier so both hash the same thing. */
#ifndef EVALROOM_ARCHIVE_LEAF_H
#define EVALROOM_ARCHIVE_LEAF_H

#include <glib.h>
#include <stdint.h>

#include "archive.h"

/* Each returns the leaf data in a new GByteArray (caller frees with g_byte_array_unref). */
GByteArray *leaf_tender_data(const struct archive_tender *t);
GByteArray *leaf_draw_data(const char *record, int64_t time_us);
GByteArray *leaf_event_data(const struct archive_event *ev);
GByteArray *leaf_segment_data(const struct archive_segment_info *s);
GByteArray *leaf_gap_data(const struct archive_gap *g);

/* Field checks: NULL when valid, else a static text naming what is wrong. */
const char *leaf_check_tender(const struct archive_tender *t);
/* leaf_tender_id_valid: 1 when S is a tender (or session) identifier of the format,
 * [A-Za-z0-9][A-Za-z0-9_.-]{0,63}, else 0. */
int leaf_tender_id_valid(const char *s);
const char *leaf_check_event(const struct archive_event *ev);
const char *leaf_check_segment(const struct archive_segment_info *s);
const char *leaf_check_gap(const struct archive_gap *g);

/* The checkpoint body text (newly allocated, g_free):
 * "evalroom-archive checkpoint v1\ntender T\nsize N\nroot HEX\ntime ISO8601Z\n". */
char *checkpoint_body(const char *tender, uint64_t size, const uint8_t root[32], int64_t time_us);

/* checkpoint_origin: the C2SP origin line (and note key name) of a tender's checkpoints,
 * "SITE/evalroom/TENDER" (format version 2); a new string (g_free). */
char *checkpoint_origin(const char *site, const char *tender);

/* What a format version 2 checkpoint states (docs/archive-format.md, "Checkpoints"). */
struct checkpoint_fields {
	const char *origin;      /* checkpoint_origin() */
	uint64_t size;           /* tree size */
	const uint8_t *root;     /* 32 bytes: the root of the first `size` leaves */
	int64_t time_us;         /* when it was made */
	const uint8_t *prev;     /* 32 bytes: SHA-256 of the previous checkpoint's body, or zeros */
	const uint8_t *key_hash; /* 32 bytes: SHA-256 of the raw Ed25519 key that signs it */
	const uint8_t *key2_hash; /* 32 bytes: SHA-256 of the second key's DER SPKI, or NULL */
	int64_t sealed_us;        /* the seal time on the sealing checkpoint, else -1 */
};

/* checkpoint_sha256: SHA-256 of LEN bytes at DATA into OUT (a checkpoint body for the next
 * one's prev line; a raw public key for the key line). */
void checkpoint_sha256(const void *data, size_t len, uint8_t out[32]);

/* checkpoint_line_value: the value of the line "KEY VALUE" of checkpoint BODY (e.g. "key",
 * "key2", "time", "prev"), a new string (g_free), or NULL when it has none. */
char *checkpoint_line_value(const char *body, const char *key);

/* checkpoint_body_v2: the C2SP checkpoint note text of F (origin, size, base64 root, then the
 * extension lines time, prev, key, key2 when there is a second key and, when sealing,
 * sealed); a new string (g_free). */
char *checkpoint_body_v2(const struct checkpoint_fields *f);

/* Parses "YYYY-MM-DDTHH:MM:SS[.frac][Z|+hh:mm]" or a plain integer of microseconds.
 * Returns 0 or -EINVAL. */
int leaf_parse_time(const char *text, int64_t *out_us);

#endif
