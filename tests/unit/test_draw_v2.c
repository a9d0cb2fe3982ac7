/* Algorithm version 2 (docs/draw.md 5.1-5.2, 7, 8): the even spread over many
 * fixed seeds, the relaxation and its record, its unbiasedness, and version 1
 * records still verifying. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/sha.h>
#include <string.h>

#include "draw_internal.h"

#define SEEDS 1000
#define BIAS_SEEDS 20000
#define CHI2_DF3 16.266 /* chi-square upper 0.001 quantile, 3 degrees of freedom */

/* A site of algorithm ALG: expert rooms with the given seat counts, one tenderer
 * room of 4 seats, tenders T0.. with the given expert counts (persons X<t>-<n>). */
static struct draw_inputs *site(int alg, const int *room_seats, int nr, const int *experts,
                                int nt)
{
	json_t *rooms = json_array(), *tenders = json_array(), *persons = json_array(), *j;
	struct draw_inputs *in;
	GString *err = g_string_new(NULL);
	char id[40];
	int i, s;

	for (i = 0; i < nr; i++) {
		json_t *seats = json_array();

		for (s = 0; s < room_seats[i]; s++) {
			g_snprintf(id, sizeof(id), "S%d", s);
			json_array_append_new(seats, json_string(id));
		}
		g_snprintf(id, sizeof(id), "E%d", i);
		json_array_append_new(rooms, json_pack("{s:s,s:s,s:o}", "id", id, "kind", "expert",
		                                       "seats", seats));
	}
	json_array_append_new(rooms, json_pack("{s:s,s:s,s:[s,s,s,s]}", "id", "W", "kind",
	                                       "tenderer", "seats", "S0", "S1", "S2", "S3"));
	for (i = 0; i < nt; i++) {
		char tid[8];

		g_snprintf(tid, sizeof(tid), "T%d", i);
		json_array_append_new(tenders, json_pack("{s:s}", "id", tid));
		for (s = 0; s < experts[i]; s++) {
			g_snprintf(id, sizeof(id), "X%d-%d", i, s);
			json_array_append_new(persons, json_pack("{s:s,s:s,s:s}", "id", id, "tender",
			                                         tid, "role", "expert"));
		}
	}
	j = json_pack("{s:i,s:o,s:o,s:o}", "algorithm", alg, "rooms", rooms, "tenders", tenders,
	              "persons", persons);
	if (draw_inputs_parse(j, &in, err))
		fail_msg("site: %s", err->str);
	json_decref(j);
	g_string_free(err, TRUE);
	return in;
}

static void seed_of(const char *what, uint32_t i, uint8_t seed[DRAW_HASH_LEN])
{
	char text[80];

	g_snprintf(text, sizeof(text), "%s %u", what, i);
	SHA256((const unsigned char *)text, strlen(text), seed);
}

/* count[t][r]: experts of tender t in expert room r (rooms E0.. are first). */
static void tally(const struct draw_inputs *in, const struct draw_seat *seats, int count[][8])
{
	size_t i;

	memset(count, 0, sizeof(int) * 8 * 8);
	for (i = 0; i < in->n_persons; i++) {
		long t = draw_inputs_find_tender(in, in->persons[i].tender);

		if (in->persons[i].role == DRAW_ROLE_EXPERT)
			count[t][seats[i].room]++;
	}
}

/* Every tender between floor(K/R) and ceil(K/R) per room, for SEEDS seeds. */
static void expect_even(const int *room_seats, int nr, const int *experts, int nt)
{
	struct draw_inputs *in = site(2, room_seats, nr, experts, nt);
	struct draw_seat *seats = g_new0(struct draw_seat, in->n_persons + 1);
	int count[8][8];
	uint8_t seed[DRAW_HASH_LEN];
	uint32_t i;
	int t, r;

	for (i = 0; i < SEEDS; i++) {
		seed_of("evalroom draw v2 test seed", i, seed);
		assert_int_equal(draw_assign(in, seed, seats, NULL), 0);
		tally(in, seats, count);
		for (t = 0; t < nt; t++)
			for (r = 0; r < nr; r++) {
				assert_true(count[t][r] >= experts[t] / nr);
				assert_true(count[t][r] <= (experts[t] + nr - 1) / nr);
			}
	}
	g_free(seats);
	draw_inputs_free(in);
}

