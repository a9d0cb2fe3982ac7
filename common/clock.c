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
