"""Hostile clients with valid certificates (issue 11 item 2, docs/reliability.md).

- The whole ACL matrix of schemas/topics.md, for one identity of each role (agent,
  terminal, operator, desk, auditor, witness, supervisor, tenderer's representative): every
  publish and every read of the 41 topics of two rooms, two seats each, seven command-line
  identities, a draw commitment and the supervisors' notices, on the site with the
  watchers' rooms (docs/witness.md). mosquitto acknowledges denied
  publishes and grants denied subscriptions, so only delivery proves anything: each
  topic's legitimate reader records what arrives, and a control message from each topic's
  legitimate writer shows that the allowed path delivers.
- Replays: a request replayed with its id is answered with the first answer and not
  executed again (lock line and audit log); a request past its `expires` is refused; a
  controller command captured on the wire and replayed after its expiry, and a forged
  command already expired, are refused by the agent with the lock line unchanged.
- A flood of 5,000 messages from one client: the controller answers a status request
  and drives a door meanwhile, and its memory stays bounded.
"""
import json
import os
import time

import pytest

import harness
import watchers
from daemons import Site, wait_for

ROOMS = {"E1": ["S1", "S2"], "E2": ["S1", "S2"]}
CLI = ["operator-alice", "operator-bob", "desk-entrance", "auditor-audit1",
       watchers.WITNESS, watchers.SUPERVISOR, watchers.REP]
ATTACKERS = ["agent-E1", "terminal-E1-S1", "operator-alice", "desk-entrance",
             "auditor-audit1", watchers.WITNESS, watchers.SUPERVISOR, watchers.REP]


def topics():
    out = ["controller/status", "controller/error", "controller/roots",
           "draw/S-1/commitment", "supervision/notice"]
    for r, seats in ROOMS.items():
        out += ["room/%s/%s" % (r, k) for k in ("status", "event", "reply", "media", "cmd")]
        for s in seats:
            out += ["seat/%s/%s/%s" % (r, s, k) for k in ("status", "up", "down")]
    for cn in CLI:
        out += ["ctl/%s/req" % cn, "ctl/%s/resp" % cn]
    return out


def may_write(cn, t):
    p = t.split("/")
    if cn == "controller":
        return (t in ("controller/status", "controller/error", "controller/roots",
                      "supervision/notice")
                or p[0] == "draw"
                or (p[0] == "room" and p[2] == "cmd") or (p[0] == "ctl" and p[2] == "resp"))
    if cn.startswith("agent-"):
        room = cn[len("agent-"):]
        return ((p[0] == "room" and p[1] == room and p[2] != "cmd")
                or (p[0] == "seat" and p[1] == room and p[3] == "down"))
    if cn.startswith("terminal-"):
        _, room, seat = cn.split("-")
        return p[0] == "seat" and p[1:3] == [room, seat] and p[3] in ("status", "up")
    return t == "ctl/%s/req" % cn


def may_read(cn, t):
    p = t.split("/")
    if cn == "controller":
        return ((p[0] == "room" and p[2] != "cmd") or (p[0] == "ctl" and p[2] == "req"))
    if cn.startswith("agent-"):
        room = cn[len("agent-"):]
        return (t == "controller/status" or t == "room/%s/cmd" % room
                or (p[0] == "seat" and p[1] == room and p[3] in ("status", "up")))
    if cn.startswith("terminal-"):
        _, room, seat = cn.split("-")
        return t == "seat/%s/%s/down" % (room, seat)
    return (t == "controller/status" or t == "ctl/%s/resp" % cn
            or (cn.startswith("operator-") and t == "controller/error")
            or (cn.startswith(("operator-", "auditor-")) and t == "controller/roots")
            or (not cn.startswith("desk-") and p[0] == "draw")
            or (cn.startswith("supervisor-") and t == "supervision/notice"))


def reader_of(t):
    p = t.split("/")
    if p[0] in ("controller", "draw"):
        return "operator-alice"
    if p[0] == "supervision":
        return watchers.SUPERVISOR
    if p[0] == "room":
        return "agent-" + p[1] if p[2] == "cmd" else "controller"
    if p[0] == "seat":
        return "terminal-%s-%s" % (p[1], p[2]) if p[3] == "down" else "agent-" + p[1]
    return "controller" if p[2] == "req" else p[1]


def writer_of(t):
    p = t.split("/")
    if p[0] in ("controller", "draw", "supervision") or (p[0] == "room" and p[2] == "cmd"):
        return "controller"
    if p[0] == "room":
        return "agent-" + p[1]
    if p[0] == "seat":
        return "agent-" + p[1] if p[3] == "down" else "terminal-%s-%s" % (p[1], p[2])
    return p[1] if p[2] == "req" else "controller"


@pytest.fixture
def bare(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path, site=watchers.site_dict(), observe=False)
    yield s
    s.close()


