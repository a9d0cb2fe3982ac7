/* The seat kiosk's state machine against a fake transport, screen and program: every
 * message it sends is checked against its kind's shape (schemas/json/terminal.*.json). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "terminal.h"
#include "terminal_batch.h"

#define ROOM "R1"
#define SEAT "S3"
#define UP   "evalroom/v1/seat/R1/S3/up"
#define DOWN "evalroom/v1/seat/R1/S3/down"
#define STAT "evalroom/v1/seat/R1/S3/status"
#define SEC  G_USEC_PER_SEC

struct sent {
	char *topic;
	json_t *msg;
	bool retain;
};

struct fixture {
	struct terminal *t;
	GPtrArray *sent; /* struct sent * */
	char *subscribed;
	int publish_rc;
	char *screen; /* last rendered screen, as the --batch line */
	unsigned renders;
	unsigned starts, stops;
	char *started_person;
	char *started_cmdline;
	bool running;
	int64_t now;
	uint64_t last_seq;
};

/* The members each up kind may carry besides the envelope, and which are required. */
struct shape {
	const char *kind;
	const char *members[6];
	const char *required[6];
};
static const struct shape shapes[] = {
    {"terminal.login", {"code"}, {"code"}},
    {"terminal.logout", {NULL}, {NULL}},
    {"terminal.help", {NULL}, {NULL}},
    {"terminal.break", {"phase"}, {"phase"}},
    {"terminal.heartbeat", {"state", "uptime_s"}, {"state", "uptime_s"}},
    {"status", {"state", "identity", "version", "started"}, {"state", "identity"}},
    {"error", {"topic", "sender", "fault"}, {"topic", "sender", "fault"}},
};

static bool in_list(const char *const *list, const char *key)
{
	for (int i = 0; i < 6 && list[i]; i++)
		if (strcmp(list[i], key) == 0)
			return true;
	return false;
}

/* Check M against the envelope and its kind's shape, as the agent's validator would. */
static void assert_shape(struct fixture *f, const char *topic, json_t *m)
{
	assert_true(json_is_object(m));
	assert_int_equal(json_integer_value(json_object_get(m, "v")), 1);
	json_t *seq = json_object_get(m, "seq");
	assert_true(json_is_integer(seq));
	assert_true((uint64_t)json_integer_value(seq) > f->last_seq);
	f->last_seq = (uint64_t)json_integer_value(seq);
	assert_true(json_is_integer(json_object_get(m, "ts")));
	const char *kind = json_string_value(json_object_get(m, "kind"));
	assert_non_null(kind);
	const struct shape *sh = NULL;
	for (size_t i = 0; i < G_N_ELEMENTS(shapes); i++)
		if (strcmp(shapes[i].kind, kind) == 0)
			sh = &shapes[i];
	assert_non_null(sh);
	assert_string_equal(topic, strcmp(kind, "status") == 0 ? STAT : UP);
	const char *key;
	json_t *val;
	json_object_foreach(m, key, val)
	{
		if (!strcmp(key, "v") || !strcmp(key, "kind") || !strcmp(key, "seq") ||
		    !strcmp(key, "ts"))
			continue;
		if (!in_list(sh->members, key))
			fail_msg("%s: unexpected member %s", kind, key);
	}
	for (int i = 0; i < 6 && sh->required[i]; i++)
		if (!json_object_get(m, sh->required[i]))
			fail_msg("%s: missing member %s", kind, sh->required[i]);
	if (!strcmp(kind, "terminal.login")) {
		assert_true(
		    terminal_login_code_valid(json_string_value(json_object_get(m, "code"))));
	} else if (!strcmp(kind, "terminal.break")) {
		const char *p = json_string_value(json_object_get(m, "phase"));
		assert_true(p && (!strcmp(p, "start") || !strcmp(p, "end")));
	} else if (!strcmp(kind, "terminal.heartbeat")) {
		const char *s = json_string_value(json_object_get(m, "state"));
		assert_non_null(s);
		bool known = false;
		for (int i = TERMINAL_STATE_LOCKED; i <= TERMINAL_STATE_BLOCKED; i++)
			known |= !strcmp(s, terminal_state_name(i));
		assert_true(known);
		assert_true(json_integer_value(json_object_get(m, "uptime_s")) >= 0);
	} else if (!strcmp(kind, "status")) {
		const char *s = json_string_value(json_object_get(m, "state"));
		assert_true(s && (!strcmp(s, "online") || !strcmp(s, "stopped")));
		assert_string_equal(json_string_value(json_object_get(m, "identity")),
		                    "terminal-R1-S3");
	} else if (!strcmp(kind, "error")) {
		assert_string_equal(json_string_value(json_object_get(m, "sender")), "agent-R1");
		assert_true(json_is_string(json_object_get(m, "fault")));
	}
}

