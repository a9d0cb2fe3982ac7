/* Site file parser: JSON -> struct site, validated completely with field-path errors. */
#include "site.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "text_safe.h"

/* Anything larger is not a site description but a mistake (or an attack). */
#define SITE_FILE_MAX (16 * 1024 * 1024)

G_DEFINE_QUARK(evalroom_site_error, site_error)

struct parse {
	GError **err;
	GHashTable *doors;      /* door id -> path of first use */
	GHashTable *media;      /* camera/microphone id -> path of first use */
	GHashTable *identities; /* certificate CN -> path that produced it */
};

static int G_GNUC_PRINTF(3, 4) fail(struct parse *p, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error(p->err, SITE_ERROR, SITE_ERROR_INVALID, "%s: %s", path[0] ? path : "(top)",
	            msg);
	g_free(msg);
	return -EINVAL;
}

static char *child(const char *path, const char *key)
{
	return path[0] ? g_strdup_printf("%s.%s", path, key) : g_strdup(key);
}

static char *element(const char *path, size_t i)
{
	return g_strdup_printf("%s[%zu]", path, i);
}

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "unknown";
}

gboolean site_id_valid(const char *s)
{
	if (!s || !g_ascii_isalnum(s[0]))
		return FALSE;
	size_t n = 1;
	for (const char *c = s + 1; *c; c++, n++) {
		if (!g_ascii_isalnum(*c) && *c != '_' && *c != '-')
			return FALSE;
	}
	return n <= SITE_ID_MAX;
}

static int check_members(struct parse *p, const json_t *obj, const char *path,
                         const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v)
	{
		gboolean known = FALSE;
		for (const char *const *a = allowed; *a; a++)
			known = known || strcmp(*a, key) == 0;
		if (!known) {
			char *c = child(path, key);
			int rc = fail(p, c, "unknown member");
			g_free(c);
			return rc;
		}
	}
	return 0;
}

static int want_object(struct parse *p, const json_t *v, const char *path)
{
	if (!json_is_object(v))
		return fail(p, path, "expected an object, got %s", json_kind(v));
	return 0;
}

/* Validates v (found at path) as an identifier and returns a copy in *out. */
static int parse_id_value(struct parse *p, const json_t *v, const char *path, char **out)
{
	if (!json_is_string(v))
		return fail(p, path, "expected a string identifier, got %s", json_kind(v));
	const char *s = json_string_value(v);
	if (!site_id_valid(s) || strlen(s) != json_string_length(v))
		return fail(p, path,
		            "\"%s\" is not a valid identifier (1-32 of A-Z a-z 0-9 _ -, "
		            "starting with a letter or digit)",
		            s);
	*out = g_strdup(s);
	return 0;
}

static int parse_id(struct parse *p, const json_t *obj, const char *path, const char *key,
                    gboolean required, char **out)
{
	json_t *v = json_object_get(obj, key);
	char *c = child(path, key);
	int rc = 0;
	if (!v) {
		if (required)
			rc = fail(p, c, "missing required member");
	} else {
		rc = parse_id_value(p, v, c, out);
	}
	g_free(c);
	return rc;
}

/* A display name: optional, 1..SITE_NAME_MAX bytes of UTF-8 without control characters;
 * absent means fallback. */
static int parse_name(struct parse *p, const json_t *obj, const char *path, const char *fallback,
                      char **out)
{
	json_t *v = json_object_get(obj, "name");
	if (!v) {
		*out = g_strdup(fallback);
		return 0;
	}
	char *c = child(path, "name");
	int rc = 0;
	if (!json_is_string(v)) {
		rc = fail(p, c, "expected a string, got %s", json_kind(v));
		goto out;
	}
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (len == 0 || len > SITE_NAME_MAX || strlen(s) != len) {
		rc = fail(p, c, "must be 1 to %d bytes long", SITE_NAME_MAX);
		goto out;
	}
	if (!text_clean(s)) {
		rc = fail(p, c,
		          "must not contain control characters, newlines or bidirectional "
		          "overrides");
		goto out;
	}
	*out = g_strdup(s);
out:
	g_free(c);
	return rc;
}

/* Records id as used at path in table; a second use is an error naming the first. */
static int claim(struct parse *p, GHashTable *table, const char *what, const char *id,
                 const char *path)
{
	const char *first = g_hash_table_lookup(table, id);
	if (first)
		return fail(p, path, "duplicate %s \"%s\" (first at %s)", what, id, first);
	g_hash_table_insert(table, g_strdup(id), g_strdup(path));
	return 0;
}

