/* Door credentials and workstation login codes issued at the check-in desk, and the
 * admission-window arithmetic. Pure functions (the randomness is OpenSSL's CSPRNG);
 * shared by the controller (issues codes) and the room agent (checks them). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Login codes use letters and digits that cannot be mistaken for each other on a
 * screen or a printed slip (no 0/O, 1/I/L). */
#define CHECKIN_CODE_ALPHABET "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
#define CHECKIN_CODE_LEN      8
#define CHECKIN_PIN_LEN       6
#define CHECKIN_DIGEST_HEX    65 /* 64 hex digits + NUL */

/* checkin_pin_new: a one-time door PIN "pin:NNNNNN" (6 uniformly random digits) into
 * OUT (SIZE >= 11). 0, or -EIO when the CSPRNG fails. */
int checkin_pin_new(char *out, size_t size);
/* checkin_code_new: a login code of CHECKIN_CODE_LEN characters of
 * CHECKIN_CODE_ALPHABET, uniformly random (rejection sampling, no modulo bias), into OUT
 * (SIZE > CHECKIN_CODE_LEN). 0, or -EIO when the CSPRNG fails. */
int checkin_code_new(char *out, size_t size);
/* checkin_card_credential: "FAC:NUM" as given at the desk (FAC 0..255, NUM 0..65535,
 * decimal) into the Wiegand-26 credential "w26:FAC:NUM". -EINVAL when malformed. */
int checkin_card_credential(const char *card, char *out, size_t size);
/* checkin_code_valid: CODE has the shape a terminal may send (4..16 ASCII letters or
 * digits). */
bool checkin_code_valid(const char *code);
/* checkin_code_digest: SHA-256 (hex) of the code as the agent compares it: salted with
 * ROOM and case-folded, so Caps Lock at the seat costs no try and a digest is useless
 * in another room. CODE must be checkin_code_valid. */
void checkin_code_digest(const char *room, const char *code, char out[CHECKIN_DIGEST_HEX]);
/* checkin_digest_equal: constant-time comparison of two hex digests. */
bool checkin_digest_equal(const char *a, const char *b);

/* The admission window of a credential issued at ISSUED_US lasting WINDOW_S seconds:
 * [issued, issued + window). */
int64_t checkin_window_end(int64_t issued_us, int64_t window_s);
/* checkin_window_open: the window ending at VALID_UNTIL_US is still open at NOW_US. */
bool checkin_window_open(int64_t valid_until_us, int64_t now_us);
