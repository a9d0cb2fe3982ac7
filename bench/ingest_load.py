"""Load generator for bench/archive.sh: N concurrent real-time streams of R Mbit/s published
as segment.chunk messages by the room agents' identities (E1, E2, T1 of the example site)
through the real broker into the real controller, which routes them (the example day's
two tenders are seated, so room streams are copied into both tender archives), stores
them durably and acknowledges them. Prints the controller's CPU (from /proc/PID/stat),
the ingest rate, and the acknowledgement delay after each segment's last chunk.

usage: ingest_load.py BIN_DIR WORK_DIR [streams] [mbit] [seconds] [segment_s]"""
import base64
import hashlib
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness  # noqa: E402
from daemons import Site  # noqa: E402

CHUNK = 256 * 1024


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


def setup_day(site, work):
    def ok(*args):
        rc, out, err = site.ctl(*args)
        if rc != 0:
            raise RuntimeError("%s: %s %s" % (args, out, err))
    ok("site", "import", harness.EXAMPLE_SITE)
    ok("session", "create", "--date", "2026-11-26")
    for t in ("TA", "TB"):
        ok("tender", "add", "--session", "2026-11-26", "--id", t, "--name", t)
    csv = {"TA": "person_id,name,id_number,role\nxp-a,A,10000001,expert\nxp-b,B,10000002,expert\n",
           "TB": "person_id,name,id_number,role\nxp-c,C,10000003,expert\nxp-d,D,10000004,expert\n"}
    for t, text in csv.items():
        p = os.path.join(work, t + ".csv")
        with open(p, "w") as f:
            f.write(text)
        ok("committee", "import", "--tender", t, p)
    ok("draw", "commit", "--session", "2026-11-26")
    ok("draw", "run", "--session", "2026-11-26", "--witness-entropy", "bench")


def run(site, n, mbit, secs, seg_s, work):
    ctl = site.start_controller()
    setup_day(site, work)
    rooms = ["E1", "E2", "T1"]
    seg_bytes = int(mbit * 1e6 / 8 * seg_s)
    pool = [os.urandom(seg_bytes) for _ in range(4)]
    pool = [(d, hashlib.sha256(d).hexdigest(),
             [base64.b64encode(d[o:o + CHUNK]).decode() for o in range(0, len(d), CHUNK)])
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
                for j, b64 in enumerate(parts):
                    seq[0] = max(seq[0] + 1, int(time.time() * 1e6))
                    size = min(CHUNK, len(data) - off)
                    m = {"v": 1, "kind": "segment.chunk", "seq": seq[0], "ts": now_us,
                         "room": room, "stream": stream, "segment_seq": k + 1,
                         "start_us": now_us - int(seg_s * 1e6), "end_us": now_us,
                         "size": len(data), "sha256": sha, "recovered": False, "offset": off,
                         "data": b64, "last": j == len(parts) - 1}
                    if m["last"]:
                        with lock:
                            sent_at[(room, stream, k + 1)] = time.monotonic()
                    payload = json.dumps(m)
                    with hc._io:  # the harness's network loop shares the TLS socket
                        c.publish("evalroom/v1/room/%s/media" % room, payload, qos=1)
                    off += size
            k += 1

    pid = ctl.proc.pid
    threads = [threading.Thread(target=publisher, args=(r,)) for r in rooms]
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
    hz = os.sysconf("SC_CLK_TCK")
    with lock:
        delays = sorted(ack_delay)
        missing = len(sent_at)
    stored = sum(os.path.getsize(os.path.join(dp, f))
                 for dp, _, fs in os.walk(os.path.join(site.tmp, "controller-state", "archive"))
                 for f in fs)
    offered = n * mbit / 8 * secs
    cpu = (c1 - c0) / hz / (w1 - w0) * 100
    print("controller CPU while ingesting %d x %.1f Mbit/s (%.0f s, %.1f MB/s offered, "
          "%d-s segments): %.1f %% of one core"
          % (n, mbit, secs, offered / secs, seg_s, cpu))
    if delays:
        print("  segments acknowledged: %d (%d unacknowledged at the end); ack after the last "
              "chunk: median %.0f ms, p99 %.0f ms"
              % (len(delays), missing, delays[len(delays) // 2] * 1e3,
                 delays[min(len(delays) - 1, int(len(delays) * 0.99))] * 1e3))
    print("  archive files on disk: %.0f MB (room streams are copied into both tenders' "
          "archives)" % (stored / 1e6))
    for c in clients.values():
        c.close()


if __name__ == "__main__":
    main()
