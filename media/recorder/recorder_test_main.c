/* evalroom-recorder-test: records a configuration into its spool and prints every
 * event as one JSON line on stdout, for tests and benchmarks. Commands on stdin:
 * "ack STREAM SEQ", "ackgap STREAM ID", "ackall", "reconnect", "quit". With --ship, the
 * shipper runs against a fake publish that prints each message with "event":"publish",
 * its topic and payload size: a JSON message's members, or a chunk's user properties as
 * "meta" and its media bytes in base64 as "data" (for the test reading this output only). */
#include "recorder.h"
#include "shipper.h"

#include <errno.h>
#include <glib-unix.h>
#include <gst/gst.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct driver {
	GMainLoop *loop;
	struct recorder_config *cfg;
	struct spool *sp;
	struct recorder *rec;
	struct shipper *sh;
	gboolean ship;
};

static void print_json(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		fflush(stdout);
		free(s);
	}
}

static void kick(struct driver *d)
{
	if (d->ship)
		shipper_kick(d->sh);
}

static void on_segment(void *ctx, const struct spool_segment *g)
{
	print_json(json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:s, s:b}", "event", "segment",
	                     "stream", g->stream, "seq", (json_int_t)g->seq, "start_us",
	                     (json_int_t)g->start_us, "end_us", (json_int_t)g->end_us, "size",
	                     (json_int_t)g->size, "sha256", g->sha256, "path", g->path, "recovered",
	                     g->recovered));
	kick(ctx);
}

static void on_state(void *ctx, const struct stream_status *st)
{
	print_json(json_pack("{s:s, s:s, s:s, s:I, s:I, s:s?}", "event", "state", "stream",
	                     st->stream, "state", stream_state_name(st->state), "last_buffer_us",
	                     (json_int_t)st->last_buffer_us, "bitrate_bps",
	                     (json_int_t)st->bitrate_bps, "reason", st->reason));
}

static void on_gap(void *ctx, const struct spool_gap *g)
{
	json_t *o = json_pack("{s:s, s:I, s:s, s:s, s:I}", "event", "gap", "id", (json_int_t)g->id,
	                      "stream", g->stream, "reason", gap_reason_name(g->reason), "from_us",
	                      (json_int_t)g->from_us);
	json_object_set_new(o, "to_us", g->to_us < 0 ? json_null() : json_integer(g->to_us));
	print_json(o);
	kick(ctx);
}

static void on_space(void *ctx, const struct space_report *r)
{
	print_json(json_pack("{s:s, s:s, s:I, s:I, s:I}", "event", "space", "level",
	                     space_level_name(r->level), "used_bytes", (json_int_t)r->used_bytes,
	                     "quota_bytes", (json_int_t)r->quota_bytes, "fs_free_bytes",
	                     (json_int_t)r->fs_free_bytes));
}

/* Prints what was published (see the top of the file). */
static int fake_publish(void *ctx, const char *topic, const void *payload, size_t len,
                        const struct mqtt_user_prop *props, size_t n)
{
	json_t *m;
	if (n == 0) {
		json_error_t err;
		if (!(m = json_loadb(payload, len, 0, &err)))
			return -EINVAL;
	} else {
		json_t *meta = json_object();
		for (size_t i = 0; i < n; i++)
			json_object_set_new(meta, props[i].name,
			                    json_stringn(props[i].value, props[i].value_len));
		char *b64 = g_base64_encode(payload, len);
		m = json_pack("{s:o, s:s}", "meta", meta, "data", b64);
		g_free(b64);
	}
	json_object_set_new(m, "event", json_string("publish"));
	json_object_set_new(m, "topic", json_string(topic));
	json_object_set_new(m, "payload_bytes", json_integer((json_int_t)len));
	print_json(m);
	return 0;
}

static void ack_all(struct driver *d)
{
	struct spool_segment *segs = NULL;
	size_t n = 0;
	if (spool_segment_list(d->sp, 100000, &segs, &n) == 0)
		for (size_t i = 0; i < n; i++)
			shipper_ack_segment(d->sh, segs[i].stream, segs[i].seq);
	g_free(segs);
	struct spool_gap *gaps = NULL;
	if (spool_gap_list_closed(d->sp, 100000, &gaps, &n) == 0)
		for (size_t i = 0; i < n; i++)
			shipper_ack_gap(d->sh, gaps[i].stream, gaps[i].id);
	g_free(gaps);
}

static void run_command(struct driver *d, char *line)
{
	g_strstrip(line);
	char stream[65];
	long long v = 0;
	int rc = 0;
	if (sscanf(line, "ack %64s %lld", stream, &v) == 2) {
		rc = shipper_ack_segment(d->sh, stream, v);
	} else if (sscanf(line, "ackgap %64s %lld", stream, &v) == 2) {
		rc = shipper_ack_gap(d->sh, stream, v);
	} else if (strcmp(line, "ackall") == 0) {
		ack_all(d);
	} else if (strcmp(line, "reconnect") == 0) {
		shipper_reset_inflight(d->sh);
	} else if (strcmp(line, "quit") == 0) {
		g_main_loop_quit(d->loop);
		return;
	} else if (line[0]) {
		print_json(json_pack("{s:s, s:s}", "event", "command_error", "line", line));
		return;
	}
	recorder_check_space(d->rec);
	kick(d);
	print_json(json_pack("{s:s, s:s, s:i}", "event", "command_done", "line", line, "rc", rc));
}

