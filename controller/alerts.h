/* Alerts: raised by the controller's modules from real causes, acknowledged by operators,
 * resolved by an operator or automatically when the cause clears; never deleted.
 * Persisted in state.db; an alert that concerns a tender is also an event in that
 * tender's archive (through the archive router's hook). */
#pragma once
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct controller;

enum alert_kind {
	ALERT_DOOR_FORCED,
	ALERT_DOOR_HELD,
	ALERT_TAMPER,
	ALERT_WRONG_ROOM,
	ALERT_WRONG_SEAT,
	ALERT_SEAT_LOCKED,	   /* failed logins locked the seat */
	ALERT_NOT_ENTERED,	   /* admission window passed without entry */
	ALERT_SCREENING_FAILED,
	ALERT_AGENT_OFFLINE,
	ALERT_TERMINAL_OFFLINE,
	ALERT_STREAM_LOST,
	ALERT_SPOOL_LOW,
	ALERT_SPOOL_FULL,
	ALERT_CLOCK_SKEW,
	ALERT_DOOR_FAULT,
	ALERT_HELP_REQUESTED, /* an expert pressed "help" at a seat */
	ALERT_KIND_COUNT,
};

/* Where and whom an alert concerns; empty strings for "not applicable". */
struct alert_subject {
	const char *room;
	const char *seat;
	const char *person;
	const char *tender;
	const char *stream;
};

/* alert_raise: raise KIND for SUBJECT with DETAIL (a short sentence for the operator;
 * EXTRA an optional JSON object, reference stolen). While an alert of the same kind and
 * subject is open it is not raised twice (its count and last time are updated).
 * Returns the alert id (> 0) or -errno (logged). */
int64_t alert_raise(struct controller *c, enum alert_kind kind, const struct alert_subject *subject,
		    const char *detail, json_t *extra);
/* alert_clear: the cause of KIND for SUBJECT has gone: resolve its open alert (if any)
 * automatically, recording BY ("auto: <why>"). */
void alert_clear(struct controller *c, enum alert_kind kind, const struct alert_subject *subject,
		 const char *why);
const char *alert_kind_name(enum alert_kind kind);
