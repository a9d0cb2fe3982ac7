"""Issue 4 items 1-3 end to end: an operator prepares a day with the real evalroomctl
against the real controller and broker (site import, session, tenders, committees, the
seat draw with a witness, a replacement, the export, the audit log), as docs/operator.md
describes, and the refusals say why and change nothing."""
import json
import os
import stat
import subprocess

import pytest

import harness
from daemons import Site, wait_for

DAY = "2026-11-26"
# Person ids use letters outside a-f, so they cannot turn up inside a hex digest.
COMMITTEE_TA = ("person_id,name,id_number,role,card\n"
                "xp-wang,\"Wang, Li\",11010519491231002X,expert,\n"
                "xp-zhou,Zhou Min,110105194912310038,expert,C77\n"
                "rp-firm,Firm Ltd,91110000600037341L,tenderer,\n")
COMMITTEE_TB = "person_id,name,id_number,role\nxp-sun,Sun Yu,310101198001010018,expert\n"


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    s.start_controller()
    yield s
    s.close()


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def ok(site, *args, **kw):
    rc, out, err = site.ctl(*args, **kw)
    assert rc == 0, (args, out, err)
    return out


def prepare(site, tmp_path):
    ok(site, "site", "import", harness.EXAMPLE_SITE)
    ok(site, "session", "create", "--date", DAY)
    ok(site, "tender", "add", "--session", DAY, "--id", "TA", "--name", "Ring road, lot 3")
    ok(site, "tender", "add", "--session", DAY, "--id", "TB", "--name", "School")
    ok(site, "committee", "import", "--tender", "TA", write(tmp_path, "ta.csv", COMMITTEE_TA))
    ok(site, "committee", "import", "--tender", "TB", write(tmp_path, "tb.csv", COMMITTEE_TB))


def test_operator_day(site, tmp_path, bin_dir):
    # Plain sentences without --json.
    rc, out, err = site.ctl("site", "import", harness.EXAMPLE_SITE, json_out=False)
    assert rc == 0, err
    assert out == "Site hq imported: 3 rooms (2 expert, 1 tenderer), 5 seats.\n"
    out = ok(site, "session", "create", "--date", DAY)
    assert out == {"session": DAY, "date": DAY, "state": "open"}
    ok(site, "tender", "add", "--session", DAY, "--id", "TA", "--name", "Ring road, lot 3")
    ok(site, "tender", "add", "--session", DAY, "--id", "TB", "--name", "School")
    rc, out, err = site.ctl("committee", "import", "--tender", "TA",
                            write(tmp_path, "ta.csv", COMMITTEE_TA), json_out=False)
    assert rc == 0, err
    assert out == ("Committee of tender TA imported: 2 experts, "
                   "1 tenderer representative.\n")
    ok(site, "committee", "import", "--tender", "TB", write(tmp_path, "tb.csv", COMMITTEE_TB))

    commit = ok(site, "draw", "commit", "--session", DAY)
    assert len(commit["commitment"]) == 64 and commit["persons"] == 4

    # An operator cannot run the draw alone: the witness does, with their own identity.
    rc, out, err = site.ctl("draw", "run", "--session", DAY, "--witness-entropy", "mine",
                            "--confirm-commitment", commit["commitment"])
    assert rc == 1 and out["error"]["code"] == "denied"
    rc, out, err = site.ctl("draw", "run", "--session", DAY, "--witness-entropy",
                            "blue heron 7731", "--confirm-commitment", commit["commitment"][:16],
                            json_out=False, identity=site.witness)
    assert rc == 0, err
    assert commit["commitment"] in out and "run by witness %s" % site.witness in out
    assert "4 people seated" in out
    assert "T1" in out and "1 of 1" in out
    for person in ("xp-wang", "xp-zhou", "xp-sun", "rp-firm"):
        assert person not in out

    # A replacement for TB arrives after the draw.
    ok(site, "committee", "import", "--tender", "TB",
       write(tmp_path, "new.csv", "person_id,name,id_number,role\nxp-new,New,12345678,expert\n"))
    rep = ok(site, "draw", "replace", "--tender", "TB", "--person", "xp-new")
    assert rep["replacement"] == 1 and "room" not in rep and "seat" not in rep

    # The seat map is sealed until check-in: nobody has checked in and the tenders are
    # open, so not even an operator or an auditor can export it.
    path = str(tmp_path / "draw.json")
    auditor = "auditor-" + site.prov.site["auditors"][0]
    for who in (site.operator, auditor):
        rc, out, err = site.ctl("draw", "export", "--session", DAY, identity=who)
        assert rc == 1 and "sealed until check-in" in out["error"]["message"], out
    # The session's tenders close (the last one releases the record).
    for t in ("TA", "TB"):
        ok(site, "tender", "close", t, "--wait", "0")
    rc, out, err = site.ctl("draw", "export", "--session", DAY, "-o", path, json_out=False)
    assert rc == 0, err
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as f:
        record = json.load(f)
    assert record["commitment"] == commit["commitment"]
    assert record["entropy"] == "blue heron 7731"
    assert len(record["assignments"]) == 4 and len(record["replacements"]) == 1
    seats = {(a["room"], a["seat"]) for a in record["assignments"]}
    seats.add((record["replacements"][0]["room"], record["replacements"][0]["seat"]))
    assert len(seats) == 5  # one person per seat, the replacement on a free one
    # The auditor's tool re-runs the exported draw and agrees.
    v = subprocess.run([os.path.join(bin_dir, "evalroom-draw-tool"), "verify-draw", path],
                       capture_output=True, text=True, timeout=30)
    assert v.returncode == 0, v.stdout + v.stderr

    # The state survives a controller restart.
    ctl = site.daemons["controller"]
    ctl.restart()
    assert wait_for(lambda: ctl.log().count("connected to the broker") >= 2)
    assert wait_for(lambda: site.ctl("status")[0] == 0)
    again = ok(site, "draw", "export", "--session", DAY)
    assert again["assignments"] == record["assignments"]

    audit = ok(site, "audit")["records"]
    commands = [r["command"] for r in audit]
    assert commands == ["site.import", "session.create", "tender.add", "tender.add",
                        "committee.import", "committee.import", "draw.commit", "draw.run",
                        "draw.run", "committee.import", "draw.replace", "draw.export",
                        "draw.export", "tender.close", "tender.close", "draw.export",
                        "draw.export"]
    assert [r["outcome"] for r in audit if r["command"] == "draw.export"] == [
        "conflict", "conflict", "ok", "ok"]
    # the operator's own attempt at the run was denied; the witness's run is in their name
    assert [(r["identity"], r["outcome"]) for r in audit if r["command"] == "draw.run"] == [
        (site.operator, "denied"), (site.witness, "ok")]
    assert all(r["identity"] == site.operator and r["outcome"] == "ok" for r in audit
               if r["command"] not in ("draw.run", "draw.export"))
    assert "11010519491231002X" not in json.dumps(audit)


