/* evalroomctl archive cosign and archive cosigner-vkey: a cosigning witness (docs/archives.md,
 * "Cosigning witnesses"). The supervision room's machine, a second site or the regulator runs
 * `archive cosign` from a timer: for each tender it fetches the newest checkpoint and a
 * consistency proof from the one it cosigned last, checks them against its own record
 * (cosigner.h) and only then cosigns and hands the cosignature to the controller. */
#include <errno.h>
#include <glib/gi18n.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "cosignature.h"
#include "cosigner.h"
#include "ctl.h"
#include "ctl_cmd_ops.h"
#include "ctl_commands.h"
#include "hex.h"
#include "key_history.h"
#include "leaf.h"
#include "note.h"
#include "request.h"
#include "signing.h"
#include "verify.h"

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* The cosigner's verifier key (type 0x04) for NAME and the key at KEY_PATH: new text, or NULL
 * with the fault printed (*rc its exit code). */
static char *cosigner_vkey(struct ctl *ctl, const char *what, const char *key_path,
                           const char *name, struct archive_signer **signer, int *rc)
{
	uint8_t pub[32];
	int lrc = archive_signer_load_any(key_path, signer);
	if (lrc == 0 && strcmp(archive_signer_algorithm(*signer), "ed25519") != 0)
		lrc = -EINVAL;
	if (lrc != 0) {
		*rc = ctl_ops_local_fail(ctl, what,
		                         _("%s: not a readable Ed25519 private key (make one with: "
		                           "openssl genpkey -algorithm ed25519 -out %s)"),
		                         key_path, key_path);
		return NULL;
	}
	if (!name[0] || strpbrk(name, " +\t\n") || strlen(name) > COSIG_NAME_MAX) {
		*rc = ctl_ops_local_fail(
		    ctl, what,
		    _("--name: \"%s\" is not a key name (a URL-like name "
		      "without spaces or '+', e.g. supervision.example/cosigner)"),
		    name);
		return NULL;
	}
	archive_signer_raw_public(*signer, pub);
	return note_vkey(name, NOTE_TYPE_COSIGNATURE_V1, pub, 32);
}

static int cmd_vkey(struct ctl *ctl, int argc, char **argv)
{
	char *key = NULL, *name = NULL, *vkey = NULL;
	struct archive_signer *s = NULL;
	const GOptionEntry entries[] = {{"key", 0, 0, G_OPTION_ARG_FILENAME, &key, NULL, NULL},
	                                {"name", 0, 0, G_OPTION_ARG_STRING, &name, NULL, NULL},
	                                {NULL, 0, 0, 0, NULL, NULL, NULL}};
	int rc = ctl_ops_parse(ctl, "archive cosigner-vkey", entries, &argc, &argv, 0);
	if (rc)
		goto out;
	if (!key || !name) {
		rc = ctl_ops_local_fail(ctl, "archive cosigner-vkey",
		                        _("--key and --name are required"));
		goto out;
	}
	vkey = cosigner_vkey(ctl, "archive cosigner-vkey", key, name, &s, &rc);
	if (vkey)
		printf("%s\n", vkey);
out:
	archive_signer_free(s);
	g_free(vkey);
	g_free(key);
	g_free(name);
	return rc;
}

struct run {
	struct ctl *ctl;
	struct archive_signer *signer;
	struct archive_pubkey *controller_key;
	struct cosigner_state *state;
	struct key_history *known; /* the controller's key history as learnt before */
	char *known_path;          /* where it is kept: STATE.key-history */
	const char *vkey;
	unsigned cosigned, already, refused, failed;
	json_t *report; /* --json: one object per tender */
};

static void report(struct run *r, const char *tender, const char *outcome, uint64_t size,
                   const char *detail)
{
	if (ctl_want_json(r->ctl))
		json_array_append_new(r->report,
		                      json_pack("{s:s, s:s, s:I, s:s}", "tender", tender, "outcome",
		                                outcome, "tree_size", (json_int_t)size, "detail",
		                                detail ? detail : ""));
}

/* The controller's key that signed BODY. With the controller's key history (RES's
 * "key_history", else the one learnt before): the key its key line names, valid at its time
 * line, where the history holds the key this cosigner was given (--pubkey) and begins with
 * what it learnt before: every rotation is signed by the old and the new key, so the new key
 * is learnt from the old one without provisioning it by hand. Without any history: --pubkey.
 * NULL with *why (new) to refuse; *learnt the controller's history when it is longer than the
 * one learnt before (to keep, once the checkpoint is judged). */
