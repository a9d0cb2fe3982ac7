/* A recorded two-way audio call between a seat and a witness's browser (docs/call.md).
 *
 * One pipeline per call: the seat's microphone (a launch fragment ending in raw audio) is
 * encoded to Opus once and goes both to the browser (webrtcbin, sendrecv) and into the
 * recording of stream NAME-seat; the browser's Opus comes back, is recorded as it came
 * into stream NAME-witness and is decoded to the seat's speaker (a launch fragment that
 * takes raw audio). Both recordings are MPEG-TS segments in the spool, shipped as every
 * other stream's are. All calls on the main loop that called call_start; the callbacks
 * come there too. */
#pragma once
#include <glib.h>

#include "live.h"
#include "spool.h"

struct call;

struct call_params {
	const char *name;       /* "call-S1": the streams NAME-seat and NAME-witness */
	const char *microphone; /* launch fragment ending in raw audio */
	const char *speaker;    /* launch fragment taking raw audio (its one unlinked sink) */
	const char *spool_dir;  /* the media spool's directory: NAME-seat/, NAME-witness/ */
	struct spool *spool;    /* borrowed; used on the main loop only */
	unsigned segment_ms;    /* segment length of both recordings */
};

struct call_events {
	/* the SDP answer to the browser's offer, or ERR (borrowed, the call only) */
	void (*answered)(void *user, const char *answer_sdp, const GError *err);
	/* a segment of either direction is durable in the spool */
	void (*segment)(void *user, const struct spool_segment *seg);
	/* the browser went away or the call failed by itself (REASON, short English); not
	 * called after call_hangup */
	void (*ended)(void *user, const char *reason);
	/* after call_hangup: both recordings are finished and spooled (the pipeline stops on
	 * a thread of its own; nothing is called after this) */
	void (*finished)(void *user);
};

/* call_stream_max: the longest call name (a stream name is at most 32 characters and
 * the longest suffix is "-witness"). */
#define CALL_NAME_MAX 24

/* call_start: start the call P (strings copied) with the browser's SDP OFFER (an Opus
 * audio section, sendrecv). Returns 0 and later calls EV->answered once, or -errno with
 * *err and no call: -EINVAL a bad name or an offer without Opus audio, -ENOTSUP missing
 * GStreamer elements, -EIO the pipeline did not start. EV and USER must outlive it. */
int call_start(const struct call_params *p, const char *offer, const struct call_events *ev,
               void *user, struct call **out, GError **err);
/* call_recover: the segments of calls (streams "call-*") that a crash or a stop left
 * open in SP, sealed with their file's modification time as their end, spooled (flagged
 * recovered) and reported to SEGMENT with USER, as the recorder does for its own streams.
 * Returns how many were spooled. */
int call_recover(struct spool *sp, void (*segment)(void *user, const struct spool_segment *seg),
                 void *user);
/* call_rebind: the callbacks of C become EV with USER from now on (e.g. before the owner
 * of the old USER goes while the last segments are still to come). */
void call_rebind(struct call *c, const struct call_events *ev, void *user);
/* call_hangup: end the call: both recordings are finished (their last segments spooled
 * and reported through EV->segment, within 3 s) and then the pipeline stops and the call
 * is freed. No callback but segment after this. */
void call_hangup(struct call *c);
