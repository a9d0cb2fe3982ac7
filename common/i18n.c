#include "i18n.h"

#include <glib.h>
#include <libintl.h>
#include <locale.h>

#ifndef EVALROOM_LOCALEDIR
#define EVALROOM_LOCALEDIR "/usr/local/share/locale"
#endif

static char localedir[4096];

/* share/locale beside the directory of the running program, if it exists. */
static char *program_localedir(void)
{
	char *exe = g_file_read_link("/proc/self/exe", NULL);
	if (!exe)
		return NULL;
	char *bin = g_path_get_dirname(exe);
	char *dir = g_build_filename(bin, "..", "share", "locale", NULL);
	g_free(bin);
	g_free(exe);
	if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
		g_free(dir);
		return NULL;
	}
	return dir;
}

void i18n_init(void)
{
	setlocale(LC_ALL, "");
	setlocale(LC_NUMERIC, "C");
	const char *env = g_getenv("EVALROOM_LOCALEDIR");
	char *found = env && *env ? g_strdup(env) : program_localedir();
	g_strlcpy(localedir, found ? found : EVALROOM_LOCALEDIR, sizeof(localedir));
	g_free(found);
	bindtextdomain(I18N_DOMAIN, localedir);
	bind_textdomain_codeset(I18N_DOMAIN, "UTF-8");
	textdomain(I18N_DOMAIN);
}

const char *i18n_localedir(void)
{
	return localedir;
}
