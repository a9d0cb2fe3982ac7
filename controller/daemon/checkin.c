#include "checkin.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "agents.h"
#include "alerts.h"
#include "checkin_codes.h"
#include "clock.h"
#include "credential.h"
#include "log.h"
#include "msg.h"
#include "site.h"
#include "state.h"
#include "view.h"
#include "warnings.h"

#define CHECKIN_CMD_TIMEOUT_MS 10000
#define CHECKIN_TICK_S         1
/* Entries per admission.set page: about 150 bytes each, well under the agents' 64 KiB
 * message limit (docs/door.md). */
#define ADMISSION_PAGE_ENTRIES 200

/* Wrong identity numbers a desk may give in DESK_GUESS_WINDOW_US before its check-ins
 * are refused for the rest of the window and an id_guessing alert is raised: an
 * identity number has few unknown digits once region and birth date are known. */
#define DESK_GUESS_LIMIT     5
#define DESK_GUESS_WINDOW_US (10 * 60 * G_USEC_PER_SEC)

struct desk_guesses {
	int64_t window_start; /* monotonic */
	unsigned wrong;
	bool alerted;
};

struct checkin {
	guint tick;
	GHashTable *guesses;       /* desk identity -> struct desk_guesses */
	struct credential_key key; /* the site credential key */
	uint64_t lists_sent;       /* for the ids of paged admission lists */
};

static const char *const screenings[] = {"passed", "failed", NULL};

/* ---- pushing admission lists and seat assignments ---- */

static void push_reply(struct controller *c, const char *room, json_t *result, const GError *err,
                       void *user)
{
	(void)c;
	(void)result;
	const char *what = user;
	if (err)
		log_warnx("room %s: %s not taken: %s", room, what, err->message);
	else
		log_debug("room %s: %s taken", room, what);
}

/* The list for ROOM out of every active admission: this room's entries with their
 * person; another room's only as "admitted elsewhere", without the person and the room,
 * so an agent (the least protected part of the system) never holds the day's seat map.
 * The door still says not_this_room; the controller names the person in the wrong_room
 * alert from the credential digest of the door's event (alerts.c). */
static json_t *room_entries(const json_t *active, const char *room, int64_t c_escort_window_ms)
{
	json_t *entries = json_array();
	size_t i;
	json_t *a;
	json_array_foreach(active, i, a)
	{
		const char *to = json_string_value(json_object_get(a, "room"));
		json_t *e = json_pack("{s:O, s:O, s:O}", "digest", json_object_get(a, "credential"),
		                      "valid_from", json_object_get(a, "issued_at"), "valid_until",
		                      json_object_get(a, "valid_until"));
		if (strcmp(to, room) == 0) {
			json_object_set(e, "person", json_object_get(a, "person"));
			if (json_object_get(a, "pair")) {
				/* a draw room: a representative and a witness together */
				json_object_set(e, "escort_pair", json_object_get(a, "pair"));
				json_object_set(e, "escort", json_object_get(a, "escort"));
				json_object_set_new(e, "pair_window_ms",
				                    json_integer(c_escort_window_ms));
			} else if (json_object_get(a, "approval")) {
				/* an escorted entry: the two-person rule at the door */
				json_object_set_new(e, "escort_pair",
				                    json_sprintf("A%" JSON_INTEGER_FORMAT,
				                                 json_integer_value(json_object_get(
				                                     a, "approval"))));
				json_object_set(e, "escort", json_object_get(a, "escort"));
				json_object_set_new(e, "pair_window_ms",
				                    json_integer(c_escort_window_ms));
			}
		} else
			json_object_set_new(e, "elsewhere", json_true());
		json_array_append_new(entries, e);
	}
	return entries;
}

/* Send ENTRIES (taken) to ROOM: one admission.set when they fit one page, else pages of
 * ADMISSION_PAGE_ENTRIES under one list id, which the agent installs all at once when
 * it holds every page. */
static void push_room_pages(struct controller *c, const char *room, json_t *entries)
{
	size_t n = json_array_size(entries);
	size_t pages = n <= ADMISSION_PAGE_ENTRIES
	                   ? 1
	                   : (n + ADMISSION_PAGE_ENTRIES - 1) / ADMISSION_PAGE_ENTRIES;
	char list[64];

	if (pages == 1) {
		if (agents_command(c, room, "admission.set", json_pack("{s:o}", "entries", entries),
		                   CHECKIN_CMD_TIMEOUT_MS, push_reply,
		                   (void *)"admission list") != 0)
			log_warnx("room %s: admission list not sent (broker unreachable)", room);
		return;
	}
	snprintf(list, sizeof(list), "L%" G_GINT64_FORMAT "-%" G_GUINT64_FORMAT, c->started_us,
	         ++c->checkin->lists_sent);
	for (size_t p = 0; p < pages; p++) {
		json_t *part = json_array();
		for (size_t i = p * ADMISSION_PAGE_ENTRIES;
		     i < n && i < (p + 1) * ADMISSION_PAGE_ENTRIES; i++)
			json_array_append(part, json_array_get(entries, i));
		json_t *args = json_pack("{s:o, s:s, s:I, s:I}", "entries", part, "list", list,
		                         "page", (json_int_t)p, "pages", (json_int_t)pages);
		if (agents_command(c, room, "admission.set", args, CHECKIN_CMD_TIMEOUT_MS,
		                   push_reply, (void *)"admission list page") != 0) {
			log_warnx("room %s: admission list not sent (broker unreachable)", room);
			break;
		}
	}
	json_decref(entries);
}

