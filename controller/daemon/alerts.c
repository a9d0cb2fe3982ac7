/* Alerts: the store (state.db, state_alert.c) seen from the controller: raising,
 * clearing, operators' acknowledgements and resolutions, the hooks, the causes the
 * controller sees itself (agent offline, clock skew), and the alert requests. */
#include "alerts.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_text.h"
#include "clock.h"
#include "controller.h"
#include "credential.h"
#include "log.h"
#include "msg.h"
#include "state.h"
#include "text_safe.h"
#include "view.h"

#define ALERTS_LIST_MAX  10000
#define ALERT_NOTE_MAX   500
#define ALERT_DETAIL_MAX 500
/* A site room whose agent has sent no status at all this long after the controller
 * reached the broker is offline too (a board that never came up). */
#define ALERT_NEVER_CHECK_S  5
#define ALERT_NEVER_GRACE_US (15 * G_USEC_PER_SEC)

static const char *const kind_names[ALERT_KIND_COUNT] = {
    [ALERT_DOOR_FORCED] = "door_forced",
    [ALERT_DOOR_HELD] = "door_held",
    [ALERT_TAMPER] = "tamper",
    [ALERT_WRONG_ROOM] = "wrong_room",
    [ALERT_WRONG_SEAT] = "wrong_seat",
    [ALERT_SEAT_LOCKED] = "seat_locked",
    [ALERT_NOT_ENTERED] = "not_entered",
    [ALERT_SCREENING_FAILED] = "screening_failed",
    [ALERT_AGENT_OFFLINE] = "agent_offline",
    [ALERT_TERMINAL_OFFLINE] = "terminal_offline",
    [ALERT_STREAM_LOST] = "stream_lost",
    [ALERT_SPOOL_LOW] = "spool_low",
    [ALERT_SPOOL_FULL] = "spool_full",
    [ALERT_CLOCK_SKEW] = "clock_skew",
    [ALERT_DOOR_FAULT] = "door_fault",
    [ALERT_HELP_REQUESTED] = "help_requested",
    [ALERT_ARCHIVE_DISK_LOW] = "archive_disk_low",
    [ALERT_ARCHIVE_DISK_FULL] = "archive_disk_full",
    [ALERT_ARCHIVE_WRITE_FAILED] = "archive_write_failed",
    [ALERT_ID_GUESSING] = "id_guessing",
    [ALERT_AGENT_FLAPPING] = "agent_flapping",
    [ALERT_CONTROLLER_FLAPPING] = "controller_flapping",
    [ALERT_ARCHIVE_COPY_FAILED] = "archive_copy_failed",
    [ALERT_ARCHIVE_COPIES_MISSING] = "archive_copies_missing",
    [ALERT_ARCHIVE_COPY_BAD] = "archive_copy_bad",
    [ALERT_WARN_BREAKS] = "warn_breaks",
    [ALERT_WARN_LONG_BREAK] = "warn_long_break",
    [ALERT_WARN_SYNC] = "warn_synchronised",
    [ALERT_WARN_VACANT_SEAT] = "warn_vacant_seat",
    [ALERT_WARN_INSIDE_EXIT] = "warn_inside_exit",
    [ALERT_WARN_OFF_HOURS] = "warn_off_hours",
    [ALERT_WARN_ENTRY_LATE] = "warn_entry_late",
    [ALERT_WARN_AFFINITY] = "warn_affinity",
    [ALERT_VENUE_LINK_LOST] = "venue_link_lost",
    [ALERT_VENUE_FAULT_NEAR] = "venue_fault_near",
    [ALERT_TENDER_SEAL_WAITING] = "tender_seal_waiting",
    [ALERT_WITNESS_BREACH] = "witness_breach",
    [ALERT_ESCORT_MISSING] = "escort_missing",
    [ALERT_STAFF_TENURE] = "staff_post_tenure",
    [ALERT_DRAW_ROOM_UNREVIEWED] = "draw_room_unreviewed",
};

struct alert_hook {
	alert_hook_fn fn;
	void *user;
};

/* An agent whose offline status waits out the grace period. */
struct offline_wait {
	struct controller *c;
	char room[MSG_ID_MAX + 1];
	struct clock_timer *timer; /* on c->clock */
};

