/* Feasibility of the expert rules as a flow network (docs/draw.md section 5).
 *
 * Nodes: tenders 0..nt-1, expert rooms nt..nt+nr-1, then the sink. The source is
 * implicit: its edge to tender t carries sent[t] of k[t]. Every augmentation is
 * by one unit; flows stay small (at most the number of experts). */
#include "draw_internal.h"

#include <errno.h>
#include <string.h>

/* Bound on tenders x expert rooms so a hostile input cannot ask for gigabytes. */
#define FLOW_MAX_CELLS 50000000u

struct draw_flow {
	const struct draw_inputs *in;
	size_t nt, nr;
	size_t *room_of;   /* expert room index -> index in in->rooms */
	long *expert_room; /* in->rooms index -> expert room index or -1 */
	int *k;            /* experts of tender t still to seat */
	int *sent;         /* flow from the source into tender t */
	int *cap;          /* free seats of room r */
	int *load;         /* flow from room r into the sink */
	int *limit;        /* per-room limit m_t of tender t */
	int *allow;        /* [t * nr + r]: how many more of t room r may take */
	int *need;         /* [t * nr + r]: how many more of t room r must still get
	                    * (version 2's lower bound, already taken out of the flow) */
	int *f;            /* [t * nr + r]: flow tender t -> room r */
	long *mark;        /* BFS: predecessor (forward) or next hop (reverse) */
	size_t *queue;
};

static size_t node_sink(const struct draw_flow *fl)
{
	return fl->nt + fl->nr;
}

#define NONE        (-1L)
#define FROM_SOURCE (-2L)

/* Forward BFS from the source; returns whether the sink was reached. */
static gboolean bfs_augmenting(struct draw_flow *fl)
{
	size_t n = fl->nt + fl->nr + 1, head = 0, tail = 0, t, r;

	for (t = 0; t < n; t++)
		fl->mark[t] = NONE;
	for (t = 0; t < fl->nt; t++)
		if (fl->sent[t] < fl->k[t]) {
			fl->mark[t] = FROM_SOURCE;
			fl->queue[tail++] = t;
		}
	while (head < tail) {
		size_t u = fl->queue[head++];

		if (u < fl->nt) {
			for (r = 0; r < fl->nr; r++) {
				size_t v = fl->nt + r;

				if (fl->mark[v] == NONE &&
				    fl->f[u * fl->nr + r] < fl->allow[u * fl->nr + r]) {
					fl->mark[v] = (long)u;
					fl->queue[tail++] = v;
				}
			}
		} else if (u < node_sink(fl)) {
			r = u - fl->nt;
			if (fl->load[r] < fl->cap[r]) {
				fl->mark[node_sink(fl)] = (long)u;
				return TRUE;
			}
			for (t = 0; t < fl->nt; t++)
				if (fl->mark[t] == NONE && fl->f[t * fl->nr + r] > 0) {
					fl->mark[t] = (long)u;
					fl->queue[tail++] = t;
				}
		}
	}
	return FALSE;
}

/* Changes the flow on the edge u -> v (either direction of a tender-room pair)
 * by one unit along a residual path. Sink edges carry `load`, kept in step. */
static void push_edge(struct draw_flow *fl, size_t u, size_t v)
{
	if (u < fl->nt && v >= fl->nt && v < node_sink(fl)) {
		fl->f[u * fl->nr + (v - fl->nt)]++;
		fl->load[v - fl->nt]++;
	} else if (v < fl->nt && u >= fl->nt && u < node_sink(fl)) {
		fl->f[v * fl->nr + (u - fl->nt)]--;
		fl->load[u - fl->nt]--;
	}
	/* room <-> sink moves are implied by the load updates above */
}

static void augment_from_sink(struct draw_flow *fl)
{
	size_t v = node_sink(fl);

	while (fl->mark[v] != FROM_SOURCE) {
		size_t u = (size_t)fl->mark[v];

		push_edge(fl, u, v);
		v = u;
	}
	fl->sent[v]++;
}

/* Reverse BFS: which nodes reach tender `t` in the residual network (the
 * source is useless there: all its edges are saturated). mark[u] = next hop. */
