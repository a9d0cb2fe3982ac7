/* Operator, desk and auditor requests (ctl/<cn>/req, requests.c). */
#pragma once
#include <stddef.h>

#include "controller.h"

/* requests_handle: one request from REQUESTER (the sender's CN): rate limit, validation,
 * role check, replay protection, the handler, the audit and exactly one response. */
void requests_handle(struct controller *c, const char *requester, const void *payload, size_t len);

/* requests_run_local: COMMAND with ARGS (borrowed) as REQUESTER (a certificate CN), for a
 * front door other than MQTT (the web console): the same rate limit for state-changing
 * commands, role check, handler and operator audit as requests_handle, without the
 * replay cache (the caller gets the answer directly). Only commands answered at once
 * may be run this way (-EINVAL with *err otherwise; rooms, alerts.list, alert.ack and
 * alert.resolve are). Returns 0 with *result (new reference), or -errno with *err in
 * the REQUEST_ERROR domain. */
int requests_run_local(struct controller *c, const char *requester, const char *command,
                       json_t *args, json_t **result, GError **err);
