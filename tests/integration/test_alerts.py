"""Issue 8: alerts from real causes with the real broker, controller and agent, handled
through evalroomctl: agent offline (kill), acknowledged with the operator's identity
(audited), auto-resolved when the agent is back; clock skew from two statuses stamped
with a skewed clock; refusals that are clear and change nothing; the rooms view."""
import json
import os
import re
import time

import jsonschema
import pytest

import harness
from daemons import Site, wait_for

ROOM = "E1"
ALERTS_CONF = ("[alerts]\noffline_grace_ms=1000\nclock_skew_limit_ms=2000\n"
               "never_connected_ms=3000\n")


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    yield s
    s.close()


with open(os.path.join(harness.ROOT, "schemas", "json", "response.json")) as f:
    RESULTS = json.load(f)["$defs"]["results"]["properties"]


def check_result(command, result):
    """RESULT validates against the schema of COMMAND's result (response.json)."""
    jsonschema.Draft202012Validator(RESULTS[command]).validate(result)
    return result


def alerts(site, *args, identity=None):
    rc, out, err = site.ctl("alerts", *args, identity=identity)
    assert rc == 0, err
    return check_result("alerts.list", out)


def find_alert(site, kind, room, state=None):
    for a in alerts(site)["alerts"]:
        if a["kind"] == kind and a.get("room") == room and (state is None or
                                                            a["state"] == state):
            return a
    return None


def audit_rows(site, command):
    """The operator audit log through evalroomctl audit: (identity, command, outcome)."""
    rc, out, err = site.ctl("audit")
    assert rc == 0, err
    return [(r["identity"], r["command"], r["outcome"]) for r in out["records"]
            if r["command"] == command]


def status_payload(room, ts, seq, state="online"):
    return {"v": 1, "kind": "status", "seq": seq, "ts": ts, "state": state,
            "identity": "agent-" + room, "version": "test", "started": ts}


def test_agent_offline_ack_and_auto_resolve(site):
    site.start_controller(ALERTS_CONF)
    agent = site.start_agent(ROOM)
    assert wait_for(lambda: any(r["room"] == ROOM and r["agent"] == "online"
                                for r in site.ctl("rooms")[1]["rooms"]), 5)

    agent.kill()  # no goodbye: the broker's last will says offline
    alert = wait_for(lambda: find_alert(site, "agent_offline", ROOM), 15, 0.2)
    assert alert, "no agent_offline alert for %s" % ROOM
    assert alert["state"] == "open"
    assert "room agent E1" in alert["detail"]
    counts = site.ctl("status")[1]["alerts"]
    assert counts["open"] >= 1

    # The rooms view shows the agent offline and the open alert.
    rooms = {r["room"]: r for r in check_result("rooms", site.ctl("rooms")[1])["rooms"]}
    assert rooms[ROOM]["agent"] == "offline"
    assert rooms[ROOM]["open_alerts"] == 1
    assert "person" not in json.dumps(rooms)

    # Refusals: clear, and nothing changes.
    rc, out, err = site.ctl("alert", "ack", "999999", "--note", "x")
    assert rc == 1 and "no alert 999999" in err
    rc, out, err = site.ctl("alert", "ack", str(alert["id"]))
    assert rc == 2 and "--note" in err
    rc, out, err = site.ctl("alert", "ack", str(alert["id"]), "--note", "   ")
    assert rc == 2 and "--note" in err
    rc, out, err = site.ctl("alert", "ack", "twelve", "--note", "x")
    assert rc == 2 and "not an alert number" in err
    desk = "desk-" + site.prov.site["desks"][0]
    rc, out, err = site.ctl("alert", "ack", str(alert["id"]), "--note", "desk here",
                            identity=desk)
    assert rc == 1 and "may not run" in err
    assert out["error"]["code"] == "denied"
    assert find_alert(site, "agent_offline", ROOM)["state"] == "open"
    # ... but the desk may look.
    assert any(a["id"] == alert["id"] for a in alerts(site, "--open", identity=desk)["alerts"])

    # Acknowledged with the operator's identity, and audited.
    rc, out, err = site.ctl("alert", "ack", str(alert["id"]), "--note",
                            "technician on the way to E1")
    assert rc == 0, err
    check_result("alert.ack", out)
    assert out["state"] == "acknowledged"
    assert out["acked_by"] == site.operator
    assert out["ack_note"] == "technician on the way to E1"
    rc, out, err = site.ctl("alert", "ack", str(alert["id"]), "--note", "again")
    assert rc == 1 and "already acknowledged" in err
    rows = audit_rows(site, "alert.ack")
    assert (site.operator, "alert.ack", "ok") in rows
    assert ("desk-entrance", "alert.ack", "denied") in rows
    assert (site.operator, "alert.ack", "conflict") in rows

    # Back online: resolved automatically; the history stays.
    site.start_agent(ROOM)
    resolved = wait_for(lambda: find_alert(site, "agent_offline", ROOM, "resolved"), 10, 0.2)
    assert resolved, "agent_offline not resolved when the agent came back"
    assert resolved["id"] == alert["id"]
    assert resolved["resolved_by"] == "auto: agent back online"
    assert resolved["acked_by"] == site.operator
    assert not any(a["id"] == alert["id"] for a in alerts(site, "--open")["alerts"])

    # Resolving it again is refused.
    rc, out, err = site.ctl("alert", "resolve", str(alert["id"]), "--note", "done")
    assert rc == 1 and "already resolved" in err

    # Human-readable output names the alert and who handled it.
    rc, text, err = site.ctl("alerts", json_out=False)
    assert rc == 0, err
    assert "agent_offline" in text and "acknowledged by " + site.operator in text
    assert site.schema_problems() == []


