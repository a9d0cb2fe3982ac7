"""The key history wherever a signature is checked (docs/archive-format.md, "Key history"):
an evidence package cut from a tender whose checkpoints were signed by two keys (a rotation in
the middle) carries the archive's key history (keys/key-history.log) and `verify-package`
checks each checkpoint and each clip's proof with the key its key line names, accepting the
old or the new key as --pubkey; a package whose clips are proven only by checkpoints of a key
revoked before them is refused when the revocation is given with --key-history, and none is
cut from an archive that carries such a revocation. The reviews in the appendix are checked with the archive key in use at the
review's time: one made after a rotation (by the new key) verifies, one by a key revoked
before it was made is named INVALID."""
import base64
import hashlib
import os
import shutil
import sqlite3
import subprocess
import time

import pytest

T0 = 1795597200000000  # 2026-11-25T09:00:00Z, the fixture's first segment
ROTATED = T0 + 50_000_000
REOPENED = T0 + 60_000_000
SPAN = ("--from", "2026-11-25T08:00:00Z", "--to", "2026-11-25T10:00:00Z")


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=180,
                          **kw)


def key_id(pub):
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", str(pub), "-outform", "DER"],
                         capture_output=True, check=True).stdout
    return hashlib.sha256(der[-32:]).hexdigest()


