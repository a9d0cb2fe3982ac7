/* fuzz_console: raw HTTP/1.1 requests to the web console (controller/console/console.c)
 * over a real TLS connection with a client certificate, answered by the real libsoup 3
 * server that console_new sets up, with a capturing fake of struct console_ops.
 *
 * Once per process: a site CA and its certificates are made by the project's own
 * provisioning code (provision_site on schemas/examples/site.json) in a temp dir, with a
 * second, foreign site beside it; the console listens on 127.0.0.1 (a free port) with
 * the site's CA, certificate and key; the temp dir is removed at exit (GIO's TLS database
 * reads the CA file again on each verification).
 *
 * Input: byte 0 picks the client certificate presented (operator, desk, auditor,
 * witness, a room agent's, none, the foreign site's operator-alice); the rest is the
 * request bytes, every "@HOST" replaced by the console's 127.0.0.1:port. A client thread
 * connects, writes them, sends TLS close_notify (end of input) and reads everything the
 * console answers until it closes, while the main thread runs the console's GLib
 * context. The server's side of each request (method, path, request headers and body,
 * whether a console handler ran) is seen through emission hooks on SoupServer's
 * request-started, request-read, request-finished and request-aborted signals.
 *
 * Invariants (abort on violation):
 * - the bytes read are a sequence of well-formed HTTP/1.x responses (status line, header
 *   lines, body length by Content-Length or chunked, none for HEAD/1xx/204/304), one per
 *   request the server took, with the server's status; nothing after the last but the
 *   WebSocket after a 101; a certificate that is not the site's gets no HTTP at all;
 * - an answer a console handler made carries Content-Security-Policy, X-Content-Type-
 *   Options nosniff and Cache-Control no-store, is never a 5xx, and on /api/ is, unless
 *   2xx, JSON {"error":{"code","message"}} (json_loadb checks the UTF-8);
 * - ops->request is called only as the identity of a person's certificate of the site,
 *   for a command the console has (rooms, alerts.list from /api/wall or the same-origin
 *   /api/ws; live.streams from /api/live, call.list from /api/calls (witnesses);
 *   alert.ack, alert.resolve, call.hangup from POST /api/alert/ack|resolve and
 *   /api/call/hangup with exactly one Origin equal to https://<the one Host> and a body
 *   of 1 to 4096 bytes that is one JSON object equal to the args); the fake, like the
 *   daemon's dispatcher, refuses a role that may not run it (DENIED), and the console
 *   must then answer 403 "denied";
 * - pages are served (200) only to their roles; a device's certificate gets only 403s;
 * - once the client has closed, the server has closed its side: the process has no
 *   more files open than before the input.
 *
 * Not checked (libsoup's own answers, made before any console handler runs: a request
 * line or header it cannot parse, an unknown Transfer-Encoding, a body cut short, a
 * refused WebSocket handshake): their status and headers are libsoup's, see
 * docs/fuzzing.md "Limits". */
#include <errno.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "fuzz.h"
#include "provision.h"
#include "request.h"
#include "site.h"

GResource *console_get_resource(void); /* console_resources.c, generated */

#define HOST_TOKEN     "@HOST"
#define BODY_MAX       4096 /* the console's ACK_BODY_MAX */
#define CLIENT_WAIT_US (8 * G_USEC_PER_SEC)
#define QUIET_US       (20 * 1000) /* no byte for this long after the server went idle: the end */
#define READ_MAX       (1u << 20)

enum cert_choice { C_OPERATOR, C_DESK, C_AUDITOR, C_WITNESS, C_DEVICE, C_NONE, C_FOREIGN, C_N };

static const char *const cert_cn[C_N] = {
    "operator-alice", "desk-entrance", "auditor-audit1", "witness-notary1",
    "agent-E1",       NULL,            "operator-alice",
};

/* ---- what the server saw ---- */

struct srv_msg {
	SoupServerMessage *msg; /* not a reference: only compared */
	char *method, *path;
	bool read;            /* request-read was emitted (headers and body in) */
	unsigned status_read; /* the status at that point: 0 = a console handler runs */
	bool handled;         /* read && status_read == 0 && not the WebSocket path */
	GBytes *body;
	unsigned n_origin, n_host;
	char *origin, *host;
	bool finished;
	bool upgraded; /* wrote its 101: the connection is the WebSocket's */
	unsigned status;
};

struct call {
	guint msg_index;
	char *identity, *command;
	json_t *args;
	int rc;
	int code; /* REQUEST_ERROR code when rc != 0 */
};

static struct {
	struct console *con;
	unsigned port;
	GTlsCertificate *certs[C_N];
	GPtrArray *msgs;  /* struct srv_msg * */
	GPtrArray *calls; /* struct call * */
	/* the fixed model: alert 1 open, alert 2 acknowledged */
	int alert_state[3]; /* 0 open, 1 acknowledged, 2 resolved */
	char *tmp;          /* the certificates, removed at exit */
	bool warm;          /* the first connection was made: count files open */
} F;

static void srv_msg_free(gpointer p)
{
	struct srv_msg *m = p;
	g_free(m->method);
	g_free(m->path);
	g_free(m->origin);
	g_free(m->host);
	if (m->body)
		g_bytes_unref(m->body);
	g_free(m);
}