/* The times of the last ALERT_FLAP_COUNT losses of one session (a ring). */
struct flaps {
	int64_t at[ALERT_FLAP_COUNT]; /* monotonic us */
	unsigned n;                   /* losses so far */
	bool online;                  /* as last reported */
};

/* flaps_lost: note a loss at NOW; true when ALERT_FLAP_COUNT of them fall within the
 * window. *IN_WINDOW: how many of the remembered losses do. */
static bool flaps_lost(struct flaps *f, int64_t now, unsigned *in_window)
{
	f->at[f->n % ALERT_FLAP_COUNT] = now;
	f->n++;
	unsigned k = 0;
	for (unsigned i = 0; i < MIN(f->n, (unsigned)ALERT_FLAP_COUNT); i++)
		k += now - f->at[i] <= (int64_t)ALERT_FLAP_WINDOW_MS * 1000;
	*in_window = k;
	return k >= ALERT_FLAP_COUNT;
}

struct alerts {
	GArray *hooks;           /* struct alert_hook */
	GHashTable *offline;     /* room -> struct offline_wait (its grace timer) */
	GHashTable *seen_online; /* rooms whose agent was online since the start */
	GHashTable *clock_off;   /* room -> int64_t: skew of its last status, if beyond the limit */
	struct clock_timer *never_timer; /* the check for rooms whose agent never connected */
	int64_t connected_at;            /* monotonic us when the check first saw the broker */
	GHashTable *flaps;               /* room -> struct flaps of its agent's session */
	struct flaps *own;               /* the controller's own session */
};

const char *alert_kind_name(enum alert_kind kind)
{
	return (unsigned)kind < ALERT_KIND_COUNT ? kind_names[kind] : "unknown";
}

bool alert_kind_parse(const char *name, enum alert_kind *kind)
{
	for (int k = 0; k < ALERT_KIND_COUNT; k++)
		if (name && strcmp(kind_names[k], name) == 0) {
			*kind = (enum alert_kind)k;
			return true;
		}
	return false;
}

static void never_connected_check(void *user);

int alerts_init(struct controller *c)
{
	struct alerts *a = g_new0(struct alerts, 1);

	a->hooks = g_array_new(FALSE, FALSE, sizeof(struct alert_hook));
	a->offline = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	a->seen_online = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	a->clock_off = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	a->flaps = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	a->own = g_new0(struct flaps, 1);
	if (c->cfg.clock_skew_limit_ms <= 0)
		c->cfg.clock_skew_limit_ms = 2000;
	if (c->cfg.offline_grace_ms <= 0)
		c->cfg.offline_grace_ms = 2000;
	if (c->cfg.never_connected_ms <= 0)
		c->cfg.never_connected_ms = 15000;
	c->alerts = a;
	a->never_timer =
	    clock_timer_start(c->clock, NULL, ALERT_NEVER_CHECK_S * 1000, never_connected_check, c);
	return 0;
}

void alerts_free(struct controller *c)
{
	struct alerts *a = c->alerts;
	GHashTableIter it;
	gpointer v;

	if (!a)
		return;
	g_hash_table_iter_init(&it, a->offline);
	while (g_hash_table_iter_next(&it, NULL, &v))
		clock_timer_stop(c->clock, ((struct offline_wait *)v)->timer);
	clock_timer_stop(c->clock, a->never_timer);
	g_hash_table_destroy(a->offline);
	g_hash_table_destroy(a->seen_online);
	g_hash_table_destroy(a->clock_off);
	g_hash_table_destroy(a->flaps);
	g_free(a->own);
	g_array_free(a->hooks, TRUE);
	g_free(a);
	c->alerts = NULL;
}

void alerts_set_hook(struct controller *c, alert_hook_fn fn, void *user)
{
	struct alert_hook h = {fn, user};

	g_array_append_val(c->alerts->hooks, h);
}

static void alerts_notify(struct controller *c, const char *change, int64_t id)
{
	GError *err = NULL;
	json_t *alert;

	if (!c->alerts || c->alerts->hooks->len == 0)
		return;
	if (state_alert_get(c->state, id, &alert, &err) != 0) {
		log_warnx("alert %" G_GINT64_FORMAT ": %s", id, err->message);
		g_error_free(err);
		return;
	}
	for (guint i = 0; i < c->alerts->hooks->len; i++) {
		struct alert_hook *h = &g_array_index(c->alerts->hooks, struct alert_hook, i);
		h->fn(c, change, alert, h->user);
	}
	json_decref(alert);
}

