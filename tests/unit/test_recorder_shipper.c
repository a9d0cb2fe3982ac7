/* Shipper against a fake publish and a fake clock: chunking, reassembly, window, resume,
 * acks, and resends after the ack timeout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "chunk_meta.h"
#include "clock.h"
#include "segment_file.h"
#include "shipper.h"
#include "spool.h"

#define CHUNK 65536

static char *tmpdir;
static struct spool *sp;
/* The shipper's clock: time moves only when a test says so, and the shipper's ack timer
 * fires as it passes (clock_fake_advance), without sleeping. */
static struct clock_fake *fake;

/* clock_at: move the fake monotonic clock forward to T (µs). */
static void clock_at(int64_t t)
{
	int64_t now = clock_source_mono_us(clock_fake_source(fake));
	assert_true(t >= now);
	clock_fake_advance(fake, t - now);
}

/* clock_pass: let US microseconds pass (timers falling due fire). */
static void clock_pass(int64_t us)
{
	clock_fake_advance(fake, us);
}

/* What the fake publish saw. */
struct sent {
	GPtrArray *msgs; /* json_t *, with "topic" added */
	int fail_after;  /* publish fails with -ENOTCONN once this many succeeded; -1 never */
};

/* A chunk goes through the controller's own edge validator (chunk_meta_parse) and is kept
 * as a JSON object of its metadata with "data" (its bytes in base64) added; a JSON message
 * (a gap) is kept as it is. */
static int fake_publish(void *ctx, const char *topic, const void *payload, size_t len,
                        const struct mqtt_user_prop *props, size_t n)
{
	struct sent *s = ctx;
	if (s->fail_after >= 0 && (int)s->msgs->len >= s->fail_after)
		return -ENOTCONN;
	json_t *m;
	if (n == 0) {
		assert_true(len <= 64 * 1024);
		json_error_t err;
		m = json_loadb(payload, len, 0, &err);
		assert_non_null(m);
	} else {
		struct chunk_meta cm;
		GError *err = NULL;
		if (chunk_meta_parse(props, n, payload, len, &cm, &err) != 0)
			fail_msg("chunk refused by the receiver's validator: %s", err->message);
		char *b64 = g_base64_encode(payload, len);
		m = json_pack("{s:i, s:s, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:s, s:b, s:I, s:b, s:s}",
		              "v", CHUNK_VERSION, "kind", "segment.chunk", "seq", (json_int_t)cm.seq,
		              "ts", (json_int_t)cm.ts, "stream", cm.stream, "segment_seq",
		              (json_int_t)cm.segment_seq, "start_us", (json_int_t)cm.start_us,
		              "end_us", (json_int_t)cm.end_us, "size", (json_int_t)cm.size,
		              "sha256", cm.sha256, "recovered", cm.recovered, "offset",
		              (json_int_t)cm.offset, "last", cm.last, "data", b64);
		g_free(b64);
	}
	json_object_set_new(m, "topic", json_string(topic));
	g_ptr_array_add(s->msgs, m);
	return 0;
}

static void sent_clear(struct sent *s)
{
	g_ptr_array_set_size(s->msgs, 0);
}

static json_t *msg(struct sent *s, guint i)
{
	assert_true(i < s->msgs->len);
	return g_ptr_array_index(s->msgs, i);
}

static int64_t ival(json_t *m, const char *k)
{
	json_t *v = json_object_get(m, k);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

/* Writes a segment file of size pseudo-random bytes and spools it. */
static void add_segment(const char *stream, int64_t seq, int64_t end_us, size_t size)
{
	char *dir = g_build_filename(tmpdir, stream, NULL);
	g_mkdir_with_parents(dir, 0700);
	struct spool_segment g = {.seq = seq, .start_us = end_us - 1000000, .end_us = end_us};
	g_strlcpy(g.stream, stream, sizeof(g.stream));
	g_snprintf(g.path, sizeof(g.path), "%s/%08d.ts", dir, (int)seq);
	guchar *data = g_malloc(size);
	GRand *r = g_rand_new_with_seed((guint32)(seq * 7919 + size));
	for (size_t i = 0; i < size; i++)
		data[i] = (guchar)g_rand_int(r);
	g_rand_free(r);
	assert_true(g_file_set_contents(g.path, (const char *)data, (gssize)size, NULL));
	g_free(data);
	assert_int_equal(segment_file_seal(g.path, g.sha256, &g.size), 0);
	assert_int_equal(g.size, (int64_t)size);
	assert_int_equal(spool_segment_add(sp, &g), 0);
	g_free(dir);
}

static struct shipper *new_shipper_timed(struct sent *s, unsigned inflight, unsigned ack_ms)
{
	s->msgs = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref);
	s->fail_after = -1;
	struct shipper_ops ops = {.publish = fake_publish};
	struct shipper_options o = {.room = "r1",
	                            .chunk_bytes = CHUNK,
	                            .max_inflight = inflight,
	                            .ack_timeout_ms = ack_ms,
	                            .clock = clock_fake_source(fake)};
	struct shipper *sh = NULL;
	assert_int_equal(shipper_new(sp, &ops, s, &o, &sh), 0);
	return sh;
}

