/* A backup store for sealed archives (docs/archives.md, "Verified copies"): where the
 * controller keeps its copies, behind one small seam so that a directory (another disk, a
 * mounted NAS) and an S3-compatible object store are used the same way.
 *
 * Called from the copies worker thread only (never the main loop): each call may block for
 * as long as the transfer takes. Errors are -errno with *err naming the store and the cause;
 * -ENOSPC when the store is full. */
#pragma once
#include <glib.h>
#include <stddef.h>
#include <stdint.h>

/* copy_store_sink: receives the bytes of an object as they are read, in order; 0 to go
 * on, -errno to stop (the read returns it). */
typedef int (*copy_store_sink)(void *user, const void *buf, size_t len);

struct copy_store_ops {
	/* put: store the file at SRC_PATH as object NAME (e.g. "T.evarc"), durably, replacing
	 * an earlier object of that name only once the new one is complete. A directory
	 * writes NAME.tmp, fsyncs, renames and fsyncs the directory; an S3 store would PUT
	 * (multipart above its part size) to <prefix>/NAME and take success only from the
	 * final 200 with the ETag of the bytes it sent. */
	int (*put)(void *ctx, const char *name, const char *src_path, GError **err);
	/* read: read object NAME back from the store itself (not a cache of this process),
	 * handing the bytes to SINK. A directory drops the file's page cache first
	 * (posix_fadvise DONTNEED) so the bytes come from the device; S3 would GET it. */
	int (*read)(void *ctx, const char *name, copy_store_sink sink, void *user, GError **err);
	/* remove: delete object NAME (0 when it is not there). S3: DELETE; under object lock
	 * the store refuses until its own retention ends, which is reported like any error. */
	int (*remove)(void *ctx, const char *name, GError **err);
	void (*free)(void *ctx);
};

struct copy_store {
	const struct copy_store_ops *ops;
	void *ctx;
	char *label; /* how people know it: the directory, or the bucket URL */
};

/* copy_store_dir_new: a store in directory DIR (absolute; created 0700 when missing at the
 * first put). Free with copy_store_free. */
struct copy_store *copy_store_dir_new(const char *dir);
void copy_store_free(struct copy_store *s);
