/* The controller's configuration file (controller.conf): [mqtt], [controller], [alerts],
 * [requests], [archive_disk]. */
#include "controller_config.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "config.h"
#include "log.h"

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
	char *ck = config_string(cf, "controller", "credential_key", "site-credential.key", err);
	if (!ck)
		goto out;
	k->credential_key = config_resolve(cf, ck);
	g_free(ck);
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
	    config_int(cf, "controller", "checkpoint_interval_s", true, 60, 1, 3600,
	               &k->checkpoint_interval_s, err) != 0 ||
	    config_int(cf, "controller", "admission_window_s", true, 300, 10, 24 * 3600,
	               &k->admission_window_s, err) != 0 ||
	    config_int(cf, "controller", "escort_window_s", true, 30, 1, 600, &k->escort_window_s,
	               err) != 0 ||
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
	    config_bool(cf, "log", "debug", false, &k->log_debug, err) != 0)
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
    {"[controller] login_code_valid_s", offsetof(struct controller_config, login_code_valid_s)},
    {"[requests] burst", offsetof(struct controller_config, request_burst)},
    {"[requests] refill_per_s", offsetof(struct controller_config, request_refill_per_s)},
    {"[archive_disk] low_free_percent", offsetof(struct controller_config, disk_low_free_percent)},
    {"[archive_disk] low_days", offsetof(struct controller_config, disk_low_days)},
    {"[archive_disk] full_free_mb", offsetof(struct controller_config, disk_full_free_mb)},
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
			log_warnx("reload: %s changed in %s: it takes effect only after a restart "
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
	g_free(k->credential_key);
	g_free(k->id_number_key);
	config_free(k->file);
}
