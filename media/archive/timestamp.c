#include "timestamp.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The largest reply accepted from a TSA (a token with a certificate chain is a few KiB). */
#define REPLY_MAX (256 * 1024)

int timestamp_request(const void *data, size_t len, GByteArray **out)
{
	uint8_t digest[32], nonce_bytes[8];
	TS_REQ *req = TS_REQ_new();
	TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	ASN1_INTEGER *nonce = NULL;
	BIGNUM *bn = NULL;
	unsigned char *der = NULL;
	int n, rc = -EIO;

	if (!req || !mi || !alg || EVP_Digest(data, len, digest, NULL, EVP_sha256(), NULL) != 1 ||
	    RAND_bytes(nonce_bytes, sizeof(nonce_bytes)) != 1)
		goto out;
	nonce_bytes[0] &= 0x7f; /* a positive INTEGER */
	bn = BN_bin2bn(nonce_bytes, sizeof(nonce_bytes), NULL);
	nonce = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	if (!nonce || !X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL) ||
	    !TS_MSG_IMPRINT_set_algo(mi, alg) || !TS_MSG_IMPRINT_set_msg(mi, digest, 32) ||
	    !TS_REQ_set_version(req, 1) || !TS_REQ_set_msg_imprint(req, mi) ||
	    !TS_REQ_set_nonce(req, nonce) || !TS_REQ_set_cert_req(req, 1))
		goto out;
	n = i2d_TS_REQ(req, &der);
	if (n <= 0)
		goto out;
	*out = g_byte_array_new();
	g_byte_array_append(*out, der, (guint)n);
	OPENSSL_free(der);
	rc = 0;
out:
	BN_free(bn);
	ASN1_INTEGER_free(nonce);
	X509_ALGOR_free(alg);
	TS_MSG_IMPRINT_free(mi);
	TS_REQ_free(req);
	return rc;
}

/* Milliseconds left until DEADLINE (monotonic µs), at least 0. */
static int left_ms(int64_t deadline)
{
	int64_t left = (deadline - g_get_monotonic_time()) / 1000;

	return left > 0 ? (int)left : 0;
}

/* Connects to HOST:PORT within the deadline. The socket, or -errno. */
static int connect_to(const char *host, const char *port, int64_t deadline)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	int fd = -1, rc = -EHOSTUNREACH;

	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd p;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		            ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS) {
			rc = -errno;
			goto next;
		}
		p = (struct pollfd){.fd = fd, .events = POLLOUT};
		if (poll(&p, 1, left_ms(deadline)) != 1) {
			rc = -ETIMEDOUT;
			goto next;
		}
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr == 0)
			break;
		rc = -soerr;
	next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd >= 0 ? fd : rc;
}

/* Sends all of BUF or fails. */
static int send_all(int fd, const void *buf, size_t len, int64_t deadline)
{
	const uint8_t *p = buf;

	while (len > 0) {
		struct pollfd pf = {.fd = fd, .events = POLLOUT};
		ssize_t n;

		if (poll(&pf, 1, left_ms(deadline)) != 1)
			return -ETIMEDOUT;
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		}
	}
	return 0;
}

