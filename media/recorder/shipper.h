/* Ships spooled segments and gaps to the controller, oldest first, as segment.chunk
 * and stream.gap messages through a publish seam, and deletes them on segment.ack. What
 * stays unacknowledged for the ack timeout is sent again (a GLib timer on the default
 * main context), the timeout doubling on each resend up to a cap. */
#ifndef EVALROOM_SHIPPER_H
#define EVALROOM_SHIPPER_H

#include "spool.h"

#include <stddef.h>
#include <stdint.h>

struct shipper;

struct shipper_ops {
	/* Queues payload (QoS 1) on topic. Returns 0 once queued, or -errno (e.g.
	 * -ENOTCONN) if it cannot: the shipper then resumes at the same chunk on the next
	 * shipper_kick(). The payload is only borrowed for the call. */
	int (*publish)(void *ctx, const char *topic, const char *payload, size_t len);
	/* Monotonic time in microseconds for the ack timeout; NULL: g_get_monotonic_time().
	 * A test sets its own clock and calls shipper_resend_overdue() itself. */
	int64_t (*now_us)(void *ctx);
};

struct shipper_options {
	const char *room;      /* identifier; copied */
	size_t chunk_bytes;    /* data bytes per chunk; 0 = 256 KiB */
	unsigned max_inflight; /* segments published but unacknowledged; 0 = 4 */
	/* A segment or gap fully published but unacknowledged this long is sent again; the
	 * wait doubles after each resend, up to SHIPPER_ACK_TIMEOUT_CAP_MS. 0 = 30 s. */
	unsigned ack_timeout_ms;
};

#define SHIPPER_ACK_TIMEOUT_DEFAULT_MS 30000u
#define SHIPPER_ACK_TIMEOUT_CAP_MS     300000u

/* sp and ops are borrowed and must outlive the shipper. -EINVAL for a bad room, a
 * chunk size whose message would exceed 1 MiB or an ack timeout above the cap. */
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
 * timer calls it; a test with its own now_us calls it directly. Returns as
 * shipper_kick(). */
int shipper_resend_overdue(struct shipper *sh);

/* Validates a segment.ack payload completely, then deletes the acknowledged segment
 * (row first, then file) or gap. An ack for something no longer spooled is harmless
 * (returns -ENOENT). Returns -EINVAL with *errmsg (g_free()) naming the fault for a
 * malformed ack, which changes nothing. */
int shipper_handle_ack(struct shipper *sh, const char *payload, size_t len, char **errmsg);

/* The same for already-validated values. */
int shipper_ack_segment(struct shipper *sh, const char *stream, int64_t seq);
int shipper_ack_gap(struct shipper *sh, int64_t gap_id);

/* Segments currently published but unacknowledged. */
unsigned shipper_inflight(const struct shipper *sh);

/* Segments and gaps sent again after their ack timeout since shipper_new() (reconnect
 * resends are not counted). */
uint64_t shipper_resends(const struct shipper *sh);

#endif
