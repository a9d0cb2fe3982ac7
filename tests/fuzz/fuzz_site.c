/* fuzz_site: the site importer (site_load_data), the input of `evalroomctl site import`
 * and of provisioning (certificates and the broker's ACL are derived from it).
 *
 * Invariants: a refusal returns -EINVAL with a UTF-8 fault (it travels back to the
 * operator in a JSON response) and leaves *out alone; an accepted site has at least one
 * room, only valid identifiers, non-NULL names, doors unique site-wide and seats unique
 * per room, and its identities are valid certificate CNs (at most 64 bytes). */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "site.h"

static void check_id(const char *id, const char *what)
{
	FUZZ_CHECK(id && site_id_valid(id), "accepted site with a bad %s id", what);
}

static void check_identity(char *cn)
{
	FUZZ_CHECK(cn && strlen(cn) <= SITE_IDENTITY_MAX && g_utf8_validate(cn, -1, NULL),
	           "identity %s longer than a certificate CN", cn ? cn : "(null)");
	g_free(cn);
}

static void check_site(const struct site *s)
{
	check_id(s->id, "site");
	FUZZ_CHECK(s->name && s->n_rooms >= 1 && s->rooms, "site without name or rooms");
	GHashTable *doors = g_hash_table_new(g_str_hash, g_str_equal);
	for (size_t i = 0; i < s->n_rooms; i++) {
		const struct site_room *r = &s->rooms[i];
		check_id(r->id, "room");
		check_id(r->door, "door");
		FUZZ_CHECK(r->name, "room %s without a name", r->id);
		FUZZ_CHECK(g_hash_table_add(doors, r->door), "door %s twice", r->door);
		check_identity(site_agent_identity(r));
		GHashTable *seats = g_hash_table_new(g_str_hash, g_str_equal);
		for (size_t j = 0; j < r->n_seats; j++) {
			check_id(r->seats[j].id, "seat");
			FUZZ_CHECK(g_hash_table_add(seats, r->seats[j].id), "seat %s twice in %s",
			           r->seats[j].id, r->id);
			check_identity(site_terminal_identity(r, &r->seats[j]));
		}
		g_hash_table_unref(seats);
		for (size_t j = 0; j < r->n_cameras; j++)
			check_id(r->cameras[j], "camera");
	}
	g_hash_table_unref(doors);
	for (size_t i = 0; i < s->n_operators; i++)
		check_identity(site_person_identity("operator", s->operators[i]));
	for (size_t i = 0; i < s->n_desks; i++)
		check_identity(site_person_identity("desk", s->desks[i]));
	for (size_t i = 0; i < s->n_auditors; i++)
		check_identity(site_person_identity("auditor", s->auditors[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();
	struct site *site = (struct site *)&site; /* must stay untouched on refusal */
	GError *err = NULL;
	int rc = site_load_data((const char *)data, size, &site, &err);
	if (rc != 0) {
		FUZZ_CHECK(rc == -EINVAL, "site_load_data returned %d", rc);
		FUZZ_CHECK(site == (struct site *)&site, "a refused site touched *out");
		FUZZ_CHECK(err && *err->message && g_utf8_validate(err->message, -1, NULL),
		           "site refused without a UTF-8 fault: %s", err ? err->message : "-");
		g_error_free(err);
		return 0;
	}
	FUZZ_CHECK(!err && site, "site accepted with an error set");
	check_site(site);
	site_free(site);
	return 0;
}
