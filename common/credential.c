#include "credential.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hex.h"

#define PREFIX "evalroom-credential:"

static int key_fail(GError **err, int rc, const char *path, const char *what)
{
	g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(-rc), "credential key %s: %s", path,
	            what);
	return rc;
}

int credential_key_load(const char *path, struct credential_key *key, GError **err)
{
	gchar *text = NULL;
	gsize len = 0;
	GError *ferr = NULL;
	struct stat st;
	int rc = 0;

	if (stat(path, &st) == 0 && (st.st_mode & 0007))
		return key_fail(err, -EPERM, path,
		                "readable by others: chmod o-rwx (the key keeps credential digests "
		                "from being reversed)");
	if (!g_file_get_contents(path, &text, &len, &ferr)) {
		rc = ferr->code == G_FILE_ERROR_NOENT   ? -ENOENT
		     : ferr->code == G_FILE_ERROR_ACCES ? -EACCES
		                                        : -EIO;
		g_set_error(err, G_FILE_ERROR, ferr->code, "credential key: %s", ferr->message);
		g_error_free(ferr);
		return rc;
	}
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (len != 2 * CREDENTIAL_KEY_LEN) {
		rc = key_fail(err, -EINVAL, path, "not 64 hex digits");
		goto out;
	}
	for (size_t i = 0; i < CREDENTIAL_KEY_LEN; i++) {
		int hi = g_ascii_xdigit_value(text[2 * i]),
		    lo = g_ascii_xdigit_value(text[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			rc = key_fail(err, -EINVAL, path, "not 64 hex digits");
			goto out;
		}
		key->k[i] = (unsigned char)(hi * 16 + lo);
	}
out:
	OPENSSL_cleanse(text, len);
	g_free(text);
	return rc;
}

int credential_key_write(const char *path, GError **err)
{
	unsigned char k[CREDENTIAL_KEY_LEN];
	char hex[2 * CREDENTIAL_KEY_LEN + 2];
	int fd, rc = 0;

	if (g_file_test(path, G_FILE_TEST_EXISTS))
		return 0;
	if (RAND_bytes(k, sizeof(k)) != 1)
		return key_fail(err, -EIO, path, "no random numbers");
	hex_encode(k, sizeof(k), hex);
	hex[2 * CREDENTIAL_KEY_LEN] = '\n';
	hex[2 * CREDENTIAL_KEY_LEN + 1] = '\0';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		g_set_error(err, G_FILE_ERROR, g_file_error_from_errno(errno),
		            "credential key %s: %s", path, g_strerror(errno));
		goto out;
	}
	if (write(fd, hex, strlen(hex)) != (ssize_t)strlen(hex) || fsync(fd) != 0) {
		rc = -EIO;
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_IO, "credential key %s: cannot write",
		            path);
	}
	close(fd);
out:
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(hex, sizeof(hex));
	return rc;
}

static void mac(const struct credential_key *key, const char *credential,
                unsigned char out[CREDENTIAL_MAC_LEN])
{
	size_t n = strlen(credential);
	unsigned int len = CREDENTIAL_MAC_LEN;
	unsigned char *msg = g_malloc(sizeof(PREFIX) - 1 + n);

	memcpy(msg, PREFIX, sizeof(PREFIX) - 1);
	memcpy(msg + sizeof(PREFIX) - 1, credential, n);
	HMAC(EVP_sha256(), key->k, CREDENTIAL_KEY_LEN, msg, sizeof(PREFIX) - 1 + n, out, &len);
	OPENSSL_cleanse(msg, sizeof(PREFIX) - 1 + n);
	g_free(msg);
}

void credential_mac_hex(const struct credential_key *key, const char *credential,
                        char out[CREDENTIAL_MAC_HEX])
{
	unsigned char md[CREDENTIAL_MAC_LEN];

	mac(key, credential, md);
	hex_encode(md, CREDENTIAL_MAC_LEN, out);
}

void credential_digest(const struct credential_key *key, const char *credential,
                       char out[CREDENTIAL_DIGEST_HEX])
{
	char full[CREDENTIAL_MAC_HEX];

	credential_mac_hex(key, credential, full);
	credential_digest_of_mac(full, out);
}

void credential_digest_of_mac(const char *mac_hex, char out[CREDENTIAL_DIGEST_HEX])
{
	g_strlcpy(out, mac_hex, CREDENTIAL_DIGEST_HEX);
}

gboolean credential_mac_hex_valid(const char *s)
{
	size_t i;

	for (i = 0; s && s[i]; i++)
		if (!g_ascii_isdigit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return FALSE;
	return s && i == 2 * CREDENTIAL_KEY_LEN;
}