static int fake_publish(void *ctx, const char *topic, const void *payload, size_t len, int qos,
                        bool retain)
{
	struct fixture *f = ctx;
	if (f->publish_rc)
		return f->publish_rc;
	assert_int_equal(qos, 1);
	json_error_t je;
	json_t *m = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &je);
	if (!m)
		fail_msg("published invalid JSON: %s", je.text);
	assert_shape(f, topic, m);
	struct sent *s = g_new0(struct sent, 1);
	s->topic = g_strdup(topic);
	s->msg = m;
	s->retain = retain;
	g_ptr_array_add(f->sent, s);
	return 0;
}

static int fake_subscribe(void *ctx, const char *filter, int qos)
{
	struct fixture *f = ctx;
	g_free(f->subscribed);
	f->subscribed = g_strdup(filter);
	return 0;
}

static const struct mqtt_ops fake_mqtt = {.publish = fake_publish, .subscribe = fake_subscribe};

static void fake_render(void *ctx, const struct terminal_view *v)
{
	struct fixture *f = ctx;
	g_free(f->screen);
	f->screen = terminal_batch_format(v);
	f->renders++;
}

static const struct terminal_view_ops fake_view = {.render = fake_render};

static int fake_start(void *ctx, const char *cmdline, const char *person_id,
                      const char *person_name, const char *tender_id)
{
	struct fixture *f = ctx;
	assert_false(f->running);
	f->starts++;
	f->running = true;
	g_free(f->started_person);
	f->started_person = g_strdup(person_id);
	g_free(f->started_cmdline);
	f->started_cmdline = g_strdup(cmdline);
	return 0;
}

static void fake_stop(void *ctx)
{
	struct fixture *f = ctx;
	f->stops++;
	f->running = false;
}

static const struct terminal_program_ops fake_program = {.start = fake_start, .stop = fake_stop};

static void free_sent(gpointer p)
{
	struct sent *s = p;
	g_free(s->topic);
	json_decref(s->msg);
	g_free(s);
}

static int setup(void **state)
{
	struct fixture *f = g_new0(struct fixture, 1);
	f->sent = g_ptr_array_new_with_free_func(free_sent);
	f->now = 1000 * SEC;
	struct terminal_config cfg = {.room = ROOM, .seat = SEAT, .program = "evalclient --kiosk"};
	GError *err = NULL;
	f->t = terminal_new(&cfg, &fake_mqtt, f, &fake_view, f, &fake_program, f, &err);
	assert_non_null(f->t);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	terminal_free(f->t);
	g_ptr_array_free(f->sent, TRUE);
	g_free(f->subscribed);
	g_free(f->screen);
	g_free(f->started_person);
	g_free(f->started_cmdline);
	g_free(f);
	return 0;
}

/* The last message of KIND sent, or NULL. */
static json_t *last_sent(struct fixture *f, const char *kind)
{
	for (guint i = f->sent->len; i > 0; i--) {
		struct sent *s = f->sent->pdata[i - 1];
		if (!strcmp(json_string_value(json_object_get(s->msg, "kind")), kind))
			return s->msg;
	}
	return NULL;
}

