#include "config.h"

#include <errno.h>

struct config {
	GKeyFile *kf;
	char *path;
};

struct config *config_load(const char *path, GError **err)
{
	struct config *c = g_new0(struct config, 1);
	c->kf = g_key_file_new();
	c->path = g_strdup(path);
	GError *e = NULL;
	if (!g_key_file_load_from_file(c->kf, path, G_KEY_FILE_NONE, &e)) {
		g_set_error(err, e->domain, e->code, "%s: %s", path, e->message);
		g_error_free(e);
		config_free(c);
		return NULL;
	}
	return c;
}

void config_free(struct config *c)
{
	if (!c)
		return;
	g_key_file_unref(c->kf);
	g_free(c->path);
	g_free(c);
}

GKeyFile *config_keyfile(struct config *c)
{
	return c->kf;
}

const char *config_path(const struct config *c)
{
	return c->path;
}

char *config_string(struct config *c, const char *group, const char *key, const char *def,
                    GError **err)
{
	if (!g_key_file_has_key(c->kf, group, key, NULL)) {
		if (def)
			return g_strdup(def);
		g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
		            "%s: [%s] %s: missing (required)", c->path, group, key);
		return NULL;
	}
	char *v = g_key_file_get_string(c->kf, group, key, NULL);
	if (!v || !*v) {
		g_free(v);
		g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
		            "%s: [%s] %s: empty value", c->path, group, key);
		return NULL;
	}
	return v;
}

int config_int(struct config *c, const char *group, const char *key, bool has_def, int64_t def,
               int64_t min, int64_t max, int64_t *out, GError **err)
{
	if (!g_key_file_has_key(c->kf, group, key, NULL)) {
		if (has_def) {
			*out = def;
			return 0;
		}
		g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
		            "%s: [%s] %s: missing (required)", c->path, group, key);
		return -ENOENT;
	}
	char *v = g_key_file_get_string(c->kf, group, key, NULL);
	gint64 n;
	GError *e = NULL;
	if (!v || !g_ascii_string_to_signed(v, 10, min, max, &n, &e)) {
		g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
		            "%s: [%s] %s: \"%s\" is not an integer in [%" G_GINT64_FORMAT
		            ", %" G_GINT64_FORMAT "]",
		            c->path, group, key, v ? v : "", (gint64)min, (gint64)max);
		g_clear_error(&e);
		g_free(v);
		return -EINVAL;
	}
	g_free(v);
	*out = n;
	return 0;
}

int config_bool(struct config *c, const char *group, const char *key, bool def, bool *out,
                GError **err)
{
	if (!g_key_file_has_key(c->kf, group, key, NULL)) {
		*out = def;
		return 0;
	}
	GError *e = NULL;
	gboolean b = g_key_file_get_boolean(c->kf, group, key, &e);
	if (e) {
		g_set_error(err, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
		            "%s: [%s] %s: expected true or false", c->path, group, key);
		g_error_free(e);
		return -EINVAL;
	}
	*out = b;
	return 0;
}

char *config_resolve(const struct config *c, const char *value)
{
	if (g_path_is_absolute(value))
		return g_strdup(value);
	char *dir = g_path_get_dirname(c->path);
	char *p = g_build_filename(dir, value, NULL);
	g_free(dir);
	return p;
}

/* changes_from: keys of A whose value in B differs or is absent, into OUT (once each). */
static void changes_from(GKeyFile *a, GKeyFile *b, GPtrArray *out, GHashTable *seen)
{
	gchar **groups = g_key_file_get_groups(a, NULL);
	for (gchar **g = groups; *g; g++) {
		gchar **keys = g_key_file_get_keys(a, *g, NULL, NULL);
		for (gchar **k = keys; keys && *k; k++) {
			gchar *va = g_key_file_get_value(a, *g, *k, NULL);
			gchar *vb = g_key_file_get_value(b, *g, *k, NULL);
			if (g_strcmp0(va, vb) != 0) {
				gchar *name = g_strdup_printf("[%s] %s", *g, *k);
				if (g_hash_table_add(seen, name))
					g_ptr_array_add(out, g_strdup(name));
			}
			g_free(va);
			g_free(vb);
		}
		g_strfreev(keys);
	}
	g_strfreev(groups);
}

GPtrArray *config_changes(struct config *old, struct config *new)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	changes_from(old->kf, new->kf, out, seen);
	changes_from(new->kf, old->kf, out, seen);
	g_hash_table_destroy(seen);
	return out;
}
