"""Issue 18 item 3 through the real broker and controller (docs/witness.md,
docs/archive-format.md "The witness log and its signatures"): at tender close the
controller renders the witness log from the archive into it; the witness, the supervisor
and the tenderer's representative sign its SHA-256 with their own Ed25519 keys through
`evalroomctl witness sign`; the signatures go into the sealed archive's signed appendix
without disturbing the seal; `evalroom-archive verify` reports "witness log signed by N of
3" and names the missing or invalid signer; each signature checks with the openssl CLI
alone. Refused: a desk identity signing, a forged signature, another party's key, another
party's certificate, a signature of a different hash."""
import base64
import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import time

import pytest

import harness
import watchers
from daemons import Site, wait_for

TODAY = time.strftime("%Y-%m-%d")
TENDER = "TA"


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path, site=watchers.site_dict())
    s.start_controller()
    yield s
    s.close()


def ok(site, *args, identity=None):
    rc, out, err = site.ctl(*args, identity=identity)
    assert rc == 0, (args, out, err)
    return out


def request(cid, command, args):
    now = int(time.time() * 1e6)
    return {"v": 1, "kind": "request", "seq": now, "ts": now, "id": cid,
            "expires": now + 30 * 10**6, "command": command, "args": args}


def raw_call(site, cn, command, args, cid):
    """A request published by a test client as CN; returns the parsed response."""
    c = site.client(cn, client_id="test-raw-%s-%s" % (cn, cid))
    resp = harness.topic("ctl", cn, "resp")
    c.subscribe(resp)
    try:
        c.publish(harness.topic("ctl", cn, "req"), json.dumps(request(cid, command, args)))
        got = wait_for(lambda: [json.loads(p) for p in c.messages_on(resp)
                                if json.loads(p).get("id") == cid], 10)
        assert got, "no answer to %s" % cid
        return got[0]
    finally:
        c.close()


def openssl(*args, input=None):
    return subprocess.run(["openssl"] + list(args), capture_output=True, input=input)


def sign_with(site, key_of, tender, sha, tmp_path):
    """An Ed25519 signature (base64) of the witness log message with KEY_OF's key, made by
    the openssl CLI."""
    msg = tmp_path / "msg"
    msg.write_bytes(("evalroom witness log v1\n%s\n%s\n" % (tender, sha)).encode())
    sig = tmp_path / "sig"
    p = openssl("pkeyutl", "-sign", "-inkey", site.prov.signing(key_of)[1], "-rawin",
                "-in", str(msg), "-out", str(sig))
    assert p.returncode == 0, p.stderr
    return base64.b64encode(sig.read_bytes()).decode()


