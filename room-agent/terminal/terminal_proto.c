#include "terminal_proto.h"

#include <errno.h>
#include <string.h>

static const char *const reason_names[] = {
    "ok",           "wrong_code",  "wrong_seat",  "code_used", "code_expired",
    "seat_blocked", "seat_locked", "unavailable", NULL,
};
static const char *const seat_names[] = {"open", "in_use", "locked", "blocked", NULL};
static const char *const state_names[] = {
    "locked", "checking", "logged_in", "break", "operator_locked", "blocked", NULL,
};
static const char *const down_kinds[] = {
    "terminal.login_result", "terminal.lock", "terminal.unlock", "terminal.ack", NULL,
};

const char *terminal_reason_name(enum terminal_reason r)
{
	return (unsigned)r < G_N_ELEMENTS(reason_names) - 1 ? reason_names[r] : "?";
}

const char *terminal_seat_name(enum terminal_seat s)
{
	return (unsigned)s < G_N_ELEMENTS(seat_names) - 1 ? seat_names[s] : "?";
}

const char *terminal_state_name(enum terminal_state s)
{
	return (unsigned)s < G_N_ELEMENTS(state_names) - 1 ? state_names[s] : "?";
}

bool terminal_login_code_valid(const char *code)
{
	size_t n = strlen(code);
	if (n < TERMINAL_CODE_MIN || n > TERMINAL_CODE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isalnum(code[i]))
			return false;
	return true;
}

/* Text shown on the screen must not carry control characters: an escape sequence in a
 * name would drive the seat's terminal. */
static const char *read_display_text(struct msg_reader *r, const char *key, bool required,
                                     size_t max_len)
{
	const char *s = msg_read_string(r, key, required, max_len);
	if (!s)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			if (!r->error)
				g_set_error(&r->error, MSG_ERROR, MSG_ERROR_INVALID,
				            "member '%s%s%s': contains a control character",
				            r->path ? r->path : "", r->path ? "." : "", key);
			return NULL;
		}
	}
	return s;
}

static void copy_text(char *dst, size_t size, const char *src)
{
	g_strlcpy(dst, src ? src : "", size);
}

static int parse_login_result(json_t *body, struct terminal_down *d, GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	d->re = (uint64_t)msg_read_int(&r, "re", true, 1, INT64_MAX, 0);
	d->ok = msg_read_bool(&r, "ok", true, false);
	int reason = msg_read_enum(&r, "reason", true, reason_names);
	d->tries_left = (int)msg_read_int(&r, "tries_left", false, 0, 99, -1);
	copy_text(d->message, sizeof(d->message),
	          read_display_text(&r, "message", false, TERMINAL_TEXT_MAX));
	d->resumed = msg_read_bool(&r, "resumed", false, false);
	json_t *person = msg_read_object(&r, "person", false);
	json_t *tender = msg_read_object(&r, "tender", false);
	int rc = msg_reader_finish(&r, err);
	if (rc)
		return rc;
	d->reason = (enum terminal_reason)reason;

	if (d->ok != (d->reason == TERMINAL_REASON_OK)) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
		            "member 'reason': \"%s\" contradicts ok=%s",
		            terminal_reason_name(d->reason), d->ok ? "true" : "false");
		return -EINVAL;
	}
	if (d->ok != (person && tender)) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
		            d->ok ? "person and tender are required when ok is true"
		                  : "person and tender are allowed only when ok is true");
		return -EINVAL;
	}
	if (!d->ok && d->resumed) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
		            "resumed is allowed only when ok is true");
		return -EINVAL;
	}
	if ((d->reason == TERMINAL_REASON_WRONG_CODE) != (d->tries_left >= 0)) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
		            "tries_left is required with reason wrong_code and allowed only there");
		return -EINVAL;
	}
	if (!d->ok)
		return 0;

	msg_reader_init(&r, person, "person");
	copy_text(d->person_id, sizeof(d->person_id), msg_read_id(&r, "id", true));
	copy_text(d->person_name, sizeof(d->person_name),
	          read_display_text(&r, "name", true, TERMINAL_NAME_MAX));
	rc = msg_reader_finish(&r, err);
	if (rc)
		return rc;
	msg_reader_init(&r, tender, "tender");
	copy_text(d->tender_id, sizeof(d->tender_id), msg_read_id(&r, "id", true));
	copy_text(d->tender_name, sizeof(d->tender_name),
	          read_display_text(&r, "name", true, TERMINAL_NAME_MAX));
	rc = msg_reader_finish(&r, err);
	if (rc)
		return rc;
	if (!d->person_name[0] || !d->tender_name[0]) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID, "%s.name: must not be empty",
		            d->person_name[0] ? "tender" : "person");
		return -EINVAL;
	}
	return 0;
}

