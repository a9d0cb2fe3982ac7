/* The publicly verifiable seat draw (issue 4), algorithm versions 1 and 2.
 *
 * docs/draw.md is the normative specification; this header is the C interface.
 * Everything here is pure computation except draw_commit() with a NULL secret,
 * which takes 32 bytes from OpenSSL's CSPRNG.
 *
 * Errors: functions return 0 or a negative errno:
 *   -EINVAL  invalid input (the GString names the field and the reason)
 *   -ENOSPC  valid but infeasible input (too few seats, no tenderer room, the
 *            spreading rule cannot be met), or no free seat for a replacement
 *   -EBADMSG a draw record that is not well-formed
 *   -ENOENT  an unknown person
 *   -EIO     the CSPRNG failed
 * A `GString *err` argument may be NULL; when given, the reason is appended.
 */
#ifndef EVALROOM_DRAW_H
#define EVALROOM_DRAW_H

#include <glib.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* The version new draws use; records and inputs of every version from
 * DRAW_ALGORITHM_MIN up to it are accepted and re-run under their own version. */
#define DRAW_ALGORITHM_VERSION 2
#define DRAW_ALGORITHM_MIN     1
#define DRAW_HASH_LEN          32
#define DRAW_SECRET_LEN        32
#define DRAW_ID_MAX            32
/* Upper bounds on one draw's inputs, so hostile input cannot exhaust memory. */
#define DRAW_MAX_ITEMS   100000
#define DRAW_MAX_ENTROPY 4096

typedef char draw_id[DRAW_ID_MAX + 1];

enum draw_room_kind { DRAW_ROOM_EXPERT, DRAW_ROOM_TENDERER };
enum draw_role { DRAW_ROLE_EXPERT, DRAW_ROLE_TENDERER };

struct draw_room {
	draw_id id;
	enum draw_room_kind kind;
	size_t n_seats;
	draw_id *seats; /* sorted by id (byte order) */
};

struct draw_tender {
	draw_id id;
};

struct draw_person {
	draw_id id;
	draw_id tender;
	enum draw_role role;
};

/* Validated draw inputs. Every array is sorted by id in byte order (the
 * canonical order), ids are unique (seat ids within their room). Read-only for
 * callers; made by draw_inputs_parse(), freed by draw_inputs_free(). */
struct draw_inputs {
	int algorithm; /* DRAW_ALGORITHM_MIN..DRAW_ALGORITHM_VERSION */
	size_t n_rooms;
	struct draw_room *rooms;
	size_t n_tenders;
	struct draw_tender *tenders;
	size_t n_persons;
	struct draw_person *persons;
};

/* A seat choice: indexes into draw_inputs.rooms and that room's seats. */
struct draw_seat {
	size_t room;
	size_t seat;
};

/* Whether s matches ^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$. */
gboolean draw_id_valid(const char *s);

/* Parses and fully validates inputs from JSON (members "algorithm", "rooms",
 * "tenders", "persons"; see docs/draw.md). On success *out is a new object the
 * caller frees with draw_inputs_free(). -EINVAL names the first bad field. Does
 * not check feasibility. */
int draw_inputs_parse(const json_t *json, struct draw_inputs **out, GString *err);

/* Deep copy; NULL only on allocation failure (which aborts under GLib). */
struct draw_inputs *draw_inputs_dup(const struct draw_inputs *in);

void draw_inputs_free(struct draw_inputs *in);

/* The canonical JSON text of the inputs (no whitespace, sorted); caller g_free()s. */
char *draw_inputs_canonical(const struct draw_inputs *in);

/* The canonical inputs as a new JSON object (caller json_decref()s). */
json_t *draw_inputs_to_json(const struct draw_inputs *in);

/* SHA-256 of the canonical JSON text: the input hash. */
void draw_inputs_hash(const struct draw_inputs *in, uint8_t out[DRAW_HASH_LEN]);

/* Index of a person / room / tender by id, or -1. */
long draw_inputs_find_person(const struct draw_inputs *in, const char *id);
long draw_inputs_find_room(const struct draw_inputs *in, const char *id);
long draw_inputs_find_tender(const struct draw_inputs *in, const char *id);

/* The feasibility check that runs before anything is committed: 0 when the
 * algorithm will seat everyone under the rules, else -ENOSPC with the reason. */
int draw_inputs_check_feasible(const struct draw_inputs *in, GString *err);

/* --- hashing and integers (docs/draw.md sections 3 and 4) --- */

