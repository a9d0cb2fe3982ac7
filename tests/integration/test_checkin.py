"""Issue 5 end to end with the real broker, controller, two room agents on simulated doors
and the real evalroom-terminal (--batch) at the seats: the desk checks experts in (refusals
first), a credential opens its own room's door only, the login code works at its own seat
only, five wrong codes block a seat, logout ends the binding, readmission issues new
credentials. Every refusal says why and changes nothing else."""
import json
import os
import sqlite3
import time

import pytest

import harness
import schemas
from daemons import Site, wait_for

TODAY = time.strftime("%Y-%m-%d")
TOMORROW = time.strftime("%Y-%m-%d", time.localtime(time.time() + 86400))
DESK = "desk-entrance"
ID = {"xp-wang": "11010519491231002X", "xp-zhou": "110105194912310038",
      "xp-sun": "310101198001010018", "xp-lin": "320102198001010016"}


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    s.start_controller("admission_window_s=10\n")
    s.start_agent("E1", door=True)
    s.start_agent("E2", door=True)
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


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def prepare(site, tmp_path):
    ok(site, "site", "import", harness.EXAMPLE_SITE)
    ok(site, "session", "create", "--date", TODAY)
    ok(site, "tender", "add", "--session", TODAY, "--id", "TA", "--name", "Ring road, lot 3")
    ok(site, "tender", "add", "--session", TODAY, "--id", "TB", "--name", "School canteen")
    ok(site, "committee", "import", "--tender", "TA", write(tmp_path, "ta.csv",
       "person_id,name,id_number,role\nxp-wang,Wang Li,%s,expert\nxp-zhou,Zhou Min,%s,expert\n"
       % (ID["xp-wang"], ID["xp-zhou"])))
    ok(site, "committee", "import", "--tender", "TB", write(tmp_path, "tb.csv",
       "person_id,name,id_number,role\nxp-sun,Sun Yu,%s,expert\nxp-lin,Lin Tao,%s,expert\n"
       % (ID["xp-sun"], ID["xp-lin"])))
    c = ok(site, "draw", "commit", "--session", TODAY)["commitment"]
    assert site.witness_run(TODAY, "grey crane 4410", c)[0] == 0
    # Someone of tomorrow's session, who is not expected today.
    ok(site, "session", "create", "--date", TOMORROW, "--id", "next")
    ok(site, "tender", "add", "--session", "next", "--id", "TC", "--name", "Bridge")
    ok(site, "committee", "import", "--tender", "TC", write(tmp_path, "tc.csv",
       "person_id,name,id_number,role\nxp-next,Next Person,99999999,expert\n"))


def desk_list(site):
    out = ok(site, "desk", "list", identity=DESK)
    return {p["person"]: p for p in out["persons"]}


def alerts(site, kind):
    out = ok(site, "alerts")
    return [a for a in out["alerts"] if a["kind"] == kind]


def lock_history(site, room):
    return [level for _, level in site.door(room).history("DOOR_LOCK")]


def door_events(site, room, event):
    out = []
    for p in site.observers[0].messages_on(harness.topic("room", room, "event")):
        m = json.loads(p)
        if m["kind"] == "door.event" and m["event"] == event:
            out.append(m)
    return out


def db(site):
    return sqlite3.connect("file:%s?mode=ro" % os.path.join(site.tmp, "controller-state",
                                                             "state.db"), uri=True)


def values(doc):
    """Every string anywhere in a JSON document."""
    if isinstance(doc, dict):
        return [v for x in doc.values() for v in values(x)]
    if isinstance(doc, list):
        return [v for x in doc for v in values(x)]
    return [doc] if isinstance(doc, str) else []


def assert_no_seat_map(wire, room, seated):
    """The admission lists ROOM's agent received name this room's people only: another
    room's credential comes without its person and without its room."""
    raw = wire.messages_on(harness.topic("room", room, "cmd"))
    lists = [m for m in map(json.loads, raw) if m.get("command") == "admission.set"]
    elsewhere = 0
    assert lists
    for m in lists:
        strings = values(m["args"])
        for person, their_room in seated.items():
            if their_room != room:
                assert person not in strings, (room, m)
                assert their_room not in strings, (room, m)
        for e in m["args"]["entries"]:
            if e.get("elsewhere"):
                assert set(e) == {"digest", "elsewhere", "valid_from", "valid_until"}, e
                elsewhere += 1
            else:
                assert seated[e["person"]] == room and "room" not in e, e
    assert elsewhere > 0, lists  # every check-in elsewhere was announced as such


