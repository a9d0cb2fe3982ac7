"""The second key (SM2 with SM3) in the key history (docs/archive-format.md, "Key history",
"The second key"): it is rotated and revoked like the checkpoint key, by entries `rotate2` and
`revoke2` signed by the old and new SM2 keys; `verify` accepts a checkpoint's SM2 signature only
from the SM2 key in use at the checkpoint's time and not revoked then, and names the key and the
time otherwise; the openssl lines of the docs still check the newest checkpoint's SM2 signature
and key2 line; the real controller rotates (`--rotate-key2`) and revokes its SM2 key with
`keys list` showing both SM2 keys; archives written before still verify."""
import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import time

import pytest

import harness
from daemons import Site, wait_for

T0 = 1795597200000000  # 2026-11-25T09:00:00Z, the fixture's first segment
SM2_ID = "distid:1234567812345678"


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120,
                          **kw)


def sm2_pair(d, name):
    key, pub = d / f"{name}.key", d / f"{name}.pub"
    assert run(["openssl", "genpkey", "-algorithm", "SM2", "-out", key]).returncode == 0
    assert run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub]).returncode == 0
    return key, pub


def spki_id(pub):
    """A second key's id: SHA-256 of its DER SubjectPublicKeyInfo (the key2 line)."""
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", str(pub), "-outform", "DER"],
                         capture_output=True, check=True).stdout
    return hashlib.sha256(der).hexdigest()


def key2_lines(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return [re.search(r"^key2 ([0-9a-f]{64})$", b, re.M).group(1)
                for (b,) in db.execute("SELECT body FROM checkpoints ORDER BY id")]
    finally:
        db.close()


def iso(us):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(us // 1_000_000)) + \
        ".%06dZ" % (us % 1_000_000)


@pytest.fixture(scope="module")
def m(tmp_path_factory, bin_dir):
    """An archive begun with Ed25519 key K and SM2 key A0 (three checkpoints), whose SM2 key is
    rotated to A1 at T0+50 s (history.log); reopened at T0+60 s it takes the rotation and goes
    on signed by A1 (four more checkpoints) and is sealed."""
    d = tmp_path_factory.mktemp("sm2keys")
    fx = f"{bin_dir}/evalroom-archive-fixture"
    segs = []
    for i in range(3):
        p = d / f"s{i}.ts"
        p.write_bytes(hashlib.sha256(b"m%d" % i).digest() * 64)
        segs.append(p)
    assert run([fx, "keygen", d / "k.key", d / "k.pub"]).returncode == 0
    a0, a0pub = sm2_pair(d, "a0")
    a1, a1pub = sm2_pair(d, "a1")
    arc = d / "span.evarc"
    r = run([fx, "build", arc, d / "k.key", "--key2", a0, "--checkpoint-every", "1",
             "--tender", "T-SM2ROT"] + segs)
    assert r.returncode == 0, r.stderr
    hist = d / "history.log"
    r = run([fx, "key-rotate2", hist, a0, a1, T0 + 50_000_000, "yearly SM2 rotation"])
    assert r.returncode == 0, r.stderr
    r = run([fx, "reopen-seal", arc, d / "k.key", "--key2", a1, "--key-history", hist,
             "--at", T0 + 60_000_000, segs[0]])
    assert r.returncode == 0, r.stderr
    return {"dir": d, "fx": fx, "arc": arc, "hist": hist, "k": d / "k.pub", "a0": a0,
            "a0pub": a0pub, "a1": a1, "a1pub": a1pub, "segs": segs}


@pytest.fixture
def tool(bin_dir):
    return lambda *args: run([f"{bin_dir}/evalroom-archive"] + list(args))


def test_the_rotation_is_an_entry_signed_by_both_sm2_keys(m, tmp_path):
    db = sqlite3.connect("file:%s?mode=ro" % m["arc"], uri=True)
    entry, sig, sig2 = db.execute("SELECT entry, signature, signature2 FROM key_history").fetchone()
    db.close()
    assert entry.startswith("evalroom-key-history v1\nrotate2\nindex 0\n"), entry
    assert "\nold %s\n" % spki_id(m["a0pub"]) in entry
    assert "\nnew %s\n" % spki_id(m["a1pub"]) in entry
    (tmp_path / "entry.txt").write_text(entry)
    for pub, s in ((m["a0pub"], sig), (m["a1pub"], sig2)):
        (tmp_path / "sig").write_bytes(s)
        r = run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-digest",
                 "sm3", "-pkeyopt", SM2_ID, "-in", tmp_path / "entry.txt", "-sigfile",
                 tmp_path / "sig"])
        assert "Signature Verified Successfully" in r.stdout, r.stdout + r.stderr