static void call_free(gpointer p)
{
	struct call *c = p;
	g_free(c->identity);
	g_free(c->command);
	json_decref(c->args);
	g_free(c);
}

static struct srv_msg *srv_find(SoupServerMessage *msg)
{
	for (guint i = F.msgs->len; i-- > 0;) {
		struct srv_msg *m = F.msgs->pdata[i];
		if (m->msg == msg)
			return m;
	}
	return NULL;
}

static gboolean hook_started(GSignalInvocationHint *hint, guint n, const GValue *v, gpointer d)
{
	struct srv_msg *m = g_new0(struct srv_msg, 1);
	m->msg = g_value_get_object(&v[1]);
	g_ptr_array_add(F.msgs, m);
	return TRUE;
}

static void count_header(const char *name, const char *value, gpointer data)
{
	struct srv_msg *m = data;
	if (g_ascii_strcasecmp(name, "Origin") == 0) {
		m->n_origin++;
		g_free(m->origin);
		m->origin = g_strdup(value);
	} else if (g_ascii_strcasecmp(name, "Host") == 0) {
		m->n_host++;
		g_free(m->host);
		m->host = g_strdup(value);
	}
}

static void on_informational(SoupServerMessage *msg, gpointer data)
{
	struct srv_msg *m = srv_find(msg);
	if (m && soup_server_message_get_status(msg) == SOUP_STATUS_SWITCHING_PROTOCOLS)
		m->upgraded = true;
}

static gboolean hook_read(GSignalInvocationHint *hint, guint n, const GValue *v, gpointer d)
{
	SoupServerMessage *msg = g_value_get_object(&v[1]);
	struct srv_msg *m = srv_find(msg);
	FUZZ_CHECK(m, "request-read for a message that never started");
	m->read = true;
	m->status_read = soup_server_message_get_status(msg);
	m->method = g_strdup(soup_server_message_get_method(msg));
	GUri *uri = soup_server_message_get_uri(msg);
	m->path = g_strdup(uri ? g_uri_get_path(uri) : "");
	m->handled = m->status_read == 0 && strcmp(m->path, "/api/ws") != 0;
	soup_message_headers_foreach(soup_server_message_get_request_headers(msg), count_header,
	                             m);
	g_signal_connect(msg, "wrote-informational", G_CALLBACK(on_informational), NULL);
	SoupMessageBody *body = soup_server_message_get_request_body(msg);
	m->body = body ? soup_message_body_flatten(body) : g_bytes_new(NULL, 0);
	return TRUE;
}

static gboolean hook_finished(GSignalInvocationHint *hint, guint n, const GValue *v, gpointer d)
{
	SoupServerMessage *msg = g_value_get_object(&v[1]);
	struct srv_msg *m = srv_find(msg);
	FUZZ_CHECK(m, "request-finished for a message that never started");
	m->finished = true;
	m->status = soup_server_message_get_status(msg);
	if (!m->method && soup_server_message_get_method(msg))
		m->method = g_strdup(soup_server_message_get_method(msg));
	return TRUE;
}

/* ---- the fake console_ops: a small fixed model ---- */

/* fake_fail: -EINVAL with *err = REQUEST_ERROR CODE, "WHAT ARG". */
static int fake_fail(GError **err, int code, const char *what, const char *arg)
{
	g_set_error(err, REQUEST_ERROR, code, "%s %s", what, arg);
	return -EINVAL;
}

static json_t *alert_json(json_int_t id)
{
	static const char *const states[] = {"open", "acknowledged", "resolved"};
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:{s:s}}", "id", id, "kind", "door_forced",
	                 "room", "E1", "state", states[F.alert_state[id]], "person", "someone",
	                 "extra", "seat", "S1");
}

