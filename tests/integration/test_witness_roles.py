"""Issue 18 items 1 and 3 through the real broker, controller and room agents on
simulated doors (docs/witness.md):

- the watchers' rooms (witness, supervision, draw) come from the site file, are not seated
  by the draw, and their staff get door credentials for their own rooms only: a witness's
  PIN opens the witness room and no other door; a witness, supervisor or tenderer's
  representative is refused a credential for any other kind of room; an identity the site
  does not name is refused;
- a witness's note (observation, reminder, breach, incident) is an event in the tender's
  archive and a line in the audit; a breach raises a witness_breach alert and reaches the
  supervisors on their own topic at once; bad notes are refused and change nothing; only
  witnesses may note; an evidence span keeps that day's retention archive from deletion.
"""
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
ID = {"xp-wang": "11010519491231002X", "xp-zhou": "110105194912310038"}


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path, site=watchers.site_dict())
    s.start_controller("admission_window_s=30\nretention_days=1\n")
    s.start_agent("W1", door=True)
    s.start_agent("E1", door=True)
    yield s
    s.close()


def ok(site, *args, identity=None):
    rc, out, err = site.ctl(*args, identity=identity)
    assert rc == 0, (args, out, err)
    return out


def refused(site, *args, identity=DESK, code=1):
    rc, out, err = site.ctl(*args, identity=identity, json_out=False)
    assert rc == code, (args, out, err)
    return err


def prepare(site, tmp_path):
    path = tmp_path / "site.json"
    path.write_text(json.dumps(watchers.site_dict()))
    ok(site, "site", "import", str(path))
    ok(site, "session", "create", "--date", TODAY)
    ok(site, "tender", "add", "--session", TODAY, "--id", "TA", "--name", "Ring road, lot 3")
    csv = tmp_path / "ta.csv"
    csv.write_text("person_id,name,id_number,role\nxp-wang,Wang Li,%s,expert\n"
                   "xp-zhou,Zhou Min,%s,expert\n" % (ID["xp-wang"], ID["xp-zhou"]))
    ok(site, "committee", "import", "--tender", "TA", str(csv))
    c = ok(site, "draw", "commit", "--session", TODAY)["commitment"]
    assert site.witness_run(TODAY, "grey crane 4410", c)[0] == 0


def door_events(site, room, event):
    out = []
    for p in site.observers[0].messages_on(harness.topic("room", room, "event")):
        m = json.loads(p)
        if m["kind"] == "door.event" and m["event"] == event:
            out.append(m)
    return out


def lock_rises(site, room):
    h = [level for _, level in site.door(room).history("DOOR_LOCK")]
    return sum(1 for a, b in zip([0] + h, h) if a == 0 and b == 1)


def archive_events(site, tender, kind):
    p = os.path.join(site.tmp, "controller-state", "archive", tender + ".evarc")
    db = sqlite3.connect("file:%s?mode=ro" % p, uri=True)
    try:
        rows = db.execute("SELECT source, body FROM events WHERE kind = ? ORDER BY id",
                          (kind,)).fetchall()
    finally:
        db.close()
    return [(s, json.loads(b)) for s, b in rows]


