/* What the controller and evalroomctl share of the request protocol. */
#include <string.h>

#include "request.h"

G_DEFINE_QUARK(evalroom_request_error, request_error)

static const char *const error_names[] = {
    [REQUEST_ERROR_INVALID] = "invalid",           [REQUEST_ERROR_DENIED] = "denied",
    [REQUEST_ERROR_NOT_FOUND] = "not_found",       [REQUEST_ERROR_CONFLICT] = "conflict",
    [REQUEST_ERROR_EXPIRED] = "expired",           [REQUEST_ERROR_UNAVAILABLE] = "unavailable",
    [REQUEST_ERROR_RATE_LIMITED] = "rate_limited", [REQUEST_ERROR_INTERNAL] = "internal",
};

const char *request_error_code_name(int code)
{
	if (code > 0 && code < (int)G_N_ELEMENTS(error_names) && error_names[code])
		return error_names[code];
	return "internal";
}

enum role request_role_of(const char *cn)
{
	if (g_str_has_prefix(cn, "operator-"))
		return ROLE_OPERATOR;
	if (g_str_has_prefix(cn, "desk-"))
		return ROLE_DESK;
	if (g_str_has_prefix(cn, "auditor-"))
		return ROLE_AUDITOR;
	if (g_str_has_prefix(cn, "witness-"))
		return ROLE_WITNESS;
	if (g_str_has_prefix(cn, "supervisor-"))
		return ROLE_SUPERVISOR;
	if (g_str_has_prefix(cn, "rep-"))
		return ROLE_REP;
	return ROLE_NONE;
}
