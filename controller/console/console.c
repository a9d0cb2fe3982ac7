/* The web console's HTTPS server (console.h): TLS with required client certificates,
 * the pages from the compiled-in resources, the JSON API and the wall's WebSocket. */
#include "console.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <libsoup/soup.h>
#include <string.h>

#include "alert_text.h"
#include "console_identity.h"
#include "console_lang.h"
#include "console_resources.h"
#include "local_time.h"
#include "log.h"
#include "msg.h"

#define RESOURCE_ROOT "/org/evalroom/console/"
#define ACK_BODY_MAX  4096
#define WALL_ROLES    (ROLE_OPERATOR | ROLE_DESK | ROLE_AUDITOR | ROLE_WITNESS)
/* The people whose page opens are recorded (docs/witness.md "Who watched what"). */
#define WATCHER_ROLES   (ROLE_WITNESS | ROLE_SUPERVISOR | ROLE_REP)
#define WS_CLOSE_POLICY 1008 /* RFC 6455: policy violation */
#define WS_KEEPALIVE_S  30
#define LIVE_ROLES      (ROLE_OPERATOR | ROLE_WITNESS | ROLE_SUPERVISOR)
#define SDP_BODY_MAX    32768

struct console {
	struct console_config cfg; /* strings owned */
	const struct console_ops *ops;
	void *user;
	SoupServer *server;
	unsigned port;
	GPtrArray *walls; /* struct wall_client *, the open WebSockets */
	GPtrArray *offers; /* struct live_pending *, offers waiting for the agent's answer */
	guint push_source;
	GTimeZone *tz;     /* the site's, for the times people read */
	char **languages;  /* the compiled-in catalogues ("zh_CN", ...), NULL-terminated */
	GHashTable *catalogues; /* language -> its messages (json_t *), loaded when first used */
};

struct wall_client {
	struct console *con;
	SoupWebsocketConnection *ws; /* a reference */
	char identity[CONSOLE_IDENTITY_MAX];
	gulong closed_handler;
};

/* What the console serves under which path, and to whom. */
struct page {
	const char *path;
	const char *resource;
	const char *content_type;
	unsigned roles;
	bool html; /* a page a person opens (recorded for watchers), not a script or style */
};

static const struct page pages[] = {
    {"/", "wall.html", "text/html; charset=utf-8", WALL_ROLES, true},
    {"/witness", "witness.html", "text/html; charset=utf-8", ROLE_WITNESS, true},
    {"/console.css", "console.css", "text/css; charset=utf-8", WALL_ROLES, false},
    {"/wall.js", "wall.js", "text/javascript; charset=utf-8", WALL_ROLES, false},
    {"/live", "live.html", "text/html; charset=utf-8", LIVE_ROLES, true},
    {"/live.js", "live.js", "text/javascript; charset=utf-8", LIVE_ROLES, false},
    {"/live.css", "live.css", "text/css; charset=utf-8", LIVE_ROLES, false},
};

/* ---- language ---- */

/* catalogue: the messages of LANG (one of con->languages), a borrowed JSON object, or
 * NULL for English or a catalogue missing from the build. */
static json_t *catalogue(struct console *con, const char *lang)
{
	if (strcmp(lang, "en") == 0)
		return NULL;
	json_t *messages = g_hash_table_lookup(con->catalogues, lang);
	if (messages)
		return messages;
	char *res = g_strdup_printf(RESOURCE_ROOT "i18n/%s.json", lang);
	GBytes *bytes =
	    g_resource_lookup_data(console_get_resource(), res, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
	g_free(res);
	gsize len = 0;
	const char *text = bytes ? g_bytes_get_data(bytes, &len) : NULL;
	if (text)
		messages = json_loadb(text, len, 0, NULL);
	if (bytes)
		g_bytes_unref(bytes);
	if (!json_is_object(messages)) {
		log_warnx("console: catalogue %s missing or broken in the build", lang);
		json_decref(messages);
		return NULL;
	}
	g_hash_table_insert(con->catalogues, g_strdup(lang), messages);
	return messages;
}

/* message_lang: the language of MSG's browser (its Accept-Language) into LANG. */
static void message_lang(struct console *con, SoupServerMessage *msg, char *lang)
{
	console_lang_pick(soup_message_headers_get_one(soup_server_message_get_request_headers(msg),
	                                               "Accept-Language"),
	                  (const char *const *)con->languages, g_strv_length(con->languages), lang);
}

/* tr: TEXT (English, marked N_ so the catalogues hold it) in the language of MSG's
 * browser: what the console says in plain text (a refusal, a page not found). */
static const char *tr(struct console *con, SoupServerMessage *msg, const char *text)
    G_GNUC_FORMAT(3);
static const char *tr(struct console *con, SoupServerMessage *msg, const char *text)
{
	char lang[CONSOLE_LANG_MAX];

	message_lang(con, msg, lang);
	const char *t = json_string_value(json_object_get(catalogue(con, lang), text));
	return t && *t ? t : text;
}

/* ---- answers ---- */

static void security_headers(SoupServerMessage *msg)
{
	SoupMessageHeaders *h = soup_server_message_get_response_headers(msg);

	/* Only the console's own scripts and its own WebSocket; no frames, no caching of
	 * what an identity was shown. */
	soup_message_headers_replace(h, "Content-Security-Policy",
	                             "default-src 'self'; connect-src 'self'; "
	                             "frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
	soup_message_headers_replace(h, "X-Content-Type-Options", "nosniff");
	soup_message_headers_replace(h, "Referrer-Policy", "no-referrer");
	soup_message_headers_replace(h, "Cache-Control", "no-store");
	soup_message_headers_replace(h, "Strict-Transport-Security", "max-age=31536000");
	/* One request per connection: libsoup 3.2 never closes a kept-alive connection that
	 * the client closes while idle (fixed in 3.3.0), so each would keep a socket open. */
	soup_message_headers_replace(h, "Connection", "close");
}

/* answer_json: JSON (reference stolen) with STATUS. */
static void answer_json(SoupServerMessage *msg, unsigned status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);

	json_decref(body);
	security_headers(msg);
	soup_server_message_set_status(msg, status, NULL);
	soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE, text,
	                                 text ? strlen(text) : 0);
}

