"""RFC 3161 timestamps of the final checkpoint (docs/archive-format.md, "Timestamps"): the
real controller with [controller] tsa_url timestamps each tender it seals; a
local TSA made of `openssl ts -reply` and its own CA (tests/integration/tsa.py) timestamps a
sealed archive (and the controller's copy in its backup store is made again to hold the
token); `verify` checks the token (with and without the TSA's CA) and so does
`openssl ts -verify` as the docs show it; a token for the wrong hash is refused when added
and named when forged into the file; a TSA that is down leaves the archive sealed and
verifying, the missing token reported, and the token can be added later."""
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess

import pytest

import harness
import tsa as local_tsa
from daemons import Site, wait_for


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120,
                          **kw)


@pytest.fixture(scope="module")
def tsa(tmp_path_factory):
    t = local_tsa.TSA(str(tmp_path_factory.mktemp("tsa")))
    yield t
    t.close()


@pytest.fixture
def sealed(tmp_path, bin_dir):
    seg = tmp_path / "seg.ts"
    seg.write_bytes(b"\x47" * 188 * 20)
    key, pub = tmp_path / "k.key", tmp_path / "k.pub"
    assert run([f"{bin_dir}/evalroom-archive-fixture", "keygen", key, pub]).returncode == 0
    arc = tmp_path / "T-TS.evarc"
    r = run([f"{bin_dir}/evalroom-archive-fixture", "build", arc, key, "--seal", "--tender",
             "T-TS", "--site", "zj-ggzy.example", seg])
    assert r.returncode == 0, r.stderr
    assert os.stat(arc).st_mode & 0o777 == 0o444
    return {"arc": arc, "pub": pub}


@pytest.fixture
def tool(bin_dir):
    return lambda *args: run([f"{bin_dir}/evalroom-archive"] + list(args))


def test_timestamp_added_checked_by_verify_and_by_openssl(sealed, tsa, tool, tmp_path):
    arc = sealed["arc"]
    r = tool("timestamp", arc, "--tsa", tsa.url)
    assert r.returncode == 0 and "timestamp stored for checkpoints row" in r.stdout, r.stderr
    assert os.stat(arc).st_mode & 0o777 == 0o444  # sealed stays read-only
    r = tool("verify", arc, "--pubkey", sealed["pub"], "--tsa-ca", tsa.ca)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "timestamp: the last checkpoint existed at" in r.stdout
    assert "CN=evalroom test TSA" in r.stdout and "checked up to --tsa-ca" in r.stdout
    r = tool("verify", arc, "--pubkey", sealed["pub"])
    assert r.returncode == 0 and "pass --tsa-ca to prove which TSA" in r.stdout, r.stdout
    # The docs' line, on the exported checkpoint.
    out = tmp_path / "cp"
    r = tool("checkpoint", arc, "--export", out)
    assert r.returncode == 0 and (out / "checkpoint.tst").exists(), r.stdout + r.stderr
    r = run(["openssl", "ts", "-verify", "-data", out / "checkpoint.txt", "-in",
             out / "checkpoint.tst", "-token_in", "-CAfile", tsa.ca])
    assert r.returncode == 0 and "Verification: OK" in r.stdout, r.stdout + r.stderr
    # Against another CA the chain does not verify.
    other = local_tsa.make_tsa_pki(str(tmp_path / "other"))
    r = tool("verify", arc, "--pubkey", sealed["pub"], "--tsa-ca", f"{other}/ca.pem")
    assert r.returncode == 1 and "does not verify up to the given TSA CA" in r.stdout, r.stdout


def test_token_for_the_wrong_hash(sealed, tsa, tool, tmp_path):
    arc = sealed["arc"]
    tsa.mode = "wrong-hash"
    try:
        r = tool("timestamp", arc, "--tsa", tsa.url)
    finally:
        tsa.mode = "ok"
    assert r.returncode == 1 and "for another hash" in r.stderr, r.stdout + r.stderr
    assert sqlite3.connect(arc).execute("SELECT count(*) FROM timestamps").fetchone()[0] == 0
    # Forged into the file directly, verify names it.
    wrong = tmp_path / "wrong.tsr"
    wrong.write_bytes(local_tsa.reply_for(tsa.dir, local_tsa.sh(
        "openssl", "ts", "-query", "-digest", "11" * 32, "-sha256", "-cert"), "tsa_signer_only"))
    token = local_tsa.sh("openssl", "ts", "-reply", "-in", wrong, "-token_out")
    os.chmod(arc, 0o644)
    db = sqlite3.connect(arc)
    db.execute("INSERT INTO timestamps (checkpoint, token) VALUES "
               "((SELECT max(id) FROM checkpoints), ?)", (token,))
    db.commit()
    db.close()
    r = tool("verify", arc, "--pubkey", sealed["pub"], "--tsa-ca", tsa.ca)
    assert r.returncode == 1, r.stdout
    assert "timestamps row 1" in r.stdout and "for another hash" in r.stdout, r.stdout


def test_tsa_down_seals_anyway_reports_missing_and_adds_later(sealed, tsa, tool):
    arc = sealed["arc"]
    r = tool("timestamp", arc, "--tsa", local_tsa.dead_url(), "--timeout-ms", "3000")
    assert r.returncode == 4 and "cannot connect" in r.stderr, r.stdout + r.stderr
    r = tool("verify", arc, "--pubkey", sealed["pub"])
    assert r.returncode == 0 and "sealed" in r.stdout, r.stdout
    assert "the final checkpoint has no RFC 3161 timestamp" in r.stdout
    r = tool("timestamp", arc, "--tsa", tsa.url)
    assert r.returncode == 0, r.stderr
    r = tool("verify", arc, "--pubkey", sealed["pub"], "--tsa-ca", tsa.ca)
    assert r.returncode == 0 and "timestamp: the last checkpoint existed" in r.stdout, r.stdout


