"""No unsigned byte (format version 3): every column of every table of a sealed archive is
altered in turn and `evalroom-archive verify` must fail naming it, or name it as unsigned by
design (only format version 1 has such columns); checkpoints chain, the seal time and the
recorded key are signed; a --pubkey other than the recorded key is named. A version 1 archive
written by the earlier writer (tests/integration/data/archive-v1.sql, its SQL dump) still
verifies. The checkpoints are also read by an independent C2SP signed-note/checkpoint parser
written from c2sp.org/signed-note and c2sp.org/tlog-checkpoint. The version 2 archive also
holds two cosignatures of its final checkpoint, written here from c2sp.org/tlog-cosignature
and docs/archive-format.md alone; `verify` runs with both cosigners as its trust policy."""
import base64
import hashlib
import os
import re
import shutil
import sqlite3
import subprocess

import pytest
import tsa as local_tsa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (Ed25519PrivateKey,
                                                               Ed25519PublicKey)

DATA = os.path.join(os.path.dirname(__file__), "data")
SITE = "zj-ggzy.example"
TENDER = "T-2026-042"


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120,
                          **kw)


@pytest.fixture(scope="module")
def material(tmp_path_factory, bin_dir):
    """A sealed version 3 archive of three small segments (the verifier checks bytes and
    hashes, not the container), a checkpoint per segment, a gap and a draw record, and a key
    history of a rotation (from an earlier key to the signing key) and the earlier key's
    revocation, so the key_history table has rows to alter; and the version 1 archive
    restored from its dump."""
    d = tmp_path_factory.mktemp("coverage")
    segs = []
    for i in range(3):
        p = d / f"seg{i}.ts"
        p.write_bytes(hashlib.sha256(b"seg%d" % i).digest() * 100)
        segs.append(str(p))
    key, pub = d / "controller-signing.key", d / "controller-signing.pub"
    assert run([f"{bin_dir}/evalroom-archive-fixture", "keygen", key, pub]).returncode == 0
    # A second key (SM2) beside the Ed25519 one, so its columns hold values to alter too.
    key2 = d / "sm2-signing.key"
    assert run(["openssl", "genpkey", "-algorithm", "SM2", "-out", key2]).returncode == 0
    old_key, old_pub = d / "old-signing.key", d / "old-signing.pub"
    assert run([f"{bin_dir}/evalroom-archive-fixture", "keygen", old_key, old_pub]
               ).returncode == 0
    history = d / "key-history.log"
    t0 = 1795597200000000  # the fixture's first segment; the archive is made an hour before
    assert run([f"{bin_dir}/evalroom-archive-fixture", "key-rotate", history, old_key, key,
                t0 - 7200_000_000, "yearly rotation"]).returncode == 0
    old_id = hashlib.sha256(pubkey_raw(old_pub)).hexdigest()  # the key's id
    assert run([f"{bin_dir}/evalroom-archive-fixture", "key-revoke", history, key, old_key,
                old_id, t0 - 7000_000_000, t0 - 6900_000_000, "retired key destroyed"]
               ).returncode == 0
    arc = d / f"{TENDER}.evarc"
    r = run([f"{bin_dir}/evalroom-archive-fixture", "build", arc, key, "--seal", "--site", SITE,
             "--tender", TENDER, "--checkpoint-every", "1", "--key2", key2, "--key-history",
             history] + segs)
    assert r.returncode == 0, r.stderr
    tsa = local_tsa.TSA(str(d / "tsa"))
    r = run([f"{bin_dir}/evalroom-archive", "timestamp", arc, "--tsa", tsa.url])
    tsa.close()
    assert r.returncode == 0, r.stderr
    policy = cosign(arc, d / "cosigners")
    v1 = d / "v1.evarc"
    db = sqlite3.connect(v1)
    db.executescript("PRAGMA page_size=65536; PRAGMA application_id=1163280722; "
                     "PRAGMA user_version=1;")
    with open(os.path.join(DATA, "archive-v1.sql")) as f:
        db.executescript(f.read())
    db.close()
    return {"dir": d, "arc": arc, "pub": pub, "key": key, "v1": v1,
            "v1pub": os.path.join(DATA, "archive-v1.pub"), "policy": policy}