static unsigned count_sent(struct fixture *f, const char *kind)
{
	unsigned n = 0;
	for (guint i = 0; i < f->sent->len; i++) {
		struct sent *s = f->sent->pdata[i];
		n += !strcmp(json_string_value(json_object_get(s->msg, "kind")), kind);
	}
	return n;
}

static void type(struct fixture *f, const char *keys)
{
	for (const char *k = keys; *k; k++)
		terminal_key(f->t, *k, f->now);
}

static void down(struct fixture *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *body = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	static uint64_t seq = 1;
	char *msg = g_strdup_printf(
	    "{\"v\":1,\"seq\":%" G_GUINT64_FORMAT ",\"ts\":1764115200000000,%s}", seq++, body);
	terminal_receive(f->t, DOWN, msg, strlen(msg), f->now);
	g_free(msg);
	g_free(body);
}

static uint64_t seq_of(json_t *m)
{
	return (uint64_t)json_integer_value(json_object_get(m, "seq"));
}

static void ack(struct fixture *f, const char *seat)
{
	json_t *last = f->sent->len ? ((struct sent *)f->sent->pdata[f->sent->len - 1])->msg : NULL;
	down(f, "\"kind\":\"terminal.ack\",\"re\":%" G_GUINT64_FORMAT ",\"seat\":\"%s\"",
	     last ? seq_of(last) : 1, seat);
}

static void assert_screen_has(struct fixture *f, const char *text)
{
	if (!f->screen || !strstr(f->screen, text))
		fail_msg("screen lacks \"%s\": %s", text, f->screen ? f->screen : "(none)");
}

static void assert_screen_lacks(struct fixture *f, const char *text)
{
	if (f->screen && strstr(f->screen, text))
		fail_msg("screen shows \"%s\": %s", text, f->screen);
}

/* Started and acknowledged: the locked screen without the unreachable banner. */
static void start_reachable(struct fixture *f)
{
	assert_int_equal(terminal_start(f->t, true, f->now), 0);
	ack(f, "open");
}

static void login_as(struct fixture *f, const char *person, const char *name)
{
	type(f, "AB12CD\n");
	json_t *login = last_sent(f, "terminal.login");
	assert_non_null(login);
	down(f,
	     "\"kind\":\"terminal.login_result\",\"re\":%" G_GUINT64_FORMAT
	     ",\"ok\":true,\"reason\":\"ok\",\"person\":{\"id\":\"%s\",\"name\":\"%s\"},"
	     "\"tender\":{\"id\":\"T2026-017\",\"name\":\"Road maintenance lot 3\"}",
	     seq_of(login), person, name);
}

static void test_start_shows_locked_screen(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(terminal_start(f->t, true, f->now), 0);
	assert_string_equal(f->subscribed, DOWN);
	json_t *st = last_sent(f, "status");
	assert_non_null(st);
	assert_string_equal(json_string_value(json_object_get(st, "state")), "online");
	assert_true(((struct sent *)f->sent->pdata[0])->retain);
	json_t *hb = last_sent(f, "terminal.heartbeat");
	assert_non_null(hb);
	assert_string_equal(json_string_value(json_object_get(hb, "state")), "locked");
	assert_screen_has(f, "screen=locked");
	assert_screen_has(f, "Room R1  Seat S3");
	assert_screen_has(f, "enter your login code");
	/* Nothing heard from the agent yet. */
	assert_screen_has(f, "ROOM AGENT UNREACHABLE");
	ack(f, "open");
	assert_screen_lacks(f, "UNREACHABLE");
	assert_false(terminal_agent_unreachable(f->t));
}

static void test_code_is_masked_and_editable(void **state)
{
	struct fixture *f = *state;
	start_reachable(f);
	type(f, "9876");
	assert_screen_has(f, "Code: [****]");
	assert_screen_lacks(f, "9876");
	terminal_key(f->t, TERMINAL_KEY_BACKSPACE, f->now);
	assert_screen_has(f, "Code: [***]");
	terminal_key(f->t, TERMINAL_KEY_ESCAPE, f->now);
	assert_screen_has(f, "Code: []");
	/* Too short: refused here, nothing sent. */
	type(f, "12\n");
	assert_null(last_sent(f, "terminal.login"));
	assert_screen_has(f, "4 to 16 letters or digits");
	/* Characters that cannot be in a code are not taken. */
	type(f, "12-3 4;");
	assert_screen_has(f, "Code: [****]");
}

