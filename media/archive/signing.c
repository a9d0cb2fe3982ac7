#include "signing.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct archive_signer {
	EVP_PKEY *key;
	int sm2; /* SM2 with SM3 (GB/T 32918), else Ed25519 */
};

struct archive_pubkey {
	EVP_PKEY *key;
	int sm2;
};

/* The distinguishing identifier of SM2 signatures: GB/T 35276's default. */
#define SM2_ID "1234567812345678"

/* Opens a new file exclusively with `mode` so a private key is never briefly world-readable. */
static FILE *open_new(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	FILE *f;

	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (!f)
		close(fd);
	return f;
}

int archive_keygen(const char *priv_path, const char *pub_path)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	FILE *fpriv = NULL, *fpub = NULL;
	int rc = -EIO;

	if (!key)
		return -EIO;
	fpriv = open_new(priv_path, 0600);
	if (!fpriv) {
		rc = -errno;
		goto err_key;
	}
	fpub = open_new(pub_path, 0644);
	if (!fpub) {
		rc = -errno;
		goto err_priv;
	}
	if (!PEM_write_PrivateKey(fpriv, key, NULL, NULL, 0, NULL, NULL) ||
	    !PEM_write_PUBKEY(fpub, key))
		goto err_pub;
	if (fflush(fpriv) || fsync(fileno(fpriv)) || fflush(fpub) || fsync(fileno(fpub)))
		goto err_pub;
	rc = 0;
err_pub:
	if (fclose(fpub) && rc == 0)
		rc = -EIO;
err_priv:
	if (fclose(fpriv) && rc == 0)
		rc = -EIO;
err_key:
	EVP_PKEY_free(key);
	return rc;
}

int archive_signer_load(const char *priv_path, struct archive_signer **out)
{
	FILE *f = fopen(priv_path, "r");
	EVP_PKEY *key;

	if (!f)
		return -errno;
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!key)
		return -EINVAL;
	if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(key);
		return -EINVAL;
	}
	*out = g_new0(struct archive_signer, 1);
	(*out)->key = key;
	return 0;
}

int archive_signer_load_any(const char *priv_path, struct archive_signer **out)
{
	FILE *f = fopen(priv_path, "r");
	EVP_PKEY *key;
	int sm2;

	if (!f)
		return -errno;
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!key)
		return -EINVAL;
	sm2 = EVP_PKEY_is_a(key, "SM2");
	if (!sm2 && EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(key);
		return -EINVAL;
	}
	*out = g_new0(struct archive_signer, 1);
	(*out)->key = key;
	(*out)->sm2 = sm2;
	return 0;
}

const char *archive_signer_algorithm(const struct archive_signer *s)
{
	return s->sm2 ? "sm2-sm3" : "ed25519";
}

/* A digest context for KEY: pure Ed25519 (no digest), or SM3 with the SM2 identifier. */
static EVP_MD_CTX *digest_ctx(EVP_PKEY *key, int sm2, int sign)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	if (!ctx)
		return NULL;
	if (!sm2) {
		ok = sign ? EVP_DigestSignInit(ctx, NULL, NULL, NULL, key)
		          : EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key);
	} else {
		pctx = EVP_PKEY_CTX_new(key, NULL);
		ok = pctx && EVP_PKEY_CTX_set1_id(pctx, SM2_ID, strlen(SM2_ID)) > 0;
		if (ok) {
			EVP_MD_CTX_set_pkey_ctx(ctx, pctx);
			ok = sign ? EVP_DigestSignInit(ctx, NULL, EVP_sm3(), NULL, key)
			          : EVP_DigestVerifyInit(ctx, NULL, EVP_sm3(), NULL, key);
		}
	}
	if (ok != 1) {
		EVP_MD_CTX_free(ctx);
		ctx = NULL;
	}
	if (ctx == NULL || !sm2)
		EVP_PKEY_CTX_free(pctx);
	return ctx;
}

