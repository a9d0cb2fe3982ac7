"""Issue 18, SM2 on the witness log (docs/witness.md "SM2 signing keys",
docs/archive-format.md "The witness log and its signatures"): a site that sets
"witness_signing" gets SM2 (with SM3) signing certificates for its witness, supervisor and
tenderer's representative from `evalroomctl provision` ("sm2": instead of Ed25519, "both":
beside it); `evalroomctl witness sign` signs with every key the identity holds; the
controller checks each and appends it to the sealed archive; `evalroom-archive verify`
counts SM2 signatures like Ed25519 ones ("witness log signed by 3 of 3") and names an
invalid one; each SM2 signature checks with the openssl lines of the docs alone. Refused:
an SM2 signature by another key, an SM2 signature of another hash."""
import base64
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time

import pytest

import harness
import watchers
from daemons import Site
from test_witness_log import ok, raw_call, verify

TODAY = time.strftime("%Y-%m-%d")
TENDER = "TS"
SM2_ID = "distid:1234567812345678"
SIGNERS = (watchers.WITNESS, watchers.SUPERVISOR, watchers.REP)


def site_dict(signing):
    s = watchers.site_dict()
    s["witness_signing"] = signing
    return s


def openssl(*args):
    return subprocess.run(["openssl"] + [str(a) for a in args], capture_output=True)


def test_provision_sm2_only(bin_dir, tmp_path):
    prov = harness.provision(bin_dir, str(tmp_path / "site"), site=site_dict("sm2"))
    for cn in SIGNERS:
        crt, key = prov.sm2_signing(cn)
        text = openssl("x509", "-in", crt, "-noout", "-text").stdout.decode()
        assert "SM2" in text and "CN = %s" % cn in text, text
        assert openssl("verify", "-CAfile", prov.ca, crt).returncode == 0
        assert oct(os.stat(key).st_mode & 0o777) == "0o600"
        assert not os.path.exists(prov.signing(cn)[0])  # no Ed25519 key on an "sm2" site
    assert not os.path.exists(prov.sm2_signing("operator-alice")[0])
    # a site that asks for something else is refused, nothing written
    bad = harness.provision(bin_dir, str(tmp_path / "bad"), site=site_dict("rsa"),
                            check=False)
    assert bad.returncode != 0
    assert 'witness_signing: expected "ed25519", "sm2" or "both"' in bad.stderr, bad.stderr


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path, site=site_dict("both"))
    s.start_controller()
    yield s
    s.close()


def sm2_sign(key, tender, sha, d):
    """An SM2 signature (base64) of the witness log message, made by the openssl CLI."""
    (d / "m").write_bytes(("evalroom witness log v1\n%s\n%s\n" % (tender, sha)).encode())
    p = openssl("pkeyutl", "-sign", "-inkey", key, "-rawin", "-digest", "sm3", "-pkeyopt",
                SM2_ID, "-in", d / "m", "-out", d / "s")
    assert p.returncode == 0, p.stderr
    return base64.b64encode((d / "s").read_bytes()).decode()