static const struct archive_pubkey *controller_key_of(struct run *r, json_t *res,
                                                      const char *body,
                                                      struct key_history **learnt, char **why)
{
	json_t *lines = json_object_get(res, "key_history"), *l;
	const struct key_history *h = r->known;
	struct key_history *got = NULL;
	uint8_t raw[32], idh[32];
	size_t i;

	*learnt = NULL;
	if (json_array_size(lines) > 0) {
		GString *text = g_string_new(NULL);
		GError *err = NULL;
		json_array_foreach(lines, i, l)
		    g_string_append_printf(text, "%s\n", json_string_value(l) ? json_string_value(l) : "");
		int rc = key_history_parse(text->str, "the controller's key history", &got, &err);
		g_string_free(text, TRUE);
		if (rc != 0) {
			*why = g_strdup(err->message);
			g_error_free(err);
			return NULL;
		}
		for (guint k = 0; k < key_history_length(r->known); k++)
			if (k >= key_history_length(got) ||
			    strcmp(key_history_entry(got, k)->text, key_history_entry(r->known, k)->text)) {
				*why = g_strdup_printf(
				    _("the controller's key history does not begin with the %u entries this "
				      "cosigner learnt before (%s): an entry was removed or changed"),
				    key_history_length(r->known), r->known_path);
				key_history_free(got);
				return NULL;
			}
		if (key_history_length(got) > key_history_length(r->known)) {
			h = got;
		} else {
			key_history_free(got);
			got = NULL;
		}
	}
	if (key_history_keys(h) == 0) {
		key_history_free(got);
		return r->controller_key;
	}
	archive_pubkey_raw(r->controller_key, raw);
	EVP_Digest(raw, 32, idh, NULL, EVP_sha256(), NULL);
	if (!key_history_find(h, idh)) {
		*why = g_strdup(_("the controller's key history does not hold the key given with "
		                  "--pubkey: its keys cannot be learnt from it"));
		key_history_free(got);
		return NULL;
	}
	const struct archive_pubkey *k = archive_checkpoint_signer(h, body, KEY_SLOT_MAIN, NULL, why);
	if (!k) {
		if (!*why)
			*why = g_strdup(_("the checkpoint names no signing key"));
		key_history_free(got);
		return NULL;
	}
	*learnt = got;
	return k; /* owned by *learnt or r->known: the caller keeps them until judged */
}

/* Keeps H as the key history learnt (STATE.key-history, written whole). 0 or -EIO. */
static int keep_learnt(struct run *r, struct key_history *h, char **why)
{
	GString *text = g_string_new(NULL);
	GError *err = NULL;
	for (guint i = 0; i < key_history_length(h); i++) {
		char *line = key_history_line(key_history_entry(h, i));
		g_string_append(text, line);
		g_free(line);
	}
	int ok = g_file_set_contents(r->known_path, text->str, (gssize)text->len, &err);
	g_string_free(text, TRUE);
	if (!ok) {
		*why = g_strdup(err->message);
		g_error_free(err);
		key_history_free(h);
		return -EIO;
	}
	key_history_free(r->known);
	r->known = h;
	return 0;
}