static void test_login_ok(void **state)
{
	struct fixture *f = *state;
	start_reachable(f);
	type(f, "AB12CD\n");
	json_t *login = last_sent(f, "terminal.login");
	assert_non_null(login);
	assert_string_equal(json_string_value(json_object_get(login, "code")), "AB12CD");
	assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_CHECKING);
	assert_screen_has(f, "Checking your login code");
	down(f,
	     "\"kind\":\"terminal.login_result\",\"re\":%" G_GUINT64_FORMAT
	     ",\"ok\":true,\"reason\":\"ok\",\"person\":{\"id\":\"E042\",\"name\":\"张伟\"},"
	     "\"tender\":{\"id\":\"T2026-017\",\"name\":\"Road maintenance lot 3\"}",
	     seq_of(login));
	assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_LOGGED_IN);
	assert_screen_has(f, "Welcome, 张伟");
	assert_screen_has(f, "Tender T2026-017: Road maintenance lot 3");
	assert_int_equal(f->starts, 1);
	assert_string_equal(f->started_person, "E042");
	assert_string_equal(f->started_cmdline, "evalclient --kiosk");
	f->now += TERMINAL_HEARTBEAT_US;
	terminal_tick(f->t, f->now);
	json_t *hb = last_sent(f, "terminal.heartbeat");
	assert_string_equal(json_string_value(json_object_get(hb, "state")), "logged_in");
}

static void test_wrong_code_then_blocked(void **state)
{
	struct fixture *f = *state;
	start_reachable(f);
	type(f, "0000\n");
	uint64_t seq = seq_of(last_sent(f, "terminal.login"));
	down(f,
	     "\"kind\":\"terminal.login_result\",\"re\":%" G_GUINT64_FORMAT
	     ",\"ok\":false,\"reason\":\"wrong_code\",\"tries_left\":4,\"message\":\"unknown\"",
	     seq);
	assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_LOCKED);
	assert_screen_has(f, "Wrong code, 4 tries left.");
	assert_int_equal(f->starts, 0);
	type(f, "0001\n");
	seq = seq_of(last_sent(f, "terminal.login"));
	down(f,
	     "\"kind\":\"terminal.login_result\",\"re\":%" G_GUINT64_FORMAT
	     ",\"ok\":false,\"reason\":\"wrong_code\",\"tries_left\":1",
	     seq);
	assert_screen_has(f, "Wrong code, 1 try left.");
	type(f, "0002\n");
	seq = seq_of(last_sent(f, "terminal.login"));
	down(f,
	     "\"kind\":\"terminal.login_result\",\"re\":%" G_GUINT64_FORMAT
	     ",\"ok\":false,\"reason\":\"seat_blocked\"",
	     seq);
	assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_BLOCKED);
	assert_screen_has(f, "Seat locked: call the attendant");
	/* A blocked seat takes no code. */
	unsigned logins = count_sent(f, "terminal.login");
	type(f, "1234\n");
	assert_int_equal(count_sent(f, "terminal.login"), logins);
	/* The attendant releases it. */
	down(f, "\"kind\":\"terminal.unlock\"");
	assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_LOCKED);
	assert_screen_has(f, "This seat has been unlocked.");
}

static void test_refusal_reasons(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *reason;
		const char *shown;
	} cases[] = {
	    {"wrong_seat", "This code is not for this seat."},
	    {"code_used", "This code has already been used."},
	    {"code_expired", "This code has expired."},
	    {"unavailable", "The code cannot be checked now: database busy."},
	};
	start_reachable(f);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		type(f, "5555\n");
		down(f,
		     "\"kind\":\"terminal.login_result\",\"re\":%" G_GUINT64_FORMAT
		     ",\"ok\":false,\"reason\":\"%s\",\"message\":\"database busy\"",
		     seq_of(last_sent(f, "terminal.login")), cases[i].reason);
		assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_LOCKED);
		assert_screen_has(f, cases[i].shown);
	}
	assert_int_equal(f->starts, 0);
}

