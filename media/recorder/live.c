/* Live viewing of a recorded stream over WebRTC (live.h, docs/live.md). */
#include "live.h"

#include <errno.h>
#include <gio/gio.h>
#include <gst/app/gstappsrc.h>
#include <gst/pbutils/codec-utils.h>
#include <gst/sdp/sdp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#define VIEWER_ID_MAX     63
#define STEP_TIMEOUT_MS   10000 /* each webrtcbin step; the first viewer of the process waits for its DTLS key */
#define GATHER_TIMEOUT_MS 3000 /* host candidates: quick; the answer goes with what is there */
#define VIEWER_QUEUE_BUFS 30   /* a stalled viewer keeps at most this many frames */

struct live_tap {
	char *stream;
	GMainContext *ctx;
	live_ended_fn ended;
	void *user;
	GMutex lock;         /* viewers, caps and each viewer's push state */
	GPtrArray *viewers;  /* struct live_viewer * (a reference each) */
	GstCaps *caps;       /* the video's current caps, NULL before the first */
	GstCaps *audio_caps; /* the audio's (Opus is passed through), NULL without audio */
	_Atomic unsigned n;  /* viewers.len, read without the lock by the probe */
	_Atomic bool skipped; /* the probe let a buffer pass with no viewer */
	GstBuffer *held;     /* a key frame waiting for its other slices (tap_frame) */
	GstClock *clock;     /* the system clock: the viewers' pipelines run on it */
};

struct live_viewer {
	gint refs;
	struct live_tap *tap; /* valid while !closed (both on the main loop) */
	GMainContext *ctx;    /* the tap's (a reference) */
	char id[VIEWER_ID_MAX + 1];
	GstElement *pipeline, *src, *webrtc;
	GstElement *asrc;     /* the audio's appsrc, NULL when the view has no audio */
	/* push state, under tap->lock */
	GstCaps *src_caps;
	GstCaps *asrc_caps;
	gboolean keyframe_seen;
	gboolean feeding;
	/* negotiation */
	GstSDPMessage *offer; /* owned until handed to webrtcbin */
	GstCaps *codec;       /* the offer's H.264 payload we answer with */
	GstCaps *acodec;      /* the offer's Opus payload, NULL for no audio */
	live_answer_fn cb;
	void *cb_user;
	GThread *negotiator;
	GMutex lock; /* gathered, promise_done */
	GCond cond;
	gboolean gathered;
	gboolean promise_done;
	char *answer;
	GError *err;
	_Atomic int closed; /* set on the main loop; read by the threads to give up early */
	_Atomic int ending; /* an end was reported already */
};

static void watch_rtcp(struct live_viewer *v);

static struct live_viewer *viewer_ref(struct live_viewer *v)
{
	g_atomic_int_inc(&v->refs);
	return v;
}

static void viewer_unref(struct live_viewer *v)
{
	if (!g_atomic_int_dec_and_test(&v->refs))
		return;
	if (v->pipeline)
		gst_object_unref(v->pipeline);
	if (v->offer)
		gst_sdp_message_free(v->offer);
	if (v->codec)
		gst_caps_unref(v->codec);
	if (v->src_caps)
		gst_caps_unref(v->src_caps);
	if (v->acodec)
		gst_caps_unref(v->acodec);
	if (v->asrc_caps)
		gst_caps_unref(v->asrc_caps);
	if (v->ctx)
		g_main_context_unref(v->ctx);
	g_mutex_clear(&v->lock);
	g_cond_clear(&v->cond);
	g_free(v->answer);
	g_clear_error(&v->err);
	g_free(v);
}

/* ---- the tap: buffers of the recording pipeline to every viewer ---- */

/* src_push: BUF (borrowed) to the appsrc SRC of V's pipeline (under tap->lock), its caps
 * first set to CAPS when they changed (HAVE: the caps SRC has). The media is shared, not
 * copied; the timestamps are the viewer pipeline's running time now (the buffer is
 * live). Never blocks: the appsrc is leaky and bounded. */
static void src_push(struct live_tap *t, struct live_viewer *v, GstElement *src,
                     GstCaps **have, GstCaps *caps, GstBuffer *buf)
{
	if (*have != caps) {
		gst_app_src_set_caps(GST_APP_SRC(src), caps);
		gst_caps_replace(have, caps);
	}
	GstBuffer *c = gst_buffer_copy(buf);
	GstClockTime now = gst_clock_get_time(t->clock);
	GstClockTime base = gst_element_get_base_time(v->pipeline);
	GST_BUFFER_PTS(c) = GST_BUFFER_DTS(c) = now > base ? now - base : 0;
	GST_BUFFER_DURATION(c) = GST_CLOCK_TIME_NONE;
	gst_app_src_push_buffer(GST_APP_SRC(src), c);
}

/* viewer_push: one encoded frame to V's video appsrc (under tap->lock). Frames before
 * the first key frame are useless to a decoder and skipped. */
