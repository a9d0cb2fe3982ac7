#include "camera_source.h"

#include <string.h>

struct camera_link {
	GstElement *pipeline; /* borrowed: owns rtspsrc, which owns this */
	GstElement *mux;
	gboolean own_audio;
	gboolean have_video;
	gboolean have_audio;
	camera_video_linked_fn on_video;
	void *ctx;
	/* mpegtsmux writes its program table when data first arrives and cannot add a
	 * stream afterwards, so each linked pad is held until rtspsrc has them all. */
	GMutex lock;
	gboolean all_pads;
	GPtrArray *held; /* struct held_pad */
	/* The muxer's video pad, requested before any audio pad: mpegtsmux numbers its
	 * streams in the order their pads were requested and writes its program table
	 * before a packet of the first one. rtspsrc adds its pads in the order the first
	 * RTP packets arrive; when audio came first, every segment after the first began
	 * with the video key frame ahead of the table, and a player dropped that frame
	 * and its whole group of pictures. */
	GstPad *video_mpad;
};

struct held_pad {
	GstPad *pad;
	gulong probe;
};

static GstPadProbeReturn hold(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
	return GST_PAD_PROBE_OK; /* blocking: released by on_no_more_pads() */
}

static void release_held(struct camera_link *l)
{
	g_mutex_lock(&l->lock);
	l->all_pads = TRUE;
	for (guint i = 0; i < l->held->len; i++) {
		struct held_pad *h = g_ptr_array_index(l->held, i);
		gst_pad_remove_probe(h->pad, h->probe);
	}
	g_ptr_array_set_size(l->held, 0);
	GstPad *unused = l->have_video ? NULL : g_steal_pointer(&l->video_mpad);
	g_mutex_unlock(&l->lock);
	if (unused) { /* a camera without video: the muxer must not wait for it */
		gst_element_release_request_pad(l->mux, unused);
		gst_object_unref(unused);
	}
}

static void on_no_more_pads(GstElement *src, gpointer data)
{
	release_held(data);
}

void camera_source_release(GstElement *src)
{
	struct camera_link *l = g_object_get_data(G_OBJECT(src), "evalroom-camera-link");
	if (l)
		release_held(l);
}

static void held_pad_free(gpointer p)
{
	struct held_pad *h = p;
	gst_object_unref(h->pad);
	g_free(h);
}

static void camera_link_free(gpointer data, GClosure *closure)
{
	struct camera_link *l = data;
	g_ptr_array_free(l->held, TRUE);
	g_clear_object(&l->video_mpad);
	g_mutex_clear(&l->lock);
	g_free(l);
}

/* RTP encoding (SDP rtpmap name) -> chain ending in what MPEG-TS carries. */
static const struct {
	const char *media;
	const char *encoding;
	const char *chain;
} chains[] = {
    {"video", "H264", "rtph264depay ! h264parse config-interval=-1 ! capsfilter caps=video/x-h264,stream-format=byte-stream,alignment=au"},
    {"video", "H265", "rtph265depay ! h265parse config-interval=-1 ! capsfilter caps=video/x-h265,stream-format=byte-stream,alignment=au"},
    {"audio", "MPEG4-GENERIC", "rtpmp4gdepay ! aacparse"},
    {"audio", "MP4A-LATM", "rtpmp4adepay ! aacparse"},
    /* G.711 has no MPEG-TS mapping: the one conversion, 8 kHz speech to AAC. */
    {"audio", "PCMA", "rtppcmadepay ! alawdec ! audioconvert ! avenc_aac bitrate=32000 ! aacparse"},
    {"audio", "PCMU", "rtppcmudepay ! mulawdec ! audioconvert ! avenc_aac bitrate=32000 ! aacparse"},
};

/* Adds what takes pad's stream nowhere, so that rtspsrc never sees not-linked. */
static void discard(struct camera_link *l, GstPad *pad)
{
	GstElement *sink = gst_element_factory_make("fakesink", NULL);
	g_object_set(sink, "async", FALSE, "sync", FALSE, NULL);
	gst_bin_add(GST_BIN(l->pipeline), sink);
	GstPad *sp = gst_element_get_static_pad(sink, "sink");
	gst_pad_link(pad, sp);
	gst_object_unref(sp);
	gst_element_sync_state_with_parent(sink);
}

