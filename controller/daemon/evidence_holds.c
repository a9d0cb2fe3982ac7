/* Evidence holds on the site's recordings: listing and release (evidence_holds.h). */
#include "evidence_holds.h"

#include <errno.h>

#include "clock.h"
#include "custody.h"
#include "log.h"
#include "msg.h"
#include "ops.h"
#include "state.h"
#include "text_safe.h"

#define REASON_MAX 500

static int handle_holds(struct controller *c, const struct request *req, json_t **result,
                        GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	bool all = msg_read_bool(&r, "all", false, false);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	json_t *holds = NULL;
	int rc = state_evidence_holds(c->state, !all, &holds, err);
	if (rc == 0)
		*result = json_pack("{s:o}", "holds", holds);
	return rc;
}

static int handle_release(struct controller *c, const struct request *req, json_t **result,
                          GError **err)
{
	struct msg_reader r;
	msg_reader_init(&r, req->args, "args");
	int64_t hold = msg_read_int(&r, "hold", true, 1, INT64_MAX, 0);
	const char *reason = msg_read_string(&r, "reason", true, REASON_MAX);
	if (msg_reader_finish(&r, err) != 0)
		return -EINVAL;
	if (!*reason || !text_clean(reason))
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		                "member 'args.reason': say why in one line of plain text");
	int rc = state_evidence_hold_release(c->state, hold, req->requester, reason,
	                                     clock_source_now_us(c->clock), err);
	if (rc != 0)
		return rc;
	log_info("evidence hold %" G_GINT64_FORMAT " released by %s: %s", hold, req->requester,
	         reason);
	*result = json_pack("{s:I, s:s}", "released", (json_int_t)hold, "by", req->requester);
	return 0;
}

const struct request_handler evidence_request_handlers[] = {
    {"evidence.holds", ROLE_OPERATOR | ROLE_AUDITOR | ROLE_SUPERVISOR | ROLE_WITNESS, handle_holds,
     false},
    {"evidence.release", CUSTODY_HOLD_ROLES, handle_release, true},
    {NULL, 0, NULL, false},
};