static struct shipper *new_shipper(struct sent *s, unsigned inflight)
{
	return new_shipper_timed(s, inflight, 0);
}

static void shipper_done(struct shipper *sh, struct sent *s)
{
	shipper_free(sh);
	g_ptr_array_free(s->msgs, TRUE);
}

static void test_chunks_reassemble(void **state)
{
	add_segment("cam", 1, 2000000, 2 * CHUNK + 100);
	struct sent s;
	struct shipper *sh = new_shipper(&s, 4);
	assert_int_equal(shipper_kick(sh), 0);
	assert_int_equal(s.msgs->len, 3);
	GByteArray *whole = g_byte_array_new();
	int64_t last_seq = 0;
	for (guint i = 0; i < 3; i++) {
		json_t *m = msg(&s, i);
		assert_string_equal(json_string_value(json_object_get(m, "topic")),
		                    "evalroom/v1/room/r1/media");
		assert_string_equal(json_string_value(json_object_get(m, "kind")), "segment.chunk");
		assert_int_equal(ival(m, "v"), CHUNK_VERSION);
		assert_true(ival(m, "seq") > last_seq);
		last_seq = ival(m, "seq");
		assert_int_equal(ival(m, "segment_seq"), 1);
		assert_int_equal(ival(m, "offset"), (int64_t)whole->len);
		assert_int_equal(ival(m, "size"), 2 * CHUNK + 100);
		assert_true(json_is_true(json_object_get(m, "last")) == (i == 2));
		gsize n;
		guchar *d = g_base64_decode(json_string_value(json_object_get(m, "data")), &n);
		g_byte_array_append(whole, d, (guint)n);
		g_free(d);
	}
	/* The receiver's view: the reassembled bytes hash to the announced sha256. */
	unsigned char dig[32];
	unsigned int dl;
	EVP_Digest(whole->data, whole->len, dig, &dl, EVP_sha256(), NULL);
	char hex[65];
	for (int i = 0; i < 32; i++)
		g_snprintf(hex + 2 * i, 3, "%02x", dig[i]);
	assert_string_equal(hex, json_string_value(json_object_get(msg(&s, 0), "sha256")));
	g_byte_array_free(whole, TRUE);

	/* Nothing more to send until acknowledged; the ack deletes row and file. */
	sent_clear(&s);
	assert_int_equal(shipper_kick(sh), 0);
	assert_int_equal(s.msgs->len, 0);
	struct spool_segment g;
	assert_int_equal(spool_segment_get(sp, "cam", 1, &g), 0);
	assert_int_equal(shipper_ack_segment(sh, "cam", 1), 0);
	assert_int_equal(spool_segment_get(sp, "cam", 1, &g), -ENOENT);
	assert_false(g_file_test(g.path, G_FILE_TEST_EXISTS));
	/* A duplicate ack is harmless. */
	assert_int_equal(shipper_ack_segment(sh, "cam", 1), -ENOENT);
	shipper_done(sh, &s);
}

