#include "agent_door.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admission_used.h"
#include "agent.h"
#include "clock.h"
#include "credential.h"
#include "door.h"
#include "gpio_gpiod.h"
#include "gpio_sim.h"
#include "log.h"
#include "msg.h"
#include "outbox.h"
#include "site.h"

/* One admission.set message carries at most this many entries (a page: about 150 bytes
 * an entry keeps it far under the 64 KiB message limit); a list is at most
 * ADMISSION_MAX_PAGES pages and ADMISSION_MAX_TOTAL entries (docs/door.md). */
#define ADMISSION_MAX_ENTRIES 400
#define ADMISSION_MAX_PAGES   200
#define ADMISSION_MAX_TOTAL   20000

struct agent_door {
	struct agent *agent;
	struct door_config cfg;
	struct gpio_sim *sim; /* sim backend */
	struct gpio *gpiod;   /* gpiod backend */
	struct door *door;
	char *lockdown_path;    /* exists while a lockdown is in force */
	char *admission_path;   /* the last admission list, for decisions after a restart */
	char *escort_wait_path; /* exists while an escorted pair's first credential waits */
	bool escort_wait_written;
	struct credential_key key;   /* the site credential key (credential.h) */
	struct admission_used *used; /* admissions used up, durable (admission_used.h) */
	/* A paged list being received: its id, page count and the pages so far. */
	char list_id[64];
	int64_t list_pages;
	json_t *list_parts; /* array of LIST_PAGES slots: an entries array or null */
	int64_t list_received;
};

static const char *const actions[] = {"unlock",      "lock",   "lockdown", "release",
                                      "free_access", "status", NULL};

static json_t *status_json(struct agent_door *d)
{
	struct door_status st;
	door_get_status(d->door, &st);
	return json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:I}", "state",
	                 door_state_name(st.state), "lock_unlocked", st.lock_unlocked, "door_open",
	                 st.door_open, "lockdown", st.lockdown, "free_access", st.free_access,
	                 "tamper", st.tamper, "fault", st.fault, "controller_lost",
	                 st.controller_lost, "admission_entries", (json_int_t)st.admission_entries);
}

static void persist_lockdown(struct agent_door *d, bool on)
{
	if (on) {
		GError *err = NULL;
		if (!g_file_set_contents(d->lockdown_path, "lockdown\n", -1, &err)) {
			log_warnx("door: cannot persist the lockdown: %s", err->message);
			g_error_free(err);
		}
	} else if (g_unlink(d->lockdown_path) != 0 && errno != ENOENT) {
		log_warn("door: cannot clear %s", d->lockdown_path);
	}
}

/* The two-person rule's wait (the first credential of an escorted pair) lives in the
 * door's memory only, so a restart ends it: the other credential alone then starts a new
 * wait and opens nothing. The wait is written down while it lasts so that the agent,
 * started again, can say that the restart ended it (escort_wait_ended below). Called
 * after every credential decision. */
static void persist_escort_wait(struct agent_door *d)
{
	struct admission_wait w;
	if (admission_wait_of(door_admission(d->door), clock_source_now_us(d->agent->clock), &w) !=
	    0) {
		if (d->escort_wait_written && g_unlink(d->escort_wait_path) != 0 && errno != ENOENT)
			log_warn("door: cannot clear %s", d->escort_wait_path);
		d->escort_wait_written = false;
		return;
	}
	json_t *j =
	    json_pack("{s:s, s:s, s:b, s:I, s:I}", "pair", w.pair, "person", w.person, "escort",
	              w.escort, "at", (json_int_t)w.at_us, "window", (json_int_t)w.window_us);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	GError *err = NULL;
	if (!text || !g_file_set_contents(d->escort_wait_path, text, -1, &err)) {
		log_warnx("door: cannot write the escort wait down: %s",
		          err ? err->message : "out of memory");
		g_clear_error(&err);
	} else {
		d->escort_wait_written = true;
	}
	free(text);
	json_decref(j);
}

/* At start: a wait written down before the restart whose window had not passed is over
 * (nothing of it is restored: both credentials must be presented again). The event
 * door.event "escort_wait_ended" tells the controller, which raises escort_missing. */
