/* The controller's signing keys over time: the key history, the daemon's lock on it, and the
 * custodian's offline rotation and revocation (keys.h). */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hex.h"
#include "log.h"
#include "signing.h"

#define KEY_LOCK_FILE "key-history.lock"

static int lock_history(const char *state_dir, int *fd_out, GError **err)
{
	char *path = g_build_filename(state_dir, KEY_LOCK_FILE, NULL);
	/* Readable by all: created by the custodian as root, the daemon's user still locks it. */
	int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
	int rc = 0;

	if (fd < 0) {
		rc = -errno;
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", path,
		            g_strerror(-rc));
	} else if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
		            "%s is held: the controller is running (stop it first: systemctl stop "
		            "evalroom-controller), or a key rotation is under way",
		            path);
		close(fd);
	} else {
		*fd_out = fd;
	}
	g_free(path);
	return rc;
}

static char *history_path(const char *state_dir)
{
	return g_build_filename(state_dir, KEY_HISTORY_FILE, NULL);
}

/* Takes the history lock (*FD) and loads the history of STATE_DIR (*H). */
static int lock_and_load(const char *state_dir, int *fd, struct key_history **h, GError **err)
{
	char *path = history_path(state_dir);
	int rc = lock_history(state_dir, fd, err);

	if (rc == 0)
		rc = key_history_load(path, h, err);
	g_free(path);
	return rc;
}

int keys_init(struct controller *c, const uint8_t public_raw[32],
              const struct archive_signer *second, GError **err)
{
	const struct key_window *cur, *cur2;
	uint8_t id2[32];
	int fd = -1, rc = lock_and_load(c->cfg.state_dir, &fd, &c->key_history, err);

	if (rc)
		goto err_lock;
	cur = key_history_current(c->key_history);
	if (cur && memcmp(cur->raw, public_raw, 32) != 0) {
		char id[KEY_ID_HEX];

		key_id_hex(public_raw, id);
		g_set_error(
		    err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
		    "[controller] signing_key %s is key %s, but the key history's current key "
		    "is %s (a rotation was not finished: run evalroom-controller --rotate-key "
		    "again to complete it)",
		    c->cfg.signing_key, id, cur->id);
		rc = -EINVAL;
		goto err_history;
	}
	cur2 = key_history_slot_current(c->key_history, KEY_SLOT_SECOND);
	c->key2_current[0] = '\0';
	if (second && archive_signer_spki_sha256(second, id2) == 0) {
		hex_encode(id2, 32, c->key2_current);
		c->key2_algorithm = archive_signer_algorithm(second);
	}
	if (cur2 && (!second || memcmp(cur2->idh, id2, 32) != 0)) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
		            "[controller] second_signing_key %s is not the key history's current "
		            "second key %s (a rotation was not finished: run evalroom-controller "
		            "--rotate-key2 again to complete it)",
		            c->cfg.second_signing_key ? c->cfg.second_signing_key : "(none)",
		            cur2->id);
		rc = -EINVAL;
		goto err_history;
	}
	c->key_lock_fd = fd;
	memcpy(c->key_current, public_raw, 32);
	if (cur)
		log_info("signing key %s (key history: %u entries)", cur->id,
		         key_history_length(c->key_history));
	return 0;
err_history:
	key_history_free(c->key_history);
	c->key_history = NULL;
err_lock:
	if (fd >= 0)
		close(fd);
	return rc;
}

void keys_free(struct controller *c)
{
	if (!c->key_history)
		return;
	key_history_free(c->key_history);
	c->key_history = NULL;
	close(c->key_lock_fd);
}

/* PATH with "-TAG" before its ".key"/".pub" ending (or at its end); g_free. */
static char *kept_name(const char *path, const char *ext, const char *tag)
{
	if (g_str_has_suffix(path, ext))
		return g_strdup_printf("%.*s-%s%s", (int)(strlen(path) - strlen(ext)), path, tag,
		                       ext);
	return g_strdup_printf("%s-%s", path, tag);
}

/* The public key file beside a private key file named *.key, or NULL. */
static char *pub_path_of(const char *key_path)
{
	if (!g_str_has_suffix(key_path, ".key"))
		return NULL;
	return g_strdup_printf("%.*s.pub", (int)(strlen(key_path) - 4), key_path);
}

static void own_like(const char *path, const char *model)
{
	struct stat st;

	/* Run as root by the custodian, the files must still be the daemon user's. */
	if (geteuid() == 0 && stat(model, &st) == 0 && chown(path, st.st_uid, st.st_gid) != 0)
		log_warn("chown %s", path);
}

