"""A stand-in for a room agent's shipper (docs/recording.md, chunk protocol), publishing
real MPEG-TS segments as the agent's identity, for tests and the ingest benchmark. A chunk
is the media bytes as payload with its metadata in MQTT 5 user properties
(schemas/topics.md, chunk version 2).

It keeps what the real shipper keeps: segments and gaps not yet acknowledged. It resends
every unacknowledged one from offset 0 after (re)connecting and whenever the controller's
retained status turns online (the agreement in docs/archives.md), and it answers
media.flush once nothing before the close time is unacknowledged."""
import base64
import hashlib
import json
import threading
import time

import harness

PREFIX = "evalroom/v1/"
CHUNK_VERSION = 2


def prop_text(v):
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


class Chunk:
    """One chunk: META (property name -> value; values are sent as their text, booleans
    as true/false) and DATA (the media bytes). Indexing reads and edits META."""

    def __init__(self, meta, data):
        self.meta, self.data = meta, data

    def __getitem__(self, k):
        return self.meta[k]

    def __setitem__(self, k, v):
        self.meta[k] = v

    def __delitem__(self, k):
        del self.meta[k]

    def properties(self):
        return [(k, prop_text(v)) for k, v in self.meta.items()]


class Segment:
    def __init__(self, stream, seq, start_us, end_us, data, recovered=False):
        self.stream, self.seq = stream, seq
        self.start_us, self.end_us = start_us, end_us
        self.data = data
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.recovered = recovered


