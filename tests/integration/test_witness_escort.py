"""Issue 18 item 4 through the real broker, controller and room agent on a simulated door
(docs/witness.md "Escorted entry"): a supervisor's approval (reason, and the recorded call
it rests on) lets the desk issue credentials to a witness and an escorting supervisor for
an expert room; the door opens only when both credentials come within the escort window:
a witness alone is refused and alerted, an escort too late is refused and alerted, both in
time open the door once. Every step is in the audit and in the archive of the tender
seated in that room."""
import json
import os
import sqlite3
import time

import pytest

import harness
import watchers
from daemons import Site, wait_for

TODAY = time.strftime("%Y-%m-%d")
DESK = "desk-entrance"
SUP2 = "supervisor-reg2"
WINDOW = 2


def site_dict():
    s = watchers.site_dict()
    s["supervisors"].append("reg2")
    return s


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path, site=site_dict())
    s.start_controller("escort_window_s=%d\n" % WINDOW)
    s.start_agent("E1", door=True)
    yield s
    s.close()


def ok(site, *args, identity=None):
    rc, out, err = site.ctl(*args, identity=identity)
    assert rc == 0, (args, out, err)
    return out


def refused(site, *args, identity=DESK):
    rc, out, err = site.ctl(*args, identity=identity, json_out=False)
    assert rc == 1, (args, out, err)
    return err


def door_events(site, reason):
    out = []
    for p in site.observers[0].messages_on(harness.topic("room", "E1", "event")):
        m = json.loads(p)
        if m["kind"] == "door.event" and m.get("reason") == reason:
            out.append(m)
    return out


def lock_rises(site):
    h = [level for _, level in site.door("E1").history("DOOR_LOCK")]
    return sum(1 for a, b in zip([0] + h, h) if a == 0 and b == 1)


def escort_alerts(site):
    return [a for a in ok(site, "alerts")["alerts"] if a["kind"] == "escort_missing"]


def seat_expert_in_e1(site, tmp_path):
    """Tender TA drawn, and its expert seated in E1 checked in: from then on the room's
    events concern TA."""
    path = tmp_path / "site.json"
    path.write_text(json.dumps(site_dict()))
    ok(site, "site", "import", str(path))
    ok(site, "session", "create", "--date", TODAY)
    ok(site, "tender", "add", "--session", TODAY, "--id", "TA", "--name", "Ring road")
    csv = tmp_path / "ta.csv"
    csv.write_text("person_id,name,id_number,role\nxp-wang,Wang Li,11010519491231002X,expert\n"
                   "xp-zhou,Zhou Min,110105194912310038,expert\n")
    ok(site, "committee", "import", "--tender", "TA", str(csv))
    c = ok(site, "draw", "commit", "--session", TODAY)["commitment"]
    assert site.witness_run(TODAY, "grey crane 4410", c)[0] == 0
    ids = {"xp-wang": "11010519491231002X", "xp-zhou": "110105194912310038"}
    in_e1 = [a["person"] for a in site.seat_map(TODAY) if a["room"] == "E1"]
    assert len(in_e1) == 1
    ok(site, "desk", "checkin", "--person", in_e1[0], "--id-number", ids[in_e1[0]],
       "--screening", "passed", identity=DESK)


