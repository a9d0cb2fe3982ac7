"""The figures of bench/alerts.sh (see there)."""
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time

bin_dir, root = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(root, "tests", "integration"))
import harness  # noqa: E402
from daemons import Site, wait_for  # noqa: E402


class Operator:
    """One persistent operator connection (paho's own network thread, which allows
    publishing from this thread) sending requests and timing the answers."""

    def __init__(self, site):
        import ssl
        import threading
        import paho.mqtt.client as mqtt
        self.cn = site.operator
        self.topic = harness.topic("ctl", self.cn, "resp")
        self.answers = {}
        self.cond = threading.Condition()
        self.c = mqtt.Client(client_id=self.cn + ":bench", protocol=mqtt.MQTTv5)
        cert, key = site.prov.cert(self.cn)
        self.c.tls_set(ca_certs=site.prov.ca, certfile=cert, keyfile=key,
                       cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.c.on_message = self._on_message
        self.c.connect("127.0.0.1", site.prov.port)
        # Nagle would add ~40 ms per round trip (DESIGN.md, "Measured").
        import socket
        self.c.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.c.loop_start()
        self.c.subscribe(self.topic, 1)
        time.sleep(0.5)
        self.n = 0

    def _on_message(self, client, userdata, msg):
        m = json.loads(msg.payload)
        with self.cond:
            self.answers[m.get("id")] = m
            self.cond.notify_all()

    def request(self, command, args=None):
        self.n += 1
        rid = "bench-%d" % self.n
        now = int(time.time() * 1e6)
        self.c.publish(harness.topic("ctl", self.cn, "req"), json.dumps(
            {"v": 1, "kind": "request", "seq": now, "ts": now, "id": rid,
             "expires": now + 10**7, "command": command, "args": args or {}}), qos=1)
        with self.cond:
            self.cond.wait_for(lambda: rid in self.answers, 10)
            return self.answers.pop(rid)["result"]

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


def ms(v):
    return "%.1f ms" % (v * 1000)


tmp = tempfile.mkdtemp(prefix="bench-alerts-")
site = Site(bin_dir, tmp, observe=False)
try:
    site.start_controller()
    site.start_agent("E1", door=True)
    op = Operator(site)
    door = site.door("E1")
    lat = []
    for _ in range(10):
        t0 = time.monotonic()
        door.set("DOOR_SENSOR", 1)
        while True:
            res = op.request("alerts.list", {"open": True})
            if any(a["kind"] == "door_forced" for a in res["alerts"]):
                break
            time.sleep(0.005)
        lat.append(time.monotonic() - t0)
        door.set("DOOR_SENSOR", 0)
        wait_for(lambda: not op.request("alerts.list", {"open": True})["alerts"], 5, 0.05)
    print("(a) door forced -> alert listed: median %s, max %s (10 tries; includes the 5 ms "
          "debounce and polling every 5 ms)" % (ms(statistics.median(lat)), ms(max(lat))))

    db = sqlite3.connect(os.path.join(tmp, "controller-state", "state.db"), timeout=10)
    now = int(time.time() * 1e6)
    db.executemany("INSERT INTO alert (kind, room, detail, raised_at, last_at, state, "
                   "resolved_at, resolved_by) VALUES ('tamper', 'E2', 'bench', ?, ?, "
                   "'resolved', ?, 'bench')", [(now - i, now - i, now) for i in range(10000)])
    db.commit()
    db.close()
    for command, args in (("rooms", {}), ("alerts.list", {"open": True}),
                          ("alerts.list", {"limit": 1000})):
        rtt = []
        for _ in range(50):
            t0 = time.monotonic()
            op.request(command, args)
            rtt.append(time.monotonic() - t0)
        print("(b) %s %s with 10,000 alerts stored: median %s, p90 %s (50 requests)" % (
            command, json.dumps(args), ms(statistics.median(rtt)),
            ms(sorted(rtt)[44])))
    op.close()
finally:
    site.close()
