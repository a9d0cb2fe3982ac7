/* evalroom-agent: one per room. Drives the door, records the room and its seats,
 * supervises the seats' terminals, and keeps working while the controller is away. */
#include <errno.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "agent_call.h"
#include "agent_cmd.h"
#include "agent_door.h"
#include "agent_media.h"
#include "agent_seats.h"
#include "clock.h"
#include "cmd_done.h"
#include "daemon.h"
#include "i18n.h"
#include "log.h"
#include "msg.h"
#include "node.h"
#include "outbox.h"

#define AGENT_VERSION "0.1"

static char *opt_config = "/etc/evalroom/agent.conf";
static gboolean opt_verbose;

static const GOptionEntry options[] = {
    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config,
     N_("Configuration file (default /etc/evalroom/agent.conf)"), "FILE"},
    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, N_("Log debug messages"), NULL},
    {NULL},
};

/* The controller is reachable when the broker session is up, the venue's link (at a
 * secondary venue) is up and the controller's status says online; the door hears of each
 * change (its on-controller-lost policy). */
static void agent_reachability(struct agent *a)
{
	bool reachable = a->connected && a->link_up && a->controller_said_online;
	if (reachable == a->controller_online)
		return;
	a->controller_online = reachable;
	log_info("controller %s", reachable ? "online" : "unreachable");
	agent_door_controller_lost(a->door, !reachable);
	/* Chunks sent while the controller was away (or before it subscribed again after a
	 * broker restart) reached no one: send the unacknowledged ones again. */
	if (reachable)
		agent_media_connected(a->media, true);
}

static void agent_set_link(struct agent *a, bool up, const char *why);
static void agent_publish_status(struct agent *a);

/* The controller's retained status: while it is offline the door decides alone (and
 * applies its configured on-controller-lost policy). */
static void on_controller_status(void *user, const char *topic, const char *const *wild,
                                 unsigned nwild, const void *payload, size_t len)
{
	struct agent *a = user;
	struct node_status st;
	/* A cleared or unreadable status tells nothing: the controller's state stays. */
	if (len == 0 || node_status_read(payload, len, &st, NULL) != 0)
		return;
	a->controller_said_online = st.state == NODE_ONLINE;
	a->controller_heard_us = g_get_monotonic_time();
	if (a->venue && !a->link_up)
		agent_set_link(a, true, "the controller is heard again");
	agent_reachability(a);
}

/* The path to the controller is open: connected to the broker and, at a secondary
 * venue, the bridge to the main venue up. */
static bool agent_path_open(const struct agent *a)
{
	return a->connected && a->link_up;
}

static void agent_publish_status(struct agent *a)
{
	struct node_backlog b = {.events = outbox_pending(a->outbox)};
	agent_media_backlog(a->media, &b.segments, &b.bytes);
	node_publish_status_backlog(a->node, "online", &b);
}

/* The link to the main venue went UP or down (WHY for the log): down, the outbox and the
 * shipper stop publishing; up, the status with the backlog goes out, the outbox is
 * replayed in order and every unacknowledged segment is sent again. */
static void agent_set_link(struct agent *a, bool up, const char *why)
{
	if (up == a->link_up)
		return;
	a->link_up = up;
	if (!up) {
		log_warnx("venue %s: the link to the main venue is down (%s); deciding, recording "
		          "and keeping events here",
		          a->venue, why);
		outbox_set_connected(a->outbox, false);
		agent_media_connected(a->media, false);
		agent_reachability(a);
		daemon_status("room %s: venue link down, working locally", a->room);
		return;
	}
	log_info("venue %s: the link to the main venue is up (%s); sending what was kept", a->venue,
	         why);
	if (a->connected) {
		agent_publish_status(a);
		outbox_set_connected(a->outbox, true); /* replays the outbox in order */
		agent_media_connected(a->media, true);
	}
	agent_reachability(a);
}

/* venue/<venue>/link, published by the venue broker's own bridge: "1" when it connects.
 * ("0" comes from mosquitto 2.0 at its start and stop only, not when a running bridge
 * loses the link: the controller's heartbeat going silent says that, link_watch.) */
