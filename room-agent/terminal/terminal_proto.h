/* The seat protocol between evalroom-terminal and its room agent (docs/terminal.md).
 *
 * Up, on evalroom/v1/seat/<room>/<seat>/up: terminal.login, terminal.logout,
 * terminal.help, terminal.break, terminal.heartbeat (and error for a bad down message).
 * Down, on evalroom/v1/seat/<room>/<seat>/down: terminal.login_result, terminal.lock,
 * terminal.unlock, terminal.ack. One JSON Schema per kind in schemas/json/. */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "msg.h"
#include "seq.h"

#define TERMINAL_VERSION "0.1"

#define TERMINAL_CODE_MIN 4
#define TERMINAL_CODE_MAX 16
#define TERMINAL_NAME_MAX 128 /* bytes of UTF-8: person and tender names */
#define TERMINAL_TEXT_MAX 200 /* bytes of UTF-8: human messages and lock reasons */

/* Why a login was refused (login_result.reason). */
enum terminal_reason {
	TERMINAL_REASON_OK = 0,
	TERMINAL_REASON_WRONG_CODE,   /* unknown code; tries_left says how many remain */
	TERMINAL_REASON_WRONG_SEAT,   /* a valid code of another seat (alerted) */
	TERMINAL_REASON_CODE_USED,    /* the one-time code was already used */
	TERMINAL_REASON_CODE_EXPIRED, /* the code's admission has ended */
	TERMINAL_REASON_SEAT_BLOCKED, /* too many wrong codes: only the attendant can release */
	TERMINAL_REASON_SEAT_LOCKED,  /* locked by an operator */
	TERMINAL_REASON_UNAVAILABLE,  /* the agent cannot decide now */
};
const char *terminal_reason_name(enum terminal_reason r);

/* The seat as the agent sees it (ack.seat). */
enum terminal_seat {
	TERMINAL_SEAT_OPEN = 0, /* nobody logged in; codes are accepted */
	TERMINAL_SEAT_IN_USE,   /* an expert is logged in */
	TERMINAL_SEAT_LOCKED,   /* locked by an operator */
	TERMINAL_SEAT_BLOCKED,  /* blocked after too many wrong codes */
};
const char *terminal_seat_name(enum terminal_seat s);

/* What the terminal shows (heartbeat.state). */
enum terminal_state {
	TERMINAL_STATE_LOCKED = 0, /* waiting for a login code */
	TERMINAL_STATE_CHECKING,   /* a code was sent, waiting for the verdict */
	TERMINAL_STATE_LOGGED_IN,
	TERMINAL_STATE_BREAK,
	TERMINAL_STATE_OPERATOR_LOCKED,
	TERMINAL_STATE_BLOCKED,
};
const char *terminal_state_name(enum terminal_state s);

enum terminal_down_kind {
	TERMINAL_DOWN_LOGIN_RESULT = 0,
	TERMINAL_DOWN_LOCK,
	TERMINAL_DOWN_UNLOCK,
	TERMINAL_DOWN_ACK,
};

/* A validated down message. Strings are copies (NUL-terminated, may be empty). */
struct terminal_down {
	enum terminal_down_kind kind;
	uint64_t seq;
	int64_t ts;
	uint64_t re; /* login_result: the login's seq; ack: the acknowledged seq */
	/* login_result */
	bool ok;
	bool resumed; /* a session re-established after the terminal restarted or was unlocked */
	enum terminal_reason reason;
	int tries_left; /* -1: absent */
	char message[TERMINAL_TEXT_MAX + 1];
	char person_id[MSG_ID_MAX + 1];
	char person_name[TERMINAL_NAME_MAX + 1];
	char tender_id[MSG_ID_MAX + 1];
	char tender_name[TERMINAL_NAME_MAX + 1];
	/* lock */
	char lock_reason[TERMINAL_TEXT_MAX + 1];
	/* ack */
	enum terminal_seat seat;
};

/* terminal_down_parse: validate PAYLOAD (LEN bytes) completely as one of the down kinds
 * into *d. Returns 0, or -EINVAL/-EMSGSIZE/-EPROTO with *err naming the fault. Never
 * reads beyond LEN. */
int terminal_down_parse(const void *payload, size_t len, struct terminal_down *d, GError **err);

/* For the agent's side: a validated up message. */
enum terminal_up_kind {
	TERMINAL_UP_LOGIN = 0,
	TERMINAL_UP_LOGOUT,
	TERMINAL_UP_HELP,
	TERMINAL_UP_BREAK,
	TERMINAL_UP_HEARTBEAT,
	TERMINAL_UP_ERROR, /* the terminal refused one of our down messages */
};

struct terminal_up {
	enum terminal_up_kind kind;
	uint64_t seq;
	int64_t ts;
	char code[TERMINAL_CODE_MAX + 1];  /* login */
	bool break_start;                  /* break: phase start (true) or end */
	enum terminal_state state;         /* heartbeat */
	int64_t uptime_s;                  /* heartbeat */
	char fault[TERMINAL_TEXT_MAX + 1]; /* error, truncated */
};

/* terminal_up_parse: validate PAYLOAD (LEN bytes) completely as one of the up kinds into
 * *u (the seat's status is the common "status" kind, not parsed here). Returns 0, or
 * -EINVAL/-EMSGSIZE/-EPROTO with *err naming the fault. */
int terminal_up_parse(const void *payload, size_t len, struct terminal_up *u, GError **err);

/* terminal_login_code_valid: CODE is 4 to 16 ASCII letters or digits. */
bool terminal_login_code_valid(const char *code);

/* Builders of the up messages: each returns a new object (json_decref) with the envelope
 * filled from SEQ. */
json_t *terminal_msg_login(struct seq_counter *seq, const char *code);
json_t *terminal_msg_logout(struct seq_counter *seq);
json_t *terminal_msg_help(struct seq_counter *seq);
json_t *terminal_msg_break(struct seq_counter *seq, bool start);
json_t *terminal_msg_heartbeat(struct seq_counter *seq, enum terminal_state state,
                               int64_t uptime_s);
/* Builders of the down messages (the agent's side); strings are copied. */
json_t *terminal_msg_login_ok(struct seq_counter *seq, uint64_t re, bool resumed,
                              const char *person_id, const char *person_name, const char *tender_id,
                              const char *tender_name);
/* TRIES_LEFT is sent with TERMINAL_REASON_WRONG_CODE only; MESSAGE may be NULL. */
json_t *terminal_msg_login_refused(struct seq_counter *seq, uint64_t re,
                                   enum terminal_reason reason, int tries_left,
                                   const char *message);
json_t *terminal_msg_lock(struct seq_counter *seq, const char *reason);
json_t *terminal_msg_unlock(struct seq_counter *seq);
json_t *terminal_msg_ack(struct seq_counter *seq, uint64_t re, enum terminal_seat seat);

/* terminal_msg_status: the retained seat status (kind "status", as every daemon's):
 * STATE "online", "offline" (the last will) or "stopped" (a clean exit); IDENTITY the
 * certificate CN; STARTED_US the UTC start time. */
json_t *terminal_msg_status(struct seq_counter *seq, const char *state, const char *identity,
                            int64_t started_us);
/* terminal_msg_error: a refused down message (kind "error"): the topic, its sender and
 * what was wrong with it. */
json_t *terminal_msg_error(struct seq_counter *seq, const char *topic, const char *sender,
                           const char *fault);