/* The subject checked: each member empty/NULL or an identifier. */
static bool subject_valid(const struct alert_subject *s, struct state_alert_subject *out)
{
	const char *v[6] = {s ? s->room : NULL,   s ? s->seat : NULL,   s ? s->person : NULL,
	                    s ? s->tender : NULL, s ? s->stream : NULL, s ? s->venue : NULL};

	for (int i = 0; i < 6; i++)
		if (v[i] && *v[i] && !id_valid(v[i]))
			return false;
	*out = (struct state_alert_subject){v[0], v[1], v[2], v[3], v[4], v[5]};
	return true;
}

/* alert_raise: raise KIND for SUBJECT with DETAIL (a short sentence for the operator;
 * EXTRA an optional JSON object, reference stolen). While an alert of the same kind and
 * subject is open it is not raised twice (its count and last time are updated).
 * Returns the alert id (> 0) or -errno (logged). Only through alert_raise_text, so that
 * every alert has a text a person reads in their language. */
static int64_t alert_raise(struct controller *c, enum alert_kind kind,
                           const struct alert_subject *subject, const char *detail, json_t *extra)
{
	struct state_alert_subject s;
	GError *err = NULL;
	char *extra_text = NULL;
	int64_t id = 0;
	bool is_new = false;
	int rc;

	if ((unsigned)kind >= ALERT_KIND_COUNT || !subject_valid(subject, &s) || !detail ||
	    !*detail || strlen(detail) > ALERT_DETAIL_MAX || (extra && !json_is_object(extra))) {
		log_warnx("alert %s: refused to raise: bad kind, subject, detail or extra",
		          alert_kind_name(kind));
		json_decref(extra);
		return -EINVAL;
	}
	if (extra)
		extra_text = json_dumps(extra, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(extra);
	rc = state_alert_raise(c->state, kind_names[kind], &s, detail, extra_text,
	                       clock_source_now_us(c->clock), &id, &is_new, &err);
	free(extra_text);
	if (rc) {
		log_warnx("alert %s: %s", kind_names[kind], err->message);
		g_error_free(err);
		return rc;
	}
	if (is_new)
		log_warnx("ALERT %" G_GINT64_FORMAT " %s%s%s: %s", id, kind_names[kind],
		          s.room && *s.room ? " room " : "", s.room ? s.room : "", detail);
	alerts_notify(c, is_new ? "raised" : "repeated", id);
	return id;
}

int64_t alert_raise_text(struct controller *c, enum alert_kind kind,
                         const struct alert_subject *subject, const char *text_id,
                         const char *const *args, json_t *extra)
{
	size_t n = 0;

	while (args && args[n] && n <= ALERT_TEXT_ARGS_MAX)
		n++;
	const char *text_kind = alert_text_kind(text_id);
	if (!text_kind || strcmp(text_kind, alert_kind_name(kind)) != 0) {
		log_warnx("alert %s: refused to raise: text %s is not one of its texts",
		          alert_kind_name(kind), text_id ? text_id : "(none)");
		json_decref(extra);
		return -EINVAL;
	}
	char *detail = alert_text_render(text_id, args, n, false);
	if (!detail) {
		log_warnx("alert %s: refused to raise: text %s does not take %zu arguments",
		          alert_kind_name(kind), text_id, n);
		json_decref(extra);
		return -EINVAL;
	}
	/* Arguments that come from an agent may be long: the detail is cut, on a character. */
	if (strlen(detail) > ALERT_DETAIL_MAX) {
		const char *end = detail + ALERT_DETAIL_MAX;
		while (end > detail && (*end & 0xC0) == 0x80)
			end--;
		detail[end - detail] = '\0';
	}
	json_t *text_args = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(text_args, json_string(args[i]));
	if (!extra)
		extra = json_object();
	json_object_set_new(extra, "text",
	                    json_pack("{s:s, s:o}", "id", text_id, "args", text_args));
	int64_t id = alert_raise(c, kind, subject, detail, extra);
	g_free(detail);
	return id;
}

void alert_clear(struct controller *c, enum alert_kind kind, const struct alert_subject *subject,
                 const char *why)
{
	struct state_alert_subject s;
	GError *err = NULL;
	int64_t id = 0;
	char *by;

	if ((unsigned)kind >= ALERT_KIND_COUNT || !subject_valid(subject, &s))
		return;
	if (state_alert_find_open(c->state, kind_names[kind], &s, &id, &err) != 0 || id == 0)
		goto out;
	by = g_strdup_printf("auto: %s", why && *why ? why : "the cause cleared");
	if (state_alert_resolve(c->state, id, by, NULL, clock_source_now_us(c->clock), &err) == 0) {
		log_info("alert %" G_GINT64_FORMAT " %s resolved (%s)", id, kind_names[kind], by);
		alerts_notify(c, "resolved", id);
	}
	g_free(by);
out:
	if (err) {
		log_warnx("alert %s: clear: %s", kind_names[kind], err->message);
		g_error_free(err);
	}
}

int alert_ack(struct controller *c, int64_t id, const char *by, const char *note, GError **err)
{
	int rc = state_alert_ack(c->state, id, by, note, clock_source_now_us(c->clock), err);

	if (rc == 0) {
		log_info("alert %" G_GINT64_FORMAT " acknowledged by %s", id, by);
		alerts_notify(c, "acknowledged", id);
	}
	return rc;
}

int alert_resolve(struct controller *c, int64_t id, const char *by, const char *note, GError **err)
{
	int rc = state_alert_resolve(c->state, id, by, note, clock_source_now_us(c->clock), err);

	if (rc == 0) {
		log_info("alert %" G_GINT64_FORMAT " resolved by %s", id, by);
		alerts_notify(c, "resolved", id);
	}
	return rc;
}

json_t *alerts_counts_json(struct controller *c)
{
	int64_t open = 0, acked = 0;
	GError *err = NULL;

	if (state_alert_counts(c->state, &open, &acked, &err) != 0) {
		log_warnx("%s", err->message);
		g_error_free(err);
		return NULL;
	}
	return json_pack("{s:I, s:I}", "open", (json_int_t)open, "acknowledged", (json_int_t)acked);
}

/* ---- agent offline, after a grace period so that a restart pages nobody ---- */

static bool room_in_site(struct controller *c, const char *room)
{
	json_t *rooms = NULL, *r;
	GError *err = NULL;
	bool found = false;
	size_t i;

	if (state_site_rooms(c->state, &rooms, &err) != 0) {
		log_warnx("%s", err->message);
		g_error_free(err);
		return false;
	}
	json_array_foreach(rooms, i, r)
	{
		if (strcmp(json_string_value(json_object_get(r, "id")), room) == 0)
			found = true;
	}
	json_decref(rooms);
	return found;
}

static void offline_grace_over(void *user)
{
	struct offline_wait *w = user;
	struct controller *c = w->c;
	struct room_presence *p = g_hash_table_lookup(c->rooms, w->room);

	if (p && !p->online) {
		alert_raise_text(
		    c, ALERT_AGENT_OFFLINE, &(struct alert_subject){.room = w->room},
		    "agent_offline", (const char *[]){w->room, p->state, NULL},
		    json_pack("{s:s, s:I}", "state", p->state, "since", (json_int_t)p->since_us));
	}
	w->timer = NULL;                                  /* fired */
	g_hash_table_remove(c->alerts->offline, w->room); /* frees W */
}

/* never_connected_check_once: the check itself (never_connected_check re-arms it). */
static void never_connected_check_once(struct controller *c)
{
	struct alerts *a = c->alerts;
	json_t *rooms = NULL, *r;
	GError *err = NULL;
	size_t i;

	if (!c->connected) {
		a->connected_at = 0;
		return;
	}
	if (!a->connected_at)
		a->connected_at = clock_source_mono_us(c->clock);
	if (clock_source_mono_us(c->clock) - a->connected_at < c->cfg.never_connected_ms * 1000)
		return;
	if (state_site_rooms(c->state, &rooms, &err) != 0) {
		log_warnx("%s", err->message);
		g_error_free(err);
		return;
	}
	json_array_foreach(rooms, i, r)
	{
		const char *room = json_string_value(json_object_get(r, "id"));
		struct state_alert_subject s = {.room = room};
		int64_t open = 0;
		if (!room || g_hash_table_contains(c->rooms, room))
			continue;
		/* Raised once, not counted again on every check. */
		if (state_alert_find_open(c->state, kind_names[ALERT_AGENT_OFFLINE], &s, &open,
		                          NULL) != 0 ||
		    open)
			continue;
		alert_raise_text(c, ALERT_AGENT_OFFLINE, &(struct alert_subject){.room = room},
		                 "agent_never_connected", (const char *[]){room, NULL},
		                 json_pack("{s:s}", "state", "never_connected"));
	}
	json_decref(rooms);
}

static void never_connected_check(void *user)
{
	struct controller *c = user;

	never_connected_check_once(c);
	c->alerts->never_timer =
	    clock_timer_start(c->clock, NULL, ALERT_NEVER_CHECK_S * 1000, never_connected_check, c);
}

/* Statuses come as heartbeats too: only a change from online to not online is a loss. */
static void agent_flaps_note(struct controller *c, const char *room, bool online)
{
	struct flaps *f = g_hash_table_lookup(c->alerts->flaps, room);
	unsigned k;
	char losses[16], window[16];

	if (!f) {
		f = g_new0(struct flaps, 1);
		g_hash_table_insert(c->alerts->flaps, g_strdup(room), f);
	}
	bool lost = f->online && !online;
	f->online = online;
	if (!lost || !flaps_lost(f, g_get_monotonic_time(), &k))
		return;
	snprintf(losses, sizeof(losses), "%u", k);
	snprintf(window, sizeof(window), "%d", ALERT_FLAP_WINDOW_MS / 1000);
	alert_raise_text(
	    c, ALERT_AGENT_FLAPPING, &(struct alert_subject){.room = room}, "agent_flapping",
	    (const char *[]){room, losses, window, NULL},
	    json_pack("{s:i, s:i}", "losses", (int)k, "window_s", ALERT_FLAP_WINDOW_MS / 1000));
}

void alerts_broker_connection(struct controller *c, bool connected, const char *why)
{
	struct alerts *a = c->alerts;
	unsigned k;
	char losses[16], window[16], last[81];

	if (!a)
		return;
	bool lost = a->own->online && !connected;
	a->own->online = connected;
	if (!lost)
		return;
	bool storm = flaps_lost(a->own, g_get_monotonic_time(), &k);
	log_warnx("broker session lost (%s): %u time(s) within %d s", why ? why : "?", k,
	          ALERT_FLAP_WINDOW_MS / 1000);
	if (!storm)
		return;
	/* Written to state.db now; operators see it once the controller is reachable. */
	snprintf(losses, sizeof(losses), "%u", k);
	snprintf(window, sizeof(window), "%d", ALERT_FLAP_WINDOW_MS / 1000);
	snprintf(last, sizeof(last), "%.80s", why ? why : "?");
	alert_raise_text(
	    c, ALERT_CONTROLLER_FLAPPING, &(struct alert_subject){0}, "controller_flapping",
	    (const char *[]){losses, window, last, NULL},
	    json_pack("{s:i, s:i}", "losses", (int)k, "window_s", ALERT_FLAP_WINDOW_MS / 1000));
}

void alerts_agent_presence(struct controller *c, const char *room, bool online)
{
	struct alerts *a = c->alerts;

	if (!a || !id_valid(room))
		return;
	agent_flaps_note(c, room, online);
	if (online) {
		struct offline_wait *w = g_hash_table_lookup(a->offline, room);
		if (w) {
			clock_timer_stop(c->clock, w->timer);
			g_hash_table_remove(a->offline, room);
		}
		g_hash_table_add(a->seen_online, g_strdup(room));
		alert_clear(c, ALERT_AGENT_OFFLINE, &(struct alert_subject){.room = room},
		            "agent back online");
		return;
	}
	if (g_hash_table_contains(a->offline, room))
		return;
	if (!g_hash_table_contains(a->seen_online, room) && !room_in_site(c, room))
		return;
	struct offline_wait *w = g_new0(struct offline_wait, 1);
	w->c = c;
	g_strlcpy(w->room, room, sizeof(w->room));
	w->timer = clock_timer_start(c->clock, NULL, (unsigned)c->cfg.offline_grace_ms,
	                             offline_grace_over, w);
	g_hash_table_insert(a->offline, g_strdup(room), w);
}

static bool clock_alert_open(struct controller *c, const char *room)
{
	struct state_alert_subject s = {.room = room};
	GError *err = NULL;
	int64_t id = 0;

	if (state_alert_find_open(c->state, kind_names[ALERT_CLOCK_SKEW], &s, &id, &err) != 0) {
		log_warnx("alert clock_skew: %s", err->message);
		g_error_free(err);
	}
	return id != 0;
}

/* A wrong clock is wrong by about the same amount on every status; a delay (a stalled
 * controller, the broker's backlog after a reconnect) differs from one status to the
 * next. So SKEW, beyond the limit, confirms a skew when ROOM's previous status was
 * beyond the limit too and agreed with it within a quarter of the limit, or when the
 * room's clock_skew alert is open already. SKEW is the reading the next one meets. */
static bool clock_skew_confirmed(struct controller *c, const char *room, int64_t skew)
{
	int64_t *last = g_hash_table_lookup(c->alerts->clock_off, room);
	int64_t agree = c->cfg.clock_skew_limit_ms * 1000 / 4;
	bool confirmed = last && llabs(skew - *last) <= agree;

	if (!last) {
		last = g_new(int64_t, 1);
		g_hash_table_insert(c->alerts->clock_off, g_strdup(room), last);
	}
	*last = skew;
	return confirmed || clock_alert_open(c, room);
}

void alerts_agent_clock(struct controller *c, const char *room, int64_t agent_ts, int64_t received)
{
	int64_t skew = agent_ts - received, limit = c->cfg.clock_skew_limit_ms * 1000;
	struct alert_subject s = {.room = room};
	char off[32], lim[32];

	if (!c->alerts || !id_valid(room))
		return;
	if (skew <= limit && skew >= -limit) {
		g_hash_table_remove(c->alerts->clock_off, room);
		alert_clear(c, ALERT_CLOCK_SKEW, &s, "clock back within the limit");
		return;
	}
	snprintf(off, sizeof(off), "%.1f", (double)llabs(skew) / 1e6);
	snprintf(lim, sizeof(lim), "%.1f", (double)limit / 1e6);
	if (!clock_skew_confirmed(c, room, skew)) {
		log_info("room %s: clock %s s %s the controller's (limit %s s); not raised unless "
		         "the next status agrees",
		         room, off, skew < 0 ? "behind" : "ahead of", lim);
		return;
	}
	alert_raise_text(
	    c, ALERT_CLOCK_SKEW, &s, skew < 0 ? "clock_behind" : "clock_ahead",
	    (const char *[]){room, off, lim, NULL},
	    json_pack("{s:I, s:I}", "skew_us", (json_int_t)skew, "limit_us", (json_int_t)limit));
}

/* ---- requests ---- */

static int handle_alerts_list(struct controller *c, const struct request *req, json_t **result,
                              GError **err)
{
	struct msg_reader r;
	json_t *list = NULL, *counts;
	int rc;

	msg_reader_init(&r, req->args, "args");
	bool open_only = msg_read_bool(&r, "open", false, false);
	int64_t since = msg_read_int(&r, "since", false, 0, INT64_MAX, 0);
	int64_t limit = msg_read_int(&r, "limit", false, 1, ALERTS_LIST_MAX, 1000);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	rc = state_alert_list(c->state, open_only, since, (unsigned)limit, &list, err);
	if (rc)
		return rc;
	counts = alerts_counts_json(c);
	*result =
	    json_pack("{s:o, s:o}", "alerts", list, "counts", counts ? counts : json_object());
	return 0;
}

/* alert.ack and alert.resolve: {"id": n, "note": text}. */
static int read_id_note(const struct request *req, int64_t *id, const char **note, GError **err)
{
	struct msg_reader r;

	msg_reader_init(&r, req->args, "args");
	*id = msg_read_int(&r, "id", true, 1, INT64_MAX, 0);
	*note = msg_read_string(&r, "note", true, ALERT_NOTE_MAX);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (!text_clean(*note)) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_INVALID,
		            "member 'args.note': control characters, newlines or bidirectional "
		            "overrides are not allowed; write the note on one line");
		return -EINVAL;
	}
	for (const char *p = *note; *p; p++)
		if (!g_ascii_isspace(*p))
			return 0;
	g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_INVALID,
	            "member 'args.note': empty; say what was done or seen");
	return -EINVAL;
}

