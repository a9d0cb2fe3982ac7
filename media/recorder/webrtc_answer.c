/* Answering a browser's SDP offer with a webrtcbin (webrtc_answer.h). */
#include "webrtc_answer.h"

#include <gio/gio.h>
#include <stdlib.h>

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

/* What one answer waits for: a promise's completion, the end of the gathering. */
struct waiter {
	GMutex lock;
	GCond cond;
	gboolean promised; /* the step's promise is answered */
	gboolean gathered; /* ICE gathering complete */
	const _Atomic int *cancel;
};

static void on_promise(GstPromise *p, gpointer data)
{
	struct waiter *w = data;

	g_mutex_lock(&w->lock);
	w->promised = TRUE;
	g_cond_broadcast(&w->cond);
	g_mutex_unlock(&w->lock);
}

static void on_gathering(GObject *webrtc, GParamSpec *ps, gpointer data)
{
	GstWebRTCICEGatheringState st;

	g_object_get(webrtc, "ice-gathering-state", &st, NULL);
	if (st != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
		return;
	struct waiter *w = data;
	g_mutex_lock(&w->lock);
	w->gathered = TRUE;
	g_cond_broadcast(&w->cond);
	g_mutex_unlock(&w->lock);
}

/* wait_flag: until *FLAG (of W) is set, cancelled or MS passed; TRUE when set. The flag
 * is cleared for the next wait. */
static gboolean wait_flag(struct waiter *w, gboolean *flag, unsigned ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)ms * G_TIME_SPAN_MILLISECOND;
	g_mutex_lock(&w->lock);
	while (!*flag && !atomic_load(w->cancel))
		if (!g_cond_wait_until(&w->cond, &w->lock, end))
			break;
	gboolean done = *flag;
	*flag = FALSE;
	g_mutex_unlock(&w->lock);
	return done;
}

/* step: emit SIGNAL with ARG and wait for its promise; its reply (a copy, or NULL) to
 * *REPLY when asked. FALSE with *err when it fails or takes longer than MS. */
static gboolean step(GstElement *webrtc, struct waiter *w, const char *signal, gpointer arg,
                     unsigned ms, GstStructure **reply, GError **err)
{
	GstPromise *p = gst_promise_new_with_change_func(on_promise, w, NULL);
	g_signal_emit_by_name(webrtc, signal, arg, p);
	if (!wait_flag(w, &w->promised, ms)) {
		gst_promise_interrupt(p);
		gst_promise_unref(p);
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
		            "webrtcbin did not complete %s within %u ms", signal, ms);
		return FALSE;
	}
	const GstStructure *r = gst_promise_get_reply(p);
	if (r && gst_structure_has_field(r, "error")) {
		GError *why = NULL;
		gst_structure_get(r, "error", G_TYPE_ERROR, &why, NULL);
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", signal,
		            why ? why->message : "refused");
		g_clear_error(&why);
		gst_promise_unref(p);
		return FALSE;
	}
	if (reply)
		*reply = r ? gst_structure_copy(r) : NULL;
	gst_promise_unref(p);
	return TRUE;
}

char *webrtc_answer(GstElement *webrtc, GstSDPMessage *offer, unsigned step_ms,
                    unsigned gather_ms, const _Atomic int *cancel, GError **err)
{
	struct waiter w = {.cancel = cancel};
	GstWebRTCSessionDescription *answer = NULL;
	GstStructure *reply = NULL;
	char *text = NULL;

	g_mutex_init(&w.lock);
	g_cond_init(&w.cond);
	gulong gather = g_signal_connect(webrtc, "notify::ice-gathering-state",
	                                 G_CALLBACK(on_gathering), &w);
	GstWebRTCSessionDescription *desc =
	    gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, offer);
	gboolean ok = step(webrtc, &w, "set-remote-description", desc, step_ms, NULL, err);
	gst_webrtc_session_description_free(desc);
	if (!ok)
		goto out;
	if (!step(webrtc, &w, "create-answer", NULL, step_ms, &reply, err))
		goto out;
	if (reply)
		gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer,
		                  NULL);
	if (!answer) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "webrtcbin made no answer to the offer");
		goto out;
	}
	if (!step(webrtc, &w, "set-local-description", answer, step_ms, NULL, err))
		goto out;
	GstWebRTCICEGatheringState st;
	g_object_get(webrtc, "ice-gathering-state", &st, NULL);
	if (st != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
		wait_flag(&w, &w.gathered, gather_ms); /* the answer goes with what is gathered */
	GstWebRTCSessionDescription *local = NULL;
	g_object_get(webrtc, "local-description", &local, NULL);
	if (!local) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "no local description");
		goto out;
	}
	text = gst_sdp_message_as_text(local->sdp);
	gst_webrtc_session_description_free(local);
out:
	g_signal_handler_disconnect(webrtc, gather);
	if (answer)
		gst_webrtc_session_description_free(answer);
	if (reply)
		gst_structure_free(reply);
	g_mutex_clear(&w.lock);
	g_cond_clear(&w.cond);
	return text;
}

GstCaps *webrtc_offer_opus(const GstSDPMessage *offer)
{
	for (guint i = 0; i < gst_sdp_message_medias_len(offer); i++) {
		const GstSDPMedia *m = gst_sdp_message_get_media(offer, i);
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
			if (opus) /* Opus in SDP is always opus/48000/2 (RFC 7587) */
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

void webrtc_watch_dtls(GstElement *webrtc, GCallback notify_state, gpointer data)
{
	GstWebRTCRTPTransceiver *tr = NULL;
	g_signal_emit_by_name(webrtc, "get-transceiver", 0, &tr);
	if (!tr)
		return;
	GstWebRTCRTPSender *sender = NULL;
	g_object_get(tr, "sender", &sender, NULL);
	if (sender) {
		GstWebRTCDTLSTransport *dtls = NULL;
		g_object_get(sender, "transport", &dtls, NULL);
		if (dtls) {
			g_signal_connect(dtls, "notify::state", notify_state, data);
			gst_object_unref(dtls);
		}
		gst_object_unref(sender);
	}
	gst_object_unref(tr);
}
