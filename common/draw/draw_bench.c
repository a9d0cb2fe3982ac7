/* evalroom-draw-bench: times a site-sized draw (bench/draw.sh prints its figures). */
#include "draw.h"

#include <stdio.h>
#include <stdlib.h>

#define ROOMS_EXPERT   160
#define ROOMS_TENDERER 40
#define SEATS_PER_ROOM 10
#define TENDERS        100
#define EXPERTS        7
#define TENDERERS      3

static json_t *site(void)
{
	json_t *rooms = json_array(), *tenders = json_array(), *persons = json_array();
	char id[DRAW_ID_MAX + 1];
	int r, s, t, p;

	for (r = 0; r < ROOMS_EXPERT + ROOMS_TENDERER; r++) {
		json_t *seats = json_array();

		for (s = 0; s < SEATS_PER_ROOM; s++) {
			g_snprintf(id, sizeof(id), "S%02d", s);
			json_array_append_new(seats, json_string(id));
		}
		g_snprintf(id, sizeof(id), "R%03d", r);
		json_array_append_new(rooms, json_pack("{s:s, s:s, s:o}", "id", id, "kind",
		                                       r < ROOMS_EXPERT ? "expert" : "tenderer",
		                                       "seats", seats));
	}
	for (t = 0; t < TENDERS; t++) {
		char tid[DRAW_ID_MAX + 1];

		g_snprintf(tid, sizeof(tid), "T%03d", t);
		json_array_append_new(tenders, json_pack("{s:s}", "id", tid));
		for (p = 0; p < EXPERTS + TENDERERS; p++) {
			g_snprintf(id, sizeof(id), "P%03d-%02d", t, p);
			json_array_append_new(
			    persons, json_pack("{s:s, s:s, s:s}", "id", id, "tender", tid, "role",
			                       p < EXPERTS ? "expert" : "tenderer"));
		}
	}
	return json_pack("{s:i, s:o, s:o, s:o}", "algorithm", DRAW_ALGORITHM_VERSION, "rooms",
	                 rooms, "tenders", tenders, "persons", persons);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 5, i;
	double *draw_ms, *verify_ms;
	json_t *j = site();
	struct draw_inputs *in;
	GString *err = g_string_new(NULL);

	if (rounds < 1 || draw_inputs_parse(j, &in, err)) {
		fprintf(stderr, "bench: %s\n", err->str);
		return 1;
	}
	draw_ms = g_new(double, rounds);
	verify_ms = g_new(double, rounds);
	for (i = 0; i < rounds; i++) {
		gint64 t0, t1, t2;
		struct draw *d;
		json_t *rec;
		char entropy[32];

		g_snprintf(entropy, sizeof(entropy), "bench round %d", i);
		t0 = g_get_monotonic_time();
		if (draw_commit(in, NULL, &d, err) || draw_run(d, entropy, err)) {
			fprintf(stderr, "bench: %s\n", err->str);
			return 1;
		}
		t1 = g_get_monotonic_time();
		rec = draw_record_export(d);
		if (draw_record_verify(rec, err)) {
			fprintf(stderr, "bench: verify: %s\n", err->str);
			return 1;
		}
		t2 = g_get_monotonic_time();
		g_string_truncate(err, 0);
		draw_ms[i] = (double)(t1 - t0) / 1000.0;
		verify_ms[i] = (double)(t2 - t1) / 1000.0;
		json_decref(rec);
		draw_free(d);
	}
	qsort(draw_ms, (size_t)rounds, sizeof(double), cmp_double);
	qsort(verify_ms, (size_t)rounds, sizeof(double), cmp_double);
	printf("site: %d rooms (%d expert, %d tenderer), %d seats; %d tenders; %d people "
	       "(%d experts, %d tenderer representatives)\n",
	       ROOMS_EXPERT + ROOMS_TENDERER, ROOMS_EXPERT, ROOMS_TENDERER,
	       (ROOMS_EXPERT + ROOMS_TENDERER) * SEATS_PER_ROOM, TENDERS,
	       TENDERS * (EXPERTS + TENDERERS), TENDERS * EXPERTS, TENDERS * TENDERERS);
	printf("draw (feasibility check + commit + seat everyone): median %.1f ms, min %.1f ms, "
	       "max %.1f ms over %d rounds\n",
	       draw_ms[rounds / 2], draw_ms[0], draw_ms[rounds - 1], rounds);
	printf("verify (export record + re-run + compare): median %.1f ms, min %.1f ms, "
	       "max %.1f ms over %d rounds\n",
	       verify_ms[rounds / 2], verify_ms[0], verify_ms[rounds - 1], rounds);
	g_free(draw_ms);
	g_free(verify_ms);
	draw_inputs_free(in);
	json_decref(j);
	g_string_free(err, TRUE);
	return 0;
}
