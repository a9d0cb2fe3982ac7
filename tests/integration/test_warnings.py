"""Behaviour warnings (docs/warnings.md) at the real controller fed by real agents with
simulated doors and real kiosks: each rule fires on its labelled case with its evidence
span (streams and time range) in the alert, a warning.evidence event in the tender's
archive and a hold on the day's retention archive, and stays quiet on a clean day."""
import json
import os
import sqlite3
import time

import pytest

import harness
from daemons import Site, wait_for

TODAY = time.strftime("%Y-%m-%d")
DESK = "desk-entrance"
IDS = {"xp-a": "11010519491231002X", "xp-b": "110105194912310038", "rep-c": "320102198001010016"}
# Small limits so that a test sees each rule within seconds.
LIMITS = ("[warnings]\nbreaks_max=2\nbreak_max_s=4\nsync_window_s=2\nsync_min=3\n"
          "vacant_grace_s=3\ntime_zone=+00:00\n")
# Check-in to entry: generous where the machine's load must not matter, short where the
# test waits on purpose.
ENTRY_EASY = "entry_max_s=60\n"


def hours_around_now():
    """[warnings] hours that hold the present moment (UTC)."""
    return "hours=00:00-24:00\n" + ENTRY_EASY


def hours_not_now():
    """[warnings] hours of one minute six hours away (UTC)."""
    t = time.gmtime(time.time() + 6 * 3600)
    return "hours=%02d:00-%02d:01\n" % (t.tm_hour, t.tm_hour)


def ok(site, *args, identity=None):
    rc, out, err = site.ctl(*args, identity=identity)
    assert rc == 0, (args, out, err)
    return out


def warnings(site):
    rc, out, err = site.ctl("alerts")
    assert rc == 0, (out, err)
    alerts = out["alerts"] if isinstance(out, dict) else out
    return [a for a in alerts if a["kind"].startswith("warn_")]


def arrives(site, kind, timeout=20, **subject):
    def find():
        for a in warnings(site):
            if a["kind"] == kind and all(a.get(k) == v for k, v in subject.items()):
                return a
        return None
    a = wait_for(find, timeout, 0.3)
    assert a, "warning %s %s never arrived; have %s" % (
        kind, subject, [(x["kind"], x.get("person"), x.get("room")) for x in warnings(site)])
    return a


def day(site, tmp_path, limits):
    """A site with rooms E1, E2 (doors), one tender of two experts drawn into different
    rooms, both checked in; returns {person: check-in answer} and the terminals."""
    site.start_controller("admission_window_s=60\n" + limits)
    for room in ("E1", "E2"):
        site.start_agent(room, door=True)
    terms = {}
    for room, seat in (("E1", "S1"), ("E1", "S2"), ("E2", "S1"), ("E2", "S2")):
        terms[(room, seat)] = site.start_terminal(room, seat)
        terms[(room, seat)].wait("screen=locked", absent="UNREACHABLE", timeout=30)
    ok(site, "site", "import", harness.EXAMPLE_SITE)
    ok(site, "session", "create", "--date", TODAY)
    ok(site, "tender", "add", "--session", TODAY, "--id", "TW", "--name", "Warnings")
    csv = tmp_path / "tw.csv"
    csv.write_text("person_id,name,id_number,role\nxp-a,Expert A,%s,expert\n"
                   "xp-b,Expert B,%s,expert\n" % (IDS["xp-a"], IDS["xp-b"]))
    ok(site, "committee", "import", "--tender", "TW", str(csv))
    c = ok(site, "draw", "commit", "--session", TODAY)["commitment"]
    assert site.witness_run(TODAY, "warnings", c)[0] == 0
    return terms


def checkin(site, pid):
    return ok(site, "desk", "checkin", "--person", pid, "--id-number", IDS[pid],
              "--screening", "passed", identity=DESK)


def enter_and_login(site, terms, a):
    site.door(a["room"]).pin(a["credential"].split(":", 1)[1])
    t = terms[(a["room"], a["seat"])]
    t.keys(a["login_code"] + "\n")
    t.wait("screen=logged_in")
    return t


def take_break(t, seconds=0.5):
    t.keys("b")
    t.wait("screen=break")
    time.sleep(seconds)
    t.keys("r")
    t.wait("screen=logged_in")


def rex(site, room):
    door = site.door(room)
    door.set("DOOR_REX", 1)
    time.sleep(0.2)  # longer than the debounce
    door.set("DOOR_REX", 0)


def archive_events(site, tender, kind):
    path = os.path.join(site.tmp, "controller-state", "archive", tender + ".evarc")
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        rows = db.execute("SELECT body FROM events WHERE kind = ?", (kind,)).fetchall()
    finally:
        db.close()
    return [json.loads(r[0]) for r in rows]