static void push_rooms(struct controller *c, const char *only)
{
	json_t *active = NULL, *rooms = NULL;
	GError *err = NULL;
	if (state_admission_active(c->state, &active, &err) != 0 ||
	    state_site_rooms(c->state, &rooms, &err) != 0) {
		log_warnx("admission lists not pushed: %s", err->message);
		g_clear_error(&err);
		goto out;
	}
	size_t i;
	json_t *r;
	json_array_foreach(rooms, i, r)
	{
		const char *room = json_string_value(json_object_get(r, "id"));
		if (only && strcmp(only, room) != 0)
			continue;
		/* An agent that is away gets its list when it comes back (presence.c). */
		const struct room_presence *p = g_hash_table_lookup(c->rooms, room);
		if (!only && (!p || !p->online))
			continue;
		push_room_pages(c, room, room_entries(active, room, c->cfg.escort_window_s * 1000));
	}
out:
	json_decref(active);
	json_decref(rooms);
}

void checkin_push_admissions(struct controller *c)
{
	push_rooms(c, NULL);
}

void checkin_push_room(struct controller *c, const char *room)
{
	push_rooms(c, room);
	/* The seats' assignments too: an agent that was away may have missed one. The agent
	 * keeps a spent code spent when the same digest comes again. */
	json_t *seats = NULL;
	GError *err = NULL;
	if (state_admission_seats(c->state, room, clock_now_us(), &seats, &err) != 0) {
		log_warnx("room %s: seat assignments not resent: %s", room, err->message);
		g_clear_error(&err);
		return;
	}
	size_t i;
	json_t *a;
	json_array_foreach(seats, i, a)
	{
		json_t *args = json_deep_copy(a);
		json_object_set(args, "valid_until", json_object_get(a, "code_valid_until"));
		json_object_del(args, "code_valid_until");
		if (agents_command(c, room, "seat.assign", args, CHECKIN_CMD_TIMEOUT_MS, push_reply,
		                   (void *)"seat assignment") != 0)
			log_warnx("room %s: seat assignment not sent (broker unreachable)", room);
	}
	json_decref(seats);
}

static void push_seat_assign(struct controller *c, const struct state_admission *a,
                             const char *name, const char *tender_name)
{
	json_t *args =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "seat", a->seat, "person", a->person,
	              "name", name, "tender", a->tender, "tender_name", tender_name, "code_digest",
	              a->code_digest, "valid_until", (json_int_t)a->code_valid_until);
	if (agents_command(c, a->room, "seat.assign", args, CHECKIN_CMD_TIMEOUT_MS, push_reply,
	                   (void *)"seat assignment") != 0)
		log_warnx("room %s: seat assignment not sent (broker unreachable)", a->room);
}

/* ---- the admission window ---- */

static gboolean checkin_tick(gpointer user)
{
	struct controller *c = user;
	json_t *active = NULL;
	GError *err = NULL;
	int64_t now = clock_now_us();
	if (state_admission_active(c->state, &active, &err) != 0) {
		log_warnx("admission window check: %s", err->message);
		g_clear_error(&err);
		return G_SOURCE_CONTINUE;
	}
	bool changed = false;
	size_t i;
	json_t *a;
	json_array_foreach(active, i, a)
	{
		int64_t until = json_integer_value(json_object_get(a, "valid_until"));
		if (checkin_window_open(until, now))
			continue;
		const char *person = json_string_value(json_object_get(a, "person"));
		const char *room = json_string_value(json_object_get(a, "room"));
		int64_t id = json_integer_value(json_object_get(a, "id"));
		if (json_is_true(json_object_get(a, "staff"))) {
			/* a watcher who did not come through their own door: nothing to alert */
			if (state_staff_admission_end(c->state, -id, "expired", now, &err) != 0) {
				log_warnx("staff admission of %s: %s", person, err->message);
				g_clear_error(&err);
				continue;
			}
			changed = true;
			log_info("staff admission of %s to room %s expired", person, room);
			continue;
		}
		if (state_admission_end(c->state, json_integer_value(json_object_get(a, "id")),
		                        "expired", now, &err) != 0) {
			log_warnx("admission of %s: %s", person, err->message);
			g_clear_error(&err);
			continue;
		}
		changed = true;
		alert_raise_text(c, ALERT_NOT_ENTERED,
		                 &(struct alert_subject){.room = room, .person = person},
		                 "not_entered", (const char *[]){person, room, NULL}, NULL);
		view_set_seat(c, room, json_string_value(json_object_get(a, "seat")), "free");
	}
	json_decref(active);
	if (changed)
		checkin_push_admissions(c);
	return G_SOURCE_CONTINUE;
}

int checkin_init(struct controller *c, GError **err)
{
	c->checkin = g_new0(struct checkin, 1);
	c->checkin->guesses = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	int rc = credential_key_load(c->cfg.credential_key, &c->checkin->key, err);
	if (rc == 0)
		rc = state_id_number_key(c->state, c->cfg.id_number_key, err);
	if (rc != 0)
		return rc;
	c->checkin->tick = g_timeout_add_seconds(CHECKIN_TICK_S, checkin_tick, c);
	return 0;
}

void checkin_free(struct controller *c)
{
	if (!c->checkin)
		return;
	if (c->checkin->tick)
		g_source_remove(c->checkin->tick);
	OPENSSL_cleanse(&c->checkin->key, sizeof(c->checkin->key));
	if (c->checkin->guesses)
		g_hash_table_destroy(c->checkin->guesses);
	g_free(c->checkin);
	c->checkin = NULL;
}

