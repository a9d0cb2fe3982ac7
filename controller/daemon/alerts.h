/* Alerts: raised by the controller's modules from real causes, acknowledged by operators,
 * resolved by an operator or automatically when the cause clears; never deleted.
 * Persisted in state.db; an alert that concerns a tender is also an event in that
 * tender's archive (through the archive router's hook). */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "request_handler.h"

struct controller;

enum alert_kind {
	ALERT_DOOR_FORCED,
	ALERT_DOOR_HELD,
	ALERT_TAMPER,
	ALERT_WRONG_ROOM,
	ALERT_WRONG_SEAT,
	ALERT_SEAT_LOCKED, /* failed logins locked the seat */
	ALERT_NOT_ENTERED, /* admission window passed without entry */
	ALERT_SCREENING_FAILED,
	ALERT_AGENT_OFFLINE,
	ALERT_TERMINAL_OFFLINE,
	ALERT_STREAM_LOST,
	ALERT_SPOOL_LOW,
	ALERT_SPOOL_FULL,
	ALERT_CLOCK_SKEW,
	ALERT_DOOR_FAULT,
	ALERT_HELP_REQUESTED,       /* an expert pressed "help" at a seat */
	ALERT_ARCHIVE_DISK_LOW,     /* archive disk below its free-space or days-left threshold */
	ALERT_ARCHIVE_DISK_FULL,    /* archive disk about to refuse writes */
	ALERT_ARCHIVE_WRITE_FAILED, /* a write into a tender or site archive failed */
	ALERT_ID_GUESSING,          /* a desk gave too many wrong identity numbers */
	ALERT_AGENT_FLAPPING,       /* a room agent's broker session lost again and again */
	ALERT_CONTROLLER_FLAPPING,  /* the controller's own broker session lost again and again */
	ALERT_ARCHIVE_COPY_FAILED,    /* a sealed archive's copy to a backup store failed */
	ALERT_ARCHIVE_COPIES_MISSING, /* fewer verified copies than stores after [copies] due_s */
	ALERT_ARCHIVE_COPY_BAD,       /* a copy no longer reads back intact (re-verification) */
	/* Behaviour warnings (warnings.c, docs/warnings.md), in the order of enum warn_rule */
	ALERT_WARN_BREAKS,      /* more breaks than allowed within a window */
	ALERT_WARN_LONG_BREAK,  /* a break longer than allowed */
	ALERT_WARN_SYNC,        /* experts of a tender acting together more often than chance */
	ALERT_WARN_VACANT_SEAT, /* activity at a seat nobody is logged in to */
	ALERT_WARN_INSIDE_EXIT, /* door opened from inside while everybody is seated */
	ALERT_WARN_OFF_HOURS,   /* admitted, entering or logging in outside the day's hours */
	ALERT_WARN_ENTRY_LATE,  /* check-in and first door entry far apart */
	ALERT_WARN_AFFINITY,    /* an expert on one tenderer's or agency's committees more
	                         * often than chance across sessions */
	ALERT_VENUE_LINK_LOST,      /* a secondary venue's bridge to the main venue is down */
	ALERT_VENUE_FAULT_NEAR, /* ... and has been for venue_fault_warn_s: the 4-hour rule nears */
	ALERT_TENDER_SEAL_WAITING, /* a tender's seal waits for a secondary venue's rooms */
	ALERT_WITNESS_BREACH,       /* a witness recorded a breach or an incident (witness.md) */
	ALERT_ESCORT_MISSING,       /* an escorted entry's second credential did not come in time */
	ALERT_STAFF_TENURE,         /* a staff member drawn to a post held longer than a year */
	ALERT_DRAW_ROOM_UNREVIEWED, /* a closed tender's draw-room footage not reviewed in time */
	ALERT_KIND_COUNT,
};

/* Where and whom an alert concerns; empty strings for "not applicable". */
struct alert_subject {
	const char *room;
	const char *seat;
	const char *person;
	const char *tender;
	const char *stream;
	const char *venue;
};

/* alert_raise_text: raise KIND for SUBJECT with its detail given as alert text TEXT_ID
 * (alert_text.h; one of KIND's texts) and ARGS (NULL-terminated strings, numbers
 * printed in the C locale), EXTRA an optional JSON object (reference stolen). The record
 * keeps the English rendering as its detail and {"id", "args"} as EXTRA's member "text",
 * so each reader sees the sentence in their own language. While an alert of the same
 * kind and subject is open it is not raised twice (its count and last time are updated).
 * Returns the alert id (> 0) or -errno (logged): -EINVAL when TEXT_ID is no text of
 * KIND or does not take ARGS. Every kind has its texts (test_alert_kind_texts). */
int64_t alert_raise_text(struct controller *c, enum alert_kind kind,
                         const struct alert_subject *subject, const char *text_id,
                         const char *const *args, json_t *extra);