def check_evidence(site, a, tender="TW"):
    ev = a["extra"]["evidence"]
    assert ev["from_us"] <= ev["to_us"] and ev["streams"], a
    assert all(s["stream"] and s["room"] for s in ev["streams"]), a
    # one warning.evidence event per finding; a repeated alert shows the latest span
    recorded = wait_for(lambda: [e for e in archive_events(site, tender, "warning.evidence")
                                 if e["alert"] == a["id"] and e["evidence"] == ev], 10, 0.3)
    assert recorded, archive_events(site, tender, "warning.evidence")
    # the span is an evidence hold on the site's retention archives (docs/archives.md,
    # "Evidence holds"): listed for people, with the alert it came from
    rc, out, err = site.ctl("evidence", "holds")
    assert rc == 0, err
    held = [h for h in out["holds"] if h.get("alert") == a["id"]]
    assert all(h["source"] == "warning" and h["why"] == "alert %d %s" % (a["id"], a["kind"])
               for h in held), held
    assert any(h["from_us"] == ev["from_us"] and h["to_us"] >= ev["to_us"] for h in held), \
        (ev, held)
    assert not [f for f in os.listdir(os.path.join(site.tmp, "controller-state", "archive"))
                if f.endswith(".hold")]


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    yield s
    s.close()


def test_clean_day_is_quiet(site, tmp_path):
    terms = day(site, tmp_path, LIMITS + hours_around_now())
    a, b = checkin(site, "xp-a"), checkin(site, "xp-b")
    ta, tb = enter_and_login(site, terms, a), enter_and_login(site, terms, b)
    ta.keys("b")
    ta.wait("screen=break")
    rex(site, a["room"])  # A leaves the room on the break ...
    time.sleep(1)
    ta.keys("r")          # ... and is back at the seat
    ta.wait("screen=logged_in")
    time.sleep(3)
    tb.keys("h")
    time.sleep(3)
    for t in (ta, tb):
        t.keys("ly")
        t.wait("logged out")
    rex(site, a["room"])
    rex(site, b["room"])
    time.sleep(6)  # past every grace period of the limits
    assert warnings(site) == []


def test_breaks_long_break_and_synchronised_help(site, tmp_path):
    terms = day(site, tmp_path, LIMITS + hours_around_now())
    a, b = checkin(site, "xp-a"), checkin(site, "xp-b")
    ta, tb = enter_and_login(site, terms, a), enter_and_login(site, terms, b)
    assert a["room"] != b["room"]
    # repeated leave/return: three breaks where two are allowed
    for _ in range(3):
        take_break(ta, 0.3)
    w = arrives(site, "warn_breaks", person="xp-a", tender="TW")
    assert w["room"] == a["room"] and w["seat"] == a["seat"]
    check_evidence(site, w)
    streams = {s["stream"] for s in w["extra"]["evidence"]["streams"]}
    assert "cam-%s-%s" % (a["room"], a["seat"]) in streams and "cam-" + a["room"] in streams
    # an over-long break: raised by the controller's own tick while the break goes on
    tb.keys("b")
    tb.wait("screen=break")
    w = arrives(site, "warn_long_break", person="xp-b", timeout=15)
    check_evidence(site, w)
    tb.keys("r")
    tb.wait("screen=logged_in")
    # help pressed in both rooms within a second, three times
    for _ in range(3):
        ta.keys("h")
        tb.keys("h")
        time.sleep(2.5)
    w = arrives(site, "warn_synchronised", tender="TW")
    assert {w["person"], w["extra"]["person2"]} == {"xp-a", "xp-b"}, w
    check_evidence(site, w)
    rooms = {s["room"] for s in w["extra"]["evidence"]["streams"]}
    assert rooms == {a["room"], b["room"]}
    # the usual lifecycle: acknowledged, resolved by an operator
    ok(site, "alert", "ack", str(w["id"]), "--note", "reviewing the footage")
    ok(site, "alert", "resolve", str(w["id"]), "--note", "spoke to both experts")


def test_vacant_seat_and_exit_while_everybody_is_seated(site, tmp_path):
    terms = day(site, tmp_path, LIMITS + hours_around_now())
    a, b = checkin(site, "xp-a"), checkin(site, "xp-b")
    enter_and_login(site, terms, a)
    enter_and_login(site, terms, b)
    # a login attempt at the empty seat of A's room, and nobody logs in there
    empty = "S2" if a["seat"] == "S1" else "S1"
    terms[(a["room"], empty)].keys("WRONG999\n")
    w = arrives(site, "warn_vacant_seat", room=a["room"], seat=empty, timeout=15)
    check_evidence(site, w)
    assert {s["stream"] for s in w["extra"]["evidence"]["streams"]} >= {
        "cam-%s-%s" % (a["room"], empty)}
    # the door of B's room opened from inside while B sits logged in
    rex(site, b["room"])
    w = arrives(site, "warn_inside_exit", room=b["room"])
    check_evidence(site, w)


