/* Door configuration: defaults, GKeyFile loading and validation. */
#include "door.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const known_keys[] = {
    "name",
    "lock_line",
    "sensor_line",
    "rex_line",
    "tamper_line",
    "wiegand_d0_line",
    "wiegand_d1_line",
    "lock_active_low",
    "sensor_active_low",
    "rex_active_low",
    "tamper_active_low",
    "debounce_ms",
    "pulse_ms",
    "held_prealarm_ms",
    "held_alarm_ms",
    "wiegand_gap_ms",
    "pin_timeout_ms",
    "fail_mode",
    "on_controller_lost",
    "controller_lost_grace_ms",
};

void door_config_defaults(struct door_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->debounce_ms = 20;
	cfg->pulse_ms = 5000;
	cfg->held_prealarm_ms = 20000;
	cfg->held_alarm_ms = 30000;
	cfg->wiegand_gap_ms = 25;
	cfg->pin_timeout_ms = 10000;
	cfg->fail_mode = DOOR_FAIL_SECURE;
	cfg->on_controller_lost = DOOR_LOST_KEEP;
	cfg->lost_grace_ms = 30000;
}

void door_config_clear(struct door_config *cfg)
{
	g_free(cfg->name);
	g_free(cfg->lock_line);
	g_free(cfg->sensor_line);
	g_free(cfg->rex_line);
	g_free(cfg->tamper_line);
	g_free(cfg->wiegand_d0);
	g_free(cfg->wiegand_d1);
	door_config_defaults(cfg);
}

static int load_string(GKeyFile *kf, const char *group, const char *key, char **out, GError **err)
{
	char *v;

	if (!g_key_file_has_key(kf, group, key, NULL))
		return 0;
	v = g_key_file_get_string(kf, group, key, NULL);
	if (!v || !*v || strlen(v) > 63 || strpbrk(v, " \t")) {
		g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
		            "[%s] %s: a GPIO line name of 1..63 characters without spaces", group,
		            key);
		g_free(v);
		return -EINVAL;
	}
	g_free(*out);
	*out = v;
	return 0;
}

static int load_bool(GKeyFile *kf, const char *group, const char *key, bool *out, GError **err)
{
	GError *e = NULL;
	gboolean v;

	if (!g_key_file_has_key(kf, group, key, NULL))
		return 0;
	v = g_key_file_get_boolean(kf, group, key, &e);
	if (e) {
		g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
		            "[%s] %s: must be true or false", group, key);
		g_error_free(e);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int load_ms(GKeyFile *kf, const char *group, const char *key, unsigned min, unsigned max,
                   unsigned *out, GError **err)
{
	char *v, *end;
	unsigned long n;

	if (!g_key_file_has_key(kf, group, key, NULL))
		return 0;
	v = g_key_file_get_string(kf, group, key, NULL);
	errno = 0;
	n = v && *v >= '0' && *v <= '9' ? strtoul(v, &end, 10) : 0;
	if (!v || *v < '0' || *v > '9' || *end || errno || n < min || n > max) {
		g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
		            "[%s] %s: must be an integer from %u to %u (milliseconds)", group, key,
		            min, max);
		g_free(v);
		return -EINVAL;
	}
	g_free(v);
	*out = (unsigned)n;
	return 0;
}

static int load_choice(GKeyFile *kf, const char *group, const char *key, const char *a,
                       const char *b, int *out, GError **err)
{
	char *v;

	if (!g_key_file_has_key(kf, group, key, NULL))
		return 0;
	v = g_key_file_get_string(kf, group, key, NULL);
	if (v && !strcmp(v, a)) {
		*out = 0;
	} else if (v && !strcmp(v, b)) {
		*out = 1;
	} else {
		g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
		            "[%s] %s: must be %s or %s", group, key, a, b);
		g_free(v);
		return -EINVAL;
	}
	g_free(v);
	return 0;
}

static int check_keys(GKeyFile *kf, const char *group, GError **err)
{
	gchar **keys = g_key_file_get_keys(kf, group, NULL, NULL);
	size_t i, j;
	int rc = 0;

	if (!keys) {
		g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND,
		            "[%s]: no such group", group);
		return -EINVAL;
	}
	for (i = 0; keys[i] && !rc; i++) {
		for (j = 0; j < G_N_ELEMENTS(known_keys); j++)
			if (!strcmp(keys[i], known_keys[j]))
				break;
		if (j == G_N_ELEMENTS(known_keys)) {
			g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
			            "[%s] %s: unknown key", group, keys[i]);
			rc = -EINVAL;
		}
	}
	g_strfreev(keys);
	return rc;
}