/* answer_text: TEXT with STATUS (403, 404 or 405); under /api/ as the JSON error every
 * API answer has, {"error":{"code","message"}}. */
static void answer_text(SoupServerMessage *msg, unsigned status, const char *text)
{
	if (g_str_has_prefix(g_uri_get_path(soup_server_message_get_uri(msg)), "/api/")) {
		char *message = g_strchomp(g_strdup(text));
		const char *code = status == SOUP_STATUS_FORBIDDEN   ? "denied"
		                   : status == SOUP_STATUS_NOT_FOUND ? "not_found"
		                                                     : "invalid";
		answer_json(msg, status,
		            json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message));
		g_free(message);
		return;
	}
	security_headers(msg);
	soup_server_message_set_status(msg, status, NULL);
	soup_server_message_set_response(msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, text,
	                                 strlen(text));
}

static unsigned http_status_of(const GError *err)
{
	if (!err || err->domain != REQUEST_ERROR)
		return SOUP_STATUS_INTERNAL_SERVER_ERROR;
	switch (err->code) {
	case REQUEST_ERROR_INVALID:
		return SOUP_STATUS_BAD_REQUEST;
	case REQUEST_ERROR_DENIED:
		return SOUP_STATUS_FORBIDDEN;
	case REQUEST_ERROR_NOT_FOUND:
		return SOUP_STATUS_NOT_FOUND;
	case REQUEST_ERROR_CONFLICT:
		return SOUP_STATUS_CONFLICT;
	case REQUEST_ERROR_RATE_LIMITED:
		return 429; /* Too Many Requests (RFC 6585); libsoup 3.2 has no name for it */
	case REQUEST_ERROR_UNAVAILABLE:
		return SOUP_STATUS_SERVICE_UNAVAILABLE;
	default:
		return SOUP_STATUS_INTERNAL_SERVER_ERROR;
	}
}

static void answer_error(SoupServerMessage *msg, const GError *err)
{
	answer_json(msg, http_status_of(err),
	            json_pack("{s:{s:s, s:s}}", "error", "code",
	                      err && err->domain == REQUEST_ERROR
	                          ? request_error_code_name(err->code)
	                          : "internal",
	                      "message", err ? err->message : "internal error"));
}

/* ---- who ---- */

/* message_peer: the verified client certificate of MSG's connection and its flags.
 * libsoup 3.2 gives the certificate to the first message of a connection only (it
 * copies it when the handshake announces it), so the first message's is kept on the
 * connection's socket and later messages of that connection take it from there. */
#define PEER_KEY   "evalroom-console-peer"
#define ERRORS_KEY "evalroom-console-peer-errors"
static GTlsCertificate *message_peer(SoupServerMessage *msg, GTlsCertificateFlags *errors)
{
	GTlsCertificate *peer = soup_server_message_get_tls_peer_certificate(msg);
	GSocket *sock = soup_server_message_get_socket(msg);

	*errors = soup_server_message_get_tls_peer_certificate_errors(msg);
	if (peer) {
		if (sock && !g_object_get_data(G_OBJECT(sock), PEER_KEY)) {
			g_object_set_data_full(G_OBJECT(sock), PEER_KEY, g_object_ref(peer),
			                       g_object_unref);
			g_object_set_data(G_OBJECT(sock), ERRORS_KEY, GUINT_TO_POINTER(*errors));
		}
		return peer;
	}
	if (!sock)
		return NULL;
	*errors = GPOINTER_TO_UINT(g_object_get_data(G_OBJECT(sock), ERRORS_KEY));
	return g_object_get_data(G_OBJECT(sock), PEER_KEY);
}

/* request_identity: the identity of MSG into ID, and its role; false (answered 403)
 * when its certificate gives no role. The handshake already refused certificates that
 * do not chain to the site CA; this looks again, so that nothing is served on a
 * connection whose verification failed for any reason. */