static void test_window_order_and_resume(void **state)
{
	add_segment("b", 1, 3000000, 100);
	add_segment("a", 1, 1000000, 100);
	add_segment("a", 2, 2000000, 100);
	add_segment("a", 3, 4000000, 100);
	struct sent s;
	struct shipper *sh = new_shipper(&s, 2);
	assert_int_equal(shipper_kick(sh), 0);
	/* Oldest first, at most two unacknowledged. */
	assert_int_equal(s.msgs->len, 2);
	assert_string_equal(json_string_value(json_object_get(msg(&s, 0), "stream")), "a");
	assert_int_equal(ival(msg(&s, 0), "segment_seq"), 1);
	assert_int_equal(ival(msg(&s, 1), "segment_seq"), 2);
	assert_int_equal(shipper_inflight(sh), 2);

	/* Reconnect: both unacknowledged segments go again, from offset 0. */
	sent_clear(&s);
	shipper_reset_inflight(sh);
	assert_int_equal(shipper_kick(sh), 0);
	assert_int_equal(s.msgs->len, 2);
	assert_int_equal(ival(msg(&s, 0), "offset"), 0);
	assert_int_equal(ival(msg(&s, 1), "segment_seq"), 2);

	/* An ack opens the window for the next oldest: stream b. */
	sent_clear(&s);
	assert_int_equal(shipper_ack_segment(sh, "a", 1), 0);
	assert_int_equal(shipper_kick(sh), 0);
	assert_int_equal(s.msgs->len, 1);
	assert_string_equal(json_string_value(json_object_get(msg(&s, 0), "stream")), "b");

	/* A failing publish stops and resumes at the same place. */
	sent_clear(&s);
	assert_int_equal(shipper_ack_segment(sh, "a", 2), 0);
	s.fail_after = 0;
	assert_int_equal(shipper_kick(sh), -ENOTCONN);
	assert_int_equal(s.msgs->len, 0);
	s.fail_after = -1;
	assert_int_equal(shipper_kick(sh), 0);
	assert_int_equal(s.msgs->len, 1);
	assert_int_equal(ival(msg(&s, 0), "segment_seq"), 3);
	shipper_done(sh, &s);
}

static void test_gaps_shipped_and_acked(void **state)
{
	int64_t id, open_id;
	assert_int_equal(spool_gap_begin(sp, "cam", GAP_CAMERA_LOST, 100, &id), 0);
	assert_int_equal(spool_gap_end(sp, id, 900), 0);
	assert_int_equal(spool_gap_begin(sp, "cam", GAP_DISK_FULL, 1000, &open_id), 0);
	struct sent s;
	struct shipper *sh = new_shipper(&s, 2);
	assert_int_equal(shipper_kick(sh), 0);
	assert_int_equal(s.msgs->len, 1); /* the open gap waits until it is closed */
	json_t *m = msg(&s, 0);
	assert_string_equal(json_string_value(json_object_get(m, "kind")), "stream.gap");
	assert_string_equal(json_string_value(json_object_get(m, "topic")),
	                    "evalroom/v1/room/r1/event");
	assert_string_equal(json_string_value(json_object_get(m, "reason")), "camera_lost");
	assert_int_equal(ival(m, "gap_id"), id);
	assert_int_equal(ival(m, "from_us"), 100);
	assert_int_equal(ival(m, "to_us"), 900);
	/* A gap acknowledged as another stream's changes nothing. */
	struct spool_gap g;
	assert_int_equal(shipper_ack_gap(sh, "mic", id), -EINVAL);
	assert_int_equal(spool_gap_get(sp, id, &g), 0);
	assert_int_equal(shipper_ack_gap(sh, "cam", id), 0);
	assert_int_equal(spool_gap_get(sp, id, &g), -ENOENT);
	shipper_done(sh, &s);
}

/* What one publish round sent, as "stream/seq@offset" for chunks and "gap:ID" for gaps,
 * space-separated; the messages are then cleared. */
static char *sent_take(struct sent *s)
{
	GString *out = g_string_new(NULL);
	for (guint i = 0; i < s->msgs->len; i++) {
		json_t *m = msg(s, i);
		const char *stream = json_string_value(json_object_get(m, "stream"));
		if (out->len)
			g_string_append_c(out, ' ');
		if (json_object_get(m, "gap_id"))
			g_string_append_printf(out, "gap:%" G_GINT64_FORMAT, ival(m, "gap_id"));
		else
			g_string_append_printf(out, "%s/%" G_GINT64_FORMAT "@%" G_GINT64_FORMAT,
			                       stream, ival(m, "segment_seq"), ival(m, "offset"));
	}
	sent_clear(s);
	return g_string_free(out, FALSE);
}

static void assert_sent(struct sent *s, const char *want)
{
	char *got = sent_take(s);
	if (strcmp(got, want) != 0)
		fail_msg("sent '%s', expected '%s'", got, want);
	g_free(got);
}

#define SEC ((int64_t)1000000)

