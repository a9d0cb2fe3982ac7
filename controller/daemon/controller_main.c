/* evalroom-controller: owns the truth of the evaluation area. */
#include <errno.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agents.h"
#include "alerts.h"
#include "archive_disk.h"
#include "archive_fetch.h"
#include "archives.h"
#include "copies.h"
#include "custody.h"
#include "checkin.h"
#include "chunk_meta.h"
#include "clock.h"
#include "config.h"
#include "console_link.h"
#include "controller.h"
#include "controller_config.h"
#include "daemon.h"
#include "events.h"
#include "i18n.h"
#include "keys.h"
#include "ingest.h"
#include "calls.h"
#include "live_view.h"
#include "log.h"
#include "msg.h"
#include "node.h"
#include "presence.h"
#include "requests.h"
#include "state.h"
#include "venues.h"
#include "view.h"
#include "warnings.h"
#include "staff.h"

#define CONTROLLER_VERSION "0.1"

static char *opt_config = "/etc/evalroom/controller.conf";
static gboolean opt_verbose;
static gboolean opt_rotate_key, opt_rotate_key2;
static char *opt_revoke_key, *opt_revoke_from, *opt_reason;

static const GOptionEntry options[] = {
    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config,
     N_("Configuration file (default /etc/evalroom/controller.conf)"), "FILE"},
    {"verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, N_("Log debug messages"), NULL},
    {"rotate-key", 0, 0, G_OPTION_ARG_NONE, &opt_rotate_key,
     N_("With the controller stopped: replace the archive signing key by a new one, record the "
        "rotation (signed by both keys) in the key history, and exit; every archive reopened "
        "afterwards records it and is signed by the new key (needs --reason)"),
     NULL},
    {"rotate-key2", 0, 0, G_OPTION_ARG_NONE, &opt_rotate_key2,
     N_("With the controller stopped: the same for the second signing key "
        "(second_signing_key, SM2 or Ed25519): a new key of the same algorithm, the rotation "
        "signed by the old and the new second key (needs --reason)"),
     NULL},
    {"revoke-key", 0, 0, G_OPTION_ARG_STRING, &opt_revoke_key,
     N_("With the controller stopped: record that an earlier signing key or second key (its "
        "id, or the first 8 or more hex digits of it, from evalroomctl keys list) is not to be "
        "trusted from --from on, and exit (needs --from and --reason)"),
     N_("KEY-ID")},
    {"from", 0, 0, G_OPTION_ARG_STRING, &opt_revoke_from,
     N_("--revoke-key: the time from which the key is not trusted (ISO 8601, e.g. "
        "2026-12-01T08:00:00Z)"),
     N_("TIME")},
    {"reason", 0, 0, G_OPTION_ARG_STRING, &opt_reason,
     N_("--rotate-key, --rotate-key2, --revoke-key: why, recorded in the signed entry"),
     N_("TEXT")},
    {NULL},
};

/* The topic table: evalroom/v1/room/<room>/<what> and evalroom/v1/ctl/<cn>/req. */
static void on_room_status(void *user, const char *topic, const char *const *wild, unsigned nwild,
                           const void *payload, size_t len)
{
	presence_handle_status(user, wild[0], payload, len);
}

static void on_room_event(void *user, const char *topic, const char *const *wild, unsigned nwild,
                          const void *payload, size_t len)
{
	events_handle(user, wild[0], payload, len);
}

static void on_room_reply(void *user, const char *topic, const char *const *wild, unsigned nwild,
                          const void *payload, size_t len)
{
	agents_handle_reply(user, wild[0], payload, len);
}

static void on_room_media(void *user, const char *topic, const char *const *wild, unsigned nwild,
                          const void *payload, size_t len)
{
	ingest_handle_chunk(user, wild[0], payload, len);
}

static void on_ctl_request(void *user, const char *topic, const char *const *wild, unsigned nwild,
                           const void *payload, size_t len)
{
	requests_handle(user, wild[0], payload, len);
}

static void on_venue_link(void *user, const char *topic, const char *const *wild, unsigned nwild,
                          const void *payload, size_t len)
{
	venues_handle_link(user, wild[0], payload, len);
}

/* Other room topics: validated here until their modules take them. */
static void on_room_other(void *user, const char *topic, const char *const *wild, unsigned nwild,
                          const void *payload, size_t len)
{
	struct controller *c = user;
	struct msg_envelope env;
	json_t *body = NULL;
	GError *err = NULL;
	char sender[64];
	snprintf(sender, sizeof(sender), "agent-%s", wild[0]);
	if (msg_parse(payload, len, MSG_MAX_SIZE, &env, &body, &err) != 0) {
		node_report_error(c->node, topic, sender, err);
		g_clear_error(&err);
	} else {
		log_debug("%s: %s seq %" G_GUINT64_FORMAT, topic, env.kind, env.seq);
	}
	json_decref(body);
}

