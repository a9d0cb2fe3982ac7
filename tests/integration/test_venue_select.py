"""Issue 22 items 4 and 5 through the real broker and controller (docs/venues.md,
"Choosing a tender's venues"; docs/draw.md section 12):

- booking in advance: an operator books venues for a tender; the booking is in the
  tender's archive; a venue that is none of the site's, or one booked twice, is refused;
- the on-site draw: committed by an operator, witnessed by a supervisor (the regulator's
  representative) with their entropy; the record in the tender's archive, re-run by
  `evalroom-archive verify-draw`; a copy with a changed venue is rejected by the tool;
- the second draw after a drawn venue failed: the failed venue is excluded, the record says
  so and verifies;
- role rules: a desk or a witness may not draw, an operator may not witness;
- the seat draw then covers only the chosen venues' expert rooms;
- the cross-venue committee: the desk of venue north refuses an expert seated at south
  (nothing recorded, no room revealed), the desk of south checks them in; north's desk
  list never shows a room of another venue.

- provisioning: a venue's desk has its block in that venue's ACL, and exactly its request
  and answer topics cross that venue's bridge; with north's real broker and bridge running
  (no network namespace: test_venues.py has those), the desk of north connected there
  checks in an expert seated at north, and the desk of south gets nothing through it.

Otherwise every client speaks to the main broker."""
import datetime
import json
import os
import shutil
import sqlite3
import subprocess

import pytest

import harness
from daemons import Site, wait_for

TODAY = datetime.date.today().isoformat()
SITE = {
    "id": "vs", "name": "Main venue with three secondary venues",
    "venues": [{"id": "main", "main": True, "host": "127.0.0.1"},
               {"id": "north"}, {"id": "south"}, {"id": "east"}, {"id": "west"}],
    "rooms": [
        {"id": "EM", "kind": "expert", "venue": "main", "door": "D-EM", "seats": [{"id": "S1"}]},
        {"id": "EN", "kind": "expert", "venue": "north", "door": "D-EN",
         "seats": [{"id": "S1"}, {"id": "S2"}]},
        {"id": "ES", "kind": "expert", "venue": "south", "door": "D-ES",
         "seats": [{"id": "S1"}, {"id": "S2"}]},
        {"id": "EE", "kind": "expert", "venue": "east", "door": "D-EE",
         "seats": [{"id": "S1"}, {"id": "S2"}]},
        {"id": "EW", "kind": "expert", "venue": "west", "door": "D-EW",
         "seats": [{"id": "S1"}, {"id": "S2"}]},
        {"id": "TW", "kind": "tenderer", "venue": "main", "door": "D-TW", "seats": [{"id": "S1"}]},
    ],
    "operators": ["alice"],
    "desks": ["gate", {"name": "north", "venue": "north"}, {"name": "south", "venue": "south"},
              {"name": "east", "venue": "east"}, {"name": "west", "venue": "west"}],
    "auditors": ["audrey"], "witnesses": ["gao"], "supervisors": ["reg1"],
}
ROOM_VENUE = {r["id"]: r["venue"] for r in SITE["rooms"]}
SUPERVISOR = "supervisor-reg1"
IDS = {"xp-a": "11010519491231002X", "xp-b": "110105194912310038",
       "xp-c": "310101198001010018", "xp-d": "320102198001010016"}


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path, site=SITE)
    s.start_controller()
    yield s
    s.close()


def ok(site, *args, identity=None):
    rc, out, err = site.ctl(*args, identity=identity)
    assert rc == 0, (args, out, err)
    return out


def refused(site, *args, identity=None, code=1):
    rc, out, err = site.ctl(*args, identity=identity, json_out=False)
    assert rc == code, (args, out, err)
    return err


def archive(site, tender):
    return os.path.join(site.tmp, "controller-state", "archive", tender + ".evarc")


def events(site, tender, kind):
    db = sqlite3.connect("file:%s?mode=ro" % archive(site, tender), uri=True)
    try:
        rows = db.execute("SELECT source, body FROM events WHERE kind = ? ORDER BY id",
                          (kind,)).fetchall()
    finally:
        db.close()
    return [(s, json.loads(b)) for s, b in rows]