void draw_commitment_compute(const uint8_t secret[DRAW_SECRET_LEN],
                             const uint8_t input_hash[DRAW_HASH_LEN], uint8_t out[DRAW_HASH_LEN]);
void draw_seed_derive(const uint8_t secret[DRAW_SECRET_LEN], const char *entropy,
                      const uint8_t input_hash[DRAW_HASH_LEN], uint8_t out[DRAW_HASH_LEN]);
void draw_replacement_seed(const uint8_t seed[DRAW_HASH_LEN], uint32_t counter,
                           uint8_t out[DRAW_HASH_LEN]);

/* The deterministic byte stream of a seed. Plain struct so it lives on the stack. */
struct draw_stream {
	uint8_t seed[DRAW_HASH_LEN];
	uint64_t block_index;
	uint8_t block[DRAW_HASH_LEN];
	size_t used;
};

void draw_stream_init(struct draw_stream *s, const uint8_t seed[DRAW_HASH_LEN]);
/* Next 4 stream bytes as a big-endian integer. */
uint32_t draw_stream_u32(struct draw_stream *s);
/* Uniform integer in [0, n) by rejection sampling; n must be >= 1. */
uint32_t draw_stream_uniform(struct draw_stream *s, uint32_t n);

/* The assignment: a pure function of (inputs, seed). out must have
 * in->n_persons entries and receives each person's seat (by person index).
 * -ENOSPC (with reason) when the inputs are infeasible. */
int draw_assign(const struct draw_inputs *in, const uint8_t seed[DRAW_HASH_LEN],
                struct draw_seat *out, GString *err);

/* --- a draw's life: commit, run, replacements, record --- */

struct draw;

/* Checks feasibility, copies the inputs, takes the secret (32 bytes from
 * RAND_bytes when secret is NULL) and computes the commitment. Nothing is
 * created when the check fails. Free with draw_free(). */
int draw_commit(const struct draw_inputs *in, const uint8_t *secret, struct draw **out,
                GString *err);

void draw_free(struct draw *d);

const struct draw_inputs *draw_get_inputs(const struct draw *d);
void draw_get_commitment(const struct draw *d, uint8_t out[DRAW_HASH_LEN]);
void draw_get_secret(const struct draw *d, uint8_t out[DRAW_SECRET_LEN]);
void draw_get_input_hash(const struct draw *d, uint8_t out[DRAW_HASH_LEN]);
gboolean draw_has_run(const struct draw *d);
/* Seed of a run draw (-EINVAL before draw_run()). */
int draw_get_seed(const struct draw *d, uint8_t out[DRAW_HASH_LEN]);

/* Takes the witness entropy (valid UTF-8, 1..DRAW_MAX_ENTROPY bytes), derives
 * the seed and seats everyone. -EINVAL on bad entropy or when already run. */
int draw_run(struct draw *d, const char *entropy, GString *err);

/* Where a person (original or replacement) sits. The strings belong to d.
 * -ENOENT for an unknown person, -ESRCH when the person has been replaced
 * (withdrawn), -EINVAL before draw_run(). */
int draw_seat_of(const struct draw *d, const char *person, const char **room, const char **seat);

/* Number of occupied seats per room, in room order; out has n_rooms entries. */
void draw_room_counts(const struct draw *d, size_t *out);

/* A replacement (补抽): seats the new person `p` (whose tender must exist and
 * whose id must be new) on a free seat under the rules, with the seed derived
 * from the draw's seed and the replacement counter (1, 2, ...). When `replaces`
 * is non-NULL that seated person of the same tender and role withdraws first
 * and their seat becomes free. Nobody else moves. On error nothing changes. */
int draw_replace(struct draw *d, const struct draw_person *p, const char *replaces, GString *err);

size_t draw_n_replacements(const struct draw *d);

/* The record with everything needed to re-run the draw
 * (schemas/json/draw-record.json). Caller json_decref()s. NULL before draw_run(). */
json_t *draw_record_export(const struct draw *d);

/* Rebuilds a draw from a record: parses it, re-runs the assignment and the
 * replacements from the recorded secret and entropy. Does not compare with the
 * recorded results (draw_record_verify() does). -EBADMSG for a malformed record. */
int draw_record_load(const json_t *record, struct draw **out, GString *err);

/* Re-runs the draw of a record and compares: 0 when the commitment, the seed
 * and every assignment and replacement match (report gets a summary); -EINVAL
 * with the first mismatch named; -EBADMSG when the record is malformed. */
int draw_record_verify(const json_t *record, GString *report);

#endif
