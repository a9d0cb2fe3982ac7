/* Internals shared by the draw's source files; not part of the public API. */
#ifndef EVALROOM_DRAW_INTERNAL_H
#define EVALROOM_DRAW_INTERNAL_H

#include "draw.h"

/* The expert part of a draw as a flow network: source -> tender (demand k_t)
 * -> expert room (at most allow[t][r] of tender t) -> sink (free seats c_r).
 * It always holds a flow that saturates every remaining demand, which proves
 * the remaining experts can still be seated; see docs/draw.md section 5. */
struct draw_flow;

/* Builds the network for the experts of `in` and searches a full flow. lower
 * (NULL for none) gives each tender's per-room lower bound (version 2: every
 * expert room holds at least lower[t] experts of tender t). -ENOSPC with the
 * reason when no flow exists (the rules cannot be met). */
int draw_flow_new(const struct draw_inputs *in, const int *lower, struct draw_flow **out,
                  GString *err);
void draw_flow_free(struct draw_flow *fl);

/* Marks in room_ok (indexed like in->rooms) the expert rooms where the next
 * expert of tender `tender` (index in in->tenders) may sit: placing them there
 * leaves the remaining experts seatable under the rules. Returns how many. */
size_t draw_flow_allowed_rooms(struct draw_flow *fl, size_t tender, gboolean *room_ok);

/* Records that one expert of `tender` sits in `room` (an allowed room). */
void draw_flow_place(struct draw_flow *fl, size_t tender, size_t room);

/* The spreading rule of the inputs (docs/draw.md 5.1-5.2): checks the counts
 * and feasibility, then fixes each tender's lower bound into *lower (a new
 * array of n_tenders ints: floor(K_t/R) for version 2 unless relaxed, else 0)
 * and returns in *fl (when fl is non-NULL) a full flow under those bounds.
 * -ENOSPC with the reason when even the upper bounds alone cannot be met. */
int draw_rules(const struct draw_inputs *in, int **lower, struct draw_flow **fl, GString *err);

/* The record's "relaxed" list (version 2): one object per tender whose lower
 * bound the draw had to drop, with the numbers and why. */
json_t *draw_relaxed_json(const struct draw_inputs *in, const int *lower);

/* One choice of the draw, for the worked example and auditors' debugging:
 * the number of candidate seats n and the drawn index k in [0, n). */
struct draw_trace_step {
	uint32_t n;
	uint32_t k;
};

/* draw_assign() that also fills trace[i] for person i when trace is non-NULL. */
int draw_assign_traced(const struct draw_inputs *in, const uint8_t seed[DRAW_HASH_LEN],
                       struct draw_seat *out, struct draw_trace_step *trace, GString *err);

/* One replacement (补抽) as recorded. */
struct draw_replacement {
	struct draw_trace_step step;
	uint32_t counter;
	struct draw_person person;
	gboolean has_replaces;
	draw_id replaces;
	struct draw_seat seat;
};

/* Occupant numbering: persons of the inputs are 0..n_persons-1, replacement j
 * is n_persons + j. */
struct draw {
	struct draw_inputs *in;
	int *lower; /* per tender: the lower bound the draw applies (draw_rules) */
	uint8_t secret[DRAW_SECRET_LEN];
	uint8_t input_hash[DRAW_HASH_LEN];
	uint8_t commitment[DRAW_HASH_LEN];
	gboolean run;
	char *entropy;
	uint8_t seed[DRAW_HASH_LEN];
	GArray *seats;        /* struct draw_seat per occupant */
	GArray *withdrawn;    /* gboolean per occupant */
	GArray *replacements; /* struct draw_replacement */
	long **occupant;      /* [room][seat]: occupant or -1 */
};

#endif
