/* The venue draw: inputs, canonical form, assignment and record (docs/draw.md section 12). */
#include "venue_draw.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "draw_reveal.h"
#include "hex.h"

static int fail(GString *err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static int fail(GString *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (err)
		g_string_append_vprintf(err, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void venue_inputs_free(struct venue_inputs *in)
{
	if (!in)
		return;
	g_free(in->tender);
	g_strfreev(in->candidates);
	g_strfreev(in->excluded);
	g_free(in);
}

/* The array member KEY of JSON: venue ids, sorted into a new NULL-terminated *OUT. */
static int parse_venues(const json_t *json, const char *key, gboolean need_one, char ***out,
                        size_t *n_out, GString *err)
{
	json_t *arr = json_object_get(json, key);
	if (!json_is_array(arr))
		return fail(err, "%s: must be an array of venue ids", key);
	if (need_one && json_array_size(arr) == 0)
		return fail(err, "%s: empty: no venue to draw from", key);
	if (json_array_size(arr) > VENUE_DRAW_MAX_VENUES)
		return fail(err, "%s: more than %d venues", key, VENUE_DRAW_MAX_VENUES);
	size_t n = json_array_size(arr);
	char **v = g_new0(char *, n + 1);
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		if (!draw_id_valid(s)) {
			g_strfreev(v);
			return fail(err, "%s[%zu]: must be a venue id", key, i);
		}
		v[i] = g_strdup(s);
	}
	qsort(v, n, sizeof(char *), cmp_str);
	for (size_t i = 1; i < n; i++)
		if (strcmp(v[i - 1], v[i]) == 0) {
			int rc = fail(err, "%s: venue %s named twice", key, v[i]);
			g_strfreev(v);
			return rc;
		}
	*out = v;
	*n_out = n;
	return 0;
}

int venue_inputs_parse(const json_t *json, struct venue_inputs **out, GString *err)
{
	static const char *const members[] = {"algorithm",  "draw",  "tender",   "round",
	                                      "candidates", "count", "excluded", NULL};
	const char *bad;
	int rc;

	if (!json_is_object(json))
		return fail(err, "inputs: must be an object");
	if (!draw_json_only_members(json, members, &bad))
		return fail(err, "%s: unknown member", bad);
	json_t *alg = json_object_get(json, "algorithm");
	if (!json_is_integer(alg) || json_integer_value(alg) != VENUE_DRAW_ALGORITHM)
		return fail(err, "algorithm: must be %d", VENUE_DRAW_ALGORITHM);
	if (g_strcmp0(json_string_value(json_object_get(json, "draw")), "venue") != 0)
		return fail(err, "draw: must be \"venue\"");
	const char *tender = json_string_value(json_object_get(json, "tender"));
	if (!draw_id_valid(tender))
		return fail(err, "tender: must be an identifier");
	json_t *round = json_object_get(json, "round");
	if (!json_is_integer(round) || json_integer_value(round) < 1 ||
	    json_integer_value(round) > VENUE_DRAW_MAX_VENUES)
		return fail(err, "round: must be an integer from 1 to %d", VENUE_DRAW_MAX_VENUES);
	json_t *count = json_object_get(json, "count");
	if (!json_is_integer(count) || json_integer_value(count) < 1)
		return fail(err, "count: must be a positive integer");

	struct venue_inputs *in = g_new0(struct venue_inputs, 1);
	in->tender = g_strdup(tender);
	in->round = json_integer_value(round);
	in->count = json_integer_value(count);
	rc = parse_venues(json, "candidates", TRUE, &in->candidates, &in->n_candidates, err);
	if (rc == 0)
		rc = parse_venues(json, "excluded", FALSE, &in->excluded, &in->n_excluded, err);
	if (rc == 0 && (size_t)in->count > in->n_candidates)
		rc = fail(err, "count: %" G_GINT64_FORMAT " venues wanted but only %zu candidates",
		          in->count, in->n_candidates);
	for (size_t i = 0; rc == 0 && i < in->n_excluded; i++)
		if (bsearch(&in->excluded[i], in->candidates, in->n_candidates, sizeof(char *),
		            cmp_str))
			rc = fail(err, "excluded: venue %s is also a candidate", in->excluded[i]);
	if (rc != 0) {
		venue_inputs_free(in);
		return rc;
	}
	*out = in;
	return 0;
}

static void append_ids(GString *s, char *const *ids, size_t n)
{
	g_string_append_c(s, '[');
	for (size_t i = 0; i < n; i++)
		g_string_append_printf(s, "%s\"%s\"", i ? "," : "", ids[i]);
	g_string_append_c(s, ']');
}

char *venue_inputs_canonical(const struct venue_inputs *in)
{
	/* every string is an identifier: nothing needs escaping */
	GString *s = g_string_new(NULL);
	g_string_append_printf(s, "{\"algorithm\":%d,\"candidates\":", VENUE_DRAW_ALGORITHM);
	append_ids(s, in->candidates, in->n_candidates);
	g_string_append_printf(
	    s, ",\"count\":%" G_GINT64_FORMAT ",\"draw\":\"venue\",\"excluded\":", in->count);
	append_ids(s, in->excluded, in->n_excluded);
	g_string_append_printf(s, ",\"round\":%" G_GINT64_FORMAT ",\"tender\":\"%s\"}", in->round,
	                       in->tender);
	return g_string_free(s, FALSE);
}

void venue_inputs_hash(const struct venue_inputs *in, uint8_t out[DRAW_HASH_LEN])
{
	char *text = venue_inputs_canonical(in);
	SHA256((const unsigned char *)text, strlen(text), out);
	g_free(text);
}

void venue_assign(const struct venue_inputs *in, const uint8_t seed[DRAW_HASH_LEN],
                  const char **venue, uint32_t *n, uint32_t *k)
{
	/* the candidates not chosen yet, in canonical order: a choice removes its entry */
	const char **left = g_new0(const char *, in->n_candidates);
	size_t n_left = in->n_candidates;
	struct draw_stream s;
	for (size_t i = 0; i < in->n_candidates; i++)
		left[i] = in->candidates[i];
	draw_stream_init(&s, seed);
	for (size_t i = 0; i < (size_t)in->count; i++) {
		n[i] = (uint32_t)n_left;
		k[i] = draw_stream_uniform(&s, n[i]);
		venue[i] = left[k[i]];
		memmove(&left[k[i]], &left[k[i] + 1], (n_left - k[i] - 1) * sizeof(*left));
		n_left--;
	}
	g_free(left);
}

/* The chosen venues of IN under SEED as the record's array. */
static json_t *chosen_json(const struct venue_inputs *in, const uint8_t seed[DRAW_HASH_LEN])
{
	size_t count = (size_t)in->count;
	const char **venue = g_new0(const char *, count);
	uint32_t *n = g_new0(uint32_t, count), *k = g_new0(uint32_t, count);
	json_t *arr = json_array();
	venue_assign(in, seed, venue, n, k);
	for (size_t i = 0; i < count; i++)
		json_array_append_new(arr, json_pack("{s:s, s:i, s:i}", "venue", venue[i], "n",
		                                     (int)n[i], "k", (int)k[i]));
	g_free(venue);
	g_free(n);
	g_free(k);
	return arr;
}

static json_t *inputs_json(const struct venue_inputs *in)
{
	char *text = venue_inputs_canonical(in);
	json_t *j = json_loads(text, 0, NULL);
	g_free(text);
	return j;
}

json_t *venue_record_make(const struct venue_inputs *in, const uint8_t secret[DRAW_SECRET_LEN],
                          const char *entropy)
{
	uint8_t ih[DRAW_HASH_LEN], seed[DRAW_HASH_LEN];
	venue_inputs_hash(in, ih);
	json_t *rec = json_object();
	json_object_set_new(rec, "draw", json_string("venue"));
	json_object_set_new(rec, "algorithm", json_integer(VENUE_DRAW_ALGORITHM));
	json_object_set_new(rec, "inputs", inputs_json(in));
	draw_reveal_put(rec, ih, secret, entropy, seed);
	json_object_set_new(rec, "chosen", chosen_json(in, seed));
	return rec;
}

gboolean venue_record_is(const json_t *record)
{
	return g_strcmp0(json_string_value(json_object_get(record, "draw")), "venue") == 0;
}

static int bad(GString *report, const char *what)
{
	g_string_append(report, what);
	return -EBADMSG;
}

int venue_record_verify(const json_t *record, GString *report)
{
	/* what the controller adds for readers (who, when, why) is not re-run */
	static const char *const members[] = {
	    "draw",         "algorithm",    "inputs", "input_hash", "commitment", "secret",
	    "entropy",      "entropy_hash", "seed",   "chosen",     "witness",    "committed_by",
	    "committed_at", "run_at",       "reason", NULL};
	uint8_t want[DRAW_HASH_LEN];
	struct draw_reveal rv;
	struct venue_inputs *in = NULL;
	int rc;

	if ((rc = draw_reveal_open(record, "venue", members, &rv, report)) != 0)
		return rc;
	json_t *chosen = json_object_get(record, "chosen");
	if (!json_is_array(chosen))
		return bad(report, "chosen: must be an array");
	GString *why = g_string_new(NULL);
	rc = venue_inputs_parse(json_object_get(record, "inputs"), &in, why);
	if (rc != 0) {
		g_string_append_printf(report, "inputs: %s", why->str);
		g_string_free(why, TRUE);
		return -EBADMSG;
	}
	g_string_free(why, TRUE);

	venue_inputs_hash(in, want);
	if ((rc = draw_reveal_check(&rv, want, report)) != 0)
		goto out;
	json_t *again = chosen_json(in, rv.seed);
	if (!json_equal(again, chosen)) {
		size_t i;
		json_t *a;
		json_array_foreach(again, i, a)
		{
			json_t *b = json_array_get(chosen, i);
			if (!json_equal(a, b)) {
				g_string_append_printf(
				    report,
				    "chosen[%zu]: the draw gives venue %s, the record says %s", i,
				    json_string_value(json_object_get(a, "venue")),
				    b && json_string_value(json_object_get(b, "venue"))
				        ? json_string_value(json_object_get(b, "venue"))
				        : "nothing");
				break;
			}
		}
		if (i == json_array_size(again))
			g_string_append(report, "chosen: more entries than the count");
		rc = -EINVAL;
	} else {
		char c16[17];
		hex_encode(rv.commitment, 8, c16);
		GString *list = g_string_new(NULL);
		size_t i;
		json_t *a;
		json_array_foreach(again, i, a) g_string_append_printf(
		    list, "%s%s", i ? ", " : "", json_string_value(json_object_get(a, "venue")));
		g_string_append_printf(report,
		                       "venue draw of tender %s (round %" G_GINT64_FORMAT
		                       "): commitment %s, %" G_GINT64_FORMAT " of %zu venues "
		                       "re-drawn and identical: %s",
		                       in->tender, in->round, c16, in->count, in->n_candidates,
		                       list->str);
		g_string_free(list, TRUE);
	}
	json_decref(again);
out:
	venue_inputs_free(in);
	return rc;
}
