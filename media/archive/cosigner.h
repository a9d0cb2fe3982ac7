/* A cosigner's judgement (c2sp.org/tlog-cosignature): before it cosigns a tender's newest
 * checkpoint it checks the controller's signature and an RFC 9162 consistency proof from the
 * last checkpoint of that tender it cosigned, and it keeps its own record of those, so a
 * checkpoint that forks from it (another root at the same size) or goes back (a smaller
 * size) is refused. The record is a text file of its own, one line per tender:
 *
 *     <tender> <tree size> <root hex> <SHA-256 hex of the body cosigned> <sealed 0|1>
 *
 * written whole (a new file renamed over the old). Main thread only. */
#ifndef EVALROOM_ARCHIVE_COSIGNER_H
#define EVALROOM_ARCHIVE_COSIGNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "merkle.h"
#include "signing.h"

struct cosigner_state;

/* The record at PATH (a missing file is an empty record). 0, or -EINVAL / -EIO with *why
 * (new text) when it cannot be read or a line is malformed. */
int cosigner_state_load(const char *path, struct cosigner_state **out, char **why);
void cosigner_state_free(struct cosigner_state *s);
/* Writes the record back to its file (fsync'd, then renamed over it). 0 or -errno, *why. */
int cosigner_state_save(const struct cosigner_state *s, char **why);

/* What the record holds for TENDER: false when it cosigned none of it yet. */
bool cosigner_state_get(const struct cosigner_state *s, const char *tender, uint64_t *size,
                        uint8_t root[32], bool *sealed);

/* A checkpoint as the controller sent it, parsed from its body: the C2SP checkpoint's origin
 * (SITE/evalroom/TENDER), size and root, and whether it is the sealing one. */
struct cosigner_checkpoint {
	char tender[65];
	uint64_t size;
	uint8_t root[32];
	uint8_t body_sha[32];
	bool sealed;
};

enum cosigner_verdict {
	COSIGNER_COSIGN = 0,  /* consistent and newer (or the first seen): cosign it */
	COSIGNER_ALREADY = 1, /* exactly the checkpoint cosigned last: nothing to do */
};

/* cosigner_judge: checks BODY (a format version 2 checkpoint of TENDER) with its Ed25519
 * signature SIG by the controller's KEY, and PROOF (LEN hashes) from the size the record
 * holds for TENDER to BODY's size. Fills *cp. Returns COSIGNER_COSIGN, COSIGNER_ALREADY, or
 * -EBADMSG with *why (new text) naming the refusal: a bad signature, a body that is no
 * checkpoint of TENDER, a smaller size than cosigned before (rollback), another root at the
 * size cosigned before (fork), a proof that does not hold (fork). */
int cosigner_judge(const struct cosigner_state *s, const char *tender, const char *body,
                   const uint8_t *sig, size_t sig_len, const struct archive_pubkey *key,
                   const uint8_t proof[][MERKLE_HASH_LEN], size_t len,
                   struct cosigner_checkpoint *cp, char **why);

/* Records CP as the last checkpoint of its tender cosigned (in memory; cosigner_state_save
 * writes it). */
void cosigner_state_set(struct cosigner_state *s, const struct cosigner_checkpoint *cp);

#endif
