/* Behaviour warning rules (warn_rules.h): per-person, per-seat and per-tender state built
 * from the events, and the seven rules over it. */
#include "warn_rules.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alert_text.h"

#define US ((int64_t)G_USEC_PER_SEC)
#define ID_SIZE 64

static const char *const rule_names[WARN_RULE_COUNT] = {
    [WARN_BREAKS] = "warn_breaks",           [WARN_LONG_BREAK] = "warn_long_break",
    [WARN_SYNC] = "warn_synchronised",       [WARN_VACANT_SEAT] = "warn_vacant_seat",
    [WARN_INSIDE_EXIT] = "warn_inside_exit", [WARN_OFF_HOURS] = "warn_off_hours",
    [WARN_ENTRY_LATE] = "warn_entry_late",
};

struct person {
	char id[ID_SIZE], tender[ID_SIZE], room[ID_SIZE], seat[ID_SIZE];
	int64_t checkin_at; /* 0: not checked in (seen) */
	bool entered;       /* first entry seen */
	bool inside;        /* entered and not seen leaving */
	bool logged_in;
	bool on_break;
	bool break_exit;  /* this break's way out was used */
	bool long_warned; /* this break already warned as too long */
	int64_t break_at;
	GArray *breaks;   /* int64_t starts within the window */
	int64_t actions;  /* actions so far (the synchronised rule) */
};

struct seat {
	char person[ID_SIZE]; /* logged in; "" nobody */
	int64_t try_at;       /* first attempt while vacant; 0 none pending */
	int64_t tries;
};

struct action {
	int64_t at;
	char person[ID_SIZE], room[ID_SIZE];
};

struct pair {
	int64_t k, first, last;
};

struct tender {
	int64_t t0;     /* first action or check-in seen */
	GArray *recent; /* struct action within sync_window_s of the latest */
	GHashTable *pairs; /* "p|q" (p < q) -> struct pair */
};

struct warn_rules {
	struct warn_limits l;
	warn_emit_fn emit;
	void *user;
	GHashTable *persons; /* id -> struct person */
	GHashTable *seats;   /* "room/seat" -> struct seat */
	GHashTable *tenders; /* id -> struct tender */
};

const char *warn_rule_name(enum warn_rule rule)
{
	return (unsigned)rule < WARN_RULE_COUNT ? rule_names[rule] : "unknown";
}

void warn_limits_default(struct warn_limits *l)
{
	*l = (struct warn_limits){.breaks_max = 3,
	                          .breaks_window_s = 3600,
	                          .break_max_s = 1200,
	                          .sync_window_s = 5,
	                          .sync_min = 3,
	                          .sync_p_ppm = 1000,
	                          .vacant_grace_s = 120,
	                          .hours_from_min = 7 * 60 + 30,
	                          .hours_to_min = 18 * 60 + 30,
	                          .entry_max_s = 180,
	                          .tz = NULL};
}

double warn_poisson_tail(int64_t k, double mean)
{
	if (k <= 0)
		return 1.0;
	double term = exp(-mean), below = 0;
	for (int64_t i = 0; i < k; i++) {
		below += term;
		term *= mean / (double)(i + 1);
	}
	return below >= 1.0 ? 0.0 : 1.0 - below;
}

static void person_free(gpointer p)
{
	struct person *x = p;
	g_array_free(x->breaks, TRUE);
	g_free(x);
}

static void tender_free(gpointer p)
{
	struct tender *t = p;
	g_array_free(t->recent, TRUE);
	g_hash_table_destroy(t->pairs);
	g_free(t);
}

struct warn_rules *warn_rules_new(const struct warn_limits *limits, warn_emit_fn emit, void *user)
{
	struct warn_rules *w = g_new0(struct warn_rules, 1);
	w->l = *limits;
	w->emit = emit;
	w->user = user;
	w->persons = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, person_free);
	w->seats = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	w->tenders = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, tender_free);
	return w;
}

void warn_rules_free(struct warn_rules *w)
{
	if (!w)
		return;
	g_hash_table_destroy(w->persons);
	g_hash_table_destroy(w->seats);
	g_hash_table_destroy(w->tenders);
	g_free(w);
}

void warn_rules_set_limits(struct warn_rules *w, const struct warn_limits *limits)
{
	w->l = *limits;
}

static bool set(const char *s)
{
	return s && *s;
}

static struct person *person_get(struct warn_rules *w, const char *id)
{
	if (!set(id))
		return NULL;
	struct person *p = g_hash_table_lookup(w->persons, id);
	if (!p) {
		p = g_new0(struct person, 1);
		g_strlcpy(p->id, id, sizeof(p->id));
		p->breaks = g_array_new(FALSE, FALSE, sizeof(int64_t));
		g_hash_table_insert(w->persons, g_strdup(id), p);
	}
	return p;
}

