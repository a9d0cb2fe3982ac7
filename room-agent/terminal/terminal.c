#include "terminal.h"

#include <glib/gi18n.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"

struct terminal {
	char room[MSG_ID_MAX + 1];
	char seat[MSG_ID_MAX + 1];
	char *program;
	char *up_topic;
	char *down_topic;
	char *status_topic;
	char *identity; /* "terminal-<room>-<seat>", the certificate CN */
	char *agent;    /* "agent-<room>", the only sender on our down topic */

	const struct mqtt_ops *mqtt;
	void *mqtt_ctx;
	const struct terminal_view_ops *view;
	void *view_ctx;
	const struct terminal_program_ops *prog;
	void *prog_ctx;

	struct seq_counter seq;
	enum terminal_state state;
	char code[TERMINAL_CODE_MAX + 1];
	size_t code_len;
	bool confirm_logout;
	char message[TERMINAL_VIEW_LINE_MAX];
	char person_id[MSG_ID_MAX + 1];
	char person_name[TERMINAL_NAME_MAX + 1];
	char tender_id[MSG_ID_MAX + 1];
	char tender_name[TERMINAL_NAME_MAX + 1];
	char lock_reason[TERMINAL_TEXT_MAX + 1];
	bool program_running;

	uint64_t login_seq;       /* the login awaiting its verdict, 0: none */
	uint64_t last_change_seq; /* last up message that changed the seat (login, logout, break) */
	int64_t checking_since_us;
	int64_t started_us;
	int64_t started_utc_us;
	int64_t last_down_us;
	int64_t last_heartbeat_us;
	bool connected;
	bool unreachable;
	bool started;
	bool dirty;
};

char *terminal_topic(const char *room, const char *seat, const char *leaf)
{
	return g_strdup_printf("evalroom/v1/seat/%s/%s/%s", room, seat, leaf);
}

char *terminal_identity(const char *room, const char *seat)
{
	return g_strdup_printf("terminal-%s-%s", room, seat);
}

struct terminal *terminal_new(const struct terminal_config *cfg, const struct mqtt_ops *mqtt,
                              void *mqtt_ctx, const struct terminal_view_ops *view, void *view_ctx,
                              const struct terminal_program_ops *program, void *program_ctx,
                              GError **err)
{
	if (!cfg->room || !id_valid(cfg->room) || !cfg->seat || !id_valid(cfg->seat)) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
		            "terminal: room \"%s\" and seat \"%s\" must be identifiers "
		            "([A-Za-z0-9][A-Za-z0-9_-], at most 32)",
		            cfg->room ? cfg->room : "", cfg->seat ? cfg->seat : "");
		return NULL;
	}
	bool has_program = cfg->program && *cfg->program;
	if (has_program && !program) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
		            "terminal: a program is configured but no way to start it");
		return NULL;
	}
	struct terminal *t = g_new0(struct terminal, 1);
	g_strlcpy(t->room, cfg->room, sizeof(t->room));
	g_strlcpy(t->seat, cfg->seat, sizeof(t->seat));
	t->program = has_program ? g_strdup(cfg->program) : NULL;
	t->up_topic = terminal_topic(t->room, t->seat, "up");
	t->down_topic = terminal_topic(t->room, t->seat, "down");
	t->status_topic = terminal_topic(t->room, t->seat, "status");
	t->identity = terminal_identity(t->room, t->seat);
	t->agent = g_strdup_printf("agent-%s", t->room);
	t->mqtt = mqtt;
	t->mqtt_ctx = mqtt_ctx;
	t->view = view;
	t->view_ctx = view_ctx;
	t->prog = program;
	t->prog_ctx = program_ctx;
	t->state = TERMINAL_STATE_LOCKED;
	t->unreachable = true;
	return t;
}

static void clear_code(struct terminal *t)
{
	/* The code is a credential: do not leave it in memory longer than needed. */
	memset(t->code, 0, sizeof(t->code));
	t->code_len = 0;
}

void terminal_free(struct terminal *t)
{
	if (!t)
		return;
	clear_code(t);
	g_free(t->program);
	g_free(t->up_topic);
	g_free(t->down_topic);
	g_free(t->status_topic);
	g_free(t->identity);
	g_free(t->agent);
	g_free(t);
}

