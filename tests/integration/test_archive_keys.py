"""The key history (docs/archive-format.md, "Key history"): rotations and revocations of the
checkpoint key are entries signed by the keys they concern, copied into every archive made
after them; `evalroom-archive verify` accepts a checkpoint's signature only from the key in use
at the checkpoint's time and not revoked then, naming the key and the time otherwise; an
entry with a bad signature is named; archives made before a rotation still verify, with the
old key or with the history; the openssl lines of the docs check an entry by hand.
(The real controller's rotation and revocation: test_key_rotation.py.)"""
import hashlib
import os
import shutil
import sqlite3
import subprocess

import pytest

T0 = 1795597200000000  # 2026-11-25T09:00:00Z, the fixture's first segment
HOUR = 3600_000_000


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120,
                          **kw)


def raw_of(pub):
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", str(pub), "-outform", "DER"],
                         capture_output=True, check=True).stdout
    return der[-32:]


def key_id(pub):
    return hashlib.sha256(raw_of(pub)).hexdigest()


@pytest.fixture(scope="module")
def m(tmp_path_factory, bin_dir):
    """K0 signs an archive (old.evarc, checkpoints at T0+2 s, +4 s, +6 s, sealed at +6.001 s);
    an hour later K0 is rotated to K1 (history.log); K1 signs an archive made after that
    (new.evarc), which carries the history."""
    d = tmp_path_factory.mktemp("keys")
    fx = f"{bin_dir}/evalroom-archive-fixture"
    segs = []
    for i in range(3):
        p = d / f"s{i}.ts"
        p.write_bytes(hashlib.sha256(b"k%d" % i).digest() * 64)
        segs.append(p)
    for k in ("k0", "k1", "other"):
        assert run([fx, "keygen", d / f"{k}.key", d / f"{k}.pub"]).returncode == 0
    old = d / "old.evarc"
    assert run([fx, "build", old, d / "k0.key", "--seal", "--checkpoint-every", "1",
                "--tender", "T-OLD"] + segs).returncode == 0
    hist = d / "history.log"
    r = run([fx, "key-rotate", hist, d / "k0.key", d / "k1.key", T0 + HOUR, "yearly rotation"])
    assert r.returncode == 0, r.stderr
    new = d / "new.evarc"
    r = run([fx, "build", new, d / "k1.key", "--seal", "--checkpoint-every", "1", "--tender",
             "T-NEW", "--start", str(T0 + 2 * HOUR), "--key-history", hist] + segs)
    assert r.returncode == 0, r.stderr
    return {"dir": d, "fx": fx, "old": old, "new": new, "hist": hist,
            "k0": d / "k0.pub", "k1": d / "k1.pub", "other": d / "other.pub"}


@pytest.fixture
def tool(bin_dir):
    return lambda *args: run([f"{bin_dir}/evalroom-archive"] + list(args))


def copy_of(src, d, name):
    p = d / name
    shutil.copyfile(src, p)
    os.chmod(p, 0o644)
    return p


def history_with(m, d, name, *events):
    """A copy of the module's history with EVENTS appended (fixture key-rotate/key-revoke)."""
    h = d / name
    shutil.copyfile(m["hist"], h)
    for ev in events:
        r = run([m["fx"], ev[0], h] + list(ev[1:]))
        assert r.returncode == 0, r.stderr
    return h


def failed(r, *needles):
    out = r.stdout + r.stderr
    assert r.returncode == 1 and out.startswith("FAILED"), (r.returncode, out)
    for n in needles:
        assert n in out, out


def test_archive_after_a_rotation_verifies_with_either_key(m, tool):
    for pub in (m["k1"], m["k0"]):
        r = tool("verify", m["new"], "--pubkey", pub)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "keys: 1 rotation(s), 0 revocation(s)" in r.stdout, r.stdout
        assert "signed by key %s (checkpoints 1-4)" % key_id(m["k1"]) in r.stdout, r.stdout
    failed(tool("verify", m["new"], "--pubkey", m["other"]),
           "the key given with --pubkey is none of the keys of the key history")
    db = sqlite3.connect(m["new"])
    assert db.execute("PRAGMA user_version").fetchone()[0] == 3
    assert db.execute("SELECT id, leaf FROM key_history").fetchall() == [(1, 1)]
    db.close()


