/* The digest that names a door credential on the bus and in the archives without the
 * credential itself: hex of the first 8 bytes of SHA-256("evalroom-credential:" credential).
 * The room agent puts it in its door events; the controller matches it against the
 * credentials of the admissions it issued. */
#pragma once

#define CREDENTIAL_DIGEST_HEX 17 /* 16 hex digits and the NUL */

void credential_digest(const char *credential, char out[CREDENTIAL_DIGEST_HEX]);
