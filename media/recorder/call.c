/* A recorded two-way audio call between a seat and a witness's browser (call.h). */
#include "call.h"

#include <errno.h>
#include <gio/gio.h>
#include <gst/sdp/sdp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recorder_config.h"
#include "segment_file.h"
#include "webrtc_answer.h"

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#define STEP_TIMEOUT_MS   10000
#define GATHER_TIMEOUT_MS 3000
#define FINISH_TIMEOUT_MS 3000 /* the recordings' last segments after a hang-up */
#define OPUS_BITRATE      32000

/* One direction's recording: queue ! splitmuxsink (mpegtsmux) into the spool. */
struct rec_branch {
	char stream[SPOOL_NAME_MAX];
	char *dir;
	GstElement *queue, *mux; /* NULL until built (the witness's: when its audio arrives) */
	int64_t next_seq;
	int64_t cur_seq, cur_start_us; /* the segment being written, cur_seq 0 if none */
	char cur_path[SPOOL_PATH_MAX];
};

struct call {
	gint refs;
	char name[CALL_NAME_MAX + 1];
	char *microphone, *speaker;
	unsigned segment_ms;
	struct spool *spool;
	const struct call_events *ev;
	void *user;
	GMainContext *ctx;
	GstElement *pipeline, *webrtc;
	GMutex lock; /* witness.queue/mux, built on a streaming thread */
	struct rec_branch seat, witness;
	GstSDPMessage *offer; /* until the negotiator takes it */
	GstCaps *acodec;      /* the offer's Opus payload */
	GThread *negotiator;
	char *answer;
	GError *err;
	guint bus_watch, finish_timer;
	gboolean have_offset;
	int64_t epoch_offset_us; /* wall-clock µs of running time zero */
	_Atomic int closed;      /* hung up: no more callbacks but segment */
	_Atomic int ending;      /* an end was reported already */
};

static struct call *call_ref(struct call *c)
{
	g_atomic_int_inc(&c->refs);
	return c;
}

static void call_unref(struct call *c)
{
	if (!g_atomic_int_dec_and_test(&c->refs))
		return;
	if (c->bus_watch)
		g_source_remove(c->bus_watch);
	if (c->pipeline)
		gst_object_unref(c->pipeline);
	if (c->offer)
		gst_sdp_message_free(c->offer);
	if (c->acodec)
		gst_caps_unref(c->acodec);
	g_main_context_unref(c->ctx);
	g_mutex_clear(&c->lock);
	g_free(c->seat.dir);
	g_free(c->witness.dir);
	g_free(c->microphone);
	g_free(c->speaker);
	g_free(c->answer);
	g_clear_error(&c->err);
	g_free(c);
}

/* ---- the recordings ---- */

static int branch_init(struct call *c, struct rec_branch *b, const char *spool_dir,
                       const char *suffix, GError **err)
{
	snprintf(b->stream, sizeof(b->stream), "%s-%s", c->name, suffix);
	b->dir = g_build_filename(spool_dir, b->stream, NULL);
	if (g_mkdir_with_parents(b->dir, 0700) != 0) {
		int e = errno;
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(e), "%s: %s", b->dir,
		            g_strerror(e));
		return -e;
	}
	int64_t last_end = -1;
	b->next_seq = 1;
	if (spool_stream_position(c->spool, b->stream, &b->next_seq, &last_end) != 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "spool: %s: no position", b->stream);
		return -EIO;
	}
	return 0;
}

/* branch_build: queue ! splitmuxsink for B in the pipeline, linked from SRC (a pad);
 * FALSE when an element is missing or a link fails. */