def cosign(arc, policy):
    """Two cosignatures (Ed25519 cosignature/v1) of the final checkpoint of the sealed
    archive ARC in its appendix table; their vkeys written to POLICY (returned)."""
    db = sqlite3.connect(arc)
    cp, size, body = db.execute("SELECT id, tree_size, body FROM checkpoints "
                                "ORDER BY id DESC LIMIT 1").fetchone()
    db.execute("CREATE TABLE cosignatures (id INTEGER PRIMARY KEY, checkpoint INTEGER NOT "
               "NULL, tree_size INTEGER NOT NULL, name TEXT NOT NULL, key_id TEXT NOT NULL, "
               "time INTEGER NOT NULL, signature BLOB NOT NULL, "
               "UNIQUE (checkpoint, name, key_id))")
    vkeys = []
    for i, name in enumerate(("supervision.example/w1", "regulator.example/w2")):
        key = Ed25519PrivateKey.generate()
        raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                            serialization.PublicFormat.Raw)
        key_id = hashlib.sha256(name.encode() + b"\n\x04" + raw).digest()[:4].hex()
        vkeys.append("%s+%s+%s" % (name, key_id, base64.b64encode(b"\x04" + raw).decode()))
        t = 1795600000 + i
        sig = key.sign(b"cosignature/v1\ntime %d\n" % t + body.encode())
        db.execute("INSERT INTO cosignatures (checkpoint, tree_size, name, key_id, time, "
                   "signature) VALUES (?, ?, ?, ?, ?, ?)", (cp, size, name, key_id, t, sig))
    db.commit()
    db.close()
    policy.write_text("\n".join(vkeys) + "\n")
    return policy


def pubkey_raw(pub_path):
    """The 32 raw bytes of an Ed25519 public key PEM (the last 32 of its DER)."""
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", str(pub_path), "-outform", "DER"],
                         capture_output=True, check=True).stdout
    return der[-32:]


@pytest.fixture
def tool(bin_dir):
    return lambda *args: run([f"{bin_dir}/evalroom-archive"] + list(args))


def copy_of(src, tmp_path, name="copy.evarc"):
    path = tmp_path / name
    shutil.copyfile(src, path)
    os.chmod(path, 0o644)
    return path


def sql(path, *statements, params=()):
    db = sqlite3.connect(path)
    db.execute("PRAGMA ignore_check_constraints=ON")
    for s in statements:
        db.execute(s, params)
    db.commit()
    db.close()


def caught(r, *needles):
    out = r.stdout + r.stderr
    assert r.returncode == 1 and out.startswith("FAILED"), (r.returncode, out)
    for n in needles:
        assert n in out, out


def table_columns(path):
    db = sqlite3.connect(path)
    tables = [t for (t,) in db.execute(
        "SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name")]
    cols = {t: [c[1] for c in db.execute(f"PRAGMA table_info({t})")] for t in tables}
    rows = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    db.close()
    return cols, rows


def alteration(path, table, column, which):
    """An UPDATE changing COLUMN of the first or last row of TABLE to another value of its
    type (ids move past the end, so nothing collides)."""
    db = sqlite3.connect(path)
    rowid = db.execute(f"SELECT {'min' if which == 'first' else 'max'}(rowid) FROM {table}"
                       ).fetchone()[0]
    value, kind = db.execute(f"SELECT {column}, typeof({column}) FROM {table} WHERE rowid=?",
                             (rowid,)).fetchone()
    top = db.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0]
    db.close()
    if column == "id":
        new = top + 1 if table != "segment_chunks" else top + 7
    elif kind == "integer":
        new = value + 1000003
    elif kind == "text":
        new = value + "x"
    elif kind == "blob":
        m = len(value) // 2
        new = value[:m] + bytes([value[m] ^ 1]) + value[m + 1:]
    else:
        new = 1
    return f"UPDATE {table} SET {column}=? WHERE rowid={rowid}", new


