/* Ed25519 checkpoint signing through OpenSSL EVP, with PEM key files
 * (controller-signing.key: PKCS#8 private key; controller-signing.pub: SubjectPublicKeyInfo). */
#ifndef EVALROOM_ARCHIVE_SIGNING_H
#define EVALROOM_ARCHIVE_SIGNING_H

#include <stddef.h>
#include <stdint.h>

#define ARCHIVE_SIGNATURE_LEN 64

struct archive_signer;
struct archive_pubkey;

/* Generates a fresh Ed25519 pair: private key PEM at priv_path (mode 0600), public key PEM
 * at pub_path (0644). Provisioning writes the real pair in the same format.
 * Returns 0, -EEXIST, -EIO. */
int archive_keygen(const char *priv_path, const char *pub_path);

/* Loads an Ed25519 private key PEM file. Returns 0, -ENOENT, -EINVAL (not Ed25519). */
int archive_signer_load(const char *priv_path, struct archive_signer **out);
void archive_signer_free(struct archive_signer *s);

/* Raw Ed25519 signature of msg (sig: ARCHIVE_SIGNATURE_LEN bytes). Returns 0 or -EIO. */
int archive_signer_sign(const struct archive_signer *s, const void *msg, size_t len,
                        uint8_t sig[ARCHIVE_SIGNATURE_LEN]);

/* The public key as PEM text; caller frees with g_free. NULL on failure. */
char *archive_signer_public_pem(const struct archive_signer *s);

/* The public key as PEM text, exactly as archive_signer_public_pem writes it (the form the
 * archive records); caller frees with g_free. NULL on failure. */
char *archive_pubkey_pem(const struct archive_pubkey *k);

/* Loads a public key from a PEM file or from PEM text. Returns 0, -ENOENT, -EINVAL. */
int archive_pubkey_load(const char *pub_path, struct archive_pubkey **out);
int archive_pubkey_from_pem(const char *pem, struct archive_pubkey **out);
void archive_pubkey_free(struct archive_pubkey *k);

/* 0 when sig is a valid signature of msg, else -EBADMSG. */
int archive_pubkey_verify(const struct archive_pubkey *k, const void *msg, size_t len,
                          const uint8_t *sig, size_t sig_len);

/* The raw 32-byte Ed25519 public key (RFC 8032 encoding), as signed notes and the checkpoints'
 * key line use it. Returns 0 or -EINVAL. */
int archive_signer_raw_public(const struct archive_signer *s, uint8_t out[32]);
int archive_pubkey_raw(const struct archive_pubkey *k, uint8_t out[32]);

/* 1 when both keys are the same public key, else 0. */
int archive_pubkey_equal(const struct archive_pubkey *a, const struct archive_pubkey *b);

#endif
