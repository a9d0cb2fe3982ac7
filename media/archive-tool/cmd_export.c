/* evalroom-archive export: a stream's segments in a time range, remuxed (never re-encoded)
 * from the stored MPEG-TS into one MP4: TS bytes -> tsdemux -> parsers -> mp4mux. */
#include <errno.h>
#include <glib/gi18n.h>
#include <gst/gst.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "leaf.h"
#include "tool.h"

/* Writes the stream's segments overlapping [from, to) to `ts`, checking each one's SHA-256
 * against its record so a clip is never cut from altered media. Returns segments written. */
static int64_t write_segments(sqlite3 *db, const char *stream, int64_t from, int64_t to, FILE *ts,
                              int64_t *first_us, int64_t *last_us, int list)
{
	sqlite3_stmt *seg, *chunk;
	int64_t n = 0;

	if (sqlite3_prepare_v2(db,
	                       "SELECT id, seq, start_us, end_us, sha256 FROM segments WHERE "
	                       "stream = ? AND end_us > ? AND start_us < ? ORDER BY seq",
	                       -1, &seg, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_prepare_v2(
	        db,
	        "SELECT data FROM segment_chunks "
	        "WHERE id BETWEEN ?1 * 1048576 AND ?1 * 1048576 + 1048575 ORDER BY id",
	        -1, &chunk, NULL) != SQLITE_OK) {
		sqlite3_finalize(seg);
		return -EIO;
	}
	sqlite3_bind_text(seg, 1, stream, -1, SQLITE_STATIC);
	sqlite3_bind_int64(seg, 2, from);
	sqlite3_bind_int64(seg, 3, to);
	while (sqlite3_step(seg) == SQLITE_ROW) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		uint8_t digest[32];
		int bad;

		EVP_DigestInit_ex(md, EVP_sha256(), NULL);
		sqlite3_bind_int64(chunk, 1, sqlite3_column_int64(seg, 0));
		while (sqlite3_step(chunk) == SQLITE_ROW) {
			const void *p = sqlite3_column_blob(chunk, 0);
			size_t len = (size_t)sqlite3_column_bytes(chunk, 0);

			EVP_DigestUpdate(md, p, len);
			if (len && fwrite(p, 1, len, ts) != len)
				n = -EIO;
		}
		sqlite3_reset(chunk);
		EVP_DigestFinal_ex(md, digest, NULL);
		EVP_MD_CTX_free(md);
		bad = sqlite3_column_bytes(seg, 4) != 32 ||
		      memcmp(digest, sqlite3_column_blob(seg, 4), 32) != 0;
		if (bad) {
			tool_err(
			    _("segments row %lld (seq %lld): media does not match its SHA-256; "
			      "run verify"),
			    sqlite3_column_int64(seg, 0), sqlite3_column_int64(seg, 1));
			n = -EBADMSG;
		}
		if (n < 0)
			break;
		if (n == 0)
			*first_us = sqlite3_column_int64(seg, 2);
		*last_us = sqlite3_column_int64(seg, 3);
		if (list)
			printf(_("  segments row %lld  seq %lld\n"), sqlite3_column_int64(seg, 0),
			       sqlite3_column_int64(seg, 1));
		n++;
	}
	sqlite3_finalize(chunk);
	sqlite3_finalize(seg);
	return n;
}

/* A camera's stream may carry an access unit whose PES had no PTS (a key frame that
 * arrived in its own RTP packets with its parameter sets, seen with G.711 cameras
 * recorded through rtph264depay): mp4mux refuses a buffer without PTS ("Could not
 * multiplex stream"). Such a frame is shown at its decoding time, which for the
 * cameras' streams without B-frames is its presentation time. */
static GstPadProbeReturn pts_from_dts(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);

	(void)pad;
	(void)data;
	if (b && !GST_BUFFER_PTS_IS_VALID(b) && GST_BUFFER_DTS_IS_VALID(b)) {
		b = gst_buffer_make_writable(b);
		GST_BUFFER_PTS(b) = GST_BUFFER_DTS(b);
		GST_PAD_PROBE_INFO_DATA(info) = b;
	}
	return GST_PAD_PROBE_OK;
}

