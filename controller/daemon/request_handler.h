/* The controller's request handlers: how a command of the request protocol
 * (common/request.h) is answered inside evalroom-controller. */
#pragma once
#include <glib.h>
#include <jansson.h>

#include "request.h"

struct controller;

/* A handler either answers at once (returns 0 with *result set, a new reference, or
 * -errno with *err set in REQUEST_ERROR), or, for work that waits on an agent,
 * returns REQUEST_PENDING after keeping a copy made with request_defer(); it then
 * answers later with request_finish() (both in request_reply.h). */
#define REQUEST_PENDING 1
typedef int (*request_fn)(struct controller *c, const struct request *req, json_t **result,
                          GError **err);

struct request_handler {
	const char *command; /* "tender.add" */
	unsigned roles;      /* bitmask of enum role allowed */
	request_fn fn;
	bool audited; /* recorded in the operator audit log (every state-changing command) */
};

/* A flag beside the roles in request_handler.roles (no role has this bit): the answers are
 * large and harmless to compute again (an archive's bytes), so they are not kept in the
 * replay cache and a long retrieval does not hold its chunks in memory. */
#define REQUEST_BULK (1u << 31)
/* A flag beside the roles: only a front door inside the controller (the web console,
 * requests_run_local) runs this command; from the broker it is an unknown command. */
#define REQUEST_LOCAL (1u << 30)
