/* Evidence holds on the site's retention archives (retention_hold.h). */
#include "retention_hold.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "state.h"

#define DAY_US (86400 * (int64_t)G_USEC_PER_SEC)

int retention_hold(struct controller *c, const char *source, const char *tender, int64_t alert,
                   const char *why, int64_t from_us, int64_t to_us)
{
	struct state_evidence_hold h = {.source = source,
	                                .tender = tender ? tender : "",
	                                .alert = alert,
	                                .why = why,
	                                .from_us = from_us,
	                                .to_us = to_us};
	GError *err = NULL;
	int rc = state_evidence_hold_put(c->state, &h, clock_now_us(), false, NULL, &err);
	if (rc != 0) {
		log_warnx("evidence hold (%s) not stored: %s", why, err->message);
		g_error_free(err);
	}
	return rc;
}

/* One line of an old hold file as a hold: "alert ID KIND FROM TO" (a behaviour warning),
 * "checkin TENDER PERSON FROM TO", "release SESSION TENDER FROM TO" (the seal's release);
 * anything else, or a line whose span cannot be read, holds the whole day DAY_FROM. */
static int import_line(struct controller *c, const char *file, const char *line, int64_t day_from,
                       int *stored)
{
	gchar **w = g_strsplit_set(line, " \t", -1);
	guint n = g_strv_length(w);
	char *end1 = NULL, *end2 = NULL;
	int64_t from = n >= 3 ? g_ascii_strtoll(w[n - 2], &end1, 10) : 0;
	int64_t to = n >= 3 ? g_ascii_strtoll(w[n - 1], &end2, 10) : 0;
	struct state_evidence_hold h = {.source = "file", .tender = ""};
	bool span = n >= 3 && end1 && !*end1 && end2 && !*end2 && from >= 0 && to >= from;
	GString *words = g_string_new(span ? NULL : line);
	for (guint i = 0; span && i + 2 < n; i++)
		g_string_append_printf(words, "%s%s", i ? " " : "", w[i]);
	if (span && n == 5 && strcmp(w[0], "alert") == 0) {
		h.source = "warning";
		h.alert = g_ascii_strtoll(w[1], NULL, 10);
	} else if (span && n == 5 && strcmp(w[0], "checkin") == 0) {
		h.source = "checkin";
		h.tender = w[1];
	} else if (span && n == 5 && strcmp(w[0], "release") == 0) {
		h.source = "draw";
		h.tender = w[2];
	}
	h.from_us = span ? from : day_from;
	h.to_us = span ? to : day_from + DAY_US;
	char *why = g_strdup_printf("%s (from %s)", words->str, file);
	h.why = why;
	GError *err = NULL;
	int rc = state_evidence_hold_put(c->state, &h, clock_now_us(), true, NULL, &err);
	if (rc != 0) {
		log_warnx("retention: %s: \"%s\" not imported: %s", file, line, err->message);
		g_error_free(err);
	} else {
		(*stored)++;
	}
	g_free(why);
	g_string_free(words, TRUE);
	g_strfreev(w);
	return rc;
}

int retention_hold_import(struct controller *c)
{
	GDir *dir = g_dir_open(c->cfg.archive_dir, 0, NULL);
	const char *f;
	int stored = 0;
	while (dir && (f = g_dir_read_name(dir))) {
		int y, m, d;
		char tail[8] = "";
		/* exactly site-YYYY-MM-DD.hold */
		if (strlen(f) != 20 || sscanf(f, "site-%4d-%2d-%2d%7s", &y, &m, &d, tail) != 4 ||
		    strcmp(tail, ".hold") != 0)
			continue;
		GDateTime *day = g_date_time_new_utc(y, m, d, 0, 0, 0);
		if (!day)
			continue;
		int64_t day_from = g_date_time_to_unix(day) * G_USEC_PER_SEC;
		g_date_time_unref(day);
		char *path = g_build_filename(c->cfg.archive_dir, f, NULL), *text = NULL;
		GError *err = NULL;
		bool ok = g_file_get_contents(path, &text, NULL, &err);
		if (!ok) {
			log_warnx("retention: %s not imported: %s", path, err->message);
			g_error_free(err);
		}
		gchar **lines = g_strsplit(text ? text : "", "\n", -1);
		int before = stored;
		for (gchar **l = lines; ok && *l; l++) {
			g_strstrip(*l);
			if (**l && import_line(c, f, *l, day_from, &stored) != 0)
				ok = false;
		}
		char *done = g_strconcat(path, ".imported", NULL);
		if (ok && rename(path, done) == 0)
			log_info(
			    "retention: %s: %d evidence holds imported into state.db (evalroomctl "
			    "evidence holds), the file renamed %s",
			    path, stored - before, done);
		else if (ok)
			log_warn("retention: %s imported but not renamed", path);
		else
			log_warnx("retention: %s stays: not every line was imported", path);
		g_free(done);
		g_strfreev(lines);
		g_free(text);
		g_free(path);
	}
	if (dir)
		g_dir_close(dir);
	return stored;
}
