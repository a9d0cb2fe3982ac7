"""Issue 17 end to end with the real broker, controller and two room agents: the draw's
commitment is archived and published at commit (and precedes the entropy in every
tender archive), only the witness runs the draw after confirming it, the secret is
never in state.db, a controller restart forces a new commitment that the archives
show, and the seat map stays sealed until check-in: every identity tries every read
command and the retained topics, and the archive files are read, and no person's
room or seat shows before that person has checked in."""
import json
import os
import sqlite3
import time

import pytest

import harness
from daemons import Site, wait_for

TODAY = time.strftime("%Y-%m-%d")
DESK = "desk-entrance"
ID = {"xp-wang": "11010519491231002X", "xp-zhou": "110105194912310038",
      "xp-sun": "310101198001010018", "xp-lin": "320102198001010016"}
TENDERS = ("TA", "TB")


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    s.start_controller()
    s.start_agent("E1", door=True)
    s.start_agent("E2", door=True)
    yield s
    s.close()


def ok(site, *args, identity=None):
    rc, out, err = site.ctl(*args, identity=identity)
    assert rc == 0, (args, out, err)
    return out


def prepare(site, tmp_path):
    ok(site, "site", "import", harness.EXAMPLE_SITE)
    ok(site, "session", "create", "--date", TODAY)
    ok(site, "tender", "add", "--session", TODAY, "--id", "TA", "--name", "Ring road, lot 3")
    ok(site, "tender", "add", "--session", TODAY, "--id", "TB", "--name", "School canteen")
    for t, people in (("TA", ("xp-wang", "xp-zhou")), ("TB", ("xp-sun", "xp-lin"))):
        p = tmp_path / ("%s.csv" % t)
        p.write_text("person_id,name,id_number,role\n" +
                     "".join("%s,%s,%s,expert\n" % (x, x, ID[x]) for x in people))
        ok(site, "committee", "import", "--tender", t, str(p))


def archive(site, tender):
    return os.path.join(site.tmp, "controller-state", "archive", tender + ".evarc")


def rows(site, tender, sql, *args):
    db = sqlite3.connect("file:%s?mode=ro" % archive(site, tender), uri=True)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def door_moves(site, room):
    """The door of ROOM opened by hand and closed again (a forced-open event)."""
    door = site.door(room)
    door.set("DOOR_SENSOR", 1)
    time.sleep(0.2)
    door.set("DOOR_SENSOR", 0)


def room_events(site, tender):
    """The (source, kind) of TENDER's archived events that came from a room."""
    return [(src, k) for src, k in rows(site, tender, "SELECT source, kind FROM events")
            if src.startswith("agent-") or k.startswith(("door.", "seat."))]


def operator_room_commands(site, tender):
    """The operators' door and seat commands in TENDER's archive: (kind, body)."""
    return [(k, json.loads(b)) for k, b in rows(
        site, tender, "SELECT kind, body FROM events WHERE kind IN ('operator.door', "
        "'operator.lockdown', 'operator.seat.lock', 'operator.seat.unlock') ORDER BY leaf")]


def identities(site):
    s = site.prov.site
    return ([site.operator, "auditor-" + s["auditors"][0], DESK, site.witness])


def leaks(value, seat_of, allowed=()):
    """The (person, room, seat) placements VALUE (any JSON, or text) shows: an object
    naming a person together with that person's room or seat, or, in text, a line
    holding a person id and their seat's room/seat pair."""
    found = []

    def walk(v):
        if isinstance(v, dict):
            strings = {x for x in v.values() if isinstance(x, str)}
            for p, (room, seat) in seat_of.items():
                if p in strings and p not in allowed and (
                        v.get("room") == room or v.get("seat") == seat):
                    found.append((p, v))
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, str):
            for line in v.splitlines():
                for p, (room, seat) in seat_of.items():
                    if p in line and p not in allowed and room in line and seat in line:
                        found.append((p, line))
    walk(value)
    return found


# Every read command an identity can send (refusals count as answers too).
READS = [("draw", "export", "--session", TODAY), ("draw", "show", "--session", TODAY),
         ("desk", "list"), ("status",), ("rooms",), ("alerts",), ("audit",),
         ("archives",)]


