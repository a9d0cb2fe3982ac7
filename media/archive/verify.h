/* Full verification of an archive file: every record's leaf hash, every segment's media,
 * leaf order and completeness, every checkpoint's root and Ed25519 signature. */
#ifndef EVALROOM_ARCHIVE_VERIFY_H
#define EVALROOM_ARCHIVE_VERIFY_H

#include <glib.h>
#include <stdint.h>

#include "key_history.h"
#include "reader.h"
#include "signing.h"

struct archive_verify_report {
	uint64_t leaves;        /* records holding a leaf */
	uint64_t signed_leaves; /* leaves covered by the last valid checkpoint */
	uint64_t events, segments, gaps, checkpoints;
	int sealed;
	int key_embedded; /* 1 when checked against the key recorded in the file itself */
	int key_differs;  /* 1 when the key given differs from the one recorded in meta */
	int version;      /* the file's format version */
	/* What the file's format version leaves outside every signature, by design (a static
	 * sentence naming the columns), or NULL when every column is covered (version 2). */
	const char *unsigned_by_design;
	const char *second_key; /* "sm2-sm3" or "ed25519" when a second key signs too, else NULL */
	char *problem;          /* NULL when intact, else the first problem found (in leaf order) */
	char *tender;           /* the tender the file names (NULL when its meta is unreadable) */
	GByteArray *leaf_hashes; /* recomputed leaf hashes in tree order (32 bytes each) */
	/* archive_verify_timestamps: */
	uint64_t timestamps; /* valid timestamp replies */
	char *final_tsa;     /* the TSA of a valid timestamp of the last checkpoint, or NULL */
	int64_t final_time_us;
	int final_chain; /* 1: that TSA's certificate was checked up to the given CA */
	/* The key history (format version 3, or given): */
	unsigned key_rotations, key_revocations;
	char *key_signers; /* "key ID (checkpoints 1-4), key ID (checkpoints 5-9)", or NULL */
	char *key2_signers; /* the same for the second key, when the history rotated it */
};

/* Verifies the archive behind `r`. `key` is the controller's public key; NULL means the key
 * recorded in meta (proves integrity, not origin). Fills *rep (release with
 * archive_verify_report_clear). Returns 0 when intact, -EBADMSG when rep->problem says what is
 * wrong, -EIO when the file could not be read (rep->problem says why). */
int archive_verify(struct archive_reader *r, const struct archive_pubkey *key,
                   struct archive_verify_report *rep);
void archive_verify_report_clear(struct archive_verify_report *rep);

/* archive_verify_keys: archive_verify, with KEY2 the second key (SM2 or Ed25519) the
 * checkpoints must also be signed by (NULL: the one recorded in meta.signing_pubkey2, if
 * any). A KEY2 other than the recorded one, or given for an archive without a second key, is
 * named. */
int archive_verify_keys(struct archive_reader *r, const struct archive_pubkey *key,
                        const struct archive_pubkey *key2, struct archive_verify_report *rep);

struct key_history;

/* archive_verify_history: archive_verify_keys, checking every checkpoint's signature against
 * the key the key history has in use at the checkpoint's time: the archive's own key_history
 * rows (version 3), or HISTORY (a copy of the controller's key-history.log, key_history_load)
 * when given, of which the rows must be the beginning. A checkpoint signed by a key before it
 * was introduced, after it was replaced, or from its revocation on, is named with the key's id
 * and the time. KEY (--pubkey) may then be any key of the history. */
int archive_verify_history(struct archive_reader *r, const struct archive_pubkey *key,
                           const struct archive_pubkey *key2, const struct key_history *history,
                           struct archive_verify_report *rep);

/* archive_checkpoint_signer: the public key of SLOT that checkpoint BODY's key (key2) line names
 * in H, which must be in use and not revoked at BODY's time line; FALLBACK when H holds no
 * key of SLOT or BODY has no such line (format version 1). NULL with *why (new) naming the
 * fault ("signed by a key the key history does not hold", key_window_check_use's). */
const struct archive_pubkey *archive_checkpoint_signer(const struct key_history *h,
                                                       const char *body, enum key_slot slot,
                                                       const struct archive_pubkey *fallback,
                                                       char **why);

/* Checks every RFC 3161 timestamp token stored in the archive (format version 2; none in
 * version 1) against the body of the checkpoint it names: granted, imprint = SHA-256 of that
 * body, signature valid (up to the TSA CA certificates in CA_FILE, PEM, when given; else
 * against the certificate the token carries). Run after archive_verify returned 0 on REP.
 * Fills rep->timestamps and rep->final_*. 0, or -EBADMSG with rep->problem naming the row. */
int archive_verify_timestamps(struct archive_reader *r, const char *ca_file,
                              struct archive_verify_report *rep);

#endif