static void viewer_push(struct live_tap *t, struct live_viewer *v, GstBuffer *buf)
{
	if (!v->feeding || !t->caps)
		return;
	if (!v->keyframe_seen) {
		if (GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT))
			return;
		v->keyframe_seen = TRUE;
	}
	src_push(t, v, v->src, &v->src_caps, t->caps, buf);
}

static void fan_out(struct live_tap *t, GstBuffer *buf)
{
	for (guint i = 0; i < t->viewers->len; i++)
		viewer_push(t, t->viewers->pdata[i], buf);
}

/* slices_only: the NAL units of PART (an Annex B byte stream, borrowed) other than
 * SPS (7), PPS (8) and access unit delimiters (9), with their start codes, as a new
 * buffer; NULL when nothing is left. A later part of a picture that repeats them would
 * look to a browser's depacketizer like the start of a new picture. */
static GstBuffer *slices_only(GstBuffer *part)
{
	GstMapInfo map;
	if (!gst_buffer_map(part, &map, GST_MAP_READ))
		return NULL;
	const guint8 *d = map.data;
	gsize n = map.size, i = 0, start = G_MAXSIZE;
	GByteArray *out = g_byte_array_sized_new((guint)n);
	for (;;) {
		/* the next start code (00 00 01) at or after i, or n */
		gsize sc = i;
		while (sc + 3 <= n && !(d[sc] == 0 && d[sc + 1] == 0 && d[sc + 2] == 1))
			sc++;
		if (sc + 3 > n)
			sc = n;
		if (start != G_MAXSIZE) { /* the NAL unit from start to sc */
			gsize end = sc;
			while (end > start && sc < n && d[end - 1] == 0) /* a 4-byte start code's 00 */
				end--;
			guint type = start < end ? d[start] & 0x1f : 0;
			if (start < end && type != 7 && type != 8 && type != 9) {
				static const guint8 code[4] = {0, 0, 0, 1};
				g_byte_array_append(out, code, 4);
				g_byte_array_append(out, d + start, (guint)(end - start));
			}
		}
		if (sc >= n)
			break;
		start = sc + 3;
		i = start;
	}
	gst_buffer_unmap(part, &map);
	if (out->len == 0) {
		g_byte_array_unref(out);
		return NULL;
	}
	return gst_buffer_new_wrapped_bytes(g_byte_array_free_to_bytes(out));
}

/* tap_frame: BUF (borrowed), a buffer of the recorded video, to every viewer (under
 * t->lock). A key frame may come as several buffers: an RTSP camera that repeats SPS and
 * PPS before each slice of an IDR picture makes the parser start a new access unit at
 * each slice, and the later parts carry no PTS (docs/recording.md). Sent as they are,
 * each part would get its own RTP timestamp and marker, and a browser would decode two
 * half pictures, every later frame predicted from the broken one. So a key frame waits
 * for the next buffer, the slices of parts without a PTS are joined to it (their SPS,
 * PPS and delimiters left out), and the whole picture goes out as one. Only key frames
 * wait (one frame's time, once a GOP). */
static void tap_frame(struct live_tap *t, GstBuffer *buf)
{
	gboolean part = !GST_BUFFER_PTS_IS_VALID(buf);
	if (part) {
		GstBuffer *slices = t->held ? slices_only(buf) : NULL;
		if (slices) /* a part of a picture whose start was not seen is useless */
			t->held = gst_buffer_append(t->held, slices);
		return;
	}
	if (t->held) {
		fan_out(t, t->held);
		gst_buffer_unref(t->held);
		t->held = NULL;
	}
	if (!GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT))
		t->held = gst_buffer_ref(buf);
	else
		fan_out(t, buf);
}

/* probe_caps: the caps of INFO's event when it is a caps event (borrowed), else NULL. */
static GstCaps *probe_caps(GstPadProbeInfo *info)
{
	GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
	GstCaps *caps = NULL;
	if (GST_EVENT_TYPE(ev) == GST_EVENT_CAPS)
		gst_event_parse_caps(ev, &caps);
	return caps;
}

/* probe_each: FN(T, buffer) for the buffer, or each buffer of the list, INFO carries. */
static void probe_each(struct live_tap *t, GstPadProbeInfo *info,
                       void (*fn)(struct live_tap *, GstBuffer *))
{
	if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
		fn(t, GST_PAD_PROBE_INFO_BUFFER(info));
	} else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
		GstBufferList *l = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
		for (guint k = 0; k < gst_buffer_list_length(l); k++)
			fn(t, gst_buffer_list_get(l, k));
	}
}

static GstPadProbeReturn tap_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct live_tap *t = data;

	if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
		GstCaps *caps = probe_caps(info);
		if (caps) {
			g_mutex_lock(&t->lock);
			gst_caps_replace(&t->caps, caps);
			g_mutex_unlock(&t->lock);
		}
		return GST_PAD_PROBE_OK;
	}
	if (atomic_load(&t->n) == 0) {
		atomic_store(&t->skipped, true);
		return GST_PAD_PROBE_OK;
	}
	g_mutex_lock(&t->lock);
	if (atomic_exchange(&t->skipped, false) && t->held) /* frames went by unseen */
		gst_clear_buffer(&t->held);
	probe_each(t, info, tap_frame);
	g_mutex_unlock(&t->lock);
	return GST_PAD_PROBE_OK;
}

