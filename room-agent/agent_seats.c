#include "agent_seats.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <string.h>

#include "checkin_codes.h"
#include "clock.h"
#include "log.h"
#include "mqtt_session.h"
#include "msg.h"
#include "outbox.h"
#include "terminal_proto.h"

#define NAME_MAX_BYTES 128

struct seat {
	char id[MSG_ID_MAX + 1];
	/* The assignment from the last check-in or readmission. */
	bool assigned;
	char person[MSG_ID_MAX + 1], tender[MSG_ID_MAX + 1];
	char name[NAME_MAX_BYTES + 1], tender_name[NAME_MAX_BYTES + 1];
	char code_digest[CHECKIN_DIGEST_HEX];
	int64_t code_valid_until;
	bool code_used;
	/* The session held (a login of the assigned person). */
	bool in_session;
	char s_person[MSG_ID_MAX + 1], s_tender[MSG_ID_MAX + 1];
	char s_name[NAME_MAX_BYTES + 1], s_tender_name[NAME_MAX_BYTES + 1];
	bool locked, blocked;
	char lock_reason[201];
	int wrong;
	/* The terminal. */
	uint64_t last_seq;       /* highest up seq handled */
	uint64_t last_login_seq; /* and the last login's, with its verdict */
	json_t *last_verdict;
	bool online;           /* retained status says online */
	bool reported_offline; /* terminal_offline sent, terminal_online not yet */
	int64_t last_seen_us;
	char topic_down[160];
};

struct agent_seats {
	struct agent *a;
	GHashTable *seats; /* id -> struct seat */
	char *path;
	guint tick;
	agent_seats_help_fn help_hook; /* the call's, NULL-safe */
	void *help_user;
};

static void seat_free(gpointer p)
{
	struct seat *st = p;
	json_decref(st->last_verdict);
	g_free(st);
}

static struct seat *seat_get(struct agent_seats *s, const char *id)
{
	struct seat *st = g_hash_table_lookup(s->seats, id);
	if (!st) {
		st = g_new0(struct seat, 1);
		g_strlcpy(st->id, id, sizeof(st->id));
		snprintf(st->topic_down, sizeof(st->topic_down), TOPIC_PREFIX "seat/%s/%s/down",
		         s->a->room, id);
		g_hash_table_insert(s->seats, st->id, st);
	}
	return st;
}

static enum terminal_seat seat_state(const struct seat *st)
{
	return st->locked       ? TERMINAL_SEAT_LOCKED
	       : st->blocked    ? TERMINAL_SEAT_BLOCKED
	       : st->in_session ? TERMINAL_SEAT_IN_USE
	                        : TERMINAL_SEAT_OPEN;
}

/* ---- persistence: what must survive a restart (the counter, locks, sessions) ---- */

static void seats_save(struct agent_seats *s)
{
	json_t *all = json_object();
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, s->seats);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct seat *st = v;
		json_t *o = json_pack(
		    "{s:b, s:b, s:b, s:b, s:s, s:i, s:b}", "assigned", st->assigned, "in_session",
		    st->in_session, "locked", st->locked, "blocked", st->blocked, "lock_reason",
		    st->lock_reason, "wrong", st->wrong, "code_used", st->code_used);
		if (st->assigned)
			json_object_set_new(o, "assignment",
			                    json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "person",
			                              st->person, "name", st->name, "tender",
			                              st->tender, "tender_name", st->tender_name,
			                              "code_digest", st->code_digest, "valid_until",
			                              (json_int_t)st->code_valid_until));
		if (st->in_session)
			json_object_set_new(o, "session",
			                    json_pack("{s:s, s:s, s:s, s:s}", "person",
			                              st->s_person, "name", st->s_name, "tender",
			                              st->s_tender, "tender_name",
			                              st->s_tender_name));
		json_object_set_new(all, st->id, o);
	}
	char *text = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(all);
	GError *err = NULL;
	if (!g_file_set_contents(s->path, text, -1, &err)) {
		log_warnx("seats: cannot keep the seats' state for a restart: %s", err->message);
		g_error_free(err);
	}
	free(text);
}