def iso(us):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(us // 1_000_000)) + \
        ".%06dZ" % (us % 1_000_000)


@pytest.fixture(scope="module")
def m(tmp_path_factory, bin_dir):
    """span.evarc: begun by K0 (three segments, a checkpoint after each), K0 rotated to K1 at
    T0+50 s (history.log), reopened at T0+60 s by K1 with two more segments and sealed.
    revoked.evarc: the same, reopened with a history that also revokes K0 from T0
    (history-revoked.log; the file carries the revocation)."""
    d = tmp_path_factory.mktemp("khevidence")
    fx = f"{bin_dir}/evalroom-archive-fixture"
    segs = []
    for i in range(3):
        p = d / f"v{i}.ts"
        r = run(["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=20", "pattern=%d" % i,
                 "!", "video/x-raw,width=160,height=120,framerate=10/1,format=I420", "!",
                 "x264enc", "key-int-max=10", "speed-preset=ultrafast", "!",
                 "video/x-h264,profile=constrained-baseline", "!", "h264parse", "!",
                 "mpegtsmux", "!", "filesink", "location=%s" % p])
        assert r.returncode == 0 and p.stat().st_size > 0, r.stderr
        segs.append(p)
    for k in ("k0", "k1", "other"):
        assert run([fx, "keygen", d / f"{k}.key", d / f"{k}.pub"]).returncode == 0
    span, revoked = d / "span.evarc", d / "revoked.evarc"
    r = run([fx, "build", span, d / "k0.key", "--checkpoint-every", "1", "--tender", "T-SPAN"]
            + segs)
    assert r.returncode == 0, r.stderr
    shutil.copyfile(span, revoked)
    hist = d / "history.log"
    assert run([fx, "key-rotate", hist, d / "k0.key", d / "k1.key", ROTATED,
                "yearly rotation"]).returncode == 0
    hist_rev = d / "history-revoked.log"
    shutil.copyfile(hist, hist_rev)
    r = run([fx, "key-revoke", hist_rev, d / "k1.key", d / "k0.key", key_id(d / "k0.pub"), T0,
             T0 + 55_000_000, "key file found on a lost laptop"])
    assert r.returncode == 0, r.stderr
    for arc, h in ((span, hist), (revoked, hist_rev)):
        r = run([fx, "reopen-seal", arc, d / "k1.key", "--key-history", h, "--at", REOPENED,
                 segs[0], segs[1]])
        assert r.returncode == 0, r.stderr
    return {"dir": d, "fx": fx, "span": span, "revoked": revoked, "hist": hist,
            "hist_rev": hist_rev, "k0": d / "k0.pub", "k1": d / "k1.pub",
            "other": d / "other.pub", "segs": segs}


@pytest.fixture
def tool(bin_dir):
    return lambda *args: run([f"{bin_dir}/evalroom-archive"] + list(args))


def package(tool, arc, out):
    r = tool("package", arc, *SPAN, "-o", out)
    assert r.returncode == 0, r.stdout + r.stderr
    return out


def checkpoint_keys(d):
    out = {}
    for f in sorted(os.listdir(d / "checkpoints")):
        if f.endswith(".txt"):
            body = (d / "checkpoints" / f).read_text()
            out[f] = next(line[4:] for line in body.splitlines() if line.startswith("key "))
    return out


def test_package_spanning_a_rotation_verifies_with_either_key(m, tool, tmp_path):
    p = package(tool, m["span"], tmp_path / "pkg")
    k0, k1 = key_id(m["k0"]), key_id(m["k1"])
    assert set(checkpoint_keys(p).values()) == {k0, k1}, checkpoint_keys(p)
    assert (p / "keys" / "key-history.log").read_text() == m["hist"].read_text()
    for pub in (m["k0"], m["k1"]):
        r = tool("verify-package", p, "--pubkey", pub)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "5 segments of 1 streams proven" in r.stdout, r.stdout
    r = tool("verify-package", p, "--pubkey", m["k1"], "--key-history", m["hist"])
    assert r.returncode == 0, r.stdout + r.stderr
    # A key that is none of the history's is named.
    r = tool("verify-package", p, "--pubkey", m["other"])
    assert r.returncode == 1 and "FAILED --pubkey: the key given is none of the keys of the " \
        "key history" in r.stdout, r.stdout
    # The note of a checkpoint signed by the new key names the new key (its 4-byte key id).
    last = sorted(f for f in os.listdir(p / "checkpoints") if f.endswith(".note"))[-1]
    note = (p / "checkpoints" / last).read_text()
    origin = note.splitlines()[0]
    sig_line = note.splitlines()[-1]
    assert sig_line.startswith("\u2014 %s " % origin), note
    raw = subprocess.run(["openssl", "pkey", "-pubin", "-in", str(m["k1"]), "-outform", "DER"],
                         capture_output=True, check=True).stdout[-32:]
    want = hashlib.sha256(origin.encode() + b"\n\x01" + raw).digest()[:4]
    assert base64.b64decode(sig_line.split(" ")[2])[:4] == want, note


def test_package_whose_clips_are_signed_by_a_revoked_key_is_refused(m, tool, tmp_path):
    # The revocation reached the controller after the package was cut: --key-history.
    p = package(tool, m["span"], tmp_path / "pkg")
    r = tool("verify-package", p, "--pubkey", m["k1"], "--key-history", m["hist_rev"])
    assert r.returncode == 1, r.stdout
    k0 = key_id(m["k0"])
    assert "FAILED checkpoints/000001.sig: signed at %s by key %s, which is revoked from %s " \
        "(key file found on a lost laptop)" % (iso(T0 + 2_000_000), k0, iso(T0)) in \
        r.stdout, r.stdout
    assert "FAILED proofs/R101.seat1.cam/000000.json: signed at %s by key %s, which is " \
        "revoked" % (iso(T0 + 2_000_000), k0) in r.stdout, r.stdout
    # A history that does not begin with the package's entries is refused.
    r = tool("verify-package", p, "--pubkey", m["k1"], "--key-history",
             m["dir"] / "missing.log")
    assert r.returncode == 1 and "entry 0 differs from the key history given" in r.stdout, \
        r.stdout
    # The revocation is in the archive itself: no package is cut from it, the key named.
    r = tool("package", m["revoked"], *SPAN, "-o", tmp_path / "pkg2")
    assert r.returncode != 0 and "which is revoked from %s" % iso(T0) in r.stderr, \
        r.stdout + r.stderr
    assert not (tmp_path / "pkg2").exists()


def test_verify_proof_follows_the_key_history(m, tool, tmp_path):
    # A clip's proof to the newest checkpoint (signed by K1), checked by an auditor who holds
    # K0: with the controller's key history it verifies; with a history that revokes the key
    # of its checkpoint it is refused.
    r = tool("proof", m["span"], "--segment", "5", "-o", tmp_path / "pr")
    assert r.returncode == 0, r.stdout + r.stderr
    proof = tmp_path / "pr" / "proof.json"
    r = tool("verify-proof", proof, "--pubkey", m["k0"])
    assert r.returncode == 1 and "signature invalid" in r.stdout, r.stdout
    r = tool("verify-proof", proof, "--pubkey", m["k0"], "--key-history", m["hist"])
    assert r.returncode == 0, r.stdout + r.stderr
    r = tool("verify-proof", proof, "--pubkey", m["other"], "--key-history", m["hist"])
    assert r.returncode == 1 and "none of the keys of the key history" in r.stdout, r.stdout
    h = tmp_path / "k1-revoked.log"
    shutil.copyfile(m["hist"], h)
    k1 = key_id(m["k1"])
    assert run([m["fx"], "keygen", tmp_path / "k2.key", tmp_path / "k2.pub"]).returncode == 0
    assert run([m["fx"], "key-rotate", h, m["dir"] / "k1.key", tmp_path / "k2.key",
                T0 + 3600_000_000, "r2"]).returncode == 0
    assert run([m["fx"], "key-revoke", h, tmp_path / "k2.key", "-", k1, T0, T0 + 3600_000_001,
                "k1 leaked"]).returncode == 0
    r = tool("verify-proof", proof, "--pubkey", m["k0"], "--key-history", h)
    assert r.returncode == 1 and "by key %s, which is revoked from %s (k1 leaked)" % (
        k1, iso(T0)) in r.stdout, r.stdout


def test_package_without_a_rotation_is_checked_as_before(m, tool, tmp_path):
    arc = tmp_path / "plain.evarc"
    r = run([m["fx"], "build", arc, m["dir"] / "k0.key", "--seal"] + m["segs"])
    assert r.returncode == 0, r.stderr
    p = package(tool, arc, tmp_path / "pkg")
    assert not (p / "keys" / "key-history.log").exists()
    assert tool("verify-package", p, "--pubkey", m["k0"]).returncode == 0
    r = tool("verify-package", p, "--pubkey", m["k1"])
    assert r.returncode == 1 and "invalid for the given public key" in r.stdout, r.stdout


def sealed_copy(src, d, name):
    p = d / name
    shutil.copyfile(src, p)
    os.chmod(p, 0o444)
    return p


def test_reviews_are_checked_with_the_key_in_use_at_their_time(m, tool, tmp_path):
    # span.evarc: a review before the rotation by K0 and one after it by K1 both verify.
    arc = sealed_copy(m["span"], tmp_path, "span.evarc")
    for key, at, note in (("k0", T0 + 40_000_000, "before"), ("k1", T0 + 90_000_000, "after")):
        r = run([m["fx"], "review", arc, m["dir"] / f"{key}.key", "T-SPAN", at, note])
        assert r.returncode == 0, r.stderr
    assert os.stat(arc).st_mode & 0o777 == 0o444
    r = tool("verify", arc, "--pubkey", m["k0"])
    assert r.returncode == 0, r.stdout
    k0, k1 = key_id(m["k0"]), key_id(m["k1"])
    assert "review of the draw_room footage by operator-fixture at %d: signed by the archive " \
        "key %s, in use then" % (T0 + 40_000_000, k0) in r.stdout, r.stdout
    assert "review of the draw_room footage by operator-fixture at %d: signed by the archive " \
        "key %s, in use then" % (T0 + 90_000_000, k1) in r.stdout, r.stdout
    # A review by the old key after the rotation: not the key in use then.
    r = run([m["fx"], "review", arc, m["dir"] / "k0.key", "T-SPAN", T0 + 95_000_000, "late"])
    assert r.returncode == 0, r.stderr
    r = tool("verify", arc, "--pubkey", m["k1"])
    assert "INVALID: review of the draw_room footage by operator-fixture at %d: signed at %s " \
        "by key %s after it was replaced (at %s)" % (T0 + 95_000_000, iso(T0 + 95_000_000), k0,
                                                     iso(ROTATED)) in r.stdout, r.stdout


def test_review_after_a_rotation_the_sealed_file_predates(m, tool, tmp_path):
    # An archive sealed before the rotation, reviewed after it (by K1, the controller's key
    # then): with the controller's history it verifies; without it, the row is INVALID with
    # the hint.
    arc = tmp_path / "old.evarc"
    r = run([m["fx"], "build", arc, m["dir"] / "k0.key", "--seal", "--tender", "T-OLD"] +
            m["segs"])
    assert r.returncode == 0, r.stderr
    r = run([m["fx"], "review", arc, m["dir"] / "k1.key", "T-OLD", T0 + 90_000_000, "after"])
    assert r.returncode == 0, r.stderr
    r = tool("verify", arc, "--pubkey", m["k0"])
    assert r.returncode == 0 and "pass --key-history key-history.log" in r.stdout, r.stdout
    r = tool("verify", arc, "--pubkey", m["k0"], "--key-history", m["hist"])
    assert r.returncode == 0 and "signed by the archive key %s, in use then" % key_id(m["k1"]) \
        in r.stdout, r.stdout
    # K0 revoked from T0+20 s (after the file's checkpoints, before a review it signed at
    # T0+30 s): the file verifies, the review is refused, naming the key and the time.
    h = tmp_path / "revoked-later.log"
    shutil.copyfile(m["hist"], h)
    r = run([m["fx"], "key-revoke", h, m["dir"] / "k1.key", m["dir"] / "k0.key",
             key_id(m["k0"]), T0 + 20_000_000, T0 + 55_000_000, "leaked"])
    assert r.returncode == 0, r.stderr
    arc2 = tmp_path / "old2.evarc"
    r = run([m["fx"], "build", arc2, m["dir"] / "k0.key", "--seal", "--tender", "T-OLD"] +
            m["segs"])
    assert r.returncode == 0, r.stderr
    r = run([m["fx"], "review", arc2, m["dir"] / "k0.key", "T-OLD", T0 + 30_000_000, "x"])
    assert r.returncode == 0, r.stderr
    r = tool("verify", arc2, "--pubkey", m["k0"], "--key-history", h)
    assert r.returncode == 0, r.stdout
    assert "INVALID: review of the draw_room footage by operator-fixture at %d: signed at %s by " \
        "key %s, which is revoked from %s (leaked)" % (
            T0 + 30_000_000, iso(T0 + 30_000_000), key_id(m["k0"]), iso(T0 + 20_000_000)) in \
        r.stdout, r.stdout