/* audio_frame: one Opus packet (borrowed) to every viewer's audio appsrc (under
 * t->lock), stamped like the video; nothing before a viewer's first picture. */
static void audio_frame(struct live_tap *t, GstBuffer *buf)
{
	for (guint i = 0; i < t->viewers->len; i++) {
		struct live_viewer *v = t->viewers->pdata[i];
		if (v->feeding && v->asrc && v->keyframe_seen && t->audio_caps)
			src_push(t, v, v->asrc, &v->asrc_caps, t->audio_caps, buf);
	}
}

static GstPadProbeReturn tap_audio_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	struct live_tap *t = data;

	if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
		GstCaps *caps = probe_caps(info);
		if (caps) {
			gboolean opus =
			    gst_structure_has_name(gst_caps_get_structure(caps, 0), "audio/x-opus");
			g_mutex_lock(&t->lock);
			gst_caps_replace(&t->audio_caps, opus ? caps : NULL);
			g_mutex_unlock(&t->lock);
		}
		return GST_PAD_PROBE_OK;
	}
	if (atomic_load(&t->n) == 0)
		return GST_PAD_PROBE_OK;
	g_mutex_lock(&t->lock);
	probe_each(t, info, audio_frame);
	g_mutex_unlock(&t->lock);
	return GST_PAD_PROBE_OK;
}

void live_tap_watch_audio(struct live_tap *t, GstPad *pad)
{
	g_mutex_lock(&t->lock);
	gst_caps_replace(&t->audio_caps, NULL); /* a new run: its own caps */
	g_mutex_unlock(&t->lock);
	gst_pad_add_probe(pad,
	                  GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST |
	                      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
	                  tap_audio_probe, t, NULL);
}

struct live_tap *live_tap_new(const char *stream, live_ended_fn ended, void *user)
{
	struct live_tap *t = g_new0(struct live_tap, 1);

	t->stream = g_strdup(stream);
	t->ctx = g_main_context_ref_thread_default();
	t->ended = ended;
	t->user = user;
	g_mutex_init(&t->lock);
	t->viewers = g_ptr_array_new();
	t->clock = gst_system_clock_obtain();
	return t;
}

void live_tap_watch(struct live_tap *t, GstPad *pad)
{
	g_mutex_lock(&t->lock);
	gst_caps_replace(&t->caps, NULL); /* a new run: its own caps */
	gst_clear_buffer(&t->held);
	g_mutex_unlock(&t->lock);
	gst_pad_add_probe(pad,
	                  GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST |
	                      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
	                  tap_probe, t, NULL);
}

bool live_tap_has_audio(struct live_tap *t)
{
	g_mutex_lock(&t->lock);
	bool opus = t->audio_caps != NULL;
	g_mutex_unlock(&t->lock);
	return opus;
}

unsigned live_tap_viewers(struct live_tap *t)
{
	return atomic_load(&t->n);
}

/* ---- a viewer's negotiation (on a thread of its own) ---- */

static void on_promise(GstPromise *p, gpointer data)
{
	struct live_viewer *v = data;

	g_mutex_lock(&v->lock);
	v->promise_done = TRUE;
	g_cond_broadcast(&v->cond);
	g_mutex_unlock(&v->lock);
}

/* step: emit SIGNAL on webrtcbin with ARG and wait for its promise (STEP_TIMEOUT_MS).
 * *P is the promise (unref it; its reply, if any, is gst_promise_get_reply's). Returns
 * TRUE, or FALSE with v->err set. */
static gboolean step(struct live_viewer *v, const char *signal, gpointer arg, GstPromise **p)
{
	g_mutex_lock(&v->lock);
	v->promise_done = FALSE;
	g_mutex_unlock(&v->lock);
	*p = gst_promise_new_with_change_func(on_promise, v, NULL);
	g_signal_emit_by_name(v->webrtc, signal, arg, *p);
	gint64 end = g_get_monotonic_time() + STEP_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;
	g_mutex_lock(&v->lock);
	while (!v->promise_done && !atomic_load(&v->closed))
		if (!g_cond_wait_until(&v->cond, &v->lock, end))
			break;
	gboolean done = v->promise_done;
	g_mutex_unlock(&v->lock);
	if (!done) {
		gst_promise_interrupt(*p);
		g_set_error(&v->err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
		            "webrtcbin did not complete %s within %d ms", signal, STEP_TIMEOUT_MS);
		return FALSE;
	}
	const GstStructure *r = gst_promise_get_reply(*p);
	if (r && gst_structure_has_field(r, "error")) {
		GError *why = NULL;
		gst_structure_get(r, "error", G_TYPE_ERROR, &why, NULL);
		g_set_error(&v->err, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", signal,
		            why ? why->message : "refused");
		g_clear_error(&why);
		return FALSE;
	}
	return TRUE;
}

