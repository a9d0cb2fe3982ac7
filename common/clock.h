/* Time: UTC microseconds since the Unix epoch everywhere in the protocol and databases. */
#pragma once
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