static void test_operator_lock_and_unlock(void **state)
{
	struct fixture *f = *state;
	start_reachable(f);
	login_as(f, "E042", "Li Na");
	assert_true(f->running);
	down(f, "\"kind\":\"terminal.lock\",\"reason\":\"lockdown of room R1\"");
	assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_OPERATOR_LOCKED);
	assert_false(f->running);
	assert_screen_has(f, "Seat locked by the operator");
	assert_screen_has(f, "Reason: lockdown of room R1");
	assert_screen_lacks(f, "Li Na");
	type(f, "1234\nlhb");
	assert_null(last_sent(f, "terminal.help"));
	/* Not over a lock: the agent unlocks first. */
	down(f, "\"kind\":\"terminal.login_result\",\"re\":5,\"ok\":true,\"reason\":\"ok\","
	        "\"resumed\":true,\"person\":{\"id\":\"E042\",\"name\":\"Li Na\"},"
	        "\"tender\":{\"id\":\"T1\",\"name\":\"Bridge\"}");
	assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_OPERATOR_LOCKED);
	assert_int_equal(f->starts, 1);
	down(f, "\"kind\":\"terminal.unlock\"");
	assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_LOCKED);
	/* The agent resumes the session it still holds. */
	down(f, "\"kind\":\"terminal.login_result\",\"re\":5,\"ok\":true,\"reason\":\"ok\","
	        "\"resumed\":true,\"person\":{\"id\":\"E042\",\"name\":\"Li Na\"},"
	        "\"tender\":{\"id\":\"T1\",\"name\":\"Bridge\"}");
	assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_LOGGED_IN);
	assert_screen_has(f, "Your session has been resumed.");
	assert_int_equal(f->starts, 2);
	/* A repeated resume of the session on screen changes nothing, even on a break. */
	type(f, "b");
	down(f, "\"kind\":\"terminal.login_result\",\"re\":6,\"ok\":true,\"reason\":\"ok\","
	        "\"resumed\":true,\"person\":{\"id\":\"E042\",\"name\":\"Li Na\"},"
	        "\"tender\":{\"id\":\"T1\",\"name\":\"Bridge\"}");
	assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_BREAK);
	assert_int_equal(f->starts, 2);
	assert_int_equal(f->stops, 1);
}

static void test_logout_help_break(void **state)
{
	struct fixture *f = *state;
	start_reachable(f);
	login_as(f, "E007", "Wang Fang");
	type(f, "h");
	assert_non_null(last_sent(f, "terminal.help"));
	assert_screen_has(f, "Help requested");
	type(f, "b");
	json_t *br = last_sent(f, "terminal.break");
	assert_string_equal(json_string_value(json_object_get(br, "phase")), "start");
	assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_BREAK);
	assert_screen_has(f, "On break");
	assert_true(f->running);
	type(f, "r");
	br = last_sent(f, "terminal.break");
	assert_string_equal(json_string_value(json_object_get(br, "phase")), "end");
	assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_LOGGED_IN);
	/* Logout asks first; N keeps the session. */
	type(f, "l");
	assert_screen_has(f, "Log out now?");
	type(f, "n");
	assert_null(last_sent(f, "terminal.logout"));
	assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_LOGGED_IN);
	type(f, "LY");
	assert_non_null(last_sent(f, "terminal.logout"));
	assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_LOCKED);
	assert_false(f->running);
	assert_int_equal(f->stops, 1);
	assert_screen_has(f, "You have been logged out.");
	assert_screen_lacks(f, "Wang Fang");
	/* An acknowledgement older than the logout does not bring the session back. */
	down(f, "\"kind\":\"terminal.ack\",\"re\":1,\"seat\":\"locked\"");
	assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_LOCKED);
}