static gboolean deliver(gpointer data)
{
	struct live_viewer *v = data;
	GError *err = v->err;

	if (!err && atomic_load(&v->closed))
		g_set_error(&err, G_IO_ERROR, G_IO_ERROR_CANCELLED, "the live view was closed");
	if (v->cb)
		v->cb(v->cb_user, v->id, err ? NULL : v->answer, err);
	if (err != v->err)
		g_error_free(err);
	if (v->err && !atomic_load(&v->closed))
		live_tap_close(v->tap, v->id);
	return G_SOURCE_REMOVE;
}

static gpointer negotiate(gpointer data)
{
	struct live_viewer *v = data;
	GstPromise *p = NULL;
	gboolean ok;

	GstWebRTCSessionDescription *offer =
	    gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, v->offer);
	v->offer = NULL; /* the description owns it */
	ok = step(v, "set-remote-description", offer, &p);
	gst_webrtc_session_description_free(offer);
	gst_promise_unref(p);
	if (!ok)
		goto out;
	GstWebRTCSessionDescription *answer = NULL;
	ok = step(v, "create-answer", NULL, &p);
	const GstStructure *r = ok ? gst_promise_get_reply(p) : NULL;
	if (r)
		gst_structure_get(r, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, NULL);
	gst_promise_unref(p);
	if (!answer) {
		if (!v->err)
			g_set_error(&v->err, G_IO_ERROR, G_IO_ERROR_FAILED,
			            "webrtcbin made no answer to the offer");
		goto out;
	}
	ok = step(v, "set-local-description", answer, &p);
	gst_promise_unref(p);
	gst_webrtc_session_description_free(answer);
	if (!ok)
		goto out;
	watch_rtcp(v);
	/* The answer carries the agent's candidates: wait for them (no trickle). */
	gint64 end = g_get_monotonic_time() + GATHER_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;
	g_mutex_lock(&v->lock);
	while (!v->gathered && !atomic_load(&v->closed))
		if (!g_cond_wait_until(&v->cond, &v->lock, end))
			break;
	g_mutex_unlock(&v->lock);
	GstWebRTCSessionDescription *local = NULL;
	g_object_get(v->webrtc, "local-description", &local, NULL);
	if (!local) {
		g_set_error(&v->err, G_IO_ERROR, G_IO_ERROR_FAILED, "no local description");
		goto out;
	}
	v->answer = gst_sdp_message_as_text(local->sdp);
	gst_webrtc_session_description_free(local);
out:
	g_main_context_invoke_full(v->ctx, G_PRIORITY_DEFAULT, deliver, viewer_ref(v),
	                           (GDestroyNotify)viewer_unref);
	viewer_unref(v);
	return NULL;
}

struct ended_call {
	struct live_viewer *v;
	const char *reason;
};

static gboolean report_ended(gpointer data)
{
	struct ended_call *e = data;
	struct live_viewer *v = e->v;

	if (!atomic_load(&v->closed)) {
		struct live_tap *t = v->tap;
		char *stream = g_strdup(t->stream);
		char id[VIEWER_ID_MAX + 1];
		g_strlcpy(id, v->id, sizeof(id));
		live_tap_close(t, id);
		if (t->ended)
			t->ended(t->user, stream, id, e->reason);
		g_free(stream);
	}
	viewer_unref(v);
	g_free(e);
	return G_SOURCE_REMOVE;
}

/* viewer_gone: report V ended with REASON on the main loop (once). */
static void viewer_gone(struct live_viewer *v, const char *reason)
{
	if (atomic_exchange(&v->ending, 1))
		return;
	struct ended_call *e = g_new0(struct ended_call, 1);
	e->v = viewer_ref(v);
	e->reason = reason;
	g_main_context_invoke(v->ctx, report_ended, e);
}

/* The browser's RTCP: a BYE (its connection closed) or nothing for several RTCP
 * intervals (the browser crashed or its network went) ends the view. libnice keeps no
 * consent freshness, so ICE alone would not notice. */
static void on_rtcp_bye(GstElement *rtpbin, guint session, guint ssrc, gpointer data)
{
	viewer_gone(data, "the viewer closed (RTCP BYE)");
}

static void on_rtcp_timeout(GstElement *rtpbin, guint session, guint ssrc, gpointer data)
{
	viewer_gone(data, "the viewer went silent (no RTCP)");
}

/* watch_rtcp: V's webrtcbin's rtpbin tells of the browser's BYE and silence; its
 * session sends and expects RTCP every RTCP_INTERVAL_NS at least. */
