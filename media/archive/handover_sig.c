/* A handover's signed text and the check of its signatures (handover_sig.h). */
#include "handover_sig.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

#include "cert_sig.h"

char *handover_message(const struct handover_fields *h, const char *role, int64_t signed_at)
{
	return g_strdup_printf("evalroom handover v1\n"
	                       "handover %" G_GINT64_FORMAT "\n"
	                       "tender %s\npost %s\nfrom %s\nto %s\n"
	                       "ordered_by %s\nordered_at %" G_GINT64_FORMAT "\n"
	                       "role %s\nsigned_at %" G_GINT64_FORMAT "\n"
	                       "reason %zu\n%s\n",
	                       h->id, h->tender, h->post, h->from, h->to, h->ordered_by,
	                       h->ordered_at, role, signed_at, strlen(h->reason), h->reason);
}

int handover_fields_of(const json_t *obj, struct handover_fields *out)
{
	const json_t *id = json_object_get(obj, "handover"),
	             *at = json_object_get(obj, "ordered_at");
	const char **text[] = {&out->tender, &out->post,   &out->from,
	                       &out->to,     &out->reason, &out->ordered_by};
	static const char *const keys[] = {"tender", "post", "from", "to", "reason", "ordered_by"};
	if (!json_is_integer(id) || !json_is_integer(at))
		return -EINVAL;
	out->id = json_integer_value(id);
	out->ordered_at = json_integer_value(at);
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		*text[i] = json_string_value(json_object_get(obj, keys[i]));
		if (!*text[i])
			return -EINVAL;
	}
	return 0;
}

/* One signature entry S of the handover H: 0 and its algorithm, or -EBADMSG with *why. */
static int entry_check(const struct handover_fields *h, const json_t *s, X509 *ca, const char **alg,
                       char **why)
{
	const char *role = json_string_value(json_object_get(s, "role"));
	const char *who = json_string_value(json_object_get(s, "identity"));
	const char *cert = json_string_value(json_object_get(s, "certificate"));
	const char *b64 = json_string_value(json_object_get(s, "signature"));
	const json_t *at = json_object_get(s, "signed_at");
	bool out = g_strcmp0(role, HANDOVER_OUTGOING) == 0;
	if (!who || !cert || !b64 || !json_is_integer(at) ||
	    (!out && g_strcmp0(role, HANDOVER_INCOMING) != 0)) {
		*why = g_strdup("a signature entry without identity, role (outgoing or incoming), "
		                "signed_at, certificate or signature");
		return -EBADMSG;
	}
	if (strcmp(who, out ? h->from : h->to) != 0) {
		*why = g_strdup_printf("%s signed as the %s person, who is %s", who, role,
		                       out ? h->from : h->to);
		return -EBADMSG;
	}
	char identity[65] = "";
	gsize len = 0;
	guchar *sig = g_base64_decode(b64, &len);
	char *msg = handover_message(h, role, json_integer_value(at));
	char *what = g_strdup_printf("handover %" G_GINT64_FORMAT " as %s signs it", h->id, role);
	const char *stored = json_string_value(json_object_get(s, "message"));
	int rc = cert_sig_check_any(cert, sig, len, msg, strlen(msg), what, ca, identity, alg, why);
	if (rc == 0 && stored && strcmp(stored, msg) != 0) {
		*why = g_strdup_printf("the signed text stored with the signature of %s is not the "
		                       "handover's fields as %s signs them",
		                       who, role);
		rc = -EBADMSG;
	}
	if (rc == 0 && strcmp(identity, who) != 0) {
		*why = g_strdup_printf("the signature entry of %s carries the certificate of %s",
		                       who, identity);
		rc = -EBADMSG;
	}
	g_free(what);
	g_free(msg);
	g_free(sig);
	return rc;
}

int handover_event_verify(const json_t *body, X509 *ca, char **report)
{
	struct handover_fields h;
	const json_t *sigs = json_object_get(body, "signatures");
	if (!json_is_array(sigs) || json_array_size(sigs) == 0)
		return -ENOENT;
	GString *bad = g_string_new(NULL);
	if (handover_fields_of(body, &h) != 0) {
		*report = g_strdup("a staff.handover event without its fields: not checked");
		g_string_free(bad, TRUE);
		return -EBADMSG;
	}
	GString *algs[2] = {g_string_new(NULL), g_string_new(NULL)}; /* outgoing, incoming */
	size_t i;
	const json_t *s;
	json_array_foreach(sigs, i, s)
	{
		const char *alg = NULL;
		char *why = NULL;
		if (entry_check(&h, s, ca, &alg, &why) != 0) {
			g_string_append_printf(bad, "\n  INVALID: %s", why);
			g_free(why);
			continue;
		}
		GString *a = algs[strcmp(json_string_value(json_object_get(s, "role")),
		                         HANDOVER_OUTGOING) == 0
		                      ? 0
		                      : 1];
		g_string_append_printf(a, "%s%s", a->len ? ", " : "", alg);
	}
	for (int k = 0; k < 2; k++)
		if (!algs[k]->len)
			g_string_append_printf(bad, "\n  missing: no valid signature of %s (%s)",
			                       k ? h.to : h.from,
			                       k ? HANDOVER_INCOMING : HANDOVER_OUTGOING);
	if (bad->len)
		*report =
		    g_strdup_printf("handover %" G_GINT64_FORMAT ", post %s of %s from %s to %s: "
		                    "NOT signed by both%s",
		                    h.id, h.post, h.tender, h.from, h.to, bad->str);
	else
		*report = g_strdup_printf(
		    "handover %" G_GINT64_FORMAT ", post %s of %s from %s to %s: "
		    "signed by %s (outgoing, %s) and %s (incoming, %s)",
		    h.id, h.post, h.tender, h.from, h.to, h.from, algs[0]->str, h.to, algs[1]->str);
	int rc = bad->len ? -EBADMSG : 0;
	g_string_free(bad, TRUE);
	g_string_free(algs[0], TRUE);
	g_string_free(algs[1], TRUE);
	return rc;
}
