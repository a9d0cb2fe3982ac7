/* The site description: rooms, seats, doors, cameras and the people who operate them.
 *
 * A site file is one JSON object (schemas/site.schema.json, example in
 * schemas/examples/site.json). site_load() validates it completely and hands back plain
 * structs; nothing else in evalroom reads the JSON. Every identifier in a site matches
 * ^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$ so it is always a single MQTT topic level.
 */
#ifndef EVALROOM_SITE_H
#define EVALROOM_SITE_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

#define SITE_ID_MAX   32
#define SITE_NAME_MAX 128
/* X.509 caps a commonName at 64 characters (RFC 5280 ub-common-name). */
#define SITE_IDENTITY_MAX 64

#define SITE_ERROR (site_error_quark())
enum site_error {
	SITE_ERROR_IO,      /* the file cannot be read */
	SITE_ERROR_SYNTAX,  /* not JSON, or a duplicate member name */
	SITE_ERROR_INVALID, /* JSON, but not a valid site: the message names the field */
};

enum site_room_kind {
	SITE_ROOM_EXPERT,
	SITE_ROOM_TENDERER,
	SITE_ROOM_WITNESS,     /* the digital witness room (数字见证室) */
	SITE_ROOM_SUPERVISION, /* the supervision room (监督管理室) */
	SITE_ROOM_DRAW,        /* the isolated draw room of the tenderer's representative */
};

#define SITE_VENUE_DEFAULT_PORT 8883
/* venues[].media_kbit: at least this per room of the venue, at most SITE_MEDIA_KBIT_MAX. */
#define SITE_MEDIA_KBIT_ROOM_MIN 64u
#define SITE_MEDIA_KBIT_MAX      10000000u

/* A venue (场地): the main venue (主场) runs the controller; a secondary venue (副场) has
 * its own broker bridged to the main venue's (docs/venues.md). */
struct site_venue {
	char *id;
	char *name;    /* never NULL; defaults to the id */
	bool main;     /* "main": true; with several venues exactly one is */
	char *host;    /* the venue broker's host (IP or DNS name) or NULL; required of the
	                * main venue when there are several (the bridges' address) */
	unsigned port; /* the venue broker's TLS port; SITE_VENUE_DEFAULT_PORT when absent */
	/* "media_kbit": the media rate the venue's rooms may send to the main venue together,
	 * in kbit/s (shared evenly: site_venue_room_media_kbit); 0 when absent (no limit). Only
	 * a secondary venue has one. */
	unsigned media_kbit;
};

struct site_seat {
	char *id;
	char *camera;     /* NULL when the seat has no camera */
	char *microphone; /* NULL when the seat has no microphone */
};

struct site_room {
	char *id;
	char *name; /* never NULL; defaults to the id */
	enum site_room_kind kind;
	char *venue;    /* NULL when absent; else the id of one of site.venues */
	char *door;     /* the door's id, unique in the site */
	char **cameras; /* room cameras, n_cameras entries (NULL when none) */
	size_t n_cameras;
	char **microphones;
	size_t n_microphones;
	struct site_seat *seats;
	size_t n_seats;
};

/* A staff post (岗位) the staff draw fills per tender (docs/staff.md): the witness of a
 * tender, its desk officer, its draw-room attendant, ... */
struct site_post {
	char *id;
	char *name;     /* never NULL; defaults to the id */
	bool sensitive; /* a sensitive post (敏感岗位) may change hands at any time */
};

/* One post a staff member may hold, and since when they have held it. */
struct site_staff_post {
	char *post;     /* the id of one of site.posts */
	char since[11]; /* "YYYY-MM-DD" the person has held it since, or "" (unknown: the
	                 * controller's history of staff draws counts instead) */
};

/* A staff member: a person the site names in a role (their certificate identity), with
 * the posts they may be drawn for. */
struct site_staff {
	char *identity; /* operator-/desk-/witness-/supervisor-<name>, one of the site's */
	struct site_staff_post *posts; /* at least one */
	size_t n_posts;
};
/* The keys the watchers sign the witness log with (site member "witness_signing":
 * "ed25519", the default, "sm2" or "both"): provisioning issues a signing certificate of
 * each algorithm set (docs/witness.md). */
#define SITE_SIGNING_ED25519 1u
#define SITE_SIGNING_SM2     2u

