/* The door state machine. The lock output is computed from a few facts (pulse running,
 * free access, lockdown, fail state) in one place, lock_apply(), so no other path can move
 * it; the reported state is derived from all facts in state_update(). */
#include "door.h"

#include "clock.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <string.h>

enum input_role { IN_SENSOR, IN_REX, IN_TAMPER, IN_D0, IN_D1, IN_COUNT };

struct wiegand_edge {
	uint64_t ts_ns;
	int bit;
};

struct input {
	struct door *door;
	enum input_role role;
	struct gpio_line *line;
	GSource *watch;
	struct clock_timer *debounce;
	bool active_low;
	bool stable; /* debounced logical level: true = open / pressed / tampered */
};

struct door {
	struct door_config cfg;
	struct gpio *gpio;
	GMainContext *ctx;
	const struct clock_source *clk; /* NULL: the system clock */
	door_event_cb cb;
	void *user;

	struct gpio_line *lock;
	bool lock_unlocked;
	struct input in[IN_COUNT];

	struct admission *adm;
	door_use_store_fn use_store; /* NULL: uses are remembered in memory only */
	void *use_user;
	struct wiegand *wg;
	struct clock_timer *wg_timer;
	uint64_t wg_last_ts;

	struct clock_timer *pulse_timer, *prealarm_timer, *alarm_timer;
	struct clock_timer *lost_timer; /* controller lost: runs out after cfg.lost_grace_ms */
	bool pulse_egress; /* the running pulse is a request-to-exit: lockdown lets it pass */
	bool lockdown, free_access, controller_lost, fail_active, fault;
	bool held_prealarm, held_alarm, forced;
	enum door_state state;
};

static const char *const state_names[] = {
    "locked",      "unlocked", "open",        "held_open", "held_open_alarm",
    "forced_open", "lockdown", "free_access", "fault",     "tamper",
};

static const char *const event_names[] = {
    "granted",     "denied",  "bad_read",           "opened",
    "closed",      "rex",     "held_open_prealarm", "held_open_alarm",
    "forced_open", "tamper",  "tamper_cleared",     "fault",
    "state",       "command",
};

static const char *const command_names[] = {
    "unlock", "lock", "lockdown", "release", "free_access", "status",
};

const char *door_state_name(enum door_state s)
{
	return (unsigned)s < G_N_ELEMENTS(state_names) ? state_names[s] : "invalid";
}

const char *door_event_name(enum door_event_kind k)
{
	return (unsigned)k < G_N_ELEMENTS(event_names) ? event_names[k] : "invalid";
}

const char *door_command_name(enum door_command c)
{
	return (unsigned)c < G_N_ELEMENTS(command_names) ? command_names[c] : "invalid";
}

int door_command_parse(const char *s, enum door_command *out)
{
	size_t i;

	for (i = 0; s && i < G_N_ELEMENTS(command_names); i++)
		if (!strcmp(s, command_names[i])) {
			*out = (enum door_command)i;
			return 0;
		}
	return -EINVAL;
}

static void emit(struct door *d, struct door_event *ev)
{
	ev->ts_us = clock_source_now_us(d->clk);
	ev->state = d->state;
	if (d->cb)
		d->cb(ev, d->user);
}

static void emit_simple(struct door *d, enum door_event_kind kind)
{
	struct door_event ev = {.kind = kind};

	emit(d, &ev);
}

static enum door_state state_derive(const struct door *d)
{
	if (d->fault)
		return DOOR_STATE_FAULT;
	if (d->in[IN_TAMPER].stable)
		return DOOR_STATE_TAMPER;
	if (d->forced)
		return DOOR_STATE_FORCED_OPEN;
	if (d->held_alarm)
		return DOOR_STATE_HELD_OPEN_ALARM;
	if (d->held_prealarm)
		return DOOR_STATE_HELD_OPEN;
	if (d->in[IN_SENSOR].stable)
		return DOOR_STATE_OPEN;
	if (d->lockdown)
		return DOOR_STATE_LOCKDOWN;
	if (d->free_access)
		return DOOR_STATE_FREE_ACCESS;
	return d->lock_unlocked ? DOOR_STATE_UNLOCKED : DOOR_STATE_LOCKED;
}

