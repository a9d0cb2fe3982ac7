/* Answers to operator, desk and auditor requests (request_reply.c). */
#pragma once
#include <glib.h>
#include <jansson.h>

#include "controller.h"
#include "request.h"

/* request_reply_send: publish the one `response` to request ID (NULL: none could be read)
 * of REQUESTER on ctl/<requester>/resp: RESULT (reference kept by the caller; NULL means
 * {}) when ERR is NULL, else ERR's code and message. With ID and EXPIRES > 0 the answer
 * is kept in the node's replay cache until EXPIRES, so a replay gets it again; with
 * DURABLE (an audited, state-changing request) it is also kept in state.db (secrets it
 * hands out withheld), so a resend after a restart of the controller gets it too. */
void request_reply_send(struct controller *c, const char *requester, const char *id,
                        int64_t expires, bool durable, json_t *result, const GError *err);

/* request_defer: a heap copy of REQ (args referenced) to answer later with request_finish. */
struct request *request_defer(const struct request *req);
/* request_finish: answer a deferred request with RESULT (reference stolen) or ERR: the
 * audit record when the command is audited, c->after_request, the response; and free it. */
void request_finish(struct controller *c, struct request *deferred, json_t *result,
                    const GError *err);