static int fsync_dir_of(const char *path)
{
	char *dir = g_path_get_dirname(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0 || fsync(fd) != 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	g_free(dir);
	return rc;
}

/* Puts the key recorded as current (in NEW_PATH, "<key>.new") in place: the old key and its
 * .pub kept under their id-tagged names, the new ones under the configured names. */
static int finish_rotation(const char *key_path, const char *new_path,
                           const struct key_window *old_w, GError **err)
{
	char tag[17];
	char *pub = pub_path_of(key_path), *kept = NULL, *kept_pub = NULL, *new_pub = NULL;
	struct archive_signer *s = NULL;
	int rc = 0;

	g_strlcpy(tag, old_w->id, sizeof(tag));
	kept = kept_name(key_path, ".key", tag);
	if (access(key_path, F_OK) == 0 && rename(key_path, kept) != 0)
		rc = -errno;
	if (rc == 0 && pub) {
		kept_pub = kept_name(pub, ".pub", tag);
		if (access(pub, F_OK) == 0 && rename(pub, kept_pub) != 0)
			rc = -errno;
	}
	if (rc == 0 && rename(new_path, key_path) != 0)
		rc = -errno;
	if (rc == 0 && pub) {
		char *pem;

		rc = archive_signer_load_any(key_path, &s);
		pem = rc == 0 ? archive_signer_public_pem(s) : NULL;
		if (!pem || !g_file_set_contents(pub, pem, -1, NULL) || chmod(pub, 0644) != 0)
			rc = rc ? rc : -EIO;
		else
			own_like(pub, key_path);
		g_free(pem);
	}
	if (rc == 0)
		rc = fsync_dir_of(key_path);
	if (rc)
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
		            "putting the new key in place (%s, old key kept as %s): %s", key_path,
		            kept, g_strerror(-rc));
	archive_signer_free(s);
	g_free(new_pub);
	g_free(kept_pub);
	g_free(kept);
	g_free(pub);
	return rc;
}

/* The raw id (32 bytes) of signer S in SLOT: SHA-256 of its raw key (main) or DER SPKI. */
static int signer_idh(const struct archive_signer *s, enum key_slot slot, uint8_t out[32])
{
	uint8_t raw[32];

	if (slot == KEY_SLOT_SECOND)
		return archive_signer_spki_sha256(s, out);
	if (archive_signer_raw_public(s, raw) != 0)
		return -EINVAL;
	EVP_Digest(raw, 32, out, NULL, EVP_sha256(), NULL);
	return 0;
}

static int load_slot(const char *path, enum key_slot slot, struct archive_signer **out)
{
	return slot == KEY_SLOT_SECOND ? archive_signer_load_any(path, out)
	                               : archive_signer_load(path, out);
}

static int rotate_offline(const struct controller_config *cfg, enum key_slot slot,
                          const char *reason, FILE *out, GError **err)
{
	const char *key_path = slot == KEY_SLOT_SECOND ? cfg->second_signing_key : cfg->signing_key;
	const char *what = slot == KEY_SLOT_SECOND ? "second_signing_key" : "signing_key";
	struct key_history *h = NULL;
	struct archive_signer *old = NULL, *fresh = NULL;
	char *path = history_path(cfg->state_dir);
	char *new_path = g_strconcat(key_path, ".new", NULL);
	const struct key_window *cur, *prev;
	uint8_t idh[32];
	int fd = -1, rc;

	rc = lock_and_load(cfg->state_dir, &fd, &h, err);
	if (rc)
		goto out;
	rc = load_slot(key_path, slot, &old);
	if (rc || signer_idh(old, slot, idh) != 0) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
		            "[controller] %s %s: not a readable %s private key (PEM)", what,
		            key_path, slot == KEY_SLOT_SECOND ? "SM2 or Ed25519" : "Ed25519");
		rc = rc ? rc : -EINVAL;
		goto out;
	}
	cur = key_history_slot_current(h, slot);
	if (cur && memcmp(cur->idh, idh, 32) != 0) {
		/* An interrupted rotation: recorded, its new key still in KEY.new. */
		uint8_t nidh[32];

		if (load_slot(new_path, slot, &fresh) != 0 || signer_idh(fresh, slot, nidh) != 0 ||
		    memcmp(nidh, cur->idh, 32) != 0) {
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
			            "[controller] %s %s is not the key history's current key %s, "
			            "and %s does not hold it either",
			            what, key_path, cur->id, new_path);
			rc = -EINVAL;
			goto out;
		}
		prev = key_history_slot_key(h, slot, key_history_slot_keys(h, slot) - 2);
		rc = finish_rotation(key_path, new_path, prev, err);
		if (rc == 0)
			fprintf(out, "completed the rotation to key %s recorded earlier\n",
			        cur->id);
		goto out;
	}
	unlink(new_path); /* a rotation that never got recorded */
	rc = archive_signer_generate_like(old, &fresh);
	if (rc == 0)
		rc = archive_signer_save(fresh, new_path, NULL);
	if (rc) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "writing the new key %s: %s",
		            new_path, g_strerror(-rc));
		goto out;
	}
	own_like(new_path, key_path);
	rc = slot == KEY_SLOT_SECOND
	         ? key_history_rotate_second(h, path, old, fresh, clock_now_us(), reason, err)
	         : key_history_rotate(h, path, old, fresh, clock_now_us(), reason, err);
	if (rc) {
		unlink(new_path);
		goto out;
	}
	own_like(path, cfg->state_dir);
	prev = key_history_slot_key(h, slot, key_history_slot_keys(h, slot) - 2);
	rc = finish_rotation(key_path, new_path, prev, err);
	if (rc == 0) {
		char tag[17], *kept;

		g_strlcpy(tag, prev->id, sizeof(tag));
		kept = kept_name(key_path, ".key", tag);
		fprintf(out,
		        "rotated: %skey %s replaced by key %s; the old key is kept as %s; start the "
		        "controller to sign with the new key\n",
		        slot == KEY_SLOT_SECOND ? "second " : "", prev->id,
		        key_history_slot_current(h, slot)->id, kept);
		g_free(kept);
	}
