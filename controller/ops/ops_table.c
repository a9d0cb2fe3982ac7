/* The operations table and the audit record of a request. */
#include "ops.h"
#include "ops_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

const struct ops_entry ops_table[] = {
    {"site.import", ROLE_OPERATOR, ops_site_import, true},
    {"session.create", ROLE_OPERATOR, ops_session_create, true},
    {"tender.add", ROLE_OPERATOR, ops_tender_add, true},
    {"committee.import", ROLE_OPERATOR, ops_committee_import, true},
    {"draw.commit", ROLE_OPERATOR, ops_draw_commit, true},
    {"draw.show", ROLE_OPERATOR | ROLE_AUDITOR | ROLE_WITNESS, ops_draw_show, false},
    {"draw.abandon", ROLE_OPERATOR, ops_draw_abandon, true},
    {"draw.run", ROLE_WITNESS, ops_draw_run, true},
    {"draw.replace", ROLE_OPERATOR, ops_draw_replace, true},
    {"draw.export", ROLE_OPERATOR | ROLE_AUDITOR, ops_draw_export, true},
    {"audit.list", ROLE_OPERATOR | ROLE_AUDITOR, ops_audit_list, false},
    {NULL, 0, NULL, false},
};

const struct ops_entry *ops_find(const char *command)
{
	for (const struct ops_entry *e = ops_table; e->command; e++) {
		if (strcmp(e->command, command) == 0)
			return e;
	}
	return NULL;
}

int ops_end(struct state *st, int rc, GError **err)
{
	if (rc) {
		state_rollback(st);
		return rc;
	}
	rc = state_commit(st, err);
	if (rc)
		state_rollback(st);
	return rc;
}

int ops_fail(GError **err, int code, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (err && !*err)
		*err = g_error_new_valist(REQUEST_ERROR, code, fmt, ap);
	va_end(ap);
	return -errnum;
}

/* Long members (a committee CSV, a whole site) would swamp the log and the CSV holds
 * identity numbers; the log keeps their size and a digest instead. An identity number
 * presented at the desk, and a card number, are withheld entirely (state.db keeps only
 * HMACs of identity numbers, and a plain digest of either is easily reversed). */
static json_t *ops_audit_summary(const json_t *args)
{
	json_t *sum = json_object();
	const char *key;
	json_t *v;

	if (!json_is_object(args))
		return sum;
	json_object_foreach((json_t *)args, key, v)
	{
		if (strcmp(key, "id_number") == 0 || strcmp(key, "card") == 0) {
			json_object_set_new(sum, key, json_string("withheld"));
		} else if (json_is_string(v) && json_string_length(v) <= 64 && strcmp(key, "csv")) {
			json_object_set(sum, key, v);
		} else if (json_is_integer(v) || json_is_boolean(v)) {
			json_object_set(sum, key, v);
		} else {
			char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
			gchar *digest =
			    g_compute_checksum_for_string(G_CHECKSUM_SHA256, text ? text : "", -1);

			json_object_set_new(sum, key,
			                    json_pack("{s:I, s:s}", "bytes",
			                              (json_int_t)(text ? strlen(text) : 0),
			                              "sha256", digest));
			g_free(digest);
			free(text);
		}
	}
	return sum;
}

int ops_audit_record(struct state *st, const struct request *req, int64_t now,
                     const GError *outcome)
{
	json_t *sum = ops_audit_summary(req->args);
	char *args = json_dumps(sum, JSON_COMPACT | JSON_SORT_KEYS);
	GError *err = NULL;
	const char *code = "ok";
	int rc;

	if (outcome)
		code = outcome->domain == REQUEST_ERROR ? request_error_code_name(outcome->code)
		                                        : "internal";
	rc = state_audit_append(st, now, req->requester, req->command, args ? args : "{}", code,
	                        outcome ? outcome->message : NULL, &err);
	if (rc) {
		g_warning("audit log: %s %s by %s not recorded: %s", req->command, code,
		          req->requester, err->message);
		g_error_free(err);
	}
	free(args);
	json_decref(sum);
	return rc;
}
