/* The controller's tender archives (one .evarc per tender, docs/archives.md): created
 * when the tender is added, fed with the draw record, the events that concern the tender
 * and the routed media, checkpointed every minute while open, sealed by tender.close.
 * The site's retention archives (retention.c) are kept here too. Main loop only. */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdint.h>

#include "archive.h"
#include "controller.h"
#include "request_handler.h"

/* archives_init: load the signing key ([controller] signing_key), create archive_dir
 * and start the one-minute checkpoint timer. Returns 0 or -errno with *err. */
int archives_init(struct controller *c, GError **err);
/* archives_free: final checkpoint of every open archive (if it changed), then close. */
void archives_free(struct controller *c);

/* archives_path: the file of archive NAME (a tender id or "site-YYYY-MM-DD"); g_free. */
char *archives_path(struct controller *c, const char *name);

/* archives_public_pem: the public half of the archives' signing key, as PEM; g_free. */
char *archives_public_pem(struct controller *c);

/* archives_get: the open archive of TENDER (borrowed), created (metadata from state.db)
 * or reopened on first use. -ENOENT no such tender, -EROFS sealed (never reopened for
 * writing), -EIO/-EBADMSG the file cannot be used; *err says which. */
int archives_get(struct controller *c, const char *tender, struct archive **out, GError **err);

/* archives_obtain: archive NAME, open already, reopened, or created with META; -EROFS
 * when it is sealed. archives_close: close it (if open) without a checkpoint. */
int archives_obtain(struct controller *c, const char *name, const struct archive_tender *meta,
                    struct archive **out, GError **err);
void archives_close(struct controller *c, const char *name);

/* archive_timestamp.c. archives_timestamp_sealed: with [controller] tsa_url set, asks that
 * TSA for an RFC 3161 timestamp of sealed TENDER's final checkpoint (its file PATH) on a
 * worker thread and stores it there; logs the outcome, and raises archive_write_failed
 * when it could not be had (the tender stays sealed; the token can be added later). */
void archives_timestamp_sealed(struct controller *c, const char *tender, const char *path);

/* retention.c. archives_retention: the site's retention archive for the UTC day of AT_US
 * (borrowed), created on first use; its name ("site-YYYY-MM-DD") into NAME. */
int archives_retention(struct controller *c, int64_t at_us, struct archive **out, char name[32],
                       GError **err);
/* retention_start / retention_stop: the hourly sweep that deletes retention archives of
 * days older than [controller] retention_days (0, the default: keep them all). */
void retention_start(struct controller *c);
void retention_stop(struct controller *c);

/* archives_day_event: append an event (BODY stolen) to the archive of every open tender
 * of today's open session (local date): what concerns the day as a whole, such as a
 * watcher's console page open or entry into their own room. The ids written are
 * appended to WRITTEN (may be NULL). Returns how many archives took it. */
int archives_day_event(struct controller *c, int64_t at_us, const char *kind, const char *source,
                       json_t *body, json_t *written);

/* archives_review: the review of TENDER's SUBJECT (review.h) by BY at AT_US with NOTE,
 * signed with the archive key, appended to the archive's appendix (sealed or not; its
 * copies are made again after a seal). 0 or -errno with *why (new). */
int archives_review(struct controller *c, const char *tender, const char *subject, const char *by,
                    int64_t at_us, const char *note, char **why);

/* archives_event: append an event (BODY stolen, a JSON object) to TENDER's archive.
 * A sealed archive refuses it: logged. Returns 0 or -errno (logged). */
int archives_event(struct controller *c, const char *tender, int64_t at_us, const char *kind,
                   const char *source, json_t *body);

/* Hooks. archives_after_request: an answered operator request (ERR NULL = done):
 * tender.add creates the archive, draw.run stores the draw record in each tender's
 * archive of the session, and every audited request that names a tender (or a
 * person of one) becomes an "operator.<command>" event there.
 * archives_on_agent_event: a recorded agent event of ROOM (door.*, seat.*), BODY the
 * validated message (borrowed, not changed), becomes an event in the archive of every
 * tender with someone in the room. */
void archives_after_request(struct controller *c, const struct request *req, const json_t *result,
                            const GError *err);
void archives_on_agent_event(struct controller *c, const char *room, const char *kind, int64_t ts,
                             json_t *body);

/* archives_on_checkin: a done desk.checkin (RESULT: person, session, tender, room, seat)
 * becomes a "recording.checkin" event in the tender's archive: the seat's and the room's
 * streams, which reach that archive from the check-in on, and the site's retention
 * archives that hold what they recorded since the draw seated the person (the seat map
 * is sealed until check-in); those days get a retention hold (retention_hold.h). */
void archives_on_checkin(struct controller *c, const json_t *result);

/* archives_on_alert: an alert_hook_fn (alerts.h on h/alerts; register it with
 * alerts_set_hook(c, archives_on_alert, NULL)): every change of an alert ("raised",
 * "repeated", "acknowledged", "resolved") becomes an "alert.<change>" event in the
 * archive of its tender, or, for an alert about a room, of every tender with someone
 * in that room. */
void archives_on_alert(struct controller *c, const char *change, const json_t *alert, void *user);

/* tender.close {tender, wait_s?} and archives.list {}: see docs/archives.md. */
extern const struct request_handler archives_request_handlers[];

/* archives_sealed_at: when TENDER's archive was sealed (UTC us), 0 when not known to be. */
int64_t archives_sealed_at(struct controller *c, const char *tender);

/* archives_file_sealed_us: the seal time written in the sealed file at PATH (its meta row),
 * read without the writer; 0 when not sealed or unreadable. */
int64_t archives_file_sealed_us(const char *path);

/* archives_count_segment: one segment was stored in TENDER's archive (tender.close
 * reports how many arrived while it waited for the agents). */
void archives_count_segment(struct controller *c, const char *tender);

/* archives_seal_waiting: a new array of the tenders (by id) whose seal waits for rooms of
 * VENUE (tender.close: a secondary venue's rooms that have not confirmed their flush). */
json_t *archives_seal_waiting(struct controller *c, const char *venue);