struct site {
	char *id;
	char *name; /* never NULL; defaults to the id */
	struct site_venue *venues;
	size_t n_venues;
	struct site_room *rooms; /* at least one */
	size_t n_rooms;
	char **operators; /* names (identifiers); the identity is operator-<name> */
	size_t n_operators;
	char **desks; /* security desks; identity desk-<name> */
	size_t n_desks;
	char **desk_venues; /* per desk: the venue whose people it checks in, or NULL (any);
	                     * n_desks entries (NULL when the site names no desks) */
	char **auditors;    /* identity auditor-<name> */
	size_t n_auditors;
	char **witnesses; /* identity witness-<name>: enters the draw's entropy; optional */
	size_t n_witnesses;
	char **supervisors; /* identity supervisor-<name>: the regulator's representative */
	size_t n_supervisors;
	char **representatives; /* identity rep-<name>: the tenderer's representative */
	size_t n_representatives;
	struct site_post *posts; /* the staff posts; optional */
	size_t n_posts;
	struct site_staff *staff; /* who may hold them; optional */
	size_t n_staff;
	unsigned witness_signing; /* SITE_SIGNING_* bits, never 0 ("witness_signing") */
};

GQuark site_error_quark(void);

/* Reads and validates the site file at path. On success *out owns a new site (free it
 * with site_free) and 0 is returned. On failure returns -errno (-ENOENT etc. when the
 * file cannot be read, -EINVAL when it is not a valid site), sets *err with a message
 * naming the field path and the reason (e.g. `rooms[2].seats[0].id: "S 1" is not a valid
 * identifier`) and leaves *out untouched. Rejects unknown members, wrong types, duplicate
 * ids (rooms, seats within a room, doors, cameras and microphones site-wide, people
 * within a role), references to undeclared venues and colliding certificate identities.
 */
int site_load(const char *path, struct site **out, GError **err);

/* Same as site_load() on an in-memory JSON text of len bytes (not NUL-terminated). */
int site_load_data(const char *data, size_t len, struct site **out, GError **err);

/* Frees a site and everything it holds; NULL is allowed. */
void site_free(struct site *site);

/* True when H is an IP address or a DNS name (letters, digits, '-', '.'; at most 253). */
gboolean site_host_valid(const char *h);

/* The site file's name of a room kind ("expert", "tenderer", "witness", "supervision",
 * "draw"); a static string. */
const char *site_room_kind_name(enum site_room_kind kind);

/* Parses a room kind's name; 0 and *kind set, or -EINVAL. */
int site_room_kind_parse(const char *name, enum site_room_kind *kind);

/* The room kind the staff of ROLE ("witness", "supervisor", "rep") may enter on their own,
 * or -1 when ROLE is no staff role: a witness the witness room, a supervisor the
 * supervision room, a tenderer's representative the draw room. */
int site_staff_room_kind(const char *role);

/* site_post_find / site_staff_find: the post with id ID, the staff member with IDENTITY,
 * or NULL (borrowed from SITE). */
const struct site_post *site_post_find(const struct site *site, const char *id);
const struct site_staff *site_staff_find(const struct site *site, const char *identity);

/* True when s is a valid evalroom identifier. */
gboolean site_id_valid(const char *s);

/* The certificate CN / MQTT identity of a room's agent, a seat's terminal, and a person
 * in a role ("operator", "desk", "auditor"). Newly allocated; g_free() it. */
char *site_agent_identity(const struct site_room *room);
char *site_terminal_identity(const struct site_room *room, const struct site_seat *seat);
char *site_person_identity(const char *role, const char *name);
/* The identity of VENUE's bridge to the main venue's broker: bridge-<venue>. */
char *site_bridge_identity(const struct site_venue *venue);

/* site_main_venue: the venue marked main, else the first venue (a single venue is the
 * main one); NULL when the site declares no venue. Borrowed from SITE. */
const struct site_venue *site_main_venue(const struct site *site);
/* site_desk_venue: the venue of the desk with certificate IDENTITY (desk-<name>), or NULL
 * when it is no desk or names no venue (it checks in anyone). Borrowed from SITE. */
const char *site_desk_venue(const struct site *site, const char *identity);
/* site_room_find / site_venue_find: the room, the venue with id ID, or NULL (borrowed). */
const struct site_room *site_room_find(const struct site *site, const char *id);
const struct site_venue *site_venue_find(const struct site *site, const char *id);
/* site_room_in_venue: whether ROOM is at VENUE (a room without a venue is at the main
 * venue). */
bool site_room_in_venue(const struct site *site, const struct site_room *room,
                        const struct site_venue *venue);

/* site_venue_rooms: how many of SITE's rooms are at VENUE. */
size_t site_venue_rooms(const struct site *site, const struct site_venue *venue);

/* site_venue_room_media_kbit: each room's even share of VENUE's media_kbit (0: no limit,
 * also when the venue has no room). */
unsigned site_venue_room_media_kbit(const struct site *site, const struct site_venue *venue);

#endif
