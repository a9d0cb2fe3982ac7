/* The web console inside evalroom-controller: started from [console] of controller.conf,
 * fed by the room view and the alerts, running requests through the same dispatcher as
 * evalroomctl (controller/console/console.h, docs/console.md). */
#pragma once
#include <glib.h>

struct controller;

/* console_link_start: start the console when c->cfg.console_on (else nothing); call after
 * the view and the alerts are initialised. Returns 0, or -errno with *err set (the
 * certificate does not load, the port is taken). */
int console_link_start(struct controller *c, GError **err);
/* console_link_stop: close every console connection (NULL-safe on a zeroed controller). */
void console_link_stop(struct controller *c);
