/* Merkle tree: RFC 6962 test vectors (the certificate-transparency reference inputs, cross-
 * checked with an independent Python implementation) and inclusion proofs for every leaf of
 * every tree size 1..64; consistency proofs against the same reference vectors (RFC 6962's
 * reference implementation, as the transparency-log libraries test them) and for every pair of
 * sizes up to 40, where a fork or a flipped bit must fail. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hex.h"
#include "leaf.h"
#include "merkle.h"

static const struct {
	const char *data;
	size_t len;
} inputs[8] = {
    {"", 0},
    {"\x00", 1},
    {"\x10", 1},
    {"\x20\x21", 2},
    {"\x30\x31", 2},
    {"\x40\x41\x42\x43", 4},
    {"\x50\x51\x52\x53\x54\x55\x56\x57", 8},
    {"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f", 16},
};

static const char *const roots[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static void hash_inputs(uint8_t leaves[8][32])
{
	for (int i = 0; i < 8; i++)
		merkle_leaf_hash(inputs[i].data, inputs[i].len, leaves[i]);
}

static void test_empty_tree(void **state)
{
	uint8_t root[32];
	char hex[65];

	assert_int_equal(merkle_root(NULL, 0, root), 0);
	hex_encode(root, 32, hex);
	assert_string_equal(hex,
	                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_rfc6962_roots(void **state)
{
	uint8_t leaves[8][32], root[32];
	char hex[65];

	hash_inputs(leaves);
	for (int n = 1; n <= 8; n++) {
		assert_int_equal(merkle_root(&leaves[0][0], (uint64_t)n, root), 0);
		hex_encode(root, 32, hex);
		assert_string_equal(hex, roots[n - 1]);
	}
}

static void test_rfc6962_paths(void **state)
{
	static const char *const leaf0_of8[3] = {
	    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
	};
	static const char *const leaf5_of8[3] = {
	    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
	    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
	    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	};
	uint8_t leaves[8][32], path[MERKLE_MAX_PATH][32];
	char hex[65];
	size_t len;

	hash_inputs(leaves);
	assert_int_equal(merkle_inclusion_path(&leaves[0][0], 8, 0, path, &len), 0);
	assert_int_equal(len, 3);
	for (size_t i = 0; i < len; i++) {
		hex_encode(path[i], 32, hex);
		assert_string_equal(hex, leaf0_of8[i]);
	}
	assert_int_equal(merkle_inclusion_path(&leaves[0][0], 8, 5, path, &len), 0);
	assert_int_equal(len, 3);
	for (size_t i = 0; i < len; i++) {
		hex_encode(path[i], 32, hex);
		assert_string_equal(hex, leaf5_of8[i]);
	}
	assert_int_equal(merkle_inclusion_path(&leaves[0][0], 8, 8, path, &len), -EINVAL);
}

/* Every leaf of every size: the proof verifies, and fails for a wrong leaf, index or
 * a flipped path bit. (The tree size is bound by the signed root, not by the path.) */
static void test_inclusion_all_sizes(void **state)
{
	enum { N = 64 };
	uint8_t leaves[N][32], root[32], path[MERKLE_MAX_PATH][32], bad[32];
	size_t len;

	for (int i = 0; i < N; i++) {
		uint8_t b = (uint8_t)i;

		merkle_leaf_hash(&b, 1, leaves[i]);
	}
	for (uint64_t n = 1; n <= N; n++) {
		merkle_root(&leaves[0][0], n, root);
		for (uint64_t m = 0; m < n; m++) {
			assert_int_equal(merkle_inclusion_path(&leaves[0][0], n, m, path, &len), 0);
			assert_int_equal(merkle_inclusion_verify(leaves[m], m, n, path, len, root),
			                 0);
			memcpy(bad, leaves[m], 32);
			bad[0] ^= 1;
			assert_int_not_equal(merkle_inclusion_verify(bad, m, n, path, len, root),
			                     0);
			if (n > 1) {
				assert_int_not_equal(merkle_inclusion_verify(leaves[m], (m + 1) % n,
				                                             n, path, len, root),
				                     0);
				path[len - 1][5] ^= 0x80;
				assert_int_not_equal(
				    merkle_inclusion_verify(leaves[m], m, n, path, len, root), 0);
			}
		}
	}
}

