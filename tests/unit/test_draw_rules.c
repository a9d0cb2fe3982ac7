/* The draw's rules over many fixed seeds and site shapes; integers; replacements. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <openssl/sha.h>
#include <string.h>

#include "draw.h"

#define SEEDS_PER_SHAPE 1000

/* A site: expert room sizes, tenderer room sizes, experts per tender and
 * tenderer representatives per tender. Ids: E00.., W00.., T00.., and persons
 * X<tender>-<n> (experts) and Y<tender>-<n> (representatives). */
static struct draw_inputs *site(const int *expert_rooms, int ne, const int *tenderer_rooms, int nw,
                                const int *experts, int nt, int reps_per_tender)
{
	json_t *rooms = json_array(), *tenders = json_array(), *persons = json_array();
	struct draw_inputs *in;
	char id[40];
	int i, s;

	for (i = 0; i < ne + nw; i++) {
		json_t *seats = json_array();
		int n = i < ne ? expert_rooms[i] : tenderer_rooms[i - ne];

		for (s = 0; s < n; s++) {
			g_snprintf(id, sizeof(id), "S%d", s);
			json_array_append_new(seats, json_string(id));
		}
		g_snprintf(id, sizeof(id), "%c%02d", i < ne ? 'E' : 'W', i < ne ? i : i - ne);
		json_array_append_new(rooms,
		                      json_pack("{s:s,s:s,s:o}", "id", id, "kind",
		                                i < ne ? "expert" : "tenderer", "seats", seats));
	}
	for (i = 0; i < nt; i++) {
		char tid[8];

		g_snprintf(tid, sizeof(tid), "T%02d", i);
		json_array_append_new(tenders, json_pack("{s:s}", "id", tid));
		for (s = 0; s < experts[i] + reps_per_tender; s++) {
			g_snprintf(id, sizeof(id), "%c%02d-%d", s < experts[i] ? 'X' : 'Y', i, s);
			json_array_append_new(
			    persons, json_pack("{s:s,s:s,s:s}", "id", id, "tender", tid, "role",
			                       s < experts[i] ? "expert" : "tenderer"));
		}
	}
	{
		json_t *j = json_pack("{s:i,s:o,s:o,s:o}", "algorithm", 1, "rooms", rooms,
		                      "tenders", tenders, "persons", persons);
		GString *err = g_string_new(NULL);

		if (draw_inputs_parse(j, &in, err))
			fail_msg("site: %s", err->str);
		g_string_free(err, TRUE);
		json_decref(j);
	}
	return in;
}

static void seed_of(uint32_t i, uint8_t seed[DRAW_HASH_LEN])
{
	char text[64];

	g_snprintf(text, sizeof(text), "evalroom draw rules test seed %u", i);
	SHA256((const unsigned char *)text, strlen(text), seed);
}

static size_t n_expert_rooms(const struct draw_inputs *in)
{
	size_t r, n = 0;

	for (r = 0; r < in->n_rooms; r++)
		n += in->rooms[r].kind == DRAW_ROOM_EXPERT;
	return n;
}

/* Every rule of docs/draw.md section 5 on one assignment. */
static void check_rules(const struct draw_inputs *in, const struct draw_seat *seats)
{
	size_t R = n_expert_rooms(in), i, j;
	GHashTable *used = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	for (i = 0; i < in->n_persons; i++) {
		const struct draw_person *p = &in->persons[i];
		const struct draw_room *room;
		size_t k = 0, same = 0;
		char *key;

		assert_true(seats[i].room < in->n_rooms);
		room = &in->rooms[seats[i].room];
		assert_true(seats[i].seat < room->n_seats);
		key = g_strdup_printf("%s/%s", room->id, room->seats[seats[i].seat]);
		if (g_hash_table_contains(used, key))
			fail_msg("seat %s given twice", key);
		g_hash_table_add(used, key);
		if (p->role == DRAW_ROLE_TENDERER) {
			assert_int_equal(room->kind, DRAW_ROOM_TENDERER);
			continue;
		}
		assert_int_equal(room->kind, DRAW_ROOM_EXPERT);
		for (j = 0; j < in->n_persons; j++) {
			const struct draw_person *q = &in->persons[j];

			if (q->role != DRAW_ROLE_EXPERT || strcmp(q->tender, p->tender) != 0)
				continue;
			k++;
			same += seats[j].room == seats[i].room;
		}
		/* k <= R: pairwise different rooms; else at most ceil(k / R) per room */
		if (same > (k + R - 1) / R)
			fail_msg("room %s holds %zu experts of tender %s (k=%zu, R=%zu)", room->id,
			         same, p->tender, k, R);
	}
	g_hash_table_destroy(used);
}

