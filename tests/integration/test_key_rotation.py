"""Key rotation and revocation with the real controller (docs/archives.md, "Rotating and
revoking the signing key"; docs/archive-format.md, "Key history"): two tenders record the real
agent's segments; the custodian rotates the signing key with the controller stopped (refused
while it runs); restarted, the controller writes the rotation into both open archives and
signs what follows with the new key; a tender closed then verifies with the old and with the
new public key and reports both keys; `evalroomctl keys list` shows the history; the archive
fetch (which checks the file and the root log) still hands it out. Then the old key is revoked
from a time before checkpoints it signed: the tender still open gets the revocation and fails
`verify` naming the key and the time; the tender sealed before fails against the history
file; an entry with a bad signature in the history file stops the controller's start."""
import base64
import hashlib
import os
import re
import sqlite3
import subprocess
import time

import pytest

import harness
from daemons import Site, streams_config, wait_for

DAY = time.strftime("%Y-%m-%d")
ROOM = "E1"
COMMITTEE_TA = ("person_id,name,id_number,role\n"
                "xp-wang,Wang Li,11010519491231002X,expert\n"
                "xp-zhou,Zhou Min,110105194912310038,expert\n")
COMMITTEE_TB = ("person_id,name,id_number,role\nxp-sun,Sun Yu,310101198001010018,expert\n"
                "xp-lin,Lin Hao,310101198001010026,expert\n")


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120,
                          **kw)


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    yield s
    s.close()


def ok(site, *args, **kw):
    rc, out, err = site.ctl(*args, **kw)
    assert rc == 0, (args, out, err)
    return out


def rows(path, sql, *args):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def key_id(pub):
    """A key's id: SHA-256 of its raw Ed25519 public key (the last 32 bytes of its DER)."""
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", pub, "-outform", "DER"],
                         capture_output=True, check=True).stdout
    return hashlib.sha256(der[-32:]).hexdigest()


def checkpoint_keys(path):
    """(id, time_us, key id of its key line) of every checkpoint."""
    out = []
    for cid, t, body in rows(path, "SELECT id, time_us, body FROM checkpoints ORDER BY id"):
        out.append((cid, t, re.search(r"^key ([0-9a-f]{64})$", body, re.M).group(1)))
    return out