static int claim_identity(struct parse *p, char *identity, const char *path)
{
	int rc = 0;
	if (strlen(identity) > SITE_IDENTITY_MAX)
		rc = fail(p, path, "certificate identity \"%s\" is longer than %d characters",
		          identity, SITE_IDENTITY_MAX);
	else
		rc = claim(p, p->identities, "certificate identity", identity, path);
	g_free(identity);
	return rc;
}

/* An optional array of identifiers. Each is claimed in table (when not NULL) as what. */
static int parse_id_array(struct parse *p, const json_t *obj, const char *path, const char *key,
                          GHashTable *table, const char *what, char ***out, size_t *n_out)
{
	json_t *arr = json_object_get(obj, key);
	*out = NULL;
	*n_out = 0;
	if (!arr)
		return 0;
	char *c = child(path, key);
	int rc = 0;
	if (!json_is_array(arr)) {
		rc = fail(p, c, "expected an array, got %s", json_kind(arr));
		goto out;
	}
	size_t n = json_array_size(arr);
	*out = g_new0(char *, n + 1);
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *e = element(c, i);
		rc = parse_id_value(p, json_array_get(arr, i), e, &(*out)[i]);
		if (rc == 0) {
			*n_out = i + 1;
			rc = claim(p, table, what, (*out)[i], e);
		}
		g_free(e);
	}
out:
	g_free(c);
	return rc;
}

static int parse_venue(struct parse *p, const json_t *v, const char *path, GHashTable *seen,
                       struct site_venue *venue)
{
	static const char *const members[] = {"id",   "name",       "main",
	                                      "host", "port",       "media_kbit", NULL};
	int rc = want_object(p, v, path);
	if (rc == 0)
		rc = check_members(p, v, path, members);
	if (rc == 0)
		rc = parse_id(p, v, path, "id", TRUE, &venue->id);
	if (rc == 0)
		rc = parse_name(p, v, path, venue->id, &venue->name);
	if (rc == 0) {
		char *c = child(path, "id");
		rc = claim(p, seen, "venue id", venue->id, c);
		g_free(c);
	}
	const json_t *main_flag = json_object_get(v, "main");
	if (rc == 0 && main_flag) {
		char *c = child(path, "main");
		if (!json_is_boolean(main_flag))
			rc = fail(p, c, "expected a boolean, got %s", json_kind(main_flag));
		venue->main = json_is_true(main_flag);
		g_free(c);
	}
	const json_t *host = json_object_get(v, "host");
	if (rc == 0 && host) {
		char *c = child(path, "host");
		if (!json_is_string(host))
			rc = fail(p, c, "expected a string, got %s", json_kind(host));
		else if (!site_host_valid(json_string_value(host)))
			rc = fail(p, c, "\"%s\" is neither an IP address nor a DNS name",
			          json_string_value(host));
		else
			venue->host = g_strdup(json_string_value(host));
		g_free(c);
	}
	const json_t *port = json_object_get(v, "port");
	venue->port = SITE_VENUE_DEFAULT_PORT;
	if (rc == 0 && port) {
		char *c = child(path, "port");
		if (!json_is_integer(port) || json_integer_value(port) < 1 ||
		    json_integer_value(port) > 65535)
			rc = fail(p, c, "expected a TCP port (1 to 65535)");
		else
			venue->port = (unsigned)json_integer_value(port);
		g_free(c);
	}
	const json_t *kbit = json_object_get(v, "media_kbit");
	if (rc == 0 && kbit) {
		char *c = child(path, "media_kbit");
		if (!json_is_integer(kbit) || json_integer_value(kbit) < SITE_MEDIA_KBIT_ROOM_MIN ||
		    json_integer_value(kbit) > SITE_MEDIA_KBIT_MAX)
			rc = fail(p, c,
			          "expected the venue's media rate to the main venue in kbit/s, a whole "
			          "number from %u to %u",
			          SITE_MEDIA_KBIT_ROOM_MIN, SITE_MEDIA_KBIT_MAX);
		else
			venue->media_kbit = (unsigned)json_integer_value(kbit);
		g_free(c);
	}
	if (rc == 0)
		rc = claim_identity(p, site_bridge_identity(venue), path);
	return rc;
}

/* Several venues: one main venue (where the controller runs and the bridges end), its
 * broker's host named, because every secondary venue's bridge connects to it. */
