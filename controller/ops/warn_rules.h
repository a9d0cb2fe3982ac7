/* Behaviour warning rules: a pure engine over the day's typed events (check-ins, door
 * entries and exits, logins, breaks, help), with no I/O. The controller feeds it from the
 * live event stream (controller/daemon/warnings.c); the benchmark feeds it synthetic days
 * (bench/warn_gen.c). Every decision is taken on the events' own times and on the NOW
 * handed to warn_rules_tick, never on a clock of its own. docs/warnings.md. */
#pragma once
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

enum warn_rule {
	WARN_BREAKS,      /* "warn_breaks": more breaks than allowed within a window */
	WARN_LONG_BREAK,  /* "warn_long_break": a break longer than allowed */
	WARN_SYNC,        /* "warn_synchronised": two experts of a tender in different rooms
	                   * acting within seconds of each other more often than chance */
	WARN_VACANT_SEAT, /* "warn_vacant_seat": activity at a seat nobody is logged in to */
	WARN_INSIDE_EXIT, /* "warn_inside_exit": door opened from inside while everybody
	                   * inside is logged in at a seat */
	WARN_OFF_HOURS,   /* "warn_off_hours": admitted, entering or logging in outside hours */
	WARN_ENTRY_LATE,  /* "warn_entry_late": check-in and first door entry far apart */
	WARN_RULE_COUNT,
};

/* What the engine is told. */
enum warn_input {
	WIN_CHECKIN,     /* the desk admitted PERSON (TENDER) to ROOM/SEAT */
	WIN_ENTRY,       /* PERSON's credential opened ROOM's door */
	WIN_REX,         /* ROOM's door was opened from inside (request to exit) */
	WIN_LOGIN,       /* PERSON logged in at ROOM/SEAT */
	WIN_LOGOUT,      /* PERSON logged out at ROOM/SEAT (PERSON may be NULL: unknown) */
	WIN_BREAK_START, /* a break began at ROOM/SEAT */
	WIN_BREAK_END,   /* the break at ROOM/SEAT ended */
	WIN_HELP,        /* help pressed at ROOM/SEAT */
	WIN_SEAT_TRY,    /* a login attempt at ROOM/SEAT that did not log anyone in */
};

/* One event: AT in UTC microseconds; strings borrowed for the call, NULL when unknown. */
struct warn_event {
	enum warn_input kind;
	int64_t at;
	const char *room, *seat, *person, *tender;
};

/* The thresholds ([warnings] in controller.conf, docs/warnings.md). */
struct warn_limits {
	int64_t breaks_max;       /* more breaks than this within breaks_window_s warns (3) */
	int64_t breaks_window_s;  /* 3600 */
	int64_t break_max_s;      /* a break longer than this warns (1200) */
	int64_t sync_window_s;    /* "the same moment": within this many seconds (5) */
	int64_t sync_min;         /* at least this many coincidences of one pair (3) */
	int64_t sync_p_ppm;       /* and their chance under independence below this, in
	                           * millionths (1000 = 0.001) */
	int64_t vacant_grace_s;   /* a login attempt not followed by a login within this (120) */
	int64_t hours_from_min;   /* the day's hours, local minutes after midnight (450 = 07:30) */
	int64_t hours_to_min;     /* 1110 = 18:30 */
	int64_t entry_max_s;      /* check-in to first door entry longer than this warns (180) */
	GTimeZone *tz;            /* the zone of the hours (borrowed; NULL: UTC) */
};

/* warn_limits_default: the defaults above into *L (tz NULL). */
void warn_limits_default(struct warn_limits *l);

/* At most this many arguments of a warning's text, each at most this long with its NUL. */
#define WARN_TEXT_ARGS    9
#define WARN_TEXT_ARG_MAX 96

/* A place whose recordings are evidence (SEAT NULL: the room's own devices). */
struct warn_place {
	const char *room, *seat;
};

/* One warning as the engine emits it (all strings borrowed for the call; "" when not
 * applicable). FROM_US..TO_US and PLACES are the evidence span. */
struct warning {
	enum warn_rule rule;
	const char *tender, *person, *room, *seat;
	const char *person2; /* WARN_SYNC: the other expert */
	struct warn_place places[2];
	int n_places;
	int64_t at;               /* when the rule decided (event time or tick time) */
	int64_t from_us, to_us;
	/* What a person reads: alert text TEXT_ID (common/alert_text.h) with its N_ARGS
	 * arguments, and its English rendering (DETAIL). */
	const char *text_id;
	char args[WARN_TEXT_ARGS][WARN_TEXT_ARG_MAX];
	int n_args;
	char detail[400];
};

typedef void (*warn_emit_fn)(const struct warning *w, void *user);

struct warn_rules;

/* warn_rules_new: an engine with a copy of LIMITS (its tz borrowed: it must outlive the
 * engine) that calls EMIT(w, USER) for each warning, from within warn_rules_feed or
 * warn_rules_tick. Never NULL. warn_rules_free: NULL-safe. */
struct warn_rules *warn_rules_new(const struct warn_limits *limits, warn_emit_fn emit, void *user);
void warn_rules_free(struct warn_rules *w);
/* warn_rules_set_limits: new thresholds from now on (a configuration reload). */
void warn_rules_set_limits(struct warn_rules *w, const struct warn_limits *limits);

/* warn_rules_feed: EV happened. Events are expected in time order per room (small
 * disorder across rooms is harmless). Events missing what their kind needs are ignored. */
void warn_rules_feed(struct warn_rules *w, const struct warn_event *ev);
/* warn_rules_tick: NOW has come: decide what waits on time (long breaks, vacant seats). */
void warn_rules_tick(struct warn_rules *w, int64_t now);

/* warn_rule_name: "warn_breaks", ... ("unknown" out of range). */
const char *warn_rule_name(enum warn_rule rule);

/* warn_poisson_tail: P(X >= K) for X Poisson with mean MEAN (K >= 0). */
double warn_poisson_tail(int64_t k, double mean);
