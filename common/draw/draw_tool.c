/* evalroom-draw-tool: runs and verifies seat draws from the command line, as
 * an auditor or a test would, without the controller. */
#include "draw_cli.h"
#include "draw_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "text_safe.h"

static int usage(void)
{
	fprintf(stderr, "usage: evalroom-draw-tool run INPUT.json [--secret HEX] --entropy TEXT\n"
	                "                          [--replace ID:TENDER:ROLE[:REPLACES]]... [--trace]\n"
	                "       evalroom-draw-tool commit INPUT.json [--secret HEX]\n"
	                "       evalroom-draw-tool verify-draw RECORD.json\n");
	return 2;
}

static int load_inputs(const char *path, struct draw_inputs **in)
{
	json_error_t jerr;
	GString *err = g_string_new(NULL);
	json_t *j;
	int rc;

	j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		char *text = text_display(jerr.text); /* the file's own bytes, quoted */
		fprintf(stderr, "%s: %s (line %d)\n", path, text, jerr.line);
		g_free(text);
		g_string_free(err, TRUE);
		return 2;
	}
	rc = draw_inputs_parse(j, in, err);
	if (rc)
		fprintf(stderr, "%s: %s\n", path, err->str);
	json_decref(j);
	g_string_free(err, TRUE);
	return rc ? 2 : 0;
}

static int parse_replace(const char *arg, struct draw_person *p, char **replaces)
{
	gchar **f = g_strsplit(arg, ":", -1);
	guint n = g_strv_length(f);
	int rc = 0;

	memset(p, 0, sizeof(*p));
	*replaces = NULL;
	if (n < 3 || n > 4 || !draw_id_valid(f[0]) || !draw_id_valid(f[1]) ||
	    (strcmp(f[2], "expert") != 0 && strcmp(f[2], "tenderer") != 0)) {
		rc = -1;
	} else {
		g_strlcpy(p->id, f[0], sizeof(p->id));
		g_strlcpy(p->tender, f[1], sizeof(p->tender));
		p->role = strcmp(f[2], "expert") == 0 ? DRAW_ROLE_EXPERT : DRAW_ROLE_TENDERER;
		if (n == 4)
			*replaces = g_strdup(f[3]);
	}
	g_strfreev(f);
	return rc;
}

/* Each choice's candidate count n and drawn index k, to stderr, one line each in
 * the format of docs/draw.md section 9: "PERSON N K ROOM SEAT", then per
 * replacement "COUNTER PERSON TENDER ROLE REPLACED|- N K ROOM SEAT". */
static void print_trace(const struct draw *d)
{
	const struct draw_inputs *in = draw_get_inputs(d);
	struct draw_seat *seats = g_new0(struct draw_seat, in->n_persons + 1);
	struct draw_trace_step *steps = g_new0(struct draw_trace_step, in->n_persons + 1);
	uint8_t seed[DRAW_HASH_LEN];
	size_t i;

	draw_get_seed(d, seed);
	draw_assign_traced(in, seed, seats, steps, NULL);
	for (i = 0; i < in->n_persons; i++)
		fprintf(stderr, "%s %u %u %s %s\n", in->persons[i].id, steps[i].n, steps[i].k,
		        in->rooms[seats[i].room].id, in->rooms[seats[i].room].seats[seats[i].seat]);
	for (i = 0; i < d->replacements->len; i++) {
		const struct draw_replacement *r =
		    &g_array_index(d->replacements, struct draw_replacement, i);

		fprintf(stderr, "%u %s %s %s %s %u %u %s %s\n", r->counter, r->person.id,
		        r->person.tender,
		        r->person.role == DRAW_ROLE_EXPERT ? "expert" : "tenderer",
		        r->has_replaces ? r->replaces : "-", r->step.n, r->step.k,
		        in->rooms[r->seat.room].id,
		        in->rooms[r->seat.room].seats[r->seat.seat]);
	}
	g_free(seats);
	g_free(steps);
}

static int cmd_run(int argc, char **argv, gboolean run)
{
	uint8_t secret[DRAW_SECRET_LEN], commitment[DRAW_HASH_LEN];
	const char *secret_hex = NULL, *entropy = NULL;
	GPtrArray *replace = g_ptr_array_new();
	struct draw_inputs *in = NULL;
	struct draw *d = NULL;
	GString *err = g_string_new(NULL);
	char hex[2 * DRAW_HASH_LEN + 1];
	gboolean show_usage = TRUE, trace = FALSE;
	int i, code = 2;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--secret") == 0 && i + 1 < argc)
			secret_hex = argv[++i];
		else if (strcmp(argv[i], "--entropy") == 0 && i + 1 < argc && run)
			entropy = argv[++i];
		else if (strcmp(argv[i], "--trace") == 0 && run)
			trace = TRUE;
		else if (strcmp(argv[i], "--replace") == 0 && i + 1 < argc && run)
			g_ptr_array_add(replace, argv[++i]);
		else
			goto out;
	}
	if (argc < 2 || (run && !entropy))
		goto out;
	show_usage = FALSE;
	if (secret_hex && hex_decode_lower(secret_hex, secret, sizeof(secret))) {
		fprintf(stderr, "--secret: must be 64 lower-case hex digits\n");
		goto out;
	}
	if (load_inputs(argv[1], &in))
		goto out;
	if (draw_commit(in, secret_hex ? secret : NULL, &d, err)) {
		fprintf(stderr, "%s: refused: %s\n", argv[1], err->str);
		goto out;
	}
	if (!run) {
		draw_get_commitment(d, commitment);
		hex_encode(commitment, DRAW_HASH_LEN, hex);
		printf("commitment %s\n", hex);
		draw_get_input_hash(d, commitment);
		hex_encode(commitment, DRAW_HASH_LEN, hex);
		printf("input_hash %s\n", hex);
		code = 0;
		goto out;
	}
	if (draw_run(d, entropy, err)) {
		fprintf(stderr, "run: %s\n", err->str);
		goto out;
	}
	for (i = 0; i < (int)replace->len; i++) {
		struct draw_person p;
		char *replaces;
		int rc;

		if (parse_replace(g_ptr_array_index(replace, i), &p, &replaces)) {
			fprintf(stderr, "--replace %s: want ID:TENDER:expert|tenderer[:REPLACES]\n",
			        (char *)g_ptr_array_index(replace, i));
			goto out;
		}
		rc = draw_replace(d, &p, replaces, err);
		g_free(replaces);
		if (rc) {
			fprintf(stderr, "%s\n", err->str);
			goto out;
		}
	}
	if (trace)
		print_trace(d);
	{
		json_t *rec = draw_record_export(d);

		json_dumpf(rec, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(rec);
	}
	code = 0;
out:
	if (show_usage)
		usage();
	draw_free(d);
	draw_inputs_free(in);
	g_string_free(err, TRUE);
	g_ptr_array_free(replace, TRUE);
	return code;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1, TRUE);
	if (strcmp(argv[1], "commit") == 0)
		return cmd_run(argc - 1, argv + 1, FALSE);
	if (strcmp(argv[1], "verify-draw") == 0)
		return draw_cli_verify_draw(argc - 1, argv + 1);
	return usage();
}
