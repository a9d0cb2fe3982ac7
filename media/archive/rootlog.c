/* The site's root log (rootlog.h). */
#include "rootlog.h"
#include "key_history.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hex.h"
#include "leaf.h"

#define ROOTLOG_HEADER "evalroom-roots v1\n"
#define ROOTLOG_MAX_LINE 1024

struct rootlog {
	char *path;
	int fd;
	struct archive_signer *signer;
	uint64_t next;     /* index of the next line */
	uint8_t prev[32];  /* hash of the last line (zeros before the first) */
};

G_DEFINE_QUARK(evalroom_rootlog_error, rootlog_error)

static char *signed_message(uint64_t index, int64_t time_us, const char *tender, uint64_t size,
                            const uint8_t root[32], const uint8_t prev[32])
{
	char root_hex[65], prev_hex[65];
	hex_encode(root, 32, root_hex);
	hex_encode(prev, 32, prev_hex);
	return g_strdup_printf(ROOTLOG_HEADER "%" PRIu64 " %" PRId64 " %s %" PRIu64 " %s %s\n",
	                       index, time_us, tender, size, root_hex, prev_hex);
}

static void sha256(const char *msg, uint8_t out[32])
{
	g_autoptr(GChecksum) cs = g_checksum_new(G_CHECKSUM_SHA256);
	gsize len = 32;
	g_checksum_update(cs, (const guchar *)msg, (gssize)strlen(msg));
	g_checksum_get_digest(cs, out, &len);
}

/* Parses LINE (no newline) as entry EXPECT_INDEX following PREV; checks its signature when
 * KEY. 0 or -EBADMSG with *why. */
static int parse_line(const char *line, uint64_t expect_index, const uint8_t prev[32],
                      const struct archive_pubkey *key, struct rootlog_entry *e, char **why)
{
	char tender[80], root_hex[80], prev_hex[80], sig_b64[200];
	uint64_t index, size;
	int64_t time_us;
	int used = 0;
	if (sscanf(line, "%" SCNu64 " %" SCNd64 " %79s %" SCNu64 " %79s %79s %199s%n", &index,
	           &time_us, tender, &size, root_hex, prev_hex, sig_b64, &used) != 7 ||
	    line[used] != '\0') {
		*why = g_strdup("not seven fields");
		return -EBADMSG;
	}
	if (index != expect_index) {
		*why = g_strdup_printf("index %" PRIu64 " where %" PRIu64 " was due (a line removed "
		                       "or reordered)",
		                       index, expect_index);
		return -EBADMSG;
	}
	if (!leaf_tender_id_valid(tender) || time_us < 0 || strlen(root_hex) != 64 ||
	    strlen(prev_hex) != 64 || hex_decode(root_hex, e->root, 32) != 0 ||
	    hex_decode(prev_hex, e->prev, 32) != 0) {
		*why = g_strdup("a malformed field");
		return -EBADMSG;
	}
	if (memcmp(e->prev, prev, 32) != 0) {
		*why = g_strdup("its prev is not the hash of the line before (the chain is broken)");
		return -EBADMSG;
	}
	e->index = index;
	e->time_us = time_us;
	e->size = size;
	g_strlcpy(e->tender, tender, sizeof e->tender);
	char *msg = signed_message(index, time_us, tender, size, e->root, e->prev);
	sha256(msg, e->hash);
	int rc = 0;
	gsize sig_len = 0;
	guchar *sig = g_base64_decode(sig_b64, &sig_len);
	if (sig_len != sizeof e->sig) {
		*why = g_strdup("its signature is not 64 bytes of base64");
		rc = -EBADMSG;
	} else {
		memcpy(e->sig, sig, sizeof e->sig);
		if (key && archive_pubkey_verify(key, msg, strlen(msg), sig, sig_len) != 0) {
			*why = g_strdup("its signature does not verify with the given key");
			rc = -EBADMSG;
		}
	}
	g_free(sig);
	g_free(msg);
	return rc;
}

char *rootlog_line(const struct rootlog_entry *e)
{
	char *msg = signed_message(e->index, e->time_us, e->tender, e->size, e->root, e->prev);
	const char *body = msg + strlen(ROOTLOG_HEADER);
	char *b64 = g_base64_encode(e->sig, sizeof e->sig);
	char *line = g_strdup_printf("%.*s %s", (int)(strlen(body) - 1), body, b64);
	g_free(b64);
	g_free(msg);
	return line;
}

int rootlog_read(const char *path, const struct archive_pubkey *key, rootlog_fn fn, void *user,
                 GError **err)
{
	return rootlog_read_history(path, key, NULL, fn, user, err);
}

static void sha256_raw(const uint8_t raw[32], uint8_t out[32])
{
	GChecksum *cs = g_checksum_new(G_CHECKSUM_SHA256);
	gsize len = 32;
	g_checksum_update(cs, raw, 32);
	g_checksum_get_digest(cs, out, &len);
	g_checksum_free(cs);
}

/* The key a line made at TIME_US must be signed by: the one HISTORY has in use then, else
 * KEY. */
static const struct archive_pubkey *line_key(const struct archive_pubkey *key,
                                             const struct key_history *history, int64_t time_us)
{
	const struct key_window *w = history ? key_history_at(history, time_us) : NULL;

	return w ? w->pub : key;
}

