"""Custody of the sealed archives (issue 20, items 3 and 6), with the real broker and
controller and evalroomctl as each identity would run it:
- a new archive appears under its name only once complete (created under a hidden name and
  renamed), archive files are readable by the controller's user only (0600 open, 0400
  sealed);
- retrieval (借阅): `archive fetch` by the custodian (an auditor identity) gets the sealed file
  byte for byte, verified and checked against the published roots; a desk or an operator is
  refused; an open archive is refused; every fetch is in the custody log (`archive
  access-log`) and the audit with who, when, why, file and SHA-256; an interrupted fetch
  resumes from FILE.part, and a partial that is not the archive is discarded;
- an archive whose published root differs from its own (the root log says otherwise) is not
  handed out;
- retention and holds: deletion before the retention ends is refused, an evidence hold
  blocks it until released, a deletion leaves a signed line in the custody log that checks
  with openssl alone."""
import base64
import hashlib
import json
import os
import stat
import subprocess

import pytest

import harness
from daemons import Site, wait_for

DAY = "2030-05-07"


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    yield s
    s.close()


def ok(site, *args, **kw):
    rc, out, err = site.ctl(*args, **kw)
    assert rc == 0, (args, out, err)
    return out


def refused(site, *args, **kw):
    rc, out, err = site.ctl(*args, **kw)
    assert rc != 0, (args, out, err)
    return out["error"] if isinstance(out, dict) and "error" in out else {"message": err}


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def auditor(site):
    return "auditor-" + site.prov.site["auditors"][0]


def desk(site):
    return "desk-" + site.prov.site["desks"][0]


def custody_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def openssl_verify_line(line, pub, tmp_path):
    """A custody log line checked as docs/archives.md says, with openssl alone."""
    body = {k: v for k, v in line.items() if k != "sig"}
    msg = "evalroom-custody v1\n" + json.dumps(body, sort_keys=True, separators=(",", ":"),
                                              ensure_ascii=False) + "\n"
    (tmp_path / "line.msg").write_bytes(msg.encode())
    (tmp_path / "line.sig").write_bytes(base64.b64decode(line["sig"]))
    r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin",
                        "-in", str(tmp_path / "line.msg"), "-sigfile",
                        str(tmp_path / "line.sig")], capture_output=True, text=True)
    return r.returncode == 0 and "Signature Verified Successfully" in r.stdout


