/* evalroom-warn-bench: seeded synthetic evaluation days with labelled misbehaviour, fed
 * straight into the behaviour warning rules (controller/ops/warn_rules.h, the engine the
 * controller runs, used here as a library for speed: no broker, no daemons), and each
 * rule's precision and recall, plus the false warnings per room-hour on clean days.
 *
 * usage: evalroom-warn-bench [--seed N] [--days N] [--events]
 * The same seed gives the same days and the same figures. docs/warnings.md. */
#include <glib.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warn_rules.h"

#define US        ((int64_t)G_USEC_PER_SEC)
#define ROOMS     15
#define SEATS     3 /* per room; two used, one stays empty */
#define TENDERS   6
#define EXPERTS   5 /* per tender, each in another room */
#define PEOPLE    (TENDERS * EXPERTS)
#define ZONE_S    (8 * 3600)
#define MAX_ITEMS 64

/* ---- a seeded generator (splitmix64) ---- */
static uint64_t rng_state;
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}
static double unif(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}
/* seconds in [a, b) as microseconds */
static int64_t useconds(double a, double b)
{
	return (int64_t)((a + (b - a) * unif()) * US);
}
static int pick(int n)
{
	return (int)(unif() * n);
}

/* ---- one day ---- */

enum item_kind { IT_HELP, IT_BREAK };
struct item {
	enum item_kind kind;
	int64_t at, dur; /* dur: a break's length */
};

struct person {
	char id[24], tender[24], room[24], seat[24];
	int64_t checkin, entry, login, logout;
	bool typo;
	int64_t stuck; /* > 0: a first attempt this long before the login (code trouble) */
	struct item items[MAX_ITEMS];
	int n_items;
};

struct label {
	enum warn_rule rule;
	char key[48];
	int64_t at;
	bool found;
};

struct day {
	int64_t midnight; /* UTC us of local midnight */
	struct person p[PEOPLE];
	GArray *events; /* struct ev */
	struct label labels[WARN_RULE_COUNT * 2];
	int n_labels;
	GPtrArray *strings;
};

struct ev {
	struct warn_event e;
	int order;
};

static const char *keep(struct day *d, const char *s)
{
	if (!s)
		return NULL;
	char *c = g_strdup(s);
	g_ptr_array_add(d->strings, c);
	return c;
}

static void add(struct day *d, enum warn_input k, int64_t at, const char *room, const char *seat,
                const char *person, const char *tender)
{
	struct ev x = {{k, at, keep(d, room), keep(d, seat), keep(d, person), keep(d, tender)},
	               (int)d->events->len};
	g_array_append_val(d->events, x);
}

static int64_t local(struct day *d, double hours)
{
	return d->midnight + (int64_t)(hours * 3600 * US);
}

/* Does [AT, AT + DUR] keep a minute clear of P's items? */
static bool free_at(const struct person *p, int64_t at, int64_t dur)
{
	if (at < p->login + 60 * US || at + dur > p->logout - 120 * US)
		return false;
	for (int i = 0; i < p->n_items; i++) {
		const struct item *o = &p->items[i];
		if (at < o->at + o->dur + 60 * US && o->at < at + dur + 60 * US)
			return false;
	}
	return true;
}

static void item(struct person *p, enum item_kind k, int64_t at, int64_t dur)
{
	if (p->n_items < MAX_ITEMS)
		p->items[p->n_items++] = (struct item){k, at, dur};
}

static void label(struct day *d, enum warn_rule r, const char *key, int64_t at)
{
	struct label *l = &d->labels[d->n_labels++];
	l->rule = r;
	g_strlcpy(l->key, key, sizeof(l->key));
	l->at = at;
	l->found = false;
}

static int cmp_item(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	return x->at < y->at ? -1 : x->at > y->at;
}

static int cmp_ev(const void *a, const void *b)
{
	const struct ev *x = a, *y = b;
	if (x->e.at != y->e.at)
		return x->e.at < y->e.at ? -1 : 1;
	return x->order - y->order;
}

/* Is everybody of ROOM logged in and at the seat around AT (a minute either side)? */
static bool room_all_seated(struct day *d, const char *room, int64_t at)
{
	for (int i = 0; i < PEOPLE; i++) {
		struct person *p = &d->p[i];
		if (strcmp(p->room, room) != 0)
			continue;
		if (at < p->login + 60 * US || at > p->logout - 60 * US || !free_at(p, at - 60 * US, 0))
			return false;
		for (int j = 0; j < p->n_items; j++)
			if (p->items[j].kind == IT_BREAK && at > p->items[j].at - 90 * US &&
			    at < p->items[j].at + p->items[j].dur + 90 * US)
				return false;
	}
	return true;
}