int timestamp_fetch(const char *url, const GByteArray *req, int timeout_ms, GByteArray **out,
                    char **err)
{
	int64_t deadline = g_get_monotonic_time() + (int64_t)timeout_ms * 1000;
	const char *hp, *slash, *colon, *body;
	char *host = NULL, *port = NULL, *head = NULL;
	GByteArray *reply = g_byte_array_new();
	uint8_t buf[16384];
	int fd = -1, rc, status = 0;

	*out = NULL;
	*err = NULL;
	if (!g_str_has_prefix(url, "http://")) {
		*err = g_strdup_printf("TSA URL %s: only http://HOST[:PORT]/PATH is supported (a "
		                       "timestamp reply is signed, so it needs no TLS)",
		                       url);
		rc = -EINVAL;
		goto out;
	}
	hp = url + 7;
	slash = strchr(hp, '/');
	if (!slash)
		slash = hp + strlen(hp);
	colon = memchr(hp, ':', (size_t)(slash - hp));
	host = g_strndup(hp, (gsize)((colon ? colon : slash) - hp));
	port = colon ? g_strndup(colon + 1, (gsize)(slash - colon - 1)) : g_strdup("80");
	if (!*host || !*port) {
		*err = g_strdup_printf("TSA URL %s: no host or port", url);
		rc = -EINVAL;
		goto out;
	}
	fd = connect_to(host, port, deadline);
	if (fd < 0) {
		rc = fd;
		*err = g_strdup_printf("TSA %s: cannot connect: %s", url, g_strerror(-rc));
		goto out;
	}
	head = g_strdup_printf("POST %s HTTP/1.0\r\nHost: %s\r\nContent-Type: "
	                       "application/timestamp-query\r\nAccept: application/timestamp-reply"
	                       "\r\nContent-Length: %u\r\nConnection: close\r\n\r\n",
	                       *slash ? slash : "/", host, req->len);
	rc = send_all(fd, head, strlen(head), deadline);
	if (rc == 0)
		rc = send_all(fd, req->data, req->len, deadline);
	while (rc == 0) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&pf, 1, left_ms(deadline)) != 1) {
			rc = -ETIMEDOUT;
			break;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0)
			break;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			rc = -errno;
		if (n > 0)
			g_byte_array_append(reply, buf, (guint)n);
		if (reply->len > REPLY_MAX)
			rc = -EFBIG;
	}
	if (rc) {
		*err = g_strdup_printf("TSA %s: %s", url, g_strerror(-rc));
		goto out;
	}
	g_byte_array_append(reply, (const guint8 *)"", 1); /* a NUL for the header search */
	body = g_strstr_len((const char *)reply->data, reply->len, "\r\n\r\n");
	if (sscanf((const char *)reply->data, "HTTP/1.%*d %d", &status) != 1 || !body ||
	    status != 200) {
		*err = g_strdup_printf("TSA %s: answered HTTP status %d, not a timestamp reply",
		                       url, status);
		rc = -EPROTO;
		goto out;
	}
	body += 4;
	*out = g_byte_array_new();
	g_byte_array_append(*out, (const guint8 *)body,
	                    (guint)(reply->len - 1 - (guint)(body - (const char *)reply->data)));
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	g_byte_array_unref(reply);
	g_free(head);
	g_free(host);
	g_free(port);
	return rc;
}

void timestamp_info_clear(struct timestamp_info *info)
{
	g_free(info->tsa);
	memset(info, 0, sizeof(*info));
}

/* The store to verify the reply's signature with: CA_FILE's certificates, or (no CA_FILE)
 * the signer certificate the reply carries, trusted as it is (integrity, not who). */
static X509_STORE *store_for(PKCS7 *token, const char *ca_file)
{
	X509_STORE *store = X509_STORE_new();
	STACK_OF(X509) * signers;

	if (!store)
		return NULL;
	if (ca_file) {
		if (X509_STORE_load_file(store, ca_file) != 1)
			goto err;
		return store;
	}
	signers = PKCS7_get0_signers(token, NULL, 0);
	if (!signers || sk_X509_num(signers) != 1 ||
	    X509_STORE_add_cert(store, sk_X509_value(signers, 0)) != 1) {
		sk_X509_free(signers);
		goto err;
	}
	sk_X509_free(signers);
	X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
	return store;
err:
	X509_STORE_free(store);
	return NULL;
}

int timestamp_token_from_reply(const void *reply, size_t len, GByteArray **token, char **why)
{
	const unsigned char *p = reply;
	TS_RESP *resp = d2i_TS_RESP(NULL, &p, (long)len);
	STACK_OF(X509) *signers = NULL, *certs;
	PKCS7 *tok;
	unsigned char *der = NULL;
	long status;
	int n, rc = -EBADMSG;

	*why = NULL;
	if (!resp || p != (const unsigned char *)reply + len) {
		*why = g_strdup("not a DER RFC 3161 TimeStampResp");
		goto out;
	}
	status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp)));
	tok = TS_RESP_get_token(resp);
	if ((status != 0 && status != 1) || !tok || !PKCS7_type_is_signed(tok)) {
		*why = g_strdup_printf("the TSA did not grant it (PKIStatus %ld)", status);
		goto out;
	}
	/* Keep the signer's certificate only: the others are outside the signature. */
	signers = PKCS7_get0_signers(tok, NULL, 0);
	certs = tok->d.sign->cert;
	if (!signers || sk_X509_num(signers) != 1 || !certs) {
		*why =
		    g_strdup("the reply does not carry its signer's certificate (ask with -cert)");
		goto out;
	}
	for (int i = sk_X509_num(certs) - 1; i >= 0; i--)
		if (X509_cmp(sk_X509_value(certs, i), sk_X509_value(signers, 0)) != 0)
			X509_free(sk_X509_delete(certs, i));
	n = i2d_PKCS7(tok, &der);
	if (n <= 0) {
		*why = g_strdup("its token cannot be encoded");
		goto out;
	}
	*token = g_byte_array_new();
	g_byte_array_append(*token, der, (guint)n);
	OPENSSL_free(der);
	rc = 0;
