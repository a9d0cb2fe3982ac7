/* Door state machine on the simulated chip: transitions, alarms, denials, safety. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include "clock.h"
#include "door.h"
#include "gpio_sim.h"

#define HOUR 3600000000ll

struct fx {
	GMainContext *ctx;
	struct gpio_sim *sim;
	struct gpio gpio; /* the sim's seam, or the failing wrapper below */
	struct door_config cfg;
	struct door *door;
	const struct clock_source *clk; /* NULL: the system clock */
	struct clock_fake *fake;        /* the fake-clock tests */
	GArray *ev;                     /* struct door_event */
	int fail_set;
};

static void on_event(const struct door_event *ev, void *user)
{
	struct fx *f = user;
	struct door_event copy = *ev;

	copy.command_id = NULL;
	g_array_append_val(f->ev, copy);
}

/* A backend wrapping the sim whose set() can be made to fail: the path to DOOR_EV_FAULT. */
static struct fx *wrap_fx;
static int failing_set(struct gpio_line *l, int v)
{
	return wrap_fx->fail_set ? -EIO : gpio_sim_gpio(wrap_fx->sim)->ops->set(l, v);
}

static void door_start(struct fx *f, unsigned flags)
{
	GError *err = NULL;
	int rc = door_new(&f->cfg, &f->gpio, f->ctx, f->clk, on_event, f, flags, &f->door, &err);

	if (rc)
		fail_msg("door_new: %s", err ? err->message : "?");
	door_set_controller_lost(f->door, false);
}

static int setup(void **state)
{
	struct fx *f = g_new0(struct fx, 1);

	f->ctx = g_main_context_new();
	f->sim = gpio_sim_new();
	f->gpio = *gpio_sim_gpio(f->sim);
	f->ev = g_array_new(FALSE, TRUE, sizeof(struct door_event));
	gpio_sim_add_line(f->sim, "LOCK", 0);
	gpio_sim_add_line(f->sim, "SENSOR", 0);
	gpio_sim_add_line(f->sim, "REX", 0);
	gpio_sim_add_line(f->sim, "TAMPER", 0);
	gpio_sim_add_line(f->sim, "D0", 1);
	gpio_sim_add_line(f->sim, "D1", 1);
	door_config_defaults(&f->cfg);
	f->cfg.name = g_strdup("R1");
	f->cfg.lock_line = g_strdup("LOCK");
	f->cfg.sensor_line = g_strdup("SENSOR");
	f->cfg.rex_line = g_strdup("REX");
	f->cfg.tamper_line = g_strdup("TAMPER");
	f->cfg.wiegand_d0 = g_strdup("D0");
	f->cfg.wiegand_d1 = g_strdup("D1");
	f->cfg.debounce_ms = 5;
	f->cfg.pulse_ms = 150;
	f->cfg.held_prealarm_ms = 60;
	f->cfg.held_alarm_ms = 120;
	f->cfg.wiegand_gap_ms = 10;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	door_free(f->door);
	clock_fake_free(f->fake);
	door_config_clear(&f->cfg);
	gpio_sim_free(f->sim);
	g_array_free(f->ev, TRUE);
	g_main_context_unref(f->ctx);
	g_free(f);
	return 0;
}

static gboolean flag_set(gpointer p)
{
	*(int *)p = 1;
	return G_SOURCE_REMOVE;
}

static int count(struct fx *f, enum door_event_kind k)
{
	int n = 0;
	guint i;

	for (i = 0; i < f->ev->len; i++)
		n += g_array_index(f->ev, struct door_event, i).kind == k;
	return n;
}

static const struct door_event *last(struct fx *f, enum door_event_kind k)
{
	guint i;

	for (i = f->ev->len; i > 0; i--)
		if (g_array_index(f->ev, struct door_event, i - 1).kind == k)
			return &g_array_index(f->ev, struct door_event, i - 1);
	return NULL;
}

/* Run the loop until N events of kind K were seen or MS passed. */
static int run_until(struct fx *f, enum door_event_kind k, int n, unsigned ms)
{
	int expired = 0;
	GSource *t = g_timeout_source_new(ms);

	g_source_set_callback(t, flag_set, &expired, NULL);
	g_source_attach(t, f->ctx);
	while (count(f, k) < n && !expired)
		g_main_context_iteration(f->ctx, TRUE);
	g_source_destroy(t);
	g_source_unref(t);
	return count(f, k) >= n;
}

static void run_for(struct fx *f, unsigned ms)
{
	run_until(f, DOOR_EV_COMMAND, 1000000, ms);
}