static void on_venue_link(void *user, const char *topic, const char *const *wild, unsigned nwild,
                          const void *payload, size_t len)
{
	struct agent *a = user;
	if (len != 1 || (((const char *)payload)[0] != '0' && ((const char *)payload)[0] != '1')) {
		GError *err = g_error_new(MSG_ERROR, MSG_ERROR_INVALID,
		                          "a link state is \"0\" or \"1\" (%zu bytes given)", len);
		node_report_error(a->node, topic, "bridge", err);
		g_error_free(err);
		return;
	}
	bool up = ((const char *)payload)[0] == '1';
	if (up)
		a->controller_heard_us = g_get_monotonic_time();
	agent_set_link(a, up, up ? "the bridge connected" : "the bridge says so");
}

/* At a secondary venue: the controller republishes its status every few seconds
 * (NODE_CONTROLLER_HEARTBEAT_S); none for [agent] link_timeout_s means the way to it, the
 * bridge, is cut, even while this agent's own broker is fine. */
static gboolean link_watch(gpointer user)
{
	struct agent *a = user;
	if (a->link_up && a->connected &&
	    g_get_monotonic_time() - a->controller_heard_us > a->link_timeout_s * G_USEC_PER_SEC) {
		char why[96];
		snprintf(why, sizeof(why), "nothing from the controller for %" G_GINT64_FORMAT " s",
		         a->link_timeout_s);
		agent_set_link(a, false, why);
	}
	return G_SOURCE_CONTINUE;
}

static void on_command(void *user, const char *topic, const char *const *wild, unsigned nwild,
                       const void *payload, size_t len)
{
	agent_cmd_handle(user, payload, len);
}

static void on_message(const char *topic, const void *payload, size_t len, void *user)
{
	struct agent *a = user;
	node_dispatch(a->node, topic, payload, len);
}

static void on_connection(bool connected, const char *why, void *user)
{
	struct agent *a = user;
	a->connected = connected;
	if (connected) {
		log_info("connected to the broker (%s)", why);
		agent_publish_status(a);
		outbox_set_connected(a->outbox, agent_path_open(a));
		agent_media_connected(a->media, agent_path_open(a));
		daemon_ready("room %s: serving; connected to %s", a->room, a->mqtt_uri);
	} else {
		outbox_set_connected(a->outbox, false);
		agent_media_connected(a->media, false);
		/* the controller's retained status comes again with the next session */
		a->controller_said_online = false;
		agent_reachability(a);
		log_warnx("broker: %s", why);
		daemon_status("room %s: broker unreachable, working locally", a->room);
	}
}

/* The retained status is republished as a heartbeat: the controller compares its
 * timestamp with its own clock (clock-skew alert). */
static gboolean status_heartbeat(gpointer user)
{
	struct agent *a = user;
	/* While the venue's link is down a heartbeat would only queue up in the bridge. */
	if (agent_path_open(a))
		agent_publish_status(a);
	return G_SOURCE_CONTINUE;
}

/* SIGHUP (systemctl reload): the agent has one setting that may change while it runs,
 * [log] debug. Everything else (the room, the broker, the spool, the door's lines and
 * timings, the streams) waits for a restart: a door never changes behaviour because of a
 * reload. Each such key that changed is named in a warning. */
static void on_reload(void *user)
{
	struct agent *a = user;
	GError *err = NULL;
	bool debug = false;

	log_info("reload: reading %s", opt_config);
	struct config *fresh = config_load(opt_config, &err);
	if (!fresh || config_bool(fresh, "log", "debug", false, &debug, &err) != 0) {
		log_warnx("reload refused, the running configuration stays: %s", err->message);
		g_error_free(err);
		config_free(fresh);
		return;
	}
	/* Compared with the file as loaded at start: what waits for a restart is named again
	 * on every reload until the daemon restarts. */
	GPtrArray *changed = config_changes(a->config, fresh);
	for (guint i = 0; i < changed->len; i++)
		if (strcmp(changed->pdata[i], "[log] debug") != 0)
			log_warnx("reload: %s changed in %s: it takes effect only after a restart "
			          "(systemctl restart evalroom-agent); the running value stays",
			          (const char *)changed->pdata[i], opt_config);
	g_ptr_array_unref(changed);
	int applied = 0;
	if (debug != a->log_debug) {
		log_info("reload: [log] debug %s -> %s", a->log_debug ? "true" : "false",
		         debug ? "true" : "false");
		a->log_debug = debug;
		applied++;
	}
	config_free(fresh);
	log_set_verbose(opt_verbose || a->log_debug);
	log_info("reload: %d setting(s) applied", applied);
}

