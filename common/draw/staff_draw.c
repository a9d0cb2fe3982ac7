/* The staff draw: inputs, canonical form, assignment and record (docs/staff.md). */
#include "staff_draw.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "draw_reveal.h"
#include "hex.h"

/* A certificate identity: an evalroom id after a role prefix, at most 64 characters. */
static gboolean identity_valid(const char *s)
{
	size_t n = 0;
	if (!s || !g_ascii_isalnum(s[0]))
		return FALSE;
	for (const char *c = s; *c; c++, n++)
		if (!g_ascii_isalnum(*c) && *c != '_' && *c != '-')
			return FALSE;
	return n <= 64;
}

static gboolean date_valid(const char *s)
{
	int y, m, d;
	char tail;
	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
		return FALSE;
	return g_date_valid_dmy((GDateDay)d, (GDateMonth)m, (GDateYear)y);
}

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

static int cmp_slot(const void *a, const void *b)
{
	const struct staff_slot *x = a, *y = b;
	int c = strcmp(x->tender, y->tender);
	return c ? c : strcmp(x->post, y->post);
}

void staff_inputs_free(struct staff_inputs *in)
{
	if (!in)
		return;
	for (size_t i = 0; i < in->n_slots; i++) {
		g_free(in->slots[i].tender);
		g_free(in->slots[i].post);
		g_strfreev(in->slots[i].eligible);
	}
	g_free(in->slots);
	g_free(in->session);
	g_free(in->date);
	g_free(in);
}

static int parse_slot(const json_t *v, size_t i, struct staff_slot *s, GString *err)
{
	static const char *const members[] = {"tender", "post", "eligible", NULL};
	const char *bad;
	if (!json_is_object(v))
		return fail(err, "slots[%zu]: must be an object", i);
	if (!draw_json_only_members(v, members, &bad))
		return fail(err, "slots[%zu].%s: unknown member", i, bad);
	const char *tender = json_string_value(json_object_get(v, "tender"));
	const char *post = json_string_value(json_object_get(v, "post"));
	json_t *el = json_object_get(v, "eligible");
	if (!draw_id_valid(tender))
		return fail(err, "slots[%zu].tender: must be an identifier", i);
	if (!draw_id_valid(post))
		return fail(err, "slots[%zu].post: must be an identifier", i);
	if (!json_is_array(el))
		return fail(err, "slots[%zu].eligible: must be an array", i);
	if (json_array_size(el) == 0)
		return fail(err,
		            "slots[%zu].eligible: empty: nobody may hold post %s for tender %s", i,
		            post, tender);
	if (json_array_size(el) > STAFF_DRAW_MAX_ELIGIBLE)
		return fail(err, "slots[%zu].eligible: more than %d entries", i,
		            STAFF_DRAW_MAX_ELIGIBLE);
	s->tender = g_strdup(tender);
	s->post = g_strdup(post);
	s->eligible = g_new0(char *, json_array_size(el) + 1);
	for (size_t j = 0; j < json_array_size(el); j++) {
		const char *p = json_string_value(json_array_get(el, j));
		if (!identity_valid(p))
			return fail(err, "slots[%zu].eligible[%zu]: must be a certificate identity",
			            i, j);
		s->eligible[j] = g_strdup(p);
		s->n_eligible = j + 1;
	}
	qsort(s->eligible, s->n_eligible, sizeof(char *), cmp_str);
	for (size_t j = 1; j < s->n_eligible; j++)
		if (strcmp(s->eligible[j - 1], s->eligible[j]) == 0)
			return fail(err, "slots[%zu].eligible: \"%s\" named twice", i,
			            s->eligible[j]);
	return 0;
}