static void on_pad_added(GstElement *src, GstPad *pad, gpointer data)
{
	struct camera_link *l = data;
	GstCaps *caps = gst_pad_get_current_caps(pad);
	if (!caps)
		caps = gst_pad_query_caps(pad, NULL);
	const GstStructure *st = gst_caps_get_structure(caps, 0);
	const char *media = gst_structure_get_string(st, "media");
	const char *enc = gst_structure_get_string(st, "encoding-name");
	const char *chain = NULL;
	for (size_t i = 0; media && enc && i < G_N_ELEMENTS(chains); i++)
		if (strcmp(media, chains[i].media) == 0 &&
		    g_ascii_strcasecmp(enc, chains[i].encoding) == 0)
			chain = chains[i].chain;
	gboolean video = media && strcmp(media, "video") == 0;
	g_mutex_lock(&l->lock);
	gboolean late = l->all_pads; /* after a release: the muxer has started */
	g_mutex_unlock(&l->lock);
	gboolean wanted =
	    !late && chain && (video ? !l->have_video : l->own_audio && !l->have_audio);
	if (!wanted) {
		if (!chain || video || l->own_audio)
			g_warning("recorder %s: camera stream %s/%s not recorded (%s)",
			          GST_OBJECT_NAME(l->pipeline), media ? media : "?", enc ? enc : "?",
			          chain ? "one of its kind is recorded already"
			                : "no pass-through for this encoding");
		gst_caps_unref(caps);
		discard(l, pad);
		return;
	}
	gst_caps_unref(caps);
	g_mutex_lock(&l->lock);
	if (!l->all_pads) {
		struct held_pad *h = g_new0(struct held_pad, 1);
		h->pad = gst_object_ref(pad);
		h->probe = gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BLOCK_DOWNSTREAM, hold, NULL,
		                             NULL);
		g_ptr_array_add(l->held, h);
	}
	if (video)
		l->have_video = TRUE; /* claimed now: no-more-pads keeps the muxer's video pad */
	g_mutex_unlock(&l->lock);
	GError *why = NULL;
	GstElement *bin = recorder_fragment_parse(chain, &why);
	if (!bin) {
		g_warning("recorder %s: %s", GST_OBJECT_NAME(l->pipeline), why->message);
		g_error_free(why);
		discard(l, pad);
		return;
	}
	/* The chain's sink: the first element's unlinked sink pad, ghosted. */
	GstPad *inner = gst_bin_find_unlinked_pad(GST_BIN(bin), GST_PAD_SINK);
	gst_element_add_pad(bin, gst_ghost_pad_new("sink", inner));
	gst_object_unref(inner);
	GstElement *q = gst_element_factory_make("queue", NULL);
	gst_bin_add_many(GST_BIN(l->pipeline), bin, q, NULL);
	GstPad *bsink = gst_element_get_static_pad(bin, "sink");
	GstPad *qsrc = gst_element_get_static_pad(q, "src");
	GstPad *mpad = video ? (l->video_mpad ? gst_object_ref(l->video_mpad) : NULL)
	                     : gst_element_request_pad_simple(l->mux, "audio_%u");
	gboolean ok = gst_element_link(bin, q) && mpad &&
	              gst_pad_link(qsrc, mpad) == GST_PAD_LINK_OK &&
	              gst_pad_link(pad, bsink) == GST_PAD_LINK_OK;
	if (ok && video && l->on_video) {
		GstPad *qsink = gst_element_get_static_pad(q, "sink");
		l->on_video(qsink, l->ctx);
		gst_object_unref(qsink);
	}
	gst_element_sync_state_with_parent(q);
	gst_element_sync_state_with_parent(bin);
	if (mpad)
		gst_object_unref(mpad);
	gst_object_unref(qsrc);
	gst_object_unref(bsink);
	if (!ok) {
		GST_ELEMENT_ERROR(src, CORE, NEGOTIATION, ("cannot link the camera's %s stream", media),
		                  (NULL));
		return;
	}
	if (!video)
		l->have_audio = TRUE;
}

GstElement *camera_source_add(GstElement *pipeline, GstElement *mux,
                              const struct camera_config *cam, unsigned connect_timeout_ms,
                              gboolean own_audio, camera_video_linked_fn on_video, void *ctx)
{
	GstElement *src = gst_element_factory_make("rtspsrc", NULL);
	if (!src)
		return NULL;
	/* timeout=0: rtspsrc must not rebuild its session by itself after a UDP silence
	 * (it tears down its RTP bin on its own thread, which can deadlock against the
	 * recorder stopping the pipeline); the recorder's health check does the reconnect. */
	g_object_set(src, "location", cam->url, "latency", (guint)cam->latency_ms, "tcp-timeout",
	             (guint64)connect_timeout_ms * 1000, "timeout", (guint64)0, NULL);
	gst_util_set_object_arg(G_OBJECT(src), "protocols",
	                        cam->transport == CAMERA_TRANSPORT_UDP ? "udp" : "tcp");
	if (cam->user)
		g_object_set(src, "user-id", cam->user, "user-pw", cam->password, NULL);
	struct camera_link *l = g_new0(struct camera_link, 1);
	l->pipeline = pipeline;
	l->mux = mux;
	l->own_audio = own_audio;
	l->on_video = on_video;
	l->ctx = ctx;
	g_mutex_init(&l->lock);
	l->held = g_ptr_array_new_with_free_func(held_pad_free);
	l->video_mpad = gst_element_request_pad_simple(mux, "video");
	g_object_set_data(G_OBJECT(src), "evalroom-camera-link", l);
	g_signal_connect(src, "no-more-pads", G_CALLBACK(on_no_more_pads), l);
	g_signal_connect_data(src, "pad-added", G_CALLBACK(on_pad_added), l, camera_link_free, 0);
	gst_bin_add(GST_BIN(pipeline), src);
	return src;
}

char *camera_video_format(const GstCaps *caps)
{
	const GstStructure *st = gst_caps_get_structure(caps, 0);
	const char *name = gst_structure_get_name(st);
	const char *codec = strcmp(name, "video/x-h264") == 0   ? "H.264"
	                    : strcmp(name, "video/x-h265") == 0 ? "H.265"
	                                                        : name;
	int w = 0, h = 0;
	gst_structure_get_int(st, "width", &w);
	gst_structure_get_int(st, "height", &h);
	return g_strdup_printf("%s %dx%d", codec, w, h);
}