/* One tender: fetch, judge, cosign, hand back, record. */
static void cosign_tender(struct run *r, const char *tender)
{
	uint64_t had = 0;
	uint8_t had_root[32], proof[MERKLE_MAX_CONSISTENCY][MERKLE_HASH_LEN], sig[64];
	bool sealed = false;
	json_t *res = NULL, *stored = NULL;
	GError *err = NULL;
	char *why = NULL, *sig_b64 = NULL;
	gsize sig_len = 0;
	guchar *csig = NULL;
	struct cosigner_checkpoint cp = {0};
	size_t len = 0;

	if (cosigner_state_get(r->state, tender, &had, had_root, &sealed) && sealed) {
		r->already++;
		report(r, tender, "sealed", had, NULL);
		return; /* nothing follows the seal */
	}
	if (ctl_request(r->ctl, "archive.checkpoint",
	                json_pack("{s:s, s:I}", "tender", tender, "from", (json_int_t)had), &res,
	                &err) != 0) {
		bool none = err->domain == REQUEST_ERROR && err->code == REQUEST_ERROR_CONFLICT;
		if (!none)
			r->failed++;
		if (!ctl_want_json(r->ctl))
			fprintf(none ? stdout : stderr, "%s%s: %s\n",
			        none ? "" : "evalroomctl: ", tender, err->message);
		report(r, tender, none ? "skipped" : "failed", 0, err->message);
		goto out;
	}
	json_t *path = json_object_get(res, "proof");
	size_t i;
	json_t *h;
	bool proof_ok = json_array_size(path) <= MERKLE_MAX_CONSISTENCY;
	json_array_foreach(path, i, h)
	{
		if (!proof_ok || !json_is_string(h) ||
		    hex_decode_lower(json_string_value(h), proof[i], 32) != 0)
			proof_ok = false;
	}
	len = proof_ok ? json_array_size(path) : 0;
	csig = g_base64_decode(str(res, "signature"), &sig_len);
	struct key_history *learnt = NULL;
	const struct archive_pubkey *ckey = controller_key_of(r, res, str(res, "body"), &learnt, &why);
	int verdict = ckey ? cosigner_judge(r->state, tender, str(res, "body"), csig, sig_len, ckey,
	                                    (const uint8_t(*)[32])proof, len, &cp, &why)
	                   : -EBADMSG;
	if (learnt && verdict >= 0) {
		if (keep_learnt(r, learnt, &why) != 0) {
			r->failed++;
			fprintf(stderr, "evalroomctl: %s: %s\n", r->known_path, why);
			goto out;
		}
		if (!ctl_want_json(r->ctl))
			printf(_("learnt the controller's key history (%u entries; signing key %s) "
			         "from the rotations signed by the keys before\n"),
			       key_history_length(r->known), key_history_current(r->known)->id);
	} else {
		key_history_free(learnt);
	}
	if (verdict < 0) {
		r->refused++;
		/* the verdict keyword stays REFUSED in every language (scripts look for it) */
		fprintf(stderr, "REFUSED %s\n", why);
		report(r, tender, "refused", cp.size, why);
		goto out;
	}
	if (verdict == COSIGNER_ALREADY) {
		r->already++;
		if (!ctl_want_json(r->ctl))
			printf(_("%s: size %lld already cosigned\n"), tender, (long long)cp.size);
		report(r, tender, "already", cp.size, NULL);
		goto out;
	}
	uint64_t now = (uint64_t)(g_get_real_time() / G_USEC_PER_SEC);
	char sha[65];
	hex_encode(cp.body_sha, 32, sha);
	if (cosig_sign(r->signer, str(res, "body"), now, sig) != 0) {
		r->failed++;
		fprintf(stderr, "evalroomctl: %s: signing failed\n", tender);
		goto out;
	}
	sig_b64 = g_base64_encode(sig, 64);
	g_clear_error(&err);
	if (ctl_request(r->ctl, "archive.cosign",
	                json_pack("{s:s, s:s, s:s, s:I, s:s}", "tender", tender,
	                          "checkpoint_sha256", sha, "vkey", r->vkey, "time",
	                          (json_int_t)now, "signature", sig_b64),
	                &stored, &err) != 0) {
		r->failed++;
		if (!ctl_want_json(r->ctl))
			fprintf(stderr, "evalroomctl: %s: %s\n", tender, err->message);
		report(r, tender, "failed", cp.size, err->message);
		goto out;
	}
	cosigner_state_set(r->state, &cp);
	if (cosigner_state_save(r->state, &why) != 0) {
		r->failed++;
		fprintf(stderr, "evalroomctl: %s\n", why);
		goto out;
	}
	r->cosigned++;
	if (!ctl_want_json(r->ctl))
		printf(_("%s: cosigned size %lld%s (checkpoint %lld)\n"), tender,
		       (long long)cp.size, cp.sealed ? _(", the sealing checkpoint") : "",
		       (long long)json_integer_value(json_object_get(stored, "checkpoint")));
	report(r, tender, "cosigned", cp.size, NULL);
out:
	g_clear_error(&err);
	json_decref(res);
	json_decref(stored);
	g_free(csig);
	g_free(sig_b64);
	g_free(why);
}

