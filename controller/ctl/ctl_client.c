#include "ctl_client.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "local_time.h"
#include "log.h"
#include "mqtt_session.h"
#include "msg.h"
#include "request.h"
#include "text_safe.h"

#define TOPIC_PREFIX "evalroom/v1/"

struct ctl {
	struct ctl_options opt;
	char *uri, *ca, *cert, *key;
	char cn[65];
	struct mqtt_session *mqtt;
	GMainLoop *loop;
	struct seq_counter seq;
	bool connected;
	int controller_state; /* -1 unknown, 0 offline, 1 online */
	/* the request being waited for */
	char want_id[40];
	json_t *answer;
	char *conn_error;
	GTimeZone *tz; /* the zone people read times in */
	bool exact;    /* answers as sent, also without --json (ctl_set_exact) */
};

static char *cert_common_name(const char *path, GError **err)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno), "%s: %s", path,
		            g_strerror(errno));
		return NULL;
	}
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, _("%s: not a PEM certificate"),
		            path);
		return NULL;
	}
	char buf[65] = "";
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof(buf));
	X509_free(x);
	if (!*buf) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL, _("%s: certificate has no CN"),
		            path);
		return NULL;
	}
	return g_strdup(buf);
}

static char *default_config(void)
{
	const char *env = g_getenv("EVALROOM_CTL_CONFIG");
	if (env && *env)
		return g_strdup(env);
	char *user = g_build_filename(g_get_user_config_dir(), "evalroom", "ctl.conf", NULL);
	if (g_file_test(user, G_FILE_TEST_EXISTS))
		return user;
	g_free(user);
	return g_strdup("/etc/evalroom/ctl.conf");
}

struct ctl *ctl_new(const struct ctl_options *opt, GError **err)
{
	struct ctl *ctl = g_new0(struct ctl, 1);
	ctl->opt = *opt;
	if (ctl->opt.timeout_s <= 0)
		ctl->opt.timeout_s = 10;
	ctl->controller_state = -1;
	char *path = opt->config ? g_strdup(opt->config) : default_config();
	struct config *cf = config_load(path, err);
	g_free(path);
	if (!cf)
		goto err_free;
	char *ca = NULL, *cert = NULL, *key = NULL, *zone;
	if (!(zone = config_string(cf, "display", "time_zone", "", err))) {
		config_free(cf);
		goto err_free;
	}
	ctl->tz = local_time_zone_new(zone, err);
	g_free(zone);
	if (!ctl->tz) {
		g_prefix_error(err, "%s: [display] time_zone: ", config_path(cf));
		config_free(cf);
		goto err_free;
	}
	if (!(ctl->uri = config_string(cf, "mqtt", "uri", NULL, err)) ||
	    !(ca = config_string(cf, "mqtt", "ca", NULL, err)) ||
	    !(cert = config_string(cf, "mqtt", "cert", NULL, err)) ||
	    !(key = config_string(cf, "mqtt", "key", NULL, err))) {
		g_free(ca);
		g_free(cert);
		config_free(cf);
		goto err_free;
	}
	ctl->ca = config_resolve(cf, ca);
	ctl->cert = config_resolve(cf, cert);
	ctl->key = config_resolve(cf, key);
	g_free(ca);
	g_free(cert);
	g_free(key);
	config_free(cf);
	char *cn = cert_common_name(ctl->cert, err);
	if (!cn)
		goto err_free;
	g_strlcpy(ctl->cn, cn, sizeof(ctl->cn));
	g_free(cn);
	return ctl;
err_free:
	ctl_free(ctl);
	return NULL;
}

void ctl_free(struct ctl *ctl)
{
	if (!ctl)
		return;
	if (ctl->mqtt) {
		mqtt_session_stop(ctl->mqtt, 1000);
		mqtt_session_free(ctl->mqtt);
	}
	if (ctl->loop)
		g_main_loop_unref(ctl->loop);
	json_decref(ctl->answer);
	g_free(ctl->conn_error);
	g_free(ctl->uri);
	g_free(ctl->ca);
	g_free(ctl->cert);
	g_free(ctl->key);
	if (ctl->tz)
		g_time_zone_unref(ctl->tz);
	g_free(ctl);
}

char *ctl_time(const struct ctl *ctl, int64_t utc_us, char *buf, size_t len)
{
	return local_time_format(ctl->tz, utc_us, 0, buf, len);
}

char *ctl_time_of_day(const struct ctl *ctl, int64_t utc_us, char *buf, size_t len)
{
	return local_time_format(ctl->tz, utc_us, 1, buf, len);
}

int ctl_parse_time(const struct ctl *ctl, const char *text, int64_t *us)
{
	return local_time_parse(ctl->tz, text, us);
}

