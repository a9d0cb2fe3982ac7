#include "key_history.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "hex.h"

#define MAGIC "evalroom-key-history v1\n"

struct key_history {
	GPtrArray *entries; /* struct key_entry * */
	GPtrArray *keys;    /* struct key_window * of the main slot */
	GPtrArray *keys2;   /* struct key_window * of the second key's slot */
	uint8_t last[32];   /* SHA-256 of the last entry's text */
};

static GQuark key_history_quark(void)
{
	return g_quark_from_static_string("key-history");
}

static void sha256(const void *data, size_t len, uint8_t out[32])
{
	EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL);
}

void key_id_hex(const uint8_t raw[32], char out[KEY_ID_HEX])
{
	uint8_t h[32];

	sha256(raw, 32, h);
	hex_encode(h, 32, out);
}

char *key_event_text(const struct key_event *ev)
{
	GString *s = g_string_new(MAGIC);
	char prev[65], a[KEY_ID_HEX], b[KEY_ID_HEX];
	const char *reason = ev->reason ? ev->reason : "";

	hex_encode(ev->prev, 32, prev);
	g_string_append_printf(
	    s, "%s%s\nindex %" G_GUINT64_FORMAT "\nprev %s\ntime %" G_GINT64_FORMAT "\n",
	    ev->kind == KEY_EVENT_ROTATE ? "rotate" : "revoke",
	    ev->slot == KEY_SLOT_SECOND ? "2" : "", ev->index, prev, ev->time_us);
	if (ev->kind == KEY_EVENT_ROTATE && ev->slot == KEY_SLOT_SECOND) {
		char *o = g_base64_encode(ev->old_der->data, ev->old_der->len);
		char *n = g_base64_encode(ev->new_der->data, ev->new_der->len);
		uint8_t h[32];

		sha256(ev->old_der->data, ev->old_der->len, h);
		hex_encode(h, 32, a);
		sha256(ev->new_der->data, ev->new_der->len, h);
		hex_encode(h, 32, b);
		g_string_append_printf(s, "old %s\nold-key %s\nnew %s\nnew-key %s\n", a, o, b, n);
		g_free(o);
		g_free(n);
	} else if (ev->kind == KEY_EVENT_ROTATE) {
		char *o = g_base64_encode(ev->old_key, 32), *n = g_base64_encode(ev->new_key, 32);

		key_id_hex(ev->old_key, a);
		key_id_hex(ev->new_key, b);
		g_string_append_printf(s, "old %s\nold-key %s\nnew %s\nnew-key %s\n", a, o, b, n);
		g_free(o);
		g_free(n);
	} else {
		hex_encode(ev->key_id, 32, a);
		g_string_append_printf(s, "key %s\nfrom %" G_GINT64_FORMAT "\n", a, ev->from_us);
	}
	g_string_append_printf(s, "reason %zu\n%s\n", strlen(reason), reason);
	return g_string_free(s, FALSE);
}

/* The value after "KEY " on the line at *P, up to the newline; advances *P past it. */
static char *take_line(const char **p, const char *key)
{
	size_t n = strlen(key);
	const char *nl;

	if (strncmp(*p, key, n) != 0 || (*p)[n] != ' ')
		return NULL;
	nl = strchr(*p + n + 1, '\n');
	if (!nl)
		return NULL;
	char *v = g_strndup(*p + n + 1, (size_t)(nl - (*p + n + 1)));
	*p = nl + 1;
	return v;
}

static int take_int(const char **p, const char *key, int64_t *out)
{
	char *v = take_line(p, key), *end = NULL;
	int rc = -EINVAL;

	if (v && *v) {
		*out = g_ascii_strtoll(v, &end, 10);
		rc = end && *end == '\0' ? 0 : -EINVAL;
	}
	g_free(v);
	return rc;
}

static int take_raw(const char **p, const char *key, uint8_t out[32])
{
	char *v = take_line(p, key);
	gsize len = 0;
	guchar *raw = v ? g_base64_decode(v, &len) : NULL;
	int rc = raw && len == 32 ? 0 : -EINVAL;

	if (rc == 0)
		memcpy(out, raw, 32);
	g_free(raw);
	g_free(v);
	return rc;
}

