/* The tender archive writer: one append-only, signed SQLite file per tender (.evarc).
 * The format is specified in docs/archive-format.md.
 *
 * Durability contract: every append function returns 0 only after its record is
 * committed with synchronous=FULL (fsync'd), except segments written inside a batch
 * (group commit, below), which are durable only once archive_batch_commit() returned 0.
 * Acknowledge a segment to the agent ONLY after it is durable in every archive it belongs
 * to. Any non-zero return means nothing was added; -EAGAIN in particular means a reader
 * (the auditor tool on an open file) holds the file: nothing is wrong, try again later. A
 * write waits at most 200 ms for a reader, so the caller's loop is never held up long.
 *
 * Not thread-safe: one struct archive is used from one thread (the controller's loop).
 */
#ifndef EVALROOM_ARCHIVE_H
#define EVALROOM_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "signing.h"

/* PRAGMA application_id of every .evarc file ("EVAR"). */
#define ARCHIVE_APPLICATION_ID 0x45564152
/* PRAGMA user_version: the format version this code writes; it reads (and keeps appending to)
 * every version from ARCHIVE_FORMAT_VERSION_MIN on. 2: C2SP checkpoints that chain and sign
 * the recorded key and the seal time; 3: the key history (table key_history), checkpoints
 * signed by the key current at their time (docs/archive-format.md, "Format versions"). */
#define ARCHIVE_FORMAT_VERSION     3
#define ARCHIVE_FORMAT_VERSION_MIN 1
/* Media is stored in BLOB chunks of this size (the last one of a segment may be shorter). */
#define ARCHIVE_CHUNK_SIZE (1024 * 1024)
/* segment_chunks.id = segment id * ARCHIVE_CHUNKS_PER_SEGMENT + chunk index. */
#define ARCHIVE_CHUNKS_PER_SEGMENT 1048576

struct archive;
struct archive_segment_writer;

struct archive_tender {
	const char *tender;  /* identifier, ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ */
	const char *name;    /* free text, no NUL; may be empty */
	const char *session; /* identifier, same pattern as tender */
	int64_t created_us;  /* UTC microseconds */
	const char *site;    /* the site's identifier (same pattern as tender), named in every
	                      * checkpoint's origin; NULL: ARCHIVE_DEFAULT_SITE */
};

#define ARCHIVE_DEFAULT_SITE "evalroom"

struct archive_event {
	int64_t time_us;    /* UTC microseconds, >= 0 */
	const char *kind;   /* e.g. "door.opened": [a-z0-9][a-z0-9._-]{0,63} */
	const char *source; /* e.g. "agent-R101": identifier, [A-Za-z0-9_.:/-]{1,128} */
	const char *body;   /* a JSON object, stored byte for byte */
};

struct archive_segment_info {
	const char *stream;    /* stream id, [A-Za-z0-9][A-Za-z0-9_.:/-]{0,127} */
	int64_t seq;           /* per-stream sequence number, >= 0, unique per stream */
	int64_t start_us;      /* UTC microseconds of the first and last media time */
	int64_t end_us;        /* >= start_us */
	int64_t size;          /* bytes, > 0 */
	uint8_t sha256[32];    /* SHA-256 of the segment bytes as the agent computed it */
	const char *container; /* "mpegts" */
};

struct archive_gap {
	const char *stream;
	int64_t from_us, to_us; /* to_us >= from_us */
	const char *reason;     /* free text, non-empty, no NUL */
};

/* Creates a new archive at `path` (must not exist) for `tender`, signing with `signer`
 * (borrowed; must outlive the archive). Leaf 0 of the tree records the tender metadata.
 * On success *out owns the open archive (archive_free). Returns 0, -EEXIST, -EINVAL
 * (bad metadata), -EIO (SQLite). */
int archive_create(const char *path, const struct archive_tender *tender,
                   struct archive_signer *signer, struct archive **out);

/* archive_create_signed / archive_open_signed: the same with a second signer beside the
 * Ed25519 one (SIGNER2 borrowed, NULL for none; loaded with archive_signer_load_any, e.g. an
 * SM2 key): its public key is recorded in meta.signing_pubkey2, named by every checkpoint
 * (its key2 line) and every checkpoint carries its signature too (checkpoints.signature2).
 * Reopening an archive created with a second key needs that same key (-EINVAL otherwise);
 * one created without keeps going without. */
int archive_create_signed(const char *path, const struct archive_tender *tender,
                          struct archive_signer *signer, struct archive_signer *signer2,
                          struct archive **out);
int archive_open_signed(const char *path, struct archive_signer *signer,
                        struct archive_signer *signer2, struct archive **out);

struct key_history;

/* archive_create_keyed / archive_open_keyed: the same with the controller's key history H
 * (key_history.h; NULL or empty: none). SIGNER must be H's current key. Creating copies
 * every entry of H into the archive (table key_history, leaves after leaf 0). Opening an
 * archive whose history is the beginning of H (a rotation or revocation happened since it
 * was last open) appends the entries it lacks and, in the same transaction, a checkpoint at
 * NOW_US signed by SIGNER (a version 2 file gets the table and becomes version 3); an archive
 * whose history is not the beginning of H, or whose last key is not SIGNER when H adds
 * nothing, is refused (-EINVAL, archive_errmsg says which). The history is borrowed. */
int archive_create_keyed(const char *path, const struct archive_tender *tender,
                         struct archive_signer *signer, struct archive_signer *signer2,
                         const struct key_history *h, struct archive **out);
int archive_open_keyed(const char *path, struct archive_signer *signer,
                       struct archive_signer *signer2, const struct key_history *h, int64_t now_us,
                       struct archive **out);

