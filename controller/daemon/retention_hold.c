/* Hold files of the site's retention archives (retention_hold.h). */
#include "retention_hold.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>

#include "log.h"

#define DAY_US (86400 * (int64_t)G_USEC_PER_SEC)

int retention_hold_days(const char *archive_dir, int64_t from_us, int64_t to_us, const char *why)
{
	int rc = 0;
	for (int64_t day = from_us / DAY_US; day <= to_us / DAY_US; day++) {
		GDateTime *d = g_date_time_new_from_unix_utc(day * 86400);
		char *name = g_date_time_format(d, "site-%Y-%m-%d.hold");
		g_date_time_unref(d);
		char *path = g_build_filename(archive_dir, name, NULL);
		FILE *f = fopen(path, "a");
		int bad = !f || fprintf(f, "%s %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n", why,
		                        from_us, to_us) < 0;
		if (f && fclose(f) != 0)
			bad = 1;
		if (bad) {
			if (rc == 0)
				rc = errno ? -errno : -EIO;
			log_warn("retention hold %s (%s)", path, why);
		}
		g_free(path);
		g_free(name);
	}
	return rc;
}
