#!/usr/bin/python3
"""Door events while a secondary venue's media backlog drains (issue 22, item 3).

A main venue and one secondary venue ("north"), each in its own network namespace, joined
by a veth link with a bandwidth limit (tbf, LINK_KBIT each way, a queue of at most QUEUE_MS)
and 25 ms of delay each way (wan_relay.py). The north room's agent records one seat stream
of about STREAM_KBIT (x264 on a noise picture, so the encoder cannot go below its rate).
The link is cut for CUT_S seconds, so the spool holds that much media, then restored; while
the backlog drains, a card is presented at the north door every 0.5 s (a denied door event
each). The figure is each event's delay from the agent (its `at`) to the controller's
state.db (`received`), before the cut (idle link) and during the drain, for three set-ups:

  one-bridge   media and events on one bridge connection (the design before the media
               bridge), media not rate-limited;
  two-bridges  the media bridge of its own, media not rate-limited;
  rate-limited the media bridge and [recorder] media_kbit = MEDIA_KBIT (< LINK_KBIT).

It also prints how long the drain took. Needs root (namespaces, nft, tc); prints and
asserts nothing else.

    python3 bench/venue_media.py BUILD [LINK_KBIT STREAM_KBIT MEDIA_KBIT CUT_S QUEUE_MS [CASE...]]
"""
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402
import venues_net  # noqa: E402
from daemons import DoorSim, door_config, wait_for  # noqa: E402

ROOM, STREAM = "EN", "cam-EN-S1"


def rows(path, sql, *args):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def site(media_kbit):
    north = {"id": "north", "host": "10.200.1.2"}
    if media_kbit:
        north["media_kbit"] = media_kbit
    return {"id": "bench", "name": "venue media bench",
            "venues": [{"id": "main", "main": True, "host": venues_net.MAIN_HOST}, north],
            "rooms": [{"id": ROOM, "kind": "expert", "venue": "north", "door": "D-EN",
                       "seats": [{"id": "S1", "camera": STREAM}]}],
            "operators": ["alice"]}


def one_bridge(conf_path):
    """The north broker's configuration as before the media bridge: the media topic on the
    main bridge, no media bridge."""
    text = open(conf_path).read()
    main, media = text.split("connection bridge-north-media\n")
    media_topics = [ln for ln in media.splitlines() if ln.startswith("topic ")]
    head = main.rsplit("\n# The media bridge", 1)[0].rstrip("\n") + "\n"
    with open(conf_path, "w") as f:
        f.write(head + "\n".join(media_topics) + "\n")


def latencies(state_db, t0_us, t1_us):
    got = rows(state_db, "SELECT received - at FROM agent_event WHERE room = ? AND kind "
               "LIKE 'door%%' AND at >= ? AND at < ?", ROOM, t0_us, t1_us)
    return sorted(r[0] / 1000.0 for r in got)


def summary(ms):
    if not ms:
        return "no events"
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return "n=%d p50 %.0f ms, p95 %.0f ms, max %.0f ms" % (
        len(ms), statistics.median(ms), p95, ms[-1])


