"""One evidence-hold mechanism for the site's recordings (issue 20, docs/archives.md
"Evidence holds"): every hold on a retention archive (a witness note's evidence span, a
behaviour warning's, a seat's recording before its person's check-in, the seat map's sealed
time) is a row of state.db's evidence_hold; the retention sweep consults only that table;
`evalroomctl evidence holds` lists them and `evidence release` ends one (auditors and
supervisors, a reason required, audited). Hold files of earlier versions
(site-YYYY-MM-DD.hold beside the day's archive) are imported once at start, so nothing they
held is let go.

The holds a real warning, check-in or seal release makes are checked where those flows are
driven (test_warnings.py, test_seat_media_seal.py; a witness note's in
test_witness_roles.py, which also sees it keep an old day and a release let it go): they
concern today, which no retention period has passed yet. Here the same kinds of hold, as
the earlier versions wrote them for days long past, keep those days and let them go once
released."""
import os
import shutil

import pytest

from daemons import Site

DAY_US = 86400 * 10**6
D1 = 1577836800 * 10**6  # 2020-01-01T00:00:00Z
H = 3600 * 10**6

# The lines earlier versions wrote (controller/daemon/retention_hold.c before this change):
# a behaviour warning's, a seat's recording before check-in, the seal's release.
FILES = {
    "2020-01-01": "alert 7 warn_breaks %d %d\n" % (D1 + H, D1 + 2 * H),
    "2020-01-02": "checkin TA xp-a %d %d\n" % (D1 + DAY_US + 8 * H, D1 + DAY_US + 9 * H),
    "2020-01-03": "release 2020-01-03 TB %d %d\n" % (D1 + 2 * DAY_US + 7 * H,
                                                    D1 + 2 * DAY_US + 10 * H),
    "2020-01-04": "this line is not one of ours\n",
}
FREE = "2020-01-05"


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    yield s
    s.close()


def auditor(site):
    return "auditor-" + site.prov.site["auditors"][0]


def holds(site, *extra):
    rc, out, err = site.ctl("evidence", "holds", *extra)
    assert rc == 0, (out, err)
    return out["holds"]


def test_old_hold_files_imported_once_keep_their_days_until_released(site):
    adir = os.path.join(site.tmp, "controller-state", "archive")
    os.makedirs(adir, mode=0o700)
    day_file = {}
    for day in list(FILES) + [FREE]:
        day_file[day] = os.path.join(adir, "site-%s.evarc" % day)
        with open(day_file[day], "wb") as f:
            f.write(b"an old day's recordings")
    for day, text in FILES.items():
        with open(os.path.join(adir, "site-%s.hold" % day), "w") as f:
            f.write(text)
    ctl = site.start_controller(extra="retention_days=30\n")

    # Imported: each file renamed, each line a hold of its kind; the held days stay, the
    # day nothing holds goes.
    for day in FILES:
        hold_file = os.path.join(adir, "site-%s.hold" % day)
        assert not os.path.exists(hold_file), day
        assert os.path.exists(hold_file + ".imported"), day
    got = sorted(holds(site), key=lambda h: h["from_us"])  # files come in directory order
    assert [(h["source"], h["tender"], h["from_us"], h["to_us"]) for h in got] == [
        ("warning", "", D1 + H, D1 + 2 * H),
        ("checkin", "TA", D1 + DAY_US + 8 * H, D1 + DAY_US + 9 * H),
        ("draw", "TB", D1 + 2 * DAY_US + 7 * H, D1 + 2 * DAY_US + 10 * H),
        ("file", "", D1 + 3 * DAY_US, D1 + 4 * DAY_US),  # unreadable: its whole day
    ], got
    assert got[0]["alert"] == 7 and got[0]["why"] == "alert 7 warn_breaks (from " \
        "site-2020-01-01.hold)", got[0]
    assert got[3]["why"].startswith("this line is not one of ours"), got[3]
    assert all(h["author"] == "controller" and "released_at" not in h for h in got)
    for day in FILES:
        assert os.path.exists(day_file[day]), day
    assert not os.path.exists(day_file[FREE])
    assert "kept: an evidence hold covers that day" in ctl.log(this_run=True)

    # People read them too, in words.
    rc, text, err = site.ctl("evidence", "holds", json_out=False)
    assert rc == 0, err
    for words in ("behaviour warning", "before check-in", "seat map sealed", "hold file",
                  "alert 7 warn_breaks", "checkin TA xp-a"):
        assert words in text, (words, text)
    rc, text, err = site.ctl("evidence", "holds", "--help", json_out=False)
    assert rc == 0 and "retention_days" in text, (text, err)

    # Imported once: a restart imports nothing again, even a file put back as if the
    # controller had died between storing its lines and renaming it.
    again = os.path.join(adir, "site-2020-01-02.hold")
    shutil.copy(again + ".imported", again)
    ctl.restart()
    assert ctl.wait_log("connected to the broker")
    assert sorted(h["id"] for h in holds(site)) == sorted(h["id"] for h in got)
    assert not os.path.exists(again)

    # Releasing: who may, with a reason; refusals change nothing.
    checkin = got[1]["id"]
    desk = "desk-" + site.prov.site["desks"][0]
    for who in (desk, site.operator):
        rc, out, _ = site.ctl("evidence", "release", "--hold", str(checkin), "--reason", "x",
                              identity=who)
        assert rc != 0 and out["error"]["code"] == "denied", (who, out)
    rc, out, err = site.ctl("evidence", "release", "--hold", str(checkin),
                            identity=auditor(site))
    assert rc == 2 and "--reason" in err, (out, err)
    rc, out, _ = site.ctl("evidence", "release", "--hold", str(checkin), "--reason",
                          "two\nlines", identity=auditor(site))
    assert rc != 0 and out["error"]["code"] == "invalid", out
    rc, out, _ = site.ctl("evidence", "release", "--hold", "999", "--reason", "x",
                          identity=auditor(site))
    assert rc != 0 and out["error"]["code"] == "not_found", out
    assert len(holds(site)) == 4

    rc, out, err = site.ctl("evidence", "release", "--hold", str(checkin), "--reason",
                            "complaint closed", identity=auditor(site))
    assert rc == 0 and out == {"released": checkin, "by": auditor(site)}, (out, err)
    rc, out, _ = site.ctl("evidence", "release", "--hold", str(checkin), "--reason", "again",
                          identity=auditor(site))
    assert rc != 0 and out["error"]["code"] == "conflict", out
    assert sorted(h["id"] for h in holds(site)) == sorted(h["id"] for h in got
                                                          if h["id"] != checkin)
    rel = [h for h in holds(site, "--all") if h["id"] == checkin][0]
    assert rel["released_by"] == auditor(site) and rel["release_reason"] == "complaint closed"
    rc, text, _ = site.ctl("evidence", "holds", "--all", json_out=False)
    assert "complaint closed" in text, text
    rc, out, _ = site.ctl("audit")
    records = out["records"] if isinstance(out, dict) else out
    assert [r["outcome"] for r in records if r["command"] == "evidence.release"].count("ok") \
        == 1, records

    # The released day goes at the next sweep (one at start); the others stay.
    ctl.restart()
    assert ctl.wait_log("connected to the broker")
    assert not os.path.exists(day_file["2020-01-02"])
    for day in ("2020-01-01", "2020-01-03", "2020-01-04"):
        assert os.path.exists(day_file[day]), day
    assert site.schema_problems() == []