out:
	sk_X509_free(signers);
	TS_RESP_free(resp);
	return rc;
}

int timestamp_check(const void *token, size_t token_len, const void *data, size_t len,
                    const char *ca_file, struct timestamp_info *info, char **why)
{
	const unsigned char *p = token;
	PKCS7 *tok = d2i_PKCS7(NULL, &p, (long)token_len);
	TS_TST_INFO *tst = NULL;
	TS_VERIFY_CTX *ctx = NULL;
	X509_STORE *store = NULL;
	STACK_OF(X509) *signers = NULL;
	STACK_OF(PKCS7_SIGNER_INFO) * sis;
	unsigned char *der = NULL, *imprint;
	uint8_t digest[32];
	struct tm tm;
	int n, rc = -EBADMSG;

	memset(info, 0, sizeof(*info));
	*why = NULL;
	/* Every byte must count: DER exactly as re-encoded, one certificate (the signer's, bound
	 * by the signed ESS attribute), no CRLs, no unsigned attributes. */
	n = tok && p == (const unsigned char *)token + token_len ? i2d_PKCS7(tok, &der) : -1;
	if (n != (int)token_len || memcmp(der, token, token_len) != 0 ||
	    !PKCS7_type_is_signed(tok)) {
		*why = g_strdup("not a DER RFC 3161 TimeStampToken");
		goto out;
	}
	sis = PKCS7_get_signer_info(tok);
	if (!tok->d.sign->cert || sk_X509_num(tok->d.sign->cert) != 1 || tok->d.sign->crl || !sis ||
	    sk_PKCS7_SIGNER_INFO_num(sis) != 1 ||
	    sk_X509_ATTRIBUTE_num(sk_PKCS7_SIGNER_INFO_value(sis, 0)->unauth_attr) > 0) {
		*why = g_strdup("it carries more than its signer's certificate and signed content");
		goto out;
	}
	EVP_Digest(data, len, digest, NULL, EVP_sha256(), NULL);
	store = store_for(tok, ca_file);
	imprint = OPENSSL_memdup(digest, 32);
	ctx = TS_VERIFY_CTX_new();
	if (!store || !imprint || !ctx) {
		OPENSSL_free(imprint);
		*why = g_strdup(ca_file ? "the CA file is unreadable" : "no signing certificate");
		goto out;
	}
	TS_VERIFY_CTX_set_flags(ctx, TS_VFY_VERSION | TS_VFY_SIGNATURE | TS_VFY_IMPRINT);
	TS_VERIFY_CTX_set_imprint(ctx, imprint, 32);
	TS_VERIFY_CTX_set_store(ctx, store);
	store = NULL; /* the context frees it */
	tst = PKCS7_to_TS_TST_INFO(tok);
	if (!tst) {
		*why = g_strdup("its signed content is not a TSTInfo");
		goto out;
	}
	if (TS_RESP_verify_token(ctx, tok) != 1) {
		ASN1_OCTET_STRING *m = TS_MSG_IMPRINT_get_msg(TS_TST_INFO_get_msg_imprint(tst));

		if (m &&
		    (ASN1_STRING_length(m) != 32 || memcmp(ASN1_STRING_get0_data(m), digest, 32)))
			*why = g_strdup("its token is for another hash than the SHA-256 of this "
			                "checkpoint's body");
		else
			*why = g_strdup(ca_file ? "its signature or the TSA's certificate does not "
			                          "verify up to the given TSA CA"
			                        : "its signature does not verify");
		goto out;
	}
	signers = PKCS7_get0_signers(tok, NULL, 0);
	if (signers && sk_X509_num(signers) == 1) {
		char *name =
		    X509_NAME_oneline(X509_get_subject_name(sk_X509_value(signers, 0)), NULL, 0);

		info->tsa = g_strdup(name);
		OPENSSL_free(name);
	} else {
		info->tsa = g_strdup("?");
	}
	if (ASN1_TIME_to_tm(TS_TST_INFO_get_time(tst), &tm) == 1)
		info->time_us = (int64_t)timegm(&tm) * 1000000;
	info->chain = ca_file != NULL;
	rc = 0;
out:
	OPENSSL_free(der);
	sk_X509_free(signers);
	X509_STORE_free(store);
	TS_VERIFY_CTX_free(ctx);
	TS_TST_INFO_free(tst);
	PKCS7_free(tok);
	return rc;
}