static void test_agent_unreachable(void **state)
{
	struct fixture *f = *state;
	start_reachable(f);
	/* Heartbeats go out, but nothing comes back. */
	for (int i = 0; i < 7; i++) {
		f->now += SEC;
		terminal_tick(f->t, f->now);
	}
	assert_true(count_sent(f, "terminal.heartbeat") >= 4);
	assert_true(terminal_agent_unreachable(f->t));
	assert_screen_has(f, "ROOM AGENT UNREACHABLE");
	unsigned before = f->sent->len;
	type(f, "4321\n");
	assert_int_equal(count_sent(f, "terminal.login"), 0);
	assert_int_equal(f->sent->len, before);
	assert_screen_has(f, "The room agent is unreachable.");
	ack(f, "open");
	assert_false(terminal_agent_unreachable(f->t));
	/* A lost connection shows at once. */
	terminal_connection(f->t, false, f->now);
	assert_screen_has(f, "ROOM AGENT UNREACHABLE");
	before = count_sent(f, "terminal.heartbeat");
	f->now += 3 * SEC;
	terminal_tick(f->t, f->now);
	assert_int_equal(count_sent(f, "terminal.heartbeat"), before);
	/* Back: online again, and a heartbeat so the agent can correct us. */
	unsigned statuses = count_sent(f, "status");
	terminal_connection(f->t, true, f->now);
	assert_int_equal(count_sent(f, "status"), statuses + 1);
	assert_int_equal(count_sent(f, "terminal.heartbeat"), before + 1);
	ack(f, "open");
	assert_screen_lacks(f, "UNREACHABLE");
}

static void test_login_timeout(void **state)
{
	struct fixture *f = *state;
	start_reachable(f);
	type(f, "7777\n");
	uint64_t seq = seq_of(last_sent(f, "terminal.login"));
	f->now += TERMINAL_LOGIN_TIMEOUT_US + 1;
	terminal_tick(f->t, f->now);
	assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_LOCKED);
	assert_screen_has(f, "No answer from the room agent.");
	/* The late verdict is not taken. */
	down(f,
	     "\"kind\":\"terminal.login_result\",\"re\":%" G_GUINT64_FORMAT
	     ",\"ok\":true,\"reason\":\"ok\",\"person\":{\"id\":\"E1\",\"name\":\"A\"},"
	     "\"tender\":{\"id\":\"T1\",\"name\":\"B\"}",
	     seq);
	assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_LOCKED);
	assert_int_equal(f->starts, 0);
}

