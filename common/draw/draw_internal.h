/* Internals shared by the draw's source files; not part of the public API. */
#ifndef EVALROOM_DRAW_INTERNAL_H
#define EVALROOM_DRAW_INTERNAL_H

#include "draw.h"

/* The expert part of a draw as a flow network: source -> tender (demand k_t)
 * -> expert room (at most allow[t][r] of tender t) -> sink (free seats c_r).
 * It always holds a flow that saturates every remaining demand, which proves
 * the remaining experts can still be seated; see docs/draw.md section 5. */
struct draw_flow;

/* Builds the network for the experts of `in` and searches a full flow.
 * -ENOSPC with the reason when none exists (the rules cannot be met). */
int draw_flow_new(const struct draw_inputs *in, struct draw_flow **out, GString *err);
void draw_flow_free(struct draw_flow *fl);

/* Marks in room_ok (indexed like in->rooms) the expert rooms where the next
 * expert of tender `tender` (index in in->tenders) may sit: placing them there
 * leaves the remaining experts seatable under the rules. Returns how many. */
size_t draw_flow_allowed_rooms(struct draw_flow *fl, size_t tender, gboolean *room_ok);

/* Records that one expert of `tender` sits in `room` (an allowed room). */
void draw_flow_place(struct draw_flow *fl, size_t tender, size_t room);

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
