/* fuzz_agent_cmd: the room agent's command topic (agent_cmd_handle, room-agent/agent_cmd.c)
 * and what it dispatches to: the door (agent_door.c on the simulated GPIO chip), the seats
 * (agent_seats.c), the event outbox and the media commands, with a capturing fake
 * transport.
 *
 * Input: byte 0 sets the scene: bit 0 a lockdown persisted before a restart, bit 1 the
 * controller unreachable, bit 2 a room without a door. The rest is up to 16 messages
 * separated by NUL bytes, handled in order by a fresh agent; "@NOW" becomes now + 60 s and
 * "@PAST" now - 60 s in microseconds, so committed inputs mean the same on any day.
 *
 * Invariants, per message: the lock line goes to unlocked only for a message that an
 * independent reading calls a `cmd` "door" with action "unlock" or "free_access" and an
 * expiry in the future, answered by a reply ok:true with its id; a message gets at most
 * one answer: a `reply` (valid, repeating the id) or one `error` event naming the command
 * topic and "controller"; a message that is not a JSON object of kind cmd or segment.ack
 * gets the error; an error or an ok:false reply leaves the lock line, the persisted
 * lockdown and the persisted admission list exactly as they were, and makes no door event
 * other than the door's record of the refused command (a door.event with a non-zero result). */
#include <errno.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "agent_cmd.h"
#include "agent_door.h"
#include "agent_media.h"
#include "agent_seats.h"
#include "clock.h"
#include "credential.h"
#include "cmd_done.h"
#include "fuzz.h"
#include "gpio_sim.h"
#include "msg.h"
#include "outbox.h"

#define MAX_MSGS 16
#define LOCK     "lock"

static const char agent_conf[] =
    "[mqtt]\nuri=ssl://localhost:8883\nca=ca.pem\ncert=a.pem\nkey=a.key\n"
    "[agent]\nroom=R101\n"
    "[gpio]\nbackend=sim\n"
    "[door]\nlock_line=" LOCK "\nsensor_line=sensor\nrex_line=rex\n"
    "wiegand_d0_line=d0\nwiegand_d1_line=d1\npulse_ms=5000\nfail_mode=secure\n"
    "on_controller_lost=keep\n";
static const char agent_conf_nodoor[] =
    "[mqtt]\nuri=ssl://localhost:8883\nca=ca.pem\ncert=a.pem\nkey=a.key\n"
    "[agent]\nroom=R101\n";

static char *spool;
static char *conf_path[2];

static void setup(void)
{
	/* /dev/shm: the outbox and the door keep files with fsync; tmpfs makes them cheap. */
	char *tmpl = g_build_filename(g_file_test("/dev/shm", G_FILE_TEST_IS_DIR) ? "/dev/shm"
	                                                                          : g_get_tmp_dir(),
	                              "fuzz_agent_cmd-XXXXXX", NULL);
	spool = g_mkdtemp(tmpl);
	FUZZ_CHECK(spool, "cannot make the spool directory");
	conf_path[0] = g_build_filename(spool, "agent.conf", NULL);
	conf_path[1] = g_build_filename(spool, "agent-nodoor.conf", NULL);
	FUZZ_CHECK(g_file_set_contents(conf_path[0], agent_conf, -1, NULL) &&
	               g_file_set_contents(conf_path[1], agent_conf_nodoor, -1, NULL),
	           "cannot write the agent configs");
	/* The site credential key the door's config defaults to (beside the config). */
	char *key = g_build_filename(spool, "site-credential.key", NULL);
	FUZZ_CHECK(credential_key_write(key, NULL) == 0, "cannot write the credential key");
	g_free(key);
}

static char *spool_file(const char *name)
{
	char *path = g_build_filename(spool, name, NULL);
	char *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		text = NULL;
	g_free(path);
	return text;
}

static void spool_clear(void)
{
	static const char *const files[] = {"door-lockdown", "admission.json", "outbox.db",
	                                    "outbox.db-wal", "outbox.db-shm",  "outbox.db-journal"};
	for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
		char *path = g_build_filename(spool, files[i], NULL);
		g_unlink(path);
		g_free(path);
	}
}

/* What a message may change: the lock line, the door's events, the spool files. */
struct snapshot {
	size_t lock_changes;
	int lock_level;
	bool lockdown_file;
	char *admission, *seats;
	unsigned door_events;
};

