/* site.import: the site description into state.db. */
#include "ops.h"
#include "ops_internal.h"

#include <errno.h>
#include <stdlib.h>

#include "msg.h"
#include "site.h"

int ops_site_import(struct state *st, const struct request *req, json_t **result, GError **err)
{
	struct msg_reader r;
	struct site *site = NULL;
	GError *site_err = NULL;
	json_t *obj;
	char *text;
	int rc;

	msg_reader_init(&r, req->args, "args");
	obj = msg_read_object(&r, "site", true);
	rc = msg_reader_finish(&r, err);
	if (rc)
		return rc;
	/* The site parser is the one place that knows the site format; it reads text. */
	text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text)
		return ops_fail(err, REQUEST_ERROR_INVALID, EINVAL, "args.site: cannot be encoded");
	rc = site_load_data(text, strlen(text), &site, &site_err);
	if (rc) {
		rc = ops_fail(err, REQUEST_ERROR_INVALID, EINVAL, "args.site: %s",
		              site_err->message);
		g_error_free(site_err);
		goto out_free_text;
	}
	rc = state_begin(st, err);
	if (rc)
		goto out_free_site;
	rc = state_site_replace(st, site, text, g_get_real_time(), err);
	if (!rc)
		rc = state_site_summary(st, result, err);
	rc = ops_end(st, rc, err);
	if (rc && *result)
		g_clear_pointer(result, json_decref);

out_free_site:
	site_free(site);
out_free_text:
	free(text);
	return rc;
}
