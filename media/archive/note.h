/* C2SP signed notes (c2sp.org/signed-note): the signature lines, key ids and verifier keys
 * of the archive's checkpoints (docs/archive-format.md). Pure functions, no I/O. */
#ifndef EVALROOM_ARCHIVE_NOTE_H
#define EVALROOM_ARCHIVE_NOTE_H

#include <stddef.h>
#include <stdint.h>

/* Signature type bytes of the signed-note specification. */
#define NOTE_TYPE_ED25519 0x01
/* c2sp.org/tlog-cosignature: an Ed25519 cosignature/v1 (timestamped). */
#define NOTE_TYPE_COSIGNATURE_V1 0x04

/* note_key_id: the recommended key id, the first four bytes (big-endian) of
 * SHA-256(NAME || 0x0A || TYPE || PUB[0..LEN)). */
uint32_t note_key_id(const char *name, uint8_t type, const uint8_t *pub, size_t len);

/* note_signature_line: "— NAME base64(KEY_ID big-endian || SIG)\n" (U+2014 em dash), a new
 * string (g_free). */
char *note_signature_line(const char *name, uint32_t key_id, const uint8_t *sig, size_t len);

/* note_vkey: the verifier key "NAME+hex(KEY_ID)+base64(TYPE || PUB)", a new string (g_free). */
char *note_vkey(const char *name, uint8_t type, const uint8_t *pub, size_t len);

/* note_text: TEXT (which ends in a newline), the blank line, then LINE (one signature line);
 * a new string (g_free). */
char *note_signed(const char *text, const char *line);

/* note_checkpoint: the signed note of a format version 2 checkpoint: BODY, the blank line and
 * the Ed25519 signature line of the key named as BODY's first line (its origin) with public
 * key PUB; a new string (g_free). NULL when BODY has no first line. */
char *note_checkpoint(const char *body, const uint8_t pub[32], const uint8_t *sig, size_t len);

/* note_checkpoint_vkey: the verifier key of that signer (key name = BODY's origin); g_free. */
char *note_checkpoint_vkey(const char *body, const uint8_t pub[32]);

/* note_vkey_parse: a verifier key "NAME+hex(KEY_ID)+base64(TYPE || PUB)" whose key material is
 * a 32-byte Ed25519 key and whose key id is the one note_key_id gives for them. On success 0,
 * *name (new, g_free), *type, pub and *key_id; else -EINVAL with *why (new text). */
int note_vkey_parse(const char *vkey, char **name, uint8_t *type, uint8_t pub[32], uint32_t *key_id,
                    char **why);

/* note_origin: the first line of a note's BODY (its origin or key name); new text, NULL when
 * BODY has no non-empty first line. */
char *note_origin(const char *body);

#endif