static struct seat *seat_get(struct warn_rules *w, const char *room, const char *seat)
{
	if (!set(room) || !set(seat))
		return NULL;
	char *key = g_strdup_printf("%s/%s", room, seat);
	struct seat *s = g_hash_table_lookup(w->seats, key);
	if (!s) {
		s = g_new0(struct seat, 1);
		g_hash_table_insert(w->seats, key, s);
	} else {
		g_free(key);
	}
	return s;
}

static struct tender *tender_get(struct warn_rules *w, const char *id, int64_t at)
{
	if (!set(id))
		return NULL;
	struct tender *t = g_hash_table_lookup(w->tenders, id);
	if (!t) {
		t = g_new0(struct tender, 1);
		t->t0 = at;
		t->recent = g_array_new(FALSE, FALSE, sizeof(struct action));
		t->pairs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
		g_hash_table_insert(w->tenders, g_strdup(id), t);
	}
	return t;
}

/* The person logged in at ROOM/SEAT, or the one seen there last. */
static struct person *person_at(struct warn_rules *w, const char *room, const char *seat)
{
	struct seat *s = seat_get(w, room, seat);
	if (s && *s->person)
		return g_hash_table_lookup(w->persons, s->person);
	return NULL;
}

static void emit(struct warn_rules *w, struct warning *x)
{
	if (!x->tender)
		x->tender = "";
	if (!x->person)
		x->person = "";
	if (!x->room)
		x->room = "";
	if (!x->seat)
		x->seat = "";
	if (!x->person2)
		x->person2 = "";
	if (w->emit)
		w->emit(x, w->user);
}

/* warn_text: X's detail as alert text ID (common/alert_text.h; a text of the rule's
 * alert kind) with the N arguments that follow (strings; numbers printed in the C
 * locale), each kept in X (cut to WARN_TEXT_ARG_MAX - 1 bytes), and its English
 * rendering in X's detail. */
static void warn_text(struct warning *x, const char *id, int n, ...)
{
	const char *args[WARN_TEXT_ARGS];
	va_list ap;

	x->text_id = id;
	x->n_args = 0;
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *a = va_arg(ap, const char *);
		if (i >= WARN_TEXT_ARGS)
			continue;
		g_strlcpy(x->args[i], a ? a : "", sizeof x->args[i]);
		args[x->n_args++] = x->args[i];
	}
	va_end(ap);
	char *s = alert_text_render(id, args, (size_t)x->n_args, false);
	g_strlcpy(x->detail, s ? s : id, sizeof x->detail);
	g_free(s);
}

/* num: V printed into BUF (24 bytes). */
static const char *num(char *buf, int64_t v)
{
	snprintf(buf, 24, "%" G_GINT64_FORMAT, v);
	return buf;
}

/* real: V printed with FORMAT ("%.3f", "%.2g") in the C locale into BUF (24 bytes). */
static const char *real(char *buf, const char *format, double v)
{
	return g_ascii_formatd(buf, 24, format, v);
}

static void fmt_local(const struct warn_rules *w, int64_t at, char *buf, size_t len)
{
	GDateTime *d = g_date_time_new_from_unix_utc(at / US);
	GDateTime *l = d && w->l.tz ? g_date_time_to_timezone(d, w->l.tz) : NULL;
	char *s = g_date_time_format(l ? l : d, "%H:%M:%S %:z");
	g_strlcpy(buf, s ? s : "?", len);
	g_free(s);
	if (l)
		g_date_time_unref(l);
	if (d)
		g_date_time_unref(d);
}

/* ---- repeated leave/return, long break ---- */

static void break_started(struct warn_rules *w, struct person *p, const struct warn_event *ev)
{
	p->on_break = true;
	p->break_exit = false;
	p->long_warned = false;
	p->break_at = ev->at;
	int64_t window = w->l.breaks_window_s * US;
	g_array_append_val(p->breaks, ev->at);
	while (p->breaks->len && ev->at - g_array_index(p->breaks, int64_t, 0) > window)
		g_array_remove_index(p->breaks, 0);
	if ((int64_t)p->breaks->len <= w->l.breaks_max)
		return;
	struct warning x = {.rule = WARN_BREAKS,
	                    .tender = p->tender,
	                    .person = p->id,
	                    .room = p->room,
	                    .seat = p->seat,
	                    .places = {{p->room, p->seat}, {p->room, NULL}},
	                    .n_places = 2,
	                    .at = ev->at,
	                    .from_us = g_array_index(p->breaks, int64_t, 0),
	                    .to_us = ev->at};
	char n1[24], n2[24], n3[24];
	warn_text(&x, "warn_breaks", 6, p->id, p->seat, p->room, num(n1, p->breaks->len),
	          num(n2, w->l.breaks_window_s / 60), num(n3, w->l.breaks_max));
	emit(w, &x);
}

