/* The key history (media/archive/key_history.c, docs/archive-format.md "Key history"): entries
 * written and read back, the windows of each key, revocation, and every rule an entry must
 * keep (exact form, index, chain, time, the keys that sign it) refused with its reason. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "key_history.h"
#include "signing.h"

struct fixture {
	char *dir, *log;
	struct archive_signer *k[3];
	char id[3][KEY_ID_HEX];
};

static int setup(void **state)
{
	struct fixture *f = g_new0(struct fixture, 1);
	uint8_t raw[32];

	f->dir = g_dir_make_tmp("keyhist-XXXXXX", NULL);
	f->log = g_build_filename(f->dir, KEY_HISTORY_FILE, NULL);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(archive_signer_generate(&f->k[i]), 0);
		assert_int_equal(archive_signer_raw_public(f->k[i], raw), 0);
		key_id_hex(raw, f->id[i]);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char *cmd = g_strdup_printf("rm -rf '%s'", f->dir);

	assert_int_equal(system(cmd), 0);
	g_free(cmd);
	for (int i = 0; i < 3; i++)
		archive_signer_free(f->k[i]);
	g_free(f->dir);
	g_free(f->log);
	g_free(f);
	return 0;
}

/* k0 -> k1 at 1000, k1 -> k2 at 2000, k0 revoked from 1500 (signed by k2 and k0). */
static struct key_history *three(struct fixture *f)
{
	struct key_history *h = key_history_new();
	GError *err = NULL;

	assert_int_equal(key_history_rotate(h, f->log, f->k[0], f->k[1], 1000, "first", &err), 0);
	assert_int_equal(key_history_rotate(h, f->log, f->k[1], f->k[2], 2000, "second", &err), 0);
	assert_int_equal(
	    key_history_revoke(h, f->log, f->k[2], f->k[0], f->id[0], 1500, 2500, "lost", &err), 0);
	return h;
}

static void written_and_read_back(void **state)
{
	struct fixture *f = *state;
	struct key_history *h = three(f), *back = NULL;
	GError *err = NULL;

	assert_int_equal(key_history_load(f->log, &back, &err), 0);
	assert_int_equal(key_history_length(back), 3);
	for (guint i = 0; i < 3; i++)
		assert_string_equal(key_history_entry(back, i)->text, key_history_entry(h, i)->text);
	assert_int_equal(key_history_keys(back), 3);
	assert_string_equal(key_history_current(back)->id, f->id[2]);
	/* The windows: k0 until 1000 (and revoked from 1500), k1 1000..2000, k2 from 2000. */
	assert_string_equal(key_history_at(back, -5)->id, f->id[0]);
	assert_string_equal(key_history_at(back, 999)->id, f->id[0]);
	assert_string_equal(key_history_at(back, 1000)->id, f->id[1]);
	assert_string_equal(key_history_at(back, 1999)->id, f->id[1]);
	assert_string_equal(key_history_at(back, 2000)->id, f->id[2]);
	assert_true(key_history_key(back, 0)->revoked_us == 1500);
	assert_string_equal(key_history_key(back, 0)->revoke_reason, "lost");
	assert_true(key_history_key(back, 1)->revoked_us == INT64_MAX);
	/* The exact text of the first entry (docs/archive-format.md). */
	assert_true(g_str_has_prefix(key_history_entry(back, 0)->text,
	                             "evalroom-key-history v1\nrotate\nindex 0\nprev "
	                             "0000000000000000000000000000000000000000000000000000000000000000"
	                             "\ntime 1000\nold "));
	assert_true(g_str_has_suffix(key_history_entry(back, 0)->text, "\nreason 5\nfirst\n"));
	key_history_free(back);
	key_history_free(h);
}

/* Entry I of the history made by three(), with SIG (NULL: its own) added to a fresh history
 * holding the entries before it; returns the reason it is refused, or NULL. */
static char *refusal(struct key_history *h, guint i, const char *text, const GByteArray *sig,
                     const GByteArray *sig2)
{
	struct key_history *fresh = key_history_new();
	const struct key_entry *e = key_history_entry(h, i);
	char *why = NULL;

	for (guint j = 0; j < i; j++) {
		const struct key_entry *p = key_history_entry(h, j);
		assert_int_equal(key_history_add(fresh, p->text, p->sig->data, p->sig->len,
		                                 p->sig2 ? p->sig2->data : NULL,
		                                 p->sig2 ? p->sig2->len : 0, &why),
		                 0);
	}
	sig = sig ? sig : e->sig;
	sig2 = sig2 ? sig2 : e->sig2;
	if (key_history_add(fresh, text ? text : e->text, sig->data, sig->len,
	                    sig2 ? sig2->data : NULL, sig2 ? sig2->len : 0, &why) == 0)
		why = NULL;
	key_history_free(fresh);
	return why;
}

