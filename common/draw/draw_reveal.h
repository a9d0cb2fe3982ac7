/* The commit-reveal members every draw record shares (docs/draw.md section 3, used by the
 * staff draw of docs/staff.md and the venue draw of docs/draw.md section 12): input hash,
 * commitment, secret, entropy, entropy hash and seed, written and checked the same way. */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdint.h>

#include "draw.h"

struct draw_reveal {
	uint8_t input_hash[DRAW_HASH_LEN];
	uint8_t commitment[DRAW_HASH_LEN];
	uint8_t secret[DRAW_SECRET_LEN];
	uint8_t entropy_hash[DRAW_HASH_LEN];
	uint8_t seed[DRAW_HASH_LEN];
	const char *entropy; /* borrowed from the record */
	size_t entropy_len;
};

/* draw_reveal_put: sets input_hash, commitment, secret, entropy, entropy_hash and seed of
 * REC from INPUT_HASH, SECRET and ENTROPY; the seed also into SEED. */
void draw_reveal_put(json_t *rec, const uint8_t input_hash[DRAW_HASH_LEN],
                     const uint8_t secret[DRAW_SECRET_LEN], const char *entropy,
                     uint8_t seed[DRAW_HASH_LEN]);

/* draw_reveal_read: those members of REC into *R (64 lower-case hex digits each; entropy
 * 1 to 4096 bytes of UTF-8 without NUL); -EBADMSG naming what is wrong in REPORT. */
int draw_reveal_read(const json_t *rec, struct draw_reveal *r, GString *report);

/* draw_reveal_open: REC must be a record of the draw DRAW ("draw": "staff", "venue") with no
 * member outside MEMBERS (NULL-terminated); its commit-reveal members into *R as
 * draw_reveal_read; -EBADMSG naming what is wrong in REPORT. */
int draw_reveal_open(const json_t *rec, const char *draw, const char *const *members,
                     struct draw_reveal *r, GString *report);

/* draw_reveal_check: whether R holds together with the hash of the re-parsed inputs
 * INPUT_HASH: input hash, commitment, entropy hash and seed, in that order; -EINVAL
 * naming the first that does not in REPORT. */
int draw_reveal_check(const struct draw_reveal *r, const uint8_t input_hash[DRAW_HASH_LEN],
                      GString *report);

/* draw_json_only_members: whether OBJ has no member outside ALLOWED (NULL-terminated);
 * else *BAD names the first other one. */
gboolean draw_json_only_members(const json_t *obj, const char *const *allowed, const char **bad);
