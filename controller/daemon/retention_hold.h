/* Holds on the site's retention archives (docs/archives.md, "Retention"): a day whose
 * archive holds evidence gets a site-YYYY-MM-DD.hold file beside it, one line per reason,
 * and the retention sweep (retention.c) keeps that day until an operator removes the
 * file. Used by behaviour warnings (warnings.c) and by check-ins (a seat's recording
 * before its person's check-in, archives_checkin.c). */
#pragma once
#include <stdint.h>

/* retention_hold_days: append the line "WHY FROM_US TO_US" to the hold file in
 * ARCHIVE_DIR of every UTC day from FROM_US to TO_US (created when missing). Returns 0,
 * or -errno of the first day that could not be held (logged; the others are tried). */
int retention_hold_days(const char *archive_dir, int64_t from_us, int64_t to_us, const char *why);
