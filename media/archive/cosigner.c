#include "cosigner.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hex.h"

struct entry {
	uint64_t size;
	uint8_t root[32];
	uint8_t body_sha[32];
	bool sealed;
};

struct cosigner_state {
	char *path;
	GTree *tenders; /* tender -> struct entry (sorted, so the file is stable) */
};

static gint name_cmp(gconstpointer a, gconstpointer b, gpointer user)
{
	(void)user;
	return strcmp(a, b);
}

static int parse_line(struct cosigner_state *s, const char *line)
{
	char **f = g_strsplit(line, " ", -1);
	struct entry e = {0};
	char *end = NULL;
	int rc = -EINVAL;

	if (g_strv_length(f) != 5 || !f[0][0] || strlen(f[0]) > 64)
		goto out;
	e.size = g_ascii_strtoull(f[1], &end, 10);
	if (!end || *end || !f[1][0] || hex_decode_lower(f[2], e.root, 32) != 0 ||
	    hex_decode_lower(f[3], e.body_sha, 32) != 0 ||
	    (strcmp(f[4], "0") != 0 && strcmp(f[4], "1") != 0))
		goto out;
	e.sealed = f[4][0] == '1';
	g_tree_replace(s->tenders, g_strdup(f[0]), g_memdup2(&e, sizeof(e)));
	rc = 0;
out:
	g_strfreev(f);
	return rc;
}

int cosigner_state_load(const char *path, struct cosigner_state **out, char **why)
{
	struct cosigner_state *s = g_new0(struct cosigner_state, 1);
	char *text = NULL, **lines = NULL;
	GError *err = NULL;
	int rc = 0;

	s->path = g_strdup(path);
	s->tenders = g_tree_new_full(name_cmp, NULL, g_free, g_free);
	if (!g_file_get_contents(path, &text, NULL, &err)) {
		if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			g_error_free(err);
			*out = s;
			return 0;
		}
		*why = g_strdup(err->message);
		g_error_free(err);
		cosigner_state_free(s);
		return -EIO;
	}
	lines = g_strsplit(text, "\n", -1);
	for (size_t i = 0; lines[i] && rc == 0; i++) {
		if (!lines[i][0])
			continue;
		if (parse_line(s, lines[i]) != 0) {
			*why = g_strdup_printf("%s line %zu: not a cosigner's record line", path,
			                       i + 1);
			rc = -EINVAL;
		}
	}
	g_strfreev(lines);
	g_free(text);
	if (rc != 0) {
		cosigner_state_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void cosigner_state_free(struct cosigner_state *s)
{
	if (!s)
		return;
	g_tree_unref(s->tenders);
	g_free(s->path);
	g_free(s);
}

static gboolean write_entry(gpointer key, gpointer value, gpointer user)
{
	const struct entry *e = value;
	char root[65], sha[65];

	hex_encode(e->root, 32, root);
	hex_encode(e->body_sha, 32, sha);
	g_string_append_printf(user, "%s %" G_GUINT64_FORMAT " %s %s %d\n", (const char *)key,
	                       e->size, root, sha, e->sealed ? 1 : 0);
	return FALSE;
}

int cosigner_state_save(const struct cosigner_state *s, char **why)
{
	GString *text = g_string_new(NULL);
	char *tmp = g_strconcat(s->path, ".new", NULL);
	int fd, rc = 0;

	g_tree_foreach(s->tenders, write_entry, text);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text->str, text->len) != (ssize_t)text->len || fsync(fd) != 0)
		rc = -errno;
	if (fd >= 0 && close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, s->path) != 0)
		rc = -errno;
	if (rc != 0) {
		*why = g_strdup_printf("%s: %s", s->path, g_strerror(-rc));
		g_unlink(tmp);
	}
	g_free(tmp);
	g_string_free(text, TRUE);
	return rc;
}

bool cosigner_state_get(const struct cosigner_state *s, const char *tender, uint64_t *size,
                        uint8_t root[32], bool *sealed)
{
	const struct entry *e = g_tree_lookup(s->tenders, tender);

	if (!e)
		return false;
	*size = e->size;
	memcpy(root, e->root, 32);
	*sealed = e->sealed;
	return true;
}

