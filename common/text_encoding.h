/* Text files people bring (committee lists, site files): UTF-8, or Chinese saved in
 * GB18030, the default of spreadsheet programs on Chinese Windows. */
#pragma once
#include <glib.h>
#include <stdbool.h>

/* text_to_utf8: DATA (LEN bytes) as UTF-8 text, newly allocated: UTF-8 as it is (a
 * leading byte-order mark dropped); otherwise, if it reads as GB18030 and every
 * non-ASCII character it then holds is Chinese text (Han characters, CJK and full-width
 * punctuation, the middle dot of names), converted, with *FROM_GB18030 set. Anything
 * else is refused: NULL with *err saying how to save the file as UTF-8 (translated).
 * NUL bytes are refused too. */
char *text_to_utf8(const char *data, gsize len, bool *from_gb18030, GError **err);
