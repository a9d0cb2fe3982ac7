/* Spool database: sequence numbers survive deletion and reopening, gaps, ordering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "spool.h"

static char *tmpdir;

static struct spool *open_spool(void)
{
	char *db = g_build_filename(tmpdir, "spool.db", NULL);
	struct spool *sp = NULL;
	assert_int_equal(spool_open(db, &sp), 0);
	g_free(db);
	return sp;
}

static struct spool_segment seg(const char *stream, int64_t seq, int64_t start, int64_t end)
{
	struct spool_segment g = {.seq = seq, .start_us = start, .end_us = end, .size = 100};
	g_strlcpy(g.stream, stream, sizeof(g.stream));
	memset(g.sha256, 'a', 64);
	g_snprintf(g.path, sizeof(g.path), "/spool/%s/%08d.ts", stream, (int)seq);
	return g;
}

static void test_sequence_resumes(void **state)
{
	struct spool *sp = open_spool();
	int64_t next, last;
	assert_int_equal(spool_stream_position(sp, "cam", &next, &last), 0);
	assert_int_equal(next, 1);
	assert_int_equal(last, -1);

	assert_int_equal(spool_segment_begin(sp, "cam", 1, 1000, "/spool/cam/00000001.ts"), 0);
	struct spool_open_segment *open;
	size_t n;
	assert_int_equal(spool_open_segments(sp, "cam", &open, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(open[0].start_us, 1000);
	g_free(open);

	struct spool_segment a = seg("cam", 1, 1000, 2000);
	assert_int_equal(spool_segment_add(sp, &a), 0);
	assert_int_equal(spool_segment_add(sp, &a), -EEXIST);
	assert_int_equal(spool_open_segments(sp, NULL, &open, &n), 0);
	assert_int_equal(n, 0); /* spooling closes the open row */
	g_free(open);
	struct spool_segment b = seg("cam", 2, 2000, 3000);
	assert_int_equal(spool_segment_add(sp, &b), 0);
	assert_int_equal(spool_segment_delete(sp, "cam", 1), 0);
	assert_int_equal(spool_segment_delete(sp, "cam", 2), 0);
	assert_int_equal(spool_segment_delete(sp, "cam", 2), -ENOENT);
	spool_free(sp);

	sp = open_spool();
	assert_int_equal(spool_stream_position(sp, "cam", &next, &last), 0);
	assert_int_equal(next, 3);
	assert_int_equal(last, 3000);
	assert_int_equal(spool_stream_position(sp, "other", &next, &last), 0);
	assert_int_equal(next, 1);
	spool_free(sp);
}

static void test_order_and_totals(void **state)
{
	struct spool *sp = open_spool();
	struct spool_segment x = seg("b", 7, 5000, 6000), y = seg("a", 9, 4000, 5500),
	                     z = seg("a", 10, 5500, 7000);
	assert_int_equal(spool_segment_add(sp, &x), 0);
	assert_int_equal(spool_segment_add(sp, &y), 0);
	assert_int_equal(spool_segment_add(sp, &z), 0);
	struct spool_segment *list;
	size_t n;
	assert_int_equal(spool_segment_list(sp, 10, &list, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(list[0].stream, "a");
	assert_int_equal(list[0].seq, 9);
	assert_string_equal(list[1].stream, "b");
	assert_int_equal(list[2].seq, 10);
	g_free(list);
	int64_t bytes, count;
	assert_int_equal(spool_segment_totals(sp, &bytes, &count), 0);
	assert_int_equal(bytes, 300);
	assert_int_equal(count, 3);
	struct spool_segment got;
	assert_int_equal(spool_segment_get(sp, "a", 10, &got), 0);
	assert_int_equal(got.start_us, 5500);
	assert_int_equal(spool_segment_get(sp, "a", 11, &got), -ENOENT);
	spool_free(sp);
}

static void test_gaps(void **state)
{
	struct spool *sp = open_spool();
	int64_t id1, id2;
	assert_int_equal(spool_gap_begin(sp, "cam", GAP_CAMERA_LOST, 100, &id1), 0);
	assert_int_equal(spool_gap_begin(sp, "mic", GAP_DISK_FULL, 200, &id2), 0);
	struct spool_gap g;
	assert_int_equal(spool_gap_find_open(sp, "cam", &g), 0);
	assert_int_equal(g.id, id1);
	assert_int_equal(g.to_us, -1);
	struct spool_gap *list;
	size_t n;
	assert_int_equal(spool_gap_list_closed(sp, 10, &list, &n), 0);
	assert_int_equal(n, 0);
	g_free(list);
	assert_int_equal(spool_gap_end(sp, id1, 50), 0); /* clamped to from */
	assert_int_equal(spool_gap_get(sp, id1, &g), 0);
	assert_int_equal(g.to_us, 100);
	assert_int_equal(g.reason, GAP_CAMERA_LOST);
	assert_int_equal(spool_gap_find_open(sp, "cam", &g), -ENOENT);
	assert_int_equal(spool_gap_list_closed(sp, 10, &list, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].stream, "cam");
	g_free(list);
	assert_int_equal(spool_gap_delete(sp, id1), 0);
	assert_int_equal(spool_gap_delete(sp, id1), -ENOENT);
	enum gap_reason r;
	assert_int_equal(gap_reason_parse("agent_restart", &r), 0);
	assert_int_equal(r, GAP_AGENT_RESTART);
	assert_int_equal(gap_reason_parse("bored", &r), -EINVAL);
	assert_string_equal(gap_reason_name(GAP_DISK_FULL), "disk_full");
	spool_free(sp);
}

static int setup(void **state)
{
	tmpdir = g_dir_make_tmp("spool-XXXXXX", NULL);
	return tmpdir ? 0 : -1;
}

static int teardown(void **state)
{
	const char *names[] = {"spool.db", "spool.db-wal", "spool.db-shm"};
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		char *p = g_build_filename(tmpdir, names[i], NULL);
		g_unlink(p);
		g_free(p);
	}
	g_rmdir(tmpdir);
	g_free(tmpdir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sequence_resumes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_order_and_totals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gaps, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