static void long_break(struct warn_rules *w, struct person *p, int64_t now)
{
	if (!p->on_break || p->long_warned || now - p->break_at <= w->l.break_max_s * US)
		return;
	p->long_warned = true;
	struct warning x = {.rule = WARN_LONG_BREAK,
	                    .tender = p->tender,
	                    .person = p->id,
	                    .room = p->room,
	                    .seat = p->seat,
	                    .places = {{p->room, p->seat}, {p->room, NULL}},
	                    .n_places = 2,
	                    .at = now,
	                    .from_us = p->break_at,
	                    .to_us = now};
	char since[32];
	fmt_local(w, p->break_at, since, sizeof(since));
	char n1[24];
	warn_text(&x, "warn_long_break", 5, p->id, p->seat, p->room, since,
	          num(n1, w->l.break_max_s / 60));
	emit(w, &x);
}

/* ---- synchronised actions ---- */

static void sync_action(struct warn_rules *w, struct person *p, const struct warn_event *ev)
{
	if (!set(p->tender) || !set(ev->room))
		return;
	struct tender *t = tender_get(w, p->tender, ev->at);
	int64_t win = w->l.sync_window_s * US;
	p->actions++;
	while (t->recent->len && ev->at - g_array_index(t->recent, struct action, 0).at > win)
		g_array_remove_index(t->recent, 0);
	GHashTable *counted = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; i < t->recent->len; i++) {
		struct action *a = &g_array_index(t->recent, struct action, i);
		if (strcmp(a->person, p->id) == 0 || strcmp(a->room, ev->room) == 0 ||
		    llabs(ev->at - a->at) > win || g_hash_table_contains(counted, a->person))
			continue;
		g_hash_table_add(counted, a->person);
		struct person *q = g_hash_table_lookup(w->persons, a->person);
		if (!q)
			continue;
		bool lt = strcmp(p->id, q->id) < 0;
		char *key = g_strdup_printf("%s|%s", lt ? p->id : q->id, lt ? q->id : p->id);
		struct pair *pr = g_hash_table_lookup(t->pairs, key);
		if (!pr) {
			pr = g_new0(struct pair, 1);
			pr->first = a->at;
			g_hash_table_insert(t->pairs, key, pr);
		} else {
			g_free(key);
		}
		pr->k++;
		pr->last = ev->at;
		/* Under independence over the day so far (at least an hour), the expected
		 * number of coincidences of this pair. */
		double day = (double)MAX(ev->at - t->t0, 3600 * US);
		double mean = (double)p->actions * (double)q->actions * 2.0 * (double)win / day;
		double chance = warn_poisson_tail(pr->k, mean);
		if (pr->k < w->l.sync_min || chance * 1e6 >= (double)w->l.sync_p_ppm)
			continue;
		struct warning x = {.rule = WARN_SYNC,
		                    .tender = p->tender,
		                    .person = p->id,
		                    .room = ev->room,
		                    .seat = ev->seat,
		                    .person2 = q->id,
		                    .places = {{ev->room, ev->seat}, {a->room, q->seat}},
		                    .n_places = 2,
		                    .at = ev->at,
		                    .from_us = pr->first - win,
		                    .to_us = ev->at + win};
		char n1[24], n2[24], n3[24], n4[24];
		warn_text(&x, "warn_synchronised", 9, p->id, ev->room, q->id, a->room, p->tender,
		          num(n1, w->l.sync_window_s), num(n2, pr->k), real(n3, "%.3f", mean),
		          real(n4, "%.2g", chance));
		emit(w, &x);
	}
	g_hash_table_destroy(counted);
	struct action me = {.at = ev->at};
	g_strlcpy(me.person, p->id, sizeof(me.person));
	g_strlcpy(me.room, ev->room, sizeof(me.room));
	g_array_append_val(t->recent, me);
}

/* ---- vacant seat, door opened from inside ---- */

