#include "checkin_codes.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "hex.h"

/* A uniformly random integer in [0, n) from the CSPRNG: bytes at or above the largest
 * multiple of n are drawn again so no value is favoured. */
static int random_below(unsigned n, unsigned *out)
{
	unsigned limit = 256u - 256u % n;
	for (;;) {
		unsigned char b;
		if (RAND_bytes(&b, 1) != 1)
			return -EIO;
		if (b < limit) {
			*out = b % n;
			return 0;
		}
	}
}

int checkin_pin_new(char *out, size_t size)
{
	if (size < 5 + CHECKIN_PIN_LEN)
		return -EINVAL;
	memcpy(out, "pin:", 4);
	for (int i = 0; i < CHECKIN_PIN_LEN; i++) {
		unsigned d;
		if (random_below(10, &d) != 0)
			return -EIO;
		out[4 + i] = (char)('0' + d);
	}
	out[4 + CHECKIN_PIN_LEN] = '\0';
	return 0;
}

int checkin_code_new(char *out, size_t size)
{
	static const char alphabet[] = CHECKIN_CODE_ALPHABET;
	if (size <= CHECKIN_CODE_LEN)
		return -EINVAL;
	for (int i = 0; i < CHECKIN_CODE_LEN; i++) {
		unsigned k;
		if (random_below(sizeof(alphabet) - 1, &k) != 0)
			return -EIO;
		out[i] = alphabet[k];
	}
	out[CHECKIN_CODE_LEN] = '\0';
	return 0;
}

static bool parse_uint(const char *s, size_t len, unsigned max, unsigned *out)
{
	if (len == 0 || len > 5)
		return false;
	unsigned v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

int checkin_card_credential(const char *card, char *out, size_t size)
{
	const char *colon = card ? strchr(card, ':') : NULL;
	unsigned fac, num;
	if (!colon || !parse_uint(card, (size_t)(colon - card), 255, &fac) ||
	    !parse_uint(colon + 1, strlen(colon + 1), 65535, &num))
		return -EINVAL;
	int n = snprintf(out, size, "w26:%u:%u", fac, num);
	return n > 0 && (size_t)n < size ? 0 : -EINVAL;
}

bool checkin_code_valid(const char *code)
{
	size_t n = code ? strlen(code) : 0;
	if (n < 4 || n > 16)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = code[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9')))
			return false;
	}
	return true;
}

void checkin_code_digest(const char *room, const char *code, char out[CHECKIN_DIGEST_HEX])
{
	char folded[17] = {0};
	size_t n = strlen(code);
	if (n > 16)
		n = 16;
	for (size_t i = 0; i < n; i++)
		folded[i] =
		    (code[i] >= 'a' && code[i] <= 'z') ? (char)(code[i] - 'a' + 'A') : code[i];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	static const char domain[] = "evalroom-login-code";
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, domain, sizeof(domain)); /* with its NUL as separator */
	EVP_DigestUpdate(ctx, room, strlen(room) + 1);
	EVP_DigestUpdate(ctx, folded, n);
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	OPENSSL_cleanse(folded, sizeof(folded));
	hex_encode(md, mdlen < 32 ? mdlen : 32, out);
}

bool checkin_digest_equal(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	if (na != nb || na == 0)
		return false;
	return CRYPTO_memcmp(a, b, na) == 0;
}

int64_t checkin_window_end(int64_t issued_us, int64_t window_s)
{
	return issued_us + window_s * 1000000;
}

bool checkin_window_open(int64_t valid_until_us, int64_t now_us)
{
	return now_us < valid_until_us;
}