const char *ctl_identity(const struct ctl *ctl)
{
	return ctl->cn;
}

void ctl_timeout_at_least(struct ctl *ctl, int s)
{
	if (ctl->opt.timeout_s < s)
		ctl->opt.timeout_s = s;
}

void ctl_set_timeout(struct ctl *ctl, int timeout_s)
{
	if (timeout_s > 0 && timeout_s < ctl->opt.timeout_s)
		ctl->opt.timeout_s = timeout_s;
}

void ctl_poll(struct ctl *ctl)
{
	if (ctl->loop)
		while (g_main_context_iteration(g_main_loop_get_context(ctl->loop), FALSE))
			;
}

void ctl_set_exact(struct ctl *ctl, bool exact)
{
	ctl->exact = exact;
}

bool ctl_want_json(const struct ctl *ctl)
{
	return ctl->opt.json;
}

const char *ctl_cert_path(const struct ctl *ctl)
{
	return ctl->cert;
}

const char *ctl_key_path(const struct ctl *ctl)
{
	return ctl->key;
}

const char *ctl_ca_path(const struct ctl *ctl)
{
	return ctl->ca;
}

static void on_message(const char *topic, const void *payload, size_t len, void *user)
{
	struct ctl *ctl = user;
	struct msg_envelope env;
	json_t *body = NULL;
	if (msg_parse(payload, len, MSG_MAX_REQUEST_SIZE, &env, &body, NULL) != 0)
		return;
	if (g_str_has_suffix(topic, "/controller/status")) {
		const char *st = json_string_value(json_object_get(body, "state"));
		ctl->controller_state = st && strcmp(st, "online") == 0;
		g_main_loop_quit(ctl->loop);
	} else if (strcmp(env.kind, "response") == 0) {
		const char *id = json_string_value(json_object_get(body, "id"));
		if (id && strcmp(id, ctl->want_id) == 0 && !ctl->answer) {
			ctl->answer = json_incref(body);
			g_main_loop_quit(ctl->loop);
		}
	}
	json_decref(body);
}

static void on_connection(bool connected, const char *why, void *user)
{
	struct ctl *ctl = user;
	ctl->connected = connected;
	if (!connected) {
		g_free(ctl->conn_error);
		ctl->conn_error = g_strdup(why);
	}
	g_main_loop_quit(ctl->loop);
}

static gboolean on_timeout(gpointer user)
{
	g_main_loop_quit(((struct ctl *)user)->loop);
	return G_SOURCE_REMOVE;
}

/* Run the loop until it is quit or DEADLINE (monotonic us) passes. */
static bool ctl_wait(struct ctl *ctl, int64_t deadline)
{
	int64_t left = deadline - clock_mono_us();
	if (left <= 0)
		return false;
	guint t = g_timeout_add((guint)(left / 1000) + 1, on_timeout, ctl);
	g_main_loop_run(ctl->loop);
	g_source_remove_by_user_data(ctl);
	(void)t;
	return clock_mono_us() < deadline;
}

static int ctl_connect(struct ctl *ctl, int64_t deadline, GError **err)
{
	if (ctl->mqtt)
		return 0;
	ctl->loop = g_main_loop_new(NULL, FALSE);
	char client_id[96];
	/* The broker accepts only the CN, or the CN, ':' and anything (broker/): several
	 * evalroomctl of one identity (a watch and a command) may run side by side. */
	snprintf(client_id, sizeof(client_id), "%s:%d-%08x", ctl->cn, (int)getpid(),
	         g_random_int());
	struct mqtt_session_config mc = {
	    .uri = ctl->uri,
	    .client_id = client_id,
	    .ca_file = ctl->ca,
	    .cert_file = ctl->cert,
	    .key_file = ctl->key,
	    .clean_start = true,
	};
	ctl->mqtt = mqtt_session_new(&mc, NULL, on_message, on_connection, ctl, err);
	if (!ctl->mqtt)
		return -EINVAL;
	char topic[128];
	snprintf(topic, sizeof(topic), TOPIC_PREFIX "ctl/%s/resp", ctl->cn);
	mqtt_session_subscribe(ctl->mqtt, topic, 1);
	mqtt_session_subscribe(ctl->mqtt, TOPIC_PREFIX "controller/status", 1);
	mqtt_session_start(ctl->mqtt);
	while (!ctl->connected && ctl_wait(ctl, deadline))
		;
	if (!ctl->connected) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_UNAVAILABLE,
		            /* TRANSLATORS: the broker's address, then ": " and why, or two empty strings. */
		            _("controller unreachable: cannot connect to the broker at %s%s%s"),
		            ctl->uri, ctl->conn_error ? ": " : "",
		            ctl->conn_error ? ctl->conn_error : "");
		return -ECONNREFUSED;
	}
	/* The retained controller status arrives right after the subscription. */
	int64_t status_deadline = MIN(deadline, clock_mono_us() + 500000);
	while (ctl->controller_state < 0 && ctl_wait(ctl, status_deadline))
		;
	if (ctl->controller_state == 0) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_UNAVAILABLE,
		            _("controller unreachable: the controller is offline"));
		return -EHOSTDOWN;
	}
	return 0;
}