static int handle_alert_change(struct controller *c, const struct request *req, json_t **result,
                               GError **err, bool resolve)
{
	int64_t id;
	const char *note;
	int rc = read_id_note(req, &id, &note, err);

	if (rc)
		return rc;
	rc = resolve ? alert_resolve(c, id, req->requester, note, err)
	             : alert_ack(c, id, req->requester, note, err);
	if (rc)
		return rc;
	return state_alert_get(c->state, id, result, err);
}

static int handle_alert_ack(struct controller *c, const struct request *req, json_t **result,
                            GError **err)
{
	return handle_alert_change(c, req, result, err, false);
}

static int handle_alert_resolve(struct controller *c, const struct request *req, json_t **result,
                                GError **err)
{
	return handle_alert_change(c, req, result, err, true);
}

const struct request_handler alert_request_handlers[] = {
    {"alerts.list", ROLE_OPERATOR | ROLE_DESK | ROLE_AUDITOR | ROLE_WITNESS, handle_alerts_list,
     false},
    {"alert.ack", ROLE_OPERATOR, handle_alert_ack, true},
    {"alert.resolve", ROLE_OPERATOR, handle_alert_resolve, true},
    {NULL, 0, NULL, false},
};

/* ---- the door's causes (events validated by doors.c) ---- */

