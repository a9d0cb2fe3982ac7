/* Door credentials by keyed digest: what names a credential on the bus, in the room
 * agents' admission lists, in state.db and in the archives, without the credential.
 *
 * The site credential key (32 random bytes, provisioned once per site by `evalroomctl
 * provision` as site-credential.key, readable only by the controller and the room
 * agents, never written into an archive) keys an HMAC-SHA256 of "evalroom-credential:"
 * and the credential ("pin:482913", "w26:12:3456"). Without the key a digest cannot be
 * reversed by trying every PIN or card number. Two renderings of the one MAC:
 * - the admission digest, all 32 bytes as 64 lowercase hex digits: the controller's
 *   admission lists and state.db, the agent's admission list and admission.json;
 * - the credential digest, its first 8 bytes as 16 hex digits: door events, alerts and
 *   tender archives (the controller names the person of a wrong-room try from it). */
#pragma once
#include <glib.h>
#include <stddef.h>

#define CREDENTIAL_KEY_LEN    32
#define CREDENTIAL_MAC_LEN    32
#define CREDENTIAL_MAC_HEX    65 /* 64 hex digits and the NUL */
#define CREDENTIAL_DIGEST_HEX 17 /* 16 hex digits and the NUL */

struct credential_key {
	unsigned char k[CREDENTIAL_KEY_LEN];
};

/* credential_key_load: read the key file PATH (64 hex digits, an optional newline) into
 * KEY. -ENOENT / -EACCES when it cannot be read, -EINVAL when it is not such a file;
 * *err names the file and the fault. A file others may read is refused (-EPERM): the
 * key is what keeps a digest from being reversed. */
int credential_key_load(const char *path, struct credential_key *key, GError **err);
/* credential_key_write: make a new random key and write it to PATH (mode 0600, created;
 * an existing file is kept as it is: digests made with it must stay valid). 0 or -errno
 * with *err set. */
int credential_key_write(const char *path, GError **err);

/* credential_mac_hex: the admission digest of CREDENTIAL under KEY into OUT. */
void credential_mac_hex(const struct credential_key *key, const char *credential,
                        char out[CREDENTIAL_MAC_HEX]);
/* credential_digest: the credential digest (first 16 hex digits of the admission
 * digest) of CREDENTIAL under KEY into OUT. */
void credential_digest(const struct credential_key *key, const char *credential,
                       char out[CREDENTIAL_DIGEST_HEX]);
/* credential_digest_of_mac: the credential digest of an admission digest MAC_HEX. */
void credential_digest_of_mac(const char *mac_hex, char out[CREDENTIAL_DIGEST_HEX]);
/* credential_mac_hex_valid: whether S is 64 lowercase hex digits. */
gboolean credential_mac_hex_valid(const char *s);