int door_config_load(GKeyFile *kf, const char *group, struct door_config *cfg, GError **err)
{
	int fail = 0, lost = 0;
	int rc;

	door_config_defaults(cfg);
	rc = check_keys(kf, group, err);
	if (!rc && g_key_file_has_key(kf, group, "name", NULL)) {
		cfg->name = g_key_file_get_string(kf, group, "name", NULL);
		if (!cfg->name ||
		    !g_regex_match_simple("^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$", cfg->name, 0, 0)) {
			g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
			            "[%s] name: an identifier of 1..32 letters, digits, _ or -",
			            group);
			rc = -EINVAL;
		}
	} else if (!rc) {
		cfg->name = g_strdup(group);
	}
	if (!rc)
		rc = load_string(kf, group, "lock_line", &cfg->lock_line, err);
	if (!rc)
		rc = load_string(kf, group, "sensor_line", &cfg->sensor_line, err);
	if (!rc)
		rc = load_string(kf, group, "rex_line", &cfg->rex_line, err);
	if (!rc)
		rc = load_string(kf, group, "tamper_line", &cfg->tamper_line, err);
	if (!rc)
		rc = load_string(kf, group, "wiegand_d0_line", &cfg->wiegand_d0, err);
	if (!rc)
		rc = load_string(kf, group, "wiegand_d1_line", &cfg->wiegand_d1, err);
	if (!rc)
		rc = load_bool(kf, group, "lock_active_low", &cfg->lock_active_low, err);
	if (!rc)
		rc = load_bool(kf, group, "sensor_active_low", &cfg->sensor_active_low, err);
	if (!rc)
		rc = load_bool(kf, group, "rex_active_low", &cfg->rex_active_low, err);
	if (!rc)
		rc = load_bool(kf, group, "tamper_active_low", &cfg->tamper_active_low, err);
	if (!rc)
		rc = load_ms(kf, group, "debounce_ms", 0, 1000, &cfg->debounce_ms, err);
	if (!rc)
		rc = load_ms(kf, group, "pulse_ms", 1, 600000, &cfg->pulse_ms, err);
	if (!rc)
		rc =
		    load_ms(kf, group, "held_prealarm_ms", 1, 3600000, &cfg->held_prealarm_ms, err);
	if (!rc)
		rc = load_ms(kf, group, "held_alarm_ms", 1, 3600000, &cfg->held_alarm_ms, err);
	if (!rc)
		rc = load_ms(kf, group, "wiegand_gap_ms", 5, 500, &cfg->wiegand_gap_ms, err);
	if (!rc)
		rc = load_ms(kf, group, "pin_timeout_ms", 1000, 120000, &cfg->pin_timeout_ms, err);
	if (!rc)
		rc = load_ms(kf, group, "controller_lost_grace_ms", 1000, 3600000,
		             &cfg->lost_grace_ms, err);
	if (!rc)
		rc = load_choice(kf, group, "fail_mode", "secure", "safe", &fail, err);
	if (!rc)
		rc = load_choice(kf, group, "on_controller_lost", "keep", "fail_state", &lost, err);
	if (!rc) {
		cfg->fail_mode = fail ? DOOR_FAIL_SAFE : DOOR_FAIL_SECURE;
		cfg->on_controller_lost = lost ? DOOR_LOST_FAIL : DOOR_LOST_KEEP;
		rc = door_config_validate(cfg, err);
	}
	if (rc)
		door_config_clear(cfg);
	return rc;
}

static int require(const char *value, const char *name, const char *key, GError **err)
{
	if (value)
		return 0;
	g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND, "[%s] %s: required",
	            name, key);
	return -EINVAL;
}

int door_config_validate(const struct door_config *cfg, GError **err)
{
	const char *name = cfg->name ? cfg->name : "door";
	const char *lines[6] = {cfg->lock_line,   cfg->sensor_line, cfg->rex_line,
	                        cfg->tamper_line, cfg->wiegand_d0,  cfg->wiegand_d1};
	size_t i, j;

	if (require(cfg->lock_line, name, "lock_line", err) ||
	    require(cfg->sensor_line, name, "sensor_line", err) ||
	    require(cfg->rex_line, name, "rex_line", err))
		return -EINVAL;
	if (!cfg->wiegand_d0 != !cfg->wiegand_d1) {
		g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
		            "[%s] wiegand_d0_line/wiegand_d1_line: give both or neither", name);
		return -EINVAL;
	}
	for (i = 0; i < G_N_ELEMENTS(lines); i++)
		for (j = i + 1; j < G_N_ELEMENTS(lines); j++)
			if (lines[i] && lines[j] && !strcmp(lines[i], lines[j])) {
				g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
				            "[%s] line %s is used twice", name, lines[i]);
				return -EINVAL;
			}
	if (cfg->pulse_ms == 0 || cfg->held_prealarm_ms == 0 ||
	    cfg->held_alarm_ms <= cfg->held_prealarm_ms) {
		g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
		            "[%s] held_alarm_ms: must be greater than held_prealarm_ms (and "
		            "pulse_ms, held_prealarm_ms above 0)",
		            name);
		return -EINVAL;
	}
	if (cfg->debounce_ms > 1000 || cfg->wiegand_gap_ms < 5 || cfg->wiegand_gap_ms > 500) {
		g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
		            "[%s] debounce_ms (0..1000) or wiegand_gap_ms (5..500) out of range",
		            name);
		return -EINVAL;
	}
	if (cfg->lost_grace_ms == 0 || cfg->lost_grace_ms > 3600000) {
		g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
		            "[%s] controller_lost_grace_ms: out of range (1000..3600000)", name);
		return -EINVAL;
	}
	return 0;
}