/* ---- door events and presence ---- */

/* The active staff admission of IDENTITY to ROOM as state_staff_admission_active()
 * shows it (new), or NULL. */
static json_t *staff_active_of(struct controller *c, const char *identity, const char *room)
{
	json_t *all = NULL, *a, *found = NULL;
	GError *err = NULL;
	size_t i;
	if (state_staff_admission_active(c->state, &all, &err) != 0) {
		g_clear_error(&err);
		return NULL;
	}
	json_array_foreach(all, i, a)
	{
		if (strcmp(json_string_value(json_object_get(a, "person")), identity) == 0 &&
		    strcmp(json_string_value(json_object_get(a, "room")), room) == 0)
			found = json_incref(a);
	}
	json_decref(all);
	return found;
}

/* The people holding an active credential of the draw-room pair of admission A (as
 * staff_active_of gives it) at its room: [identity, ...] (new; empty for no pair). */
static json_t *draw_room_pair_of(struct controller *c, const json_t *a)
{
	json_t *all = NULL, *out = json_array(), *x;
	const char *pair = json_string_value(json_object_get(a, "pair"));
	GError *err = NULL;
	size_t i;
	if (!pair || state_staff_admission_active(c->state, &all, &err) != 0) {
		g_clear_error(&err);
		return out;
	}
	json_array_foreach(all, i, x)
	{
		if (g_strcmp0(json_string_value(json_object_get(x, "pair")), pair) == 0)
			json_array_append(out, json_object_get(x, "person"));
	}
	json_decref(all);
	return out;
}

/* A watcher came through a door: their credential is used; an escorted pair's approval
 * and both its credentials are used up together. */
static void staff_entered(struct controller *c, const char *room, const char *identity, int64_t at)
{
	json_t *a = staff_active_of(c, identity, room);
	GError *err = NULL;
	int rc;
	if (!a)
		return;
	int64_t id = -json_integer_value(json_object_get(a, "id"));
	int64_t approval = json_integer_value(json_object_get(a, "approval"));
	json_t *together = draw_room_pair_of(c, a);
	rc = approval ? state_escort_approval_end(c->state, approval, "used", at, &err)
	              : state_staff_admission_end(c->state, id, "used", at, &err);
	/* a draw room's pair: the witness who came with the representative is in too */
	if (rc == 0 && json_object_get(a, "pair"))
		rc = state_staff_admission_end_pair_escorts(
		    c->state, json_string_value(json_object_get(a, "pair")), at, &err);
	json_decref(a);
	if (rc != 0) {
		log_warnx("room %s: entry of %s not recorded: %s", room, identity, err->message);
		g_clear_error(&err);
		json_decref(together);
		return;
	}
	/* a draw room's pair came in together: whoever of them waited alone before is no
	 * longer alone at the door */
	size_t i;
	json_t *p;
	json_array_foreach(together, i, p)
	{
		alert_clear(
		    c, ALERT_ESCORT_MISSING,
		    &(struct alert_subject){.room = room, .person = json_string_value(p)},
		    "auto: the representative and the witness entered the draw room together");
	}
	json_decref(together);
	if (approval)
		log_info("room %s: %s entered escorted (approval %" G_GINT64_FORMAT ")", room,
		         identity, approval);
	else
		log_info("room %s: %s entered; staff credential used", room, identity);
	/* the watchers' entries are theirs to answer for (docs/witness.md "Who watched
	 * what"): in the audit as the person's own (the archives have the door event,
	 * archives_on_agent_event) */
	json_t *args = approval
	                   ? json_pack("{s:s, s:I}", "room", room, "approval", (json_int_t)approval)
	                   : json_pack("{s:s}", "room", room);
	char *text = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS);
	if (state_audit_append(c->state, at, identity, "door.entry", text ? text : "{}", "ok", NULL,
	                       &err) != 0) {
		log_warnx("room %s: entry of %s not in the audit: %s", room, identity,
		          err->message);
		g_clear_error(&err);
	}
	free(text);
	json_decref(args);
	checkin_push_admissions(c);
}

struct escort_wait {
	struct controller *c;
	char room[STATE_ID_SIZE];
	char identity[65];
	int64_t approval;
};

/* The escort window after a first credential has passed: if the approval is still
 * unused, nothing opened, and the operators are told (an alert of its own kind). */
static gboolean escort_timeout(gpointer user)
{
	struct escort_wait *w = user;
	int64_t id = 0;
	bool escort = false;
	GError *err = NULL;
	if (state_escort_approval_find(w->c->state, w->identity, w->room, clock_now_us(), &id,
	                               &escort, &err) == 0 &&
	    id == w->approval) {
		char window[24], approval[24];
		snprintf(window, sizeof window, "%" G_GINT64_FORMAT,
		         (int64_t)w->c->cfg.escort_window_s);
		snprintf(approval, sizeof approval, "%" G_GINT64_FORMAT, w->approval);
		alert_raise_text(w->c, ALERT_ESCORT_MISSING,
		                 &(struct alert_subject){.room = w->room, .person = w->identity},
		                 escort ? "escort_missing_escorted" : "escort_missing_escort",
		                 (const char *[]){w->identity, w->room, window, approval, NULL},
		                 json_pack("{s:I}", "approval", (json_int_t)w->approval));
	}
	g_clear_error(&err);
	g_free(w);
	return G_SOURCE_REMOVE;
}

