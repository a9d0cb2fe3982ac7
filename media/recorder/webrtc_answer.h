/* Answering a browser's SDP offer with a webrtcbin, without trickle ICE (docs/live.md,
 * docs/call.md): set the offer, create and set the answer, wait for the host candidates.
 * Blocking: run it on a thread of its own, never on the main loop. */
#pragma once
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <stdatomic.h>

/* webrtc_answer: make WEBRTC (in a PLAYING pipeline) answer OFFER (taken). Each step
 * waits at most STEP_MS, the gathering of candidates at most GATHER_MS (the answer then
 * goes with what is there); *CANCEL becoming non-zero ends the waits early. Returns the
 * answer's SDP text (g_free) or NULL with *err. */
char *webrtc_answer(GstElement *webrtc, GstSDPMessage *offer, unsigned step_ms,
                    unsigned gather_ms, const _Atomic int *cancel, GError **err);
