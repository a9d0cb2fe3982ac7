/* The draw record: export, re-run and verification (docs/draw.md section 7). */
#include "draw_internal.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"

#define RECORD_FORMAT "evalroom-draw-record"

static json_t *hex_json(const uint8_t *bytes, size_t len)
{
	char hex[2 * DRAW_HASH_LEN + 1];

	g_assert(len <= DRAW_HASH_LEN);
	hex_encode(bytes, len, hex);
	return json_string(hex);
}

static const char *role_name(enum draw_role r)
{
	return r == DRAW_ROLE_EXPERT ? "expert" : "tenderer";
}

json_t *draw_relaxed_json(const struct draw_inputs *in, const int *lower)
{
	json_t *list = json_array();
	int *count = g_new0(int, in->n_tenders + 1), rooms = 0;
	size_t i, t;

	for (i = 0; i < in->n_rooms; i++)
		rooms += in->rooms[i].kind == DRAW_ROOM_EXPERT ? 1 : 0;
	for (i = 0; i < in->n_persons; i++)
		if (in->persons[i].role == DRAW_ROLE_EXPERT)
			count[draw_inputs_find_tender(in, in->persons[i].tender)]++;
	for (t = 0; t < in->n_tenders && rooms; t++) {
		int experts = count[t], at_most = (experts + rooms - 1) / rooms;
		int at_least = in->algorithm >= 2 ? experts / rooms : 0;
		char *reason;

		if (at_least == lower[t])
			continue;
		reason = g_strdup_printf("the expert rooms' seats cannot also hold at least %d of "
		                         "its experts in every expert room once the tenders "
		                         "before it in tender order keep theirs",
		                         at_least);
		json_array_append_new(list, json_pack("{s:s, s:i, s:i, s:i, s:i, s:s}", "tender",
		                                      in->tenders[t].id, "experts", experts,
		                                      "expert_rooms", rooms, "at_most", at_most,
		                                      "at_least", lower[t], "reason", reason));
		g_free(reason);
	}
	g_free(count);
	return list;
}

json_t *draw_record_export(const struct draw *d)
{
	json_t *rec, *assignments, *replacements;
	size_t i;

	if (!d->run)
		return NULL;
	assignments = json_array();
	for (i = 0; i < d->in->n_persons; i++) {
		const struct draw_seat *s = &g_array_index(d->seats, struct draw_seat, i);

		json_array_append_new(assignments,
		                      json_pack("{s:s, s:s, s:s}", "person", d->in->persons[i].id,
		                                "room", d->in->rooms[s->room].id, "seat",
		                                d->in->rooms[s->room].seats[s->seat]));
	}
	replacements = json_array();
	for (i = 0; i < d->replacements->len; i++) {
		const struct draw_replacement *r =
		    &g_array_index(d->replacements, struct draw_replacement, i);

		json_array_append_new(
		    replacements,
		    json_pack("{s:I, s:{s:s, s:s, s:s}, s:o, s:s, s:s}", "counter",
		              (json_int_t)r->counter, "person", "id", r->person.id, "role",
		              role_name(r->person.role), "tender", r->person.tender, "replaces",
		              r->has_replaces ? json_string(r->replaces) : json_null(), "room",
		              d->in->rooms[r->seat.room].id, "seat",
		              d->in->rooms[r->seat.room].seats[r->seat.seat]));
	}
	rec = json_object();
	json_object_set_new(rec, "format", json_string(RECORD_FORMAT));
	json_object_set_new(rec, "algorithm", json_integer(d->in->algorithm));
	json_object_set_new(rec, "inputs", draw_inputs_to_json(d->in));
	json_object_set_new(rec, "input_hash", hex_json(d->input_hash, DRAW_HASH_LEN));
	json_object_set_new(rec, "commitment", hex_json(d->commitment, DRAW_HASH_LEN));
	json_object_set_new(rec, "secret", hex_json(d->secret, DRAW_SECRET_LEN));
	json_object_set_new(rec, "entropy", json_string(d->entropy));
	json_object_set_new(rec, "seed", hex_json(d->seed, DRAW_HASH_LEN));
	if (d->in->algorithm >= 2)
		json_object_set_new(rec, "relaxed", draw_relaxed_json(d->in, d->lower));
	json_object_set_new(rec, "assignments", assignments);
	json_object_set_new(rec, "replacements", replacements);
	return rec;
}