int staff_inputs_parse(const json_t *json, struct staff_inputs **out, GString *err)
{
	static const char *const members[] = {"algorithm", "draw",  "session",
	                                      "date",      "slots", NULL};
	const char *bad;
	int rc = 0;

	if (!json_is_object(json))
		return fail(err, "inputs: must be an object");
	if (!draw_json_only_members(json, members, &bad))
		return fail(err, "%s: unknown member", bad);
	json_t *alg = json_object_get(json, "algorithm");
	if (!json_is_integer(alg) || json_integer_value(alg) != STAFF_DRAW_ALGORITHM)
		return fail(err, "algorithm: must be %d", STAFF_DRAW_ALGORITHM);
	if (g_strcmp0(json_string_value(json_object_get(json, "draw")), "staff") != 0)
		return fail(err, "draw: must be \"staff\"");
	const char *session = json_string_value(json_object_get(json, "session"));
	const char *date = json_string_value(json_object_get(json, "date"));
	json_t *slots = json_object_get(json, "slots");
	if (!draw_id_valid(session))
		return fail(err, "session: must be an identifier");
	if (!date_valid(date))
		return fail(err, "date: must be a date YYYY-MM-DD");
	if (!json_is_array(slots) || json_array_size(slots) == 0)
		return fail(err, "slots: must be a non-empty array");
	if (json_array_size(slots) > STAFF_DRAW_MAX_SLOTS)
		return fail(err, "slots: more than %d entries", STAFF_DRAW_MAX_SLOTS);

	struct staff_inputs *in = g_new0(struct staff_inputs, 1);
	in->session = g_strdup(session);
	in->date = g_strdup(date);
	in->slots = g_new0(struct staff_slot, json_array_size(slots));
	for (size_t i = 0; i < json_array_size(slots) && rc == 0; i++) {
		in->n_slots = i + 1;
		rc = parse_slot(json_array_get(slots, i), i, &in->slots[i], err);
	}
	if (rc == 0) {
		qsort(in->slots, in->n_slots, sizeof(*in->slots), cmp_slot);
		for (size_t i = 1; i < in->n_slots && rc == 0; i++)
			if (cmp_slot(&in->slots[i - 1], &in->slots[i]) == 0)
				rc = fail(err, "slots: post %s of tender %s named twice",
				          in->slots[i].post, in->slots[i].tender);
	}
	if (rc != 0) {
		staff_inputs_free(in);
		return rc;
	}
	*out = in;
	return 0;
}

char *staff_inputs_canonical(const struct staff_inputs *in)
{
	/* every string is an identifier or a date: nothing needs escaping */
	GString *s = g_string_new(NULL);
	g_string_append_printf(s,
	                       "{\"algorithm\":%d,\"date\":\"%s\",\"draw\":\"staff\","
	                       "\"session\":\"%s\",\"slots\":[",
	                       STAFF_DRAW_ALGORITHM, in->date, in->session);
	for (size_t i = 0; i < in->n_slots; i++) {
		const struct staff_slot *sl = &in->slots[i];
		g_string_append_printf(s, "%s{\"eligible\":[", i ? "," : "");
		for (size_t j = 0; j < sl->n_eligible; j++)
			g_string_append_printf(s, "%s\"%s\"", j ? "," : "", sl->eligible[j]);
		g_string_append_printf(s, "],\"post\":\"%s\",\"tender\":\"%s\"}", sl->post,
		                       sl->tender);
	}
	g_string_append(s, "]}");
	return g_string_free(s, FALSE);
}

json_t *staff_inputs_to_json(const struct staff_inputs *in)
{
	char *text = staff_inputs_canonical(in);
	json_t *j = json_loads(text, 0, NULL);
	g_free(text);
	return j;
}

void staff_inputs_hash(const struct staff_inputs *in, uint8_t out[DRAW_HASH_LEN])
{
	char *text = staff_inputs_canonical(in);
	SHA256((const unsigned char *)text, strlen(text), out);
	g_free(text);
}

void staff_assign(const struct staff_inputs *in, const uint8_t seed[DRAW_HASH_LEN],
                  const char **person, uint32_t *n, uint32_t *k)
{
	struct draw_stream s;
	draw_stream_init(&s, seed);
	for (size_t i = 0; i < in->n_slots; i++) {
		n[i] = (uint32_t)in->slots[i].n_eligible;
		k[i] = draw_stream_uniform(&s, n[i]);
		person[i] = in->slots[i].eligible[k[i]];
	}
}

