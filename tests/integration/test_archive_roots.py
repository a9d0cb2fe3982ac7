"""Roots published as they are made (issue 20, item 2), with the real broker and controller:
every checkpoint a tender archive receives goes into the site's root log (state_dir/
roots.log: a hash chain with a signature per line) and, retained, onto controller/roots;
`evalroom-archive verify --roots LOG` then shows that an archive is not behind, or forked
from, what was published, which the file alone cannot show:
- an open archive truncated together with its newest checkpoint verifies on its own, and
  is named as behind the published root;
- a log that published another root for the same size names the file as forked;
- a root log with an altered or removed line is refused, naming the line;
- the sealed archive is consistent with every root published for it, and each log line
  checks with the openssl command line alone."""
import base64
import json
import os
import shutil
import sqlite3
import subprocess

import pytest

import harness
from daemons import Site, wait_for

DAY = "2030-05-06"
TENDER = "TR"


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    yield s
    s.close()


def ok(site, *args):
    rc, out, err = site.ctl(*args)
    assert rc == 0, (args, out, err)
    return out


def log_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [line.rstrip("\n").split(" ") for line in f]


def tender_lines(path):
    return [f for f in log_lines(path) if f[2] == TENDER]


def verify(bin_dir, *args):
    r = subprocess.run([os.path.join(bin_dir, "evalroom-archive"), "verify", *args],
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def signed_message(fields):
    return "evalroom-roots v1\n" + " ".join(fields[:6]) + "\n"


def snapshot(src, dst):
    """A consistent copy of an open archive (SQLite's backup API, as a backup tool would)."""
    a = sqlite3.connect("file:%s?mode=ro" % src, uri=True)
    b = sqlite3.connect(dst)
    with b:
        a.backup(b)
    a.close()
    b.close()


def test_roots_published_and_checked(site, bin_dir, tmp_path):
    site.start_controller(extra="checkpoint_interval_s=1\n")
    roots = os.path.join(site.tmp, "controller-state", "roots.log")
    adir = os.path.join(site.tmp, "controller-state", "archive")
    archive = os.path.join(adir, TENDER + ".evarc")
    ok(site, "site", "import", harness.EXAMPLE_SITE)
    ok(site, "session", "create", "--date", DAY)
    ok(site, "tender", "add", "--session", DAY, "--id", TENDER, "--name", "Roots")
    assert wait_for(lambda: len(tender_lines(roots)) >= 1, 10), log_lines(roots)

    # The retained message on controller/roots carries the log's line, as an operator reads it.
    op = site.client("operator-alice")
    op.subscribe(harness.topic("controller", "roots"))
    got = wait_for(lambda: op.messages_on(harness.topic("controller", "roots")), 5)
    assert got, "nothing retained on controller/roots"
    m = json.loads(got[-1])
    assert m["kind"] == "roots.checkpoint" and m["line"].split(" ")[2] == m["tender"]
    op.close()

    # Another record, another checkpoint: a copy now holds two checkpoints, the newest
    # covering everything.
    first = tender_lines(roots)[-1]
    ok(site, "tender", "add", "--session", DAY, "--id", "TS", "--name", "Other")
    ok(site, "committee", "import", "--tender", TENDER,
       str(write_committee(tmp_path)))
    assert wait_for(lambda: int(tender_lines(roots)[-1][3]) > int(first[3]), 10)
    copy = str(tmp_path / "copy.evarc")
    assert wait_for(lambda: snapshot(archive, copy) or
                    int(tender_lines(roots)[-1][3]) == leaves(copy), 10)

    # The attack: the newest records and the checkpoint over them cut off. On its own the
    # file verifies (an open tender, every remaining record signed)...
    cut = int(first[3])
    db = sqlite3.connect(copy)
    with db:
        db.execute("DELETE FROM checkpoints WHERE tree_size > ?", (cut,))
        db.execute("DELETE FROM events WHERE leaf >= ?", (cut,))
    db.execute("VACUUM")
    db.close()
    pub = site.prov.signing_key.replace(".key", ".pub")
    rc, out = verify(bin_dir, copy, "--pubkey", pub)
    assert rc == 0 and "NOT sealed" in out, out
    # ... but not against what was published.
    rc, out = verify(bin_dir, copy, "--pubkey", pub, "--roots", roots)
    assert rc == 1 and "behind what was published" in out, out

    # A log that published another root for the same size: the file is named as forked.
    key = site.prov.signing_key
    forged_fields = list(first[:6])
    forged_fields[4] = "ab" * 32
    msg = signed_message(forged_fields)
    (tmp_path / "forged-msg").write_text(msg)
    sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", key, "-in",
                          str(tmp_path / "forged-msg")], capture_output=True, check=True).stdout
    forged = tmp_path / "forged.log"
    forged.write_text(" ".join(forged_fields) + " " + base64.b64encode(sig).decode() + "\n")
    rc, out = verify(bin_dir, copy, "--pubkey", pub, "--roots", str(forged))
    assert rc == 1 and "forked from what was published" in out, out

    # An altered line, and a removed line, in the root log itself.
    lines = open(roots).read().splitlines(keepends=True)
    assert len(lines) >= 2
    altered = tmp_path / "altered.log"
    f = lines[0].split(" ")
    f[3] = str(int(f[3]) + 1)
    altered.write_text(" ".join(f) + "".join(lines[1:]))
    rc, out = verify(bin_dir, archive, "--pubkey", pub, "--roots", str(altered))
    assert rc == 1 and "line 0" in out and "signature" in out, out
    removed = tmp_path / "removed.log"
    removed.write_text("".join(lines[1:]))
    rc, out = verify(bin_dir, archive, "--pubkey", pub, "--roots", str(removed))
    assert rc == 1 and "line 0" in out and "was due" in out, out

    # Sealed: the final checkpoint is published too, and everything is consistent.
    rc, out, err = site.ctl("tender", "close", TENDER, "--wait", "2", timeout=90)
    assert rc == 0, (out, err)
    assert wait_for(lambda: int(tender_lines(roots)[-1][3]) == leaves(archive), 10)
    rc, out = verify(bin_dir, archive, "--pubkey", pub, "--roots", roots)
    assert rc == 0 and "roots: consistent" in out, out

    # Each line checks with openssl alone (docs/archive-format.md, "The root log").
    last = tender_lines(roots)[-1]
    (tmp_path / "msg").write_text(signed_message(last))
    (tmp_path / "sig").write_bytes(base64.b64decode(last[6]))
    r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin",
                        "-in", str(tmp_path / "msg"), "-sigfile", str(tmp_path / "sig")],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "Signature Verified Successfully" in r.stdout, r
    assert site.schema_problems() == []


def leaves(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return db.execute("SELECT max(tree_size) FROM checkpoints").fetchone()[0] or 0
    except sqlite3.OperationalError:
        return -1
    finally:
        db.close()


def write_committee(tmp_path):
    p = tmp_path / "committee.csv"
    p.write_text("person_id,name,id_number,role\nxp-li,Li Na,110105198001010024,expert\n")
    return p
