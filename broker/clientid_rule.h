/* Which MQTT client ids a certificate identity may use (broker/clientid_bind.c). */
#pragma once
#include <stdbool.h>

#define CLIENTID_SEPARATOR ':'

/* clientid_rule_allowed: true if a client whose certificate CN is CN may connect with
 * client id ID: ID is CN itself, or CN, ':' and at least one more character. A CN that
 * holds ':' is never allowed anything (it could otherwise name another's sessions). */
bool clientid_rule_allowed(const char *cn, const char *id);
