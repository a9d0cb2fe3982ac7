#include "clock.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

int64_t clock_now_us(void)
{
	return g_get_real_time();
}

int64_t clock_mono_us(void)
{
	return g_get_monotonic_time();
}

char *clock_format_us(int64_t us, char *buf, size_t len)
{
	GDateTime *dt = g_date_time_new_from_unix_utc(us / G_USEC_PER_SEC);
	if (!dt) {
		snprintf(buf, len, "(invalid time %" G_GINT64_FORMAT ")", us);
		return buf;
	}
	int64_t frac = us % G_USEC_PER_SEC;
	if (frac < 0)
		frac += G_USEC_PER_SEC;
	char *s = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S");
	snprintf(buf, len, "%s.%06" G_GINT64_FORMAT "Z", s, frac);
	g_free(s);
	g_date_time_unref(dt);
	return buf;
}

int clock_parse(const char *text, int64_t *us)
{
	GTimeZone *utc = g_time_zone_new_utc();
	GDateTime *dt = g_date_time_new_from_iso8601(text, utc);
	if (!dt) {
		int y, m, d;
		char tail;
		if (sscanf(text, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3 && strlen(text) == 10)
			dt = g_date_time_new(utc, y, m, d, 0, 0, 0);
	}
	g_time_zone_unref(utc);
	if (!dt)
		return -EINVAL;
	*us = g_date_time_to_unix(dt) * G_USEC_PER_SEC + g_date_time_get_microsecond(dt);
	g_date_time_unref(dt);
	return 0;
}

/* ---- the system clock: GLib timeout sources ---- */

struct clock_timer {
	GSource *src; /* system: the timeout source (the context holds it) */
	clock_timer_fn fn;
	void *data;
	int64_t due_us; /* fake: monotonic due time */
	uint64_t order; /* fake: start order, for timers due at once */
};

static gboolean system_timer_fire(gpointer p)
{
	struct clock_timer *t = p;
	t->fn(t->data);
	return G_SOURCE_REMOVE; /* the source's destroy notify frees T */
}

static int64_t system_now_us(void *ctx)
{
	return clock_now_us();
}

static int64_t system_mono_us(void *ctx)
{
	return clock_mono_us();
}

static struct clock_timer *system_timer_start(void *ctx, GMainContext *mc, unsigned ms,
                                              clock_timer_fn fn, void *data)
{
	struct clock_timer *t = g_new0(struct clock_timer, 1);
	t->fn = fn;
	t->data = data;
	t->src = g_timeout_source_new(ms);
	g_source_set_callback(t->src, system_timer_fire, t, g_free);
	g_source_attach(t->src, mc);
	g_source_unref(t->src);
	return t;
}

static void system_timer_stop(void *ctx, struct clock_timer *t)
{
	g_source_destroy(t->src); /* frees T through the destroy notify */
}

static const struct clock_ops system_ops = {
    .now_us = system_now_us,
    .mono_us = system_mono_us,
    .timer_start = system_timer_start,
    .timer_stop = system_timer_stop,
};
static const struct clock_source system_source = {.ops = &system_ops};

static const struct clock_source *source_or_system(const struct clock_source *clk)
{
	return clk ? clk : &system_source;
}

int64_t clock_source_now_us(const struct clock_source *clk)
{
	clk = source_or_system(clk);
	return clk->ops->now_us(clk->ctx);
}

int64_t clock_source_mono_us(const struct clock_source *clk)
{
	clk = source_or_system(clk);
	return clk->ops->mono_us(clk->ctx);
}

struct clock_timer *clock_timer_start(const struct clock_source *clk, GMainContext *mc, unsigned ms,
                                      clock_timer_fn fn, void *data)
{
	clk = source_or_system(clk);
	return clk->ops->timer_start(clk->ctx, mc, ms, fn, data);
}

void clock_timer_stop(const struct clock_source *clk, struct clock_timer *t)
{
	if (!t)
		return;
	clk = source_or_system(clk);
	clk->ops->timer_stop(clk->ctx, t);
}

/* ---- the fake ---- */

struct clock_fake {
	struct clock_source source;
	int64_t wall_offset_us; /* UTC = monotonic + offset */
	int64_t mono_us;
	uint64_t started;
	GPtrArray *timers; /* struct clock_timer *, pending */
};

static int64_t fake_now_us(void *ctx)
{
	struct clock_fake *f = ctx;
	return f->mono_us + f->wall_offset_us;
}

static int64_t fake_mono_us(void *ctx)
{
	return ((struct clock_fake *)ctx)->mono_us;
}

static struct clock_timer *fake_timer_start(void *ctx, GMainContext *mc, unsigned ms,
                                            clock_timer_fn fn, void *data)
{
	struct clock_fake *f = ctx;
	struct clock_timer *t = g_new0(struct clock_timer, 1);
	t->fn = fn;
	t->data = data;
	t->due_us = f->mono_us + (int64_t)ms * 1000;
	t->order = f->started++;
	g_ptr_array_add(f->timers, t);
	return t;
}

static void fake_timer_stop(void *ctx, struct clock_timer *t)
{
	struct clock_fake *f = ctx;
	if (g_ptr_array_remove_fast(f->timers, t))
		g_free(t);
}

static const struct clock_ops fake_ops = {
    .now_us = fake_now_us,
    .mono_us = fake_mono_us,
    .timer_start = fake_timer_start,
    .timer_stop = fake_timer_stop,
};

struct clock_fake *clock_fake_new(int64_t now_us)
{
	struct clock_fake *f = g_new0(struct clock_fake, 1);
	f->source.ops = &fake_ops;
	f->source.ctx = f;
	f->mono_us = G_USEC_PER_SEC;
	f->wall_offset_us = now_us - f->mono_us;
	f->timers = g_ptr_array_new();
	return f;
}

const struct clock_source *clock_fake_source(struct clock_fake *f)
{
	return &f->source;
}

void clock_fake_advance(struct clock_fake *f, int64_t us)
{
	int64_t until = f->mono_us + us;
	for (;;) {
		struct clock_timer *next = NULL;
		for (guint i = 0; i < f->timers->len; i++) {
			struct clock_timer *t = f->timers->pdata[i];
			if (t->due_us <= until &&
			    (!next || t->due_us < next->due_us ||
			     (t->due_us == next->due_us && t->order < next->order)))
				next = t;
		}
		if (!next)
			break;
		g_ptr_array_remove_fast(f->timers, next);
		if (next->due_us > f->mono_us)
			f->mono_us = next->due_us;
		next->fn(next->data);
		g_free(next);
	}
	f->mono_us = until;
}

unsigned clock_fake_pending(const struct clock_fake *f)
{
	return f->timers->len;
}

void clock_fake_free(struct clock_fake *f)
{
	if (!f)
		return;
	for (guint i = 0; i < f->timers->len; i++)
		g_free(f->timers->pdata[i]);
	g_ptr_array_unref(f->timers);
	g_free(f);
}
