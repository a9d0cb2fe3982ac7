/* RFC 3161 trusted timestamps of checkpoints: the request to a timestamp authority (TSA)
 * over HTTP (RFC 3161 section 3.4), the check of its reply, and the archive's
 * `timestamps` table (docs/archive-format.md, "Timestamps"). Blocking calls: the controller
 * runs them off its loop. */
#ifndef EVALROOM_ARCHIVE_TIMESTAMP_H
#define EVALROOM_ARCHIVE_TIMESTAMP_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

/* timestamp_request: a DER TimeStampReq for the SHA-256 of DATA[0..LEN), with a random nonce,
 * asking for the TSA's certificate; *out (g_byte_array_unref). 0 or -EIO. */
int timestamp_request(const void *data, size_t len, GByteArray **out);

/* timestamp_fetch: POSTs REQ (application/timestamp-query) to URL, "http://HOST[:PORT]/PATH",
 * and returns the reply's body (a DER TimeStampResp) in *out. Gives up after TIMEOUT_MS in
 * all. 0, or -EINVAL (URL), -ECONNREFUSED, -ETIMEDOUT, -EPROTO (HTTP status not 200 or not a
 * timestamp reply), -errno, with *err (g_free) saying why. */
int timestamp_fetch(const char *url, const GByteArray *req, int timeout_ms, GByteArray **out,
                    char **err);

/* What a checked reply says. */
struct timestamp_info {
	char *tsa;       /* the signing certificate's subject (g_free) */
	int64_t time_us; /* the TSA's genTime, UTC microseconds */
	int chain;       /* 1: the TSA's certificate was checked up to CA_FILE; 0: only against the
	                  * certificate the reply carries (integrity, not who) */
};

/* timestamp_token_from_reply: the TimeStampToken of REPLY (a DER TimeStampResp), granted,
 * keeping of its certificates only the signer's (the others are outside the signature), DER
 * in *token (g_byte_array_unref). 0, or -EBADMSG with *why (g_free). */
int timestamp_token_from_reply(const void *reply, size_t len, GByteArray **token, char **why);

/* timestamp_check: TOKEN (a DER TimeStampToken as timestamp_token_from_reply makes it: exact
 * DER, only the signer's certificate, no CRLs, no unsigned attributes, so every byte is
 * covered) imprints the SHA-256 of DATA[0..LEN) and its signature is valid: with CA_FILE
 * (PEM) through the TSA's certificate chain to that CA (a certificate for time stamping),
 * else against the certificate it carries. 0 and *info (timestamp_info_clear), or -EBADMSG
 * with *why (g_free). */
int timestamp_check(const void *token, size_t token_len, const void *data, size_t len,
                    const char *ca_file, struct timestamp_info *info, char **why);
void timestamp_info_clear(struct timestamp_info *info);

/* archive_timestamp_add: stores the token of REPLY (a TimeStampResp) as the timestamp of
 * checkpoints row CHECKPOINT of the archive at PATH, sealed or not: a reply proves itself, so
 * adding one later changes nothing that is signed (a sealed file is made writable for the insert,
 * then read-only again). Checks the reply against that checkpoint's body first. 0, -EBADMSG (not a
 * valid reply for it), -ENOENT (no such file or checkpoint), -EIO; *err (g_free) says why. */
int archive_timestamp_add(const char *path, int64_t checkpoint, const void *reply, size_t len,
                          char **err);

/* archive_timestamp_last: asks the TSA at URL for a timestamp of the archive's last
 * checkpoint and stores it (archive_timestamp_add). *checkpoint is that row's id. 0 or -errno
 * as timestamp_fetch and archive_timestamp_add, with *err. */
int archive_timestamp_last(const char *path, const char *url, int timeout_ms, int64_t *checkpoint,
                           char **err);

#endif
