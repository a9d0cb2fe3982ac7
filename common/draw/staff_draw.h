/* The staff draw (docs/staff.md): which staff member holds which post for which tender
 * of a session, drawn in the seat draw's commit-reveal style with its primitives
 * (commitment, witness entropy, seed, the unbiased integer stream of draw.h).
 *
 * The inputs are the session's slots (tender, post) each with the list of the staff
 * members eligible for it under the rotation rules; the controller works the lists out
 * (controller/daemon/staff.c), this module only fixes, hashes and draws them, so an
 * auditor re-runs a record with nothing but this page's rules. */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdint.h>

#include "draw.h"

#define STAFF_DRAW_ALGORITHM 1
/* A slot's eligible list and the number of slots are bounded so a record stays small. */
#define STAFF_DRAW_MAX_SLOTS    10000
#define STAFF_DRAW_MAX_ELIGIBLE 10000

struct staff_slot {
	char *tender;
	char *post;
	char **eligible; /* certificate identities, sorted in byte order, unique, at least one */
	size_t n_eligible;
};

struct staff_inputs {
	char *session;
	char *date;               /* YYYY-MM-DD */
	struct staff_slot *slots; /* sorted by (tender, post) in byte order */
	size_t n_slots;
};

/* staff_inputs_parse: JSON {"algorithm": 1, "draw": "staff", "session", "date",
 * "slots": [{"tender", "post", "eligible": [...]}]} (any member and element order) into
 * a new *out in canonical order. -EINVAL with the place and reason in ERR (e.g.
 * `slots[2].eligible: empty: nobody may hold this post`); *out untouched then. */
int staff_inputs_parse(const json_t *json, struct staff_inputs **out, GString *err);
void staff_inputs_free(struct staff_inputs *in);
/* staff_inputs_canonical: the canonical text (docs/staff.md section 2); g_free() it. */
char *staff_inputs_canonical(const struct staff_inputs *in);
/* staff_inputs_to_json: the canonical inputs as a new JSON object. */
json_t *staff_inputs_to_json(const struct staff_inputs *in);
/* staff_inputs_hash: SHA-256 of the canonical text. */
void staff_inputs_hash(const struct staff_inputs *in, uint8_t out[DRAW_HASH_LEN]);

/* staff_assign: the assignment, a pure function of (inputs, seed): PERSON[i] (borrowed
 * from IN) for slot i, N[i] candidates and K[i] drawn; each array has in->n_slots
 * entries. */
void staff_assign(const struct staff_inputs *in, const uint8_t seed[DRAW_HASH_LEN],
                  const char **person, uint32_t *n, uint32_t *k);

/* staff_record_make: the full record of a run draw (docs/staff.md section 4), a new
 * JSON object: inputs, input hash, commitment, secret, entropy and its hash, seed and
 * the assignment. */
json_t *staff_record_make(const struct staff_inputs *in, const uint8_t secret[DRAW_SECRET_LEN],
                          const char *entropy);

/* staff_record_is: whether RECORD claims to be a staff draw record ("draw": "staff"). */
gboolean staff_record_is(const json_t *record);

/* staff_record_verify: re-runs RECORD: 0 when every hash and every assignment match
 * (REPORT: a one-line summary); -EINVAL on a mismatch, -EBADMSG when malformed (REPORT
 * names what). */
int staff_record_verify(const json_t *record, GString *report);