@pytest.mark.parametrize("which", ["first", "last"])
@pytest.mark.parametrize("version", [3, 1])
def test_every_column_of_every_table_is_signed_or_named(material, tool, tmp_path, version,
                                                        which):
    src, pub = ((material["arc"], material["pub"]) if version == 3
                else (material["v1"], material["v1pub"]))
    cols, rows = table_columns(src)
    assert set(cols) >= {"meta", "draw", "events", "segments", "segment_chunks", "gaps",
                         "checkpoints"} | ({"timestamps", "cosignatures", "key_history"}
                                           if version == 3 else set())
    assert all(n > 0 for n in rows.values()), rows  # every table has a row to alter
    # version 3: both cosigners required on the final checkpoint (--min-cosigners defaults
    # to all of the policy's)
    policy = ["--cosigners", material["policy"]] if version == 3 else []
    r = tool("verify", src, "--pubkey", pub, *policy)
    assert r.returncode == 0, r.stdout
    assert version == 1 or "is cosigned by 2 of the policy's 2 cosigners" in r.stdout
    assert ("not covered by any signature" in r.stdout) == (version == 1), r.stdout
    tried = 0
    for table, columns in cols.items():
        for column in columns:
            path = copy_of(src, tmp_path)
            stmt, new = alteration(path, table, column, which)
            sql(path, stmt, params=(new,))
            r = tool("verify", path, "--pubkey", pub, *policy)
            out = r.stdout + r.stderr
            named = r.returncode == 0 and f"{table}.{column}" in out and \
                "not covered by any signature" in out
            assert r.returncode == 1 or named, (version, table, column, which, out)
            if version == 3:
                assert r.returncode == 1, (table, column, which, out)
            tried += 1
    assert tried >= 40


def test_seal_time_is_signed(material, tool, tmp_path):
    path = copy_of(material["arc"], tmp_path)
    sql(path, "UPDATE meta SET sealed_us = sealed_us + 1")
    caught(tool("verify", path, "--pubkey", material["pub"]),
           "meta.sealed_us is not the seal it signs")
    path = copy_of(material["arc"], tmp_path, "cleared.evarc")
    sql(path, "UPDATE meta SET sealed_us = NULL")
    caught(tool("verify", path, "--pubkey", material["pub"]), "checkpoints row")


def test_recorded_key_is_signed(material, tool, tmp_path, bin_dir):
    path = copy_of(material["arc"], tmp_path)
    sql(path, "UPDATE meta SET signing_pubkey = replace(signing_pubkey, 'MCow', 'MCoX')")
    caught(tool("verify", path, "--pubkey", material["pub"]),
           "meta row 1: signing_pubkey is not an Ed25519 public key")
    other_key, other_pub = tmp_path / "o.key", tmp_path / "o.pub"
    assert run([f"{bin_dir}/evalroom-archive-fixture", "keygen", other_key,
                other_pub]).returncode == 0
    path = copy_of(material["arc"], tmp_path, "swapped.evarc")
    sql(path, "UPDATE meta SET signing_pubkey = ?", params=(other_pub.read_text(),))
    # With a key history the recorded key must be the one in use when the file was made.
    caught(tool("verify", path, "--pubkey", material["pub"]),
           "meta row 1: signing_pubkey is not the key the key history has in use at the "
           "archive's creation")


def test_pubkey_other_than_the_recorded_one_is_named(material, tool, tmp_path, bin_dir):
    other_key, other_pub = tmp_path / "o.key", tmp_path / "o.pub"
    assert run([f"{bin_dir}/evalroom-archive-fixture", "keygen", other_key,
                other_pub]).returncode == 0
    caught(tool("verify", material["arc"], "--pubkey", other_pub),
           "the key given with --pubkey is none of the keys of the key history")
    # Version 1 does not sign the recorded key: a file naming another key than the one its
    # checkpoints verify with is named too.
    path = copy_of(material["v1"], tmp_path)
    sql(path, "UPDATE meta SET signing_pubkey = ?", params=(other_pub.read_text(),))
    caught(tool("verify", path, "--pubkey", material["v1pub"]),
           "signing_pubkey records another key than the one given with --pubkey")


def test_checkpoint_removed_is_named(material, tool, tmp_path):
    path = copy_of(material["arc"], tmp_path)
    sql(path, "DELETE FROM checkpoints WHERE id = 2")
    caught(tool("verify", path, "--pubkey", material["pub"]), "checkpoints row 2 missing")
    # ... and renumbered so the ids leave no hole: the chain names it.
    sql(path, "UPDATE checkpoints SET id = id - 1 WHERE id > 2")
    caught(tool("verify", path, "--pubkey", material["pub"]),
           "checkpoints row 2: chain broken")
    path = copy_of(material["arc"], tmp_path, "first.evarc")
    sql(path, "DELETE FROM checkpoints WHERE id = 1", "UPDATE checkpoints SET id = id - 1")
    caught(tool("verify", path, "--pubkey", material["pub"]),
           "checkpoints row 1: chain broken")