def verify_draw(bin_dir, path):
    p = subprocess.run([os.path.join(bin_dir, "evalroom-archive"), "verify-draw", path],
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def prepare(site, tmp_path):
    path = tmp_path / "site.json"
    path.write_text(json.dumps(SITE))
    ok(site, "site", "import", str(path))
    ok(site, "session", "create", "--date", TODAY)
    ok(site, "tender", "add", "--session", TODAY, "--id", "TV", "--name", "Reservoir dam")
    csv = tmp_path / "tv.csv"
    csv.write_text("person_id,name,id_number,role\n" + "".join(
        "%s,Expert %s,%s,expert\n" % (p, p[-1].upper(), i) for p, i in IDS.items()))
    ok(site, "committee", "import", "--tender", "TV", str(csv))


def run_draw(site, tender, commitment, entropy):
    return ok(site, "venue", "run", tender, "--witness-entropy", entropy,
              "--confirm-commitment", commitment[:16], identity=SUPERVISOR)


def test_venue_selection_and_cross_venue_checkin(site, tmp_path, bin_dir):
    prepare(site, tmp_path)

    # --- role rules: operators commit, a supervisor witnesses, nobody else ---
    err = refused(site, "venue", "draw", "TV", "--from", "north,south", "--count", "1",
                  identity="desk-north")
    assert 'may not run "venue.draw"' in err
    err = refused(site, "venue", "book", "TV", "--venues", "main", identity="witness-gao")
    assert 'may not run "venue.book"' in err

    # --- booking in advance ---
    err = refused(site, "venue", "book", "TV", "--venues", "main,atlantis")
    assert "atlantis is not a venue of the site" in err
    b = ok(site, "venue", "book", "TV", "--venues", "main", "--reason", "the main venue hosts")
    assert b["chosen"] == ["main"]
    err = refused(site, "venue", "book", "TV", "--venues", "main")
    assert "venue main is chosen for this tender already (booked)" in err
    (src, booked), = events(site, "TV", "venue.booked")
    assert src == site.operator and booked["venues"] == ["main"]

    # --- the on-site draw: 2 of north, south, east, west; the supervisor witnesses ---
    err = refused(site, "venue", "draw", "TV", "--from", "north,south,main", "--count", "2")
    assert "venue main is chosen for this tender already" in err
    err = refused(site, "venue", "draw", "TV", "--from", "north,south", "--count", "3")
    assert "3 venues wanted but only 2 to draw from" in err
    c1 = ok(site, "venue", "draw", "TV", "--from", "north,south,east,west", "--count", "2")
    assert c1["round"] == 1 and c1["committed_by"] == site.operator
    (_, commit), = events(site, "TV", "venue.commit")
    assert commit["commitment"] == c1["commitment"]
    err = refused(site, "draw", "commit", "--session", TODAY)
    assert "a venue draw of tender TV is waiting for its run" in err
    err = refused(site, "venue", "run", "TV", "--witness-entropy", "x",
                  "--confirm-commitment", c1["commitment"][:16])
    assert 'may not run "venue.run"' in err
    err = refused(site, "venue", "run", "TV", "--witness-entropy", "x",
                  "--confirm-commitment", "0" * 16, identity=SUPERVISOR)
    assert "is not the commitment of the venue draw of tender TV" in err
    r1 = run_draw(site, "TV", c1["commitment"], "supervisor reg1: 9 2 6 5")
    assert r1["witness"] == SUPERVISOR and len(r1["drawn"]) == 2
    assert set(r1["drawn"]) <= {"north", "south", "east", "west"}
    assert sorted(r1["chosen"]) == sorted(["main"] + r1["drawn"])
    (src, run), = events(site, "TV", "venue.run")
    assert src == SUPERVISOR and run["record"]["witness"] == SUPERVISOR
    assert run["record"]["committed_by"] == site.operator

    # the tool re-runs the record from the archive; a tampered copy is rejected
    rc, out = verify_draw(bin_dir, archive(site, "TV"))
    assert rc == 0 and "venue draw of tender TV (round 1)" in out, out
    assert "VERIFIED" in out
    tampered = str(tmp_path / "tampered.evarc")
    shutil.copy(archive(site, "TV"), tampered)
    other = next(v for v in ("north", "south", "east", "west") if v not in r1["drawn"])
    db = sqlite3.connect(tampered)
    row_id, body = db.execute("SELECT id, body FROM events WHERE kind = 'venue.run'").fetchone()
    doc = json.loads(body)
    doc["record"]["chosen"][0]["venue"] = other
    db.execute("UPDATE events SET body = ? WHERE id = ?", (json.dumps(doc), row_id))
    db.commit()
    db.close()
    rc, out = verify_draw(bin_dir, tampered)
    assert rc != 0 and "MISMATCH" in out and "chosen[0]: the draw gives venue" in out, out
    err = refused(site, "venue", "draw", "TV", "--from", "north,south", "--count", "1")
    assert "were drawn already" in err and "venue redraw" in err

    # --- the second draw: the first drawn venue failed; the one not drawn is booked ---
    failed = r1["drawn"][0]
    err = refused(site, "venue", "redraw", "TV", "--failed", "main", "--reason", "no power")
    assert "only a drawn venue can fail" in err
    ok(site, "venue", "book", "TV", "--venues", other)
    c2 = ok(site, "venue", "redraw", "TV", "--failed", failed, "--reason",
            "the link of venue %s is down" % failed)
    assert c2["round"] == 2 and c2["excluded"] == [failed]
    assert failed not in c2["candidates"] and other not in c2["candidates"]
    assert ok(site, "venue", "show", "TV")["chosen"] == [
        {"venue": "main", "way": "booked", "selection": 1},
        {"venue": other, "way": "booked", "selection": 3}]
    r2 = run_draw(site, "TV", c2["commitment"], "supervisor reg1: 3 5 8 9 7")
    assert failed not in r2["drawn"] and other not in r2["drawn"] and len(r2["drawn"]) == 2
    chosen = sorted(["main", other] + r2["drawn"])
    assert sorted(r2["chosen"]) == chosen
    rc, out = verify_draw(bin_dir, archive(site, "TV"))
    assert rc == 0 and "(round 2)" in out and out.count("VERIFIED") == 2, out
    (_, run2) = events(site, "TV", "venue.run")[1]
    assert run2["record"]["inputs"]["excluded"] == [failed]
    show = ok(site, "venue", "show", "TV", identity="auditor-audrey")
    assert [s["way"] for s in show["selections"]] == ["booking", "draw", "booking", "redraw"]
    assert "secret" not in json.dumps(show)

    # --- the seat draw covers only the chosen venues' expert rooms ---
    c = ok(site, "draw", "commit", "--session", TODAY)["commitment"]
    assert site.witness_run(TODAY, "grey crane 4410", c)[0] == 0
    seated = {s["person"]: s["room"] for s in site.seat_map(TODAY)}
    assert set(seated) == set(IDS)
    assert {ROOM_VENUE[r] for r in seated.values()} <= set(chosen), seated
    # venues cannot change once the seat draw is committed
    err = refused(site, "venue", "book", "TV", "--venues", failed)
    assert "committed already" in err

    # --- cross-venue check-in: each venue's desk checks in its own people only ---
    secondary = [v for v in chosen if v != "main"]
    at = {p: ROOM_VENUE[r] for p, r in seated.items()}
    person = next((p for p, v in at.items() if v in secondary), None)
    assert person, seated
    venue = at[person]
    wrong = next(v for v in ("north", "south", "east", "west") if v != venue)
    err = refused(site, "desk", "checkin", "--person", person, "--id-number", IDS[person],
                  "--screening", "passed", identity="desk-" + wrong)
    assert "%s is not seated at venue %s" % (person, wrong) in err
    assert seated[person] not in err
    rows = ok(site, "desk", "list", identity="desk-" + wrong)["persons"]
    assert next(r for r in rows if r["person"] == person)["state"] == "expected"
    out = ok(site, "desk", "checkin", "--person", person, "--id-number", IDS[person],
             "--screening", "passed", identity="desk-" + venue)
    assert out["room"] == seated[person]
    # the other venue's desk sees that the person checked in, never where
    row = next(r for r in ok(site, "desk", "list", identity="desk-" + wrong)["persons"]
               if r["person"] == person)
    assert row["state"] == "admitted" and "room" not in row and "seat" not in row
    assert row.get("other_venue") is True
    row = next(r for r in ok(site, "desk", "list", identity="desk-" + venue)["persons"]
               if r["person"] == person)
    assert row["room"] == seated[person]
    # a desk without a venue (the central one) checks in anyone
    rest = next((p for p in IDS if p != person), None)
    out = ok(site, "desk", "checkin", "--person", rest, "--id-number", IDS[rest],
             "--screening", "passed", identity="desk-gate")
    assert out["room"] == seated[rest]
    audit = [r for r in ok(site, "audit")["records"] if r["command"] == "venue.run"]
    assert [r["identity"] for r in audit if r["outcome"] == "ok"] == [SUPERVISOR] * 2
    assert any(r["identity"] == site.operator and r["outcome"] != "ok" for r in audit)


def test_seat_draw_refuses_tenders_with_different_venues(site, tmp_path):
    prepare(site, tmp_path)
    ok(site, "tender", "add", "--session", TODAY, "--id", "TW2", "--name", "Canal")
    csv = tmp_path / "tw.csv"
    csv.write_text("person_id,name,id_number,role\nxp-e,Expert E,330102198001010034,expert\n")
    ok(site, "committee", "import", "--tender", "TW2", str(csv))
    ok(site, "venue", "book", "TV", "--venues", "north,south")
    err = refused(site, "draw", "commit", "--session", TODAY)
    assert "chose different venues" in err and "TW2: none" in err
    ok(site, "venue", "book", "TW2", "--venues", "north,south")
    # the rooms of north and south alone: 4 seats for 5 experts (the site has 9)
    err = refused(site, "draw", "commit", "--session", TODAY)
    assert "too few seats in expert rooms: 5 experts, 4 seats" in err
    ok(site, "venue", "book", "TV", "--venues", "east")
    ok(site, "venue", "book", "TW2", "--venues", "east")
    c = ok(site, "draw", "commit", "--session", TODAY)
    assert c["rooms"] == 4  # EN, ES, EE and the tenderer room


def test_venue_desk_provisioned_through_its_bridge(site):
    """A venue's desk speaks through its venue's broker: its block in the venue's ACL, its
    request and answer topics (only those) on the bridge and in the bridge's block on the
    main broker."""
    d = site.prov.dir
    with open(os.path.join(d, "venues", "north", "broker", "acl")) as f:
        north_acl = f.read()
    with open(os.path.join(d, "venues", "north", "broker", "mosquitto.conf")) as f:
        north_conf = f.read()
    with open(os.path.join(d, "venues", "south", "broker", "acl")) as f:
        south_acl = f.read()
    with open(site.prov.acl) as f:
        main_acl = f.read()
    assert "user desk-north\n" in north_acl and "desk-south" not in north_acl
    assert "desk-gate" not in north_acl and "user desk-south\n" in south_acl
    assert "topic evalroom/v1/ctl/desk-north/req out 1\n" in north_conf
    assert "topic evalroom/v1/ctl/desk-north/resp in 1\n" in north_conf
    assert "desk-south" not in north_conf and "desk-gate" not in north_conf
    bridge = main_acl.split("user bridge-north\n")[1].split("\nuser ")[0]
    assert "topic write evalroom/v1/ctl/desk-north/req" in bridge
    assert "topic read evalroom/v1/ctl/desk-north/resp" in bridge
    assert "desk-south" not in bridge


def test_venue_desk_checks_in_through_its_bridge(bin_dir, tmp_path):
    """The desk of venue north, connected to north's own broker, checks in an expert seated
    at north: its request and the answer cross north's bridge to the main broker."""
    main_port, north_port = harness.free_port(), harness.free_port()
    s = json.loads(json.dumps(SITE))
    s["venues"][0]["port"] = main_port
    s["venues"][1].update(host="127.0.0.1", port=north_port)
    site = Site(bin_dir, tmp_path, site=s, port=main_port)
    north = None
    try:
        site.start_controller()
        conf = os.path.join(site.prov.dir, "venues", "north", "broker", "mosquitto.conf")
        with open(os.path.join(site.tmp, "broker-north.log"), "wb") as log:
            north = subprocess.Popen([harness.MOSQUITTO, "-c", conf], stdout=log,
                                     stderr=subprocess.STDOUT)
        link = harness.topic("venue", "north", "link")
        assert wait_for(lambda: any(p == b"1" for o in site.observers
                                    for p in o.messages_on(link)), timeout=30)
        path = tmp_path / "site.json"
        path.write_text(json.dumps(s))
        ok(site, "site", "import", str(path))
        ok(site, "session", "create", "--date", TODAY)
        ok(site, "tender", "add", "--session", TODAY, "--id", "TN", "--name", "Pier")
        csv = tmp_path / "tn.csv"
        csv.write_text("person_id,name,id_number,role\nxp-a,Expert A,%s,expert\n"
                       "xp-b,Expert B,%s,expert\n" % (IDS["xp-a"], IDS["xp-b"]))
        ok(site, "committee", "import", "--tender", "TN", str(csv))
        ok(site, "venue", "book", "TN", "--venues", "north")
        c = ok(site, "draw", "commit", "--session", TODAY)["commitment"]
        assert site.witness_run(TODAY, "grey crane 4410", c)[0] == 0
        assert {x["room"] for x in site.seat_map(TODAY)} == {"EN"}

        cert, key = site.prov.cert("desk-north")
        desk_conf = tmp_path / "desk-north-local.conf"
        desk_conf.write_text("[mqtt]\nuri=ssl://127.0.0.1:%d\nca=%s\ncert=%s\nkey=%s\n"
                             % (north_port, site.prov.ca, cert, key))
        p = subprocess.run([os.path.join(bin_dir, "evalroomctl"), "--config", str(desk_conf),
                            "--json", "desk", "checkin", "--person", "xp-a", "--id-number",
                            IDS["xp-a"], "--screening", "passed"],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, (p.stdout, p.stderr)
        assert json.loads(p.stdout)["room"] == "EN"
        rows = {r["person"]: r for r in ok(site, "desk", "list")["persons"]}
        assert rows["xp-a"]["state"] == "admitted"
        # another venue's desk has no place on north's broker: its request never arrives
        cert, key = site.prov.cert("desk-south")
        desk_conf.write_text("[mqtt]\nuri=ssl://127.0.0.1:%d\nca=%s\ncert=%s\nkey=%s\n"
                             % (north_port, site.prov.ca, cert, key))
        p = subprocess.run([os.path.join(bin_dir, "evalroomctl"), "--config", str(desk_conf),
                            "--json", "--timeout", "3", "desk", "checkin", "--person", "xp-b",
                            "--id-number", IDS["xp-b"], "--screening", "passed"],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode != 0, (p.stdout, p.stderr)
        assert not [r for r in ok(site, "audit")["records"] if r["identity"] == "desk-south"]
    finally:
        if north:
            north.terminate()
            north.wait(10)
        site.close()


def test_venue_commitment_replaced_and_lost_to_a_restart(site, tmp_path, bin_dir):
    """A venue draw committed again before its run ends the first commitment in the archive;
    after a controller restart the secret is gone: the run is refused, a new commitment
    ends the old one, and that one runs."""
    prepare(site, tmp_path)
    c1 = ok(site, "venue", "draw", "TV", "--from", "north,south,east", "--count", "2")
    c2 = ok(site, "venue", "draw", "TV", "--from", "north,south,east,west", "--count", "2")
    (_, ended), = events(site, "TV", "venue.commitment_ended")
    assert ended["commitment"] == c1["commitment"] and ended["ended_by"] == site.operator
    err = refused(site, "venue", "run", "TV", "--witness-entropy", "x",
                  "--confirm-commitment", c1["commitment"][:16], identity=SUPERVISOR)
    assert "is not the commitment of the venue draw of tender TV" in err

    site.daemons["controller"].stop()
    site.start_controller()
    assert [s["can_run"] for s in ok(site, "venue", "show", "TV")["selections"]] == [False,
                                                                                   False]
    err = refused(site, "venue", "run", "TV", "--witness-entropy", "x",
                  "--confirm-commitment", c2["commitment"][:16], identity=SUPERVISOR)
    assert "can no longer run" in err
    assert not ok(site, "venue", "show", "TV")["chosen"]
    c3 = ok(site, "venue", "draw", "TV", "--from", "north,south", "--count", "1")
    assert [e["commitment"] for _, e in events(site, "TV", "venue.commitment_ended")] == [
        c1["commitment"], c2["commitment"]]
    r = run_draw(site, "TV", c3["commitment"], "supervisor reg1: 1 1 2 3")
    assert r["drawn"][0] in ("north", "south")
    rc, out = verify_draw(bin_dir, archive(site, "TV"))
    assert rc == 0 and out.count("VERIFIED") == 1, out
