/* The worked examples of docs/draw.md (section 9, version 1; section 10,
 * version 2), read from the page itself, re-run here:
 * canonical text, every hash, the stream, each choice's n and k, the seats and
 * the replacements. The page cannot drift from the code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "draw_internal.h"
#include "hex.h"

static char *doc_text;

static int load_doc(void **state)
{
	GError *error = NULL;

	if (!g_file_get_contents(DRAW_SOURCE_DIR "/docs/draw.md", &doc_text, NULL, &error)) {
		fprintf(stderr, "docs/draw.md: %s\n", error->message);
		g_error_free(error);
		return -1;
	}
	return 0;
}

static int free_doc(void **state)
{
	g_free(doc_text);
	return 0;
}

/* Body of the fenced block whose info string ends in " <tag>", without the
 * final newline. Fails the test when the page lacks it. */
static char *block(const char *tag)
{
	char *open = g_strdup_printf(" %s\n", tag);
	const char *p = doc_text, *start, *end;

	for (;;) {
		const char *fence = strstr(p, "```");
		const char *eol;

		if (!fence)
			fail_msg("docs/draw.md: no block tagged %s", tag);
		eol = strchr(fence, '\n');
		assert_non_null(eol);
		if ((size_t)(eol + 1 - fence) > strlen(open) &&
		    strncmp(eol + 1 - strlen(open), open, strlen(open)) == 0) {
			start = eol + 1;
			break;
		}
		p = eol + 1;
	}
	end = strstr(start, "\n```");
	assert_non_null(end);
	g_free(open);
	return g_strndup(start, (gsize)(end - start));
}

/* block() of "<prefix>-<name>". */
static char *block_p(const char *prefix, const char *name)
{
	char *tag = g_strdup_printf("%s-%s", prefix, name);
	char *b = block(tag);

	g_free(tag);
	return b;
}

static void hex_of(const uint8_t *b, char *out)
{
	hex_encode(b, DRAW_HASH_LEN, out);
}