static int check_venues(struct parse *p, struct site *site)
{
	if (site->n_venues < 2)
		return 0;
	size_t n_main = 0;
	for (size_t i = 0; i < site->n_venues; i++)
		n_main += site->venues[i].main ? 1 : 0;
	if (n_main != 1)
		return fail(p, "venues",
		            "with several venues exactly one must be the main venue "
		            "(\"main\": true); %zu are",
		            n_main);
	const struct site_venue *m = site_main_venue(site);
	if (m->media_kbit) {
		char *e = g_strdup_printf("venues[%zu].media_kbit", (size_t)(m - site->venues));
		int rc = fail(p, e,
		              "the main venue's media crosses no WAN link: media_kbit belongs to "
		              "a secondary venue");
		g_free(e);
		return rc;
	}
	if (!m->host) {
		char *e = g_strdup_printf("venues[%zu].host", (size_t)(m - site->venues));
		int rc = fail(p, e,
		              "the main venue needs the host its broker is reached at (the "
		              "secondary venues' bridges connect to it)");
		g_free(e);
		return rc;
	}
	return 0;
}

static int parse_seat(struct parse *p, const json_t *v, const char *path, GHashTable *seen,
                      const struct site_room *room, struct site_seat *seat)
{
	static const char *const members[] = {"id", "camera", "microphone", NULL};
	int rc = want_object(p, v, path);
	if (rc == 0)
		rc = check_members(p, v, path, members);
	if (rc == 0)
		rc = parse_id(p, v, path, "id", TRUE, &seat->id);
	if (rc == 0)
		rc = parse_id(p, v, path, "camera", FALSE, &seat->camera);
	if (rc == 0)
		rc = parse_id(p, v, path, "microphone", FALSE, &seat->microphone);
	char *c = child(path, "id");
	if (rc == 0)
		rc = claim(p, seen, "seat id", seat->id, c);
	if (rc == 0)
		rc = claim_identity(p, site_terminal_identity(room, seat), c);
	g_free(c);
	if (rc == 0 && seat->camera) {
		c = child(path, "camera");
		rc = claim(p, p->media, "camera/microphone id", seat->camera, c);
		g_free(c);
	}
	if (rc == 0 && seat->microphone) {
		c = child(path, "microphone");
		rc = claim(p, p->media, "camera/microphone id", seat->microphone, c);
		g_free(c);
	}
	return rc;
}

static int parse_kind(struct parse *p, const json_t *obj, const char *path,
                      enum site_room_kind *kind)
{
	json_t *v = json_object_get(obj, "kind");
	char *c = child(path, "kind");
	int rc = 0;
	if (!v)
		rc = fail(p, c, "missing required member");
	else if (!json_is_string(v))
		rc = fail(p, c, "expected a string, got %s", json_kind(v));
	else if (site_room_kind_parse(json_string_value(v), kind) != 0)
		rc = fail(p, c,
		          "\"%s\" is not a room kind (expert, tenderer, witness, supervision or "
		          "draw)",
		          json_string_value(v));
	g_free(c);
	return rc;
}

static int parse_room(struct parse *p, const json_t *v, const char *path, GHashTable *rooms_seen,
                      const struct site *site, struct site_room *room)
{
	static const char *const members[] = {"id",      "name",        "kind",  "venue", "door",
	                                      "cameras", "microphones", "seats", NULL};
	int rc = want_object(p, v, path);
	if (rc == 0)
		rc = check_members(p, v, path, members);
	if (rc == 0)
		rc = parse_id(p, v, path, "id", TRUE, &room->id);
	if (rc == 0) {
		char *c = child(path, "id");
		rc = claim(p, rooms_seen, "room id", room->id, c);
		if (rc == 0)
			rc = claim_identity(p, site_agent_identity(room), c);
		g_free(c);
	}
	if (rc == 0)
		rc = parse_name(p, v, path, room->id, &room->name);
	if (rc == 0)
		rc = parse_kind(p, v, path, &room->kind);
	if (rc == 0)
		rc = parse_id(p, v, path, "venue", FALSE, &room->venue);
	if (rc == 0 && room->venue) {
		gboolean found = FALSE;
		for (size_t i = 0; i < site->n_venues; i++)
			found = found || strcmp(site->venues[i].id, room->venue) == 0;
		if (!found) {
			char *c = child(path, "venue");
			rc = fail(p, c, "\"%s\" is not one of the site's venues", room->venue);
			g_free(c);
		}
	}
	if (rc == 0)
		rc = parse_id(p, v, path, "door", TRUE, &room->door);
	if (rc == 0) {
		char *c = child(path, "door");
		rc = claim(p, p->doors, "door id", room->door, c);
		g_free(c);
	}
	if (rc == 0)
		rc = parse_id_array(p, v, path, "cameras", p->media, "camera/microphone id",
		                    &room->cameras, &room->n_cameras);
	if (rc == 0)
		rc = parse_id_array(p, v, path, "microphones", p->media, "camera/microphone id",
		                    &room->microphones, &room->n_microphones);
	if (rc != 0)
		return rc;

	json_t *seats = json_object_get(v, "seats");
	if (!seats)
		return 0;
	char *c = child(path, "seats");
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	if (!json_is_array(seats)) {
		rc = fail(p, c, "expected an array, got %s", json_kind(seats));
		goto out;
	}
	room->seats = g_new0(struct site_seat, json_array_size(seats));
	for (size_t i = 0; i < json_array_size(seats) && rc == 0; i++) {
		char *e = element(c, i);
		room->n_seats = i + 1;
		rc = parse_seat(p, json_array_get(seats, i), e, seen, room, &room->seats[i]);
		g_free(e);
	}
out:
	g_hash_table_unref(seen);
	g_free(c);
	return rc;
}

