/* evalroom-controller: owns the truth of the evaluation area. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents.h"
#include "alerts.h"
#include "archive_disk.h"
#include "archives.h"
#include "checkin.h"
#include "clock.h"
#include "config.h"
#include "controller.h"
#include "controller_config.h"
#include "daemon.h"
#include "ingest.h"
#include "log.h"
#include "msg.h"
#include "state.h"
#include "view.h"

#define CONTROLLER_VERSION "0.1"

static char *opt_config = "/etc/evalroom/controller.conf";
static gboolean opt_verbose;

static const GOptionEntry options[] = {
    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config,
     "Configuration file (default /etc/evalroom/controller.conf)", "FILE"},
    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "Log debug messages", NULL},
    {NULL},
};

int controller_publish(struct controller *c, const char *topic, const json_t *msg, bool retain)
{
	size_t len;
	char *text = msg_dump(msg, &len);
	int rc = c->ops->publish(c->ops_ctx, topic, text, len, 1, retain);
	g_free(text);
	return rc;
}

void controller_report_error(struct controller *c, const char *topic, const char *sender,
                             const GError *fault)
{
	log_warnx("refused message on %s from %s: %s", topic, sender, fault->message);
	c->messages_refused++;
	json_t *m = msg_new("error", &c->seq);
	json_object_set_new(m, "topic", json_string(topic));
	json_object_set_new(m, "sender", json_string(sender));
	json_object_set_new(m, "fault", json_string(fault->message));
	controller_publish(c, TOPIC_PREFIX "controller/error", m, false);
	json_decref(m);
}

static char *status_payload(struct controller *c, const char *state)
{
	json_t *m = msg_new("status", &c->seq);
	json_object_set_new(m, "state", json_string(state));
	json_object_set_new(m, "identity", json_string("controller"));
	json_object_set_new(m, "version", json_string(CONTROLLER_VERSION));
	json_object_set_new(m, "started", json_integer(c->started_us));
	char *text = msg_dump(m, NULL);
	json_decref(m);
	return text;
}

/* Topic routing: evalroom/v1/room/<room>/<what> and evalroom/v1/ctl/<cn>/req. */
static void on_message(const char *topic, const void *payload, size_t len, void *user)
{
	struct controller *c = user;
	if (!g_str_has_prefix(topic, TOPIC_PREFIX))
		return;
	char **parts = g_strsplit(topic + strlen(TOPIC_PREFIX), "/", 0);
	guint n = g_strv_length(parts);
	if (n == 3 && strcmp(parts[0], "room") == 0 && strcmp(parts[2], "status") == 0) {
		presence_handle_status(c, parts[1], payload, len);
	} else if (n == 3 && strcmp(parts[0], "ctl") == 0 && strcmp(parts[2], "req") == 0) {
		requests_handle(c, parts[1], payload, len);
	} else if (n == 3 && strcmp(parts[0], "room") == 0 && strcmp(parts[2], "event") == 0) {
		events_handle(c, parts[1], payload, len);
	} else if (n == 3 && strcmp(parts[0], "room") == 0 && strcmp(parts[2], "reply") == 0) {
		agents_handle_reply(c, parts[1], payload, len);
	} else if (n == 3 && strcmp(parts[0], "room") == 0 && strcmp(parts[2], "media") == 0) {
		ingest_handle_chunk(c, parts[1], payload, len);
	} else if (n == 3 && strcmp(parts[0], "room") == 0) {
		/* Other room topics: validated here until their modules take them. */
		struct msg_envelope env;
		json_t *body = NULL;
		GError *err = NULL;
		char sender[64];
		snprintf(sender, sizeof(sender), "agent-%s", parts[1]);
		if (msg_parse(payload, len, MSG_MAX_SIZE, &env, &body, &err) != 0) {
			controller_report_error(c, topic, sender, err);
			g_clear_error(&err);
		} else {
			log_debug("%s: %s seq %" G_GUINT64_FORMAT, topic, env.kind, env.seq);
		}
		json_decref(body);
	}
	g_strfreev(parts);
}

static void on_connection(bool connected, const char *why, void *user)
{
	struct controller *c = user;
	c->connected = connected;
	alerts_broker_connection(c, connected, why);
	if (connected) {
		log_info("connected to the broker (%s)", why);
		char *st = status_payload(c, "online");
		c->ops->publish(c->ops_ctx, TOPIC_PREFIX "controller/status", st, strlen(st), 1,
		                true);
		g_free(st);
		daemon_ready("serving; connected to %s", c->cfg.mqtt_uri);
	} else {
		log_warnx("broker: %s", why);
		daemon_status("broker unreachable: %s", why);
	}
}

