/* The assignment of the main draw (docs/draw.md section 5) and its feasibility check. */
#include "draw_internal.h"

#include <errno.h>
#include <string.h>

static int check_counts(const struct draw_inputs *in, GString *err)
{
	size_t i, experts = 0, tenderers = 0, expert_rooms = 0, tenderer_rooms = 0;
	size_t expert_seats = 0, tenderer_seats = 0;

	for (i = 0; i < in->n_persons; i++) {
		if (in->persons[i].role == DRAW_ROLE_EXPERT)
			experts++;
		else
			tenderers++;
	}
	for (i = 0; i < in->n_rooms; i++) {
		if (in->rooms[i].kind == DRAW_ROOM_EXPERT) {
			expert_rooms++;
			expert_seats += in->rooms[i].n_seats;
		} else {
			tenderer_rooms++;
			tenderer_seats += in->rooms[i].n_seats;
		}
	}
	if (tenderers && !tenderer_rooms)
		goto err_no_tenderer_room;
	if (tenderers > tenderer_seats)
		goto err_tenderer_seats;
	if (experts && !expert_rooms)
		goto err_no_expert_room;
	if (experts > expert_seats)
		goto err_expert_seats;
	return 0;

err_no_tenderer_room:
	if (err)
		g_string_append_printf(err, "no tenderer room for %zu tenderer representatives",
		                       tenderers);
	return -ENOSPC;
err_tenderer_seats:
	if (err)
		g_string_append_printf(
		    err, "too few seats in tenderer rooms: %zu tenderer representatives, %zu seats",
		    tenderers, tenderer_seats);
	return -ENOSPC;
err_no_expert_room:
	if (err)
		g_string_append_printf(err, "no expert room for %zu experts", experts);
	return -ENOSPC;
err_expert_seats:
	if (err)
		g_string_append_printf(err, "too few seats in expert rooms: %zu experts, %zu seats",
		                       experts, expert_seats);
	return -ENOSPC;
}

/* try_lower: whether a full flow exists under LOWER; keeps it in *fl if so. */
static gboolean try_lower(const struct draw_inputs *in, const int *lower, struct draw_flow **fl)
{
	struct draw_flow *f = NULL;

	if (draw_flow_new(in, lower, &f, NULL))
		return FALSE;
	draw_flow_free(*fl);
	*fl = f;
	return TRUE;
}

int draw_rules(const struct draw_inputs *in, int **lower, struct draw_flow **fl, GString *err)
{
	struct draw_flow *f = NULL;
	int *want, *low, rooms = 0;
	size_t i, t;
	int rc;

	*lower = NULL;
	if (fl)
		*fl = NULL;
	rc = check_counts(in, err);
	if (rc)
		return rc;
	want = g_new0(int, in->n_tenders + 1);
	low = g_new0(int, in->n_tenders + 1);
	for (i = 0; i < in->n_rooms; i++)
		rooms += in->rooms[i].kind == DRAW_ROOM_EXPERT ? 1 : 0;
	for (i = 0; i < in->n_persons; i++)
		if (in->persons[i].role == DRAW_ROLE_EXPERT)
			want[draw_inputs_find_tender(in, in->persons[i].tender)]++;
	for (t = 0; t < in->n_tenders; t++)
		want[t] = rooms && in->algorithm >= 2 ? want[t] / rooms : 0;
	/* Version 2: the even spread for every tender when the seats allow it (the
	 * usual case, one flow); else the upper bounds alone must fit (or the inputs
	 * are refused), and the tenders keep their lower bound greedily in tender
	 * order, each only if it fits with the ones kept before it. */
	if (!try_lower(in, want, &f)) {
		rc = draw_flow_new(in, NULL, &f, err);
		if (rc)
			goto out;
		for (t = 0; t < in->n_tenders; t++) {
			if (!want[t])
				continue;
			low[t] = want[t];
			if (!try_lower(in, low, &f))
				low[t] = 0;
		}
		memcpy(want, low, sizeof(int) * in->n_tenders);
	}
	*lower = g_steal_pointer(&want);
	if (fl)
		*fl = g_steal_pointer(&f);
out:
	draw_flow_free(f);
	g_free(want);
	g_free(low);
	return rc;
}

int draw_inputs_check_feasible(const struct draw_inputs *in, GString *err)
{
	int *lower = NULL;
	int rc = draw_rules(in, &lower, NULL, err);

	g_free(lower);
	return rc;
}

int draw_assign(const struct draw_inputs *in, const uint8_t seed[DRAW_HASH_LEN],
                struct draw_seat *out, GString *err)
{
	return draw_assign_traced(in, seed, out, NULL, err);
}

int draw_assign_traced(const struct draw_inputs *in, const uint8_t seed[DRAW_HASH_LEN],
                       struct draw_seat *out, struct draw_trace_step *trace, GString *err)
{
	struct draw_stream stream;
	struct draw_flow *fl;
	gboolean *room_ok, **taken;
	size_t *free_seats, i, r;
	int *lower = NULL, rc;

	rc = draw_rules(in, &lower, &fl, err);
	g_free(lower);
	if (rc)
		return rc;
	room_ok = g_new0(gboolean, in->n_rooms + 1);
	free_seats = g_new0(size_t, in->n_rooms + 1);
	taken = g_new0(gboolean *, in->n_rooms + 1);
	for (r = 0; r < in->n_rooms; r++) {
		free_seats[r] = in->rooms[r].n_seats;
		taken[r] = g_new0(gboolean, in->rooms[r].n_seats);
	}
	draw_stream_init(&stream, seed);

	for (i = 0; i < in->n_persons; i++) {
		const struct draw_person *p = &in->persons[i];
		size_t t = (size_t)draw_inputs_find_tender(in, p->tender);
		size_t n = 0, k, s;

		if (p->role == DRAW_ROLE_EXPERT)
			draw_flow_allowed_rooms(fl, t, room_ok);
		else
			for (r = 0; r < in->n_rooms; r++)
				room_ok[r] = in->rooms[r].kind == DRAW_ROOM_TENDERER;
		for (r = 0; r < in->n_rooms; r++)
			n += room_ok[r] ? free_seats[r] : 0;
		/* the flow and the seat counts checked above guarantee a candidate */
		g_assert(n > 0 && n <= UINT32_MAX);
		k = draw_stream_uniform(&stream, (uint32_t)n);
		if (trace) {
			trace[i].n = (uint32_t)n;
			trace[i].k = (uint32_t)k;
		}
		for (r = 0; !room_ok[r] || k >= free_seats[r]; r++)
			k -= room_ok[r] ? free_seats[r] : 0;
		for (s = 0;; s++)
			if (!taken[r][s] && k-- == 0)
				break;
		taken[r][s] = TRUE;
		free_seats[r]--;
		out[i].room = r;
		out[i].seat = s;
		if (p->role == DRAW_ROLE_EXPERT)
			draw_flow_place(fl, t, r);
	}

	for (r = 0; r < in->n_rooms; r++)
		g_free(taken[r]);
	g_free(taken);
	g_free(free_seats);
	g_free(room_ok);
	draw_flow_free(fl);
	return 0;
}