static void admit(struct fx *f)
{
	int64_t now = g_get_real_time();
	const struct admission_entry e[] = {
	    {"w26:1:100", "expert-a", NULL, now - HOUR, now + HOUR, NULL, NULL, false, 0},
	    {"w26:1:101", "expert-b", NULL, now - 2 * HOUR, now - HOUR, NULL, NULL, false, 0},
	    {"pin:4711", "expert-c", NULL, now - HOUR, now + HOUR, NULL, NULL, false, 0},
	    {"pin:1234", "expert-e", NULL, now + HOUR, now + 2 * HOUR, NULL, NULL, false, 0},
	    {"w26:1:102", NULL, true, now - HOUR, now + HOUR, NULL, NULL, false, 0},
	};

	assert_int_equal(admission_replace(door_admission(f->door), e, G_N_ELEMENTS(e), NULL), 0);
}

static int lock_level(struct fx *f)
{
	return gpio_sim_get(f->sim, "LOCK");
}

static size_t lock_changes(struct fx *f)
{
	const struct gpio_sim_change *h;
	size_t n;

	assert_int_equal(gpio_sim_history(f->sim, "LOCK", &h, &n), 0);
	return n;
}

/* No history entry from index FROM on shows the lock released (active-high sim). */
static void assert_never_opened_since(struct fx *f, size_t from)
{
	const struct gpio_sim_change *h;
	size_t n, i;

	assert_int_equal(gpio_sim_history(f->sim, "LOCK", &h, &n), 0);
	for (i = from; i < n; i++)
		assert_int_equal(h[i].value, f->cfg.lock_active_low ? 1 : 0);
}

static enum door_state state_of(struct fx *f)
{
	struct door_status st;

	door_get_status(f->door, &st);
	return st.state;
}

static void test_start_locked(void **state)
{
	struct fx *f = *state;

	door_start(f, 0);
	assert_int_equal(state_of(f), DOOR_STATE_LOCKED);
	assert_int_equal(lock_level(f), 0);
	assert_int_equal(lock_changes(f), 1);
	assert_int_equal(f->ev->len, 0);
}

static void test_grant_pulse_relocks_at_pulse_end(void **state)
{
	struct fx *f = *state;

	door_start(f, 0);
	admit(f);
	assert_int_equal(door_present_credential(f->door, "w26:1:100"), ADMISSION_GRANTED);
	assert_string_equal(last(f, DOOR_EV_GRANTED)->person, "expert-a");
	assert_int_equal(lock_level(f), 1);
	assert_int_equal(state_of(f), DOOR_STATE_UNLOCKED);
	assert_true(run_until(f, DOOR_EV_STATE, 2, 1000));
	assert_int_equal(last(f, DOOR_EV_STATE)->state, DOOR_STATE_LOCKED);
	assert_int_equal(last(f, DOOR_EV_STATE)->prev_state, DOOR_STATE_UNLOCKED);
	assert_int_equal(lock_level(f), 0);
	assert_int_equal(lock_changes(f), 3);
}

static void test_grant_open_close_relocks_on_close(void **state)
{
	struct fx *f = *state;

	door_start(f, 0);
	admit(f);
	door_present_credential(f->door, "w26:1:100");
	gpio_sim_set_input(f->sim, "SENSOR", 1);
	assert_true(run_until(f, DOOR_EV_OPENED, 1, 1000));
	assert_int_equal(state_of(f), DOOR_STATE_OPEN);
	assert_int_equal(count(f, DOOR_EV_FORCED_OPEN), 0);
	gpio_sim_set_input(f->sim, "SENSOR", 0);
	assert_true(run_until(f, DOOR_EV_CLOSED, 1, 1000));
	/* Relocked on close, long before the pulse would have ended. */
	assert_int_equal(lock_level(f), 0);
	assert_int_equal(state_of(f), DOOR_STATE_LOCKED);
	assert_int_equal(count(f, DOOR_EV_HELD_PREALARM), 0);
}

static void test_forced_open(void **state)
{
	struct fx *f = *state;

	door_start(f, 0);
	gpio_sim_set_input(f->sim, "SENSOR", 1);
	assert_true(run_until(f, DOOR_EV_FORCED_OPEN, 1, 1000));
	assert_int_equal(state_of(f), DOOR_STATE_FORCED_OPEN);
	assert_int_equal(lock_level(f), 0);
	gpio_sim_set_input(f->sim, "SENSOR", 0);
	assert_true(run_until(f, DOOR_EV_CLOSED, 1, 1000));
	assert_int_equal(state_of(f), DOOR_STATE_LOCKED);
	assert_never_opened_since(f, 0);
}