/* The approval of IDENTITY's active escorted admission to ROOM, or 0 when none. */
static int64_t escort_approval_of(struct controller *c, const char *identity, const char *room)
{
	json_t *a = staff_active_of(c, identity, room);
	int64_t approval = a ? json_integer_value(json_object_get(a, "approval")) : 0;
	json_decref(a);
	return approval;
}

/* One credential of an escorted pair at ROOM's door: the other must follow in time. */
static void escort_awaited(struct controller *c, const char *room, const char *identity)
{
	int64_t approval = escort_approval_of(c, identity, room);
	if (!approval)
		return;
	struct escort_wait *w = g_new0(struct escort_wait, 1);
	w->c = c;
	g_strlcpy(w->room, room, sizeof(w->room));
	g_strlcpy(w->identity, identity, sizeof(w->identity));
	w->approval = approval;
	log_info("room %s: %s awaits the other credential of approval %" G_GINT64_FORMAT, room,
	         identity, approval);
	g_timeout_add(c->cfg.escort_window_s * 1000 + 500, escort_timeout, w);
}

struct draw_room_wait {
	struct controller *c;
	char room[STATE_ID_SIZE];
	char identity[65];
	int64_t admission; /* the credential's admission, as staff_active_of numbers it */
	bool witness;      /* the witness waited (else the tenderer's representative) */
	int64_t at;        /* when they presented it */
};

/* The escort window after one credential of a draw room's pair: when that credential is
 * still unused, the door did not open (the other person never came), and the operators
 * are told that one person stood alone at the draw room's door. */
static gboolean draw_room_timeout(gpointer user)
{
	struct draw_room_wait *w = user;
	json_t *a = staff_active_of(w->c, w->identity, w->room);
	if (a && json_integer_value(json_object_get(a, "id")) == w->admission) {
		char when[40], window[24];
		clock_format_us(w->at, when, sizeof when);
		snprintf(window, sizeof window, "%" G_GINT64_FORMAT,
		         (int64_t)w->c->cfg.escort_window_s);
		alert_raise_text(w->c, ALERT_ESCORT_MISSING,
		                 &(struct alert_subject){.room = w->room, .person = w->identity},
		                 w->witness ? "escort_missing_draw_room_witness"
		                            : "escort_missing_draw_room_rep",
		                 (const char *[]){w->identity, w->room, when, window, NULL},
		                 json_pack("{s:b, s:I}", "draw_room", 1, "at", (json_int_t)w->at));
	}
	json_decref(a);
	g_free(w);
	return G_SOURCE_REMOVE;
}

/* One credential of a draw room's pair at ROOM's door at AT: the other must follow within
 * the escort window (docs/staff.md section 9). False when it is not one. */
static bool draw_room_awaited(struct controller *c, const char *room, const char *identity,
                              int64_t at)
{
	json_t *a = staff_active_of(c, identity, room);
	if (!a || !json_object_get(a, "pair")) {
		json_decref(a);
		return false;
	}
	struct draw_room_wait *w = g_new0(struct draw_room_wait, 1);
	w->c = c;
	g_strlcpy(w->room, room, sizeof(w->room));
	g_strlcpy(w->identity, identity, sizeof(w->identity));
	w->admission = json_integer_value(json_object_get(a, "id"));
	w->witness = json_is_true(json_object_get(a, "escort"));
	w->at = at;
	json_decref(a);
	log_info("room %s: %s awaits the other person of the draw room's pair", room, identity);
	g_timeout_add(c->cfg.escort_window_s * 1000 + 500, draw_room_timeout, w);
	return true;
}

/* The room agent restarted while PERSON's credential waited for the other one of an
 * escorted pair: the restart ended the wait (nothing of it survives, docs/door.md), which
 * the operators are told at once rather than when the window would have passed. */
static void escort_wait_restarted(struct controller *c, const char *room, const char *identity)
{
	int64_t approval = escort_approval_of(c, identity, room);
	if (!approval)
		return;
	char *num = g_strdup_printf("%" G_GINT64_FORMAT, approval);
	alert_raise_text(
	    c, ALERT_ESCORT_MISSING, &(struct alert_subject){.room = room, .person = identity},
	    "escort_wait_restarted", (const char *const[]){room, identity, num, NULL},
	    json_pack("{s:I, s:s}", "approval", (json_int_t)approval, "cause", "agent_restart"));
	g_free(num);
}

void checkin_door_event(struct controller *c, const char *room, const char *event,
                        const char *reason, const char *person, int64_t at)
{
	GError *err = NULL;
	if (!person || !*person)
		return;
	if (strcmp(event, "denied") == 0 && g_strcmp0(reason, "awaiting_escort") == 0) {
		if (!draw_room_awaited(c, room, person, at))
			escort_awaited(c, room, person);
		return;
	}
	if (strcmp(event, "escort_wait_ended") == 0) {
		escort_wait_restarted(c, room, person);
		return;
	}
	if (strcmp(event, "granted") == 0) {
		struct state_admission a;
		if (state_admission_active_of(c->state, person, room, &a, &err) != 0) {
			g_clear_error(&err);
			staff_entered(c, room, person, at);
			return; /* a watcher's own room, an operator's own entry, or already used */
		}
		int rc = state_begin(c->state, &err);
		if (rc == 0)
			rc = state_admission_end(c->state, a.id, "used", at, &err);
		if (rc == 0)
			rc = state_presence_set(c->state, a.session, person, "inside", at, &err);
		if (rc == 0)
			rc = state_commit(c->state, &err);
		if (rc != 0) {
			state_rollback(c->state);
			log_warnx("room %s: entry of %s not recorded: %s", room, person,
			          err->message);
			g_clear_error(&err);
			return;
		}
		log_info("room %s: %s entered; credential used", room, person);
		alert_clear(c, ALERT_NOT_ENTERED,
		            &(struct alert_subject){.room = room, .person = person}, "entered");
		checkin_push_admissions(c);
	}
}

