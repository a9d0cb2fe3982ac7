/* cmocka tests of the site file parser (common/site.c): the example site, and each kind
 * of fault with the exact message an installer would see. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "site.h"

/* JSON in these tests is written with ' for " to stay readable. */
static int load(const char *json, struct site **site, GError **err)
{
	char *text = g_strdup(json);
	for (char *c = text; *c; c++) {
		if (*c == '\'')
			*c = '"';
	}
	int rc = site_load_data(text, strlen(text), site, err);
	g_free(text);
	return rc;
}

/* Asserts that json is rejected with exactly message. */
static void expect_error(const char *json, const char *message)
{
	struct site *site = NULL;
	GError *err = NULL;
	int rc = load(json, &site, &err);
	if (rc == 0 || !err || strcmp(err->message, message) != 0)
		print_error("input:    %s\nexpected: %s\ngot:      rc=%d %s\n", json, message, rc,
		            err ? err->message : "(no error)");
	assert_int_equal(rc, -EINVAL);
	assert_null(site);
	assert_non_null(err);
	assert_string_equal(err->message, message);
	g_error_free(err);
}

static void test_example_site(void **state)
{
	struct site *site = NULL;
	GError *err = NULL;
	int rc = site_load(EXAMPLE_SITE, &site, &err);
	if (rc)
		print_error("%s\n", err->message);
	assert_int_equal(rc, 0);
	assert_string_equal(site->id, "hq");
	assert_int_equal(site->n_venues, 1);
	assert_string_equal(site->venues[0].id, "main");
	assert_int_equal(site->n_rooms, 3);
	const struct site_room *e1 = &site->rooms[0];
	assert_string_equal(e1->id, "E1");
	assert_string_equal(e1->name, "Expert room 1");
	assert_int_equal(e1->kind, SITE_ROOM_EXPERT);
	assert_string_equal(e1->venue, "main");
	assert_string_equal(e1->door, "D-E1");
	assert_int_equal(e1->n_cameras, 1);
	assert_string_equal(e1->cameras[0], "cam-E1");
	assert_int_equal(e1->n_microphones, 1);
	assert_int_equal(e1->n_seats, 2);
	assert_string_equal(e1->seats[1].id, "S2");
	assert_string_equal(e1->seats[1].camera, "cam-E1-S2");
	assert_string_equal(e1->seats[1].microphone, "mic-E1-S2");
	const struct site_room *e2 = &site->rooms[1];
	assert_int_equal(e2->n_microphones, 0);
	assert_null(e2->seats[0].microphone);
	assert_int_equal(site->rooms[2].kind, SITE_ROOM_TENDERER);
	assert_int_equal(site->n_operators, 2);
	assert_string_equal(site->operators[1], "bob");
	assert_int_equal(site->n_desks, 1);
	assert_int_equal(site->n_auditors, 1);

	char *id = site_terminal_identity(e2, &e2->seats[1]);
	assert_string_equal(id, "terminal-E2-S2");
	g_free(id);
	id = site_agent_identity(e1);
	assert_string_equal(id, "agent-E1");
	g_free(id);
	site_free(site);
}

static void test_minimal_site_defaults(void **state)
{
	struct site *site = NULL;
	GError *err = NULL;
	assert_int_equal(
	    load("{'id':'s','rooms':[{'id':'r','kind':'tenderer','door':'d'}]}", &site, &err), 0);
	assert_string_equal(site->name, "s");
	assert_string_equal(site->rooms[0].name, "r");
	assert_null(site->rooms[0].venue);
	assert_int_equal(site->rooms[0].n_seats, 0);
	assert_int_equal(site->n_venues + site->n_operators + site->n_desks + site->n_auditors, 0);
	site_free(site);
}

static void test_same_seat_id_in_two_rooms(void **state)
{
	struct site *site = NULL;
	GError *err = NULL;
	assert_int_equal(load("{'id':'s','rooms':[{'id':'a','kind':'expert','door':'d1',"
	                      "'seats':[{'id':'S1'}]},{'id':'b','kind':'expert','door':'d2',"
	                      "'seats':[{'id':'S1'}]}]}",
	                      &site, &err),
	                 0);
	assert_string_equal(site->rooms[1].seats[0].id, "S1");
	site_free(site);
}