int main(int argc, char **argv)
{
	struct controller c = {0};
	GError *err = NULL;
	int rc = 1;

	GOptionContext *oc = g_option_context_new("- the evalroom controller daemon");
	g_option_context_set_summary(
	    oc, "Owns the state of the evaluation area: sites, sessions, tenders, the seat\n"
	        "draw, check-ins and admissions, alerts, and the tender archives. Talks to\n"
	        "room agents and evalroomctl over MQTT/TLS (see schemas/topics.md).");
	g_option_context_add_main_entries(oc, options, NULL);
	if (!g_option_context_parse(oc, &argc, &argv, &err)) {
		fprintf(stderr, "evalroom-controller: %s (try --help)\n", err->message);
		g_option_context_free(oc);
		return 2;
	}
	g_option_context_free(oc);
	log_init("evalroom-controller", opt_verbose);

	if (controller_config_load(&c.cfg, opt_config, &err) != 0) {
		fprintf(stderr, "evalroom-controller: %s\n", err->message);
		rc = 2;
		goto err_config;
	}
	c.started_us = clock_now_us();
	c.loop = g_main_loop_new(NULL, FALSE);
	presence_init(&c);
	agents_init(&c);

	if (g_mkdir_with_parents(c.cfg.state_dir, 0700) != 0) {
		log_warn("state directory %s", c.cfg.state_dir);
		goto err_state;
	}
	char *state_path = g_build_filename(c.cfg.state_dir, "state.db", NULL);
	c.state = state_open(state_path, &err);
	g_free(state_path);
	if (!c.state) {
		log_errx("%s", err->message);
		goto err_state;
	}
	alerts_init(&c);
	view_init(&c);
	if (checkin_init(&c, &err) != 0 || archives_init(&c, &err) != 0 ||
	    ingest_init(&c, &err) != 0) {
		log_errx("%s", err->message);
		goto err_archives;
	}
	alerts_set_hook(&c, archives_on_alert, NULL);
	archive_disk_init(&c);

	char *offline = status_payload(&c, "offline");
	struct mqtt_session_config mc = {
	    .uri = c.cfg.mqtt_uri,
	    .client_id = "controller",
	    .ca_file = c.cfg.ca,
	    .cert_file = c.cfg.cert,
	    .key_file = c.cfg.key,
	    .will_topic = TOPIC_PREFIX "controller/status",
	    .will_payload = offline,
	    .will_retain = true,
	    .keepalive_s = 5,
	};
	c.mqtt = mqtt_session_new(&mc, NULL, on_message, on_connection, &c, &err);
	g_free(offline);
	if (!c.mqtt) {
		log_errx("%s", err->message);
		goto err_mqtt;
	}
	c.ops = &mqtt_session_ops;
	c.ops_ctx = c.mqtt;
	mqtt_session_subscribe(c.mqtt, TOPIC_PREFIX "room/+/status", 1);
	mqtt_session_subscribe(c.mqtt, TOPIC_PREFIX "room/+/event", 1);
	mqtt_session_subscribe(c.mqtt, TOPIC_PREFIX "room/+/reply", 1);
	mqtt_session_subscribe(c.mqtt, TOPIC_PREFIX "room/+/media", 1);
	mqtt_session_subscribe(c.mqtt, TOPIC_PREFIX "ctl/+/req", 1);
	daemon_signals_watch(c.loop, NULL, NULL);
	mqtt_session_start(c.mqtt);
	log_info("started; broker %s", c.cfg.mqtt_uri);

	g_main_loop_run(c.loop);

	daemon_stopping();
	char *stopped = status_payload(&c, "stopped");
	mqtt_session_publish(c.mqtt, TOPIC_PREFIX "controller/status", stopped, strlen(stopped), 1,
	                     true);
	g_free(stopped);
	mqtt_session_stop(c.mqtt, 2000);
	rc = 0;
	mqtt_session_free(c.mqtt);
err_mqtt:
err_archives:
	archive_disk_free(&c);
	ingest_free(&c);
	archives_free(&c);
	checkin_free(&c);
	view_free(&c);
	alerts_free(&c);
	state_close(c.state);
err_state:
	agents_free(&c);
	g_hash_table_destroy(c.rooms);
	g_main_loop_unref(c.loop);
err_config:
	controller_config_free(&c.cfg);
	g_clear_error(&err);
	return rc;
}