/* A second key's DER SubjectPublicKeyInfo, standard base64 (at most 1 KiB). */
static GByteArray *take_der(const char **p, const char *key)
{
	char *v = take_line(p, key);
	gsize len = 0;
	guchar *raw = v ? g_base64_decode(v, &len) : NULL;
	GByteArray *out = NULL;

	if (raw && len > 0 && len <= 1024) {
		out = g_byte_array_sized_new((guint)len);
		g_byte_array_append(out, raw, (guint)len);
	}
	g_free(raw);
	g_free(v);
	return out;
}

static void key_event_clear(struct key_event *ev)
{
	g_free(ev->reason);
	ev->reason = NULL;
	if (ev->old_der)
		g_byte_array_unref(ev->old_der);
	if (ev->new_der)
		g_byte_array_unref(ev->new_der);
	ev->old_der = ev->new_der = NULL;
}

static int take_hex(const char **p, const char *key, uint8_t out[32])
{
	char *v = take_line(p, key);
	int rc = v ? hex_decode_lower(v, out, 32) : -EINVAL;

	g_free(v);
	return rc;
}

/* Parses TEXT into EV (reason owned by EV); the text must be exactly what key_event_text
 * makes of it. 0 or -EINVAL. */
static int key_event_parse(const char *text, struct key_event *ev)
{
	const char *p = text;
	int64_t v, n;
	uint8_t skip[32];
	char *again;
	int rc;

	memset(ev, 0, sizeof(*ev));
	if (!g_str_has_prefix(p, MAGIC))
		return -EINVAL;
	p += strlen(MAGIC);
	if (g_str_has_prefix(p, "rotate\n") || g_str_has_prefix(p, "rotate2\n"))
		ev->kind = KEY_EVENT_ROTATE;
	else if (g_str_has_prefix(p, "revoke\n") || g_str_has_prefix(p, "revoke2\n"))
		ev->kind = KEY_EVENT_REVOKE;
	else
		return -EINVAL;
	ev->slot = p[6] == '2' ? KEY_SLOT_SECOND : KEY_SLOT_MAIN;
	p += ev->slot == KEY_SLOT_SECOND ? 8 : 7;
	if (take_int(&p, "index", &v) || v < 0 || take_hex(&p, "prev", ev->prev) ||
	    take_int(&p, "time", &ev->time_us))
		return -EINVAL;
	ev->index = (uint64_t)v;
	if (ev->kind == KEY_EVENT_ROTATE && ev->slot == KEY_SLOT_SECOND) {
		if (take_hex(&p, "old", skip) || !(ev->old_der = take_der(&p, "old-key")) ||
		    take_hex(&p, "new", skip) || !(ev->new_der = take_der(&p, "new-key"))) {
			key_event_clear(ev);
			return -EINVAL;
		}
	} else if (ev->kind == KEY_EVENT_ROTATE) {
		if (take_hex(&p, "old", skip) || take_raw(&p, "old-key", ev->old_key) ||
		    take_hex(&p, "new", skip) || take_raw(&p, "new-key", ev->new_key))
			return -EINVAL;
	} else if (take_hex(&p, "key", ev->key_id) || take_int(&p, "from", &ev->from_us)) {
		return -EINVAL;
	}
	if (take_int(&p, "reason", &n) || n < 0 || strlen(p) != (size_t)n + 1 || p[n] != '\n') {
		key_event_clear(ev);
		return -EINVAL;
	}
	ev->reason = g_strndup(p, (size_t)n);
	again = key_event_text(ev);
	rc = strcmp(again, text) == 0 ? 0 : -EINVAL;
	g_free(again);
	if (rc)
		key_event_clear(ev);
	return rc;
}

static void entry_free(gpointer p)
{
	struct key_entry *e = p;

	g_free(e->text);
	g_byte_array_unref(e->sig);
	if (e->sig2)
		g_byte_array_unref(e->sig2);
	key_event_clear(&e->ev);
	g_free(e);
}

static void window_free(gpointer p)
{
	struct key_window *w = p;

	archive_pubkey_free(w->pub);
	if (w->der)
		g_byte_array_unref(w->der);
	g_free(w->revoke_reason);
	g_free(w);
}

