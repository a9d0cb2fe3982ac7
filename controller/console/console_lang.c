/* The web console's language from Accept-Language (console_lang.h). */
#include "console_lang.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

/* The code of LANGS that TAG (a language tag, e.g. "zh-CN") names, or NULL; EXACT
 * whether only a full match counts. */
static const char *match(const char *tag, const char *const *langs, size_t n, int exact)
{
	for (size_t i = 0; i < n; i++) {
		const char *l = langs[i];
		size_t k = 0;
		while (l[k] && tag[k] &&
		       (g_ascii_tolower(l[k]) == g_ascii_tolower(tag[k]) ||
		        (l[k] == '_' && tag[k] == '-')))
			k++;
		if (!l[k] && !tag[k])
			return l; /* the whole tag */
		if (exact)
			continue;
		/* The language alone: "zh" of "zh_CN" against "zh" or "zh-Hans-CN". */
		size_t lang_len = strcspn(l, "_");
		size_t tag_len = strcspn(tag, "-");
		if (lang_len == tag_len && g_ascii_strncasecmp(l, tag, lang_len) == 0)
			return l;
	}
	return NULL;
}

char *console_lang_pick(const char *accept, const char *const *langs, size_t n, char *out)
{
	double best_q = 0;
	const char *best = "en";
	char **items = g_strsplit(accept ? accept : "", ",", 32);

	/* The first of the highest q wins; a tag matching a code exactly beats one that
	 * matches by its language alone ("zh-TW" is zh_TW's when there is one). */
	for (int i = 0; items[i]; i++) {
		char *item = g_strstrip(g_strdup(items[i]));
		char *semi = strchr(item, ';');
		double q = 1;
		if (semi) {
			*semi = '\0';
			const char *p = strstr(semi + 1, "q=");
			q = p ? g_ascii_strtod(p + 2, NULL) : 1;
		}
		g_strstrip(item);
		const char *hit = NULL;
		if (g_ascii_strncasecmp(item, "en", 2) == 0 && (!item[2] || item[2] == '-'))
			hit = "en";
		else if (strlen(item) < CONSOLE_LANG_MAX && !(hit = match(item, langs, n, 1)))
			hit = match(item, langs, n, 0);
		if (hit && q > best_q) {
			best_q = q;
			best = hit;
		}
		g_free(item);
	}
	g_strfreev(items);
	g_strlcpy(out, best, CONSOLE_LANG_MAX);
	return out;
}

int console_lang_valid(const char *code, const char *const *langs, size_t n)
{
	if (!code)
		return 0;
	if (strcmp(code, "en") == 0)
		return 1;
	for (size_t i = 0; i < n; i++)
		if (strcmp(code, langs[i]) == 0)
			return 1;
	return 0;
}