static int cmd_cosign(struct ctl *ctl, int argc, char **argv)
{
	char *key = NULL, *name = NULL, *pub = NULL, *state = NULL, **tenders = NULL, *why = NULL;
	char *vkey = NULL;
	const GOptionEntry entries[] = {
	    {"key", 0, 0, G_OPTION_ARG_FILENAME, &key, NULL, NULL},
	    {"name", 0, 0, G_OPTION_ARG_STRING, &name, NULL, NULL},
	    {"pubkey", 0, 0, G_OPTION_ARG_FILENAME, &pub, NULL, NULL},
	    {"state", 0, 0, G_OPTION_ARG_FILENAME, &state, NULL, NULL},
	    {"tender", 0, 0, G_OPTION_ARG_STRING_ARRAY, &tenders, NULL, NULL},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	struct run r = {.ctl = ctl, .report = json_array()};
	json_t *list = NULL;
	int rc = ctl_ops_parse(ctl, "archive cosign", entries, &argc, &argv, 0);
	if (rc)
		goto out;
	if (!key || !name || !pub || !state) {
		rc = ctl_ops_local_fail(ctl, "archive cosign",
		                        _("--key, --name, --pubkey and --state are required"));
		goto out;
	}
	vkey = cosigner_vkey(ctl, "archive cosign", key, name, &r.signer, &rc);
	if (!vkey)
		goto out;
	r.vkey = vkey;
	if (archive_pubkey_load(pub, &r.controller_key) != 0) {
		rc = ctl_ops_local_fail(ctl, "archive cosign",
		                        _("%s: not a readable Ed25519 public key (PEM)"), pub);
		goto out;
	}
	if (cosigner_state_load(state, &r.state, &why) != 0) {
		rc = ctl_ops_local_fail(ctl, "archive cosign", "%s", why);
		goto out;
	}
	r.known_path = g_strconcat(state, ".key-history", NULL);
	GError *herr = NULL;
	if (key_history_load(r.known_path, &r.known, &herr) != 0) {
		rc = ctl_ops_local_fail(ctl, "archive cosign", "%s", herr->message);
		g_error_free(herr);
		goto out;
	}
	/* the bodies are signed: they must arrive exactly as the controller holds them */
	ctl_set_exact(ctl, true);
	if (!tenders) {
		rc =
		    ctl_ops_call(ctl, "archive cosign", "archive.checkpoint", json_object(), &list);
		if (rc)
			goto out;
		size_t i;
		json_t *t;
		json_array_foreach(json_object_get(list, "tenders"), i, t)
		    cosign_tender(&r, str(t, "tender"));
	} else {
		for (char **t = tenders; *t; t++)
			cosign_tender(&r, *t);
	}
	if (ctl_want_json(ctl)) {
		json_t *o = json_pack("{s:s, s:O, s:i, s:i, s:i, s:i}", "vkey", vkey, "tenders",
		                      r.report, "cosigned", r.cosigned, "already", r.already,
		                      "refused", r.refused, "failed", r.failed);
		ctl_print_json(o);
		json_decref(o);
	} else {
		printf(_("cosigned %u, already cosigned %u, refused %u, failed %u\n"), r.cosigned,
		       r.already, r.refused, r.failed);
	}
	/* a refusal is what a cosigner exists to report: it fails the run (and its timer) */
	rc = r.refused ? 1 : r.failed ? 3 : 0;
out:
	json_decref(list);
	json_decref(r.report);
	cosigner_state_free(r.state);
	key_history_free(r.known);
	g_free(r.known_path);
	archive_pubkey_free(r.controller_key);
	archive_signer_free(r.signer);
	g_free(vkey);
	g_free(why);
	g_free(key);
	g_free(name);
	g_free(pub);
	g_free(state);
	g_strfreev(tenders);
	return rc;
}

const struct ctl_command cosign_ctl_commands[] = {
    {"archive cosign",
     "archive cosign --key KEY --name NAME --pubkey controller-signing.pub --state FILE "
     "[--tender T ...]",
     N_("Act as a cosigning witness of the tenders' checkpoints (the supervision room, a\n"
        "second site, the regulator; run it from a timer). For each tender (every tender\n"
        "archive, or those given with --tender) it fetches the newest checkpoint and a\n"
        "consistency proof from the checkpoint it cosigned last, checks the controller's\n"
        "signature (--pubkey, or the key that replaced it: the controller's key history,\n"
        "whose rotations are signed by the old and the new key, is learnt and kept in\n"
        "FILE.key-history) and the proof (RFC 9162), and only then cosigns it with KEY\n"
        "(an Ed25519 key: openssl genpkey -algorithm ed25519) under NAME; the controller\n"
        "stores the cosignature in the tender's archive. FILE is this cosigner's own record\n"
        "of what it cosigned: a checkpoint at a smaller size (rollback) or with another\n"
        "root (fork) is refused, named on stderr, and the exit status is 1. Supervisors\n"
        "and auditors."),
     cmd_cosign, false},
    {"archive cosigner-vkey", "archive cosigner-vkey --key KEY --name NAME",
     N_("Print the verifier key (C2SP vkey) of the cosigner NAME with KEY: the line an\n"
        "auditor puts in the trust policy of evalroom-archive verify --cosigners."),
     cmd_vkey, true},
    {NULL, NULL, NULL, NULL, false},
};