static void every_rule_is_kept(void **state)
{
	struct fixture *f = *state;
	struct key_history *h = three(f);
	const struct key_entry *e1 = key_history_entry(h, 1);
	GByteArray *bad = g_byte_array_new();
	char *why, *text;

	assert_null(refusal(h, 1, NULL, NULL, NULL));
	/* Not the exact form: a leading zero, a trailing space. */
	text = g_strdup(e1->text);
	*strstr(text, "index 1") = '\0';
	char *t2 = g_strconcat(text, "index 01", strstr(e1->text, "index 1") + 7, NULL);
	why = refusal(h, 1, t2, NULL, NULL);
	assert_non_null(strstr(why, "exact form"));
	g_free(why);
	g_free(t2);
	g_free(text);
	/* Out of order: entry 1 where 0 is due. */
	struct key_history *empty = key_history_new();
	why = NULL;
	assert_int_equal(key_history_add(empty, e1->text, e1->sig->data, e1->sig->len,
	                                 e1->sig2->data, e1->sig2->len, &why),
	                 -EBADMSG);
	assert_non_null(strstr(why, "index 1 where 0 was due"));
	g_free(why);
	key_history_free(empty);
	/* A bad signature by the old key, and by the new one. */
	g_byte_array_append(bad, e1->sig->data, e1->sig->len);
	bad->data[7] ^= 1;
	why = refusal(h, 1, NULL, bad, NULL);
	assert_non_null(strstr(why, "its signature by the old key"));
	assert_non_null(strstr(why, f->id[1]));
	g_free(why);
	why = refusal(h, 1, NULL, NULL, bad);
	assert_non_null(strstr(why, "its signature by the new key"));
	g_free(why);
	/* A revocation signed by the revoked key must verify with it. */
	why = refusal(h, 2, NULL, NULL, bad);
	assert_non_null(strstr(why, "its signature by the revoked key"));
	g_free(why);
	g_byte_array_unref(bad);
	key_history_free(h);
}

static void what_may_not_be_recorded(void **state)
{
	struct fixture *f = *state;
	struct key_history *h = key_history_new();
	GError *err = NULL;

	assert_int_equal(key_history_rotate(h, f->log, f->k[0], f->k[1], 1000, "first", &err), 0);
	/* A rotation from a key that is not the current one. */
	assert_int_equal(key_history_rotate(h, f->log, f->k[0], f->k[2], 2000, "x", &err), -EINVAL);
	assert_non_null(strstr(err->message, "not the current one"));
	g_clear_error(&err);
	/* Back to a key used before. */
	assert_int_equal(key_history_rotate(h, f->log, f->k[1], f->k[0], 2000, "x", &err), -EINVAL);
	assert_non_null(strstr(err->message, "was used before"));
	g_clear_error(&err);
	/* Before the entry before it. */
	assert_int_equal(key_history_rotate(h, f->log, f->k[1], f->k[2], 999, "x", &err), -EINVAL);
	assert_non_null(strstr(err->message, "before the entry before it"));
	g_clear_error(&err);
	/* The current key cannot be revoked; an unknown one neither. */
	assert_int_equal(
	    key_history_revoke(h, f->log, f->k[1], NULL, f->id[1], 0, 2000, "x", &err), -EINVAL);
	assert_non_null(strstr(err->message, "the current key"));
	g_clear_error(&err);
	assert_int_equal(
	    key_history_revoke(h, f->log, f->k[1], NULL, f->id[2], 0, 2000, "x", &err), -EINVAL);
	assert_non_null(strstr(err->message, "does not hold"));
	g_clear_error(&err);
	/* Signed by a key that is not the current one. */
	assert_int_equal(
	    key_history_revoke(h, f->log, f->k[2], NULL, f->id[0], 0, 2000, "x", &err), -EINVAL);
	assert_non_null(strstr(err->message, "by the current key"));
	g_clear_error(&err);
	/* Nothing of the refused was written: the file still reads as one entry. */
	struct key_history *back = NULL;
	assert_int_equal(key_history_load(f->log, &back, &err), 0);
	assert_int_equal(key_history_length(back), 1);
	key_history_free(back);
	key_history_free(h);
}