static int bad(GString *err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static int bad(GString *err, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		g_string_append(err, "malformed record: ");
		va_start(ap, fmt);
		g_string_append_vprintf(err, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

static int get_hex(const json_t *rec, const char *member, uint8_t *out, size_t len, GString *err)
{
	const json_t *v = json_object_get(rec, member);

	if (!json_is_string(v) || hex_decode_lower(json_string_value(v), out, len))
		return bad(err, "%s: must be %zu lower-case hex digits", member, 2 * len);
	return 0;
}

static const char *get_str(const json_t *obj, const char *member)
{
	const json_t *v = json_object_get(obj, member);

	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

static int check_record_members(const json_t *rec, GString *err)
{
	static const char *const names[] = {"format",      "algorithm",    "inputs",  "input_hash",
	                                    "commitment",  "secret",       "entropy", "seed",
	                                    "assignments", "replacements", "relaxed", NULL};
	const char *key, *format;
	const json_t *alg, *inputs_alg;
	json_t *val;
	size_t i;

	if (!json_is_object(rec))
		return bad(err, "not a JSON object");
	json_object_foreach((json_t *)rec, key, val)
	{
		gboolean known = FALSE;

		for (i = 0; names[i]; i++)
			known = known || strcmp(key, names[i]) == 0;
		if (!known)
			return bad(err, "unknown member \"%s\"", key);
	}
	for (i = 0; names[i]; i++)
		if (!json_object_get(rec, names[i]) && strcmp(names[i], "relaxed") != 0)
			return bad(err, "missing member \"%s\"", names[i]);
	format = get_str(rec, "format");
	if (!format || strcmp(format, RECORD_FORMAT) != 0)
		return bad(err, "format: must be \"%s\"", RECORD_FORMAT);
	alg = json_object_get(rec, "algorithm");
	if (!json_is_integer(alg) || json_integer_value(alg) < DRAW_ALGORITHM_MIN ||
	    json_integer_value(alg) > DRAW_ALGORITHM_VERSION)
		return bad(err, "algorithm: version not supported (this build implements %d to %d)",
		           DRAW_ALGORITHM_MIN, DRAW_ALGORITHM_VERSION);
	inputs_alg = json_object_get(json_object_get(rec, "inputs"), "algorithm");
	if (!json_is_integer(inputs_alg) ||
	    json_integer_value(inputs_alg) != json_integer_value(alg))
		return bad(err, "algorithm: must equal inputs.algorithm");
	/* version 2 records say which tenders got a weaker rule; version 1 has none */
	if ((json_integer_value(alg) >= 2) != (json_object_get(rec, "relaxed") != NULL))
		return bad(err, "relaxed: %s", json_integer_value(alg) >= 2
		                                    ? "missing member \"relaxed\" (version 2)"
		                                    : "not a member of a version 1 record");
	if (json_object_get(rec, "relaxed") && !json_is_array(json_object_get(rec, "relaxed")))
		return bad(err, "relaxed: must be an array");
	if (!get_str(rec, "entropy"))
		return bad(err, "entropy: must be a string");
	if (!json_is_array(json_object_get(rec, "assignments")))
		return bad(err, "assignments: must be an array");
	if (!json_is_array(json_object_get(rec, "replacements")))
		return bad(err, "replacements: must be an array");
	return 0;
}

/* Parses replacement i of a record into its person and `replaces` id. */
static int parse_replacement(const json_t *j, size_t i, struct draw_person *p,
                             const char **replaces, GString *err)
{
	const json_t *person, *counter, *rep;
	const char *id, *tender, *role;

	memset(p, 0, sizeof(*p));
	counter = json_object_get(j, "counter");
	if (!json_is_object(j) || !json_is_integer(counter) ||
	    json_integer_value(counter) != (json_int_t)i + 1)
		return bad(err, "replacements[%zu]: counter must be %zu", i, i + 1);
	person = json_object_get(j, "person");
	id = get_str(person, "id");
	tender = get_str(person, "tender");
	role = get_str(person, "role");
	if (!id || !tender || !role || !draw_id_valid(id) || !draw_id_valid(tender) ||
	    json_object_size(person) != 3 ||
	    (strcmp(role, "expert") != 0 && strcmp(role, "tenderer") != 0))
		return bad(err, "replacements[%zu].person: needs a valid id, tender and role", i);
	g_strlcpy(p->id, id, sizeof(p->id));
	g_strlcpy(p->tender, tender, sizeof(p->tender));
	p->role = strcmp(role, "expert") == 0 ? DRAW_ROLE_EXPERT : DRAW_ROLE_TENDERER;
	rep = json_object_get(j, "replaces");
	if (json_is_null(rep))
		*replaces = NULL;
	else if (json_is_string(rep) && draw_id_valid(json_string_value(rep)))
		*replaces = json_string_value(rep);
	else
		return bad(err, "replacements[%zu].replaces: must be a person id or null", i);
	if (!get_str(j, "room") || !get_str(j, "seat") || json_object_size(j) != 5)
		return bad(err,
		           "replacements[%zu]: needs exactly counter, person, replaces, room, seat",
		           i);
	return 0;
}

int draw_record_load(const json_t *record, struct draw **out, GString *err)
{
	struct draw_inputs *in = NULL;
	uint8_t secret[DRAW_SECRET_LEN];
	const json_t *reps;
	struct draw *d = NULL;
	GString *why;
	size_t i;
	int rc;

	*out = NULL;
	rc = check_record_members(record, err);
	if (rc)
		return rc;
	rc = get_hex(record, "secret", secret, sizeof(secret), err);
	if (rc)
		return rc;
	why = g_string_new(NULL);
	rc = draw_inputs_parse(json_object_get(record, "inputs"), &in, why);
	if (rc) {
		rc = bad(err, "%s", why->str);
		goto err_why;
	}
	rc = draw_commit(in, secret, &d, why);
	if (!rc)
		rc = draw_run(d, get_str(record, "entropy"), why);
	if (rc) {
		/* a record whose inputs cannot be drawn was never produced by a draw */
		rc = bad(err, "%s", why->str);
		goto err_draw;
	}
	reps = json_object_get(record, "replacements");
	for (i = 0; i < json_array_size(reps); i++) {
		struct draw_person p;
		const char *replaces = NULL;

		rc = parse_replacement(json_array_get(reps, i), i, &p, &replaces, err);
		if (rc)
			goto err_draw;
		g_string_truncate(why, 0);
		rc = draw_replace(d, &p, replaces, why);
		if (rc) {
			rc = bad(err, "replacements[%zu]: %s", i, why->str);
			goto err_draw;
		}
	}
	draw_inputs_free(in);
	g_string_free(why, TRUE);
	OPENSSL_cleanse(secret, sizeof(secret));
	*out = d;
	return 0;

err_draw:
	draw_free(d);
	draw_inputs_free(in);
err_why:
	g_string_free(why, TRUE);
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

static int mismatch(GString *report, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static int mismatch(GString *report, const char *fmt, ...)
{
	va_list ap;

	if (report) {
		va_start(ap, fmt);
		g_string_append_vprintf(report, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int compare_seat(const char *what, const char *person, const char *rec_room,
                        const char *rec_seat, const char *room, const char *seat, GString *report)
{
	if (strcmp(rec_room, room) == 0 && strcmp(rec_seat, seat) == 0)
		return 0;
	return mismatch(report, "%s of person %s: record says %s/%s, re-run gives %s/%s", what,
	                person, rec_room, rec_seat, room, seat);
}

static int compare_assignments(const struct draw *d, const json_t *record, GString *report)
{
	const json_t *list = json_object_get(record, "assignments");
	const struct draw_inputs *in = d->in;
	gboolean *seen = g_new0(gboolean, in->n_persons + 1);
	size_t i;
	int rc = 0;

	/* first pass: shape, so a malformed entry is not reported as a mismatch */
	for (i = 0; i < json_array_size(list) && !rc; i++) {
		const json_t *a = json_array_get(list, i);
		const char *person = get_str(a, "person");

		if (!person || !get_str(a, "room") || !get_str(a, "seat") ||
		    json_object_size(a) != 3)
			rc =
			    bad(report, "assignments[%zu]: needs exactly person, room and seat", i);
	}
	for (i = 0; i < json_array_size(list) && !rc; i++) {
		const json_t *a = json_array_get(list, i);
		const char *person = get_str(a, "person");
		long p = draw_inputs_find_person(in, person);
		const struct draw_seat *s;

		if (p < 0) {
			rc = mismatch(report, "assignments[%zu]: person %s is not in the inputs", i,
			              person);
			break;
		}
		if (seen[p]) {
			rc = mismatch(report, "assignments[%zu]: person %s appears twice", i,
			              person);
			break;
		}
		seen[p] = TRUE;
		s = &g_array_index(d->seats, struct draw_seat, p);
		rc = compare_seat("seat", person, get_str(a, "room"), get_str(a, "seat"),
		                  in->rooms[s->room].id, in->rooms[s->room].seats[s->seat], report);
	}
	for (i = 0; i < in->n_persons && !rc; i++)
		if (!seen[i])
			rc = mismatch(report, "seat of person %s: missing from the record",
			              in->persons[i].id);
	g_free(seen);
	return rc;
}

static int compare_replacements(const struct draw *d, const json_t *record, GString *report)
{
	const json_t *list = json_object_get(record, "replacements");
	size_t i;
	int rc;

	for (i = 0; i < d->replacements->len; i++) {
		const struct draw_replacement *r =
		    &g_array_index(d->replacements, struct draw_replacement, i);
		const json_t *j = json_array_get(list, i);
		const struct draw_room *room = &d->in->rooms[r->seat.room];
		char what[48];

		g_snprintf(what, sizeof(what), "replacement %zu: seat", i + 1);
		rc = compare_seat(what, r->person.id, get_str(j, "room"), get_str(j, "seat"),
		                  room->id, room->seats[r->seat.seat], report);
		if (rc)
			return rc;
	}
	return 0;
}

int draw_record_verify(const json_t *record, GString *report)
{
	uint8_t commitment[DRAW_HASH_LEN], input_hash[DRAW_HASH_LEN], seed[DRAW_HASH_LEN];
	char hex[2 * DRAW_HASH_LEN + 1];
	struct draw *d;
	int rc;

	rc = draw_record_load(record, &d, report);
	if (rc)
		return rc;
	rc = get_hex(record, "commitment", commitment, sizeof(commitment), report);
	if (!rc)
		rc = get_hex(record, "input_hash", input_hash, sizeof(input_hash), report);
	if (!rc)
		rc = get_hex(record, "seed", seed, sizeof(seed), report);
	if (rc)
		goto out;
	if (memcmp(commitment, d->commitment, DRAW_HASH_LEN) != 0) {
		hex_encode(d->commitment, DRAW_HASH_LEN, hex);
		rc = mismatch(report,
		              "commitment does not match secret and inputs (re-computed %s)", hex);
		goto out;
	}
	if (memcmp(input_hash, d->input_hash, DRAW_HASH_LEN) != 0) {
		rc = mismatch(report, "input_hash does not match the canonical inputs");
		goto out;
	}
	if (memcmp(seed, d->seed, DRAW_HASH_LEN) != 0) {
		rc = mismatch(report, "seed does not match secret, entropy and inputs");
		goto out;
	}
	if (d->in->algorithm >= 2) {
		json_t *relaxed = draw_relaxed_json(d->in, d->lower);

		if (!json_equal(relaxed, json_object_get(record, "relaxed"))) {
			char *want = json_dumps(relaxed, JSON_COMPACT);

			rc = mismatch(report, "relaxed: does not match the inputs (re-run gives %s)",
			              want);
			free(want);
		}
		json_decref(relaxed);
		if (rc)
			goto out;
	}
	rc = compare_assignments(d, record, report);
	if (!rc)
		rc = compare_replacements(d, record, report);
	if (!rc && report) {
		hex_encode(d->commitment, DRAW_HASH_LEN, hex);
		g_string_append_printf(report,
		                       "commitment %s matches secret and inputs; seed matches; "
		                       "%zu seats and %u replacements re-run identically",
		                       hex, d->in->n_persons, d->replacements->len);
	}
out:
	draw_free(d);
	return rc;
}