def test_checkin_admission_and_seat_login(site, tmp_path):
    prepare(site, tmp_path)
    seat_watch = {room: harness.Client(site.prov, "agent-" + room, client_id="test-seats-" + room)
                  for room in ("E1", "E2")}
    for room, c in seat_watch.items():
        assert c.connect()
        c.subscribe(harness.topic("seat", room, "+", "#"))
        c.subscribe(harness.topic("room", room, "cmd"))  # what the room is told
    before = desk_list(site)
    assert set(before) == set(ID) and all(p["state"] == "expected" for p in before.values())
    assert all("room" not in p for p in before.values())  # sealed until check-in

    # --- refusals at the desk: clear reasons, nothing changes ---
    err = refused(site, "desk", "checkin", "--person", "xp-wang", "--id-number", "123",
                  "--screening", "passed")
    assert "identity number does not match" in err
    err = refused(site, "desk", "checkin", "--person", "xp-next", "--id-number", "99999999",
                  "--screening", "passed")
    assert "no committee of an open session dated " + TODAY in err
    err = refused(site, "desk", "checkin", "--person", "xp-nobody", "--id-number", "1",
                  "--screening", "passed")
    assert "no person" in err
    err = refused(site, "desk", "checkin", "--person", "xp-lin", "--id-number", ID["xp-lin"],
                  "--screening", "failed", "--note", "phone found")
    assert "screening failed" in err
    (a,) = alerts(site, "screening_failed")
    assert a["person"] == "xp-lin" and "phone found" in a["detail"]
    err = refused(site, "desk", "readmit", "--person", "xp-wang", "--reason", "lost PIN")
    assert "has not checked in yet" in err
    err = refused(site, "seat", "lock", "E1", "S1", identity=DESK)
    assert "may not run" in err
    assert desk_list(site) == before
    assert wait_for(lambda: all(not door_events(site, r, "granted") for r in ("E1", "E2")))

    # --- check-in: room and seat revealed now, a credential and a login code ---
    rc, text, err = site.ctl("desk", "checkin", "--person", "xp-wang", "--id-number",
                             ID["xp-wang"].lower(), "--screening", "passed",
                             identity=DESK, json_out=False)
    assert rc == 0, err
    assert "room:" in text and "door PIN:" in text and "login code:" in text
    wang = desk_list(site)["xp-wang"]
    assert wang["state"] == "admitted" and wang["credential"] == "active"
    room, seat = wang["room"], wang["seat"]
    assert room in text and seat in text
    other_room = "E2" if room == "E1" else "E1"
    pin = text.split("door PIN:")[1].split()[0]
    code = text.split("login code:")[1].split()[0]
    assert len(pin) == 6 and pin.isdigit() and len(code) == 8
    # The same expert again: refused, the admission stands.
    err = refused(site, "desk", "checkin", "--person", "xp-wang", "--id-number", ID["xp-wang"],
                  "--screening", "passed")
    assert "already checked in" in err

    # The other expert of the same room (different tender), with a registered card.
    persons = {}
    for p in ("xp-zhou", "xp-sun", "xp-lin"):
        args = ["desk", "checkin", "--person", p, "--id-number", "-", "--screening", "passed"]
        if p == "xp-sun":
            args += ["--card", "12:3456"]
        rc, persons[p], err = site.ctl(*args, identity=DESK, input=ID[p] + "\n")
        assert rc == 0, err
        schemas.validate({"v": 1, "kind": "response", "seq": 1, "ts": 1, "id": "x", "ok": True,
                          "result": persons[p]})
    assert persons["xp-sun"]["credential"] == "w26:12:3456"
    mate = next(p for p, r in persons.items() if r["room"] == room)
    mate_seat, mate_code = persons[mate]["seat"], persons[mate]["login_code"]
    assert mate_seat != seat

    # --- the door: another room's door refuses and alerts, the right one opens ---
    # The other room's agent knows only that the PIN is admitted elsewhere: its event
    # names nobody, the controller finds the person from the credential's digest.
    site.door(other_room).pin(pin)
    assert wait_for(lambda: any(e.get("reason") == "not_this_room"
                                for e in door_events(site, other_room, "denied")), 5)
    assert all("person" not in e for e in door_events(site, other_room, "denied"))
    wrong = wait_for(lambda: next((a for a in alerts(site, "wrong_room")
                                   if a.get("person") == "xp-wang" and a["room"] == other_room),
                                  None), 5)
    assert wrong, alerts(site, "wrong_room")
    assert wrong["extra"].pop("text")["id"] == "wrong_room"
    assert wrong["extra"] == {"admitted_room": room}
    assert "admitted to room %s" % room in wrong["detail"]
    seated = dict({"xp-wang": room}, **{p: r["room"] for p, r in persons.items()})
    for r, c in seat_watch.items():
        assert_no_seat_map(c, r, seated)
    assert 1 not in lock_history(site, other_room)
    site.door(room).pin(pin)
    assert wait_for(lambda: 1 in lock_history(site, room), 5), lock_history(site, room)
    assert wait_for(lambda: desk_list(site)["xp-wang"]["state"] == "inside", 5)
    assert desk_list(site)["xp-wang"]["credential"] == "used"
    # Single use: the list was pushed again without it.
    time.sleep(0.5)
    site.door(room).pin(pin)
    assert wait_for(lambda: any(e.get("reason") == "unknown" for e in door_events(site, room, "denied")), 5)

    # --- the seats ---
    mine = site.start_terminal(room, seat)
    theirs = site.start_terminal(room, mate_seat)
    mine.wait("screen=locked", absent="UNREACHABLE")
    theirs.wait("screen=locked", absent="UNREACHABLE")
    # xp-wang's code at the mate's seat: denied and alerted as wrong seat.
    theirs.keys(code + "\n")
    theirs.wait("This code is not for this seat")
    assert wait_for(lambda: any(a["person"] == "xp-wang" and a["seat"] == mate_seat
                                for a in alerts(site, "wrong_seat")), 5)
    # The right seat: logged in, name and tender shown; lower case is the same code.
    mine.keys(code.lower() + "\n")
    line = mine.wait("screen=logged_in")
    assert "Welcome, Wang Li" in line and "Ring road, lot 3" in line
    assert wait_for(lambda: db(site).execute(
        "SELECT person, tender FROM seat_binding WHERE room=? AND seat=? AND to_us IS NULL",
        (room, seat)).fetchall() == [("xp-wang", "TA")], 5)

    # Five wrong codes at the mate's seat block it; the right code is then refused too.
    for n in range(4):
        theirs.keys("WRONG%d\n" % n)
        theirs.wait("Wrong code, %d tr" % (4 - n))
    theirs.keys("WRONG9\n")
    theirs.wait("screen=blocked")
    assert wait_for(lambda: any(a["seat"] == mate_seat and a["room"] == room
                                for a in alerts(site, "seat_locked")), 5)
    err = refused(site, "seat", "unlock", room, mate_seat, identity=DESK)
    assert "may not run" in err
    out = ok(site, "seat", "unlock", room, mate_seat)
    assert out["state"] == "open"
    theirs.wait("This seat has been unlocked")
    theirs.keys(mate_code + "\n")
    assert "Tender %s" % persons[mate]["tender"] in theirs.wait("screen=logged_in")
    assert wait_for(lambda: not [a for a in alerts(site, "seat_locked") if a["state"] != "resolved"], 5)

    # --- remote lock keeps the session underneath ---
    ok(site, "seat", "lock", room, seat, "--reason", "supervisor check")
    mine.wait("screen=operator_locked")
    assert "supervisor check" in mine.screen()
    ok(site, "seat", "unlock", room, seat)
    mine.wait("screen=logged_in")

    # --- logout: binding ends, presence out, the old code and PIN are spent ---
    mine.keys("ly")
    mine.wait("You have been logged out")
    assert wait_for(lambda: desk_list(site)["xp-wang"]["state"] == "out", 5)
    assert db(site).execute("SELECT count(*) FROM seat_binding WHERE room=? AND seat=? AND "
                            "person='xp-wang' AND to_us IS NOT NULL", (room, seat)).fetchone()[0] == 1
    mine.keys(code + "\n")
    mine.wait("This code has already been used")

    # --- readmission: new credential and code, the old ones stay dead ---
    again = ok(site, "desk", "readmit", "--person", "xp-wang", "--reason", "back from lunch",
               identity=DESK)
    assert again["room"] == room and again["seat"] == seat
    assert again["credential"] != "pin:" + pin and again["login_code"] != code
    granted = len(door_events(site, room, "granted"))
    site.door(room).pin(again["credential"][4:])
    assert wait_for(lambda: len(door_events(site, room, "granted")) > granted, 5)
    mine.keys(again["login_code"] + "\n")
    mine.wait("screen=logged_in")

    # --- the agent restarts: the session and the seat's state are still there ---
    agent = site.daemons["agent-" + room]
    agent.restart()
    assert agent.wait_log("seats: restored the state", timeout=10)
    assert agent.wait_log("connected to the broker", timeout=10)
    assert ok(site, "seat", "lock", room, seat, "--reason", "restart check")["state"] == "locked"
    mine.wait("screen=operator_locked")
    assert ok(site, "seat", "unlock", room, seat)["state"] == "in_use"
    mine.wait("screen=logged_in")

    # --- a terminal that dies is reported offline ---
    theirs.kill()
    assert wait_for(lambda: any(a["seat"] == mate_seat for a in alerts(site, "terminal_offline")), 10)

    # --- nobody else entered within the 10 s window: not_entered ---
    assert wait_for(lambda: len(alerts(site, "not_entered")) >= 1, 15)
    assert all(a["person"] != "xp-wang" for a in alerts(site, "not_entered"))

    # Every desk request was audited with the desk's identity, refusals included.
    audit = ok(site, "audit")
    desk_rows = [r for r in audit["records"] if r["identity"] == DESK]
    assert any(r["command"] == "desk.checkin" and r["outcome"] == "ok" for r in desk_rows)
    assert any(r["command"] == "desk.checkin" and r["outcome"] != "ok" for r in desk_rows)
    # Identity numbers never reach the log (state.db keeps only their HMAC).
    text = json.dumps(audit)
    assert not any(number in text or number.lower() in text for number in ID.values())
    assert any('"id_number":"withheld"' in r["args"] for r in desk_rows)

    problems = site.schema_problems()
    for c in seat_watch.values():
        problems += schemas.validate_all(c.messages)
        c.close()
    assert problems == []
