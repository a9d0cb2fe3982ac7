/* Cosignatures and a cosigner's judgement (media/archive/cosignature.c, cosigner.c): the
 * cosignature/v1 message of the C2SP example, vkeys (one whose base64 holds '+'), and a
 * cosigner's record going through first sight, consistent growth, the same checkpoint again,
 * a rollback, a fork at the same size, a fork past it, a bad signature and another tender's
 * checkpoint; its record survives a save and reload, and a refusal leaves it as it was. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "cosignature.h"
#include "cosigner.h"
#include "merkle.h"
#include "note.h"
#include "signing.h"

struct fixture {
	char *dir, *key, *pub, *other, *other_pub, *state;
	struct archive_signer *signer, *forger;
	struct archive_pubkey *verifier;
	uint8_t leaves[40][32], forked[40][32];
};

static int setup(void **state)
{
	struct fixture *f = g_new0(struct fixture, 1);
	f->dir = g_dir_make_tmp("cosign-XXXXXX", NULL);
	f->key = g_build_filename(f->dir, "c.key", NULL);
	f->pub = g_build_filename(f->dir, "c.pub", NULL);
	f->other = g_build_filename(f->dir, "o.key", NULL);
	f->other_pub = g_build_filename(f->dir, "o.pub", NULL);
	f->state = g_build_filename(f->dir, "state", NULL);
	assert_int_equal(archive_keygen(f->key, f->pub), 0);
	assert_int_equal(archive_keygen(f->other, f->other_pub), 0);
	assert_int_equal(archive_signer_load(f->key, &f->signer), 0);
	assert_int_equal(archive_signer_load(f->other, &f->forger), 0);
	assert_int_equal(archive_pubkey_load(f->pub, &f->verifier), 0);
	for (int i = 0; i < 40; i++) {
		uint8_t b[2] = {(uint8_t)i, 1}, c[2] = {(uint8_t)i, 2};
		merkle_leaf_hash(b, 2, f->leaves[i]);
		merkle_leaf_hash(i < 10 ? b : c, 2, f->forked[i]); /* differs from leaf 10 on */
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	const char *files[] = {f->key, f->pub, f->other, f->other_pub, f->state};
	for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
		g_unlink(files[i]);
		g_free((char *)files[i]);
	}
	g_rmdir(f->dir);
	g_free(f->dir);
	archive_signer_free(f->signer);
	archive_signer_free(f->forger);
	archive_pubkey_free(f->verifier);
	g_free(f);
	return 0;
}

/* The body of a checkpoint of TENDER over the first N of LEAVES. */
static char *body_of(const char *tender, uint8_t leaves[][32], uint64_t n)
{
	uint8_t root[32];
	merkle_root(&leaves[0][0], n, root);
	char *b64 = g_base64_encode(root, 32);
	char *body = g_strdup_printf("zj.example/evalroom/%s\n%" G_GUINT64_FORMAT "\n%s\ntime x\n",
	                             tender, n, b64);
	g_free(b64);
	return body;
}

/* cosigner_judge of BODY signed by S with the proof from FROM over LEAVES (sizes as in
 * BODY's N). */
static int judge(struct fixture *f, struct cosigner_state *st, struct archive_signer *s,
                 const char *tender, uint8_t leaves[][32], uint64_t from, uint64_t n,
                 struct cosigner_checkpoint *cp, char **why)
{
	char *body = body_of(tender, leaves, n);
	uint8_t sig[ARCHIVE_SIGNATURE_LEN], proof[MERKLE_MAX_CONSISTENCY][32];
	size_t len = 0;
	assert_int_equal(archive_signer_sign(s, body, strlen(body), sig), 0);
	if (from <= n)
		assert_int_equal(merkle_consistency_proof(&leaves[0][0], n, from, proof, &len), 0);
	int rc = cosigner_judge(st, "T1", body, sig, sizeof(sig), f->verifier,
	                        (const uint8_t(*)[32])proof, len, cp, why);
	g_free(body);
	return rc;
}

