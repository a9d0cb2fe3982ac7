/* The room agent's event outbox: exact acknowledgement (events.ack {seqs}) deletes only the
 * events named, a straggler older than an acknowledged event is published again after
 * OUTBOX_RESEND_AFTER_ACK_US, every event after OUTBOX_RESEND_BACKSTOP_US, and the older
 * controller's cumulative `upto` still deletes everything up to it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <string.h>

#include "outbox.h"

static char *tmpdir;
static GArray *sent; /* int64 seqs published, in order */

static int cap_publish(void *ctx, const char *topic, const void *payload, size_t len, int qos,
                       bool retain)
{
	(void)ctx;
	(void)retain;
	assert_string_equal(topic, "evalroom/v1/room/r1/event");
	assert_int_equal(qos, 1);
	json_t *m = json_loadb(payload, len, 0, NULL);
	assert_non_null(m);
	int64_t seq = json_integer_value(json_object_get(m, "seq"));
	g_array_append_val(sent, seq);
	json_decref(m);
	return 0;
}

static const struct mqtt_ops cap_ops = {.publish = cap_publish};

static struct outbox *open_outbox(void)
{
	char *db = g_build_filename(tmpdir, "outbox.db", NULL);
	GError *err = NULL;
	struct outbox *o = outbox_open(db, &cap_ops, NULL, &err);
	assert_non_null(o);
	g_free(db);
	return o;
}

/* Push events SEQS and let the outbox store and publish them (its idle source). */
static void push(struct outbox *o, const int64_t *seqs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_t *m = json_pack("{s:i, s:s, s:I, s:I}", "v", 1, "kind", "door.event", "seq",
		                      (json_int_t)seqs[i], "ts", (json_int_t)1);
		assert_int_equal(outbox_push(o, "evalroom/v1/room/r1/event", m), 0);
		json_decref(m);
	}
	while (g_main_context_iteration(NULL, FALSE))
		;
}

static bool was_sent(int64_t seq)
{
	for (guint i = 0; i < sent->len; i++)
		if (g_array_index(sent, int64_t, i) == seq)
			return true;
	return false;
}

static int setup(void **state)
{
	(void)state;
	tmpdir = g_dir_make_tmp("outbox-XXXXXX", NULL);
	sent = g_array_new(FALSE, FALSE, sizeof(int64_t));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char *db = g_build_filename(tmpdir, "outbox.db", NULL);
	char *wal = g_strconcat(db, "-wal", NULL), *shm = g_strconcat(db, "-shm", NULL);
	g_unlink(db);
	g_unlink(wal);
	g_unlink(shm);
	g_rmdir(tmpdir);
	g_free(db);
	g_free(wal);
	g_free(shm);
	g_free(tmpdir);
	g_array_free(sent, TRUE);
	return 0;
}

/* Seqs have gaps (statuses and replies share the node's counter): acknowledging 10 and 30
 * leaves 20 and 40, and a replay after a reconnect sends exactly those. */
static void test_exact_ack_deletes_only_those(void **state)
{
	(void)state;
	struct outbox *o = open_outbox();
	outbox_set_connected(o, true);
	const int64_t seqs[] = {10, 20, 30, 40};
	push(o, seqs, 4);
	assert_int_equal(sent->len, 4);
	assert_int_equal(outbox_pending(o), 4);
	const uint64_t acked[] = {10, 30, 999 /* unknown: ignored */};
	outbox_ack_seqs(o, acked, 3);
	assert_int_equal(outbox_pending(o), 2);
	outbox_set_connected(o, false);
	g_array_set_size(sent, 0);
	outbox_set_connected(o, true);
	assert_int_equal(sent->len, 2);
	assert_int_equal(g_array_index(sent, int64_t, 0), 20);
	assert_int_equal(g_array_index(sent, int64_t, 1), 40);
	outbox_close(o);
	/* Durable: a restart still holds 20 and 40. */
	o = open_outbox();
	assert_int_equal(outbox_pending(o), 2);
	outbox_close(o);
}

/* The broker dropped 20 on its way to the controller; 30 was acknowledged. Within the
 * delay nothing is sent again; after it, 20 is, and only 20 (40 comes after every
 * acknowledged event: it waits for the backstop). */
static void test_straggler_resent_after_delay(void **state)
{
	(void)state;
	struct outbox *o = open_outbox();
	outbox_set_connected(o, true);
	const int64_t seqs[] = {10, 20, 30, 40};
	push(o, seqs, 4);
	int64_t t0 = g_get_monotonic_time();
	const uint64_t acked[] = {10, 30};
	outbox_ack_seqs(o, acked, 2);
	g_array_set_size(sent, 0);
	assert_int_equal(outbox_resend_due(o, t0), 0);
	assert_int_equal(outbox_resend_due(o, t0 + OUTBOX_RESEND_AFTER_ACK_US / 2), 0);
	assert_int_equal(outbox_resend_due(o, t0 + OUTBOX_RESEND_AFTER_ACK_US + G_USEC_PER_SEC), 1);
	assert_int_equal(sent->len, 1);
	assert_int_equal(g_array_index(sent, int64_t, 0), 20);
	assert_int_equal(outbox_resent(o), 1);
	/* Just sent: not again at once. */
	assert_int_equal(outbox_resend_due(o, t0 + OUTBOX_RESEND_AFTER_ACK_US + G_USEC_PER_SEC), 0);
	/* The backstop sends the last of the burst (40: nothing later was acknowledged), and
	 * 20 again. */
	g_array_set_size(sent, 0);
	assert_int_equal(outbox_resend_due(o, t0 + OUTBOX_RESEND_BACKSTOP_US + 4 * G_USEC_PER_SEC),
	                 2);
	assert_true(was_sent(20) && was_sent(40));
	/* Acknowledged: nothing more to send, ever. */
	const uint64_t rest[] = {20, 40};
	outbox_ack_seqs(o, rest, 2);
	assert_int_equal(outbox_pending(o), 0);
	assert_int_equal(outbox_resend_due(o, t0 + 10 * OUTBOX_RESEND_BACKSTOP_US), 0);
	/* Disconnected: nothing is sent (the reconnect replays). */
	const int64_t more[] = {50};
	push(o, more, 1);
	outbox_set_connected(o, false);
	g_array_set_size(sent, 0);
	assert_int_equal(outbox_resend_due(o, t0 + 20 * OUTBOX_RESEND_BACKSTOP_US), 0);
	assert_int_equal(sent->len, 0);
	outbox_close(o);
}

/* An older controller's cumulative acknowledgement still deletes everything up to it. */
static void test_upto_still_works(void **state)
{
	(void)state;
	struct outbox *o = open_outbox();
	outbox_set_connected(o, true);
	const int64_t seqs[] = {10, 20, 30, 40};
	push(o, seqs, 4);
	outbox_ack(o, 30);
	assert_int_equal(outbox_pending(o), 1);
	g_array_set_size(sent, 0);
	int64_t t0 = g_get_monotonic_time();
	assert_int_equal(outbox_resend_due(o, t0 + OUTBOX_RESEND_AFTER_ACK_US * 2), 0);
	assert_int_equal(outbox_resend_due(o, t0 + OUTBOX_RESEND_BACKSTOP_US * 2), 1);
	assert_int_equal(g_array_index(sent, int64_t, 0), 40);
	outbox_close(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_exact_ack_deletes_only_those, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_straggler_resent_after_delay, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_upto_still_works, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