/* States in which the door is still locked down (docs/door.md: a lockdown holds the lock
 * through request-to-exit openings until `release`). */
static bool door_lockdown_after(const char *state, bool before)
{
	if (strcmp(state, "lockdown") == 0)
		return true;
	if (strcmp(state, "locked") == 0 || strcmp(state, "unlocked") == 0 ||
	    strcmp(state, "free_access") == 0)
		return false;
	return before;
}

/* The active admission to a room other than ROOM whose credential has DIGEST: its person
 * and room into PERSON and ADMITTED_TO (STATE_ID_SIZE bytes each). The room agents are
 * told only that such a credential is admitted elsewhere, so the controller, which keeps
 * the admission digests of active admissions (credential.h), is the one to say whose it
 * is. false when none
 * matches (used or expired since, or not issued by this controller). */
static bool wrong_room_admission(struct controller *c, const char *room, const char *digest,
                                 char *person, char *admitted_to)
{
	json_t *active = NULL, *a;
	GError *err = NULL;
	bool found = false;
	size_t i;

	if (!digest || strlen(digest) != 16)
		return false;
	if (state_admission_active(c->state, &active, &err) != 0) {
		log_warnx("alert wrong_room: admissions not read: %s", err->message);
		g_error_free(err);
		return false;
	}
	json_array_foreach(active, i, a)
	{
		const char *credential = json_string_value(json_object_get(a, "credential"));
		const char *to = json_string_value(json_object_get(a, "room"));
		char d[CREDENTIAL_DIGEST_HEX];

		if (!credential || !*credential || !to || strcmp(to, room) == 0)
			continue;
		credential_digest_of_mac(credential, d);
		if (strcmp(d, digest) == 0) {
			g_strlcpy(person, json_string_value(json_object_get(a, "person")),
			          STATE_ID_SIZE);
			g_strlcpy(admitted_to, to, STATE_ID_SIZE);
			found = true;
			break;
		}
	}
	json_decref(active);
	return found;
}

