"""Transfer (移交) of sealed archives between custodians and evidence holds by a supervisor
(issue 20, items 6 and 7), with the real broker and controller and evalroomctl as each
identity would run it:
- `archive transfer` by the custodian handing over fetches the sealed archives into a
  new directory and signs a manifest (files, sizes, SHA-256, tree sizes, roots, from, to,
  why) with their own signing certificate; `archive receive` by the custodian
  named checks every file against the manifest and the roots the site published, verifies it
  in full, and countersigns a receipt. Both signatures check with openssl alone, and each
  step is a line in the custody log;
- a file altered after prepare: receive names it, signs nothing, and the refusal is in the
  custody log; another custodian than the one named cannot receive; a desk cannot prepare;
- a supervisor places and releases an evidence hold; a witness cannot."""
import copy
import json
import os
import subprocess

import pytest

import harness
from daemons import Site

DAY = "2030-05-07"


@pytest.fixture
def site(bin_dir, tmp_path):
    s = json.load(open(harness.EXAMPLE_SITE))
    s = copy.deepcopy(s)
    s["auditors"] = ["audit1", "audit2", "audit3"]
    s["supervisors"] = ["super1"]
    path = tmp_path / "site-transfer.json"
    path.write_text(json.dumps(s))
    st = Site(bin_dir, tmp_path, site=s)
    st.site_file = str(path)
    yield st
    st.close()


def ok(site, *args, **kw):
    rc, out, err = site.ctl(*args, **kw)
    assert rc == 0, (args, out, err)
    return out


def openssl_verify(doc, sig, cert, tmp_path):
    pub = tmp_path / "signer.pub"
    subprocess.run(["openssl", "x509", "-in", str(cert), "-pubkey", "-noout", "-out", str(pub)],
                   check=True, capture_output=True)
    r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(pub), "-rawin",
                        "-in", str(doc), "-sigfile", str(sig)], capture_output=True, text=True)
    return r.returncode == 0 and "Signature Verified Successfully" in r.stdout