static void test_held_open_prealarm_then_alarm(void **state)
{
	struct fx *f = *state;

	door_start(f, 0);
	admit(f);
	door_present_credential(f->door, "pin:4711");
	gpio_sim_set_input(f->sim, "SENSOR", 1);
	assert_true(run_until(f, DOOR_EV_HELD_PREALARM, 1, 1000));
	assert_int_equal(state_of(f), DOOR_STATE_HELD_OPEN);
	assert_int_equal(count(f, DOOR_EV_HELD_ALARM), 0);
	assert_true(run_until(f, DOOR_EV_HELD_ALARM, 1, 1000));
	assert_int_equal(state_of(f), DOOR_STATE_HELD_OPEN_ALARM);
	/* The pulse ended while the door stood open: locked again, ready to latch. */
	run_until(f, DOOR_EV_CLOSED, 1, 200);
	assert_int_equal(lock_level(f), 0);
	gpio_sim_set_input(f->sim, "SENSOR", 0);
	assert_true(run_until(f, DOOR_EV_CLOSED, 1, 1000));
	assert_int_equal(state_of(f), DOOR_STATE_LOCKED);
}

static void test_denial_reasons_never_move_lock(void **state)
{
	struct fx *f = *state;
	struct {
		const char *cred;
		enum admission_reason r;
		const char *person;
	} cases[] = {
	    {"w26:9:9", ADMISSION_UNKNOWN, ""},
	    {"w26:1:101", ADMISSION_EXPIRED, "expert-b"},
	    {"pin:1234", ADMISSION_NOT_YET_VALID, "expert-e"},
	    {"w26:1:102", ADMISSION_NOT_THIS_ROOM, ""},
	};
	size_t i;

	door_start(f, 0);
	admit(f);
	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		assert_int_equal(door_present_credential(f->door, cases[i].cred), cases[i].r);
		assert_int_equal(last(f, DOOR_EV_DENIED)->reason, cases[i].r);
		assert_string_equal(last(f, DOOR_EV_DENIED)->person, cases[i].person);
		assert_string_equal(last(f, DOOR_EV_DENIED)->credential, cases[i].cred);
	}
	assert_int_equal(door_command(f->door, DOOR_CMD_LOCKDOWN, "c1"), 0);
	assert_int_equal(door_present_credential(f->door, "w26:1:100"), ADMISSION_LOCKDOWN);
	assert_int_equal(last(f, DOOR_EV_DENIED)->reason, ADMISSION_LOCKDOWN);
	assert_int_equal(count(f, DOOR_EV_DENIED), 5);
	assert_int_equal(count(f, DOOR_EV_GRANTED), 0);
	assert_int_equal(lock_changes(f), 1);
}

static void test_lockdown_rex_still_exits(void **state)
{
	struct fx *f = *state;

	door_start(f, 0);
	admit(f);
	assert_int_equal(door_command(f->door, DOOR_CMD_LOCKDOWN, "c1"), 0);
	assert_int_equal(state_of(f), DOOR_STATE_LOCKDOWN);
	assert_int_equal(door_command(f->door, DOOR_CMD_UNLOCK, "c2"), -EPERM);
	assert_int_equal(last(f, DOOR_EV_COMMAND)->result, -EPERM);
	assert_int_equal(door_command(f->door, DOOR_CMD_FREE_ACCESS, "c3"), -EPERM);
	assert_int_equal(lock_level(f), 0);
	gpio_sim_set_input(f->sim, "REX", 1);
	assert_true(run_until(f, DOOR_EV_REX, 1, 1000));
	assert_int_equal(lock_level(f), 1);
	gpio_sim_set_input(f->sim, "REX", 0);
	gpio_sim_set_input(f->sim, "SENSOR", 1);
	assert_true(run_until(f, DOOR_EV_OPENED, 1, 1000));
	assert_int_equal(count(f, DOOR_EV_FORCED_OPEN), 0);
	gpio_sim_set_input(f->sim, "SENSOR", 0);
	assert_true(run_until(f, DOOR_EV_CLOSED, 1, 1000));
	assert_int_equal(lock_level(f), 0);
	/* Still in lockdown after the exit; only release ends it. */
	assert_int_equal(state_of(f), DOOR_STATE_LOCKDOWN);
	door_set_controller_lost(f->door, true);
	door_set_controller_lost(f->door, false);
	assert_int_equal(state_of(f), DOOR_STATE_LOCKDOWN);
	assert_int_equal(door_command(f->door, DOOR_CMD_RELEASE, "c4"), 0);
	assert_int_equal(state_of(f), DOOR_STATE_LOCKED);
	assert_int_equal(door_present_credential(f->door, "w26:1:100"), ADMISSION_GRANTED);
}