/* Spools a closed gap of stream and returns its id. */
static int64_t add_closed_gap(const char *stream)
{
	int64_t id;
	assert_int_equal(spool_gap_begin(sp, stream, GAP_CAMERA_LOST, 100, &id), 0);
	assert_int_equal(spool_gap_end(sp, id, 900), 0);
	return id;
}

/* A closed gap and a two-chunk segment cam/1, shipped once at the fake time 1000 s with
 * an ack timeout of ack_ms. *want (g_free()) is what that first kick sent. */
static struct shipper *shipped_gap_and_segment(struct sent *s, unsigned ack_ms, char **want)
{
	add_segment("cam", 1, 2000000, CHUNK + 10);
	int64_t gap = add_closed_gap("cam");
	clock_at(1000 * SEC);
	struct shipper *sh = new_shipper_timed(s, 4, ack_ms);
	assert_int_equal(shipper_kick(sh), 0);
	*want = g_strdup_printf("gap:%" G_GINT64_FORMAT " cam/1@0 cam/1@%d", gap, CHUNK);
	assert_sent(s, *want);
	return sh;
}

static void test_resend_after_ack_timeout(void **state)
{
	struct sent s;
	char *want;
	struct shipper *sh = shipped_gap_and_segment(&s, 10000, &want);

	/* Not yet: nothing is sent again and nothing is counted. */
	clock_pass(10 * SEC - 1);
	assert_int_equal(shipper_resend_overdue(sh), 0);
	assert_sent(&s, "");
	assert_int_equal(shipper_resends(sh), 0);

	/* At the timeout, the gap and the whole segment from offset 0 go again; the window
	 * still holds the one segment. */
	clock_pass(1);
	assert_int_equal(shipper_resend_overdue(sh), 0);
	assert_sent(&s, want);
	assert_int_equal(shipper_resends(sh), 2);
	assert_int_equal(shipper_inflight(sh), 1);
	/* A kick in between sends nothing more. */
	assert_int_equal(shipper_kick(sh), 0);
	assert_sent(&s, "");
	g_free(want);
	shipper_done(sh, &s);
}

static void test_resend_backoff_doubles_to_cap(void **state)
{
	add_segment("cam", 1, 2000000, 100);
	struct sent s;
	clock_at(1000 * SEC);
	struct shipper *sh = new_shipper_timed(&s, 1, 100000); /* 100 s; the cap is 300 s */
	assert_int_equal(shipper_kick(sh), 0);
	assert_sent(&s, "cam/1@0");
	/* Waits before each resend: 100 s, 200 s, then the cap, 300 s, and 300 s again. */
	static const int64_t waits[] = {100, 200, 300, 300};
	for (size_t i = 0; i < G_N_ELEMENTS(waits); i++) {
		clock_pass(waits[i] * SEC - 1);
		assert_int_equal(shipper_resend_overdue(sh), 0);
		assert_sent(&s, "");
		clock_pass(1);
		assert_int_equal(shipper_resend_overdue(sh), 0);
		assert_sent(&s, "cam/1@0");
		assert_int_equal(shipper_resends(sh), i + 1);
	}
	assert_int_equal(SHIPPER_ACK_TIMEOUT_CAP_MS, 300000);

	/* A segment that enters the window later starts from the base timeout. */
	assert_int_equal(shipper_ack_segment(sh, "cam", 1), 0);
	add_segment("cam", 2, 3000000, 100);
	assert_int_equal(shipper_kick(sh), 0);
	assert_sent(&s, "cam/2@0");
	clock_pass(100 * SEC);
	assert_int_equal(shipper_resend_overdue(sh), 0);
	assert_sent(&s, "cam/2@0");
	shipper_done(sh, &s);
}

static void test_ack_cancels_resend(void **state)
{
	add_segment("a", 1, 1000000, 100);
	add_segment("b", 1, 2000000, 100);
	int64_t gap = add_closed_gap("a");
	struct sent s;
	clock_at(1000 * SEC);
	struct shipper *sh = new_shipper_timed(&s, 4, 5000);
	assert_int_equal(shipper_kick(sh), 0);
	char *want = g_strdup_printf("gap:%" G_GINT64_FORMAT " a/1@0 b/1@0", gap);
	assert_sent(&s, want);
	g_free(want);

	/* Acknowledged before their timeout: a/1 and the gap are never sent again. */
	assert_int_equal(shipper_ack_segment(sh, "a", 1), 0);
	assert_int_equal(shipper_ack_gap(sh, "a", gap), 0);
	clock_pass(5 * SEC);
	assert_int_equal(shipper_resend_overdue(sh), 0);
	assert_sent(&s, "b/1@0");

	/* Acknowledged after a resend: nothing is due any more, however long we wait. */
	assert_int_equal(shipper_ack_segment(sh, "b", 1), 0);
	clock_pass(3600 * SEC);
	assert_int_equal(shipper_resend_overdue(sh), 0);
	assert_sent(&s, "");
	assert_int_equal(shipper_resends(sh), 1);
	assert_int_equal(shipper_inflight(sh), 0);
	shipper_done(sh, &s);
}