static unsigned count_kind(struct fuzz_capture *cap, guint from, const char *topic,
                           const char *kind)
{
	unsigned n = 0;
	for (guint i = from; i < cap->msgs->len; i++) {
		struct fuzz_published *p = cap->msgs->pdata[i];
		json_t *j = json_loads(p->payload, 0, NULL);
		const char *k = json_string_value(json_object_get(j, "kind"));
		/* The door records a refused command (result -errno) as an audit event: that
		 * one is the refusal's trace, not a change. */
		json_t *res = json_object_get(j, "result");
		bool refusal = !strcmp(kind, "door.event") && json_is_integer(res) &&
		               json_integer_value(res) != 0;
		if (!strcmp(p->topic, topic) && k && !strcmp(k, kind) && !refusal)
			n++;
		json_decref(j);
	}
	return n;
}

static void snapshot_take(struct agent *a, struct fuzz_capture *cap, struct snapshot *s)
{
	struct gpio_sim *sim = agent_door_sim(a->door);
	const struct gpio_sim_change *ch;

	memset(s, 0, sizeof(*s));
	s->lock_level = 0;
	if (sim) {
		FUZZ_CHECK(gpio_sim_history(sim, LOCK, &ch, &s->lock_changes) == 0, "no lock line");
		s->lock_level = gpio_sim_get(sim, LOCK);
	}
	char *ld = spool_file("door-lockdown");
	s->lockdown_file = ld != NULL;
	g_free(ld);
	s->admission = spool_file("admission.json");
	s->seats = spool_file("seats.json");
	s->door_events = count_kind(cap, 0, a->topic_event, "door.event");
}

/* Did the lock line go to unlocked (level 1: the config's lock is active high) since S? */
static bool unlocked_since(struct agent *a, const struct snapshot *s)
{
	struct gpio_sim *sim = agent_door_sim(a->door);
	const struct gpio_sim_change *ch;
	size_t n;

	if (!sim)
		return false;
	gpio_sim_history(sim, LOCK, &ch, &n);
	for (size_t i = s->lock_changes; i < n; i++)
		if (ch[i].value == 1)
			return true;
	return false;
}

/* The independent reading: a cmd "door" unlock/free_access, not expired at NOW. */
static bool model_unlock_cmd(const char *payload, size_t len, int64_t now, char *id, size_t id_size)
{
	json_t *j = json_loadb(payload, len, JSON_REJECT_DUPLICATES, NULL);
	const char *kind = json_string_value(json_object_get(j, "kind"));
	const char *cmd = json_string_value(json_object_get(j, "command"));
	const char *action =
	    json_string_value(json_object_get(json_object_get(j, "args"), "action"));
	json_t *exp = json_object_get(j, "expires");
	bool ok = kind && !strcmp(kind, "cmd") && cmd && !strcmp(cmd, "door") && action &&
	          (!strcmp(action, "unlock") || !strcmp(action, "free_access")) &&
	          json_is_integer(exp) && json_integer_value(exp) >= now;
	if (ok) {
		const char *jid = json_string_value(json_object_get(j, "id"));
		g_strlcpy(id, jid ? jid : "", id_size);
	}
	json_decref(j);
	return ok;
}

/* Would the agent take this as a message of an allowed kind (a JSON object of kind cmd or
 * segment.ack)? Otherwise it must be refused. */
static bool model_allowed_kind(const char *payload, size_t len)
{
	json_t *j = json_loadb(payload, len, 0, NULL);
	const char *kind = json_string_value(json_object_get(j, "kind"));
	bool ok =
	    json_is_object(j) && kind && (!strcmp(kind, "cmd") || !strcmp(kind, "segment.ack"));
	json_decref(j);
	return ok;
}