out:
	archive_signer_free(fresh);
	archive_signer_free(old);
	key_history_free(h);
	if (fd >= 0)
		close(fd);
	g_free(new_path);
	g_free(path);
	return rc;
}

int keys_rotate_offline(const struct controller_config *cfg, const char *reason, FILE *out,
                        GError **err)
{
	return rotate_offline(cfg, KEY_SLOT_MAIN, reason, out, err);
}

int keys_rotate_second_offline(const struct controller_config *cfg, const char *reason, FILE *out,
                               GError **err)
{
	if (!cfg->second_signing_key) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
		            "--rotate-key2: no second key is configured ([controller] "
		            "second_signing_key)");
		return -EINVAL;
	}
	return rotate_offline(cfg, KEY_SLOT_SECOND, reason, out, err);
}

/* The key of H (either slot) whose id is ID or starts with it (at least 8 hex digits), or
 * NULL (*err). */
static const struct key_window *key_by_id(const struct key_history *h, const char *id, GError **err)
{
	const struct key_window *found = NULL;
	guint n1 = key_history_keys(h), n2 = key_history_slot_keys(h, KEY_SLOT_SECOND);
	size_t n = strlen(id);

	for (guint i = 0; n >= 8 && i < n1 + n2; i++) {
		const struct key_window *w =
		    i < n1 ? key_history_key(h, i) : key_history_slot_key(h, KEY_SLOT_SECOND, i - n1);

		if (strncmp(w->id, id, n) != 0)
			continue;
		if (found) {
			g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
			            "key id %s is the beginning of more than one key's id", id);
			return NULL;
		}
		found = w;
	}
	if (!found)
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
		            "no key of the key history has the id %s (at least 8 hex digits; see "
		            "evalroomctl keys list)",
		            id);
	return found;
}