static void test_rex_pulses(void **state)
{
	struct fx *f = *state;

	door_start(f, 0);
	gpio_sim_set_input(f->sim, "REX", 1);
	assert_true(run_until(f, DOOR_EV_REX, 1, 1000));
	assert_int_equal(lock_level(f), 1);
	assert_int_equal(state_of(f), DOOR_STATE_UNLOCKED);
	assert_true(run_until(f, DOOR_EV_STATE, 2, 1000));
	assert_int_equal(lock_level(f), 0);
}

static void test_free_access_and_lock(void **state)
{
	struct fx *f = *state;

	door_start(f, 0);
	assert_int_equal(door_command(f->door, DOOR_CMD_FREE_ACCESS, "c1"), 0);
	assert_int_equal(state_of(f), DOOR_STATE_FREE_ACCESS);
	assert_int_equal(lock_level(f), 1);
	gpio_sim_set_input(f->sim, "SENSOR", 1);
	assert_true(run_until(f, DOOR_EV_OPENED, 1, 1000));
	run_for(f, 200); /* longer than both held-open times */
	assert_int_equal(count(f, DOOR_EV_HELD_PREALARM), 0);
	assert_int_equal(count(f, DOOR_EV_FORCED_OPEN), 0);
	gpio_sim_set_input(f->sim, "SENSOR", 0);
	assert_true(run_until(f, DOOR_EV_CLOSED, 1, 1000));
	assert_int_equal(lock_level(f), 1); /* free access does not relock on close */
	assert_int_equal(door_command(f->door, DOOR_CMD_LOCK, "c2"), 0);
	assert_int_equal(lock_level(f), 0);
	assert_int_equal(state_of(f), DOOR_STATE_LOCKED);
	assert_int_equal(door_command(f->door, DOOR_CMD_UNLOCK, "c3"), 0);
	assert_int_equal(lock_level(f), 1);
	assert_int_equal(door_command(f->door, DOOR_CMD_LOCK, "c4"), 0);
	assert_int_equal(lock_level(f), 0);
}

static void test_status_command(void **state)
{
	struct fx *f = *state;
	struct door_status st;

	door_start(f, 0);
	admit(f);
	assert_int_equal(door_command(f->door, DOOR_CMD_STATUS, "s1"), 0);
	assert_int_equal(last(f, DOOR_EV_COMMAND)->command, DOOR_CMD_STATUS);
	door_get_status(f->door, &st);
	assert_false(st.lock_unlocked);
	assert_false(st.door_open);
	assert_false(st.controller_lost);
	assert_int_equal(st.admission_entries, 5);
	enum door_command c;
	assert_int_equal(door_command_parse("free_access", &c), 0);
	assert_int_equal(c, DOOR_CMD_FREE_ACCESS);
	assert_int_equal(door_command_parse("open-sesame", &c), -EINVAL);
}

static void test_tamper(void **state)
{
	struct fx *f = *state;

	door_start(f, 0);
	gpio_sim_set_input(f->sim, "TAMPER", 1);
	assert_true(run_until(f, DOOR_EV_TAMPER, 1, 1000));
	assert_int_equal(state_of(f), DOOR_STATE_TAMPER);
	gpio_sim_set_input(f->sim, "TAMPER", 0);
	assert_true(run_until(f, DOOR_EV_TAMPER_CLEARED, 1, 1000));
	assert_int_equal(state_of(f), DOOR_STATE_LOCKED);
	assert_never_opened_since(f, 0);
}

static void test_fault_on_lock_output_error(void **state)
{
	struct fx *f = *state;
	static struct gpio_ops ops;

	ops = *gpio_sim_gpio(f->sim)->ops;
	ops.set = failing_set;
	f->gpio.ops = &ops;
	wrap_fx = f;
	door_start(f, 0);
	admit(f);
	f->fail_set = 1;
	assert_int_equal(door_command(f->door, DOOR_CMD_UNLOCK, "c1"), -EIO);
	assert_int_equal(count(f, DOOR_EV_FAULT), 1);
	assert_int_equal(last(f, DOOR_EV_FAULT)->result, -EIO);
	assert_int_equal(state_of(f), DOOR_STATE_FAULT);
	assert_int_equal(lock_level(f), 0);
}

