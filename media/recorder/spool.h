/* The recording spool: an SQLite (WAL) index of durable, unacknowledged segments,
 * explained gaps and per-stream sequence counters (schemas/sql/spool.sql). */
#ifndef EVALROOM_SPOOL_H
#define EVALROOM_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define SPOOL_NAME_MAX 64
#define SPOOL_PATH_MAX 512

struct spool;

struct spool_segment {
	char stream[SPOOL_NAME_MAX];
	int64_t seq;
	int64_t start_us;
	int64_t end_us;
	int64_t size;
	char sha256[65]; /* lower-case hex */
	char path[SPOOL_PATH_MAX];
	int recovered;
};

/* A segment that was being written; see spool_segment_begin(). */
struct spool_open_segment {
	char stream[SPOOL_NAME_MAX];
	int64_t seq;
	int64_t start_us;
	char path[SPOOL_PATH_MAX];
};

enum gap_reason {
	GAP_CAMERA_LOST,         /* the camera went away, or its stream ended or stalled */
	GAP_AGENT_RESTART,       /* the agent was not running */
	GAP_DISK_FULL,           /* the spool quota stopped recording */
	GAP_CAMERA_UNAUTHORIZED, /* the camera refused the credentials (RTSP 401) */
	GAP_CAMERA_NOT_FOUND,    /* the camera has no such stream (RTSP 404) */
	GAP_CAMERA_SILENT,       /* the camera answered but sent no media */
	GAP_STREAM_CHANGED,      /* the camera changed its codec or resolution mid-stream */
};

struct spool_gap {
	int64_t id;
	char stream[SPOOL_NAME_MAX];
	enum gap_reason reason;
	int64_t from_us;
	int64_t to_us; /* -1 while open */
};

/* Wire name of a gap reason ("camera_lost", ...); gap_reason_parse() is its inverse
 * and returns -EINVAL for an unknown name. */
const char *gap_reason_name(enum gap_reason r);
int gap_reason_parse(const char *name, enum gap_reason *out);

/* Opens (creating if needed) the spool database at db_path in WAL mode with
 * synchronous=FULL. The caller frees *out with spool_free(). Errors: -EIO (logged). */
int spool_open(const char *db_path, struct spool **out);
void spool_free(struct spool *sp);
/* Opens a second connection to the same database, for use by another thread (one
 * connection must not be shared by two threads' transactions). */
int spool_clone(struct spool *sp, struct spool **out);

/* Next sequence number for stream (1 for a new stream) and the end of its newest
 * spooled segment (-1 if none ever). */
int spool_stream_position(struct spool *sp, const char *stream, int64_t *next_seq,
                          int64_t *last_end_us);

/* Records that segment (stream, seq) is being written at path since start_us. */
int spool_segment_begin(struct spool *sp, const char *stream, int64_t seq, int64_t start_us,
                        const char *path);
/* Forgets an open segment without spooling it (its file was empty or gone). */
int spool_segment_abandon(struct spool *sp, const char *stream, int64_t seq);
/* Lists open segments of stream (all streams when stream is NULL); *out is g_free()d
 * by the caller. */
int spool_open_segments(struct spool *sp, const char *stream, struct spool_open_segment **out,
                        size_t *n);

/* Adds a closed durable segment in one transaction with its open row's removal and
 * the stream counter's advance. -EEXIST if (stream, seq) is already spooled. */
int spool_segment_add(struct spool *sp, const struct spool_segment *seg);
/* -ENOENT when absent. */
int spool_segment_get(struct spool *sp, const char *stream, int64_t seq, struct spool_segment *out);
int spool_segment_delete(struct spool *sp, const char *stream, int64_t seq);
/* Up to max oldest spooled segments (by end time); *out g_free()d by the caller. */
int spool_segment_list(struct spool *sp, size_t max, struct spool_segment **out, size_t *n);
/* Total bytes and count of spooled segments. */
int spool_segment_totals(struct spool *sp, int64_t *bytes, int64_t *count);

/* Opens a gap; its id goes to *id. */
int spool_gap_begin(struct spool *sp, const char *stream, enum gap_reason reason, int64_t from_us,
                    int64_t *id);
/* Closes gap id at to_us (clamped to its from_us). */
int spool_gap_end(struct spool *sp, int64_t id, int64_t to_us);
/* The open gap of stream (the newest if several); -ENOENT if none. */
int spool_gap_find_open(struct spool *sp, const char *stream, struct spool_gap *out);
int spool_gap_get(struct spool *sp, int64_t id, struct spool_gap *out);
int spool_gap_delete(struct spool *sp, int64_t id);
/* Up to max closed gaps, oldest first; *out g_free()d by the caller. */
int spool_gap_list_closed(struct spool *sp, size_t max, struct spool_gap **out, size_t *n);

#endif