static gboolean branch_build(struct call *c, struct rec_branch *b, GstPad *src)
{
	GstElement *q = gst_element_factory_make("queue", NULL);
	GstElement *mux = gst_element_factory_make("splitmuxsink", NULL);
	GstElement *ts = gst_element_factory_make("mpegtsmux", NULL);
	if (!q || !mux || !ts) {
		if (q)
			gst_object_unref(gst_object_ref_sink(q));
		if (mux)
			gst_object_unref(gst_object_ref_sink(mux));
		if (ts)
			gst_object_unref(gst_object_ref_sink(ts));
		return FALSE;
	}
	char *loc = g_build_filename(b->dir, SEGMENT_FILE_PATTERN, NULL);
	g_object_set(mux, "location", loc, "max-size-time", (guint64)c->segment_ms * 1000000,
	             "start-index", (gint)b->next_seq, "muxer", ts, NULL);
	g_free(loc);
	gst_bin_add_many(GST_BIN(c->pipeline), q, mux, NULL);
	GstPad *qsink = gst_element_get_static_pad(q, "sink");
	GstPad *qsrc = gst_element_get_static_pad(q, "src");
	GstPad *mpad = gst_element_request_pad_simple(mux, "audio_%u");
	gboolean ok = gst_pad_link(src, qsink) == GST_PAD_LINK_OK && mpad &&
	              gst_pad_link(qsrc, mpad) == GST_PAD_LINK_OK;
	if (mpad)
		gst_object_unref(mpad);
	gst_object_unref(qsink);
	gst_object_unref(qsrc);
	b->queue = q;
	b->mux = mux;
	return ok;
}

static int64_t fragment_time_us(struct call *c, const GstStructure *st)
{
	guint64 rt = 0;
	gst_structure_get_uint64(st, "running-time", &rt);
	if (!c->have_offset) {
		/* the pipeline is live: its running time follows the system clock */
		GstClock *clk = gst_element_get_clock(c->pipeline);
		int64_t rt_now = 0;
		if (clk) {
			rt_now = (int64_t)((gst_clock_get_time(clk) -
			                    gst_element_get_base_time(c->pipeline)) /
			                   1000);
			gst_object_unref(clk);
		}
		c->epoch_offset_us = g_get_real_time() - rt_now;
		c->have_offset = TRUE;
	}
	return c->epoch_offset_us + (int64_t)(rt / 1000);
}

/* spool_closed: SEG (its stream, seq, start, end and path set) sealed and added to SP;
 * an empty or unreadable file is forgotten. 0, or -errno (logged). */
static int spool_closed(struct spool *sp, struct spool_segment *seg)
{
	int rc = segment_file_seal(seg->path, seg->sha256, &seg->size);
	if (rc || seg->size == 0) {
		if (rc)
			g_warning("call segment %s: %s", seg->path, g_strerror(-rc));
		spool_segment_abandon(sp, seg->stream, seg->seq);
		segment_file_remove(seg->path);
		return rc ? rc : -ENODATA;
	}
	rc = spool_segment_add(sp, seg);
	if (rc)
		g_warning("call segment %s not spooled: %s", seg->path, g_strerror(-rc));
	return rc;
}

/* branch_spool: the closed segment of B (cur_*) ending at END_US into the spool,
 * reported to the owner. */
static void branch_spool(struct call *c, struct rec_branch *b, int64_t end_us)
{
	struct spool_segment seg = {0};
	g_strlcpy(seg.stream, b->stream, sizeof(seg.stream));
	g_strlcpy(seg.path, b->cur_path, sizeof(seg.path));
	seg.seq = b->cur_seq;
	seg.start_us = b->cur_start_us;
	seg.end_us = MAX(end_us, b->cur_start_us);
	b->cur_seq = 0;
	if (spool_closed(c->spool, &seg) == 0 && c->ev->segment)
		c->ev->segment(c->user, &seg);
}

int call_recover(struct spool *sp, void (*segment)(void *user, const struct spool_segment *seg),
                 void *user)
{
	struct spool_open_segment *open = NULL;
	size_t n = 0;
	int found = 0;
	if (spool_open_segments(sp, NULL, &open, &n) != 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!g_str_has_prefix(open[i].stream, "call-"))
			continue; /* the recorder's own */
		struct spool_segment seg = {0};
		g_strlcpy(seg.stream, open[i].stream, sizeof(seg.stream));
		g_strlcpy(seg.path, open[i].path, sizeof(seg.path));
		seg.seq = open[i].seq;
		seg.start_us = open[i].start_us;
		seg.recovered = 1;
		if (segment_file_mtime_us(seg.path, &seg.end_us) != 0)
			seg.end_us = seg.start_us;
		seg.end_us = MAX(seg.end_us, seg.start_us);
		g_message("call: recovering partial segment %" G_GINT64_FORMAT " of %s", seg.seq,
		          seg.stream);
		if (spool_closed(sp, &seg) == 0) {
			found++;
			if (segment)
				segment(user, &seg);
		}
	}
	g_free(open);
	return found;
}

