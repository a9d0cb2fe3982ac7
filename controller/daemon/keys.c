/* The controller's signing keys over time: the key history, the daemon's lock on it, and the
 * custodian's offline rotation and revocation (keys.h). */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

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

int keys_init(struct controller *c, const uint8_t public_raw[32], GError **err)
{
	const struct key_window *cur;
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

		rc = archive_signer_load(key_path, &s);
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

int keys_rotate_offline(const struct controller_config *cfg, const char *reason, FILE *out,
                        GError **err)
{
	struct key_history *h = NULL;
	struct archive_signer *old = NULL, *fresh = NULL;
	char *path = history_path(cfg->state_dir);
	char *new_path = g_strconcat(cfg->signing_key, ".new", NULL);
	const struct key_window *cur, *prev;
	uint8_t raw[32];
	int fd = -1, rc;

	rc = lock_and_load(cfg->state_dir, &fd, &h, err);
	if (rc)
		goto out;
	rc = archive_signer_load(cfg->signing_key, &old);
	if (rc) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
		            "[controller] signing_key %s: not a readable Ed25519 private key (PEM)",
		            cfg->signing_key);
		goto out;
	}
	archive_signer_raw_public(old, raw);
	cur = key_history_current(h);
	if (cur && memcmp(cur->raw, raw, 32) != 0) {
		/* An interrupted rotation: recorded, its new key still in KEY.new. */
		uint8_t nraw[32];

		if (archive_signer_load(new_path, &fresh) != 0 ||
		    archive_signer_raw_public(fresh, nraw) != 0 ||
		    memcmp(nraw, cur->raw, 32) != 0) {
			g_set_error(
			    err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
			    "[controller] signing_key %s is not the key history's current key "
			    "%s, and %s does not hold it either",
			    cfg->signing_key, cur->id, new_path);
			rc = -EINVAL;
			goto out;
		}
		prev = key_history_key(h, key_history_keys(h) - 2);
		rc = finish_rotation(cfg->signing_key, new_path, prev, err);
		if (rc == 0)
			fprintf(out, "completed the rotation to key %s recorded earlier\n",
			        cur->id);
		goto out;
	}
	unlink(new_path); /* a rotation that never got recorded */
	rc = archive_signer_generate(&fresh);
	if (rc == 0)
		rc = archive_signer_save(fresh, new_path, NULL);
	if (rc) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED, "writing the new key %s: %s",
		            new_path, g_strerror(-rc));
		goto out;
	}
	own_like(new_path, cfg->signing_key);
	rc = key_history_rotate(h, path, old, fresh, clock_now_us(), reason, err);
	if (rc) {
		unlink(new_path);
		goto out;
	}
	own_like(path, cfg->state_dir);
	prev = key_history_key(h, key_history_keys(h) - 2);
	rc = finish_rotation(cfg->signing_key, new_path, prev, err);
	if (rc == 0) {
		char tag[17], *kept;

		g_strlcpy(tag, prev->id, sizeof(tag));
		kept = kept_name(cfg->signing_key, ".key", tag);
		fprintf(out,
		        "rotated: key %s replaced by key %s; the old key is kept as %s; start the "
		        "controller to sign with the new key\n",
		        prev->id, key_history_current(h)->id, kept);
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

/* The key of H whose id is ID or starts with it (at least 8 hex digits), or NULL (*err). */
static const struct key_window *key_by_id(const struct key_history *h, const char *id, GError **err)
{
	const struct key_window *found = NULL;
	size_t n = strlen(id);

	for (guint i = 0; n >= 8 && i < key_history_keys(h); i++) {
		const struct key_window *w = key_history_key(h, i);

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
	uint8_t raw[32];
	int fd = -1, rc;

	rc = lock_and_load(cfg->state_dir, &fd, &h, err);
	if (rc)
		goto out;
	w = key_by_id(h, id, err);
	if (!w) {
		rc = -ENOENT;
		goto out;
	}
	if (archive_signer_load(cfg->signing_key, &cur_s) != 0 ||
	    archive_signer_raw_public(cur_s, raw) != 0 ||
	    memcmp(raw, key_history_current(h)->raw, 32) != 0) {
		g_set_error(err, G_FILE_ERROR, G_FILE_ERROR_FAILED,
		            "[controller] signing_key %s is not the key history's current key",
		            cfg->signing_key);
		rc = -EINVAL;
		goto out;
	}
	g_strlcpy(tag, w->id, sizeof(tag));
	kept = kept_name(cfg->signing_key, ".key", tag);
	if (archive_signer_load(kept, &revoked_s) != 0)
		revoked_s = NULL; /* gone (or the reason it is revoked): the current key alone */
	rc = key_history_revoke(h, path, cur_s, revoked_s, w->id, from_us, clock_now_us(), reason,
	                        err);
	if (rc == 0) {
		char when[40];

		own_like(path, cfg->state_dir);
		clock_format_us(from_us, when, sizeof(when));
		fprintf(
		    out,
		    "revoked: key %s is not to be trusted from %s (signed by the current key%s)\n",
		    w->id, when, revoked_s ? " and the revoked key" : "");
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

/* keys.list: every key with its window and state; the entries' count. */
static int handle_keys_list(struct controller *c, const struct request *req, json_t **result,
                            GError **err)
{
	const struct key_history *h = c->key_history;
	json_t *keys = json_array();
	int64_t now = clock_now_us();

	(void)req;
	(void)err;
	for (guint i = 0; h && i < key_history_keys(h); i++) {
		const struct key_window *w = key_history_key(h, i);
		json_t *k = json_pack("{s:s, s:s}", "id", w->id, "algorithm", "ed25519");
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
	if (!h || key_history_keys(h) == 0) {
		/* No rotation yet: the one key, in use since the site was provisioned. */
		char id[KEY_ID_HEX];

		key_id_hex(c->key_current, id);
		json_array_append_new(keys, json_pack("{s:s, s:s, s:s}", "id", id, "algorithm",
		                                      "ed25519", "state", "current"));
	}
	*result = json_pack("{s:o, s:i, s:I}", "keys", keys, "entries",
	                    h ? (int)key_history_length(h) : 0, "now_us", (json_int_t)now);
	return 0;
}

const struct request_handler keys_request_handlers[] = {
    {"keys.list", ROLE_OPERATOR | ROLE_AUDITOR, handle_keys_list, false},
    {NULL, 0, NULL, false},
};