static void state_update(struct door *d)
{
	enum door_state s = state_derive(d);
	struct door_event ev = {.kind = DOOR_EV_STATE};

	if (s == d->state)
		return;
	ev.prev_state = d->state;
	d->state = s;
	emit(d, &ev);
}

static void fault_raise(struct door *d, int err, const char *detail)
{
	struct door_event ev = {.kind = DOOR_EV_FAULT, .result = err, .detail = detail};

	g_warning("door %s: %s: %s", d->cfg.name, detail, g_strerror(-err));
	d->fault = true;
	emit(d, &ev);
}

/* Every timer of the door runs on its clock (d->clk), so tests can drive time. */
static void timer_stop(struct door *d, struct clock_timer **t)
{
	clock_timer_stop(d->clk, *t);
	*t = NULL;
}

static void timer_start_for(struct door *d, struct clock_timer **t, unsigned ms, clock_timer_fn fn,
                            void *data)
{
	timer_stop(d, t);
	*t = clock_timer_start(d->clk, d->ctx, ms, fn, data);
}

static void timer_start(struct door *d, struct clock_timer **t, unsigned ms, clock_timer_fn fn)
{
	timer_start_for(d, t, ms, fn, d);
}

/* A timer that fired is gone: forget it. */
static void timer_fired(struct clock_timer **t)
{
	*t = NULL;
}

static bool lock_wanted_unlocked(const struct door *d)
{
	if (d->pulse_timer && (d->pulse_egress || !d->lockdown))
		return true;
	if (d->lockdown)
		return false;
	return d->free_access || (d->fail_active && d->cfg.fail_mode == DOOR_FAIL_SAFE);
}

static int lock_apply(struct door *d)
{
	bool want = lock_wanted_unlocked(d);
	int rc;

	if (want == d->lock_unlocked)
		return 0;
	rc = d->gpio->ops->set(d->lock, want ^ d->cfg.lock_active_low);
	if (rc) {
		fault_raise(d, rc, "lock output: set failed");
		return -EIO;
	}
	d->lock_unlocked = want;
	return 0;
}

static void pulse_end(void *data)
{
	struct door *d = data;

	timer_fired(&d->pulse_timer);
	lock_apply(d);
	state_update(d);
}

static int pulse_start(struct door *d, bool egress)
{
	if (d->free_access && !d->lockdown)
		return 0;
	d->pulse_egress = egress;
	timer_start(d, &d->pulse_timer, d->cfg.pulse_ms, pulse_end);
	return lock_apply(d);
}

static void held_prealarm_fire(void *data)
{
	struct door *d = data;

	timer_fired(&d->prealarm_timer);
	d->held_prealarm = true;
	emit_simple(d, DOOR_EV_HELD_PREALARM);
	state_update(d);
}

static void held_alarm_fire(void *data)
{
	struct door *d = data;

	timer_fired(&d->alarm_timer);
	d->held_alarm = true;
	emit_simple(d, DOOR_EV_HELD_ALARM);
	state_update(d);
}

static void held_timers_start(struct door *d)
{
	timer_start(d, &d->prealarm_timer, d->cfg.held_prealarm_ms, held_prealarm_fire);
	timer_start(d, &d->alarm_timer, d->cfg.held_alarm_ms, held_alarm_fire);
}

static void held_clear(struct door *d)
{
	timer_stop(d, &d->prealarm_timer);
	timer_stop(d, &d->alarm_timer);
	d->held_prealarm = d->held_alarm = false;
}

static void door_opened(struct door *d)
{
	emit_simple(d, DOOR_EV_OPENED);
	if (!d->lock_unlocked) {
		d->forced = true;
		emit_simple(d, DOOR_EV_FORCED_OPEN);
	} else if (!d->free_access) {
		held_timers_start(d);
	}
}