static void on_fragment(struct call *c, struct rec_branch *b, const GstStructure *st,
                        gboolean opened)
{
	const char *loc = gst_structure_get_string(st, "location");
	int64_t seq = loc ? segment_file_seq(loc) : 0;
	if (!seq)
		return;
	int64_t t = fragment_time_us(c, st);
	if (opened) {
		b->cur_seq = seq;
		b->cur_start_us = t;
		b->next_seq = seq + 1;
		g_strlcpy(b->cur_path, loc, sizeof(b->cur_path));
		if (spool_segment_begin(c->spool, b->stream, seq, t, loc) != 0)
			g_warning("call %s: segment %s not noted as open", c->name, loc);
		return;
	}
	if (b->cur_seq == seq)
		branch_spool(c, b, t);
}

/* ---- ending ---- */

static gpointer stop_thread(gpointer data)
{
	struct call *c = data;
	if (c->negotiator)
		g_thread_join(c->negotiator);
	c->negotiator = NULL;
	gst_element_set_state(c->pipeline, GST_STATE_NULL);
	call_unref(c);
	return NULL;
}

/* finish: the recordings are done (or given up): stop the pipeline on a thread of its
 * own (webrtcbin can take a while to close its ICE agent). */
static void finish(struct call *c)
{
	if (c->finish_timer) {
		g_source_remove(c->finish_timer);
		c->finish_timer = 0;
	}
	if (c->bus_watch) {
		g_source_remove(c->bus_watch);
		c->bus_watch = 0;
	}
	if (c->ev->finished)
		c->ev->finished(c->user);
	g_thread_unref(g_thread_new("call-stop", stop_thread, c)); /* the caller's reference */
}

static gboolean recordings_done(struct call *c)
{
	return c->seat.cur_seq == 0 && c->witness.cur_seq == 0;
}

static gboolean finish_due(gpointer data)
{
	struct call *c = data;
	c->finish_timer = 0;
	/* what reached the disk is kept: MPEG-TS plays up to its last packet */
	int64_t now = g_get_real_time();
	if (c->seat.cur_seq)
		branch_spool(c, &c->seat, now);
	if (c->witness.cur_seq)
		branch_spool(c, &c->witness, now);
	finish(c);
	return G_SOURCE_REMOVE;
}

static void send_eos(struct rec_branch *b)
{
	if (!b->queue)
		return;
	GstPad *sink = gst_element_get_static_pad(b->queue, "sink");
	gst_pad_send_event(sink, gst_event_new_eos());
	gst_object_unref(sink);
}

void call_rebind(struct call *c, const struct call_events *ev, void *user)
{
	c->ev = ev;
	c->user = user;
}

void call_hangup(struct call *c)
{
	if (!c || atomic_exchange(&c->closed, 1))
		return;
	g_mutex_lock(&c->lock); /* no witness branch is built after this */
	g_mutex_unlock(&c->lock);
	send_eos(&c->seat);
	send_eos(&c->witness);
	if (recordings_done(c))
		finish(c);
	else
		c->finish_timer = g_timeout_add(FINISH_TIMEOUT_MS, finish_due, c);
}

static gboolean report_ended(gpointer data)
{
	struct call *c = data;
	const char *reason = c->err ? c->err->message : "the call ended";
	if (!atomic_load(&c->closed) && c->ev->ended)
		c->ev->ended(c->user, reason);
	call_unref(c);
	return G_SOURCE_REMOVE;
}

/* call_gone: the call ended by itself (REASON): the owner is told on the main loop,
 * once. */
static void call_gone(struct call *c, const char *reason)
{
	if (atomic_exchange(&c->ending, 1) || atomic_load(&c->closed))
		return;
	g_mutex_lock(&c->lock);
	if (!c->err)
		c->err = g_error_new_literal(G_IO_ERROR, G_IO_ERROR_CLOSED, reason);
	g_mutex_unlock(&c->lock);
	g_main_context_invoke(c->ctx, report_ended, call_ref(c));
}