static int failing_read(struct gpio_line *l, struct gpio_event *evs, size_t max)
{
	return -EIO;
}

static void test_fault_on_input_error(void **state)
{
	struct fx *f = *state;
	static struct gpio_ops ops;

	ops = *gpio_sim_gpio(f->sim)->ops;
	ops.read_events = failing_read;
	f->gpio.ops = &ops;
	door_start(f, 0);
	gpio_sim_set_input(f->sim, "SENSOR", 1);
	assert_true(run_until(f, DOOR_EV_FAULT, 1, 1000));
	assert_int_equal(last(f, DOOR_EV_FAULT)->result, -EIO);
	assert_int_equal(state_of(f), DOOR_STATE_FAULT);
	/* A broken input never moves the lock. */
	assert_never_opened_since(f, 0);
	run_for(f, 20);
	assert_int_equal(count(f, DOOR_EV_FAULT), 1);
}

static void test_debounce_one_event(void **state)
{
	struct fx *f = *state;
	int i;

	door_start(f, 0);
	for (i = 0; i < 7; i++)
		gpio_sim_set_input(f->sim, "SENSOR", i % 2 == 0);
	assert_true(run_until(f, DOOR_EV_OPENED, 1, 1000));
	run_for(f, 30);
	assert_int_equal(count(f, DOOR_EV_OPENED), 1);
	assert_int_equal(count(f, DOOR_EV_CLOSED), 0);
	/* A bounce shorter than the debounce time back to the same level is no event. */
	gpio_sim_set_input(f->sim, "SENSOR", 0);
	gpio_sim_set_input(f->sim, "SENSOR", 1);
	run_for(f, 30);
	assert_int_equal(count(f, DOOR_EV_CLOSED), 0);
}

static const char *const key4[] = {"0000", "0001", "0010", "0011", "0100", "0101",
                                   "0110", "0111", "1000", "1001", "1010", "1011"};

static void test_wiegand_on_gpio(void **state)
{
	struct fx *f = *state;
	const char *good = "10000000100000000000000010"; /* w26:1:1 */
	const char *bad = "10000000100000000000000011";  /* odd parity broken */
	uint64_t ts = (uint64_t)g_get_monotonic_time() * 1000u;
	int64_t now = g_get_real_time();
	const struct admission_entry e[] = {
	    {"w26:1:1", "expert-w", NULL, now - HOUR, now + HOUR, NULL, NULL, false, 0},
	    {"pin:4711", "expert-p", NULL, now - HOUR, now + HOUR, NULL, NULL, false, 0},
	};
	const char *typed = "4711";
	int i;

	door_start(f, 0);
	assert_int_equal(admission_replace(door_admission(f->door), e, 2, NULL), 0);
	assert_int_equal(gpio_sim_wiegand(f->sim, "D0", "D1", bad, ts), 0);
	assert_true(run_until(f, DOOR_EV_BAD_READ, 1, 1000));
	assert_int_equal(last(f, DOOR_EV_BAD_READ)->read_kind, WIEGAND_BAD_PARITY);
	assert_int_equal(lock_level(f), 0);
	assert_int_equal(gpio_sim_wiegand(f->sim, "D0", "D1", good, 0), 0);
	assert_true(run_until(f, DOOR_EV_GRANTED, 1, 1000));
	assert_string_equal(last(f, DOOR_EV_GRANTED)->credential, "w26:1:1");
	assert_string_equal(last(f, DOOR_EV_GRANTED)->person, "expert-w");
	assert_int_equal(lock_level(f), 1);
	door_command(f->door, DOOR_CMD_LOCK, NULL);
	/* Keypad: one burst per key, all queued at once; timestamps split the frames. */
	ts = (uint64_t)g_get_monotonic_time() * 1000u;
	for (i = 0; typed[i]; i++, ts += 30000000u)
		gpio_sim_wiegand(f->sim, "D0", "D1", key4[typed[i] - '0'], ts);
	gpio_sim_wiegand(f->sim, "D0", "D1", key4[11], ts);
	assert_true(run_until(f, DOOR_EV_GRANTED, 2, 1000));
	assert_string_equal(last(f, DOOR_EV_GRANTED)->credential, "pin:4711");
	assert_int_equal(gpio_sim_dropped(f->sim, "D0"), 0);
}

