/* The agent's event outbox: every event is made durable (SQLite, synchronous=FULL)
 * before it is published, kept until the controller acknowledges it, and published again
 * in order after a reconnect or a restart. The controller records events by
 * (agent, seq), so a replay is harmless. */
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
/* outbox_ack: the controller holds every event up to and including SEQ. */
void outbox_ack(struct outbox *o, uint64_t seq);
/* outbox_pending: events stored and not yet acknowledged. */
int64_t outbox_pending(struct outbox *o);
