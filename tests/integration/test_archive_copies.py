"""Verified copies of the sealed archives (issue 20, item 4), with the real broker and
controller: a sealed archive is copied to every configured backup store and read back
before it counts;
- a store that fills up (a 64 KiB tmpfs) raises archive_copy_failed at once, naming the
  store and the cause, and archive_copies_missing once [copies] due_s has passed; both
  resolve by themselves when the store has room again and the copy is verified;
- a store whose copy no longer reads back intact (bytes changed under it) raises
  archive_copy_bad at the next re-verification; the copy is made again and the alert
  resolves;
- `evalroomctl archives` shows the verified copies of each sealed archive, and the custody
  log has a line for each verified copy and each bad one;
- deleting the archive after its retention removes its copies from the stores."""
import hashlib
import json
import os
import subprocess

import pytest

import harness
from daemons import Site, wait_for

DAY = "2030-05-08"


@pytest.fixture
def small_store(tmpfs):
    return tmpfs("store-small", "64k")


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    yield s
    s.close()


def ok(site, *args, **kw):
    rc, out, err = site.ctl(*args, **kw)
    assert rc == 0, (args, out, err)
    return out


def alerts(site, kind, state=None):
    out = ok(site, "alerts")["alerts"]
    return [a for a in out if a["kind"] == kind and
            (state is None or (a["state"] == "resolved") == (state == "resolved"))]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def listed(site, name):
    return {a["name"]: a for a in ok(site, "archives")["archives"]}[name]


def custody(site):
    with open(os.path.join(site.tmp, "controller-state", "custody.log")) as f:
        return [json.loads(line) for line in f]


def test_copies_verified_and_alerted(site, small_store, tmp_path):
    good = str(tmp_path / "store-good")
    site.start_controller(extra="checkpoint_interval_s=1\n\n[copies]\nstores=%s;%s\n"
                                "due_s=2\ncheck_s=1\nreverify_s=3\nverify_mb_per_s=0\n"
                                "\n[custody]\nretention_days=0\n" % (good, small_store))
    ok(site, "site", "import", harness.EXAMPLE_SITE)
    ok(site, "session", "create", "--date", DAY)
    ok(site, "tender", "add", "--session", DAY, "--id", "TR", "--name", "Copies")
    ok(site, "committee", "import", "--tender", "TR", str(write_committee(tmp_path)))
    ok(site, "tender", "close", "TR", "--wait", "0", timeout=90)
    archive = os.path.join(site.tmp, "controller-state", "archive", "TR.evarc")
    assert os.path.getsize(archive) > 64 * 1024, "the archive must not fit the small store"

    # The good store: a verified copy, byte for byte.
    copy = os.path.join(good, "TR.evarc")
    assert wait_for(lambda: os.path.exists(copy) and sha256(copy) == sha256(archive), 20)
    assert wait_for(lambda: listed(site, "TR").get("copies") == 1, 10), listed(site, "TR")
    assert listed(site, "TR")["copies_wanted"] == 2

    # The small store fills up: its alert at once, then too few copies after due_s.
    failed = wait_for(lambda: alerts(site, "archive_copy_failed", "open"), 20)
    assert failed, "no archive_copy_failed"
    assert small_store in failed[0]["detail"] and "space" in failed[0]["detail"], failed
    assert failed[0]["tender"] == "TR"
    missing = wait_for(lambda: alerts(site, "archive_copies_missing", "open"), 20)
    assert missing and "1 of 2" in missing[0]["detail"], missing
    assert not [n for n in os.listdir(small_store) if not n.startswith(".")]
    rc, text, _ = site.ctl("archives", json_out=False)
    assert rc == 0 and "1/2" in text, text

    # The good store's copy goes bad under it: the re-verification finds it, the copy is
    # made again and verified, and the alert resolves.
    os.chmod(copy, 0o600)
    with open(copy, "r+b") as f:
        f.seek(4096)
        b = f.read(1)
        f.seek(4096)
        f.write(bytes([b[0] ^ 0xFF]))
    bad = wait_for(lambda: alerts(site, "archive_copy_bad"), 20)
    assert bad and good in bad[0]["detail"] and "read back" in bad[0]["detail"], bad
    assert wait_for(lambda: alerts(site, "archive_copy_bad", "resolved"), 20)
    assert sha256(copy) == sha256(archive)
    assert any(l["kind"] == "copy_bad" and l["store"] == good for l in custody(site))

    # Room in the small store again: the copy is made and verified, both alerts resolve.
    subprocess.run(["mount", "-o", "remount,size=16m", small_store], check=True)
    assert wait_for(lambda: listed(site, "TR").get("copies") == 2, 30), listed(site, "TR")
    assert sha256(os.path.join(small_store, "TR.evarc")) == sha256(archive)
    assert wait_for(lambda: alerts(site, "archive_copy_failed", "resolved") and
                    not alerts(site, "archive_copy_failed", "open"), 10)
    assert wait_for(lambda: alerts(site, "archive_copies_missing", "resolved") and
                    not alerts(site, "archive_copies_missing", "open"), 10)
    copies = [l for l in custody(site) if l["kind"] == "copy"]
    assert {l["store"] for l in copies} == {good, small_store}
    assert all(l["sha256"] == sha256(archive) for l in copies)

    # Deleted after its retention (0 days on this site): its copies go from both stores.
    auditor = "auditor-" + site.prov.site["auditors"][0]
    ok(site, "archive", "delete", "TR", "--reason", "retention over", identity=auditor)
    assert wait_for(lambda: not os.path.exists(copy) and
                    not os.path.exists(os.path.join(small_store, "TR.evarc")), 20)
    assert wait_for(lambda: {l["store"] for l in custody(site)
                             if l["kind"] == "copy_removed"} == {good, small_store}, 10)
    assert site.schema_problems() == []


def write_committee(tmp_path):
    p = tmp_path / "committee.csv"
    p.write_text("person_id,name,id_number,role\nxp-li,Li Na,110105198001010024,expert\n")
    return p
