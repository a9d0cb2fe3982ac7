/* The archive disk's free space and fill rate, and archive write failures, as alerts. */
#include "archive_disk.h"

#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>

#include "alerts.h"
#include "clock.h"
#include "controller.h"
#include "log.h"

struct archive_disk {
	struct clock_timer *timer; /* the next reading, on c->clock */
	bool have;           /* a reading exists */
	uint64_t free_bytes; /* for an unprivileged writer (f_bavail) */
	uint64_t total_bytes;
	int64_t at_us;    /* time of the last reading (monotonic) */
	int64_t first_us; /* time of the first reading */
	double rate_bps; /* bytes a second being used, smoothed; 0 while nothing is written */
	GHashTable *failing; /* archive names with an open archive_write_failed */
};

/* The rate is smoothed over about ten minutes of readings, so one burst of writing (the
 * disk may hold more than the archives) does not predict the disk's end, and a pause
 * does not forget a steady fill at once. The days-left rule is armed only after one
 * whole window of readings. */
#define RATE_WINDOW_S 600.0

static void subject_for(const char *name, struct alert_subject *s)
{
	/* A tender's archive is that tender's; the site's day archives name no tender, and
	 * the detail names the file. */
	*s = (struct alert_subject){"", "", "", "", "", ""};
	if (!g_str_has_prefix(name, "site-"))
		s->tender = name;
}

static void raise_or_clear(struct controller *c, enum alert_kind kind, bool on, const char *text_id,
                           const char *const *args, json_t *extra, const char *why_clear)
{
	struct alert_subject s = {"", "", "", "", "", ""};
	if (on)
		alert_raise_text(c, kind, &s, text_id, args, extra);
	else {
		json_decref(extra);
		alert_clear(c, kind, &s, why_clear);
	}
}

void archive_disk_check(struct controller *c)
{
	struct archive_disk *d = c->archive_disk;
	if (!d)
		return;
	struct statvfs st;
	if (statvfs(c->cfg.archive_dir, &st) != 0) {
		log_warn("archive disk %s: statvfs", c->cfg.archive_dir);
		return;
	}
	uint64_t free_b = (uint64_t)st.f_bavail * st.f_frsize;
	uint64_t total_b = (uint64_t)st.f_blocks * st.f_frsize;
	int64_t now = clock_source_mono_us(c->clock);
	if (d->have && now > d->at_us) {
		double dt = (double)(now - d->at_us) / 1e6;
		double used = (double)d->free_bytes - (double)free_b; /* negative when space freed */
		double inst = used > 0 ? used / dt : 0;
		double a = dt >= RATE_WINDOW_S ? 1.0 : dt / RATE_WINDOW_S;
		d->rate_bps = d->rate_bps * (1 - a) + inst * a;
	}
	if (!d->have)
		d->first_us = now;
	d->have = true;
	d->free_bytes = free_b;
	d->total_bytes = total_b;
	d->at_us = now;

	const struct controller_config *k = &c->cfg;
	double free_pct = total_b ? 100.0 * (double)free_b / (double)total_b : 0;
	double days_left = d->rate_bps > 1 ? (double)free_b / d->rate_bps / 86400.0 : -1;
	bool full = free_b < (uint64_t)k->disk_full_free_mb * 1024 * 1024;
	bool armed = now - d->first_us >= (int64_t)(RATE_WINDOW_S * 1e6);
	bool low = full || free_pct < (double)k->disk_low_free_percent ||
	           (armed && days_left >= 0 && days_left < (double)k->disk_low_days);
	/* Numbers printed in the C locale: the alert record is language-neutral. */
	char free_mib[32], total_mib[32], pct[32], days[32];
	g_snprintf(free_mib, sizeof free_mib, "%.0f", (double)free_b / 1048576.0);
	g_snprintf(total_mib, sizeof total_mib, "%.0f", (double)total_b / 1048576.0);
	g_snprintf(pct, sizeof pct, "%.1f", free_pct);
	g_snprintf(days, sizeof days, "%.1f", days_left);
	const char *args[] = {k->archive_dir, free_mib, total_mib, pct, days, NULL};
	const char *low_text = "archive_disk";
	if (days_left >= 0)
		low_text = "archive_disk_days";
	else
		args[4] = NULL;
	json_t *extra = archive_disk_json(c);
	raise_or_clear(c, ALERT_ARCHIVE_DISK_FULL, full, "archive_disk_full",
	               (const char *const[]){args[0], args[1], args[2], args[3], NULL},
	               json_deep_copy(extra), "auto: archive disk above the full threshold again");
	raise_or_clear(c, ALERT_ARCHIVE_DISK_LOW, low && !full, low_text, args, extra,
	               "auto: archive disk above the low thresholds again");
}

static void on_timer(void *user)
{
	struct controller *c = user;

	c->archive_disk->timer = NULL; /* fired */
	archive_disk_check(c);
	c->archive_disk->timer =
	    clock_timer_start(c->clock, NULL, (unsigned)c->cfg.disk_check_s * 1000, on_timer, c);
}

void archive_disk_init(struct controller *c)
{
	struct archive_disk *d = g_new0(struct archive_disk, 1);
	d->failing = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	c->archive_disk = d;
	archive_disk_check(c);
	d->timer =
	    clock_timer_start(c->clock, NULL, (unsigned)c->cfg.disk_check_s * 1000, on_timer, c);
}

void archive_disk_free(struct controller *c)
{
	struct archive_disk *d = c->archive_disk;
	if (!d)
		return;
	clock_timer_stop(c->clock, d->timer);
	g_hash_table_destroy(d->failing);
	g_free(d);
	c->archive_disk = NULL;
}

json_t *archive_disk_json(struct controller *c)
{
	struct archive_disk *d = c->archive_disk;
	if (!d || !d->have)
		return NULL;
	json_t *o = json_pack("{s:s, s:I, s:I, s:I}", "path", c->cfg.archive_dir, "free_bytes",
	                      (json_int_t)d->free_bytes, "total_bytes", (json_int_t)d->total_bytes,
	                      "write_bytes_per_s", (json_int_t)d->rate_bps);
	json_object_set_new(o, "days_left",
	                    d->rate_bps > 1 ? json_real((double)d->free_bytes / d->rate_bps / 86400.0)
	                                    : json_null());
	return o;
}

void archive_write_failed(struct controller *c, const char *name, const char *what,
                          const char *why)
{
	struct archive_disk *d = c->archive_disk;
	/* Once per failing archive: the alert itself is copied into the tender's archive,
	 * which fails the same way and must not raise it again (nor recurse). */
	if (!d || !name || g_hash_table_contains(d->failing, name))
		return;
	g_hash_table_add(d->failing, g_strdup(name));
	struct alert_subject s;
	subject_for(name, &s);
	alert_raise_text(
	    c, ALERT_ARCHIVE_WRITE_FAILED, &s, "archive_write_failed",
	    (const char *[]){name, what ? what : "a write", why ? why : "unknown error", NULL},
	    json_pack("{s:s}", "archive", name));
	archive_disk_check(c);
}

void archive_write_ok(struct controller *c, const char *name)
{
	struct archive_disk *d = c->archive_disk;
	if (!d || !name || !g_hash_table_contains(d->failing, name))
		return;
	g_hash_table_remove(d->failing, name); /* first: clearing writes into the archive */
	struct alert_subject s;
	subject_for(name, &s);
	alert_clear(c, ALERT_ARCHIVE_WRITE_FAILED, &s, "auto: the archive takes writes again");
}