int ctl_request(struct ctl *ctl, const char *command, json_t *args, json_t **result, GError **err)
{
	int64_t deadline = clock_mono_us() + (int64_t)ctl->opt.timeout_s * G_USEC_PER_SEC;
	*result = NULL;
	int rc = ctl_connect(ctl, deadline, err);
	if (rc != 0) {
		json_decref(args);
		return rc;
	}
	/* A long-lived client (watch) learns from the retained status that the controller
	 * went away; asking it then would only wait out the timeout. */
	if (ctl->controller_state == 0) {
		json_decref(args);
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_UNAVAILABLE,
		            _("controller unreachable: the controller is offline"));
		return -EHOSTDOWN;
	}
	snprintf(ctl->want_id, sizeof(ctl->want_id), "%08x%08x", g_random_int(), g_random_int());
	json_decref(ctl->answer);
	ctl->answer = NULL;
	json_t *m = msg_new("request", &ctl->seq);
	json_object_set_new(m, "id", json_string(ctl->want_id));
	json_object_set_new(
	    m, "expires",
	    json_integer(clock_now_us() + (int64_t)ctl->opt.timeout_s * G_USEC_PER_SEC));
	json_object_set_new(m, "command", json_string(command));
	json_object_set_new(m, "args", args ? args : json_object());
	size_t len;
	char *text = msg_dump(m, &len);
	json_decref(m);
	char topic[128];
	snprintf(topic, sizeof(topic), TOPIC_PREFIX "ctl/%s/req", ctl->cn);
	rc = mqtt_session_publish(ctl->mqtt, topic, text, len, 1, false);
	g_free(text);
	if (rc != 0) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_UNAVAILABLE,
		            _("controller unreachable: publish failed: %s"), g_strerror(-rc));
		return rc;
	}
	while (!ctl->answer && ctl->controller_state != 0 && ctl_wait(ctl, deadline))
		;
	if (!ctl->answer && ctl->controller_state == 0) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_UNAVAILABLE,
		            _("controller unreachable: the controller went offline"));
		return -EHOSTDOWN;
	}
	if (!ctl->answer) {
		g_set_error(err, REQUEST_ERROR, REQUEST_ERROR_UNAVAILABLE,
		            _("controller unreachable: no answer within %d s"), ctl->opt.timeout_s);
		return -ETIMEDOUT;
	}
	/* Shown to a person: names, notes and messages made safe for the terminal
	 * (text_safe.h); --json gives them exactly as sent, JSON-escaped. */
	if (!ctl_want_json(ctl))
		text_display_json(ctl->exact ? json_object_get(ctl->answer, "error") : ctl->answer);
	if (json_is_true(json_object_get(ctl->answer, "ok"))) {
		json_t *r = json_object_get(ctl->answer, "result");
		*result = r ? json_incref(r) : json_object();
		return 0;
	}
	json_t *e = json_object_get(ctl->answer, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *message = json_string_value(json_object_get(e, "message"));
	int ecode = REQUEST_ERROR_INTERNAL;
	for (int i = 1; i <= REQUEST_ERROR_INTERNAL; i++)
		if (code && strcmp(code, request_error_code_name(i)) == 0)
			ecode = i;
	g_set_error(err, REQUEST_ERROR, ecode, "%s", message ? message : "refused");
	return -EPERM;
}

void ctl_print_json(const json_t *obj)
{
	char *s = json_dumps(obj, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (s) {
		puts(s);
		free(s);
	}
}

int ctl_fail(struct ctl *ctl, const char *what, const GError *err)
{
	int code = 1;
	const char *name = "invalid";
	if (err->domain == REQUEST_ERROR) {
		name = request_error_code_name(err->code);
		if (err->code == REQUEST_ERROR_UNAVAILABLE)
			code = 3;
	} else {
		code = 2;
	}
	if (ctl && ctl->opt.json) {
		json_t *o =
		    json_pack("{s:{s:s, s:s}}", "error", "code", name, "message", err->message);
		ctl_print_json(o);
		json_decref(o);
	}
	fprintf(stderr, "evalroomctl: %s: %s\n", what, err->message);
	return code;
}
