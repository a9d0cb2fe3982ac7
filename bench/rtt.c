/* evalroom-bench-rtt: request/reply round trips over the broker, as the controller.
 *
 *   evalroom-bench-rtt URI CA CERT KEY MODE TOPIC_OUT TOPIC_IN N [GAP_MS]
 *
 * MODE "door": publish cmd `door {action: unlock|lock}` to TOPIC_OUT (a room agent's cmd
 * topic) and wait for its reply on TOPIC_IN: the agent moves the lock output before it
 * answers. MODE "echo": publish a small message to TOPIC_OUT and wait for the echo from
 * evalroom-bench-rtt in MODE "serve" (which subscribes to TOPIC_OUT and answers on
 * TOPIC_IN), i.e. a plain pair of Paho clients through the same broker and settings.
 * GAP_MS (default 0) is a pause between one reply and the next request: door commands are
 * sparse in real use, so each one meets an idle agent; 0 measures back-to-back load.
 * CERT is a provisioned clients/<CN>.crt: the client id is "<CN>:bench-...".
 * Prints one line: "MODE n=N p50_us=.. p90_us=.. p99_us=.. max_us=..". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "mqtt_session.h"
#include "msg.h"

struct bench {
	GMainLoop *loop;
	struct mqtt_session *s;
	const char *mode, *out, *in;
	bool connected, got;
	char want[40];
	struct seq_counter seq;
};

static void on_message(const char *topic, const void *payload, size_t len, void *user)
{
	struct bench *b = user;
	if (strcmp(b->mode, "serve") == 0) {
		mqtt_session_publish(b->s, b->in, payload, len, 1, false);
		return;
	}
	if (g_strstr_len(payload, (gssize)len, b->want)) {
		b->got = true;
		g_main_loop_quit(b->loop);
	}
}

static void on_connection(bool connected, const char *why, void *user)
{
	struct bench *b = user;
	b->connected = connected;
	g_main_loop_quit(b->loop);
}

static gboolean on_timeout(gpointer user)
{
	g_main_loop_quit(user);
	return G_SOURCE_REMOVE;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc != 9 && argc != 10) {
		fprintf(stderr,
		        "usage: %s URI CA CERT KEY door|echo|serve TOPIC_OUT TOPIC_IN N [GAP_MS]\n",
		        argv[0]);
		return 2;
	}
	int gap_ms = argc == 10 ? atoi(argv[9]) : 0;
	struct bench b = {.mode = argv[5], .out = argv[6], .in = argv[7]};
	int n = atoi(argv[8]);
	b.loop = g_main_loop_new(NULL, FALSE);
	/* The broker accepts the CN, or CN:suffix (broker/clientid_bind.c); a provisioned
	 * certificate is clients/<CN>.crt. */
	char *cn = g_path_get_basename(argv[3]);
	if (g_str_has_suffix(cn, ".crt"))
		cn[strlen(cn) - 4] = '\0';
	char cid[160];
	snprintf(cid, sizeof(cid), "%s:bench-%s-%d", cn, b.mode, (int)getpid());
	g_free(cn);
	struct mqtt_session_config mc = {.uri = argv[1],
	                                 .client_id = cid,
	                                 .ca_file = argv[2],
	                                 .cert_file = argv[3],
	                                 .key_file = argv[4],
	                                 .clean_start = true};
	GError *err = NULL;
	b.s = mqtt_session_new(&mc, NULL, on_message, on_connection, &b, &err);
	if (!b.s) {
		fprintf(stderr, "%s\n", err->message);
		return 1;
	}
	mqtt_session_subscribe(b.s, strcmp(b.mode, "serve") == 0 ? b.out : b.in, 1);
	mqtt_session_start(b.s);
	while (!b.connected)
		g_main_loop_run(b.loop);
	if (strcmp(b.mode, "serve") == 0) {
		printf("serving\n");
		fflush(stdout);
		for (;;)
			g_main_loop_run(b.loop);
	}
	g_usleep(300000); /* let the subscription settle */
	int64_t *rtt = g_new(int64_t, n);
	int done = 0;
	for (int i = 0; i < n; i++) {
		if (gap_ms > 0)
			g_usleep((gulong)gap_ms * 1000);
		snprintf(b.want, sizeof(b.want), "\"bench-%d\"", i);
		json_t *m;
		if (strcmp(b.mode, "door") == 0) {
			m = msg_new("cmd", &b.seq);
			char *id = g_strndup(b.want + 1, strlen(b.want) - 2);
			json_object_set_new(m, "id", json_string(id));
			g_free(id);
			json_object_set_new(m, "expires", json_integer(clock_now_us() + 5000000));
			json_object_set_new(m, "command", json_string("door"));
			json_object_set_new(
			    m, "args", json_pack("{s:s}", "action", i % 2 ? "lock" : "unlock"));
		} else {
			m = msg_new("ping", &b.seq);
			char *id = g_strndup(b.want + 1, strlen(b.want) - 2);
			json_object_set_new(m, "id", json_string(id));
			g_free(id);
		}
		size_t len;
		char *text = msg_dump(m, &len);
		json_decref(m);
		b.got = false;
		int64_t t0 = clock_mono_us();
		mqtt_session_publish(b.s, b.out, text, len, 1, false);
		g_free(text);
		guint t = g_timeout_add(2000, on_timeout, b.loop);
		g_main_loop_run(b.loop);
		if (!b.got) {
			fprintf(stderr, "%s: no reply to request %d within 2 s\n", b.mode, i);
			continue;
		}
		g_source_remove(t);
		rtt[done++] = clock_mono_us() - t0;
	}
	if (done == 0)
		return 1;
	qsort(rtt, (size_t)done, sizeof(*rtt), cmp_i64);
	printf("%s n=%d p50_us=%" G_GINT64_FORMAT " p90_us=%" G_GINT64_FORMAT
	       " p99_us=%" G_GINT64_FORMAT " max_us=%" G_GINT64_FORMAT "\n",
	       b.mode, done, rtt[done / 2], rtt[done * 9 / 10], rtt[done * 99 / 100],
	       rtt[done - 1]);
	mqtt_session_stop(b.s, 500);
	mqtt_session_free(b.s);
	g_free(rtt);
	return done == n ? 0 : 1;
}
