/* fuzz_config: configuration files through config_load and every getter.
 *
 * The input is written to a memfd and loaded by its /proc/self/fd path (nothing is left
 * behind in /tmp). Each key of each group is then read as a string, an integer in two
 * ranges and a boolean, as the daemons' loaders do.
 *
 * Groups named door* also go through the room agent's door_config_load and
 * door_config_validate.
 *
 * Every input also goes through the controller's controller_config_load.
 *
 * Invariants: a refusal names the file (and the group and key for a getter) and returns
 * the documented code; an accepted string is non-empty; an accepted integer lies in the
 * asked range; defaults apply exactly when a key is absent. The controller's loader
 * refuses with -EINVAL and an error naming the file (and the group and key when the file
 * itself loaded), or fills every path as a non-empty absolute path (archive_dir under
 * state_dir when relative) and every [alerts] and [controller] limit within its range, the default
 * exactly when the key is absent. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "controller_config.h"
#include "door.h"
#include "fuzz.h"

#define CONFIG_MAX_SIZE (64 * 1024)

static void check_refusal(const GError *err, const char *path, const char *group, const char *key)
{
	FUZZ_CHECK(err && err->message, "refused without an error");
	FUZZ_CHECK(g_str_has_prefix(err->message, path), "error does not name the file: %s",
	           err->message);
	char *where = g_strdup_printf("[%s] %s:", group, key);
	FUZZ_CHECK(strstr(err->message, where), "error does not name %s: %s", where, err->message);
	g_free(where);
}

static void read_key(struct config *cf, const char *path, const char *group, const char *key)
{
	GError *err = NULL;
	char *s = config_string(cf, group, key, NULL, &err);
	if (s) {
		FUZZ_CHECK(*s && !err, "[%s] %s: empty string accepted", group, key);
		char *resolved = config_resolve(cf, s);
		FUZZ_CHECK(resolved && g_path_is_absolute(resolved), "[%s] %s: relative resolve",
		           group, key);
		g_free(resolved);
		g_free(s);
	} else {
		check_refusal(err, path, group, key);
		g_clear_error(&err);
	}

	static const int64_t ranges[][2] = {{1, 65535}, {INT64_MIN, INT64_MAX}, {-5, -5}};
	for (size_t i = 0; i < G_N_ELEMENTS(ranges); i++) {
		int64_t n = 12345;
		int rc = config_int(cf, group, key, false, 0, ranges[i][0], ranges[i][1], &n, &err);
		if (rc == 0) {
			FUZZ_CHECK(!err && n >= ranges[i][0] && n <= ranges[i][1],
			           "[%s] %s: %" G_GINT64_FORMAT " accepted outside the range",
			           group, key, (gint64)n);
		} else {
			FUZZ_CHECK(rc == -EINVAL && n == 12345, "[%s] %s: config_int rc %d", group,
			           key, rc);
			check_refusal(err, path, group, key);
			g_clear_error(&err);
		}
	}

	bool b = false;
	int rc = config_bool(cf, group, key, false, &b, &err);
	if (rc != 0) {
		FUZZ_CHECK(rc == -EINVAL, "[%s] %s: config_bool rc %d", group, key, rc);
		check_refusal(err, path, group, key);
		g_clear_error(&err);
	}
}

/* The door section of an agent's config: the lock relay's lines and timings. */
static void read_door(GKeyFile *kf, const char *group)
{
	struct door_config dc;
	door_config_defaults(&dc);
	GError *err = NULL;
	int rc = door_config_load(kf, group, &dc, &err);
	if (rc == 0) {
		FUZZ_CHECK(!err, "[%s] door config loaded with an error set", group);
		rc = door_config_validate(&dc, &err);
		if (rc == 0)
			FUZZ_CHECK(
			    dc.pulse_ms >= 100 && dc.pulse_ms <= 600000 && dc.debounce_ms <= 1000 &&
			        dc.held_alarm_ms > dc.held_prealarm_ms &&
			        !dc.wiegand_d0 == !dc.wiegand_d1,
			    "[%s] door config validated out of its documented ranges", group);
	}
	if (rc != 0) {
		FUZZ_CHECK(rc == -EINVAL && err && strstr(err->message, group),
		           "[%s] door config refused (rc %d) without naming the group: %s", group,
		           rc, err ? err->message : "no error");
		g_clear_error(&err);
	}
	door_config_clear(&dc);
}

static void read_absent(struct config *cf, const char *path, const char *group)
{
	const char *key = "evalroom-fuzz-absent";
	GError *err = NULL;
	char *s = config_string(cf, group, key, "dflt", &err);
	FUZZ_CHECK(s && strcmp(s, "dflt") == 0, "absent key without its default");
	g_free(s);
	FUZZ_CHECK(!config_string(cf, group, key, NULL, &err), "absent required key accepted");
	check_refusal(err, path, group, key);
	g_clear_error(&err);
	int64_t n = 0;
	FUZZ_CHECK(config_int(cf, group, key, true, 7, 0, 10, &n, &err) == 0 && n == 7,
	           "absent int without its default");
	FUZZ_CHECK(config_int(cf, group, key, false, 7, 0, 10, &n, &err) == -ENOENT,
	           "absent required int accepted");
	check_refusal(err, path, group, key);
	g_clear_error(&err);
	bool b = false;
	FUZZ_CHECK(config_bool(cf, group, key, true, &b, &err) == 0 && b, "absent bool");
}

