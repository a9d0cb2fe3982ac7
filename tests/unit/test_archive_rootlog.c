/* The site's root log (media/archive/rootlog.c): appends chain and survive a reopen, a
 * half-written last line is refused on open, and a read with another key names the line. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>

#include "rootlog.h"
#include "signing.h"

struct fixture {
	char *dir, *log, *key, *pub, *key2, *pub2;
	struct archive_signer *signer;
};

static int setup(void **state)
{
	struct fixture *f = g_new0(struct fixture, 1);
	f->dir = g_dir_make_tmp("rootlog-XXXXXX", NULL);
	f->log = g_build_filename(f->dir, "roots.log", NULL);
	f->key = g_build_filename(f->dir, "k.key", NULL);
	f->pub = g_build_filename(f->dir, "k.pub", NULL);
	f->key2 = g_build_filename(f->dir, "k2.key", NULL);
	f->pub2 = g_build_filename(f->dir, "k2.pub", NULL);
	assert_int_equal(archive_keygen(f->key, f->pub), 0);
	assert_int_equal(archive_keygen(f->key2, f->pub2), 0);
	assert_int_equal(archive_signer_load(f->key, &f->signer), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	archive_signer_free(f->signer);
	char *cmd = g_strdup_printf("rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	g_free(cmd);
	g_free(f->dir), g_free(f->log), g_free(f->key), g_free(f->pub), g_free(f->key2);
	g_free(f->pub2);
	g_free(f);
	return 0;
}

static void count(const struct rootlog_entry *e, void *user)
{
	uint64_t *n = user;
	assert_int_equal(e->index, *n);
	(*n)++;
}

static void append_three(struct fixture *f)
{
	struct rootlog *l;
	uint8_t root[32] = {1};
	GError *err = NULL;
	assert_int_equal(rootlog_open(f->log, f->signer, &l, &err), 0);
	for (int i = 0; i < 3; i++) {
		root[1] = (uint8_t)i;
		assert_int_equal(rootlog_append(l, "T-1", (uint64_t)i + 1, root, 1000 + i, NULL, &err), 0);
	}
	rootlog_free(l);
}

static void reopen_continues_the_chain(void **state)
{
	struct fixture *f = *state;
	append_three(f);
	append_three(f);
	struct archive_pubkey *k;
	assert_int_equal(archive_pubkey_load(f->pub, &k), 0);
	uint64_t n = 0;
	GError *err = NULL;
	assert_int_equal(rootlog_read(f->log, k, count, &n, &err), 0);
	assert_int_equal(n, 6);
	archive_pubkey_free(k);
}

static void another_key_is_named(void **state)
{
	struct fixture *f = *state;
	append_three(f);
	struct archive_pubkey *k;
	assert_int_equal(archive_pubkey_load(f->pub2, &k), 0);
	GError *err = NULL;
	assert_int_equal(rootlog_read(f->log, k, NULL, NULL, &err), -EBADMSG);
	assert_non_null(strstr(err->message, "line 0"));
	assert_non_null(strstr(err->message, "signature"));
	g_error_free(err);
	archive_pubkey_free(k);
}

static void half_written_line_refused_on_open(void **state)
{
	struct fixture *f = *state;
	append_three(f);
	int fd = open(f->log, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "3 1003 T-1 4 ab", 15), 15);
	close(fd);
	struct rootlog *l = NULL;
	GError *err = NULL;
	assert_int_equal(rootlog_open(f->log, f->signer, &l, &err), -EBADMSG);
	assert_null(l);
	assert_non_null(strstr(err->message, "line 3"));
	g_error_free(err);
}

static void bad_tender_refused(void **state)
{
	struct fixture *f = *state;
	struct rootlog *l;
	uint8_t root[32] = {0};
	GError *err = NULL;
	assert_int_equal(rootlog_open(f->log, f->signer, &l, &err), 0);
	assert_int_equal(rootlog_append(l, "a b", 1, root, 1, NULL, &err), -EINVAL);
	g_clear_error(&err);
	rootlog_free(l);
	uint64_t n = 0;
	assert_int_equal(rootlog_read(f->log, NULL, count, &n, &err), 0);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(reopen_continues_the_chain, setup, teardown),
	    cmocka_unit_test_setup_teardown(another_key_is_named, setup, teardown),
	    cmocka_unit_test_setup_teardown(half_written_line_refused_on_open, setup, teardown),
	    cmocka_unit_test_setup_teardown(bad_tender_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
