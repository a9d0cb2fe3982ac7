/* The controller's configuration file (controller.conf): [mqtt], [controller], [alerts],
 * [requests], [archive_disk], [custody], [copies]. */
#include "controller_config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "archive.h"
#include "config.h"
#include "leaf.h"
#include "local_time.h"
#include "log.h"

/* [console]: the web console, on when the group is there (docs/console.md). port is
 * required then; bind defaults to 127.0.0.1, ca to [mqtt] ca; cert and key are the
 * console's server certificate (provisioning writes console/console.{crt,key});
 * time_zone, the zone of the times its pages show, to [warnings] time_zone (both empty:
 * local_time.h's default). Read after [warnings]. */
static int console_config_load(struct controller_config *k, struct config *cf, GError **err)
{
	int64_t port = 0;
	char *v;

	if (!g_key_file_has_group(config_keyfile(cf), "console"))
		return 0;
	if (config_int(cf, "console", "port", false, 0, 0, 65535, &port, err) != 0)
		return -EINVAL;
	k->console_port = (unsigned)port;
	if (!(k->console_bind = config_string(cf, "console", "bind", "127.0.0.1", err)))
		return -EINVAL;
	if (!g_hostname_is_ip_address(k->console_bind)) {
		g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
		            "%s: [console] bind: \"%s\" is not an IP address", config_path(cf),
		            k->console_bind);
		return -EINVAL;
	}
	if (!(v = config_string(cf, "console", "cert", NULL, err)))
		return -EINVAL;
	k->console_cert = config_resolve(cf, v);
	g_free(v);
	if (!(v = config_string(cf, "console", "key", NULL, err)))
		return -EINVAL;
	k->console_key = config_resolve(cf, v);
	g_free(v);
	if (!(v = config_string(cf, "console", "ca", k->ca, err)))
		return -EINVAL;
	k->console_ca = config_resolve(cf, v);
	g_free(v);
	if (!(k->console_time_zone = config_string(cf, "console", "time_zone",
	                                           k->warn_time_zone ? k->warn_time_zone : "",
	                                           err)))
		return -EINVAL;
	GTimeZone *tz = local_time_zone_new(k->console_time_zone, err);
	if (!tz) {
		g_prefix_error(err, "%s: [console] time_zone: ", config_path(cf));
		return -EINVAL;
	}
	g_time_zone_unref(tz);
	k->console_on = true;
	return 0;
}

/* "HH:MM" into minutes after midnight; -1 when it is not one. */
static int64_t hhmm(const char *s)
{
	unsigned h, m;
	char end;
	if (!s || sscanf(s, "%2u:%2u%c", &h, &m, &end) != 2 || h > 24 || m > 59 ||
	    (h == 24 && m != 0))
		return -1;
	return h * 60 + m;
}

/* [warnings] (docs/warnings.md). */
static int warnings_load(struct controller_config *k, struct config *cf, GError **err)
{
	if (config_int(cf, "warnings", "breaks_max", true, 3, 1, 1000, &k->warn_breaks_max, err) ||
	    config_int(cf, "warnings", "breaks_window_s", true, 3600, 60, 24 * 3600,
	               &k->warn_breaks_window_s, err) ||
	    config_int(cf, "warnings", "break_max_s", true, 1200, 1, 24 * 3600, &k->warn_break_max_s,
	               err) ||
	    config_int(cf, "warnings", "sync_window_s", true, 5, 1, 600, &k->warn_sync_window_s,
	               err) ||
	    config_int(cf, "warnings", "sync_min", true, 3, 2, 1000, &k->warn_sync_min, err) ||
	    config_int(cf, "warnings", "sync_p_ppm", true, 1000, 1, 1000000, &k->warn_sync_p_ppm,
	               err) ||
	    config_int(cf, "warnings", "vacant_grace_s", true, 120, 1, 24 * 3600,
	               &k->warn_vacant_grace_s, err) ||
	    config_int(cf, "warnings", "entry_max_s", true, 180, 1, 24 * 3600, &k->warn_entry_max_s,
	               err) ||
	    config_int(cf, "warnings", "affinity_min", true, 3, 2, 1000, &k->warn_affinity_min,
	               err) ||
	    config_int(cf, "warnings", "affinity_p_ppm", true, 1000, 1, 1000000,
	               &k->warn_affinity_p_ppm, err))
		return -EINVAL;
	char *hours = config_string(cf, "warnings", "hours", "00:00-24:00", err);
	if (!hours)
		return -EINVAL;
	char *dash = strchr(hours, '-');
	if (dash)
		*dash++ = '\0';
	k->warn_hours_from_min = hhmm(hours);
	k->warn_hours_to_min = dash ? hhmm(dash) : -1;
	g_free(hours);
	if (k->warn_hours_from_min < 0 || k->warn_hours_to_min <= k->warn_hours_from_min) {
		g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
		            "%s: [warnings] hours: expected HH:MM-HH:MM, the first before the second",
		            config_path(cf));
		return -EINVAL;
	}
	if (!(k->warn_time_zone = config_string(cf, "warnings", "time_zone", "", err)) && err &&
	    *err)
		return -EINVAL;
	return 0;
}

