/* Custody of the sealed archives (docs/archives.md, "Custody"): the site's custody log
 * (custody_log.h) and what follows from it for each archive: its retention, its evidence
 * holds, whether it was deleted; the requests that change them (archive.hold,
 * archive.release, archive.delete) and read them (archives.custody_log). Retrieval
 * (archive.fetch) is in archive_fetch.c. Main loop only. */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "controller.h"
#include "request_handler.h"

/* Who may place and release an evidence hold: the auditors (the custodians) and the
 * supervisors (the regulator's representatives), as issue 20 asks. */
#define CUSTODY_HOLD_ROLES (ROLE_AUDITOR | ROLE_SUPERVISOR)
/* Who may fetch and delete a sealed archive: the archive custodian (an auditor identity). */
#define CUSTODY_CUSTODIAN_ROLES (ROLE_AUDITOR)

/* custody_init: opens state_dir/custody.log (its chain and signatures checked) and
 * narrows the mode of every archive file to the controller's user (0600 open, 0400
 * sealed). 0 or -errno with *err (the controller does not start on a broken log).
 * custody_free: NULL-safe. */
int custody_init(struct controller *c, GError **err);
void custody_free(struct controller *c);

/* custody_record: appends RECORD (stolen; "kind" and the record's members; time_us is
 * added) to the custody log, durably, and applies it. 0 or -EIO with *err. */
int custody_record(struct controller *c, json_t *record, GError **err);

/* custody_on_sealed: TENDER's archive was sealed at SEALED_US: its file becomes readable
 * by the controller's user only (0400) and its retention is recorded ([custody]
 * retention_days from the seal). */
void custody_on_sealed(struct controller *c, const char *tender, int64_t sealed_us);

/* custody_records: every line of the custody log in order (borrowed array). */
const json_t *custody_records(struct controller *c);

/* custody_deleted_at: the custody log's line that recorded NAME's deletion, or -1. */
int64_t custody_deleted_at(struct controller *c, const char *name);

/* custody_read_args: the arguments {tender, reason} of a custody request (a reason is
 * required: one line of plain text). 0, or -EINVAL with *err. */
int custody_read_args(const struct request *req, const char **tender, const char **reason,
                      GError **err);

/* custody_archive_present: NAME has an archive file here that was not deleted; else
 * -ENOENT with *err naming the deletion's custody log line, or saying there is none. */
int custody_archive_present(struct controller *c, const char *name, GError **err);

/* custody_archive_json: what archives.list shows of NAME's custody (retain_until_us,
 * holds), added to ENTRY. */
void custody_archive_json(struct controller *c, const char *name, json_t *entry);

/* archive.hold, archive.release, archive.delete, archives.custody_log. */
extern const struct request_handler custody_request_handlers[];