static int parse_people(struct parse *p, const json_t *root, const char *key, const char *role,
                        char ***out, size_t *n_out)
{
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	char *what = g_strdup_printf("%s name", role);
	int rc = parse_id_array(p, root, "", key, seen, what, out, n_out);
	for (size_t i = 0; i < *n_out && rc == 0; i++) {
		char *e = g_strdup_printf("%s[%zu]", key, i);
		rc = claim_identity(p, site_person_identity(role, (*out)[i]), e);
		g_free(e);
	}
	g_free(what);
	g_hash_table_unref(seen);
	return rc;
}

/* "desks": each a name, or {name, venue} for the desk of a venue, which checks in only
 * the people seated at that venue (docs/venues.md). The names go through parse_people;
 * the venues into site->desk_venues. */
static int parse_desks(struct parse *p, const json_t *root, struct site *site)
{
	static const char *const members[] = {"name", "venue", NULL};
	json_t *arr = json_object_get(root, "desks");
	if (!json_is_array(arr))
		return parse_people(p, root, "desks", "desk", &site->desks, &site->n_desks);
	json_t *names = json_array(), *flat = json_pack("{s:O}", "desks", names);
	char **venues = g_new0(char *, json_array_size(arr) + 1);
	int rc = 0;
	for (size_t i = 0; i < json_array_size(arr) && rc == 0; i++) {
		json_t *v = json_array_get(arr, i);
		char *e = element("desks", i);
		if (json_is_object(v)) {
			rc = check_members(p, v, e, members);
			if (rc == 0 && !json_object_get(v, "name")) {
				char *c = child(e, "name");
				rc = fail(p, c, "missing required member");
				g_free(c);
			}
			if (rc == 0)
				rc = parse_id(p, v, e, "venue", TRUE, &venues[i]);
			bool found = false;
			for (size_t j = 0; rc == 0 && j < site->n_venues; j++)
				found = found || strcmp(site->venues[j].id, venues[i]) == 0;
			if (rc == 0 && !found) {
				char *c = child(e, "venue");
				rc = fail(p, c, "\"%s\" is not one of the site's venues", venues[i]);
				g_free(c);
			}
			json_array_append(names, json_object_get(v, "name"));
		} else {
			json_array_append(names, v);
		}
		g_free(e);
	}
	if (rc == 0)
		rc = parse_people(p, flat, "desks", "desk", &site->desks, &site->n_desks);
	json_decref(names);
	json_decref(flat);
	if (rc == 0) {
		site->desk_venues = venues;
		return 0;
	}
	for (size_t i = 0; i < json_array_size(arr); i++)
		g_free(venues[i]);
	g_free(venues);
	return rc;
}

/* A post: {id, name?, sensitive?}. */
static int parse_post(struct parse *p, const json_t *v, const char *path, GHashTable *seen,
                      struct site_post *post)
{
	static const char *const members[] = {"id", "name", "sensitive", NULL};
	int rc = want_object(p, v, path);
	if (rc == 0)
		rc = check_members(p, v, path, members);
	if (rc == 0)
		rc = parse_id(p, v, path, "id", TRUE, &post->id);
	if (rc == 0)
		rc = parse_name(p, v, path, post->id, &post->name);
	if (rc == 0)
		rc = claim(p, seen, "post", post->id, path);
	json_t *sens = json_object_get(v, "sensitive");
	if (rc == 0 && sens) {
		if (!json_is_boolean(sens)) {
			char *c = child(path, "sensitive");
			rc = fail(p, c, "expected a boolean, got %s", json_kind(sens));
			g_free(c);
		} else {
			post->sensitive = json_is_true(sens);
		}
	}
	return rc;
}