static bool text_ok(const char *t)
{
	if (!t || !*t || strlen(t) > NAME_MAX_BYTES || !g_utf8_validate(t, -1, NULL))
		return false;
	for (const unsigned char *p = (const unsigned char *)t; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static bool digest_ok(const char *d)
{
	if (!d || strlen(d) != 64)
		return false;
	for (const char *p = d; *p; p++)
		if (!g_ascii_isxdigit(*p) || g_ascii_isupper(*p))
			return false;
	return true;
}

/* Read an assignment {person, name, tender, tender_name, code_digest, valid_until}
 * (from a command or the saved state) into ST; nothing changes on a fault. */
static int assignment_read(struct seat *st, json_t *o, const char *path, GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, o, path);
	msg_read_id(&r, "seat", false);
	const char *person = msg_read_id(&r, "person", true);
	const char *name = msg_read_string(&r, "name", true, NAME_MAX_BYTES);
	const char *tender = msg_read_id(&r, "tender", true);
	const char *tender_name = msg_read_string(&r, "tender_name", true, NAME_MAX_BYTES);
	const char *digest = msg_read_string(&r, "code_digest", true, 64);
	int64_t until = msg_read_int(&r, "valid_until", true, 0, INT64_MAX, 0);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (!text_ok(name) || !text_ok(tender_name) || !digest_ok(digest)) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
		            "%s: name and tender_name must be 1..128 bytes of text without control "
		            "characters, code_digest 64 lower-case hex digits",
		            path);
		return -EINVAL;
	}
	st->assigned = true;
	g_strlcpy(st->person, person, sizeof(st->person));
	g_strlcpy(st->name, name, sizeof(st->name));
	g_strlcpy(st->tender, tender, sizeof(st->tender));
	g_strlcpy(st->tender_name, tender_name, sizeof(st->tender_name));
	g_strlcpy(st->code_digest, digest, sizeof(st->code_digest));
	st->code_valid_until = until;
	return 0;
}

static void seats_restore(struct agent_seats *s)
{
	json_error_t je;
	json_t *all = json_load_file(s->path, 0, &je);
	if (!all)
		return; /* a fresh start */
	const char *id;
	json_t *o;
	json_object_foreach(all, id, o)
	{
		if (!id_valid(id) || !json_is_object(o))
			continue;
		struct seat *st = seat_get(s, id);
		GError *err = NULL;
		json_t *as = json_object_get(o, "assignment");
		if (as && assignment_read(st, as, "assignment", &err) != 0) {
			log_warnx("seats: saved assignment of %s unusable: %s", id, err->message);
			g_clear_error(&err);
		}
		json_t *se = json_object_get(o, "session");
		const char *sp = json_string_value(json_object_get(se, "person"));
		const char *sn = json_string_value(json_object_get(se, "name"));
		const char *stn = json_string_value(json_object_get(se, "tender"));
		const char *stnn = json_string_value(json_object_get(se, "tender_name"));
		if (json_is_true(json_object_get(o, "in_session")) && sp && id_valid(sp) &&
		    text_ok(sn) && stn && id_valid(stn) && text_ok(stnn)) {
			st->in_session = true;
			g_strlcpy(st->s_person, sp, sizeof(st->s_person));
			g_strlcpy(st->s_name, sn, sizeof(st->s_name));
			g_strlcpy(st->s_tender, stn, sizeof(st->s_tender));
			g_strlcpy(st->s_tender_name, stnn, sizeof(st->s_tender_name));
		}
		st->locked = json_is_true(json_object_get(o, "locked"));
		st->blocked = json_is_true(json_object_get(o, "blocked"));
		st->code_used = json_is_true(json_object_get(o, "code_used"));
		const char *reason = json_string_value(json_object_get(o, "lock_reason"));
		g_strlcpy(st->lock_reason, reason && text_ok(reason) ? reason : "",
		          sizeof(st->lock_reason));
		json_int_t w = json_integer_value(json_object_get(o, "wrong"));
		st->wrong = w >= 0 && w <= SEATS_MAX_WRONG ? (int)w : SEATS_MAX_WRONG;
	}
	json_decref(all);
	log_info("seats: restored the state of %u seats", g_hash_table_size(s->seats));
}

