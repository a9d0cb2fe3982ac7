"""Cosigning witnesses (issue 21, item 2), with the real broker, controller and evalroomctl:
the supervision room's machine (supervisor-reg1) and a regulator (auditor-audit1) run
`evalroomctl archive cosign`, which fetches a tender's newest checkpoint with a consistency
proof from the one it cosigned last, checks both, cosigns (C2SP cosignature/v1) and hands the
cosignature to the controller, which stores it in the tender's archive, open or sealed.
- successive checkpoints are cosigned; nothing new is "already cosigned";
- a controller that rolls the tender back (a smaller size) or forks it (another root at the
  size cosigned, another tree past it) is refused by the cosigner, which names it and exits
  1;
- `evalroom-archive verify --cosigners FILE --min-cosigners N` passes with a policy of 1,
  fails naming the missing cosigner with a policy of 2 (one key that never cosigned), names
  a tampered cosignature, lists a key outside the policy as unknown;
- an independent check of a stored cosignature with Python's cryptography, from the C2SP
  text alone, and with the openssl lines of docs/archive-format.md."""
import base64
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization

import watchers
from daemons import Site, wait_for

DAY = "2030-05-07"
TENDER = "TC"
SEALED = "TD"
SUPERVISOR = watchers.SUPERVISOR
AUDITOR = "auditor-audit1"
NAME_A = "supervision.zj-ggzy.example/reg1"
NAME_B = "regulator.example/witness"


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path, site=watchers.site_dict())
    yield s
    s.close()


def ok(site, *args, identity=None):
    rc, out, err = site.ctl(*args, identity=identity)
    assert rc == 0, (args, out, err)
    return out


def keygen(path):
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(path)],
                   check=True, capture_output=True)
    return str(path)


class Cosigner:
    def __init__(self, site, identity, name, key, state, pub):
        self.site, self.identity, self.name = site, identity, name
        self.key, self.state, self.pub = key, str(state), pub

    def vkey(self):
        rc, out, err = self.site.ctl("archive", "cosigner-vkey", "--key", self.key, "--name",
                                     self.name, json_out=False, identity=self.identity)
        assert rc == 0, err
        return out.strip()

    def run(self, *tenders):
        args = ["archive", "cosign", "--key", self.key, "--name", self.name, "--pubkey",
                self.pub, "--state", self.state]
        for t in tenders:
            args += ["--tender", t]
        return self.site.ctl(*args, identity=self.identity, timeout=60)


def record(site, tender, n):
    for i in range(n):
        ok(site, "witness", "note", "--tender", tender, "--category", "observation",
           "--text", "note %d" % i, identity=site.witness)