/* A sealed archive: its custody (mode, retention) first, then its copies. */
static void on_archive_sealed(struct controller *c, const char *tender, int64_t sealed_us)
{
	custody_on_sealed(c, tender, sealed_us);
	copies_on_sealed(c, tender, sealed_us);
}

static void describe_archive(struct controller *c, const char *name, json_t *entry)
{
	custody_archive_json(c, name, entry);
	copies_archive_json(c, name, entry);
}

static void controller_routes(struct controller *c)
{
	node_route(c->node, TOPIC_PREFIX "room/+/status", true, on_room_status, c);
	node_route(c->node, TOPIC_PREFIX "room/+/event", true, on_room_event, c);
	node_route(c->node, TOPIC_PREFIX "room/+/reply", true, on_room_reply, c);
	node_route(c->node, TOPIC_PREFIX "room/+/media", true, on_room_media, c);
	node_route(c->node, TOPIC_PREFIX "ctl/+/req", true, on_ctl_request, c);
	node_route(c->node, TOPIC_PREFIX "room/+/+", false, on_room_other, c);
	node_route(c->node, TOPIC_PREFIX "venue/+/link", true, on_venue_link, c);
}

static void on_message(const char *topic, const void *payload, size_t len, void *user)
{
	struct controller *c = user;
	node_dispatch(c->node, topic, payload, len);
}

/* After every answered request: the archives, then the history warnings. */
static void after_request(struct controller *c, const struct request *req, const json_t *result,
                          const GError *err)
{
	archives_after_request(c, req, result, err);
	warnings_after_request(c, req, result, err);
}

/* SIGHUP (systemctl reload): re-read the file; what may change is applied, the rest is
 * named in a warning and waits for a restart. A file that does not load changes nothing. */
static void on_reload(void *user)
{
	struct controller *c = user;
	GError *err = NULL;

	log_info("reload: reading %s", opt_config);
	int n = controller_config_reload(&c->cfg, opt_config, &err);
	if (n < 0) {
		log_warnx("reload refused, the running configuration stays: %s", err->message);
		g_error_free(err);
		return;
	}
	log_set_verbose(opt_verbose || c->cfg.log_debug);
	warnings_reload(c);
	log_info("reload: %d setting(s) applied", n);
}

/* The retained status is republished as a heartbeat: an agent at a secondary venue takes
 * its silence for a cut link to the main venue (docs/venues.md). */
static gboolean status_heartbeat(gpointer user)
{
	struct controller *c = user;
	if (c->connected)
		node_publish_status(c->node, "online");
	return G_SOURCE_CONTINUE;
}

static void on_connection(bool connected, const char *why, void *user)
{
	struct controller *c = user;
	c->connected = connected;
	alerts_broker_connection(c, connected, why);
	view_changed(c);
	if (connected) {
		log_info("connected to the broker (%s)", why);
		node_publish_status(c->node, "online");
		daemon_ready("serving; connected to %s", c->cfg.mqtt_uri);
	} else {
		log_warnx("broker: %s", why);
		daemon_status("broker unreachable: %s", why);
	}
}