int rootlog_read_history(const char *path, const struct archive_pubkey *key,
                         const struct key_history *history, rootlog_fn fn, void *user,
                         GError **err)
{
	if (key && history && key_history_keys(history) > 0) {
		uint8_t raw[32], id[32];
		if (archive_pubkey_raw(key, raw) != 0 ||
		    (sha256_raw(raw, id), !key_history_find(history, id))) {
			g_set_error(err, rootlog_error_quark(), EBADMSG,
			            "root log %s: the given key is none of the key history's keys", path);
			return -EBADMSG;
		}
	}
	FILE *f = fopen(path, "re");
	if (!f) {
		int e = errno;
		g_set_error(err, rootlog_error_quark(), e, "root log %s: %s", path, g_strerror(e));
		return e == ENOENT ? -ENOENT : -EIO;
	}
	char line[ROOTLOG_MAX_LINE + 2];
	uint8_t prev[32] = {0};
	uint64_t n = 0;
	int rc = 0;
	while (fgets(line, sizeof line, f)) {
		size_t len = strlen(line);
		if (len == 0 || line[len - 1] != '\n') {
			g_set_error(err, rootlog_error_quark(), EBADMSG,
			            "root log %s: line %" PRIu64 " is cut short or too long", path, n);
			rc = -EBADMSG;
			break;
		}
		line[len - 1] = '\0';
		struct rootlog_entry e;
		char *why = NULL;
		int64_t t = g_ascii_strtoll(strchr(line, ' ') ? strchr(line, ' ') + 1 : "", NULL, 10);
		if (parse_line(line, n, prev, key ? line_key(key, history, t) : NULL, &e, &why) != 0) {
			g_set_error(err, rootlog_error_quark(), EBADMSG, "root log %s: line %" PRIu64 ": %s",
			            path, n, why);
			g_free(why);
			rc = -EBADMSG;
			break;
		}
		memcpy(prev, e.hash, 32);
		n++;
		if (fn)
			fn(&e, user);
	}
	if (rc == 0 && ferror(f)) {
		g_set_error(err, rootlog_error_quark(), EIO, "root log %s: read error", path);
		rc = -EIO;
	}
	fclose(f);
	return rc;
}

struct tail {
	uint64_t n;
	uint8_t last[32];
};

static void keep_tail(const struct rootlog_entry *e, void *user)
{
	struct tail *t = user;
	t->n = e->index + 1;
	memcpy(t->last, e->hash, 32);
}

int rootlog_open(const char *path, struct archive_signer *signer, struct rootlog **out,
                 GError **err)
{
	struct tail t = {0};
	int rc = rootlog_read(path, NULL, keep_tail, &t, err);
	if (rc == -ENOENT) {
		g_clear_error(err);
	} else if (rc != 0) {
		return rc;
	}
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		int e = errno;
		g_set_error(err, rootlog_error_quark(), e, "root log %s: %s", path, g_strerror(e));
		return -EIO;
	}
	struct rootlog *l = g_new0(struct rootlog, 1);
	l->path = g_strdup(path);
	l->fd = fd;
	l->signer = signer;
	l->next = t.n;
	memcpy(l->prev, t.last, 32);
	*out = l;
	return 0;
}

void rootlog_free(struct rootlog *l)
{
	if (!l)
		return;
	close(l->fd);
	g_free(l->path);
	g_free(l);
}

int rootlog_append(struct rootlog *l, const char *tender, uint64_t size, const uint8_t root[32],
                   int64_t time_us, struct rootlog_entry *out, GError **err)
{
	if (!leaf_tender_id_valid(tender) || time_us < 0) {
		g_set_error(err, rootlog_error_quark(), EINVAL, "root log %s: bad tender or time",
		            l->path);
		return -EINVAL;
	}
	char *msg = signed_message(l->next, time_us, tender, size, root, l->prev);
	uint8_t sig[ARCHIVE_SIGNATURE_LEN];
	int rc = archive_signer_sign(l->signer, msg, strlen(msg), sig);
	if (rc != 0) {
		g_set_error(err, rootlog_error_quark(), EIO, "root log %s: signing failed", l->path);
		g_free(msg);
		return -EIO;
	}
	char *b64 = g_base64_encode(sig, sizeof sig);
	/* The line is the message without its header, the signature appended. */
	const char *body = msg + strlen(ROOTLOG_HEADER);
	char *line = g_strdup_printf("%.*s %s\n", (int)(strlen(body) - 1), body, b64);
	size_t len = strlen(line);
	ssize_t w = write(l->fd, line, len);
	if (w != (ssize_t)len || fsync(l->fd) != 0) {
		int e = w < 0 ? errno : EIO;
		g_set_error(err, rootlog_error_quark(), e, "root log %s: write: %s", l->path,
		            g_strerror(e));
		/* A partial line would break the chain for every later reader: cut it off. */
		if (w > 0) {
			off_t end = lseek(l->fd, 0, SEEK_END);
			if (end >= w && ftruncate(l->fd, end - w) != 0)
				e = errno;
		}
		rc = -EIO;
	} else {
		struct rootlog_entry e = {.index = l->next, .time_us = time_us, .size = size};
		g_strlcpy(e.tender, tender, sizeof e.tender);
		memcpy(e.root, root, 32);
		memcpy(e.prev, l->prev, 32);
		sha256(msg, e.hash);
		memcpy(e.sig, sig, sizeof sig);
		memcpy(l->prev, e.hash, 32);
		l->next++;
		if (out)
			*out = e;
	}
	g_free(line);
	g_free(b64);
	g_free(msg);
	return rc;
}
