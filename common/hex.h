/* Hexadecimal text of bytes: the one encoder and decoder of the project (digests, roots,
 * keys and seeds are written as lower-case hex everywhere). */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* hex_encode: BYTES[0..N) as 2*N lower-case hex digits and a NUL into OUT, which holds
 * at least 2*N + 1 bytes. Returns OUT. */
char *hex_encode(const uint8_t *bytes, size_t n, char *out);
/* hex_encode_dup: the same in a new string (g_free). */
char *hex_encode_dup(const uint8_t *bytes, size_t n);
/* hex_decode: TEXT must be exactly 2*N hex digits (either case); their bytes go to
 * OUT[0..N). Returns 0, or -EINVAL (OUT then undefined). */
int hex_decode(const char *text, uint8_t *out, size_t n);
/* hex_decode_lower: hex_decode accepting lower-case digits only (a canonical form that
 * is hashed or compared as text, e.g. a draw record). */
int hex_decode_lower(const char *text, uint8_t *out, size_t n);
