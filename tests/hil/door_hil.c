/* Hardware-in-the-loop: the gpiod backend and the door state machine against a real
 * /dev/gpiochipN provided by gpio-sim inside QEMU. A driver thread moves the inputs
 * through gpio-sim's sysfs (sim_gpioN/pull) and reads the lock line's level (value);
 * the door runs on the main loop, as in the agent. Prints DOOR_HIL_PASS on success. */
#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "door.h"
#include "gpio_gpiod.h"

/* Offsets in the order run-door-hil.sh creates the lines. */
enum { L_LOCK, L_SENSOR, L_REX, L_TAMPER, L_D0, L_D1 };

static const char *sysfs;
static GAsyncQueue *events;
static GMainLoop *loop;
static struct door *door;
static int failures;

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			printf("FAIL: %s (line %d)\n", #c, __LINE__);                              \
			failures++;                                                                \
			return;                                                                    \
		}                                                                                  \
	} while (0)

static int sim_write(unsigned off, const char *attr, const char *val)
{
	char p[512];
	FILE *f;
	int rc;

	snprintf(p, sizeof(p), "%s/sim_gpio%u/%s", sysfs, off, attr);
	f = fopen(p, "w");
	if (!f)
		return -errno;
	rc = fputs(val, f) < 0 ? -EIO : 0;
	if (fclose(f))
		rc = -errno;
	return rc;
}

static int pull(unsigned off, int up)
{
	return sim_write(off, "pull", up ? "pull-up" : "pull-down");
}

static int lock_value(void)
{
	char p[512], buf[8] = "";
	FILE *f;

	snprintf(p, sizeof(p), "%s/sim_gpio%u/value", sysfs, (unsigned)L_LOCK);
	f = fopen(p, "r");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return buf[0] == '1' ? 1 : buf[0] == '0' ? 0 : -EIO;
}

static void on_event(const struct door_event *ev, void *user)
{
	struct door_event *copy = g_memdup2(ev, sizeof(*ev));

	copy->command_id = NULL;
	printf("  event %s state=%s cred=%s\n", door_event_name(ev->kind),
	       door_state_name(ev->state), ev->credential);
	g_async_queue_push(events, copy);
}

/* Wait up to MS for an event of KIND; other events on the way are skipped, except that a
 * Wiegand frame split in two by a stall of this emulated machine (two BAD_LENGTH reads)
 * is returned to the caller, who sends the frame again. */
static struct door_event *wait_for_or_split(enum door_event_kind kind, unsigned ms, int *split)
{
	gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
	struct door_event *ev;

	while ((ev = g_async_queue_timeout_pop(
	            events, end - g_get_monotonic_time() > 0 ? end - g_get_monotonic_time() : 0))) {
		if (split && ev->kind == DOOR_EV_BAD_READ && ev->read_kind == WIEGAND_BAD_LENGTH) {
			*split = 1;
			return ev;
		}
		if (ev->kind == kind)
			return ev;
		g_free(ev);
	}
	return NULL;
}

static struct door_event *wait_for(enum door_event_kind kind, unsigned ms)
{
	return wait_for_or_split(kind, ms, NULL);
}

static int wiegand_pulses(const char *bits)
{
	for (; *bits; bits++) {
		unsigned line = *bits == '1' ? L_D1 : L_D0;

		if (pull(line, 0) || pull(line, 1))
			return -EIO;
		g_usleep(2000);
	}
	return 0;
}

/* Send a frame and wait for the event of KIND it must cause; resend (up to 3 times) if the
 * emulator stalled long enough mid-frame to split it. */
static struct door_event *wiegand_expect(const char *bits, enum door_event_kind kind)
{
	struct door_event *ev = NULL;
	int tries, split;

	for (tries = 0; tries < 3; tries++) {
		split = 0;
		if (wiegand_pulses(bits))
			return NULL;
		ev = wait_for_or_split(kind, 10000, &split);
		if (!split)
			return ev;
		printf("  frame split by a stall of the emulator; sending it again\n");
		g_free(ev);
		/* Let the second half end and be reported before resending. */
		g_usleep(1000000);
		while ((ev = g_async_queue_try_pop(events)))
			g_free(ev);
	}
	return NULL;
}

static gboolean run_lockdown(gpointer p)
{
	door_command(door, *(int *)p ? DOOR_CMD_LOCKDOWN : DOOR_CMD_RELEASE, "hil");
	return G_SOURCE_REMOVE;
}