def run_case(build, name, link_kbit, stream_kbit, media_kbit, cut_s, queue_ms, tmp):
    bin_dir = os.path.join(build, "bin")
    os.makedirs(tmp, exist_ok=True)
    wan = venues_net.Wan(["north"], loss_percent=0, delay_ms=25, rate_kbit=link_kbit,
                         queue_ms=queue_ms)
    procs = []
    try:
        prov = harness.provision(bin_dir, os.path.join(tmp, "site"), site=site(media_kbit))
        north_conf = os.path.join(prov.dir, "venues", "north", "broker", "mosquitto.conf")
        if name == "one-bridge":
            one_bridge(north_conf)

        def start(ns, argv, log):
            p = wan.start(ns, argv, os.path.join(tmp, log + ".log"))
            procs.append(p)
            return p

        def log(name_):
            try:
                return open(os.path.join(tmp, name_ + ".log"), errors="replace").read()
            except OSError:
                return ""

        def conf(name_, cn, port, extra):
            cert, key = prov.cert(cn)
            path = os.path.join(tmp, name_ + ".conf")
            with open(path, "w") as f:
                f.write("[mqtt]\nuri=ssl://127.0.0.1:%d\nca=%s\ncert=%s\nkey=%s\n%s"
                        % (port, prov.ca, cert, key, extra))
            return path

        start(wan.main, [harness.MOSQUITTO, "-c", prov.conf], "broker-main")
        start(wan.ns["north"], [harness.MOSQUITTO, "-c", north_conf], "broker-north")
        for b in ("broker-main", "broker-north"):
            assert wait_for(lambda: "listen socket on port" in log(b), 20), log(b)
        wan.start_relay(prov.port, os.path.join(tmp, "relay.log"))
        state = os.path.join(tmp, "controller-state")
        os.makedirs(state, exist_ok=True)
        start(wan.main, [os.path.join(bin_dir, "evalroom-controller"), "--config",
                         conf("controller", "controller", prov.port,
                              "[controller]\nstate_dir=%s\nsigning_key=%s\ncredential_key=%s\n"
                              % (state, prov.signing_key, prov.credential_key))],
              "controller")
        assert wait_for(lambda: "connected to the broker" in log("controller"), 20)
        site_file = os.path.join(tmp, "site.json")
        with open(site_file, "w") as f:
            json.dump(prov.site, f)
        subprocess.run(wan.exec_argv(wan.main, [
            os.path.join(bin_dir, "evalroomctl"), "--config",
            conf("ctl", "operator-alice", prov.port, ""), "site", "import", site_file]),
            check=True, capture_output=True, timeout=60)

        spool = os.path.join(tmp, "spool")
        os.makedirs(spool, exist_ok=True)
        sock = os.path.join(tmp, "door.sock")
        source = ("videotestsrc is-live=true pattern=snow ! video/x-raw,format=I420,"
                  "width=320,height=240,framerate=10/1 ! x264enc tune=zerolatency "
                  "speed-preset=ultrafast key-int-max=20 bitrate=%d vbv-buf-capacity=1000 ! "
                  "video/x-h264,profile=constrained-baseline ! h264parse" % stream_kbit)
        rec = "[recorder]\nstate_interval_ms=2000\n%s\n[stream %s]\nsource=%s\nplace=seat\n" \
              "seat=S1\nsegment_seconds=2\n" % (
                  "media_kbit=%d" % media_kbit if media_kbit else "", STREAM, source)
        agent_conf = conf("agent", "agent-" + ROOM, 8883,
                          "[agent]\nroom=%s\nvenue=north\nspool_dir=%s\ncredential_key=%s\n"
                          % (ROOM, spool, prov.credential_key) + door_config(sock) + rec)
        start(wan.ns["north"], [os.path.join(bin_dir, "evalroom-agent"), "--config",
                                agent_conf], "agent")
        assert wait_for(lambda: "connected to the broker" in log("agent"), 20), log("agent")
        door = DoorSim(sock)
        assert wait_for(lambda: os.path.exists(sock), 10)
        spool_db = os.path.join(spool, "media", "spool.db")
        state_db = os.path.join(state, "state.db")

        def spooled():
            try:
                return rows(spool_db, "SELECT count(*), coalesce(sum(size), 0) FROM segment")[0]
            except sqlite3.Error:
                return (0, 0)

        time.sleep(8)
        # idle link: ten cards, one every 0.5 s
        t0 = int(time.time() * 1e6)
        for i in range(10):
            door.card(99, 1000 + i)
            time.sleep(0.5)
        t1 = int(time.time() * 1e6)
        wan.cut("north")
        time.sleep(cut_s)
        held = spooled()
        wan.restore("north")
        restored = time.monotonic()
        t2 = int(time.time() * 1e6)
        i = 0
        # until the spool is back to what is normally in flight (or 5 min)
        while time.monotonic() - restored < 300:
            door.card(99, 2000 + i)
            i += 1
            time.sleep(0.5)
            if time.monotonic() - restored > 20 and spooled()[0] <= 2:
                break
        drain_s = time.monotonic() - restored
        t3 = int(time.time() * 1e6)
        time.sleep(3)
        idle = latencies(state_db, t0, t1)
        # the link's own reconnection (keepalive, bridge restart) is not the drain's doing:
        # the events of the first 15 s after the restore are left out
        draining = latencies(state_db, t2 + 15_000_000, t3)
        print("%-13s link %d kbit/s (queue %d ms), stream ~%d kbit/s, media_kbit %s, cut %d s: "
              "held %d segments (%.1f MB); drained in %.0f s"
              % (name, link_kbit, queue_ms, stream_kbit, media_kbit or "none", cut_s, held[0],
                 held[1] / 1e6, drain_s))
        print("%-13s door event delay, idle link:  %s" % ("", summary(idle)))
        print("%-13s door event delay, draining:   %s" % ("", summary(draining)))
        sys.stdout.flush()
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        wan.close()


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    why = venues_net.unavailable()
    if why:
        print("venue media bench skipped: " + why)
        return 0
    build = os.path.abspath(sys.argv[1])
    nums = sys.argv[2:7]
    link, stream, media, cut, queue = (int(a) for a in (
        nums + ["3000", "1000", "2000", "30", "200"][len(nums):]))
    cases = sys.argv[7:] or ["one-bridge", "two-bridges", "rate-limited"]
    import tempfile
    with tempfile.TemporaryDirectory(prefix="venue-media-") as tmp:
        for name in cases:
            run_case(build, name, link, stream, media if name == "rate-limited" else 0, cut,
                     queue, os.path.join(tmp, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