/* A YYYY-MM-DD date that exists in the calendar. */
static bool date_valid(const char *s)
{
	int y, m, d;
	char tail;
	if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || s[4] != '-' ||
	    s[7] != '-')
		return false;
	return g_date_valid_dmy((GDateDay)d, (GDateMonth)m, (GDateYear)y);
}

/* One of a staff member's posts: {post, since?}. */
static int parse_staff_post(struct parse *p, const struct site *site, const json_t *v,
                            const char *path, struct site_staff_post *sp)
{
	static const char *const members[] = {"post", "since", NULL};
	int rc = want_object(p, v, path);
	if (rc == 0)
		rc = check_members(p, v, path, members);
	if (rc == 0)
		rc = parse_id(p, v, path, "post", TRUE, &sp->post);
	if (rc == 0 && !site_post_find(site, sp->post)) {
		char *c = child(path, "post");
		rc = fail(p, c, "\"%s\" is not one of the site's posts", sp->post);
		g_free(c);
	}
	json_t *since = json_object_get(v, "since");
	if (rc == 0 && since) {
		char *c = child(path, "since");
		if (!json_is_string(since) || !date_valid(json_string_value(since)))
			rc = fail(p, c, "expected a date YYYY-MM-DD");
		else
			g_strlcpy(sp->since, json_string_value(since), sizeof(sp->since));
		g_free(c);
	}
	return rc;
}

/* A staff member: {identity, posts: [...]}; the identity must be a person of the site in
 * a role that holds posts (operator, desk, witness, supervisor). */
static int parse_staff(struct parse *p, const struct site *site, const json_t *v, const char *path,
                       GHashTable *seen, struct site_staff *st)
{
	static const char *const members[] = {"identity", "posts", NULL};
	static const char *const roles[] = {"operator-", "desk-", "witness-", "supervisor-", NULL};
	int rc = want_object(p, v, path);
	if (rc == 0)
		rc = check_members(p, v, path, members);
	json_t *id = json_object_get(v, "identity");
	char *c = child(path, "identity");
	if (rc == 0 &&
	    (!json_is_string(id) || strlen(json_string_value(id)) != json_string_length(id)))
		rc = fail(p, c, id ? "expected a string" : "missing required member");
	if (rc == 0) {
		const char *s = json_string_value(id);
		bool role_ok = false;
		for (const char *const *r = roles; *r; r++)
			role_ok = role_ok || g_str_has_prefix(s, *r);
		if (!role_ok || !g_hash_table_contains(p->identities, s))
			rc = fail(p, c,
			          "\"%s\" is none of the site's operators, desks, witnesses or "
			          "supervisors",
			          s);
		else
			st->identity = g_strdup(s);
	}
	if (rc == 0)
		rc = claim(p, seen, "staff member", st->identity, c);
	g_free(c);
	if (rc != 0)
		return rc;
	json_t *posts = json_object_get(v, "posts");
	c = child(path, "posts");
	if (!json_is_array(posts) || json_array_size(posts) == 0) {
		rc = fail(p, c, posts ? "expected a non-empty array" : "missing required member");
		g_free(c);
		return rc;
	}
	st->posts = g_new0(struct site_staff_post, json_array_size(posts));
	for (size_t i = 0; i < json_array_size(posts) && rc == 0; i++) {
		char *e = element(c, i);
		st->n_posts = i + 1;
		rc = parse_staff_post(p, site, json_array_get(posts, i), e, &st->posts[i]);
		for (size_t j = 0; j < i && rc == 0; j++)
			if (strcmp(st->posts[j].post, st->posts[i].post) == 0)
				rc = fail(p, e, "post \"%s\" named twice", st->posts[i].post);
		g_free(e);
	}
	g_free(c);
	return rc;
}

/* The optional "posts" and "staff" members (after the people: staff refer to them). */
static int parse_posts_staff(struct parse *p, const json_t *root, struct site *site)
{
	json_t *posts = json_object_get(root, "posts"), *staff = json_object_get(root, "staff");
	int rc = 0;
	if (posts && !json_is_array(posts))
		return fail(p, "posts", "expected an array, got %s", json_kind(posts));
	if (staff && !json_is_array(staff))
		return fail(p, "staff", "expected an array, got %s", json_kind(staff));
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	site->posts = g_new0(struct site_post, posts ? json_array_size(posts) : 0);
	for (size_t i = 0; posts && i < json_array_size(posts) && rc == 0; i++) {
		char *e = element("posts", i);
		site->n_posts = i + 1;
		rc = parse_post(p, json_array_get(posts, i), e, seen, &site->posts[i]);
		g_free(e);
	}
	g_hash_table_remove_all(seen);
	site->staff = g_new0(struct site_staff, staff ? json_array_size(staff) : 0);
	for (size_t i = 0; staff && i < json_array_size(staff) && rc == 0; i++) {
		char *e = element("staff", i);
		site->n_staff = i + 1;
		rc = parse_staff(p, site, json_array_get(staff, i), e, seen, &site->staff[i]);
		g_free(e);
	}
	g_hash_table_unref(seen);
	return rc;
}

