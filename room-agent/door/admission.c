/* Admission list: a hash table keyed by the keyed digest (HMAC-SHA256 under the site
 * credential key, credential.h) of each credential, so a stolen agent's memory or spool
 * does not list the valid credentials, nor lets them be found by trying every PIN. */
#include "admission.h"

#include "hex.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <string.h>

#define DIGEST_LEN CREDENTIAL_MAC_LEN

struct grant {
	uint8_t key[DIGEST_LEN];
	int here;      /* an entry for this room exists */
	int elsewhere; /* admitted to another room (which one and who is not known here) */
	int64_t from_us, until_us;
	char person[ADMISSION_PERSON_MAX]; /* of this room's entry */
	char pair[ADMISSION_PAIR_MAX];     /* an escorted pair's id, "" for none */
	bool pair_escort;
	int64_t pair_window_us;
};

/* The first credential of an escorted pair, waiting for the other one. */
struct pair_wait {
	char pair[ADMISSION_PAIR_MAX];
	bool escort;
	int64_t at_us;
	int64_t window_us;
	char person[ADMISSION_PERSON_MAX];
};

/* A used admission: digest and window start (a readmission has a new window). */
struct used {
	uint8_t key[DIGEST_LEN];
	int64_t from_us;
	int64_t until_us;
};

struct admission {
	struct pair_wait wait;
	char *room;
	struct credential_key key;
	GHashTable *table; /* key digest -> struct grant (key points into the grant) */
	size_t count;
	GHashTable *used; /* struct used (itself the key) -> the same; kept across lists */
};

static guint digest_hash(gconstpointer p)
{
	guint h;

	memcpy(&h, p, sizeof(h)); /* already uniformly distributed */
	return h;
}

static gboolean digest_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, DIGEST_LEN) == 0;
}

static void hex_bytes(const char *hex, uint8_t out[DIGEST_LEN])
{
	for (size_t i = 0; i < DIGEST_LEN; i++)
		out[i] = (uint8_t)(g_ascii_xdigit_value(hex[2 * i]) * 16 +
		                   g_ascii_xdigit_value(hex[2 * i + 1]));
}

static void key_of(const struct admission *a, const char *credential, uint8_t out[DIGEST_LEN])
{
	char hex[CREDENTIAL_MAC_HEX];

	credential_mac_hex(&a->key, credential, hex);
	hex_bytes(hex, out);
	OPENSSL_cleanse(hex, sizeof(hex));
}

static guint used_hash(gconstpointer p)
{
	const struct used *u = p;

	return digest_hash(u->key) ^ (guint)u->from_us ^ (guint)(u->from_us >> 32);
}

static gboolean used_equal(gconstpointer a, gconstpointer b)
{
	const struct used *x = a, *y = b;

	return x->from_us == y->from_us && memcmp(x->key, y->key, DIGEST_LEN) == 0;
}

static GHashTable *table_new(void)
{
	return g_hash_table_new_full(digest_hash, digest_equal, NULL, g_free);
}

struct admission *admission_new(const char *room)
{
	struct admission *a = g_new0(struct admission, 1);

	a->room = g_strdup(room ? room : "");
	a->table = table_new();
	a->used = g_hash_table_new_full(used_hash, used_equal, g_free, NULL);
	return a;
}

void admission_set_key(struct admission *a, const struct credential_key *key)
{
	a->key = *key;
}

void admission_free(struct admission *a)
{
	if (!a)
		return;
	g_hash_table_destroy(a->table);
	g_hash_table_destroy(a->used);
	g_free(a->room);
	OPENSSL_cleanse(&a->key, sizeof(a->key));
	g_free(a);
}

static int text_valid(const char *s, size_t max)
{
	size_t len = s ? strlen(s) : 0;
	size_t i;

	if (len == 0 || len >= max)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] == 0x7f)
			return 0;
	return 1;
}

int admission_replace(struct admission *a, const struct admission_entry *entries, size_t n,
                      GError **err)
{
	GHashTable *t = table_new();
	size_t i;

	for (i = 0; i < n; i++) {
		const struct admission_entry *e = &entries[i];
		int here = !e->elsewhere;
		uint8_t key[DIGEST_LEN];
		struct grant *g;

		if (e->digest ? e->credential != NULL || !credential_mac_hex_valid(e->digest)
		              : !text_valid(e->credential, 128)) {
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			            "admission entry %zu: credential: missing, too long or has "
			            "spaces/control characters (or digest: not 64 lowercase hex "
			            "digits)",
			            i);
			goto err_table;
		}
		if (here && !text_valid(e->person, ADMISSION_PERSON_MAX)) {
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			            "admission entry %zu: person: missing, over %d characters or "
			            "has spaces/control characters",
			            i, ADMISSION_PERSON_MAX - 1);
			goto err_table;
		}
		if (!here && e->person) {
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			            "admission entry %zu: person: an entry of another room names "
			            "nobody",
			            i);
			goto err_table;
		}
		if (e->pair &&
		    (!here || !text_valid(e->pair, ADMISSION_PAIR_MAX) || e->pair_window_us <= 0)) {
			g_set_error(
			    err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			    "admission entry %zu: escort_pair: only on this room's entries, "
			    "1..%d characters, with a window",
			    i, ADMISSION_PAIR_MAX - 1);
			goto err_table;
		}
		if (e->valid_until_us <= e->valid_from_us) {
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			            "admission entry %zu: valid_until must be after valid_from", i);
			goto err_table;
		}
		if (e->digest)
			hex_bytes(e->digest, key);
		else
			key_of(a, e->credential, key);
		g = g_hash_table_lookup(t, key);
		if (!g) {
			g = g_new0(struct grant, 1);
			memcpy(g->key, key, DIGEST_LEN);
			g_hash_table_insert(t, g->key, g);
		}
		if (here && g->here) {
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_INVAL,
			            "admission entry %zu: credential: listed twice for this room",
			            i);
			goto err_table;
		}
		if (here) {
			g->here = 1;
			g->from_us = e->valid_from_us;
			g->until_us = e->valid_until_us;
			g_strlcpy(g->person, e->person, sizeof(g->person));
			if (e->pair) {
				g_strlcpy(g->pair, e->pair, sizeof(g->pair));
				g->pair_escort = e->pair_escort;
				g->pair_window_us = e->pair_window_us;
			}
		} else {
			g->elsewhere = 1;
		}
	}
	g_hash_table_destroy(a->table);
	a->table = t;
	a->count = n;
	return 0;