/* ---- out: events to the controller, messages to the terminal ---- */

static void seat_event(struct agent_seats *s, const struct seat *st, const char *event,
                       json_t *extra)
{
	json_t *m = node_msg_new(s->a->node, "seat.event");
	json_object_set_new(m, "event", json_string(event));
	json_object_set_new(m, "seat", json_string(st->id));
	json_object_set_new(m, "at", json_integer(clock_now_us()));
	if (extra) {
		json_object_update(m, extra);
		json_decref(extra);
	}
	outbox_push(s->a->outbox, s->a->topic_event, m);
	json_decref(m);
}

static void down(struct agent_seats *s, const struct seat *st, json_t *m)
{
	node_publish(s->a->node, st->topic_down, m, false);
	json_decref(m);
}

static void send_ack(struct agent_seats *s, const struct seat *st, uint64_t re)
{
	down(s, st, terminal_msg_ack(node_seq(s->a->node), re, seat_state(st)));
}

static json_t *verdict(struct agent_seats *s, uint64_t re, enum terminal_reason reason)
{
	return terminal_msg_login_refused(node_seq(s->a->node), re, reason, 0, NULL);
}

static json_t *verdict_session(struct agent_seats *s, const struct seat *st, uint64_t re,
                               bool resumed)
{
	return terminal_msg_login_ok(node_seq(s->a->node), re, resumed, st->s_person, st->s_name,
	                             st->s_tender, st->s_tender_name);
}

/* ---- login ---- */

static json_t *login_decide(struct agent_seats *s, struct seat *st, uint64_t seq, const char *code)
{
	if (st->locked) {
		return terminal_msg_login_refused(node_seq(s->a->node), seq,
		                                  TERMINAL_REASON_SEAT_LOCKED, 0, st->lock_reason);
	}
	if (st->blocked)
		return verdict(s, seq, TERMINAL_REASON_SEAT_BLOCKED);
	if (st->in_session)
		return verdict_session(s, st, seq, true);

	char digest[CHECKIN_DIGEST_HEX];
	checkin_code_digest(s->a->room, code, digest);
	int64_t now = clock_now_us();
	json_t *res;
	if (st->assigned && checkin_digest_equal(digest, st->code_digest)) {
		if (st->code_used) {
			seat_event(s, st, "code_used", json_pack("{s:s}", "person", st->person));
			res = verdict(s, seq, TERMINAL_REASON_CODE_USED);
		} else if (now >= st->code_valid_until) {
			seat_event(s, st, "code_expired", json_pack("{s:s}", "person", st->person));
			res = verdict(s, seq, TERMINAL_REASON_CODE_EXPIRED);
		} else {
			st->in_session = true;
			st->code_used = true;
			st->wrong = 0;
			g_strlcpy(st->s_person, st->person, sizeof(st->s_person));
			g_strlcpy(st->s_name, st->name, sizeof(st->s_name));
			g_strlcpy(st->s_tender, st->tender, sizeof(st->s_tender));
			g_strlcpy(st->s_tender_name, st->tender_name, sizeof(st->s_tender_name));
			seat_event(s, st, "login",
			           json_pack("{s:s, s:s, s:I}", "person", st->s_person, "tender",
			                     st->s_tender, "terminal_seq", (json_int_t)seq));
			log_info("seat %s: %s logged in (tender %s)", st->id, st->s_person,
			         st->s_tender);
			res = verdict_session(s, st, seq, false);
		}
		OPENSSL_cleanse(digest, sizeof(digest));
		return res;
	}
	/* Another seat's code: the expert is at the wrong workstation. */
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, s->seats);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct seat *other = v;
		if (other != st && other->assigned &&
		    checkin_digest_equal(digest, other->code_digest)) {
			seat_event(s, st, "wrong_seat",
			           json_pack("{s:s, s:s}", "person", other->person, "code_seat",
			                     other->id));
			log_info("seat %s: the code of seat %s (%s) was entered here", st->id,
			         other->id, other->person);
			OPENSSL_cleanse(digest, sizeof(digest));
			return verdict(s, seq, TERMINAL_REASON_WRONG_SEAT);
		}
	}
	OPENSSL_cleanse(digest, sizeof(digest));
	st->wrong++;
	if (st->wrong >= SEATS_MAX_WRONG) {
		st->blocked = true;
		seat_event(s, st, "blocked", json_pack("{s:i}", "tries_left", 0));
		log_info("seat %s: blocked after %d wrong codes", st->id, st->wrong);
		return verdict(s, seq, TERMINAL_REASON_SEAT_BLOCKED);
	}
	seat_event(s, st, "wrong_code",
	           json_pack("{s:i}", "tries_left", SEATS_MAX_WRONG - st->wrong));
	return terminal_msg_login_refused(node_seq(s->a->node), seq, TERMINAL_REASON_WRONG_CODE,
	                                  SEATS_MAX_WRONG - st->wrong, NULL);
}