def iso(us):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(us // 1_000_000)) + \
        ".%06dZ" % (us % 1_000_000)


def test_rotate_and_revoke_with_the_real_controller(site, tmp_path, bin_dir):
    extra = "checkpoint_interval_s=1\n"
    ctl = site.start_controller(extra=extra)
    conf = os.path.join(site.tmp, "controller.conf")
    controller = os.path.join(bin_dir, "evalroom-controller")
    tool = os.path.join(bin_dir, "evalroom-archive")
    state = os.path.join(site.tmp, "controller-state")
    adir = os.path.join(state, "archive")
    ok(site, "site", "import", harness.EXAMPLE_SITE)
    ok(site, "session", "create", "--date", DAY)
    ok(site, "tender", "add", "--session", DAY, "--id", "TA", "--name", "Ring road")
    ok(site, "tender", "add", "--session", DAY, "--id", "TB", "--name", "School")
    for t, text in (("TA", COMMITTEE_TA), ("TB", COMMITTEE_TB)):
        p = tmp_path / ("%s.csv" % t)
        p.write_text(text)
        ok(site, "committee", "import", "--tender", t, str(p))
    c = ok(site, "draw", "commit", "--session", DAY)["commitment"]
    assert site.witness_run(DAY, "kestrel 5512", c)[0] == 0
    ids = {line.split(",")[0]: line.split(",")[2] for text in (COMMITTEE_TA, COMMITTEE_TB)
           for line in text.splitlines()[1:]}
    for a in site.seat_map(DAY):
        if a["room"] == ROOM:
            ok(site, "desk", "checkin", "--person", a["person"], "--id-number",
               ids[a["person"]], "--screening", "passed")

    def path(t):
        return os.path.join(adir, t + ".evarc")

    def segments(t):
        return rows(path(t), "SELECT count(*) FROM segments WHERE stream = 'cam-E1'")[0][0]

    agent = site.start_agent(ROOM, extra=streams_config(["cam-E1"], [], segment_s=1,
                                                         audio=False))
    assert wait_for(lambda: segments("TA") >= 2 and segments("TB") >= 2, timeout=30), \
        agent.log()
    old_pub = site.prov.signing_pub
    k0 = key_id(old_pub)
    assert wait_for(lambda: len(checkpoint_keys(path("TA"))) >= 2, timeout=10)

    # While the controller runs, the key cannot be rotated.
    r = run([controller, "--config", conf, "--rotate-key", "--reason", "yearly rotation"])
    assert r.returncode == 1 and "the controller is running" in r.stderr, r.stdout + r.stderr
    r = run([controller, "--config", conf, "--rotate-key"])
    assert r.returncode == 2 and "--reason" in r.stderr, r.stderr

    ctl.stop()
    r = run([controller, "--config", conf, "--rotate-key", "--reason", "yearly rotation"])
    assert r.returncode == 0, r.stdout + r.stderr
    kept_pub = old_pub.replace(".pub", "-%s.pub" % k0[:16])
    assert os.path.exists(kept_pub) and key_id(kept_pub) == k0
    assert os.stat(site.prov.signing_key).st_mode & 0o777 == 0o600
    k1 = key_id(old_pub)  # the configured name now holds the new key
    assert k1 != k0 and "replaced by key %s" % k1 in r.stdout, r.stdout
    rotated_us = int(time.time() * 1e6)

    ctl.start()
    assert ctl.wait_log("connected to the broker"), ctl.log()
    # Both open archives get the rotation when reopened (on their next record) and go on
    # with checkpoints by the new key.
    for t in ("TA", "TB"):
        assert wait_for(lambda: rows(path(t), "SELECT count(*) FROM key_history")[0][0] == 1,
                        timeout=15), ctl.log()
    n = segments("TA")
    assert wait_for(lambda: segments("TA") >= n + 2, timeout=30), ctl.log()
    assert wait_for(lambda: sum(k == k1 for _, _, k in checkpoint_keys(path("TA"))) >= 2,
                    timeout=10)
    keys = [k for _, _, k in checkpoint_keys(path("TA"))]
    assert keys[0] == k0 and keys[-1] == k1 and keys == sorted(keys, key=lambda k: k == k1)

    listed = ok(site, "keys", "list")
    assert [(k["id"], k["state"]) for k in listed["keys"]] == [(k0, "retired"), (k1, "current")]
    assert listed["keys"][1]["from_us"] == listed["keys"][0]["to_us"] <= rotated_us
    rc, text, err = site.ctl("keys", "list", json_out=False)
    assert rc == 0 and re.search(r"KEY ID\s+ALGORITHM\s+FROM\s+TO\s+STATE", text), text
    assert k0 in text and "retired" in text and "current" in text, text
    env = dict(os.environ, LC_ALL="zh_CN.UTF-8", LANG="zh_CN.UTF-8")
    env.pop("LANGUAGE", None)
    rc, text, err = site.ctl("keys", "list", json_out=False, env=env)
    assert rc == 0 and re.search(r"密钥标识\s+算法\s+起\s+止\s+状态", text), text
    assert "已轮换" in text and "当前" in text, text

    out = ok(site, "tender", "close", "TA", "--wait", "10", timeout=60)
    for pub in (kept_pub, old_pub):
        r = run([tool, "verify", path("TA"), "--pubkey", pub, "--roots",
                 os.path.join(state, "roots.log"), "--key-history",
                 os.path.join(state, "key-history.log")])
        assert r.returncode == 0, r.stdout + r.stderr
        assert re.search(r"keys: 1 rotation\(s\), 0 revocation\(s\) in the key history; "
                         r"signed by key %s \(checkpoints 1-\d+\), key %s \(checkpoints "
                         r"\d+-\d+\)" % (k0, k1), r.stdout), r.stdout
    # The checkpoint the reopened archive made with the new key is in the root log too.
    first_k1 = next(c for c in rows(path("TA"), "SELECT id, tree_size, body FROM checkpoints "
                                     "ORDER BY id") if "\nkey %s\n" % k1 in c[2])
    published = [line.split() for line in open(os.path.join(state, "roots.log"))]
    assert any(p[2] == "TA" and int(p[3]) == first_k1[1] for p in published), first_k1
    # The last checkpoint, exported for openssl: its note and key are the new key's.
    ck = tmp_path / "ck"
    assert run([tool, "checkpoint", path("TA"), "--export", ck]).returncode == 0
    assert key_id(str(ck / "embedded-signing.pub")) == k1
    r = run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", old_pub, "-rawin", "-in",
             ck / "checkpoint.txt", "-sigfile", ck / "checkpoint.sig"])
    assert "Signature Verified Successfully" in r.stdout, r.stdout + r.stderr
    vkey = (ck / "embedded-signing.vkey").read_text().strip()
    assert hashlib.sha256(base64.b64decode(vkey.split("+", 2)[2])[1:]).hexdigest() == k1
    # The custodian's fetch checks the file and the root log across the rotation.
    fetched = tmp_path / "TA.evarc"
    res = ok(site, "archive", "fetch", "TA", "--reason", "audit after rotation", "-o",
             str(fetched), identity="auditor-" + site.prov.site["auditors"][0])
    assert res["tree_size"] == out["tree_size"] and fetched.exists()

    # Revoke the old key from the time of TA's first checkpoint: checkpoints it signed
    # after that are no longer trusted.
    first_us = checkpoint_keys(path("TA"))[0][1]
    ctl.stop()
    r = run([controller, "--config", conf, "--revoke-key", k0[:12], "--from", iso(first_us),
             "--reason", "key file found on a lost laptop"])
    assert r.returncode == 0 and "revoked: key %s" % k0 in r.stdout, r.stdout + r.stderr
    r = run([controller, "--config", conf, "--revoke-key", k1, "--from", iso(first_us),
             "--reason", "x"])
    assert r.returncode == 1 and "current key" in r.stderr, r.stderr
    ctl.start()
    assert ctl.wait_log("connected to the broker"), ctl.log()
    listed = ok(site, "keys", "list")
    assert listed["keys"][0]["state"] == "revoked" and \
        listed["keys"][0]["revoked_from_us"] == first_us, listed
    rc, text, err = site.ctl("keys", "list", json_out=False)
    assert rc == 0 and "revoked from" in text, text
    assert wait_for(lambda: rows(path("TB"), "SELECT count(*) FROM key_history")[0][0] == 2,
                    timeout=15), ctl.log()
    ok(site, "tender", "close", "TB", "--wait", "10", timeout=60)
    r = run([tool, "verify", path("TB"), "--pubkey", old_pub])
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(r"checkpoints row \d+: signed at \S+ by key %s, which is revoked from %s "
                     r"\(key file found on a lost laptop\)" % (k0, re.escape(iso(first_us))),
                     r.stdout), r.stdout
    # TA was sealed before the revocation: on its own it verifies, against the history it
    # fails the same way.
    assert run([tool, "verify", path("TA"), "--pubkey", old_pub]).returncode == 0
    r = run([tool, "verify", path("TA"), "--pubkey", old_pub, "--key-history",
             os.path.join(state, "key-history.log")])
    assert r.returncode == 1 and "by key %s, which is revoked from" % k0 in r.stdout, r.stdout

    # A history entry with a bad signature: the controller does not start, naming it.
    ctl.stop()
    hist = os.path.join(state, "key-history.log")
    lines = open(hist).read().split("\n")
    f = lines[0].split(" ")
    sig = bytearray(base64.b64decode(f[1]))
    sig[3] ^= 0x40
    f[1] = base64.b64encode(bytes(sig)).decode()
    with open(hist, "w") as h:
        h.write("\n".join([" ".join(f)] + lines[1:]))
    ctl.start()
    assert wait_for(lambda: not ctl.alive(), timeout=10)
    assert "line 1 (entry 0): its signature by the old key %s does not verify" % k0 in \
        ctl.log(this_run=True), ctl.log(this_run=True)
    assert site.schema_problems() == []