int keys_revoke_offline(const struct controller_config *cfg, const char *id, int64_t from_us,
                        const char *reason, FILE *out, GError **err)
{
	struct key_history *h = NULL;
	struct archive_signer *cur_s = NULL, *revoked_s = NULL;
	const struct key_window *w;
	char *path = history_path(cfg->state_dir), *kept = NULL, tag[17];
	const char *key_path;
	uint8_t idh[32];
	int fd = -1, rc;

	rc = lock_and_load(cfg->state_dir, &fd, &h, err);
	if (rc)
		goto out;
	w = key_by_id(h, id, err);
	if (!w) {
		rc = -ENOENT;
		goto out;
	}
	key_path = w->slot == KEY_SLOT_SECOND ? cfg->second_signing_key : cfg->signing_key;
	if (!key_path || load_slot(key_path, w->slot, &cur_s) != 0 ||
	    signer_idh(cur_s, w->slot, idh) != 0 ||
	    memcmp(idh, key_history_slot_current(h, w->slot)->idh, 32) != 0) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
		            "[controller] %s %s is not the key history's current %s",
		            w->slot == KEY_SLOT_SECOND ? "second_signing_key" : "signing_key",
		            key_path ? key_path : "(none)",
		            w->slot == KEY_SLOT_SECOND ? "second key" : "key");
		rc = -EINVAL;
		goto out;
	}
	g_strlcpy(tag, w->id, sizeof(tag));
	kept = kept_name(key_path, ".key", tag);
	if (load_slot(kept, w->slot, &revoked_s) != 0)
		revoked_s = NULL; /* gone (or the reason it is revoked): the current key alone */
	rc = key_history_revoke(h, path, cur_s, revoked_s, w->id, from_us, clock_now_us(), reason,
	                        err);
	if (rc == 0) {
		char when[40];

		own_like(path, cfg->state_dir);
		clock_format_us(from_us, when, sizeof(when));
		fprintf(
		    out,
		    "revoked: %skey %s is not to be trusted from %s (signed by the current key%s)\n",
		    w->slot == KEY_SLOT_SECOND ? "second " : "", w->id, when,
		    revoked_s ? " and the revoked key" : "");
	}
out:
	archive_signer_free(revoked_s);
	archive_signer_free(cur_s);
	key_history_free(h);
	if (fd >= 0)
		close(fd);
	g_free(kept);
	g_free(path);
	return rc;
}

json_t *keys_history_json(const struct controller *c)
{
	json_t *hist;

	if (!c->key_history || key_history_length(c->key_history) == 0)
		return NULL;
	hist = json_array();
	for (guint i = 0; i < key_history_length(c->key_history); i++) {
		char *line = key_history_line(key_history_entry(c->key_history, i));

		line[strcspn(line, "\n")] = '\0';
		json_array_append_new(hist, json_string(line));
		g_free(line);
	}
	return hist;
}

/* keys.list: every key with its window and state; the entries' count. */
static int handle_keys_list(struct controller *c, const struct request *req, json_t **result,
                            GError **err)
{
	const struct key_history *h = c->key_history;
	json_t *keys = json_array();
	int64_t now = clock_now_us();

	(void)req;
	(void)err;
	guint n1 = h ? key_history_keys(h) : 0;
	guint n2 = h ? key_history_slot_keys(h, KEY_SLOT_SECOND) : 0;

	for (guint i = 0; i < n1 + n2; i++) {
		const struct key_window *w =
		    i < n1 ? key_history_key(h, i) : key_history_slot_key(h, KEY_SLOT_SECOND, i - n1);
		json_t *k = json_pack("{s:s, s:s, s:s}", "id", w->id, "algorithm",
		                      archive_pubkey_algorithm(w->pub), "use",
		                      w->slot == KEY_SLOT_SECOND ? "second" : "checkpoints");
		const char *state = w->revoked_us != INT64_MAX ? "revoked"
		                    : w->to_us != INT64_MAX    ? "retired"
		                                               : "current";

		if (w->from_us != INT64_MIN)
			json_object_set_new(k, "from_us", json_integer(w->from_us));
		if (w->to_us != INT64_MAX)
			json_object_set_new(k, "to_us", json_integer(w->to_us));
		if (w->revoked_us != INT64_MAX) {
			json_object_set_new(k, "revoked_from_us", json_integer(w->revoked_us));
			json_object_set_new(k, "revoke_reason", json_string(w->revoke_reason));
		}
		json_object_set_new(k, "state", json_string(state));
		json_array_append_new(keys, k);
	}
	if (n1 == 0) {
		/* No rotation yet: the one key, in use since the site was provisioned. */
		char id[KEY_ID_HEX];

		key_id_hex(c->key_current, id);
		json_array_insert_new(keys, 0,
		                      json_pack("{s:s, s:s, s:s, s:s}", "id", id, "algorithm",
		                                "ed25519", "use", "checkpoints", "state", "current"));
	}
	if (n2 == 0 && c->key2_current[0])
		json_array_append_new(keys, json_pack("{s:s, s:s, s:s, s:s}", "id", c->key2_current,
		                                      "algorithm", c->key2_algorithm, "use",
		                                      "second", "state", "current"));
	*result = json_pack("{s:o, s:i, s:I}", "keys", keys, "entries",
	                    h ? (int)key_history_length(h) : 0, "now_us", (json_int_t)now);
	return 0;
}

const struct request_handler keys_request_handlers[] = {
    {"keys.list", ROLE_OPERATOR | ROLE_AUDITOR, handle_keys_list, false},
    {NULL, 0, NULL, false},
};