static void render(struct terminal *t)
{
	if (!t->dirty || !t->started)
		return;
	t->dirty = false;
	struct terminal_view v = {
	    .state = t->state,
	    .room = t->room,
	    .seat = t->seat,
	    .code_len = t->code_len,
	    .confirm_logout = t->confirm_logout,
	    .agent_unreachable = t->unreachable,
	    .message = t->message,
	    .person_name = t->person_name,
	    .tender_id = t->tender_id,
	    .tender_name = t->tender_name,
	    .lock_reason = t->lock_reason,
	};
	t->view->render(t->view_ctx, &v);
}

G_GNUC_PRINTF(2, 3)
static void set_message(struct terminal *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->message, sizeof(t->message), fmt, ap);
	va_end(ap);
	t->dirty = true;
}

static void set_state(struct terminal *t, enum terminal_state s)
{
	if (t->state != s)
		log_info("seat %s/%s: %s -> %s", t->room, t->seat, terminal_state_name(t->state),
		         terminal_state_name(s));
	t->state = s;
	t->confirm_logout = false;
	t->dirty = true;
}

/* publish_msg: publish M (consumed) on TOPIC; returns its seq, 0 when it could not be queued. */
static uint64_t publish_msg(struct terminal *t, const char *topic, json_t *m, bool retain)
{
	uint64_t seq = (uint64_t)json_integer_value(json_object_get(m, "seq"));
	size_t len;
	char *text = msg_dump(m, &len);
	int rc = t->mqtt->publish(t->mqtt_ctx, topic, text, len, 1, retain);
	if (rc) {
		log_warnx("seat %s/%s: publish %s on %s: %s", t->room, t->seat,
		          json_string_value(json_object_get(m, "kind")), topic, g_strerror(-rc));
		seq = 0;
	}
	g_free(text);
	json_decref(m);
	return seq;
}

static void send_heartbeat(struct terminal *t, int64_t now_us)
{
	t->last_heartbeat_us = now_us;
	publish_msg(
	    t, t->up_topic,
	    terminal_msg_heartbeat(&t->seq, t->state, (now_us - t->started_us) / G_USEC_PER_SEC),
	    false);
}

static void update_reachability(struct terminal *t, int64_t now_us)
{
	bool unreachable = !t->connected || now_us - t->last_down_us > TERMINAL_AGENT_SILENCE_US;
	if (unreachable != t->unreachable) {
		log_info("seat %s/%s: room agent %s", t->room, t->seat,
		         unreachable ? "unreachable" : "reachable");
		t->unreachable = unreachable;
		t->dirty = true;
	}
}

static void end_session(struct terminal *t)
{
	if (t->program_running) {
		t->prog->stop(t->prog_ctx);
		t->program_running = false;
	}
	t->person_id[0] = t->person_name[0] = t->tender_id[0] = t->tender_name[0] = '\0';
}

int terminal_start(struct terminal *t, bool connected, int64_t now_us)
{
	int rc = t->mqtt->subscribe(t->mqtt_ctx, t->down_topic, 1);
	if (rc) {
		log_warnx("seat %s/%s: subscribe %s: %s", t->room, t->seat, t->down_topic,
		          g_strerror(-rc));
		return rc;
	}
	t->started = true;
	t->started_us = now_us;
	t->started_utc_us = clock_now_us();
	t->last_down_us = now_us - TERMINAL_AGENT_SILENCE_US - 1;
	t->dirty = true;
	terminal_connection(t, connected, now_us);
	render(t);
	return 0;
}

void terminal_stop(struct terminal *t)
{
	end_session(t);
	publish_msg(t, t->status_topic,
	            terminal_msg_status(&t->seq, "stopped", t->identity, t->started_utc_us), true);
}