/* --rotate-key / --revoke-key: the custodian's offline key commands (keys.h). */
static int key_command(void)
{
	struct controller_config cfg = {0};
	GError *err = NULL;
	int64_t from = 0;
	int rc;

	if (!opt_reason || !*opt_reason || opt_rotate_key + opt_rotate_key2 + !!opt_revoke_key > 1 ||
	    (opt_revoke_key && (!opt_revoke_from || clock_parse(opt_revoke_from, &from) != 0))) {
		fprintf(stderr, "%s", _("evalroom-controller: --rotate-key needs --reason TEXT; "
		                        "--revoke-key KEY-ID needs --from TIME (ISO 8601) and "
		                        "--reason TEXT (try --help)\n"));
		return 2;
	}
	log_init("evalroom-controller", opt_verbose);
	if (controller_config_load(&cfg, opt_config, &err) != 0) {
		fprintf(stderr, "evalroom-controller: %s\n", err->message);
		g_error_free(err);
		return 2;
	}
	rc = opt_rotate_key    ? keys_rotate_offline(&cfg, opt_reason, stdout, &err)
	     : opt_rotate_key2 ? keys_rotate_second_offline(&cfg, opt_reason, stdout, &err)
	                       : keys_revoke_offline(&cfg, opt_revoke_key, from, opt_reason, stdout,
	                                             &err);
	if (rc) {
		fprintf(stderr, _("evalroom-controller: %s\n"), err ? err->message : g_strerror(-rc));
		g_clear_error(&err);
	}
	controller_config_free(&cfg);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct controller c = {0};
	GError *err = NULL;
	int rc = 1;

	/* --help and usage faults in the person's language; the daemon itself then runs in
	 * the C locale, so its journal stays English. */
	i18n_init();
	GOptionContext *oc = g_option_context_new(N_("- the evalroom controller daemon"));
	g_option_context_set_translation_domain(oc, I18N_DOMAIN);
	g_option_context_set_summary(
	    oc, N_("Owns the state of the evaluation area: sites, sessions, tenders, the seat\n"
	           "draw, check-ins and admissions, alerts, and the tender archives. Talks to\n"
	           "room agents and evalroomctl over MQTT/TLS (see schemas/topics.md), and\n"
	           "serves the web console over HTTPS when the file has a [console] group\n"
	           "(docs/console.md)."));
	g_option_context_add_main_entries(oc, options, NULL);
	if (!g_option_context_parse(oc, &argc, &argv, &err)) {
		fprintf(stderr, _("evalroom-controller: %s (try --help)\n"), err->message);
		g_option_context_free(oc);
		return 2;
	}
	g_option_context_free(oc);
	if (opt_rotate_key || opt_rotate_key2 || opt_revoke_key)
		return key_command();
	setlocale(LC_ALL, "C");
	log_init("evalroom-controller", opt_verbose);

	if (controller_config_load(&c.cfg, opt_config, &err) != 0) {
		fprintf(stderr, "evalroom-controller: %s\n", err->message);
		rc = 2;
		goto err_config;
	}
	log_set_verbose(opt_verbose || c.cfg.log_debug);
	c.started_us = clock_now_us();
	c.node = node_new(&(struct node_config){
	    .identity = "controller",
	    .version = CONTROLLER_VERSION,
	    .status_topic = TOPIC_PREFIX "controller/status",
	    .error_topic = TOPIC_PREFIX "controller/error",
	    .started_us = c.started_us,
	});
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
	venues_init(&c);
	if (checkin_init(&c, &err) != 0 || archives_init(&c, &err) != 0 ||
	    custody_init(&c, &err) != 0 || copies_init(&c, &err) != 0 ||
	    ingest_init(&c, &err) != 0) {
		log_errx("%s", err->message);
		goto err_archives;
	}
	alerts_set_hook(&c, archives_on_alert, NULL);
	if (warnings_init(&c, archives_event) != 0)
		goto err_archives;
	archive_disk_init(&c);
	staff_init(&c);
	c.after_request = after_request;
	c.archive_sealed = on_archive_sealed;
	c.archive_describe = describe_archive;
	c.archive_deleted = copies_on_deleted;
	c.archive_appendix = copies_on_appendix;
	if (console_link_start(&c, &err) != 0) {
		log_errx("%s", err->message);
		goto err_console;
	}

	char *offline = node_status_text(c.node, "offline");
	/* Each topic's own limit, checked before a message is copied: only requests may be
	 * 4 MiB (a site or a draw record), media chunks 1 MiB, everything else 64 KiB. */
	static const struct mqtt_topic_limit limits[] = {
	    {TOPIC_PREFIX "ctl/+/req", MSG_MAX_REQUEST_SIZE},
	    {TOPIC_PREFIX "room/+/media", CHUNK_MAX_BYTES},
	    {"#", MSG_MAX_SIZE},
	};
	struct mqtt_session_config mc = {
	    .topic_limits = limits,
	    .n_topic_limits = G_N_ELEMENTS(limits),
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
	node_set_transport(c.node, &mqtt_session_ops, c.mqtt);
	controller_routes(&c);
	daemon_signals_watch(c.loop, on_reload, &c);
	g_timeout_add_seconds(NODE_CONTROLLER_HEARTBEAT_S, status_heartbeat, &c);
	mqtt_session_start(c.mqtt);
	log_info("started; broker %s", c.cfg.mqtt_uri);

	g_main_loop_run(c.loop);

	daemon_stopping();
	node_publish_status(c.node, "stopped");
	mqtt_session_stop(c.mqtt, 2000);
	rc = 0;
	mqtt_session_free(c.mqtt);
err_mqtt:
err_console:
	console_link_stop(&c);
err_archives:
	warnings_free(&c);
	live_view_free(&c);
	calls_free(&c);
	archive_disk_free(&c);
	fetches_free(&c);
	copies_free(&c);
	ingest_free(&c);
	custody_free(&c);
	archives_free(&c);
	checkin_free(&c);
	venues_free(&c);
	view_free(&c);
	alerts_free(&c);
	state_close(c.state);
err_state:
	agents_free(&c);
	g_hash_table_destroy(c.rooms);
	g_main_loop_unref(c.loop);
	node_free(c.node);
err_config:
	controller_config_free(&c.cfg);
	g_clear_error(&err);
	return rc;
}
