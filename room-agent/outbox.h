/* The agent's event outbox: every event is made durable (SQLite, synchronous=FULL)
 * before it is published, kept until the controller acknowledges it, and published again
 * in order after a reconnect or a restart, and while connected when it stays
 * unacknowledged (outbox_resend_due). The controller records events by (agent, seq), so
 * a replay is harmless. */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdint.h>

#include "mqtt_session.h"

struct outbox;

/* outbox_open: open or create PATH. OPS/CTX publish (borrowed). NULL with *err. */
struct outbox *outbox_open(const char *path, const struct mqtt_ops *ops, void *ctx, GError **err);
void outbox_close(struct outbox *o);
/* outbox_push: queue MSG (an enveloped message; its `seq` is the key) for TOPIC. From the
 * main loop, right after the current handler, queued events are stored (one transaction)
 * and then published if connected; a storage failure is logged and the events are
 * published anyway (not lost while the connection holds). Returns 0. */
int outbox_push(struct outbox *o, const char *topic, const json_t *msg);
/* outbox_set_connected: on a (re)connect, publish everything unacknowledged in order. */
void outbox_set_connected(struct outbox *o, bool connected);
/* outbox_ack: the controller holds every event up to and including SEQ (`events.ack
 * {upto}` from an older controller). */
void outbox_ack(struct outbox *o, uint64_t seq);
/* outbox_ack_seqs: the controller holds exactly the N events SEQS (`events.ack {seqs}`);
 * the others stay, whatever their seq. */
void outbox_ack_seqs(struct outbox *o, const uint64_t *seqs, size_t n);
/* outbox_resend_due: while connected, publish again every stored event last published
 * more than OUTBOX_RESEND_AFTER_ACK_US before NOW_US (monotonic) when a later event has
 * been acknowledged (the broker dropped it on its way to the controller), and every event
 * published more than OUTBOX_RESEND_BACKSTOP_US ago; at most OUTBOX_RESEND_MAX per call,
 * oldest first. Runs every second from the outbox's own timer. Returns the number sent. */
#define OUTBOX_RESEND_AFTER_ACK_US (2 * G_USEC_PER_SEC)
#define OUTBOX_RESEND_BACKSTOP_US  (30 * G_USEC_PER_SEC)
#define OUTBOX_RESEND_MAX          512
unsigned outbox_resend_due(struct outbox *o, int64_t now_us);
/* outbox_resent: events published again by outbox_resend_due since the outbox opened. */
uint64_t outbox_resent(struct outbox *o);
/* outbox_pending: events stored and not yet acknowledged. */
int64_t outbox_pending(struct outbox *o);