/* WHAT: the alert text of what happened at the vacant seat ("warn_vacant_break", ...). */
static void vacant_now(struct warn_rules *w, const struct warn_event *ev, const char *what)
{
	struct warning x = {.rule = WARN_VACANT_SEAT,
	                    .tender = ev->tender,
	                    .person = ev->person,
	                    .room = ev->room,
	                    .seat = ev->seat,
	                    .places = {{ev->room, ev->seat}, {ev->room, NULL}},
	                    .n_places = 2,
	                    .at = ev->at,
	                    .from_us = ev->at - 60 * US,
	                    .to_us = ev->at + 60 * US};
	warn_text(&x, what, 2, ev->seat, ev->room);
	emit(w, &x);
}

static void vacant_tick(struct warn_rules *w, int64_t now)
{
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, w->seats);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct seat *s = v;
		if (!s->try_at || now - s->try_at <= w->l.vacant_grace_s * US)
			continue;
		char *room = g_strdup(k), *seat = strchr(room, '/');
		*seat++ = '\0';
		struct warning x = {.rule = WARN_VACANT_SEAT,
		                    .room = room,
		                    .seat = seat,
		                    .places = {{room, seat}, {room, NULL}},
		                    .n_places = 2,
		                    .at = now,
		                    .from_us = s->try_at - 60 * US,
		                    .to_us = now};
		char n1[24], n2[24];
		warn_text(&x, "warn_vacant_tries", 4, num(n1, s->tries), seat, room,
		          num(n2, w->l.vacant_grace_s));
		s->try_at = 0;
		s->tries = 0;
		emit(w, &x);
		g_free(room);
	}
}

static void rex(struct warn_rules *w, const struct warn_event *ev)
{
	GHashTableIter it;
	gpointer v;
	struct person *leaver = NULL;
	int inside = 0;
	g_hash_table_iter_init(&it, w->persons);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct person *p = v;
		if (!p->inside || strcmp(p->room, ev->room) != 0)
			continue;
		inside++;
		if ((p->on_break && !p->break_exit) || !p->logged_in)
			leaver = leaver ? leaver : p;
	}
	if (inside == 0)
		return; /* nobody of ours inside: staff, cleaning */
	if (leaver) {
		if (leaver->on_break)
			leaver->break_exit = true;
		else
			leaver->inside = false;
		return;
	}
	struct warning x = {.rule = WARN_INSIDE_EXIT,
	                    .room = ev->room,
	                    .places = {{ev->room, NULL}},
	                    .n_places = 1,
	                    .at = ev->at,
	                    .from_us = ev->at - 60 * US,
	                    .to_us = ev->at + 60 * US};
	char when[32];
	fmt_local(w, ev->at, when, sizeof(when));
	char n1[24];
	warn_text(&x, "warn_inside_exit", 3, ev->room, when, num(n1, inside));
	emit(w, &x);
}

/* ---- hours, check-in to entry ---- */

/* WHAT: the alert text of what happened outside the hours ("warn_off_hours_entered"). */
static void hours(struct warn_rules *w, struct person *p, const struct warn_event *ev,
                  const char *what)
{
	GDateTime *d = g_date_time_new_from_unix_utc(ev->at / US);
	if (!d)
		return;
	GDateTime *l = w->l.tz ? g_date_time_to_timezone(d, w->l.tz) : g_date_time_ref(d);
	int64_t min = g_date_time_get_hour(l) * 60 + g_date_time_get_minute(l);
	char *when = g_date_time_format(l, "%H:%M %:z");
	g_date_time_unref(l);
	g_date_time_unref(d);
	if (min < w->l.hours_from_min || min >= w->l.hours_to_min) {
		struct warning x = {.rule = WARN_OFF_HOURS,
		                    .tender = p->tender,
		                    .person = p->id,
		                    .room = ev->room,
		                    .seat = ev->seat,
		                    .places = {{ev->room, set(ev->seat) ? ev->seat : NULL},
		                               {ev->room, NULL}},
		                    .n_places = set(ev->seat) ? 2 : 1,
		                    .at = ev->at,
		                    .from_us = ev->at - 60 * US,
		                    .to_us = ev->at + 300 * US};
		char day[24];
		snprintf(day, sizeof day, "%02d:%02d-%02d:%02d", (int)(w->l.hours_from_min / 60),
		         (int)(w->l.hours_from_min % 60), (int)(w->l.hours_to_min / 60),
		         (int)(w->l.hours_to_min % 60));
		warn_text(&x, what, 3, p->id, when, day);
		emit(w, &x);
	}
	g_free(when);
}