def newest_size(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        row = db.execute("SELECT max(tree_size) FROM checkpoints").fetchone()
    finally:
        db.close()
    return row[0] or 0


def leaves(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return sum(db.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
                   for t in ("meta", "draw", "events", "segments", "gaps"))
    finally:
        db.close()


def checkpointed(path):
    """Every record of the archive at PATH is under a checkpoint."""
    return os.path.exists(path) and newest_size(path) == leaves(path) > 0


def verify(bin_dir, *args):
    r = subprocess.run([os.path.join(bin_dir, "evalroom-archive"), "verify", *args],
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def outcome(out, tender):
    return [t["outcome"] for t in out["tenders"] if t["tender"] == tender]


def test_cosigners_refuse_forks_and_verify_checks_the_policy(site, bin_dir, tmp_path):
    site.start_controller(extra="checkpoint_interval_s=1\n")
    adir = os.path.join(site.tmp, "controller-state", "archive")
    arc = os.path.join(adir, TENDER + ".evarc")
    pub = site.prov.signing_key.replace(".key", ".pub")
    path = tmp_path / "site.json"
    path.write_text(json.dumps(watchers.site_dict()))
    ok(site, "site", "import", str(path))
    ok(site, "session", "create", "--date", DAY)
    ok(site, "tender", "add", "--session", DAY, "--id", TENDER, "--name", "Cosigned")
    assert wait_for(lambda: checkpointed(arc), 15)

    a = Cosigner(site, SUPERVISOR, NAME_A, keygen(tmp_path / "a.key"), tmp_path / "a.state",
                 pub)
    b = Cosigner(site, AUDITOR, NAME_B, keygen(tmp_path / "b.key"), tmp_path / "b.state", pub)
    vkey_a, vkey_b = a.vkey(), b.vkey()
    assert vkey_a.startswith(NAME_A + "+") and vkey_b.startswith(NAME_B + "+")

    # The first checkpoint seen is cosigned; the controller stored it in the open archive.
    rc, out, err = a.run(TENDER)
    assert rc == 0 and outcome(out, TENDER) == ["cosigned"], (json.dumps(out), err)
    first = out["tenders"][0]["tree_size"]
    # Successive checkpoints: each consistent with the one before, each cosigned.
    for n in (3, 10):
        before = newest_size(arc)
        record(site, TENDER, n)
        assert wait_for(lambda: checkpointed(arc) and newest_size(arc) > before, 15)
        rc, out, err = a.run(TENDER)
        assert rc == 0 and outcome(out, TENDER) == ["cosigned"], (json.dumps(out), err)
        assert out["tenders"][0]["tree_size"] == newest_size(arc) > first
    rc, out, err = a.run(TENDER)
    assert rc == 0 and outcome(out, TENDER) == ["already"], (json.dumps(out), err)
    cosigned = newest_size(arc)
    db = sqlite3.connect("file:%s?mode=ro" % arc, uri=True)
    rows = db.execute("SELECT checkpoint, tree_size, name FROM cosignatures").fetchall()
    db.close()
    assert len(rows) == 3 and all(r[2] == NAME_A for r in rows) and rows[-1][1] == cosigned
    # The cosignatures are no records: the tree did not grow by them (nor by the requests).
    assert leaves(arc) == cosigned

    # An operator is no cosigner.
    rc, out, err = site.ctl("archive", "cosign", "--key", a.key, "--name", NAME_A, "--pubkey",
                            pub, "--state", str(tmp_path / "op.state"), "--tender", TENDER)
    assert rc == 3 and outcome(out, TENDER) == ["failed"], (json.dumps(out), err)
    assert "operator-alice" in out["tenders"][0]["detail"], out

    # The controller's archive rolled back behind what was cosigned (its newest records cut
    # away with their checkpoints, by whoever holds the controller's files): refused.
    shutil.copyfile(a.state, tmp_path / "a.state.keep")
    site.daemons["controller"].stop()
    cut = first  # back to the first checkpoint cosigned
    db = sqlite3.connect(arc)
    with db:
        db.execute("DELETE FROM cosignatures")
        db.execute("DELETE FROM checkpoints WHERE tree_size > ?", (cut,))
        db.execute("DELETE FROM events WHERE leaf >= ?", (cut,))
    db.close()
    site.start_controller(extra="checkpoint_interval_s=1\n")
    assert wait_for(lambda: checkpointed(arc), 15)
    assert newest_size(arc) < cosigned
    rc, out, err = a.run(TENDER)
    assert rc == 1 and outcome(out, TENDER) == ["refused"], (json.dumps(out), err)
    assert "ROLLBACK" in err and TENDER in err, err
    # Its record is unchanged by the refusal.
    assert open(a.state).read() == open(tmp_path / "a.state.keep").read()

    # The same archive grown again to the size cosigned, with other records: another root
    # at that size, a fork.
    record(site, TENDER, cosigned - leaves(arc))
    assert wait_for(lambda: checkpointed(arc) and newest_size(arc) == cosigned, 20)
    rc, out, err = a.run(TENDER)
    assert rc == 1 and outcome(out, TENDER) == ["refused"], (json.dumps(out), err)
    assert "FORK" in err and "was cosigned at that size" in err, err
    # ... and past it: the consistency proof from the tree cosigned does not hold.
    record(site, TENDER, 2)
    assert wait_for(lambda: checkpointed(arc) and newest_size(arc) > cosigned, 20)
    rc, out, err = a.run(TENDER)
    assert rc == 1 and outcome(out, TENDER) == ["refused"], (json.dumps(out), err)
    assert "FORK" in err and "consistency proof" in err, err
    # A cosigner new to the tender (B) has nothing to compare with: it cosigns.
    rc, out, err = b.run(TENDER)
    assert rc == 0 and outcome(out, TENDER) == ["cosigned"], (json.dumps(out), err)

    # A tender sealed after both cosigned it, then cosigned by A once more after the seal
    # (the sealing checkpoint goes into the read-only file, which stays read-only).
    sarc = os.path.join(adir, SEALED + ".evarc")
    ok(site, "tender", "add", "--session", DAY, "--id", SEALED, "--name", "Sealed")
    assert wait_for(lambda: checkpointed(sarc), 15)
    rc, out, err = a.run(SEALED)
    assert rc == 0 and outcome(out, SEALED) == ["cosigned"], (json.dumps(out), err)
    rc, out, err = b.run(SEALED)
    assert rc == 0 and outcome(out, SEALED) == ["cosigned"], (json.dumps(out), err)
    rc, out, err = site.ctl("tender", "close", SEALED, "--wait", "1", timeout=90)
    assert rc == 0, (out, err)
    mode = os.stat(sarc).st_mode & 0o777
    assert mode & 0o222 == 0, oct(mode)
    # Without --tender: every tender archive (TC still refused, TD cosigned).
    rc, out, err = a.run()
    assert rc == 1 and outcome(out, SEALED) == ["cosigned"], (json.dumps(out), err)
    assert outcome(out, TENDER) == ["refused"], out
    assert os.stat(sarc).st_mode & 0o777 == mode
    rc, out, err = a.run(SEALED)
    assert rc == 0 and outcome(out, SEALED) == ["sealed"], (json.dumps(out), err)

    pol_a = tmp_path / "policy-a"
    pol_a.write_text("# the supervision room\n%s\n" % vkey_a)
    c_key = keygen(tmp_path / "c.key")
    c = Cosigner(site, SUPERVISOR, "second-site.example/w", c_key, tmp_path / "c.state", pub)
    pol_ac = tmp_path / "policy-ac"
    pol_ac.write_text("%s\n%s\n" % (vkey_a, c.vkey()))

    # Without a policy the cosignatures are listed, not required.
    rc, out = verify(bin_dir, sarc, "--pubkey", pub)
    assert rc == 0 and "cosignatures: 3 stored, not checked" in out, out
    # A policy of 1: A cosigned the final (sealing) checkpoint.
    rc, out = verify(bin_dir, sarc, "--pubkey", pub, "--cosigners", pol_a, "--min-cosigners",
                     "1")
    assert rc == 0, out
    assert "is cosigned by 1 of the policy's 1 cosigners" in out, out
    assert "valid: %s" % NAME_A in out and "unknown key: %s" % NAME_B in out, out
    # A policy of 2 with a key that never cosigned: fails, naming it.
    rc, out = verify(bin_dir, sarc, "--pubkey", pub, "--cosigners", pol_ac, "--min-cosigners",
                     "2")
    assert rc == 1 and out.startswith("FAILED"), out
    assert "cosigned by 1 of the 2 cosigners required" in out and \
        "missing: second-site.example/w" in out, out
    # B cosigned only before the seal: with B in the policy, the final checkpoint lacks it.
    pol_b = tmp_path / "policy-b"
    pol_b.write_text(vkey_b + "\n")
    rc, out = verify(bin_dir, sarc, "--pubkey", pub, "--cosigners", pol_b)
    assert rc == 1 and "missing: %s" % NAME_B in out, out

    # A tampered cosignature is named.
    bad = tmp_path / "bad.evarc"
    shutil.copyfile(sarc, bad)
    os.chmod(bad, 0o644)
    db = sqlite3.connect(bad)
    with db:
        sig = db.execute("SELECT signature FROM cosignatures WHERE id = 3").fetchone()[0]
        db.execute("UPDATE cosignatures SET signature = ? WHERE id = 3",
                   (bytes([sig[0] ^ 1]) + sig[1:],))
    db.close()
    rc, out = verify(bin_dir, bad, "--pubkey", pub, "--cosigners", pol_a, "--min-cosigners",
                     "1")
    assert rc == 1 and "BAD SIGNATURE: %s" % NAME_A in out, out
    assert "cosignatures row 3: the cosignature of %s" % NAME_A in out, out

    # One cosignature checked from the C2SP text alone (tlog-cosignature, Ed25519).
    db = sqlite3.connect("file:%s?mode=ro" % sarc, uri=True)
    body, t, sig, kid = db.execute(
        "SELECT c.body, s.time, s.signature, s.key_id FROM cosignatures s "
        "JOIN checkpoints c ON c.id = s.checkpoint WHERE s.id = 3").fetchone()
    db.close()
    raw = base64.b64decode(vkey_a.split("+", 2)[2])  # the base64 may hold '+' too
    assert raw[0] == 0x04
    assert hashlib.sha256(NAME_A.encode() + b"\n\x04" + raw[1:]).hexdigest()[:8] == kid
    # ... and with the openssl lines of docs/archive-format.md, run by bash as written.
    doc = open(os.path.join(os.path.dirname(__file__), "..", "..", "docs",
                            "archive-format.md")).read()
    start = doc.index("F=T-2026-001.evarc; ROW=3; VKEY=")
    lines = doc[start:doc.index("```", start)].split("\n")
    lines[0] = "F=%s; ROW=3; VKEY='%s'" % (sarc, vkey_a)
    work = tmp_path / "by-hand"
    work.mkdir()
    r = subprocess.run(["bash", "-euc", "\n".join(lines)], cwd=work, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and "Signature Verified Successfully" in r.stdout, \
        (r.stdout, r.stderr)
    with open(work / "msg", "ab") as f:
        f.write(b"x")
    r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey",
                        "cosigner.pub", "-rawin", "-in", "msg", "-sigfile", "sig.bin"],
                       cwd=work, capture_output=True, text=True)
    assert r.returncode != 0
    key = serialization.load_pem_private_key(open(a.key, "rb").read(), None)
    key.public_key().verify(sig, b"cosignature/v1\ntime %d\n" % t + body.encode())
    assert raw[1:] == key.public_key().public_bytes(serialization.Encoding.Raw,
                                                   serialization.PublicFormat.Raw)


def test_cosigner_learns_the_new_key_from_the_signed_rotation(site, bin_dir, tmp_path):
    """After the controller's key rotation (docs/archives.md, "Rotating and revoking the
    signing key") a cosigner provisioned with the old key goes on cosigning: it learns the new
    key from the controller's key history (each rotation signed by the old and the new key),
    keeps what it learnt (STATE.key-history) and refuses a history without its key or one that
    drops an entry it learnt."""
    ctl = site.start_controller(extra="checkpoint_interval_s=1\n")
    conf = os.path.join(site.tmp, "controller.conf")
    adir = os.path.join(site.tmp, "controller-state", "archive")
    arc = os.path.join(adir, TENDER + ".evarc")
    old_pub = str(tmp_path / "controller-old.pub")
    shutil.copyfile(site.prov.signing_key.replace(".key", ".pub"), old_pub)
    path = tmp_path / "site.json"
    path.write_text(json.dumps(watchers.site_dict()))
    ok(site, "site", "import", str(path))
    ok(site, "session", "create", "--date", DAY)
    ok(site, "tender", "add", "--session", DAY, "--id", TENDER, "--name", "Cosigned")
    assert wait_for(lambda: checkpointed(arc), 15)
    a = Cosigner(site, SUPERVISOR, NAME_A, keygen(tmp_path / "a.key"), tmp_path / "a.state",
                 old_pub)
    rc, out, err = a.run(TENDER)
    assert rc == 0 and outcome(out, TENDER) == ["cosigned"], (json.dumps(out), err)

    ctl.stop()
    r = subprocess.run([os.path.join(bin_dir, "evalroom-controller"), "--config", conf,
                        "--rotate-key", "--reason", "yearly rotation"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    ctl.start()
    assert ctl.wait_log("connected to the broker"), ctl.log()
    record(site, TENDER, 3)

    def signed_with_history():
        db = sqlite3.connect("file:%s?mode=ro" % arc, uri=True)
        try:
            n = db.execute("SELECT count(*) FROM key_history").fetchone()[0]
        finally:
            db.close()
        return n == 1 and newest_size(arc) == leaves(arc) + n

    assert wait_for(signed_with_history, 15)
    db = sqlite3.connect("file:%s?mode=ro" % arc, uri=True)
    body = db.execute("SELECT body FROM checkpoints ORDER BY id DESC LIMIT 1").fetchone()[0]
    db.close()
    new_id = hashlib.sha256(subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", site.prov.signing_key.replace(".key", ".pub"),
         "-outform", "DER"], capture_output=True, check=True).stdout[-32:]).hexdigest()
    assert "\nkey %s\n" % new_id in body, body

    # Still given the old key only: the new one is learnt from the signed rotation.
    rc, out, err = a.run(TENDER)
    assert rc == 0 and outcome(out, TENDER) == ["cosigned"], (json.dumps(out), err)
    learnt = open(str(a.state) + ".key-history").read()
    assert learnt == open(os.path.join(site.tmp, "controller-state", "key-history.log")).read()
    rc, text, err = site.ctl("archive", "cosign", "--key", a.key, "--name", NAME_A, "--pubkey",
                             old_pub, "--state", str(tmp_path / "fresh.state"), "--tender",
                             TENDER, identity=SUPERVISOR, json_out=False, timeout=60)
    assert rc == 0 and "learnt the controller's key history (1 entries; signing key %s)" % \
        new_id in text, (text, err)
    (tmp_path / "policy").write_text(a.vkey() + "\n")
    rc, text = verify(bin_dir, arc, "--pubkey", old_pub, "--cosigners", str(tmp_path / "policy"),
                      "--min-cosigners", "1")
    assert rc == 0 and "valid: %s" % NAME_A in text, text

    # A cosigner given a key that is not in the controller's history learns nothing.
    other = tmp_path / "other.pub"
    subprocess.run(["openssl", "pkey", "-in", keygen(tmp_path / "other.key"), "-pubout", "-out",
                    str(other)], check=True)
    rc, out, err = site.ctl("archive", "cosign", "--key", a.key, "--name", NAME_A, "--pubkey",
                            str(other), "--state", str(tmp_path / "o.state"), "--tender", TENDER,
                            identity=SUPERVISOR, timeout=60)
    assert rc == 1 and outcome(out, TENDER) == ["refused"], (json.dumps(out), err)
    assert "does not hold the key given with --pubkey" in err, err
    # What it learnt must stay the beginning of the controller's history: a learnt entry the
    # controller no longer shows (here: one more in the cosigner's copy) is refused.
    subprocess.run([os.path.join(bin_dir, "evalroom-archive-fixture"), "key-rotate",
                    str(a.state) + ".key-history", site.prov.signing_key,
                    keygen(tmp_path / "next.key"), "9999999999999999", "not the controller's"],
                   check=True, capture_output=True)
    record(site, TENDER, 1)
    assert wait_for(signed_with_history, 15)
    rc, out, err = a.run(TENDER)
    assert rc == 1 and outcome(out, TENDER) == ["refused"], (json.dumps(out), err)
    assert "does not begin with the 2 entries this cosigner learnt before" in err, err