err_table:
	g_hash_table_destroy(t);
	return -EINVAL;
}

enum admission_reason admission_decide(struct admission *a, const char *credential, int64_t now_us,
                                       char *person)
{
	uint8_t key[DIGEST_LEN];
	const struct grant *g;

	if (person)
		person[0] = '\0';
	if (!credential || !*credential)
		return ADMISSION_UNKNOWN;
	key_of(a, credential, key);
	g = g_hash_table_lookup(a->table, key);
	if (!g)
		return ADMISSION_UNKNOWN;
	if (!g->here)
		return ADMISSION_NOT_THIS_ROOM;
	if (person)
		g_strlcpy(person, g->person, ADMISSION_PERSON_MAX);
	if (now_us < g->from_us)
		return ADMISSION_NOT_YET_VALID;
	if (now_us >= g->until_us)
		return ADMISSION_EXPIRED;
	struct used probe = {.from_us = g->from_us};
	memcpy(probe.key, key, DIGEST_LEN);
	if (g_hash_table_contains(a->used, &probe))
		return ADMISSION_USED;
	if (!g->pair[0])
		return ADMISSION_GRANTED;
	/* the two-person rule: the other one of the pair within the window */
	struct pair_wait *w = &a->wait;
	if (w->pair[0] && strcmp(w->pair, g->pair) == 0 && w->escort != g->pair_escort &&
	    now_us >= w->at_us && now_us - w->at_us <= g->pair_window_us) {
		if (person && g->pair_escort)
			g_strlcpy(person, w->person, ADMISSION_PERSON_MAX);
		memset(w, 0, sizeof(*w));
		return ADMISSION_GRANTED;
	}
	g_strlcpy(w->pair, g->pair, sizeof(w->pair));
	w->escort = g->pair_escort;
	w->at_us = now_us;
	w->window_us = g->pair_window_us;
	g_strlcpy(w->person, g->person, sizeof(w->person));
	return ADMISSION_AWAITING_ESCORT;
}

int admission_wait_of(const struct admission *a, int64_t now_us, struct admission_wait *out)
{
	const struct pair_wait *w = &a->wait;
	if (!w->pair[0] || now_us < w->at_us || now_us - w->at_us > w->window_us)
		return -ENOENT;
	g_strlcpy(out->pair, w->pair, sizeof(out->pair));
	g_strlcpy(out->person, w->person, sizeof(out->person));
	out->escort = w->escort;
	out->at_us = w->at_us;
	out->window_us = w->window_us;
	return 0;
}

int admission_use_of(const struct admission *a, const char *credential, struct admission_use *use)
{
	uint8_t key[DIGEST_LEN];
	const struct grant *g;

	if (!credential || !*credential)
		return -ENOENT;
	key_of(a, credential, key);
	g = g_hash_table_lookup(a->table, key);
	if (!g || !g->here)
		return -ENOENT;
	hex_encode(key, DIGEST_LEN, use->digest);
	use->valid_from_us = g->from_us;
	use->valid_until_us = g->until_us;
	return 0;
}

static gboolean used_ended(gpointer key, gpointer value, gpointer data)
{
	const struct used *u = key;
	(void)value;
	return u->until_us <= *(const int64_t *)data;
}

int admission_mark_used(struct admission *a, const struct admission_use *use, int64_t now_us)
{
	struct used *u;

	if (!credential_mac_hex_valid(use->digest))
		return -EINVAL;
	g_hash_table_foreach_remove(a->used, used_ended, &now_us);
	if (use->valid_until_us <= now_us)
		return 0;
	u = g_new0(struct used, 1);
	hex_bytes(use->digest, u->key);
	u->from_us = use->valid_from_us;
	u->until_us = use->valid_until_us;
	g_hash_table_add(a->used, u);
	return 0;
}

size_t admission_count(const struct admission *a)
{
	return a->count;
}

const char *admission_reason_name(enum admission_reason r)
{
	switch (r) {
	case ADMISSION_GRANTED:
		return "granted";
	case ADMISSION_UNKNOWN:
		return "unknown";
	case ADMISSION_EXPIRED:
		return "expired";
	case ADMISSION_NOT_YET_VALID:
		return "not_yet_valid";
	case ADMISSION_NOT_THIS_ROOM:
		return "not_this_room";
	case ADMISSION_LOCKDOWN:
		return "lockdown";
	case ADMISSION_USED:
		return "used";
	case ADMISSION_AWAITING_ESCORT:
		return "awaiting_escort";
	}
	return "unknown";
}