static void entry(struct warn_rules *w, struct person *p, const struct warn_event *ev)
{
	bool first = !p->entered;
	p->entered = true;
	p->inside = true;
	if (set(ev->room))
		g_strlcpy(p->room, ev->room, sizeof(p->room));
	if (p->on_break)
		p->break_exit = false;
	if (!first || !p->checkin_at || ev->at - p->checkin_at <= w->l.entry_max_s * US)
		return;
	struct warning x = {.rule = WARN_ENTRY_LATE,
	                    .tender = p->tender,
	                    .person = p->id,
	                    .room = ev->room,
	                    .places = {{ev->room, NULL}},
	                    .n_places = 1,
	                    .at = ev->at,
	                    .from_us = p->checkin_at,
	                    .to_us = ev->at};
	char n1[24], n2[24];
	warn_text(&x, "warn_entry_late", 4, p->id, ev->room, num(n1, (ev->at - p->checkin_at) / US),
	          num(n2, w->l.entry_max_s));
	emit(w, &x);
}

void warn_rules_feed(struct warn_rules *w, const struct warn_event *ev)
{
	struct person *p = NULL;
	struct seat *s = seat_get(w, ev->room, ev->seat);

	warn_rules_tick(w, ev->at);
	switch (ev->kind) {
	case WIN_CHECKIN:
		if (!(p = person_get(w, ev->person)))
			return;
		p->checkin_at = ev->at;
		p->entered = false;
		if (set(ev->tender))
			g_strlcpy(p->tender, ev->tender, sizeof(p->tender));
		if (set(ev->room))
			g_strlcpy(p->room, ev->room, sizeof(p->room));
		if (set(ev->seat))
			g_strlcpy(p->seat, ev->seat, sizeof(p->seat));
		tender_get(w, p->tender, ev->at);
		hours(w, p, ev, "warn_off_hours_admitted");
		return;
	case WIN_ENTRY:
		if (!(p = person_get(w, ev->person)) || !set(ev->room))
			return;
		entry(w, p, ev);
		hours(w, p, ev, "warn_off_hours_entered");
		return;
	case WIN_REX:
		if (set(ev->room))
			rex(w, ev);
		return;
	case WIN_LOGIN:
		if (!s || !(p = person_get(w, ev->person)))
			return;
		g_strlcpy(s->person, p->id, sizeof(s->person));
		s->try_at = 0;
		s->tries = 0;
		p->logged_in = true;
		p->inside = true;
		p->on_break = false;
		if (set(ev->tender))
			g_strlcpy(p->tender, ev->tender, sizeof(p->tender));
		g_strlcpy(p->room, ev->room, sizeof(p->room));
		g_strlcpy(p->seat, ev->seat, sizeof(p->seat));
		hours(w, p, ev, "warn_off_hours_login");
		return;
	case WIN_SEAT_TRY:
		if (!s || *s->person)
			return;
		if (!s->try_at)
			s->try_at = ev->at;
		s->tries++;
		return;
	case WIN_LOGOUT:
	case WIN_BREAK_START:
	case WIN_BREAK_END:
	case WIN_HELP:
		break;
	}
	if (!s)
		return;
	p = person_at(w, ev->room, ev->seat);
	if (!p && set(ev->person) && (p = person_get(w, ev->person))) {
		/* The agent names who is at the seat: a login this engine did not see (the
		 * controller restarted since) */
		g_strlcpy(s->person, p->id, sizeof(s->person));
		p->logged_in = p->inside = true;
		if (set(ev->tender))
			g_strlcpy(p->tender, ev->tender, sizeof(p->tender));
		g_strlcpy(p->room, ev->room, sizeof(p->room));
		g_strlcpy(p->seat, ev->seat, sizeof(p->seat));
	}
	if (!p) {
		if (ev->kind == WIN_LOGOUT)
			return;
		static const char *const what[] = {[WIN_LOGOUT] = "warn_vacant_logout",
		                                   [WIN_BREAK_START] = "warn_vacant_break",
		                                   [WIN_BREAK_END] = "warn_vacant_return",
		                                   [WIN_HELP] = "warn_vacant_help"};
		vacant_now(w, ev, what[ev->kind]);
		return;
	}
	sync_action(w, p, ev);
	switch (ev->kind) {
	case WIN_LOGOUT:
		p->logged_in = false;
		p->on_break = false;
		s->person[0] = '\0';
		break;
	case WIN_BREAK_START:
		break_started(w, p, ev);
		break;
	case WIN_BREAK_END:
		long_break(w, p, ev->at);
		p->on_break = false;
		break;
	default:
		break;
	}
}

void warn_rules_tick(struct warn_rules *w, int64_t now)
{
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, w->persons);
	while (g_hash_table_iter_next(&it, NULL, &v))
		long_break(w, v, now);
	vacant_tick(w, now);
}