struct key_history *key_history_new(void)
{
	struct key_history *h = g_new0(struct key_history, 1);

	h->entries = g_ptr_array_new_with_free_func(entry_free);
	h->keys = g_ptr_array_new_with_free_func(window_free);
	h->keys2 = g_ptr_array_new_with_free_func(window_free);
	return h;
}

void key_history_free(struct key_history *h)
{
	if (!h)
		return;
	g_ptr_array_unref(h->entries);
	g_ptr_array_unref(h->keys);
	g_ptr_array_unref(h->keys2);
	g_free(h);
}

guint key_history_length(const struct key_history *h)
{
	return h->entries->len;
}

const struct key_entry *key_history_entry(const struct key_history *h, guint i)
{
	return g_ptr_array_index(h->entries, i);
}

static GPtrArray *slot_keys(const struct key_history *h, enum key_slot slot)
{
	return slot == KEY_SLOT_SECOND ? h->keys2 : h->keys;
}

guint key_history_slot_keys(const struct key_history *h, enum key_slot slot)
{
	return slot_keys(h, slot)->len;
}

const struct key_window *key_history_slot_key(const struct key_history *h, enum key_slot slot,
                                              guint i)
{
	return g_ptr_array_index(slot_keys(h, slot), i);
}

const struct key_window *key_history_slot_current(const struct key_history *h,
                                                  enum key_slot slot)
{
	GPtrArray *k = slot_keys(h, slot);

	return k->len ? g_ptr_array_index(k, k->len - 1) : NULL;
}

const struct key_window *key_history_slot_find(const struct key_history *h, enum key_slot slot,
                                               const uint8_t id_hash[32])
{
	GPtrArray *k = slot_keys(h, slot);

	for (guint i = 0; i < k->len; i++) {
		struct key_window *w = g_ptr_array_index(k, i);

		if (memcmp(w->idh, id_hash, 32) == 0)
			return w;
	}
	return NULL;
}

const struct key_window *key_history_slot_at(const struct key_history *h, enum key_slot slot,
                                             int64_t time_us)
{
	GPtrArray *k = slot_keys(h, slot);

	for (guint i = 0; i < k->len; i++) {
		struct key_window *w = g_ptr_array_index(k, i);

		if (time_us >= w->from_us && time_us < w->to_us)
			return w;
	}
	return NULL;
}

guint key_history_keys(const struct key_history *h)
{
	return key_history_slot_keys(h, KEY_SLOT_MAIN);
}

const struct key_window *key_history_key(const struct key_history *h, guint i)
{
	return key_history_slot_key(h, KEY_SLOT_MAIN, i);
}

const struct key_window *key_history_current(const struct key_history *h)
{
	return key_history_slot_current(h, KEY_SLOT_MAIN);
}

const struct key_window *key_history_find(const struct key_history *h, const uint8_t id_hash[32])
{
	return key_history_slot_find(h, KEY_SLOT_MAIN, id_hash);
}

const struct key_window *key_history_at(const struct key_history *h, int64_t time_us)
{
	return key_history_slot_at(h, KEY_SLOT_MAIN, time_us);
}

char *key_window_check_use(const struct key_window *w, int64_t time_us)
{
	char when[40], at[40];

	clock_format_us(time_us, at, sizeof(at));
	if (time_us < w->from_us) {
		clock_format_us(w->from_us, when, sizeof(when));
		return g_strdup_printf("signed at %s by key %s before it was introduced (at %s)",
		                       at, w->id, when);
	}
	if (time_us >= w->revoked_us) {
		clock_format_us(w->revoked_us, when, sizeof(when));
		return g_strdup_printf("signed at %s by key %s, which is revoked from %s (%s)", at,
		                       w->id, when, w->revoke_reason ? w->revoke_reason : "");
	}
	if (time_us >= w->to_us) {
		clock_format_us(w->to_us, when, sizeof(when));
		return g_strdup_printf("signed at %s by key %s after it was replaced (at %s)", at,
		                       w->id, when);
	}
	return NULL;
}

static struct key_window *window_new(const uint8_t raw[32], int64_t from_us)
{
	struct key_window *w = g_new0(struct key_window, 1);