static gboolean on_bus(GstBus *bus, GstMessage *m, gpointer data)
{
	struct call *c = data;

	if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT) {
		const GstStructure *st = gst_message_get_structure(m);
		gboolean opened = gst_structure_has_name(st, "splitmuxsink-fragment-opened");
		if (!opened && !gst_structure_has_name(st, "splitmuxsink-fragment-closed"))
			return G_SOURCE_CONTINUE;
		g_mutex_lock(&c->lock);
		struct rec_branch *b = GST_MESSAGE_SRC(m) == GST_OBJECT(c->seat.mux) ? &c->seat
		                       : GST_MESSAGE_SRC(m) == GST_OBJECT(c->witness.mux)
		                           ? &c->witness
		                           : NULL;
		g_mutex_unlock(&c->lock);
		if (b)
			on_fragment(c, b, st, opened);
		if (atomic_load(&c->closed) && c->finish_timer && recordings_done(c))
			finish(c);
	} else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
		GError *why = NULL;
		gst_message_parse_error(m, &why, NULL);
		g_message("call %s: %s: %s", c->name, GST_OBJECT_NAME(GST_MESSAGE_SRC(m)),
		          why ? why->message : "error");
		g_clear_error(&why);
		call_gone(c, "the call's media failed");
	}
	return G_SOURCE_CONTINUE;
}

static void on_ice_state(GObject *webrtc, GParamSpec *ps, gpointer data)
{
	GstWebRTCICEConnectionState st;

	g_object_get(webrtc, "ice-connection-state", &st, NULL);
	if (st == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED)
		call_gone(data, "the witness's connection failed (ICE)");
	else if (st == GST_WEBRTC_ICE_CONNECTION_STATE_CLOSED ||
	         st == GST_WEBRTC_ICE_CONNECTION_STATE_DISCONNECTED)
		call_gone(data, "the witness's connection closed (ICE)");
}

static void on_dtls_state(GObject *transport, GParamSpec *ps, gpointer data)
{
	GstWebRTCDTLSTransportState st;

	g_object_get(transport, "state", &st, NULL);
	if (st == GST_WEBRTC_DTLS_TRANSPORT_STATE_CLOSED)
		call_gone(data, "the witness closed the call (DTLS)");
	else if (st == GST_WEBRTC_DTLS_TRANSPORT_STATE_FAILED)
		call_gone(data, "the witness's connection failed (DTLS)");
}

/* ---- negotiation (on a thread of its own) ---- */

static gboolean deliver(gpointer data)
{
	struct call *c = data;
	if (!atomic_load(&c->closed) && c->ev->answered)
		c->ev->answered(c->user, c->err ? NULL : c->answer, c->err);
	call_unref(c);
	return G_SOURCE_REMOVE;
}

static gpointer negotiate(gpointer data)
{
	struct call *c = data;
	GstSDPMessage *offer = c->offer;
	GError *err = NULL;

	c->offer = NULL; /* webrtc_answer takes it */
	char *answer =
	    webrtc_answer(c->webrtc, offer, STEP_TIMEOUT_MS, GATHER_TIMEOUT_MS, &c->closed, &err);
	if (answer)
		webrtc_watch_dtls(c->webrtc, G_CALLBACK(on_dtls_state), c);
	g_mutex_lock(&c->lock);
	c->answer = answer;
	if (err && !c->err)
		c->err = err;
	else
		g_clear_error(&err);
	g_mutex_unlock(&c->lock);
	g_main_context_invoke(c->ctx, deliver, c); /* the thread's reference */
	return NULL;
}

/* ---- the pipeline ---- */

/* parse_bin: a launch fragment as a bin with its unlinked pads ghosted; NULL with *err. */
static GstElement *parse_bin(const char *what, const char *frag, GError **err)
{
	GError *why = NULL;
	GstElement *bin = gst_parse_bin_from_description(frag, TRUE, &why);
	if (!bin) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		            "the call's %s: GStreamer cannot parse it: %s", what,
		            why ? why->message : "?");
		g_clear_error(&why);
	}
	return bin;
}

/* add: a new FACTORY element in BIN, or NULL (*MISSING set) when it is not installed. */
static GstElement *add(GstBin *bin, const char *factory, gboolean *missing)
{
	GstElement *e = gst_element_factory_make(factory, NULL);
	if (!e) {
		g_warning("GStreamer element %s is missing", factory);
		*missing = TRUE;
		return NULL;
	}
	gst_bin_add(bin, e);
	return e;
}

/* link_tee: a new src pad of TEE linked to the sink pad of TO. */
static gboolean link_tee(GstElement *tee, GstElement *to)
{
	GstPad *src = gst_element_request_pad_simple(tee, "src_%u");
	GstPad *sink = gst_element_get_static_pad(to, "sink");
	gboolean ok = src && sink && gst_pad_link(src, sink) == GST_PAD_LINK_OK;
	if (src)
		gst_object_unref(src);
	if (sink)
		gst_object_unref(sink);
	return ok;
}