static void bfs_reaching(struct draw_flow *fl, size_t target)
{
	size_t n = fl->nt + fl->nr + 1, head = 0, tail = 0, t, r;

	for (t = 0; t < n; t++)
		fl->mark[t] = NONE;
	fl->mark[target] = (long)target;
	fl->queue[tail++] = target;
	while (head < tail) {
		size_t v = fl->queue[head++];

		if (v < fl->nt) {
			/* residual r -> t exists when f(t, r) > 0 */
			for (r = 0; r < fl->nr; r++)
				if (fl->mark[fl->nt + r] == NONE && fl->f[v * fl->nr + r] > 0) {
					fl->mark[fl->nt + r] = (long)v;
					fl->queue[tail++] = fl->nt + r;
				}
		} else if (v < node_sink(fl)) {
			r = v - fl->nt;
			for (t = 0; t < fl->nt; t++)
				if (fl->mark[t] == NONE &&
				    fl->f[t * fl->nr + r] < fl->allow[t * fl->nr + r]) {
					fl->mark[t] = (long)v;
					fl->queue[tail++] = t;
				}
			if (fl->mark[node_sink(fl)] == NONE && fl->load[r] > 0) {
				fl->mark[node_sink(fl)] = (long)v;
				fl->queue[tail++] = node_sink(fl);
			}
		} else {
			for (r = 0; r < fl->nr; r++)
				if (fl->mark[fl->nt + r] == NONE && fl->load[r] < fl->cap[r]) {
					fl->mark[fl->nt + r] = (long)v;
					fl->queue[tail++] = fl->nt + r;
				}
		}
	}
}

static void explain_shortfall(struct draw_flow *fl, GString *err)
{
	int need = 0, got = 0;
	size_t t, named = 0;

	if (!err)
		return;
	/* Tenders still reachable from the source form the starved side of a
	 * minimum cut: together they cannot get more seats than they have now. */
	bfs_augmenting(fl);
	for (t = 0; t < fl->nt; t++)
		if (fl->mark[t] != NONE) {
			need += fl->k[t];
			got += fl->sent[t];
		}
	g_string_append(err, "the experts cannot be seated under the spreading rule: tender");
	for (t = 0; t < fl->nt; t++)
		if (fl->mark[t] != NONE) {
			if (named == 8) {
				g_string_append(err, ", ...");
				break;
			}
			g_string_append_printf(err, "%s %s (%d experts, at most %d per room)",
			                       named ? "," : "", fl->in->tenders[t].id, fl->k[t],
			                       fl->limit[t]);
			named++;
		}
	g_string_append_printf(err, " need %d seats but the expert rooms can give them at most %d",
	                       need, got);
}

