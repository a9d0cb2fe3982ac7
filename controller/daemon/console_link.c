/* The web console inside evalroom-controller (console_link.h). */
#include "console_link.h"

#include <errno.h>

#include "alerts.h"
#include "console.h"
#include "controller.h"
#include "live_view.h"
#include "requests.h"
#include "view.h"

static int console_request(void *user, const char *identity, const char *command, json_t *args,
                           json_t **result, GError **err)
{
	return requests_run_local(user, identity, command, args, result, err);
}

static int console_live_offer(void *user, const char *identity, const char *room,
                              const char *stream, const char *offer,
                              void (*done)(void *, const char *, const char *, const GError *),
                              void *done_user, GError **err)
{
	return live_view_offer(user, identity, room, stream, offer, done, done_user, err);
}

static int console_live_close(void *user, const char *identity, const char *room,
                              const char *stream, const char *viewer, GError **err)
{
	return live_view_close(user, identity, room, stream, viewer, err);
}

static const struct console_ops link_ops = {.request = console_request,
                                            .live_offer = console_live_offer,
                                            .live_close = console_live_close};

static void on_view_changed(void *user)
{
	struct controller *c = user;

	console_changed(c->console);
}

static void on_alert(struct controller *c, const char *change, const json_t *alert, void *user)
{
	console_changed(c->console);
}

int console_link_start(struct controller *c, GError **err)
{
	if (!c->cfg.console_on)
		return 0;
	struct console_config cc = {
	    .bind = c->cfg.console_bind,
	    .port = c->cfg.console_port,
	    .ca = c->cfg.console_ca,
	    .cert = c->cfg.console_cert,
	    .key = c->cfg.console_key,
	    .time_zone = c->cfg.console_time_zone,
	};
	c->console = console_new(&cc, &link_ops, c, err);
	if (!c->console)
		return -EIO;
	view_set_changed_hook(c, on_view_changed, c);
	alerts_set_hook(c, on_alert, NULL);
	return 0;
}

void console_link_stop(struct controller *c)
{
	if (!c->console)
		return;
	view_set_changed_hook(c, NULL, NULL);
	console_free(c->console);
	c->console = NULL;
}