def test_checkpoints_across_the_rotation_verify_with_either_sm2_key(m, tool):
    k0, k1 = spki_id(m["a0pub"]), spki_id(m["a1pub"])
    lines = key2_lines(m["arc"])
    assert lines[:3] == [k0] * 3 and lines[3:] == [k1] * (len(lines) - 3), lines
    for pub2 in (m["a0pub"], m["a1pub"]):
        r = tool("verify", m["arc"], "--pubkey", m["k"], "--pubkey2", pub2)
        assert r.returncode == 0, r.stdout + r.stderr
        assert re.search(r"second keys: signed by key %s \(checkpoints 1-3\), key %s "
                         r"\(checkpoints 4-%d\)" % (k0, k1, len(lines)), r.stdout), r.stdout
    _, other = sm2_pair(m["dir"], "other")
    r = tool("verify", m["arc"], "--pubkey", m["k"], "--pubkey2", other)
    assert r.returncode == 1 and "the key history holds no such second key" in r.stdout, \
        r.stdout


def test_sm2_signature_by_a_replaced_or_revoked_key_is_refused(m, tool, tmp_path):
    # The SM2 key A0 revoked from T0 (before the checkpoints it signed): against that history
    # the file fails, naming the key and the time.
    h = tmp_path / "revoked.log"
    shutil.copyfile(m["hist"], h)
    a0 = spki_id(m["a0pub"])
    r = run([m["fx"], "key-revoke", h, m["a1"], m["a0"], a0, T0, T0 + 70_000_000,
             "SM2 key leaked"])
    assert r.returncode == 0, r.stderr
    r = tool("verify", m["arc"], "--pubkey", m["k"], "--key-history", h)
    assert r.returncode == 1, r.stdout
    assert "checkpoints row 1: second signature signed at %s by key %s, which is revoked " \
        "from %s (SM2 key leaked)" % (iso(T0 + 2_000_000), a0, iso(T0)) in r.stdout, r.stdout
    # A revocation of the SM2 key signed by another key than the current SM2 key is refused.
    h2 = tmp_path / "bad.log"
    shutil.copyfile(m["hist"], h2)
    r = run([m["fx"], "key-revoke", h2, m["dir"] / "k.key", "-", a0, T0, T0 + 70_000_000, "x"])
    assert r.returncode == 1 and "its signature by the current second key" in r.stderr, r.stderr


def test_an_archive_made_after_the_rotation_records_the_new_sm2_key(m, tool, tmp_path):
    # The replaced SM2 key cannot begin an archive any more.
    r = run([m["fx"], "build", tmp_path / "refused.evarc", m["dir"] / "k.key", "--key2",
             m["a0"], "--seal", "--start", str(T0 + 7200_000_000), "--key-history", m["hist"]] +
            m["segs"])
    assert r.returncode == 1 and "create" in r.stderr, r.stderr
    arc = tmp_path / "new.evarc"
    r = run([m["fx"], "build", arc, m["dir"] / "k.key", "--key2", m["a1"], "--seal",
             "--start", str(T0 + 7200_000_000), "--key-history", m["hist"]] + m["segs"])
    assert r.returncode == 0, r.stderr
    assert set(key2_lines(arc)) == {spki_id(m["a1pub"])}
    for pub2 in (m["a0pub"], m["a1pub"]):
        r = tool("verify", arc, "--pubkey", m["k"], "--pubkey2", pub2)
        assert r.returncode == 0, r.stdout + r.stderr
    # meta.signing_pubkey2 altered to the old SM2 key: not the one in use at the creation.
    p = tmp_path / "alt.evarc"
    shutil.copyfile(arc, p)
    os.chmod(p, 0o644)
    db = sqlite3.connect(p)
    db.execute("UPDATE meta SET signing_pubkey2 = ?", (open(m["a0pub"]).read(),))
    db.commit()
    db.close()
    r = tool("verify", p, "--pubkey", m["k"])
    assert r.returncode == 1 and "signing_pubkey2 is not the second key the key history has " \
        "in use at the archive's creation" in r.stdout, r.stdout


def test_openssl_lines_of_the_docs_check_the_newest_sm2_signature(m, tool, tmp_path):
    cp = tmp_path / "cp"
    r = tool("checkpoint", m["arc"], "--export", cp)
    assert r.returncode == 0, r.stderr
    assert (cp / "embedded-signing2.pub").read_text() == open(m["a1pub"]).read()
    r = run(["bash", "-c",
             "openssl pkeyutl -verify -pubin -inkey %s -rawin -digest sm3 -pkeyopt %s "
             "-in cp/checkpoint.txt -sigfile cp/checkpoint.sig2 && "
             "openssl pkey -pubin -in %s -outform DER | sha256sum; grep '^key2 ' "
             "cp/checkpoint.txt" % (m["a1pub"], SM2_ID, m["a1pub"])], cwd=tmp_path)
    assert "Signature Verified Successfully" in r.stdout, r.stdout + r.stderr
    digest, line = r.stdout.splitlines()[1:3]
    assert digest.split()[0] == line.split()[1], r.stdout