static bool request_identity(struct console *con, SoupServerMessage *msg, char *id,
                             enum role *role)
{
	GTlsCertificateFlags errors;
	GTlsCertificate *peer = message_peer(msg, &errors);

	if (console_identity_of(peer, errors, id, role) != 0) {
		answer_text(msg, SOUP_STATUS_FORBIDDEN,
		            tr(con, msg,
		               N_("No valid client certificate of this site: the console needs your "
		                  "personal certificate.\n")));
		return false;
	}
	if (*role == ROLE_NONE) {
		log_info("console: %s refused: a device certificate, not a person's", id);
		answer_text(msg, SOUP_STATUS_FORBIDDEN,
		            tr(con, msg,
		               N_("This certificate belongs to a device, not to a person: the console "
		                  "is for operators, desks, auditors and witnesses.\n")));
		return false;
	}
	return true;
}

/* same_origin: the browser says MSG comes from a page of this console (Origin equals
 * https://<Host>). A page elsewhere cannot make a logged-in browser change anything. */
static bool same_origin(SoupServerMessage *msg)
{
	SoupMessageHeaders *h = soup_server_message_get_request_headers(msg);
	/* A repeated header is joined with ", ": two Origins never match one host. */
	const char *origin = soup_message_headers_get_list(h, "Origin");
	const char *host = soup_message_headers_get_list(h, "Host");

	if (!origin || !host || strchr(host, ','))
		return false;
	char *want = g_strconcat("https://", host, NULL);
	bool same = g_ascii_strcasecmp(origin, want) == 0;
	g_free(want);
	return same;
}

/* ---- pages ---- */

/* record_open: the page open of a watcher (ALLOWED: it is served) through the ops'
 * console.opened request; false (answered 503, nothing served) when it is not recorded. */
static bool record_open(struct console *con, SoupServerMessage *msg, const char *id,
                        const char *path, bool allowed)
{
	GError *err = NULL;
	json_t *result = NULL;
	json_t *args = json_pack("{s:s, s:b}", "page", path, "allowed", allowed);
	int rc = con->ops->request(con->user, id, "console.opened", args, &result, &err);
	json_decref(args);
	json_decref(result);
	if (rc == 0)
		return true;
	log_warnx("console: %s opening %s not recorded, not served: %s", id, path,
	          err ? err->message : "?");
	answer_text(msg, SOUP_STATUS_SERVICE_UNAVAILABLE,
	            "This page cannot be shown now: opening it could not be recorded.\n");
	g_clear_error(&err);
	return false;
}