static void door_closed(struct door *d)
{
	d->forced = false;
	held_clear(d);
	/* Relock on close: one pulse lets one person through. Events report done actions. */
	timer_stop(d, &d->pulse_timer);
	lock_apply(d);
	emit_simple(d, DOOR_EV_CLOSED);
}

static void input_changed(struct input *in, bool active)
{
	struct door *d = in->door;

	in->stable = active;
	switch (in->role) {
	case IN_SENSOR:
		if (active)
			door_opened(d);
		else
			door_closed(d);
		break;
	case IN_REX:
		if (active) {
			/* Egress stays free in lockdown. */
			pulse_start(d, true);
			emit_simple(d, DOOR_EV_REX);
		}
		break;
	case IN_TAMPER:
		emit_simple(d, active ? DOOR_EV_TAMPER : DOOR_EV_TAMPER_CLEARED);
		break;
	default:
		break;
	}
	state_update(d);
}

static int input_level(struct input *in)
{
	int v = in->door->gpio->ops->get(in->line);

	return v < 0 ? v : (v ? 1 : 0) ^ in->active_low;
}

static void debounce_end(void *data)
{
	struct input *in = data;
	int v;

	in->debounce = NULL; /* fired */
	v = input_level(in);
	if (v < 0) {
		fault_raise(in->door, v, "input: read failed");
		state_update(in->door);
	} else if ((bool)v != in->stable) {
		input_changed(in, v);
	}
}

static void wiegand_frame_end(struct door *d)
{
	struct wiegand_result r;

	if (!wiegand_end_frame(d->wg, &r))
		return;
	if (r.kind == WIEGAND_CARD || r.kind == WIEGAND_PIN) {
		door_present_credential(d, r.credential);
	} else {
		struct door_event ev = {.kind = DOOR_EV_BAD_READ, .read_kind = r.kind};

		g_strlcpy(ev.credential, r.credential, sizeof(ev.credential));
		emit(d, &ev);
	}
}

static void wiegand_gap_end(void *data)
{
	struct door *d = data;

	timer_fired(&d->wg_timer);
	wiegand_frame_end(d);
}

static void wiegand_bit(struct door *d, int bit, uint64_t ts_ns)
{
	uint64_t gap_ns = (uint64_t)d->cfg.wiegand_gap_ms * 1000000u;

	/* Frames queued back to back are split by their kernel timestamps. */
	if (wiegand_pending(d->wg) && ts_ns > d->wg_last_ts + gap_ns) {
		timer_stop(d, &d->wg_timer);
		wiegand_frame_end(d);
	}
	wiegand_push_bit(d->wg, bit, ts_ns);
	d->wg_last_ts = ts_ns;
	timer_start(d, &d->wg_timer, d->cfg.wiegand_gap_ms, wiegand_gap_end);
}

static int wiegand_read(struct door *d, struct input *in, GArray *bits)
{
	struct gpio_event evs[16];
	int n, i;

	if (!in->line)
		return 0;
	do {
		n = d->gpio->ops->read_events(in->line, evs, G_N_ELEMENTS(evs));
		for (i = 0; i < n; i++)
			if (!evs[i].rising) {
				struct wiegand_edge e = {evs[i].ts_ns, in->role == IN_D1};

				g_array_append_val(bits, e);
			}
	} while (n > 0);
	return n;
}

static gint edge_cmp(gconstpointer a, gconstpointer b)
{
	const struct wiegand_edge *x = a, *y = b;

	return x->ts_ns < y->ts_ns ? -1 : x->ts_ns > y->ts_ns;
}

/* D0 and D1 are two fds: drain both and merge by timestamp, or bits come out of order. */
static int wiegand_drain(struct door *d)
{
	GArray *bits = g_array_new(FALSE, FALSE, sizeof(struct wiegand_edge));
	int rc = wiegand_read(d, &d->in[IN_D0], bits);
	guint i;

	if (!rc)
		rc = wiegand_read(d, &d->in[IN_D1], bits);
	g_array_sort(bits, edge_cmp);
	for (i = 0; i < bits->len; i++) {
		struct wiegand_edge *e = &g_array_index(bits, struct wiegand_edge, i);

		wiegand_bit(d, e->bit, e->ts_ns);
	}
	g_array_free(bits, TRUE);
	return rc;
}