def test_watchers_rooms_and_own_doors(site, tmp_path):
    prepare(site, tmp_path)
    # the draw seated the experts in expert rooms only
    assert {a["room"] for a in site.seat_map(TODAY)} <= {"E1", "E2"}
    rooms = {r["room"]: r["kind"] for r in ok(site, "rooms")["rooms"]}
    assert rooms["W1"] == "witness" and rooms["SV1"] == "supervision" and rooms["DR1"] == "draw"

    # refusals: another kind of room, an unknown identity, a non-watcher, no such room
    for who, room, why in ((watchers.WITNESS, "E1", "may enter witness rooms only: room E1 "
                            "is an expert room"),
                           (watchers.WITNESS, "T1", "room T1 is a tenderer room"),
                           (watchers.WITNESS, "SV1", "room SV1 is a supervision room"),
                           (watchers.SUPERVISOR, "W1", "may enter supervision rooms only"),
                           (watchers.REP, "W1", "may enter draw rooms only"),
                           ("witness-ghost", "W1", "is not one of the site's people"),
                           ("operator-alice", "W1", "is no watcher's identity"),
                           (watchers.WITNESS, "NOPE", "no room \"NOPE\"")):
        err = refused(site, "desk", "staff-admit", "--identity", who, "--room", room)
        assert why in err, (who, room, err)
    # an expert cannot admit anyone
    refused(site, "desk", "staff-admit", "--identity", watchers.WITNESS, "--room", "W1",
            identity=watchers.WITNESS)

    sup = ok(site, "desk", "staff-admit", "--identity", watchers.SUPERVISOR, "--room", "SV1",
             identity=DESK)
    assert sup["room"] == "SV1" and sup["credential"].startswith("pin:")
    rep = ok(site, "desk", "staff-admit", "--identity", watchers.REP, "--room", "DR1",
             identity=DESK)
    assert rep["room"] == "DR1"
    w = ok(site, "desk", "staff-admit", "--identity", watchers.WITNESS, "--room", "W1",
           identity=DESK)
    pin = w["credential"][4:]
    # the witness's PIN at an expert room's door: denied, nothing opens
    site.door("E1").pin(pin)
    assert wait_for(lambda: any(e.get("reason") == "not_this_room"
                                for e in door_events(site, "E1", "denied")), 5)
    assert lock_rises(site, "E1") == 0
    # at the witness room's door: granted once, then used
    site.door("W1").pin(pin)
    assert wait_for(lambda: lock_rises(site, "W1") == 1, 5)
    assert wait_for(lambda: any(e.get("person") == watchers.WITNESS
                                for e in door_events(site, "W1", "granted")), 5)
    time.sleep(0.5)
    site.door("W1").pin(pin)
    assert wait_for(lambda: any(e.get("reason") == "unknown"
                                for e in door_events(site, "W1", "denied")), 5)
    assert lock_rises(site, "W1") == 1
    # the desk's actions are in the audit, the PIN nowhere in it
    audit = ok(site, "audit")
    records = audit["records"] if isinstance(audit, dict) else audit
    admits = [r for r in records if r["command"] == "staff.admit"]
    assert len(admits) >= 9 and pin not in json.dumps(records)
    # the witness's own entry: in the audit as theirs, and in the day's open tender's
    # archive although nobody of it is seated in W1 (docs/witness.md "Who watched what")
    entries = [r for r in records if r["command"] == "door.entry"]
    assert [(r["identity"], json.loads(r["args"])["room"], r["outcome"]) for r in entries] \
        == [(watchers.WITNESS, "W1", "ok")], entries
    got = wait_for(lambda: archive_events(site, "TA", "staff.entered"), 5)
    assert [(s, b["person"], b["room"]) for s, b in got] == [("agent-W1", watchers.WITNESS,
                                                              "W1")], got
    assert site.schema_problems() == []