def test_archives_made_before_the_rotation_still_verify(m, tool, tmp_path):
    r = tool("verify", m["old"], "--pubkey", m["k0"])
    assert r.returncode == 0, r.stdout + r.stderr
    # The custodian's current history and current key: the old checkpoints are K0's time.
    r = tool("verify", m["old"], "--pubkey", m["k1"], "--key-history", m["hist"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "signed by key %s (checkpoints 1-4)" % key_id(m["k0"]) in r.stdout, r.stdout
    # A version 2 file (no key_history table, as the earlier writer made them) verifies.
    v2 = copy_of(m["old"], tmp_path, "v2.evarc")
    db = sqlite3.connect(v2)
    db.executescript("DROP TABLE key_history; PRAGMA user_version=2;")
    db.close()
    r = tool("verify", v2, "--pubkey", m["k0"])
    assert r.returncode == 0, r.stdout + r.stderr
    r = tool("verify", v2, "--pubkey", m["k1"], "--key-history", m["hist"])
    assert r.returncode == 0, r.stdout + r.stderr


def test_revocation_before_a_checkpoint_it_signed_fails_naming_the_key(m, tool, tmp_path):
    k0 = key_id(m["k0"])
    # K0 revoked from T0+3 s: its checkpoint at T0+4 s is no longer trusted.
    h = history_with(m, tmp_path, "revoked.log",
                     ("key-revoke", m["dir"] / "k1.key", m["dir"] / "k0.key", k0,
                      T0 + 3_000_000, T0 + 2 * HOUR, "key compromised"))
    failed(tool("verify", m["old"], "--pubkey", m["k1"], "--key-history", h),
           "checkpoints row 2: signed at 2026-11-25T09:00:04.000000Z by key %s, which is "
           "revoked from 2026-11-25T09:00:03.000000Z (key compromised)" % k0)
    # An archive made after the revocation carries it and fails on its own too (here: its
    # own checkpoints are K1's, so it verifies; the revocation is reported).
    new2 = tmp_path / "after.evarc"
    r = run([m["fx"], "build", new2, m["dir"] / "k1.key", "--seal", "--tender", "T-AFTER",
             "--start", str(T0 + 3 * HOUR), "--key-history", h, m["dir"] / "s0.ts"])
    assert r.returncode == 0, r.stderr
    r = tool("verify", new2, "--pubkey", m["k1"])
    assert r.returncode == 0 and "1 rotation(s), 1 revocation(s)" in r.stdout, r.stdout


def test_checkpoint_after_its_key_was_replaced_fails(m, tool, tmp_path):
    hist = tmp_path / "early.log"
    r = run([m["fx"], "key-rotate", hist, m["dir"] / "k0.key", m["dir"] / "k1.key",
             T0 + 5_000_000, "rotated at 09:00:05"])
    assert r.returncode == 0, r.stderr
    failed(tool("verify", m["old"], "--pubkey", m["k0"], "--key-history", hist),
           "checkpoints row 3: signed at 2026-11-25T09:00:06.000000Z by key %s after it was "
           "replaced (at 2026-11-25T09:00:05.000000Z)" % key_id(m["k0"]))


def leaf_data(entry, sig, sig2):
    return (b"evalroom-leaf v1 key\nentry %d\n" % len(entry) + entry + b"\nsignature " +
            sig.hex().encode() + b"\nsignature2 " + (sig2.hex().encode() if sig2 else b"-") +
            b"\n")


def test_history_entry_with_a_bad_signature_is_named(m, tool, tmp_path):
    k0 = key_id(m["k0"])
    # In a copy of the controller's file.
    lines = m["hist"].read_text().split("\n")
    f = lines[0].split(" ")
    import base64
    sig = bytearray(base64.b64decode(f[1]))
    sig[10] ^= 1
    f[1] = base64.b64encode(bytes(sig)).decode()
    bad = tmp_path / "bad.log"
    bad.write_text("\n".join([" ".join(f)] + lines[1:]))
    r = tool("verify", m["old"], "--key-history", bad)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "line 1 (entry 0): its signature by the old key %s does not verify" % k0 in r.stdout
    # In an archive, its leaf hash forged to match: the entry's own signature names it.
    p = copy_of(m["new"], tmp_path, "forged.evarc")
    db = sqlite3.connect(p)
    entry, s1, s2 = db.execute("SELECT entry, signature, signature2 FROM key_history").fetchone()
    # The leaf data of the docs, byte for byte: the stored leaf hash is its hash.
    assert hashlib.sha256(b"\0" + leaf_data(entry.encode(), s1, s2)).digest() == \
        db.execute("SELECT leaf_hash FROM key_history").fetchone()[0]
    s2 = s2[:5] + bytes([s2[5] ^ 1]) + s2[6:]
    db.execute("UPDATE key_history SET signature2 = ?, leaf_hash = ?",
               (s2, hashlib.sha256(b"\0" + leaf_data(entry.encode(), s1, s2)).digest()))
    db.commit()
    db.close()
    failed(tool("verify", p, "--pubkey", m["k1"]),
           "key_history row 1 (leaf 1, entry 0): its signature by the new key %s does not "
           "verify" % key_id(m["k1"]))


def test_openssl_lines_of_the_docs_check_an_entry(m, tmp_path):
    """The shell lines of docs/archive-format.md ("Checking an entry with openssl"), run as
    written, on the archive's row and on the controller's file."""
    doc = open(os.path.join(os.path.dirname(__file__), "..", "..", "docs",
                            "archive-format.md")).read()
    start = doc.index("<!-- key-history-openssl -->")
    block = doc[doc.index("```sh", start) + 5:doc.index("```", doc.index("```sh", start) + 5)]
    shutil.copyfile(m["new"], tmp_path / "T.evarc")
    shutil.copyfile(m["hist"], tmp_path / "key-history.log")
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("Signature Verified Successfully") == 4, r.stdout
    # A changed entry fails the same line.
    text = (tmp_path / "entry.txt").read_bytes().replace(b"yearly", b"Yearly")
    (tmp_path / "entry.txt").write_bytes(text)
    r = run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", m["k0"], "-rawin", "-in",
             tmp_path / "entry.txt", "-sigfile", tmp_path / "entry.sig"])
    assert r.returncode != 0 and "Signature Verified Successfully" not in r.stdout
