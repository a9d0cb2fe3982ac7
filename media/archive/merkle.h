/* RFC 6962 / RFC 9162 Merkle tree hashing over SHA-256. */
#ifndef EVALROOM_ARCHIVE_MERKLE_H
#define EVALROOM_ARCHIVE_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH_LEN 32
/* Longest inclusion path for any tree of up to 2^63 leaves. */
#define MERKLE_MAX_PATH 64

/* Leaf hash: SHA-256(0x00 || data). */
void merkle_leaf_hash(const void *data, size_t len, uint8_t out[MERKLE_HASH_LEN]);

/* Interior node hash: SHA-256(0x01 || left || right). */
void merkle_node_hash(const uint8_t left[MERKLE_HASH_LEN], const uint8_t right[MERKLE_HASH_LEN],
                      uint8_t out[MERKLE_HASH_LEN]);

/* Root (MTH) of the first n leaf hashes in `leaves` (n * 32 bytes). n == 0 gives
 * SHA-256 of the empty string. Returns 0, or -ENOMEM. */
int merkle_root(const uint8_t *leaves, uint64_t n, uint8_t out[MERKLE_HASH_LEN]);

/* Inclusion path (RFC 9162 2.1.3.1) of leaf `index` in the tree of the first n leaves.
 * Writes up to MERKLE_MAX_PATH hashes to `path` and their count to *len.
 * Returns 0, -EINVAL when index >= n, or -ENOMEM. */
int merkle_inclusion_path(const uint8_t *leaves, uint64_t n, uint64_t index,
                          uint8_t path[][MERKLE_HASH_LEN], size_t *len);

/* Checks an inclusion path (RFC 9162 2.1.3.2): 0 when leaf_hash at `index` in a
 * tree of `size` leaves with the given path yields `root`, else -EBADMSG. */
int merkle_inclusion_verify(const uint8_t leaf_hash[MERKLE_HASH_LEN], uint64_t index, uint64_t size,
                            const uint8_t path[][MERKLE_HASH_LEN], size_t len,
                            const uint8_t root[MERKLE_HASH_LEN]);

/* Longest consistency proof for any pair of tree sizes up to 2^63 leaves. */
#define MERKLE_MAX_CONSISTENCY (MERKLE_MAX_PATH + 1)

/* Consistency proof (RFC 9162 2.1.4.1, PROOF(m, D[n])) between the tree of the first m leaves
 * and that of the first n of `leaves` (n * 32 bytes). Writes up to MERKLE_MAX_CONSISTENCY
 * hashes to `proof` and their count to *len: none when m == 0 or m == n. Returns 0, or
 * -EINVAL when m > n. */
int merkle_consistency_proof(const uint8_t *leaves, uint64_t n, uint64_t m,
                             uint8_t proof[][MERKLE_HASH_LEN], size_t *len);

/* Checks a consistency proof (RFC 9162 2.1.4.2): 0 when the tree of `old_size` leaves with
 * root `old_root` is a prefix of the tree of `new_size` leaves with root `new_root`, else
 * -EBADMSG. old_size == new_size needs an empty proof and equal roots; old_size == 0 an empty
 * proof (every tree extends the empty one); old_size > new_size never holds. */
int merkle_consistency_verify(uint64_t old_size, uint64_t new_size,
                              const uint8_t old_root[MERKLE_HASH_LEN],
                              const uint8_t new_root[MERKLE_HASH_LEN],
                              const uint8_t proof[][MERKLE_HASH_LEN], size_t len);

/* Incremental tree (a "compact range"): the roots of the perfect subtrees covering the leaves
 * added so far, so the root of the first n leaves costs O(log n) instead of O(n). A plain value:
 * no allocation, copy freely. peaks[i] is meaningful when bit i of size is set. */
struct merkle_builder {
	uint64_t size;
	uint8_t peaks[64][MERKLE_HASH_LEN];
};

void merkle_builder_init(struct merkle_builder *b);

/* Appends one leaf hash. */
void merkle_builder_add(struct merkle_builder *b, const uint8_t leaf_hash[MERKLE_HASH_LEN]);

/* The RFC 6962 root of the leaves added so far (equals merkle_root over them). */
void merkle_builder_root(const struct merkle_builder *b, uint8_t out[MERKLE_HASH_LEN]);

#endif