def test_witness_note_breach_and_evidence(site, tmp_path):
    prepare(site, tmp_path)
    sup = site.client(watchers.SUPERVISOR, client_id="test-supervisor")
    sup.subscribe(harness.topic("supervision", "notice"))

    now = time.time()
    old_day = time.strftime("%Y-%m-%d", time.gmtime(now - 10 * 86400))
    other_day = time.strftime("%Y-%m-%d", time.gmtime(now - 12 * 86400))
    span_from = time.strftime("%Y-%m-%dT10:00:00+00:00", time.gmtime(now - 10 * 86400))
    span_to = time.strftime("%Y-%m-%dT10:05:00+00:00", time.gmtime(now - 10 * 86400))

    # refusals change nothing
    for args, why in ((["--category", "gossip"], "args.category"),
                      (["--category", "breach", "--room", "E9"], "no room \"E9\""),
                      (["--category", "breach", "--room", "E1", "--seat", "S9"],
                       "room E1 has no seat \"S9\""),
                      (["--category", "observation", "--evidence-stream", "cam-E1"],
                       "an evidence span needs"),
                      (["--category", "observation", "--evidence-stream", "cam-E1",
                        "--evidence-from", span_to, "--evidence-to", span_from],
                       "ends before it starts")):
        err = refused(site, "witness", "note", "--tender", "TA", "--text", "x", *args,
                      identity=watchers.WITNESS)
        assert why in err, (args, err)
    err = refused(site, "witness", "note", "--tender", "TZ", "--category", "observation",
                  "--text", "x", identity=watchers.WITNESS)
    assert "TZ" in err
    err = refused(site, "witness", "note", "--tender", "TA", "--category", "observation",
                  "--at", "yesterday", "--text", "x", identity=watchers.WITNESS, code=2)
    assert "is not a time" in err
    for who in ("operator-alice", DESK, watchers.SUPERVISOR, watchers.REP):
        refused(site, "witness", "note", "--tender", "TA", "--category", "observation",
                "--text", "x", identity=who)
    assert archive_events(site, "TA", "witness.note") == []

    obs = ok(site, "witness", "note", "--tender", "TA", "--category", "observation",
             "--room", "E1", "--text", "room E1 quiet, both experts seated",
             identity=watchers.WITNESS)
    assert "alert" not in obs
    breach = ok(site, "witness", "note", "--tender", "TA", "--category", "breach",
                "--room", "E1", "--seat", "S1", "--stream", "cam-E1-S1",
                "--text", "expert at E1 S1 held a phone to the camera",
                "--evidence-stream", "cam-E1-S1", "--evidence-from", span_from,
                "--evidence-to", span_to, identity=watchers.WITNESS)
    assert breach["alert"] > 0 and breach["evidence"]["hold"] > 0
    assert breach["evidence"]["to"] - breach["evidence"]["from"] == 300 * 10**6

    # the supervisors are told at once, on their own topic
    notice = wait_for(lambda: sup.messages_on(harness.topic("supervision", "notice")), 5)
    assert notice, "no supervision notice"
    n = json.loads(notice[0])
    assert n["kind"] == "supervision.notice" and n["note"] == breach["note"]
    assert n["category"] == "breach" and n["alert"] == breach["alert"]
    import schemas
    assert schemas.validate_all([(harness.topic("supervision", "notice"), notice[0])]) == []
    # the alert of its own kind, about the tender and seat
    alerts = [a for a in ok(site, "alerts")["alerts"] if a["kind"] == "witness_breach"]
    assert len(alerts) == 1 and alerts[0]["id"] == breach["alert"]
    assert alerts[0]["room"] == "E1" and alerts[0]["seat"] == "S1"
    assert "held a phone" in alerts[0]["detail"]

    # both notes are events in the tender's archive, by their author; the alert too
    notes = wait_for(lambda: len(archive_events(site, "TA", "witness.note")) == 2
                     and archive_events(site, "TA", "witness.note"), 5)
    assert notes, archive_events(site, "TA", "witness.note")
    assert [s for s, _ in notes] == [watchers.WITNESS] * 2
    assert [b["category"] for _, b in notes] == ["observation", "breach"]
    assert notes[1][1]["evidence"]["stream"] == "cam-E1-S1"
    assert wait_for(lambda: any(b.get("kind") == "witness_breach" or
                                b.get("alert", {}).get("kind") == "witness_breach"
                                for _, b in archive_events(site, "TA", "alert.raised")), 5)
    # and in the audit, refused ones included
    audit = ok(site, "audit")
    records = audit["records"] if isinstance(audit, dict) else audit
    notes_audited = [r for r in records if r["command"] == "witness.note"]
    assert len(notes_audited) >= 10
    assert sum(1 for r in notes_audited if r["outcome"] == "ok") == 2

    # retention keeps the day the evidence span lies in, and deletes another old day
    adir = os.path.join(site.tmp, "controller-state", "archive")
    held = os.path.join(adir, "site-%s.evarc" % old_day)
    gone = os.path.join(adir, "site-%s.evarc" % other_day)
    for p in (held, gone):
        with open(p, "wb") as f:
            f.write(b"old retention archive")
    ctl = site.daemons["controller"]
    ctl.restart()
    assert ctl.wait_log("connected to the broker")
    assert wait_for(lambda: not os.path.exists(gone), 10), ctl.log()
    assert os.path.exists(held)
    assert "kept: an evidence hold covers that day" in ctl.log(this_run=True)

    # the note's hold is listed with the others (docs/archives.md, "Evidence holds"); a
    # witness may read the list but not release it; a supervisor releases it with a reason,
    # and the day goes at the next sweep
    notes = [h for h in ok(site, "evidence", "holds", identity=watchers.WITNESS)["holds"]
             if h["source"] == "note"]
    assert [(h["id"], h["tender"], h["stream"], h["author"], h["why"]) for h in notes] == [
        (breach["evidence"]["hold"], "TA", "cam-E1-S1", watchers.WITNESS, "witness note")]
    refused(site, "evidence", "release", "--hold", str(notes[0]["id"]), "--reason", "done",
            identity=watchers.WITNESS)
    ok(site, "evidence", "release", "--hold", str(notes[0]["id"]), "--reason",
       "breach reviewed, no further action", identity=watchers.SUPERVISOR)
    ctl.restart()
    assert ctl.wait_log("connected to the broker")
    assert wait_for(lambda: not os.path.exists(held), 10), ctl.log()
    sup.close()
    assert site.schema_problems() == []
