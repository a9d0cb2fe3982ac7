/* evalroom-terminal: the login kiosk of one seat (docs/terminal.md). */
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "i18n.h"
#include "log.h"
#include "mqtt_session.h"
#include "socket_transport.h"
#include "terminal.h"
#include "terminal_batch.h"
#include "terminal_program.h"
#include "terminal_screen.h"

struct options {
	char *config;
	gboolean batch;
	char *transport_socket;
	char *log_file;
	gboolean verbose;
};

struct settings {
	char *room;
	char *seat;
	char *program;
	char *uri;
	char *ca;
	char *cert;
	char *key;
};

struct app {
	GMainLoop *loop;
	struct terminal *terminal;
	struct mqtt_session *session;
	struct socket_transport *socket;
	struct terminal_screen *screen;
	struct terminal_batch batch;
	struct terminal_program *program;
	int exit_code;
};

static int64_t now_us(void)
{
	return clock_mono_us();
}

static void settings_clear(struct settings *s)
{
	g_free(s->room);
	g_free(s->seat);
	g_free(s->program);
	g_free(s->uri);
	g_free(s->ca);
	g_free(s->cert);
	g_free(s->key);
}

static char *resolved(struct config *c, const char *group, const char *key, GError **err)
{
	char *v = config_string(c, group, key, NULL, err);
	if (!v)
		return NULL;
	char *p = config_resolve(c, v);
	g_free(v);
	return p;
}

static int settings_load(const char *path, bool need_mqtt, struct settings *s, GError **err)
{
	struct config *c = config_load(path, err);
	if (!c)
		return -EINVAL;
	int rc = -EINVAL;
	if (!(s->room = config_string(c, "terminal", "room", NULL, err)) ||
	    !(s->seat = config_string(c, "terminal", "seat", NULL, err)) ||
	    !(s->program = config_string(c, "session", "program", "", err)))
		goto out;
	if (!id_valid(s->room) || !id_valid(s->seat)) {
		g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
		            "%s: [terminal] room and seat must be identifiers "
		            "([A-Za-z0-9][A-Za-z0-9_-], at most 32 characters)",
		            path);
		goto out;
	}
	if (need_mqtt && (!(s->uri = config_string(c, "mqtt", "uri", NULL, err)) ||
	                  !(s->ca = resolved(c, "mqtt", "ca", err)) ||
	                  !(s->cert = resolved(c, "mqtt", "cert", err)) ||
	                  !(s->key = resolved(c, "mqtt", "key", err))))
		goto out;
	rc = 0;
out:
	config_free(c);
	return rc;
}

static void on_message(const char *topic, const void *payload, size_t len, void *user)
{
	struct app *a = user;
	terminal_receive(a->terminal, topic, payload, len, now_us());
}

static void on_connection(bool connected, const char *why, void *user)
{
	struct app *a = user;
	log_info("transport %s%s%s", connected ? "connected" : "disconnected", why ? ": " : "",
	         why ? why : "");
	if (a->terminal)
		terminal_connection(a->terminal, connected, now_us());
}

static gboolean on_tick(gpointer data)
{
	struct app *a = data;
	terminal_tick(a->terminal, now_us());
	return G_SOURCE_CONTINUE;
}

static gboolean on_screen_input(gint fd, GIOCondition cond, gpointer data)
{
	struct app *a = data;
	if (cond & (G_IO_HUP | G_IO_ERR)) {
		log_warnx("the terminal went away");
		g_main_loop_quit(a->loop);
		return G_SOURCE_REMOVE;
	}
	int key;
	while ((key = terminal_screen_read_key(a->screen)) >= 0)
		terminal_key(a->terminal, key, now_us());
	return G_SOURCE_CONTINUE;
}

/* --batch: every byte is a keystroke, a newline is Enter; end of input ends the program. */
static gboolean on_batch_input(gint fd, GIOCondition cond, gpointer data)
{
	struct app *a = data;
	char buf[256];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		g_main_loop_quit(a->loop);
		return G_SOURCE_REMOVE;
	}
	for (ssize_t i = 0; i < n; i++) {
		int key = (unsigned char)buf[i];
		if (key == '\r')
			continue;
		if (key == 127)
			key = TERMINAL_KEY_BACKSPACE;
		terminal_key(a->terminal, key, now_us());
	}
	return G_SOURCE_CONTINUE;
}

static gboolean on_signal(gpointer data)
{
	g_main_loop_quit(((struct app *)data)->loop);
	return G_SOURCE_CONTINUE;
}

/* The screen owns the terminal: log lines on it would tear the display. */
static int redirect_stderr(const char *log_file)
{
	int fd = open(log_file ? log_file : "/dev/null", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	              0640);
	if (fd < 0)
		return -errno;
	dup2(fd, STDERR_FILENO);
	close(fd);
	return 0;
}

static int open_transport(struct app *a, const struct options *o, const struct settings *s,
                          const struct mqtt_ops **ops, void **ctx, GError **err)
{
	if (o->transport_socket) {
		a->socket = socket_transport_new(o->transport_socket, on_message, on_connection, a);
		*ops = &socket_transport_ops;
		*ctx = a->socket;
		return 0;
	}
	char *client_id = terminal_identity(s->room, s->seat);
	char *will_topic = terminal_topic(s->room, s->seat, "status");
	struct seq_counter will_seq = {0};
	json_t *will = terminal_msg_status(&will_seq, "offline", client_id, clock_now_us());
	char *will_payload = msg_dump(will, NULL);
	json_decref(will);
	struct mqtt_session_config mc = {
	    .uri = s->uri,
	    .client_id = client_id,
	    .ca_file = s->ca,
	    .cert_file = s->cert,
	    .key_file = s->key,
	    .will_topic = will_topic,
	    .will_payload = will_payload,
	    .will_retain = true,
	    .max_payload = MSG_MAX_SIZE, /* its seat's down topic: nothing larger */
	};
	a->session = mqtt_session_new(&mc, NULL, on_message, on_connection, a, err);
	g_free(client_id);
	g_free(will_topic);
	g_free(will_payload);
	if (!a->session)
		return -EINVAL;
	*ops = &mqtt_session_ops;
	*ctx = a->session;
	return 0;
}

