/* Recording of a room's streams: one GStreamer pipeline per stream cutting MPEG-TS
 * segments into the spool, health supervision, gaps and the spool quota. Runs on the
 * caller's GLib main loop (the default context). */
#ifndef EVALROOM_RECORDER_H
#define EVALROOM_RECORDER_H

#include "clock.h"
#include "live.h"
#include "recorder_config.h"
#include "spool.h"

struct recorder;

enum stream_state { STREAM_STARTING, STREAM_RECORDING, STREAM_LOST, STREAM_STOPPED };

struct stream_status {
	const char *stream;
	enum stream_state state;
	int64_t last_buffer_us; /* UTC µs of the newest buffer, -1 if none yet */
	int64_t bitrate_bps;    /* over the last report interval */
	const char *reason;     /* why lost/stopped ("camera_lost", "disk_full", ...), or NULL */
	bool live_audio;        /* a live viewer can hear it (Opus; live.h) */
};

enum space_level { SPACE_OK, SPACE_LOW, SPACE_FULL };

struct space_report {
	enum space_level level;
	int64_t used_bytes;  /* spooled + being written */
	int64_t quota_bytes; /* 0 = none */
	int64_t fs_free_bytes;
};

/* Owner's callbacks, all called on the main loop; pointers are valid during the call
 * only. Any may be NULL. */
struct recorder_events {
	/* A segment is durable and spooled. */
	void (*segment)(void *ctx, const struct spool_segment *seg);
	/* A state change, and periodically while recording. */
	void (*state)(void *ctx, const struct stream_status *st);
	/* A gap opened (to_us == -1) or closed. */
	void (*gap)(void *ctx, const struct spool_gap *gap);
	/* The space level changed. */
	void (*space)(void *ctx, const struct space_report *rep);
	/* A live viewer ended by itself (its browser went away; live.h). */
	live_ended_fn live_ended;
};

/* Creates a recorder for cfg (borrowed: must outlive it) spooling into sp (borrowed).
 * Creates the stream directories. Errors: -errno. Free with recorder_free(). */
int recorder_new(const struct recorder_config *cfg, struct spool *sp,
                 const struct recorder_events *ev, void *ctx, struct recorder **out);

/* recorder_set_clock: the clock of the recorder's timeouts (a stream's lost timeout, its
 * restart back-off, the EOS wait, the health and space checks): CLK (borrowed, must
 * outlive the recorder; NULL: the system's, timers on the default main context). Call
 * before recorder_start(); a test hands it clock_fake and moves time without sleeping. */
void recorder_set_clock(struct recorder *rec, const struct clock_source *clk);

/* Recovers partial segments left by a crash, records agent_restart gaps, and starts
 * every stream's pipeline. */
int recorder_start(struct recorder *rec);

/* Finishes every stream's current segment (EOS, waiting up to 3 s each) and stops;
 * the final segments are spooled and reported before it returns. */
void recorder_stop(struct recorder *rec);

/* Re-evaluates the space level now (e.g. after the shipper freed segments). */
void recorder_check_space(struct recorder *rec);

void recorder_free(struct recorder *rec);

/* recorder_live_offer: a live viewer VIEWER of STREAM's video with the browser's SDP
 * OFFER; the answer comes to CB on the main loop (live_tap_offer, live.h). -ENOENT with
 * *err for a stream not configured here. The recording is not touched by viewers. */
int recorder_live_offer(struct recorder *rec, const char *stream, const char *viewer,
                        const char *offer, live_answer_fn cb, void *user, GError **err);
/* recorder_live_close: end VIEWER, whichever stream it watches; -ENOENT if none. */
int recorder_live_close(struct recorder *rec, const char *viewer);
/* recorder_live_viewers: live viewers of all streams. */
unsigned recorder_live_viewers(struct recorder *rec);

const char *stream_state_name(enum stream_state s);
const char *space_level_name(enum space_level l);

#endif
