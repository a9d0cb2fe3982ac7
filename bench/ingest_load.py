"""Load generator for bench/archive.sh: N concurrent real-time streams of R Mbit/s published
as media chunks (chunk version 2: the media bytes as payload, the metadata in MQTT 5 user
properties, schemas/topics.md) by the room agents' identities (E1, E2, T1 of the example
site) through the real broker into the real controller, which routes them (the example
day's two tenders are seated and checked in, so room streams are copied into both tender
archives),
stores them durably and acknowledges them. Prints, each on a line of its own:

  controller cpu: N % of one core          (utime + stime from /proc/PID/stat, wall time)
  ack after the last chunk: median N ms, p99 N ms
  wire bytes per media byte: X.XX          (TCP bytes the agents' connections delivered to
                                            the broker: TLS, MQTT and properties, over the
                                            media bytes offered; 1.00 is the floor)

usage: ingest_load.py BIN_DIR WORK_DIR [streams] [mbit] [seconds] [segment_s]"""
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402
from daemons import Site  # noqa: E402

CHUNK = 256 * 1024
TCP_INFO_BYTES_ACKED = 120  # offset of tcpi_bytes_acked in struct tcp_info (linux/tcp.h)


def bytes_acked(sock):
    """Bytes this TCP connection has sent and had acknowledged by the peer."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    return struct.unpack_from("=Q", info, TCP_INFO_BYTES_ACKED)[0]


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def main():
    bin_dir, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    mbit = float(sys.argv[4]) if len(sys.argv) > 4 else 2.0
    secs = float(sys.argv[5]) if len(sys.argv) > 5 else 20.0
    seg_s = float(sys.argv[6]) if len(sys.argv) > 6 else 2.0
    site = Site(bin_dir, work, observe=False)
    try:
        run(site, n, mbit, secs, seg_s, work)
    finally:
        site.close()


# The bench's experts, with valid identity numbers (the desk checks them at check-in).
PEOPLE = {"TA": (("xp-a", "11010519491231002X"), ("xp-b", "110105194912310038")),
          "TB": (("xp-c", "310101198001010018"), ("xp-d", "310101198001010026"))}


def setup_day(site, work):
    def ok(*args):
        rc, out, err = site.ctl(*args)
        if rc != 0:
            raise RuntimeError("%s: %s %s" % (args, out, err))
    day = time.strftime("%Y-%m-%d")  # check-in is for the session of the day
    ok("site", "import", harness.EXAMPLE_SITE)
    ok("session", "create", "--date", day)
    for t in ("TA", "TB"):
        ok("tender", "add", "--session", day, "--id", t, "--name", t)
    for t, people in PEOPLE.items():
        p = os.path.join(work, t + ".csv")
        with open(p, "w") as f:
            f.write("person_id,name,id_number,role\n" +
                    "".join("%s,%s,%s,expert\n" % (x, x, n) for x, n in people))
        ok("committee", "import", "--tender", t, p)
    rc, commit, err = site.ctl("draw", "commit", "--session", day)
    if rc != 0:
        raise RuntimeError("draw commit: %s %s" % (commit, err))
    # the witness runs the draw, confirming the published commitment (docs/draw.md)
    rc, out, err = site.witness_run(day, "bench", commit["commitment"])
    if rc != 0:
        raise RuntimeError("draw run: %s %s" % (out, err))
    # a room's recording reaches a tender's archive only from its people's check-in on
    # (the seat map is sealed until then): everyone checks in, so each expert room's
    # streams go to both tenders' archives as before
    for people in PEOPLE.values():
        for x, n in people:
            ok("desk", "checkin", "--person", x, "--id-number", n, "--screening", "passed")


def run(site, n, mbit, secs, seg_s, work):
    ctl = site.start_controller()
    setup_day(site, work)
    rooms = ["E1", "E2", "T1"]
    seg_bytes = int(mbit * 1e6 / 8 * seg_s)
    pool = [os.urandom(seg_bytes) for _ in range(4)]
    pool = [(d, hashlib.sha256(d).hexdigest(),
             [d[o:o + CHUNK] for o in range(0, len(d), CHUNK)])
            for d in pool]
    clients, lock = {}, threading.Lock()
    sent_at, ack_delay = {}, []
    for room in rooms:
        c = harness.Client(site.prov, "agent-" + room, client_id="bench-agent-" + room)
        if not c.connect():
            raise RuntimeError("cannot connect as agent-" + room)
        c.client.max_inflight_messages_set(1000)
        c.client.max_queued_messages_set(0)
        c.client.on_message = None

        def on_msg(client, userdata, msg, room=room):
            m = json.loads(msg.payload)
            if m.get("kind") == "segment.ack" and "segment_seq" in m:
                with lock:
                    t = sent_at.pop((room, m["stream"], m["segment_seq"]), None)
                    if t is not None:
                        ack_delay.append(time.monotonic() - t)
        c.client.on_message = on_msg
        c.subscribe("evalroom/v1/room/%s/cmd" % room)
        clients[room] = c

    streams = [(rooms[i % len(rooms)], "load-%02d" % i) for i in range(n)]
    seq = [0]
    media = [0]  # media bytes published

    def publisher(room):
        hc = clients[room]
        c = hc.client
        mine = [(i, s) for i, (r, s) in enumerate(streams) if r == room]
        t0 = time.monotonic()
        k = 0
        while time.monotonic() - t0 < secs:
            # each stream closes a segment every seg_s, staggered over the interval
            for i, stream in mine:
                due = t0 + k * seg_s + (i / n) * seg_s
                while time.monotonic() < due:
                    time.sleep(max(0.0, min(0.01, due - time.monotonic())))
                data, sha, parts = pool[(k + i) % len(pool)]
                now_us = int(time.time() * 1e6)
                off = 0
                for j, piece in enumerate(parts):
                    seq[0] = max(seq[0] + 1, int(time.time() * 1e6))
                    last = j == len(parts) - 1
                    props = harness.user_props([
                        ("v", 2), ("kind", "segment.chunk"), ("seq", seq[0]), ("ts", now_us),
                        ("stream", stream), ("segment_seq", k + 1),
                        ("start_us", now_us - int(seg_s * 1e6)), ("end_us", now_us),
                        ("size", len(data)), ("sha256", sha), ("recovered", "false"),
                        ("offset", off), ("last", "true" if last else "false")])
                    if last:
                        with lock:
                            sent_at[(room, stream, k + 1)] = time.monotonic()
                    with hc._io:  # the harness's network loop shares the TLS socket
                        c.publish("evalroom/v1/room/%s/media" % room, piece, qos=1,
                                  properties=props)
                    with lock:
                        media[0] += len(piece)
                    off += len(piece)
            k += 1

    pid = ctl.proc.pid
    threads = [threading.Thread(target=publisher, args=(r,)) for r in rooms]
    socks = [c.client.socket() for c in clients.values()]
    wire0 = sum(bytes_acked(s) for s in socks)
    w0, c0 = time.monotonic(), cpu_ticks(pid)
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # wait for the last acknowledgements (bounded)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with lock:
            if not sent_at:
                break
        time.sleep(0.1)
    w1, c1 = time.monotonic(), cpu_ticks(pid)
    wire = sum(bytes_acked(s) for s in socks) - wire0
    hz = os.sysconf("SC_CLK_TCK")
    with lock:
        delays = sorted(ack_delay)
        missing = len(sent_at)
    stored = sum(os.path.getsize(os.path.join(dp, f))
                 for dp, _, fs in os.walk(os.path.join(site.tmp, "controller-state", "archive"))
                 for f in fs)
    offered = n * mbit / 8 * secs
    cpu = (c1 - c0) / hz / (w1 - w0) * 100
    print("%d streams x %.1f Mbit/s for %.0f s (%.1f MB/s offered, %d-s segments), "
          "through broker and controller:" % (n, mbit, secs, offered / secs, seg_s))
    print("controller cpu: %.1f %% of one core" % cpu)
    if delays:
        print("ack after the last chunk: median %.0f ms, p99 %.0f ms"
              % (delays[len(delays) // 2] * 1e3,
                 delays[min(len(delays) - 1, int(len(delays) * 0.99))] * 1e3))
    print("wire bytes per media byte: %.2f" % (wire / media[0] if media[0] else 0.0))
    acked_mb = len(delays) * seg_bytes / 1e6
    if acked_mb:
        print("controller cpu time: %.2f s over %.0f s for %.0f MB acknowledged (%.1f ms per MB)"
              % ((c1 - c0) / hz, w1 - w0, acked_mb, (c1 - c0) / hz * 1e3 / acked_mb))
    print("segments acknowledged: %d (%d unacknowledged at the end); archive files on "
          "disk: %.0f MB (room streams are copied into both tenders' archives)"
          % (len(delays), missing, stored / 1e6))
    for c in clients.values():
        c.close()


if __name__ == "__main__":
    main()