static int agent_config_load(struct agent *a, const char *path, GError **err)
{
	a->config = config_load(path, err);
	if (!a->config)
		return -EINVAL;
	char *ca = NULL, *cert = NULL, *key = NULL, *spool = NULL;
	int rc = -EINVAL;
	if (!(a->room = config_string(a->config, "agent", "room", NULL, err)) ||
	    !(a->mqtt_uri = config_string(a->config, "mqtt", "uri", NULL, err)) ||
	    !(ca = config_string(a->config, "mqtt", "ca", NULL, err)) ||
	    !(cert = config_string(a->config, "mqtt", "cert", NULL, err)) ||
	    !(key = config_string(a->config, "mqtt", "key", NULL, err)) ||
	    !(spool =
	          config_string(a->config, "agent", "spool_dir", "/var/lib/evalroom-agent", err)) ||
	    config_bool(a->config, "log", "debug", false, &a->log_debug, err) != 0)
		goto out;
	a->venue = config_string(a->config, "agent", "venue", "", err);
	if (a->venue && !a->venue[0])
		g_clear_pointer(&a->venue, g_free);
	if (a->venue && !id_valid(a->venue)) {
		g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
		            "%s: [agent] venue: \"%s\" is not an identifier", path, a->venue);
		goto out;
	}
	a->link_up = true;
	if (config_int(a->config, "agent", "link_timeout_s", true, 20, 3, 3600, &a->link_timeout_s,
	               err) != 0)
		goto out;
	if (a->venue)
		snprintf(a->topic_link, sizeof(a->topic_link), TOPIC_PREFIX "venue/%s/link",
		         a->venue);
	if (!id_valid(a->room)) {
		g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
		            "%s: [agent] room: \"%s\" is not an identifier", path, a->room);
		goto out;
	}
	a->ca = config_resolve(a->config, ca);
	a->cert = config_resolve(a->config, cert);
	a->key = config_resolve(a->config, key);
	a->spool_dir = config_resolve(a->config, spool);
	a->identity = g_strdup_printf("agent-%s", a->room);
	snprintf(a->topic_status, sizeof(a->topic_status), TOPIC_PREFIX "room/%s/status", a->room);
	snprintf(a->topic_event, sizeof(a->topic_event), TOPIC_PREFIX "room/%s/event", a->room);
	snprintf(a->topic_reply, sizeof(a->topic_reply), TOPIC_PREFIX "room/%s/reply", a->room);
	snprintf(a->topic_cmd, sizeof(a->topic_cmd), TOPIC_PREFIX "room/%s/cmd", a->room);
	snprintf(a->topic_media, sizeof(a->topic_media), TOPIC_PREFIX "room/%s/media", a->room);
	rc = 0;
out:
	g_free(ca);
	g_free(cert);
	g_free(key);
	g_free(spool);
	return rc;
}

static void agent_free(struct agent *a)
{
	config_free(a->config);
	g_free(a->room);
	g_free(a->venue);
	g_free(a->identity);
	g_free(a->mqtt_uri);
	g_free(a->ca);
	g_free(a->cert);
	g_free(a->key);
	g_free(a->spool_dir);
	if (a->loop)
		g_main_loop_unref(a->loop);
	cmd_done_close(a->cmd_done);
	node_free(a->node);
}

/* The help key during a call hangs it up (docs/call.md). */
static bool seat_help_key(void *call, const char *seat)
{
	return agent_call_seat_hangup(call, seat);
}