def test_off_hours_and_late_entry(site, tmp_path):
    terms = day(site, tmp_path, LIMITS + hours_not_now() + "entry_max_s=3\n")
    a = checkin(site, "xp-a")
    w = arrives(site, "warn_off_hours", person="xp-a")
    assert "outside the day's hours" in w["detail"]
    check_evidence(site, w)
    b = checkin(site, "xp-b")
    time.sleep(4.5)  # entry_max_s is 3
    site.door(b["room"]).pin(b["credential"].split(":", 1)[1])
    w = arrives(site, "warn_entry_late", person="xp-b")
    ev = w["extra"]["evidence"]
    assert ev["to_us"] - ev["from_us"] >= 3_000_000
    check_evidence(site, w)


def test_bad_warning_limits_refused(site, tmp_path):
    with pytest.raises(RuntimeError):
        site.start_controller("[warnings]\nhours=18:00-08:00\n")
    assert "[warnings] hours" in site.daemons["controller"].log()


def resident_id(n):
    """A valid 18-digit resident identity number (GB 11643 check digit), distinct per N."""
    body = "11010519700101%03d" % n
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(d) * k for d, k in zip(body, w)) % 11]


def test_affinity_across_sessions(site, tmp_path):
    """The same expert on committees of one tenderer in three earlier sessions out of
    eighteen tenders: warned when the fourth arrives; the other expert stays quiet."""
    site.start_controller("[warnings]\naffinity_min=3\naffinity_p_ppm=20000\n")
    ok(site, "site", "import", harness.EXAMPLE_SITE)
    ids = {"xp-a": IDS["xp-a"], "xp-b": IDS["xp-b"]}
    n = 0

    def committee(tender, people):
        csv = tmp_path / ("%s.csv" % tender)
        csv.write_text("person_id,name,id_number,role\n" + "".join(
            "%s,Expert %s,%s,expert\n" % (p, p, ids[p]) for p in people))
        ok(site, "committee", "import", "--tender", tender, str(csv))

    for s in range(1, 4):
        sid = "H%d" % s
        ok(site, "session", "create", "--date", "2026-01-0%d" % s, "--id", sid)
        ok(site, "tender", "add", "--session", sid, "--id", sid + "-ACME", "--name", "Works",
           "--tenderer", "ACME Roads", "--agency", "Agency %d" % s)
        committee(sid + "-ACME", ["xp-a"])
        for m in range(1, 6):
            n += 1
            pid = "bg-%d" % n
            ids[pid] = resident_id(n)
            people = [pid] + (["xp-b"] if (s, m) == (1, 1) else [])
            tid = "%s-O%d" % (sid, m)
            ok(site, "tender", "add", "--session", sid, "--id", tid, "--name", "Other",
               "--tenderer", "Other %d" % m, "--agency", "Agency %d" % m)
            committee(tid, people)
    assert not [a for a in warnings(site) if a["kind"] == "warn_affinity"]
    ok(site, "session", "create", "--date", TODAY)
    out = ok(site, "tender", "add", "--session", TODAY, "--id", "T-NOW", "--name", "Bridge",
             "--tenderer", "ACME Roads")
    assert out["tenderer"] == "ACME Roads"
    committee("T-NOW", ["xp-a", "xp-b"])
    w = arrives(site, "warn_affinity", person="xp-a", tender="T-NOW")
    assert w["extra"]["earlier_tenders"] == ["H1-ACME", "H2-ACME", "H3-ACME"], w
    assert w["extra"]["party"] == "tenderer" and w["extra"]["value"] == "ACME Roads"
    assert "ACME Roads" in w["detail"]
    time.sleep(1)
    assert [a["person"] for a in warnings(site) if a["kind"] == "warn_affinity"] == ["xp-a"]
    recorded = archive_events(site, "T-NOW", "warning.evidence")
    assert [e["earlier_tenders"] for e in recorded if e["alert"] == w["id"]] == [
        ["H1-ACME", "H2-ACME", "H3-ACME"]]
    # a bad party name is refused and changes nothing
    rc, _, err = site.ctl("tender", "add", "--session", TODAY, "--id", "T-BAD", "--name", "x",
                          "--tenderer", "ACME\nRoads")
    assert rc != 0 and "tenderer" in err
    rc, _, _ = site.ctl("tender", "add", "--session", TODAY, "--id", "T-BAD", "--name", "x")
    assert rc == 0