static void presence_by_tender(struct controller *c, const char *person, const char *tender,
                               const char *state, int64_t at)
{
	struct state_tender t;
	GError *err = NULL;
	if (state_tender_get(c->state, tender, &t, &err) != 0 ||
	    state_presence_set(c->state, t.session, person, state, at, &err) != 0) {
		log_warnx("presence of %s not recorded: %s", person, err->message);
		g_clear_error(&err);
	}
}

void checkin_person_left(struct controller *c, const char *person, const char *tender, int64_t at)
{
	presence_by_tender(c, person, tender, "out", at);
}

void checkin_person_seated(struct controller *c, const char *person, const char *tender, int64_t at)
{
	presence_by_tender(c, person, tender, "inside", at);
}

/* ---- desk requests ---- */

static int fail(GError **err, int code, int errnum, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static int fail(GError **err, int code, int errnum, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_set_error_literal(err, REQUEST_ERROR, code, msg);
	g_free(msg);
	return -errnum;
}

static void today(char out[11])
{
	GDateTime *now = g_date_time_new_now_local();
	char *s = g_date_time_format(now, "%Y-%m-%d");
	g_strlcpy(out, s, 11);
	g_free(s);
	g_date_time_unref(now);
}

/* A credential no other active admission holds (a PIN collision would make the door
 * ambiguous; a card given twice is a desk mistake) into OUT, and its admission digest
 * into MAC (state.db and the doors keep only that). */
static int credential_pick(struct controller *c, const char *card, char *out, size_t size,
                           char mac[CREDENTIAL_MAC_HEX], GError **err)
{
	json_t *active = NULL;
	int rc = state_admission_active(c->state, &active, err);
	if (rc != 0)
		return rc;
	for (int attempt = 0; attempt < 20; attempt++) {
		if (card) {
			if (checkin_card_credential(card, out, size) != 0) {
				rc = fail(err, REQUEST_ERROR_INVALID, EINVAL,
				          "args.card: not FAC:NUM (facility 0-255, card "
				          "number 0-65535)");
				break;
			}
		} else if (checkin_pin_new(out, size) != 0) {
			rc = fail(err, REQUEST_ERROR_INTERNAL, EIO, "no random numbers for a PIN");
			break;
		}
		bool taken = false;
		size_t i;
		json_t *a;
		credential_mac_hex(&c->checkin->key, out, mac);
		json_array_foreach(active, i, a)
		{
			taken = taken || strcmp(json_string_value(json_object_get(a, "credential")),
			                        mac) == 0;
		}
		if (!taken) {
			rc = 0;
			break;
		}
		if (card) {
			rc = fail(err, REQUEST_ERROR_CONFLICT, EEXIST,
			          "this card is already the credential of another admitted person");
			break;
		}
		rc = -EAGAIN;
	}
	json_decref(active);
	if (rc == -EAGAIN)
		rc = fail(err, REQUEST_ERROR_INTERNAL, EIO, "no free PIN found");
	return rc;
}

/* Issue a credential and a login code to S (seated person P) and make them known. */
static int admission_issue(struct controller *c, const struct request *req,
                           const struct state_assignment *s, const struct state_person *p,
                           const char *card, const char *screening, const char *note,
                           const char *reason, json_t **result, GError **err)
{
	struct state_admission a = {0};
	struct state_tender t;
	char code[CHECKIN_CODE_LEN + 1];
	char credential[48];
	int64_t now = clock_now_us();
	int rc = state_tender_get(c->state, s->tender, &t, err);
	if (rc != 0)
		return rc;
	g_strlcpy(a.session, s->session, sizeof(a.session));
	g_strlcpy(a.person, s->person, sizeof(a.person));
	g_strlcpy(a.tender, s->tender, sizeof(a.tender));
	g_strlcpy(a.room, s->room, sizeof(a.room));
	g_strlcpy(a.seat, s->seat, sizeof(a.seat));
	a.issued_at = now;
	a.valid_until = checkin_window_end(now, c->cfg.admission_window_s);
	a.code_valid_until = checkin_window_end(now, c->cfg.login_code_valid_s);
	if ((rc = credential_pick(c, card, credential, sizeof(credential), a.credential, err)) != 0)
		return rc;
	if (checkin_code_new(code, sizeof(code)) != 0)
		return fail(err, REQUEST_ERROR_INTERNAL, EIO, "no random numbers for a login code");
	checkin_code_digest(a.room, code, a.code_digest);

	if ((rc = state_begin(c->state, err)) != 0)
		goto out;
	if (screening)
		rc = state_checkin_add(c->state, a.session, a.person, now, req->requester,
		                       screening, note, err);
	if (rc == 0)
		rc = state_admission_add(c->state, &a, req->requester, reason, NULL, err);
	if (rc == 0)
		rc = state_presence_set(c->state, a.session, a.person, "admitted", now, err);
	if (rc == 0)
		rc = state_commit(c->state, err);
	if (rc != 0) {
		state_rollback(c->state);
		goto out;
	}
	log_info("desk %s: %s %s, admitted to room %s until %" G_GINT64_FORMAT, req->requester,
	         reason ? "readmitted" : "checked in", a.person, a.room, a.valid_until);
	checkin_push_admissions(c);
	warnings_checkin(c, a.person, a.tender, a.room, a.seat, now);
	push_seat_assign(c, &a, p->name, t.name);
	view_set_seat(c, a.room, a.seat, "expected");
	*result = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}",
	                    "person", a.person, "name", p->name, "session", a.session, "tender",
	                    a.tender, "tender_name", t.name, "room", a.room, "seat", a.seat,
	                    "credential", credential, "login_code", code, "admission_deadline",
	                    (json_int_t)a.valid_until, "admission_window_s",
	                    (json_int_t)c->cfg.admission_window_s, "login_code_valid_until",
	                    (json_int_t)a.code_valid_until);