/* The watchers' rooms and people (docs/witness.md). */
static void test_watchers_rooms_and_people(void **state)
{
	struct site *site = NULL;
	GError *err = NULL;
	assert_int_equal(load("{'id':'s','rooms':[{'id':'w','kind':'witness','door':'d1'},"
	                      "{'id':'v','kind':'supervision','door':'d2'},"
	                      "{'id':'x','kind':'draw','door':'d3'}],"
	                      "'witnesses':['a'],'supervisors':['b','c'],'representatives':['d']}",
	                      &site, &err),
	                 0);
	assert_int_equal(site->rooms[0].kind, SITE_ROOM_WITNESS);
	assert_int_equal(site->rooms[1].kind, SITE_ROOM_SUPERVISION);
	assert_int_equal(site->rooms[2].kind, SITE_ROOM_DRAW);
	assert_string_equal(site_room_kind_name(site->rooms[1].kind), "supervision");
	assert_int_equal(site->n_supervisors, 2);
	assert_string_equal(site->supervisors[1], "c");
	assert_int_equal(site->n_representatives, 1);
	assert_int_equal(site_staff_room_kind("witness"), SITE_ROOM_WITNESS);
	assert_int_equal(site_staff_room_kind("supervisor"), SITE_ROOM_SUPERVISION);
	assert_int_equal(site_staff_room_kind("rep"), SITE_ROOM_DRAW);
	assert_int_equal(site_staff_room_kind("desk"), -1);
	site_free(site);
	expect_error("{'id':'s','rooms':[{'id':'r','kind':'expert','door':'d'}],"
	             "'supervisors':['a','a']}",
	             "supervisors[1]: duplicate supervisor name \"a\" (first at supervisors[0])");
}

/* Posts and staff (docs/staff.md). */
#define STAFF_SITE(posts, staff)                                                                   \
	"{'id':'s','rooms':[{'id':'r','kind':'expert','door':'d'}],'witnesses':['a','b'],"         \
	"'auditors':['c'],'posts':" posts ",'staff':" staff "}"

static void test_posts_and_staff(void **state)
{
	struct site *site = NULL;
	GError *err = NULL;
	(void)state;
	assert_int_equal(load(STAFF_SITE("[{'id':'witness','sensitive':true},{'id':'desk'}]",
	                                 "[{'identity':'witness-a','posts':[{'post':'witness',"
	                                 "'since':'2025-02-28'},{'post':'desk'}]}]"),
	                      &site, &err),
	                 0);
	assert_int_equal(site->n_posts, 2);
	assert_true(site->posts[0].sensitive);
	assert_false(site->posts[1].sensitive);
	assert_string_equal(site->posts[1].name, "desk");
	assert_int_equal(site->n_staff, 1);
	const struct site_staff *st = site_staff_find(site, "witness-a");
	assert_non_null(st);
	assert_int_equal(st->n_posts, 2);
	assert_string_equal(st->posts[0].since, "2025-02-28");
	assert_string_equal(st->posts[1].since, "");
	assert_non_null(site_post_find(site, "desk"));
	assert_null(site_post_find(site, "nope"));
	assert_null(site_staff_find(site, "witness-b"));
	site_free(site);

	expect_error(
	    STAFF_SITE("[{'id':'w'}]", "[{'identity':'witness-z','posts':[{'post':'w'}]}]"),
	    "staff[0].identity: \"witness-z\" is none of the site's operators, desks, "
	    "witnesses or supervisors");
	expect_error(
	    STAFF_SITE("[{'id':'w'}]", "[{'identity':'auditor-c','posts':[{'post':'w'}]}]"),
	    "staff[0].identity: \"auditor-c\" is none of the site's operators, desks, "
	    "witnesses or supervisors");
	expect_error(
	    STAFF_SITE("[{'id':'w'}]", "[{'identity':'witness-a','posts':[{'post':'x'}]}]"),
	    "staff[0].posts[0].post: \"x\" is not one of the site's posts");
	expect_error(STAFF_SITE("[{'id':'w'}]",
	                        "[{'identity':'witness-a','posts':[{'post':'w'},{'post':'w'}]}]"),
	             "staff[0].posts[1]: post \"w\" named twice");
	expect_error(
	    STAFF_SITE("[{'id':'w'}]",
	               "[{'identity':'witness-a','posts':[{'post':'w','since':'2025-02-30'}]}]"),
	    "staff[0].posts[0].since: expected a date YYYY-MM-DD");
	expect_error(STAFF_SITE("[{'id':'w'}]", "[{'identity':'witness-a','posts':[]}]"),
	             "staff[0].posts: expected a non-empty array");
	expect_error(STAFF_SITE("[{'id':'w'}]", "[{'identity':'witness-a','posts':[{'post':'w'}]},"
	                                        "{'identity':'witness-a','posts':[{'post':'w'}]}]"),
	             "staff[1].identity: duplicate staff member \"witness-a\" (first at "
	             "staff[0].identity)");
	expect_error(STAFF_SITE("[{'id':'w'},{'id':'w'}]", "[]"),
	             "posts[1]: duplicate post \"w\" (first at posts[0])");
	expect_error(STAFF_SITE("[{'id':'w','sensitive':1}]", "[]"),
	             "posts[0].sensitive: expected a boolean, got a number");
}

