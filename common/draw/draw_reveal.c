/* The commit-reveal members of a draw record (draw_reveal.h). */
#include "draw_reveal.h"

#include <errno.h>
#include <openssl/sha.h>
#include <string.h>

#include "hex.h"

#define ENTROPY_MAX 4096

static json_t *hex_json(const uint8_t *b, size_t n)
{
	char hex[2 * DRAW_HASH_LEN + 1];
	return json_string(hex_encode(b, n, hex));
}

void draw_reveal_put(json_t *rec, const uint8_t input_hash[DRAW_HASH_LEN],
                     const uint8_t secret[DRAW_SECRET_LEN], const char *entropy,
                     uint8_t seed[DRAW_HASH_LEN])
{
	uint8_t com[DRAW_HASH_LEN], eh[DRAW_HASH_LEN];
	draw_commitment_compute(secret, input_hash, com);
	SHA256((const unsigned char *)entropy, strlen(entropy), eh);
	draw_seed_derive(secret, entropy, input_hash, seed);
	json_object_set_new(rec, "input_hash", hex_json(input_hash, DRAW_HASH_LEN));
	json_object_set_new(rec, "commitment", hex_json(com, sizeof(com)));
	json_object_set_new(rec, "secret", hex_json(secret, DRAW_SECRET_LEN));
	json_object_set_new(rec, "entropy", json_string(entropy));
	json_object_set_new(rec, "entropy_hash", hex_json(eh, sizeof(eh)));
	json_object_set_new(rec, "seed", hex_json(seed, DRAW_HASH_LEN));
}

/* A member that must be 64 lower-case hex digits, decoded into OUT. */
static gboolean hex_member(const json_t *rec, const char *key, uint8_t out[DRAW_HASH_LEN])
{
	const char *s = json_string_value(json_object_get(rec, key));
	return s && strlen(s) == 2 * DRAW_HASH_LEN && hex_decode_lower(s, out, DRAW_HASH_LEN) == 0;
}

int draw_reveal_read(const json_t *rec, struct draw_reveal *r, GString *report)
{
	if (!hex_member(rec, "input_hash", r->input_hash) ||
	    !hex_member(rec, "commitment", r->commitment) ||
	    !hex_member(rec, "secret", r->secret) ||
	    !hex_member(rec, "entropy_hash", r->entropy_hash) ||
	    !hex_member(rec, "seed", r->seed)) {
		g_string_append(report,
		                "input_hash, commitment, secret, entropy_hash and seed must "
		                "be 64 lower-case hex digits each");
		return -EBADMSG;
	}
	r->entropy = json_string_value(json_object_get(rec, "entropy"));
	r->entropy_len = r->entropy ? strlen(r->entropy) : 0;
	if (!r->entropy || r->entropy_len == 0 || r->entropy_len > ENTROPY_MAX ||
	    r->entropy_len != json_string_length(json_object_get(rec, "entropy")) ||
	    !g_utf8_validate(r->entropy, (gssize)r->entropy_len, NULL)) {
		g_string_append(report,
		                "entropy: must be 1 to 4096 bytes of UTF-8 text without NUL");
		return -EBADMSG;
	}
	return 0;
}

static int mismatch(GString *report, const char *what)
{
	g_string_append(report, what);
	return -EINVAL;
}

int draw_reveal_check(const struct draw_reveal *r, const uint8_t input_hash[DRAW_HASH_LEN],
                      GString *report)
{
	uint8_t want[DRAW_HASH_LEN];
	if (memcmp(input_hash, r->input_hash, sizeof(want)) != 0)
		return mismatch(report, "input_hash does not match the inputs");
	draw_commitment_compute(r->secret, r->input_hash, want);
	if (memcmp(want, r->commitment, sizeof(want)) != 0)
		return mismatch(report, "commitment does not match secret and inputs");
	SHA256((const unsigned char *)r->entropy, r->entropy_len, want);
	if (memcmp(want, r->entropy_hash, sizeof(want)) != 0)
		return mismatch(report, "entropy_hash does not match the entropy");
	draw_seed_derive(r->secret, r->entropy, r->input_hash, want);
	if (memcmp(want, r->seed, sizeof(want)) != 0)
		return mismatch(report, "seed does not match secret, entropy and inputs");
	return 0;
}

gboolean draw_json_only_members(const json_t *obj, const char *const *allowed, const char **bad)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v)
	{
		gboolean ok = FALSE;
		for (const char *const *a = allowed; *a; a++)
			ok = ok || strcmp(*a, key) == 0;
		if (!ok) {
			*bad = key;
			return FALSE;
		}
	}
	return TRUE;
}

int draw_reveal_open(const json_t *rec, const char *draw, const char *const *members,
                     struct draw_reveal *r, GString *report)
{
	const char *key;
	if (!json_is_object(rec) ||
	    g_strcmp0(json_string_value(json_object_get(rec, "draw")), draw) != 0) {
		g_string_append_printf(report, "not a %s draw record (no \"draw\": \"%s\")", draw,
		                       draw);
		return -EBADMSG;
	}
	if (!draw_json_only_members(rec, members, &key)) {
		g_string_append_printf(report, "%s: unknown member", key);
		return -EBADMSG;
	}
	return draw_reveal_read(rec, r, report);
}