static void on_page(SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
                    gpointer data)
{
	struct console *con = data;
	char id[CONSOLE_IDENTITY_MAX];
	enum role role;
	const struct page *page = NULL;

	if (!request_identity(con, msg, id, &role))
		return;
	if (strcmp(path, "/favicon.ico") == 0) { /* browsers ask; there is none */
		security_headers(msg);
		soup_server_message_set_status(msg, SOUP_STATUS_NO_CONTENT, NULL);
		return;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(pages); i++)
		if (strcmp(pages[i].path, path) == 0)
			page = &pages[i];
	if (!page) {
		answer_text(msg, SOUP_STATUS_NOT_FOUND, tr(con, msg, N_("No such page.\n")));
		return;
	}
	if (strcmp(soup_server_message_get_method(msg), "GET") != 0 &&
	    strcmp(soup_server_message_get_method(msg), "HEAD") != 0) {
		answer_text(msg, SOUP_STATUS_METHOD_NOT_ALLOWED,
		            tr(con, msg, N_("Pages are read with GET.\n")));
		return;
	}
	/* who watched what is itself recorded: a watcher's page open, refused or not, is in
	 * the audit and in the archives of the day's tenders before anything is served */
	if ((role & WATCHER_ROLES) && page->html &&
	    !record_open(data, msg, id, path, (page->roles & role) != 0))
		return;
	if (!(page->roles & role)) {
		log_info("console: %s refused page %s (role %s)", id, path,
		         console_role_name(role));
		/* TRANSLATORS: the person's identity, the page's path. */
		char *text = g_strdup_printf(
		    tr(con, msg, N_("%s may not open %s: this page is for other roles.\n")), id,
		    path);
		answer_text(msg, SOUP_STATUS_FORBIDDEN, text);
		g_free(text);
		return;
	}
	char *res = g_strconcat(RESOURCE_ROOT, page->resource, NULL);
	GBytes *bytes =
	    g_resource_lookup_data(console_get_resource(), res, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
	g_free(res);
	if (!bytes) {
		answer_text(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR,
		            tr(con, msg, N_("Page missing from the build.\n")));
		return;
	}
	gsize len;
	const char *data_ = g_bytes_get_data(bytes, &len);
	security_headers(msg);
	soup_server_message_set_status(msg, SOUP_STATUS_OK, NULL);
	soup_server_message_set_response(msg, page->content_type, SOUP_MEMORY_COPY, data_, len);
	g_bytes_unref(bytes);
}

/* ---- the API ---- */

/* wall_alert_texts: to alert A (as alerts.list gives it), "kind_text" (the kind's
 * English name), "text" {"template", "args"} when its detail is an alert text (the same
 * words as its detail) and "last_local" (its last time in the site's zone). */
static void wall_alert_texts(struct console *con, json_t *a)
{
	const char *kind_text = alert_kind_text(json_string_value(json_object_get(a, "kind")));
	if (kind_text)
		json_object_set_new(a, "kind_text", json_string(kind_text));
	json_t *text = json_object_get(json_object_get(a, "extra"), "text");
	const char *tmpl = alert_text_template(json_string_value(json_object_get(text, "id")));
	json_t *args = json_object_get(text, "args");
	if (tmpl && json_is_array(args))
		json_object_set_new(a, "text",
		                    json_pack("{s:s, s:O}", "template", tmpl, "args", args));
	json_t *last = json_object_get(a, "last_at");
	if (json_is_integer(last)) {
		char buf[64];
		json_object_set_new(a, "last_local",
		                    json_string(local_time_format(con->tz, json_integer_value(last),
		                                                  0, buf, sizeof buf)));
	}
}

/* The wall as IDENTITY may see it: {"identity","role","may_ack","rooms","alerts",
 * "counts","connected"}; NULL with *err when the identity may not see it. */
static json_t *wall_json(struct console *con, const char *identity, GError **err)
{
	json_t *rooms = NULL, *alerts = NULL, *args;
	int rc;

	args = json_object();
	rc = con->ops->request(con->user, identity, "rooms", args, &rooms, err);
	json_decref(args);
	if (rc)
		return NULL;
	args = json_pack("{s:b}", "open", 1);
	rc = con->ops->request(con->user, identity, "alerts.list", args, &alerts, err);
	json_decref(args);
	if (rc) {
		json_decref(rooms);
		return NULL;
	}
	/* The wall says where, not who (as the room view): no person, nor the details that
	 * may name one's room. What a person reads is added: the kind's name and the
	 * detail's text (its English template and arguments, which the page translates),
	 * and the last time in the site's zone. */
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(alerts, "alerts"), i, a)
	{
		wall_alert_texts(con, a);
		json_object_del(a, "person");
		json_object_del(a, "extra");
	}
	enum role role = request_role_of(identity);
	json_t *out = json_pack("{s:s, s:s, s:s, s:b, s:O, s:O, s:O, s:O}", "type", "wall",
	                        "identity", identity, "role", console_role_name(role), "may_ack",
	                        role == ROLE_OPERATOR, "rooms", json_object_get(rooms, "rooms"),
	                        "connected", json_object_get(rooms, "connected"), "alerts",
	                        json_object_get(alerts, "alerts"), "counts",
	                        json_object_get(alerts, "counts"));
	json_decref(rooms);
	json_decref(alerts);
	return out;
}

static void on_api_wall(SoupServer *server, SoupServerMessage *msg, const char *path,
                        GHashTable *query, gpointer data)
{
	struct console *con = data;
	char id[CONSOLE_IDENTITY_MAX];
	enum role role;
	GError *err = NULL;

	if (!request_identity(con, msg, id, &role))
		return;
	if (strcmp(path, "/api/wall") != 0) { /* libsoup hands this handler "/api/wall:" too */
		answer_text(msg, SOUP_STATUS_NOT_FOUND, tr(con, msg, N_("No such call.\n")));
		return;
	}
	json_t *wall = wall_json(con, id, &err);
	if (!wall) {
		answer_error(msg, err);
		g_error_free(err);
		return;
	}
	answer_json(msg, SOUP_STATUS_OK, wall);
}

/* GET /i18n.json[?lang=CODE]: the page's catalogue, {"language", "languages",
 * "messages"}: in the language CODE when it is one of the console's, else the one the
 * browser's Accept-Language ranks highest (console_lang.h); English has no messages. */
static void on_i18n(SoupServer *server, SoupServerMessage *msg, const char *path,
                    GHashTable *query, gpointer data)
{
	struct console *con = data;
	char id[CONSOLE_IDENTITY_MAX];
	enum role role;
	char lang[CONSOLE_LANG_MAX];
	size_t n = g_strv_length(con->languages);

	if (!request_identity(con, msg, id, &role))
		return;
	if (strcmp(path, "/i18n.json") != 0) {
		answer_text(msg, SOUP_STATUS_NOT_FOUND, tr(con, msg, N_("No such page.\n")));
		return;
	}
	const char *asked = query ? g_hash_table_lookup(query, "lang") : NULL;
	if (console_lang_valid(asked, (const char *const *)con->languages, n))
		g_strlcpy(lang, asked, sizeof lang);
	else
		message_lang(con, msg, lang);
	json_t *messages = catalogue(con, lang);
	if (!messages)
		g_strlcpy(lang, "en", sizeof lang);
	json_t *langs = json_pack("[s]", "en");
	for (size_t i = 0; i < n; i++)
		json_array_append_new(langs, json_string(con->languages[i]));
	soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Vary",
	                             "Accept-Language");
	answer_json(msg, SOUP_STATUS_OK,
	            json_pack("{s:s, s:o, s:o}", "language", lang, "languages", langs, "messages",
	                      messages ? json_incref(messages) : json_object()));
}