int draw_flow_new(const struct draw_inputs *in, const int *lower, struct draw_flow **out,
                  GString *err)
{
	struct draw_flow *fl;
	size_t i, t, r, total = 0;

	*out = NULL;
	fl = g_new0(struct draw_flow, 1);
	fl->in = in;
	fl->nt = in->n_tenders;
	fl->expert_room = g_new(long, in->n_rooms ? in->n_rooms : 1);
	fl->room_of = g_new(size_t, in->n_rooms ? in->n_rooms : 1);
	for (i = 0; i < in->n_rooms; i++) {
		fl->expert_room[i] = NONE;
		if (in->rooms[i].kind == DRAW_ROOM_EXPERT) {
			fl->expert_room[i] = (long)fl->nr;
			fl->room_of[fl->nr++] = i;
		}
	}
	if ((guint64)fl->nt * fl->nr > FLOW_MAX_CELLS) {
		if (err)
			g_string_append_printf(
			    err, "site too large: %zu tenders x %zu expert rooms", fl->nt, fl->nr);
		draw_flow_free(fl);
		return -ENOSPC;
	}
	fl->k = g_new0(int, fl->nt + 1);
	fl->sent = g_new0(int, fl->nt + 1);
	fl->limit = g_new0(int, fl->nt + 1);
	fl->cap = g_new0(int, fl->nr + 1);
	fl->load = g_new0(int, fl->nr + 1);
	fl->allow = g_new0(int, fl->nt * fl->nr + 1);
	fl->f = g_new0(int, fl->nt * fl->nr + 1);
	fl->need = g_new0(int, fl->nt * fl->nr + 1);
	fl->mark = g_new(long, fl->nt + fl->nr + 1);
	fl->queue = g_new(size_t, fl->nt + fl->nr + 1);

	for (i = 0; i < in->n_persons; i++)
		if (in->persons[i].role == DRAW_ROLE_EXPERT) {
			fl->k[draw_inputs_find_tender(in, in->persons[i].tender)]++;
			total++;
		}
	for (r = 0; r < fl->nr; r++)
		fl->cap[r] = (int)in->rooms[fl->room_of[r]].n_seats;
	for (t = 0; t < fl->nt; t++) {
		/* m_t = ceil(k_t / R): 1 (pairwise different rooms) when k_t <= R */
		fl->limit[t] = fl->nr ? (int)((fl->k[t] + fl->nr - 1) / fl->nr) : 0;
		for (r = 0; r < fl->nr; r++)
			fl->allow[t * fl->nr + r] = fl->limit[t];
	}
	/* Lower bounds (version 2): x = need + y with 0 <= y <= allow - need turns the
	 * bounded problem into a plain flow on y with the demands and free seats less
	 * what the lower bounds already take (docs/draw.md section 5.4). */
	for (t = 0; lower && t < fl->nt; t++) {
		int l = lower[t];

		if (l <= 0)
			continue;
		g_assert(l <= fl->limit[t] && (size_t)l * fl->nr <= (size_t)fl->k[t]);
		fl->k[t] -= l * (int)fl->nr;
		total -= (size_t)l * fl->nr;
		for (r = 0; r < fl->nr; r++) {
			fl->need[t * fl->nr + r] = l;
			fl->allow[t * fl->nr + r] -= l;
			fl->cap[r] -= l;
		}
	}
	for (r = 0; r < fl->nr; r++)
		if (fl->cap[r] < 0) {
			if (err)
				g_string_append_printf(
				    err, "expert room %s: %d seats are too few for the lower bounds",
				    in->rooms[fl->room_of[r]].id,
				    (int)in->rooms[fl->room_of[r]].n_seats);
			draw_flow_free(fl);
			return -ENOSPC;
		}
	for (i = 0; i < total; i++) {
		if (!bfs_augmenting(fl)) {
			explain_shortfall(fl, err);
			draw_flow_free(fl);
			return -ENOSPC;
		}
		augment_from_sink(fl);
	}
	*out = fl;
	return 0;
}

void draw_flow_free(struct draw_flow *fl)
{
	if (!fl)
		return;
	g_free(fl->room_of);
	g_free(fl->expert_room);
	g_free(fl->k);
	g_free(fl->sent);
	g_free(fl->limit);
	g_free(fl->cap);
	g_free(fl->load);
	g_free(fl->allow);
	g_free(fl->f);
	g_free(fl->need);
	g_free(fl->mark);
	g_free(fl->queue);
	g_free(fl);
}

size_t draw_flow_allowed_rooms(struct draw_flow *fl, size_t tender, gboolean *room_ok)
{
	size_t i, n = 0;

	bfs_reaching(fl, tender);
	for (i = 0; i < fl->in->n_rooms; i++) {
		long r = fl->expert_room[i];
		size_t e;

		room_ok[i] = FALSE;
		if (r < 0)
			continue;
		e = tender * fl->nr + (size_t)r;
		/* The room still owes this tender a lower-bound seat, or the current
		 * flow already sends one of this tender there, or a residual cycle
		 * through tender -> room reroutes the flow so it does. */
		if (fl->need[e] > 0 || fl->f[e] > 0 ||
		    (fl->f[e] < fl->allow[e] && fl->mark[fl->nt + (size_t)r] != NONE))
			room_ok[i] = TRUE;
		n += room_ok[i] ? 1 : 0;
	}
	return n;
}

void draw_flow_place(struct draw_flow *fl, size_t tender, size_t room)
{
	size_t r = (size_t)fl->expert_room[room];
	size_t e = tender * fl->nr + r;

	g_assert(fl->expert_room[room] >= 0);
	if (fl->need[e] > 0) {
		/* the seat was reserved outside the flow: the flow problem is unchanged */
		fl->need[e]--;
		return;
	}
	if (fl->f[e] == 0) {
		size_t u = fl->nt + r;

		bfs_reaching(fl, tender);
		g_assert(fl->mark[u] != NONE && fl->f[e] < fl->allow[e]);
		push_edge(fl, tender, u);
		while (u != tender) {
			size_t v = (size_t)fl->mark[u];

			push_edge(fl, u, v);
			u = v;
		}
	}
	fl->f[e]--;
	fl->load[r]--;
	fl->allow[e]--;
	fl->cap[r]--;
	fl->k[tender]--;
	fl->sent[tender]--;
}