static void a_damaged_file_names_its_line(void **state)
{
	struct fixture *f = *state;
	struct key_history *h = three(f), *back = NULL;
	GError *err = NULL;
	char *text = NULL;

	key_history_free(h);
	assert_true(g_file_get_contents(f->log, &text, NULL, NULL));
	/* Drop the second line: the third no longer chains. */
	char **lines = g_strsplit(text, "\n", -1);
	char *cut = g_strdup_printf("%s\n%s\n", lines[0], lines[2]);
	assert_true(g_file_set_contents(f->log, cut, -1, NULL));
	assert_int_equal(key_history_load(f->log, &back, &err), -EBADMSG);
	assert_non_null(strstr(err->message, "line 2 (entry 1): index 2 where 1 was due"));
	g_clear_error(&err);
	assert_true(g_file_set_contents(f->log, "abc def\n", -1, NULL));
	assert_int_equal(key_history_load(f->log, &back, &err), -EBADMSG);
	assert_non_null(strstr(err->message, "line 1: not three fields"));
	g_clear_error(&err);
	g_strfreev(lines);
	g_free(cut);
	g_free(text);
}

/* The second key's slot (docs/archive-format.md, "The second key in the key history"): a
 * rotate2 signed by the old and the new second key, its windows apart from the checkpoint
 * key's, read back from the file; a revoke2 must be signed by the current second key. */
static void second_key_rotates_apart(void **state)
{
	struct fixture *f = *state;
	struct key_history *h = key_history_new(), *back = NULL;
	struct archive_signer *s0 = NULL, *s1 = NULL, *s2 = NULL;
	const struct key_window *w;
	GError *err = NULL;
	uint8_t idh[32];
	char id0[KEY_ID_HEX];

	assert_int_equal(archive_signer_generate_like(f->k[0], &s0), 0);
	assert_int_equal(archive_signer_generate_like(f->k[0], &s1), 0);
	assert_int_equal(archive_signer_generate_like(f->k[0], &s2), 0);
	assert_int_equal(key_history_rotate(h, f->log, f->k[0], f->k[1], 1000, "main", &err), 0);
	assert_int_equal(key_history_rotate_second(h, f->log, s0, s1, 1500, "second", &err), 0);
	assert_non_null(strstr(key_history_entry(h, 1)->text, "\nrotate2\nindex 1\n"));
	assert_int_equal(key_history_keys(h), 2);
	assert_int_equal(key_history_slot_keys(h, KEY_SLOT_SECOND), 2);
	assert_int_equal(archive_signer_spki_sha256(s0, idh), 0);
	w = key_history_slot_at(h, KEY_SLOT_SECOND, 1200);
	assert_non_null(w);
	assert_memory_equal(w->idh, idh, 32);
	assert_int_equal(w->to_us, 1500);
	memcpy(id0, w->id, KEY_ID_HEX);
	assert_ptr_equal(key_history_slot_find(h, KEY_SLOT_MAIN, idh), NULL);
	/* the checkpoint key's windows are untouched by it */
	assert_int_equal(key_history_at(h, 1200)->to_us, INT64_MAX);
	/* a rotate2 from a second key that is not the current one */
	assert_int_equal(key_history_rotate_second(h, f->log, s0, s2, 1600, "x", &err), -EINVAL);
	assert_non_null(strstr(err->message, "not the current one"));
	g_clear_error(&err);
	/* a revoke2 signed by the checkpoint key instead of the current second key */
	assert_int_equal(
	    key_history_revoke(h, f->log, f->k[1], NULL, id0, 1200, 1700, "leak", &err), -EINVAL);
	assert_non_null(strstr(err->message, "its signature by the current second key"));
	g_clear_error(&err);
	assert_int_equal(key_history_revoke(h, f->log, s1, s0, id0, 1200, 1700, "leak", &err), 0);
	assert_int_equal(key_history_load(f->log, &back, &err), 0);
	assert_int_equal(key_history_length(back), 3);
	w = key_history_slot_find(back, KEY_SLOT_SECOND, idh);
	assert_non_null(w);
	assert_int_equal(w->revoked_us, 1200);
	char *why = key_window_check_use(w, 1300);
	assert_non_null(why);
	assert_non_null(strstr(why, "which is revoked from"));
	g_free(why);
	key_history_free(back);
	key_history_free(h);
	archive_signer_free(s0);
	archive_signer_free(s1);
	archive_signer_free(s2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(written_and_read_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(every_rule_is_kept, setup, teardown),
	    cmocka_unit_test_setup_teardown(what_may_not_be_recorded, setup, teardown),
	    cmocka_unit_test_setup_teardown(a_damaged_file_names_its_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(second_key_rotates_apart, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
