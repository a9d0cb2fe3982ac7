/* Configuration files (GKeyFile). Every getter names the file, group and key in its error. */
#pragma once
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

struct config;

/* config_load: parse PATH. Returns NULL with *err set ("PATH: line N: ...") on failure.
 * Free with config_free. */
struct config *config_load(const char *path, GError **err);
void config_free(struct config *c);

/* The underlying key file, owned by c (for modules with their own loaders). */
GKeyFile *config_keyfile(struct config *c);
const char *config_path(const struct config *c);

/* config_string: a required (def == NULL) or optional string; returns a newly allocated
 * copy (g_free) or NULL with *err set. */
char *config_string(struct config *c, const char *group, const char *key, const char *def,
                    GError **err);
/* config_int: integer within [min, max]; def used when the key is absent and has_def. */
int config_int(struct config *c, const char *group, const char *key, bool has_def, int64_t def,
               int64_t min, int64_t max, int64_t *out, GError **err);
int config_bool(struct config *c, const char *group, const char *key, bool def, bool *out,
                GError **err);
/* config_changes: the keys whose value differs between OLD and NEW, present in one only
 * included, as "[group] key" strings in file order (OLD's first), for a reload to tell
 * what it applied and what needs a restart. Free with g_ptr_array_unref. */
GPtrArray *config_changes(struct config *old, struct config *new);
/* config_path_relative: resolve a path value relative to the config file's directory. */
char *config_resolve(const struct config *c, const char *value);
