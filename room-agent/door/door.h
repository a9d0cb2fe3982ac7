/* One door of a room: lock output, door-position sensor, request-to-exit, optional tamper
 * and Wiegand reader, on a GLib main context. Events go out through one callback. */
#ifndef EVALROOM_DOOR_H
#define EVALROOM_DOOR_H

#include "admission.h"
#include "gpio_ops.h"
#include "wiegand.h"

#include <glib.h>
#include <stdbool.h>

enum door_fail_mode {
	DOOR_FAIL_SECURE, /* fail state: locked */
	DOOR_FAIL_SAFE,   /* fail state: unlocked (free egress and entry) */
};

enum door_lost_action {
	DOOR_LOST_KEEP, /* keep deciding locally from the last admission list */
	DOOR_LOST_FAIL, /* go to the fail state while the controller is gone */
};

struct door_config {
	char *name; /* door / room id, used in log lines and as admission room */
	char *lock_line, *sensor_line, *rex_line;
	char *tamper_line;             /* NULL: no tamper switch */
	char *wiegand_d0, *wiegand_d1; /* both or neither */
	bool lock_active_low;          /* physical 0 = unlocked */
	bool sensor_active_low;        /* physical 0 = door open */
	bool rex_active_low, tamper_active_low;
	unsigned debounce_ms;      /* 0..1000 */
	unsigned pulse_ms;         /* unlock pulse, 100..600000 */
	unsigned held_prealarm_ms; /* open longer than this: pre-alarm */
	unsigned held_alarm_ms;    /* open longer than this: alarm (> pre-alarm) */
	unsigned wiegand_gap_ms;   /* quiet time that ends a frame, 5..500 */
	unsigned pin_timeout_ms;   /* keypad digits further apart start over */
	enum door_fail_mode fail_mode;
	enum door_lost_action on_controller_lost;
	/* fail_state acts only once the controller has been lost this long without a break
	 * (1..3600000; the file's minimum is 1000): a restart or a reconnect never does. */
	unsigned lost_grace_ms;
};

enum door_state {
	DOOR_STATE_LOCKED,
	DOOR_STATE_UNLOCKED,
	DOOR_STATE_OPEN,
	DOOR_STATE_HELD_OPEN, /* pre-alarm */
	DOOR_STATE_HELD_OPEN_ALARM,
	DOOR_STATE_FORCED_OPEN,
	DOOR_STATE_LOCKDOWN,
	DOOR_STATE_FREE_ACCESS,
	DOOR_STATE_FAULT,
	DOOR_STATE_TAMPER,
};

enum door_event_kind {
	DOOR_EV_GRANTED,
	DOOR_EV_DENIED,   /* reason says why */
	DOOR_EV_BAD_READ, /* Wiegand frame with bad parity / length / PIN; never guessed */
	DOOR_EV_OPENED,
	DOOR_EV_CLOSED,
	DOOR_EV_REX,
	DOOR_EV_HELD_PREALARM,
	DOOR_EV_HELD_ALARM,
	DOOR_EV_FORCED_OPEN,
	DOOR_EV_TAMPER,
	DOOR_EV_TAMPER_CLEARED,
	DOOR_EV_FAULT,
	DOOR_EV_STATE,   /* state and prev_state */
	DOOR_EV_COMMAND, /* command, command_id and result */
};

enum door_command {
	DOOR_CMD_UNLOCK, /* one pulse */
	DOOR_CMD_LOCK,   /* relock now; ends a pulse or free access */
	DOOR_CMD_LOCKDOWN,
	DOOR_CMD_RELEASE, /* ends lockdown or free access */
	DOOR_CMD_FREE_ACCESS,
	DOOR_CMD_STATUS,
};

struct door_event {
	enum door_event_kind kind;
	int64_t ts_us; /* UTC */
	enum door_state state, prev_state;
	enum admission_reason reason;      /* GRANTED / DENIED */
	enum wiegand_kind read_kind;       /* BAD_READ */
	char credential[72];               /* GRANTED / DENIED / BAD_READ */
	char person[ADMISSION_PERSON_MAX]; /* GRANTED / DENIED when known */
	enum door_command command;         /* COMMAND */
	const char *command_id;            /* COMMAND; borrowed for the callback only */
	int result;                        /* COMMAND: 0 or -errno; FAULT: the error */
	const char *detail;                /* static text: FAULT / COMMAND refusals */
};