static void day_make(struct day *d, int index, bool misbehave)
{
	memset(d, 0, sizeof(*d));
	d->events = g_array_new(FALSE, FALSE, sizeof(struct ev));
	d->strings = g_ptr_array_new_with_free_func(g_free);
	/* 2026-12-07 00:00 +08:00, one day after another */
	d->midnight = (int64_t)(1796601600LL - ZONE_S + (int64_t)index * 86400) * US;

	/* seats: tender t's expert e sits in room (t + e * 3) % ROOMS, seat S1 or S2 */
	int used[ROOMS] = {0};
	for (int t = 0; t < TENDERS; t++)
		for (int e = 0; e < EXPERTS; e++) {
			struct person *p = &d->p[t * EXPERTS + e];
			int r = (t + e * 3) % ROOMS;
			snprintf(p->id, sizeof(p->id), "xp-%02d", t * EXPERTS + e);
			snprintf(p->tender, sizeof(p->tender), "T%d", t + 1);
			snprintf(p->room, sizeof(p->room), "E%d", r + 1);
			snprintf(p->seat, sizeof(p->seat), "S%d", ++used[r]);
			p->checkin = local(d, 8.0) + useconds(0, 3600);
			p->entry = p->checkin + useconds(20, 120);
			/* one in thirty has code trouble and waits for the attendant */
			p->stuck = unif() < 1.0 / 30 ? useconds(60, 600) : 0;
			p->login = p->entry + useconds(10, 60) + p->stuck;
			p->logout = local(d, 16.5) + useconds(0, 3600);
			p->typo = unif() < 0.2;
		}

	int who[5];
	/* the five people of the cases, each of another tender */
	for (int i = 0; i < 5; i++) {
	again:
		who[i] = pick(PEOPLE);
		for (int j = 0; j < i; j++)
			if (who[j] == who[i] || strcmp(d->p[who[j]].tender, d->p[who[i]].tender) == 0)
				goto again;
	}
	if (misbehave) {
		/* breaks: five short breaks within the hour */
		struct person *p = &d->p[who[0]];
		int64_t t = local(d, 10.0) + useconds(0, 4 * 3600);
		for (int k = 0; k < 5; k++) {
			int64_t dur = useconds(120, 240);
			item(p, IT_BREAK, t, dur);
			t += dur + useconds(120, 300);
		}
		label(d, WARN_BREAKS, p->id, t);
		/* a long break */
		p = &d->p[who[1]];
		t = local(d, 10.0) + useconds(0, 4 * 3600);
		item(p, IT_BREAK, t, useconds(1500, 3600));
		label(d, WARN_LONG_BREAK, p->id, t);
		/* two experts of one tender in different rooms calling for help together */
		p = &d->p[who[2]];
		int e = (who[2] % EXPERTS + 1 + pick(EXPERTS - 1)) % EXPERTS;
		struct person *q = &d->p[(who[2] / EXPERTS) * EXPERTS + e];
		int k = 2 + pick(4); /* two coincidences are too few to tell from chance */
		for (int i = 0; i < k; i++) {
			t = local(d, 9.5 + 6.5 * (i + unif() * 0.8) / k);
			item(p, IT_HELP, t, 0);
			item(q, IT_HELP, t + useconds(0, 3), 0);
		}
		char pair[48];
		bool lt = strcmp(p->id, q->id) < 0;
		snprintf(pair, sizeof(pair), "%s|%s", lt ? p->id : q->id, lt ? q->id : p->id);
		label(d, WARN_SYNC, pair, t);
		/* admitted before hours */
		p = &d->p[who[3]];
		p->checkin = local(d, 7.0) + useconds(0, 1500);
		p->entry = p->checkin + useconds(20, 120);
		p->login = p->entry + useconds(10, 60);
		label(d, WARN_OFF_HOURS, p->id, p->checkin);
		/* a long way from the desk to the door */
		p = &d->p[who[4]];
		p->entry = p->checkin + useconds(120, 900);
		p->login = p->entry + useconds(10, 60);
		label(d, WARN_ENTRY_LATE, p->id, p->entry);
	}
	/* everybody's ordinary day: a break or a help call every 100 minutes or so */
	for (int i = 0; i < PEOPLE; i++) {
		struct person *p = &d->p[i];
		int64_t t = p->login;
		for (;;) {
			t += (int64_t)(-log(1.0 - unif()) * 6000.0 * US);
			if (t > p->logout)
				break;
			bool brk = unif() < 0.75;
			/* breaks of 3-15 minutes, one in twenty of 15-30 */
			int64_t dur = !brk ? 0 : unif() < 0.05 ? useconds(900, 1800) : useconds(180, 900);
			if (free_at(p, t, dur))
				item(p, brk ? IT_BREAK : IT_HELP, t, dur);
		}
		qsort(p->items, (size_t)p->n_items, sizeof(struct item), cmp_item);
	}
	/* the events */
	for (int i = 0; i < PEOPLE; i++) {
		struct person *p = &d->p[i];
		add(d, WIN_CHECKIN, p->checkin, p->room, p->seat, p->id, p->tender);
		add(d, WIN_ENTRY, p->entry, p->room, NULL, p->id, NULL);
		if (p->typo)
			add(d, WIN_SEAT_TRY, p->login - useconds(5, 15), p->room, p->seat, NULL, NULL);
		if (p->stuck)
			add(d, WIN_SEAT_TRY, p->login - p->stuck, p->room, p->seat, NULL, NULL);
		add(d, WIN_LOGIN, p->login, p->room, p->seat, p->id, p->tender);
		for (int j = 0; j < p->n_items; j++) {
			struct item *it = &p->items[j];
			if (it->kind == IT_HELP) {
				add(d, WIN_HELP, it->at, p->room, p->seat, p->id, p->tender);
				continue;
			}
			add(d, WIN_BREAK_START, it->at, p->room, p->seat, p->id, p->tender);
			add(d, WIN_REX, it->at + useconds(5, 30), p->room, NULL, NULL, NULL);
			add(d, WIN_ENTRY, it->at + it->dur - useconds(10, 30), p->room, NULL, p->id,
			    NULL);
			add(d, WIN_BREAK_END, it->at + it->dur, p->room, p->seat, p->id, p->tender);
		}
		add(d, WIN_LOGOUT, p->logout, p->room, p->seat, p->id, p->tender);
		add(d, WIN_REX, p->logout + useconds(10, 40), p->room, NULL, NULL, NULL);
	}
	if (misbehave) {
		/* login attempts at an empty seat (every room's S3) */
		char room[24], key[48];
		snprintf(room, sizeof(room), "E%d", 1 + pick(ROOMS));
		int64_t t = local(d, 10.0) + useconds(0, 5 * 3600);
		int n = 1 + pick(3);
		for (int i = 0; i < n; i++)
			add(d, WIN_SEAT_TRY, t + i * useconds(10, 40), room, "S3", NULL, NULL);
		snprintf(key, sizeof(key), "%s/S3", room);
		label(d, WARN_VACANT_SEAT, key, t);
		/* the door opened from inside while everybody is seated */
		for (int tries = 0; tries < 1000; tries++) {
			snprintf(room, sizeof(room), "E%d", 1 + pick(ROOMS));
			t = local(d, 10.0) + useconds(0, 5 * 3600);
			if (room_all_seated(d, room, t)) {
				add(d, WIN_REX, t, room, NULL, NULL, NULL);
				label(d, WARN_INSIDE_EXIT, room, t);
				break;
			}
		}
	}
	g_array_sort(d->events, cmp_ev);
}

