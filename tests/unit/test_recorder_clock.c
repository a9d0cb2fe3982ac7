/* The recorder's timeouts run on its clock (recorder_set_clock): with a fake clock a
 * silent source is found lost after exactly its lost timeout, the EOS wait and the restart
 * back-off follow, and no test sleeps for them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <gio/gio.h>
#include <gst/gst.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "recorder.h"
#include "recorder_config.h"
#include "spool.h"

#define MS 1000

/* What the recorder reported: "starting lost:camera_lost ...". */
static void on_state(void *ctx, const struct stream_status *st)
{
	GString *log = ctx;
	g_string_append_printf(log, "%s%s%s ", stream_state_name(st->state), st->reason ? ":" : "",
	                       st->reason ? st->reason : "");
}

static void test_lost_eos_restart_on_fake_clock(void **state)
{
	char *dir = g_dir_make_tmp("recorder-clock-XXXXXX", NULL);
	assert_non_null(dir);
	/* A TCP source that connects and then hears nothing: the camera that went quiet. */
	GSocketListener *listener = g_socket_listener_new();
	guint16 port = g_socket_listener_add_any_inet_port(listener, NULL, NULL);
	assert_true(port > 0);
	char *text = g_strdup_printf("[recorder]\nspool_dir=%s\nquota_bytes=0\n"
	                             "state_interval_ms=600000\n"
	                             "[stream cam]\nsource=tcpclientsrc host=127.0.0.1 port=%u ! "
	                             "tsdemux ! h264parse\nplace=room\nsegment_seconds=2\n"
	                             "lost_timeout_ms=1500\n",
	                             dir, port);
	GKeyFile *kf = g_key_file_new();
	assert_true(g_key_file_load_from_data(kf, text, (gsize)-1, 0, NULL));
	struct recorder_config *cfg = NULL;
	GError *err = NULL;
	assert_int_equal(recorder_config_from_keyfile(kf, &cfg, &err), 0);
	char *db = g_build_filename(dir, "spool.db", NULL);
	struct spool *sp = NULL;
	assert_int_equal(spool_open(db, &sp), 0);

	struct clock_fake *fake = clock_fake_new(clock_now_us());
	GString *log = g_string_new("");
	struct recorder_events ev = {.state = on_state};
	struct recorder *rec = NULL;
	assert_int_equal(recorder_new(cfg, sp, &ev, log, &rec), 0);
	recorder_set_clock(rec, clock_fake_source(fake));
	assert_int_equal(recorder_start(rec), 0);
	assert_string_equal(log->str, "starting ");
	assert_true(clock_fake_pending(fake) >= 1); /* the health check */

	/* Not lost before its timeout, however long the test itself takes. */
	clock_fake_advance(fake, 1400 * MS);
	assert_string_equal(log->str, "starting ");
	/* Lost at the first health check past 1.5 s. */
	clock_fake_advance(fake, 200 * MS);
	assert_string_equal(log->str, "starting lost:camera_lost ");
	/* The source never finishes its EOS: torn down after the EOS wait (3 s), then started
	 * again after the first back-off (1 s). */
	clock_fake_advance(fake, 2999 * MS);
	assert_string_equal(log->str, "starting lost:camera_lost ");
	clock_fake_advance(fake, 1 * MS + 1000 * MS);
	assert_string_equal(log->str, "starting lost:camera_lost starting ");

	recorder_stop(rec);
	recorder_free(rec);
	assert_int_equal(clock_fake_pending(fake), 0);
	clock_fake_free(fake);
	g_string_free(log, TRUE);
	spool_free(sp);
	recorder_config_free(cfg);
	g_key_file_free(kf);
	g_object_unref(listener);
	g_free(text);
	g_free(db);
	char *cmd = g_strdup_printf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	g_free(cmd);
	g_free(dir);
}

int main(int argc, char **argv)
{
	gst_init(&argc, &argv);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lost_eos_restart_on_fake_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
