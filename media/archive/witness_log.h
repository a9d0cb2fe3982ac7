/* The three-party witness log of a tender (docs/witness.md, docs/archive-format.md).
 *
 * At tender close the controller renders the log from the tender's archive (its events:
 * draw commitment and witness, witness notes, alerts, escorted entries, the close) as a
 * Markdown document with Chinese and English labels, and stores it, with its SHA-256, as
 * the archive's "witness.log" event before the seal. The witness, the supervisor and the
 * tenderer's representative each sign
 *
 *     "evalroom witness log v1\n" <tender> "\n" <sha256 hex> "\n"
 *
 * with the key of their site-CA signing certificate: Ed25519, or SM2 with SM3 where the site
 * asks for it (signing.h, the same verifier as the checkpoints'). Signatures live in the archive's
 * appendix table witness_signatures, which is not part of the Merkle tree: a signature
 * added after the seal leaves every leaf, checkpoint and the seal's proof as they were;
 * each row proves itself (the signer's certificate and signature over the sealed log's
 * hash). */
#ifndef EVALROOM_ARCHIVE_WITNESS_LOG_H
#define EVALROOM_ARCHIVE_WITNESS_LOG_H

#include <glib.h>
#include <openssl/x509.h>
#include <sqlite3.h>
#include <stdint.h>

#define WITNESS_LOG_PARTIES 3

/* The appendix table (created by witness_sig_append when the first signature comes). */
#define WITNESS_SIG_TABLE "witness_signatures"

/* Renders the witness log of the archive open on DB (read-only is enough) for TENDER at
 * time NOW_US: a new Markdown text in *OUT (g_free). 0 or -EIO (sqlite failed). */
int witness_log_render(sqlite3 *db, int64_t now_us, char **out);

/* The stored log of the archive on DB: its Markdown (*markdown, new, may be NULL to skip)
 * and SHA-256 hex (sha256[65]). 0, -ENOENT when the archive has no witness log. */
int witness_log_read(sqlite3 *db, char **markdown, char sha256[65]);

/* The exact bytes each party signs for TENDER's log with SHA256 (hex): new text. */
char *witness_log_message(const char *tender, const char *sha256);

/* The party a certificate identity signs as: "witness", "supervisor", "rep", or NULL. */
const char *witness_party_of(const char *identity);

/* Checks one signature: CERT_PEM is the signer's certificate (an Ed25519 or SM2 key), SIG
 * its SIG_LEN bytes (Ed25519: the raw 64; SM2: DER, SM3 with the GB/T 35276 identifier),
 * over witness_log_message(TENDER, SHA256). CA, when not NULL, must
 * have issued the certificate (and the certificate be valid now). On success 0 and the
 * certificate's CN in identity[65]; else -EBADMSG with *why (new text) naming the fault. */
int witness_sig_check(const char *cert_pem, const uint8_t *sig, size_t sig_len, const char *tender,
                      const char *sha256, X509 *ca, char identity[65], char **why);

/* Appends a signature row (identity, party, the log's sha256, certificate PEM, signature
 * as base64, time) to the archive file at PATH, creating the appendix table when needed.
 * A sealed (read-only, 0444) file is made writable for the append and read-only again.
 * The journal is removed afterwards. 0 or -errno with *why. */
int witness_sig_append(const char *path, const char *identity, const char *party,
                       const char *sha256, const char *cert_pem, const char *sig_b64,
                       int64_t time_us, char **why);

/* The parties in signing order ("witness", "supervisor", "rep") and their labels
 * ("见证人 Witness", ...). */
const char *witness_party_name(size_t i);
const char *witness_party_label(size_t i);

/* Checks every signature of the stored log of the archive on DB: SIGNED_BY[i] (may be
 * NULL) is 1 when party i signed it validly; *INVALID (may be NULL; new, "" when none)
 * names each invalid signature and why, one per line; *REPORT (may be NULL; new) is all
 * of it in one English sentence ("witness log signed by 2 of 3 ...; missing: ..."). CA
 * may be NULL (certificates then not checked against the site CA). Returns the number of
 * parties signed (0..3), or -ENOENT when there is no witness log. */
int witness_log_verify(sqlite3 *db, X509 *ca, int signed_by[WITNESS_LOG_PARTIES], char **invalid,
                       char **report);

#endif