static void submit_code(struct terminal *t, int64_t now_us)
{
	if (t->code_len == 0)
		return;
	if (!terminal_login_code_valid(t->code)) {
		set_message(t, _("A login code has %d to %d letters or digits. Please try again."),
		            TERMINAL_CODE_MIN, TERMINAL_CODE_MAX);
	} else if (t->unreachable) {
		set_message(t,
		            _("The room agent is unreachable. Please wait or call the attendant."));
	} else {
		uint64_t seq =
		    publish_msg(t, t->up_topic, terminal_msg_login(&t->seq, t->code), false);
		if (seq) {
			t->login_seq = seq;
			t->last_change_seq = seq;
			t->checking_since_us = now_us;
			set_message(t, "%s", "");
			set_state(t, TERMINAL_STATE_CHECKING);
		} else {
			set_message(t, _("The login could not be sent. Please try again."));
		}
	}
	clear_code(t);
	t->dirty = true;
}

static void key_locked(struct terminal *t, int key, int64_t now_us)
{
	if (key == TERMINAL_KEY_ENTER) {
		submit_code(t, now_us);
	} else if (key == TERMINAL_KEY_BACKSPACE) {
		if (t->code_len > 0)
			t->code[--t->code_len] = '\0';
		t->dirty = true;
	} else if (key == TERMINAL_KEY_ESCAPE) {
		clear_code(t);
		t->dirty = true;
	} else if (key >= 0 && key < 128 && g_ascii_isalnum((char)key)) {
		if (t->code_len == 0)
			set_message(t, "%s", "");
		if (t->code_len < TERMINAL_CODE_MAX) {
			t->code[t->code_len++] = (char)key;
			t->code[t->code_len] = '\0';
		}
		t->dirty = true;
	}
}

static void logout(struct terminal *t)
{
	uint64_t seq = publish_msg(t, t->up_topic, terminal_msg_logout(&t->seq), false);
	if (seq)
		t->last_change_seq = seq;
	/* The session ends here whatever the agent says: the next person must not find it. */
	end_session(t);
	set_state(t, TERMINAL_STATE_LOCKED);
	set_message(t, _("You have been logged out. Thank you."));
}

static void key_logged_in(struct terminal *t, int key)
{
	int k = key >= 0 && key < 128 ? g_ascii_tolower((char)key) : key;
	if (t->confirm_logout) {
		if (k == 'y') {
			logout(t);
		} else if (k == 'n' || k == TERMINAL_KEY_ESCAPE) {
			t->confirm_logout = false;
			t->dirty = true;
		}
		return;
	}
	switch (k) {
	case 'l':
		t->confirm_logout = true;
		t->dirty = true;
		break;
	case 'h':
		if (publish_msg(t, t->up_topic, terminal_msg_help(&t->seq), false))
			set_message(t, _("Help requested: the attendant has been called."));
		else
			set_message(
			    t, _("The help request could not be sent. Please raise your hand."));
		break;
	case 'b': {
		uint64_t seq =
		    publish_msg(t, t->up_topic, terminal_msg_break(&t->seq, true), false);
		if (!seq) {
			set_message(t, _("The break could not be recorded. Please try again."));
			break;
		}
		t->last_change_seq = seq;
		set_message(t, "%s", "");
		set_state(t, TERMINAL_STATE_BREAK);
		break;
	}
	default:
		break;
	}
}

static void key_break(struct terminal *t, int key)
{
	if (key != 'r' && key != 'R')
		return;
	uint64_t seq = publish_msg(t, t->up_topic, terminal_msg_break(&t->seq, false), false);
	if (!seq) {
		set_message(t, _("The return could not be recorded. Please try again."));
		return;
	}
	t->last_change_seq = seq;
	set_state(t, TERMINAL_STATE_LOGGED_IN);
	set_message(t, _("Welcome back."));
}

void terminal_key(struct terminal *t, int key, int64_t now_us)
{
	switch (t->state) {
	case TERMINAL_STATE_LOCKED:
		key_locked(t, key, now_us);
		break;
	case TERMINAL_STATE_LOGGED_IN:
		key_logged_in(t, key);
		break;
	case TERMINAL_STATE_BREAK:
		key_break(t, key);
		break;
	case TERMINAL_STATE_CHECKING:
	case TERMINAL_STATE_OPERATOR_LOCKED:
	case TERMINAL_STATE_BLOCKED:
		break;
	}
	render(t);
}

