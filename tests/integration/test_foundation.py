"""Issue 2 acceptance: the daemons connect over TLS with their own certificates, presence
follows the last will, bad payloads are refused without effect, and everything the
daemons publish validates against schemas/."""
import json
import time

import pytest

import harness
from daemons import Site, wait_for

ROOM = "E1"


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    yield s
    s.close()


def room_state(site, room):
    rc, out, err = site.ctl("status")
    assert rc == 0, err
    for r in out["rooms"]:
        if r["room"] == room:
            return r
    return None


def test_presence_follows_last_will(site):
    site.start_controller()
    agent = site.start_agent(ROOM)
    obs = site.observers[0]
    status_topic = harness.topic("room", ROOM, "status")
    assert obs.wait_message(status_topic), "no retained status from the agent"
    assert json.loads(obs.messages_on(status_topic)[-1])["state"] == "online"
    assert wait_for(lambda: (room_state(site, ROOM) or {}).get("online"), 5)

    killed_at = time.time()
    agent.kill()  # SIGKILL: no goodbye, only the broker's last will
    # Polling through evalroomctl may be slow on a loaded machine; the controller's own
    # timestamp of the change is what must fall within 3 s of the kill.
    state = wait_for(lambda: (lambda r: r if r["online"] is False else None)(
        room_state(site, ROOM)), 15.0, 0.1)
    assert state, "controller never reported the agent offline"
    assert state["since"] / 1e6 - killed_at <= 3.0, \
        "offline reported %.2f s after the kill" % (state["since"] / 1e6 - killed_at)

    site.start_agent(ROOM)
    assert wait_for(lambda: room_state(site, ROOM)["online"], 5)
    assert site.schema_problems() == []


def controller_errors(site):
    op = site.observers[1]
    return [json.loads(p) for p in op.messages_on(harness.topic("controller", "error"))]


BAD_PAYLOADS = {
    "not json": b"{this is not json",
    "not an object": b"[1,2,3]",
    "wrong version": json.dumps({"v": 2, "kind": "door.event", "seq": 1, "ts": 1}).encode(),
    "wrong type": json.dumps({"v": 1, "kind": "status", "seq": "one", "ts": 1}).encode(),
    "oversized": b'{"v":1,"kind":"x","seq":1,"ts":1,"pad":"' + b"x" * 70000 + b'"}',
    "nul byte": b'{"v":1,"kind":"x\\u0000y","seq":1,"ts":1}',
}
EXPECTED_FAULT = {
    "not json": "not valid JSON",
    "not an object": "not a JSON object",
    "wrong version": "version 2 is not supported",
    "wrong type": "member 'seq'",
    "oversized": "exceeds the limit",
    "nul byte": "not valid JSON",
}


def test_bad_payloads_refused_without_effect(site):
    site.start_controller()
    site.start_agent(ROOM)
    assert wait_for(lambda: (room_state(site, ROOM) or {}).get("online"), 5)
    before = room_state(site, ROOM)
    agent_client = site.client("agent-" + ROOM, client_id="test-hostile-agent")
    for name, payload in BAD_PAYLOADS.items():
        n = len(controller_errors(site))
        agent_client.publish(harness.topic("room", ROOM, "event"), payload)
        got = wait_for(lambda: len(controller_errors(site)) > n, 15)
        assert got, "no error event for %s" % name
        err = controller_errors(site)[-1]
        assert err["sender"] == "agent-" + ROOM
        assert err["topic"] == harness.topic("room", ROOM, "event")
        assert EXPECTED_FAULT[name] in err["fault"], (name, err["fault"])

    # A status that lies about its identity or has a bad state changes nothing.
    agent_client.publish(harness.topic("room", ROOM, "event"),
                         {"v": 1, "kind": "status", "seq": 5, "ts": 5, "state": "offline",
                          "identity": "agent-" + ROOM, "extra": True})
    assert wait_for(lambda: 'kind "status" is not allowed on an event topic'
                    in controller_errors(site)[-1]["fault"], 15)
    agent_client.publish(harness.topic("room", ROOM, "event"),
                         {"v": 1, "kind": "error", "seq": 6, "ts": 6, "topic": "x",
                          "sender": "y"})
    assert wait_for(lambda: "member 'fault': missing" in controller_errors(site)[-1]["fault"], 15)
    agent_client.close()

    after = room_state(site, ROOM)
    assert after == before, "a refused message changed the controller's state"
    assert site.daemons["controller"].alive() and site.daemons["agent-" + ROOM].alive()
    assert site.schema_problems() == []


def test_bad_request_gets_error_response(site):
    site.start_controller()
    op = site.client(site.operator, client_id="test-op-raw")
    resp = harness.topic("ctl", site.operator, "resp")
    op.subscribe(resp)
    req = harness.topic("ctl", site.operator, "req")
    now = int(time.time() * 1e6)
    cases = [
        (b"garbage", "not valid JSON"),
        (json.dumps({"v": 1, "kind": "request", "seq": 1, "ts": now, "id": "r1",
                     "command": "status"}).encode(), "member 'expires': missing"),
        (json.dumps({"v": 1, "kind": "request", "seq": 2, "ts": now, "id": "r2",
                     "expires": now - 10**6, "command": "status"}).encode(), "expired"),
        (json.dumps({"v": 1, "kind": "request", "seq": 3, "ts": now, "id": "r3",
                     "expires": now + 10**7, "command": "no.such"}).encode(),
         "unknown command"),
        (json.dumps({"v": 1, "kind": "request", "seq": 4, "ts": now, "id": "r4",
                     "expires": now + 10**7, "command": "status",
                     "args": {"x": 1}}).encode(), "member 'args.x': unknown member"),
    ]
    for i, (payload, fault) in enumerate(cases):
        op.publish(req, payload)
        assert wait_for(lambda: len(op.messages_on(resp)) > i, 15), fault
        answer = json.loads(op.messages_on(resp)[i])
        assert answer["ok"] is False
        assert fault in answer["error"]["message"], (fault, answer)
    op.close()
    rc, out, err = site.ctl("status")
    assert rc == 0 and out["controller"] == "online"
    assert site.schema_problems() == []


def test_agent_refuses_bad_command(site):
    site.start_controller()
    site.start_agent(ROOM)
    hostile = site.client("controller", client_id="test-hostile-controller")
    hostile.publish(harness.topic("room", ROOM, "cmd"), b'{"v":1,"kind":"cmd"}')
    obs = site.observers[0]
    event = harness.topic("room", ROOM, "event")

    def agent_error():
        for p in obs.messages_on(event):
            m = json.loads(p)
            if m["kind"] == "error" and "member 'seq'" in m["fault"]:
                return m
        return None
    assert wait_for(agent_error, 15), "the agent published no error event"
    hostile.close()
    assert site.daemons["agent-" + ROOM].alive()
    assert wait_for(lambda: (room_state(site, ROOM) or {}).get("online"), 5)
    assert site.schema_problems() == []


def test_unknown_identity_config_is_clear(bin_dir, tmp_path):
    bad = tmp_path / "agent.conf"
    bad.write_text("[agent]\nroom=E 1\n[mqtt]\nuri=ssl://127.0.0.1:1\nca=a\ncert=b\nkey=c\n")
    import subprocess
    import os
    p = subprocess.run([os.path.join(bin_dir, "evalroom-agent"), "--config", str(bad)],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 2
    assert "[agent] room" in p.stderr and "not an identifier" in p.stderr