	w->slot = KEY_SLOT_MAIN;
	memcpy(w->raw, raw, 32);
	sha256(raw, 32, w->idh);
	hex_encode(w->idh, 32, w->id);
	w->from_us = from_us;
	w->to_us = INT64_MAX;
	w->revoked_us = INT64_MAX;
	if (archive_pubkey_from_raw(raw, &w->pub) != 0) {
		g_free(w);
		return NULL;
	}
	return w;
}

/* A second key's window from its DER SubjectPublicKeyInfo (SM2 or Ed25519), or NULL. */
static struct key_window *window_new_der(const GByteArray *der, int64_t from_us)
{
	struct key_window *w = g_new0(struct key_window, 1);

	w->slot = KEY_SLOT_SECOND;
	sha256(der->data, der->len, w->idh);
	hex_encode(w->idh, 32, w->id);
	w->from_us = from_us;
	w->to_us = INT64_MAX;
	w->revoked_us = INT64_MAX;
	if (archive_pubkey_from_der_any(der->data, der->len, &w->pub) != 0) {
		g_free(w);
		return NULL;
	}
	w->der = g_byte_array_sized_new(der->len);
	g_byte_array_append(w->der, der->data, der->len);
	return w;
}

static int sig_ok(const struct archive_pubkey *k, const char *text, const uint8_t *sig, size_t len)
{
	return sig && archive_pubkey_verify(k, text, strlen(text), sig, len) == 0;
}

