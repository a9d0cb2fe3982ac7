#include "credential.h"

#include <glib.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "hex.h"

void credential_digest(const char *credential, char out[CREDENTIAL_DIGEST_HEX])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	char *s = g_strconcat("evalroom-credential:", credential, NULL);
	SHA256((const unsigned char *)s, strlen(s), md);
	g_free(s);
	hex_encode(md, 8, out);
}