static void test_reconnect_resends_at_once(void **state)
{
	struct sent s;
	char *want;
	struct shipper *sh = shipped_gap_and_segment(&s, 30000, &want);

	/* Disconnected (the agent rewinds then too): nothing becomes due while publishing
	 * fails, however long it lasts, and nothing is counted. */
	shipper_reset_inflight(sh);
	s.fail_after = 0;
	clock_pass(3600 * SEC);
	assert_int_equal(shipper_resend_overdue(sh), -ENOTCONN);
	assert_int_equal(shipper_resends(sh), 0);

	/* The reconnect: everything again at once, not counted. */
	s.fail_after = -1;
	shipper_reset_inflight(sh);
	assert_int_equal(shipper_kick(sh), 0);
	assert_sent(&s, want);
	assert_int_equal(shipper_resends(sh), 0);

	/* The timeout runs from that publish. */
	clock_pass(30 * SEC - 1);
	assert_int_equal(shipper_resend_overdue(sh), 0);
	assert_sent(&s, "");
	clock_pass(1);
	assert_int_equal(shipper_resend_overdue(sh), 0);
	assert_sent(&s, want);
	assert_int_equal(shipper_resends(sh), 2);
	g_free(want);
	shipper_done(sh, &s);
}

static void test_resend_while_offline_and_deleted(void **state)
{
	add_segment("a", 1, 1000000, 100);
	add_segment("b", 1, 2000000, 100);
	struct sent s;
	clock_at(1000 * SEC);
	struct shipper *sh = new_shipper_timed(&s, 2, 5000);
	assert_int_equal(shipper_kick(sh), 0);
	assert_sent(&s, "a/1@0 b/1@0");

	/* Due while the publish fails: sent by the next kick that can publish. */
	s.fail_after = 0;
	clock_pass(5 * SEC);
	assert_int_equal(shipper_resend_overdue(sh), -ENOTCONN);
	s.fail_after = -1;
	assert_int_equal(shipper_kick(sh), 0);
	assert_sent(&s, "a/1@0 b/1@0");

	/* A segment deleted from the spool behind the shipper's back leaves the window at
	 * its timeout instead of being sent again, and the next one takes its place. */
	assert_int_equal(spool_segment_delete(sp, "a", 1), 0);
	add_segment("c", 1, 3000000, 100);
	clock_pass(10 * SEC);
	assert_int_equal(shipper_resend_overdue(sh), 0);
	assert_sent(&s, "b/1@0 c/1@0");
	assert_int_equal(shipper_inflight(sh), 2);
	shipper_done(sh, &s);
}

/* The shipper's own timer does the resend, on its clock: it is set for the earliest due
 * time and moves when that one is acknowledged; nothing else calls
 * shipper_resend_overdue(). */
static void test_timer_resends_on_clock(void **state)
{
	add_segment("a", 1, 1000000, 100);
	struct sent s;
	clock_at(1000 * SEC);
	struct shipper *sh = new_shipper_timed(&s, 4, 5000);
	assert_int_equal(shipper_kick(sh), 0);
	assert_int_equal(clock_fake_pending(fake), 1);
	clock_pass(1 * SEC);
	add_segment("b", 1, 2000000, 100);
	assert_int_equal(shipper_kick(sh), 0);
	assert_sent(&s, "a/1@0 b/1@0");
	/* Acknowledging a/1 moves the timer to b/1's due time, 1006 s. */
	clock_pass(1 * SEC);
	assert_int_equal(shipper_ack_segment(sh, "a", 1), 0);
	assert_int_equal(clock_fake_pending(fake), 1);
	clock_pass(4 * SEC - 1);
	assert_sent(&s, "");
	assert_int_equal(shipper_resends(sh), 0);
	clock_pass(1);
	assert_sent(&s, "b/1@0");
	assert_int_equal(shipper_resends(sh), 1);
	/* Then again after the doubled timeout, 10 s. */
	clock_pass(10 * SEC);
	assert_sent(&s, "b/1@0");
	assert_int_equal(shipper_resends(sh), 2);
	/* Acknowledged: no timer is left. */
	assert_int_equal(shipper_ack_segment(sh, "b", 1), 0);
	assert_int_equal(clock_fake_pending(fake), 0);
	shipper_done(sh, &s);
}

