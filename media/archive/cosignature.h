/* Cosignatures of checkpoints (c2sp.org/tlog-cosignature, Ed25519 "cosignature/v1"): another
 * party (the supervision room, a second site, the regulator) states that it saw a checkpoint
 * and that it is consistent with every earlier one it cosigned. They live in the archive's
 * appendix table `cosignatures` (created by the first one), outside the Merkle tree: each row
 * proves itself with its cosigner's key, which the auditor names in a trust policy
 * (docs/archive-format.md, "Cosignatures"). */
#ifndef EVALROOM_ARCHIVE_COSIGNATURE_H
#define EVALROOM_ARCHIVE_COSIGNATURE_H

#include <glib.h>
#include <sqlite3.h>
#include <stdint.h>

#include "merkle.h"
#include "signing.h"

#define COSIG_TABLE    "cosignatures"
#define COSIG_NAME_MAX 128

/* One stored cosignature. */
struct cosignature {
	int64_t checkpoint;            /* checkpoints.id of the checkpoint cosigned */
	uint64_t tree_size;            /* its tree size */
	char name[COSIG_NAME_MAX + 1]; /* the cosigner's key name */
	uint32_t key_id;               /* SHA-256(name || 0x0A || 0x04 || key)[:4] */
	uint64_t time;                 /* the cosignature's timestamp, POSIX seconds */
	uint8_t signature[64];         /* Ed25519 over cosig_message(body, time) */
};

/* The exact bytes a cosigner signs: "cosignature/v1\ntime T\n" then BODY (the checkpoint's
 * note body, ending in a newline). New text (g_free). */
char *cosig_message(const char *body, uint64_t time);

/* cosig_sign: the cosignature of BODY at TIME by S (an Ed25519 key) in sig. 0, -EINVAL (not
 * Ed25519), -EIO. cosig_check: 0 when SIG is PUB's cosignature of BODY at TIME, else
 * -EBADMSG. */
int cosig_sign(const struct archive_signer *s, const char *body, uint64_t time, uint8_t sig[64]);
int cosig_check(const uint8_t pub[32], const char *body, uint64_t time, const uint8_t sig[64]);

/* cosig_note_line: the signed-note signature line of a cosignature ("— NAME base64(KEY_ID ||
 * timestamp (8 bytes, big-endian) || signature)\n"), new text. */
char *cosig_note_line(const struct cosignature *cs);

/* cosig_note_lines: the signed-note lines of every cosignature the archive on DB stores for
 * checkpoint row CHECKPOINT (as stored, not checked), concatenated; new text, "" when none. */
char *cosig_note_lines(sqlite3 *db, int64_t checkpoint);

/* cosig_store: appends CS to the appendix table on DB (a read-write connection with no open
 * transaction), creating the table when needed, in a transaction of its own. A second
 * cosignature by the same key of the same checkpoint is not stored again (0). 0, or -EAGAIN
 * (another connection holds the file), -EIO, with *why. */
int cosig_store(sqlite3 *db, const struct cosignature *cs, char **why);

/* cosig_store_file: the same on the archive file at PATH, through the appendix (appendix.h: a
 * sealed file is made writable for the append and read-only again). 0 or -errno, *why. */
int cosig_store_file(const char *path, const struct cosignature *cs, char **why);

/* The last checkpoint of the archive on DB: its row id, tree size, root, body (new) and
 * Ed25519 signature (64 bytes). 0, -ENOENT (none yet), -EIO. */
int cosig_last_checkpoint(sqlite3 *db, int64_t *id, uint64_t *size, uint8_t root[32], char **body,
                          uint8_t sig[64]);

/* The checkpoint of the archive on DB whose body has SHA-256 BODY_SHA: its id, tree size and
 * body (new). 0, -ENOENT, -EIO. */
int cosig_find_checkpoint(sqlite3 *db, const uint8_t body_sha[32], int64_t *id, uint64_t *size,
                          char **body);

/* The RFC 9162 consistency proof from the tree of the first FROM leaves to that of the first
 * TO, from the leaf hashes the archive on DB stores (merkle.h). 0, -EINVAL (FROM > TO, or
 * fewer than TO leaves), -EIO. */
int cosig_consistency_proof(sqlite3 *db, uint64_t from, uint64_t to,
                            uint8_t proof[][MERKLE_HASH_LEN], size_t *len);

/* A trust policy: the cosigners' verifier keys (vkeys), one per line of a file ("#" comments
 * and blank lines allowed). */
struct cosig_policy;
int cosig_policy_load(const char *path, struct cosig_policy **out, char **why);
void cosig_policy_free(struct cosig_policy *p);
size_t cosig_policy_size(const struct cosig_policy *p);

struct cosig_report {
	uint64_t rows;        /* cosignatures stored */
	uint64_t final_size;  /* tree size of the final (last) checkpoint */
	unsigned final_valid; /* policy cosigners with a valid cosignature of it */
	char *lines;   /* one line per row: valid / unknown key / BAD SIGNATURE / not checked */
	char *missing; /* the policy cosigners without a valid one of the final checkpoint,
	                * ", "-separated, or NULL */
	char *problem; /* why the archive fails the policy, or NULL */
};

/* cosig_verify: checks every cosignature of the archive on DB (a verified archive) against
 * POLICY (NULL: listed, not checked) and requires MIN distinct policy cosigners with a valid
 * cosignature of the final checkpoint. A row naming no checkpoint or another size, a hole in
 * the ids, or a policy key's cosignature that does not verify is a problem; so is a policy
 * not met. Fills *rep (cosig_report_clear). 0, -EBADMSG (rep->problem), -EIO. */
int cosig_verify(sqlite3 *db, const struct cosig_policy *policy, unsigned min,
                 struct cosig_report *rep);
void cosig_report_clear(struct cosig_report *rep);

#endif
