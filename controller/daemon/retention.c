/* The site's retention archives: recordings (and gaps) that belong to no tender, one
 * archive per UTC day (archive_dir/site-YYYY-MM-DD.evarc, the tender archive format),
 * kept for [controller] retention_days (0: until an operator removes them). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "archives.h"
#include "clock.h"
#include "log.h"
#include "retention_hold.h"
#include "state.h"

#define SWEEP_INTERVAL_S 3600

static guint sweep_timer;

int archives_retention(struct controller *c, int64_t at_us, struct archive **out, char name[32],
                       GError **err)
{
	GDateTime *d = g_date_time_new_from_unix_utc(at_us / G_USEC_PER_SEC);
	if (!d)
		d = g_date_time_new_now_utc();
	char *day = g_date_time_format(d, "%Y-%m-%d");
	g_date_time_unref(d);
	snprintf(name, 32, "site-%s", day);
	char *title =
	    g_strdup_printf("site retention %s: recordings that belong to no tender", day);
	struct archive_tender meta = {.tender = name,
	                              .name = title,
	                              .session = name,
	                              .created_us = clock_now_us(),
	                              .site = c->cfg.site};
	int rc = archives_obtain(c, name, &meta, out, err);
	g_free(title);
	g_free(day);
	return rc;
}

/* True when an active evidence hold (retention_hold.h: a witness note's span, a behaviour
 * warning's, a seat's recording before check-in) overlaps the UTC day of the retention
 * archive NAME ("site-YYYY-MM-DD"), or when that cannot be known. */
static bool evidence_held(struct controller *c, const char *name)
{
	int y, m, d;
	bool held = true;
	GError *err = NULL;
	if (sscanf(name, "site-%4d-%2d-%2d", &y, &m, &d) != 3)
		return true;
	GDateTime *day = g_date_time_new_utc(y, m, d, 0, 0, 0);
	if (!day)
		return true;
	int64_t from = g_date_time_to_unix(day) * G_USEC_PER_SEC;
	g_date_time_unref(day);
	if (state_evidence_held(c->state, from, from + (int64_t)24 * 3600 * G_USEC_PER_SEC, &held,
	                        &err) != 0) {
		log_warnx("retention: %s kept: evidence holds unreadable: %s", name, err->message);
		g_error_free(err);
		return true;
	}
	return held;
}

/* Delete the retention archives of days before today - retention_days, except those an
 * active evidence hold covers (state.db alone decides: hold files of earlier versions were
 * imported at start). */
static gboolean sweep(gpointer user)
{
	struct controller *c = user;
	if (c->cfg.retention_days <= 0)
		return G_SOURCE_CONTINUE;
	GDateTime *now = g_date_time_new_now_utc();
	GDateTime *limit = g_date_time_add_days(now, -c->cfg.retention_days);
	char *oldest = g_date_time_format(limit, "site-%Y-%m-%d");
	g_date_time_unref(limit);
	g_date_time_unref(now);
	GDir *dir = g_dir_open(c->cfg.archive_dir, 0, NULL);
	const char *f;
	while (dir && (f = g_dir_read_name(dir))) {
		/* exactly site-YYYY-MM-DD.evarc; the date compares as text */
		if (strlen(f) != 21 || !g_str_has_prefix(f, "site-") ||
		    !g_str_has_suffix(f, ".evarc"))
			continue;
		char *name = g_strndup(f, 15);
		if (strcmp(name, oldest) >= 0) {
			g_free(name);
			continue;
		}
		if (evidence_held(c, name)) {
			log_info("retention: %s kept: an evidence hold covers that day (evalroomctl "
			         "evidence holds)",
			         name);
			g_free(name);
			continue;
		}
		archives_close(c, name);
		char *path = archives_path(c, name);
		if (unlink(path) == 0)
			log_info("retention: %s deleted (older than %d days)", path,
			         c->cfg.retention_days);
		else
			log_warn("retention: %s", path);
		/* its rollback journal, and the WAL files of archives of older versions */
		static const char *const companions[] = {"-journal", "-wal", "-shm"};
		for (size_t i = 0; i < G_N_ELEMENTS(companions); i++) {
			char *side = g_strconcat(path, companions[i], NULL);
			unlink(side);
			g_free(side);
		}
		g_free(path);
		g_free(name);
	}
	if (dir)
		g_dir_close(dir);
	g_free(oldest);
	return G_SOURCE_CONTINUE;
}

void retention_start(struct controller *c)
{
	retention_hold_import(c);
	sweep(c);
	sweep_timer = g_timeout_add_seconds(SWEEP_INTERVAL_S, sweep, c);
}

void retention_stop(struct controller *c)
{
	(void)c;
	if (sweep_timer)
		g_source_remove(sweep_timer);
	sweep_timer = 0;
}