def test_escorted_entry_two_person_rule(site, tmp_path):
    seat_expert_in_e1(site, tmp_path)

    # without an approval the desk cannot let a witness into an expert room
    err = refused(site, "desk", "staff-admit", "--identity", watchers.WITNESS, "--room", "E1")
    assert "may enter witness rooms only" in err
    # only a supervisor approves, with a reason and what it rests on
    approve = ["escort", "approve", "--identity", watchers.WITNESS, "--escort",
               watchers.SUPERVISOR, "--room", "E1", "--reason", "expert E1 reports a broken "
               "terminal seal", "--basis", "recorded call witness room 10:02, 95 s"]
    refused(site, *approve, identity=watchers.WITNESS)
    refused(site, *approve, identity=DESK)
    for bad, why in ((["--room", "W1"], "escorted entries are for expert and tenderer rooms"),
                     (["--escort", watchers.REP], "is no supervisor of the site"),
                     (["--escort", watchers.WITNESS], "is no supervisor of the site")):
        args = list(approve)
        i = args.index(bad[0])
        args[i + 1] = bad[1]
        err = refused(site, *args, identity=SUP2)
        assert why in err, (bad, err)
    a = ok(site, *approve, identity=SUP2)
    assert a["approval"] > 0 and a["window_s"] == WINDOW

    w = ok(site, "desk", "staff-admit", "--identity", watchers.WITNESS, "--room", "E1",
           identity=DESK)
    assert w["escorted"] == {"approval": a["approval"], "as": "escorted", "window_s": WINDOW}
    s = ok(site, "desk", "staff-admit", "--identity", watchers.SUPERVISOR, "--room", "E1",
           identity=DESK)
    assert s["escorted"]["as"] == "escort"
    wpin, spin = w["credential"][4:], s["credential"][4:]
    time.sleep(0.5)  # the lists reach the agent

    # 1. the witness alone: nothing opens, and after the window an alert
    site.door("E1").pin(wpin)
    assert wait_for(lambda: len(door_events(site, "awaiting_escort")) == 1, 5)
    assert wait_for(lambda: escort_alerts(site), WINDOW + 5), "no escort_missing alert"
    assert lock_rises(site) == 0
    alert = escort_alerts(site)[0]
    assert alert["person"] == watchers.WITNESS and alert["room"] == "E1"
    ok(site, "alert", "ack", str(alert["id"]), "--note", "witness sent back")
    ok(site, "alert", "resolve", str(alert["id"]), "--note", "witness sent back")

    # 2. the escort's credential too late: still nothing opens, another alert
    site.door("E1").pin(wpin)
    assert wait_for(lambda: len(door_events(site, "awaiting_escort")) == 2, 5)
    time.sleep(WINDOW + 0.5)
    site.door("E1").pin(spin)
    assert wait_for(lambda: len(door_events(site, "awaiting_escort")) == 3, 5)
    time.sleep(0.3)
    assert lock_rises(site) == 0
    assert wait_for(lambda: any(x["person"] == watchers.SUPERVISOR
                                for x in escort_alerts(site)), WINDOW + 5)

    # 3. both within the window: the door opens once, naming the escorted person
    site.door("E1").pin(wpin)
    assert wait_for(lambda: len(door_events(site, "awaiting_escort")) == 4, 5)
    site.door("E1").pin(spin)
    assert wait_for(lambda: lock_rises(site) == 1, 5)
    granted = wait_for(lambda: door_events(site, "granted"), 5)
    assert granted[0]["person"] == watchers.WITNESS
    # used up: the pair does not open again
    time.sleep(0.5)
    site.door("E1").pin(wpin)
    site.door("E1").pin(spin)
    assert wait_for(lambda: len(door_events(site, "unknown")) == 2, 5)
    assert lock_rises(site) == 1

    # every step in the tender's archive and the audit
    p = os.path.join(site.tmp, "controller-state", "archive", "TA.evarc")
    db = sqlite3.connect("file:%s?mode=ro" % p, uri=True)
    kinds = [k for (k,) in db.execute("SELECT kind FROM events WHERE kind LIKE 'escort.%' OR "
                                      "(kind = 'alert.raised' AND body LIKE "
                                      "'%escort_missing%') ORDER BY leaf")]
    body = json.loads(db.execute("SELECT body FROM events WHERE kind = 'escort.approved'")
                      .fetchone()[0])
    db.close()
    assert kinds.count("escort.approved") == 1 and kinds.count("escort.admitted") == 2, kinds
    assert kinds.count("escort.waiting") == 4 and kinds.count("escort.entered") == 1, kinds
    # alone; the witness waiting in step 2; the escort too late in step 2 (not step 3)
    assert kinds.count("alert.raised") == 3, kinds
    assert body["basis"] == "recorded call witness room 10:02, 95 s" and body["by"] == SUP2
    audit = ok(site, "audit")
    records = audit["records"] if isinstance(audit, dict) else audit
    assert sum(1 for r in records if r["command"] == "escort.approve") >= 6
    assert site.schema_problems() == []