static void alert_wrong_room(struct controller *c, const char *room, const char *digest)
{
	char person[STATE_ID_SIZE], admitted_to[STATE_ID_SIZE];

	if (!wrong_room_admission(c, room, digest, person, admitted_to)) {
		alert_raise_text(c, ALERT_WRONG_ROOM, &(struct alert_subject){.room = room},
		                 "wrong_room_unknown", (const char *[]){room, NULL}, NULL);
		return;
	}
	alert_raise_text(c, ALERT_WRONG_ROOM,
	                 &(struct alert_subject){.room = room, .person = person}, "wrong_room",
	                 (const char *[]){person, room, admitted_to, NULL},
	                 json_pack("{s:s}", "admitted_room", admitted_to));
}

void alerts_door_event(struct controller *c, const char *room, const char *event, const char *state,
                       const char *reason, const char *credential_digest, const char *detail)
{
	struct alert_subject s = {.room = room};
	/* Only a `state` event names the state the door is now in; the others carry the
	 * state in which they happened (a forced opening: "locked"). */
	const char *now = strcmp(event, "state") == 0 ? state : "";
	bool closed = strcmp(event, "closed") == 0 || strcmp(now, "locked") == 0 ||
	              strcmp(now, "lockdown") == 0 || strcmp(now, "unlocked") == 0 ||
	              strcmp(now, "free_access") == 0;
	const char *just_room[] = {room, NULL};

	if (!c->alerts || !id_valid(room))
		return;
	if (*now)
		view_set_door(c, room, now, door_lockdown_after(now, view_door_lockdown(c, room)));
	if (strcmp(event, "forced_open") == 0 || strcmp(now, "forced_open") == 0) {
		alert_raise_text(c, ALERT_DOOR_FORCED, &s, "door_forced", just_room, NULL);
	} else if (strcmp(event, "held_alarm") == 0 || strcmp(now, "held_open_alarm") == 0) {
		alert_raise_text(c, ALERT_DOOR_HELD, &s, "door_held", just_room, NULL);
	} else if (strcmp(event, "tamper") == 0 || strcmp(now, "tamper") == 0) {
		alert_raise_text(c, ALERT_TAMPER, &s, "tamper", just_room, NULL);
	} else if (strcmp(event, "fault") == 0 || strcmp(now, "fault") == 0) {
		alert_raise_text(c, ALERT_DOOR_FAULT, &s,
		                 detail ? "door_fault_detail" : "door_fault",
		                 (const char *[]){room, detail, NULL}, NULL);
	} else if (strcmp(event, "denied") == 0 && reason && strcmp(reason, "not_this_room") == 0) {
		alert_wrong_room(c, room, credential_digest);
	}
	if (closed) {
		alert_clear(c, ALERT_DOOR_FORCED, &s, "door closed and locked");
		alert_clear(c, ALERT_DOOR_HELD, &s, "door closed");
	}
	if (strcmp(event, "tamper_cleared") == 0 || (*now && strcmp(now, "tamper") != 0))
		alert_clear(c, ALERT_TAMPER, &s, "tamper input back to normal");
	if (*now && strcmp(now, "fault") != 0)
		alert_clear(c, ALERT_DOOR_FAULT, &s, "door out of fault");
}