static void lock_by_operator(struct terminal *t, const char *reason)
{
	end_session(t);
	clear_code(t);
	t->login_seq = 0;
	g_strlcpy(t->lock_reason, reason, sizeof(t->lock_reason));
	set_message(t, "%s", "");
	set_state(t, TERMINAL_STATE_OPERATOR_LOCKED);
}

static void block_seat(struct terminal *t)
{
	end_session(t);
	clear_code(t);
	t->login_seq = 0;
	set_message(t, "%s", "");
	set_state(t, TERMINAL_STATE_BLOCKED);
}

static void login_refused(struct terminal *t, const struct terminal_down *d)
{
	switch (d->reason) {
	case TERMINAL_REASON_WRONG_CODE:
		set_message(t,
		            ngettext("Wrong code, %d try left.", "Wrong code, %d tries left.",
		                     (unsigned long)d->tries_left),
		            d->tries_left);
		break;
	case TERMINAL_REASON_WRONG_SEAT:
		set_message(t,
		            _("This code is not for this seat. Please go to your assigned seat."));
		break;
	case TERMINAL_REASON_CODE_USED:
		set_message(t, _("This code has already been used. Please call the attendant."));
		break;
	case TERMINAL_REASON_CODE_EXPIRED:
		set_message(t, _("This code has expired. Please call the attendant."));
		break;
	case TERMINAL_REASON_SEAT_BLOCKED:
		block_seat(t);
		return;
	case TERMINAL_REASON_SEAT_LOCKED:
		lock_by_operator(t, d->message[0] ? d->message : _("locked by the operator"));
		return;
	case TERMINAL_REASON_UNAVAILABLE:
	case TERMINAL_REASON_OK:
		if (d->message[0])
			set_message(
			    t, _("The code cannot be checked now: %s. Please try again later."),
			    d->message);
		else
			set_message(t,
			            _("The code cannot be checked now. Please try again later."));
		break;
	}
	set_state(t, TERMINAL_STATE_LOCKED);
}

static void on_login_result(struct terminal *t, const struct terminal_down *d)
{
	bool answer = t->state == TERMINAL_STATE_CHECKING && d->re == t->login_seq;
	bool in_session = t->state == TERMINAL_STATE_LOGGED_IN || t->state == TERMINAL_STATE_BREAK;
	if (!answer) {
		/* Unasked, only a session the agent holds may come back, and never over a lock
		 * (the agent sends terminal.unlock first). */
		if (!(d->ok && d->resumed) || t->state == TERMINAL_STATE_OPERATOR_LOCKED ||
		    t->state == TERMINAL_STATE_BLOCKED) {
			log_info("seat %s/%s: ignoring a login result for seq %" G_GUINT64_FORMAT
			         " (not awaited)",
			         t->room, t->seat, d->re);
			return;
		}
		if (in_session && strcmp(t->person_id, d->person_id) == 0)
			return; /* already shown */
	}
	t->login_seq = 0;
	if (!d->ok) {
		login_refused(t, d);
		return;
	}
	if (in_session)
		end_session(t); /* the agent holds another person's session: it wins */
	g_strlcpy(t->person_id, d->person_id, sizeof(t->person_id));
	g_strlcpy(t->person_name, d->person_name, sizeof(t->person_name));
	g_strlcpy(t->tender_id, d->tender_id, sizeof(t->tender_id));
	g_strlcpy(t->tender_name, d->tender_name, sizeof(t->tender_name));
	set_state(t, TERMINAL_STATE_LOGGED_IN);
	set_message(t, "%s", d->resumed ? _("Your session has been resumed.") : "");
	if (t->program && !t->program_running) {
		int rc = t->prog->start(t->prog_ctx, t->program, t->person_id, t->person_name,
		                        t->tender_id);
		if (rc)
			set_message(t,
			            _("The evaluation client could not be started (%s). "
			              "Please call the attendant."),
			            g_strerror(-rc));
		else
			t->program_running = true;
	}
}

/* The agent is the authority on the seat: an acknowledgement that is not older than our
 * last seat-changing message corrects what the terminal shows. */