/* The watchers' signing algorithms (docs/witness.md "SM2 signing keys"). */
static void test_witness_signing(void **state)
{
	static const struct {
		const char *json;
		unsigned want;
	} cases[] = {
	    {"{'id':'s','rooms':[{'id':'r','kind':'expert','door':'d'}]}", SITE_SIGNING_ED25519},
	    {"{'id':'s','rooms':[{'id':'r','kind':'expert','door':'d'}],"
	     "'witness_signing':'ed25519'}",
	     SITE_SIGNING_ED25519},
	    {"{'id':'s','rooms':[{'id':'r','kind':'expert','door':'d'}],'witness_signing':'sm2'}",
	     SITE_SIGNING_SM2},
	    {"{'id':'s','rooms':[{'id':'r','kind':'expert','door':'d'}],'witness_signing':'both'}",
	     SITE_SIGNING_ED25519 | SITE_SIGNING_SM2},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct site *site = NULL;
		GError *err = NULL;
		assert_int_equal(load(cases[i].json, &site, &err), 0);
		assert_int_equal(site->witness_signing, cases[i].want);
		site_free(site);
	}
	expect_error("{'id':'s','rooms':[{'id':'r','kind':'expert','door':'d'}],"
	             "'witness_signing':'rsa'}",
	             "witness_signing: expected \"ed25519\", \"sm2\" or \"both\"");
	expect_error("{'id':'s','rooms':[{'id':'r','kind':'expert','door':'d'}],"
	             "'witness_signing':2}",
	             "witness_signing: expected \"ed25519\", \"sm2\" or \"both\"");
}

static void test_syntax_errors(void **state)
{
	struct site *site = NULL;
	GError *err = NULL;
	assert_int_equal(load("{'id': 's',", &site, &err), -EINVAL);
	assert_true(g_error_matches(err, SITE_ERROR, SITE_ERROR_SYNTAX));
	assert_non_null(strstr(err->message, "line 1"));
	g_clear_error(&err);

	assert_int_equal(load("{'id':'s','id':'t','rooms':[]}", &site, &err), -EINVAL);
	assert_true(g_error_matches(err, SITE_ERROR, SITE_ERROR_SYNTAX));
	assert_non_null(strstr(err->message, "duplicate object key"));
	g_clear_error(&err);
	assert_null(site);
}

#define ROOM(extra) "{'id':'s','rooms':[{'id':'r','kind':'expert','door':'d'" extra "}]}"

static void test_structure_errors(void **state)
{
	expect_error("[]", "(top): expected an object, got an array");
	expect_error("{'rooms':[]}", "id: missing required member");
	expect_error("{'id':'s'}", "rooms: missing required member");
	expect_error("{'id':'s','rooms':[]}", "rooms: a site needs at least one room");
	expect_error("{'id':'s','rooms':{}}", "rooms: expected an array, got an object");
	expect_error("{'id':'s','colour':'red','rooms':[]}", "colour: unknown member");
	expect_error("{'id':'s','rooms':[7]}", "rooms[0]: expected an object, got a number");
	expect_error(ROOM(",'seats':[{'id':'S1','cam':'c'}]"),
	             "rooms[0].seats[0].cam: unknown member");
	expect_error(ROOM(",'seats':{'id':'S1'}"),
	             "rooms[0].seats: expected an array, got an object");
	expect_error(ROOM(",'cameras':'c1'"), "rooms[0].cameras: expected an array, got a string");
	expect_error("{'id':'s','rooms':[{'id':'r','kind':'expert'}]}",
	             "rooms[0].door: missing required member");
	expect_error("{'id':'s','rooms':[{'id':'r','door':'d'}]}",
	             "rooms[0].kind: missing required member");
	expect_error(ROOM(",'operators':['a']"), "rooms[0].operators: unknown member");
}

