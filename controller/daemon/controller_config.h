/* The controller's configuration file (controller.conf). */
#pragma once
#include <glib.h>

#include "controller.h"

/* controller_config_load: reads PATH into *K (zeroed by the caller): [mqtt] uri, ca, cert
 * and key (required), [controller] state_dir, archive_dir and signing_key (relative paths
 * resolved against the file's directory, archive_dir against state_dir), the [alerts]
 * limits and the [requests] rate per identity (refill_per_s 0: no limit). Returns 0, or
 * -EINVAL with *ERR naming the file, group and key; on failure *K may hold some fields,
 * so the caller releases it with controller_config_free either way. */
int controller_config_load(struct controller_config *k, const char *path, GError **err);
/* controller_config_free: releases the strings of *K (not K itself). */
void controller_config_free(struct controller_config *k);
/* controller_config_reload: re-read PATH and apply to the running *K what can change
 * while the controller serves: the [alerts] limits, [controller] admission_window_s,
 * login_code_valid_s and retention_days, the [requests] rate, the [archive_disk] thresholds
 * (low_free_percent, low_days, full_free_mb) and [log] debug; each change
 * is logged with its old and new value. Any other key that changed ([mqtt], the
 * directories, the signing key) is not applied: one warning per key says it needs a
 * restart. Returns the number of settings applied, or -EINVAL with *ERR set when the file
 * does not load or a value is invalid (then nothing changes). */
int controller_config_reload(struct controller_config *k, const char *path, GError **err);