def test_checkpoints_reordered_are_named(material, tool, tmp_path):
    path = copy_of(material["arc"], tmp_path)
    sql(path, "UPDATE checkpoints SET id = 100 WHERE id = 2",
        "UPDATE checkpoints SET id = 2 WHERE id = 3", "UPDATE checkpoints SET id = 3 WHERE id = 100")
    caught(tool("verify", path, "--pubkey", material["pub"]), "checkpoints row 2")


def test_version_1_archive_still_verifies(material, tool, tmp_path):
    r = tool("verify", material["v1"], "--pubkey", material["v1pub"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("OK") and "sealed" in r.stdout
    assert "format version 1: not covered by any signature" in r.stdout
    assert "meta.sealed_us" in r.stdout and "meta.signing_pubkey" in r.stdout
    r = tool("info", material["v1"])
    assert r.returncode == 0 and re.search(r"format\s+1", r.stdout), r.stdout
    # Its records stay protected as before.
    path = copy_of(material["v1"], tmp_path)
    sql(path, "UPDATE events SET body = '{\"n\":9}' WHERE id = 1")
    caught(tool("verify", path, "--pubkey", material["v1pub"]), "events row 1")


# --- an independent C2SP reader (c2sp.org/signed-note, c2sp.org/tlog-checkpoint) ---------


def parse_signed_note(text):
    """Text and signature lines of a signed note, per the signed-note text: the text ends in a
    newline and is separated from the signatures by the last empty line."""
    assert text.endswith("\n")
    assert not re.search(r"[\x00-\x09\x0b-\x1f]", text)
    cut = text.rfind("\n\n")
    assert cut >= 0
    body, sigs = text[:cut + 1], text[cut + 2:]
    lines = sigs[:-1].split("\n")
    out = []
    for line in lines:
        m = re.fullmatch(r"\u2014 ([^\s+]+) ([A-Za-z0-9+/=]+)", line)
        assert m, line
        raw = base64.b64decode(m.group(2), validate=True)
        out.append((m.group(1), int.from_bytes(raw[:4], "big"), raw[4:]))
    return body, out


def parse_vkey(vkey):
    name, key_id, b64 = vkey.split("+", 2)
    raw = base64.b64decode(b64)
    assert raw[0] == 0x01  # Ed25519
    h = hashlib.sha256(name.encode() + b"\n" + raw[:1] + raw[1:]).digest()
    assert int(key_id, 16) == int.from_bytes(h[:4], "big")
    return name, int(key_id, 16), Ed25519PublicKey.from_public_bytes(raw[1:])


def verify_note(text, vkey):
    name, key_id, key = parse_vkey(vkey)
    body, sigs = parse_signed_note(text)
    known = [s for n, i, s in sigs if n == name and i == key_id]
    assert known, "no signature from the known key"
    for s in known:
        key.verify(s, body.encode())  # raises when invalid
    return body


def parse_checkpoint(body):
    lines = body[:-1].split("\n")
    assert len(lines) >= 3 and all(lines), lines
    origin, size, root = lines[0], lines[1], lines[2]
    assert origin and not re.search(r"[\s+]", origin)
    assert re.fullmatch(r"0|[1-9][0-9]*", size)
    root = base64.b64decode(root, validate=True)
    assert len(root) == 32
    return origin, int(size), root, lines[3:]


def rfc6962_root(leaves):
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + rfc6962_root(leaves[:k]) + rfc6962_root(leaves[k:])).digest()


def test_checkpoints_read_by_an_independent_c2sp_parser(material, tool, tmp_path):
    out = tmp_path / "cp"
    r = tool("checkpoint", material["arc"], "--export", out)
    assert r.returncode == 0, r.stderr
    vkey = (out / "embedded-signing.vkey").read_text().strip()
    # The vkey's key is the controller's public key.
    pem = serialization.load_pem_public_key(material["pub"].read_bytes())
    raw_pub = pem.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert base64.b64decode(vkey.split("+", 2)[2])[1:] == raw_pub
    note = (out / "checkpoint.note").read_text()
    body = verify_note(note, vkey)
    origin, size, root, ext = parse_checkpoint(body)
    assert origin == f"{SITE}/evalroom/{TENDER}"
    assert note.split("\n\n")[-1].startswith(f"\u2014 {origin} ")  # key name = origin
    # The cosigners' lines follow the controller's (c2sp.org/tlog-cosignature): key ids of
    # type 0x04, each signature a timestamped_signature (8-byte big-endian time, Ed25519)
    # over "cosignature/v1\ntime T\n" and the body.
    sigs = parse_signed_note(note)[1]
    cosigs = {n: (i, s) for n, i, s in sigs[1:]}
    assert len(cosigs) == 2, note
    for vk in material["policy"].read_text().split():
        name, key_id, b64 = vk.split("+", 2)
        raw = base64.b64decode(b64)
        assert raw[0] == 0x04 and hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4] \
            == bytes.fromhex(key_id)
        i, sig = cosigs[name]
        assert i == int(key_id, 16) and len(sig) == 72
        Ed25519PublicKey.from_public_bytes(raw[1:]).verify(
            sig[8:], b"cosignature/v1\ntime %d\n" % int.from_bytes(sig[:8], "big") +
            body.encode())
    db = sqlite3.connect(material["arc"])
    leaves = [h for (h,) in db.execute(
        "SELECT leaf_hash FROM (SELECT leaf, leaf_hash FROM meta UNION ALL SELECT leaf, leaf_hash "
        "FROM draw UNION ALL SELECT leaf, leaf_hash FROM events UNION ALL SELECT leaf, leaf_hash "
        "FROM segments UNION ALL SELECT leaf, leaf_hash FROM gaps UNION ALL SELECT leaf, "
        "leaf_hash FROM key_history) ORDER BY leaf")]
    assert size == len(leaves) and root == rfc6962_root(leaves)
    keys = dict(e.split(" ", 1) for e in ext)
    assert set(keys) == {"time", "prev", "key", "key2", "sealed"}
    assert keys["key"] == hashlib.sha256(raw_pub).hexdigest()
    # Every checkpoint: a signed note under the same vkey, chained to the one before.
    prev = "0" * 64
    for body, sig in db.execute("SELECT body, signature FROM checkpoints ORDER BY id"):
        name, key_id, _ = parse_vkey(vkey)
        line = "\u2014 %s %s\n" % (name, base64.b64encode(key_id.to_bytes(4, "big") + sig)
                                   .decode())
        verify_note(body + "\n" + line, vkey)
        ext = dict(e.split(" ", 1) for e in parse_checkpoint(body)[3])
        assert ext["prev"] == prev
        prev = hashlib.sha256(body.encode()).hexdigest()
    # A changed byte of the note text fails the independent check.
    with pytest.raises(Exception):
        verify_note(note.replace("\ntime ", "\ntime 1"), vkey)
    # And openssl checks the same body with the controller's PEM key.
    r = run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", material["pub"], "-rawin",
             "-in", out / "checkpoint.txt", "-sigfile", out / "checkpoint.sig"])
    assert r.returncode == 0 and "Signature Verified Successfully" in r.stdout