/* ---- in: the terminal's messages ---- */

static void presence_seen(struct agent_seats *s, struct seat *st)
{
	st->last_seen_us = g_get_monotonic_time();
	st->online = true;
	if (st->reported_offline) {
		st->reported_offline = false;
		seat_event(s, st, "terminal_online", NULL);
	}
}

static void handle_up(struct agent_seats *s, struct seat *st, const char *topic,
                      const void *payload, size_t len)
{
	struct terminal_up u;
	GError *err = NULL;
	if (terminal_up_parse(payload, len, &u, &err) != 0) {
		char sender[96];
		snprintf(sender, sizeof(sender), "terminal-%s-%s", s->a->room, st->id);
		node_report_error(s->a->node, topic, sender, err);
		g_clear_error(&err);
		return;
	}
	if (u.kind == TERMINAL_UP_ERROR) {
		/* The terminal refused one of ours: nothing to answer. */
		log_warnx("seat %s: the terminal refused a message: %s", st->id, u.fault);
		return;
	}
	presence_seen(s, st);
	bool fresh = u.seq > st->last_seq;
	if (u.kind == TERMINAL_UP_LOGIN) {
		/* (terminal, seq) is the login's identity: a replay gets the same verdict. */
		if (u.seq == st->last_login_seq && st->last_verdict) {
			node_publish(s->a->node, st->topic_down, st->last_verdict, false);
		} else if (fresh) {
			json_t *v = login_decide(s, st, u.seq, u.code);
			json_decref(st->last_verdict);
			st->last_verdict = json_incref(v);
			st->last_login_seq = u.seq;
			seats_save(s);
			down(s, st, v);
		}
		OPENSSL_cleanse(u.code, sizeof(u.code));
	} else {
		if (fresh && u.kind == TERMINAL_UP_LOGOUT && st->in_session) {
			st->in_session = false;
			seat_event(s, st, "logout",
			           json_pack("{s:s, s:s}", "person", st->s_person, "tender",
			                     st->s_tender));
			log_info("seat %s: %s logged out", st->id, st->s_person);
			seats_save(s);
		} else if (fresh && u.kind == TERMINAL_UP_HELP &&
		           s->help_hook && s->help_hook(s->help_user, st->id)) {
			/* the help key during a call hangs it up (docs/call.md) */
		} else if (fresh && u.kind == TERMINAL_UP_HELP) {
			seat_event(s, st, "help",
			           st->in_session ? json_pack("{s:s, s:s}", "person", st->s_person,
			                                      "tender", st->s_tender)
			                          : NULL);
		} else if (fresh && u.kind == TERMINAL_UP_BREAK && st->in_session) {
			seat_event(s, st, u.break_start ? "break_start" : "break_end",
			           json_pack("{s:s, s:s}", "person", st->s_person, "tender",
			                     st->s_tender));
		}
		send_ack(s, st, u.seq);
		/* A terminal that restarted shows the locked screen over a held session. */
		if (u.kind == TERMINAL_UP_HEARTBEAT && u.state == TERMINAL_STATE_LOCKED &&
		    st->in_session && !st->locked && !st->blocked)
			down(s, st, verdict_session(s, st, u.seq, true));
	}
	if (fresh)
		st->last_seq = u.seq;
}