out:
	OPENSSL_cleanse(code, sizeof(code));
	OPENSSL_cleanse(credential, sizeof(credential));
	return rc;
}

/* DESK's wrong identity numbers in the current window (created on first use). */
static struct desk_guesses *desk_guesses(struct controller *c, const char *desk)
{
	struct desk_guesses *g = g_hash_table_lookup(c->checkin->guesses, desk);
	int64_t now = clock_mono_us();

	if (!g) {
		g = g_new0(struct desk_guesses, 1);
		g_hash_table_insert(c->checkin->guesses, g_strdup(desk), g);
	}
	if (g->wrong == 0 || now - g->window_start >= DESK_GUESS_WINDOW_US) {
		g->window_start = now;
		g->wrong = 0;
		g->alerted = false;
	}
	return g;
}

/* A wrong identity number from DESK for PERSON: counted; at the limit an alert. */
static void desk_guess_wrong(struct controller *c, const char *desk, const char *person)
{
	struct desk_guesses *g = desk_guesses(c, desk);

	g->wrong++;
	if (g->wrong >= DESK_GUESS_LIMIT && !g->alerted) {
		char wrong[16], minutes[16];
		snprintf(wrong, sizeof(wrong), "%u", g->wrong);
		snprintf(minutes, sizeof(minutes), "%d",
		         (int)(DESK_GUESS_WINDOW_US / 60 / G_USEC_PER_SEC));
		alert_raise_text(c, ALERT_ID_GUESSING, &(struct alert_subject){.person = person},
		                 "id_guessing",
		                 (const char *[]){desk, wrong, minutes, person, NULL}, NULL);
		g->alerted = true;
	}
}

/* The person, their seat, and (for checkin) the identity number, or a refusal. */
static int desk_identify(struct controller *c, const char *person, const char *session,
                         struct state_person *p, struct state_assignment *s, GError **err)
{
	char date[11];
	if (state_person_get(c->state, person, p, err) != 0)
		return -ENOENT;
	today(date);
	return state_seating_find(c->state, session, date, person, s, err);
}

/* The refusal when the requester is the desk of a venue (site file: desks[].venue) and S,
 * the person's seat, is not at that venue: such a desk checks in only its own venue's
 * people and never learns a room of another venue (docs/venues.md). 0 when allowed. */
static int desk_venue_check(struct controller *c, const struct request *req,
                            const struct state_assignment *s, GError **err)
{
	struct site *site = NULL;
	int rc = state_site_load(c->state, &site, err);
	if (rc != 0)
		return rc;
	const char *venue = site_desk_venue(site, req->requester);
	const struct site_room *room = site_room_find(site, s->room);
	const struct site_venue *v = site_venue_find(site, venue);
	if (venue && !(room && v && site_room_in_venue(site, room, v)))
		rc = fail(err, REQUEST_ERROR_DENIED, EACCES,
		          "%s is not seated at venue %s: %s checks in only the people seated at "
		          "venue %s; %s checks in at the desk of the venue they were drawn to "
		          "(nothing recorded)",
		          s->person, venue, req->requester, venue, s->person);
	site_free(site);
	return rc;
}