/* tsdemux pads appear once the PMT is parsed: give each a queue and the right parser into
 * mp4mux; anything mp4 cannot carry goes to a fakesink so the demuxer is never unlinked. */
static void on_pad(GstElement *demux, GstPad *pad, gpointer data)
{
	GstElement *pipe = data, *mux = gst_bin_get_by_name(GST_BIN(pipe), "mux");
	GstCaps *caps = gst_pad_get_current_caps(pad);
	const char *name = caps ? gst_structure_get_name(gst_caps_get_structure(caps, 0)) : "";
	const char *parser = NULL, *tmpl = NULL;
	GstElement *queue, *parse;
	GstPad *sink;

	if (g_str_has_prefix(name, "video/"))
		g_object_set_data_full(G_OBJECT(pipe), "video-codec", g_strdup(name), g_free);
	if (!strcmp(name, "video/x-h264")) {
		parser = "h264parse";
		tmpl = "video_%u";
	} else if (!strcmp(name, "video/x-h265")) {
		parser = "h265parse";
		tmpl = "video_%u";
	} else if (!strcmp(name, "audio/x-opus")) {
		parser = "opusparse";
		tmpl = "audio_%u";
	} else if (!strcmp(name, "audio/mpeg")) {
		parser = "aacparse";
		tmpl = "audio_%u";
	}
	queue = gst_element_factory_make("queue", NULL);
	/* Room for the camera's own interleave (audio and video PES can be seconds apart):
	 * with the default 1 s a full queue blocks the demuxer while mp4mux waits on the
	 * other track. */
	g_object_set(queue, "max-size-buffers", 0, "max-size-bytes", 0, "max-size-time",
	             (guint64)30 * GST_SECOND, NULL);
	parse = gst_element_factory_make(parser ? parser : "fakesink", NULL);
	gst_bin_add_many(GST_BIN(pipe), queue, parse, NULL);
	gst_element_link(queue, parse);
	if (parser && !gst_element_link_pads(parse, "src", mux, tmpl))
		fprintf(stderr, _("evalroom-archive: cannot mux %s into MP4\n"), name);
	if (parser) {
		GstPad *out = gst_element_get_static_pad(parse, "src");
		gst_pad_add_probe(out, GST_PAD_PROBE_TYPE_BUFFER, pts_from_dts, NULL, NULL);
		gst_object_unref(out);
	}
	gst_element_sync_state_with_parent(parse);
	gst_element_sync_state_with_parent(queue);
	sink = gst_element_get_static_pad(queue, "sink");
	gst_pad_link(pad, sink);
	gst_object_unref(sink);
	if (caps)
		gst_caps_unref(caps);
	gst_object_unref(mux);
}