static void test_value_errors(void **state)
{
	expect_error(ROOM(",'seats':[{'id':'S 1'}]"),
	             "rooms[0].seats[0].id: \"S 1\" is not a valid identifier (1-32 of A-Z a-z 0-9 "
	             "_ -, starting with a letter or digit)");
	expect_error(ROOM(",'seats':[{'id':1}]"),
	             "rooms[0].seats[0].id: expected a string identifier, got a number");
	expect_error("{'id':'-s','rooms':[]}",
	             "id: \"-s\" is not a valid identifier (1-32 of A-Z a-z 0-9 _ -, starting with "
	             "a letter or digit)");
	expect_error("{'id':'abcdefghijabcdefghijabcdefghijabc','rooms':[]}",
	             "id: \"abcdefghijabcdefghijabcdefghijabc\" is not a valid identifier (1-32 of "
	             "A-Z a-z 0-9 _ -, starting with a letter or digit)");
	expect_error("{'id':'s','rooms':[{'id':'r','kind':'lounge','door':'d'}]}",
	             "rooms[0].kind: \"lounge\" is not a room kind (expert, tenderer, witness, "
	             "supervision or draw)");
	expect_error("{'id':'s','name':'','rooms':[]}", "name: must be 1 to 128 bytes long");
	expect_error("{'id':'s','name':'a\\nb','rooms':[]}",
	             "name: must not contain control characters, newlines or bidirectional "
	             "overrides");
	expect_error("{'id':'s','name':'a\\u202eb','rooms':[]}",
	             "name: must not contain control characters, newlines or bidirectional "
	             "overrides");
	expect_error("{'id':'s','name':true,'rooms':[]}", "name: expected a string, got a boolean");
	expect_error(
	    ROOM(",'seats':[{'id':'S\\u00001'}]"),
	    "line 1 column 81: \\u0000 is not allowed without JSON_ALLOW_NUL near '\"S\\u00001\"'");
	expect_error(ROOM(",'venue':'annex'"), "rooms[0].venue: \"annex\" is not one of the site's "
	                                       "venues");
}

static void test_duplicates(void **state)
{
	expect_error("{'id':'s','rooms':[{'id':'r','kind':'expert','door':'d1'},"
	             "{'id':'r','kind':'expert','door':'d2'}]}",
	             "rooms[1].id: duplicate room id \"r\" (first at rooms[0].id)");
	expect_error("{'id':'s','rooms':[{'id':'r','kind':'expert','door':'d'},"
	             "{'id':'q','kind':'expert','door':'d'}]}",
	             "rooms[1].door: duplicate door id \"d\" (first at rooms[0].door)");
	expect_error(
	    ROOM(",'seats':[{'id':'S1'},{'id':'S2'},{'id':'S1'}]"),
	    "rooms[0].seats[2].id: duplicate seat id \"S1\" (first at rooms[0].seats[0].id)");
	expect_error(ROOM(",'cameras':['c1'],'seats':[{'id':'S1','camera':'c1'}]"),
	             "rooms[0].seats[0].camera: duplicate camera/microphone id \"c1\" (first at "
	             "rooms[0].cameras[0])");
	expect_error("{'id':'s','venues':[{'id':'v'},{'id':'v'}],'rooms':[]}",
	             "venues[1].id: duplicate venue id \"v\" (first at venues[0].id)");
	expect_error("{'id':'s','rooms':[{'id':'r','kind':'expert','door':'d'}],"
	             "'desks':['gate','gate']}",
	             "desks[1]: duplicate desk name \"gate\" (first at desks[0])");
}

static void test_identity_collision_and_length(void **state)
{
	/* terminal-a-b-c from room "a-b" seat "c" and from room "a" seat "b-c". */
	expect_error("{'id':'s','rooms':[{'id':'a-b','kind':'expert','door':'d1',"
	             "'seats':[{'id':'c'}]},{'id':'a','kind':'expert','door':'d2',"
	             "'seats':[{'id':'b-c'}]}]}",
	             "rooms[1].seats[0].id: duplicate certificate identity \"terminal-a-b-c\" "
	             "(first at rooms[0].seats[0].id)");
	expect_error(
	    "{'id':'s','rooms':[{'id':'rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr','kind':'expert',"
	    "'door':'d','seats':[{'id':'ssssssssssssssssssssssss'}]}]}",
	    "rooms[0].seats[0].id: certificate identity "
	    "\"terminal-rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr-ssssssssssssssssssssssss\" is longer "
	    "than 64 characters");
}