def test_archive_custody(site, bin_dir, tmp_path):
    state = os.path.join(site.tmp, "controller-state")
    adir = os.path.join(state, "archive")
    roots = os.path.join(state, "roots.log")
    custody = os.path.join(state, "custody.log")
    pub = site.prov.signing_pub
    site.start_controller(extra="checkpoint_interval_s=1\n")
    ok(site, "site", "import", harness.EXAMPLE_SITE)
    ok(site, "session", "create", "--date", DAY)
    for t in ("TR", "TS"):
        ok(site, "tender", "add", "--session", DAY, "--id", t, "--name", "Custody " + t)
    tr, ts = os.path.join(adir, "TR.evarc"), os.path.join(adir, "TS.evarc")
    assert wait_for(lambda: os.path.exists(tr) and os.path.exists(ts), 10)
    # Only complete archives under their names; the hidden name is gone once renamed.
    assert [n for n in os.listdir(adir) if n.endswith(".creating")] == []
    assert stat.S_IMODE(os.stat(ts).st_mode) == 0o600
    ok(site, "tender", "close", "TR", "--wait", "0", timeout=90)
    assert stat.S_IMODE(os.stat(tr).st_mode) == 0o400

    # Who may fetch: the custodian (auditor) only; a reason is required.
    out = tmp_path / "TR-copy.evarc"
    for who in (desk(site), site.operator):
        e = refused(site, "archive", "fetch", "TR", "--reason", "curious", "-o", str(out),
                    identity=who)
        assert e.get("code") == "denied", e
    assert not out.exists()
    rc, _, err = site.ctl("archive", "fetch", "TR", "-o", str(out), identity=auditor(site))
    assert rc == 2 and "--reason" in err, err
    # An open archive is not handed out.
    e = refused(site, "archive", "fetch", "TS", "--reason", "review", "-o", str(out),
                identity=auditor(site))
    assert e["code"] == "conflict" and "not sealed" in e["message"], e

    res = ok(site, "archive", "fetch", "TR", "--reason", "complaint 2030-17 review", "-o",
             str(out), identity=auditor(site))
    assert sha256(out) == sha256(tr) == res["sha256"] and res["bytes"] == os.path.getsize(tr)
    assert not os.path.exists(str(out) + ".part")
    r = subprocess.run([os.path.join(bin_dir, "evalroom-archive"), "verify", str(out),
                        "--pubkey", pub, "--roots", roots], capture_output=True, text=True)
    assert r.returncode == 0 and "roots: consistent" in r.stdout, r.stdout + r.stderr
    # The file already there is never overwritten.
    rc, _, err = site.ctl("archive", "fetch", "TR", "--reason", "again", "-o", str(out),
                          identity=auditor(site))
    assert rc == 2 and "exists" in err, err

    # Recorded: the access log (custodian's view), the custody log, the audit.
    log = ok(site, "archive", "access-log")["records"]
    assert len(log) == 1 and log[0]["identity"] == auditor(site), log
    assert log[0]["reason"] == "complaint 2030-17 review" and log[0]["sha256"] == res["sha256"]
    assert log[0]["file"] == "TR.evarc" and log[0]["root"] == res["root"]
    rc, text, _ = site.ctl("archive", "access-log", json_out=False)
    assert rc == 0 and "complaint 2030-17 review" in text and auditor(site) in text, text
    audit = ok(site, "audit", "--limit", "10000")["records"]
    served = [a for a in audit if a["command"] == "archive.fetch.served"]
    assert len(served) == 1 and res["sha256"] in served[0]["args"], served
    denied = [a for a in audit if a["command"] == "archive.fetch" and a["outcome"] != "ok"]
    assert {a["identity"] for a in denied} >= {desk(site), site.operator}, denied

    # An interrupted fetch resumes from what FILE.part holds.
    data = open(tr, "rb").read()
    half = tmp_path / "TR-half.evarc"
    (tmp_path / "TR-half.evarc.part").write_bytes(data[: len(data) // 2])
    (tmp_path / "TR-half.evarc.part.json").write_text(json.dumps(
        {"tender": "TR", "sha256": res["sha256"], "bytes": len(data)}))
    rc, text, err = site.ctl("archive", "fetch", "TR", "--reason", "resume", "-o", str(half),
                             "--chunk-size", "4096", identity=auditor(site), json_out=False)
    assert rc == 0 and "resuming" in err and "resumed" in text, (text, err)
    assert sha256(half) == res["sha256"]
    # A partial that is not this archive's bytes is discarded, and the next run gets it whole.
    bad = tmp_path / "TR-bad.evarc"
    (tmp_path / "TR-bad.evarc.part").write_bytes(b"\0" * (len(data) // 2))
    (tmp_path / "TR-bad.evarc.part.json").write_text(json.dumps(
        {"tender": "TR", "sha256": res["sha256"], "bytes": len(data)}))
    rc, _, err = site.ctl("archive", "fetch", "TR", "--reason", "resume", "-o", str(bad),
                          identity=auditor(site))
    assert rc != 0 and "not the archive" in err and not bad.exists(), err
    assert not (tmp_path / "TR-bad.evarc.part").exists()
    ok(site, "archive", "fetch", "TR", "--reason", "resume", "-o", str(bad),
       identity=auditor(site))
    assert sha256(bad) == res["sha256"]

    # Retention: 15 years by default from the seal; deleting before is refused.
    e = refused(site, "archive", "delete", "TR", "--reason", "space", identity=auditor(site))
    assert e["code"] == "conflict" and "retained until" in e["message"], e
    assert os.path.exists(tr)
    listed = {a["name"]: a for a in ok(site, "archives")["archives"]}
    assert listed["TR"]["retain_until_us"] > listed["TR"]["sealed_us"] + 15 * 365 * 86400e6

    # A site keeping archives 0 days (only to show deletion here): TS sealed under it.
    site.daemons["controller"].stop()
    site.start_controller(extra="checkpoint_interval_s=1\n\n[custody]\nretention_days=0\n")
    ok(site, "tender", "close", "TS", "--wait", "0", timeout=90)
    e = refused(site, "archive", "hold", "TS", "--reason", "x", identity=desk(site))
    assert e["code"] == "denied", e
    h1 = ok(site, "archive", "hold", "TS", "--reason", "court case 12",
            identity=auditor(site))["hold"]
    h2 = ok(site, "archive", "hold", "TS", "--reason", "complaint 7",
            identity=auditor(site))["hold"]
    e = refused(site, "archive", "delete", "TS", "--reason", "expired", identity=auditor(site))
    assert "evidence hold" in e["message"] and "court case 12" in e["message"], e
    e = refused(site, "archive", "release", "TS", "--reason", "done", identity=auditor(site))
    assert "name the one" in e["message"], e
    ok(site, "archive", "release", "TS", "--hold", str(h1), "--reason", "judgment final",
       identity=auditor(site))
    e = refused(site, "archive", "delete", "TS", "--reason", "expired", identity=auditor(site))
    assert "complaint 7" in e["message"], e
    ok(site, "archive", "release", "TS", "--reason", "complaint closed",
       identity=auditor(site))
    assert ok(site, "archives")["archives"][1]["holds"] == 0
    e = refused(site, "archive", "delete", "TS", "--reason", "expired", identity=desk(site))
    assert e["code"] == "denied", e
    gone = ok(site, "archive", "delete", "TS", "--reason", "retention over",
              identity=auditor(site))
    assert not os.path.exists(ts)
    e = refused(site, "archive", "fetch", "TS", "--reason", "late", "-o",
                str(tmp_path / "TS.evarc"), identity=auditor(site))
    assert e["code"] == "not_found" and "deleted" in e["message"], e

    # The custody log: a signed, chained line for each step, checkable with openssl alone.
    lines = custody_lines(custody)
    kinds = [(l["kind"], l["tender"]) for l in lines]
    assert ("retention", "TR") in kinds and ("deletion", "TS") in kinds, kinds
    deletion = lines[gone["custody_line"]]
    assert deletion["kind"] == "deletion" and deletion["identity"] == auditor(site)
    assert deletion["bytes"] == gone["bytes"] and len(deletion["root"]) == 64
    assert all(openssl_verify_line(l, pub, tmp_path) for l in lines)
    assert [l["index"] for l in lines] == list(range(len(lines)))

    # The published root differs from the file's: the root log is rewritten (validly signed
    # and chained, as someone holding the key could) to publish another final root for TR.
    site.daemons["controller"].stop()
    forge_root(roots, "TR", site.prov.signing_key, tmp_path)
    site.start_controller(extra="checkpoint_interval_s=1\n")
    e = refused(site, "archive", "fetch", "TR", "--reason", "after the forgery", "-o",
                str(tmp_path / "TR-forked.evarc"), identity=auditor(site))
    assert e["code"] == "conflict" and "forked from what was published" in e["message"], e
    assert not (tmp_path / "TR-forked.evarc").exists()
    assert len(ok(site, "archive", "access-log", "--tender", "TR")["records"]) == 4
    # After a restart, a request naming the deleted tender does not make its archive again.
    e = refused(site, "archive", "hold", "TS", "--reason", "too late", identity=auditor(site))
    assert e["code"] == "not_found" and "deleted" in e["message"], e
    assert not os.path.exists(ts)
    assert site.schema_problems() == []


def forge_root(path, tender, key, tmp_path):
    """Rewrite the root log at PATH with TENDER's last root changed, re-chained and
    re-signed line by line (docs/archive-format.md, "The root log")."""
    lines = [l.rstrip("\n").split(" ") for l in open(path)]
    last = max(i for i, f in enumerate(lines) if f[2] == tender)
    lines[last][4] = "ab" * 32
    prev = "0" * 64
    out = []
    for f in lines:
        f[5] = prev
        msg = "evalroom-roots v1\n" + " ".join(f[:6]) + "\n"
        (tmp_path / "forge.msg").write_text(msg)
        sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", key, "-in",
                              str(tmp_path / "forge.msg")], capture_output=True,
                             check=True).stdout
        f[6] = base64.b64encode(sig).decode()
        prev = hashlib.sha256(msg.encode()).hexdigest()
        out.append(" ".join(f) + "\n")
    with open(path, "w") as fh:
        fh.writelines(out)
