#include "local_time.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

GTimeZone *local_time_zone_new(const char *zone, GError **err)
{
	if (!zone || !*zone)
		zone = g_getenv("EVALROOM_TIME_ZONE");
	if (!zone || !*zone)
		zone = LOCAL_TIME_ZONE_DEFAULT;
	GTimeZone *tz = g_time_zone_new_identifier(zone);
	if (!tz && strcmp(zone, LOCAL_TIME_ZONE_DEFAULT) == 0)
		tz = g_time_zone_new_identifier("+08:00"); /* China keeps no daylight saving */
	if (!tz)
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		            _("unknown time zone \"%s\" (an IANA name such as Asia/Shanghai, or an "
		              "offset such as +08:00)"),
		            zone);
	return tz;
}

char *local_time_format(GTimeZone *tz, int64_t utc_us, int time_only, char *buf, size_t len)
{
	GDateTime *utc = g_date_time_new_from_unix_utc(utc_us / G_USEC_PER_SEC);
	GDateTime *t = utc ? g_date_time_to_timezone(utc, tz) : NULL;
	char *s =
	    t ? g_date_time_format(t, time_only ? "%H:%M:%S %:z" : "%Y-%m-%d %H:%M:%S %:z") : NULL;
	g_strlcpy(buf, s ? s : "?", len);
	g_free(s);
	if (t)
		g_date_time_unref(t);
	if (utc)
		g_date_time_unref(utc);
	return buf;
}

int local_time_parse(GTimeZone *tz, const char *text, int64_t *us)
{
	char buf[64];
	GDateTime *dt = NULL;
	int y, m, d;
	char tail;

	if (!text || strlen(text) >= sizeof(buf))
		return -EINVAL;
	g_strlcpy(buf, text, sizeof(buf));
	if (strlen(buf) > 10 && buf[10] == ' ')
		buf[10] = 'T';
	if (sscanf(buf, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3 && strlen(buf) == 10)
		dt = g_date_time_new(tz, y, m, d, 0, 0, 0);
	else
		dt = g_date_time_new_from_iso8601(buf, tz);
	if (!dt)
		return -EINVAL;
	*us = g_date_time_to_unix(dt) * G_USEC_PER_SEC + g_date_time_get_microsecond(dt);
	g_date_time_unref(dt);
	return 0;
}