static void escort_wait_ended(struct agent_door *d)
{
	char *text = NULL;
	if (!g_file_get_contents(d->escort_wait_path, &text, NULL, NULL))
		return;
	if (g_unlink(d->escort_wait_path) != 0)
		log_warn("door: cannot clear %s", d->escort_wait_path);
	json_t *j = json_loads(text, 0, NULL);
	g_free(text);
	const char *person = json_string_value(json_object_get(j, "person"));
	int64_t at = json_integer_value(json_object_get(j, "at"));
	int64_t window = json_integer_value(json_object_get(j, "window"));
	int64_t now = clock_source_now_us(d->agent->clock);
	if (!person || !site_id_valid(person) || now < at || now - at > window) {
		json_decref(j);
		return; /* unreadable, or its window passed anyway (escort_missing as usual) */
	}
	struct agent *a = d->agent;
	json_t *m = node_msg_new(a->node, "door.event");
	char *detail = g_strdup_printf(
	    "the room agent restarted while %s waited for the other credential of an escorted "
	    "entry: the wait is over and both credentials must be presented again",
	    person);
	json_object_set_new(m, "event", json_string("escort_wait_ended"));
	json_object_set_new(m, "state", json_string(door_state_name(DOOR_STATE_LOCKED)));
	json_object_set_new(m, "at", json_integer(now));
	json_object_set_new(m, "person", json_string(person));
	json_object_set_new(m, "detail", json_string(detail));
	log_warnx("door %s: %s", a->room, detail);
	outbox_push(a->outbox, a->topic_event, m);
	json_decref(m);
	g_free(detail);
	json_decref(j);
}

static void on_door_event(const struct door_event *ev, void *user)
{
	struct agent_door *d = user;
	struct agent *a = d->agent;
	if (ev->kind == DOOR_EV_STATE) {
		if (ev->state == DOOR_STATE_LOCKDOWN)
			persist_lockdown(d, true);
		else if (ev->prev_state == DOOR_STATE_LOCKDOWN)
			persist_lockdown(d, false);
	}
	json_t *m = node_msg_new(a->node, "door.event");
	json_object_set_new(m, "event", json_string(door_event_name(ev->kind)));
	json_object_set_new(m, "state", json_string(door_state_name(ev->state)));
	json_object_set_new(m, "at", json_integer(ev->ts_us));
	switch (ev->kind) {
	case DOOR_EV_STATE:
		json_object_set_new(m, "prev_state", json_string(door_state_name(ev->prev_state)));
		break;
	case DOOR_EV_GRANTED:
	case DOOR_EV_DENIED: {
		persist_escort_wait(d);
		char dig[CREDENTIAL_DIGEST_HEX];
		credential_digest(&d->key, ev->credential, dig);
		json_object_set_new(m, "reason", json_string(admission_reason_name(ev->reason)));
		json_object_set_new(m, "credential_digest", json_string(dig));
		if (ev->person[0])
			json_object_set_new(m, "person", json_string(ev->person));
		break;
	}
	case DOOR_EV_COMMAND:
		json_object_set_new(m, "command", json_string(door_command_name(ev->command)));
		if (ev->command_id)
			json_object_set_new(m, "command_id", json_string(ev->command_id));
		json_object_set_new(m, "result", json_integer(ev->result));
		break;
	default:
		break;
	}
	if (ev->detail)
		json_object_set_new(m, "detail", json_string(ev->detail));
	log_info("door %s: %s (state %s)", a->room, door_event_name(ev->kind),
	         door_state_name(ev->state));
	outbox_push(a->outbox, a->topic_event, m);
	json_decref(m);
}

/* Decode and install an admission list {"entries":[...]}: this room's entries are
 * {digest, person, valid_from, valid_until}, another room's {digest, elsewhere: true,
 * valid_from, valid_until} (no person, no room: docs/door.md); DIGEST is the admission
 * digest of credential.h. With ALLOW_CLEAR (an older admission.json being converted) an
 * entry may have a "credential" in clear instead. Everything is validated before
 * anything changes. */