int main(int argc, char **argv)
{
	struct agent a = {0};
	GError *err = NULL;
	int rc = 1;

	/* --help and usage faults in the person's language; the daemon itself then runs in
	 * the C locale, so its journal stays English. */
	i18n_init();
	GOptionContext *oc = g_option_context_new(N_("- the evalroom room agent"));
	g_option_context_set_translation_domain(oc, I18N_DOMAIN);
	g_option_context_set_summary(
	    oc, N_("One per room board: drives the door (GPIO), records the room's and seats'\n"
	           "cameras and microphones, supervises the seats' login terminals, and keeps\n"
	           "deciding admissions and recording while the controller is unreachable."));
	g_option_context_add_main_entries(oc, options, NULL);
	if (!g_option_context_parse(oc, &argc, &argv, &err)) {
		fprintf(stderr, _("evalroom-agent: %s (try --help)\n"), err->message);
		g_option_context_free(oc);
		g_error_free(err);
		return 2;
	}
	g_option_context_free(oc);
	setlocale(LC_ALL, "C");
	log_init("evalroom-agent", opt_verbose);

	if (agent_config_load(&a, opt_config, &err) != 0) {
		fprintf(stderr, "evalroom-agent: %s\n", err->message);
		rc = 2;
		goto err_config;
	}
	log_set_verbose(opt_verbose || a.log_debug);
	a.started_us = clock_now_us();
	a.loop = g_main_loop_new(NULL, FALSE);
	a.node = node_new(&(struct node_config){
	    .identity = a.identity,
	    .version = AGENT_VERSION,
	    .status_topic = a.topic_status,
	    .error_topic = a.topic_event,
	    .started_us = a.started_us,
	});

	char *offline = node_status_text(a.node, "offline");
	/* Each topic's own limit, checked before a message is copied: a seat's terminal sends
	 * a few hundred bytes at most (terminal_proto.h), the controller up to 64 KiB. */
	static const struct mqtt_topic_limit limits[] = {
	    {TOPIC_PREFIX "seat/+/+/+", 8 * 1024},
	};
	struct mqtt_session_config mc = {
	    .topic_limits = limits,
	    .n_topic_limits = G_N_ELEMENTS(limits),
	    .uri = a.mqtt_uri,
	    .client_id = a.identity,
	    .ca_file = a.ca,
	    .cert_file = a.cert,
	    .key_file = a.key,
	    .will_topic = a.topic_status,
	    .will_payload = offline,
	    .will_retain = true,
	    .keepalive_s = 5,
	    .max_payload = MSG_MAX_SIZE, /* commands, statuses, seats: nothing larger */
	};
	a.mqtt = mqtt_session_new(&mc, NULL, on_message, on_connection, &a, &err);
	g_free(offline);
	if (!a.mqtt) {
		log_errx("%s", err->message);
		goto err_config;
	}
	node_set_transport(a.node, &mqtt_session_ops, a.mqtt);

	if (g_mkdir_with_parents(a.spool_dir, 0700) != 0) {
		log_warn("spool directory %s", a.spool_dir);
		goto err_mqtt;
	}
	char *outbox_path = g_build_filename(a.spool_dir, "outbox.db", NULL);
	a.outbox = outbox_open(outbox_path, &mqtt_session_ops, a.mqtt, &err);
	g_free(outbox_path);
	if (!a.outbox) {
		log_errx("%s", err->message);
		goto err_mqtt;
	}
	/* The door comes up locked (or in its persisted lockdown) before anything else. */
	a.door = agent_door_new(&a, &err);
	if (!a.door && err) {
		log_errx("%s", err->message);
		fprintf(stderr, "evalroom-agent: %s\n", err->message);
		rc = 2;
		goto err_door;
	}
	a.media = agent_media_new(&a, &err);
	if (!a.media && err) {
		log_errx("%s", err->message);
		fprintf(stderr, "evalroom-agent: %s\n", err->message);
		rc = 2;
		goto err_door;
	}
	a.call = agent_call_new(&a, &err);
	if (!a.call) {
		log_errx("%s", err->message);
		fprintf(stderr, "evalroom-agent: %s\n", err->message);
		rc = 2;
		goto err_door;
	}
	node_route(a.node, a.topic_cmd, true, on_command, &a);
	node_route(a.node, TOPIC_PREFIX "controller/status", true, on_controller_status, &a);
	if (a.venue) {
		node_route(a.node, a.topic_link, true, on_venue_link, &a);
		a.controller_heard_us = g_get_monotonic_time();
		g_timeout_add_seconds(1, link_watch, &a);
	}
	a.seats = agent_seats_new(&a, &err);
	agent_seats_help_hook(a.seats, seat_help_key, a.call);
	agent_seats_subscribe(a.seats);
	daemon_signals_watch(a.loop, on_reload, &a);
	g_timeout_add_seconds(10, status_heartbeat, &a);
	mqtt_session_start(a.mqtt);
	log_info("room %s: started; broker %s", a.room, a.mqtt_uri);

	g_main_loop_run(a.loop);

	daemon_stopping();
	agent_call_free(a.call); /* hung up: the calls' last segments go to the spool */
	a.call = NULL;
	agent_media_stop(a.media); /* the current segments are finished and spooled */
	node_publish_status(a.node, "stopped");
	mqtt_session_stop(a.mqtt, 2000);
	rc = 0;
err_door:
	agent_call_free(a.call);
	agent_seats_free(a.seats);
	agent_media_free(a.media);
	agent_door_free(a.door);
	outbox_close(a.outbox);
err_mqtt:
	mqtt_session_free(a.mqtt);
err_config:
	agent_free(&a);
	g_clear_error(&err);
	return rc;
}