#define RTCP_INTERVAL_NS (1 * GST_SECOND)
static void on_dtls_state(GObject *transport, GParamSpec *ps, gpointer data)
{
	GstWebRTCDTLSTransportState st;

	g_object_get(transport, "state", &st, NULL);
	if (st == GST_WEBRTC_DTLS_TRANSPORT_STATE_CLOSED)
		viewer_gone(data, "the viewer closed its connection (DTLS)");
	else if (st == GST_WEBRTC_DTLS_TRANSPORT_STATE_FAILED)
		viewer_gone(data, "the viewer's connection failed (DTLS)");
}

static void watch_rtcp(struct live_viewer *v)
{
	GstWebRTCRTPTransceiver *tr = NULL;
	g_signal_emit_by_name(v->webrtc, "get-transceiver", 0, &tr);
	if (tr) {
		GstWebRTCRTPSender *sender = NULL;
		g_object_get(tr, "sender", &sender, NULL);
		if (sender) {
			GstWebRTCDTLSTransport *dtls = NULL;
			g_object_get(sender, "transport", &dtls, NULL);
			if (dtls) {
				g_signal_connect(dtls, "notify::state", G_CALLBACK(on_dtls_state), v);
				gst_object_unref(dtls);
			}
			gst_object_unref(sender);
		}
		gst_object_unref(tr);
	}
	GstIterator *it = gst_bin_iterate_recurse(GST_BIN(v->webrtc));
	GValue item = G_VALUE_INIT;
	while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
		GstElement *e = g_value_get_object(&item);
		GstElementFactory *f = gst_element_get_factory(e);
		if (f && strcmp(GST_OBJECT_NAME(f), "rtpbin") == 0) {
			g_signal_connect(e, "on-bye-ssrc", G_CALLBACK(on_rtcp_bye), v);
			g_signal_connect(e, "on-timeout", G_CALLBACK(on_rtcp_timeout), v);
			GObject *session = NULL;
			g_signal_emit_by_name(e, "get-internal-session", 0u, &session);
			if (session) {
				g_object_set(session, "rtcp-min-interval", (guint64)RTCP_INTERVAL_NS,
				             NULL);
				g_object_unref(session);
			}
		}
		g_value_reset(&item);
	}
	g_value_unset(&item);
	gst_iterator_free(it);
}

/* The viewer's pipeline ended by itself: an error of its own (the DTLS connection
 * closed by the browser, a socket error) or the end of its stream. */
static GstBusSyncReply on_viewer_bus(GstBus *bus, GstMessage *m, gpointer data)
{
	if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
		GError *why = NULL;
		gst_message_parse_error(m, &why, NULL);
		g_message("live viewer %s: %s", ((struct live_viewer *)data)->id,
		          why ? why->message : "error");
		g_clear_error(&why);
		viewer_gone(data, "the viewer's connection failed");
	} else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS) {
		viewer_gone(data, "the viewer's connection closed");
	}
	return GST_BUS_DROP;
}

static void on_ice_state(GObject *webrtc, GParamSpec *ps, gpointer data)
{
	struct live_viewer *v = data;
	GstWebRTCICEConnectionState st;

	g_object_get(webrtc, "ice-connection-state", &st, NULL);
	if (st != GST_WEBRTC_ICE_CONNECTION_STATE_FAILED &&
	    st != GST_WEBRTC_ICE_CONNECTION_STATE_CLOSED &&
	    st != GST_WEBRTC_ICE_CONNECTION_STATE_DISCONNECTED)
		return;
	viewer_gone(v, st == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED   ? "ICE failed"
	               : st == GST_WEBRTC_ICE_CONNECTION_STATE_CLOSED ? "ICE closed"
	                                                              : "ICE disconnected");
}