/* The one reply since FROM (valid, its id and ok), or NULL when there is none. */
static bool check_reply(struct agent *a, struct fuzz_capture *cap, guint from, char *id,
                        size_t id_size, bool *ok)
{
	bool found = false;
	for (guint i = from; i < cap->msgs->len; i++) {
		struct fuzz_published *p = cap->msgs->pdata[i];
		if (strcmp(p->topic, a->topic_reply) != 0)
			continue;
		FUZZ_CHECK(!found, "two replies to one message");
		found = true;
		struct msg_envelope env;
		json_t *body = NULL;
		GError *err = NULL;
		FUZZ_CHECK(msg_parse(p->payload, p->len, MSG_MAX_SIZE, &env, &body, &err) == 0,
		           "reply does not parse: %s", err ? err->message : "?");
		FUZZ_CHECK(!strcmp(env.kind, "reply") && p->qos == 1 && !p->retain, "reply kind %s",
		           env.kind);
		struct msg_reader r;
		msg_reader_init(&r, body, NULL);
		const char *rid = msg_read_string(&r, "id", true, 63);
		*ok = msg_read_bool(&r, "ok", true, false);
		json_t *result = msg_read_object(&r, "result", false);
		const char *emsg = msg_read_string(&r, "error", false, MSG_MAX_SIZE);
		FUZZ_CHECK(msg_reader_finish(&r, &err) == 0, "invalid reply: %s: %s",
		           err ? err->message : "?", p->payload);
		FUZZ_CHECK(*ok ? result && !emsg : !result && emsg && *emsg,
		           "reply ok=%d with result %p and error '%s'", *ok, (void *)result,
		           emsg ? emsg : "(none)");
		g_strlcpy(id, rid, id_size);
		json_decref(body);
	}
	return found;
}

static void handle_one(struct agent *a, struct fuzz_capture *cap, const char *payload, size_t len)
{
	struct snapshot before, after;
	guint from = cap->msgs->len;
	int64_t now = clock_now_us();
	char model_id[64] = "", reply_id[64] = "";
	bool unlock_ok = model_unlock_cmd(payload, len, now, model_id, sizeof(model_id));
	bool ok = false;

	snapshot_take(a, cap, &before);
	agent_cmd_handle(a, payload, len);
	/* Door events reach the outbox's queue; it stores and publishes them from the loop. */
	for (int i = 0; i < 64 && g_main_context_iteration(NULL, FALSE); i++)
		;
	bool replied = check_reply(a, cap, from, reply_id, sizeof(reply_id), &ok);
	unsigned errors = count_kind(cap, from, a->topic_event, "error");
	for (guint i = from; i < cap->msgs->len; i++) {
		struct fuzz_published *p = cap->msgs->pdata[i];
		json_t *j = json_loads(p->payload, 0, NULL);
		const char *k = json_string_value(json_object_get(j, "kind"));
		if (!strcmp(p->topic, a->topic_event) && k && !strcmp(k, "error"))
			fuzz_check_error_message(p, a->topic_cmd, "controller");
		json_decref(j);
	}
	FUZZ_CHECK(errors + replied <= 1, "%u error events and %d replies to one message", errors,
	           replied);
	if (!model_allowed_kind(payload, len))
		FUZZ_CHECK(errors == 1, "a message that is no cmd or segment.ack was not refused");
	snapshot_take(a, cap, &after);
	if (unlocked_since(a, &before))
		FUZZ_CHECK(unlock_ok && replied && ok && !strcmp(reply_id, model_id),
		           "the lock went open for a message that is no unexpired door "
		           "unlock/free_access answered ok (reply %d ok %d id '%s'): %.*s",
		           replied, ok, reply_id, (int)len, payload);
	if (errors || (replied && !ok)) {
		FUZZ_CHECK(after.lock_changes == before.lock_changes &&
		               after.lock_level == before.lock_level,
		           "a refused message moved the lock");
		FUZZ_CHECK(after.door_events == before.door_events,
		           "a refused message made door events");
		FUZZ_CHECK(after.lockdown_file == before.lockdown_file,
		           "a refused message changed the persisted lockdown");
		FUZZ_CHECK(g_strcmp0(after.admission, before.admission) == 0,
		           "a refused message changed the persisted admission list");
		FUZZ_CHECK(g_strcmp0(after.seats, before.seats) == 0,
		           "a refused message changed the persisted seats");
	}
	g_free(before.admission);
	g_free(after.admission);
	g_free(before.seats);
	g_free(after.seats);
}