def test_agent_restart_within_grace_raises_nothing(site):
    site.start_controller(ALERTS_CONF)
    agent = site.start_agent(ROOM)
    agent.stop()  # clean stop: status "stopped" at once
    site.start_agent(ROOM)
    time.sleep(1.8)
    assert find_alert(site, "agent_offline", ROOM) is None


def test_clock_skew(site):
    site.start_controller(ALERTS_CONF)
    fake = site.client("agent-" + ROOM)  # speaks as the room's agent would
    topic = harness.topic("room", ROOM, "status")
    now = int(time.time() * 1e6)
    fake.publish(topic, status_payload(ROOM, now, now), retain=True)
    assert wait_for(lambda: any(r["room"] == ROOM and r["agent"] == "online"
                                for r in site.ctl("rooms")[1]["rooms"]), 5)

    # One status off is not yet a wrong clock (it may have been delayed); the next one,
    # off by as much, is.
    fake.publish(topic, status_payload(ROOM, int(time.time() * 1e6) - 5000000, now + 1),
                 retain=True)
    assert site.daemons["controller"].wait_log("not raised unless the next status agrees", 5)
    assert find_alert(site, "clock_skew", ROOM) is None
    fake.publish(topic, status_payload(ROOM, int(time.time() * 1e6) - 5000000, now + 2),
                 retain=True)
    alert = wait_for(lambda: find_alert(site, "clock_skew", ROOM), 5, 0.1)
    assert alert, "no clock_skew alert"
    assert re.search(r"clock is 5\.[0-2] s behind the controller's \(limit 2\.0 s\)",
                     alert["detail"]), alert["detail"]
    assert alert["extra"]["limit_us"] == 2000000

    # A later status from a clock ahead counts on the same open alert.
    fake.publish(topic, status_payload(ROOM, int(time.time() * 1e6) + 4000000, now + 3),
                 retain=True)
    assert wait_for(lambda: (find_alert(site, "clock_skew", ROOM) or {}).get("count") == 2, 5)

    fake.publish(topic, status_payload(ROOM, int(time.time() * 1e6), now + 4), retain=True)
    resolved = wait_for(lambda: find_alert(site, "clock_skew", ROOM, "resolved"), 5, 0.1)
    assert resolved and resolved["resolved_by"] == "auto: clock back within the limit"
    fake.publish(topic, b"", retain=True)
    fake.close()
    assert site.schema_problems() == []


def test_rooms_and_help(site):
    site.start_controller(ALERTS_CONF)
    rc, out, err = site.ctl("rooms")
    assert rc == 0, err
    assert out["rooms"] == [] or all("room" in r for r in out["rooms"])
    assert "alerts" in out and "open" in out["alerts"]
    rc, text, err = site.ctl("rooms", json_out=False)
    assert rc == 0 and "ROOM" in text
    for cmd in (("alerts",), ("alert", "ack"), ("alert", "resolve"), ("rooms",), ("watch",)):
        rc, text, err = site.ctl(*cmd, "--help", json_out=False)
        assert rc == 0 and text.startswith("usage: evalroomctl " + cmd[0])
    rc, out, err = site.ctl("alerts", "--since", "yesterday-ish")
    assert rc == 2 and "--since" in err
    rc, out, err = site.ctl("watch", json_out=False)
    assert rc == 2 and "terminal" in err


def test_resolve_by_hand_with_a_site(site):
    """With the site imported, the rooms view lists its rooms and seats; an operator
    resolves an alert by hand with a note."""
    site.start_controller(ALERTS_CONF)
    rc, out, err = site.ctl("site", "import", harness.EXAMPLE_SITE)
    if rc != 0 and "unknown command" in err:
        pytest.skip("site import is not wired into the dispatcher on this branch")
    assert rc == 0, err
    rooms = check_result("rooms", site.ctl("rooms")[1])["rooms"]
    assert [r["room"] for r in rooms] == ["E1", "E2", "T1"]
    e1 = rooms[0]
    assert e1["kind"] == "expert" and e1["agent"] == "unknown"
    assert e1["seat_counts"]["free"] == 2
    # A room of the site that goes offline raises even if never seen online here.
    fake = site.client("agent-E2")
    now = int(time.time() * 1e6)
    fake.publish(harness.topic("room", "E2", "status"),
                 status_payload("E2", now, now, state="offline"), retain=True)
    alert = wait_for(lambda: find_alert(site, "agent_offline", "E2"), 5, 0.1)
    assert alert
    # A room of the site whose agent never connected at all raises too, once.
    never = wait_for(lambda: find_alert(site, "agent_offline", "T1"), 20, 0.2)
    assert never and "has not connected since the controller started" in never["detail"]
    assert never["extra"]["state"] == "never_connected"
    time.sleep(1.5)
    assert find_alert(site, "agent_offline", "T1")["count"] == 1
    rc, out, err = site.ctl("alert", "resolve", str(alert["id"]), "--note",
                            "board E2 replaced, not in use today")
    assert rc == 0, err
    check_result("alert.resolve", out)
    assert out["resolved_by"] == site.operator
    assert out["resolve_note"] == "board E2 replaced, not in use today"
    fake.publish(harness.topic("room", "E2", "status"), b"", retain=True)
    fake.close()
