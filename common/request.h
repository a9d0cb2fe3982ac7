/* Operator, desk, auditor and witness requests to the controller.
 *
 * A request arrives on evalroom/v1/ctl/<cn>/req as
 *   {"v":1,"kind":"request","seq":..,"ts":..,"id":"<client id>","expires":<UTC us>,
 *    "command":"tender.add","args":{...}}
 * and is answered on evalroom/v1/ctl/<cn>/resp with
 *   {"v":1,"kind":"response","seq":..,"ts":..,"id":"<same>","ok":true,"result":{...}}
 * or {"ok":false,"error":{"code":"invalid|denied|not_found|conflict|expired|unavailable|
 *     rate_limited|internal","message":"..."}}.
 * The requester's identity is the <cn> of the topic, which the broker's ACL ties to the
 * client certificate; its role is the CN's prefix. */
#pragma once
#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

enum role {
	ROLE_NONE = 0,
	ROLE_OPERATOR = 1 << 0,
	ROLE_DESK = 1 << 1,
	ROLE_AUDITOR = 1 << 2,
	ROLE_WITNESS = 1 << 3,    /* enters the draw's entropy (docs/draw.md), notes (witness.md) */
	ROLE_SUPERVISOR = 1 << 4, /* the regulator's representative (docs/witness.md) */
	ROLE_REP = 1 << 5,        /* the tenderer's representative (docs/witness.md) */
};

struct request {
	char requester[64]; /* certificate CN, e.g. "operator-alice" */
	enum role role;
	char id[64];
	char command[48];
	int64_t expires; /* UTC us */
	json_t *args;    /* validated object, borrowed for the handler's call */
	bool audited;    /* recorded in the audit log when answered */
};

/* Error codes of a failed request, sent as error.code. */
GQuark request_error_quark(void);
#define REQUEST_ERROR request_error_quark()
enum request_error_code {
	REQUEST_ERROR_INVALID = 1,
	REQUEST_ERROR_DENIED,
	REQUEST_ERROR_NOT_FOUND,
	REQUEST_ERROR_CONFLICT,
	REQUEST_ERROR_EXPIRED,
	REQUEST_ERROR_UNAVAILABLE,
	REQUEST_ERROR_RATE_LIMITED, /* over its sender's request rate: not executed, retry later */
	REQUEST_ERROR_INTERNAL,
};
const char *request_error_code_name(int code);

/* request_role_of: the role encoded in a certificate CN's prefix. */
enum role request_role_of(const char *cn);