/* desk.checkin {person, id_number, screening, note?, card?, session?} */
static int handle_checkin(struct controller *c, const struct request *req, json_t **result,
                          GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *person = msg_read_id(&r, "person", true);
	const char *id_number = msg_read_string(&r, "id_number", true, 64);
	int screening = msg_read_enum(&r, "screening", true, screenings);
	const char *note = msg_read_string(&r, "note", false, 500);
	const char *card = msg_read_string(&r, "card", false, 16);
	const char *session = msg_read_id(&r, "session", false);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (!*id_number)
		return fail(err, REQUEST_ERROR_INVALID, EINVAL, "args.id_number: empty");
	char scratch[48];
	if (card && checkin_card_credential(card, scratch, sizeof(scratch)) != 0)
		return fail(err, REQUEST_ERROR_INVALID, EINVAL,
		            "args.card: not FAC:NUM (facility 0-255, card number 0-65535)");

	struct state_person p;
	struct state_assignment s;
	int rc = desk_identify(c, person, session, &p, &s, err);
	if (rc != 0)
		return rc;
	if (desk_guesses(c, req->requester)->wrong >= DESK_GUESS_LIMIT)
		return fail(err, REQUEST_ERROR_DENIED, EACCES,
		            "too many wrong identity numbers from %s within %d minutes: check-ins "
		            "from this desk are refused for now (an operator was alerted)",
		            req->requester, (int)(DESK_GUESS_WINDOW_US / 60 / G_USEC_PER_SEC));
	char hmac[65];
	state_id_number_hmac(c->state, id_number, hmac);
	bool match =
	    strlen(p.id_number_hmac) == 64 && CRYPTO_memcmp(hmac, p.id_number_hmac, 64) == 0;
	OPENSSL_cleanse(hmac, sizeof(hmac));
	if (!match)
		desk_guess_wrong(c, req->requester, person);
	if (!match)
		return fail(err, REQUEST_ERROR_DENIED, EACCES,
		            "identity number does not match the record of %s: not checked in",
		            person);
	if ((rc = desk_venue_check(c, req, &s, err)) != 0)
		return rc;
	char presence[16];
	int64_t since;
	if ((rc = state_presence_get(c->state, s.session, person, presence, &since, err)) != 0)
		return rc;
	if (strcmp(presence, "inside") == 0)
		return fail(err, REQUEST_ERROR_CONFLICT, EEXIST,
		            "%s is already inside: checked in and entered before", person);
	if (strcmp(presence, "expected") != 0)
		return fail(err, REQUEST_ERROR_CONFLICT, EEXIST,
		            "%s has already checked in (%s): use desk readmit for a new credential",
		            person,
		            strcmp(presence, "out") == 0 ? "and left" : "credential issued");
	if (screening == 1) {
		/* Recorded and alerted, but nobody is admitted. */
		if (state_checkin_add(c->state, s.session, person, clock_now_us(), req->requester,
		                      "failed", note, err) != 0)
			return -EIO;
		alert_raise_text(c, ALERT_SCREENING_FAILED,
		                 &(struct alert_subject){.person = person, .tender = s.tender},
		                 note ? "screening_failed_note" : "screening_failed",
		                 (const char *[]){person, req->requester, note, NULL}, NULL);
		return fail(err, REQUEST_ERROR_DENIED, EACCES,
		            "screening failed: %s is not admitted (recorded, operators alerted)",
		            person);
	}
	return admission_issue(c, req, &s, &p, card, "passed", note, NULL, result, err);
}

/* desk.readmit {person, reason, card?, session?} */
static int handle_readmit(struct controller *c, const struct request *req, json_t **result,
                          GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *person = msg_read_id(&r, "person", true);
	const char *reason = msg_read_string(&r, "reason", true, 500);
	const char *card = msg_read_string(&r, "card", false, 16);
	const char *session = msg_read_id(&r, "session", false);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (!*reason)
		return fail(err, REQUEST_ERROR_INVALID, EINVAL, "args.reason: give the reason");
	struct state_person p;
	struct state_assignment s;
	int rc = desk_identify(c, person, session, &p, &s, err);
	if (rc != 0)
		return rc;
	char presence[16];
	int64_t since;
	if ((rc = state_presence_get(c->state, s.session, person, presence, &since, err)) != 0)
		return rc;
	if ((rc = desk_venue_check(c, req, &s, err)) != 0)
		return rc;
	if (strcmp(presence, "expected") == 0)
		return fail(err, REQUEST_ERROR_CONFLICT, EALREADY,
		            "%s has not checked in yet: use desk checkin", person);
	if (strcmp(presence, "inside") == 0)
		return fail(
		    err, REQUEST_ERROR_CONFLICT, EALREADY,
		    "%s is inside (logged in or entered and not logged out): a readmission is "
		    "for someone who has left",
		    person);
	return admission_issue(c, req, &s, &p, card, NULL, NULL, reason, result, err);
}

/* desk.list {session?} */
static int handle_list(struct controller *c, const struct request *req, json_t **result,
                       GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *session = msg_read_id(&r, "session", false);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	char id[STATE_ID_SIZE];
	if (session) {
		struct state_session s;
		if (state_session_get(c->state, session, &s, err) != 0)
			return -ENOENT;
		g_strlcpy(id, session, sizeof(id));
	} else {
		char date[11];
		today(date);
		if (state_session_open_on(c->state, date, id, err) != 0)
			return -ENOENT;
	}
	json_t *list;
	struct site *site = NULL;
	int rc = state_checkin_list(c->state, id, &list, err);
	if (rc == 0)
		rc = state_site_load(c->state, &site, err);
	if (rc != 0) {
		json_decref(list);
		return rc;
	}
	/* the desk of a venue sees the room and seat of its own venue's people only */
	const char *venue = site_desk_venue(site, req->requester);
	const struct site_venue *v = site_venue_find(site, venue);
	json_t *row;
	size_t i;
	json_array_foreach(list, i, row)
	{
		const struct site_room *room =
		    site_room_find(site, json_string_value(json_object_get(row, "room")));
		if (venue && json_object_get(row, "room") &&
		    !(room && v && site_room_in_venue(site, room, v))) {
			json_object_del(row, "room");
			json_object_del(row, "seat");
			json_object_del(row, "credential");
			json_object_set_new(row, "other_venue", json_true());
		}
	}
	site_free(site);
	json_t *counts =
	    json_pack("{s:i, s:i, s:i, s:i}", "expected", 0, "admitted", 0, "inside", 0, "out", 0);
	json_array_foreach(list, i, row)
	{
		const char *st = json_string_value(json_object_get(row, "state"));
		json_object_set_new(
		    counts, st, json_integer(json_integer_value(json_object_get(counts, st)) + 1));
	}
	*result = json_pack("{s:s, s:o, s:o}", "session", id, "persons", list, "counts", counts);
	return 0;
}

