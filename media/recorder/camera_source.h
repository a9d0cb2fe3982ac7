/* The source half of an RTSP camera's recording pipeline: rtspsrc with the camera's
 * credentials as properties, and for each stream the camera announces a depayloader
 * and parser chosen by its RTP encoding, linked into the segment muxer as it appears.
 * Nothing is decoded or re-encoded, except G.711 audio, which MPEG-TS cannot carry. */
#ifndef EVALROOM_CAMERA_SOURCE_H
#define EVALROOM_CAMERA_SOURCE_H

#include <gst/gst.h>

#include "recorder_config.h"

/* Called on a streaming thread when a chain has been linked to the muxer: the caller
 * adds its probes to the video queue's sink pad. */
typedef void (*camera_video_linked_fn)(GstPad *queue_sink, void *ctx);

/* Adds rtspsrc for cam to pipeline; the camera's streams are linked to mux's "video"
 * and "audio_%u" request pads as rtspsrc creates them. With own_audio FALSE the
 * camera's audio track is discarded (the stream has its own audio= fragment).
 * on_video runs once the video chain is linked. Returns the rtspsrc element
 * (borrowed: the pipeline owns it) or NULL. */
GstElement *camera_source_add(GstElement *pipeline, GstElement *mux,
                              const struct camera_config *cam, unsigned connect_timeout_ms,
                              gboolean own_audio, camera_video_linked_fn on_video, void *ctx);

/* Lets every track held for the others go, so that an EOS reaches the muxer and the
 * pipeline can stop; a track announced later is not recorded. Any thread. */
void camera_source_release(GstElement *src);

/* The media description recorded for an encoded video caps: "H.264 1920x1080", used to
 * notice a codec or resolution change. Returns a new string (g_free()). */
char *camera_video_format(const GstCaps *caps);

#endif