/* Safety: a restart never glitches the lock open. */
static void test_restart_locked_and_unlocked_no_glitch(void **state)
{
	struct fx *f = *state;
	size_t n;

	door_start(f, 0);
	door_free(f->door);
	f->door = NULL;
	door_start(f, 0);
	assert_int_equal(lock_changes(f), 1); /* restart while locked: not one change */
	admit(f);
	door_present_credential(f->door, "w26:1:100");
	assert_int_equal(lock_level(f), 1);
	n = lock_changes(f);
	door_free(f->door); /* restart in the middle of a pulse */
	f->door = NULL;
	door_start(f, 0);
	assert_int_equal(lock_level(f), 0);
	assert_int_equal(lock_changes(f), n + 1);
	assert_never_opened_since(f, n);
	run_for(f, 200); /* the old pulse must not come back */
	assert_never_opened_since(f, n);
	/* A persisted lockdown comes back in force. */
	door_free(f->door);
	f->door = NULL;
	door_start(f, DOOR_START_LOCKDOWN);
	assert_int_equal(state_of(f), DOOR_STATE_LOCKDOWN);
	assert_never_opened_since(f, n);
}

static void test_restart_active_low_no_glitch(void **state)
{
	struct fx *f = *state;

	/* Active-low relay and sensor: the lines idle high before the agent starts. */
	gpio_sim_free(f->sim);
	f->sim = gpio_sim_new();
	f->gpio = *gpio_sim_gpio(f->sim);
	f->cfg.lock_active_low = true;
	f->cfg.sensor_active_low = true;
	assert_int_equal(door_sim_add_lines(&f->cfg, f->sim), 0);
	assert_int_equal(door_sim_add_lines(&f->cfg, f->sim), -EEXIST);
	assert_int_equal(gpio_sim_get(f->sim, "LOCK"), 1);
	assert_int_equal(gpio_sim_get(f->sim, "SENSOR"), 1);
	assert_int_equal(gpio_sim_get(f->sim, "D1"), 1);
	door_start(f, 0);
	assert_int_equal(state_of(f), DOOR_STATE_LOCKED);
	door_free(f->door);
	f->door = NULL;
	door_start(f, 0);
	assert_int_equal(lock_changes(f), 1);
	assert_int_equal(lock_level(f), 1);
	assert_int_equal(door_command(f->door, DOOR_CMD_UNLOCK, NULL), 0);
	assert_int_equal(lock_level(f), 0);
	/* Sensor low = open for an active-low contact. */
	gpio_sim_set_input(f->sim, "SENSOR", 0);
	assert_true(run_until(f, DOOR_EV_OPENED, 1, 1000));
	assert_int_equal(count(f, DOOR_EV_FORCED_OPEN), 0);
}

static void test_fail_safe_and_controller_loss(void **state)
{
	struct fx *f = *state;
	GError *err = NULL;

	f->cfg.fail_mode = DOOR_FAIL_SAFE;
	f->cfg.on_controller_lost = DOOR_LOST_FAIL;
	f->cfg.lost_grace_ms = 1000; /* far above the short losses below, even under load */
	/* A (re)start never opens a fail-safe door: the line is requested locked. */
	assert_int_equal(
	    door_new(&f->cfg, &f->gpio, f->ctx, f->clk, on_event, f, 0, &f->door, &err), 0);
	assert_int_equal(lock_level(f), 0);
	assert_int_equal(lock_changes(f), 1);
	/* The controller heard within the grace: the lock never moved. */
	run_for(f, 20);
	door_set_controller_lost(f->door, false);
	run_for(f, 1300);
	assert_int_equal(lock_changes(f), 1);
	/* Losses shorter than the grace, again and again (a reconnect storm): nothing. */
	for (int i = 0; i < 5; i++) {
		door_set_controller_lost(f->door, true);
		run_for(f, 20);
		door_set_controller_lost(f->door, false);
	}
	run_for(f, 1300);
	assert_int_equal(lock_changes(f), 1);
	/* Lost for the whole grace: the configured fail state. */
	door_set_controller_lost(f->door, true);
	door_set_controller_lost(f->door, true); /* a second report does not restart the grace */
	assert_int_equal(lock_level(f), 0);
	run_for(f, 1300);
	assert_int_equal(lock_level(f), 1);
	door_set_controller_lost(f->door, false);
	assert_int_equal(lock_level(f), 0);
	/* Started with no controller at all: fail state once the grace has passed. */
	door_free(f->door);
	f->door = NULL;
	assert_int_equal(
	    door_new(&f->cfg, &f->gpio, f->ctx, f->clk, on_event, f, 0, &f->door, &err), 0);
	assert_int_equal(lock_level(f), 0);
	run_for(f, 1300);
	assert_int_equal(lock_level(f), 1);
	door_set_controller_lost(f->door, false);
	/* A lockdown ordered before the loss stays in force through it. */
	door_command(f->door, DOOR_CMD_LOCKDOWN, NULL);
	door_set_controller_lost(f->door, true);
	run_for(f, 1300);
	assert_int_equal(lock_level(f), 0);
	assert_int_equal(state_of(f), DOOR_STATE_LOCKDOWN);
	/* Released while still lost past the grace: back to the fail state. */
	door_command(f->door, DOOR_CMD_RELEASE, NULL);
	assert_int_equal(lock_level(f), 1);
	/* Keep mode (the default): losing the controller moves nothing. */
	door_free(f->door);
	f->door = NULL;
	f->cfg.fail_mode = DOOR_FAIL_SECURE;
	f->cfg.on_controller_lost = DOOR_LOST_KEEP;
	door_start(f, 0);
	door_command(f->door, DOOR_CMD_UNLOCK, NULL);
	door_set_controller_lost(f->door, true);
	assert_int_equal(lock_level(f), 1);
	door_set_controller_lost(f->door, false);
	assert_int_equal(lock_level(f), 1);
}