const struct site_post *site_post_find(const struct site *site, const char *id)
{
	for (size_t i = 0; i < site->n_posts; i++)
		if (site->posts[i].id && strcmp(site->posts[i].id, id) == 0)
			return &site->posts[i];
	return NULL;
}

const struct site_staff *site_staff_find(const struct site *site, const char *identity)
{
	for (size_t i = 0; i < site->n_staff; i++)
		if (site->staff[i].identity && strcmp(site->staff[i].identity, identity) == 0)
			return &site->staff[i];
	return NULL;
}

/* "witness_signing": "ed25519" (also when absent), "sm2" or "both". */
static int parse_witness_signing(struct parse *p, const json_t *root, unsigned *out)
{
	json_t *v = json_object_get(root, "witness_signing");
	const char *s = v ? json_string_value(v) : "ed25519";
	if (g_strcmp0(s, "ed25519") == 0)
		*out = SITE_SIGNING_ED25519;
	else if (g_strcmp0(s, "sm2") == 0)
		*out = SITE_SIGNING_SM2;
	else if (g_strcmp0(s, "both") == 0)
		*out = SITE_SIGNING_ED25519 | SITE_SIGNING_SM2;
	else
		return fail(p, "witness_signing", "expected \"ed25519\", \"sm2\" or \"both\"");
	return 0;
}

/* A venue's media_kbit shared by its rooms leaves each at least SITE_MEDIA_KBIT_ROOM_MIN. */
static int check_media_shares(struct parse *p, const struct site *site)
{
	for (size_t i = 0; i < site->n_venues; i++) {
		const struct site_venue *v = &site->venues[i];
		size_t n = site_venue_rooms(site, v);
		if (!v->media_kbit || !n || v->media_kbit / n >= SITE_MEDIA_KBIT_ROOM_MIN)
			continue;
		char *e = g_strdup_printf("venues[%zu].media_kbit", i);
		int rc = fail(p, e,
		              "%u kbit/s shared by the venue's %zu rooms leaves %u kbit/s a room; "
		              "each room needs at least %u",
		              v->media_kbit, n, (unsigned)(v->media_kbit / n),
		              SITE_MEDIA_KBIT_ROOM_MIN);
		g_free(e);
		return rc;
	}
	return 0;
}

static int parse_site(struct parse *p, const json_t *root, struct site *site)
{
	static const char *const members[] = {
	    "id",    "name",     "venues",    "rooms",       "operators",
	    "desks", "auditors", "witnesses", "supervisors", "representatives",
	    "posts", "staff",    "witness_signing", NULL};
	int rc = want_object(p, root, "");
	if (rc == 0)
		rc = check_members(p, root, "", members);
	if (rc == 0)
		rc = parse_id(p, root, "", "id", TRUE, &site->id);
	if (rc == 0)
		rc = parse_name(p, root, "", site->id, &site->name);
	if (rc != 0)
		return rc;
	g_hash_table_insert(p->identities, g_strdup("controller"), g_strdup("(controller)"));

	json_t *venues = json_object_get(root, "venues");
	if (venues) {
		if (!json_is_array(venues))
			return fail(p, "venues", "expected an array, got %s", json_kind(venues));
		GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
		site->venues = g_new0(struct site_venue, json_array_size(venues));
		for (size_t i = 0; i < json_array_size(venues) && rc == 0; i++) {
			char *e = element("venues", i);
			site->n_venues = i + 1;
			rc = parse_venue(p, json_array_get(venues, i), e, seen, &site->venues[i]);
			g_free(e);
		}
		g_hash_table_unref(seen);
		if (rc == 0)
			rc = check_venues(p, site);
		if (rc != 0)
			return rc;
	}

	json_t *rooms = json_object_get(root, "rooms");
	if (!rooms)
		return fail(p, "rooms", "missing required member");
	if (!json_is_array(rooms))
		return fail(p, "rooms", "expected an array, got %s", json_kind(rooms));
	if (json_array_size(rooms) == 0)
		return fail(p, "rooms", "a site needs at least one room");
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	site->rooms = g_new0(struct site_room, json_array_size(rooms));
	for (size_t i = 0; i < json_array_size(rooms) && rc == 0; i++) {
		char *e = element("rooms", i);
		site->n_rooms = i + 1;
		rc = parse_room(p, json_array_get(rooms, i), e, seen, site, &site->rooms[i]);
		g_free(e);
	}
	g_hash_table_unref(seen);
	if (rc == 0)
		rc = check_media_shares(p, site);

	if (rc == 0)
		rc = parse_people(p, root, "operators", "operator", &site->operators,
		                  &site->n_operators);
	if (rc == 0)
		rc = parse_desks(p, root, site);
	if (rc == 0)
		rc = parse_people(p, root, "auditors", "auditor", &site->auditors,
		                  &site->n_auditors);
	if (rc == 0 && json_object_get(root, "witnesses"))
		rc = parse_people(p, root, "witnesses", "witness", &site->witnesses,
		                  &site->n_witnesses);
	if (rc == 0 && json_object_get(root, "supervisors"))
		rc = parse_people(p, root, "supervisors", "supervisor", &site->supervisors,
		                  &site->n_supervisors);
	if (rc == 0 && json_object_get(root, "representatives"))
		rc = parse_people(p, root, "representatives", "rep", &site->representatives,
		                  &site->n_representatives);
	if (rc == 0)
		rc = parse_posts_staff(p, root, site);
	if (rc == 0)
		rc = parse_witness_signing(p, root, &site->witness_signing);
	return rc;
}