static int fake_request(void *user, const char *identity, const char *command, json_t *args,
                        json_t **result, GError **err)
{
	struct call *c = g_new0(struct call, 1);
	c->msg_index = F.msgs->len ? F.msgs->len - 1 : 0;
	c->identity = g_strdup(identity);
	c->command = g_strdup(command);
	c->args = json_deep_copy(args);
	g_ptr_array_add(F.calls, c);

	enum role role = request_role_of(identity);
	unsigned may = ROLE_OPERATOR | ROLE_DESK | ROLE_AUDITOR | ROLE_WITNESS;
	bool change = strcmp(command, "alert.ack") == 0 || strcmp(command, "alert.resolve") == 0;
	bool call = g_str_has_prefix(command, "call.");
	if (change)
		may = ROLE_OPERATOR;
	else if (call)
		may = ROLE_WITNESS;
	*result = NULL;
	if (!(role & may)) {
		c->code = REQUEST_ERROR_DENIED;
		return c->rc = fake_fail(err, c->code, "may not run this:", identity);
	}
	if (strcmp(command, "rooms") == 0) {
		*result = json_pack("{s:[{s:s, s:b}], s:b}", "rooms", "id", "E1", "online", 1,
		                    "connected", 1);
		return 0;
	}
	if (strcmp(command, "alerts.list") == 0) {
		json_t *list = json_array();
		for (json_int_t i = 1; i <= 2; i++)
			if (F.alert_state[i] != 2)
				json_array_append_new(list, alert_json(i));
		*result = json_pack("{s:o, s:{s:i}}", "alerts", list, "counts", "open",
		                    (int)json_array_size(list));
		return 0;
	}
	if (strcmp(command, "console.opened") == 0) { /* a watcher's page open, recorded */
		*result = json_object();
		return 0;
	}
	if (strcmp(command, "live.streams") == 0) {
		*result = json_pack("{s:s, s:s, s:[]}", "identity", identity, "role", "operator",
		                    "streams");
		return 0;
	}
	if (strcmp(command, "call.list") == 0) {
		*result = json_pack("{s:[]}", "calls");
		return 0;
	}
	if (strcmp(command, "call.hangup") == 0) { /* no call is up in this model */
		c->code = REQUEST_ERROR_NOT_FOUND;
		return c->rc = fake_fail(err, c->code, "no call", "");
	}
	if (!change) {
		c->code = REQUEST_ERROR_INVALID;
		return c->rc = fake_fail(err, c->code, "unknown command", command);
	}
	json_t *id = json_object_get(args, "id");
	json_t *note = json_object_get(args, "note");
	if (!json_is_integer(id) || (note && !json_is_string(note))) {
		char *text = json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY);
		c->code = REQUEST_ERROR_INVALID;
		c->rc = fake_fail(err, c->code, "id must be an integer and note a string:",
		                  text ? text : "");
		free(text);
		return c->rc;
	}
	json_int_t n = json_integer_value(id);
	if (n < 1 || n > 2) {
		char *text = json_dumps(id, JSON_ENCODE_ANY);
		c->code = REQUEST_ERROR_NOT_FOUND;
		c->rc = fake_fail(err, c->code, "no alert", text ? text : "");
		free(text);
		return c->rc;
	}
	int want = strcmp(command, "alert.ack") == 0 ? 1 : 2;
	if (F.alert_state[n] >= want) {
		c->code = REQUEST_ERROR_CONFLICT;
		return c->rc = fake_fail(err, c->code, "alert already",
		                         want == 1 ? "acknowledged" : "resolved");
	}
	F.alert_state[n] = want;
	*result = json_pack("{s:o}", "alert", alert_json(n));
	return 0;
}

static const struct console_ops fake_ops = {.request = fake_request};

/* ---- set-up, once ---- */

static GTlsCertificate *client_cert(const char *dir, const char *cn)
{
	char *crt = g_strdup_printf("%s/clients/%s.crt", dir, cn);
	char *key = g_strdup_printf("%s/clients/%s.key", dir, cn);
	GError *err = NULL;
	GTlsCertificate *c = g_tls_certificate_new_from_files(crt, key, &err);
	if (!c)
		fuzz_fail("set-up: %s", err->message);
	g_free(crt);
	g_free(key);
	return c;
}

static void provision_into(const char *dir)
{
	struct site *site = NULL;
	GError *err = NULL;
	if (site_load(EXAMPLE_SITE, &site, &err) != 0)
		fuzz_fail("set-up: %s", err->message);
	struct provision_options opt = {
	    .out_dir = dir,
	    .broker_plugin = "/usr/lib/evalroom/" PROVISION_BROKER_PLUGIN,
	};
	if (provision_site(site, &opt, &err) != 0)
		fuzz_fail("set-up: provision %s: %s", dir, err->message);
	site_free(site);
}

static int remove_tree(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *n;
	while (d && (n = g_dir_read_name(d))) {
		char *p = g_build_filename(dir, n, NULL);
		if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
			remove_tree(p);
		else
			g_unlink(p);
		g_free(p);
	}
	if (d)
		g_dir_close(d);
	return g_rmdir(dir);
}

static void remove_tmp(void)
{
	remove_tree(F.tmp);
}

static void hook(const char *signal, GSignalEmissionHook fn)
{
	guint id = g_signal_lookup(signal, SOUP_TYPE_SERVER);
	FUZZ_CHECK(id != 0, "set-up: SoupServer has no signal %s", signal);
	g_signal_add_emission_hook(id, 0, fn, NULL, NULL);
}