static gboolean input_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct input *in = data;
	struct door *d = in->door;
	struct gpio_event evs[16];
	int n, i;

	if (in->role == IN_D0 || in->role == IN_D1) {
		n = wiegand_drain(d);
		goto out;
	}
	do {
		n = d->gpio->ops->read_events(in->line, evs, G_N_ELEMENTS(evs));
		for (i = 0; i < n; i++) {
			if (d->cfg.debounce_ms) {
				timer_start_for(d, &in->debounce, d->cfg.debounce_ms, debounce_end,
				                in);
			} else {
				bool active = (evs[i].rising ? 1 : 0) ^ in->active_low;

				if (active != in->stable)
					input_changed(in, active);
			}
		}
	} while (n > 0);
out:
	if (n < 0 || (cond & (G_IO_ERR | G_IO_HUP))) {
		fault_raise(d, n < 0 ? n : -EIO, "input: event read failed");
		state_update(d);
		g_source_unref(in->watch);
		in->watch = NULL;
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static int input_open(struct door *d, enum input_role role, const char *name, bool active_low,
                      GError **err)
{
	struct input *in = &d->in[role];
	int rc, fd, v;

	in->door = d;
	in->role = role;
	in->active_low = active_low;
	if (!name)
		return 0;
	rc = d->gpio->ops->request_input(d->gpio->ctx, name, &in->line);
	if (rc) {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(-rc),
		            "door %s: input line %s: %s", d->cfg.name, name, g_strerror(-rc));
		return rc;
	}
	v = input_level(in);
	if (v < 0) {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(-v),
		            "door %s: input line %s: read: %s", d->cfg.name, name, g_strerror(-v));
		return v;
	}
	in->stable = v;
	fd = d->gpio->ops->event_fd(in->line);
	if (fd < 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "door %s: input line %s: no fd",
		            d->cfg.name, name);
		return fd;
	}
	in->watch = g_unix_fd_source_new(fd, G_IO_IN | G_IO_ERR | G_IO_HUP);
	g_source_set_callback(in->watch, G_SOURCE_FUNC(input_readable), in, NULL);
	g_source_attach(in->watch, d->ctx);
	return 0;
}

static void input_close(struct door *d, struct input *in)
{
	if (in->watch) {
		g_source_destroy(in->watch);
		g_source_unref(in->watch);
		in->watch = NULL;
	}
	timer_stop(d, &in->debounce);
	if (in->line)
		d->gpio->ops->release(in->line);
	in->line = NULL;
}

/* The controller has been lost for the whole grace: only now does on_controller_lost
 * apply. A loss shorter than the grace (a reconnect, a broker restart, a restart of the
 * agent itself, a storm of either) never moves the lock. */
static void lost_grace_end(void *data)
{
	struct door *d = data;
	timer_fired(&d->lost_timer);
	if (d->controller_lost && d->cfg.on_controller_lost == DOOR_LOST_FAIL) {
		d->fail_active = true;
		lock_apply(d);
		state_update(d);
	}
}

static void lost_grace_start(struct door *d)
{
	if (d->cfg.on_controller_lost == DOOR_LOST_FAIL && !d->fail_active)
		timer_start(d, &d->lost_timer, d->cfg.lost_grace_ms, lost_grace_end);
}

static void config_copy(struct door_config *dst, const struct door_config *src)
{
	*dst = *src;
	dst->name = g_strdup(src->name ? src->name : "door");
	dst->lock_line = g_strdup(src->lock_line);
	dst->sensor_line = g_strdup(src->sensor_line);
	dst->rex_line = g_strdup(src->rex_line);
	dst->tamper_line = g_strdup(src->tamper_line);
	dst->wiegand_d0 = g_strdup(src->wiegand_d0);
	dst->wiegand_d1 = g_strdup(src->wiegand_d1);
}