int key_history_add(struct key_history *h, const char *text, const uint8_t *sig, size_t sig_len,
                    const uint8_t *sig2, size_t sig2_len, char **why)
{
	struct key_entry *e = g_new0(struct key_entry, 1);
	const struct key_window *cur;
	struct key_window *w, *first = NULL, *next = NULL;
	uint8_t zero[32] = {0};
	guint n = h->entries->len;
	enum key_slot slot;
	const char *what;

	if (key_event_parse(text, &e->ev) != 0) {
		*why = g_strdup("not a key history entry in the exact form the format defines");
		goto err;
	}
	slot = e->ev.slot;
	what = slot == KEY_SLOT_SECOND ? "second key" : "key";
	cur = key_history_slot_current(h, slot);
	if (e->ev.index != n) {
		*why = g_strdup_printf("index %" G_GUINT64_FORMAT " where %u was due (an entry "
		                       "removed or reordered)",
		                       e->ev.index, n);
		goto err;
	}
	if (memcmp(e->ev.prev, n ? h->last : zero, 32) != 0) {
		*why =
		    g_strdup("its prev is not the hash of the entry before (the chain is broken)");
		goto err;
	}
	if (n && e->ev.time_us < key_history_entry(h, n - 1)->ev.time_us) {
		*why = g_strdup("its time is before the entry before it");
		goto err;
	}
	if (e->ev.kind == KEY_EVENT_ROTATE) {
		if (slot == KEY_SLOT_SECOND) {
			uint8_t oh[32];

			sha256(e->ev.old_der->data, e->ev.old_der->len, oh);
			if (cur && memcmp(cur->idh, oh, 32) != 0) {
				*why = g_strdup_printf("a rotation from a second key that is not the "
				                       "current one (%s)",
				                       cur->id);
				goto err;
			}
			if (!cur && !(first = window_new_der(e->ev.old_der, INT64_MIN))) {
				*why = g_strdup("its old key is not an SM2 or Ed25519 public key");
				goto err;
			}
			next = window_new_der(e->ev.new_der, e->ev.time_us);
			if (!next) {
				*why = g_strdup("its new key is not an SM2 or Ed25519 public key");
				goto err;
			}
			if (strcmp(archive_pubkey_algorithm(next->pub),
			           archive_pubkey_algorithm(cur ? cur->pub : first->pub)) != 0) {
				*why = g_strdup_printf("its new key %s is of another algorithm than "
				                       "the key it replaces",
				                       next->id);
				goto err;
			}
		} else {
			if (cur && memcmp(cur->raw, e->ev.old_key, 32) != 0) {
				*why = g_strdup_printf(
				    "a rotation from a key that is not the current one (%s)", cur->id);
				goto err;
			}
			if (!cur && !(first = window_new(e->ev.old_key, INT64_MIN))) {
				*why = g_strdup("its old key is not an Ed25519 public key");
				goto err;
			}
			next = window_new(e->ev.new_key, e->ev.time_us);
			if (!next) {
				*why = g_strdup("its new key is not an Ed25519 public key");
				goto err;
			}
		}
		if (key_history_slot_find(h, slot, next->idh) ||
		    memcmp(next->idh, cur ? cur->idh : first->idh, 32) == 0) {
			*why = g_strdup_printf("its new %s %s was used before", what, next->id);
			goto err;
		}
		if (!sig_ok(cur ? cur->pub : first->pub, text, sig, sig_len)) {
			*why = g_strdup_printf("its signature by the old %s %s does not verify", what,
			                       cur ? cur->id : first->id);
			goto err;
		}
		if (!sig_ok(next->pub, text, sig2, sig2_len)) {
			*why = g_strdup_printf("its signature by the new %s %s does not verify", what,
			                       next->id);
			goto err;
		}
	} else {
		const struct key_window *k = key_history_slot_find(h, slot, e->ev.key_id);
		char id[65];

		hex_encode(e->ev.key_id, 32, id);
		if (!cur || !k) {
			*why = g_strdup_printf("it revokes %s %s, which the history does not hold",
			                       what, id);
			goto err;
		}
		if (k == cur) {
			*why = g_strdup_printf("it revokes the current %s %s (rotate first)", what,
			                       id);
			goto err;
		}
		if (!sig_ok(cur->pub, text, sig, sig_len)) {
			*why = g_strdup_printf("its signature by the current %s %s does not verify",
			                       what, cur->id);
			goto err;
		}
		if (sig2 && !sig_ok(k->pub, text, sig2, sig2_len)) {
			*why = g_strdup_printf("its signature by the revoked %s %s does not verify",
			                       what, id);
			goto err;
		}
	}
	/* Checked: apply. */
	e->text = g_strdup(text);
	e->sig = g_byte_array_new();
	g_byte_array_append(e->sig, sig, (guint)sig_len);
	if (sig2) {
		e->sig2 = g_byte_array_new();
		g_byte_array_append(e->sig2, sig2, (guint)sig2_len);
	}
	if (e->ev.kind == KEY_EVENT_ROTATE) {
		if (first)
			g_ptr_array_add(slot_keys(h, slot), first);
		((struct key_window *)key_history_slot_current(h, slot))->to_us = e->ev.time_us;
		g_ptr_array_add(slot_keys(h, slot), next);
	} else {
		w = (struct key_window *)key_history_slot_find(h, slot, e->ev.key_id);
		if (e->ev.from_us < w->revoked_us) {
			w->revoked_us = e->ev.from_us;
			g_free(w->revoke_reason);
			w->revoke_reason = g_strdup(e->ev.reason);
		}
	}
	sha256(text, strlen(text), h->last);
	g_ptr_array_add(h->entries, e);
	return 0;
err:
	if (first)
		window_free(first);
	if (next)
		window_free(next);
	e->text = NULL;
	e->sig = g_byte_array_new();
	entry_free(e);
	return -EBADMSG;
}

char *key_history_line(const struct key_entry *e)
{
	char *t = g_base64_encode((const guchar *)e->text, strlen(e->text));
	char *s = g_base64_encode(e->sig->data, e->sig->len);
	char *s2 = e->sig2 ? g_base64_encode(e->sig2->data, e->sig2->len) : g_strdup("-");
	char *line = g_strdup_printf("%s %s %s\n", t, s, s2);

	g_free(t);
	g_free(s);
	g_free(s2);
	return line;
}

