/* The seat kiosk's state machine: what the expert typed, what the room agent said, and
 * what the screen shows. It owns no I/O: messages go out through an mqtt_ops, the screen
 * through a terminal_view_ops, the evaluation client through a terminal_program_ops, and
 * time comes in as arguments (monotonic microseconds), so tests drive it directly.
 *
 * Timing: a heartbeat every TERMINAL_HEARTBEAT_US while connected; the agent counts as
 * unreachable after TERMINAL_AGENT_SILENCE_US without a valid down message or while the
 * transport is disconnected; a login waits TERMINAL_LOGIN_TIMEOUT_US for its verdict. */
#pragma once
#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mqtt_session.h"
#include "terminal_proto.h"
#include "terminal_view.h"

#define TERMINAL_HEARTBEAT_US     (2 * G_USEC_PER_SEC)
#define TERMINAL_AGENT_SILENCE_US (6 * G_USEC_PER_SEC)
#define TERMINAL_LOGIN_TIMEOUT_US (5 * G_USEC_PER_SEC)

/* Keys besides printable ASCII. */
#define TERMINAL_KEY_ENTER     '\n'
#define TERMINAL_KEY_BACKSPACE '\b'
#define TERMINAL_KEY_ESCAPE    27

struct terminal_config {
	const char *room; /* identifiers (see msg_read_id) */
	const char *seat;
	const char *program; /* evaluation client command line; NULL or "": none */
};

/* The evaluation client started for a logged-in expert. */
struct terminal_program_ops {
	/* start: run CMDLINE for the expert; returns 0 or -errno (the session goes on). */
	int (*start)(void *ctx, const char *cmdline, const char *person_id, const char *person_name,
	             const char *tender_id);
	/* stop: end it if it runs (idempotent). */
	void (*stop)(void *ctx);
};

struct terminal;

/* terminal_new: copies CFG; the ops and their contexts are borrowed and must outlive the
 * terminal. PROGRAM may be NULL when cfg->program is unset. Returns NULL with *err set
 * when room or seat is not an identifier. Nothing is sent before terminal_start. */
struct terminal *terminal_new(const struct terminal_config *cfg, const struct mqtt_ops *mqtt,
                              void *mqtt_ctx, const struct terminal_view_ops *view, void *view_ctx,
                              const struct terminal_program_ops *program, void *program_ctx,
                              GError **err);
void terminal_free(struct terminal *t);

/* terminal_topic: "evalroom/v1/seat/ROOM/SEAT/LEAF" (g_free). */
char *terminal_topic(const char *room, const char *seat, const char *leaf);
/* terminal_identity: the seat's certificate CN and MQTT client id (g_free). */
char *terminal_identity(const char *room, const char *seat);

/* terminal_start: subscribe to the seat's down topic and show the locked screen.
 * CONNECTED says whether the transport is already up (see terminal_connection). */
int terminal_start(struct terminal *t, bool connected, int64_t now_us);
/* terminal_stop: end the client program and publish the retained offline status. */
void terminal_stop(struct terminal *t);

/* terminal_key: one keystroke (printable ASCII or a TERMINAL_KEY_*). */
void terminal_key(struct terminal *t, int key, int64_t now_us);
/* terminal_receive: one message from the transport. Anything but a valid down message on
 * this seat's down topic is refused (logged, answered with an error on up) and changes
 * nothing. */
void terminal_receive(struct terminal *t, const char *topic, const void *payload, size_t len,
                      int64_t now_us);
/* terminal_connection: the transport went up or down. */
void terminal_connection(struct terminal *t, bool connected, int64_t now_us);
/* terminal_tick: call at least twice a second: heartbeats and timeouts. */
void terminal_tick(struct terminal *t, int64_t now_us);

enum terminal_state terminal_get_state(const struct terminal *t);
bool terminal_agent_unreachable(const struct terminal *t);
