/* Commitment, seed derivation and the seed's integer stream (docs/draw.md 3-4). */
#include "draw.h"

#include <errno.h>
#include <openssl/sha.h>
#include <string.h>

/* Domain tags: ASCII text followed by one 0x00 byte, so no hash input of one
 * purpose can be read as the input of another. */
#define TAG_COMMIT      "evalroom-draw-v1 commitment"
#define TAG_SEED        "evalroom-draw-v1 seed"
#define TAG_STREAM      "evalroom-draw-v1 stream"
#define TAG_REPLACEMENT "evalroom-draw-v1 replacement"

struct hash_input {
	uint8_t buf[160];
	size_t len;
};

static void put(struct hash_input *h, const void *p, size_t n)
{
	g_assert(h->len + n <= sizeof(h->buf));
	memcpy(h->buf + h->len, p, n);
	h->len += n;
}

static void put_tag(struct hash_input *h, const char *tag)
{
	put(h, tag, strlen(tag) + 1);
}

void draw_commitment_compute(const uint8_t secret[DRAW_SECRET_LEN],
                             const uint8_t input_hash[DRAW_HASH_LEN], uint8_t out[DRAW_HASH_LEN])
{
	struct hash_input h = {.len = 0};

	put_tag(&h, TAG_COMMIT);
	put(&h, secret, DRAW_SECRET_LEN);
	put(&h, input_hash, DRAW_HASH_LEN);
	SHA256(h.buf, h.len, out);
}

void draw_seed_derive(const uint8_t secret[DRAW_SECRET_LEN], const char *entropy,
                      const uint8_t input_hash[DRAW_HASH_LEN], uint8_t out[DRAW_HASH_LEN])
{
	struct hash_input h = {.len = 0};
	uint8_t entropy_hash[DRAW_HASH_LEN];

	SHA256((const unsigned char *)entropy, strlen(entropy), entropy_hash);
	put_tag(&h, TAG_SEED);
	put(&h, secret, DRAW_SECRET_LEN);
	put(&h, entropy_hash, DRAW_HASH_LEN);
	put(&h, input_hash, DRAW_HASH_LEN);
	SHA256(h.buf, h.len, out);
}

void draw_replacement_seed(const uint8_t seed[DRAW_HASH_LEN], uint32_t counter,
                           uint8_t out[DRAW_HASH_LEN])
{
	struct hash_input h = {.len = 0};
	uint8_t be[4] = {(uint8_t)(counter >> 24), (uint8_t)(counter >> 16),
	                 (uint8_t)(counter >> 8), (uint8_t)counter};

	put_tag(&h, TAG_REPLACEMENT);
	put(&h, seed, DRAW_HASH_LEN);
	put(&h, be, sizeof(be));
	SHA256(h.buf, h.len, out);
}

void draw_stream_init(struct draw_stream *s, const uint8_t seed[DRAW_HASH_LEN])
{
	memcpy(s->seed, seed, DRAW_HASH_LEN);
	s->block_index = 0;
	s->used = DRAW_HASH_LEN; /* no block yet: the first byte read makes block 0 */
}

static uint8_t stream_byte(struct draw_stream *s)
{
	if (s->used == DRAW_HASH_LEN) {
		struct hash_input h = {.len = 0};
		uint8_t be[8];
		int i;

		for (i = 0; i < 8; i++)
			be[i] = (uint8_t)(s->block_index >> (56 - 8 * i));
		put_tag(&h, TAG_STREAM);
		put(&h, s->seed, DRAW_HASH_LEN);
		put(&h, be, sizeof(be));
		SHA256(h.buf, h.len, s->block);
		s->block_index++;
		s->used = 0;
	}
	return s->block[s->used++];
}

uint32_t draw_stream_u32(struct draw_stream *s)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++)
		v = (v << 8) | stream_byte(s);
	return v;
}

uint32_t draw_stream_uniform(struct draw_stream *s, uint32_t n)
{
	/* limit = 2^32 - (2^32 mod n): the largest multiple of n not above 2^32, so
	 * every residue is hit by exactly limit/n accepted values. */
	uint64_t limit;
	uint32_t x;

	g_assert(n >= 1);
	limit = 4294967296ull - (4294967296ull % n);
	do
		x = draw_stream_u32(s);
	while ((uint64_t)x >= limit);
	return x % n;
}
