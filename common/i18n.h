/* Translations: every string a person reads goes through gettext (GLib's <glib/gi18n.h>:
 * _() and N_()), with English as the source and the catalogues in po/ (docs/i18n.md).
 * Machine output (--json, archives, the protocol, journal logs) stays untranslated. */
#pragma once

/* The gettext domain of every evalroom program, and the .mo file's name. */
#define I18N_DOMAIN "evalroom"

/* i18n_init: take the person's locale from the environment (LANG, LC_ALL, LC_MESSAGES)
 * for messages, character types and time, keep numbers in the C locale (machine output
 * stays parseable), and bind the domain to the catalogues: $EVALROOM_LOCALEDIR if set,
 * else share/locale next to the program's bin/ (the build tree's build/share/locale or
 * the installed prefix), else the configured install path. Call first in main(). */
void i18n_init(void);

/* i18n_localedir: the directory i18n_init bound the domain to (static storage). */
const char *i18n_localedir(void);