int key_history_load(const char *path, struct key_history **out, GError **err)
{
	char *data = NULL;
	GError *e = NULL;
	int rc;

	if (!g_file_get_contents(path, &data, NULL, &e)) {
		if (g_error_matches(e, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
			g_error_free(e);
			*out = key_history_new();
			return 0;
		}
		g_set_error(err, key_history_quark(), EIO, "key history %s: %s", path, e->message);
		g_error_free(e);
		return -EIO;
	}
	rc = key_history_parse(data, path, out, err);
	g_free(data);
	return rc;
}

int key_history_parse(const char *data, const char *path, struct key_history **out, GError **err)
{
	struct key_history *h = key_history_new();
	char **lines;
	int rc = 0;

	lines = g_strsplit(data, "\n", -1);
	for (guint i = 0; rc == 0 && lines[i]; i++) {
		char **f;
		gsize tl = 0, sl = 0, s2l = 0;
		guchar *text, *sig, *sig2;
		char *why = NULL;

		if (!*lines[i] && !lines[i + 1])
			break; /* the final newline */
		f = g_strsplit(lines[i], " ", -1);
		if (g_strv_length(f) != 3) {
			g_set_error(err, key_history_quark(), EBADMSG,
			            "key history %s line %u: not three fields (entry, signature, "
			            "second signature or -)",
			            path, i + 1);
			g_strfreev(f);
			rc = -EBADMSG;
			break;
		}
		text = g_base64_decode(f[0], &tl);
		sig = g_base64_decode(f[1], &sl);
		sig2 = strcmp(f[2], "-") == 0 ? NULL : g_base64_decode(f[2], &s2l);
		text = g_realloc(text, tl + 1);
		text[tl] = '\0';
		if (strlen((char *)text) != tl) {
			why = g_strdup("its entry holds a NUL byte");
		} else if (key_history_add(h, (char *)text, sig, sl, sig2, s2l, &why) == 0) {
			g_free(why);
			why = NULL;
		}
		if (why) {
			g_set_error(err, key_history_quark(), EBADMSG,
			            "key history %s line %u (entry %u): %s", path, i + 1, i, why);
			rc = -EBADMSG;
		}
		g_free(why);
		g_free(text);
		g_free(sig);
		g_free(sig2);
		g_strfreev(f);
	}
	g_strfreev(lines);
	if (rc) {
		key_history_free(h);
		return rc;
	}
	*out = h;
	return 0;
}

/* Appends LINE to PATH (created 0640 when missing) and makes it durable. */
static int append_line(const char *path, const char *line, GError **err)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640), rc = 0;
	size_t len = strlen(line);

	if (fd < 0 || write(fd, line, len) != (ssize_t)len || fsync(fd) != 0) {
		rc = -errno ? -errno : -EIO;
		g_set_error(err, key_history_quark(), EIO, "key history %s: %s", path,
		            g_strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	if (rc == 0) {
		char *dir = g_path_get_dirname(path);
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		g_free(dir);
	}
	return rc;
}

/* Signs EV by S1 (and S2 when not NULL), checks it as the next entry and appends it to PATH
 * and H. */
static int sign_and_append(struct key_history *h, const char *path, struct key_event *ev,
                           const struct archive_signer *s1, const struct archive_signer *s2,
                           GError **err)
{
	GByteArray *sig = NULL, *sig2 = NULL;
	char *text, *why = NULL, *line;
	int rc;

	ev->index = h->entries->len;
	memcpy(ev->prev, h->last, 32);
	text = key_event_text(ev);
	if (archive_signer_sign_alloc(s1, text, strlen(text), &sig) != 0 ||
	    (s2 && archive_signer_sign_alloc(s2, text, strlen(text), &sig2) != 0)) {
		g_set_error(err, key_history_quark(), EIO, "signing the key history entry failed");
		g_free(text);
		if (sig)
			g_byte_array_unref(sig);
		return -EIO;
	}
	rc = key_history_add(h, text, sig->data, sig->len, sig2 ? sig2->data : NULL,
	                     sig2 ? sig2->len : 0, &why);
	g_free(text);
	g_byte_array_unref(sig);
	if (sig2)
		g_byte_array_unref(sig2);
	if (rc) {
		g_set_error(err, key_history_quark(), EINVAL, "%s", why);
		g_free(why);
		return -EINVAL;
	}
	line = key_history_line(key_history_entry(h, h->entries->len - 1));
	rc = append_line(path, line, err);
	g_free(line);
	if (rc) {
		g_ptr_array_remove_index(h->entries, h->entries->len - 1);
		return rc; /* H is stale: the caller stops */
	}
	return 0;
}

int key_history_rotate(struct key_history *h, const char *path,
                       const struct archive_signer *old_key, const struct archive_signer *new_key,
                       int64_t time_us, const char *reason, GError **err)
{
	struct key_event ev = {.kind = KEY_EVENT_ROTATE, .time_us = time_us};

	if (archive_signer_raw_public(old_key, ev.old_key) != 0 ||
	    archive_signer_raw_public(new_key, ev.new_key) != 0) {
		g_set_error(err, key_history_quark(), EINVAL, "a key rotates only Ed25519 keys");
		return -EINVAL;
	}
	ev.reason = (char *)reason;
	return sign_and_append(h, path, &ev, old_key, new_key, err);
}

int key_history_rotate_second(struct key_history *h, const char *path,
                              const struct archive_signer *old_key,
                              const struct archive_signer *new_key, int64_t time_us,
                              const char *reason, GError **err)
{
	struct key_event ev = {.kind = KEY_EVENT_ROTATE, .slot = KEY_SLOT_SECOND, .time_us = time_us};
	int rc;

	ev.old_der = archive_signer_spki_der(old_key);
	ev.new_der = archive_signer_spki_der(new_key);
	if (!ev.old_der || !ev.new_der) {
		g_set_error(err, key_history_quark(), EINVAL, "a second key without a public key");
		rc = -EINVAL;
	} else {
		ev.reason = (char *)reason;
		rc = sign_and_append(h, path, &ev, old_key, new_key, err);
		ev.reason = NULL;
	}
	key_event_clear(&ev);
	return rc;
}

int key_history_revoke(struct key_history *h, const char *path,
                       const struct archive_signer *current, const struct archive_signer *revoked,
                       const char *id, int64_t from_us, int64_t time_us, const char *reason,
                       GError **err)
{
	struct key_event ev = {.kind = KEY_EVENT_REVOKE, .time_us = time_us, .from_us = from_us};

	if (!id || hex_decode_lower(id, ev.key_id, 32) != 0) {
		g_set_error(err, key_history_quark(), EINVAL,
		            "a key id is 64 lower-case hex digits (evalroomctl keys list)");
		return -EINVAL;
	}
	if (key_history_slot_find(h, KEY_SLOT_SECOND, ev.key_id))
		ev.slot = KEY_SLOT_SECOND;
	ev.reason = (char *)reason;
	return sign_and_append(h, path, &ev, current, revoked, err);
}

GByteArray *key_history_leaf_data(const char *entry, const uint8_t *sig, size_t sig_len,
                                  const uint8_t *sig2, size_t sig2_len)
{
	GString *s = g_string_new("evalroom-leaf v1 key\n");
	char *h1 = hex_encode_dup(sig, sig_len);
	char *h2 = sig2 ? hex_encode_dup(sig2, sig2_len) : g_strdup("-");

	g_string_append_printf(s, "entry %zu\n%s\nsignature %s\nsignature2 %s\n", strlen(entry),
	                       entry, h1, h2);
	g_free(h1);
	g_free(h2);
	return g_bytes_unref_to_array(g_string_free_to_bytes(s));
}

int key_history_read_db(sqlite3 *db, struct key_history **out, char **why)
{
	sqlite3_stmt *st;
	int rc;

	*out = key_history_new();
	if (sqlite3_prepare_v2(db,
	                       "SELECT entry, signature, signature2 FROM key_history ORDER BY id",
	                       -1, &st, NULL) != SQLITE_OK) {
		*why = g_strdup_printf("key_history: sqlite: %s", sqlite3_errmsg(db));
		return -EIO;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char *bad = NULL;

		if (sqlite3_column_type(st, 0) != SQLITE_TEXT ||
		    key_history_add(*out, (const char *)sqlite3_column_text(st, 0),
		                    sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
		                    sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2),
		                    &bad) != 0) {
			*why =
			    g_strdup_printf("key_history row %u: %s", key_history_length(*out) + 1,
			                    bad ? bad : "malformed");
			g_free(bad);
			sqlite3_finalize(st);
			return -EBADMSG;
		}
	}
	if (rc != SQLITE_DONE)
		*why = g_strdup_printf("key_history: sqlite: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}
