/* The identity in a verified client certificate (console_identity.h). */
#include "console_identity.h"

#include <errno.h>
#include <openssl/x509.h>
#include <string.h>

/* A CN the site provisions: letters, digits, '-' and '_' (schemas/topics.md). */
static bool identity_plain(const unsigned char *s, int n)
{
	if (n <= 0 || n >= CONSOLE_IDENTITY_MAX)
		return false;
	for (int i = 0; i < n; i++)
		if (!g_ascii_isalnum(s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

int console_identity_of(GTlsCertificate *peer, GTlsCertificateFlags errors, char *id,
                        enum role *role)
{
	GByteArray *der = NULL;
	X509 *x = NULL;
	int rc = -EACCES;

	*id = '\0';
	*role = ROLE_NONE;
	if (!peer || errors != 0)
		return -EACCES;
	g_object_get(peer, "certificate", &der, NULL);
	if (!der)
		return -EACCES;
	const unsigned char *p = der->data;
	x = d2i_X509(NULL, &p, (long)der->len);
	if (!x)
		goto out;
	X509_NAME *name = X509_get_subject_name(x);
	int at = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
	/* Exactly one CN: a second one would make "which is the identity" ambiguous. */
	if (at < 0 || X509_NAME_get_index_by_NID(name, NID_commonName, at) >= 0)
		goto out;
	ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at));
	const unsigned char *s = ASN1_STRING_get0_data(cn);
	int n = ASN1_STRING_length(cn);
	if (!identity_plain(s, n))
		goto out;
	memcpy(id, s, (size_t)n);
	id[n] = '\0';
	*role = request_role_of(id);
	rc = 0;
out:
	X509_free(x);
	g_byte_array_unref(der);
	return rc;
}

const char *console_role_name(enum role role)
{
	switch (role) {
	case ROLE_OPERATOR:
		return "operator";
	case ROLE_DESK:
		return "desk";
	case ROLE_AUDITOR:
		return "auditor";
	case ROLE_WITNESS:
		return "witness";
	default:
		return "none";
	}
}
