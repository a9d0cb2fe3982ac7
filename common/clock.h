/* Time: UTC microseconds since the Unix epoch everywhere in the protocol and databases. */
#pragma once
#include <glib.h>
#include <stddef.h>
#include <stdint.h>

/* clock_now_us: wall-clock UTC time in microseconds. */
int64_t clock_now_us(void);

/* clock_mono_us: monotonic time in microseconds (for timeouts, never stored). */
int64_t clock_mono_us(void);

/* clock_format_us: ISO 8601 UTC with microseconds ("2026-11-25T08:00:00.000000Z")
 * into buf (at least 32 bytes). Returns buf. */
char *clock_format_us(int64_t us, char *buf, size_t len);

/* clock_parse: ISO 8601 date-time (with zone, or UTC if none) or a plain date
 * (YYYY-MM-DD, midnight UTC) into UTC microseconds. Returns 0 or -EINVAL. */
int clock_parse(const char *text, int64_t *us);

/* ---- the clock seam ----
 *
 * Code that decides by time (the door's pulse and held-open timers, command expiry,
 * alert grace periods) asks a clock_source instead of the system, so a test can hand it
 * clock_fake and move time forward without sleeping. A NULL source is the system clock
 * (wall clock, monotonic clock and GLib timeout sources on the given main context). */
struct clock_timer;
typedef void (*clock_timer_fn)(void *data);

struct clock_ops {
	int64_t (*now_us)(void *ctx);  /* UTC microseconds */
	int64_t (*mono_us)(void *ctx); /* monotonic microseconds */
	/* One call of FN(DATA) after MS milliseconds, on main context MC (NULL: default). */
	struct clock_timer *(*timer_start)(void *ctx, GMainContext *mc, unsigned ms,
	                                   clock_timer_fn fn, void *data);
	/* Cancel a timer that has not fired; a timer that fired is gone by itself. */
	void (*timer_stop)(void *ctx, struct clock_timer *t);
};

struct clock_source {
	const struct clock_ops *ops;
	void *ctx;
};

/* clock_source_now_us / clock_source_mono_us: CLK's time (NULL: the system's). */
int64_t clock_source_now_us(const struct clock_source *clk);
int64_t clock_source_mono_us(const struct clock_source *clk);
/* clock_timer_start: FN(DATA) once, MS milliseconds from now by CLK, on MC. The timer
 * belongs to CLK: after it fired the caller forgets it; before, clock_timer_stop cancels
 * it. Never NULL. */
struct clock_timer *clock_timer_start(const struct clock_source *clk, GMainContext *mc, unsigned ms,
                                      clock_timer_fn fn, void *data);
/* clock_timer_stop: cancel T (NULL: nothing) that has not fired yet. */
void clock_timer_stop(const struct clock_source *clk, struct clock_timer *t);

/* ---- clock_fake: time that moves only when told (tests) ---- */
struct clock_fake;
/* clock_fake_new: a fake clock at UTC NOW_US (monotonic time starts at 1 s). */
struct clock_fake *clock_fake_new(int64_t now_us);
/* clock_fake_source: its clock_source (owned by the fake). */
const struct clock_source *clock_fake_source(struct clock_fake *f);
/* clock_fake_advance: move time forward by US, firing every timer that falls due, in
 * due order, each at its own due time (a timer started by a callback fires in the same
 * call if it falls due within US). */
void clock_fake_advance(struct clock_fake *f, int64_t us);
/* clock_fake_pending: timers started and neither fired nor stopped. */
unsigned clock_fake_pending(const struct clock_fake *f);
/* clock_fake_free: frees F and its pending timers (none fires). */
void clock_fake_free(struct clock_fake *f);
