/* The history of the controller's checkpoint signing keys (docs/archive-format.md, "Key
 * history"): rotations and revocations, each an entry of exact signed text, chained to the
 * one before it, signed by the keys it concerns. The controller keeps it in its state
 * directory (key-history.log, append-only) and copies it into every archive; the verifier
 * reads it from the archive (or a copy of the file) and accepts a checkpoint's signature
 * only from a key valid at that checkpoint's time.
 *
 * A key's id is the lower-case hex SHA-256 of its 32-byte raw Ed25519 public key: the value
 * of every version 2 checkpoint's `key` line, so one id names one key in the checkpoints,
 * the history, `verify` and `evalroomctl keys list`. */
#ifndef EVALROOM_ARCHIVE_KEY_HISTORY_H
#define EVALROOM_ARCHIVE_KEY_HISTORY_H

#include <glib.h>
#include <stdint.h>

#include "signing.h"

#define KEY_HISTORY_FILE "key-history.log"
#define KEY_ID_HEX       65 /* 64 hex digits and the NUL */

enum key_event_kind { KEY_EVENT_ROTATE, KEY_EVENT_REVOKE };

/* Which key an entry concerns: the checkpoint key (Ed25519, the `key` line; entries "rotate",
 * "revoke") or the second key beside it (SM2 or Ed25519, the `key2` line; entries "rotate2",
 * "revoke2"). A second key's id is the hex SHA-256 of its DER SubjectPublicKeyInfo, the value
 * of the key2 line. */
enum key_slot { KEY_SLOT_MAIN = 0, KEY_SLOT_SECOND = 1 };

/* What an entry states; its signed text is key_event_text(). */
struct key_event {
	enum key_event_kind kind;
	enum key_slot slot;
	uint64_t index;      /* 0, 1, ... in the history */
	uint8_t prev[32];    /* SHA-256 of the previous entry's text, zeros for entry 0 */
	int64_t time_us;     /* when it was made (UTC us) */
	uint8_t old_key[32]; /* rotate (main): the raw public key replaced */
	uint8_t new_key[32]; /* rotate (main): the raw public key that signs from time_us on */
	GByteArray *old_der; /* rotate2: the DER SPKI of the second key replaced; owned */
	GByteArray *new_der; /* rotate2: the DER SPKI of the second key from time_us on; owned */
	uint8_t key_id[32];  /* revoke, revoke2: the id of the key revoked */
	int64_t from_us;     /* revoke: not to be trusted from this time on */
	char *reason;        /* free text, no NUL; owned */
};

/* One signed entry: TEXT (the exact signed bytes), SIG by the old key (rotate) or the current
 * key (revoke), SIG2 by the new key (rotate) or the revoked key (revoke; may be NULL); for
 * rotate2 and revoke2 the same by the second keys (SM2: DER signatures). */
struct key_entry {
	char *text;
	GByteArray *sig, *sig2;
	struct key_event ev;
};

/* A key's place in the history. */
struct key_window {
	enum key_slot slot;
	uint8_t raw[32];  /* main: the raw Ed25519 public key */
	GByteArray *der;  /* second: the DER SubjectPublicKeyInfo */
	uint8_t idh[32];  /* the id as bytes: SHA-256 of raw (main) or of der (second) */
	char id[KEY_ID_HEX];
	struct archive_pubkey *pub;
	int64_t from_us;    /* introduced (INT64_MIN: the first key) */
	int64_t to_us;      /* replaced by the next rotation (INT64_MAX: current) */
	int64_t revoked_us; /* not trusted from (INT64_MAX: not revoked) */
	char *revoke_reason;
};

struct key_history;

/* key_id_hex: the id of RAW into OUT. */
void key_id_hex(const uint8_t raw[32], char out[KEY_ID_HEX]);

/* key_event_text: the exact signed text of EV; a new string (g_free). */
char *key_event_text(const struct key_event *ev);

/* key_history_new: an empty history. key_history_free: NULL is allowed. */
struct key_history *key_history_new(void);
void key_history_free(struct key_history *h);

/* key_history_add: checks TEXT with its signatures as the next entry of H (index, prev,
 * time not before the last entry, a rotation from the current key signed by it and by the new
 * key, a revocation of a known key other than the current one signed by the current key and,
 * if given, the revoked one) and appends it (copies). 0, or -EBADMSG with *WHY (g_free) naming
 * what is wrong. */
int key_history_add(struct key_history *h, const char *text, const uint8_t *sig, size_t sig_len,
                    const uint8_t *sig2, size_t sig2_len, char **why);

/* key_history_load: reads the history file PATH (a missing file is an empty history) and
 * checks every entry as key_history_add does. 0, -EBADMSG (*err names the line), -EIO. */
