"""SM2 (with SM3) beside Ed25519 (docs/archive-format.md, "A second key: SM2"): a site's
second signing key signs every checkpoint too; `verify` checks both signatures; the openssl
command lines of the docs check the SM2 signature and the key line; an SM2 signature made by
the openssl command line is accepted by `verify` (the same identifier and digest); the real
controller signs with its configured second key."""
import hashlib
import os
import shutil
import sqlite3
import subprocess

import pytest

import harness
from daemons import Site

SM2_ID = "distid:1234567812345678"


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120,
                          **kw)


def sm2_pair(d, name="sm2-signing"):
    key, pub = d / f"{name}.key", d / f"{name}.pub"
    assert run(["openssl", "genpkey", "-algorithm", "SM2", "-out", key]).returncode == 0
    assert run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub]).returncode == 0
    return key, pub


@pytest.fixture
def material(tmp_path, bin_dir):
    seg = tmp_path / "seg.ts"
    seg.write_bytes(b"\x47" * 188 * 20)
    key, pub = tmp_path / "k.key", tmp_path / "k.pub"
    assert run([f"{bin_dir}/evalroom-archive-fixture", "keygen", key, pub]).returncode == 0
    key2, pub2 = sm2_pair(tmp_path)
    arc = tmp_path / "T-SM2.evarc"
    r = run([f"{bin_dir}/evalroom-archive-fixture", "build", arc, key, "--key2", key2, "--seal",
             "--tender", "T-SM2", "--checkpoint-every", "1", seg, seg])
    assert r.returncode == 0, r.stderr
    return {"arc": arc, "pub": pub, "key2": key2, "pub2": pub2, "dir": tmp_path}


@pytest.fixture
def tool(bin_dir):
    return lambda *args: run([f"{bin_dir}/evalroom-archive"] + list(args))


def copy_of(m, name="copy.evarc"):
    p = m["dir"] / name
    shutil.copyfile(m["arc"], p)
    os.chmod(p, 0o644)
    return p


def test_both_signatures_verified(material, tool):
    r = tool("verify", material["arc"], "--pubkey", material["pub"], "--pubkey2", material["pub2"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "also signed by the SM2 (SM3) key" in r.stdout and "--pubkey2" in r.stdout
    r = tool("verify", material["arc"], "--pubkey", material["pub"])
    assert r.returncode == 0 and "SM2 (SM3)" in r.stdout, r.stdout


def test_openssl_lines_of_the_docs(material, tool):
    out = material["dir"] / "cp"
    r = tool("checkpoint", material["arc"], "--export", out)
    assert r.returncode == 0 and (out / "checkpoint.sig2").exists(), r.stdout + r.stderr
    r = run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", material["pub2"], "-rawin",
             "-digest", "sm3", "-pkeyopt", SM2_ID, "-in", out / "checkpoint.txt",
             "-sigfile", out / "checkpoint.sig2"])
    assert r.returncode == 0 and "Signature Verified Successfully" in r.stdout, r.stdout + r.stderr
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", str(material["pub2"]), "-outform",
                          "DER"], capture_output=True, check=True).stdout
    assert "key2 %s\n" % hashlib.sha256(der).hexdigest() in (out / "checkpoint.txt").read_text()
    # The Ed25519 one still checks as before.
    r = run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", material["pub"], "-rawin",
             "-in", out / "checkpoint.txt", "-sigfile", out / "checkpoint.sig"])
    assert r.returncode == 0, r.stdout + r.stderr


def test_sm2_signature_made_by_openssl_is_accepted(material, tool):
    p = copy_of(material)
    db = sqlite3.connect(p)
    rows = db.execute("SELECT id, body FROM checkpoints").fetchall()
    for cid, body in rows:
        (material["dir"] / "b").write_text(body)
        r = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", str(material["key2"]),
                            "-rawin", "-digest", "sm3", "-pkeyopt", SM2_ID, "-in",
                            str(material["dir"] / "b")], capture_output=True, check=True)
        db.execute("UPDATE checkpoints SET signature2 = ? WHERE id = ?", (r.stdout, cid))
    db.commit()
    db.close()
    r = tool("verify", p, "--pubkey", material["pub"], "--pubkey2", material["pub2"])
    assert r.returncode == 0, r.stdout + r.stderr


def test_second_signature_and_key_tampering_named(material, tool):
    p = copy_of(material)
    db = sqlite3.connect(p)
    sig = db.execute("SELECT signature2 FROM checkpoints WHERE id = 2").fetchone()[0]
    db.execute("UPDATE checkpoints SET signature2 = ? WHERE id = 2",
               (sig[:-1] + bytes([sig[-1] ^ 1]),))
    db.commit()
    db.close()
    r = tool("verify", p, "--pubkey", material["pub"])
    assert r.returncode == 1 and "checkpoints row 2: second signature (SM2) invalid" in r.stdout, \
        r.stdout
    p = copy_of(material, "nokey.evarc")
    db = sqlite3.connect(p)
    db.execute("UPDATE meta SET signing_pubkey2 = NULL")
    db.commit()
    db.close()
    r = tool("verify", p, "--pubkey", material["pub"])
    assert r.returncode == 1 and "another second key than meta.signing_pubkey2" in r.stdout, \
        r.stdout
    _, other = sm2_pair(material["dir"], "other")
    r = tool("verify", material["arc"], "--pubkey", material["pub"], "--pubkey2", other)
    assert r.returncode == 1 and "another second key than the one given with --pubkey2" \
        in r.stdout, r.stdout
    r = tool("verify", material["arc"], "--pubkey", material["pub"], "--pubkey2",
             material["dir"] / "seg.ts")
    assert r.returncode == 2 and "not a readable SM2 or Ed25519 public key" in r.stderr


def test_controller_signs_with_its_sm2_key(bin_dir, tmp_path, tool):
    site = Site(bin_dir, tmp_path)
    try:
        key2, pub2 = sm2_pair(tmp_path)
        site.start_controller(extra="second_signing_key=%s\n" % key2)
        for cmd in (("site", "import", harness.EXAMPLE_SITE),
                    ("session", "create", "--date", "2030-05-08"),
                    ("tender", "add", "--session", "2030-05-08", "--id", "TSM", "--name", "SM2")):
            rc, out, err = site.ctl(*cmd)
            assert rc == 0, (cmd, out, err)
        rc, out, err = site.ctl("tender", "close", "TSM", "--wait", "1", timeout=90)
        assert rc == 0, (out, err)
        arc = os.path.join(site.tmp, "controller-state", "archive", "TSM.evarc")
        pub = site.prov.signing_key.replace(".key", ".pub")
        r = tool("verify", arc, "--pubkey", pub, "--pubkey2", pub2)
        assert r.returncode == 0 and "SM2 (SM3)" in r.stdout, r.stdout + r.stderr
    finally:
        site.close()
