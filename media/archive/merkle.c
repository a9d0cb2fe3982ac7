#include "merkle.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

void merkle_leaf_hash(const void *data, size_t len, uint8_t out[MERKLE_HASH_LEN])
{
	static const uint8_t prefix = 0x00;
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	/* Allocation failure here is not recoverable in any useful way for a hash. */
	if (!c)
		abort();
	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	EVP_DigestUpdate(c, &prefix, 1);
	EVP_DigestUpdate(c, data, len);
	EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
}

void merkle_node_hash(const uint8_t left[MERKLE_HASH_LEN], const uint8_t right[MERKLE_HASH_LEN],
                      uint8_t out[MERKLE_HASH_LEN])
{
	uint8_t buf[1 + 2 * MERKLE_HASH_LEN];

	buf[0] = 0x01;
	memcpy(buf + 1, left, MERKLE_HASH_LEN);
	memcpy(buf + 1 + MERKLE_HASH_LEN, right, MERKLE_HASH_LEN);
	SHA256(buf, sizeof(buf), out);
}

/* Largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
	uint64_t k = 1;

	while (k << 1 < n)
		k <<= 1;
	return k;
}

/* Recursion depth is log2(n), so the stack stays small for any realistic size. */
static void subtree_root(const uint8_t *leaves, uint64_t n, uint8_t out[MERKLE_HASH_LEN])
{
	uint8_t l[MERKLE_HASH_LEN], r[MERKLE_HASH_LEN];
	uint64_t k;

	if (n == 1) {
		memcpy(out, leaves, MERKLE_HASH_LEN);
		return;
	}
	k = split_point(n);
	subtree_root(leaves, k, l);
	subtree_root(leaves + k * MERKLE_HASH_LEN, n - k, r);
	merkle_node_hash(l, r, out);
}

int merkle_root(const uint8_t *leaves, uint64_t n, uint8_t out[MERKLE_HASH_LEN])
{
	if (n == 0) {
		SHA256((const uint8_t *)"", 0, out);
		return 0;
	}
	subtree_root(leaves, n, out);
	return 0;
}

static void path_rec(const uint8_t *leaves, uint64_t n, uint64_t m, uint8_t path[][MERKLE_HASH_LEN],
                     size_t *len)
{
	uint64_t k;

	if (n <= 1)
		return;
	k = split_point(n);
	if (m < k) {
		path_rec(leaves, k, m, path, len);
		subtree_root(leaves + k * MERKLE_HASH_LEN, n - k, path[(*len)++]);
	} else {
		path_rec(leaves + k * MERKLE_HASH_LEN, n - k, m - k, path, len);
		subtree_root(leaves, k, path[(*len)++]);
	}
}

int merkle_inclusion_path(const uint8_t *leaves, uint64_t n, uint64_t index,
                          uint8_t path[][MERKLE_HASH_LEN], size_t *len)
{
	if (index >= n)
		return -EINVAL;
	*len = 0;
	path_rec(leaves, n, index, path, len);
	return 0;
}