int controller_config_load(struct controller_config *k, const char *path, GError **err)
{
	struct config *cf = config_load(path, err);
	if (!cf)
		return -EINVAL;
	char *ca = NULL, *cert = NULL, *key = NULL;
	int rc = -EINVAL;
	if (!(k->mqtt_uri = config_string(cf, "mqtt", "uri", NULL, err)) ||
	    !(ca = config_string(cf, "mqtt", "ca", NULL, err)) ||
	    !(cert = config_string(cf, "mqtt", "cert", NULL, err)) ||
	    !(key = config_string(cf, "mqtt", "key", NULL, err)))
		goto out;
	/* A present but empty optional key is an error too (config_string returns NULL). */
	char *state_dir = config_string(cf, "controller", "state_dir", "/var/lib/evalroom", err);
	if (!state_dir)
		goto out;
	k->state_dir = config_resolve(cf, state_dir);
	g_free(state_dir);
	k->ca = config_resolve(cf, ca);
	k->cert = config_resolve(cf, cert);
	k->key = config_resolve(cf, key);
	char *archive_dir = config_string(cf, "controller", "archive_dir", "archive", err);
	if (!archive_dir)
		goto out;
	k->archive_dir = g_path_is_absolute(archive_dir)
	                     ? g_strdup(archive_dir)
	                     : g_build_filename(k->state_dir, archive_dir, NULL);
	g_free(archive_dir);
	int64_t days = 0;
	if (config_int(cf, "controller", "retention_days", true, 0, 0, 36500, &days, err) != 0)
		goto out;
	k->retention_days = (int)days;
	char *sk = config_string(cf, "controller", "signing_key", "controller-signing.key", err);
	if (!sk)
		goto out;
	k->signing_key = config_resolve(cf, sk);
	g_free(sk);
	k->site = config_string(cf, "controller", "site", ARCHIVE_DEFAULT_SITE, err);
	if (!k->site)
		goto out;
	if (!leaf_tender_id_valid(k->site)) {
		g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
		            "[controller] site %s: must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63} (it "
		            "names the site in every archive checkpoint's origin)",
		            k->site);
		goto out;
	}
	char *sk2 = config_string(cf, "controller", "second_signing_key", "", err);
	if (!sk2 && err && *err)
		goto out;
	k->second_signing_key = sk2 && *sk2 ? config_resolve(cf, sk2) : NULL;
	g_free(sk2);
	char *tsa = config_string(cf, "controller", "tsa_url", "", err);
	if (!tsa && err && *err)
		goto out;
	if (tsa && *tsa && !g_str_has_prefix(tsa, "http://")) {
		g_set_error(
		    err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
		    "[controller] tsa_url %s: must be http://HOST[:PORT]/PATH (RFC 3161 over "
		    "HTTP; the replies are signed)",
		    tsa);
		g_free(tsa);
		goto out;
	}
	k->tsa_url = tsa && *tsa ? tsa : NULL;
	if (!k->tsa_url)
		g_free(tsa);
	if (config_int(cf, "controller", "tsa_timeout_ms", true, 10000, 100, 120000,
	               &k->tsa_timeout_ms, err) != 0)
		goto out;
	char *ck = config_string(cf, "controller", "credential_key", "site-credential.key", err);
	if (!ck)
		goto out;
	k->credential_key = config_resolve(cf, ck);
	g_free(ck);
	k->copy_stores = config_string(cf, "copies", "stores", "", err);
	if (!k->copy_stores && err && *err)
		goto out;
	char *ik = config_string(cf, "controller", "id_number_key", "", err);
	if (!ik && err && *err)
		goto out;
	k->id_number_key = ik && *ik ? config_resolve(cf, ik)
	                             : g_build_filename(k->state_dir, "id-number.key", NULL);
	g_free(ik);
	if (config_int(cf, "alerts", "clock_skew_limit_ms", true, 2000, 1, 3600 * 1000,
	               &k->clock_skew_limit_ms, err) != 0 ||
	    config_int(cf, "alerts", "offline_grace_ms", true, 2000, 1, 600 * 1000,
	               &k->offline_grace_ms, err) != 0 ||
	    config_int(cf, "alerts", "never_connected_ms", true, 15000, 1, 3600 * 1000,
	               &k->never_connected_ms, err) != 0 ||
	    config_int(cf, "alerts", "venue_fault_warn_s", true, 3 * 3600, 1, 24 * 3600,
	               &k->venue_fault_warn_s, err) != 0 ||
	    config_int(cf, "alerts", "venue_fault_limit_s", true, 4 * 3600, 1, 24 * 3600,
	               &k->venue_fault_limit_s, err) != 0 ||
	    config_int(cf, "controller", "checkpoint_interval_s", true, 60, 1, 3600,
	               &k->checkpoint_interval_s, err) != 0 ||
	    config_int(cf, "controller", "admission_window_s", true, 300, 10, 24 * 3600,
	               &k->admission_window_s, err) != 0 ||
	    config_int(cf, "controller", "escort_window_s", true, 30, 1, 600, &k->escort_window_s,
	               err) != 0 ||
	    config_int(cf, "staff", "max_in_row", true, 3, 1, 1000, &k->staff_max_in_row, err) !=
	        0 ||
	    config_int(cf, "staff", "tenure_warn_days", true, 365, 1, 36500,
	               &k->staff_tenure_warn_days, err) != 0 ||
	    config_int(cf, "staff", "tenure_limit_days", true, 730, 1, 36500,
	               &k->staff_tenure_limit_days, err) != 0 ||
	    config_int(cf, "draw_room", "review_due_s", true, 7 * 24 * 3600, 1, 365 * 24 * 3600,
	               &k->draw_room_review_due_s, err) != 0 ||
	    config_int(cf, "draw_room", "check_s", true, 60, 1, 3600, &k->draw_room_check_s, err) !=
	        0 ||
	    config_int(cf, "controller", "login_code_valid_s", true, 12 * 3600, 60, 7 * 24 * 3600,
	               &k->login_code_valid_s, err) != 0 ||
	    config_int(cf, "requests", "burst", true, 50, 1, 100000, &k->request_burst, err) != 0 ||
	    config_int(cf, "requests", "refill_per_s", true, 20, 0, 100000,
	               &k->request_refill_per_s, err) != 0 ||
	    config_int(cf, "archive_disk", "check_s", true, 10, 1, 3600, &k->disk_check_s, err) !=
	        0 ||
	    config_int(cf, "archive_disk", "low_free_percent", true, 10, 0, 99,
	               &k->disk_low_free_percent, err) != 0 ||
	    config_int(cf, "archive_disk", "low_days", true, 7, 0, 3650, &k->disk_low_days, err) !=
	        0 ||
	    config_int(cf, "archive_disk", "full_free_mb", true, 256, 0, 1024 * 1024,
	               &k->disk_full_free_mb, err) != 0 ||
	    config_int(cf, "custody", "retention_days", true, 5479, 0, 36525,
	               &k->custody_retention_days, err) != 0 ||
	    config_int(cf, "copies", "due_s", true, 3600, 1, 30 * 86400, &k->copies_due_s, err) !=
	        0 ||
	    config_int(cf, "copies", "check_s", true, 300, 1, 86400, &k->copies_check_s, err) !=
	        0 ||
	    config_int(cf, "copies", "reverify_s", true, 86400, 1, 30 * 86400,
	               &k->copies_reverify_s, err) != 0 ||
	    config_int(cf, "copies", "verify_mb_per_s", true, 64, 0, 100000,
	               &k->copies_verify_mb_per_s, err) != 0 ||
	    config_bool(cf, "log", "debug", false, &k->log_debug, err) != 0 ||
	    warnings_load(k, cf, err) != 0)
		goto out;
	if (console_config_load(k, cf, err) != 0)
		goto out;
	rc = 0;
