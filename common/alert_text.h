/* Alert texts: the sentence an operator reads about an alert, kept language-neutral in
 * the record as a text id and its arguments (strings, numbers already printed in the C
 * locale), and rendered in the reader's language where it is shown (evalroomctl alerts,
 * watch). The controller also stores the English rendering as the alert's "detail", for
 * --json readers, archives and older clients. docs/i18n.md. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* At most this many arguments per text. */
#define ALERT_TEXT_ARGS_MAX 9

/* alert_text_template: the English template of text ID (static storage; its %s are the
 * arguments in order), or NULL when ID is no alert text. */
const char *alert_text_template(const char *id);

/* alert_text_kind: the alert kind (its name, e.g. "door_forced") text ID is a detail
 * of, or NULL when ID is no alert text. */
const char *alert_text_kind(const char *id);

/* alert_kind_has_text: whether some alert text is a detail of alert kind KIND (a name). */
bool alert_kind_has_text(const char *kind);

/* alert_kind_text: the English name a person reads for alert kind KIND ("door_forced":
 * "door forced open"; translate it with gettext where shown), or NULL when KIND is
 * none. */
const char *alert_kind_text(const char *kind);

/* alert_text_render: text ID with ARGS (N strings) in English (TRANSLATE false) or in the
 * locale's language (TRANSLATE true, through gettext). A new string (g_free), or NULL when
 * ID is unknown or N is not the template's number of arguments. */
char *alert_text_render(const char *id, const char *const *args, size_t n, bool translate);

/* alert_text_format: substitute ARGS (N strings) into TEMPLATE, which may hold only %%,
 * exactly N unnumbered %s (in order), or numbered %<k>$s with k from 1 to N (so a
 * translation can reorder them), not both kinds. A new string (g_free), or NULL when
 * TEMPLATE holds any other conversion or does not match N: a template can never make it
 * read an argument it was not given. */
char *alert_text_format(const char *tmpl, const char *const *args, size_t n);
