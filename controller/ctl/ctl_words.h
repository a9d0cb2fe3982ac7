/* The words the controller sends for states (a door's "forced_open", a person's
 * "admitted"), shown to people in their language by every evalroomctl command. */
#pragma once

/* ctl_state_word: VALUE, a state word the controller sends, in the reader's language:
 * the catalogue's entry with the message context CONTEXT. The contexts the web console
 * also shows ("door state", "agent state", "seat state", "stream state", "alert state",
 * "room kind") are marked once, in controller/console/www/wall.js (STATE_WORDS); those
 * only evalroomctl shows ("person state", "draw state", "archive state", "audit
 * outcome", "custody record", "unconfirmed room") in ctl_words.c. A word the catalogue
 * lacks (a newer controller's) is shown as sent, an empty or missing one as "-". Static
 * storage. */
const char *ctl_state_word(const char *context, const char *value);