int merkle_inclusion_verify(const uint8_t leaf_hash[MERKLE_HASH_LEN], uint64_t index, uint64_t size,
                            const uint8_t path[][MERKLE_HASH_LEN], size_t len,
                            const uint8_t root[MERKLE_HASH_LEN])
{
	uint8_t r[MERKLE_HASH_LEN];
	uint64_t fn = index, sn = size - 1;
	size_t i;

	if (index >= size || len > MERKLE_MAX_PATH)
		return -EBADMSG;
	memcpy(r, leaf_hash, MERKLE_HASH_LEN);
	for (i = 0; i < len; i++) {
		if (sn == 0)
			return -EBADMSG;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(path[i], r, r);
			if (!(fn & 1)) {
				while (!(fn & 1) && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
			}
		} else {
			merkle_node_hash(r, path[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return -EBADMSG;
	return memcmp(r, root, MERKLE_HASH_LEN) == 0 ? 0 : -EBADMSG;
}

void merkle_builder_init(struct merkle_builder *b)
{
	memset(b, 0, sizeof(*b));
}

void merkle_builder_add(struct merkle_builder *b, const uint8_t leaf_hash[MERKLE_HASH_LEN])
{
	uint8_t carry[MERKLE_HASH_LEN];
	int i = 0;

	memcpy(carry, leaf_hash, MERKLE_HASH_LEN);
	/* Binary carry: two equal-size perfect subtrees merge into one twice as large. */
	while (b->size & (UINT64_C(1) << i)) {
		merkle_node_hash(b->peaks[i], carry, carry);
		i++;
	}
	memcpy(b->peaks[i], carry, MERKLE_HASH_LEN);
	b->size++;
}

void merkle_builder_root(const struct merkle_builder *b, uint8_t out[MERKLE_HASH_LEN])
{
	uint8_t acc[MERKLE_HASH_LEN];
	int i, have = 0;

	if (b->size == 0) {
		merkle_root(NULL, 0, out);
		return;
	}
	/* MTH splits at the largest power of two, so the root folds the peaks from the
	 * smallest (rightmost) up: node(p_big, node(..., p_small)). */
	for (i = 0; i < 64; i++) {
		if (!(b->size & (UINT64_C(1) << i)))
			continue;
		if (!have) {
			memcpy(acc, b->peaks[i], MERKLE_HASH_LEN);
			have = 1;
		} else {
			merkle_node_hash(b->peaks[i], acc, acc);
		}
	}
	memcpy(out, acc, MERKLE_HASH_LEN);
}

/* SUBPROOF(m, D[n], b) of RFC 9162 2.1.4.1; recursion depth log2(n). */
static void subproof(const uint8_t *leaves, uint64_t n, uint64_t m, int complete,
                     uint8_t proof[][MERKLE_HASH_LEN], size_t *len)
{
	uint64_t k;

	if (m == n) {
		if (!complete)
			subtree_root(leaves, n, proof[(*len)++]);
		return;
	}
	k = split_point(n);
	if (m <= k) {
		subproof(leaves, k, m, complete, proof, len);
		subtree_root(leaves + k * MERKLE_HASH_LEN, n - k, proof[(*len)++]);
	} else {
		subproof(leaves + k * MERKLE_HASH_LEN, n - k, m - k, 0, proof, len);
		subtree_root(leaves, k, proof[(*len)++]);
	}
}

int merkle_consistency_proof(const uint8_t *leaves, uint64_t n, uint64_t m,
                             uint8_t proof[][MERKLE_HASH_LEN], size_t *len)
{
	if (m > n)
		return -EINVAL;
	*len = 0;
	if (m > 0 && m < n)
		subproof(leaves, n, m, 1, proof, len);
	return 0;
}

int merkle_consistency_verify(uint64_t old_size, uint64_t new_size,
                              const uint8_t old_root[MERKLE_HASH_LEN],
                              const uint8_t new_root[MERKLE_HASH_LEN],
                              const uint8_t proof[][MERKLE_HASH_LEN], size_t len)
{
	uint8_t fr[MERKLE_HASH_LEN], sr[MERKLE_HASH_LEN];
	uint64_t fn, sn;
	size_t i = 0;

	if (old_size > new_size || len > MERKLE_MAX_CONSISTENCY)
		return -EBADMSG;
	if (old_size == new_size)
		return len == 0 && memcmp(old_root, new_root, MERKLE_HASH_LEN) == 0 ? 0 : -EBADMSG;
	if (old_size == 0)
		return len == 0 ? 0 : -EBADMSG;
	if (len == 0)
		return -EBADMSG;
	/* A power-of-two old tree is itself a node of the new one: the proof omits it. */
	if ((old_size & (old_size - 1)) == 0) {
		memcpy(fr, old_root, MERKLE_HASH_LEN);
	} else {
		memcpy(fr, proof[0], MERKLE_HASH_LEN);
		i = 1;
	}
	memcpy(sr, fr, MERKLE_HASH_LEN);
	fn = old_size - 1;
	sn = new_size - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < len; i++) {
		if (sn == 0)
			return -EBADMSG;
		if ((fn & 1) || fn == sn) {
			merkle_node_hash(proof[i], fr, fr);
			merkle_node_hash(proof[i], sr, sr);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			merkle_node_hash(sr, proof[i], sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || memcmp(fr, old_root, MERKLE_HASH_LEN) != 0 ||
	    memcmp(sr, new_root, MERKLE_HASH_LEN) != 0)
		return -EBADMSG;
	return 0;
}
