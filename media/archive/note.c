#include "note.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

uint32_t note_key_id(const char *name, uint8_t type, const uint8_t *pub, size_t len)
{
	GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
	uint8_t d[32], sep = 0x0a;
	gsize dlen = sizeof(d);

	g_checksum_update(c, (const guchar *)name, (gssize)strlen(name));
	g_checksum_update(c, &sep, 1);
	g_checksum_update(c, &type, 1);
	g_checksum_update(c, pub, (gssize)len);
	g_checksum_get_digest(c, d, &dlen);
	g_checksum_free(c);
	return (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
}

char *note_signature_line(const char *name, uint32_t key_id, const uint8_t *sig, size_t len)
{
	uint8_t *buf = g_malloc(4 + len);
	char *b64, *line;

	buf[0] = (uint8_t)(key_id >> 24);
	buf[1] = (uint8_t)(key_id >> 16);
	buf[2] = (uint8_t)(key_id >> 8);
	buf[3] = (uint8_t)key_id;
	memcpy(buf + 4, sig, len);
	b64 = g_base64_encode(buf, 4 + len);
	line = g_strdup_printf("\xe2\x80\x94 %s %s\n", name, b64);
	g_free(b64);
	g_free(buf);
	return line;
}

char *note_vkey(const char *name, uint8_t type, const uint8_t *pub, size_t len)
{
	uint8_t *buf = g_malloc(1 + len);
	char *b64, *vkey;

	buf[0] = type;
	memcpy(buf + 1, pub, len);
	b64 = g_base64_encode(buf, 1 + len);
	vkey = g_strdup_printf("%s+%08x+%s", name, note_key_id(name, type, pub, len), b64);
	g_free(b64);
	g_free(buf);
	return vkey;
}

char *note_signed(const char *text, const char *line)
{
	return g_strconcat(text, "\n", line, NULL);
}

char *note_checkpoint(const char *body, const uint8_t pub[32], const uint8_t *sig, size_t len)
{
	const char *nl = strchr(body, '\n');
	char *name, *line, *note;

	if (!nl || nl == body)
		return NULL;
	name = g_strndup(body, (gsize)(nl - body));
	line = note_signature_line(name, note_key_id(name, NOTE_TYPE_ED25519, pub, 32), sig, len);
	note = note_signed(body, line);
	g_free(line);
	g_free(name);
	return note;
}

char *note_checkpoint_vkey(const char *body, const uint8_t pub[32])
{
	const char *nl = strchr(body, '\n');
	char *name, *vkey;

	if (!nl || nl == body)
		return NULL;
	name = g_strndup(body, (gsize)(nl - body));
	vkey = note_vkey(name, NOTE_TYPE_ED25519, pub, 32);
	g_free(name);
	return vkey;
}

char *note_origin(const char *body)
{
	const char *nl = strchr(body, '\n');

	if (!nl || nl == body)
		return NULL;
	return g_strndup(body, (gsize)(nl - body));
}

int note_vkey_parse(const char *vkey, char **name, uint8_t *type, uint8_t pub[32], uint32_t *key_id,
                    char **why)
{
	char **f = g_strsplit(vkey, "+", 3); /* base64 may hold "+" too */
	guchar *raw = NULL;
	gsize len = 0;
	char *end = NULL;
	uint64_t id;
	int rc = -EINVAL;

	if (g_strv_length(f) != 3 || !f[0][0] || strlen(f[1]) != 8 || strpbrk(f[0], " \t\n")) {
		*why = g_strdup_printf("\"%s\" is not a verifier key (NAME+KEYID+BASE64)", vkey);
		goto out;
	}
	id = g_ascii_strtoull(f[1], &end, 16);
	raw = g_base64_decode(f[2], &len);
	if (!end || *end || len != 33 ||
	    (raw[0] != NOTE_TYPE_ED25519 && raw[0] != NOTE_TYPE_COSIGNATURE_V1)) {
		*why = g_strdup_printf("verifier key of %s: not an Ed25519 key (type 0x01 or 0x04, "
		                       "32 bytes)",
		                       f[0]);
		goto out;
	}
	if (note_key_id(f[0], raw[0], raw + 1, 32) != (uint32_t)id) {
		*why =
		    g_strdup_printf("verifier key of %s: its key id %s is not the one of its name "
		                    "and key",
		                    f[0], f[1]);
		goto out;
	}
	*name = g_strdup(f[0]);
	*type = raw[0];
	memcpy(pub, raw + 1, 32);
	*key_id = (uint32_t)id;
	rc = 0;
out:
	g_free(raw);
	g_strfreev(f);
	return rc;
}