static void handle_status(struct agent_seats *s, struct seat *st, const void *payload, size_t len)
{
	if (len == 0)
		return; /* a cleared retained status */
	struct node_status status;
	GError *err = NULL;
	if (node_status_read(payload, len, &status, &err) != 0) {
		log_warnx("seat %s: unusable status: %s", st->id, err->message);
		g_clear_error(&err);
		return;
	}
	if (status.state == NODE_ONLINE) {
		presence_seen(s, st);
	} else {
		st->online = false;
		if (!st->reported_offline) {
			st->reported_offline = true;
			seat_event(s, st, "terminal_offline",
			           json_pack("{s:s}", "reason", node_state_name(status.state)));
		}
	}
}

bool agent_seats_message(struct agent_seats *s, const char *topic, const void *payload, size_t len)
{
	char prefix[96];
	int n = snprintf(prefix, sizeof(prefix), TOPIC_PREFIX "seat/%s/", s->a->room);
	if (strncmp(topic, prefix, (size_t)n) != 0)
		return false;
	const char *rest = topic + n;
	const char *slash = strchr(rest, '/');
	if (!slash || (size_t)(slash - rest) > MSG_ID_MAX)
		return true;
	char id[MSG_ID_MAX + 1];
	memcpy(id, rest, (size_t)(slash - rest));
	id[slash - rest] = '\0';
	if (!id_valid(id))
		return true;
	struct seat *st = seat_get(s, id);
	if (strcmp(slash + 1, "up") == 0)
		handle_up(s, st, topic, payload, len);
	else if (strcmp(slash + 1, "status") == 0)
		handle_status(s, st, payload, len);
	return true;
}

/* A silent terminal (no heartbeat for 6 s while its status says online) is offline. */
static gboolean seats_tick(gpointer user)
{
	struct agent_seats *s = user;
	int64_t now = g_get_monotonic_time();
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, s->seats);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct seat *st = v;
		if (st->online && !st->reported_offline && st->last_seen_us &&
		    now - st->last_seen_us > SEATS_SILENT_LIMIT_US) {
			st->reported_offline = true;
			seat_event(s, st, "terminal_offline",
			           json_pack("{s:s}", "reason", "no heartbeat for 6 s"));
			log_warnx("seat %s: terminal silent", st->id);
		}
	}
	return G_SOURCE_CONTINUE;
}

/* ---- commands from the controller ---- */

