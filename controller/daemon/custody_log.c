/* The site's custody log (custody_log.h). */
#include "custody_log.h"
#include "key_history.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hex.h"

#define CUSTODY_HEADER "evalroom-custody v1\n"

struct custody_log {
	int fd;
	struct archive_signer *signer;
	const struct key_history *history; /* earlier keys whose lines stay valid, or NULL */
	json_t *records;                   /* the lines as written */
	uint8_t prev[32];                  /* hash of the last line's signed message */
};

/* The signed message of LINE (its "sig" left out); g_free. */
static char *signed_message(const json_t *line)
{
	json_t *copy = json_copy((json_t *)line);
	json_object_del(copy, "sig");
	char *body = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(copy);
	char *msg = body ? g_strconcat(CUSTODY_HEADER, body, "\n", NULL) : NULL;
	free(body);
	return msg;
}

static void sha256(const char *msg, uint8_t out[32])
{
	g_autoptr(GChecksum) cs = g_checksum_new(G_CHECKSUM_SHA256);
	gsize len = 32;
	g_checksum_update(cs, (const guchar *)msg, (gssize)strlen(msg));
	g_checksum_get_digest(cs, out, &len);
}

/* Checks line number INDEX (TEXT) against the chain so far; 0 or -EBADMSG with *why. */
static int check_line(struct custody_log *l, const char *text, uint64_t index,
                      const struct archive_pubkey *key, json_t **out, char **why)
{
	json_error_t jerr;
	json_t *line = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	uint8_t prev[32];
	const char *prev_hex = json_string_value(json_object_get(line, "prev"));
	const char *sig_b64 = json_string_value(json_object_get(line, "sig"));
	json_t *idx = json_object_get(line, "index");
	if (!json_is_object(line) || !prev_hex || !sig_b64 || !json_is_integer(idx) ||
	    !json_is_string(json_object_get(line, "kind"))) {
		*why = g_strdup("not a custody record (JSON object with index, kind, prev, sig)");
		goto err;
	}
	if ((uint64_t)json_integer_value(idx) != index) {
		*why = g_strdup_printf("index %" JSON_INTEGER_FORMAT " where %" G_GUINT64_FORMAT
		                       " was due (a line removed or reordered)",
		                       json_integer_value(idx), index);
		goto err;
	}
	if (strlen(prev_hex) != 64 || hex_decode(prev_hex, prev, 32) != 0 ||
	    memcmp(prev, l->prev, 32) != 0) {
		*why =
		    g_strdup("its prev is not the hash of the line before (the chain is broken)");
		goto err;
	}
	char *msg = signed_message(line);
	if (key) {
		gsize sig_len = 0;
		guchar *sig = g_base64_decode(sig_b64, &sig_len);
		int bad = archive_pubkey_verify(key, msg, strlen(msg), sig, sig_len);
		/* Lines written before a key rotation are signed by the key of their time. */
		for (guint k = 0; bad && l->history && k < key_history_keys(l->history); k++)
			bad = archive_pubkey_verify(key_history_key(l->history, k)->pub, msg,
			                            strlen(msg), sig, sig_len);
		g_free(sig);
		if (bad) {
			g_free(msg);
			*why = g_strdup("its signature does not verify");
			goto err;
		}
	}
	sha256(msg, l->prev);
	g_free(msg);
	*out = line;
	return 0;
err:
	json_decref(line);
	return -EBADMSG;
}

static int read_through(struct custody_log *l, const char *path, const struct archive_pubkey *key,
                        GError **err)
{
	gchar *text = NULL;
	gsize len = 0;
	GError *e = NULL;
	if (!g_file_get_contents(path, &text, &len, &e)) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "custody log %s: %s", path,
		            e->message);
		g_error_free(e);
		return -EIO;
	}
	if (len > 0 && text[len - 1] != '\n') {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
		            "custody log %s: its last line is not complete (cut while written?): "
		            "nothing is appended until it is repaired",
		            path);
		g_free(text);
		return -EBADMSG;
	}
	gchar **lines = g_strsplit(text, "\n", -1);
	int rc = 0;
	for (guint i = 0; lines[i] && *lines[i]; i++) {
		json_t *line = NULL;
		char *why = NULL;
		if (check_line(l, lines[i], i, key, &line, &why) != 0) {
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
			            "custody log %s: line %u: %s", path, i, why);
			g_free(why);
			rc = -EBADMSG;
			break;
		}
		json_array_append_new(l->records, line);
	}
	g_strfreev(lines);
	g_free(text);
	return rc;
}

int custody_log_open(const char *path, struct archive_signer *signer,
                     const struct archive_pubkey *key, const struct key_history *history,
                     struct custody_log **out, GError **err)
{
	struct custody_log *l = g_new0(struct custody_log, 1);
	l->signer = signer;
	l->history = history;
	l->records = json_array();
	l->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (l->fd < 0) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "custody log %s: %s", path,
		            g_strerror(errno));
		custody_log_free(l);
		return -EIO;
	}
	int rc = read_through(l, path, key, err);
	if (rc != 0) {
		custody_log_free(l);
		return rc;
	}
	*out = l;
	return 0;
}

void custody_log_free(struct custody_log *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	json_decref(l->records);
	g_free(l);
}

int custody_log_append(struct custody_log *l, const json_t *record, GError **err)
{
	json_t *line = json_deep_copy(record);
	char prev_hex[65];
	hex_encode(l->prev, 32, prev_hex);
	json_object_set_new(line, "index", json_integer((json_int_t)json_array_size(l->records)));
	json_object_set_new(line, "prev", json_string(prev_hex));
	char *msg = signed_message(line);
	uint8_t sig[ARCHIVE_SIGNATURE_LEN];
	int rc = -EIO;
	if (!msg || archive_signer_sign(l->signer, msg, strlen(msg), sig) != 0) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "custody log: cannot sign");
		goto out;
	}
	char *b64 = g_base64_encode(sig, sizeof sig);
	json_object_set_new(line, "sig", json_string(b64));
	g_free(b64);
	char *text = json_dumps(line, JSON_COMPACT | JSON_SORT_KEYS);
	char *with_nl = g_strconcat(text, "\n", NULL);
	free(text);
	size_t len = strlen(with_nl);
	ssize_t w = write(l->fd, with_nl, len);
	g_free(with_nl);
	if (w != (ssize_t)len || fsync(l->fd) != 0) {
		int e = errno;
		if (w > 0) /* never leave half a line: the next open would refuse the log */
			(void)ftruncate(l->fd, lseek(l->fd, 0, SEEK_END) - w);
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "custody log: write: %s",
		            g_strerror(w < 0 ? e : EIO));
		goto out;
	}
	sha256(msg, l->prev);
	json_array_append(l->records, line);
	rc = 0;
out:
	g_free(msg);
	json_decref(line);
	return rc;
}

const json_t *custody_log_records(const struct custody_log *l)
{
	return l->records;
}
