/* Draw inputs: validation from JSON, canonical form, input hash. */
#include "draw.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

gboolean draw_id_valid(const char *s)
{
	size_t n;

	if (!s || !g_ascii_isalnum(s[0]))
		return FALSE;
	for (n = 1; s[n]; n++) {
		if (n >= DRAW_ID_MAX)
			return FALSE;
		if (!g_ascii_isalnum(s[n]) && s[n] != '_' && s[n] != '-')
			return FALSE;
	}
	return TRUE;
}

static int fail(GString *err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static int fail(GString *err, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		g_string_append_vprintf(err, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Accepts an object holding exactly the named members. */
static int check_members(const json_t *obj, const char *where, const char *const *names,
                         GString *err)
{
	const char *key;
	json_t *val;
	size_t i;

	if (!json_is_object(obj))
		return fail(err, "%s: must be an object", where);
	json_object_foreach((json_t *)obj, key, val)
	{
		gboolean known = FALSE;

		for (i = 0; names[i]; i++)
			known = known || strcmp(key, names[i]) == 0;
		if (!known)
			return fail(err, "%s: unknown member \"%s\"", where, key);
	}
	for (i = 0; names[i]; i++)
		if (!json_object_get(obj, names[i]))
			return fail(err, "%s: missing member \"%s\"", where, names[i]);
	return 0;
}

static int get_id(const json_t *obj, const char *member, const char *where, char *out, GString *err)
{
	const json_t *v = json_object_get(obj, member);
	const char *s;

	if (!json_is_string(v))
		return fail(err, "%s.%s: must be a string", where, member);
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v) || !draw_id_valid(s))
		return fail(err,
		            "%s.%s: \"%.40s\" is not a valid id (^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$)",
		            where, member, s);
	g_strlcpy(out, s, DRAW_ID_MAX + 1);
	return 0;
}

static const json_t *get_array(const json_t *obj, const char *member, const char *where,
                               GString *err)
{
	const json_t *v = json_object_get(obj, member);

	if (!json_is_array(v)) {
		fail(err, "%s%s%s: must be an array", where, *where ? "." : "", member);
		return NULL;
	}
	if (json_array_size(v) > DRAW_MAX_ITEMS) {
		fail(err, "%s%s%s: more than %d entries", where, *where ? "." : "", member,
		     DRAW_MAX_ITEMS);
		return NULL;
	}
	return v;
}

static int cmp_ids(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static int cmp_rooms(const void *a, const void *b)
{
	return strcmp(((const struct draw_room *)a)->id, ((const struct draw_room *)b)->id);
}

static int cmp_persons(const void *a, const void *b)
{
	return strcmp(((const struct draw_person *)a)->id, ((const struct draw_person *)b)->id);
}

static int cmp_tenders(const void *a, const void *b)
{
	return strcmp(((const struct draw_tender *)a)->id, ((const struct draw_tender *)b)->id);
}

/* bsearch comparators: the key is a plain id string. */
static int key_room(const void *key, const void *elem)
{
	return strcmp(key, ((const struct draw_room *)elem)->id);
}

static int key_person(const void *key, const void *elem)
{
	return strcmp(key, ((const struct draw_person *)elem)->id);
}

static int key_tender(const void *key, const void *elem)
{
	return strcmp(key, ((const struct draw_tender *)elem)->id);
}

static int parse_room(const json_t *j, size_t i, struct draw_room *room, GString *err)
{
	static const char *const names[] = {"id", "kind", "seats", NULL};
	char where[64];
	const json_t *seats, *kind;
	size_t s;
	int rc;

	g_snprintf(where, sizeof(where), "rooms[%zu]", i);
	rc = check_members(j, where, names, err);
	if (rc)
		return rc;
	rc = get_id(j, "id", where, room->id, err);
	if (rc)
		return rc;
	kind = json_object_get(j, "kind");
	if (json_is_string(kind) && strcmp(json_string_value(kind), "expert") == 0)
		room->kind = DRAW_ROOM_EXPERT;
	else if (json_is_string(kind) && strcmp(json_string_value(kind), "tenderer") == 0)
		room->kind = DRAW_ROOM_TENDERER;
	else
		return fail(err, "%s.kind: must be \"expert\" or \"tenderer\"", where);
	seats = get_array(j, "seats", where, err);
	if (!seats)
		return -EINVAL;
	if (json_array_size(seats) == 0)
		return fail(err, "%s.seats: room %s has no seats", where, room->id);
	room->n_seats = json_array_size(seats);
	room->seats = g_new0(draw_id, room->n_seats);
	for (s = 0; s < room->n_seats; s++) {
		const json_t *v = json_array_get(seats, s);

		if (!json_is_string(v) || !draw_id_valid(json_string_value(v)) ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return fail(
			    err, "%s.seats[%zu]: not a valid id (^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$)",
			    where, s);
		g_strlcpy(room->seats[s], json_string_value(v), DRAW_ID_MAX + 1);
	}
	qsort(room->seats, room->n_seats, sizeof(draw_id), cmp_ids);
	for (s = 1; s < room->n_seats; s++)
		if (strcmp(room->seats[s - 1], room->seats[s]) == 0)
			return fail(err, "%s.seats: seat %s appears twice in room %s", where,
			            room->seats[s], room->id);
	return 0;
}

static int parse_person(const json_t *j, size_t i, struct draw_person *p, GString *err)
{
	static const char *const names[] = {"id", "tender", "role", NULL};
	char where[64];
	const json_t *role;
	int rc;

	g_snprintf(where, sizeof(where), "persons[%zu]", i);
	rc = check_members(j, where, names, err);
	if (rc)
		return rc;
	rc = get_id(j, "id", where, p->id, err);
	if (!rc)
		rc = get_id(j, "tender", where, p->tender, err);
	if (rc)
		return rc;
	role = json_object_get(j, "role");
	if (json_is_string(role) && strcmp(json_string_value(role), "expert") == 0)
		p->role = DRAW_ROLE_EXPERT;
	else if (json_is_string(role) && strcmp(json_string_value(role), "tenderer") == 0)
		p->role = DRAW_ROLE_TENDERER;
	else
		return fail(err, "%s.role: must be \"expert\" or \"tenderer\"", where);
	return 0;
}

int draw_inputs_parse(const json_t *json, struct draw_inputs **out, GString *err)
{
	static const char *const names[] = {"algorithm", "rooms", "tenders", "persons", NULL};
	static const char *const tender_names[] = {"id", NULL};
	const json_t *rooms, *tenders, *persons, *alg;
	struct draw_inputs *in;
	size_t i;
	int rc;

	*out = NULL;
	rc = check_members(json, "inputs", names, err);
	if (rc)
		return rc;
	alg = json_object_get(json, "algorithm");
	if (!json_is_integer(alg))
		return fail(err, "inputs.algorithm: must be an integer");
	if (json_integer_value(alg) < DRAW_ALGORITHM_MIN ||
	    json_integer_value(alg) > DRAW_ALGORITHM_VERSION)
		return fail(err,
		            "inputs.algorithm: version %" JSON_INTEGER_FORMAT
		            " is not supported (this build implements %d to %d)",
		            json_integer_value(alg), DRAW_ALGORITHM_MIN, DRAW_ALGORITHM_VERSION);
	rooms = get_array(json, "rooms", "", err);
	tenders = rooms ? get_array(json, "tenders", "", err) : NULL;
	persons = tenders ? get_array(json, "persons", "", err) : NULL;
	if (!persons)
		return -EINVAL;

	in = g_new0(struct draw_inputs, 1);
	in->algorithm = (int)json_integer_value(alg);
	in->n_rooms = json_array_size(rooms);
	in->rooms = g_new0(struct draw_room, in->n_rooms ? in->n_rooms : 1);
	for (i = 0; i < in->n_rooms; i++) {
		rc = parse_room(json_array_get(rooms, i), i, &in->rooms[i], err);
		if (rc)
			goto err_free;
	}
	in->n_tenders = json_array_size(tenders);
	in->tenders = g_new0(struct draw_tender, in->n_tenders ? in->n_tenders : 1);
	for (i = 0; i < in->n_tenders; i++) {
		char where[64];

		g_snprintf(where, sizeof(where), "tenders[%zu]", i);
		rc = check_members(json_array_get(tenders, i), where, tender_names, err);
		if (!rc)
			rc =
			    get_id(json_array_get(tenders, i), "id", where, in->tenders[i].id, err);
		if (rc)
			goto err_free;
	}
	in->n_persons = json_array_size(persons);
	in->persons = g_new0(struct draw_person, in->n_persons ? in->n_persons : 1);
	for (i = 0; i < in->n_persons; i++) {
		rc = parse_person(json_array_get(persons, i), i, &in->persons[i], err);
		if (rc)
			goto err_free;
	}

	qsort(in->rooms, in->n_rooms, sizeof(*in->rooms), cmp_rooms);
	qsort(in->tenders, in->n_tenders, sizeof(*in->tenders), cmp_tenders);
	qsort(in->persons, in->n_persons, sizeof(*in->persons), cmp_persons);
	for (i = 1; i < in->n_rooms; i++)
		if (strcmp(in->rooms[i - 1].id, in->rooms[i].id) == 0) {
			rc = fail(err, "rooms: room id %s appears twice", in->rooms[i].id);
			goto err_free;
		}
	for (i = 1; i < in->n_tenders; i++)
		if (strcmp(in->tenders[i - 1].id, in->tenders[i].id) == 0) {
			rc = fail(err, "tenders: tender id %s appears twice", in->tenders[i].id);
			goto err_free;
		}
	for (i = 1; i < in->n_persons; i++)
		if (strcmp(in->persons[i - 1].id, in->persons[i].id) == 0) {
			rc = fail(err, "persons: person id %s appears twice", in->persons[i].id);
			goto err_free;
		}
	for (i = 0; i < in->n_persons; i++)
		if (draw_inputs_find_tender(in, in->persons[i].tender) < 0) {
			rc =
			    fail(err, "persons: person %s names tender %s, which is not in tenders",
			         in->persons[i].id, in->persons[i].tender);
			goto err_free;
		}
	*out = in;
	return 0;

err_free:
	draw_inputs_free(in);
	return rc;
}

struct draw_inputs *draw_inputs_dup(const struct draw_inputs *in)
{
	struct draw_inputs *c = g_new0(struct draw_inputs, 1);
	size_t i;

	*c = *in;
	c->rooms = g_memdup2(in->rooms, sizeof(*in->rooms) * (in->n_rooms ? in->n_rooms : 1));
	for (i = 0; i < in->n_rooms; i++)
		c->rooms[i].seats =
		    g_memdup2(in->rooms[i].seats, sizeof(draw_id) * in->rooms[i].n_seats);
	c->tenders =
	    g_memdup2(in->tenders, sizeof(*in->tenders) * (in->n_tenders ? in->n_tenders : 1));
	c->persons =
	    g_memdup2(in->persons, sizeof(*in->persons) * (in->n_persons ? in->n_persons : 1));
	return c;
}

void draw_inputs_free(struct draw_inputs *in)
{
	size_t i;

	if (!in)
		return;
	for (i = 0; i < in->n_rooms; i++)
		g_free(in->rooms[i].seats);
	g_free(in->rooms);
	g_free(in->tenders);
	g_free(in->persons);
	g_free(in);
}

static const char *room_kind_name(enum draw_room_kind k)
{
	return k == DRAW_ROOM_EXPERT ? "expert" : "tenderer";
}

static const char *role_name(enum draw_role r)
{
	return r == DRAW_ROLE_EXPERT ? "expert" : "tenderer";
}

/* Ids need no escaping (their alphabet is [A-Za-z0-9_-]), so the canonical text
 * is plain concatenation; docs/draw.md section 2 specifies it byte for byte. */
char *draw_inputs_canonical(const struct draw_inputs *in)
{
	GString *s = g_string_sized_new(64 + in->n_persons * 48 + in->n_rooms * 64);
	size_t i, j;

	g_string_append_printf(s, "{\"algorithm\":%d,\"persons\":[", in->algorithm);
	for (i = 0; i < in->n_persons; i++)
		g_string_append_printf(s, "%s{\"id\":\"%s\",\"role\":\"%s\",\"tender\":\"%s\"}",
		                       i ? "," : "", in->persons[i].id,
		                       role_name(in->persons[i].role), in->persons[i].tender);
	g_string_append(s, "],\"rooms\":[");
	for (i = 0; i < in->n_rooms; i++) {
		g_string_append_printf(s, "%s{\"id\":\"%s\",\"kind\":\"%s\",\"seats\":[",
		                       i ? "," : "", in->rooms[i].id,
		                       room_kind_name(in->rooms[i].kind));
		for (j = 0; j < in->rooms[i].n_seats; j++)
			g_string_append_printf(s, "%s\"%s\"", j ? "," : "", in->rooms[i].seats[j]);
		g_string_append(s, "]}");
	}
	g_string_append(s, "],\"tenders\":[");
	for (i = 0; i < in->n_tenders; i++)
		g_string_append_printf(s, "%s{\"id\":\"%s\"}", i ? "," : "", in->tenders[i].id);
	g_string_append(s, "]}");
	return g_string_free(s, FALSE);
}

json_t *draw_inputs_to_json(const struct draw_inputs *in)
{
	json_t *persons = json_array(), *rooms = json_array(), *tenders = json_array();
	size_t i, j;

	for (i = 0; i < in->n_persons; i++)
		json_array_append_new(persons, json_pack("{s:s, s:s, s:s}", "id", in->persons[i].id,
		                                         "role", role_name(in->persons[i].role),
		                                         "tender", in->persons[i].tender));
	for (i = 0; i < in->n_rooms; i++) {
		json_t *seats = json_array();

		for (j = 0; j < in->rooms[i].n_seats; j++)
			json_array_append_new(seats, json_string(in->rooms[i].seats[j]));
		json_array_append_new(rooms,
		                      json_pack("{s:s, s:s, s:o}", "id", in->rooms[i].id, "kind",
		                                room_kind_name(in->rooms[i].kind), "seats", seats));
	}
	for (i = 0; i < in->n_tenders; i++)
		json_array_append_new(tenders, json_pack("{s:s}", "id", in->tenders[i].id));
	return json_pack("{s:i, s:o, s:o, s:o}", "algorithm", in->algorithm, "persons", persons,
	                 "rooms", rooms, "tenders", tenders);
}

void draw_inputs_hash(const struct draw_inputs *in, uint8_t out[DRAW_HASH_LEN])
{
	char *text = draw_inputs_canonical(in);

	SHA256((const unsigned char *)text, strlen(text), out);
	g_free(text);
}

long draw_inputs_find_person(const struct draw_inputs *in, const char *id)
{
	const struct draw_person *p =
	    bsearch(id, in->persons, in->n_persons, sizeof(*in->persons), key_person);

	return p ? (long)(p - in->persons) : -1;
}

long draw_inputs_find_room(const struct draw_inputs *in, const char *id)
{
	const struct draw_room *r =
	    bsearch(id, in->rooms, in->n_rooms, sizeof(*in->rooms), key_room);

	return r ? (long)(r - in->rooms) : -1;
}

long draw_inputs_find_tender(const struct draw_inputs *in, const char *id)
{
	const struct draw_tender *t =
	    bsearch(id, in->tenders, in->n_tenders, sizeof(*in->tenders), key_tender);

	return t ? (long)(t - in->tenders) : -1;
}