def verify(site, path):
    p = subprocess.run([os.path.join(site.bin, "evalroom-archive"), "verify", "--pubkey",
                        site.prov.signing_pub, "--ca", site.prov.ca, path],
                       capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def test_witness_log_three_signatures(site, tmp_path):
    path = tmp_path / "site.json"
    path.write_text(json.dumps(watchers.site_dict()))
    ok(site, "site", "import", str(path))
    ok(site, "session", "create", "--date", TODAY)
    ok(site, "tender", "add", "--session", TODAY, "--id", TENDER, "--name", "Ring road")
    csv = tmp_path / "ta.csv"
    csv.write_text("person_id,name,id_number,role\nxp-wang,Wang Li,11010519491231002X,"
                   "expert\n")
    ok(site, "committee", "import", "--tender", TENDER, str(csv))
    c = ok(site, "draw", "commit", "--session", TODAY)["commitment"]
    assert site.witness_run(TODAY, "grey crane 4410", c)[0] == 0
    ok(site, "witness", "note", "--tender", TENDER, "--category", "reminder", "--room", "E1",
       "--text", "reminded | the desk to log the screening", identity=watchers.WITNESS)

    # before the close there is no log to sign
    rc, _, err = site.ctl("witness", "log", "--tender", TENDER, identity=watchers.WITNESS,
                          json_out=False)
    assert rc == 1 and "rendered when the tender is closed" in err
    rc, out, err = site.ctl("tender", "close", TENDER, "--wait", "1", timeout=90)
    assert rc == 0, (out, err)
    archive = out["path"]
    assert stat.S_IMODE(os.stat(archive).st_mode) == 0o400  # sealed: the controller's user only (docs/archives.md)

    md_path = tmp_path / "witness-log.md"
    log = ok(site, "witness", "log", "--tender", TENDER, "--out", str(md_path),
             identity="auditor-audit1")
    md = md_path.read_text()
    sha = hashlib.sha256(md.encode()).hexdigest()
    assert log["sha256"] == sha and log["signed"] == 0
    for label in ("# 见证记录 Witness log", "抽取承诺与见证 Draw commitment and witness",
                  "见证人记录 Witness notes (1)", "reminded \\| the desk", "告警 Alerts",
                  "陪同进入 Escorted entries", "draw.commit", "draw.run", "签署 Signatures"):
        assert label in md, label
    rc, text = verify(site, archive)
    assert rc == 0 and "witness log signed by 0 of 3" in text, text

    # refusals: nothing stored
    other = "0" * 64
    rc, _, err = site.ctl("witness", "sign", "--tender", TENDER, "--sha256", other,
                          identity=watchers.WITNESS, json_out=False)
    assert rc == 1 and "the signature is for a witness log with SHA-256 " + other in err, err
    cert = open(site.prov.signing(watchers.WITNESS)[0]).read()
    good = sign_with(site, watchers.WITNESS, TENDER, sha, tmp_path)
    desk = raw_call(site, "desk-entrance", "witness.sign",
                    {"tender": TENDER, "sha256": sha, "signature": good,
                     "certificate": cert}, "desk-sign")
    assert not desk["ok"] and desk["error"]["code"] == "denied"
    assert "may not run" in desk["error"]["message"]
    forged = raw_call(site, watchers.WITNESS, "witness.sign",
                      {"tender": TENDER, "sha256": sha,
                       "signature": base64.b64encode(os.urandom(64)).decode(),
                       "certificate": cert}, "forged")
    assert not forged["ok"] and "does not match" in forged["error"]["message"], forged
    wrong_key = raw_call(site, watchers.WITNESS, "witness.sign",
                         {"tender": TENDER, "sha256": sha,
                          "signature": sign_with(site, watchers.REP, TENDER, sha, tmp_path),
                          "certificate": cert}, "wrong-key")
    assert not wrong_key["ok"] and "does not match" in wrong_key["error"]["message"]
    theirs = raw_call(site, watchers.WITNESS, "witness.sign",
                      {"tender": TENDER, "sha256": sha,
                       "signature": sign_with(site, watchers.SUPERVISOR, TENDER, sha, tmp_path),
                       "certificate": open(site.prov.signing(watchers.SUPERVISOR)[0]).read()},
                      "their-cert")
    assert not theirs["ok"] and "not the requester's" in theirs["error"]["message"], theirs
    rc, text = verify(site, archive)
    assert "witness log signed by 0 of 3" in text, text

    # the three parties sign, after the seal
    out = ok(site, "witness", "sign", "--tender", TENDER, identity=watchers.WITNESS)
    assert out["signed"] == 1 and out["party"] == "witness"
    ok(site, "witness", "sign", "--tender", TENDER, identity=watchers.SUPERVISOR)
    rc, text = verify(site, archive)
    assert rc == 0 and "witness log signed by 2 of 3" in text, text
    assert "missing: tenderer's representative (rep-*)" in text, text
    assert "OK " in text and "sealed" in text
    out = ok(site, "witness", "sign", "--tender", TENDER, identity=watchers.REP)
    assert out["signed"] == 3
    rc, text = verify(site, archive)
    assert rc == 0 and "witness log signed by 3 of 3" in text, text
    assert "missing" not in text and "INVALID" not in text
    assert stat.S_IMODE(os.stat(archive).st_mode) == 0o400

    # each signature checks with the openssl CLI alone (docs/archive-format.md)
    db = sqlite3.connect("file:%s?mode=ro" % archive, uri=True)
    rows = db.execute("SELECT identity, log_sha256, certificate, signature FROM "
                      "witness_signatures ORDER BY id").fetchall()
    stored = db.execute("SELECT body FROM events WHERE kind = 'witness.log'").fetchone()[0]
    db.close()
    assert hashlib.sha256(json.loads(stored)["markdown"].encode()).hexdigest() == sha
    assert [r[0] for r in rows] == [watchers.WITNESS, watchers.SUPERVISOR, watchers.REP]
    for identity, h, pem, sig in rows:
        d = tmp_path / identity
        d.mkdir()
        (d / "signer.crt").write_text(pem)
        (d / "sig.bin").write_bytes(base64.b64decode(sig))
        (d / "msg").write_bytes(("evalroom witness log v1\n%s\n%s\n" % (TENDER, h)).encode())
        p = openssl("verify", "-CAfile", site.prov.ca, str(d / "signer.crt"))
        assert p.returncode == 0, p.stderr
        p = openssl("x509", "-in", str(d / "signer.crt"), "-noout", "-pubkey")
        (d / "signer.pub").write_bytes(p.stdout)
        p = openssl("pkeyutl", "-verify", "-pubin", "-inkey", str(d / "signer.pub"), "-rawin",
                    "-in", str(d / "msg"), "-sigfile", str(d / "sig.bin"))
        assert p.returncode == 0 and b"Signature Verified Successfully" in p.stdout, p
    # a changed message fails the same check
    (d / "msg").write_bytes(b"evalroom witness log v1\nTA\n" + b"1" * 64 + b"\n")
    p = openssl("pkeyutl", "-verify", "-pubin", "-inkey", str(d / "signer.pub"), "-rawin",
                "-in", str(d / "msg"), "-sigfile", str(d / "sig.bin"))
    assert p.returncode != 0

    # a signature row forged into a copy of the file is named by verify
    copy = str(tmp_path / "copy.evarc")
    shutil.copy(archive, copy)
    os.chmod(copy, 0o644)
    db = sqlite3.connect(copy)
    db.execute("UPDATE witness_signatures SET signature = ? WHERE identity = ?",
               (base64.b64encode(os.urandom(64)).decode(), watchers.SUPERVISOR))
    db.commit()
    db.close()
    rc, text = verify(site, copy)
    assert "witness log signed by 2 of 3" in text, text
    assert "INVALID: invalid signature of %s" % watchers.SUPERVISOR in text, text
    assert "missing: supervisor (the regulator's representative)" in text, text
    assert site.schema_problems() == []