static void run_shape(const struct draw_inputs *in, uint32_t first_seed)
{
	struct draw_seat *seats = g_new0(struct draw_seat, in->n_persons + 1);
	struct draw_seat *again = g_new0(struct draw_seat, in->n_persons + 1);
	uint8_t seed[DRAW_HASH_LEN];
	GString *err = g_string_new(NULL);
	uint32_t i;

	assert_int_equal(draw_inputs_check_feasible(in, err), 0);
	for (i = first_seed; i < first_seed + SEEDS_PER_SHAPE; i++) {
		seed_of(i, seed);
		if (draw_assign(in, seed, seats, err))
			fail_msg("seed %u: %s", i, err->str);
		check_rules(in, seats);
		if (i == first_seed) {
			/* a pure function of (inputs, seed) */
			assert_int_equal(draw_assign(in, seed, again, err), 0);
			assert_memory_equal(seats, again, sizeof(*seats) * in->n_persons);
		}
	}
	g_free(seats);
	g_free(again);
	g_string_free(err, TRUE);
}

static void test_more_rooms_than_experts(void **state)
{
	const int er[] = {2, 2, 2, 2, 2, 2}, wr[] = {4}, ex[] = {3, 2};
	struct draw_inputs *in = site(er, 6, wr, 1, ex, 2, 1);

	run_shape(in, 1000);
	draw_inputs_free(in);
}

static void test_fewer_rooms_than_experts(void **state)
{
	const int er[] = {4, 4, 4}, wr[] = {2, 1}, ex[] = {7, 2};
	struct draw_inputs *in = site(er, 3, wr, 2, ex, 2, 1);

	run_shape(in, 2000);
	draw_inputs_free(in);
}

/* Every seat is needed and each tender may use a room once: a draw that chose
 * rooms greedily would strand experts; the flow check must steer around it. */
static void test_unequal_rooms_tight(void **state)
{
	const int er[] = {1, 3, 2, 3}, wr[] = {3}, ex[] = {4, 3, 2};
	struct draw_inputs *in = site(er, 4, wr, 1, ex, 3, 1);

	run_shape(in, 3000);
	draw_inputs_free(in);
}

static void test_several_tenders(void **state)
{
	const int er[] = {1, 2, 3, 4, 1, 2, 3, 4, 2, 2}, wr[] = {5, 3}, ex[] = {2, 7, 5, 3, 4, 2};
	struct draw_inputs *in = site(er, 10, wr, 2, ex, 6, 1);

	run_shape(in, 4000);
	draw_inputs_free(in);
}

static void test_several_tenders_sharing_rooms(void **state)
{
	/* 3 rooms: T00 and T01 may put 2 in a room, T02 only 1 */
	const int er[] = {5, 3, 4}, wr[] = {3}, ex[] = {5, 4, 2};
	struct draw_inputs *in = site(er, 3, wr, 1, ex, 3, 1);

	run_shape(in, 5000);
	draw_inputs_free(in);
}

/* Brute force: can the experts be seated at all under the rules? */
static gboolean brute_fill(int *cap, int *count, const int *tender_of, int n, int i, int R,
                           const int *limit)
{
	int r;

	if (i == n)
		return TRUE;
	for (r = 0; r < R; r++) {
		int *c = &count[tender_of[i] * R + r];

		if (cap[r] == 0 || *c >= limit[tender_of[i]])
			continue;
		cap[r]--;
		(*c)++;
		if (brute_fill(cap, count, tender_of, n, i + 1, R, limit))
			return TRUE;
		cap[r]++;
		(*c)--;
	}
	return FALSE;
}

/* On many small random sites the feasibility check agrees with brute force,
 * and every feasible site is drawn under the rules for several seeds. */