static void test_even_spread(void **state)
{
	/* the case: 5 experts, 4 rooms: always 2, 1, 1, 1 */
	expect_even((int[]){3, 3, 3, 3}, 4, (int[]){5}, 1);
	/* several tenders sharing unequal rooms, filled to the last seat */
	expect_even((int[]){4, 3, 3, 2}, 4, (int[]){5, 4, 3}, 3);
	expect_even((int[]){5, 5, 5}, 3, (int[]){7, 4, 2, 1}, 4);
	expect_even((int[]){2, 2, 2, 2, 2}, 5, (int[]){6, 4}, 2);
}

/* Version 1 of the same inputs does put 5 experts in 4 rooms as 2, 2, 1, 0: the
 * difference version 2 makes is real. */
static void test_version1_is_only_a_cap(void **state)
{
	struct draw_inputs *in = site(1, (int[]){3, 3, 3, 3}, 4, (int[]){5}, 1);
	struct draw_seat seats[5];
	int count[8][8], empty = 0;
	uint8_t seed[DRAW_HASH_LEN];
	uint32_t i;
	int r;

	for (i = 0; i < SEEDS; i++) {
		seed_of("evalroom draw v2 test seed", i, seed);
		assert_int_equal(draw_assign(in, seed, seats, NULL), 0);
		tally(in, seats, count);
		for (r = 0; r < 4; r++)
			empty += count[0][r] == 0;
	}
	assert_true(empty > SEEDS / 4);
	draw_inputs_free(in);
}

/* The worked case of docs/draw.md section 10 without the page: two tenders of 5 in
 * rooms 3, 3, 3, 1: T0 keeps its lower bound (tender order), T1 is relaxed and says so. */
static void test_relaxation_and_record(void **state)
{
	struct draw_inputs *in = site(2, (int[]){3, 3, 3, 1}, 4, (int[]){5, 5}, 2);
	uint8_t secret[DRAW_SECRET_LEN] = {7};
	GString *err = g_string_new(NULL);
	struct draw *d;
	json_t *rec, *relaxed, *one;
	int *lower = NULL, count[8][8];
	uint32_t i;

	assert_int_equal(draw_rules(in, &lower, NULL, err), 0);
	assert_int_equal(lower[0], 1);
	assert_int_equal(lower[1], 0);
	g_free(lower);

	for (i = 0; i < 200; i++) {
		struct draw_seat seats[10];
		uint8_t seed[DRAW_HASH_LEN];

		seed_of("evalroom draw v2 relax seed", i, seed);
		assert_int_equal(draw_assign(in, seed, seats, NULL), 0);
		tally(in, seats, count);
		assert_int_equal(count[0][3], 1); /* E3 (1 seat) is T0's */
		for (int r = 0; r < 4; r++) {
			assert_true(count[0][r] >= 1 && count[0][r] <= 2);
			assert_true(count[1][r] <= 2);
		}
	}

	assert_int_equal(draw_commit(in, secret, &d, err), 0);
	assert_int_equal(draw_run(d, "relaxation", err), 0);
	rec = draw_record_export(d);
	relaxed = json_object_get(rec, "relaxed");
	assert_int_equal(json_array_size(relaxed), 1);
	one = json_array_get(relaxed, 0);
	assert_string_equal(json_string_value(json_object_get(one, "tender")), "T1");
	assert_int_equal(json_integer_value(json_object_get(one, "at_most")), 2);
	assert_int_equal(json_integer_value(json_object_get(one, "at_least")), 0);
	assert_non_null(strstr(json_string_value(json_object_get(one, "reason")), "at least 1"));
	g_string_truncate(err, 0);
	assert_int_equal(draw_record_verify(rec, err), 0);

	/* a record that hides the relaxation is caught */
	json_object_set_new(rec, "relaxed", json_array());
	g_string_truncate(err, 0);
	assert_int_equal(draw_record_verify(rec, err), -EINVAL);
	assert_non_null(strstr(err->str, "relaxed: does not match the inputs"));
	/* and one without the member is malformed */
	json_object_del(rec, "relaxed");
	g_string_truncate(err, 0);
	assert_int_equal(draw_record_verify(rec, err), -EBADMSG);
	json_decref(rec);
	draw_free(d);
	draw_inputs_free(in);
	g_string_free(err, TRUE);
}