int door_new(const struct door_config *cfg, struct gpio *gpio, GMainContext *ctx,
             const struct clock_source *clk, door_event_cb cb, void *user, unsigned flags,
             struct door **out, GError **err)
{
	struct door *d;
	int rc;

	rc = door_config_validate(cfg, err);
	if (rc)
		return rc;
	d = g_new0(struct door, 1);
	config_copy(&d->cfg, cfg);
	d->gpio = gpio;
	d->ctx = ctx;
	d->clk = clk;
	d->cb = cb;
	d->user = user;
	d->lockdown = (flags & DOOR_START_LOCKDOWN) != 0;
	/* Until the controller is heard from, it counts as lost; but the fail state comes only
	 * after the grace, like any other loss: a restart never opens a fail-safe door. */
	d->controller_lost = true;
	d->fail_active = false;
	d->lock_unlocked = lock_wanted_unlocked(d);
	/* Requested straight at the fail level: the line never passes through another one. */
	rc = gpio->ops->request_output(gpio->ctx, cfg->lock_line,
	                               d->lock_unlocked ^ cfg->lock_active_low, &d->lock);
	if (rc) {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(-rc),
		            "door %s: lock line %s: %s", d->cfg.name, cfg->lock_line,
		            g_strerror(-rc));
		goto err_free;
	}
	d->adm = admission_new(d->cfg.name);
	d->wg = wiegand_new(d->cfg.pin_timeout_ms);
	rc = input_open(d, IN_SENSOR, d->cfg.sensor_line, d->cfg.sensor_active_low, err);
	if (!rc)
		rc = input_open(d, IN_REX, d->cfg.rex_line, d->cfg.rex_active_low, err);
	if (!rc)
		rc = input_open(d, IN_TAMPER, d->cfg.tamper_line, d->cfg.tamper_active_low, err);
	if (!rc)
		rc = input_open(d, IN_D0, d->cfg.wiegand_d0, false, err);
	if (!rc)
		rc = input_open(d, IN_D1, d->cfg.wiegand_d1, false, err);
	if (rc)
		goto err_inputs;
	lost_grace_start(d);
	/* A door found open at start gets the held-open alarms, never a forced-open. */
	if (d->in[IN_SENSOR].stable && !d->lock_unlocked)
		held_timers_start(d);
	d->state = state_derive(d);
	*out = d;
	return 0;
err_inputs:
	door_free(d);
	return rc;
err_free:
	door_config_clear(&d->cfg);
	g_free(d);
	return rc;
}

void door_free(struct door *d)
{
	int i;

	if (!d)
		return;
	for (i = IN_COUNT - 1; i >= 0; i--)
		input_close(d, &d->in[i]);
	timer_stop(d, &d->wg_timer);
	timer_stop(d, &d->pulse_timer);
	timer_stop(d, &d->prealarm_timer);
	timer_stop(d, &d->alarm_timer);
	timer_stop(d, &d->lost_timer);
	/* Released without a last write: the output keeps its level. */
	d->gpio->ops->release(d->lock);
	wiegand_free(d->wg);
	admission_free(d->adm);
	door_config_clear(&d->cfg);
	g_free(d);
}

enum admission_reason door_present_credential(struct door *d, const char *credential)
{
	struct door_event ev = {0};
	enum admission_reason r;