static void test_feasibility_matches_brute_force(void **state)
{
	GRand *rng = g_rand_new_with_seed(20261125);
	int site_no, feasible = 0, infeasible = 0;

	for (site_no = 0; site_no < 400; site_no++) {
		int R = g_rand_int_range(rng, 1, 5), nt = g_rand_int_range(rng, 1, 4);
		int er[4], ex[3], cap[4], count[12] = {0}, limit[3], tender_of[16], n = 0, r, t;
		const int wr[] = {1};
		struct draw_inputs *in;
		gboolean brute;
		int rc;

		for (r = 0; r < R; r++)
			er[r] = cap[r] = g_rand_int_range(rng, 1, 4);
		for (t = 0; t < nt; t++) {
			ex[t] = g_rand_int_range(rng, 0, 5);
			limit[t] = (ex[t] + R - 1) / R;
			for (r = 0; r < ex[t]; r++)
				tender_of[n++] = t;
		}
		brute = brute_fill(cap, count, tender_of, n, 0, R, limit);
		in = site(er, R, wr, 1, ex, nt, 0);
		rc = draw_inputs_check_feasible(in, NULL);
		if (brute != (rc == 0))
			fail_msg("site %d: brute force says %d, check says %d", site_no, brute, rc);
		if (rc == 0) {
			struct draw_seat seats[16];
			uint8_t seed[DRAW_HASH_LEN];
			uint32_t i;

			for (i = 0; i < 20; i++) {
				seed_of((uint32_t)site_no * 100 + i, seed);
				assert_int_equal(draw_assign(in, seed, seats, NULL), 0);
				check_rules(in, seats);
			}
			feasible++;
		} else {
			infeasible++;
		}
		draw_inputs_free(in);
	}
	/* the generator must exercise both outcomes */
	assert_true(feasible > 50 && infeasible > 50);
	g_rand_free(rng);
}

static void test_uniform_rejection(void **state)
{
	uint8_t seed[DRAW_HASH_LEN];
	struct draw_stream a, b;
	const uint32_t n = 3u << 30; /* 2^32 mod n = 2^30: a quarter of values rejected */
	int i, rejected = 0;

	seed_of(7, seed);
	draw_stream_init(&a, seed);
	draw_stream_init(&b, seed);
	for (i = 0; i < 2000; i++) {
		uint32_t got = draw_stream_uniform(&a, n), x;

		/* reference: skip values >= 3 * 2^30, reduce the first accepted one */
		while ((x = draw_stream_u32(&b)) >= n)
			rejected++;
		assert_int_equal(got, x % n);
	}
	assert_true(rejected > 300 && rejected < 1000);
	/* n = 1 still consumes four bytes */
	draw_stream_init(&a, seed);
	draw_stream_init(&b, seed);
	assert_int_equal(draw_stream_uniform(&a, 1), 0);
	draw_stream_u32(&b);
	assert_int_equal(draw_stream_u32(&a), draw_stream_u32(&b));
}

static void test_stream_blocks(void **state)
{
	static const char tag[] = "evalroom-draw-v1 stream";
	uint8_t seed[DRAW_HASH_LEN], buf[sizeof(tag) + DRAW_HASH_LEN + 8], block[DRAW_HASH_LEN];
	struct draw_stream s;
	int i, b;

	seed_of(9, seed);
	draw_stream_init(&s, seed);
	for (b = 0; b < 3; b++) {
		memcpy(buf, tag, sizeof(tag)); /* includes the 0x00 */
		memcpy(buf + sizeof(tag), seed, DRAW_HASH_LEN);
		memset(buf + sizeof(tag) + DRAW_HASH_LEN, 0, 8);
		buf[sizeof(buf) - 1] = (uint8_t)b;
		SHA256(buf, sizeof(buf), block);
		for (i = 0; i < DRAW_HASH_LEN; i += 4)
			assert_int_equal(draw_stream_u32(&s),
			                 (uint32_t)block[i] << 24 | (uint32_t)block[i + 1] << 16 |
			                     (uint32_t)block[i + 2] << 8 | block[i + 3]);
	}
}

/* --- replacements --- */

static struct draw *run_draw(const struct draw_inputs *in, const char *entropy)
{
	uint8_t secret[DRAW_SECRET_LEN];
	struct draw *d;
	GString *err = g_string_new(NULL);

	memset(secret, 0x5a, sizeof(secret));
	if (draw_commit(in, secret, &d, err) || draw_run(d, entropy, err))
		fail_msg("draw: %s", err->str);
	g_string_free(err, TRUE);
	return d;
}

static void person(struct draw_person *p, const char *id, const char *tender, enum draw_role role)
{
	memset(p, 0, sizeof(*p));
	g_strlcpy(p->id, id, sizeof(p->id));
	g_strlcpy(p->tender, tender, sizeof(p->tender));
	p->role = role;
}

/* Seat of every person as "room/seat" (or "-" when withdrawn), keyed by id. */
static GHashTable *snapshot(const struct draw *d, const char *const *extra)
{
	const struct draw_inputs *in = draw_get_inputs(d);
	GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	const char *room, *seat;
	size_t i;

	for (i = 0; i < in->n_persons + 8; i++) {
		const char *id = i < in->n_persons ? in->persons[i].id : extra[i - in->n_persons];

		if (!id)
			break;
		if (draw_seat_of(d, id, &room, &seat) == 0)
			g_hash_table_insert(h, g_strdup(id), g_strdup_printf("%s/%s", room, seat));
		else
			g_hash_table_insert(h, g_strdup(id), g_strdup("-"));
	}
	return h;
}