/* Reopens an existing, unsealed archive for appending (e.g. after a controller restart),
 * reloading its tree. Returns 0, -ENOENT, -EROFS (sealed), -EBADMSG (not an archive or
 * its leaves are inconsistent), -EIO. */
int archive_open(const char *path, struct archive_signer *signer, struct archive **out);

/* Closes the archive (no implicit checkpoint). NULL is allowed. */
void archive_free(struct archive *a);

/* The last error's human-readable text (names the field or SQLite's reason). Valid
 * until the next call on `a`. */
const char *archive_errmsg(const struct archive *a);

/* Stores the draw record JSON text exactly as given (not interpreted beyond checking it is
 * JSON) and makes it a leaf. Only once per archive: -EEXIST the second time. */
int archive_store_draw(struct archive *a, const char *record_json, int64_t time_us);

/* Appends one event as a leaf. -EINVAL names the bad field in archive_errmsg(). */
int archive_append_event(struct archive *a, const struct archive_event *ev);

/* Appends one gap as a leaf. */
int archive_append_gap(struct archive *a, const struct archive_gap *gap);

/* Appends a whole segment held in memory (data, info->size bytes). Checks the SHA-256
 * and size against `info`: -EBADMSG on mismatch, -EEXIST if (stream, seq) is present. */
int archive_append_segment(struct archive *a, const struct archive_segment_info *info,
                           const void *data);

/* Streaming form of archive_append_segment: begin, write the bytes in any pieces, then
 * commit (durable on 0) or abort. While a segment is open every other append returns
 * -EBUSY. commit and abort always free *w. */
int archive_segment_begin(struct archive *a, const struct archive_segment_info *info,
                          struct archive_segment_writer **w);
int archive_segment_write(struct archive_segment_writer *w, const void *data, size_t len);
int archive_segment_commit(struct archive_segment_writer *w);
void archive_segment_abort(struct archive_segment_writer *w);

/* Group commit. Between archive_batch_begin() and archive_batch_commit() the segments
 * appended (archive_append_segment or the streaming form) share one transaction: one set of
 * fsyncs for all of them instead of one per segment. Inside a batch a segment's call returns
 * 0 once it is staged, NOT durable; a failed segment undoes only itself.
 * Any other append (event, gap, draw, checkpoint, seal) first commits the open batch, so it
 * is durable on its own return; if that implicit commit fails the batch is rolled back and
 * the next archive_batch_commit() reports it.
 *
 * archive_batch_begin: opens a batch (0 if one is already open). -EROFS, -EBUSY, -EIO.
 * archive_batch_commit: makes the batch durable. 0 = every segment staged since the last
 *   archive_batch_commit() that returned non-zero is durable (acknowledge them); -EAGAIN = a
 *   reader (the auditor tool) holds the file: nothing lost, the batch stays open, call again
 *   later (it never waits); -EIO = the batch was rolled back (or an implicit commit failed):
 *   acknowledge none of them. With no batch open it returns 0, or the implicit failure.
 * archive_batch_abort: rolls the open batch back.
 * archive_free() with a batch open rolls it back. */
int archive_batch_begin(struct archive *a);
int archive_batch_commit(struct archive *a);
void archive_batch_abort(struct archive *a);
int archive_batch_open(const struct archive *a);

/* The controller commits a batch when its loop has nothing else to do, when the batch holds
 * this many bytes, or ARCHIVE_BATCH_MAX_MS after its first segment, whichever comes first.
 * The byte bound matters only for a backlog (segments arriving faster than the disk takes
 * them): a commit costs 7 fsyncs of the journal, the directory and the file whatever its
 * size, so a backlog goes in large commits; the time bound still caps an acknowledgement's
 * wait. */
#define ARCHIVE_BATCH_MAX_BYTES (64 * 1024 * 1024)
#define ARCHIVE_BATCH_MAX_MS    250

/* Signs and stores a checkpoint over the whole tree as of now (time_us). */
int archive_checkpoint(struct archive *a, int64_t time_us);

/* Cheap form for the caller's periodic (1 min) timer: checkpoints only if leaves were
 * added since the last checkpoint. Returns 1 when one was written, 0 when nothing
 * changed, or -errno. */
int archive_checkpoint_if_changed(struct archive *a, int64_t time_us);

/* archive_on_checkpoint: FN(USER, tender, size, root, time_us) is called after each
 * checkpoint of A is durable (the final one of archive_seal too, after its commit), so the
 * caller can publish the root outside the file (the site's root log, rootlog.h). The
 * checkpoint archive_open_keyed signed with a new key is announced when FN is set. */
typedef void (*archive_checkpoint_fn)(void *user, const char *tender, uint64_t size,
                                      const uint8_t root[32], int64_t time_us);
void archive_on_checkpoint(struct archive *a, archive_checkpoint_fn fn, void *user);
/* Seals: appends an "archive.sealed" event, writes the final checkpoint, removes the
 * rollback journal beside it (a single self-contained file) and makes it read-only (0444).
 * Every later append returns -EROFS. */
int archive_seal(struct archive *a, int64_t time_us);

/* Number of leaves in the tree, and the current root (for tests and the controller's log). */
uint64_t archive_tree_size(const struct archive *a);
void archive_tree_root(const struct archive *a, uint8_t root[32]);

/* archive_append_cosignature: stores a cosignature (cosignature.h; checked by the caller) in
 * the appendix table of the open archive A, on its own connection, after committing an open
 * batch. Not a leaf: the tree and its checkpoints stay as they are. -EROFS when sealed (use
 * cosig_store_file), -EAGAIN when a reader holds the file, -EIO; archive_errmsg says why. */
struct cosignature;
int archive_append_cosignature(struct archive *a, const struct cosignature *cs);

#endif