	int64_t now = clock_source_now_us(d->clk);
	r = admission_decide(d->adm, credential, now, ev.person);
	/* In lockdown every listed credential is refused as such, a used one too: the guard
	 * reads why the door stays shut, not the state of one person's admission. */
	if ((r == ADMISSION_GRANTED || r == ADMISSION_USED) && d->lockdown)
		r = ADMISSION_LOCKDOWN;
	if (r == ADMISSION_GRANTED) {
		/* Single use: the admission is written down as used before the lock moves, so
		 * neither a second try nor a restart or power cut right after lets it in again.
		 * A door that cannot write it down does not open on it. */
		struct admission_use use;
		int rc = admission_use_of(d->adm, credential, &use);
		if (rc == 0 && d->use_store)
			rc = d->use_store(&use, d->use_user);
		if (rc == 0)
			rc = admission_mark_used(d->adm, &use, now);
		if (rc != 0) {
			r = ADMISSION_UNKNOWN;
			ev.detail = "the admission could not be recorded as used";
			g_warning("door %s: %s: %s", d->cfg.name, ev.detail, g_strerror(-rc));
		}
	}
	if (r == ADMISSION_GRANTED)
		pulse_start(d, false);
	ev.kind = r == ADMISSION_GRANTED ? DOOR_EV_GRANTED : DOOR_EV_DENIED;
	ev.reason = r;
	g_strlcpy(ev.credential, credential ? credential : "", sizeof(ev.credential));
	state_update(d);
	emit(d, &ev);
	return r;
}

int door_command(struct door *d, enum door_command cmd, const char *id)
{
	struct door_event ev = {.kind = DOOR_EV_COMMAND, .command = cmd, .command_id = id};
	int rc = 0;

	switch (cmd) {
	case DOOR_CMD_UNLOCK:
		if (d->lockdown) {
			rc = -EPERM;
			ev.detail = "lockdown in force";
		} else {
			d->fail_active = false;
			rc = pulse_start(d, false);
		}
		break;
	case DOOR_CMD_LOCK:
		d->free_access = false;
		d->fail_active = false;
		timer_stop(d, &d->pulse_timer);
		rc = lock_apply(d);
		break;
	case DOOR_CMD_LOCKDOWN:
		d->lockdown = true;
		d->free_access = false;
		timer_stop(d, &d->pulse_timer);
		rc = lock_apply(d);
		break;
	case DOOR_CMD_RELEASE:
		d->lockdown = false;
		d->free_access = false;
		/* Back to the fail state only if the loss had already outlasted its grace. */
		d->fail_active = d->controller_lost && !d->lost_timer &&
		                 d->cfg.on_controller_lost == DOOR_LOST_FAIL;
		rc = lock_apply(d);
		break;
	case DOOR_CMD_FREE_ACCESS:
		if (d->lockdown) {
			rc = -EPERM;
			ev.detail = "lockdown in force";
			break;
		}
		d->free_access = true;
		timer_stop(d, &d->pulse_timer);
		held_clear(d);
		rc = lock_apply(d);
		break;
	case DOOR_CMD_STATUS:
		break;
	default:
		rc = -EINVAL;
		ev.detail = "unknown command";
	}
	state_update(d);
	ev.result = rc;
	emit(d, &ev);
	return rc;
}

void door_set_use_store(struct door *d, door_use_store_fn fn, void *user)
{
	d->use_store = fn;
	d->use_user = user;
}

struct admission *door_admission(struct door *d)
{
	return d->adm;
}

void door_set_controller_lost(struct door *d, bool lost)
{
	if (lost && d->controller_lost)
		return; /* still lost: the grace runs from the first loss */
	d->controller_lost = lost;
	if (lost) {
		lost_grace_start(d);
	} else {
		timer_stop(d, &d->lost_timer);
		d->fail_active = false;
	}
	lock_apply(d);
	state_update(d);
}

void door_get_status(const struct door *d, struct door_status *st)
{
	memset(st, 0, sizeof(*st));
	st->state = d->state;
	st->lock_unlocked = d->lock_unlocked;
	st->door_open = d->in[IN_SENSOR].stable;
	st->rex_active = d->in[IN_REX].stable;
	st->tamper = d->in[IN_TAMPER].stable;
	st->fault = d->fault;
	st->lockdown = d->lockdown;
	st->free_access = d->free_access;
	st->controller_lost = d->controller_lost;
	st->pulse_active = d->pulse_timer != NULL;
	st->held_prealarm = d->held_prealarm;
	st->held_alarm = d->held_alarm;
	st->forced = d->forced;
	st->admission_entries = admission_count(d->adm);
}