static void test_offline_decisions(void **state)
{
	struct fx *f = *state;

	door_start(f, 0);
	admit(f);
	door_set_controller_lost(f->door, true);
	assert_int_equal(door_present_credential(f->door, "w26:1:100"), ADMISSION_GRANTED);
	assert_int_equal(lock_level(f), 1);
	assert_int_equal(door_present_credential(f->door, "w26:1:102"), ADMISSION_NOT_THIS_ROOM);
}

/* The use store of the agent, here in memory: what was stored and the lock level then. */
static int stored_lock_level = -1;
static int store_fails;
static int store_use(const struct admission_use *use, void *user)
{
	struct fx *f = user;

	(void)use;
	if (store_fails)
		return -EIO;
	stored_lock_level = lock_level(f);
	return 0;
}

static void test_single_use(void **state)
{
	struct fx *f = *state;

	door_start(f, 0);
	admit(f);
	door_set_use_store(f->door, store_use, f);
	stored_lock_level = -1;
	store_fails = 0;
	assert_int_equal(door_present_credential(f->door, "w26:1:100"), ADMISSION_GRANTED);
	assert_int_equal(stored_lock_level, 0); /* written down before the lock moved */
	assert_int_equal(lock_level(f), 1);
	assert_true(run_until(f, DOOR_EV_STATE, 2, 1000));
	size_t changes = lock_changes(f);
	assert_int_equal(door_present_credential(f->door, "w26:1:100"), ADMISSION_USED);
	assert_int_equal(last(f, DOOR_EV_DENIED)->reason, ADMISSION_USED);
	assert_string_equal(last(f, DOOR_EV_DENIED)->person, "expert-a");
	/* A door that cannot write the use down does not open on it. */
	store_fails = 1;
	assert_int_equal(door_present_credential(f->door, "pin:4711"), ADMISSION_UNKNOWN);
	assert_non_null(last(f, DOOR_EV_DENIED)->detail);
	assert_int_equal(lock_changes(f), changes);
	store_fails = 0;
	assert_int_equal(door_present_credential(f->door, "pin:4711"), ADMISSION_GRANTED);
	assert_string_equal(admission_reason_name(ADMISSION_USED), "used");
}

static void test_bad_config_refused_before_any_line(void **state)
{
	struct fx *f = *state;
	GError *err = NULL;

	f->cfg.held_alarm_ms = f->cfg.held_prealarm_ms;
	assert_int_equal(
	    door_new(&f->cfg, &f->gpio, f->ctx, f->clk, on_event, f, 0, &f->door, &err), -EINVAL);
	assert_non_null(strstr(err->message, "held_alarm_ms"));
	g_clear_error(&err);
	f->door = NULL;
	f->cfg.held_alarm_ms = 500;
	g_free(f->cfg.sensor_line);
	f->cfg.sensor_line = g_strdup("NO_SUCH_LINE");
	assert_int_equal(
	    door_new(&f->cfg, &f->gpio, f->ctx, f->clk, on_event, f, 0, &f->door, &err), -ENOENT);
	assert_non_null(strstr(err->message, "NO_SUCH_LINE"));
	g_clear_error(&err);
	f->door = NULL;
	assert_int_equal(lock_changes(f), 1);
	/* The lock line was given back: a correct door can take it. */
	g_free(f->cfg.sensor_line);
	f->cfg.sensor_line = g_strdup("SENSOR");
	door_start(f, 0);
}

/* ---- the same timing driven by a fake clock: no sleeping, exact to the millisecond ---- */