static void run_example(const char *prefix, size_t n_replacements, gboolean check_shipped)
{
	char *input = block_p(prefix, "input"), *canonical = block_p(prefix, "canonical");
	char *input_hash = block_p(prefix, "input-hash"),
	     *secret_hex = block_p(prefix, "secret");
	char *commitment = block_p(prefix, "commitment"),
	     *entropy = block_p(prefix, "entropy");
	char *entropy_hash = block_p(prefix, "entropy-hash"),
	     *seed_hex = block_p(prefix, "seed");
	char *block0 = block_p(prefix, "stream-block0"), *result = block_p(prefix, "result");
	char *replacements = block_p(prefix, "replacements");
	char *rep_seed1 = block_p(prefix, "replacement-seed-1");
	uint8_t secret[DRAW_SECRET_LEN], h[DRAW_HASH_LEN], seed[DRAW_HASH_LEN];
	char hex[2 * DRAW_HASH_LEN + 1], *text;
	struct draw_inputs *in;
	struct draw *d;
	struct draw_seat *seats;
	struct draw_trace_step *steps;
	struct draw_stream stream;
	gchar **lines;
	GString *err = g_string_new(NULL);
	json_t *j = json_loads(input, 0, NULL);
	size_t i;
	int w;

	assert_non_null(j);
	if (draw_inputs_parse(j, &in, err))
		fail_msg("example input: %s", err->str);
	text = draw_inputs_canonical(in);
	assert_string_equal(text, canonical);
	draw_inputs_hash(in, h);
	hex_of(h, hex);
	assert_string_equal(hex, input_hash);

	assert_int_equal(hex_decode_lower(secret_hex, secret, sizeof(secret)), 0);
	assert_int_equal(draw_commit(in, secret, &d, err), 0);
	draw_get_commitment(d, h);
	hex_of(h, hex);
	assert_string_equal(hex, commitment);
	SHA256((const unsigned char *)entropy, strlen(entropy), h);
	hex_of(h, hex);
	assert_string_equal(hex, entropy_hash);
	assert_int_equal(draw_run(d, entropy, err), 0);
	assert_int_equal(draw_get_seed(d, seed), 0);
	hex_of(seed, hex);
	assert_string_equal(hex, seed_hex);

	/* the stream's first block, word by word */
	assert_int_equal(hex_decode_lower(block0, h, sizeof(h)), 0);
	draw_stream_init(&stream, seed);
	for (w = 0; w < 8; w++)
		assert_int_equal(draw_stream_u32(&stream),
		                 (uint32_t)h[4 * w] << 24 | (uint32_t)h[4 * w + 1] << 16 |
		                     (uint32_t)h[4 * w + 2] << 8 | h[4 * w + 3]);

	/* each person: n, k, room, seat */
	seats = g_new0(struct draw_seat, in->n_persons);
	steps = g_new0(struct draw_trace_step, in->n_persons);
	assert_int_equal(draw_assign_traced(in, seed, seats, steps, err), 0);
	lines = g_strsplit(result, "\n", -1);
	assert_int_equal(g_strv_length(lines), in->n_persons);
	for (i = 0; i < in->n_persons; i++) {
		char *got = g_strdup_printf("%s %u %u %s %s", in->persons[i].id, steps[i].n,
		                            steps[i].k, in->rooms[seats[i].room].id,
		                            in->rooms[seats[i].room].seats[seats[i].seat]);
		const char *room, *seat;

		assert_string_equal(got, lines[i]);
		assert_int_equal(draw_seat_of(d, in->persons[i].id, &room, &seat), 0);
		assert_string_equal(room, in->rooms[seats[i].room].id);
		g_free(got);
	}
	g_strfreev(lines);

	draw_replacement_seed(seed, 1, h);
	hex_of(h, hex);
	assert_string_equal(hex, rep_seed1);
	lines = g_strsplit(replacements, "\n", -1);
	for (i = 0; lines[i]; i++) {
		gchar **f = g_strsplit(lines[i], " ", -1);
		struct draw_person p = {.role = DRAW_ROLE_EXPERT};
		const struct draw_replacement *r;
		char *got;

		assert_int_equal(g_strv_length(f), 9);
		g_strlcpy(p.id, f[1], sizeof(p.id));
		g_strlcpy(p.tender, f[2], sizeof(p.tender));
		p.role = strcmp(f[3], "expert") == 0 ? DRAW_ROLE_EXPERT : DRAW_ROLE_TENDERER;
		if (draw_replace(d, &p, strcmp(f[4], "-") == 0 ? NULL : f[4], err))
			fail_msg("replacement %s: %s", lines[i], err->str);
		r = &g_array_index(d->replacements, struct draw_replacement, i);
		got = g_strdup_printf("%u %s %s %s %s %u %u %s %s", r->counter, r->person.id,
		                      r->person.tender, f[3], f[4], r->step.n, r->step.k,
		                      in->rooms[r->seat.room].id,
		                      in->rooms[r->seat.room].seats[r->seat.seat]);
		assert_string_equal(got, lines[i]);
		g_free(got);
		g_strfreev(f);
	}
	assert_int_equal(i, n_replacements);
	g_strfreev(lines);

	/* version 2: the record's "relaxed" member is the page's */
	if (in->algorithm >= 2) {
		char *relaxed_text = block_p(prefix, "relaxed");
		json_t *want = json_loads(relaxed_text, 0, NULL), *rec = draw_record_export(d);
		GString *report = g_string_new(NULL);

		assert_non_null(want);
		assert_true(json_equal(want, json_object_get(rec, "relaxed")));
		if (draw_record_verify(rec, report))
			fail_msg("%s: %s", prefix, report->str);
		g_string_free(report, TRUE);
		json_decref(want);
		json_decref(rec);
		g_free(relaxed_text);
	}

	/* the shipped example record is this example's record */
	if (check_shipped) {
		json_t *shipped =
		    json_load_file(DRAW_SOURCE_DIR "/schemas/examples/draw-record.json", 0, NULL);
		json_t *mine = draw_record_export(d);

		assert_non_null(shipped);
		assert_true(json_equal(shipped, mine));
		json_decref(shipped);
		json_decref(mine);
	}

	g_free(seats);
	g_free(steps);
	g_free(text);
	draw_free(d);
	draw_inputs_free(in);
	json_decref(j);
	g_string_free(err, TRUE);
	g_free(input);
	g_free(canonical);
	g_free(input_hash);
	g_free(secret_hex);
	g_free(commitment);
	g_free(entropy);
	g_free(entropy_hash);
	g_free(seed_hex);
	g_free(block0);
	g_free(result);
	g_free(replacements);
	g_free(rep_seed1);
}

static void test_worked_example(void **state)
{
	run_example("draw-example", 3, TRUE);
}

static void test_worked_example_v2(void **state)
{
	run_example("draw-v2-example", 1, FALSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_worked_example),
	    cmocka_unit_test(test_worked_example_v2),
	};
	return cmocka_run_group_tests(tests, load_doc, free_doc);
}
