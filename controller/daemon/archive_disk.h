/* The archive disk's health: free space, the rate it is being filled and the days left at
 * that rate, watched on a timer; and archive writes that fail. Both raise alerts at once
 * (archive_disk_low, archive_disk_full, archive_write_failed) and clear them when the cause
 * has gone, so recording never stops silently because a disk filled or failed. */
#pragma once
#include <jansson.h>
#include <stdint.h>

struct controller;

/* archive_disk_init: start watching c->cfg.archive_dir every c->cfg.disk_check_s seconds
 * (a first reading at once). archive_disk_free undoes it (NULL-safe on a zeroed controller). */
void archive_disk_init(struct controller *c);
void archive_disk_free(struct controller *c);

/* archive_disk_check: read the disk now, update the rate and raise or clear the disk
 * alerts. Called by the timer; also after a write failure. */
void archive_disk_check(struct controller *c);

/* archive_disk_json: a new object {"path", "free_bytes", "total_bytes", "write_bytes_per_s",
 * "days_left"} (days_left null while nothing is being written), or NULL before the first
 * reading. */
json_t *archive_disk_json(struct controller *c);

/* archive_write_failed: a write into archive NAME (a tender's, or the site's day archive
 * "site-...") failed: WHAT was not stored ("segment E1/cam-E1 #12", "event door.event"),
 * WHY the reason. Raises archive_write_failed for that archive (once while it is open) and
 * re-reads the disk. archive_write_ok: a write into NAME succeeded: clears it. */
void archive_write_failed(struct controller *c, const char *name, const char *what,
                          const char *why);
void archive_write_ok(struct controller *c, const char *name);
