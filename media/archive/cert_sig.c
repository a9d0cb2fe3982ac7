/* Ed25519 signatures against site-CA certificates (cert_sig.h). */
#include "cert_sig.h"

#include <errno.h>
#include <glib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>

#include "signing.h"

X509 *cert_parse(const char *cert_pem, char identity[65], char **why)
{
	BIO *bio = BIO_new_mem_buf(cert_pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	identity[0] = '\0';
	if (!x) {
		*why = g_strdup("the certificate is not a PEM X.509 certificate");
		return NULL;
	}
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, identity, 65);
	return x;
}

bool cert_issued_by(X509 *x, X509 *ca, const char *cn, char **why)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	bool ok = store && ctx && X509_STORE_add_cert(store, ca) == 1 &&
	          X509_STORE_CTX_init(ctx, store, x, NULL) == 1 && X509_verify_cert(ctx) == 1;
	int err = ctx ? X509_STORE_CTX_get_error(ctx) : 0;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	if (!ok)
		*why = g_strdup_printf("the certificate of %s is not one of the site CA's: %s", cn,
		                       X509_verify_cert_error_string(err));
	return ok;
}

X509 *cert_read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	return x;
}

int cert_sig_check(const char *cert_pem, const uint8_t *sig, size_t sig_len, const void *msg,
                   size_t msg_len, const char *what, X509 *ca, char identity[65], char **why)
{
	X509 *x = cert_parse(cert_pem, identity, why);
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	const char *cn = identity;
	int rc = -EBADMSG;
	if (!x)
		goto out;
	key = X509_get_pubkey(x);
	if (!key || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
		*why = g_strdup_printf("the certificate of %s holds no Ed25519 key", cn);
		goto out;
	}
	if (ca && !cert_issued_by(x, ca, cn, why))
		goto out;
	md = EVP_MD_CTX_new();
	if (sig_len != 64 || !md || EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestVerify(md, sig, sig_len, msg, msg_len) != 1) {
		*why = g_strdup_printf("the signature of %s does not match %s and that "
		                       "certificate's key",
		                       cn, what);
		goto out;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	X509_free(x);
	return rc;
}

/* The certificate's public key as the archive's signing code takes it (Ed25519 or SM2, the
 * one verifier of both for checkpoints and people's signatures), or NULL for any other key. */
static struct archive_pubkey *cert_signing_key(X509 *x)
{
	EVP_PKEY *key = X509_get_pubkey(x);
	BIO *bio = key ? BIO_new(BIO_s_mem()) : NULL;
	struct archive_pubkey *out = NULL;
	char *pem = NULL;
	if (bio && PEM_write_bio_PUBKEY(bio, key) == 1) {
		char *data = NULL;
		long n = BIO_get_mem_data(bio, &data);
		pem = g_strndup(data, (gsize)n);
	}
	if (!pem || archive_pubkey_from_pem_any(pem, &out) != 0)
		out = NULL;
	g_free(pem);
	BIO_free(bio);
	EVP_PKEY_free(key);
	return out;
}

int cert_sig_check_any(const char *cert_pem, const uint8_t *sig, size_t sig_len, const void *msg,
                       size_t msg_len, const char *what, X509 *ca, char identity[65],
                       const char **algorithm, char **why)
{
	X509 *x = cert_parse(cert_pem, identity, why);
	struct archive_pubkey *key = NULL;
	const char *cn = identity;
	int rc = -EBADMSG;
	if (!x)
		goto out;
	key = cert_signing_key(x);
	if (!key) {
		*why = g_strdup_printf("the certificate of %s holds no Ed25519 or SM2 key", cn);
		goto out;
	}
	if (ca && !cert_issued_by(x, ca, cn, why))
		goto out;
	if (archive_pubkey_verify(key, msg, msg_len, sig, sig_len) != 0) {
		*why = g_strdup_printf("the signature of %s does not match %s and that "
		                       "certificate's key",
		                       cn, what);
		goto out;
	}
	if (algorithm)
		*algorithm = archive_pubkey_algorithm(key);
	rc = 0;
out:
	archive_pubkey_free(key);
	X509_free(x);
	return rc;
}