void cosigner_state_set(struct cosigner_state *s, const struct cosigner_checkpoint *cp)
{
	struct entry e = {.size = cp->size, .sealed = cp->sealed};

	memcpy(e.root, cp->root, 32);
	memcpy(e.body_sha, cp->body_sha, 32);
	g_tree_replace(s->tenders, g_strdup(cp->tender), g_memdup2(&e, sizeof(e)));
}

/* The C2SP checkpoint lines of BODY: origin SITE/evalroom/TENDER, size, base64 root; and the
 * sealed line. 0 or -EBADMSG with *why. */
static int parse_body(const char *tender, const char *body, struct cosigner_checkpoint *cp,
                      char **why)
{
	char **l = g_strsplit(body, "\n", -1);
	char *suffix = g_strconcat("/evalroom/", tender, NULL), *end = NULL;
	guchar *root = NULL;
	gsize root_len = 0;
	int rc = -EBADMSG;

	memset(cp, 0, sizeof(*cp));
	if (g_strv_length(l) < 4 || !g_str_has_suffix(body, "\n") ||
	    !g_str_has_suffix(l[0], suffix) || strlen(l[0]) == strlen(suffix)) {
		*why = g_strdup_printf("the checkpoint sent is not a C2SP checkpoint of tender %s",
		                       tender);
		goto out;
	}
	cp->size = g_ascii_strtoull(l[1], &end, 10);
	root = g_base64_decode(l[2], &root_len);
	if (!l[1][0] || !end || *end || (l[1][0] == '0' && l[1][1]) || root_len != 32) {
		*why = g_strdup_printf("the checkpoint sent for tender %s has no valid size and "
		                       "root lines",
		                       tender);
		goto out;
	}
	memcpy(cp->root, root, 32);
	for (char **x = l + 3; *x; x++)
		if (g_str_has_prefix(*x, "sealed "))
			cp->sealed = true;
	g_strlcpy(cp->tender, tender, sizeof(cp->tender));
	SHA256((const unsigned char *)body, strlen(body), cp->body_sha);
	rc = 0;
out:
	g_free(root);
	g_free(suffix);
	g_strfreev(l);
	return rc;
}

int cosigner_judge(const struct cosigner_state *s, const char *tender, const char *body,
                   const uint8_t *sig, size_t sig_len, const struct archive_pubkey *key,
                   const uint8_t proof[][MERKLE_HASH_LEN], size_t len,
                   struct cosigner_checkpoint *cp, char **why)
{
	const struct entry *e = g_tree_lookup(s->tenders, tender);
	char had[65], got[65];

	if (archive_pubkey_verify(key, body, strlen(body), sig, sig_len) != 0) {
		*why =
		    g_strdup_printf("tender %s: the checkpoint's signature is not the controller's "
		                    "(--pubkey): refused",
		                    tender);
		return -EBADMSG;
	}
	if (parse_body(tender, body, cp, why) != 0)
		return -EBADMSG;
	if (!e)
		return COSIGNER_COSIGN; /* the first checkpoint this cosigner sees of the tender */
	hex_encode(e->root, 32, had);
	hex_encode(cp->root, 32, got);
	if (cp->size < e->size) {
		*why = g_strdup_printf(
		    "tender %s: ROLLBACK: the controller's newest checkpoint has "
		    "size %" G_GUINT64_FORMAT ", smaller than size %" G_GUINT64_FORMAT
		    " cosigned before (root %s): refused",
		    tender, cp->size, e->size, had);
		return -EBADMSG;
	}
	if (cp->size == e->size && memcmp(cp->root, e->root, 32) != 0) {
		*why = g_strdup_printf("tender %s: FORK: root %s at size %" G_GUINT64_FORMAT
		                       ", but root %s was cosigned at that size: refused",
		                       tender, got, cp->size, had);
		return -EBADMSG;
	}
	if (memcmp(cp->body_sha, e->body_sha, 32) == 0)
		return COSIGNER_ALREADY;
	if (merkle_consistency_verify(e->size, cp->size, e->root, cp->root, proof, len) != 0) {
		*why =
		    g_strdup_printf("tender %s: FORK: size %" G_GUINT64_FORMAT " (root %s) is not "
		                    "consistent with size %" G_GUINT64_FORMAT " (root %s) cosigned "
		                    "before (the consistency proof does not hold): refused",
		                    tender, cp->size, got, e->size, had);
		return -EBADMSG;
	}
	return COSIGNER_COSIGN;
}