def sweep(site, seat_of, allowed=()):
    """Every identity x every read command, the retained topics each identity can
    read, and the archive files: the placements shown."""
    found = []
    for cn in identities(site):
        for args in READS:
            rc, out, err = site.ctl(*args, identity=cn)
            found += [(cn, args) + f for f in leaks(out, seat_of, allowed)]
            found += [(cn, args) + f for f in leaks(err, seat_of, allowed)]
        c = harness.Client(site.prov, cn, client_id="sweep-" + cn)
        assert c.connect()
        c.subscribe("evalroom/v1/#")
        time.sleep(0.5)  # the retained messages arrive at once
        for topic, payload in list(c.messages):
            text = payload.decode("utf-8", "replace")
            try:
                body = json.loads(text)
            except ValueError:
                body = text
            found += [(cn, topic) + f for f in leaks(body, seat_of, allowed)]
        c.close()
    for t in TENDERS:
        for (rec,) in rows(site, t, "SELECT record FROM draw"):
            found += [(t, "draw") + f for f in leaks(json.loads(rec), seat_of, allowed)]
        for kind, body in rows(site, t, "SELECT kind, body FROM events"):
            found += [(t, kind) + f for f in leaks(json.loads(body), seat_of, allowed)]
    return found


def test_commitment_witness_and_sealed_seat_map(site, tmp_path):
    prepare(site, tmp_path)
    witness = site.witness

    # The commitment: archived in both tender archives with a checkpoint at once, and
    # published retained for the witness room (not for the desk).
    commit = ok(site, "draw", "commit", "--session", TODAY)
    c = commit["commitment"]
    topic = "evalroom/v1/draw/%s/commitment" % TODAY
    w = harness.Client(site.prov, witness, client_id="witness-room")
    assert w.connect()
    w.subscribe(topic)
    assert w.wait_message(topic)
    pub = json.loads(w.messages_on(topic)[-1])
    assert (pub["commitment"], pub["state"], pub["committed_by"]) == (c, "committed",
                                                                      site.operator)
    w.close()
    d = harness.Client(site.prov, DESK, client_id="desk-peek")
    assert d.connect()
    d.subscribe(topic)
    time.sleep(0.5)
    assert d.messages_on(topic) == []
    d.close()
    # The secret is nowhere in state.db.
    db = sqlite3.connect(os.path.join(site.tmp, "controller-state", "state.db"))
    assert db.execute("SELECT secret FROM draw").fetchall() == [("",)]
    db.close()

    # A restart loses the secret: the commitment cannot run, the next one replaces it
    # and the archives show both, the first one with why it ended.
    ctl = site.daemons["controller"]
    ctl.restart()
    assert wait_for(lambda: site.ctl("status")[0] == 0)
    rc, out, err = site.witness_run(TODAY, "too late", c)
    assert rc == 1 and "can no longer run" in out["error"]["message"]
    shown = ok(site, "draw", "show", "--session", TODAY, identity=witness)
    assert shown["commitment"] == c and shown["runnable"] is False
    commit2 = ok(site, "draw", "commit", "--session", TODAY)
    c2 = commit2["commitment"]
    assert c2 != c and commit2["abandoned"]["commitment"] == c

    # Only the witness runs it, after confirming the published commitment.
    rc, out, err = site.ctl("draw", "run", "--session", TODAY, "--witness-entropy", "op",
                            "--confirm-commitment", c2)
    assert rc == 1 and out["error"]["code"] == "denied"
    rc, out, err = site.witness_run(TODAY, "heron 11", c)  # the old one
    assert rc == 1 and "is not the commitment of session" in out["error"]["message"]
    rc, out, err = site.ctl("draw", "run", "--session", TODAY, "--witness-entropy", "heron 11",
                            "--confirm-commitment", c2[:16], json_out=False, identity=witness)
    assert rc == 0, err
    assert c2 in out and witness in out

    for t in TENDERS:
        ev = rows(site, t, "SELECT leaf, time_us, kind, source, body FROM events "
                           "WHERE kind LIKE 'draw.%' ORDER BY leaf")
        kinds = [(k, json.loads(b).get("commitment")) for _, _, k, _, b in ev]
        assert kinds == [("draw.commit", c), ("draw.commitment_ended", c),
                         ("draw.commit", c2), ("draw.run", c2)], kinds
        ended = json.loads(ev[1][4])
        assert "restarted" in ended["reason"]
        run = json.loads(ev[3][4])
        assert run["witness"] == witness and run["entropy"] == "heron 11"
        assert ev[3][3] == witness
        # commitment before entropy: a signed checkpoint covers the draw.commit leaf of
        # c2 and is older than the run
        commit_leaf, run_time = ev[2][0], ev[3][1]
        cps = rows(site, t, "SELECT tree_size, time_us FROM checkpoints")
        assert any(size > commit_leaf and at < run_time for size, at in cps), cps
        # the record (seats) is not in the archive yet
        assert rows(site, t, "SELECT count(*) FROM draw") == [(0,)]

    seat_of = {a["person"]: (a["room"], a["seat"]) for a in site.seat_map(TODAY)}
    assert len(seat_of) == 4

    # Before check-in: nothing anywhere shows a room or seat of anyone.
    assert sweep(site, seat_of) == []
    for cn in identities(site):
        rc, out, err = site.ctl("draw", "export", "--session", TODAY, identity=cn)
        assert rc == 1 and out["error"]["code"] in ("conflict", "denied"), (cn, out)

    # Nor which rooms a tender's people were drawn to: what happens at a room's door
    # before anyone there has checked in reaches no tender's archive.
    for room in ("E1", "E2"):
        door_moves(site, room)
        ok(site, "door", room, "status", "--reason", "round before check-in")
    time.sleep(1)
    for t in TENDERS:
        assert room_events(site, t) == [], (t, room_events(site, t))
        assert operator_room_commands(site, t) == [], t

    # After xp-wang's check-in only xp-wang's place shows (to the desk, at least).
    ok(site, "desk", "checkin", "--person", "xp-wang", "--id-number", ID["xp-wang"],
       "--screening", "passed", identity=DESK)
    assert sweep(site, seat_of, allowed=("xp-wang",)) == []
    # From now on xp-wang's room reaches TA's archive, and only that room, and only TA's.
    here = seat_of["xp-wang"][0]
    for room in ("E1", "E2"):
        door_moves(site, room)
    assert wait_for(lambda: room_events(site, "TA"), 5)
    time.sleep(1)
    assert {src for src, _ in room_events(site, "TA")} == {"agent-" + here}, \
        room_events(site, "TA")
    assert room_events(site, "TB") == []

    # Door and seat commands are evidence (issue 17 item 7): each, with who gave it, the
    # reason and the answer, in the archive of every tender with someone checked in in
    # that room or at that seat; nothing in TB's (nobody of TB is checked in yet).
    seat = seat_of["xp-wang"][1]
    other = "E2" if here == "E1" else "E1"
    ok(site, "door", here, "unlock", "--reason", "fire door test")
    ok(site, "door", other, "unlock", "--reason", "not TA's room yet")
    rc, out, err = site.ctl("seat", "lock", here, seat, "--reason", "screen shared")
    ok(site, "seat", "unlock", here, seat, "--reason", "checked")
    # (room T1 has no agent here: --all answers for E1 and E2, and says T1 failed)
    site.ctl("lockdown", "--all", "--reason", "drill")
    site.ctl("lockdown", "--all", "--release", "--reason", "drill over")
    rc, out, err = site.ctl("door", here, "free-access", "--reason", "during lockdown?")
    cmds = operator_room_commands(site, "TA")
    assert [(k, b["args"].get("reason")) for k, b in cmds] == [
        ("operator.door", "fire door test"), ("operator.seat.lock", "screen shared"),
        ("operator.seat.unlock", "checked"), ("operator.lockdown", "drill"),
        ("operator.lockdown", "drill over"), ("operator.door", "during lockdown?")], cmds
    for k, b in cmds:
        assert b["identity"] == site.operator and b["outcome"] == "ok", b
        assert "result" in b, b
    unlock = cmds[0][1]
    assert unlock["args"]["room"] == here and unlock["result"]["rooms"][here]["ok"] is True
    assert cmds[1][1]["result"]["state"] == "locked", cmds[1][1]
    assert cmds[3][1]["result"]["rooms"][here]["status"]["lockdown"] is True
    assert operator_room_commands(site, "TB") == []
    listed = ok(site, "desk", "list", identity=DESK)
    assert leaks(listed, {"xp-wang": seat_of["xp-wang"]}) != []

    # Everyone checked in: the record is released to both archives (with the proof
    # that it was fixed before: commitment, input hash, seed) and export works.
    for p in ("xp-zhou", "xp-sun", "xp-lin"):
        ok(site, "desk", "checkin", "--person", p, "--id-number", ID[p], "--screening",
           "passed", identity=DESK)
    rec = ok(site, "draw", "export", "--session", TODAY)
    assert rec["commitment"] == c2 and rec["algorithm"] == 2
    for t in TENDERS:
        assert wait_for(lambda: rows(site, t, "SELECT count(*) FROM draw") == [(1,)])
        (stored,) = rows(site, t, "SELECT record FROM draw")[0]
        assert json.loads(stored)["seed"] == rec["seed"]
        rel = [json.loads(b) for (b,) in rows(site, t, "SELECT body FROM events WHERE "
                                                       "kind = 'draw.released'")]
        assert rel and rel[0]["commitment"] == c2 and rel[0]["seed"] == rec["seed"]