/* alert_clear: the cause of KIND for SUBJECT has gone: resolve its open alert (if any)
 * automatically, recording BY ("auto: <why>"). */
void alert_clear(struct controller *c, enum alert_kind kind, const struct alert_subject *subject,
                 const char *why);
const char *alert_kind_name(enum alert_kind kind);

/* alert_kind_parse: the kind named NAME (as alert_kind_name gives it) into *KIND;
 * false when NAME is no kind. */
bool alert_kind_parse(const char *name, enum alert_kind *kind);

/* alerts_init: the alert module of C (hooks, timers, limits from c->cfg); call once
 * after c->state is open. alerts_free undoes it (NULL-safe on a zeroed controller). */
int alerts_init(struct controller *c);
void alerts_free(struct controller *c);

/* A hook sees every change of every alert: CHANGE is "raised", "repeated",
 * "acknowledged" or "resolved"; ALERT the alert as alerts.list shows it (borrowed for
 * the call). The archive router copies those with a "tender" into its archive. */
typedef void (*alert_hook_fn)(struct controller *c, const char *change, const json_t *alert,
                              void *user);
/* alerts_set_hook: add FN (called in the order added, from the main loop). */
void alerts_set_hook(struct controller *c, alert_hook_fn fn, void *user);

/* alert_ack / alert_resolve: BY (a certificate CN) acknowledges or resolves alert ID
 * with NOTE. 0, or -errno with *err in the REQUEST_ERROR domain: NOT_FOUND (unknown
 * id), CONFLICT (already acknowledged / resolved). */
int alert_ack(struct controller *c, int64_t id, const char *by, const char *note, GError **err);
int alert_resolve(struct controller *c, int64_t id, const char *by, const char *note, GError **err);

/* Causes the controller sees itself (fed by presence.c). */

/* alerts_agent_presence: ROOM's agent went ONLINE or not. Offline for longer than the
 * grace period (c->cfg.offline_grace_ms) raises agent_offline, but only for rooms of
 * the imported site or seen online before; online clears it. */
void alerts_agent_presence(struct controller *c, const char *room, bool online);
/* Reconnect storms: ALERT_FLAP_COUNT losses of one session within ALERT_FLAP_WINDOW_MS
 * raise agent_flapping (that room) or controller_flapping (the controller's own session):
 * a network fault, or one certificate in use on two machines (each one throws the other
 * off). A restart is one loss and raises nothing. Resolved by an operator. */
#define ALERT_FLAP_COUNT     3
#define ALERT_FLAP_WINDOW_MS 60000
/* alerts_broker_connection: the controller's own session to the broker came up
 * (CONNECTED) or was lost, for WHY; every loss is logged with the count in the window. */
void alerts_broker_connection(struct controller *c, bool connected, const char *why);
/* alerts_agent_clock: ROOM's agent stamped a status AGENT_TS that reached the controller
 * at RECEIVED (its clock when the message arrived): beyond c->cfg.clock_skew_limit_ms
 * either way on two consecutive statuses that agree (within a quarter of the limit)
 * raises clock_skew, and counts on it while it is open; within the limit clears it. */
void alerts_agent_clock(struct controller *c, const char *room, int64_t agent_ts, int64_t received);

/* alerts_counts_json: a new object {"open": n, "acknowledged": n} (unresolved alerts
 * by state), or NULL when state.db cannot be read (logged). */
json_t *alerts_counts_json(struct controller *c);

/* The requests of this module (request.h): alerts.list, alert.ack, alert.resolve. */
extern const struct request_handler alert_request_handlers[];

/* alerts_door_event: ROOM's door reported EVENT (docs/door.md: "forced_open",
 * "held_alarm", "tamper", "denied", "closed", "state", ...) leaving it in STATE; REASON,
 * CREDENTIAL_DIGEST and DETAIL as the event gave them (NULL when absent). Raises and
 * clears the door's alerts (door_forced, door_held, tamper, door_fault, wrong_room: the
 * person and the room they are admitted to are found from the digest) and updates the
 * room view. */
void alerts_door_event(struct controller *c, const char *room, const char *event, const char *state,
                       const char *reason, const char *credential_digest, const char *detail);

/* alerts_stream_state: STREAM of ROOM (a seat's when SEAT is not NULL) is in STATE
 * ("starting", "recording", "lost", "stopped"; REASON as reported). lost raises
 * stream_lost; recording or stopped clears it. Updates the room view. */
void alerts_stream_state(struct controller *c, const char *room, const char *stream,
                         const char *seat, const char *state, const char *reason);
/* alerts_spool_space: ROOM's agent spool is at LEVEL ("ok", "low", "full") with USED of
 * QUOTA bytes: raises spool_low / spool_full, clears them as space comes back. */
void alerts_spool_space(struct controller *c, const char *room, const char *level, int64_t used,
                        int64_t quota);