def test_acl_matrix_by_delivery(bare):
    tps = topics()
    readers = {}
    for cn in sorted({reader_of(t) for t in tps} | set(ATTACKERS)):
        c = harness.Client(bare.prov, cn, client_id="reader-" + cn)
        assert c.connect(), cn
        c.subscribe(harness.topic("#"))
        readers[cn] = c
    writers = {}
    for cn in sorted(set(ATTACKERS) | {writer_of(t) for t in tps}):
        c = harness.Client(bare.prov, cn, client_id="writer-" + cn)
        assert c.connect(), cn
        writers[cn] = c
    try:
        for t in tps:  # controls: the allowed path delivers
            writers[writer_of(t)].publish(harness.topic(t), "control %s" % t)
        for a in ATTACKERS:
            for t in tps:
                writers[a].publish(harness.topic(t), "hostile %s %s" % (a, t))
        time.sleep(1.5)  # a denied message never comes; allowed ones arrived by now

        def got(cn, t, payload):
            return payload.encode() in readers[cn].messages_on(harness.topic(t))

        wrong = []
        for t in tps:
            if not got(reader_of(t), t, "control %s" % t):
                wrong.append("control on %s did not reach %s" % (t, reader_of(t)))
        denied_w = allowed_w = denied_r = allowed_r = 0
        for a in ATTACKERS:
            for t in tps:
                delivered = got(reader_of(t), t, "hostile %s %s" % (a, t))
                if delivered != may_write(a, t):
                    wrong.append("%s publish %s: delivered=%s" % (a, t, delivered))
                denied_w += not may_write(a, t)
                allowed_w += may_write(a, t)
                seen = got(a, t, "control %s" % t)
                if seen != may_read(a, t):
                    wrong.append("%s read %s: delivered=%s" % (a, t, seen))
                denied_r += not may_read(a, t)
                allowed_r += may_read(a, t)
        print("\nhostile ACL matrix: %d identities x %d topics: %d publishes denied, %d "
              "allowed; %d reads denied, %d allowed; %d wrong"
              % (len(ATTACKERS), len(tps), denied_w, allowed_w, denied_r, allowed_r,
                 len(wrong)))
        assert wrong == []
    finally:
        for c in list(readers.values()) + list(writers.values()):
            c.close()


ROOM = "E1"


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    s.start_controller()
    s.start_agent(ROOM, door=True)
    yield s
    s.close()


def rising_edges(site, room=ROOM):
    h = site.door(room).history("DOOR_LOCK")
    return sum(1 for (_, a), (_, b) in zip([(0, 0)] + h, h) if a == 0 and b == 1)


def request(cid, command, args, expires_in=30.0):
    now = int(time.time() * 1e6)
    return {"v": 1, "kind": "request", "seq": now, "ts": now, "id": cid,
            "expires": now + int(expires_in * 1e6), "command": command, "args": args}


def audit_count(site, command):
    rc, out, err = site.ctl("audit")
    assert rc == 0, err
    records = out["records"] if isinstance(out, dict) else out
    return sum(1 for r in records if r["command"] == command)


