/* audit.list: read the operator audit log. */
#include "ops.h"
#include "ops_internal.h"

#include "msg.h"

int ops_audit_list(struct state *st, const struct request *req, json_t **result, GError **err)
{
	struct msg_reader r;
	int64_t since, limit;
	json_t *rows;
	int rc;

	msg_reader_init(&r, req->args, "args");
	since = msg_read_int(&r, "since", false, 0, INT64_MAX, 0);
	limit = msg_read_int(&r, "limit", false, 1, 10000, 1000);
	rc = msg_reader_finish(&r, err);
	if (rc)
		return rc;
	rc = state_audit_list(st, since, (unsigned)limit, &rows, err);
	if (rc)
		return rc;
	*result = json_pack("{s:o}", "records", rows);
	return 0;
}