RESTART_WINDOW = 30


def test_agent_restart_between_the_two_credentials(bin_dir, tmp_path):
    """The two-person rule's wait does not survive the agent: killed and started again
    between the witness's credential and the escort's, the door opens to neither alone,
    the controller raises escort_missing at once for the restart, and both again open it."""
    site = Site(bin_dir, tmp_path, site=site_dict())
    try:
        site.start_controller("escort_window_s=%d\n" % RESTART_WINDOW)
        agent = site.start_agent("E1", door=True)
        seat_expert_in_e1(site, tmp_path)
        ok(site, "escort", "approve", "--identity", watchers.WITNESS, "--escort",
           watchers.SUPERVISOR, "--room", "E1", "--reason", "seal check", "--basis",
           "recorded call 10:02", identity=SUP2)
        wpin = ok(site, "desk", "staff-admit", "--identity", watchers.WITNESS, "--room", "E1",
                  identity=DESK)["credential"][4:]
        spin = ok(site, "desk", "staff-admit", "--identity", watchers.SUPERVISOR, "--room",
                  "E1", identity=DESK)["credential"][4:]
        time.sleep(0.5)  # the lists reach the agent

        site.door("E1").pin(wpin)
        assert wait_for(lambda: len(door_events(site, "awaiting_escort")) == 1, 5)
        assert os.path.exists(os.path.join(site.tmp, "spool-E1", "escort-wait.json"))
        time.sleep(0.3)
        assert lock_rises(site) == 0
        agent.kill()  # SIGKILL: nothing is written on the way out
        t0 = time.monotonic()
        agent = site.start_agent("E1", door=True)
        ended = wait_for(lambda: [json.loads(p) for p in site.observers[0].messages_on(
            harness.topic("room", "E1", "event"))
            if json.loads(p).get("event") == "escort_wait_ended"], 10)
        assert ended and ended[0]["person"] == watchers.WITNESS, ended
        alert = wait_for(lambda: escort_alerts(site), 5)
        assert alert and alert[0]["extra"]["cause"] == "agent_restart", alert
        assert "restarted" in alert[0]["detail"]
        # the escort's credential, well within the window of the witness's: nothing opens
        site.door("E1").pin(spin)
        assert wait_for(lambda: len(door_events(site, "awaiting_escort")) == 2, 5)
        time.sleep(0.5)
        assert lock_rises(site) == 0 and not door_events(site, "granted")
        assert time.monotonic() - t0 < RESTART_WINDOW  # still inside the first window
        # both again: the door opens once
        site.door("E1").pin(wpin)
        assert wait_for(lambda: lock_rises(site) == 1, 5)
        granted = wait_for(lambda: door_events(site, "granted"), 5)
        assert granted and granted[0]["person"] == watchers.WITNESS, granted
        assert not os.path.exists(os.path.join(site.tmp, "spool-E1", "escort-wait.json"))

        p = os.path.join(site.tmp, "controller-state", "archive", "TA.evarc")

        def escort_kinds():
            db = sqlite3.connect("file:%s?mode=ro" % p, uri=True)
            try:
                return [k for (k,) in db.execute("SELECT kind FROM events WHERE kind LIKE "
                                                 "'escort.%' ORDER BY leaf")]
            finally:
                db.close()
        assert wait_for(lambda: "escort.entered" in escort_kinds(), 5), escort_kinds()
        kinds = escort_kinds()
        assert kinds.count("escort.wait_ended") == 1, kinds
        assert kinds[-1] == "escort.entered", kinds
        assert site.schema_problems() == []
    finally:
        site.close()