out:
	g_free(ca);
	g_free(cert);
	g_free(key);
	if (rc == 0)
		k->file = cf;
	else
		config_free(cf);
	return rc;
}

/* What a reload may change: read at each use, none of them opens a door or moves data. */
static const struct {
	const char *name;
	size_t offset; /* of an int64_t in struct controller_config */
} reloadable[] = {
    {"[alerts] clock_skew_limit_ms", offsetof(struct controller_config, clock_skew_limit_ms)},
    {"[alerts] offline_grace_ms", offsetof(struct controller_config, offline_grace_ms)},
    {"[alerts] never_connected_ms", offsetof(struct controller_config, never_connected_ms)},
    {"[controller] admission_window_s", offsetof(struct controller_config, admission_window_s)},
    {"[controller] escort_window_s", offsetof(struct controller_config, escort_window_s)},
    {"[staff] max_in_row", offsetof(struct controller_config, staff_max_in_row)},
    {"[staff] tenure_warn_days", offsetof(struct controller_config, staff_tenure_warn_days)},
    {"[staff] tenure_limit_days", offsetof(struct controller_config, staff_tenure_limit_days)},
    {"[draw_room] review_due_s", offsetof(struct controller_config, draw_room_review_due_s)},
    {"[controller] login_code_valid_s", offsetof(struct controller_config, login_code_valid_s)},
    {"[requests] burst", offsetof(struct controller_config, request_burst)},
    {"[requests] refill_per_s", offsetof(struct controller_config, request_refill_per_s)},
    {"[archive_disk] low_free_percent", offsetof(struct controller_config, disk_low_free_percent)},
    {"[archive_disk] low_days", offsetof(struct controller_config, disk_low_days)},
    {"[archive_disk] full_free_mb", offsetof(struct controller_config, disk_full_free_mb)},
    {"[warnings] breaks_max", offsetof(struct controller_config, warn_breaks_max)},
    {"[warnings] breaks_window_s", offsetof(struct controller_config, warn_breaks_window_s)},
    {"[warnings] break_max_s", offsetof(struct controller_config, warn_break_max_s)},
    {"[warnings] sync_window_s", offsetof(struct controller_config, warn_sync_window_s)},
    {"[warnings] sync_min", offsetof(struct controller_config, warn_sync_min)},
    {"[warnings] sync_p_ppm", offsetof(struct controller_config, warn_sync_p_ppm)},
    {"[warnings] vacant_grace_s", offsetof(struct controller_config, warn_vacant_grace_s)},
    {"[warnings] entry_max_s", offsetof(struct controller_config, warn_entry_max_s)},
    {"[warnings] affinity_min", offsetof(struct controller_config, warn_affinity_min)},
    {"[warnings] affinity_p_ppm", offsetof(struct controller_config, warn_affinity_p_ppm)},
    {"[warnings] hours", offsetof(struct controller_config, warn_hours_from_min)},
    {"[warnings] hours", offsetof(struct controller_config, warn_hours_to_min)},
};

