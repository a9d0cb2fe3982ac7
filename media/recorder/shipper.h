/* Ships spooled segments and gaps to the controller, oldest first, through a publish seam:
 * a segment as chunks (the media bytes as payload, the metadata as MQTT 5 user properties:
 * chunk_meta.h), a gap as a stream.gap message; deletes them on the controller's
 * acknowledgement (a segment.ack the agent has validated). What
 * stays unacknowledged for the ack timeout is sent again (a timer on the shipper's clock,
 * clock.h: the system's runs on the default main context), the timeout doubling on each
 * resend up to a cap. */
#ifndef EVALROOM_SHIPPER_H
#define EVALROOM_SHIPPER_H

#include "spool.h"

#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "mqtt_session.h"
#include "seq.h"

struct shipper;

struct shipper_ops {
	/* Queues payload (QoS 1) on topic with the user properties PROPS[0..N) (none for a
	 * JSON message). Returns 0 once queued, or -errno (e.g. -ENOTCONN) if it cannot: the
	 * shipper then resumes at the same chunk on the next shipper_kick(). Payload and
	 * properties are only borrowed for the call. */
	int (*publish)(void *ctx, const char *topic, const void *payload, size_t len,
	               const struct mqtt_user_prop *props, size_t n);
};

struct shipper_options {
	const char *room;         /* identifier; copied */
	struct seq_counter *seq;  /* the sender's sequence numbers (borrowed); NULL: its own */
	size_t chunk_bytes;       /* media bytes per chunk; 0 = 256 KiB, at most 1 MiB */
	unsigned max_inflight; /* segments published but unacknowledged; 0 = 4 */
	/* A segment or gap fully published but unacknowledged this long is sent again; the
	 * wait doubles after each resend, up to SHIPPER_ACK_TIMEOUT_CAP_MS. 0 = 30 s. */
	unsigned ack_timeout_ms;
	/* The clock of the ack timeouts (borrowed, must outlive the shipper); NULL: the
	 * system's. A test hands it clock_fake and moves time without sleeping. */
	const struct clock_source *clock;
	/* The media rate in kbit/s (chunk payloads; gaps are not counted): a token bucket
	 * of one chunk's bytes, refilled at this rate on CLOCK; a chunk waits (a timer on
	 * CLOCK kicks again) until the bucket holds it. 0 = no limit. */
	unsigned media_kbit;
};

#define SHIPPER_ACK_TIMEOUT_DEFAULT_MS 30000u
#define SHIPPER_ACK_TIMEOUT_CAP_MS     300000u

/* sp and ops are borrowed and must outlive the shipper. -EINVAL for a bad room, a
 * chunk size above CHUNK_MAX_BYTES or an ack timeout above the cap. */
int shipper_new(struct spool *sp, const struct shipper_ops *ops, void *ctx,
                const struct shipper_options *opt, struct shipper **out);
void shipper_free(struct shipper *sh);

/* Publishes closed gaps, then continues or starts segments while fewer than
 * max_inflight are unacknowledged. Call after a new segment or gap, after an ack and
 * after a reconnect. Returns 0, or the publish error that stopped it. */
int shipper_kick(struct shipper *sh);

/* After a reconnect: every unacknowledged segment starts again from offset 0 and every
 * unacknowledged gap is sent again (receivers dedupe by stream and number) at the next
 * shipper_kick(). Each keeps its current ack timeout. */
void shipper_reset_inflight(struct shipper *sh);

/* Sends again, from offset 0, every segment or gap whose ack timeout has passed (one
 * warning each, naming it and its resend count), doubles its timeout up to the cap, then
 * kicks. A segment no longer spooled is dropped from the window instead. The shipper's
 * timer calls it (a publish error is then retried by the next kick). Returns as
 * shipper_kick(). */
int shipper_resend_overdue(struct shipper *sh);

/* An acknowledged segment of STREAM: deletes it (row first, then file). An ack for
 * something no longer spooled is harmless (returns -ENOENT). The caller has validated the
 * segment.ack it came in. */
int shipper_ack_segment(struct shipper *sh, const char *stream, int64_t seq);
/* An acknowledged gap of STREAM: deletes it; -ENOENT when no longer spooled, -EINVAL
 * (nothing changes) when the gap belongs to another stream. */
int shipper_ack_gap(struct shipper *sh, const char *stream, int64_t gap_id);

/* Chunk payload bytes published since shipper_new() (resends included). */
uint64_t shipper_bytes_sent(const struct shipper *sh);

/* Segments currently published but unacknowledged. */
unsigned shipper_inflight(const struct shipper *sh);

/* Segments and gaps sent again after their ack timeout since shipper_new() (reconnect
 * resends are not counted). */
uint64_t shipper_resends(const struct shipper *sh);

#endif
