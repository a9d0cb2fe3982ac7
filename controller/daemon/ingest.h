/* Media ingest on the controller (docs/archives.md): chunks on room/<room>/media (the
 * media bytes as payload, the metadata in MQTT 5 user properties: chunk_meta.h) are
 * validated at the edge, reassembled per (room, stream, segment_seq) in a file under
 * state_dir/ingest/ (bounded memory; a resend from offset 0 replaces a partial, and a
 * partial survives a controller restart), checked against the announced size and
 * SHA-256, routed (route.h) and written into every archive the segment belongs to (or
 * the site's retention archive), and only once durable there (group commit, ingest_group.c)
 * acknowledged with segment.ack.
 * stream.gap events go the same way. A ledger (state_dir/ingest.db) remembers what was
 * stored, so a resent segment or gap is acknowledged again and never stored twice. */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stddef.h>

#include "controller.h"

/* ingest_init: open the ledger and the reassembly directory. 0 or -errno with *err. */
int ingest_init(struct controller *c, GError **err);
void ingest_free(struct controller *c);

/* ingest_handle_chunk: one message on room/<room>/media; its user properties are read
 * through node_user_props. A bad message (an old agent's base64 JSON chunk included) is
 * refused with an error on controller/error and changes nothing. */
void ingest_handle_chunk(struct controller *c, const char *room, const void *payload, size_t len);

/* ingest_handle_gap: a validated-envelope stream.gap event of ROOM (BODY borrowed). */
void ingest_handle_gap(struct controller *c, const char *room, const struct msg_envelope *env,
                       json_t *body);

/* ingest_commit: commits the segments waiting in open archive batches now and acknowledges
 * those that became durable (normally done when the loop is idle). */
void ingest_commit(struct controller *c);

/* ingest_archive_closing: archive NAME is about to be closed: commit what waits for it;
 * what cannot commit is rolled back and not acknowledged (the agents send it again). */
void ingest_archive_closing(struct controller *c, const char *name);

/* ingest_archive_waiting: whether segments for archive NAME wait for a reader to let go. */
bool ingest_archive_waiting(struct controller *c, const char *name);