/* The body of checkpoints row ID (or the last row, ID 0) into *body and its id into *id. */
static int checkpoint_body_of(sqlite3 *db, int64_t id, char **body, int64_t *out_id)
{
	sqlite3_stmt *st;
	int rc = -ENOENT;

	if (sqlite3_prepare_v2(db,
	                       "SELECT id, body FROM checkpoints WHERE id = ?1 OR "
	                       "(?1 = 0 AND id = (SELECT max(id) FROM checkpoints))",
	                       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 1) == SQLITE_TEXT) {
		*out_id = sqlite3_column_int64(st, 0);
		*body = g_strdup((const char *)sqlite3_column_text(st, 1));
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int archive_timestamp_add(const char *path, int64_t checkpoint, const void *reply, size_t len,
                          char **err)
{
	struct timestamp_info info;
	struct stat sb;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *body = NULL, *why = NULL;
	GByteArray *token = NULL;
	int64_t id = 0;
	int rc, made_writable = 0;

	*err = NULL;
	if (stat(path, &sb) != 0) {
		rc = -errno;
		*err = g_strdup_printf("%s: %s", path, g_strerror(errno));
		return rc;
	}
	if (!(sb.st_mode & S_IWUSR)) {
		if (chmod(path, sb.st_mode | S_IWUSR) != 0) {
			rc = -errno;
			*err = g_strdup_printf("%s: cannot make it writable: %s", path,
			                       g_strerror(errno));
			return rc;
		}
		made_writable = 1;
	}
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		*err = g_strdup_printf("%s: sqlite: %s", path, sqlite3_errmsg(db));
		rc = -EIO;
		goto out;
	}
	sqlite3_busy_timeout(db, 5000);
	rc = checkpoint_body_of(db, checkpoint, &body, &id);
	if (rc) {
		*err =
		    g_strdup_printf("%s: no checkpoints row %" G_GINT64_FORMAT, path, checkpoint);
		goto out;
	}
	rc = timestamp_token_from_reply(reply, len, &token, &why);
	if (rc == 0)
		rc =
		    timestamp_check(token->data, token->len, body, strlen(body), NULL, &info, &why);
	if (rc) {
		*err = g_strdup_printf("%s: the timestamp reply is not valid for checkpoints row "
		                       "%" G_GINT64_FORMAT ": %s",
		                       path, id, why);
		goto out;
	}
	timestamp_info_clear(&info);
	if (sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO timestamps (checkpoint, token) VALUES (?, ?)", -1,
	                       &st, NULL) != SQLITE_OK) {
		*err = g_strdup_printf("%s: sqlite: %s (a format version 1 file has no timestamps)",
		                       path, sqlite3_errmsg(db));
		rc = -EIO;
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_blob(st, 2, token->data, (int)token->len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		*err = g_strdup_printf("%s: sqlite: %s", path, sqlite3_errmsg(db));
		rc = -EIO;
	}
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	if (made_writable && chmod(path, sb.st_mode) != 0 && rc == 0) {
		rc = -errno;
		*err = g_strdup_printf("%s: cannot make it read-only again: %s", path,
		                       g_strerror(errno));
	}
	if (token)
		g_byte_array_unref(token);
	g_free(body);
	g_free(why);
	return rc;
}

int archive_timestamp_last(const char *path, const char *url, int timeout_ms, int64_t *checkpoint,
                           char **err)
{
	GByteArray *req = NULL, *reply = NULL;
	sqlite3 *db = NULL;
	char *body = NULL;
	int rc;

	*err = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		*err = g_strdup_printf("%s: sqlite: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return -EIO;
	}
	rc = checkpoint_body_of(db, 0, &body, checkpoint);
	sqlite3_close(db);
	if (rc) {
		*err = g_strdup_printf("%s: no checkpoint to timestamp", path);
		return rc;
	}
	rc = timestamp_request(body, strlen(body), &req);
	if (rc == 0)
		rc = timestamp_fetch(url, req, timeout_ms, &reply, err);
	if (rc == 0)
		rc = archive_timestamp_add(path, *checkpoint, reply->data, reply->len, err);
	if (req)
		g_byte_array_unref(req);
	if (reply)
		g_byte_array_unref(reply);
	g_free(body);
	return rc;
}
