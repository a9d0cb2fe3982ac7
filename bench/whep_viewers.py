#!/usr/bin/python3
"""Live viewers for `./dev bench live` that cost the measuring machine little: N GStreamer
webrtcbin receivers of one stream of the web console (docs/live.md), each opened the way
the console's page opens a tile (POST of an SDP offer with its candidates to
/live/ROOM/STREAM/whep under a person's client certificate, the answer set, DELETE of the
view's Location at the end). What arrives is counted and dropped, never decoded, so the
agent's cost per viewer is measured, not the viewers'.

    whep_viewers.py --url https://127.0.0.1:PORT --room E1 --stream cam-E1 --count N
                    --ca CA --cert CERT --key KEY [--audio]

Prints "open I" when viewer I's connection is up, then "packets I N BYTES" (RTP packets
of video and their bytes so far) every second, with --audio (the offer also asks for
Opus sound) "audio I N BYTES" too, and "closed" after SIGTERM once every view is deleted.
"""
import argparse
import http.client
import signal
import ssl
import sys
import threading
import urllib.parse

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

# webrtcbin calls back on its own threads, several viewers at once; PyGObject's wrapping
# of their structures is not safe against that ("Expected Gst.Structure, but got
# gi.repository.Gst.Structure" once in ten runs), so the callbacks take turns.
PYGI = threading.RLock()

H264 = ("application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000,"
        "packetization-mode=(string)1,profile-level-id=(string)42e01f")
OPUS = ("application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000,"
        "encoding-params=(string)2")


class Viewer:
    def __init__(self, i, a, ctx):
        self.i, self.a, self.ctx = i, a, ctx
        self.packets = self.bytes = 0
        self.audio_packets = self.audio_bytes = 0
        self.location = None
        self.pipe = Gst.Pipeline.new(f"viewer{i}")
        self.wb = Gst.ElementFactory.make("webrtcbin")
        self.wb.set_property("bundle-policy", GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE)
        self.pipe.add(self.wb)
        self.wb.emit("add-transceiver", GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY,
                     Gst.Caps.from_string(H264))
        if a.audio:
            self.wb.emit("add-transceiver", GstWebRTC.WebRTCRTPTransceiverDirection.RECVONLY,
                         Gst.Caps.from_string(OPUS))
        self.wb.connect("pad-added", self.on_pad)
        self.wb.connect("notify::ice-gathering-state", self.on_gathering)
        self.wb.connect("notify::ice-connection-state", self.on_ice)
        self.pipe.set_state(Gst.State.PLAYING)
        self.wb.emit("create-offer", None, Gst.Promise.new_with_change_func(self.on_offer))

    def on_offer(self, promise):
        with PYGI:
            reply = promise.get_reply()  # kept while the offer is used: the offer is its own
            offer = reply.get_value("offer")
            self.wb.emit("set-local-description", offer, None)

    def on_gathering(self, wb, _pspec):
        with PYGI:
            if wb.get_property("ice-gathering-state") != \
                    GstWebRTC.WebRTCICEGatheringState.COMPLETE:
                return
            desc = wb.get_property("local-description")  # kept: .sdp is its own
            sdp = desc.sdp.as_text()
        if sdp:
            threading.Thread(target=self.post, args=(sdp,), daemon=True).start()

    def request(self, method, path, body=None, headers=None):
        u = urllib.parse.urlsplit(self.a.url)
        conn = http.client.HTTPSConnection(u.hostname, u.port, context=self.ctx, timeout=60)
        h = {"Origin": f"https://{u.hostname}:{u.port}"}
        h.update(headers or {})
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        out = (r.status, r.getheader("Location"), r.read().decode())
        conn.close()
        return out

    def post(self, sdp):
        path = f"/live/{self.a.room}/{self.a.stream}/whep"
        try:
            status, location, body = self.request("POST", path, sdp.encode(),
                                                  {"Content-Type": "application/sdp"})
        except OSError as e:
            print(f"refused {self.i} {e}", flush=True)
            return
        if status != 201:
            print(f"refused {self.i} {status} {body.strip()}", flush=True)
            print(f"viewer {self.i}: refused offer:\n{sdp}", file=sys.stderr, flush=True)
            return
        self.location = location
        ok, msg = GstSdp.SDPMessage.new_from_text(body)
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        GLib.idle_add(lambda: self.wb.emit("set-remote-description", answer, None) and False)

    def on_ice(self, wb, _pspec):
        if wb.get_property("ice-connection-state") in (
                GstWebRTC.WebRTCICEConnectionState.CONNECTED,
                GstWebRTC.WebRTCICEConnectionState.COMPLETED):
            print(f"open {self.i}", flush=True)

    def on_pad(self, _wb, pad):
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("sync", False)
        self.pipe.add(sink)
        sink.sync_state_with_parent()
        pad.link(sink.get_static_pad("sink"))
        with PYGI:
            caps = pad.get_current_caps() or pad.query_caps(None)
            audio = caps.get_structure(0).get_string("media") == "audio"
        pad.add_probe(Gst.PadProbeType.BUFFER | Gst.PadProbeType.BUFFER_LIST,
                      self.count, audio)

    def count(self, _pad, info, audio):
        with PYGI:
            return self._count(info, audio)

    def _count(self, info, audio):
        if info.type & Gst.PadProbeType.BUFFER_LIST:
            lst = info.get_buffer_list()
            sizes = [lst.get(k).get_size() for k in range(lst.length())]
        else:
            sizes = [info.get_buffer().get_size()]
        if audio:
            self.audio_packets += len(sizes)
            self.audio_bytes += sum(sizes)
        else:
            self.packets += len(sizes)
            self.bytes += sum(sizes)
        return Gst.PadProbeReturn.OK

    def close(self):
        if self.location:
            try:
                self.request("DELETE", self.location)
            except OSError:
                pass
        self.pipe.set_state(Gst.State.NULL)


def main():
    ap = argparse.ArgumentParser()
    for k in ("url", "room", "stream", "ca", "cert", "key"):
        ap.add_argument("--" + k, required=True)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--audio", action="store_true", help="also ask for the stream's sound")
    a = ap.parse_args()
    Gst.init(None)
    ctx = ssl.create_default_context(cafile=a.ca)
    ctx.load_cert_chain(a.cert, a.key)
    ctx.check_hostname = False
    viewers = [Viewer(i, a, ctx) for i in range(a.count)]
    loop = GLib.MainLoop()

    def report():
        for v in viewers:
            print(f"packets {v.i} {v.packets} {v.bytes}", flush=True)
            if a.audio:
                print(f"audio {v.i} {v.audio_packets} {v.audio_bytes}", flush=True)
        return True
    GLib.timeout_add_seconds(1, report)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    loop.run()
    for v in viewers:
        v.close()
    print("closed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