def test_witness_log_signed_with_sm2(site, tmp_path):
    path = tmp_path / "site.json"
    path.write_text(json.dumps(site_dict("both")))
    ok(site, "site", "import", str(path))
    ok(site, "session", "create", "--date", TODAY)
    ok(site, "tender", "add", "--session", TODAY, "--id", TENDER, "--name", "Bridge")
    csv = tmp_path / "ts.csv"
    csv.write_text("person_id,name,id_number,role\nxp-wang,Wang Li,11010519491231002X,"
                   "expert\n")
    ok(site, "committee", "import", "--tender", TENDER, str(csv))
    c = ok(site, "draw", "commit", "--session", TODAY)["commitment"]
    assert site.witness_run(TODAY, "grey crane 4410", c)[0] == 0
    rc, out, err = site.ctl("tender", "close", TENDER, "--wait", "1", timeout=90)
    assert rc == 0, (out, err)
    archive = out["path"]
    sha = ok(site, "witness", "log", "--tender", TENDER, identity=watchers.WITNESS)["sha256"]
    # without --json too, the file written holds the log's exact bytes (the ones signed),
    # and the log printed keeps its lines
    md = tmp_path / "log.md"
    rc, out, err = site.ctl("witness", "log", "--tender", TENDER, "--out", str(md),
                            identity=watchers.WITNESS, json_out=False)
    assert rc == 0 and "SHA-256 " + sha in out, (out, err)
    assert hashlib.sha256(md.read_bytes()).hexdigest() == sha
    rc, out, err = site.ctl("witness", "log", "--tender", TENDER, identity=watchers.WITNESS,
                            json_out=False)
    assert rc == 0 and out == md.read_text(), (out, err)

    # refusals, nothing stored: another key's SM2 signature, an SM2 signature of another hash
    cert = open(site.prov.sm2_signing(watchers.WITNESS)[0]).read()
    d = tmp_path / "raw"
    d.mkdir()
    theirs = sm2_sign(site.prov.sm2_signing(watchers.REP)[1], TENDER, sha, d)
    r = raw_call(site, watchers.WITNESS, "witness.sign", {
        "tender": TENDER, "sha256": sha, "signature": theirs, "certificate": cert},
        "wrong-key")
    assert not r["ok"] and "does not match" in r["error"]["message"], r
    other = sm2_sign(site.prov.sm2_signing(watchers.WITNESS)[1], TENDER, "1" * 64, d)
    r = raw_call(site, watchers.WITNESS, "witness.sign", {
        "tender": TENDER, "sha256": sha, "signature": other, "certificate": cert},
        "other-hash")
    assert not r["ok"] and "does not match" in r["error"]["message"], r
    rc, text = verify(site, archive)
    assert "witness log signed by 0 of 3" in text, text

    # each party signs once: with both its keys (the site asks for both)
    for cn in SIGNERS:
        rc, out, err = site.ctl("witness", "sign", "--tender", TENDER, identity=cn,
                                json_out=False)
        assert rc == 0, (out, err)
        assert "with its Ed25519 key" in out and "with its SM2 (SM3) key" in out, out
    rc, text = verify(site, archive)
    assert rc == 0 and "witness log signed by 3 of 3" in text, text
    assert "INVALID" not in text

    db = sqlite3.connect("file:%s?mode=ro" % archive, uri=True)
    rows = db.execute("SELECT identity, log_sha256, certificate, signature FROM "
                      "witness_signatures ORDER BY id").fetchall()
    db.close()
    assert [r[0] for r in rows] == [cn for cn in SIGNERS for _ in range(2)], rows
    sm2_rows = [r for r in rows if len(base64.b64decode(r[3])) != 64]
    assert [r[0] for r in sm2_rows] == list(SIGNERS)

    # the openssl lines of docs/archive-format.md, on each SM2 signature alone
    for identity, h, pem, sig in sm2_rows:
        d = tmp_path / identity
        d.mkdir()
        (d / "signer.crt").write_text(pem)
        (d / "sig.bin").write_bytes(base64.b64decode(sig))
        (d / "msg").write_bytes(("evalroom witness log v1\n%s\n%s\n" % (TENDER, h)).encode())
        assert openssl("verify", "-CAfile", site.prov.ca, d / "signer.crt").returncode == 0
        p = openssl("x509", "-in", d / "signer.crt", "-noout", "-pubkey")
        (d / "signer.pub").write_bytes(p.stdout)
        p = openssl("pkeyutl", "-verify", "-pubin", "-inkey", d / "signer.pub", "-rawin",
                    "-digest", "sm3", "-pkeyopt", SM2_ID, "-in", d / "msg", "-sigfile",
                    d / "sig.bin")
        assert p.returncode == 0 and b"Signature Verified Successfully" in p.stdout, p
    (d / "msg").write_bytes(b"evalroom witness log v1\nTS\n" + b"1" * 64 + b"\n")
    p = openssl("pkeyutl", "-verify", "-pubin", "-inkey", d / "signer.pub", "-rawin",
                "-digest", "sm3", "-pkeyopt", SM2_ID, "-in", d / "msg", "-sigfile",
                d / "sig.bin")
    assert p.returncode != 0

    # SM2 signatures alone make the count: a copy without the Ed25519 rows says 3 of 3;
    # a forged SM2 row is named
    copy = str(tmp_path / "copy.evarc")
    shutil.copy(archive, copy)
    os.chmod(copy, 0o644)
    db = sqlite3.connect(copy)
    for identity, _, _, sig in rows:
        if len(base64.b64decode(sig)) == 64:
            db.execute("DELETE FROM witness_signatures WHERE signature = ?", (sig,))
    db.commit()
    db.close()
    rc, text = verify(site, copy)
    assert rc == 0 and "witness log signed by 3 of 3" in text, text
    db = sqlite3.connect(copy)
    db.execute("UPDATE witness_signatures SET signature = ? WHERE identity = ?",
               (sm2_sign(site.prov.sm2_signing(watchers.WITNESS)[1], TENDER, sha, d),
                watchers.SUPERVISOR))
    db.commit()
    db.close()
    rc, text = verify(site, copy)
    assert "witness log signed by 2 of 3" in text, text
    assert "INVALID: invalid signature of %s" % watchers.SUPERVISOR in text, text
    assert site.schema_problems() == []
