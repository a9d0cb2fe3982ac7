/* Evidence holds on the site's retention archives (docs/archives.md, "Evidence holds"):
 * recordings that belong to no tender are kept past [controller] retention_days while an
 * active hold of state.db's evidence_hold covers their UTC day. One mechanism for every
 * source: a witness note's evidence span (watch.c), a behaviour warning's (warnings.c), a
 * seat's recording before its person's check-in and the seal's release (archives_checkin.c,
 * archives.c); people list and release them with evalroomctl evidence holds|release
 * (evidence_holds.c). Main loop only. */
#pragma once
#include <stdint.h>

#include "controller.h"

/* retention_hold: keep every stream's recordings FROM_US..TO_US: an evidence hold of SOURCE
 * ("warning", "checkin", "draw") for TENDER ("" or NULL: none) and ALERT (0: none), WHY in
 * one line. Returns 0, or -errno when state.db did not take it (logged: the recordings are
 * then kept only as long as retention_days keeps them). */
int retention_hold(struct controller *c, const char *source, const char *tender, int64_t alert,
                   const char *why, int64_t from_us, int64_t to_us);

/* retention_hold_import: the hold files of earlier versions (archive_dir/site-YYYY-MM-DD.hold,
 * one line "WHY... FROM_US TO_US" per hold) become evidence holds, and each file is renamed
 * *.hold.imported once all its lines are stored, so none is imported twice (a file imported
 * again after a crash before its rename adds no second hold). A line that cannot be read
 * holds its file's whole day. Returns the number of holds stored. */
int retention_hold_import(struct controller *c);