static void on_gathering(GObject *webrtc, GParamSpec *ps, gpointer data)
{
	struct live_viewer *v = data;
	GstWebRTCICEGatheringState st;

	g_object_get(webrtc, "ice-gathering-state", &st, NULL);
	if (st != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
		return;
	g_mutex_lock(&v->lock);
	v->gathered = TRUE;
	g_cond_broadcast(&v->cond);
	g_mutex_unlock(&v->lock);
}

/* fmtp_profile: the profile-level-id of payload PT in M's a=fmtp lines, or NULL (a new
 * string). */
static char *fmtp_profile(const GstSDPMedia *m, gint pt)
{
	char prefix[16];
	snprintf(prefix, sizeof(prefix), "%d ", pt);
	for (guint i = 0;; i++) {
		const char *v = gst_sdp_media_get_attribute_val_n(m, "fmtp", i);
		if (!v)
			return NULL;
		if (!g_str_has_prefix(v, prefix))
			continue;
		const char *p = strstr(v, "profile-level-id=");
		if (!p)
			return NULL;
		p += strlen("profile-level-id=");
		return g_strndup(p, strspn(p, "0123456789abcdefABCDEF"));
	}
}

/* plid_profile: the profile a profile-level-id (6 hex digits: profile_idc,
 * constraint flags, level_idc) names, as GStreamer's caps name it; NULL if none. */
static const char *plid_profile(const char *plid)
{
	guint8 b[3];
	if (strlen(plid) != 6)
		return NULL;
	for (int i = 0; i < 3; i++) {
		int hi = g_ascii_xdigit_value(plid[2 * i]), lo = g_ascii_xdigit_value(plid[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return NULL;
		b[i] = (guint8)(hi << 4 | lo);
	}
	return gst_codec_utils_h264_get_profile(b, sizeof b);
}

/* offer_codec: the H.264 payload (packetization-mode 1) of the offer's first video
 * section, constrained baseline preferred (every browser decodes it); NULL if none. The
 * caps are as GStreamer reads the offer (profile, not profile-level-id), plus the
 * profile-level-id the answer must repeat. */
static GstCaps *offer_codec(const GstSDPMessage *sdp)
{
	GstCaps *best = NULL;

	for (guint i = 0; i < gst_sdp_message_medias_len(sdp); i++) {
		const GstSDPMedia *m = gst_sdp_message_get_media(sdp, i);
		if (g_strcmp0(gst_sdp_media_get_media(m), "video") != 0)
			continue;
		for (guint f = 0; f < gst_sdp_media_formats_len(m); f++) {
			gint pt = atoi(gst_sdp_media_get_format(m, f));
			GstCaps *c = gst_sdp_media_get_caps_from_media(m, pt);
			if (!c)
				continue;
			const GstStructure *s = gst_caps_get_structure(c, 0);
			const char *enc = gst_structure_get_string(s, "encoding-name");
			const char *pm = gst_structure_get_string(s, "packetization-mode");
			const char *profile = gst_structure_get_string(s, "profile");
			char *plid = fmtp_profile(m, pt);
			if (!profile && plid) /* GStreamer names it only with level-asymmetry-allowed=1 */
				profile = plid_profile(plid);
			if (g_strcmp0(enc, "H264") == 0 && g_strcmp0(pm, "1") == 0 && profile && plid) {
				gboolean cb = strcmp(profile, "constrained-baseline") == 0;
				if (!best || cb) {
					if (best)
						gst_caps_unref(best);
					best = gst_caps_new_simple(
					    "application/x-rtp", "media", G_TYPE_STRING, "video",
					    "encoding-name", G_TYPE_STRING, "H264", "clock-rate",
					    G_TYPE_INT, 90000, "payload", G_TYPE_INT, pt,
					    "packetization-mode", G_TYPE_STRING, "1", "profile",
					    G_TYPE_STRING, profile, "profile-level-id", G_TYPE_STRING,
					    plid, NULL);
				}
				if (cb) {
					g_free(plid);
					gst_caps_unref(c);
					return best;
				}
			}
			g_free(plid);
			gst_caps_unref(c);
		}
		break; /* the first video section only */
	}
	return best;
}

/* offer_audio: the Opus payload of the offer's first audio section, as webrtcbin's
 * codec preference; NULL if it has none (the view is then video only). */
static GstCaps *offer_audio(const GstSDPMessage *sdp)
{
	for (guint i = 0; i < gst_sdp_message_medias_len(sdp); i++) {
		const GstSDPMedia *m = gst_sdp_message_get_media(sdp, i);
		if (g_strcmp0(gst_sdp_media_get_media(m), "audio") != 0)
			continue;
		for (guint f = 0; f < gst_sdp_media_formats_len(m); f++) {
			gint pt = atoi(gst_sdp_media_get_format(m, f));
			GstCaps *c = gst_sdp_media_get_caps_from_media(m, pt);
			const char *enc =
			    c ? gst_structure_get_string(gst_caps_get_structure(c, 0), "encoding-name")
			      : NULL;
			gboolean opus = enc && g_ascii_strcasecmp(enc, "OPUS") == 0;
			if (c)
				gst_caps_unref(c);
			if (opus)
				return gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING,
				                           "audio", "encoding-name", G_TYPE_STRING, "OPUS",
				                           "clock-rate", G_TYPE_INT, 48000, "payload",
				                           G_TYPE_INT, pt, "encoding-params", G_TYPE_STRING,
				                           "2", NULL);
		}
		break; /* the first audio section only */
	}
	return NULL;
}

/* sender_add: a branch of V's pipeline, appsrc ! PAYLOADER ! capssetter ! webrtcbin,
 * sending what the appsrc gets as it is, on a send-only transceiver preferring CODEC (the
 * offer's caps; its "payload" is the payload type, DEFAULT_PT without one). The
 * capssetter states the offer's parameters (e.g. H.264's profile-level-id: browsers
 * offer baseline to high-4:4:4 but not high, and decode any of them) on the payloaded
 * stream. *SRC is the new appsrc (leaky, bounded by QUEUE buffers) and *PAY the
 * payloader; 0, -ENOTSUP (an element missing) or -EIO. */
static int sender_add(struct live_viewer *v, const char *payloader, GstCaps *codec,
                      gint default_pt, guint64 queue, GstElement **src, GstElement **pay)
{
	gint pt = default_pt;
	gst_structure_get_int(gst_caps_get_structure(codec, 0), "payload", &pt);
	*src = gst_element_factory_make("appsrc", NULL);
	*pay = gst_element_factory_make(payloader, NULL);
	GstElement *set = gst_element_factory_make("capssetter", NULL);
	if (!*src || !*pay || !set) {
		GstElement *made[] = {*src, *pay, set};
		for (size_t i = 0; i < G_N_ELEMENTS(made); i++)
			if (made[i])
				gst_object_unref(gst_object_ref_sink(made[i]));
		*src = *pay = NULL;
		return -ENOTSUP;
	}
	g_object_set(*src, "is-live", TRUE, "format", GST_FORMAT_TIME, "block", FALSE,
	             "max-buffers", queue, "max-bytes", (guint64)0,
	             "leaky-type", 2 /* GST_APP_LEAKY_TYPE_DOWNSTREAM: drop the oldest */, NULL);
	g_object_set(*pay, "pt", (guint)pt, NULL);
	g_object_set(set, "caps", codec, "join", TRUE, "replace", FALSE, NULL);
	gst_bin_add_many(GST_BIN(v->pipeline), *src, *pay, set, NULL);
	if (!gst_element_link_many(*src, *pay, set, NULL))
		return -EIO;
	GstPad *sink = gst_element_request_pad_simple(v->webrtc, "sink_%u");
	GstPad *out = gst_element_get_static_pad(set, "src");
	int rc = sink && gst_pad_link(out, sink) == GST_PAD_LINK_OK ? 0 : -EIO;
	if (!rc) {
		GstWebRTCRTPTransceiver *tr = NULL;
		g_object_get(sink, "transceiver", &tr, NULL);
		if (tr) {
			g_object_set(tr, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
			             "codec-preferences", codec, NULL);
			gst_object_unref(tr);
		}
	}
	gst_object_unref(out);
	if (sink)
		gst_object_unref(sink);
	return rc;
}

/* viewer_build: V's pipeline: webrtcbin fed by the video sender (appsrc ! rtph264pay !
 * capssetter) and, when the viewer asked for sound, the audio sender (appsrc !
 * rtpopuspay ! capssetter, the stream's Opus as it is). */
static int viewer_build(struct live_viewer *v, GError **err)
{
	v->pipeline = gst_pipeline_new(NULL);
	gst_object_ref_sink(v->pipeline);
	v->webrtc = gst_element_factory_make("webrtcbin", NULL);
	GstElement *pay = NULL, *apay = NULL;
	int rc = v->webrtc ? 0 : -ENOTSUP;
	if (!rc) {
		g_object_set(v->webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, NULL);
		gst_bin_add(GST_BIN(v->pipeline), v->webrtc);
		rc = sender_add(v, "rtph264pay", v->codec, 96, VIEWER_QUEUE_BUFS, &v->src, &pay);
	}
	if (rc == -ENOTSUP) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
		            "live view needs appsrc, rtph264pay, capssetter and webrtcbin "
		            "(gstreamer1.0-plugins-base, -good, -bad, gstreamer1.0-nice)");
		return rc;
	}
	if (!rc)
		g_object_set(pay, "config-interval", -1, "aggregate-mode", 1 /* zero-latency */,
		             NULL);
	if (!rc && v->acodec)
		rc = sender_add(v, "rtpopuspay", v->acodec, 111, VIEWER_QUEUE_BUFS * 2, &v->asrc,
		                &apay);
	if (rc) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot link webrtcbin");
		return rc;
	}
	GstBus *bus = gst_element_get_bus(v->pipeline);
	gst_bus_set_sync_handler(bus, on_viewer_bus, v, NULL);
	gst_object_unref(bus);
	g_signal_connect(v->webrtc, "notify::ice-gathering-state", G_CALLBACK(on_gathering), v);
	g_signal_connect(v->webrtc, "notify::ice-connection-state", G_CALLBACK(on_ice_state), v);
	if (gst_element_set_state(v->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "the live pipeline did not start");
		return -EIO;
	}
	return 0;
}