int key_history_load(const char *path, struct key_history **out, GError **err);
/* key_history_parse: the same on the file's text DATA (NAME for the messages), e.g. the lines
 * a controller answers archives.roots with. */
int key_history_parse(const char *data, const char *name, struct key_history **out, GError **err);

/* key_history_rotate: a rotation from OLD (the current key, or any key when H is empty) to
 * NEW at TIME_US, signed by both, appended to the file PATH (fsync'd) and to H.
 * key_history_revoke: a revocation of key ID (hex) from FROM_US, signed by CURRENT and, when
 * not NULL, by REVOKED (the revoked key's private half). 0, -EINVAL (*err says why: not the
 * current key, unknown id, the current key), -EIO. */
int key_history_rotate(struct key_history *h, const char *path,
                       const struct archive_signer *old_key, const struct archive_signer *new_key,
                       int64_t time_us, const char *reason, GError **err);
/* key_history_revoke revokes a second key (an entry revoke2) when ID names one; CURRENT and
 * REVOKED are then second keys. */
int key_history_revoke(struct key_history *h, const char *path,
                       const struct archive_signer *current, const struct archive_signer *revoked,
                       const char *id, int64_t from_us, int64_t time_us, const char *reason,
                       GError **err);

/* The entries, 0..n-1 (borrowed). */
guint key_history_length(const struct key_history *h);
const struct key_entry *key_history_entry(const struct key_history *h, guint i);

/* The keys in the order introduced (the first one, then each rotation's new key), borrowed.
 * key_history_current: the last one, NULL when the history is empty. */
guint key_history_keys(const struct key_history *h);
const struct key_window *key_history_key(const struct key_history *h, guint i);
const struct key_window *key_history_current(const struct key_history *h);
/* key_history_find: the key whose raw public key hashes to ID_HASH (32 bytes), or NULL. */
const struct key_window *key_history_find(const struct key_history *h, const uint8_t id_hash[32]);
/* key_history_at: the key in use at TIME_US (the one whose [from, to) holds it), or NULL for an
 * empty history. */
const struct key_window *key_history_at(const struct key_history *h, int64_t time_us);

/* The same per slot: the keys of SLOT in the order introduced (the first one, then each
 * rotation's new key), its current key (NULL: no entry concerns that slot), the key of SLOT
 * whose id is ID_HASH, the one in use at TIME_US. */
guint key_history_slot_keys(const struct key_history *h, enum key_slot slot);
const struct key_window *key_history_slot_key(const struct key_history *h, enum key_slot slot,
                                              guint i);
const struct key_window *key_history_slot_current(const struct key_history *h,
                                                  enum key_slot slot);
const struct key_window *key_history_slot_find(const struct key_history *h, enum key_slot slot,
                                               const uint8_t id_hash[32]);
const struct key_window *key_history_slot_at(const struct key_history *h, enum key_slot slot,
                                             int64_t time_us);

/* key_window_check_use: NULL when W may sign at TIME_US (introduced, not replaced, not
 * revoked then), else why not, naming the time, the key and the window: "signed at T by key
 * ID, which is revoked from T (REASON)", "... after it was replaced (at T)", "... before it was
 * introduced (at T)" (a new string). */
char *key_window_check_use(const struct key_window *w, int64_t time_us);

/* key_history_rotate_second: as key_history_rotate, for the second key (OLD the current
 * second key, or any key of an algorithm the format takes when no entry concerns it yet; NEW
 * of the same algorithm): an entry rotate2, signed by both second keys. */
int key_history_rotate_second(struct key_history *h, const char *path,
                              const struct archive_signer *old_key,
                              const struct archive_signer *new_key, int64_t time_us,
                              const char *reason, GError **err);

/* key_history_line: the file line of entry E ("TEXT SIG SIG2", each base64, "-" for no SIG2,
 * and a newline); a new string. */
char *key_history_line(const struct key_entry *e);

/* key_history_read_db: the key_history rows of an archive (format version 3) DB, in row order,
 * checked as key_history_add does, into a new *OUT (always set: key_history_free). 0, or
 * -EBADMSG / -EIO with *WHY (g_free) naming the row or SQLite's reason. */
typedef struct sqlite3 sqlite3;
int key_history_read_db(sqlite3 *db, struct key_history **out, char **why);

/* key_history_leaf_data: the Merkle leaf data of an archive's key_history row (ENTRY, SIG,
 * SIG2 or NULL): "evalroom-leaf v1 key\nentry N\n<entry>\nsignature HEX\nsignature2 HEX|-\n".
 * A new array (g_byte_array_unref). */
GByteArray *key_history_leaf_data(const char *entry, const uint8_t *sig, size_t sig_len,
                                  const uint8_t *sig2, size_t sig2_len);

#endif