#define VENUES(v) "{'id':'s','venues':[" v "],'rooms':[{'id':'r','kind':'expert','door':'d'}]}"

static void test_venues(void **state)
{
	struct site *site = NULL;
	GError *err = NULL;
	const char *text = "{'id':'s','venues':[{'id':'hq','main':true,'host':'10.0.0.1'},"
	                   "{'id':'north','host':'north.example','port':9883}],"
	                   "'rooms':[{'id':'a','kind':'expert','door':'d1'},"
	                   "{'id':'b','kind':'expert','door':'d2','venue':'north'},"
	                   "{'id':'c','kind':'expert','door':'d3','venue':'hq'}]}";
	assert_int_equal(load(text, &site, &err), 0);
	assert_int_equal(site->n_venues, 2);
	const struct site_venue *m = site_main_venue(site);
	assert_string_equal(m->id, "hq");
	assert_string_equal(m->host, "10.0.0.1");
	assert_int_equal(m->port, SITE_VENUE_DEFAULT_PORT);
	assert_int_equal(site->venues[1].port, 9883);
	assert_false(site->venues[1].main);
	/* a room without a venue is at the main venue */
	assert_true(site_room_in_venue(site, &site->rooms[0], m));
	assert_false(site_room_in_venue(site, &site->rooms[1], m));
	assert_true(site_room_in_venue(site, &site->rooms[1], &site->venues[1]));
	assert_true(site_room_in_venue(site, &site->rooms[2], m));
	char *bridge = site_bridge_identity(&site->venues[1]);
	assert_string_equal(bridge, "bridge-north");
	g_free(bridge);
	site_free(site);

	expect_error(VENUES("{'id':'a','host':'h'},{'id':'b'}"),
	             "venues: with several venues exactly one must be the main venue "
	             "(\"main\": true); 0 are");
	expect_error(VENUES("{'id':'a','main':true,'host':'h'},{'id':'b','main':true}"),
	             "venues: with several venues exactly one must be the main venue "
	             "(\"main\": true); 2 are");
	expect_error(VENUES("{'id':'a','main':true},{'id':'b'}"),
	             "venues[0].host: the main venue needs the host its broker is reached at "
	             "(the secondary venues' bridges connect to it)");
	expect_error(VENUES("{'id':'a','main':'yes'}"), "venues[0].main: expected a boolean, "
	                                                "got a string");
	expect_error(VENUES("{'id':'a','host':'bad host'}"),
	             "venues[0].host: \"bad host\" is neither an IP address nor a DNS name");
	expect_error(VENUES("{'id':'a','port':0}"),
	             "venues[0].port: expected a TCP port (1 to 65535)");
}

/* venues[].media_kbit: a secondary venue's media rate, shared evenly by its rooms. */
static void test_venue_media_kbit(void **state)
{
	struct site *site = NULL;
	GError *err = NULL;
	const char *text = "{'id':'s','venues':[{'id':'hq','main':true,'host':'10.0.0.1'},"
	                   "{'id':'north','host':'10.0.1.1','media_kbit':10000},"
	                   "{'id':'south','host':'10.0.2.1'}],"
	                   "'rooms':[{'id':'a','kind':'expert','door':'d1','venue':'north'},"
	                   "{'id':'b','kind':'expert','door':'d2','venue':'north'},"
	                   "{'id':'c','kind':'expert','door':'d3','venue':'north'},"
	                   "{'id':'d','kind':'expert','door':'d4','venue':'south'}]}";
	assert_int_equal(load(text, &site, &err), 0);
	assert_int_equal(site->venues[1].media_kbit, 10000);
	assert_int_equal(site_venue_rooms(site, &site->venues[1]), 3);
	assert_int_equal(site_venue_room_media_kbit(site, &site->venues[1]), 3333);
	assert_int_equal(site->venues[2].media_kbit, 0); /* absent: no limit */
	assert_int_equal(site_venue_room_media_kbit(site, &site->venues[2]), 0);
	site_free(site);

#define TWO(v) "{'id':'s','venues':[{'id':'hq','main':true,'host':'h'}," v "],"             \
	       "'rooms':[{'id':'r','kind':'expert','door':'d','venue':'n'},"                   \
	       "{'id':'q','kind':'expert','door':'e','venue':'n'}]}"
	expect_error(TWO("{'id':'n','media_kbit':'fast'}"),
	             "venues[1].media_kbit: expected the venue's media rate to the main venue in "
	             "kbit/s, a whole number from 64 to 10000000");
	expect_error(TWO("{'id':'n','media_kbit':0}"),
	             "venues[1].media_kbit: expected the venue's media rate to the main venue in "
	             "kbit/s, a whole number from 64 to 10000000");
	expect_error(TWO("{'id':'n','media_kbit':20000000}"),
	             "venues[1].media_kbit: expected the venue's media rate to the main venue in "
	             "kbit/s, a whole number from 64 to 10000000");
	expect_error(TWO("{'id':'n','media_kbit':100}"),
	             "venues[1].media_kbit: 100 kbit/s shared by the venue's 2 rooms leaves 50 "
	             "kbit/s a room; each room needs at least 64");
	expect_error("{'id':'s','venues':[{'id':'hq','main':true,'host':'h','media_kbit':5000},"
	             "{'id':'n'}],'rooms':[{'id':'r','kind':'expert','door':'d'}]}",
	             "venues[0].media_kbit: the main venue's media crosses no WAN link: "
	             "media_kbit belongs to a secondary venue");
#undef TWO
}