static void on_ack(struct terminal *t, const struct terminal_down *d)
{
	if (d->re < t->last_change_seq || t->state == TERMINAL_STATE_CHECKING)
		return;
	switch (d->seat) {
	case TERMINAL_SEAT_OPEN:
		if (t->state == TERMINAL_STATE_LOGGED_IN || t->state == TERMINAL_STATE_BREAK) {
			end_session(t);
			set_state(t, TERMINAL_STATE_LOCKED);
			set_message(t, _("Your session was ended by the room agent."));
		} else if (t->state == TERMINAL_STATE_OPERATOR_LOCKED ||
		           t->state == TERMINAL_STATE_BLOCKED) {
			set_state(t, TERMINAL_STATE_LOCKED);
			set_message(t, _("This seat has been unlocked."));
		}
		break;
	case TERMINAL_SEAT_IN_USE:
		/* The agent re-sends the login result when our heartbeat says we lost it. */
		break;
	case TERMINAL_SEAT_LOCKED:
		if (t->state != TERMINAL_STATE_OPERATOR_LOCKED)
			lock_by_operator(t, _("locked by the operator"));
		break;
	case TERMINAL_SEAT_BLOCKED:
		if (t->state != TERMINAL_STATE_BLOCKED)
			block_seat(t);
		break;
	}
}

static void refuse(struct terminal *t, const char *topic, const char *fault)
{
	log_warnx("seat %s/%s: refused message on %s: %s", t->room, t->seat, topic, fault);
	publish_msg(t, t->up_topic, terminal_msg_error(&t->seq, topic, t->agent, fault), false);
}

void terminal_receive(struct terminal *t, const char *topic, const void *payload, size_t len,
                      int64_t now_us)
{
	if (strcmp(topic, t->down_topic) != 0) {
		log_warnx("seat %s/%s: message on unexpected topic %s ignored", t->room, t->seat,
		          topic);
		return;
	}
	struct terminal_down d;
	GError *err = NULL;
	if (terminal_down_parse(payload, len, &d, &err)) {
		refuse(t, topic, err->message);
		g_error_free(err);
		return;
	}
	t->last_down_us = now_us;
	update_reachability(t, now_us);
	switch (d.kind) {
	case TERMINAL_DOWN_LOGIN_RESULT:
		on_login_result(t, &d);
		break;
	case TERMINAL_DOWN_LOCK:
		lock_by_operator(t, d.lock_reason);
		break;
	case TERMINAL_DOWN_UNLOCK:
		if (t->state == TERMINAL_STATE_OPERATOR_LOCKED ||
		    t->state == TERMINAL_STATE_BLOCKED) {
			t->lock_reason[0] = '\0';
			set_state(t, TERMINAL_STATE_LOCKED);
			set_message(t, _("This seat has been unlocked."));
		}
		break;
	case TERMINAL_DOWN_ACK:
		on_ack(t, &d);
		break;
	}
	render(t);
}

void terminal_connection(struct terminal *t, bool connected, int64_t now_us)
{
	t->connected = connected;
	if (connected && t->started) {
		/* The broker published our last will when the link dropped: say online again,
		 * and tell the agent at once what we show so it can correct us. */
		publish_msg(t, t->status_topic,
		            terminal_msg_status(&t->seq, "online", t->identity, t->started_utc_us),
		            true);
		send_heartbeat(t, now_us);
	}
	update_reachability(t, now_us);
	render(t);
}

void terminal_tick(struct terminal *t, int64_t now_us)
{
	if (!t->started)
		return;
	if (t->connected && now_us - t->last_heartbeat_us >= TERMINAL_HEARTBEAT_US)
		send_heartbeat(t, now_us);
	if (t->state == TERMINAL_STATE_CHECKING &&
	    now_us - t->checking_since_us > TERMINAL_LOGIN_TIMEOUT_US) {
		t->login_seq = 0;
		set_state(t, TERMINAL_STATE_LOCKED);
		set_message(t, _("No answer from the room agent. Please try again."));
	}
	update_reachability(t, now_us);
	render(t);
}

enum terminal_state terminal_get_state(const struct terminal *t)
{
	return t->state;
}

bool terminal_agent_unreachable(const struct terminal *t)
{
	return t->unreachable;
}
