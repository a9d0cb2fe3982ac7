"""The archive disk, watched (issue 20, capacity and write failures), with the real broker,
controller and an agent recording into a small tmpfs that stands in for the archive disk:
- `status` reports the disk's free and total bytes and its write rate;
- as the disk fills, archive_disk_low and then archive_disk_full are raised, naming the
  free space;
- when it is full, the first archive write that fails raises archive_write_failed at once
  (not only a log line), and the segments wait in the agent's spool, unacknowledged;
- when space comes back, every alert resolves by itself and every segment recorded during
  the fault reaches the archive: nothing is lost."""
import glob
import os
import sqlite3

import pytest

import harness
from daemons import Site, streams_config, wait_for

ROOM = "E1"
STREAM = "cam-E1"
TMPFS_MB = 48


@pytest.fixture
def archive_disk(tmpfs):
    return tmpfs("archive-disk", "%dm" % TMPFS_MB)


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    yield s
    s.close()


def alerts_of(site, kind):
    rc, out, err = site.ctl("alerts")
    assert rc == 0, err
    return [a for a in out["alerts"] if a["kind"] == kind]


def open_alert(site, kind):
    found = [a for a in alerts_of(site, kind) if a["state"] != "resolved"]
    return found[0] if found else None


def resolved_alert(site, kind):
    found = [a for a in alerts_of(site, kind) if a["state"] == "resolved"]
    return found[0] if found else None


def disk_status(site):
    rc, out, err = site.ctl("status")
    assert rc == 0, err
    return out.get("archive_disk")


def fill_to(path, filler, free_mb):
    """Grows or shrinks FILLER so that about FREE_MB MiB stay free on PATH's disk."""
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize
    have = os.path.getsize(filler) if os.path.exists(filler) else 0
    want = max(0, have + free - free_mb * 1024 * 1024)
    with open(filler, "ab") as f:
        if want < have:
            f.truncate(want)
        else:
            try:
                f.write(b"\0" * (want - have))
            except OSError:
                pass  # ENOSPC: as full as it gets


def archived(adir):
    out = []
    for p in glob.glob(os.path.join(adir, "site-*.evarc")):
        db = sqlite3.connect("file:%s?mode=ro" % p, uri=True)
        try:
            out += [s for (s,) in db.execute("SELECT seq FROM segments WHERE stream = ?",
                                              (STREAM,))]
        except sqlite3.OperationalError as e:
            # a commit in progress; never a file without its tables (the controller
            # creates an archive under a hidden name and renames it into place)
            if "locked" not in str(e):
                raise
        finally:
            db.close()
    return sorted(out)


def test_archive_disk_fills_alerts_and_recovers(site, archive_disk):
    site.start_controller(extra="archive_dir=%s\n\n[archive_disk]\ncheck_s=1\n"
                                "low_free_percent=50\nlow_days=0\nfull_free_mb=8\n" % archive_disk)
    rc, out, err = site.ctl("site", "import", harness.EXAMPLE_SITE)
    assert rc == 0, (out, err)
    d = wait_for(lambda: disk_status(site), 5)
    assert d and d["path"] == archive_disk, d
    assert abs(d["total_bytes"] - TMPFS_MB * 1024 * 1024) < 1024 * 1024, d
    assert open_alert(site, "archive_disk_low") is None

    extra = streams_config([STREAM], segment_s=1, audio=False)
    extra = extra.replace("[recorder]\n", "[recorder]\nack_timeout_ms=1000\n", 1)
    site.start_agent(ROOM, extra=extra)
    assert wait_for(lambda: len(archived(archive_disk)) >= 2, 30)
    # The disk is being written: a rate, and the days left at that rate.
    d = wait_for(lambda: (lambda x: x if x and x["days_left"] else None)(disk_status(site)), 10)
    assert d and d["write_bytes_per_s"] > 0 and d["days_left"] > 0, d

    filler = os.path.join(archive_disk, "other-data")
    fill_to(archive_disk, filler, 20)  # under half free
    low = wait_for(lambda: open_alert(site, "archive_disk_low"), 10, 0.2)
    assert low, "no archive_disk_low"
    assert "MiB free of" in low["detail"] and archive_disk in low["detail"], low

    fill_to(archive_disk, filler, 4)  # under full_free_mb
    full = wait_for(lambda: open_alert(site, "archive_disk_full"), 10, 0.2)
    assert full and "archive writes will fail" in full["detail"], full
    assert wait_for(lambda: open_alert(site, "archive_disk_low") is None, 5), \
        "low stays open beside full"

    fill_to(archive_disk, filler, 0)  # no room at all: the next write fails
    failed = wait_for(lambda: open_alert(site, "archive_write_failed"), 30, 0.2)
    assert failed, "no archive_write_failed"
    assert "not stored" in failed["detail"], failed
    before = archived(archive_disk)

    os.unlink(filler)  # space comes back; nothing is restarted
    for kind in ("archive_disk_full", "archive_write_failed"):
        r = wait_for(lambda: resolved_alert(site, kind), 60, 0.3)
        assert r and r["resolved_by"].startswith("auto:"), (kind, r)
    assert open_alert(site, "archive_disk_low") is None

    # Every segment recorded during the fault arrives (the agent sends the unacknowledged
    # ones again): the sequence has no hole.
    def contiguous():
        seqs = archived(archive_disk)
        return len(seqs) >= len(before) + 4 and seqs == list(range(1, len(seqs) + 1))
    assert wait_for(contiguous, 60, 0.3), archived(archive_disk)
    d = disk_status(site)
    assert d["free_bytes"] > 30 * 1024 * 1024, d
    assert site.schema_problems() == []
