/* Daemon life: systemd notification, watchdog and signals on the main loop. */
#pragma once
#include <glib.h>
#include <stdbool.h>

/* daemon_signals_watch: SIGTERM and SIGINT quit LOOP; SIGHUP calls ON_HUP(user) if given. */
void daemon_signals_watch(GMainLoop *loop, void (*on_hup)(void *user), void *user);
/* daemon_ready: tell systemd READY=1 with a STATUS= line (no-op outside systemd), and
 * start WATCHDOG=1 pings from the main loop when the unit has WatchdogSec=. Call it
 * only once the daemon really serves (connected, database open). Idempotent. */
void daemon_ready(const char *status_fmt, ...) G_GNUC_PRINTF(1, 2);
/* daemon_status: STATUS= line. */
void daemon_status(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* daemon_stopping: STOPPING=1. */
void daemon_stopping(void);
