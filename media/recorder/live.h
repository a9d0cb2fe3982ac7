/* Live viewing of a recorded stream over WebRTC (docs/live.md): a tap on the stream's
 * encoded video as the recorder receives it, and one pipeline of its own per viewer
 * (appsrc ! rtph264pay ! webrtcbin). H.264 is passed through, never decoded.
 *
 * The recording is never touched by a viewer: the tap is a pad probe on the recording
 * pipeline that, only while viewers exist, hands each viewer a reference to the buffer
 * (no copy of the media) through a non-blocking, leaky appsrc of the viewer's own
 * pipeline. A viewer that stalls loses its oldest buffers; its pipeline's errors go to
 * its own bus; its coming and going never changes the recording pipeline.
 *
 * Signalling is WHEP-like without trickle: the viewer's SDP offer in (with its ICE
 * candidates gathered), the SDP answer out once the agent's host candidates are
 * gathered. All calls on the main loop (the thread-default context of the caller of
 * live_tap_new); callbacks are called there too. */
#pragma once

#include <stdbool.h>
#include <gst/gst.h>

struct live_tap;

/* live_answer_fn: the answer to an offer: ANSWER_SDP, or ERR (borrowed, the call only). */
typedef void (*live_answer_fn)(void *user, const char *viewer, const char *answer_sdp,
                               const GError *err);
/* live_ended_fn: VIEWER of STREAM ended by itself (its connection failed or closed),
 * REASON a short English phrase. Not called for live_tap_close. */
typedef void (*live_ended_fn)(void *user, const char *stream, const char *viewer,
                              const char *reason);

#define LIVE_MAX_VIEWERS 16 /* per stream */

/* live_tap_new: the tap of STREAM (copied); ENDED (may be NULL) with USER is told of
 * viewers that end by themselves. */
struct live_tap *live_tap_new(const char *stream, live_ended_fn ended, void *user);
/* live_tap_watch: feed the tap from PAD, the encoded video's pad of a run of the
 * recording pipeline (a probe; removed with the pad). */
void live_tap_watch(struct live_tap *t, GstPad *pad);
/* live_tap_watch_audio: feed the tap's viewers the stream's audio from PAD, the encoded
 * audio's pad of a run of the recording pipeline (a probe, as for the video). Opus is
 * passed through to viewers whose offer takes Opus; other codecs are not sent live. */
void live_tap_watch_audio(struct live_tap *t, GstPad *pad);
/* live_tap_offer: start viewer VIEWER (an id of at most 63 characters, unique in the
 * tap) with the browser's SDP OFFER. Returns 0 and later calls CB once on the main
 * loop, or -errno with *err and no call: -EINVAL an offer without H.264 video
 * (packetization-mode 1), -EAGAIN the stream has no picture yet, -EMEDIUMTYPE its
 * video is not H.264, -EBUSY LIVE_MAX_VIEWERS already, -EEXIST VIEWER in use. */
int live_tap_offer(struct live_tap *t, const char *viewer, const char *offer, live_answer_fn cb,
                   void *user, GError **err);
/* live_tap_close: end VIEWER (its pipeline stopped). -ENOENT when it is not here. */
int live_tap_close(struct live_tap *t, const char *viewer);
/* live_tap_has_audio: the recorded audio the tap sees is Opus, so a viewer that asks
 * for sound gets it (false before its caps are known, and for AAC or G.711). */
bool live_tap_has_audio(struct live_tap *t);
/* live_tap_viewers: how many viewers the tap feeds. */
unsigned live_tap_viewers(struct live_tap *t);
/* live_tap_free: end every viewer and free (NULL-safe). The recording pipeline's probe
 * must be gone first (the pipeline stopped). */
void live_tap_free(struct live_tap *t);
