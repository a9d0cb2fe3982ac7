/* A person's Ed25519 signature checked against their site-CA certificate: the witness log's
 * three parties (witness_log.h) and the custodians of an archive transfer (docs/archives.md,
 * "Transfer") sign with the key of a certificate provisioning issued them
 * (clients/NAME.signing.crt). */
#ifndef EVALROOM_ARCHIVE_CERT_SIG_H
#define EVALROOM_ARCHIVE_CERT_SIG_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* cert_read_file: the PEM X.509 certificate in PATH (a site CA, a signer's certificate):
 * new (X509_free), or NULL when it cannot be read. */
X509 *cert_read_file(const char *path);

/* cert_parse: the PEM certificate CERT_PEM (new, X509_free) with its CN in identity[65];
 * NULL with *why (new) when it is not a PEM X.509 certificate. */
X509 *cert_parse(const char *cert_pem, char identity[65], char **why);
/* cert_issued_by: whether CA issued X (and X is valid now); false with *why (new) naming
 * the certificate by its CN and the verification's fault. */
bool cert_issued_by(X509 *x, X509 *ca, const char *cn, char **why);
/* cert_sig_check: CERT_PEM is the signer's certificate (an Ed25519 key), SIG its raw 64
 * bytes (SIG_LEN) over the MSG_LEN bytes of MSG. CA, when not NULL, must have issued the
 * certificate (and the certificate be valid now). On success 0 and the certificate's CN in
 * identity[65]; else -EBADMSG with *why (new text) naming the fault: not a certificate, no
 * Ed25519 key, not the site CA's, or "the signature of CN does not match WHAT and that
 * certificate's key" (WHAT names what was signed, e.g. "the transfer manifest"). */
int cert_sig_check(const char *cert_pem, const uint8_t *sig, size_t sig_len, const void *msg,
                   size_t msg_len, const char *what, X509 *ca, char identity[65], char **why);
/* cert_sig_check_any: as cert_sig_check, for a key that is Ed25519 (SIG the raw 64 bytes) or
 * SM2 (SIG DER, over SM3 with the GB/T 35276 identifier: signing.h, the checkpoints' own
 * verifier); "holds no Ed25519 or SM2 key" for any other. On success *ALGORITHM (may be
 * NULL) is "ed25519" or "sm2-sm3" (static). The witness log's and a handover's signatures. */
int cert_sig_check_any(const char *cert_pem, const uint8_t *sig, size_t sig_len, const void *msg,
                       size_t msg_len, const char *what, X509 *ca, char identity[65],
                       const char **algorithm, char **why);

#endif