/* Replace @NOW and @PAST (a message is at most a few KiB: the agent refuses more). */
static char *expand(const uint8_t *data, size_t size, size_t *out_len)
{
	char now[24], past[24];
	int64_t t = clock_now_us();
	snprintf(now, sizeof(now), "%" G_GINT64_FORMAT, (gint64)(t + 60 * G_USEC_PER_SEC));
	snprintf(past, sizeof(past), "%" G_GINT64_FORMAT, (gint64)(t - 60 * G_USEC_PER_SEC));
	GString *s = g_string_new_len((const char *)data, (gssize)size);
	g_string_replace(s, "@NOW", now, 0);
	g_string_replace(s, "@PAST", past, 0);
	*out_len = s->len;
	return g_string_free(s, FALSE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_capture cap;
	struct agent a = {0};
	GError *err = NULL;

	fuzz_init();
	if (!spool)
		setup();
	if (size < 1)
		return 0;
	uint8_t scene = data[0];
	spool_clear();
	if (scene & 1) {
		char *p = g_build_filename(spool, "door-lockdown", NULL);
		g_file_set_contents(p, "lockdown\n", -1, NULL);
		g_free(p);
	}
	fuzz_capture_init(&cap);
	a.config = config_load(conf_path[(scene & 4) ? 1 : 0], &err);
	FUZZ_CHECK(a.config, "agent config: %s", err ? err->message : "?");
	a.room = g_strdup("R101");
	a.identity = g_strdup("agent-R101");
	a.spool_dir = g_strdup(spool);
	a.connected = true;
	a.controller_online = !(scene & 2);
	a.started_us = clock_now_us();
	snprintf(a.topic_status, sizeof(a.topic_status), TOPIC_PREFIX "room/R101/status");
	snprintf(a.topic_event, sizeof(a.topic_event), TOPIC_PREFIX "room/R101/event");
	a.node = node_new(&(struct node_config){.identity = a.identity,
	                                        .version = "fuzz",
	                                        .status_topic = a.topic_status,
	                                        .error_topic = a.topic_event,
	                                        .started_us = a.started_us});
	node_set_transport(a.node, &fuzz_capture_ops, &cap);
	snprintf(a.topic_reply, sizeof(a.topic_reply), TOPIC_PREFIX "room/R101/reply");
	snprintf(a.topic_cmd, sizeof(a.topic_cmd), TOPIC_PREFIX "room/R101/cmd");
	snprintf(a.topic_media, sizeof(a.topic_media), TOPIC_PREFIX "room/R101/media");
	char *ob = g_build_filename(spool, "outbox.db", NULL);
	a.outbox = outbox_open(ob, &fuzz_capture_ops, &cap, &err);
	g_free(ob);
	FUZZ_CHECK(a.outbox, "outbox: %s", err ? err->message : "?");
	outbox_set_connected(a.outbox, true);
	a.door = agent_door_new(&a, &err);
	FUZZ_CHECK(a.door || !err, "door: %s", err ? err->message : "?");
	FUZZ_CHECK(!a.door == !!(scene & 4), "door present %d in scene %u", !!a.door, scene);
	a.media = agent_media_new(&a, &err);
	FUZZ_CHECK(!a.media && !err, "media in a config without streams");
	a.seats = agent_seats_new(&a, &err);
	FUZZ_CHECK(a.seats && !err, "seats: %s", err ? err->message : "?");
	agent_door_controller_lost(a.door, !a.controller_online);
	for (int i = 0; i < 64 && g_main_context_iteration(NULL, FALSE); i++)
		;
	{
		struct gpio_sim *sim = agent_door_sim(a.door);
		FUZZ_CHECK(!sim || gpio_sim_get(sim, LOCK) == 0, "the door starts unlocked");
	}

	size_t at = 1;
	for (int n = 0; n < MAX_MSGS && at <= size; n++) {
		const uint8_t *end = memchr(data + at, 0, size - at);
		size_t mlen = end ? (size_t)(end - (data + at)) : size - at;
		size_t len;
		char *payload = expand(data + at, mlen, &len);
		handle_one(&a, &cap, payload, len);
		g_free(payload);
		at += mlen + 1;
	}

	agent_seats_free(a.seats);
	agent_media_free(a.media);
	agent_door_free(a.door);
	outbox_close(a.outbox);
	cmd_done_close(a.cmd_done); /* opened by the first command that is remembered */
	for (int i = 0; i < 64 && g_main_context_iteration(NULL, FALSE); i++)
		;
	node_free(a.node);
	config_free(a.config);
	g_free(a.room);
	g_free(a.identity);
	g_free(a.spool_dir);
	fuzz_capture_free(&cap);
	return 0;
}