static size_t experts_of_in_room(const struct draw *d, const char *tender, const char *room_id,
                                 const char *const *extra)
{
	const struct draw_inputs *in = draw_get_inputs(d);
	const char *room, *seat;
	size_t i, n = 0;

	for (i = 0; i < in->n_persons; i++)
		if (in->persons[i].role == DRAW_ROLE_EXPERT &&
		    strcmp(in->persons[i].tender, tender) == 0 &&
		    draw_seat_of(d, in->persons[i].id, &room, &seat) == 0 &&
		    strcmp(room, room_id) == 0)
			n++;
	for (i = 0; extra && extra[i]; i++)
		if (draw_seat_of(d, extra[i], &room, &seat) == 0 && strcmp(room, room_id) == 0)
			n++;
	return n;
}

static void test_replacement_moves_nobody(void **state)
{
	/* 5 expert rooms of 2; T00 has 3 experts, so 2 rooms hold none of T00 */
	const int er[] = {2, 2, 2, 2, 2}, wr[] = {3}, ex[] = {3, 4};
	const char *const extra[] = {"N1", "N2", "N3", NULL};
	struct draw_inputs *in = site(er, 5, wr, 1, ex, 2, 1);
	uint32_t round;

	for (round = 0; round < 100; round++) {
		char entropy[32];
		struct draw *d;
		GHashTable *before, *after;
		GHashTableIter it;
		gpointer k, v;
		struct draw_person p;
		const char *room, *seat, *old_room, *old_seat;

		g_snprintf(entropy, sizeof(entropy), "round %u", round);
		d = run_draw(in, entropy);
		before = snapshot(d, extra);
		assert_int_equal(draw_seat_of(d, "X00-0", &old_room, &old_seat), 0);
		old_room = g_strdup(old_room);
		old_seat = g_strdup(old_seat);

		/* N1 replaces X00-0: X00-0 withdraws, N1 goes to a room without T00 */
		person(&p, "N1", "T00", DRAW_ROLE_EXPERT);
		assert_int_equal(draw_replace(d, &p, "X00-0", NULL), 0);
		assert_int_equal(draw_seat_of(d, "X00-0", &room, &seat), -ESRCH);
		assert_int_equal(draw_seat_of(d, "N1", &room, &seat), 0);
		assert_int_equal(experts_of_in_room(d, "T00", room, extra), 1);
		/* N2, an added expert of T00: still a room without T00 exists */
		person(&p, "N2", "T00", DRAW_ROLE_EXPERT);
		assert_int_equal(draw_replace(d, &p, NULL, NULL), 0);
		assert_int_equal(draw_seat_of(d, "N2", &room, &seat), 0);
		assert_int_equal(experts_of_in_room(d, "T00", room, extra), 1);
		/* N3, a representative, only to the tenderer room */
		person(&p, "N3", "T01", DRAW_ROLE_TENDERER);
		assert_int_equal(draw_replace(d, &p, NULL, NULL), 0);
		assert_int_equal(draw_seat_of(d, "N3", &room, &seat), 0);
		assert_string_equal(room, "W00");

		after = snapshot(d, extra);
		g_hash_table_iter_init(&it, before);
		while (g_hash_table_iter_next(&it, &k, &v)) {
			const char *now = g_hash_table_lookup(after, k);

			if (strcmp(k, "X00-0") == 0 || strcmp(v, "-") == 0)
				continue;
			assert_string_equal(v, now); /* nobody moved */
		}
		/* the new ones took free seats (or the withdrawn one's) */
		g_hash_table_iter_init(&it, after);
		while (g_hash_table_iter_next(&it, &k, &v)) {
			GHashTableIter it2;
			gpointer k2, v2;

			if (strcmp(v, "-") == 0)
				continue;
			g_hash_table_iter_init(&it2, after);
			while (g_hash_table_iter_next(&it2, &k2, &v2))
				if (k != k2 && strcmp(v, v2) == 0)
					fail_msg("%s and %s share seat %s", (char *)k, (char *)k2,
					         (char *)v);
		}
		assert_int_equal(draw_n_replacements(d), 3);
		g_free((char *)old_room);
		g_free((char *)old_seat);
		g_hash_table_destroy(before);
		g_hash_table_destroy(after);
		draw_free(d);
	}
	draw_inputs_free(in);
}