/* POST /api/alert/ack and /api/alert/resolve with {"id": n, "note": "..."}: the request
 * of the same name, as the certificate's identity (audited as evalroomctl's is). */
static void on_api_alert(SoupServer *server, SoupServerMessage *msg, const char *path,
                         GHashTable *query, gpointer data)
{
	struct console *con = data;
	char id[CONSOLE_IDENTITY_MAX];
	enum role role;
	GError *err = NULL;
	json_t *args = NULL, *result = NULL;
	const char *command;

	if (!request_identity(con, msg, id, &role))
		return;
	if (strcmp(path, "/api/alert/ack") == 0)
		command = "alert.ack";
	else if (strcmp(path, "/api/alert/resolve") == 0)
		command = "alert.resolve";
	else if (strcmp(path, "/api/call/hangup") == 0) /* docs/call.md */
		command = "call.hangup";
	else {
		answer_text(msg, SOUP_STATUS_NOT_FOUND, tr(con, msg, N_("No such call.\n")));
		return;
	}
	if (strcmp(soup_server_message_get_method(msg), "POST") != 0) {
		answer_text(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, tr(con, msg, N_("Use POST.\n")));
		return;
	}
	if (!same_origin(msg)) {
		log_warnx("console: %s %s refused: not sent from a console page", id, command);
		g_set_error(&err, REQUEST_ERROR, REQUEST_ERROR_DENIED,
		            "not sent from a page of this console");
		goto fail;
	}
	SoupMessageBody *body = soup_server_message_get_request_body(msg);
	json_error_t jerr;
	if (!body || body->length == 0 || body->length > ACK_BODY_MAX ||
	    !(args = json_loadb(body->data, (size_t)body->length, JSON_REJECT_DUPLICATES, &jerr)) ||
	    !json_is_object(args)) {
		g_set_error(&err, REQUEST_ERROR, REQUEST_ERROR_INVALID,
		            "the body must be one JSON object (for an alert {\"id\": n, \"note\": "
		            "\"...\"}, for a call {\"room\": \"...\", \"seat\": \"...\"}) of at "
		            "most %d bytes",
		            ACK_BODY_MAX);
		goto fail;
	}
	if (con->ops->request(con->user, id, command, args, &result, &err) != 0)
		goto fail;
	json_decref(args);
	answer_json(msg, SOUP_STATUS_OK, result);
	return;
fail:
	json_decref(args);
	answer_error(msg, err);
	g_clear_error(&err);
}

/* ---- live views: WHEP-style signalling (docs/live.md) ---- */

struct live_pending {
	struct console *con; /* NULL once the console is gone */
	SoupServerMessage *msg; /* a reference */
	char identity[CONSOLE_IDENTITY_MAX];
	char room[40], stream[40];
	gboolean gone; /* the browser left before the answer */
	gulong gone_handler;
};

static void on_offer_gone(SoupServerMessage *msg, gpointer data)
{
	struct live_pending *p = data;

	p->gone = TRUE;
}

static void on_live_answer(void *data, const char *viewer, const char *answer, const GError *err)
{
	struct live_pending *p = data;
	struct console *con = p->con;

	g_signal_handler_disconnect(p->msg, p->gone_handler);
	if (con)
		g_ptr_array_remove_fast(con->offers, p);
	if (con && p->gone && answer) {
		/* Nobody waits for this view: close it at once (recorded as closed). */
		con->ops->live_close(con->user, p->identity, p->room, p->stream, viewer, NULL);
	} else if (con && !p->gone) {
		if (answer) {
			char *loc = g_strdup_printf("/live/%s/%s/whep/%s", p->room, p->stream, viewer);
			security_headers(p->msg);
			soup_message_headers_replace(soup_server_message_get_response_headers(p->msg),
			                             "Location", loc);
			soup_server_message_set_status(p->msg, SOUP_STATUS_CREATED, NULL);
			soup_server_message_set_response(p->msg, "application/sdp", SOUP_MEMORY_COPY,
			                                 answer, strlen(answer));
			g_free(loc);
		} else {
			answer_error(p->msg, err);
		}
		soup_server_message_unpause(p->msg);
	}
	g_object_unref(p->msg);
	g_free(p);
}

/* live_path: split "/live/ROOM/STREAM/whep[/VIEWER]" into its parts (each an id of the
 * protocol); false for any other path. */
