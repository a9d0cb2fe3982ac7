/* Recording configuration loader: accepted keys and the errors that name the place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <gst/gst.h>
#include <string.h>

#include "recorder_config.h"

#define GOOD_SRC                                                                                   \
	"videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=10/1 ! "           \
	"x264enc key-int-max=10 ! h264parse"

static int load(const char *text, struct recorder_config **cfg, GError **err)
{
	GKeyFile *kf = g_key_file_new();
	assert_true(g_key_file_load_from_data(kf, text, strlen(text), G_KEY_FILE_NONE, NULL));
	*cfg = NULL;
	int rc = recorder_config_from_keyfile(kf, cfg, err);
	g_key_file_free(kf);
	return rc;
}

/* Loads text expecting failure whose message contains want. */
static void expect_error(const char *text, const char *want)
{
	struct recorder_config *cfg;
	GError *err = NULL;
	assert_int_equal(load(text, &cfg, &err), -EINVAL);
	assert_null(cfg);
	assert_non_null(err);
	assert_true(g_error_matches(err, RECORDER_CONFIG_ERROR, EINVAL));
	if (!strstr(err->message, want))
		fail_msg("error '%s' does not contain '%s'", err->message, want);
	g_error_free(err);
}

static void test_valid(void **state)
{
	struct recorder_config *cfg;
	GError *err = NULL;
	const char *text = "[recorder]\nspool_dir=/var/spool/x\nquota_bytes=1000000\n"
	                   "media_kbit=6000\n"
	                   "[stream room]\nsource=" GOOD_SRC "\naudio=audiotestsrc ! opusenc\n"
	                   "[stream seat-1]\nsource=" GOOD_SRC "\nplace=seat\nseat=s1\n"
	                   "segment_seconds=2\nlost_timeout_ms=1500\n";
	assert_int_equal(load(text, &cfg, &err), 0);
	assert_string_equal(cfg->spool_dir, "/var/spool/x");
	assert_int_equal(cfg->quota_bytes, 1000000);
	assert_int_equal(cfg->low_space_percent, 80);
	assert_int_equal(cfg->media_kbit, 6000);
	assert_int_equal(cfg->n_streams, 2);
	assert_string_equal(cfg->streams[0].name, "room");
	assert_int_equal(cfg->streams[0].place, STREAM_PLACE_ROOM);
	assert_int_equal(cfg->streams[0].segment_ms, 4000);
	assert_non_null(cfg->streams[0].audio);
	assert_string_equal(cfg->streams[1].name, "seat-1");
	assert_int_equal(cfg->streams[1].place, STREAM_PLACE_SEAT);
	assert_string_equal(cfg->streams[1].seat, "s1");
	assert_int_equal(cfg->streams[1].segment_ms, 2000);
	assert_int_equal(cfg->streams[1].lost_ms, 1500);
	assert_null(cfg->streams[1].audio);
	recorder_config_free(cfg);
}

static void test_errors(void **state)
{
	expect_error("[stream a]\nsource=" GOOD_SRC "\n", "[recorder]: missing group");
	expect_error("[recorder]\nspool_dir=relative\n[stream a]\nsource=" GOOD_SRC "\n",
	             "[recorder] spool_dir");
	expect_error("[recorder]\nspool_dir=/s\nquota_bytes=lots\n[stream a]\nsource=" GOOD_SRC,
	             "[recorder] quota_bytes: 'lots'");
	expect_error("[recorder]\nspool_dir=/s\n", "no [stream NAME] group");
	expect_error("[recorder]\nspool_dir=/s\nmedia_kbit=63\n[stream a]\nsource=" GOOD_SRC,
	             "[recorder] media_kbit: 63 kbit/s is too little to ship a camera's "
	             "recording; 0 (no limit) or at least 64");
	expect_error("[recorder]\nspool_dir=/s\nmedia_kbit=fast\n[stream a]\nsource=" GOOD_SRC,
	             "[recorder] media_kbit: 'fast' is not an integer in 0..10000000");
	expect_error("[recorder]\nspool_dir=/s\n[stream a]\nplace=room\n",
	             "[stream a] source: missing");
	expect_error("[recorder]\nspool_dir=/s\n[stream a]\nurl=rtsp://u:pw@10.0.0.21/1\n",
	             "[stream a] url: rtsp://10.0.0.21/...: a user name or password does not "
	             "belong in the URL");
	expect_error("[recorder]\nspool_dir=/s\n[stream a]\nurl=rtsp:///1\n",
	             "[stream a] url: not an rtsp://host/path URL");
	expect_error("[recorder]\nspool_dir=/s\n[stream a]\nurl=rtsp://h/1\nsubstream=ftp://h/2\n",
	             "[stream a] substream: not an rtsp://host/path URL");
	expect_error("[recorder]\nspool_dir=/s\n[stream a]\nurl=rtsp://h/1\ntransport=quic\n",
	             "[stream a] transport: 'quic' is neither 'tcp' nor 'udp'");
	expect_error("[recorder]\nspool_dir=/s\n[stream a]\nurl=rtsp://h/1\nsource=" GOOD_SRC "\n",
	             "[stream a]: needs exactly one of url=");
	expect_error("[recorder]\nspool_dir=/s\n[stream a]\nsource=" GOOD_SRC "\nlatency_ms=9\n",
	             "[stream a] latency_ms: only a camera (url=) has it");
	expect_error("[recorder]\nspool_dir=/s\n[stream a]\nsource=nosuchelement ! h264parse\n",
	             "[stream a] source: GStreamer cannot parse it: no element \"nosuchelement\"");
	expect_error("[recorder]\nspool_dir=/s\n[stream a]\nsource=" GOOD_SRC " ! fakesink\n",
	             "[stream a] source: the fragment must end in one unlinked source pad");
	expect_error("[recorder]\nspool_dir=/s\n[stream a]\nsource=" GOOD_SRC "\naudio=! !\n",
	             "[stream a] audio: GStreamer cannot parse it");
	expect_error("[recorder]\nspool_dir=/s\n[stream a]\nsource=" GOOD_SRC "\nplace=hall\n",
	             "[stream a] place: 'hall'");
	expect_error("[recorder]\nspool_dir=/s\n[stream a]\nsource=" GOOD_SRC "\nplace=seat\n",
	             "[stream a] seat: a seat stream needs a valid seat id");
	expect_error("[recorder]\nspool_dir=/s\n[stream a]\nsource=" GOOD_SRC "\nseat=s1\n",
	             "[stream a] seat: only a seat stream has a seat");
	expect_error("[recorder]\nspool_dir=/s\n[stream a]\nsource=" GOOD_SRC
	             "\nsegment_seconds=0\n",
	             "[stream a] segment_seconds: '0' is not an integer in 1..600");
	expect_error("[recorder]\nspool_dir=/s\n[stream a]\nsource=" GOOD_SRC "\ncolour=red\n",
	             "[stream a] colour: unknown key");
	expect_error("[recorder]\nspool_dir=/s\n[stream a/b]\nsource=" GOOD_SRC "\n",
	             "[stream a/b]: stream name must match");
}

static void test_load_file_missing(void **state)
{
	struct recorder_config *cfg = NULL;
	GError *err = NULL;
	assert_int_equal(recorder_config_load("/nonexistent/rec.conf", &cfg, &err), -ENOENT);
	assert_true(g_error_matches(err, RECORDER_CONFIG_ERROR, ENOENT));
	assert_non_null(strstr(err->message, "/nonexistent/rec.conf"));
	g_error_free(err);
}

int main(void)
{
	gst_init(NULL, NULL);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_load_file_missing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