static void test_replacement_spreads_when_rooms_run_out(void **state)
{
	/* 2 expert rooms of 3 seats, T00 has 2 experts (one per room); an added
	 * third must share, and a fourth must go where T00 has fewest */
	const int er[] = {3, 3}, wr[] = {1}, ex[] = {2};
	struct draw_inputs *in = site(er, 2, wr, 1, ex, 1, 0);
	const char *const extra[] = {"N1", "N2", NULL};
	int round;

	for (round = 0; round < 50; round++) {
		char entropy[32];
		struct draw *d;
		struct draw_person p;
		const char *r1, *r2, *seat;

		g_snprintf(entropy, sizeof(entropy), "spread %d", round);
		d = run_draw(in, entropy);
		person(&p, "N1", "T00", DRAW_ROLE_EXPERT);
		assert_int_equal(draw_replace(d, &p, NULL, NULL), 0);
		person(&p, "N2", "T00", DRAW_ROLE_EXPERT);
		assert_int_equal(draw_replace(d, &p, NULL, NULL), 0);
		assert_int_equal(draw_seat_of(d, "N1", &r1, &seat), 0);
		assert_int_equal(draw_seat_of(d, "N2", &r2, &seat), 0);
		assert_string_not_equal(r1, r2);
		assert_int_equal(experts_of_in_room(d, "T00", "E00", extra), 2);
		assert_int_equal(experts_of_in_room(d, "T00", "E01", extra), 2);
		draw_free(d);
	}
	draw_inputs_free(in);
}

static void test_replacement_refusals(void **state)
{
	const int er[] = {1, 1}, wr[] = {1}, ex[] = {2};
	struct draw_inputs *in = site(er, 2, wr, 1, ex, 1, 1);
	struct draw *d = run_draw(in, "refusals");
	struct draw_person p;
	GString *err = g_string_new(NULL);
	const char *room, *seat;
	char *old, *now;

	person(&p, "N1", "T00", DRAW_ROLE_EXPERT);
	assert_int_equal(draw_replace(d, &p, NULL, err), -ENOSPC);
	assert_non_null(strstr(err->str, "no free seat in expert rooms"));
	assert_int_equal(draw_n_replacements(d), 0);
	assert_int_equal(draw_seat_of(d, "N1", &room, &seat), -ENOENT);
	person(&p, "X00-0", "T00", DRAW_ROLE_EXPERT);
	assert_int_equal(draw_replace(d, &p, NULL, NULL), -EINVAL); /* id taken */
	person(&p, "N1", "T09", DRAW_ROLE_EXPERT);
	assert_int_equal(draw_replace(d, &p, NULL, NULL), -EINVAL); /* no such tender */
	person(&p, "N1", "T00", DRAW_ROLE_TENDERER);
	assert_int_equal(draw_replace(d, &p, "X00-0", NULL), -EINVAL); /* role differs */
	person(&p, "N1", "T00", DRAW_ROLE_EXPERT);
	assert_int_equal(draw_replace(d, &p, "ghost", NULL), -ENOENT);
	/* a full site still allows a replacement into the withdrawn seat */
	assert_int_equal(draw_seat_of(d, "X00-1", &room, &seat), 0);
	old = g_strdup_printf("%s/%s", room, seat);
	assert_int_equal(draw_replace(d, &p, "X00-1", NULL), 0);
	assert_int_equal(draw_seat_of(d, "N1", &room, &seat), 0);
	now = g_strdup_printf("%s/%s", room, seat);
	assert_string_equal(old, now);
	person(&p, "N2", "T00", DRAW_ROLE_EXPERT);
	assert_int_equal(draw_replace(d, &p, "X00-1", NULL), -EINVAL); /* already replaced */
	assert_int_equal(draw_n_replacements(d), 1);
	g_free(old);
	g_free(now);
	g_string_free(err, TRUE);
	draw_free(d);
	draw_inputs_free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uniform_rejection),
	    cmocka_unit_test(test_stream_blocks),
	    cmocka_unit_test(test_more_rooms_than_experts),
	    cmocka_unit_test(test_fewer_rooms_than_experts),
	    cmocka_unit_test(test_unequal_rooms_tight),
	    cmocka_unit_test(test_several_tenders),
	    cmocka_unit_test(test_several_tenders_sharing_rooms),
	    cmocka_unit_test(test_feasibility_matches_brute_force),
	    cmocka_unit_test(test_replacement_moves_nobody),
	    cmocka_unit_test(test_replacement_spreads_when_rooms_run_out),
	    cmocka_unit_test(test_replacement_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