static void test_bad_messages_change_nothing(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
	    "not json",
	    "{\"v\":2,\"kind\":\"terminal.unlock\",\"seq\":9,\"ts\":1}",
	    "{\"v\":1,\"kind\":\"terminal.unlock\",\"seq\":9,\"ts\":1,\"extra\":true}",
	    "{\"v\":1,\"kind\":\"terminal.login\",\"seq\":9,\"ts\":1,\"code\":\"1234\"}",
	    "{\"v\":1,\"kind\":\"terminal.lock\",\"seq\":9,\"ts\":1}",
	    "{\"v\":1,\"kind\":\"terminal.lock\",\"seq\":9,\"ts\":1,\"reason\":\"\\u001b[2J\"}",
	    "{\"v\":1,\"kind\":\"terminal.ack\",\"seq\":9,\"ts\":1,\"re\":3,\"seat\":\"gone\"}",
	    "{\"v\":1,\"kind\":\"terminal.login_result\",\"seq\":9,\"ts\":1,\"re\":1,"
	    "\"ok\":true,\"reason\":\"ok\"}",
	    "{\"v\":1,\"kind\":\"terminal.login_result\",\"seq\":9,\"ts\":1,\"re\":1,"
	    "\"ok\":false,\"reason\":\"wrong_code\"}",
	    "{\"v\":1,\"kind\":\"terminal.login_result\",\"seq\":9,\"ts\":1,\"re\":1,"
	    "\"ok\":false,\"reason\":\"ok\"}",
	    "{\"v\":1,\"kind\":\"terminal.login_result\",\"seq\":9,\"ts\":1,\"re\":1,"
	    "\"ok\":true,\"reason\":\"ok\",\"person\":{\"id\":\"E 1\",\"name\":\"x\"},"
	    "\"tender\":{\"id\":\"T1\",\"name\":\"y\"}}",
	    "{\"v\":1,\"kind\":\"terminal.unlock\",\"seq\":9,\"ts\":1,\"kind\":\"terminal.lock\"}",
	};
	start_reachable(f);
	login_as(f, "E042", "Li Na");
	unsigned renders = f->renders;
	char *screen = g_strdup(f->screen);
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		unsigned errors = count_sent(f, "error");
		terminal_receive(f->t, DOWN, bad[i], strlen(bad[i]), f->now);
		if (count_sent(f, "error") != errors + 1)
			fail_msg("no error for bad message %zu: %s", i, bad[i]);
		json_t *e = last_sent(f, "error");
		assert_string_equal(json_string_value(json_object_get(e, "topic")), DOWN);
		assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_LOGGED_IN);
		assert_true(f->running);
	}
	/* A message on a foreign topic is ignored without an answer. */
	unsigned sent = f->sent->len;
	const char *unlock = "{\"v\":1,\"kind\":\"terminal.lock\",\"seq\":9,\"ts\":1,"
	                     "\"reason\":\"x\"}";
	terminal_receive(f->t, "evalroom/v1/seat/R1/S4/down", unlock, strlen(unlock), f->now);
	assert_int_equal(f->sent->len, sent);
	assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_LOGGED_IN);
	assert_int_equal(f->renders, renders);
	assert_string_equal(f->screen, screen);
	g_free(screen);
}

static void test_agent_corrects_the_screen(void **state)
{
	struct fixture *f = *state;
	start_reachable(f);
	login_as(f, "E042", "Li Na");
	f->now += TERMINAL_HEARTBEAT_US;
	terminal_tick(f->t, f->now);
	/* The agent ended the session (e.g. the operator closed the tender). */
	ack(f, "open");
	assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_LOCKED);
	assert_false(f->running);
	assert_screen_has(f, "Your session was ended by the room agent.");
	f->now += TERMINAL_HEARTBEAT_US;
	terminal_tick(f->t, f->now);
	ack(f, "locked");
	assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_OPERATOR_LOCKED);
	f->now += TERMINAL_HEARTBEAT_US;
	terminal_tick(f->t, f->now);
	ack(f, "blocked");
	assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_BLOCKED);
	f->now += TERMINAL_HEARTBEAT_US;
	terminal_tick(f->t, f->now);
	ack(f, "open");
	assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_LOCKED);
}

static void test_publish_failure_is_reported(void **state)
{
	struct fixture *f = *state;
	start_reachable(f);
	f->publish_rc = -ENOBUFS;
	type(f, "7777\n");
	assert_int_equal(terminal_get_state(f->t), TERMINAL_STATE_LOCKED);
	assert_screen_has(f, "The login could not be sent.");
}

static void test_bad_config_refused(void **state)
{
	GError *err = NULL;
	struct terminal_config cfg = {.room = "R1", .seat = "S/3"};
	assert_null(terminal_new(&cfg, &fake_mqtt, NULL, &fake_view, NULL, NULL, NULL, &err));
	assert_non_null(strstr(err->message, "S/3"));
	g_clear_error(&err);
	cfg.seat = "S3";
	cfg.program = "client";
	assert_null(terminal_new(&cfg, &fake_mqtt, NULL, &fake_view, NULL, NULL, NULL, &err));
	g_clear_error(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_start_shows_locked_screen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_code_is_masked_and_editable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_login_ok, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_code_then_blocked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusal_reasons, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_operator_lock_and_unlock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_logout_help_break, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_agent_unreachable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_login_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_messages_change_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_agent_corrects_the_screen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_publish_failure_is_reported, setup, teardown),
	    cmocka_unit_test(test_bad_config_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