def test_replays_and_expired_commands_change_nothing(site):
    op = site.client(site.operator, client_id="test-hostile-op")
    resp = harness.topic("ctl", site.operator, "resp")
    req = harness.topic("ctl", site.operator, "req")
    op.subscribe(resp)
    wire = site.client("agent-" + ROOM, client_id="test-wiretap")  # reads room/E1/cmd
    wire.subscribe(harness.topic("room", ROOM, "cmd"))
    assert wait_for(lambda: (site.ctl("status")[1] or {}).get("agents_online") == 1, 10)
    assert rising_edges(site) == 0

    def answers(cid):  # evalroomctl's own answers arrive on this topic too
        return [p for p in op.messages_on(resp) if json.loads(p).get("id") == cid]

    # 1. An operator's unlock request: one answer, one unlock.
    first = json.dumps(request("hostile-replay-1", "door", {"room": ROOM, "action": "unlock"}))
    op.publish(req, first)
    assert wait_for(lambda: len(answers("hostile-replay-1")) == 1, 10)
    answer = json.loads(answers("hostile-replay-1")[0])
    assert answer["ok"] is True, answer
    assert wait_for(lambda: rising_edges(site) == 1, 5)
    assert wait_for(lambda: site.door(ROOM).get("DOOR_LOCK") == 0, 5)  # pulse over

    # 2. The controller's unlock command to the agent, captured on the wire.
    cmds = [json.loads(p) for p in wire.messages_on(harness.topic("room", ROOM, "cmd"))]
    unlocks = [c for c in cmds if c.get("kind") == "cmd" and c.get("command") != "events.ack"
               and "unlock" in json.dumps(c)]
    assert unlocks, cmds
    captured = unlocks[0]
    ctl = site.client("controller", client_id="test-replayer")
    obs = site.observers[0]
    reply_topic = harness.topic("room", ROOM, "reply")

    def replies(cid):
        return [p for p in obs.messages_on(reply_topic) if json.loads(p).get("id") == cid]

    # Replayed while still valid (a duplicate delivery): the first reply again, no run.
    assert captured["expires"] / 1e6 - time.time() > 0.5, "too slow to replay in time"
    ctl.publish(harness.topic("room", ROOM, "cmd"), json.dumps(captured))
    assert wait_for(lambda: len(replies(captured["id"])) == 2, 5)
    assert replies(captured["id"])[1] == replies(captured["id"])[0]
    time.sleep(0.5)
    assert rising_edges(site) == 1, "a command delivered twice ran twice"

    # 3. The request replayed with its id: the first answer again, not executed.
    doors_audited = audit_count(site, "door")
    op.publish(req, first)
    assert wait_for(lambda: len(answers("hostile-replay-1")) == 2, 10)
    assert answers("hostile-replay-1")[1] == answers("hostile-replay-1")[0]
    time.sleep(1.0)
    assert rising_edges(site) == 1, "a replayed request was executed again"
    assert audit_count(site, "door") == doors_audited

    # 4. A request past its expiry: refused, nothing done, nothing audited as done.
    op.publish(req, json.dumps(request("hostile-old-1", "door", {"room": ROOM,
                                                                  "action": "unlock"},
                                       expires_in=-5)))
    assert wait_for(lambda: answers("hostile-old-1"), 10)
    answer = json.loads(answers("hostile-old-1")[0])
    assert answer["ok"] is False and "expired" in answer["error"]["message"], answer
    time.sleep(1.0)
    assert rising_edges(site) == 1

    # 5. The captured command replayed after its expiry.
    left = captured["expires"] / 1e6 - time.time()
    if left > 0:
        time.sleep(left + 0.2)

    def reply_to(cid):
        for p in obs.messages_on(reply_topic):
            m = json.loads(p)
            if m.get("id") == cid and m.get("ok") is False:
                return m
        return None
    n_before = len(replies(captured["id"]))
    ctl.publish(harness.topic("room", ROOM, "cmd"), json.dumps(captured))
    assert wait_for(lambda: len(replies(captured["id"])) > n_before, 10)
    refused = json.loads(replies(captured["id"])[-1])
    assert refused["ok"] is False and "expired" in json.dumps(refused), refused

    # 6. A forged command whose expiry has passed (a fresh id).
    now = int(time.time() * 1e6)
    ctl.publish(harness.topic("room", ROOM, "cmd"),
                {"v": 1, "kind": "cmd", "seq": now, "ts": now, "id": "hostile-expired",
                 "expires": now - 10**6, "command": "unlock", "args": {}})
    assert wait_for(lambda: reply_to("hostile-expired"), 10)
    assert "expired" in json.dumps(reply_to("hostile-expired"))
    time.sleep(1.0)
    assert rising_edges(site) == 1, "an expired or replayed command moved the lock"
    assert site.door(ROOM).get("DOOR_LOCK") == 0
    for c in (op, wire, ctl):
        c.close()
    assert site.schema_problems() == []


def test_flood_keeps_daemons_serving(site):
    ctrl = site.daemons["controller"].proc.pid
    assert wait_for(lambda: (site.ctl("status")[1] or {}).get("agents_online") == 1, 10)
    rss0 = harness.rss_kib(ctrl)
    flooder = site.client("operator-bob", client_id="test-flooder")
    req = harness.topic("ctl", "operator-bob", "req")
    n = 5000
    t0 = time.monotonic()
    for i in range(n):
        payload = (b"not json %d" % i if i % 2 else
                   json.dumps(request("flood-%d" % i, "no.such", {})).encode())
        with flooder._io:
            flooder.client.publish(req, payload, qos=0)
    sent_s = time.monotonic() - t0
    # The agent decides at the door by itself: an exit press opens at once.
    before = rising_edges(site)
    door = site.door(ROOM)
    door.set("DOOR_REX", 1)
    time.sleep(0.1)
    door.set("DOOR_REX", 0)
    assert wait_for(lambda: rising_edges(site) == before + 1, 3)
    # The controller works through the flood and answers the others.
    t1 = time.monotonic()
    status = wait_for(lambda: (lambda r: r[1] if r[0] == 0 else None)(
        site.ctl("status", timeout=30)), 90, 0.1)
    status_s = time.monotonic() - t1
    assert status and status["controller"] == "online"
    assert wait_for(lambda: site.door(ROOM).get("DOOR_LOCK") == 0, 5)
    before = rising_edges(site)
    rc, out, err = site.ctl("door", ROOM, "unlock", timeout=30)
    assert rc == 0, err
    assert wait_for(lambda: rising_edges(site) == before + 1, 10)
    time.sleep(2.0)
    rss1 = harness.rss_kib(ctrl)
    flooder.close()
    print("\nhostile flood: %d messages in %.1f s; status answered in %.2f s; controller RSS "
          "%d -> %d KiB" % (n, sent_s, status_s, rss0, rss1))
    assert site.daemons["controller"].alive() and site.daemons["agent-" + ROOM].alive()
    # AddressSanitizer keeps up to 256 MiB of freed memory in quarantine.
    with open("/proc/%d/maps" % ctrl) as f:
        asan = "libasan" in f.read()
    assert rss1 < rss0 + (320 if asan else 64) * 1024, (rss0, rss1)