/* tee_branch: a new src pad of TEE recorded by B. */
static gboolean tee_branch(struct call *c, GstElement *tee, struct rec_branch *b)
{
	GstPad *src = gst_element_request_pad_simple(tee, "src_%u");
	gboolean ok = src && branch_build(c, b, src);
	if (src)
		gst_object_unref(src);
	return ok;
}

/* on_pad_added: the witness's audio arrives: rtpopusdepay ! opusparse ! tee, one branch
 * recorded as it came, one decoded to the speaker. On a streaming thread. */
static void on_pad_added(GstElement *webrtc, GstPad *pad, gpointer data)
{
	struct call *c = data;
	if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
		return;
	g_mutex_lock(&c->lock);
	if (atomic_load(&c->closed) || c->witness.mux) {
		g_mutex_unlock(&c->lock);
		return;
	}
	GError *err = NULL;
	GstBin *bin = GST_BIN(c->pipeline);
	gboolean missing = FALSE;
	GstElement *speaker = parse_bin("speaker", c->speaker, &err);
	GstElement *depay = add(bin, "rtpopusdepay", &missing);
	GstElement *parse = add(bin, "opusparse", &missing);
	GstElement *tee = add(bin, "tee", &missing);
	GstElement *q = add(bin, "queue", &missing);
	GstElement *dec = add(bin, "opusdec", &missing);
	GstElement *conv = add(bin, "audioconvert", &missing);
	GstElement *res = add(bin, "audioresample", &missing);
	gboolean ok = speaker && !missing;
	if (ok) {
		gst_bin_add(bin, speaker);
		ok = gst_element_link_many(depay, parse, tee, NULL) &&
		     gst_element_link_many(q, dec, conv, res, speaker, NULL) && link_tee(tee, q) &&
		     tee_branch(c, tee, &c->witness);
		GstPad *in = gst_element_get_static_pad(depay, "sink");
		ok = ok && gst_pad_link(pad, in) == GST_PAD_LINK_OK;
		gst_object_unref(in);
	}
	if (!ok) {
		g_warning("call %s: the witness's audio cannot be played and recorded: %s", c->name,
		          err ? err->message : "missing elements (gstreamer1.0-plugins-base/good/bad)");
		g_clear_error(&err);
		g_mutex_unlock(&c->lock);
		call_gone(c, "the witness's audio cannot be played and recorded");
		return;
	}
	gst_bin_sync_children_states(bin);
	g_mutex_unlock(&c->lock);
	g_message("call %s: the witness's audio arrives", c->name);
}

/* build: the call's pipeline up to webrtcbin: microphone ! ... ! opusenc ! tee, one
 * branch recorded, one sent. */