static gpointer viewer_stop_thread(gpointer data)
{
	struct live_viewer *v = data;

	if (v->negotiator)
		g_thread_join(v->negotiator);
	v->negotiator = NULL;
	if (v->pipeline)
		gst_element_set_state(v->pipeline, GST_STATE_NULL);
	viewer_unref(v);
	return NULL;
}

/* viewer_stop: stop V's pipeline on a thread (webrtcbin can take a while to close its
 * ICE agent) and drop the reference the tap held. */
static void viewer_stop(struct live_viewer *v)
{
	atomic_store(&v->closed, 1);
	g_mutex_lock(&v->lock);
	g_cond_broadcast(&v->cond);
	g_mutex_unlock(&v->lock);
	GThread *th = g_thread_new("live-stop", viewer_stop_thread, v);
	g_thread_unref(th);
}

int live_tap_offer(struct live_tap *t, const char *viewer, const char *offer, live_answer_fn cb,
                   void *user, GError **err)
{
	GstSDPMessage *sdp = NULL;
	GstCaps *codec = NULL;
	int rc;

	if (!viewer || !*viewer || strlen(viewer) > VIEWER_ID_MAX) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "a bad viewer id");
		return -EINVAL;
	}
	if (gst_sdp_message_new_from_text(offer, &sdp) != GST_SDP_OK ||
	    gst_sdp_message_medias_len(sdp) == 0) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		            "the offer is not an SDP offer with media");
		rc = -EINVAL;
		goto err_sdp;
	}
	codec = offer_codec(sdp);
	if (!codec) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
		            "the offer has no H.264 video (packetization-mode 1): the live view "
		            "sends the camera's H.264 as it is");
		rc = -EINVAL;
		goto err_sdp;
	}
	g_mutex_lock(&t->lock);
	gboolean h264 = t->caps && gst_structure_has_name(gst_caps_get_structure(t->caps, 0),
	                                                  "video/x-h264");
	gboolean have = t->caps != NULL;
	gboolean audio = t->audio_caps != NULL;
	gboolean dup = FALSE;
	for (guint i = 0; i < t->viewers->len; i++)
		dup |= strcmp(((struct live_viewer *)t->viewers->pdata[i])->id, viewer) == 0;
	guint n = t->viewers->len;
	g_mutex_unlock(&t->lock);
	if (!have) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK,
		            "stream %s has no picture yet (starting or lost)", t->stream);
		rc = -EAGAIN;
		goto err_sdp;
	}
	if (!h264) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
		            "stream %s is not H.264 (browsers play H.264 live; configure the "
		            "camera's H.264 substream)",
		            t->stream);
		rc = -EMEDIUMTYPE;
		goto err_sdp;
	}
	if (dup) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS, "viewer %s exists", viewer);
		rc = -EEXIST;
		goto err_sdp;
	}
	if (n >= LIVE_MAX_VIEWERS) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_BUSY,
		            "stream %s has %d live viewers already, the most it serves", t->stream,
		            LIVE_MAX_VIEWERS);
		rc = -EBUSY;
		goto err_sdp;
	}
	struct live_viewer *v = g_new0(struct live_viewer, 1);
	v->refs = 1;
	v->tap = t;
	v->ctx = g_main_context_ref(t->ctx);
	g_strlcpy(v->id, viewer, sizeof(v->id));
	g_mutex_init(&v->lock);
	g_cond_init(&v->cond);
	v->codec = codec;
	v->acodec = audio ? offer_audio(sdp) : NULL;
	v->offer = sdp;
	v->cb = cb;
	v->cb_user = user;
	rc = viewer_build(v, err);
	if (rc) {
		if (v->pipeline)
			gst_element_set_state(v->pipeline, GST_STATE_NULL);
		viewer_unref(v);
		return rc;
	}
	g_mutex_lock(&t->lock);
	v->feeding = TRUE;
	g_ptr_array_add(t->viewers, v);
	atomic_store(&t->n, t->viewers->len);
	g_mutex_unlock(&t->lock);
	v->negotiator = g_thread_new("live-offer", negotiate, viewer_ref(v));
	return 0;