static bool live_path(const char *path, char *room, char *stream, char *viewer)
{
	char **parts = g_strsplit(path, "/", 0);
	guint n = g_strv_length(parts);
	bool ok = (n == 5 || n == 6) && parts[0][0] == '\0' && strcmp(parts[1], "live") == 0 &&
	          id_valid(parts[2]) && id_valid(parts[3]) && strcmp(parts[4], "whep") == 0 &&
	          (n == 5 || (parts[5][0] && strlen(parts[5]) < 64 &&
	                      strspn(parts[5], "abcdefghijklmnopqrstuvwxyz0123456789-") ==
	                          strlen(parts[5])));
	if (ok) {
		g_strlcpy(room, parts[2], 40);
		g_strlcpy(stream, parts[3], 40);
		g_strlcpy(viewer, n == 6 ? parts[5] : "", 64);
	}
	g_strfreev(parts);
	return ok;
}

/* POST /live/ROOM/STREAM/whep with an SDP offer: 201 with the answer and the view's
 * Location; DELETE on that Location ends the view. GET /live is the page. */
static void on_live(SoupServer *server, SoupServerMessage *msg, const char *path,
                    GHashTable *query, gpointer data)
{
	struct console *con = data;
	char id[CONSOLE_IDENTITY_MAX], room[40], stream[40], viewer[64];
	enum role role;
	GError *err = NULL;
	const char *method = soup_server_message_get_method(msg);

	if (!g_str_has_prefix(path, "/live/")) { /* the page, its script and style */
		on_page(server, msg, path, query, data);
		return;
	}
	if (!request_identity(con, msg, id, &role))
		return;
	if (!live_path(path, room, stream, viewer)) {
		answer_text(msg, SOUP_STATUS_NOT_FOUND, "No such live view.\n");
		return;
	}
	bool post = strcmp(method, "POST") == 0 && !*viewer;
	bool del = strcmp(method, "DELETE") == 0 && *viewer;
	if (!post && !del) {
		answer_text(msg, SOUP_STATUS_METHOD_NOT_ALLOWED,
		            "POST an SDP offer to /live/ROOM/STREAM/whep; DELETE the view's "
		            "Location to end it.\n");
		return;
	}
	if (!same_origin(msg)) {
		log_warnx("console: %s live view refused: not sent from a console page", id);
		g_set_error(&err, REQUEST_ERROR, REQUEST_ERROR_DENIED,
		            "not sent from a page of this console");
		goto fail;
	}
	if (!con->ops->live_offer) {
		g_set_error(&err, REQUEST_ERROR, REQUEST_ERROR_UNAVAILABLE, "no live view here");
		goto fail;
	}
	if (del) {
		if (con->ops->live_close(con->user, id, room, stream, viewer, &err) != 0)
			goto fail;
		answer_text(msg, SOUP_STATUS_OK, "closed\n");
		return;
	}
	SoupMessageBody *body = soup_server_message_get_request_body(msg);
	const char *ctype = soup_message_headers_get_content_type(
	    soup_server_message_get_request_headers(msg), NULL);
	if (!body || body->length == 0 || body->length > SDP_BODY_MAX ||
	    g_strcmp0(ctype, "application/sdp") != 0 ||
	    memchr(body->data, '\0', (size_t)body->length)) {
		g_set_error(&err, REQUEST_ERROR, REQUEST_ERROR_INVALID,
		            "the body must be an SDP offer (Content-Type: application/sdp) of at "
		            "most %d bytes",
		            SDP_BODY_MAX);
		goto fail;
	}
	char *offer = g_strndup(body->data, (gsize)body->length);
	struct live_pending *p = g_new0(struct live_pending, 1);
	p->con = con;
	p->msg = g_object_ref(msg);
	g_strlcpy(p->identity, id, sizeof(p->identity));
	g_strlcpy(p->room, room, sizeof(p->room));
	g_strlcpy(p->stream, stream, sizeof(p->stream));
	int rc = con->ops->live_offer(con->user, id, room, stream, offer, on_live_answer, p, &err);
	g_free(offer);
	if (rc) {
		g_object_unref(p->msg);
		g_free(p);
		goto fail;
	}
	p->gone_handler = g_signal_connect(msg, "disconnected", G_CALLBACK(on_offer_gone), p);
	g_ptr_array_add(con->offers, p);
	soup_server_message_pause(msg);
	return;
fail:
	answer_error(msg, err);
	g_clear_error(&err);
}

/* GET /api/live: the streams this identity may watch ({"streams": [...]}); GET
 * /api/calls: the calls that ring or are up ({"calls": [...]}, docs/call.md). */
static void on_api_live(SoupServer *server, SoupServerMessage *msg, const char *path,
                        GHashTable *query, gpointer data)
{
	struct console *con = data;
	char id[CONSOLE_IDENTITY_MAX];
	enum role role;
	GError *err = NULL;
	json_t *args = json_object(), *result = NULL;

	if (!request_identity(con, msg, id, &role)) {
		json_decref(args);
		return;
	}
	bool calls = strcmp(path, "/api/calls") == 0;
	if (!calls && strcmp(path, "/api/live") != 0) { /* exact paths only */
		json_decref(args);
		answer_text(msg, SOUP_STATUS_NOT_FOUND, tr(con, msg, N_("No such call.\n")));
		return;
	}
	int rc = con->ops->request(con->user, id, calls ? "call.list" : "live.streams", args,
	                           &result, &err);
	json_decref(args);
	if (rc) {
		answer_error(msg, err);
		g_error_free(err);
		return;
	}
	json_object_set_new(result, "identity", json_string(id));
	json_object_set_new(result, "role", json_string(console_role_name(role)));
	answer_json(msg, SOUP_STATUS_OK, result);
}