int agent_seats_command(struct agent_seats *s, const char *command, json_t *args, json_t **result,
                        GError **err)
{
	bool assign = strcmp(command, "seat.assign") == 0;
	bool lock = strcmp(command, "seat.lock") == 0;
	bool unlock = strcmp(command, "seat.unlock") == 0;
	if (!assign && !lock && !unlock)
		return -ENOENT;
	const char *id = json_string_value(json_object_get(args, "seat"));
	if (!id || !id_valid(id)) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID, "args.seat: missing or not an id");
		return -EINVAL;
	}
	struct seat scratch = {0};
	if (assign) {
		if (assignment_read(&scratch, args, "args", err) != 0)
			return -EINVAL;
	}
	const char *reason = NULL;
	if (lock || unlock) {
		struct msg_reader r;
		msg_reader_init(&r, args, "args");
		msg_read_id(&r, "seat", true);
		if (lock)
			reason = msg_read_string(&r, "reason", true, 200);
		if (msg_reader_finish(&r, err) != 0)
			return -EINVAL;
		if (lock && !text_ok(reason)) {
			g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
			            "args.reason: 1..200 bytes of text without control characters");
			return -EINVAL;
		}
	}
	/* A seat this room has never heard of (no terminal reported from it, nobody was
	 * assigned to it) cannot be locked or unlocked: refused, not kept as a new seat. */
	if (!assign && !g_hash_table_lookup(s->seats, id)) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
		            "no seat %s in room %s (no terminal has reported from it and nobody "
		            "is assigned to it)",
		            id, s->a->room);
		return -EINVAL;
	}
	struct seat *st = seat_get(s, id);
	if (assign) {
		/* A new check-in or readmission brings a fresh, unused code; the same code
		 * again (resent after this agent was away) stays as used as it was. The
		 * session held (if any), locks and the counter stay. */
		bool same =
		    st->assigned && checkin_digest_equal(st->code_digest, scratch.code_digest);
		st->assigned = true;
		g_strlcpy(st->person, scratch.person, sizeof(st->person));
		g_strlcpy(st->name, scratch.name, sizeof(st->name));
		g_strlcpy(st->tender, scratch.tender, sizeof(st->tender));
		g_strlcpy(st->tender_name, scratch.tender_name, sizeof(st->tender_name));
		g_strlcpy(st->code_digest, scratch.code_digest, sizeof(st->code_digest));
		st->code_valid_until = scratch.code_valid_until;
		if (!same)
			st->code_used = false;
		log_info("seat %s: assigned to %s (tender %s)", st->id, st->person, st->tender);
	} else if (lock) {
		st->locked = true;
		g_strlcpy(st->lock_reason, reason, sizeof(st->lock_reason));
		seat_event(s, st, "locked", json_pack("{s:s}", "reason", reason));
		down(s, st, terminal_msg_lock(node_seq(s->a->node), reason));
	} else {
		bool was_blocked = st->blocked, was_locked = st->locked;
		st->locked = false;
		st->blocked = false;
		st->wrong = 0;
		st->lock_reason[0] = '\0';
		if (was_blocked)
			seat_event(s, st, "released", NULL);
		if (was_locked)
			seat_event(s, st, "unlocked", NULL);
		down(s, st, terminal_msg_unlock(node_seq(s->a->node)));
		if (st->in_session && st->last_seq > 0)
			down(s, st, verdict_session(s, st, st->last_seq, true));
	}
	seats_save(s);
	*result = json_pack("{s:s, s:s, s:i}", "seat", st->id, "state",
	                    terminal_seat_name(seat_state(st)), "wrong_codes", st->wrong);
	return 0;
}

/* ---- life ---- */

struct agent_seats *agent_seats_new(struct agent *a, GError **err)
{
	(void)err;
	struct agent_seats *s = g_new0(struct agent_seats, 1);
	s->a = a;
	s->seats = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, seat_free);
	s->path = g_build_filename(a->spool_dir, "seats.json", NULL);
	seats_restore(s);
	s->tick = g_timeout_add_seconds(1, seats_tick, s);
	return s;
}

void agent_seats_help_hook(struct agent_seats *s, agent_seats_help_fn fn, void *user)
{
	s->help_hook = fn;
	s->help_user = user;
}

void agent_seats_free(struct agent_seats *s)
{
	if (!s)
		return;
	if (s->tick)
		g_source_remove(s->tick);
	g_hash_table_destroy(s->seats);
	g_free(s->path);
	g_free(s);
}

static void on_seat_topic(void *user, const char *topic, const char *const *wild, unsigned nwild,
                          const void *payload, size_t len)
{
	agent_seats_message(user, topic, payload, len);
}

void agent_seats_subscribe(struct agent_seats *s)
{
	char topic[NODE_TOPIC_MAX];
	snprintf(topic, sizeof(topic), TOPIC_PREFIX "seat/%s/+/up", s->a->room);
	node_route(s->a->node, topic, true, on_seat_topic, s);
	snprintf(topic, sizeof(topic), TOPIC_PREFIX "seat/%s/+/status", s->a->room);
	node_route(s->a->node, topic, true, on_seat_topic, s);
}
