/* session.create and tender.add. */
#include "ops.h"
#include "ops_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "msg.h"
#include "text_safe.h"

static bool ops_date_valid(const char *s)
{
	unsigned y, m, d;
	char tail;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    sscanf(s, "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3)
		return false;
	for (int i = 0; i < 10; i++) {
		if (i != 4 && i != 7 && !g_ascii_isdigit(s[i]))
			return false;
	}
	return y >= 2000 && y <= 9999 && g_date_valid_dmy((GDateDay)d, (GDateMonth)m, (GDateYear)y);
}

int ops_session_create(struct state *st, const struct request *req, json_t **result, GError **err)
{
	struct msg_reader r;
	const char *date, *id;
	int rc;

	msg_reader_init(&r, req->args, "args");
	date = msg_read_string(&r, "date", true, 10);
	id = msg_read_id(&r, "id", false);
	rc = msg_reader_finish(&r, err);
	if (rc)
		return rc;
	if (!ops_date_valid(date))
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		                "args.date: \"%s\" is not a date YYYY-MM-DD", date);
	if (!id)
		id = date;
	rc = state_begin(st, err);
	if (rc)
		return rc;
	rc = state_session_add(st, id, date, g_get_real_time(), err);
	rc = ops_end(st, rc, err);
	if (!rc)
		*result =
		    json_pack("{s:s, s:s, s:s}", "session", id, "date", date, "state", "open");
	return rc;
}

int ops_tender_add(struct state *st, const struct request *req, json_t **result, GError **err)
{
	struct msg_reader r;
	struct state_session session;
	const char *sid, *id, *name, *tenderer, *agency;
	int rc;

	msg_reader_init(&r, req->args, "args");
	sid = msg_read_id(&r, "session", true);
	id = msg_read_id(&r, "id", true);
	name = msg_read_string(&r, "name", true, STATE_NAME_SIZE - 1);
	tenderer = msg_read_string(&r, "tenderer", false, STATE_NAME_SIZE - 1);
	agency = msg_read_string(&r, "agency", false, STATE_NAME_SIZE - 1);
	rc = msg_reader_finish(&r, err);
	if (rc)
		return rc;
	if ((tenderer && (!*tenderer || !text_clean(tenderer))) ||
	    (agency && (!*agency || !text_clean(agency))))
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		                "args.tenderer, args.agency: a name without control characters, "
		                "newlines or bidirectional overrides, not empty");
	if (!*name)
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL, "args.name: must not be empty");
	if (!text_clean(name))
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL,
		                "args.name: control characters, newlines or bidirectional "
		                "overrides are not allowed in a name");
	rc = state_begin(st, err);
	if (rc)
		return rc;
	rc = state_session_get(st, sid, &session, err);
	if (!rc && strcmp(session.state, "open"))
		rc = ops_fail(err, REQUEST_ERROR_CONFLICT, EPERM, "session \"%s\" is %s", sid,
		              session.state);
	if (!rc)
		rc = state_tender_add(st, id, sid, name, g_get_real_time(), err);
	if (!rc && (tenderer || agency))
		rc = state_tender_set_parties(st, id, tenderer, agency, err);
	rc = ops_end(st, rc, err);
	if (!rc) {
		*result = json_pack("{s:s, s:s, s:s, s:s}", "tender", id, "session", sid, "name",
		                    name, "state", "open");
		if (tenderer)
			json_object_set_new(*result, "tenderer", json_string(tenderer));
		if (agency)
			json_object_set_new(*result, "agency", json_string(agency));
	}
	return rc;
}