/* ---- the wall's WebSocket: the new state whenever it changes ---- */

static void wall_send(struct wall_client *w, json_t *wall)
{
	if (soup_websocket_connection_get_state(w->ws) != SOUP_WEBSOCKET_STATE_OPEN)
		return;
	char *text = json_dumps(wall, JSON_COMPACT);
	if (text)
		soup_websocket_connection_send_text(w->ws, text);
	free(text);
}

static void wall_client_free(gpointer p)
{
	struct wall_client *w = p;

	g_signal_handler_disconnect(w->ws, w->closed_handler);
	if (soup_websocket_connection_get_state(w->ws) == SOUP_WEBSOCKET_STATE_OPEN)
		soup_websocket_connection_close(w->ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
	g_object_unref(w->ws);
	g_free(w);
}

static void on_ws_closed(SoupWebsocketConnection *ws, gpointer data)
{
	struct wall_client *w = data;

	log_debug("console: wall of %s closed", w->identity);
	g_ptr_array_remove_fast(w->con->walls, w);
}

/* Send every open wall its identity's view (computed once per identity). */
static gboolean push_walls(gpointer data)
{
	struct console *con = data;
	GHashTable *done =
	    g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)json_decref);

	con->push_source = 0;
	for (guint i = 0; i < con->walls->len; i++) {
		struct wall_client *w = con->walls->pdata[i];
		json_t *wall = g_hash_table_lookup(done, w->identity);
		if (!wall) {
			GError *err = NULL;
			wall = wall_json(con, w->identity, &err);
			if (!wall) {
				log_warnx("console: wall of %s: %s", w->identity, err->message);
				g_error_free(err);
				continue;
			}
			g_hash_table_insert(done, w->identity, wall);
		}
		wall_send(w, wall);
	}
	g_hash_table_destroy(done);
	return G_SOURCE_REMOVE;
}

void console_changed(struct console *con)
{
	if (!con || con->push_source || con->walls->len == 0)
		return;
	con->push_source = g_timeout_add(CONSOLE_PUSH_DELAY_MS, push_walls, con);
}

static void on_ws(SoupServer *server, SoupServerMessage *msg, const char *path,
                  SoupWebsocketConnection *ws, gpointer data)
{
	struct console *con = data;
	char id[CONSOLE_IDENTITY_MAX];
	enum role role;
	GError *err = NULL;

	GTlsCertificateFlags errors;
	GTlsCertificate *peer = message_peer(msg, &errors);
	if (console_identity_of(peer, errors, id, &role) != 0 || !(role & WALL_ROLES) ||
	    !same_origin(msg)) {
		soup_websocket_connection_close(ws, WS_CLOSE_POLICY, "not allowed");
		return;
	}
	json_t *wall = wall_json(con, id, &err);
	if (!wall) {
		log_info("console: wall of %s refused: %s", id, err->message);
		soup_websocket_connection_close(ws, WS_CLOSE_POLICY, "not allowed");
		g_error_free(err);
		return;
	}
	struct wall_client *w = g_new0(struct wall_client, 1);
	w->con = con;
	w->ws = g_object_ref(ws);
	g_strlcpy(w->identity, id, sizeof(w->identity));
	w->closed_handler = g_signal_connect(ws, "closed", G_CALLBACK(on_ws_closed), w);
	/* Pings keep an idle connection probed: a browser that vanished without closing is
	 * found when a write to it fails (libsoup 3.2 does not time out a missing pong). */
	soup_websocket_connection_set_keepalive_interval(ws, WS_KEEPALIVE_S);
	g_ptr_array_add(con->walls, w);
	log_info("console: %s opened the wall", id);
	wall_send(w, wall);
	json_decref(wall);
}

/* ---- life ---- */

/* The TLS layer asks the server about every client certificate (GIO emits
 * accept-certificate on a server connection even when the certificate verified): only
 * one that chains to the site CA and is within its dates (no error flag) is taken. */
static gboolean on_accept_certificate(SoupServerMessage *msg, GTlsCertificate *cert,
                                      GTlsCertificateFlags errors, gpointer data)
{
	if (errors != 0)
		log_info("console: a client certificate refused (verification flags 0x%x)",
		         (unsigned)errors);
	return errors == 0;
}