static void fake_clock_start(struct fx *f)
{
	f->fake = clock_fake_new(g_get_real_time());
	f->clk = clock_fake_source(f->fake);
	door_start(f, 0);
	admit(f);
}

/* Hand queued GPIO edges to the door without waiting (the sim's fds are ready at once). */
static void drain(struct fx *f)
{
	while (g_main_context_iteration(f->ctx, FALSE))
		;
}

static void test_fake_clock_pulse_ends_exactly(void **state)
{
	struct fx *f = *state;

	fake_clock_start(f);
	assert_int_equal(door_present_credential(f->door, "w26:1:100"), ADMISSION_GRANTED);
	assert_int_equal(lock_level(f), 1);
	clock_fake_advance(f->fake, (int64_t)(f->cfg.pulse_ms - 1) * 1000);
	assert_int_equal(lock_level(f), 1);
	assert_int_equal(state_of(f), DOOR_STATE_UNLOCKED);
	clock_fake_advance(f->fake, 1000);
	assert_int_equal(lock_level(f), 0);
	assert_int_equal(state_of(f), DOOR_STATE_LOCKED);
	assert_int_equal(clock_fake_pending(f->fake), 0);
	/* An hour later by the fake clock the grant has expired: the admission list reads
	 * the door's clock too. */
	clock_fake_advance(f->fake, HOUR + 1);
	assert_int_equal(door_present_credential(f->door, "w26:1:100"), ADMISSION_EXPIRED);
	assert_int_equal(lock_level(f), 0);
}

static void test_fake_clock_held_open_timing(void **state)
{
	struct fx *f = *state;

	fake_clock_start(f);
	door_present_credential(f->door, "pin:4711");
	gpio_sim_set_input(f->sim, "SENSOR", 1);
	drain(f);
	assert_int_equal(count(f, DOOR_EV_OPENED), 0); /* still debouncing */
	clock_fake_advance(f->fake, (int64_t)f->cfg.debounce_ms * 1000);
	assert_int_equal(count(f, DOOR_EV_OPENED), 1);
	assert_int_equal(state_of(f), DOOR_STATE_OPEN);
	clock_fake_advance(f->fake, (int64_t)f->cfg.held_prealarm_ms * 1000 - 1);
	assert_int_equal(count(f, DOOR_EV_HELD_PREALARM), 0);
	clock_fake_advance(f->fake, 1);
	assert_int_equal(count(f, DOOR_EV_HELD_PREALARM), 1);
	assert_int_equal(state_of(f), DOOR_STATE_HELD_OPEN);
	clock_fake_advance(f->fake,
	                   (int64_t)(f->cfg.held_alarm_ms - f->cfg.held_prealarm_ms) * 1000);
	assert_int_equal(count(f, DOOR_EV_HELD_ALARM), 1);
	assert_int_equal(state_of(f), DOOR_STATE_HELD_OPEN_ALARM);
	/* Events carry the door clock's time. */
	assert_int_equal(last(f, DOOR_EV_HELD_ALARM)->ts_us,
	                 clock_source_now_us(clock_fake_source(f->fake)));
	gpio_sim_set_input(f->sim, "SENSOR", 0);
	drain(f);
	clock_fake_advance(f->fake, (int64_t)f->cfg.debounce_ms * 1000);
	assert_int_equal(count(f, DOOR_EV_CLOSED), 1);
	assert_int_equal(state_of(f), DOOR_STATE_LOCKED);
	assert_int_equal(lock_level(f), 0);
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_start_locked),
	    T(test_grant_pulse_relocks_at_pulse_end),
	    T(test_grant_open_close_relocks_on_close),
	    T(test_forced_open),
	    T(test_held_open_prealarm_then_alarm),
	    T(test_denial_reasons_never_move_lock),
	    T(test_lockdown_rex_still_exits),
	    T(test_rex_pulses),
	    T(test_free_access_and_lock),
	    T(test_status_command),
	    T(test_tamper),
	    T(test_fault_on_lock_output_error),
	    T(test_fault_on_input_error),
	    T(test_debounce_one_event),
	    T(test_wiegand_on_gpio),
	    T(test_restart_locked_and_unlocked_no_glitch),
	    T(test_restart_active_low_no_glitch),
	    T(test_fail_safe_and_controller_loss),
	    T(test_offline_decisions),
	    T(test_single_use),
	    T(test_bad_config_refused_before_any_line),
	    T(test_fake_clock_pulse_ends_exactly),
	    T(test_fake_clock_held_open_timing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