/* True when NAME is one of the site's people of ROLE (a staff role). */
static bool site_has_person(const struct site *site, const char *role, const char *name)
{
	char **names = strcmp(role, "witness") == 0      ? site->witnesses
	               : strcmp(role, "supervisor") == 0 ? site->supervisors
	                                                 : site->representatives;
	size_t n = strcmp(role, "witness") == 0      ? site->n_witnesses
	           : strcmp(role, "supervisor") == 0 ? site->n_supervisors
	                                             : site->n_representatives;
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

/* staff.admit {identity, room, card?}: a one-time door credential for a watcher (witness,
 * supervisor, tenderer's representative) to a room of their own kind (docs/witness.md). */
static int handle_staff_admit(struct controller *c, const struct request *req, json_t **result,
                              GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	const char *identity = msg_read_string(&r, "identity", true, 64);
	const char *room = msg_read_id(&r, "room", true);
	const char *card = msg_read_string(&r, "card", false, 16);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	enum role role = request_role_of(identity);
	const char *role_name = role == ROLE_WITNESS      ? "witness"
	                        : role == ROLE_SUPERVISOR ? "supervisor"
	                        : role == ROLE_REP        ? "rep"
	                                                  : NULL;
	if (!role_name)
		return fail(err, REQUEST_ERROR_INVALID, EINVAL,
		            "args.identity: \"%s\" is no watcher's identity (witness-, supervisor- "
		            "or rep-<name>)",
		            identity);
	struct site *site = NULL;
	int rc = state_site_load(c->state, &site, err);
	if (rc != 0)
		return rc;
	const char *name = identity + strlen(role_name) + 1;
	const struct site_room *target = NULL;
	for (size_t i = 0; i < site->n_rooms; i++)
		if (strcmp(site->rooms[i].id, room) == 0)
			target = &site->rooms[i];
	enum site_room_kind own = (enum site_room_kind)site_staff_room_kind(role_name);
	int64_t now = clock_now_us(), id = 0, approval = 0;
	bool escort = false;
	GError *find_err = NULL;
	/* an expert or tenderer room: only on a supervisor's approval (escort.approve) */
	if (target && target->kind != own &&
	    (target->kind == SITE_ROOM_EXPERT || target->kind == SITE_ROOM_TENDERER) &&
	    state_escort_approval_find(c->state, identity, room, now, &approval, &escort,
	                               &find_err) != 0)
		approval = 0;
	g_clear_error(&find_err);
	if (!site_has_person(site, role_name, name))
		rc = fail(err, REQUEST_ERROR_NOT_FOUND, ENOENT,
		          "%s is not one of the site's people", identity);
	else if (!target)
		rc = fail(err, REQUEST_ERROR_NOT_FOUND, ENOENT, "no room \"%s\"", room);
	else if (target->kind != own && !approval &&
	         !(role == ROLE_WITNESS && target->kind == SITE_ROOM_DRAW))
		rc = fail(
		    err, REQUEST_ERROR_DENIED, EACCES,
		    "%s may enter %s rooms only: room %s is a%s %s room (an entry there needs "
		    "a supervisor's approval and an escort, docs/witness.md)",
		    identity, site_room_kind_name(own), room,
		    target->kind == SITE_ROOM_EXPERT ? "n" : "", site_room_kind_name(target->kind));
	bool draw_room = rc == 0 && target->kind == SITE_ROOM_DRAW;
	site_free(site);
	if (rc != 0)
		return rc;

	char credential[48];
	char mac[CREDENTIAL_MAC_HEX];
	int64_t until = checkin_window_end(now, c->cfg.admission_window_s);
	if ((rc = credential_pick(c, card, credential, sizeof(credential), mac, err)) != 0)
		return rc;
	rc = state_staff_admission_add(c->state, identity, room, mac, now, until, req->requester,
	                               approval, escort, &id, err);
	/* a draw room's door opens to a representative and a witness together only: the
	 * two-person rule of an escorted entry, the witness as the escort */
	char *pair = draw_room ? g_strdup_printf("draw-%s", room) : NULL;
	if (rc == 0 && pair)
		rc = state_staff_admission_set_pair(c->state, id, pair, role == ROLE_WITNESS, err);
	g_free(pair);
	if (rc == 0) {
		log_info("desk %s: %s admitted to room %s until %" G_GINT64_FORMAT, req->requester,
		         identity, room, until);
		checkin_push_admissions(c);
		*result =
		    json_pack("{s:s, s:s, s:s, s:I, s:I}", "identity", identity, "room", room,
		              "credential", credential, "admission_deadline", (json_int_t)until,
		              "admission_window_s", (json_int_t)c->cfg.admission_window_s);
		if (draw_room)
			json_object_set_new(
			    *result, "draw_room",
			    json_pack("{s:s, s:I}", "as",
			              role == ROLE_WITNESS ? "witness" : "representative",
			              "window_s", (json_int_t)c->cfg.escort_window_s));
		if (approval)
			json_object_set_new(*result, "escorted",
			                    json_pack("{s:I, s:s, s:I}", "approval",
			                              (json_int_t)approval, "as",
			                              escort ? "escort" : "escorted", "window_s",
			                              (json_int_t)c->cfg.escort_window_s));
	}
	OPENSSL_cleanse(credential, sizeof(credential));
	return rc;
}

const struct request_handler checkin_request_handlers[] = {
    {"staff.admit", ROLE_DESK | ROLE_OPERATOR, handle_staff_admit, true},
    {"desk.checkin", ROLE_DESK | ROLE_OPERATOR, handle_checkin, true},
    {"desk.readmit", ROLE_DESK | ROLE_OPERATOR, handle_readmit, true},
    {"desk.list", ROLE_DESK | ROLE_OPERATOR, handle_list, false},
    {NULL, 0, NULL, false},
};