/* The incremental builder gives the same root as the recursive definition at every size. */
static void test_builder_matches_root(void **state)
{
	enum { N = 300 };
	static uint8_t leaves[N][32];
	struct merkle_builder b;
	uint8_t want[32], got[32];

	merkle_builder_init(&b);
	merkle_builder_root(&b, got);
	merkle_root(NULL, 0, want);
	assert_memory_equal(got, want, 32);
	for (int i = 0; i < N; i++) {
		uint8_t x[2] = {(uint8_t)i, (uint8_t)(i >> 8)};

		merkle_leaf_hash(x, 2, leaves[i]);
		merkle_builder_add(&b, leaves[i]);
		merkle_builder_root(&b, got);
		merkle_root(&leaves[0][0], (uint64_t)i + 1, want);
		assert_memory_equal(got, want, 32);
	}
	assert_int_equal(b.size, N);
}

static void hexes(const char *const *hex, size_t n, uint8_t out[][32])
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(hex_decode(hex[i], out[i], 32), 0);
}

/* The reference consistency proofs of the eight RFC 6962 inputs. */
static void test_rfc6962_consistency(void **state)
{
	static const struct {
		uint64_t m, n;
		size_t len;
		const char *proof[3];
	} v[] = {
	    {1, 1, 0, {NULL}},
	    {1,
	     8,
	     3,
	     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
	      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
	    {6,
	     8,
	     3,
	     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
	      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
	      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
	    {2,
	     5,
	     2,
	     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
	};
	uint8_t leaves[8][32], proof[MERKLE_MAX_CONSISTENCY][32], want[3][32], r1[32], r2[32];
	size_t len;

	hash_inputs(leaves);
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(
		    merkle_consistency_proof(&leaves[0][0], v[i].n, v[i].m, proof, &len), 0);
		assert_int_equal(len, v[i].len);
		hexes(v[i].proof, v[i].len, want);
		assert_memory_equal(proof, want, len * 32);
		assert_int_equal(hex_decode(roots[v[i].m - 1], r1, 32), 0);
		assert_int_equal(hex_decode(roots[v[i].n - 1], r2, 32), 0);
		assert_int_equal(merkle_consistency_verify(v[i].m, v[i].n, r1, r2, want, len), 0);
	}
	assert_int_equal(merkle_consistency_proof(&leaves[0][0], 4, 5, proof, &len), -EINVAL);
}

/* Every pair of sizes 0 <= m <= n <= 40: the proof verifies; a flipped bit anywhere in it, an
 * old tree with one other leaf (a fork), swapped roots or a shortened proof fail. (As with
 * inclusion, the sizes are bound by the signed checkpoints, not by the proof.) */
static void test_consistency_all_sizes(void **state)
{
	enum { N = 40 };
	uint8_t leaves[N][32], forked[N][32], proof[MERKLE_MAX_CONSISTENCY][32];
	uint8_t r1[32], r2[32], rf[32];
	size_t len;

	for (int i = 0; i < N; i++) {
		uint8_t b[2] = {(uint8_t)i, 7};

		merkle_leaf_hash(b, 2, leaves[i]);
	}
	for (uint64_t n = 0; n <= N; n++) {
		merkle_root(&leaves[0][0], n, r2);
		for (uint64_t m = 0; m <= n; m++) {
			merkle_root(&leaves[0][0], m, r1);
			assert_int_equal(merkle_consistency_proof(&leaves[0][0], n, m, proof, &len),
			                 0);
			assert_true(len <= MERKLE_MAX_CONSISTENCY);
			assert_int_equal(merkle_consistency_verify(m, n, r1, r2, proof, len), 0);
			if (m == 0)
				continue;
			/* the old tree with its last leaf replaced: a fork at size m */
			memcpy(forked, leaves, sizeof(leaves));
			forked[m - 1][0] ^= 1;
			merkle_root(&forked[0][0], m, rf);
			assert_int_not_equal(merkle_consistency_verify(m, n, rf, r2, proof, len),
			                     0);
			if (m == n)
				continue;
			assert_int_not_equal(merkle_consistency_verify(m, n, r2, r1, proof, len),
			                     0);
			for (size_t i = 0; i < len; i++) {
				proof[i][i % 32] ^= 0x40;
				assert_int_not_equal(
				    merkle_consistency_verify(m, n, r1, r2, proof, len), 0);
				proof[i][i % 32] ^= 0x40;
			}
			assert_int_not_equal(
			    merkle_consistency_verify(m, n, r1, r2, proof, len - 1), 0);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_tree),
	    cmocka_unit_test(test_rfc6962_roots),
	    cmocka_unit_test(test_rfc6962_paths),
	    cmocka_unit_test(test_inclusion_all_sizes),
	    cmocka_unit_test(test_builder_matches_root),
	    cmocka_unit_test(test_rfc6962_consistency),
	    cmocka_unit_test(test_consistency_all_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
