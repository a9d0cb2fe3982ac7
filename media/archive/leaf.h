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

/* Parses "YYYY-MM-DDTHH:MM:SS[.frac][Z|+hh:mm]" or a plain integer of microseconds.
 * Returns 0 or -EINVAL. */
int leaf_parse_time(const char *text, int64_t *out_us);

#endif
