/* Checkpoint signing through OpenSSL EVP, with PEM key files (controller-signing.key: PKCS#8
 * private key; controller-signing.pub: SubjectPublicKeyInfo). The archive's key is Ed25519;
 * a second key beside it may be Ed25519 or SM2 (signing SM3 with the identifier
 * 1234567812345678, GB/T 32918 / GB/T 35276): the *_any functions, also the signing API for
 * other logs of the site (the witness log). */
#ifndef EVALROOM_ARCHIVE_SIGNING_H
#define EVALROOM_ARCHIVE_SIGNING_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#define ARCHIVE_SIGNATURE_LEN 64
/* The longest signature of any supported algorithm (an SM2 DER signature is at most 72). */
#define ARCHIVE_SIGNATURE_MAX 80

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

/* archive_signer_load_any: loads an Ed25519 or SM2 private key PEM file. 0, -ENOENT, -EINVAL
 * (another algorithm). archive_signer_algorithm: "ed25519" or "sm2-sm3". */
int archive_signer_load_any(const char *priv_path, struct archive_signer **out);
const char *archive_signer_algorithm(const struct archive_signer *s);

/* archive_signer_sign_alloc: the signature of MSG by S, any algorithm (Ed25519: 64 raw bytes;
 * SM2: DER ECDSA-Sig-Value over SM3 with the identifier above) in *out (g_byte_array_unref).
 * 0 or -EIO. */
int archive_signer_sign_alloc(const struct archive_signer *s, const void *msg, size_t len,
                              GByteArray **out);

/* archive_pubkey_load_any / _from_pem_any: an Ed25519 or SM2 public key. 0, -ENOENT, -EINVAL.
 * archive_pubkey_verify checks either algorithm's signature. */
int archive_pubkey_load_any(const char *pub_path, struct archive_pubkey **out);
int archive_pubkey_from_pem_any(const char *pem, struct archive_pubkey **out);
const char *archive_pubkey_algorithm(const struct archive_pubkey *k); /* as the signer's */

/* SHA-256 of the key's DER SubjectPublicKeyInfo (what `openssl pkey -pubin -outform DER`
 * writes): the key2 line of a checkpoint. 0 or -EINVAL. */
int archive_pubkey_spki_sha256(const struct archive_pubkey *k, uint8_t out[32]);
int archive_signer_spki_sha256(const struct archive_signer *s, uint8_t out[32]);

/* archive_pubkey_from_raw: the Ed25519 public key of 32 raw bytes (RFC 8032), as the key
 * history records it (key_history.h). 0 or -EINVAL. */
int archive_pubkey_from_raw(const uint8_t raw[32], struct archive_pubkey **out);

/* archive_signer_generate: a fresh Ed25519 key in memory (a key rotation's new key).
 * archive_signer_save: writes it as PKCS#8 PEM to PRIV_PATH (created, mode 0600, must not
 * exist) and, when PUB_PATH is not NULL, its public half (0644), both fsync'd.
 * 0, -EEXIST, -EIO. */
int archive_signer_generate(struct archive_signer **out);
int archive_signer_save(const struct archive_signer *s, const char *priv_path,
                        const char *pub_path);

/* archive_signer_generate_like: a fresh key of MODEL's algorithm (Ed25519 or SM2), in memory:
 * the new key of a rotation of the second key. 0 or -EIO. */
int archive_signer_generate_like(const struct archive_signer *model, struct archive_signer **out);

/* archive_signer_spki_der: the public key's DER SubjectPublicKeyInfo (new array,
 * g_byte_array_unref), or NULL. archive_pubkey_from_der_any: an Ed25519 or SM2 public key from
 * exactly that DER (as the key history records a second key). 0 or -EINVAL. */
GByteArray *archive_signer_spki_der(const struct archive_signer *s);
int archive_pubkey_from_der_any(const uint8_t *der, size_t len, struct archive_pubkey **out);

/* 1 when both keys are the same public key, else 0. */
int archive_pubkey_equal(const struct archive_pubkey *a, const struct archive_pubkey *b);

#endif