int site_load_data(const char *data, size_t len, struct site **out, GError **err)
{
	json_error_t jerr;
	json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		/* jansson quotes the bytes near the fault: they may be invalid UTF-8 or
		 * control characters, and the message reaches a JSON reply and a screen. */
		char *text = text_display(jerr.text);
		g_set_error(err, SITE_ERROR, SITE_ERROR_SYNTAX, "line %d column %d: %s", jerr.line,
		            jerr.column, text);
		g_free(text);
		return -EINVAL;
	}
	struct parse p = {
	    .err = err,
	    .doors = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free),
	    .media = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free),
	    .identities = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free),
	};
	struct site *site = g_new0(struct site, 1);
	int rc = parse_site(&p, root, site);
	g_hash_table_unref(p.identities);
	g_hash_table_unref(p.media);
	g_hash_table_unref(p.doors);
	json_decref(root);
	if (rc != 0) {
		site_free(site);
		return rc;
	}
	*out = site;
	return 0;
}

int site_load(const char *path, struct site **out, GError **err)
{
	char *data = NULL;
	gsize len = 0;
	GError *local = NULL;
	if (!g_file_get_contents(path, &data, &len, &local)) {
		int rc = -EIO;
		if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			rc = -ENOENT;
		else if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_ACCES))
			rc = -EACCES;
		g_set_error(err, SITE_ERROR, SITE_ERROR_IO, "%s", local->message);
		g_error_free(local);
		return rc;
	}
	if (len > SITE_FILE_MAX) {
		g_set_error(err, SITE_ERROR, SITE_ERROR_INVALID, "%s: larger than %d bytes", path,
		            SITE_FILE_MAX);
		g_free(data);
		return -EFBIG;
	}
	int rc = site_load_data(data, len, out, err);
	g_free(data);
	if (rc != 0)
		g_prefix_error(err, "%s: ", path);
	return rc;
}

static void free_ids(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		g_free(ids[i]);
	g_free(ids);
}

void site_free(struct site *site)
{
	if (!site)
		return;
	for (size_t i = 0; i < site->n_venues; i++) {
		g_free(site->venues[i].id);
		g_free(site->venues[i].name);
		g_free(site->venues[i].host);
	}
	g_free(site->venues);
	for (size_t i = 0; i < site->n_rooms; i++) {
		struct site_room *r = &site->rooms[i];
		for (size_t j = 0; j < r->n_seats; j++) {
			g_free(r->seats[j].id);
			g_free(r->seats[j].camera);
			g_free(r->seats[j].microphone);
		}
		g_free(r->seats);
		free_ids(r->cameras, r->n_cameras);
		free_ids(r->microphones, r->n_microphones);
		g_free(r->id);
		g_free(r->name);
		g_free(r->venue);
		g_free(r->door);
	}
	g_free(site->rooms);
	free_ids(site->operators, site->n_operators);
	for (size_t i = 0; site->desk_venues && i < site->n_desks; i++)
		g_free(site->desk_venues[i]);
	g_free(site->desk_venues);
	free_ids(site->desks, site->n_desks);
	free_ids(site->auditors, site->n_auditors);
	free_ids(site->witnesses, site->n_witnesses);
	free_ids(site->supervisors, site->n_supervisors);
	free_ids(site->representatives, site->n_representatives);
	for (size_t i = 0; i < site->n_posts; i++) {
		g_free(site->posts[i].id);
		g_free(site->posts[i].name);
	}
	g_free(site->posts);
	for (size_t i = 0; i < site->n_staff; i++) {
		for (size_t j = 0; j < site->staff[i].n_posts; j++)
			g_free(site->staff[i].posts[j].post);
		g_free(site->staff[i].posts);
		g_free(site->staff[i].identity);
	}
	g_free(site->staff);
	g_free(site->id);
	g_free(site->name);
	g_free(site);
}