static void day_free(struct day *d)
{
	g_array_free(d->events, TRUE);
	g_ptr_array_unref(d->strings);
}

/* ---- running the rules and scoring ---- */

struct score {
	int64_t warnings, true_warnings, labels, found, clean_warnings;
};

struct run {
	struct day *d;
	bool misbehave;
	GHashTable *seen; /* alerts are raised once per kind and subject while open */
	struct score *s;
	bool print;
};

static bool matches(const struct label *l, const struct warning *w)
{
	if (l->rule != w->rule)
		return false;
	char key[48];
	switch (w->rule) {
	case WARN_SYNC: {
		bool lt = strcmp(w->person, w->person2) < 0;
		snprintf(key, sizeof(key), "%s|%s", lt ? w->person : w->person2,
		         lt ? w->person2 : w->person);
		return strcmp(key, l->key) == 0;
	}
	case WARN_VACANT_SEAT:
		snprintf(key, sizeof(key), "%s/%s", w->room, w->seat);
		return strcmp(key, l->key) == 0;
	case WARN_INSIDE_EXIT:
		return strcmp(w->room, l->key) == 0 && llabs(w->at - l->at) <= 60 * US;
	default:
		return strcmp(w->person, l->key) == 0;
	}
}

static void on_warning(const struct warning *w, void *user)
{
	struct run *r = user;
	char *subject = g_strdup_printf("%d|%s|%s|%s|%s", w->rule, w->tender, w->person, w->room,
	                                w->seat);
	if (w->rule == WARN_INSIDE_EXIT) { /* an event alert: resolved by an operator each time */
		char *s2 = g_strdup_printf("%s|%" PRId64, subject, w->at);
		g_free(subject);
		subject = s2;
	}
	if (!g_hash_table_add(r->seen, subject))
		return;
	if (r->print)
		printf("  %s %s: %s [evidence %" PRId64 "..%" PRId64 "]\n",
		       r->misbehave ? "day" : "clean day", warn_rule_name(w->rule), w->detail,
		       w->from_us, w->to_us);
	struct score *s = &r->s[w->rule];
	if (!r->misbehave) {
		s->clean_warnings++;
		return;
	}
	s->warnings++;
	bool hit = false;
	for (int i = 0; i < r->d->n_labels; i++)
		if (matches(&r->d->labels[i], w)) {
			r->d->labels[i].found = true;
			hit = true;
		}
	s->true_warnings += hit;
}

