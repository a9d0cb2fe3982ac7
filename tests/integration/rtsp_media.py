"""Real RTSP cameras for the tests and the benchmark: clips encoded once (cached in the
build directory) and served as they are by rtsp_camera.py, GStreamer's RTSP server."""
import os
import signal
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"  # Debian's, with python3-gi and gir1.2-gst-rtsp-server-1.0

ENCODERS = {
    "h264": "x264enc speed-preset=ultrafast tune=zerolatency bitrate={kbps} key-int-max={gop} "
            "! video/x-h264,profile=constrained-baseline ! h264parse",
    "h265": "x265enc speed-preset=ultrafast tune=zerolatency bitrate={kbps} key-int-max={gop} "
            "! h265parse",
}
PAYLOADERS = {"h264": "rtph264pay", "h265": "rtph265pay"}
PARSERS = {"h264": "h264parse", "h265": "h265parse"}


def clip(cache_dir, codec, width, height, fps, seconds, kbps=300, audio=True, pattern="ball"):
    """A Matroska clip (video in codec, 4:2:0, one key frame a second; AAC audio when
    asked) of videotestsrc's PATTERN ("snow" fills any bitrate), encoded once and kept in
    cache_dir. Returns its path."""
    os.makedirs(cache_dir, exist_ok=True)
    name = (f"{codec}-{width}x{height}-{fps}-{seconds}s-{kbps}k{'-aac' if audio else ''}"
            f"{'' if pattern == 'ball' else '-' + pattern}.mkv")
    path = os.path.join(cache_dir, name)
    if os.path.exists(path):
        return path
    frames = fps * seconds
    enc = ENCODERS[codec].format(kbps=kbps, gop=fps)
    pipe = (f"videotestsrc num-buffers={frames} pattern={pattern} ! "
            f"video/x-raw,format=I420,width={width},height={height},framerate={fps}/1 ! "
            f"{enc} ! queue ! matroskamux name=m ! filesink location={path}.part")
    if audio:
        pipe += (f" audiotestsrc num-buffers={seconds * 10} samplesperbuffer=4800 ! "
                 "audio/x-raw,rate=48000,channels=1 ! avenc_aac ! aacparse ! queue ! m.")
    subprocess.run(["nice", "-n", "10", "gst-launch-1.0", "-q", *pipe.split()], check=True,
                   timeout=600)
    os.rename(path + ".part", path)
    return path


def joined_clip(cache_dir, codec, first, second):
    """The video of two clips one after the other in one MPEG-TS file (a camera that
    changes its resolution mid-stream), made once. Returns its path."""
    name = os.path.basename(first)[:-4] + "+" + os.path.basename(second)[:-4] + ".ts"
    path = os.path.join(cache_dir, name)
    if os.path.exists(path):
        return path
    parse = PARSERS[codec]
    pipe = (f"concat name=c ! {parse} ! mpegtsmux ! filesink location={path}.part "
            f"filesrc location={first} ! matroskademux ! queue ! {parse} ! c. "
            f"filesrc location={second} ! matroskademux ! queue ! {parse} ! c.")
    subprocess.run(["nice", "-n", "10", "gst-launch-1.0", "-q", *pipe.split()], check=True,
                   timeout=600)
    os.rename(path + ".part", path)
    return path


def looped_clip(cache_dir, codec, first, times):
    """The Matroska clip first (video and AAC) repeated times over in one MPEG-TS file,
    remuxed without encoding: a long 4 MP stream for the cost of a short encode."""
    path = os.path.join(cache_dir, os.path.basename(first)[:-4] + f"-x{times}.ts")
    if os.path.exists(path):
        return path
    parse = PARSERS[codec]
    pipe = (f"concat name=cv ! {parse} ! queue ! mpegtsmux name=m ! filesink "
            f"location={path}.part concat name=ca ! aacparse ! queue ! m.")
    for i in range(times):
        pipe += (f" filesrc location={first} ! matroskademux name=d{i} "
                 f"d{i}.video_0 ! queue ! {parse} ! cv. d{i}.audio_0 ! queue ! aacparse ! ca.")
    subprocess.run(["nice", "-n", "10", "gst-launch-1.0", "-q", *pipe.split()], check=True,
                   timeout=600)
    os.rename(path + ".part", path)
    return path


def launch(codec, path, audio=None):
    """A mount's launch description serving the clip at path (Matroska, or MPEG-TS
    video only), and its audio as audio ("aac": RTP MPEG4-GENERIC, "pcma": G.711
    A-law as many cameras send it) or none."""
    parse, pay = PARSERS[codec], PAYLOADERS[codec]
    # MPEG-TS pads are named by PID: link them by what the parser takes.
    ts = path.endswith(".ts")
    demux, vpad, apad = (("tsdemux", "d.", "d.") if ts
                         else ("matroskademux", "d.video_0 ! queue", "d.audio_0 ! queue"))
    desc = (f"filesrc location={path} ! {demux} name=d "
            f"{vpad} ! {parse} ! queue ! {pay} name=pay0 pt=96 config-interval=-1")
    if audio == "aac":
        desc += f" {apad} ! aacparse ! queue ! rtpmp4gpay name=pay1 pt=97"
    elif audio == "pcma":
        desc += (f" {apad} ! aacparse ! queue ! avdec_aac ! audioconvert ! audioresample ! "
                 "audio/x-raw,rate=8000,channels=1 ! alawenc ! rtppcmapay name=pay1 pt=8")
    return f"( {desc} )"


class Camera:
    """rtsp_camera.py as a subprocess, optionally inside a network namespace."""

    def __init__(self, port, mounts, user=None, password=None, address="127.0.0.1",
                 netns=None, log=None):
        self.args = [PY, os.path.join(HERE, "rtsp_camera.py"), "--port", str(port),
                     "--address", address]
        if user:
            self.args += ["--user", user, "--password", password]
        for path, desc in mounts.items():
            self.args += ["--mount", path, desc]
        if netns:
            self.args = ["ip", "netns", "exec", netns, *self.args]
        self.log = log
        self.p = None
        self.start()

    def start(self):
        self.p = subprocess.Popen(self.args, stdout=subprocess.PIPE,
                                  stderr=self.log or subprocess.DEVNULL, text=True)
        line = self.p.stdout.readline()
        assert line.strip() == "ready", f"RTSP server did not start: {line!r}"

    def stop(self):
        """The camera goes away at once (a reboot or a cut cable)."""
        if self.p and self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
            self.p.wait(10)
        self.p = None


# A camera that takes the connection and answers OPTIONS, then never sends anything:
# its encoder gets no picture, so DESCRIBE waits forever.
SILENT = ("( videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=10/1 ! "
          "valve drop=true ! x264enc ! video/x-h264,stream-format=byte-stream,"
          "profile=constrained-baseline ! rtph264pay name=pay0 pt=96 )")


def credentials(path, user, password):
    """A credentials file as the agent wants it: user=, password=, mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"user={user}\npassword={password}\n")
    return path