def test_refusals_say_why_and_change_nothing(site, tmp_path):
    prepare(site, tmp_path)
    bad = write(tmp_path, "bad.csv", "person_id,name,id_number,role\n"
                "xp-a,A,12345678,expert\nxp-b,B,12345679,judge\n")
    rc, out, err = site.ctl("committee", "import", "--tender", "TB", bad, json_out=False)
    assert rc == 1
    assert err.strip() == ("evalroomctl: committee import: line 3: role \"judge\" is "
                           "neither expert nor tenderer")
    rc, out, err = site.ctl("committee", "import", "--tender", "TB", bad)
    assert rc == 1 and out["error"]["code"] == "invalid"

    rc, out, err = site.ctl("tender", "add", "--session", "2030-01-01", "--id", "TX",
                            "--name", "x")
    assert rc == 1 and out["error"]["code"] == "not_found"

    rc, out, err = site.witness_run(DAY, "x", "0123456789abcdef")
    assert rc == 1 and "no committed draw" in out["error"]["message"]

    # Usage faults are caught before anything is sent.
    rc, out, err = site.ctl("session", "create", json_out=False)
    assert rc == 2 and "--date is required" in err
    rc, out, err = site.ctl("committee", "import", "--tender", "TA",
                            str(tmp_path / "missing.csv"), json_out=False)
    assert rc == 2 and "missing.csv" in err

    # An auditor may read the log but not run the draw.
    auditor = "auditor-" + site.prov.site["auditors"][0]
    rc, out, err = site.ctl("draw", "commit", "--session", DAY, identity=auditor)
    assert rc == 1 and out["error"]["code"] == "denied"
    rc, out, err = site.ctl("audit", identity=auditor)
    assert rc == 0
    records = out["records"]
    # Nothing of the bad file was imported: TB still has only its first member, so the
    # draw seats exactly the four people of prepare().
    commit = ok(site, "draw", "commit", "--session", DAY)
    assert commit["persons"] == 4
    refused = [(r["command"], r["outcome"]) for r in records if r["outcome"] != "ok"]
    assert ("committee.import", "invalid") in refused
    assert ("tender.add", "not_found") in refused
    assert ("draw.commit", "denied") in refused


def test_infeasible_draw_is_refused_before_commit(site, tmp_path):
    prepare(site, tmp_path)
    # T1 has one seat: a second tenderer representative cannot be seated.
    ok(site, "committee", "import", "--tender", "TB",
       write(tmp_path, "more.csv", "person_id,name,id_number,role\nrp-two,Two Ltd,87654321,"
             "tenderer\n"))
    rc, out, err = site.ctl("draw", "commit", "--session", DAY, json_out=False)
    assert rc == 1 and "infeasible" in err
    rc, out, err = site.witness_run(DAY, "x", "0123456789abcdef")
    assert rc == 1 and "no committed draw" in out["error"]["message"]
