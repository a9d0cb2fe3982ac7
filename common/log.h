/* Logging: GLib's structured log, to the journal when stderr is connected to it
 * (running under systemd), to stderr otherwise. */
#pragma once
#include <errno.h>
#include <glib.h>
#include <string.h>

/* log_init: set the program identity and verbosity (0 = info, 1 = debug).
 * Call once from main before anything logs. */
void log_init(const char *ident, int verbose);
/* log_set_verbose: debug messages on (1) or off (0) from now on (a reload). */
void log_set_verbose(int verbose);

#define log_debug(...) g_debug(__VA_ARGS__)
#define log_info(...)  g_info(__VA_ARGS__)
#define log_warnx(...) g_warning(__VA_ARGS__)
/* log_warn: like log_warnx with ": strerror(errno)" appended. */
#define log_warn(fmt, ...) g_warning(fmt ": %s", ##__VA_ARGS__, g_strerror(errno))
/* log_errx: an error the daemon survives (critical would abort under G_DEBUG). */
#define log_errx(...) g_warning(__VA_ARGS__)