/* ---- recording health (events validated by streams.c) ---- */

void alerts_stream_state(struct controller *c, const char *room, const char *stream,
                         const char *seat, const char *state, const char *reason)
{
	struct alert_subject s = {.room = room, .seat = seat, .stream = stream};

	if (!c->alerts || !id_valid(room) || !id_valid(stream))
		return;
	view_set_stream(c, room, stream, state);
	if (strcmp(state, "lost") == 0) {
		const char *id = seat ? (reason ? "seat_stream_lost_reason" : "seat_stream_lost")
		                      : (reason ? "stream_lost_reason" : "stream_lost");
		const char *with_seat[] = {stream, room, seat, reason, NULL};
		const char *without[] = {stream, room, reason, NULL};
		alert_raise_text(c, ALERT_STREAM_LOST, &s, id, seat ? with_seat : without,
		                 reason ? json_pack("{s:s}", "reason", reason) : NULL);
	} else if (strcmp(state, "recording") == 0) {
		alert_clear(c, ALERT_STREAM_LOST, &s, "stream recording again");
	} else if (strcmp(state, "stopped") == 0) {
		alert_clear(c, ALERT_STREAM_LOST, &s, "stream stopped");
	}
}

void alerts_spool_space(struct controller *c, const char *room, const char *level, int64_t used,
                        int64_t quota)
{
	struct alert_subject s = {.room = room};
	char used_mb[32], quota_mb[32];

	if (!c->alerts || !id_valid(room))
		return;
	if (strcmp(level, "ok") == 0) {
		alert_clear(c, ALERT_SPOOL_LOW, &s, "spool space back to normal");
		alert_clear(c, ALERT_SPOOL_FULL, &s, "spool space back to normal");
		return;
	}
	snprintf(used_mb, sizeof(used_mb), "%.1f", (double)used / 1e6);
	snprintf(quota_mb, sizeof(quota_mb), "%.1f", (double)quota / 1e6);
	const char *args[] = {room, used_mb, quota_mb, NULL};
	json_t *extra = json_pack("{s:I, s:I}", "used_bytes", (json_int_t)used, "quota_bytes",
	                          (json_int_t)quota);
	if (strcmp(level, "full") == 0) {
		alert_raise_text(c, ALERT_SPOOL_FULL, &s, "spool_full", args, extra);
	} else {
		alert_raise_text(c, ALERT_SPOOL_LOW, &s, "spool_low", args, extra);
		alert_clear(c, ALERT_SPOOL_FULL, &s, "spool no longer full");
	}
}