int archive_signer_sign_alloc(const struct archive_signer *s, const void *msg, size_t len,
                              GByteArray **out)
{
	EVP_MD_CTX *ctx = digest_ctx(s->key, s->sm2, 1);
	uint8_t sig[ARCHIVE_SIGNATURE_MAX];
	size_t siglen = sizeof(sig);
	int rc = -EIO;

	if (!ctx)
		return -EIO;
	if (EVP_DigestSign(ctx, sig, &siglen, msg, len) == 1) {
		*out = g_byte_array_new();
		g_byte_array_append(*out, sig, (guint)siglen);
		rc = 0;
	}
	EVP_PKEY_CTX_free(s->sm2 ? EVP_MD_CTX_get_pkey_ctx(ctx) : NULL);
	EVP_MD_CTX_free(ctx);
	return rc;
}

void archive_signer_free(struct archive_signer *s)
{
	if (!s)
		return;
	EVP_PKEY_free(s->key);
	g_free(s);
}

int archive_signer_sign(const struct archive_signer *s, const void *msg, size_t len,
                        uint8_t sig[ARCHIVE_SIGNATURE_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = ARCHIVE_SIGNATURE_LEN;
	int rc = -EIO;

	if (!ctx)
		return -ENOMEM;
	/* Ed25519 is "pure": no digest, the whole message goes to one DigestSign call. */
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, s->key) == 1 &&
	    EVP_DigestSign(ctx, sig, &siglen, msg, len) == 1 && siglen == ARCHIVE_SIGNATURE_LEN)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	return rc;
}

static char *public_pem(EVP_PKEY *key)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *pem = NULL;
	long n;

	if (!b)
		return NULL;
	if (PEM_write_bio_PUBKEY(b, key)) {
		n = BIO_get_mem_data(b, &data);
		if (n > 0)
			pem = g_strndup(data, (gsize)n);
	}
	BIO_free(b);
	return pem;
}

char *archive_signer_public_pem(const struct archive_signer *s)
{
	return public_pem(s->key);
}

char *archive_pubkey_pem(const struct archive_pubkey *k)
{
	return public_pem(k->key);
}

static int pubkey_wrap(EVP_PKEY *key, struct archive_pubkey **out, int any)
{
	int sm2;

	if (!key)
		return -EINVAL;
	sm2 = any && EVP_PKEY_is_a(key, "SM2");
	if (!sm2 && EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(key);
		return -EINVAL;
	}
	*out = g_new0(struct archive_pubkey, 1);
	(*out)->key = key;
	(*out)->sm2 = sm2;
	return 0;
}

static int pubkey_load(const char *pub_path, struct archive_pubkey **out, int any)
{
	FILE *f = fopen(pub_path, "r");
	EVP_PKEY *key;

	if (!f)
		return -errno;
	key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	return pubkey_wrap(key, out, any);
}

int archive_pubkey_load(const char *pub_path, struct archive_pubkey **out)
{
	return pubkey_load(pub_path, out, 0);
}

int archive_pubkey_load_any(const char *pub_path, struct archive_pubkey **out)
{
	return pubkey_load(pub_path, out, 1);
}

static int pubkey_from_pem(const char *pem, struct archive_pubkey **out, int any)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *key;

	if (!b)
		return -ENOMEM;
	key = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	BIO_free(b);
	return pubkey_wrap(key, out, any);
}

int archive_pubkey_from_pem(const char *pem, struct archive_pubkey **out)
{
	return pubkey_from_pem(pem, out, 0);
}

int archive_pubkey_from_pem_any(const char *pem, struct archive_pubkey **out)
{
	return pubkey_from_pem(pem, out, 1);
}

int archive_pubkey_spki_sha256(const struct archive_pubkey *k, uint8_t out[32])
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k->key, &der);

	if (n <= 0)
		return -EINVAL;
	EVP_Digest(der, (size_t)n, out, NULL, EVP_sha256(), NULL);
	OPENSSL_free(der);
	return 0;
}

int archive_signer_spki_sha256(const struct archive_signer *s, uint8_t out[32])
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(s->key, &der);

	if (n <= 0)
		return -EINVAL;
	EVP_Digest(der, (size_t)n, out, NULL, EVP_sha256(), NULL);
	OPENSSL_free(der);
	return 0;
}