def test_open_version_1_archive_is_finished_in_version_1(material, tool, tmp_path, bin_dir):
    """A tender begun before the upgrade: the controller reopens its open version 1 file and
    goes on with version 1 checkpoints; the result verifies."""
    path = copy_of(material["v1"], tmp_path)
    # Back to the open state it had before sealing: the seal event, the sealing checkpoint
    # and sealed_us are what archive_seal added.
    sql(path, "DELETE FROM events WHERE kind = 'archive.sealed'",
        "DELETE FROM checkpoints WHERE id = (SELECT max(id) FROM checkpoints)",
        "UPDATE meta SET sealed_us = NULL")
    r = tool("verify", path, "--pubkey", material["v1pub"])
    assert r.returncode == 0 and "NOT sealed" in r.stdout, r.stdout
    key = tmp_path / "v1.key"
    shutil.copyfile(os.path.join(DATA, "archive-v1.key"), key)
    os.chmod(key, 0o600)
    r = run([f"{bin_dir}/evalroom-archive-fixture", "reopen-seal", path, key])
    assert r.returncode == 0, r.stderr
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    bodies = [b for (b,) in db.execute("SELECT body FROM checkpoints ORDER BY id")]
    db.close()
    assert all(b.startswith("evalroom-archive checkpoint v1\n") for b in bodies)
    r = tool("verify", path, "--pubkey", material["v1pub"])
    assert r.returncode == 0 and "; sealed" in r.stdout, r.stdout