static int remux(const char *ts_path, const char *out_path, char **codec)
{
	GstElement *pipe, *src, *demux, *mux, *sink;
	GstMessage *msg;
	GstBus *bus;
	int rc = 0;

	pipe = gst_pipeline_new("export");
	src = gst_element_factory_make("filesrc", NULL);
	demux = gst_element_factory_make("tsdemux", NULL);
	mux = gst_element_factory_make("mp4mux", "mux");
	sink = gst_element_factory_make("filesink", NULL);
	if (!pipe || !src || !demux || !mux || !sink) {
		tool_err(_("GStreamer elements filesrc/tsdemux/mp4mux/filesink missing "
		           "(gstreamer1.0-plugins-good/-bad)"));
		return -ENOENT;
	}
	g_object_set(src, "location", ts_path, NULL);
	g_object_set(sink, "location", out_path, NULL);
	gst_bin_add_many(GST_BIN(pipe), src, demux, mux, sink, NULL);
	gst_element_link(src, demux);
	gst_element_link(mux, sink);
	g_signal_connect(demux, "pad-added", G_CALLBACK(on_pad), pipe);
	gst_element_set_state(pipe, GST_STATE_PLAYING);
	bus = gst_element_get_bus(pipe);
	msg = gst_bus_timed_pop_filtered(bus, GST_CLOCK_TIME_NONE,
	                                 GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
	if (msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
		GError *err = NULL;

		gst_message_parse_error(msg, &err, NULL);
		tool_err(_("export pipeline: %s"), err->message);
		g_clear_error(&err);
		rc = -EIO;
	}
	if (msg)
		gst_message_unref(msg);
	gst_object_unref(bus);
	gst_element_set_state(pipe, GST_STATE_NULL);
	if (codec)
		*codec = g_strdup(g_object_get_data(G_OBJECT(pipe), "video-codec"));
	gst_object_unref(pipe);
	return rc;
}

int export_clip(sqlite3 *db, const char *stream, int64_t from, int64_t to, const char *mp4,
                int list, struct export_result *res)
{
	char *ts_path = g_strdup_printf("%s.XXXXXX.ts", mp4);
	int fd = g_mkstemp(ts_path), rc;
	FILE *ts = fd >= 0 ? fdopen(fd, "w") : NULL;
	int64_t n;

	memset(res, 0, sizeof(*res));
	if (!ts) {
		tool_err("%s: %s", ts_path, g_strerror(errno));
		if (fd >= 0)
			close(fd);
		g_free(ts_path);
		return -EIO;
	}
	n = write_segments(db, stream, from, to, ts, &res->first_us, &res->last_us, list);
	if (fclose(ts) != 0 && n >= 0)
		n = -EIO;
	if (n <= 0) {
		rc = n == 0 ? -ENOENT : (int)n;
		goto out;
	}
	res->segments = n;
	gst_init(NULL, NULL);
	rc = remux(ts_path, mp4, &res->codec);
out:
	unlink(ts_path);
	g_free(ts_path);
	return rc;
}

int cmd_export(int argc, char **argv)
{
	char *stream = NULL, *from_s = NULL, *to_s = NULL, *out = NULL;
	GOptionEntry opts[] = {
	    {"stream", 's', 0, G_OPTION_ARG_STRING, &stream, N_("stream id (see info)"), "S"},
	    {"from", 'f', 0, G_OPTION_ARG_STRING, &from_s, N_("start (default: the beginning)"),
	     "T"},
	    {"to", 't', 0, G_OPTION_ARG_STRING, &to_s, N_("end (default: the end)"), "T"},
	    {"output", 'o', 0, G_OPTION_ARG_FILENAME, &out, N_("the MP4 to write"), "CLIP.mp4"},
	    {NULL, 0, 0, 0, NULL, NULL, NULL}};
	int64_t from = 0, to = INT64_MAX;
	struct archive_reader *r = NULL;
	struct export_result res;
	char a[64], b[64];
	int mux_rc, rc = EXIT_USAGE;

	if (!tool_parse(
	        &argc, &argv, "FILE",
	        N_("Writes the segments of one stream that overlap [--from, --to) as one MP4, "
	           "remuxed without re-encoding (whole segments: the clip starts at the "
	           "segment key frame at or before --from). Each segment's SHA-256 is checked "
	           "first. Lists the segment rows used (for proof)."),
	        opts, 1))
		goto out;
	if (!stream || !out) {
		tool_err(_("export needs --stream and -o"));
		goto out;
	}
	if ((from_s && leaf_parse_time(from_s, &from)) || (to_s && leaf_parse_time(to_s, &to))) {
		tool_err(
		    _("--from/--to: expected ISO 8601 (2026-11-25T09:00:00Z) or microseconds"));
		goto out;
	}
	rc = EXIT_BAD_FILE;
	r = tool_open(argv[1]);
	if (!r)
		goto out;
	printf(_("export %s stream %s:\n"), argv[1], stream);
	mux_rc = export_clip(archive_reader_db(r), stream, from, to, out, 1, &res);
	/* Releases GStreamer's registry and thread pools so leak checkers see only our memory. */
	if (res.segments)
		gst_deinit();
	if (mux_rc == -ENOENT)
		tool_err(_("stream %s has no segments in that range"), stream);
	if (mux_rc == 0) {
		clock_format_us(res.first_us, a, sizeof(a));
		clock_format_us(res.last_us, b, sizeof(b));
		printf(_("wrote %s: %lld segments, %s .. %s\n"), out, (long long)res.segments, a,
		       b);
		rc = EXIT_INTACT;
	} else {
		rc = mux_rc == -EBADMSG ? EXIT_TAMPERED : EXIT_FAILED;
	}
	g_free(res.codec);
out:
	archive_reader_free(r);
	g_free(stream);
	g_free(from_s);
	g_free(to_s);
	g_free(out);
	return rc;
}