static int transport_start(struct app *a)
{
	return a->socket ? socket_transport_start(a->socket) : mqtt_session_start(a->session);
}

static bool transport_connected(struct app *a)
{
	return a->socket ? socket_transport_connected(a->socket)
	                 : mqtt_session_connected(a->session);
}

int main(int argc, char **argv)
{
	struct options o = {0};
	struct settings s = {0};
	struct app a = {.exit_code = EXIT_FAILURE};
	GError *err = NULL;
	GOptionEntry entries[] = {
	    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &o.config,
	     N_("Configuration file ([terminal] room, seat; [mqtt] uri, ca, cert, key; "
	        "[session] program)"),
	     "FILE"},
	    {"batch", 'b', 0, G_OPTION_ARG_NONE, &o.batch,
	     N_("Read keystrokes from stdin and print each screen as one line (automation)"), NULL},
	    {"log", 'l', 0, G_OPTION_ARG_FILENAME, &o.log_file,
	     N_("Append log messages to FILE while the screen is shown"), "FILE"},
	    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &o.verbose, N_("Log debug messages"), NULL},
	    {"transport-socket", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME,
	     &o.transport_socket, N_("Tests only: talk to a fake agent on this Unix socket"),
	     "PATH"},
	    {NULL},
	};
	i18n_init();
	GOptionContext *oc = g_option_context_new(_("- the login kiosk of one evaluation seat"));
	g_option_context_set_translation_domain(oc, I18N_DOMAIN);
	g_option_context_add_main_entries(oc, entries, NULL);
	if (!g_option_context_parse(oc, &argc, &argv, &err)) {
		fprintf(stderr, _("evalroom-terminal: %s (see --help)\n"), err->message);
		goto err_options;
	}
	if (!o.config) {
		fprintf(stderr, _("evalroom-terminal: --config FILE is required (see --help)\n"));
		goto err_options;
	}
	log_init("evalroom-terminal", o.verbose ? 1 : 0);
	if (settings_load(o.config, !o.transport_socket, &s, &err)) {
		fprintf(stderr, "evalroom-terminal: %s\n", err->message);
		goto err_settings;
	}

	const struct mqtt_ops *mqtt_ops;
	void *mqtt_ctx;
	if (open_transport(&a, &o, &s, &mqtt_ops, &mqtt_ctx, &err)) {
		fprintf(stderr, "evalroom-terminal: mqtt: %s\n", err->message);
		goto err_transport;
	}

	const struct terminal_view_ops *view_ops;
	void *view_ctx;
	if (o.batch) {
		a.batch.out = stdout;
		view_ops = &terminal_batch_view_ops;
		view_ctx = &a.batch;
	} else {
		if (isatty(STDERR_FILENO) && redirect_stderr(o.log_file)) {
			fprintf(stderr, "evalroom-terminal: --log %s: %s\n", o.log_file,
			        g_strerror(errno));
			goto err_screen;
		}
		a.screen = terminal_screen_new(&err);
		if (!a.screen) {
			fprintf(stderr, "evalroom-terminal: %s\n", err->message);
			goto err_screen;
		}
		view_ops = &terminal_screen_view_ops;
		view_ctx = a.screen;
	}

	a.program = terminal_program_new(s.room, s.seat);
	struct terminal_config tc = {.room = s.room, .seat = s.seat, .program = s.program};
	a.terminal = terminal_new(&tc, mqtt_ops, mqtt_ctx, view_ops, view_ctx,
	                          &terminal_program_ops, a.program, &err);
	if (!a.terminal) {
		fprintf(stderr, "evalroom-terminal: %s\n", err->message);
		goto err_terminal;
	}

	a.loop = g_main_loop_new(NULL, FALSE);
	if (transport_start(&a) || terminal_start(a.terminal, transport_connected(&a), now_us())) {
		fprintf(stderr, _("evalroom-terminal: cannot start the transport\n"));
		goto err_start;
	}
	g_unix_fd_add(STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR,
	              o.batch ? on_batch_input : on_screen_input, &a);
	g_timeout_add(250, on_tick, &a);
	g_unix_signal_add(SIGINT, on_signal, &a);
	g_unix_signal_add(SIGTERM, on_signal, &a);
	g_unix_signal_add(SIGHUP, on_signal, &a);
	sd_notify(0, "READY=1");
	g_main_loop_run(a.loop);
	sd_notify(0, "STOPPING=1");

	terminal_stop(a.terminal);
	a.exit_code = EXIT_SUCCESS;
err_start:
	if (a.session)
		mqtt_session_stop(a.session, 2000);
	g_main_loop_unref(a.loop);
	terminal_free(a.terminal);
err_terminal:
	terminal_program_free(a.program);
	terminal_screen_free(a.screen);
err_screen:
	g_free(a.batch.last);
	socket_transport_free(a.socket);
	mqtt_session_free(a.session);
err_transport:
err_settings:
	settings_clear(&s);
err_options:
	g_option_context_free(oc);
	g_free(o.config);
	g_free(o.transport_socket);
	g_free(o.log_file);
	g_clear_error(&err);
	return a.exit_code;
}
