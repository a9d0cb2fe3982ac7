#include "clientid_rule.h"

#include <string.h>

bool clientid_rule_allowed(const char *cn, const char *id)
{
	if (!cn || !id)
		return false;
	size_t n = strlen(cn);
	if (n == 0 || strchr(cn, CLIENTID_SEPARATOR) || strncmp(id, cn, n) != 0)
		return false;
	return id[n] == '\0' || (id[n] == CLIENTID_SEPARATOR && id[n + 1] != '\0');
}