def test_archives_without_an_sm2_rotation_still_verify(m, tool, tmp_path):
    arc = tmp_path / "plain.evarc"
    r = run([m["fx"], "build", arc, m["dir"] / "k.key", "--key2", m["a0"], "--seal"] +
            m["segs"])
    assert r.returncode == 0, r.stderr
    r = tool("verify", arc, "--pubkey", m["k"], "--pubkey2", m["a0pub"])
    assert r.returncode == 0 and "recorded in the file, the one given with --pubkey2" in \
        r.stdout, r.stdout


def test_controller_rotates_and_revokes_its_sm2_key(bin_dir, tmp_path, tool):
    site = Site(bin_dir, tmp_path)
    controller = os.path.join(bin_dir, "evalroom-controller")
    try:
        key2, pub2 = sm2_pair(tmp_path, "sm2-signing")
        a0 = spki_id(pub2)
        ctl = site.start_controller(extra="second_signing_key=%s\ncheckpoint_interval_s=1\n"
                                    % key2)
        conf = os.path.join(site.tmp, "controller.conf")
        state = os.path.join(site.tmp, "controller-state")
        for cmd in (("site", "import", harness.EXAMPLE_SITE),
                    ("session", "create", "--date", "2030-05-08"),
                    ("tender", "add", "--session", "2030-05-08", "--id", "TSA", "--name", "A")):
            rc, out, err = site.ctl(*cmd)
            assert rc == 0, (cmd, out, err)
        arc = os.path.join(state, "archive", "TSA.evarc")
        assert wait_for(lambda: os.path.exists(arc) and len(key2_lines(arc)) >= 1, timeout=15)
        r = run([controller, "--config", conf, "--rotate-key2", "--reason", "r"])
        assert r.returncode == 1 and "the controller is running" in r.stderr, r.stderr
        ctl.stop()
        r = run([controller, "--config", conf, "--rotate-key2", "--reason", "yearly SM2"])
        assert r.returncode == 0, r.stdout + r.stderr
        a1 = spki_id(pub2)  # the configured names now hold the new SM2 key
        assert a1 != a0 and "rotated: second key %s replaced by key %s" % (a0, a1) in \
            r.stdout, r.stdout
        kept = str(key2).replace(".key", "-%s.key" % a0[:16])
        assert os.path.exists(kept) and os.stat(str(key2)).st_mode & 0o777 == 0o600
        r = run(["openssl", "pkey", "-in", key2, "-noout", "-text"])
        assert "SM2" in r.stdout or "sm2" in r.stdout, r.stdout
        ctl.start()
        assert ctl.wait_log("connected to the broker"), ctl.log()
        rc, listed, err = site.ctl("keys", "list")
        assert rc == 0, err
        second = [(k["id"], k["algorithm"], k["state"]) for k in listed["keys"]
                  if k.get("use") == "second"]
        assert second == [(a0, "sm2-sm3", "retired"), (a1, "sm2-sm3", "current")], listed
        rc, text, err = site.ctl("keys", "list", json_out=False)
        assert rc == 0 and a0 in text and a1 in text and "sm2-sm3" in text, text
        rc, out, err = site.ctl("tender", "close", "TSA", "--wait", "1", timeout=90)
        assert rc == 0, (out, err)
        lines = key2_lines(arc)
        assert lines[0] == a0 and lines[-1] == a1, lines
        pub = site.prov.signing_key.replace(".key", ".pub")
        r = tool("verify", arc, "--pubkey", pub, "--pubkey2", pub2, "--key-history",
                 os.path.join(state, "key-history.log"))
        assert r.returncode == 0 and "second keys: signed by key %s" % a0 in r.stdout, \
            r.stdout + r.stderr
        # Revoke the old SM2 key from before TSA's first checkpoint: TSA fails against the
        # controller's history, naming the key.
        db = sqlite3.connect("file:%s?mode=ro" % arc, uri=True)
        first_us = db.execute("SELECT min(time_us) FROM checkpoints").fetchone()[0]
        db.close()
        ctl.stop()
        r = run([controller, "--config", conf, "--revoke-key", a0[:12], "--from", iso(first_us),
                 "--reason", "SM2 key found on a lost laptop"])
        assert r.returncode == 0 and "revoked: second key %s" % a0 in r.stdout, \
            r.stdout + r.stderr
        assert "and the revoked key" in r.stdout, r.stdout
        r = tool("verify", arc, "--pubkey", pub, "--key-history",
                 os.path.join(state, "key-history.log"))
        assert r.returncode == 1 and "second signature signed at %s by key %s, which is " \
            "revoked from %s (SM2 key found on a lost laptop)" % (
                iso(first_us), a0, iso(first_us)) in r.stdout, r.stdout
        # The controller refuses to start with an SM2 key that is not the history's current.
        shutil.copyfile(kept, str(key2))
        ctl.start()
        assert wait_for(lambda: not ctl.alive(), timeout=10)
        assert "is not the key history's current second key %s" % a1 in \
            ctl.log(this_run=True), ctl.log(this_run=True)
    finally:
        site.close()
