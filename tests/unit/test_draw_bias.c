/* Unbiasedness: a small symmetric site drawn with 20,000 fixed seeds.
 *
 * By symmetry every expert must land in each expert room with probability 1/4
 * and at each of the 8 expert seats with probability 1/8, every tenderer
 * representative at each of the 3 tenderer seats with probability 1/3. Each
 * frequency table is checked with Pearson's chi-square test at significance
 * level 0.001 per table (critical values below). The seeds are fixed, so the
 * outcome is deterministic: it never flakes, and it fails only if the
 * algorithm's distribution is off. docs/draw.md section 8 documents this. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/sha.h>
#include <string.h>

#include "draw.h"

#define N_SEEDS 20000

/* chi-square upper 0.001 quantiles for 2, 3 and 7 degrees of freedom */
#define CHI2_DF2 13.816
#define CHI2_DF3 16.266
#define CHI2_DF7 24.322

static const char site_json[] =
    "{\"algorithm\":1,"
    "\"rooms\":[{\"id\":\"E1\",\"kind\":\"expert\",\"seats\":[\"S1\",\"S2\"]},"
    "{\"id\":\"E2\",\"kind\":\"expert\",\"seats\":[\"S1\",\"S2\"]},"
    "{\"id\":\"E3\",\"kind\":\"expert\",\"seats\":[\"S1\",\"S2\"]},"
    "{\"id\":\"E4\",\"kind\":\"expert\",\"seats\":[\"S1\",\"S2\"]},"
    "{\"id\":\"W1\",\"kind\":\"tenderer\",\"seats\":[\"S1\",\"S2\",\"S3\"]}],"
    "\"tenders\":[{\"id\":\"T1\"},{\"id\":\"T2\"}],"
    "\"persons\":[{\"id\":\"A1\",\"tender\":\"T1\",\"role\":\"expert\"},"
    "{\"id\":\"A2\",\"tender\":\"T1\",\"role\":\"expert\"},"
    "{\"id\":\"A3\",\"tender\":\"T1\",\"role\":\"expert\"},"
    "{\"id\":\"B1\",\"tender\":\"T2\",\"role\":\"expert\"},"
    "{\"id\":\"B2\",\"tender\":\"T2\",\"role\":\"expert\"},"
    "{\"id\":\"Q1\",\"tender\":\"T1\",\"role\":\"tenderer\"},"
    "{\"id\":\"Q2\",\"tender\":\"T2\",\"role\":\"tenderer\"}]}";

static double chi_square(const unsigned *counts, size_t k, double total)
{
	double expected = total / (double)k, chi = 0;
	size_t i;

	for (i = 0; i < k; i++)
		chi += ((double)counts[i] - expected) * ((double)counts[i] - expected) / expected;
	return chi;
}

static void test_expert_and_seat_frequencies(void **state)
{
	unsigned room_counts[7][4] = {{0}}, seat_counts[7][8] = {{0}};
	struct draw_seat seats[7];
	struct draw_inputs *in;
	json_t *j = json_loads(site_json, 0, NULL);
	uint32_t i;
	size_t p;

	assert_non_null(j);
	assert_int_equal(draw_inputs_parse(j, &in, NULL), 0);
	assert_int_equal(in->n_persons, 7);
	for (i = 0; i < N_SEEDS; i++) {
		uint8_t seed[DRAW_HASH_LEN];
		char text[48];

		g_snprintf(text, sizeof(text), "evalroom draw bias seed %u", i);
		SHA256((const unsigned char *)text, strlen(text), seed);
		assert_int_equal(draw_assign(in, seed, seats, NULL), 0);
		for (p = 0; p < 7; p++) {
			/* rooms E1..E4 are 0..3, W1 is 4 */
			if (seats[p].room < 4)
				room_counts[p][seats[p].room]++;
			seat_counts[p]
			           [(seats[p].room < 4 ? seats[p].room * 2 : 0) + seats[p].seat]++;
		}
	}
	for (p = 0; p < 7; p++) {
		const char *id = in->persons[p].id;

		if (in->persons[p].role == DRAW_ROLE_EXPERT) {
			double chi_room = chi_square(room_counts[p], 4, N_SEEDS);
			double chi_seat = chi_square(seat_counts[p], 8, N_SEEDS);

			print_message("%s rooms chi2=%.2f (< %.3f) seats chi2=%.2f (< %.3f)\n", id,
			              chi_room, CHI2_DF3, chi_seat, CHI2_DF7);
			assert_true(chi_room < CHI2_DF3);
			assert_true(chi_seat < CHI2_DF7);
		} else {
			double chi = chi_square(seat_counts[p], 3, N_SEEDS);

			print_message("%s seats chi2=%.2f (< %.3f)\n", id, chi, CHI2_DF2);
			assert_true(chi < CHI2_DF2);
		}
	}
	draw_inputs_free(in);
	json_decref(j);
}

/* The same statistic catches a modulo-biased mapping of the same stream
 * (a 2-bit value reduced mod 3), so the test above has the power to fail. */
static void test_chi_square_detects_modulo_bias(void **state)
{
	unsigned counts[3] = {0}, fair[3] = {0};
	struct draw_stream s, t;
	uint8_t seed[DRAW_HASH_LEN] = {1};
	uint32_t i;

	draw_stream_init(&s, seed);
	draw_stream_init(&t, seed);
	for (i = 0; i < N_SEEDS; i++) {
		counts[(draw_stream_u32(&s) >> 30) % 3]++;
		fair[draw_stream_uniform(&t, 3)]++;
	}
	assert_true(chi_square(counts, 3, N_SEEDS) > CHI2_DF2);
	assert_true(chi_square(fair, 3, N_SEEDS) < CHI2_DF2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_expert_and_seat_frequencies),
	    cmocka_unit_test(test_chi_square_detects_modulo_bias),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