static void on_request_started(SoupServer *server, SoupServerMessage *msg, gpointer data)
{
	g_signal_connect(msg, "accept-certificate", G_CALLBACK(on_accept_certificate), data);
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The languages of the catalogues compiled in (po/www_catalogue.py), sorted. */
static char **console_languages(void)
{
	char **names = g_resource_enumerate_children(console_get_resource(), RESOURCE_ROOT "i18n/",
	                                             G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
	GPtrArray *out = g_ptr_array_new();

	for (int i = 0; names && names[i]; i++)
		if (g_str_has_suffix(names[i], ".json") && strlen(names[i]) - 5 < CONSOLE_LANG_MAX)
			g_ptr_array_add(out, g_strndup(names[i], strlen(names[i]) - 5));
	g_strfreev(names);
	g_ptr_array_sort(out, compare_names);
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

struct console *console_new(const struct console_config *cfg, const struct console_ops *ops,
                            void *user, GError **err)
{
	struct console *con = g_new0(struct console, 1);
	GTlsCertificate *cert = NULL;
	GTlsDatabase *db = NULL;
	GInetAddress *ia = NULL;
	GSocketAddress *sa = NULL;

	con->cfg.bind = g_strdup(cfg->bind);
	con->cfg.port = cfg->port;
	con->cfg.ca = g_strdup(cfg->ca);
	con->cfg.cert = g_strdup(cfg->cert);
	con->cfg.key = g_strdup(cfg->key);
	con->ops = ops;
	con->user = user;
	con->walls = g_ptr_array_new_with_free_func(wall_client_free);
	con->offers = g_ptr_array_new();
	con->languages = console_languages();
	con->catalogues =
	    g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)json_decref);

	if (!(con->tz = local_time_zone_new(cfg->time_zone, err))) {
		g_prefix_error(err, "console time zone: ");
		goto err_free;
	}
	cert = g_tls_certificate_new_from_files(cfg->cert, cfg->key, err);
	if (!cert) {
		g_prefix_error(err, "console certificate %s / key %s: ", cfg->cert, cfg->key);
		goto err_free;
	}
	db = g_tls_file_database_new(cfg->ca, err);
	if (!db) {
		g_prefix_error(err, "console CA %s: ", cfg->ca);
		goto err_free;
	}
	ia = g_inet_address_new_from_string(cfg->bind);
	if (!ia) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		            "console bind address \"%s\" is not an IP address", cfg->bind);
		goto err_free;
	}
	con->server = soup_server_new("tls-certificate", cert, "tls-database", db, "tls-auth-mode",
	                              G_TLS_AUTHENTICATION_REQUIRED, "server-header",
	                              "evalroom-console", NULL);
	g_signal_connect(con->server, "request-started", G_CALLBACK(on_request_started), con);
	soup_server_add_websocket_handler(con->server, "/api/ws", NULL, NULL, on_ws, con, NULL);
	soup_server_add_handler(con->server, "/api/wall", on_api_wall, con, NULL);
	soup_server_add_handler(con->server, "/api/alert", on_api_alert, con, NULL);
	soup_server_add_handler(con->server, "/api/live", on_api_live, con, NULL);
	soup_server_add_handler(con->server, "/api/calls", on_api_live, con, NULL);
	soup_server_add_handler(con->server, "/api/call", on_api_alert, con, NULL);
	soup_server_add_handler(con->server, "/live", on_live, con, NULL);
	soup_server_add_handler(con->server, "/i18n.json", on_i18n, con, NULL);
	soup_server_add_handler(con->server, "/", on_page, con, NULL);

	sa = g_inet_socket_address_new(ia, (guint16)cfg->port);
	if (!soup_server_listen(con->server, sa, SOUP_SERVER_LISTEN_HTTPS, err)) {
		g_prefix_error(err, "console %s port %u: ", cfg->bind, cfg->port);
		goto err_free;
	}
	GSList *uris = soup_server_get_uris(con->server);
	con->port = uris ? (unsigned)g_uri_get_port(uris->data) : cfg->port;
	g_slist_free_full(uris, (GDestroyNotify)g_uri_unref);
	log_info("console: https://%s:%u/", cfg->bind, con->port);
	g_object_unref(sa);
	g_object_unref(ia);
	g_object_unref(db);
	g_object_unref(cert);
	return con;

err_free:
	g_clear_object(&sa);
	g_clear_object(&ia);
	g_clear_object(&db);
	g_clear_object(&cert);
	console_free(con);
	return NULL;
}

unsigned console_port(const struct console *con)
{
	return con->port;
}

void console_free(struct console *con)
{
	if (!con)
		return;
	if (con->push_source)
		g_source_remove(con->push_source);
	g_ptr_array_free(con->walls, TRUE);
	for (guint i = 0; i < con->offers->len; i++) /* answered later to nobody */
		((struct live_pending *)con->offers->pdata[i])->con = NULL;
	g_ptr_array_free(con->offers, TRUE);
	if (con->server) {
		soup_server_disconnect(con->server);
		g_object_unref(con->server);
	}
	g_free((char *)con->cfg.bind);
	g_free((char *)con->cfg.ca);
	g_free((char *)con->cfg.cert);
	g_free((char *)con->cfg.key);
	if (con->tz)
		g_time_zone_unref(con->tz);
	g_strfreev(con->languages);
	if (con->catalogues)
		g_hash_table_destroy(con->catalogues);
	g_free(con);
}