void archive_pubkey_free(struct archive_pubkey *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->key);
	g_free(k);
}

int archive_pubkey_verify(const struct archive_pubkey *k, const void *msg, size_t len,
                          const uint8_t *sig, size_t sig_len)
{
	EVP_MD_CTX *ctx;
	int rc = -EBADMSG;

	if (!k->sm2 && sig_len != ARCHIVE_SIGNATURE_LEN)
		return -EBADMSG;
	ctx = digest_ctx(k->key, k->sm2, 0);
	if (!ctx)
		return -EBADMSG;
	if (EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1)
		rc = 0;
	EVP_PKEY_CTX_free(k->sm2 ? EVP_MD_CTX_get_pkey_ctx(ctx) : NULL);
	EVP_MD_CTX_free(ctx);
	return rc;
}

int archive_pubkey_equal(const struct archive_pubkey *a, const struct archive_pubkey *b)
{
	return EVP_PKEY_eq(a->key, b->key) == 1;
}

static int raw_public(EVP_PKEY *key, uint8_t out[32])
{
	size_t len = 32;

	if (EVP_PKEY_get_raw_public_key(key, out, &len) != 1 || len != 32)
		return -EINVAL;
	return 0;
}

int archive_signer_raw_public(const struct archive_signer *s, uint8_t out[32])
{
	return raw_public(s->key, out);
}

int archive_pubkey_raw(const struct archive_pubkey *k, uint8_t out[32])
{
	return raw_public(k->key, out);
}

const char *archive_pubkey_algorithm(const struct archive_pubkey *k)
{
	return k->sm2 ? "sm2-sm3" : "ed25519";
}

int archive_pubkey_from_raw(const uint8_t raw[32], struct archive_pubkey **out)
{
	return pubkey_wrap(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32), out, 0);
}

int archive_signer_generate(struct archive_signer **out)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	if (!key)
		return -EIO;
	*out = g_new0(struct archive_signer, 1);
	(*out)->key = key;
	return 0;
}

int archive_signer_save(const struct archive_signer *s, const char *priv_path, const char *pub_path)
{
	FILE *fpriv, *fpub = NULL;
	int rc = -EIO;

	fpriv = open_new(priv_path, 0600);
	if (!fpriv)
		return -errno;
	if (pub_path) {
		fpub = open_new(pub_path, 0644);
		if (!fpub) {
			rc = -errno;
			goto err_priv;
		}
	}
	if (!PEM_write_PrivateKey(fpriv, s->key, NULL, NULL, 0, NULL, NULL) ||
	    (fpub && !PEM_write_PUBKEY(fpub, s->key)))
		goto err_pub;
	if (fflush(fpriv) || fsync(fileno(fpriv)) ||
	    (fpub && (fflush(fpub) || fsync(fileno(fpub)))))
		goto err_pub;
	rc = 0;
err_pub:
	if (fpub && fclose(fpub) && rc == 0)
		rc = -EIO;
err_priv:
	if (fclose(fpriv) && rc == 0)
		rc = -EIO;
	return rc;
}

int archive_signer_generate_like(const struct archive_signer *model, struct archive_signer **out)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, model->sm2 ? "SM2" : "ED25519");

	if (!key)
		return -EIO;
	*out = g_new0(struct archive_signer, 1);
	(*out)->key = key;
	(*out)->sm2 = model->sm2;
	return 0;
}

GByteArray *archive_signer_spki_der(const struct archive_signer *s)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(s->key, &der);
	GByteArray *out;

	if (n <= 0)
		return NULL;
	out = g_byte_array_sized_new((guint)n);
	g_byte_array_append(out, der, (guint)n);
	OPENSSL_free(der);
	return out;
}

int archive_pubkey_from_der_any(const uint8_t *der, size_t len, struct archive_pubkey **out)
{
	const unsigned char *p = der;
	EVP_PKEY *key = d2i_PUBKEY(NULL, &p, (long)len);

	if (key && p != der + len) {
		EVP_PKEY_free(key);
		return -EINVAL;
	}
	return pubkey_wrap(key, out, 1);
}