static bool is_reloadable(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(reloadable); i++)
		if (strcmp(reloadable[i].name, name) == 0)
			return true;
	return strcmp(name, "[controller] retention_days") == 0 || strcmp(name, "[log] debug") == 0;
}

int controller_config_reload(struct controller_config *k, const char *path, GError **err)
{
	struct controller_config fresh = {0};
	int applied = 0;

	if (controller_config_load(&fresh, path, err) != 0) {
		controller_config_free(&fresh);
		return -EINVAL;
	}
	GPtrArray *changed = config_changes(k->file, fresh.file);
	for (guint i = 0; i < changed->len; i++)
		if (!is_reloadable(changed->pdata[i]))
			log_warnx(
			    "reload: %s changed in %s: it takes effect only after a restart "
			    "(systemctl restart evalroom-controller); the running value stays",
			    (const char *)changed->pdata[i], path);
	g_ptr_array_unref(changed);
	for (size_t i = 0; i < G_N_ELEMENTS(reloadable); i++) {
		int64_t *now = (int64_t *)((char *)k + reloadable[i].offset);
		int64_t then = *(int64_t *)((char *)&fresh + reloadable[i].offset);
		if (*now == then)
			continue;
		log_info("reload: %s %" G_GINT64_FORMAT " -> %" G_GINT64_FORMAT, reloadable[i].name,
		         *now, then);
		*now = then;
		applied++;
	}
	if (k->retention_days != fresh.retention_days) {
		log_info("reload: [controller] retention_days %d -> %d", k->retention_days,
		         fresh.retention_days);
		k->retention_days = fresh.retention_days;
		applied++;
	}
	if (k->log_debug != fresh.log_debug) {
		log_info("reload: [log] debug %s -> %s", k->log_debug ? "true" : "false",
		         fresh.log_debug ? "true" : "false");
		k->log_debug = fresh.log_debug;
		applied++;
	}
	controller_config_free(&fresh);
	return applied;
}

void controller_config_free(struct controller_config *k)
{
	g_free(k->mqtt_uri);
	g_free(k->ca);
	g_free(k->cert);
	g_free(k->key);
	g_free(k->state_dir);
	g_free(k->archive_dir);
	g_free(k->signing_key);
	g_free(k->site);
	g_free(k->tsa_url);
	g_free(k->second_signing_key);
	g_free(k->credential_key);
	g_free(k->copy_stores);
	g_free(k->id_number_key);
	g_free(k->console_bind);
	g_free(k->console_cert);
	g_free(k->console_key);
	g_free(k->console_ca);
	g_free(k->console_time_zone);
	g_free(k->warn_time_zone);
	config_free(k->file);
}
