/* Operator, desk and auditor requests (ctl/<cn>/req, requests.c). */
#pragma once
#include <stddef.h>

#include "controller.h"

/* requests_handle: one request from REQUESTER (the sender's CN): rate limit, validation,
 * role check, replay protection, the handler, the audit and exactly one response. */
void requests_handle(struct controller *c, const char *requester, const void *payload, size_t len);