/* Called on the door's context for every event; EV is valid for the call only. The
 * callback may call door_command / door_present_credential but must not free the door. */
typedef void (*door_event_cb)(const struct door_event *ev, void *user);

struct door_status {
	enum door_state state;
	bool lock_unlocked; /* logical lock output */
	bool door_open, rex_active, tamper, fault;
	bool lockdown, free_access, controller_lost;
	bool pulse_active, held_prealarm, held_alarm, forced;
	size_t admission_entries;
};

/* Flags for door_new. */
#define DOOR_START_LOCKDOWN 0x1u /* the agent persisted a lockdown: start in it */

struct door;
struct clock_source;

/* Fill CFG with defaults (no line names). Free its strings with door_config_clear. */
void door_config_defaults(struct door_config *cfg);
void door_config_clear(struct door_config *cfg);

/* Read group GROUP of KF into CFG (defaults for absent optional keys). Every error names
 * the group and key. 0 or -EINVAL with ERR set; CFG is left cleared on error. */
int door_config_load(GKeyFile *kf, const char *group, struct door_config *cfg, GError **err);

/* Check CFG's values and combinations. 0 or -EINVAL with ERR naming the key. */
int door_config_validate(const struct door_config *cfg, GError **err);

/* Create the door: the lock output is requested directly at the fail state (locked for
 * DOOR_START_LOCKDOWN), inputs are read, sources attach to CTX (NULL = default context).
 * Every timer (pulse, held-open, debounce, Wiegand gap) and every timestamp comes from
 * CLK (NULL = the system clock; tests hand a clock_fake). CFG is copied; GPIO, CTX and
 * CLK are borrowed and must outlive the door. CB (may be NULL) is called on CTX's
 * thread. 0, -EINVAL (config; ERR set), or the GPIO error (ERR set). */
int door_new(const struct door_config *cfg, struct gpio *gpio, GMainContext *ctx,
             const struct clock_source *clk, door_event_cb cb, void *user, unsigned flags,
             struct door **out, GError **err);

struct gpio_sim;

/* For the demo and tests: add CFG's lines to SIM at their idle levels (lock locked, door
 * closed, buttons and tamper inactive, Wiegand lines high). 0 or the first error of
 * gpio_sim_add_line (e.g. -EEXIST). */
int door_sim_add_lines(const struct door_config *cfg, struct gpio_sim *sim);

/* Release the lines (the lock output keeps its level where the hardware allows) and free. */
void door_free(struct door *door);

/* Writes USE down durably (committed before it returns) as used: 0 or -errno. */
typedef int (*door_use_store_fn)(const struct admission_use *use, void *user);

/* door_set_use_store: every granted admission is handed to FN (with USER) before the lock
 * moves; when FN fails the door does not open (DENIED, reason unknown, with that
 * said in the event's detail). Without a store (NULL) uses are remembered in memory only. */
void door_set_use_store(struct door *door, door_use_store_fn fn, void *user);

/* Present a credential from any reader (Wiegand ones arrive by themselves). Decides
 * locally; an admission granted once is used up (ADMISSION_USED afterwards, see
 * door_set_use_store); pulses the lock when granted, emits GRANTED or DENIED; returns the
 * reason. */
enum admission_reason door_present_credential(struct door *door, const char *credential);

/* Run an operator command; ID (may be NULL) is echoed in the COMMAND event. Returns 0,
 * -EPERM (refused, e.g. unlock or free access during lockdown) or -EIO (lock output). */
int door_command(struct door *door, enum door_command cmd, const char *id);

/* The door's admission list (borrowed), for admission_replace by the agent. */
struct admission *door_admission(struct door *door);

/* Tell the door the controller is gone (LOST true) or back; see on_controller_lost. */
void door_set_controller_lost(struct door *door, bool lost);

void door_get_status(const struct door *door, struct door_status *st);

const char *door_state_name(enum door_state s);
const char *door_event_name(enum door_event_kind k);
const char *door_command_name(enum door_command c);

/* Parse "unlock", "lock", "lockdown", "release", "free_access", "status". 0 or -EINVAL. */
int door_command_parse(const char *s, enum door_command *out);

#endif
