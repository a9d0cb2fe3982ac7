/* The person's own signature in evalroomctl (ctl_sign.h). */
#include "ctl_sign.h"

#include <glib.h>
#include <glib/gi18n.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

char *ctl_sign_with(const char *path, const void *msg, size_t msg_len, char **why)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char sig[64];
	size_t len = sizeof(sig);
	char *b64 = NULL;
	if (f)
		fclose(f);
	if (!key)
		*why = g_strdup_printf(_("%s: cannot read the private key"), path);
	else if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519)
		*why = g_strdup_printf(_("%s: not an Ed25519 key (re-provision: the signing "
		                         "certificates of watchers and custodians carry Ed25519 keys)"),
		                       path);
	else if (!md || EVP_DigestSignInit(md, NULL, NULL, NULL, key) != 1 ||
	         EVP_DigestSign(md, sig, &len, msg, msg_len) != 1)
		*why = g_strdup_printf(_("%s: signing failed"), path);
	else
		b64 = g_base64_encode(sig, len);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	return b64;
}

void ctl_signing_paths(const struct ctl *ctl, char **cert_path, char **key_path)
{
	const char *crt = ctl_cert_path(ctl), *key = ctl_key_path(ctl);
	char *c = g_str_has_suffix(crt, ".crt")
	              ? g_strdup_printf("%.*s.signing.crt", (int)strlen(crt) - 4, crt)
	              : NULL;
	char *k = g_str_has_suffix(key, ".key")
	              ? g_strdup_printf("%.*s.signing.key", (int)strlen(key) - 4, key)
	              : NULL;
	if (c && k && g_file_test(c, G_FILE_TEST_EXISTS) && g_file_test(k, G_FILE_TEST_EXISTS)) {
		*cert_path = c;
		*key_path = k;
		return;
	}
	g_free(c);
	g_free(k);
	*cert_path = g_strdup(crt);
	*key_path = g_strdup(key);
}