static void test_message_of_the_c2sp_example(void **state)
{
	(void)state;
	char *m = cosig_message("example.com/behind-the-sofa\n20852163\n"
	                        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
	                        1679315147);
	assert_string_equal(m, "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n"
	                       "20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
	g_free(m);
}

static void test_vkeys(void **state)
{
	(void)state;
	uint8_t pub[32] = {0}, got[32], type;
	uint32_t id;
	char *name = NULL, *why = NULL, *vkey = NULL;
	/* a key whose base64 holds a '+' (the field separator of a vkey): 0x04, x, 0x3e gives
	 * the four characters "B?x+" */
	pub[1] = 0x3e;
	vkey = note_vkey("w.example/a", NOTE_TYPE_COSIGNATURE_V1, pub, 32);
	assert_non_null(strchr(strchr(strchr(vkey, '+') + 1, '+') + 1, '+'));
	assert_int_equal(note_vkey_parse(vkey, &name, &type, got, &id, &why), 0);
	assert_string_equal(name, "w.example/a");
	assert_int_equal(type, NOTE_TYPE_COSIGNATURE_V1);
	assert_memory_equal(got, pub, 32);
	assert_int_equal(id, note_key_id("w.example/a", 0x04, pub, 32));
	g_free(name);
	/* another name with the same key and key id: refused */
	char *bad = g_strconcat("w.example/b", strchr(vkey, '+'), NULL);
	assert_int_equal(note_vkey_parse(bad, &name, &type, got, &id, &why), -EINVAL);
	assert_non_null(strstr(why, "key id"));
	g_free(why);
	g_free(bad);
	assert_int_equal(note_vkey_parse("no-plus-signs", &name, &type, got, &id, &why), -EINVAL);
	g_free(why);
	g_free(vkey);
}

static void test_cosigner_judgement(void **state)
{
	struct fixture *f = *state;
	struct cosigner_state *st = NULL, *again = NULL;
	struct cosigner_checkpoint cp;
	char *why = NULL;
	uint64_t size;
	uint8_t root[32];
	bool sealed;

	assert_int_equal(cosigner_state_load(f->state, &st, &why), 0); /* no file yet: empty */
	/* first sight: nothing to compare with */
	assert_int_equal(judge(f, st, f->signer, "T1", f->leaves, 0, 12, &cp, &why),
	                 COSIGNER_COSIGN);
	cosigner_state_set(st, &cp);
	/* consistent growth, with the proof from 12 */
	assert_int_equal(judge(f, st, f->signer, "T1", f->leaves, 12, 20, &cp, &why),
	                 COSIGNER_COSIGN);
	cosigner_state_set(st, &cp);
	assert_int_equal(cosigner_state_save(st, &why), 0);
	/* the same checkpoint again */
	assert_int_equal(judge(f, st, f->signer, "T1", f->leaves, 20, 20, &cp, &why),
	                 COSIGNER_ALREADY);
	/* a rollback */
	assert_int_equal(judge(f, st, f->signer, "T1", f->leaves, 30, 15, &cp, &why), -EBADMSG);
	assert_non_null(strstr(why, "ROLLBACK"));
	g_clear_pointer(&why, g_free);
	/* another root at the size cosigned */
	assert_int_equal(judge(f, st, f->signer, "T1", f->forked, 20, 20, &cp, &why), -EBADMSG);
	assert_non_null(strstr(why, "FORK"));
	g_clear_pointer(&why, g_free);
	/* a tree past it that does not extend it: its own proof does not hold */
	assert_int_equal(judge(f, st, f->signer, "T1", f->forked, 20, 33, &cp, &why), -EBADMSG);
	assert_non_null(strstr(why, "consistency proof"));
	g_clear_pointer(&why, g_free);
	/* signed by another key */
	assert_int_equal(judge(f, st, f->forger, "T1", f->leaves, 20, 33, &cp, &why), -EBADMSG);
	assert_non_null(strstr(why, "signature"));
	g_clear_pointer(&why, g_free);
	/* another tender's checkpoint */
	assert_int_equal(judge(f, st, f->signer, "T2", f->leaves, 20, 33, &cp, &why), -EBADMSG);
	g_clear_pointer(&why, g_free);
	/* the record reloads as saved: size 20, the refusals left no trace */
	assert_int_equal(cosigner_state_load(f->state, &again, &why), 0);
	assert_true(cosigner_state_get(again, "T1", &size, root, &sealed));
	assert_int_equal(size, 20);
	assert_false(sealed);
	assert_int_equal(judge(f, again, f->signer, "T1", f->leaves, 20, 33, &cp, &why),
	                 COSIGNER_COSIGN);
	cosigner_state_free(again);
	cosigner_state_free(st);
}

static void test_cosignature_sign_and_check(void **state)
{
	struct fixture *f = *state;
	uint8_t sig[64], pub[32];
	const char *body = "zj.example/evalroom/T1\n3\nAAAA\n";
	assert_int_equal(cosig_sign(f->signer, body, 1796678020, sig), 0);
	assert_int_equal(archive_signer_raw_public(f->signer, pub), 0);
	assert_int_equal(cosig_check(pub, body, 1796678020, sig), 0);
	assert_int_equal(cosig_check(pub, body, 1796678021, sig), -EBADMSG);
	assert_int_equal(cosig_check(pub, "zj.example/evalroom/T1\n4\nAAAA\n", 1796678020, sig),
	                 -EBADMSG);
	struct cosignature cs = {.key_id = 0x0530de79, .time = 1796678020};
	g_strlcpy(cs.name, "w.example/a", sizeof(cs.name));
	memcpy(cs.signature, sig, 64);
	char *line = cosig_note_line(&cs);
	assert_true(g_str_has_prefix(line, "\xe2\x80\x94 w.example/a "));
	gsize len = 0;
	char *b64 = g_strndup(line + strlen("\xe2\x80\x94 w.example/a "),
	                      strlen(line) - strlen("\xe2\x80\x94 w.example/a ") - 1);
	guchar *raw = g_base64_decode(b64, &len);
	assert_int_equal(len, 4 + 8 + 64);
	assert_memory_equal(raw, "\x05\x30\xde\x79", 4);
	assert_int_equal(raw[11], (uint8_t)(1796678020 & 0xff));
	assert_memory_equal(raw + 12, sig, 64);
	g_free(raw);
	g_free(b64);
	g_free(line);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_message_of_the_c2sp_example),
	    cmocka_unit_test(test_vkeys),
	    cmocka_unit_test_setup_teardown(test_cosigner_judgement, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cosignature_sign_and_check, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