static int admission_install(struct agent_door *d, json_t *args, bool allow_clear, GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, args, "args");
	json_t *entries = msg_read_array(&r, "entries", true, ADMISSION_MAX_TOTAL);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	size_t n = json_array_size(entries);
	struct admission_entry *v = g_new0(struct admission_entry, n ? n : 1);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char path[48];
		snprintf(path, sizeof(path), "args.entries[%zu]", i);
		struct msg_reader er;
		msg_reader_init(&er, json_array_get(entries, i), path);
		bool clear =
		    allow_clear && json_object_get(json_array_get(entries, i), "credential");
		if (clear)
			v[i].credential = msg_read_string(&er, "credential", true, 64);
		else
			v[i].digest = msg_read_string(&er, "digest", true, CREDENTIAL_MAC_HEX - 1);
		v[i].elsewhere = msg_read_bool(&er, "elsewhere", false, false);
		v[i].person = msg_read_id(&er, "person", !v[i].elsewhere);
		v[i].valid_from_us = msg_read_int(&er, "valid_from", true, 0, INT64_MAX, 0);
		v[i].valid_until_us = msg_read_int(&er, "valid_until", true, 0, INT64_MAX, 0);
		v[i].pair = msg_read_id(&er, "escort_pair", false);
		v[i].pair_escort = msg_read_bool(&er, "escort", false, false);
		v[i].pair_window_us =
		    msg_read_int(&er, "pair_window_ms", v[i].pair != NULL, 1, 3600000, 0) * 1000;
		rc = msg_reader_finish(&er, err);
	}
	if (rc == 0)
		rc = admission_replace(door_admission(d->door), v, n, err);
	g_free(v);
	return rc;
}

/* An older admission.json held the credentials in clear: replace each by its admission
 * digest in ARGS; returns how many were converted. */
static size_t admission_digest_clear(struct agent_door *d, json_t *args)
{
	json_t *entries = json_object_get(args, "entries");
	size_t i, changed = 0;
	json_t *e;
	json_array_foreach(entries, i, e)
	{
		const char *cred = json_string_value(json_object_get(e, "credential"));
		if (!cred)
			continue;
		char mac[CREDENTIAL_MAC_HEX];
		credential_mac_hex(&d->key, cred, mac);
		json_object_set_new(e, "digest", json_string(mac));
		json_object_del(e, "credential");
		changed++;
	}
	return changed;
}

static void list_forget(struct agent_door *d)
{
	json_decref(d->list_parts);
	d->list_parts = NULL;
	d->list_id[0] = '\0';
	d->list_pages = d->list_received = 0;
}

static void admission_save(struct agent_door *d, json_t *args)
{
	char *text = json_dumps(args, JSON_COMPACT);
	GError *err = NULL;
	if (!g_file_set_contents(d->admission_path, text, -1, &err)) {
		log_warnx("door: cannot keep the admission list for a restart: %s", err->message);
		g_error_free(err);
	}
	free(text);
}

/* A list saved before rooms stopped being told about each other's people names, for
 * another room's entry, the person and that room. Turn such entries into elsewhere
 * entries in ARGS, as the controller sends them now; returns how many were changed. */
static size_t admission_forget_other_rooms(json_t *args, const char *room)
{
	json_t *entries = json_object_get(args, "entries");
	size_t i, changed = 0;
	json_t *e;
	json_array_foreach(entries, i, e)
	{
		const char *to = json_string_value(json_object_get(e, "room"));
		if (!json_is_object(e) || !json_object_get(e, "room"))
			continue;
		if (!to || strcmp(to, room) != 0) {
			json_object_del(e, "person");
			json_object_set_new(e, "elsewhere", json_true());
		}
		json_object_del(e, "room");
		changed++;
	}
	return changed;
}

static void admission_restore(struct agent_door *d)
{
	json_error_t je;
	json_t *args = json_load_file(d->admission_path, 0, &je);
	if (!args)
		return;
	size_t old_entries = admission_forget_other_rooms(args, d->cfg.name);
	size_t clear_entries = admission_digest_clear(d, args);
	GError *err = NULL;
	if (admission_install(d, args, false, &err) != 0) {
		log_warnx("door: the saved admission list %s is unusable: %s", d->admission_path,
		          err->message);
		g_error_free(err);
	} else {
		log_info("door: restored %zu admission entries",
		         admission_count(door_admission(d->door)));
		if (old_entries > 0) {
			log_info("door: %zu saved entries named another room and its person: "
			         "kept as admitted elsewhere, the file rewritten without them",
			         old_entries);
			admission_save(d, args);
		}
		if (clear_entries > 0) {
			log_info("door: %zu saved entries held a credential in clear: the file "
			         "rewritten with their keyed digests only",
			         clear_entries);
			admission_save(d, args);
		}
	}
	json_decref(args);
}

/* admission.set: a whole list {"entries"}, or one page of a paged list {"entries",
 * "list", "page", "pages"} (pages 0..pages-1 of one list id, in any order; a new list
 * id drops an unfinished one). The list is installed, all at once, when its last
 * missing page arrives; until then the old list stays in force. */