/* Version 1 refuses what version 2 refuses: the lower bound never refuses. */
static void test_same_refusals(void **state)
{
	struct draw_inputs *v1 = site(1, (int[]){1, 3}, 2, (int[]){4}, 1);
	struct draw_inputs *v2 = site(2, (int[]){1, 3}, 2, (int[]){4}, 1);
	GString *e1 = g_string_new(NULL), *e2 = g_string_new(NULL);

	assert_int_equal(draw_inputs_check_feasible(v1, e1), -ENOSPC);
	assert_int_equal(draw_inputs_check_feasible(v2, e2), -ENOSPC);
	assert_string_equal(e1->str, e2->str);
	draw_inputs_free(v1);
	draw_inputs_free(v2);
	g_string_free(e1, TRUE);
	g_string_free(e2, TRUE);
}

/* The shipped version 1 record still verifies; a version 1 record may not carry
 * "relaxed"; record and inputs must agree on the version. */
static void test_version1_records_verify(void **state)
{
	json_t *rec = json_load_file(DRAW_SOURCE_DIR "/schemas/examples/draw-record.json", 0, NULL);
	GString *err = g_string_new(NULL);

	assert_non_null(rec);
	assert_int_equal(json_integer_value(json_object_get(rec, "algorithm")), 1);
	assert_int_equal(draw_record_verify(rec, err), 0);
	json_object_set_new(rec, "relaxed", json_array());
	g_string_truncate(err, 0);
	assert_int_equal(draw_record_verify(rec, err), -EBADMSG);
	json_object_del(rec, "relaxed");
	json_object_set_new(rec, "algorithm", json_integer(2));
	g_string_truncate(err, 0);
	assert_int_equal(draw_record_verify(rec, err), -EBADMSG);
	assert_non_null(strstr(err->str, "must equal inputs.algorithm"));
	json_decref(rec);
	g_string_free(err, TRUE);
}

static double chi_square(const unsigned *counts, size_t k, double total)
{
	double expected = total / (double)k, chi = 0;

	for (size_t i = 0; i < k; i++)
		chi += ((double)counts[i] - expected) * ((double)counts[i] - expected) / expected;
	return chi;
}

/* Unbiasedness (docs/draw.md section 8): 4 rooms of 3 seats, T0 with 5 experts and
 * T1 with 2. By symmetry every expert's room is uniform, and so is the room that
 * holds two of T0. */
static void test_v2_unbiased(void **state)
{
	struct draw_inputs *in = site(2, (int[]){3, 3, 3, 3}, 4, (int[]){5, 2}, 2);
	unsigned room[7][4] = {{0}}, doubled[4] = {0};
	struct draw_seat seats[7];
	int count[8][8];
	uint8_t seed[DRAW_HASH_LEN];
	uint32_t i;
	int p, r, twos;

	for (i = 0; i < BIAS_SEEDS; i++) {
		seed_of("evalroom draw bias v2 seed", i, seed);
		assert_int_equal(draw_assign(in, seed, seats, NULL), 0);
		for (p = 0; p < 7; p++)
			room[p][seats[p].room]++;
		tally(in, seats, count);
		for (r = 0, twos = 0; r < 4; r++) {
			assert_true(count[0][r] == 1 || count[0][r] == 2);
			if (count[0][r] == 2) {
				doubled[r]++;
				twos++;
			}
		}
		assert_int_equal(twos, 1);
	}
	for (p = 0; p < 7; p++)
		assert_true(chi_square(room[p], 4, BIAS_SEEDS) < CHI2_DF3);
	assert_true(chi_square(doubled, 4, BIAS_SEEDS) < CHI2_DF3);
	draw_inputs_free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_even_spread),
	    cmocka_unit_test(test_version1_is_only_a_cap),
	    cmocka_unit_test(test_relaxation_and_record),
	    cmocka_unit_test(test_same_refusals),
	    cmocka_unit_test(test_version1_records_verify),
	    cmocka_unit_test(test_v2_unbiased),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
