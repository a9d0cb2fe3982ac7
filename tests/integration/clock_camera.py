#!/usr/bin/python3
"""A camera that films a clock, for `./dev bench live`: GStreamer's RTSP server
(gir1.2-gst-rtsp-server-1.0) serving H.264 made from frames this process draws, each
carrying the wall-clock time at which it was drawn as a pattern of black and white
blocks that a browser reads back from the decoded picture (bench/live_bench.py, tests/integration/test_live_picture.py).

    clock_camera.py --port 8554 [--width 640 --height 360 --fps 25 --kbps 800]

The code (docs/live.md, "Measured"): BLOCKS_X x BLOCKS_Y blocks of BLOCK pixels from the
top-left corner, row by row, most significant bit first; white is 1. The first 32 are the
time in milliseconds since the Unix epoch modulo 2^32, the last 8 the XOR of its four
bytes and 0xA5, so a picture caught between two frames (or damaged by the encoder) is refused,
never misread. Prints "ready" once it listens; runs until killed.
"""
import argparse
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

from rtsp_camera import serve  # noqa: E402

BLOCK = 32
BLOCKS_X = 8
BLOCKS_Y = 5  # 40 bits: 32 of time, 8 of check
BLACK, WHITE = 16, 235


# For a page of the web console's /live: installed with the tile's key ("ROOM/STREAM") as
# arguments[0], it reads the code back from every frame the tile's video presents
# (requestVideoFrameCallback) and keeps window.benchLatency (ms from drawn to shown, one
# per readable frame) and window.benchUnreadable (frames whose code does not check).
READBACK_JS = r"""
const t = window.evalroomLive.tiles.get(arguments[0]);
const v = t.video;
const B = 32, NX = 8, NY = 5;
const c = document.createElement("canvas");
c.width = NX * B; c.height = NY * B;
const g = c.getContext("2d", { willReadFrequently: true });
window.benchLatency = [];
window.benchUnreadable = 0;
function read() {
  g.drawImage(v, 0, 0, NX * B, NY * B, 0, 0, NX * B, NY * B);
  const px = g.getImageData(0, 0, NX * B, NY * B).data;
  let word = 0n;
  for (let i = 0; i < NX * NY; i++) {
    const x = (i % NX) * B + B / 2, y = Math.floor(i / NX) * B + B / 2;
    const bit = px[(y * NX * B + x) * 4] > 128 ? 1n : 0n;
    word = (word << 1n) | bit;
  }
  const ms = Number(word >> 8n), check = Number(word & 0xffn);
  const k = (ms ^ (ms >>> 8) ^ (ms >>> 16) ^ (ms >>> 24) ^ 0xa5) & 0xff;
  return k === check ? ms : -1;
}
function frame(now, meta) {
  const ms = read();
  if (ms < 0) {
    window.benchUnreadable++;
  } else {
    // The wall clock when the frame is to be shown: now, plus how far ahead that is.
    const shown = Date.now() + (meta.expectedDisplayTime - performance.now());
    const d = ((Math.round(shown) % 4294967296) - ms + 4294967296) % 4294967296;
    window.benchLatency.push(d);
  }
  v.requestVideoFrameCallback(frame);
}
v.requestVideoFrameCallback(frame);
"""


def code_bits(ms):
    t = ms & 0xFFFFFFFF
    check = (t ^ (t >> 8) ^ (t >> 16) ^ (t >> 24) ^ 0xA5) & 0xFF
    word = (t << 8) | check
    return [(word >> (39 - i)) & 1 for i in range(40)]


class Painter:
    """I420 frames of WIDTH x HEIGHT: mid grey with the code drawn on its luma plane."""

    def __init__(self, width, height):
        self.w, self.h = width, height
        ysize = width * height
        self.blank = bytes([128]) * ysize + bytes([128]) * (ysize // 2)

    def frame(self, ms):
        buf = bytearray(self.blank)
        w = self.w
        row_black = bytes([BLACK]) * BLOCK
        row_white = bytes([WHITE]) * BLOCK
        for i, bit in enumerate(code_bits(ms)):
            bx, by = i % BLOCKS_X, i // BLOCKS_X
            row = row_white if bit else row_black
            x0 = bx * BLOCK
            for y in range(by * BLOCK, (by + 1) * BLOCK):
                o = y * w + x0
                buf[o:o + BLOCK] = row
        return bytes(buf)


class Factory(GstRtspServer.RTSPMediaFactory):
    def __init__(self, a):
        super().__init__()
        self.a = a
        self.painter = Painter(a.width, a.height)
        self.set_shared(True)
        self.set_launch(
            f"( appsrc name=src is-live=true do-timestamp=true format=time "
            f"caps=video/x-raw,format=I420,width={a.width},height={a.height},"
            f"framerate={a.fps}/1 ! queue max-size-buffers=2 leaky=downstream ! "
            f"x264enc tune=zerolatency speed-preset=ultrafast bitrate={a.kbps} "
            f"key-int-max={a.fps} ! video/x-h264,profile=constrained-baseline ! "
            f"rtph264pay name=pay0 pt=96 config-interval=-1 )")
        self.connect("media-configure", self.on_configure)

    def on_configure(self, _factory, media):
        src = media.get_element().get_by_name("src")
        period_ms = 1000 // self.a.fps

        def push():
            ms = int(time.time() * 1000)
            data = self.painter.frame(ms)
            buf = Gst.Buffer.new_allocate(None, len(data), None)
            buf.fill(0, data)  # a copy the pipeline owns
            return src.emit("push-buffer", buf) == Gst.FlowReturn.OK
        GLib.timeout_add(period_ms, push)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=360)
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--kbps", type=int, default=800)
    a = ap.parse_args()
    Gst.init(None)
    return serve("127.0.0.1", a.port, {"/clock": Factory(a)})


if __name__ == "__main__":
    sys.exit(main())
