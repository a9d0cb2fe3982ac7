/* The web console: HTTPS pages served on the controller's GLib loop (libsoup 3),
 * authenticated by the site's client certificates (docs/console.md, "The web console").
 *
 * The TLS handshake refuses any browser without a certificate of the site CA; a request
 * then runs as the identity in the certificate's CN, with the role its prefix gives
 * (common/request.h request_role_of). Pages, scripts and styles are compiled into the
 * program (GResource), nothing is fetched at run time; so are the pages' translation
 * catalogues (GET /i18n.json, docs/i18n.md "The web console").
 *
 * The console knows nothing of the controller: what it shows and what it may change
 * come through struct console_ops, which the daemon implements with its request
 * dispatcher (so the role checks and the operator audit are the same as evalroomctl's).
 * All calls, and all ops callbacks, run on the thread of the GLib main context that was
 * the thread-default when console_new was called. */
#pragma once
#include <glib.h>
#include <jansson.h>

struct console;

struct console_ops {
	/* request: run COMMAND (a request command of common/request.h, e.g. "rooms",
	 * "alerts.list", "alert.ack") with ARGS (borrowed) as IDENTITY (a certificate CN).
	 * Returns 0 with *result (new reference), or -errno with *err in the REQUEST_ERROR
	 * domain (DENIED when the identity's role may not run it). */
	int (*request)(void *user, const char *identity, const char *command, json_t *args,
	               json_t **result, GError **err);
	/* live_offer: IDENTITY opens a live view of STREAM in ROOM with the browser's SDP
	 * OFFER (docs/live.md). Returns 0 and calls DONE once later on the same thread with
	 * the viewer's id and the SDP answer, or with an error (REQUEST_ERROR domain); or
	 * returns -errno with *err and does not call DONE. NULL: no live view. */
	int (*live_offer)(void *user, const char *identity, const char *room, const char *stream,
	                  const char *offer,
	                  void (*done)(void *done_user, const char *viewer, const char *answer,
	                               const GError *err),
	                  void *done_user, GError **err);
	/* live_close: IDENTITY closes its live view VIEWER of ROOM/STREAM. */
	int (*live_close)(void *user, const char *identity, const char *room, const char *stream,
	                  const char *viewer, GError **err);
};

struct console_config {
	const char *bind; /* IP address to listen on, e.g. "127.0.0.1" or "0.0.0.0" */
	unsigned port;    /* TCP port; 0 picks a free one (console_port tells which) */
	const char *ca;   /* the site CA (PEM): client certificates must chain to it */
	const char *cert; /* the console's server certificate (PEM) */
	const char *key;  /* its private key (PEM) */
	/* the site's time zone for the times people read (local_time.h; NULL or "": its
	 * default) */
	const char *time_zone;
};

/* console_new: listen on CFG (copied) and serve. OPS and USER must outlive the console.
 * Returns NULL with *err set (a file that does not load, an address in use). */
struct console *console_new(const struct console_config *cfg, const struct console_ops *ops,
                            void *user, GError **err);
/* console_port: the TCP port it listens on. */
unsigned console_port(const struct console *con);
/* console_changed: something the status wall shows changed; every open wall is sent the
 * new state within CONSOLE_PUSH_DELAY_MS (changes in between are sent once). */
#define CONSOLE_PUSH_DELAY_MS 50
void console_changed(struct console *con);
/* console_free: close every connection and stop listening (NULL-safe). */
void console_free(struct console *con);