static void setup(void)
{
	GError *err = NULL;
	fuzz_init();
	char *tmp = g_dir_make_tmp("fuzz_console-XXXXXX", &err);
	if (!tmp)
		fuzz_fail("set-up: %s", err->message);
	char *site = g_build_filename(tmp, "site", NULL);
	char *foreign = g_build_filename(tmp, "foreign", NULL);
	provision_into(site);
	provision_into(foreign);

	for (int i = 0; i < C_N; i++)
		if (cert_cn[i])
			F.certs[i] = client_cert(i == C_FOREIGN ? foreign : site, cert_cn[i]);
	char *ca = g_build_filename(site, "ca.crt", NULL);
	char *crt = g_build_filename(site, "console", "console.crt", NULL);
	char *key = g_build_filename(site, "console", "console.key", NULL);
	struct console_config cfg = {.bind = "127.0.0.1", .port = 0, .ca = ca, .cert = crt,
	                             .key = key};
	F.msgs = g_ptr_array_new_with_free_func(srv_msg_free);
	F.calls = g_ptr_array_new_with_free_func(call_free);
	F.con = console_new(&cfg, &fake_ops, NULL, &err);
	if (!F.con)
		fuzz_fail("set-up: console_new: %s", err->message);
	F.port = console_port(F.con);
	g_type_ensure(SOUP_TYPE_SERVER);
	hook("request-started", hook_started);
	hook("request-read", hook_read);
	hook("request-finished", hook_finished);
	hook("request-aborted", hook_finished);
	/* The TLS database reads the CA file again when it verifies: the files stay until
	 * the process exits. */
	F.tmp = tmp;
	atexit(remove_tmp);
	g_free(ca);
	g_free(crt);
	g_free(key);
	g_free(site);
	g_free(foreign);
}

/* ---- the client, on its own thread ---- */

struct client {
	GTlsCertificate *cert;
	GBytes *request;
	GByteArray *answer;
	bool handshake_ok;
	gint written; /* all bytes written and close_notify sent */
	gint stop;    /* the server has nothing more to say: read what arrived, then end */
	gint done;
	GMainContext *server_ctx;
};

static gboolean accept_any(GTlsConnection *conn, GTlsCertificate *peer,
                           GTlsCertificateFlags errors, gpointer data)
{
	return TRUE; /* the console's own certificate is not what is under test */
}

/* Read everything the server sends until it closes, or until the main thread says the
 * server is idle (libsoup 3.2 keeps a kept-alive connection open after the client's
 * close_notify: a message that never started is finished without closing it). */