def test_reply_file_and_bad_usage(sealed, tsa, tool, tmp_path):
    arc = sealed["arc"]
    out = tmp_path / "cp"
    assert tool("checkpoint", arc, "--export", out).returncode == 0
    q = tmp_path / "q.tsq"
    local_tsa.sh("openssl", "ts", "-query", "-data", out / "checkpoint.txt", "-sha256",
                 "-cert", "-out", q)
    reply = tmp_path / "r.tsr"
    reply.write_bytes(local_tsa.reply_for(tsa.dir, q.read_bytes()))
    r = tool("timestamp", arc, "--reply", reply)
    assert r.returncode == 0, r.stderr
    r = tool("timestamp", arc)
    assert r.returncode == 2 and "exactly one of" in r.stderr
    r = tool("timestamp", arc, "--tsa", "https://tsa.example/")
    assert r.returncode == 4 and "only http://" in r.stderr
    garbage = tmp_path / "g.tsr"
    garbage.write_bytes(b"not DER")
    r = tool("timestamp", arc, "--reply", garbage)
    assert r.returncode == 1 and "not a DER RFC 3161 TimeStampResp" in r.stderr


def timestamps(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return db.execute("SELECT count(*) FROM timestamps").fetchone()[0]
    finally:
        db.close()


def test_controller_timestamps_each_sealed_tender(bin_dir, tmp_path, tsa, tool):
    site = Site(bin_dir, tmp_path)
    try:
        store = tmp_path / "store"
        store.mkdir()
        controller = site.start_controller(
            extra="site=zj-ggzy.example\ntsa_url=%s\ntsa_timeout_ms=3000\n\n[copies]\n"
                  "stores=%s\ncheck_s=1\n" % (tsa.url, store))
        adir = os.path.join(site.tmp, "controller-state", "archive")
        pub = site.prov.signing_key.replace(".key", ".pub")
        for cmd in (("site", "import", harness.EXAMPLE_SITE),
                    ("session", "create", "--date", "2030-05-07"),
                    ("tender", "add", "--session", "2030-05-07", "--id", "TT1", "--name", "A"),
                    ("tender", "add", "--session", "2030-05-07", "--id", "TT2", "--name", "B")):
            rc, out, err = site.ctl(*cmd)
            assert rc == 0, (cmd, out, err)
        rc, out, err = site.ctl("tender", "close", "TT1", "--wait", "1", timeout=90)
        assert rc == 0, (out, err)
        tt1 = os.path.join(adir, "TT1.evarc")
        assert wait_for(lambda: timestamps(tt1) == 1, 20), controller.log()
        r = tool("verify", tt1, "--pubkey", pub, "--tsa-ca", tsa.ca)
        assert r.returncode == 0 and "timestamp: the last checkpoint existed" in r.stdout, r.stdout
        assert os.stat(tt1).st_mode & 0o777 == 0o400  # sealed, readable by the controller only
        # The token came after the seal: the backup store's copy is made again and holds it.
        copy = store / "TT1.evarc"
        assert wait_for(lambda: copy.exists() and copy.read_bytes() == open(tt1, "rb").read(),
                        20), controller.log()
        assert timestamps(str(copy)) == 1
        assert controller.wait_log("TT1 gained an appendix after its seal", 5)
        custody = [json.loads(l) for l in open(os.path.join(site.tmp, "controller-state",
                                                             "custody.log"))]
        copies = [l for l in custody if l["kind"] == "copy" and l["tender"] == "TT1"]
        assert copies and copies[-1]["sha256"] == hashlib.sha256(copy.read_bytes()).hexdigest()
        rc, out, err = site.ctl("archives")
        assert {a["name"]: a for a in out["archives"]}["TT1"]["copies"] == 1, out
        r = tool("checkpoint", tt1)
        assert "zj-ggzy.example/evalroom/TT1" in r.stdout, r.stdout

        # The TSA stops answering: the tender is sealed anyway, the controller says so, the
        # file reports the missing token, and it is added later.
        tsa.mode = "down"
        try:
            rc, out, err = site.ctl("tender", "close", "TT2", "--wait", "1", timeout=90)
            assert rc == 0, (out, err)
            assert controller.wait_log("sealed without an RFC 3161 timestamp", 20), \
                controller.log()
        finally:
            tsa.mode = "ok"
        tt2 = os.path.join(adir, "TT2.evarc")
        r = tool("verify", tt2, "--pubkey", pub)
        assert r.returncode == 0 and "; sealed" in r.stdout, r.stdout
        assert "the final checkpoint has no RFC 3161 timestamp" in r.stdout
        rc, out, err = site.ctl("alerts")
        assert "RFC 3161 timestamp" in json.dumps(out), out
        assert tool("timestamp", tt2, "--tsa", tsa.url).returncode == 0
        r = tool("verify", tt2, "--pubkey", pub, "--tsa-ca", tsa.ca)
        assert r.returncode == 0 and "timestamp: the last checkpoint existed" in r.stdout, r.stdout
    finally:
        site.close()