static int parse_lock(json_t *body, struct terminal_down *d, GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	copy_text(d->lock_reason, sizeof(d->lock_reason),
	          read_display_text(&r, "reason", true, TERMINAL_TEXT_MAX));
	return msg_reader_finish(&r, err);
}

static int parse_unlock(json_t *body, struct terminal_down *d, GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	return msg_reader_finish(&r, err);
}

static int parse_ack(json_t *body, struct terminal_down *d, GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	d->re = (uint64_t)msg_read_int(&r, "re", true, 1, INT64_MAX, 0);
	int seat = msg_read_enum(&r, "seat", true, seat_names);
	int rc = msg_reader_finish(&r, err);
	if (rc)
		return rc;
	d->seat = (enum terminal_seat)seat;
	return 0;
}

int terminal_down_parse(const void *payload, size_t len, struct terminal_down *d, GError **err)
{
	struct msg_envelope env;
	json_t *body = NULL;
	memset(d, 0, sizeof(*d));
	d->tries_left = -1;
	int rc = msg_parse(payload, len, MSG_MAX_SIZE, &env, &body, err);
	if (rc)
		return rc;
	int kind = -1;
	for (int i = 0; down_kinds[i]; i++)
		if (strcmp(down_kinds[i], env.kind) == 0)
			kind = i;
	if (kind < 0) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
		            "kind: \"%s\" is not a message for a terminal", env.kind);
		rc = -EINVAL;
		goto out;
	}
	d->kind = (enum terminal_down_kind)kind;
	d->seq = env.seq;
	d->ts = env.ts;
	switch (d->kind) {
	case TERMINAL_DOWN_LOGIN_RESULT:
		rc = parse_login_result(body, d, err);
		break;
	case TERMINAL_DOWN_LOCK:
		rc = parse_lock(body, d, err);
		break;
	case TERMINAL_DOWN_UNLOCK:
		rc = parse_unlock(body, d, err);
		break;
	case TERMINAL_DOWN_ACK:
		rc = parse_ack(body, d, err);
		break;
	}
out:
	json_decref(body);
	return rc;
}

static const char *const up_kinds[] = {
    "terminal.login",
    "terminal.logout",
    "terminal.help",
    "terminal.break",
    "terminal.heartbeat",
    "error",
    NULL,
};

static int parse_up_body(json_t *body, struct terminal_up *u, GError **err)
{
	static const char *const phases[] = {"start", "end", NULL};
	struct msg_reader r;
	msg_reader_init(&r, body, NULL);
	switch (u->kind) {
	case TERMINAL_UP_LOGIN: {
		const char *code = msg_read_string(&r, "code", true, TERMINAL_CODE_MAX);
		if (code && !terminal_login_code_valid(code) && !r.error)
			g_set_error(&r.error, MSG_ERROR, MSG_ERROR_INVALID,
			            "member 'code': not 4 to 16 letters or digits");
		copy_text(u->code, sizeof(u->code), code);
		break;
	}
	case TERMINAL_UP_LOGOUT:
	case TERMINAL_UP_HELP:
		break;
	case TERMINAL_UP_BREAK:
		u->break_start = msg_read_enum(&r, "phase", true, phases) == 0;
		break;
	case TERMINAL_UP_HEARTBEAT: {
		int state = msg_read_enum(&r, "state", true, state_names);
		u->state = state < 0 ? TERMINAL_STATE_LOCKED : (enum terminal_state)state;
		u->uptime_s = msg_read_int(&r, "uptime_s", true, 0, INT64_MAX, 0);
		break;
	}
	case TERMINAL_UP_ERROR:
		msg_read_string(&r, "topic", true, 256);
		msg_read_string(&r, "sender", true, 64);
		copy_text(u->fault, sizeof(u->fault), msg_read_string(&r, "fault", true, 4096));
		break;
	}
	return msg_reader_finish(&r, err);
}

int terminal_up_parse(const void *payload, size_t len, struct terminal_up *u, GError **err)
{
	struct msg_envelope env;
	json_t *body = NULL;
	memset(u, 0, sizeof(*u));
	int rc = msg_parse(payload, len, MSG_MAX_SIZE, &env, &body, err);
	if (rc)
		return rc;
	int kind = -1;
	for (int i = 0; up_kinds[i]; i++)
		if (strcmp(up_kinds[i], env.kind) == 0)
			kind = i;
	if (kind < 0) {
		g_set_error(err, MSG_ERROR, MSG_ERROR_INVALID,
		            "kind: \"%s\" is not a message from a terminal", env.kind);
		rc = -EINVAL;
	} else {
		u->kind = (enum terminal_up_kind)kind;
		u->seq = env.seq;
		u->ts = env.ts;
		rc = parse_up_body(body, u, err);
	}
	json_decref(body);
	return rc;
}