char *site_agent_identity(const struct site_room *room)
{
	return g_strdup_printf("agent-%s", room->id);
}

char *site_terminal_identity(const struct site_room *room, const struct site_seat *seat)
{
	return g_strdup_printf("terminal-%s-%s", room->id, seat->id);
}

gboolean site_host_valid(const char *h)
{
	if (g_hostname_is_ip_address(h))
		return TRUE;
	size_t n = strlen(h);
	if (n == 0 || n > 253 || h[0] == '.' || h[0] == '-')
		return FALSE;
	for (const char *c = h; *c; c++)
		if (!g_ascii_isalnum(*c) && *c != '-' && *c != '.')
			return FALSE;
	return TRUE;
}

char *site_bridge_identity(const struct site_venue *venue)
{
	return g_strdup_printf("bridge-%s", venue->id);
}

const struct site_venue *site_main_venue(const struct site *site)
{
	for (size_t i = 0; i < site->n_venues; i++)
		if (site->venues[i].main)
			return &site->venues[i];
	return site->n_venues ? &site->venues[0] : NULL;
}

const char *site_desk_venue(const struct site *site, const char *identity)
{
	if (!identity || !g_str_has_prefix(identity, "desk-") || !site->desk_venues)
		return NULL;
	for (size_t i = 0; i < site->n_desks; i++)
		if (strcmp(site->desks[i], identity + strlen("desk-")) == 0)
			return site->desk_venues[i];
	return NULL;
}

const struct site_room *site_room_find(const struct site *site, const char *id)
{
	for (size_t i = 0; id && i < site->n_rooms; i++)
		if (strcmp(site->rooms[i].id, id) == 0)
			return &site->rooms[i];
	return NULL;
}

const struct site_venue *site_venue_find(const struct site *site, const char *id)
{
	for (size_t i = 0; id && i < site->n_venues; i++)
		if (strcmp(site->venues[i].id, id) == 0)
			return &site->venues[i];
	return NULL;
}

bool site_room_in_venue(const struct site *site, const struct site_room *room,
                        const struct site_venue *venue)
{
	if (room->venue)
		return strcmp(room->venue, venue->id) == 0;
	return venue == site_main_venue(site); /* a room without a venue is at the main one */
}

char *site_person_identity(const char *role, const char *name)
{
	return g_strdup_printf("%s-%s", role, name);
}

static const char *const room_kind_names[] = {
    [SITE_ROOM_EXPERT] = "expert",   [SITE_ROOM_TENDERER] = "tenderer",
    [SITE_ROOM_WITNESS] = "witness", [SITE_ROOM_SUPERVISION] = "supervision",
    [SITE_ROOM_DRAW] = "draw",
};

const char *site_room_kind_name(enum site_room_kind kind)
{
	return (size_t)kind < G_N_ELEMENTS(room_kind_names) ? room_kind_names[kind] : "?";
}

int site_room_kind_parse(const char *name, enum site_room_kind *kind)
{
	for (size_t i = 0; name && i < G_N_ELEMENTS(room_kind_names); i++) {
		if (strcmp(name, room_kind_names[i]) == 0) {
			*kind = (enum site_room_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

int site_staff_room_kind(const char *role)
{
	if (g_strcmp0(role, "witness") == 0)
		return SITE_ROOM_WITNESS;
	if (g_strcmp0(role, "supervisor") == 0)
		return SITE_ROOM_SUPERVISION;
	if (g_strcmp0(role, "rep") == 0)
		return SITE_ROOM_DRAW;
	return -1;
}

size_t site_venue_rooms(const struct site *site, const struct site_venue *venue)
{
	size_t n = 0;
	for (size_t i = 0; i < site->n_rooms; i++)
		n += site_room_in_venue(site, &site->rooms[i], venue) ? 1 : 0;
	return n;
}

unsigned site_venue_room_media_kbit(const struct site *site, const struct site_venue *venue)
{
	size_t n = site_venue_rooms(site, venue);
	return n ? (unsigned)(venue->media_kbit / n) : 0;
}