static void day_run(struct day *d, bool misbehave, GTimeZone *tz, struct score *s, bool print)
{
	struct warn_limits l;
	warn_limits_default(&l);
	l.tz = tz;
	struct run r = {d, misbehave, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
	                s, print};
	struct warn_rules *w = warn_rules_new(&l, on_warning, &r);
	int64_t next_tick = d->midnight;
	for (guint i = 0; i < d->events->len; i++) {
		struct ev *e = &g_array_index(d->events, struct ev, i);
		for (; next_tick < e->e.at; next_tick += 10 * US) /* the controller ticks each second */
			warn_rules_tick(w, next_tick);
		warn_rules_feed(w, &e->e);
	}
	warn_rules_tick(w, d->midnight + 24 * 3600 * US);
	warn_rules_free(w);
	g_hash_table_destroy(r.seen);
	for (int i = 0; i < d->n_labels; i++) {
		s[d->labels[i].rule].labels++;
		s[d->labels[i].rule].found += d->labels[i].found;
	}
}

int main(int argc, char **argv)
{
	gint64 seed = 2026, days = 200;
	gboolean events = FALSE;
	GOptionEntry opts[] = {
	    {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "the generator's seed (default 2026)", "N"},
	    {"days", 0, 0, G_OPTION_ARG_INT64, &days,
	     "days of each sort, clean and with misbehaviour (default 200)", "N"},
	    {"events", 0, 0, G_OPTION_ARG_NONE, &events, "print every warning", NULL},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	GOptionContext *ctx = g_option_context_new(
	    "- precision and recall of the behaviour warning rules on synthetic days");
	GError *err = NULL;
	g_option_context_add_main_entries(ctx, opts, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &err) || days < 1 || days > 100000) {
		fprintf(stderr, "evalroom-warn-bench: %s\n", err ? err->message : "--days: 1..100000");
		return 2;
	}
	g_option_context_free(ctx);
	rng_state = (uint64_t)seed;
	GTimeZone *tz = g_time_zone_new_offset(ZONE_S);
	struct score s[WARN_RULE_COUNT] = {0};
	for (int64_t i = 0; i < days; i++)
		for (int m = 0; m < 2; m++) {
			struct day *d = g_new(struct day, 1);
			day_make(d, (int)(i * 2 + m), m == 1);
			day_run(d, m == 1, tz, s, events);
			day_free(d);
			g_free(d);
		}
	g_time_zone_unref(tz);
	/* a room-hour: one of the ROOMS rooms for one hour of 07:30-18:30 */
	double room_hours = (double)days * ROOMS * 11.0;
	printf("seed %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT " clean days and %" G_GINT64_FORMAT
	       " days with one case of each rule; %d rooms, %d experts in %d tenders a day; "
	       "the engine's default limits (hours 07:30-18:30 +08:00)\n\n",
	       seed, days, days, ROOMS, PEOPLE, TENDERS);
	printf("| rule | cases | found | warnings | true | precision | recall | false warnings per "
	       "room-hour, clean days |\n|---|---|---|---|---|---|---|---|\n");
	for (int r = 0; r < WARN_RULE_COUNT; r++) {
		struct score *x = &s[r];
		printf("| %s | %" PRId64 " | %" PRId64 " | %" PRId64 " | %" PRId64
		       " | %.3f | %.3f | %.5f |\n",
		       warn_rule_name((enum warn_rule)r), x->labels, x->found, x->warnings,
		       x->true_warnings,
		       x->warnings ? (double)x->true_warnings / (double)x->warnings : 1.0,
		       x->labels ? (double)x->found / (double)x->labels : 0.0,
		       (double)x->clean_warnings / room_hours);
	}
	return 0;
}
