#include "log.h"

#include <stdio.h>

static int log_verbose;

static GLogWriterOutput log_write(GLogLevelFlags level, const GLogField *fields, gsize n,
                                  gpointer user)
{
	if ((level & G_LOG_LEVEL_DEBUG) && !log_verbose)
		return G_LOG_WRITER_HANDLED;
	/* Under systemd stderr is the journal: send structured fields there. */
	if (g_log_writer_is_journald(fileno(stderr)) &&
	    g_log_writer_journald(level, fields, n, user) == G_LOG_WRITER_HANDLED)
		return G_LOG_WRITER_HANDLED;
	const char *msg = "";
	for (gsize i = 0; i < n; i++)
		if (g_strcmp0(fields[i].key, "MESSAGE") == 0)
			msg = fields[i].value;
	const char *tag = (level & G_LOG_LEVEL_ERROR)      ? "error"
	                  : (level & G_LOG_LEVEL_CRITICAL) ? "critical"
	                  : (level & G_LOG_LEVEL_WARNING)  ? "warning"
	                  : (level & G_LOG_LEVEL_DEBUG)    ? "debug"
	                                                   : "info";
	fprintf(stderr, "%s: %s: %s\n", g_get_prgname(), tag, msg);
	return G_LOG_WRITER_HANDLED;
}

void log_init(const char *ident, int verbose)
{
	g_set_prgname(ident);
	log_verbose = verbose;
	g_log_set_writer_func(log_write, NULL, NULL);
}

void log_set_verbose(int verbose)
{
	log_verbose = verbose;
}