#define DESKS(d)                                                                                   \
	"{'id':'s','venues':[{'id':'hq','main':true,'host':'h'},{'id':'north'}],"                  \
	"'rooms':[{'id':'r','kind':'expert','door':'d'}],'desks':[" d "]}"

/* A desk of a venue ({name, venue}) beside plain desks (docs/venues.md). */
static void test_desk_venues(void **state)
{
	struct site *site = NULL;
	GError *err = NULL;
	(void)state;
	assert_int_equal(load(DESKS("'gate',{'name':'north','venue':'north'}"), &site, &err), 0);
	assert_int_equal(site->n_desks, 2);
	assert_string_equal(site->desks[1], "north");
	assert_null(site_desk_venue(site, "desk-gate"));
	assert_string_equal(site_desk_venue(site, "desk-north"), "north");
	assert_null(site_desk_venue(site, "operator-north"));
	assert_null(site_desk_venue(site, "desk-nobody"));
	assert_string_equal(site_room_find(site, "r")->id, "r");
	assert_null(site_room_find(site, "x"));
	assert_string_equal(site_venue_find(site, "north")->id, "north");
	assert_null(site_venue_find(site, NULL));
	site_free(site);

	expect_error(DESKS("{'name':'n','venue':'south'}"),
	             "desks[0].venue: \"south\" is not one of the site's venues");
	expect_error(DESKS("'gate',{'venue':'north'}"), "desks[1].name: missing required member");
	expect_error(DESKS("{'name':'n','venue':'north','floor':3}"),
	             "desks[0].floor: unknown member");
	expect_error(DESKS("'gate',{'name':'gate','venue':'north'}"),
	             "desks[1]: duplicate desk name \"gate\" (first at desks[0])");
}

static void test_missing_file(void **state)
{
	struct site *site = NULL;
	GError *err = NULL;
	assert_int_equal(site_load("/nonexistent/site.json", &site, &err), -ENOENT);
	assert_true(g_error_matches(err, SITE_ERROR, SITE_ERROR_IO));
	assert_null(site);
	g_error_free(err);
	site_free(NULL);
}

static void test_id_valid(void **state)
{
	assert_true(site_id_valid("A"));
	assert_true(site_id_valid("0a_b-c"));
	assert_true(site_id_valid("abcdefghijabcdefghijabcdefghijab"));
	assert_false(site_id_valid("abcdefghijabcdefghijabcdefghijabc"));
	assert_false(site_id_valid(""));
	assert_false(site_id_valid("_a"));
	assert_false(site_id_valid("a/b"));
	assert_false(site_id_valid("a+"));
	assert_false(site_id_valid("a#"));
	assert_false(site_id_valid("\xc3\xa9"));
	assert_false(site_id_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_example_site),
	    cmocka_unit_test(test_minimal_site_defaults),
	    cmocka_unit_test(test_same_seat_id_in_two_rooms),
	    cmocka_unit_test(test_watchers_rooms_and_people),
	    cmocka_unit_test(test_posts_and_staff),
	    cmocka_unit_test(test_witness_signing),
	    cmocka_unit_test(test_syntax_errors),
	    cmocka_unit_test(test_structure_errors),
	    cmocka_unit_test(test_value_errors),
	    cmocka_unit_test(test_duplicates),
	    cmocka_unit_test(test_identity_collision_and_length),
	    cmocka_unit_test(test_venues),
	    cmocka_unit_test(test_venue_media_kbit),
	    cmocka_unit_test(test_desk_venues),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_id_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
