/* An archive's leaves against the site's root log (roots_check.h). */
#include "roots_check.h"

#include <string.h>

#include "merkle.h"
#include "rootlog.h"

struct roots_walk {
	const char *tender;
	const GByteArray *leaf_hashes;
	struct roots_check *out;
};

void roots_check_entry(const struct rootlog_entry *e, const char *tender,
                       const GByteArray *leaf_hashes, struct roots_check *k)
{
	if (strcmp(e->tender, tender) != 0 || k->problem)
		return;
	k->published++;
	if (e->size >= k->latest_size) {
		k->latest_size = e->size;
		k->latest_index = e->index;
		memcpy(k->latest_root, e->root, 32);
	}
	uint64_t have = leaf_hashes->len / MERKLE_HASH_LEN;
	if (e->size > have) {
		k->problem = g_strdup_printf(
		    "behind what was published: root log line %" G_GUINT64_FORMAT " published a "
		    "checkpoint of size %" G_GUINT64_FORMAT
		    " but the file has only %" G_GUINT64_FORMAT
		    " records (truncated, or its newest records removed with their checkpoints)",
		    e->index, e->size, have);
		return;
	}
	uint8_t root[MERKLE_HASH_LEN];
	if (merkle_root(leaf_hashes->data, e->size, root) != 0 ||
	    memcmp(root, e->root, sizeof root) != 0)
		k->problem = g_strdup_printf(
		    "forked from what was published: root log line %" G_GUINT64_FORMAT " published "
		    "another root for the first %" G_GUINT64_FORMAT " records than this file has "
		    "(records altered, inserted or removed, then re-signed)",
		    e->index, e->size);
}

static void check_root(const struct rootlog_entry *e, void *user)
{
	struct roots_walk *w = user;
	roots_check_entry(e, w->tender, w->leaf_hashes, w->out);
}

int roots_check_archive(const char *log, const struct archive_pubkey *key, const char *tender,
                        const GByteArray *leaf_hashes, struct roots_check *out, GError **err)
{
	return roots_check_archive_history(log, key, NULL, tender, leaf_hashes, out, err);
}

int roots_check_archive_history(const char *log, const struct archive_pubkey *key,
                                const struct key_history *history, const char *tender,
                                const GByteArray *leaf_hashes, struct roots_check *out,
                                GError **err)
{
	struct roots_walk w = {tender, leaf_hashes, out};
	memset(out, 0, sizeof *out);
	int rc = rootlog_read_history(log, key, history, check_root, &w, err);
	if (rc != 0) {
		g_free(out->problem);
		out->problem = NULL;
	}
	return rc;
}