static void scenario(void)
{
	struct door_event *ev;
	int on = 1, off = 0, i;

	CHECK(lock_value() == 0);

	printf("wiegand frame with a parity error\n");
	CHECK((ev = wiegand_expect("10000000100000000000000011", DOOR_EV_BAD_READ)) &&
	      ev->read_kind == WIEGAND_BAD_PARITY);
	g_free(ev);
	CHECK(lock_value() == 0);

	printf("wiegand 26-bit card w26:1:1\n");
	CHECK((ev = wiegand_expect("10000000100000000000000010", DOOR_EV_GRANTED)) &&
	      !strcmp(ev->credential, "w26:1:1"));
	g_free(ev);
	CHECK(lock_value() == 1);

	printf("door opens and closes: relock on close\n");
	CHECK(pull(L_SENSOR, 1) == 0);
	CHECK((ev = wait_for(DOOR_EV_OPENED, 10000)) && ev->state == DOOR_STATE_UNLOCKED);
	g_free(ev);
	CHECK(pull(L_SENSOR, 0) == 0);
	CHECK((ev = wait_for(DOOR_EV_CLOSED, 10000)));
	g_free(ev);
	CHECK(lock_value() == 0);

	printf("unknown card denied\n");
	CHECK((ev = wiegand_expect("10000000100000000000000100", DOOR_EV_DENIED)) && /* w26:1:2 */
	      ev->reason == ADMISSION_UNKNOWN);
	g_free(ev);
	CHECK(lock_value() == 0);

	printf("forced open\n");
	CHECK(pull(L_SENSOR, 1) == 0);
	CHECK((ev = wait_for(DOOR_EV_FORCED_OPEN, 10000)));
	g_free(ev);
	CHECK(pull(L_SENSOR, 0) == 0);
	CHECK((ev = wait_for(DOOR_EV_CLOSED, 10000)));
	g_free(ev);
	CHECK(lock_value() == 0);

	printf("lockdown: card refused, request-to-exit still opens\n");
	g_main_context_invoke(NULL, run_lockdown, &on);
	CHECK((ev = wait_for(DOOR_EV_COMMAND, 10000)) && ev->result == 0);
	g_free(ev);
	CHECK((ev = wiegand_expect("10000000100000000000000010", DOOR_EV_DENIED)) &&
	      ev->reason == ADMISSION_LOCKDOWN);
	g_free(ev);
	CHECK(lock_value() == 0);
	CHECK(pull(L_REX, 1) == 0);
	CHECK((ev = wait_for(DOOR_EV_REX, 10000)));
	g_free(ev);
	CHECK(lock_value() == 1);
	CHECK(pull(L_REX, 0) == 0);
	printf("pulse ends: relock\n");
	for (i = 0; i < 1500 && lock_value() != 0; i++)
		g_usleep(10000);
	CHECK(lock_value() == 0);
	g_main_context_invoke(NULL, run_lockdown, &off);
	CHECK((ev = wait_for(DOOR_EV_COMMAND, 10000)) && ev->result == 0);
	g_free(ev);

	printf("tamper\n");
	CHECK(pull(L_TAMPER, 1) == 0);
	CHECK((ev = wait_for(DOOR_EV_TAMPER, 10000)));
	g_free(ev);
	CHECK(lock_value() == 0);
}

static gpointer driver(gpointer p)
{
	scenario();
	g_main_loop_quit(loop);
	return NULL;
}

int main(void)
{
	struct door_config cfg;
	struct gpio *gpio;
	GError *err = NULL;
	GThread *t;
	int64_t now = g_get_real_time();
	const struct admission_entry e[] = {
	    {"w26:1:1", "expert-hil", NULL, now - 3600000000ll, now + 3600000000ll, NULL, NULL,
	     false, 0},
	};

	sysfs = getenv("GPIOSIM_SYSFS");
	if (!sysfs) {
		printf("FAIL: GPIOSIM_SYSFS not set (run inside run-door-hil.sh)\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Wiegand lines idle high. */
	if (pull(L_D0, 1) || pull(L_D1, 1)) {
		printf("FAIL: cannot pull up the Wiegand lines\n");
		return 1;
	}
	door_config_defaults(&cfg);
	cfg.name = g_strdup("R1");
	cfg.lock_line = g_strdup("DOOR_LOCK");
	cfg.sensor_line = g_strdup("DOOR_SENSOR");
	cfg.rex_line = g_strdup("DOOR_REX");
	cfg.tamper_line = g_strdup("DOOR_TAMPER");
	cfg.wiegand_d0 = g_strdup("WIEGAND_D0");
	cfg.wiegand_d1 = g_strdup("WIEGAND_D1");
	cfg.debounce_ms = 10;
	cfg.pulse_ms = 1500;
	cfg.held_prealarm_ms = 20000;
	cfg.held_alarm_ms = 30000;
	/* Generous: under TCG emulation the driver thread can stall for tens of ms. */
	cfg.wiegand_gap_ms = 250;
	gpio_gpiod_new("door-hil", &gpio);
	events = g_async_queue_new_full(g_free);
	loop = g_main_loop_new(NULL, FALSE);
	if (door_new(&cfg, gpio, NULL, NULL, on_event, NULL, 0, &door, &err)) {
		printf("FAIL: door_new: %s\n", err->message);
		return 1;
	}
	door_set_controller_lost(door, false);
	admission_replace(door_admission(door), e, 1, NULL);
	t = g_thread_new("driver", driver, NULL);
	g_main_loop_run(loop);
	g_thread_join(t);
	door_free(door);
	gpio_gpiod_free(gpio);
	door_config_clear(&cfg);
	g_main_loop_unref(loop);
	g_async_queue_unref(events);
	if (failures)
		return 1;
	printf("DOOR_HIL_PASS\n");
	return 0;
}