static int build(struct call *c, GError **err)
{
	gint pt = 111;
	gst_structure_get_int(gst_caps_get_structure(c->acodec, 0), "payload", &pt);
	c->pipeline = gst_pipeline_new(c->name);
	gst_object_ref_sink(c->pipeline);
	GstBin *bin = GST_BIN(c->pipeline);
	GstElement *mic = parse_bin("microphone", c->microphone, err);
	if (!mic)
		return -EINVAL;
	gst_bin_add(bin, mic);
	gboolean missing = FALSE;
	GstElement *conv = add(bin, "audioconvert", &missing);
	GstElement *res = add(bin, "audioresample", &missing);
	GstElement *filter = add(bin, "capsfilter", &missing);
	GstElement *enc = add(bin, "opusenc", &missing);
	GstElement *tee = add(bin, "tee", &missing);
	GstElement *q = add(bin, "queue", &missing);
	GstElement *pay = add(bin, "rtpopuspay", &missing);
	GstElement *set = add(bin, "capssetter", &missing);
	c->webrtc = add(bin, "webrtcbin", &missing);
	if (missing) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
		            "a call needs audioconvert, audioresample, opusenc, rtpopuspay, "
		            "rtpopusdepay, opusparse, opusdec, capssetter, splitmuxsink, mpegtsmux "
		            "and webrtcbin (gstreamer1.0-plugins-base, -good, -bad, gstreamer1.0-nice)");
		return -ENOTSUP;
	}
	GstCaps *raw = gst_caps_from_string("audio/x-raw,rate=48000,channels=1");
	g_object_set(filter, "caps", raw, NULL);
	gst_caps_unref(raw);
	g_object_set(enc, "bitrate", OPUS_BITRATE, NULL);
	g_object_set(pay, "pt", (guint)pt, NULL);
	g_object_set(set, "caps", c->acodec, "join", TRUE, "replace", FALSE, NULL);
	g_object_set(c->webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
	if (!gst_element_link(mic, conv)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		            "the call's microphone does not give raw audio (end it with the "
		            "source, e.g. \"alsasrc device=hw:1\" or \"audiotestsrc is-live=true\")");
		return -EINVAL;
	}
	gboolean ok = gst_element_link_many(conv, res, filter, enc, tee, NULL) &&
	              gst_element_link_many(q, pay, set, NULL) && link_tee(tee, q);
	GstPad *wsink = ok ? gst_element_request_pad_simple(c->webrtc, "sink_%u") : NULL;
	GstPad *ssrc = gst_element_get_static_pad(set, "src");
	ok = ok && wsink && gst_pad_link(ssrc, wsink) == GST_PAD_LINK_OK;
	if (ok) {
		GstWebRTCRTPTransceiver *tr = NULL;
		g_object_get(wsink, "transceiver", &tr, NULL);
		if (tr) {
			g_object_set(tr, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV,
			             "codec-preferences", c->acodec, NULL);
			gst_object_unref(tr);
		}
	}
	gst_object_unref(ssrc);
	if (wsink)
		gst_object_unref(wsink);
	ok = ok && tee_branch(c, tee, &c->seat);
	if (!ok) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot link the call's pipeline");
		return -EIO;
	}
	g_signal_connect(c->webrtc, "pad-added", G_CALLBACK(on_pad_added), c);
	g_signal_connect(c->webrtc, "notify::ice-connection-state", G_CALLBACK(on_ice_state), c);
	GstBus *bus = gst_element_get_bus(c->pipeline);
	c->bus_watch = gst_bus_add_watch(bus, on_bus, c);
	gst_object_unref(bus);
	if (gst_element_set_state(c->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
		            "the call's pipeline did not start (its microphone or speaker?)");
		return -EIO;
	}
	return 0;
}

int call_start(const struct call_params *p, const char *offer, const struct call_events *ev,
               void *user, struct call **out, GError **err)
{
	GstSDPMessage *sdp = NULL;
	int rc;

	if (!p->name || !*p->name || strlen(p->name) > CALL_NAME_MAX) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "a bad call name");
		return -EINVAL;
	}
	if (gst_sdp_message_new_from_text(offer, &sdp) != GST_SDP_OK ||
	    gst_sdp_message_medias_len(sdp) == 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		            "the offer is not an SDP offer with media");
		if (sdp)
			gst_sdp_message_free(sdp);
		return -EINVAL;
	}
	struct call *c = g_new0(struct call, 1);
	c->refs = 1;
	g_strlcpy(c->name, p->name, sizeof(c->name));
	c->microphone = g_strdup(p->microphone);
	c->speaker = g_strdup(p->speaker);
	c->segment_ms = p->segment_ms ? p->segment_ms : 4000;
	c->spool = p->spool;
	c->ev = ev;
	c->user = user;
	c->ctx = g_main_context_ref_thread_default();
	g_mutex_init(&c->lock);
	c->offer = sdp;
	c->acodec = webrtc_offer_opus(sdp);
	if (!c->acodec) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		            "the offer has no Opus audio: a call is Opus both ways");
		rc = -EINVAL;
		goto err_free;
	}
	if ((rc = branch_init(c, &c->seat, p->spool_dir, "seat", err)) != 0 ||
	    (rc = branch_init(c, &c->witness, p->spool_dir, "witness", err)) != 0 ||
	    (rc = build(c, err)) != 0)
		goto err_free;
	c->negotiator = g_thread_new("call-offer", negotiate, call_ref(c));
	*out = c;
	return 0;
err_free:
	if (c->bus_watch) {
		g_source_remove(c->bus_watch);
		c->bus_watch = 0;
	}
	if (c->pipeline)
		gst_element_set_state(c->pipeline, GST_STATE_NULL);
	call_unref(c);
	return rc;
}
