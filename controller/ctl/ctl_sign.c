/* The person's own signature in evalroomctl (ctl_sign.h). */
#include "ctl_sign.h"

#include <errno.h>
#include <glib.h>
#include <glib/gi18n.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

#include "signing.h"

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

char *ctl_sign_any(const char *path, const void *msg, size_t len, const char **alg, char **why)
{
	struct archive_signer *s = NULL;
	GByteArray *sig = NULL;
	char *b64 = NULL;
	int rc = archive_signer_load_any(path, &s);
	if (rc == -EINVAL)
		*why = g_strdup_printf(_("%s: not an Ed25519 or SM2 private key (the watchers' "
		                         "signing certificates come from evalroomctl provision)"),
		                       path);
	else if (rc != 0)
		*why = g_strdup_printf(_("%s: cannot read the private key: %s"), path,
		                       g_strerror(-rc));
	else if (archive_signer_sign_alloc(s, msg, len, &sig) != 0)
		*why = g_strdup_printf(_("%s: signing failed"), path);
	else {
		b64 = g_base64_encode(sig->data, sig->len);
		*alg = archive_signer_algorithm(s);
	}
	if (sig)
		g_byte_array_unref(sig);
	archive_signer_free(s);
	return b64;
}

size_t ctl_signing_keys(const struct ctl *ctl, char *paths[2][2])
{
	static const char *const kinds[] = {"signing", "sm2-signing"};
	const char *crt = ctl_cert_path(ctl), *key = ctl_key_path(ctl);
	size_t n = 0;
	for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
		if (!g_str_has_suffix(crt, ".crt") || !g_str_has_suffix(key, ".key"))
			break;
		char *c = g_strdup_printf("%.*s.%s.crt", (int)strlen(crt) - 4, crt, kinds[i]);
		char *k = g_strdup_printf("%.*s.%s.key", (int)strlen(key) - 4, key, kinds[i]);
		if (g_file_test(c, G_FILE_TEST_EXISTS) && g_file_test(k, G_FILE_TEST_EXISTS)) {
			paths[n][0] = c;
			paths[n][1] = k;
			n++;
		} else {
			g_free(c);
			g_free(k);
		}
	}
	if (n == 0) {
		paths[0][0] = g_strdup(crt);
		paths[0][1] = g_strdup(key);
		n = 1;
	}
	return n;
}