json_t *terminal_msg_login_ok(struct seq_counter *seq, uint64_t re, bool resumed,
                              const char *person_id, const char *person_name, const char *tender_id,
                              const char *tender_name)
{
	json_t *m = msg_new("terminal.login_result", seq);
	json_object_set_new(m, "re", json_integer((json_int_t)re));
	json_object_set_new(m, "ok", json_true());
	json_object_set_new(m, "reason", json_string("ok"));
	if (resumed)
		json_object_set_new(m, "resumed", json_true());
	json_object_set_new(m, "person",
	                    json_pack("{s:s, s:s}", "id", person_id, "name", person_name));
	json_object_set_new(m, "tender",
	                    json_pack("{s:s, s:s}", "id", tender_id, "name", tender_name));
	return m;
}

json_t *terminal_msg_login_refused(struct seq_counter *seq, uint64_t re,
                                   enum terminal_reason reason, int tries_left, const char *message)
{
	json_t *m = msg_new("terminal.login_result", seq);
	json_object_set_new(m, "re", json_integer((json_int_t)re));
	json_object_set_new(m, "ok", json_false());
	json_object_set_new(m, "reason", json_string(terminal_reason_name(reason)));
	if (reason == TERMINAL_REASON_WRONG_CODE)
		json_object_set_new(m, "tries_left", json_integer(tries_left));
	if (message && *message)
		json_object_set_new(m, "message", json_string(message));
	return m;
}

json_t *terminal_msg_lock(struct seq_counter *seq, const char *reason)
{
	json_t *m = msg_new("terminal.lock", seq);
	json_object_set_new(m, "reason", json_string(reason));
	return m;
}

json_t *terminal_msg_unlock(struct seq_counter *seq)
{
	return msg_new("terminal.unlock", seq);
}

json_t *terminal_msg_ack(struct seq_counter *seq, uint64_t re, enum terminal_seat seat)
{
	json_t *m = msg_new("terminal.ack", seq);
	json_object_set_new(m, "re", json_integer((json_int_t)re));
	json_object_set_new(m, "seat", json_string(terminal_seat_name(seat)));
	return m;
}

json_t *terminal_msg_login(struct seq_counter *seq, const char *code)
{
	json_t *m = msg_new("terminal.login", seq);
	json_object_set_new(m, "code", json_string(code));
	return m;
}

json_t *terminal_msg_logout(struct seq_counter *seq)
{
	return msg_new("terminal.logout", seq);
}

json_t *terminal_msg_help(struct seq_counter *seq)
{
	return msg_new("terminal.help", seq);
}

json_t *terminal_msg_break(struct seq_counter *seq, bool start)
{
	json_t *m = msg_new("terminal.break", seq);
	json_object_set_new(m, "phase", json_string(start ? "start" : "end"));
	return m;
}

json_t *terminal_msg_heartbeat(struct seq_counter *seq, enum terminal_state state, int64_t uptime_s)
{
	json_t *m = msg_new("terminal.heartbeat", seq);
	json_object_set_new(m, "state", json_string(terminal_state_name(state)));
	json_object_set_new(m, "uptime_s", json_integer(uptime_s));
	return m;
}

json_t *terminal_msg_status(struct seq_counter *seq, const char *state, const char *identity,
                            int64_t started_us)
{
	json_t *m = msg_new("status", seq);
	json_object_set_new(m, "state", json_string(state));
	json_object_set_new(m, "identity", json_string(identity));
	json_object_set_new(m, "version", json_string(TERMINAL_VERSION));
	json_object_set_new(m, "started", json_integer(started_us));
	return m;
}

json_t *terminal_msg_error(struct seq_counter *seq, const char *topic, const char *sender,
                           const char *fault)
{
	json_t *m = msg_new("error", seq);
	json_object_set_new(m, "topic", json_string(topic));
	json_object_set_new(m, "sender", json_string(sender));
	/* A fault text quotes the offending input: keep it bounded. */
	char *f = g_utf8_make_valid(fault, MIN(strlen(fault), 400));
	json_object_set_new(m, "fault", json_string(f));
	g_free(f);
	return m;
}