static void client_read(struct client *cl, GIOStream *tls, GSocket *sock)
{
	GPollableInputStream *is = G_POLLABLE_INPUT_STREAM(g_io_stream_get_input_stream(tls));
	gint64 deadline = g_get_monotonic_time() + CLIENT_WAIT_US;
	char buf[16384];

	for (;;) {
		GError *err = NULL;
		gssize n = g_pollable_input_stream_read_nonblocking(is, buf, sizeof(buf), NULL, &err);
		if (n > 0) {
			g_byte_array_append(cl->answer, (const guint8 *)buf, (guint)n);
			FUZZ_CHECK(cl->answer->len <= READ_MAX, "more than %u bytes of answer",
			           READ_MAX);
			continue;
		}
		bool again = n < 0 && g_error_matches(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
		g_clear_error(&err);
		if (!again || g_get_monotonic_time() > deadline)
			return;
		/* Once the server is idle, what it finished writing may still be on its way
		 * (seen on a loaded machine: the headers of a 400 read, its body not yet): end
		 * only after a quiet spell. */
		if (g_atomic_int_get(&cl->stop)) {
			if (!g_socket_condition_timed_wait(sock, G_IO_IN, QUIET_US, NULL, NULL))
				return;
			continue;
		}
		g_socket_condition_timed_wait(sock, G_IO_IN, 2000, NULL, NULL);
	}
}

static gpointer client_run(gpointer data)
{
	struct client *cl = data;
	GSocketClient *sc = g_socket_client_new();
	GSocketConnection *conn = NULL;
	GIOStream *tls = NULL;

	g_socket_client_set_timeout(sc, CLIENT_WAIT_US / G_USEC_PER_SEC);
	conn = g_socket_client_connect_to_host(sc, "127.0.0.1", (guint16)F.port, NULL, NULL);
	if (!conn)
		goto out;
	tls = g_tls_client_connection_new(G_IO_STREAM(conn), NULL, NULL);
	if (!tls)
		goto out;
	g_signal_connect(tls, "accept-certificate", G_CALLBACK(accept_any), NULL);
	if (cl->cert)
		g_tls_connection_set_certificate(G_TLS_CONNECTION(tls), cl->cert);
	if (!g_tls_connection_handshake(G_TLS_CONNECTION(tls), NULL, NULL))
		goto out;
	cl->handshake_ok = true;
	gsize len;
	const char *req = g_bytes_get_data(cl->request, &len);
	GOutputStream *os = g_io_stream_get_output_stream(tls);
	/* A write the console refuses early (it closed after an answer) is not an error:
	 * what it answered is still read below. */
	g_output_stream_write_all(os, req, len, NULL, NULL, NULL);
	g_output_stream_close(os, NULL, NULL); /* close_notify: the end of the request bytes */
	g_atomic_int_set(&cl->written, 1);
	g_main_context_wakeup(cl->server_ctx);
	client_read(cl, tls, g_socket_connection_get_socket(conn));
out:
	if (tls)
		g_io_stream_close(tls, NULL, NULL);
	g_clear_object(&tls);
	g_clear_object(&conn);
	g_object_unref(sc);
	g_atomic_int_set(&cl->done, 1);
	g_main_context_wakeup(cl->server_ctx);
	return NULL;
}

/* Every request the server took is finished (or became a WebSocket). */
static bool server_settled(void)
{
	for (guint i = 0; i < F.msgs->len; i++) {
		struct srv_msg *m = F.msgs->pdata[i];
		if (!m->finished && !m->upgraded)
			return false;
	}
	return true;
}

/* ---- an independent reading of the answer ---- */

struct resp {
	unsigned status;
	bool csp, nosniff, nostore;
	char *content_type;
	GBytes *body;
};

static void resp_clear(struct resp *r)
{
	g_free(r->content_type);
	if (r->body)
		g_bytes_unref(r->body);
	memset(r, 0, sizeof(*r));
}

static bool is_tchar(unsigned char c)
{
	return g_ascii_isalnum(c) || strchr("!#$%&'*+-.^_`|~", c);
}

/* The line at S[*at..] up to CRLF (no bare CR or LF, NUL inside); NULL if incomplete. */
static char *take_line(const guint8 *s, size_t len, size_t *at, const char *what)
{
	for (size_t i = *at; i + 1 < len; i++) {
		if (s[i] == '\r' && s[i + 1] == '\n') {
			char *line = g_strndup((const char *)s + *at, i - *at);
			FUZZ_CHECK(strlen(line) == i - *at, "%s holds a NUL byte", what);
			*at = i + 2;
			return line;
		}
		FUZZ_CHECK(s[i] != '\r' && s[i] != '\n', "%s has a bare CR or LF", what);
	}
	fuzz_fail("%s is cut short", what);
}

/* Reads one response at S[*at]; HEAD: no body. Returns false after a 101 (the rest is the
 * WebSocket's). */
static bool parse_response(const guint8 *s, size_t len, size_t *at, bool head, struct resp *r)
{
	char *line = take_line(s, len, at, "the status line");
	unsigned st = 0;
	FUZZ_CHECK((g_str_has_prefix(line, "HTTP/1.1 ") || g_str_has_prefix(line, "HTTP/1.0 ")) &&
	               g_ascii_isdigit(line[9]) && g_ascii_isdigit(line[10]) &&
	               g_ascii_isdigit(line[11]) && (line[12] == ' ' || line[12] == '\0'),
	           "not a status line: %s", line);
	st = (unsigned)((line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0'));
	FUZZ_CHECK(st >= 100 && st < 600, "status %u", st);
	g_free(line);
	r->status = st;
	long long clen = -1;
	bool chunked = false;
	for (;;) {
		line = take_line(s, len, at, "a header line");
		if (!*line) {
			g_free(line);
			break;
		}
		char *colon = strchr(line, ':');
		FUZZ_CHECK(colon && colon > line, "header line without a name: %s", line);
		for (char *p = line; p < colon; p++)
			FUZZ_CHECK(is_tchar((unsigned char)*p), "header name: %s", line);
		*colon = '\0';
		char *value = g_strstrip(colon + 1);
		if (g_ascii_strcasecmp(line, "Content-Length") == 0) {
			FUZZ_CHECK(clen < 0 && *value && strspn(value, "0123456789") == strlen(value) &&
			               strlen(value) < 12,
			           "Content-Length \"%s\" (or twice)", value);
			clen = g_ascii_strtoll(value, NULL, 10);
		} else if (g_ascii_strcasecmp(line, "Transfer-Encoding") == 0) {
			FUZZ_CHECK(g_ascii_strcasecmp(value, "chunked") == 0 && !chunked,
			           "Transfer-Encoding %s", value);
			chunked = true;
		} else if (g_ascii_strcasecmp(line, "Content-Security-Policy") == 0) {
			r->csp = strstr(value, "default-src 'self'") != NULL;
		} else if (g_ascii_strcasecmp(line, "X-Content-Type-Options") == 0) {
			r->nosniff = g_ascii_strcasecmp(value, "nosniff") == 0;
		} else if (g_ascii_strcasecmp(line, "Cache-Control") == 0) {
			r->nostore = strstr(value, "no-store") != NULL;
		} else if (g_ascii_strcasecmp(line, "Content-Type") == 0) {
			g_free(r->content_type);
			r->content_type = g_strdup(value);
		}
		g_free(line);
	}
	FUZZ_CHECK(!(chunked && clen >= 0), "both Content-Length and chunked");
	if (st == 101)
		return false;
	if (head || (st >= 100 && st < 200) || st == 204 || st == 304) {
		FUZZ_CHECK(!chunked && (clen <= 0 || head), "status %u with a body", st);
		r->body = g_bytes_new(NULL, 0);
		return true;
	}
	if (chunked) {
		GByteArray *b = g_byte_array_new();
		for (;;) {
			line = take_line(s, len, at, "a chunk size");
			char *end;
			guint64 n = g_ascii_strtoull(line, &end, 16);
			FUZZ_CHECK(end != line && (*end == '\0' || *end == ';'), "chunk size %s", line);
			g_free(line);
			if (n == 0)
				break;
			FUZZ_CHECK(n <= len - *at && len - *at - n >= 2, "a chunk cut short");
			g_byte_array_append(b, s + *at, (guint)n);
			*at += n;
			FUZZ_CHECK(s[*at] == '\r' && s[*at + 1] == '\n', "no CRLF after a chunk");
			*at += 2;
		}
		for (;;) { /* trailers, then the empty line */
			line = take_line(s, len, at, "a trailer");
			bool empty = !*line;
			g_free(line);
			if (empty)
				break;
		}
		r->body = g_byte_array_free_to_bytes(b);
		return true;
	}
	if (clen < 0)
		clen = (long long)(len - *at); /* to the close */
	FUZZ_CHECK((size_t)clen <= len - *at, "a body of %lld bytes cut at %zu", clen, len - *at);
	r->body = g_bytes_new(s + *at, (size_t)clen);
	*at += (size_t)clen;
	return true;
}

/* ---- the checks ---- */

static GBytes *resource(const char *name)
{
	char *path = g_strconcat("/org/evalroom/console/", name, NULL);
	GBytes *b = g_resource_lookup_data(console_get_resource(), path, 0, NULL);
	g_free(path);
	FUZZ_CHECK(b, "resource %s missing", name);
	return b;
}

/* The roles a page path is for; 0 when it is not a page. */
static unsigned page_roles(const char *path)
{
	unsigned wall = ROLE_OPERATOR | ROLE_DESK | ROLE_AUDITOR | ROLE_WITNESS;
	if (strcmp(path, "/") == 0 || strcmp(path, "/console.css") == 0 ||
	    strcmp(path, "/wall.js") == 0)
		return wall;
	if (strcmp(path, "/witness") == 0)
		return ROLE_WITNESS;
	return 0;
}

static void check_api_error(const struct resp *r, const struct srv_msg *m)
{
	gsize len;
	const char *b = g_bytes_get_data(r->body, &len);
	json_error_t jerr;
	json_t *j = json_loadb(b ? b : "", len, JSON_REJECT_DUPLICATES, &jerr);
	FUZZ_CHECK(j, "%s %s answered %u with a body that is not JSON: %.*s", m->method, m->path,
	           r->status, (int)MIN(len, 200), b ? b : "");
	json_t *e = json_object_get(j, "error");
	FUZZ_CHECK(json_is_object(j) && json_object_size(j) == 1 && json_is_object(e) &&
	               json_is_string(json_object_get(e, "code")) &&
	               json_is_string(json_object_get(e, "message")),
	           "%s %s answered %u without {\"error\":{\"code\",\"message\"}}", m->method,
	           m->path, r->status);
	FUZZ_CHECK(r->content_type && g_str_has_prefix(r->content_type, "application/json"),
	           "%s %s: JSON error as %s", m->method, m->path,
	           r->content_type ? r->content_type : "no type");
	json_decref(j);
}

static const char *error_code_of(const struct resp *r)
{
	gsize len;
	const char *b = g_bytes_get_data(r->body, &len);
	json_t *j = json_loadb(b ? b : "", len, 0, NULL);
	static char code[32];
	const char *v = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
	g_strlcpy(code, v ? v : "", sizeof(code));
	json_decref(j);
	return code;
}

/* A call the console made: its preconditions, read from what the server received. */
static void check_call(const struct call *c, int choice)
{
	FUZZ_CHECK(choice <= C_WITNESS, "request %s made for %s (certificate choice %d)",
	           c->command, c->identity, choice);
	FUZZ_CHECK(strcmp(c->identity, cert_cn[choice]) == 0, "request as %s, certificate %s",
	           c->identity, cert_cn[choice]);
	FUZZ_CHECK(c->msg_index < F.msgs->len, "a request outside any message");
	const struct srv_msg *m = F.msgs->pdata[c->msg_index];
	FUZZ_CHECK(m->read && m->status_read == 0, "request %s for a message libsoup refused",
	           c->command);
	bool same_origin = m->n_origin == 1 && m->n_host == 1 &&
	                   g_str_has_prefix(m->origin, "https://") &&
	                   g_ascii_strcasecmp(m->origin + 8, m->host) == 0;
	if (strcmp(c->command, "rooms") == 0 || strcmp(c->command, "alerts.list") == 0) {
		FUZZ_CHECK(strcmp(m->path, "/api/wall") == 0 ||
		               (strcmp(m->path, "/api/ws") == 0 && same_origin),
		           "%s from %s %s (origin %s)", c->command, m->method, m->path,
		           m->origin ? m->origin : "none");
		return;
	}
	if (strcmp(c->command, "console.opened") == 0) {
		/* only a watcher's opens are recorded, and for the page the request named */
		const char *page = json_string_value(json_object_get(c->args, "page"));
		FUZZ_CHECK(request_role_of(c->identity) == ROLE_WITNESS,
		           "console.opened recorded for %s", c->identity);
		FUZZ_CHECK(page && strcmp(page, m->path) == 0, "console.opened for %s on %s",
		           page ? page : "(none)", m->path);
		return;
	}
	if (strcmp(c->command, "live.streams") == 0) {
		FUZZ_CHECK(strcmp(m->path, "/api/live") == 0, "live.streams from %s", m->path);
		return;
	}
	if (strcmp(c->command, "call.list") == 0) {
		FUZZ_CHECK(strcmp(m->path, "/api/calls") == 0, "call.list from %s", m->path);
		return;
	}
	static const char *const posts[][2] = {{"alert.ack", "/api/alert/ack"},
	                                       {"alert.resolve", "/api/alert/resolve"},
	                                       {"call.hangup", "/api/call/hangup"}};
	const char *want = NULL;
	for (size_t k = 0; k < G_N_ELEMENTS(posts); k++)
		if (strcmp(c->command, posts[k][0]) == 0)
			want = posts[k][1];
	FUZZ_CHECK(want, "unknown command %s", c->command);
	FUZZ_CHECK(strcmp(m->method, "POST") == 0, "%s with %s", c->command, m->method);
	FUZZ_CHECK(strcmp(m->path, want) == 0, "%s from %s", c->command, m->path);
	FUZZ_CHECK(same_origin, "%s with Origin %s (%u) and Host %s (%u)", c->command,
	           m->origin ? m->origin : "none", m->n_origin, m->host ? m->host : "none",
	           m->n_host);
	gsize len;
	const char *b = g_bytes_get_data(m->body, &len);
	FUZZ_CHECK(len >= 1 && len <= BODY_MAX, "%s with a body of %zu bytes", c->command,
	           (size_t)len);
	json_t *j = json_loadb(b, len, JSON_REJECT_DUPLICATES, NULL);
	FUZZ_CHECK(json_is_object(j) && json_equal(j, c->args),
	           "%s args are not the body's JSON object", c->command);
	json_decref(j);
}

/* How many file descriptors the process has open. */
static unsigned files_open(void)
{
	GDir *d = g_dir_open("/proc/self/fd", 0, NULL);
	unsigned n = 0;
	while (d && g_dir_read_name(d))
		n++;
	if (d)
		g_dir_close(d);
	return n;
}

static GBytes *expand(const uint8_t *data, size_t size)
{
	char host[32];
	snprintf(host, sizeof(host), "127.0.0.1:%u", F.port);
	GString *s = g_string_sized_new(size + 16);
	size_t tl = strlen(HOST_TOKEN);
	for (size_t i = 0; i < size;) {
		if (size - i >= tl && memcmp(data + i, HOST_TOKEN, tl) == 0) {
			g_string_append(s, host);
			i += tl;
		} else {
			g_string_append_c(s, (char)data[i++]);
		}
	}
	return g_string_free_to_bytes(s);
}

static GBytes *witness_page;

/* ASan's defaults for this program (run.sh's ASAN_OPTIONS win over them): no
 * LeakSanitizer, whose stop-the-world tracer dies with signal 11 on a process running
 * GIO's TLS threads and the client thread; under ./dev test --sanitize as well. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}

/* libFuzzer calls it once before the first input, so the set-up's memory is not taken
 * for a leak of that input; the replay build has no such call (see below). */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char warm_up[] = "\0GET / HTTP/1.1\r\nHost: @HOST\r\nConnection: close\r\n\r\n";
	if (!witness_page) {
		setup();
		witness_page = resource("witness.html");
		/* GIO and GnuTLS open what they keep (random device, worker thread's wakeup)
		 * on the first connection: one before the inputs, so they are counted after. */
		LLVMFuzzerTestOneInput((const uint8_t *)warm_up, sizeof(warm_up) - 1);
		F.warm = true;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	LLVMFuzzerInitialize(NULL, NULL);
	if (size < 1)
		return 0;
	int choice = data[0] % C_N;
	enum role role = cert_cn[choice] && choice != C_FOREIGN ? request_role_of(cert_cn[choice])
	                                                         : ROLE_NONE;
	g_ptr_array_set_size(F.msgs, 0);
	g_ptr_array_set_size(F.calls, 0);
	F.alert_state[1] = 0;
	F.alert_state[2] = 1;

	unsigned files_before = files_open();
	struct client cl = {.cert = F.certs[choice],
	                    .request = expand(data + 1, size - 1),
	                    .answer = g_byte_array_new(),
	                    .server_ctx = g_main_context_default()};
	GThread *t = g_thread_new("fuzz-client", client_run, &cl);
	gint64 deadline = g_get_monotonic_time() + CLIENT_WAIT_US + G_USEC_PER_SEC;
	unsigned idle = 0;
	while (!g_atomic_int_get(&cl.done)) {
		FUZZ_CHECK(g_get_monotonic_time() < deadline, "no end of answer within %d s",
		           (int)(CLIENT_WAIT_US / G_USEC_PER_SEC) + 1);
		if (!g_atomic_int_get(&cl.written) || !server_settled()) {
			idle = 0;
			g_main_context_iteration(NULL, TRUE);
			continue;
		}
		/* All sent: once the server has finished every request it took and has
		 * nothing left to dispatch, what it wrote is in the client's socket. */
		if (g_main_context_iteration(NULL, FALSE)) {
			idle = 0;
		} else if (++idle >= 3) {
			g_atomic_int_set(&cl.stop, 1);
			g_main_context_iteration(NULL, TRUE);
		} else {
			g_usleep(300);
		}
	}
	g_thread_join(t);
	/* What the server still has to do about the closed connection: it must close its
	 * side too (libsoup 3.2 kept a socket per idle kept-alive connection otherwise). */
	gint64 settle = g_get_monotonic_time() + CLIENT_WAIT_US;
	while (F.warm && files_open() > files_before) {
		FUZZ_CHECK(g_get_monotonic_time() < settle,
		           "%u files open after the client closed, %u before", files_open(),
		           files_before);
		if (!g_main_context_iteration(NULL, FALSE))
			g_usleep(200);
	}
	for (int i = 0; i < 1000 && g_main_context_iteration(NULL, FALSE); i++)
		;

	const guint8 *a = cl.answer->data;
	size_t alen = cl.answer->len;
	if (g_getenv("FUZZ_CONSOLE_DEBUG")) { /* what the server took, and the calls */
		for (guint k = 0; k < F.msgs->len; k++) {
			struct srv_msg *m = F.msgs->pdata[k];
			fprintf(stderr, "request %u: %s %s read %d status then %u, finished %d %u\n",
			        k, m->method ? m->method : "-", m->path ? m->path : "-", m->read,
			        m->status_read, m->finished, m->status);
		}
		for (guint k = 0; k < F.calls->len; k++) {
			struct call *c = F.calls->pdata[k];
			fprintf(stderr, "call in request %u: %s %s rc %d\n", c->msg_index, c->identity,
			        c->command, c->rc);
		}
		fprintf(stderr, "answer: %zu bytes; %u files open\n", alen, files_open());
	}
	if (choice == C_NONE || choice == C_FOREIGN) {
		/* libsoup starts a connection's first message before the handshake: it must
		 * never be read. */
		for (guint k = 0; k < F.msgs->len; k++)
			FUZZ_CHECK(!((struct srv_msg *)F.msgs->pdata[k])->read,
			           "a request read from a client without a certificate of the site");
		FUZZ_CHECK(alen == 0 && F.calls->len == 0,
		           "a client without a certificate of the site got %zu bytes, %u calls",
		           alen, F.calls->len);
		goto out;
	}
	FUZZ_CHECK(cl.handshake_ok, "a certificate of the site was refused at the handshake");

	for (guint i = 0; i < F.calls->len; i++)
		check_call(F.calls->pdata[i], choice);

	size_t at = 0;
	guint i = 0;
	while (at < alen) {
		FUZZ_CHECK(i < F.msgs->len, "an answer (at byte %zu) to no request", at);
		struct srv_msg *m = F.msgs->pdata[i];
		struct resp r = {0};
		bool head = m->method && strcmp(m->method, "HEAD") == 0;
		bool more = parse_response(a, alen, &at, head, &r);
		if (r.status >= 100 && r.status < 200 && r.status != 101) {
			/* An interim answer (100 Continue): the final one follows, unless the
			 * request was never read whole (the client closed inside the body it
			 * announced): libsoup then finishes it with its own I/O error and the
			 * connection is gone before that can be written. */
			FUZZ_CHECK(at < alen || !m->read, "an interim %u and nothing after it",
			           r.status);
			resp_clear(&r);
			if (at >= alen)
				break;
			continue;
		}
		FUZZ_CHECK(!m->finished || m->status == r.status || r.status == 101,
		           "the server finished with %u, the client read %u", m->status, r.status);
		if (m->handled) {
			FUZZ_CHECK(r.csp && r.nosniff && r.nostore,
			           "%s %s answered %u without the security headers (CSP %d, "
			           "nosniff %d, no-store %d)",
			           m->method, m->path, r.status, r.csp, r.nosniff, r.nostore);
			FUZZ_CHECK(r.status < 500, "%s %s answered %u", m->method, m->path, r.status);
			if (g_str_has_prefix(m->path, "/api/") && (r.status < 200 || r.status > 299) &&
			    !head)
				check_api_error(&r, m);
			if (role == ROLE_NONE)
				FUZZ_CHECK(r.status == 403, "a device's certificate got %u for %s %s",
				           r.status, m->method, m->path);
			unsigned roles = page_roles(m->path);
			if (r.status == 200 && roles)
				FUZZ_CHECK(roles & role, "page %s served to %s", m->path,
				           cert_cn[choice]);
		}
		if (r.status == 200 && g_bytes_equal(r.body, witness_page))
			FUZZ_CHECK(role == ROLE_WITNESS, "the witness page served to %s",
			           cert_cn[choice]);
		/* A call's refusal is the console's answer: DENIED is 403 "denied". */
		for (guint k = 0; k < F.calls->len; k++) {
			const struct call *c = F.calls->pdata[k];
			if (c->msg_index != i || !m->handled)
				continue;
			if (c->rc == 0)
				continue;
			FUZZ_CHECK(c->code != REQUEST_ERROR_DENIED ||
			               (r.status == 403 && (head || strcmp(error_code_of(&r),
			                                                   "denied") == 0)),
			           "%s denied by the dispatcher, answered %u", c->command, r.status);
		}
		resp_clear(&r);
		i++;
		if (!more)
			break;
	}
	/* At most the last request got no answer (the input ended inside it). */
	FUZZ_CHECK(F.msgs->len <= i + 1, "%u requests taken, %u answered", F.msgs->len, i);
out:
	g_byte_array_unref(cl.answer);
	g_bytes_unref(cl.request);
	return 0;
}
