/* The web console's language: which of the compiled-in catalogues a browser is given
 * (docs/i18n.md, "The web console"). English is the source language and needs none. */
#pragma once
#include <stddef.h>

#define CONSOLE_LANG_MAX 16

/* console_lang_pick: the language for a browser that sent ACCEPT (an Accept-Language
 * header, may be NULL) when the console has catalogues for LANGS (N codes such as
 * "zh_CN"), into OUT (CONSOLE_LANG_MAX bytes): the available language the browser
 * ranks highest (by q, then order), a tag matching a code exactly ("zh-CN", any case)
 * or by its language alone ("zh", "zh-Hans-CN" match "zh_CN"), English for "en" or
 * when nothing matches. Returns OUT. */
char *console_lang_pick(const char *accept, const char *const *langs, size_t n, char *out);

/* console_lang_valid: whether CODE is one of LANGS (N codes) or "en". */
int console_lang_valid(const char *code, const char *const *langs, size_t n);
