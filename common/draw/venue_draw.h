/* The venue draw (docs/draw.md section 12): which venues of the site seat a tender's
 * experts, drawn on site (现场抽取) or drawn again when the first draw failed (二次抽取),
 * in the seat draw's commit-reveal style with its primitives (commitment, the witness's
 * entropy, seed, the unbiased integer stream of draw.h). The regulator's representative
 * (a supervisor) witnesses it by entering the entropy.
 *
 * The inputs are the tender, the candidate venues, how many to choose and, for a second
 * draw, the venues excluded because they failed; the controller works them out
 * (controller/daemon/venue_select.c), this module only fixes, hashes and draws them, so an
 * auditor re-runs a record with nothing but docs/draw.md. */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdint.h>

#include "draw.h"

#define VENUE_DRAW_ALGORITHM 1
/* A site has at most this many venues in one draw: a record stays small. */
#define VENUE_DRAW_MAX_VENUES 1000

struct venue_inputs {
	char *tender;
	int64_t round;     /* 1: the on-site draw; 2, 3, ...: each later draw after a failure */
	char **candidates; /* venue ids, sorted in byte order, unique, at least one */
	size_t n_candidates;
	int64_t count;   /* how many to choose: 1 .. n_candidates */
	char **excluded; /* venue ids excluded as failed, sorted, unique, none a candidate */
	size_t n_excluded;
};

/* venue_inputs_parse: JSON {"algorithm": 1, "draw": "venue", "tender", "round",
 * "candidates": [...], "count", "excluded": [...]} (any member and element order) into a
 * new *out in canonical order. -EINVAL with the place and reason in ERR (e.g. `count: 3
 * venues wanted but only 2 candidates`); *out untouched then. */
int venue_inputs_parse(const json_t *json, struct venue_inputs **out, GString *err);
void venue_inputs_free(struct venue_inputs *in);
/* venue_inputs_canonical: the canonical text (docs/draw.md section 12.2); g_free() it. */
char *venue_inputs_canonical(const struct venue_inputs *in);
/* venue_inputs_hash: SHA-256 of the canonical text. */
void venue_inputs_hash(const struct venue_inputs *in, uint8_t out[DRAW_HASH_LEN]);

/* venue_assign: the chosen venues, a pure function of (inputs, seed): VENUE[i] (borrowed
 * from IN) is the i-th venue chosen, drawn as candidate K[i] of N[i] remaining; each array
 * has in->count entries. */
void venue_assign(const struct venue_inputs *in, const uint8_t seed[DRAW_HASH_LEN],
                  const char **venue, uint32_t *n, uint32_t *k);

/* venue_record_make: the full record of a run draw (docs/draw.md section 12.4), a new JSON
 * object: inputs, input hash, commitment, secret, entropy and its hash, seed and the
 * chosen venues. */
json_t *venue_record_make(const struct venue_inputs *in, const uint8_t secret[DRAW_SECRET_LEN],
                          const char *entropy);

/* venue_record_is: whether RECORD claims to be a venue draw record ("draw": "venue"). */
gboolean venue_record_is(const json_t *record);

/* venue_record_verify: re-runs RECORD: 0 when every hash and every chosen venue match
 * (REPORT: a one-line summary); -EINVAL on a mismatch, -EBADMSG when malformed (REPORT
 * names what). */
int venue_record_verify(const json_t *record, GString *report);