/* The assignment of IN under SEED as the record's array. */
static json_t *assignment_json(const struct staff_inputs *in, const uint8_t seed[DRAW_HASH_LEN])
{
	const char **person = g_new0(const char *, in->n_slots);
	uint32_t *n = g_new0(uint32_t, in->n_slots), *k = g_new0(uint32_t, in->n_slots);
	json_t *arr = json_array();
	staff_assign(in, seed, person, n, k);
	for (size_t i = 0; i < in->n_slots; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:i, s:i}", "tender",
		                                     in->slots[i].tender, "post", in->slots[i].post,
		                                     "person", person[i], "n", (int)n[i], "k",
		                                     (int)k[i]));
	g_free(person);
	g_free(n);
	g_free(k);
	return arr;
}

json_t *staff_record_make(const struct staff_inputs *in, const uint8_t secret[DRAW_SECRET_LEN],
                          const char *entropy)
{
	uint8_t ih[DRAW_HASH_LEN], seed[DRAW_HASH_LEN];
	staff_inputs_hash(in, ih);
	json_t *rec = json_object();
	json_object_set_new(rec, "draw", json_string("staff"));
	json_object_set_new(rec, "algorithm", json_integer(STAFF_DRAW_ALGORITHM));
	json_object_set_new(rec, "inputs", staff_inputs_to_json(in));
	draw_reveal_put(rec, ih, secret, entropy, seed);
	json_object_set_new(rec, "assignment", assignment_json(in, seed));
	return rec;
}

gboolean staff_record_is(const json_t *record)
{
	return g_strcmp0(json_string_value(json_object_get(record, "draw")), "staff") == 0;
}

static int bad(GString *report, const char *what)
{
	g_string_append(report, what);
	return -EBADMSG;
}

int staff_record_verify(const json_t *record, GString *report)
{
	/* what the controller adds for readers (who, when, why excluded) is not re-run */
	static const char *const members[] = {
	    "draw",       "algorithm",  "inputs",       "input_hash",
	    "commitment", "secret",     "entropy",      "entropy_hash",
	    "seed",       "assignment", "committed_by", "committed_at",
	    "witness",    "run_at",     "excluded",     "flagged",
	    NULL};
	uint8_t want[DRAW_HASH_LEN];
	struct draw_reveal rv;
	struct staff_inputs *in = NULL;
	int rc;

	if ((rc = draw_reveal_open(record, "staff", members, &rv, report)) != 0)
		return rc;
	json_t *assignment = json_object_get(record, "assignment");
	if (!json_is_array(assignment))
		return bad(report, "assignment: must be an array");
	GString *why = g_string_new(NULL);
	rc = staff_inputs_parse(json_object_get(record, "inputs"), &in, why);
	if (rc != 0) {
		g_string_append_printf(report, "inputs: %s", why->str);
		g_string_free(why, TRUE);
		return -EBADMSG;
	}
	g_string_free(why, TRUE);

	staff_inputs_hash(in, want);
	if ((rc = draw_reveal_check(&rv, want, report)) != 0)
		goto out;
	json_t *again = assignment_json(in, rv.seed);
	if (!json_equal(again, assignment)) {
		size_t i;
		json_t *a;
		json_array_foreach(again, i, a)
		{
			json_t *b = json_array_get(assignment, i);
			if (!json_equal(a, b)) {
				g_string_append_printf(
				    report,
				    "assignment[%zu]: the draw gives %s to post %s of tender %s, "
				    "the record says %s",
				    i, json_string_value(json_object_get(a, "person")),
				    json_string_value(json_object_get(a, "post")),
				    json_string_value(json_object_get(a, "tender")),
				    b ? json_string_value(json_object_get(b, "person"))
				      : "nothing");
				break;
			}
		}
		if (i == json_array_size(again))
			g_string_append(report, "assignment: more entries than slots");
		rc = -EINVAL;
	} else {
		char c16[17];
		hex_encode(rv.commitment, 8, c16);
		g_string_append_printf(report,
		                       "staff draw of session %s (%s): commitment %s, %zu posts "
		                       "re-drawn and identical",
		                       in->session, in->date, c16, in->n_slots);
	}
	json_decref(again);
out:
	staff_inputs_free(in);
	return rc;
}