class FakeAgent:
    def __init__(self, prov, room, chunk_bytes=4096, answer_flush=True, cn=None):
        self.prov, self.room = prov, room
        self.cn = cn or "agent-" + room
        self.chunk_bytes = chunk_bytes
        self.answer_flush = answer_flush
        self.unacked = {}  # (stream, seq) -> Segment
        self.gaps = {}  # gap_id -> message
        self.acked = []  # (stream, seq) in ack order (repeats included)
        self.acked_gaps = []
        self.flushes = []  # media.flush commands seen
        self._flush_seen = set()
        self._seq = 0
        self._lock = threading.RLock()
        self._pub_lock = threading.Lock()  # paho's client is not safe for concurrent publishes
        self._stop = False
        self.client = None
        self._seen = 0
        self._watch = threading.Thread(target=self._watch_loop, daemon=True)
        self.connect()
        self._watch.start()

    # -- connection --
    def connect(self):
        """(Re)connect as a fresh process would, then resend everything unacknowledged."""
        with self._lock:
            old, self.client = self.client, None
        if old:
            old.close()
        c = harness.Client(self.prov, self.cn, client_id="test-" + self.cn)
        deadline = time.monotonic() + 20
        while not c.connect():
            if time.monotonic() > deadline:
                raise RuntimeError("fake agent %s cannot connect" % self.room)
            time.sleep(0.2)
            c = harness.Client(self.prov, self.cn, client_id="test-" + self.cn)
        c.subscribe(PREFIX + "room/%s/cmd" % self.room)
        c.subscribe(PREFIX + "controller/status")
        with self._lock:
            self.client = c
            self._seen = 0
        # The controller's retained status arrives now (if it is up) and triggers the
        # resend of everything unacknowledged; so does its next "online".

    def _reconnect(self, old):
        old.close()
        try:
            self.connect()
        except RuntimeError:
            pass

    def kill(self):
        """Drop the connection without a DISCONNECT (as a kill -9 would)."""
        with self._lock:
            c, self.client = self.client, None
        if c:
            c._stop = True
            try:
                c.client.socket().close()
            except Exception:
                pass

    def close(self):
        self._stop = True
        if self.client:
            self.client.close()

    def _next_seq(self):
        self._seq = max(self._seq + 1, int(time.time() * 1e6))
        return self._seq

    def _msg(self, kind, **members):
        m = {"v": 1, "kind": kind, "seq": self._next_seq(), "ts": int(time.time() * 1e6)}
        m.update(members)
        return m

    def publish(self, topic_tail, msg):
        """Publishes MSG (a dict as JSON, a Chunk as bytes with user properties, bytes as
        they are). False when the connection is gone."""
        c = self.client
        if not c:
            return False
        topic = PREFIX + "room/%s/%s" % (self.room, topic_tail)
        props = None
        if isinstance(msg, Chunk):
            payload, props = msg.data, msg.properties()
        elif isinstance(msg, (bytes, bytearray)):
            payload = bytes(msg)
        else:
            payload = json.dumps(msg)
        try:
            with self._pub_lock:
                info = c.publish(topic, payload, user_properties=props)
        except (OSError, ValueError, RuntimeError):
            return False  # connection gone: resent after the next connect
        return info.rc == 0

    # -- shipping --
    def chunks(self, seg, sha256=None):
        """(offset, Chunk) for each chunk of SEG, in order."""
        off = 0
        while off < len(seg.data):
            piece = seg.data[off:off + self.chunk_bytes]
            last = off + len(piece) == len(seg.data)
            meta = {"v": CHUNK_VERSION, "kind": "segment.chunk", "seq": self._next_seq(),
                    "ts": int(time.time() * 1e6), "stream": seg.stream,
                    "segment_seq": seg.seq, "start_us": seg.start_us, "end_us": seg.end_us,
                    "size": len(seg.data), "sha256": sha256 or seg.sha256,
                    "recovered": seg.recovered, "offset": off, "last": last}
            yield off, Chunk(meta, piece)
            off += len(piece)

    def old_chunks(self, seg):
        """SEG's chunks as an agent of chunk version 1 sent them: JSON with base64 data."""
        off = 0
        while off < len(seg.data):
            piece = seg.data[off:off + self.chunk_bytes]
            yield off, self._msg("segment.chunk", room=self.room, stream=seg.stream,
                                 segment_seq=seg.seq, start_us=seg.start_us,
                                 end_us=seg.end_us, size=len(seg.data), sha256=seg.sha256,
                                 recovered=seg.recovered, offset=off,
                                 data=base64.b64encode(piece).decode(),
                                 last=off + len(piece) == len(seg.data))
            off += len(piece)

    def send(self, seg, stop_after=None):
        """Spool SEG and publish its chunks (only the first STOP_AFTER of them, to leave
        it half-sent)."""
        with self._lock:
            self.unacked[(seg.stream, seg.seq)] = seg
        for i, (_, m) in enumerate(self.chunks(seg)):
            if stop_after is not None and i >= stop_after:
                return
            if not self.publish("media", m):
                return

    def send_gap(self, gap_id, stream, reason, from_us, to_us):
        m = self._msg("stream.gap", room=self.room, stream=stream, gap_id=gap_id,
                      reason=reason, from_us=from_us, to_us=to_us)
        with self._lock:
            self.gaps[gap_id] = m
        self.publish("event", m)

    def resend(self):
        with self._lock:
            gaps = list(self.gaps.values())
            segs = sorted(self.unacked.values(), key=lambda s: s.end_us)
        for g in gaps:
            g = dict(g, seq=self._next_seq())
            self.publish("event", g)
        for s in segs:
            for _, m in self.chunks(s):
                if not self.publish("media", m):
                    return

    # -- what comes back --
    def _watch_loop(self):
        while not self._stop:
            time.sleep(0.05)
            with self._lock:
                c = self.client
                if not c:
                    continue
                if c.disconnected is not None:
                    # The real agent reconnects by itself (the broker went away).
                    threading.Thread(target=self._reconnect, args=(c,), daemon=True).start()
                    self.client = None
                    continue
                new = c.messages[self._seen:]
                self._seen += len(new)
            for topic, payload in new:
                self._handle(topic, payload)

    def _handle(self, topic, payload):
        if not payload:
            return
        m = json.loads(payload)
        if topic.endswith("/controller/status"):
            if m.get("state") == "online":
                threading.Thread(target=self.resend, daemon=True).start()
            return
        if m.get("kind") == "segment.ack":
            with self._lock:
                if "segment_seq" in m:
                    self.acked.append((m["stream"], m["segment_seq"]))
                    self.unacked.pop((m["stream"], m["segment_seq"]), None)
                else:
                    self.acked_gaps.append(m["gap_id"])
                    self.gaps.pop(m["gap_id"], None)
        elif m.get("kind") == "cmd" and m.get("command") == "media.flush":
            self.flushes.append(m)
            if self.answer_flush:
                threading.Thread(target=self._flush, args=(m,), daemon=True).start()

    def _flush(self, cmd):
        """As the agent does: answer at once with what recorded before the close is
        still unacknowledged, and keep shipping (a segment half-sent when the first
        question came is sent again from offset 0)."""
        before = cmd["args"]["before_us"]
        with self._lock:
            todo = sorted((s for s in self.unacked.values() if s.start_us < before),
                          key=lambda s: s.end_us)
            gaps = [g for g in self.gaps.values() if g["from_us"] < before]
            first = before not in self._flush_seen
            self._flush_seen.add(before)
        self.publish("reply", self._msg("reply", id=cmd["id"], ok=True,
                                        result={"pending": len(todo) + len(gaps),
                                                "segments": len(todo), "gaps": len(gaps)}))
        if first:
            for s in todo:
                for _, m in self.chunks(s):
                    self.publish("media", m)

    def wait_acked(self, keys, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if all(k in self.acked for k in keys):
                    return True
            time.sleep(0.05)
        return False