static gboolean on_stdin(GIOChannel *ch, GIOCondition cond, gpointer data)
{
	struct driver *d = data;
	char *line = NULL;
	GIOStatus st = g_io_channel_read_line(ch, &line, NULL, NULL, NULL);
	if (st == G_IO_STATUS_NORMAL && line)
		run_command(d, line);
	g_free(line);
	if (st == G_IO_STATUS_EOF || st == G_IO_STATUS_ERROR)
		return G_SOURCE_REMOVE; /* keep recording; signals stop us */
	return G_SOURCE_CONTINUE;
}

static gboolean on_signal(gpointer data)
{
	g_main_loop_quit(((struct driver *)data)->loop);
	return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
	char *config = NULL, *room = NULL;
	gboolean ship = FALSE;
	gint chunk = 0, inflight = 0;
	GOptionEntry entries[] = {
	    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config, "recorder configuration", "FILE"},
	    {"room", 'r', 0, G_OPTION_ARG_STRING, &room, "room id for topics", "ROOM"},
	    {"ship", 's', 0, G_OPTION_ARG_NONE, &ship, "run the shipper with a printing publish",
	     NULL},
	    {"chunk", 0, 0, G_OPTION_ARG_INT, &chunk, "chunk bytes", "N"},
	    {"inflight", 0, 0, G_OPTION_ARG_INT, &inflight, "segments in flight", "N"},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	GError *err = NULL;
	g_log_writer_default_set_use_stderr(TRUE); /* stdout carries only JSON lines */
	GOptionContext *oc = g_option_context_new("- record streams into a spool");
	g_option_context_add_main_entries(oc, entries, NULL);
	g_option_context_add_group(oc, gst_init_get_option_group());
	int ret = 2;
	struct driver d = {.ship = ship};
	if (!g_option_context_parse(oc, &argc, &argv, &err) || !config) {
		fprintf(stderr, "evalroom-recorder-test: %s\n",
		        err ? err->message : "--config is required");
		g_clear_error(&err);
		goto out_opts;
	}
	d.ship = ship;
	gst_init(&argc, &argv);
	GError *cfg_err = NULL;
	if (recorder_config_load(config, &d.cfg, &cfg_err)) {
		fprintf(stderr, "evalroom-recorder-test: %s\n", cfg_err->message);
		g_error_free(cfg_err);
		goto out_opts;
	}
	ret = 1;
	if (g_mkdir_with_parents(d.cfg->spool_dir, 0750)) {
		fprintf(stderr, "evalroom-recorder-test: mkdir %s: %s\n", d.cfg->spool_dir,
		        g_strerror(errno));
		goto out_cfg;
	}
	char *db = g_build_filename(d.cfg->spool_dir, "spool.db", NULL);
	int rc = spool_open(db, &d.sp);
	g_free(db);
	if (rc)
		goto out_cfg;
	struct shipper_ops ops = {.publish = fake_publish};
	struct shipper_options so = {.room = room ? room : "room1",
	                             .chunk_bytes = (size_t)MAX(chunk, 0),
	                             .max_inflight = (unsigned)MAX(inflight, 0)};
	if (shipper_new(d.sp, &ops, &d, &so, &d.sh)) {
		fprintf(stderr, "evalroom-recorder-test: bad --room or --chunk\n");
		goto out_spool;
	}
	struct recorder_events ev = {on_segment, on_state, on_gap, on_space, NULL};
	if (recorder_new(d.cfg, d.sp, &ev, &d, &d.rec))
		goto out_shipper;
	d.loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGINT, on_signal, &d);
	g_unix_signal_add(SIGTERM, on_signal, &d);
	GIOChannel *in = g_io_channel_unix_new(0);
	g_io_add_watch(in, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, &d);
	if (recorder_start(d.rec))
		goto out_loop;
	print_json(json_pack("{s:s, s:i}", "event", "ready", "pid", (int)getpid()));
	kick(&d);
	g_main_loop_run(d.loop);
	recorder_stop(d.rec);
	print_json(json_pack("{s:s}", "event", "stopped"));
	ret = 0;
out_loop:
	g_io_channel_unref(in);
	g_main_loop_unref(d.loop);
	recorder_free(d.rec);
out_shipper:
	shipper_free(d.sh);
out_spool:
	spool_free(d.sp);
out_cfg:
	recorder_config_free(d.cfg);
out_opts:
	g_option_context_free(oc);
	g_free(config);
	g_free(room);
	return ret;
}
