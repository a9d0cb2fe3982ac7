/* Answering a browser's SDP offer with a webrtcbin, without trickle ICE (docs/live.md,
 * docs/call.md): set the offer, create and set the answer, wait for the host candidates;
 * and what the answering side reads of the offer and watches of the connection. */
#pragma once
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <stdatomic.h>

/* webrtc_answer: make WEBRTC (in a PLAYING pipeline) answer OFFER (taken). Each step
 * waits at most STEP_MS, the gathering of candidates at most GATHER_MS (the answer then
 * goes with what is there); *CANCEL becoming non-zero ends the waits early. Returns the
 * answer's SDP text (g_free) or NULL with *err. Blocking: run it on a thread of its
 * own, never on the main loop. */
char *webrtc_answer(GstElement *webrtc, GstSDPMessage *offer, unsigned step_ms,
                    unsigned gather_ms, const _Atomic int *cancel, GError **err);

/* webrtc_offer_opus: the Opus payload of OFFER's first audio section as webrtcbin's codec
 * preference (application/x-rtp caps, a new reference), or NULL when it has none. */
GstCaps *webrtc_offer_opus(const GstSDPMessage *offer);

/* webrtc_watch_dtls: NOTIFY_STATE (a "notify::state" handler) with DATA on the DTLS
 * transport of WEBRTC's first transceiver, so that the browser closing its connection is
 * seen. Call once the local description is set (the transport exists then). */
void webrtc_watch_dtls(GstElement *webrtc, GCallback notify_state, gpointer data);