/* The media rate: a bucket of one chunk refilled at media_kbit on the shipper's clock; a
 * chunk that does not fit waits for the timer, which kicks; the bytes over a span never
 * exceed the rate (plus the one chunk of burst); gaps are not held back. */
static void test_rate_limit_token_bucket(void **state)
{
	(void)state;
	struct sent s = {.msgs = g_ptr_array_new_with_free_func((GDestroyNotify)json_decref),
	                 .fail_after = -1};
	struct shipper_ops ops = {.publish = fake_publish};
	/* CHUNK bytes a chunk; 8 * CHUNK bits a second: one chunk a second */
	unsigned kbit = (unsigned)(CHUNK * 8 / 1000);
	struct shipper_options o = {.room = "r1",
	                            .chunk_bytes = CHUNK,
	                            .max_inflight = 4,
	                            .clock = clock_fake_source(fake),
	                            .media_kbit = kbit};
	struct shipper *sh = NULL;
	assert_int_equal(shipper_new(sp, &ops, &s, &o, &sh), 0);
	int64_t rate_Bps = (int64_t)kbit * 1000 / 8;
	add_segment("cam", 1, 2000000, 4 * CHUNK); /* four chunks */
	add_segment("cam", 2, 3000000, 4 * CHUNK);
	assert_int_equal(shipper_kick(sh), 0);
	assert_int_equal(s.msgs->len, 1); /* the bucket starts full: one chunk */
	assert_int_equal(clock_fake_pending(fake), 1);
	shipper_kick(sh); /* a kick meanwhile sends nothing more, sets no second timer */
	assert_int_equal(s.msgs->len, 1);
	assert_int_equal(clock_fake_pending(fake), 1);
	int64_t t0 = clock_source_mono_us(clock_fake_source(fake));
	for (int i = 0; i < 100 && s.msgs->len < 8; i++)
		clock_pass(100000);
	assert_int_equal(s.msgs->len, 8); /* every chunk of both segments, in order */
	int64_t spent = clock_source_mono_us(clock_fake_source(fake)) - t0;
	/* 7 chunks after the first took 7 chunks' time at the rate, not less */
	assert_true(spent >= 7 * (int64_t)CHUNK * G_USEC_PER_SEC / rate_Bps - 100000);
	assert_true(spent <= 7 * (int64_t)CHUNK * G_USEC_PER_SEC / rate_Bps + 200000);
	for (guint i = 0; i < 8; i++)
		assert_int_equal(ival(msg(&s, i), "segment_seq"), i < 4 ? 1 : 2);
	assert_int_equal(shipper_bytes_sent(sh), 8 * CHUNK);
	/* a gap goes at once although the bucket is empty */
	sent_clear(&s);
	add_closed_gap("cam");
	assert_int_equal(shipper_kick(sh), 0);
	assert_int_equal(s.msgs->len, 1);
	assert_string_equal(json_string_value(json_object_get(msg(&s, 0), "kind")), "stream.gap");
	shipper_done(sh, &s);
	assert_int_equal(clock_fake_pending(fake), 0);
}

static int setup(void **state)
{
	fake = clock_fake_new(clock_now_us());
	tmpdir = g_dir_make_tmp("shipper-XXXXXX", NULL);
	char *db = g_build_filename(tmpdir, "spool.db", NULL);
	int rc = spool_open(db, &sp);
	g_free(db);
	return rc;
}

static int teardown(void **state)
{
	spool_free(sp);
	clock_fake_free(fake);
	char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
	int rc = system(cmd);
	g_free(cmd);
	g_free(tmpdir);
	return rc;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_chunks_reassemble, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_window_order_and_resume, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gaps_shipped_and_acked, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resend_after_ack_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resend_backoff_doubles_to_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ack_cancels_resend, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reconnect_resends_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resend_while_offline_and_deleted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timer_resends_on_clock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rate_limit_token_bucket, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