def test_transfer_and_supervisor_hold(site, tmp_path):
    a, b, c = "auditor-audit1", "auditor-audit2", "auditor-audit3"
    state = os.path.join(site.tmp, "controller-state")
    site.start_controller(extra="checkpoint_interval_s=1\n")
    ok(site, "site", "import", site.site_file)
    ok(site, "session", "create", "--date", DAY)
    for t in ("TA", "TB"):
        ok(site, "tender", "add", "--session", DAY, "--id", t, "--name", "Transfer " + t)
        ok(site, "tender", "close", t, "--wait", "0", timeout=90)

    # Holds by the regulator's representative: placed and released; a witness may not.
    rc, out, _ = site.ctl("archive", "hold", "TA", "--reason", "x", identity=site.witness)
    assert rc != 0 and out["error"]["code"] == "denied", out
    h = ok(site, "archive", "hold", "TA", "--reason", "complaint 31 under review",
           identity="supervisor-super1")
    assert ok(site, "archives")["archives"][0]["holds"] == 1
    ok(site, "archive", "release", "TA", "--hold", str(h["hold"]), "--reason",
       "complaint withdrawn", identity="supervisor-super1")
    custody = [json.loads(l) for l in open(os.path.join(state, "custody.log"))]
    held = [l for l in custody if l["kind"] in ("hold", "release")]
    assert [(l["kind"], l["identity"]) for l in held] == [
        ("hold", "supervisor-super1"), ("release", "supervisor-super1")], held

    # Prepare: a desk may not; the custodian fetches both archives and signs the manifest.
    out_dir = tmp_path / "handover"
    rc, out, _ = site.ctl("archive", "transfer", "--tender", "TA", "--to", b,
                          "--reason", "x", "-o", str(tmp_path / "desk"),
                          identity="desk-" + site.prov.site["desks"][0])
    assert rc != 0, out
    rc, _, err = site.ctl("archive", "transfer", "--tender", "TA", "--to",
                          "operator-olivia", "--reason", "x", "-o", str(tmp_path / "op"),
                          identity=a)
    assert rc == 2 and "not a custodian" in err and not (tmp_path / "op").exists(), err
    rc, text, err = site.ctl("archive", "transfer", "--tender", "TA", "--tender",
                             "TB", "--to", b, "--reason", "custodian leaves office 2030-06",
                             "-o", str(out_dir), identity=a, json_out=False)
    assert rc == 0, (text, err)
    assert "Transfer of 2 archives" in text and "archive receive " in text, text
    manifest = json.loads((out_dir / "transfer.json").read_text())
    assert manifest["from"] == a and manifest["to"] == b
    assert manifest["reason"] == "custodian leaves office 2030-06"
    files = {f["tender"]: f for f in manifest["files"]}
    assert set(files) == {"TA", "TB"}
    for t, f in files.items():
        data = (out_dir / f["file"]).read_bytes()
        assert len(data) == f["bytes"] and len(f["root"]) == 64 and f["tree_size"] > 0
        import hashlib
        assert hashlib.sha256(data).hexdigest() == f["sha256"]
    assert openssl_verify(out_dir / "transfer.json", out_dir / "transfer.json.sig",
                          out_dir / (a + ".signing.crt"), tmp_path)

    # Another custodian than the one named cannot take it over.
    rc, _, err = site.ctl("archive", "receive", str(out_dir), identity=c)
    assert rc != 0 and "not to " + c in err, err

    # A second handover whose file is altered after prepare: named, nothing signed.
    bad_dir = tmp_path / "handover-bad"
    ok(site, "archive", "transfer", "--tender", "TB", "--to", b, "--reason",
       "second copy", "-o", str(bad_dir), identity=a)
    tb = bad_dir / "TB.evarc"
    os.chmod(tb, 0o600)
    data = bytearray(tb.read_bytes())
    data[len(data) // 2] ^= 0x01
    tb.write_bytes(bytes(data))
    rc, _, err = site.ctl("archive", "receive", str(bad_dir), identity=b,
                          json_out=False)
    assert rc == 1, err
    assert "not signed" in err and "TB.evarc: altered after it was prepared" in err, err
    assert not (bad_dir / "receipt.json").exists()

    # Receive: every file verified against the manifest and the published roots.
    rc, text, err = site.ctl("archive", "receive", str(out_dir), identity=b,
                             json_out=False)
    assert rc == 0, (text, err)
    assert "Received 2 archives from " + a in text, text
    receipt = json.loads((out_dir / "receipt.json").read_text())
    assert receipt["to"] == b and receipt["from"] == a and receipt["result"] == "verified"
    import hashlib
    assert receipt["manifest_sha256"] == hashlib.sha256(
        (out_dir / "transfer.json").read_bytes()).hexdigest()
    assert {f["tender"] for f in receipt["files"]} == {"TA", "TB"}
    assert openssl_verify(out_dir / "receipt.json", out_dir / "receipt.json.sig",
                          out_dir / (b + ".signing.crt"), tmp_path)
    # Received once only.
    rc, _, err = site.ctl("archive", "receive", str(out_dir), identity=b)
    assert rc != 0 and "already received" in err + json.dumps(_), err

    # The custody log: transfer, refusal and receipt, by whom.
    log = ok(site, "archive", "custody-log")["records"]
    kinds = [(r["kind"], r["tender"], r["identity"]) for r in log
             if r["kind"].startswith("transfer")]
    assert ("transfer", "TA", a) in kinds and ("transfer", "TB", a) in kinds, kinds
    assert ("transfer_refused", "TB", b) in kinds, kinds
    assert ("transfer_received", "TA", b) in kinds and ("transfer_received", "TB", b) in kinds
    refused = [r for r in log if r["kind"] == "transfer_refused"]
    assert "TB.evarc: altered after it was prepared" in refused[0]["reason"], refused
    # Each file handed over was fetched (and so recorded) first.
    fetches = ok(site, "archive", "access-log")["records"]
    assert sum(1 for f in fetches if f["identity"] == a) == 3, fetches
    assert site.schema_problems() == []


def test_transfer_after_a_key_rotation(site, tmp_path, bin_dir):
    """An archive sealed under the previous signing key is handed over after a rotation: the
    transfer's fetch and the receiver's checks verify it against the key history the
    controller publishes with its roots (docs/archives.md, "Rotating and revoking")."""
    a, b = "auditor-audit1", "auditor-audit2"
    ctl = site.start_controller(extra="checkpoint_interval_s=1\n")
    ok(site, "site", "import", site.site_file)
    ok(site, "session", "create", "--date", DAY)
    ok(site, "tender", "add", "--session", DAY, "--id", "TA", "--name", "Before the rotation")
    ok(site, "tender", "close", "TA", "--wait", "0", timeout=90)
    ctl.stop()
    r = subprocess.run([os.path.join(bin_dir, "evalroom-controller"), "--config",
                        os.path.join(site.tmp, "controller.conf"), "--rotate-key", "--reason",
                        "yearly rotation"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    ctl.start()
    assert ctl.wait_log("connected to the broker"), ctl.log()
    out_dir = tmp_path / "handover"
    rc, text, err = site.ctl("archive", "transfer", "--tender", "TA", "--to", b, "--reason",
                             "custodian leaves office", "-o", str(out_dir), identity=a,
                             json_out=False)
    assert rc == 0, (text, err)
    rc, text, err = site.ctl("archive", "receive", str(out_dir), identity=b, json_out=False)
    assert rc == 0, (text, err)
    assert "Received 1 archives from " + a in text, text
    assert site.schema_problems() == []
