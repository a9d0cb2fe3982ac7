#include "daemon.h"

#include <glib-unix.h>
#include <signal.h>
#include <systemd/sd-daemon.h>

#include "log.h"

struct signal_ctx {
	GMainLoop *loop;
	void (*on_hup)(void *user);
	void *user;
};

static struct signal_ctx sigctx;
static bool ready_sent;

static gboolean on_quit_signal(gpointer data)
{
	log_info("signal received, stopping");
	g_main_loop_quit(sigctx.loop);
	return G_SOURCE_CONTINUE;
}

static gboolean on_hup_signal(gpointer data)
{
	if (sigctx.on_hup)
		sigctx.on_hup(sigctx.user);
	return G_SOURCE_CONTINUE;
}

void daemon_signals_watch(GMainLoop *loop, void (*on_hup)(void *user), void *user)
{
	sigctx.loop = loop;
	sigctx.on_hup = on_hup;
	sigctx.user = user;
	signal(SIGPIPE, SIG_IGN);
	g_unix_signal_add(SIGTERM, on_quit_signal, NULL);
	g_unix_signal_add(SIGINT, on_quit_signal, NULL);
	g_unix_signal_add(SIGHUP, on_hup_signal, NULL);
}

static gboolean on_watchdog(gpointer data)
{
	sd_notify(0, "WATCHDOG=1");
	return G_SOURCE_CONTINUE;
}

void daemon_ready(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *status = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (!ready_sent) {
		ready_sent = true;
		sd_notifyf(0, "READY=1\nSTATUS=%s", status);
		uint64_t usec = 0;
		if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
			/* Ping at a third of the interval from the main loop itself, so a
			 * stuck loop is what the watchdog catches. */
			guint ms = (guint)MAX(usec / 3000, 100);
			g_timeout_add(ms, on_watchdog, NULL);
			sd_notify(0, "WATCHDOG=1");
		}
	} else {
		sd_notifyf(0, "STATUS=%s", status);
	}
	g_free(status);
}

void daemon_status(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *status = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", status);
	g_free(status);
}

void daemon_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}