static int admission_set(struct agent_door *d, json_t *args, json_t **result, GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, args, "args");
	json_t *entries = msg_read_array(&r, "entries", true, ADMISSION_MAX_ENTRIES);
	const char *list = msg_read_string(&r, "list", false, sizeof(d->list_id) - 1);
	int64_t page = msg_read_int(&r, "page", list != NULL, 0, ADMISSION_MAX_PAGES - 1, 0);
	int64_t pages = msg_read_int(&r, "pages", list != NULL, 1, ADMISSION_MAX_PAGES, 1);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (!list) {
		int rc = admission_install(d, args, false, err);
		if (rc == 0) {
			admission_save(d, args);
			*result = json_pack("{s:I}", "entries",
			                    (json_int_t)admission_count(door_admission(d->door)));
		}
		return rc;
	}
	if (!*list || page >= pages) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
		            "args: list id empty or page %" G_GINT64_FORMAT
		            " not below pages %" G_GINT64_FORMAT,
		            page, pages);
		return -EINVAL;
	}
	if (strcmp(list, d->list_id) != 0 || pages != d->list_pages) {
		list_forget(d);
		g_strlcpy(d->list_id, list, sizeof(d->list_id));
		d->list_pages = pages;
		d->list_parts = json_array();
		for (int64_t i = 0; i < pages; i++)
			json_array_append_new(d->list_parts, json_null());
	}
	if (json_is_null(json_array_get(d->list_parts, (size_t)page))) {
		json_array_set(d->list_parts, (size_t)page, entries);
		d->list_received++;
	}
	if (d->list_received < d->list_pages) {
		*result = json_pack("{s:s, s:I, s:I}", "list", list, "pages_received",
		                    (json_int_t)d->list_received, "pages", (json_int_t)pages);
		return 0;
	}
	json_t *all = json_array();
	size_t i;
	json_t *part;
	json_array_foreach(d->list_parts, i, part) json_array_extend(all, part);
	json_t *whole = json_pack("{s:o}", "entries", all);
	int rc = json_array_size(all) > ADMISSION_MAX_TOTAL ? -EINVAL : 0;
	if (rc)
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
		            "admission list %s: more than %d entries", list, ADMISSION_MAX_TOTAL);
	else
		rc = admission_install(d, whole, false, err);
	if (rc == 0) {
		admission_save(d, whole);
		*result =
		    json_pack("{s:s, s:I, s:I, s:I}", "list", list, "pages_received",
		              (json_int_t)d->list_received, "pages", (json_int_t)pages, "entries",
		              (json_int_t)admission_count(door_admission(d->door)));
	}
	json_decref(whole);
	list_forget(d);
	return rc;
}

int agent_door_command(struct agent_door *d, const char *command, const char *id, json_t *args,
                       json_t **result, GError **err)
{
	if (strcmp(command, "admission.set") == 0) {
		if (!d) {
			g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID, "this room has no door");
			return -ENODEV;
		}
		return admission_set(d, args, result, err);
	}
	if (strcmp(command, "door") != 0)
		return -ENOENT;
	if (!d) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID, "this room has no door");
		return -ENODEV;
	}
	struct msg_reader r;
	msg_reader_init(&r, args, "args");
	int action = msg_read_enum(&r, "action", true, actions);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	enum door_command cmd;
	if (door_command_parse(actions[action], &cmd) != 0) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID, "unknown door action");
		return -EINVAL;
	}
	int rc = door_command(d->door, cmd, id);
	if (rc == -EPERM) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID, "refused: the door is in lockdown");
		return rc;
	}
	if (rc != 0) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID, "door %s: %s", actions[action],
		            g_strerror(-rc));
		return rc;
	}
	*result = status_json(d);
	return 0;
}

/* The door's use store: a granted admission is written down before the lock moves. */
static int use_store(const struct admission_use *use, void *user)
{
	struct agent_door *d = user;
	return admission_used_put(d->used, use, clock_source_now_us(d->agent->clock));
}

static void use_restore(const struct admission_use *use, void *user)
{
	struct agent_door *d = user;
	admission_mark_used(door_admission(d->door), use, clock_source_now_us(d->agent->clock));
}

struct gpio_sim *agent_door_sim(const struct agent_door *d)
{
	return d ? d->sim : NULL;
}

