/* Verified copies of the sealed archives in the configured backup stores ([copies],
 * docs/archives.md "Verified copies"): each sealed archive is copied to every store and read
 * back from it and compared (SHA-256) before the copy counts; a copy that cannot be made
 * raises archive_copy_failed, an archive with fewer verified copies than stores
 * [copies] due_s after its seal raises archive_copies_missing, and the re-verification of
 * every copy every [copies] reverify_s (daily), read at a limited rate, raises
 * archive_copy_bad on the first copy that no longer reads back intact (it is then copied
 * again). Each verified copy and each bad one is a line in the custody log. The copying and
 * reading happen on one worker thread; decisions on the main loop, timed by c->clock. */
#pragma once
#include <glib.h>
#include <jansson.h>

#include "controller.h"

/* copies_init: the stores of [copies] stores (none: nothing to do), their state from the
 * custody log, and a first look for sealed archives lacking copies. 0 or -EINVAL with
 * *err. copies_free: waits for the copy under way (NULL-safe). */
int copies_init(struct controller *c, GError **err);
void copies_free(struct controller *c);

/* copies_on_sealed: TENDER's archive was sealed at SEALED_US: copy it now. */
void copies_on_sealed(struct controller *c, const char *tender, int64_t sealed_us);

/* copies_on_appendix: TENDER's sealed archive gained bytes after its seal (an RFC 3161
 * token, a witness log signature: appendices outside the Merkle tree): every store's copy is
 * made again from the file as it is now, read back and recorded (a new `copy` line with the
 * new SHA-256); until then the archive counts no verified copy in that store. */
void copies_on_appendix(struct controller *c, const char *tender);

/* copies_on_deleted: TENDER's archive was deleted (custody.c, after its retention): its
 * copy is removed from every store, each removal a `copy_removed` custody line (a failure
 * raises archive_copy_failed). */
void copies_on_deleted(struct controller *c, const char *tender);

/* copies_archive_json: "copies" (verified) and "copies_wanted" (stores) of NAME, added to
 * ENTRY, for a sealed archive when stores are configured. */
void copies_archive_json(struct controller *c, const char *name, json_t *entry);