err_sdp:
	if (codec)
		gst_caps_unref(codec);
	if (sdp)
		gst_sdp_message_free(sdp);
	return rc;
}

int live_tap_close(struct live_tap *t, const char *viewer)
{
	struct live_viewer *v = NULL;

	g_mutex_lock(&t->lock);
	for (guint i = 0; i < t->viewers->len && !v; i++)
		if (strcmp(((struct live_viewer *)t->viewers->pdata[i])->id, viewer) == 0)
			v = g_ptr_array_steal_index(t->viewers, i);
	atomic_store(&t->n, t->viewers->len);
	g_mutex_unlock(&t->lock);
	if (!v)
		return -ENOENT;
	viewer_stop(v);
	return 0;
}

void live_tap_free(struct live_tap *t)
{
	if (!t)
		return;
	g_mutex_lock(&t->lock);
	GPtrArray *vs = t->viewers;
	t->viewers = g_ptr_array_new();
	atomic_store(&t->n, 0);
	g_mutex_unlock(&t->lock);
	for (guint i = 0; i < vs->len; i++) {
		struct live_viewer *v = vs->pdata[i];
		v->cb = NULL;
		viewer_stop(v);
	}
	g_ptr_array_free(vs, TRUE);
	g_ptr_array_free(t->viewers, TRUE);
	if (t->caps)
		gst_caps_unref(t->caps);
	if (t->audio_caps)
		gst_caps_unref(t->audio_caps);
	gst_clear_buffer(&t->held);
	gst_object_unref(t->clock);
	g_mutex_clear(&t->lock);
	g_main_context_unref(t->ctx);
	g_free(t->stream);
	g_free(t);
}