void agent_door_controller_lost(struct agent_door *d, bool lost)
{
	if (d)
		door_set_controller_lost(d->door, lost);
}

struct agent_door *agent_door_new(struct agent *a, GError **err)
{
	GKeyFile *kf = config_keyfile(a->config);
	if (!g_key_file_has_group(kf, "door"))
		return NULL;
	struct agent_door *d = g_new0(struct agent_door, 1);
	d->agent = a;
	if (door_config_load(kf, "door", &d->cfg, err) != 0)
		goto err_free;
	if (!d->cfg.name)
		d->cfg.name = g_strdup(a->room);
	char *backend = config_string(a->config, "gpio", "backend", "gpiod", err);
	struct gpio *gpio = NULL;
	if (!backend)
		goto err_free;
	if (strcmp(backend, "sim") == 0) {
		d->sim = gpio_sim_new();
		door_sim_add_lines(&d->cfg, d->sim);
		char *sock = config_string(a->config, "gpio", "sim_socket", "", err);
		if (sock && *sock) {
			char *path = config_resolve(a->config, sock);
			int rc = gpio_sim_listen(d->sim, path, NULL);
			if (rc != 0)
				g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(-rc),
				            "door: sim control socket %s: %s", path,
				            g_strerror(-rc));
			g_free(path);
			if (rc != 0) {
				g_free(sock);
				g_free(backend);
				goto err_free;
			}
		}
		g_free(sock);
		gpio = gpio_sim_gpio(d->sim);
	} else if (strcmp(backend, "gpiod") == 0) {
		int rc = gpio_gpiod_new("evalroom-agent", &d->gpiod);
		if (rc != 0) {
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "gpiod: %s",
			            g_strerror(-rc));
			g_free(backend);
			goto err_free;
		}
		gpio = d->gpiod;
	} else {
		g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
		            "%s: [gpio] backend: \"%s\" is not sim or gpiod",
		            config_path(a->config), backend);
		g_free(backend);
		goto err_free;
	}
	g_free(backend);
	char *kp = config_string(a->config, "agent", "credential_key", "site-credential.key", err);
	if (!kp)
		goto err_free;
	char *key_path = config_resolve(a->config, kp);
	g_free(kp);
	int krc = credential_key_load(key_path, &d->key, err);
	g_free(key_path);
	if (krc != 0)
		goto err_free;
	d->lockdown_path = g_build_filename(a->spool_dir, "door-lockdown", NULL);
	d->admission_path = g_build_filename(a->spool_dir, "admission.json", NULL);
	d->escort_wait_path = g_build_filename(a->spool_dir, "escort-wait.json", NULL);
	/* A lockdown ordered before a restart or a network loss stays in force. */
	unsigned flags =
	    g_file_test(d->lockdown_path, G_FILE_TEST_EXISTS) ? DOOR_START_LOCKDOWN : 0;
	if (door_new(&d->cfg, gpio, NULL, a->clock, on_door_event, d, flags, &d->door, err) != 0)
		goto err_free;
	admission_set_key(door_admission(d->door), &d->key);
	admission_restore(d);
	char *used_path = g_build_filename(a->spool_dir, "outbox.db", NULL);
	d->used = admission_used_open(used_path, err);
	g_free(used_path);
	if (!d->used ||
	    admission_used_each(d->used, clock_source_now_us(a->clock), use_restore, d) != 0) {
		if (err && !*err)
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
			            "door: the admissions used cannot be read back");
		goto err_free;
	}
	door_set_use_store(d->door, use_store, d);
	escort_wait_ended(d);
	log_info("door %s: ready (%s)%s", a->room, door_state_name(DOOR_STATE_LOCKED),
	         flags ? ", lockdown restored" : "");
	return d;
err_free:
	agent_door_free(d);
	return NULL;
}

void agent_door_free(struct agent_door *d)
{
	if (!d)
		return;
	if (d->door)
		door_free(d->door);
	admission_used_close(d->used);
	if (d->sim)
		gpio_sim_free(d->sim);
	if (d->gpiod)
		gpio_gpiod_free(d->gpiod);
	door_config_clear(&d->cfg);
	list_forget(d);
	OPENSSL_cleanse(&d->key, sizeof(d->key));
	g_free(d->lockdown_path);
	g_free(d->admission_path);
	g_free(d->escort_wait_path);
	g_free(d);
}
