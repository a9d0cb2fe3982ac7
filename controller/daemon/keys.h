/* The controller's checkpoint signing keys over time (docs/archive-format.md, "Key history";
 * docs/operator.md, "Rotating and revoking the signing key"): the key history kept in
 * state_dir/key-history.log, and the custodian's offline commands that rotate and revoke.
 *
 * Rotation and revocation run with the daemon stopped (evalroom-controller --rotate-key,
 * --revoke-key): the daemon holds state_dir/key-history.lock for its whole life, so they
 * refuse while it runs. At its next start every archive it reopens gets the new entries and a
 * checkpoint signed by the new key. */
#pragma once
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

#include "controller.h"
#include "key_history.h"
#include "request_handler.h"

/* keys_init: takes the history lock (-EBUSY: another controller, or a rotation, holds it) and
 * loads the history into c->key_history; PUBLIC_RAW (the loaded signing key) must be its
 * current key, and SECOND (the second_signing_key, or NULL) its current second key once an
 * entry concerns the second key. 0 or -errno with *err. keys_free: releases both. */
int keys_init(struct controller *c, const uint8_t public_raw[32],
              const struct archive_signer *second, GError **err);
void keys_free(struct controller *c);

/* keys_rotate_offline: with the daemon stopped, makes a new Ed25519 key, records the rotation
 * from the configured signing_key to it (signed by both) in the history, keeps the old key as
 * SIGNING_KEY's name with "-<first 16 hex of its id>" before ".key" (and its .pub likewise),
 * and puts the new key in SIGNING_KEY (0600, owned like the old one) and its .pub.
 * keys_revoke_offline: records that key ID (64 hex digits, or a unique prefix of at least 8)
 * is not to be trusted from FROM_US, signed by the current key and, if its kept file is
 * there, by the revoked key. Both print what they did to OUT. 0, or -errno with *err. */
int keys_rotate_offline(const struct controller_config *cfg, const char *reason, FILE *out,
                        GError **err);
/* keys_rotate_second_offline: keys_rotate_offline for the second key (second_signing_key, SM2
 * or Ed25519): a new key of the same algorithm, the rotation (an entry rotate2) signed by the
 * old and the new second key, the old one kept under its id-tagged name. keys_revoke_offline
 * revokes a second key too when ID names one (signed by the current second key and, if its
 * kept file is there, by the revoked one). */
int keys_rotate_second_offline(const struct controller_config *cfg, const char *reason, FILE *out,
                               GError **err);
int keys_revoke_offline(const struct controller_config *cfg, const char *id, int64_t from_us,
                        const char *reason, FILE *out, GError **err);

/* keys_history_json: the lines of the controller's key history (key-history.log, without
 * their newlines) as a new JSON array, or NULL when it has no entry: the `key_history` of the
 * replies that let another party follow a rotation (archives.roots, archive.checkpoint). */
json_t *keys_history_json(const struct controller *c);

/* keys.list {}: the history's keys (docs/operator.md). */
extern const struct request_handler keys_request_handlers[];
