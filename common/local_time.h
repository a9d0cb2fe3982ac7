/* Times for people: shown in the site's time zone with the zone written out; the
 * protocol, archives, databases and logs keep UTC (clock.h). */
#pragma once
#include <glib.h>
#include <stddef.h>
#include <stdint.h>

/* The zone people read times in unless configured otherwise. */
#define LOCAL_TIME_ZONE_DEFAULT "Asia/Shanghai"

/* local_time_zone_new: the zone named ZONE (an IANA name such as "Asia/Shanghai", or an
 * offset such as "+08:00"); if ZONE is NULL or empty, $EVALROOM_TIME_ZONE, else
 * Asia/Shanghai (UTC+08:00, no daylight saving, also without tzdata). Returns a new
 * reference, or NULL with *err naming the unknown zone. */
GTimeZone *local_time_zone_new(const char *zone, GError **err);

/* local_time_format: UTC_US (microseconds since the epoch) in TZ as
 * "2026-12-07 19:20:05 +08:00" into BUF (LEN bytes, at least 32); TIME_ONLY leaves the
 * date out ("19:20:05 +08:00"). Returns BUF. */
char *local_time_format(GTimeZone *tz, int64_t utc_us, int time_only, char *buf, size_t len);

/* local_time_parse: a time a person typed, TEXT, into UTC microseconds *US: an ISO 8601
 * date-time ("2026-12-07T19:20", a space instead of the T too) read in TZ unless it names
 * its own zone ("Z", "+08:00"), or a date ("2026-12-07": midnight in TZ). Returns 0, or
 * -EINVAL when TEXT is neither. */
int local_time_parse(GTimeZone *tz, const char *text, int64_t *us);
