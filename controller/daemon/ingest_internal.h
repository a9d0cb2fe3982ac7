/* Shared between ingest.c (reassembly, routing, writing) and ingest_group.c (group commit and
 * acknowledgement). Not for other modules: ingest.h is the interface. */
#pragma once
#include <glib.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "archive.h"
#include "controller.h"
#include "msg.h"

struct segment_meta {
	char room[MSG_ID_MAX + 1];
	char stream[MSG_ID_MAX + 1];
	int64_t seq, start_us, end_us, size;
	char sha256[65];
	bool recovered;
};

struct ingest_group;

struct ingest {
	sqlite3 *ledger;
	char *dir;            /* state_dir/ingest */
	GHashTable *partials; /* "room/stream/seq" -> struct partial */
	guint idle_timer;
	struct ingest_group *group;
};

/* segment.ack / gap ack to ROOM's agent: WHAT is "segment_seq" or "gap_id". */
void ingest_send_ack(struct controller *c, const char *room, const char *stream, const char *what,
                     int64_t id);

/* Records a stored segment in the ledger (inside the caller's transaction, if any). */
int ingest_ledger_add_segment(struct ingest *in, const struct segment_meta *m, const char *where);

struct ingest_group *ingest_group_new(void);
void ingest_group_free(struct ingest_group *g);

/* Archive NAME (A) has an open batch that the next group commit must commit. */
void ingest_group_track(struct controller *c, const char *name, struct archive *a);

/* The segment M has been written into the open batch of every archive in NAMES (each
 * tracked; TENDERS is the subset of names that are tenders). It is acknowledged once all of
 * those batches have committed. Copies what it keeps. */
void ingest_group_add(struct controller *c, const struct segment_meta *m, GPtrArray *names,
                      GPtrArray *tenders);