static void check_limit(GKeyFile *kf, const char *group, const char *key, int64_t v, int64_t dflt,
                        int64_t min, int64_t max)
{
	if (!kf || !g_key_file_has_key(kf, group, key, NULL))
		FUZZ_CHECK(v == dflt, "[%s] %s absent but %" G_GINT64_FORMAT, group, key,
		           (gint64)v);
	else
		FUZZ_CHECK(v >= min && v <= max, "[%s] %s = %" G_GINT64_FORMAT " accepted", group,
		           key, (gint64)v);
}

static void check_path(const char *what, const char *p)
{
	FUZZ_CHECK(p && *p && g_path_is_absolute(p), "controller %s '%s' is not an absolute path",
	           what, p ? p : "(null)");
}

/* The controller's own loader on the same file; CF is NULL when config_load refused it. */
static void check_controller(struct config *cf, const char *path)
{
	struct controller_config k = {0};
	GError *err = NULL;
	int rc = controller_config_load(&k, path, &err);
	if (rc != 0) {
		FUZZ_CHECK(rc == -EINVAL && err && g_str_has_prefix(err->message, path),
		           "controller_config_load rc %d without an error naming the file: %s", rc,
		           err ? err->message : "(none)");
		if (cf)
			FUZZ_CHECK(strstr(err->message, "] ") && strchr(err->message, '['),
			           "controller refusal does not name the group and key: %s",
			           err->message);
		g_error_free(err);
		controller_config_free(&k);
		return;
	}
	FUZZ_CHECK(cf && !err, "controller config accepted a file config_load refuses");
	GKeyFile *kf = config_keyfile(cf);
	FUZZ_CHECK(k.mqtt_uri && *k.mqtt_uri, "controller config without an MQTT URI");
	check_path("ca", k.ca);
	check_path("cert", k.cert);
	check_path("key", k.key);
	check_path("state_dir", k.state_dir);
	check_path("archive_dir", k.archive_dir);
	check_path("signing_key", k.signing_key);
	if (!g_key_file_has_key(kf, "controller", "state_dir", NULL))
		FUZZ_CHECK(!strcmp(k.state_dir, "/var/lib/evalroom"), "default state_dir %s",
		           k.state_dir);
	if (!g_key_file_has_key(kf, "controller", "archive_dir", NULL)) {
		char *dflt = g_build_filename(k.state_dir, "archive", NULL);
		FUZZ_CHECK(!strcmp(k.archive_dir, dflt), "default archive_dir %s", k.archive_dir);
		g_free(dflt);
	}
	check_limit(kf, "alerts", "clock_skew_limit_ms", k.clock_skew_limit_ms, 2000, 1,
	            3600 * 1000);
	check_limit(kf, "alerts", "offline_grace_ms", k.offline_grace_ms, 2000, 1, 600 * 1000);
	check_limit(kf, "alerts", "never_connected_ms", k.never_connected_ms, 15000, 1,
	            3600 * 1000);
	check_limit(kf, "controller", "admission_window_s", k.admission_window_s, 300, 10,
	            24 * 3600);
	check_limit(kf, "controller", "retention_days", k.retention_days, 0, 0, 36500);
	check_limit(kf, "controller", "login_code_valid_s", k.login_code_valid_s, 12 * 3600, 60,
	            7 * 24 * 3600);
	check_limit(kf, "requests", "burst", k.request_burst, 50, 1, 100000);
	check_limit(kf, "requests", "refill_per_s", k.request_refill_per_s, 20, 0, 100000);
	controller_config_free(&k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	fuzz_init();
	if (size > CONFIG_MAX_SIZE)
		return 0;
	if (fd < 0) {
		fd = memfd_create("evalroom-fuzz-config", MFD_CLOEXEC);
		FUZZ_CHECK(fd >= 0, "memfd_create failed");
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	FUZZ_CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, data, size, 0) == (ssize_t)size,
	           "cannot write the config");

	GError *err = NULL;
	struct config *cf = config_load(path, &err);
	if (!cf) {
		FUZZ_CHECK(err && g_str_has_prefix(err->message, path),
		           "config_load refusal does not name the file");
		g_error_free(err);
		check_controller(NULL, path);
		return 0;
	}
	check_controller(cf, path);
	FUZZ_CHECK(!err && strcmp(config_path(cf), path) == 0, "config_load: path or error");
	char **groups = g_key_file_get_groups(config_keyfile(cf), NULL);
	for (char **g = groups; *g; g++) {
		char **keys = g_key_file_get_keys(config_keyfile(cf), *g, NULL, NULL);
		for (char **k = keys; k && *k; k++)
			read_key(cf, path, *g, *k);
		g_strfreev(keys);
		read_absent(cf, path, *g);
		if (g_str_has_prefix(*g, "door"))
			read_door(config_keyfile(cf), *g);
	}
	g_strfreev(groups);
	config_free(cf);
	return 0;
}
