"""Issue 23 items 3 and 4 through the real broker and controller (docs/staff.md):

- the staff draw: committed by an operator, run by the witness, the record in every
  tender's archive and re-run by `evalroom-archive verify-draw`; the rotation rules of
  [staff] keep last session's holder off the same post; a post held longer than a year is
  flagged (staff_post_tenure when drawn), longer than the limit refused, and a draw with a
  post nobody may hold is refused with the reasons and stores nothing;
- a sensitive post handed over during a session: ordered by an operator, refused for a
  post that is not sensitive and for an incoming person the rules exclude, done only when
  both people have signed it with the keys of their own signing certificates; the record
  with both signatures and certificates in the tender's archive, checked after the seal
  by `evalroom-archive verify --ca` and by the openssl lines of docs/staff.md; a signature
  made with another person's key refused, nothing changed; on a site signing with both
  Ed25519 and SM2, both keys of each person required and checked;
- the draw room's footage: a closed tender not reviewed in time raises
  draw_room_unreviewed; the operations office's review (who, when, note) resolves it and
  goes into the sealed archive's appendix: `evalroom-archive timeline` shows it, `verify`
  passes and checks its signature;
- the draw room's door: the representative alone raises escort_missing naming the room,
  the person and the time, resolved when the two enter together.
"""
import datetime
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import time

import pytest

import harness
import staff_reference
import watchers
from daemons import Site, wait_for

W1, W2, W3 = "witness-notary1", "witness-notary2", "witness-notary3"
DESKS = ("desk-entrance", "desk-east")
D1, D2, D3 = "2026-12-01", "2026-12-02", "2026-12-03"
WINDOW = 3


def days_before(date, n):
    d = datetime.date.fromisoformat(date) - datetime.timedelta(days=n)
    return d.isoformat()


def staff_site(witness_since=None):
    s = watchers.site_dict()
    s["witnesses"] = ["notary1", "notary2", "notary3"]
    s["desks"] = ["entrance", "east"]
    s["posts"] = [{"id": "witness", "name": "见证", "sensitive": True},
                  {"id": "desk", "name": "入口登记"}]
    s["staff"] = [
        # held the witness post for 400 days on the first session: flagged, not refused
        {"identity": W1, "posts": [{"post": "witness", "since": witness_since or
                                    days_before(D1, 400)}]},
        {"identity": W2, "posts": [{"post": "witness"}]},
        {"identity": W3, "posts": [{"post": "witness"}]},
        {"identity": DESKS[0], "posts": [{"post": "desk"}]},
        {"identity": DESKS[1], "posts": [{"post": "desk"}]},
    ]
    return s


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path, site=staff_site())
    s.start_controller("escort_window_s=%d\n[staff]\nmax_in_row=1\n"
                       "[draw_room]\nreview_due_s=2\ncheck_s=1\n" % WINDOW)
    yield s
    s.close()


def ok(site, *args, identity=None):
    rc, out, err = site.ctl(*args, identity=identity)
    assert rc == 0, (args, out, err)
    return out


def refused(site, *args, identity=None, code=1):
    rc, out, err = site.ctl(*args, identity=identity, json_out=False)
    assert rc == code, (args, out, err)
    return err


def import_site(site, tmp_path, s):
    path = tmp_path / "site.json"
    path.write_text(json.dumps(s))
    ok(site, "site", "import", str(path))


def session(site, date, tender, agency):
    ok(site, "session", "create", "--date", date)
    ok(site, "tender", "add", "--session", date, "--id", tender, "--name", "Lot " + tender,
       "--agency", agency)


def staff_draw(site, date, entropy):
    c = ok(site, "staff", "commit", "--session", date)
    run = ok(site, "staff", "run", "--session", date, "--witness-entropy", entropy,
             "--confirm-commitment", c["commitment"][:16], identity=site.witness)
    return c, {(a["tender"], a["post"]): a["person"] for a in run["assignment"]}


def archive_path(site, tender):
    return os.path.join(site.tmp, "controller-state", "archive", tender + ".evarc")


def archive_events(site, tender, kind):
    db = sqlite3.connect("file:%s?mode=ro" % archive_path(site, tender), uri=True)
    try:
        rows = db.execute("SELECT source, body FROM events WHERE kind = ? ORDER BY id",
                          (kind,)).fetchall()
    finally:
        db.close()
    return [(s, json.loads(b)) for s, b in rows]


def alerts(site, kind):
    return [a for a in ok(site, "alerts")["alerts"] if a["kind"] == kind]


def audit(site, command):
    return [r for r in ok(site, "audit")["records"] if r["command"] == command]


def test_staff_draw_rotation_and_refusal(site, tmp_path, bin_dir):
    import_site(site, tmp_path, staff_site())
    session(site, D1, "TA", "City roads office")
    c1, a1 = staff_draw(site, D1, "grey crane 4410")
    assert c1["posts"] == 2
    assert [f["person"] for f in c1["flagged"]] == [W1]
    assert a1[("TA", "witness")] in (W1, W2, W3) and a1[("TA", "desk")] in DESKS

    # the record is in the tender's archive and re-runs to the same posts
    (src, run), = archive_events(site, "TA", "staff.run")
    assert src == site.witness and run["record"]["draw"] == "staff"
    assert archive_events(site, "TA", "staff.commit")[0][1]["commitment"] == c1["commitment"]
    p = subprocess.run([os.path.join(bin_dir, "evalroom-archive"), "verify-draw",
                        archive_path(site, "TA")], capture_output=True, text=True)
    assert p.returncode == 0 and "VERIFIED" in p.stdout and "staff draw" in p.stdout, p.stdout
    # and so does an independent re-implementation of docs/staff.md
    assert staff_reference.differences(run["record"]) == []
    # a forged record (another person on a post) does not verify
    rec = dict(run["record"])
    rec["assignment"] = [dict(x) for x in rec["assignment"]]
    other = next(w for w in (W1, W2, W3) if w != a1[("TA", "witness")])
    for x in rec["assignment"]:
        if x["post"] == "witness":
            x["person"] = other
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(rec))
    p = subprocess.run([os.path.join(bin_dir, "evalroom-archive"), "verify-draw", str(forged)],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "MISMATCH" in p.stdout, p.stdout

    # W1 drawn to the post held for 400 days raises staff_post_tenure, nobody else does
    tenure = alerts(site, "staff_post_tenure")
    if a1[("TA", "witness")] == W1:
        assert len(tenure) == 1 and tenure[0]["person"] == W1 and tenure[0]["tender"] == "TA"
    else:
        assert tenure == []

    # the next session: last session's holders may not hold the same post again
    session(site, D2, "TB", "Water board")
    c2, a2 = staff_draw(site, D2, "blue heron 77")
    reasons = {(e["person"], e["post"]): e["reason"] for e in c2["excluded"]}
    for post in ("witness", "desk"):
        held = a1[("TA", post)]
        assert "held post %s in the last 1 sessions in a row (limit 1)" % post \
            in reasons[(held, post)]
        assert a2[("TB", post)] != held
    shown = ok(site, "staff", "show", "--session", D2)
    assert shown["state"] == "run" and shown["witness"] == site.witness
    assert {(p["tender"], p["post"]): p["person"] for p in shown["posts"]} == a2
    # run twice: refused
    err = refused(site, "staff", "run", "--session", D2, "--witness-entropy", "again",
                  "--confirm-commitment", c2["commitment"][:16], identity=site.witness)
    assert "has run already" in err
    # only a witness runs it, only an operator commits
    session(site, D3, "TC", "Water board")
    c3 = ok(site, "staff", "commit", "--session", D3)
    # a commitment not run yet may be made again: the first one ends in the archive
    c3b = ok(site, "staff", "commit", "--session", D3)
    (_, ended), = archive_events(site, "TC", "staff.commitment_ended")
    assert ended["commitment"] == c3["commitment"] and ended["ended_by"] == site.operator
    c3 = c3b
    err = refused(site, "staff", "run", "--session", D3, "--witness-entropy", "x",
                  "--confirm-commitment", c3["commitment"][:16])
    assert 'may not run "staff.run"' in err
    err = refused(site, "staff", "commit", "--session", D3, identity=site.witness)
    assert 'may not run "staff.commit"' in err
    err = refused(site, "staff", "run", "--session", D3, "--witness-entropy", "x",
                  "--confirm-commitment", "0" * 16, identity=site.witness)
    assert "is not the commitment" in err

    # over the limit: W1 alone may hold the witness post, since 800 days: refused, and the
    # refusal names why; nothing is committed
    s = staff_site(witness_since=days_before(D3, 800))
    s["staff"] = [x for x in s["staff"] if x["identity"] not in (W2, W3)]
    import_site(site, tmp_path, s)
    err = refused(site, "staff", "commit", "--session", D3)
    assert "post witness of tender TC: nobody may hold it under the rotation rules" in err
    assert "%s (" % W1 in err
    assert "has held post witness since %s, 800 days (limit 730): must rotate)" \
        % days_before(D3, 800) in err
    # the earlier commitment stays as it was
    assert ok(site, "staff", "show", "--session", D3)["commitment"] == c3["commitment"]
    assert len(archive_events(site, "TC", "staff.commitment_ended")) == 1
    assert audit(site, "staff.commit")[-1]["outcome"] != "ok"


def test_handover_of_a_sensitive_post(site, tmp_path, bin_dir):
    import_site(site, tmp_path, staff_site())
    session(site, D1, "TA", "City roads office")
    _, a1 = staff_draw(site, D1, "first day")
    session(site, D2, "TB", "Water board")
    _, a2 = staff_draw(site, D2, "second day")
    holder = a2[("TB", "witness")]
    last = a1[("TA", "witness")]
    free = next(w for w in (W1, W2, W3) if w not in (holder, last))

    # refusals: a post that is not sensitive, someone the rules exclude, the holder
    err = refused(site, "staff", "rotate", "--tender", "TB", "--post", "desk", "--to",
                  next(d for d in DESKS if d != a2[("TB", "desk")]), "--reason", "x")
    assert "post desk is not a sensitive post" in err
    err = refused(site, "staff", "rotate", "--tender", "TB", "--post", "witness", "--to", last,
                  "--reason", "x")
    assert "%s may not take post witness of TB: held post witness in the last 1" % last in err
    refused(site, "staff", "rotate", "--tender", "TB", "--post", "witness", "--to", holder,
            "--reason", "x")

    h = ok(site, "staff", "rotate", "--tender", "TB", "--post", "witness", "--to", free,
           "--reason", "the holder is related to a tenderer")
    assert h["from"] == holder and h["to"] == free and h["state"] == "pending"
    n = str(h["handover"])
    # somebody else cannot sign it; one signature is not enough
    other_desk = DESKS[0]
    err = refused(site, "staff", "sign", "--handover", n, identity=other_desk)
    assert "is signed by %s and %s only" % (holder, free) in err
    s1 = ok(site, "staff", "sign", "--handover", n, identity=holder)
    assert s1["state"] == "pending" and s1["waiting_for"] == free
    posts = {(p["tender"], p["post"]): p["person"]
             for p in ok(site, "staff", "show", "--session", D2)["posts"]}
    assert posts[("TB", "witness")] == holder
    assert archive_events(site, "TB", "staff.handover") == []
    s2 = ok(site, "staff", "sign", "--handover", n, identity=free)
    assert s2["state"] == "done"
    posts = {(p["tender"], p["post"]): p["person"]
             for p in ok(site, "staff", "show", "--session", D2)["posts"]}
    assert posts[("TB", "witness")] == free
    refused(site, "staff", "sign", "--handover", n, identity=free)

    (src, body), = archive_events(site, "TB", "staff.handover")
    assert src == free and body["from"] == holder and body["to"] == free
    assert body["from_signed_at"] and body["to_signed_at"]
    assert body["reason"] == "the holder is related to a tenderer"
    assert [(e["identity"], e["role"], e["algorithm"]) for e in body["signatures"]] == \
        [(holder, "outgoing", "ed25519"), (free, "incoming", "ed25519")]
    assert [e["signed_at"] for e in body["signatures"]] == \
        [body["from_signed_at"], body["to_signed_at"]]
    signers = [(r["identity"], r["outcome"]) for r in audit(site, "staff.sign")]
    assert (holder, "ok") in signers and (free, "ok") in signers

    # years later, from the sealed archive alone: the tool checks both signatures
    rc, out, err = site.ctl("tender", "close", "TB", "--wait", "1", timeout=90)
    assert rc == 0, (out, err)
    archive = out["path"]
    assert stat.S_IMODE(os.stat(archive).st_mode) == 0o400
    text = verify(bin_dir, archive, "--ca", site.prov.ca)
    assert "handover %s, post witness of TB from %s to %s: signed by %s (outgoing, ed25519) " \
        "and %s (incoming, ed25519)" % (n, holder, free, holder, free) in text, text
    # and so do the openssl lines of docs/staff.md, run as written
    for entry in (0, 1):
        d = tmp_path / ("openssl-%d" % entry)
        d.mkdir()
        shutil.copy(archive, d / "T.evarc")
        shutil.copy(site.prov.ca, d / "ca.crt")
        script = doc_block("Checking a handover's signatures with openssl").replace(
            "H=1 I=0", "H=%s I=%d" % (n, entry))
        p = subprocess.run(["bash", "-e", "-c", script], cwd=d, capture_output=True, text=True)
        assert p.returncode == 0 and "Signature Verified Successfully" in p.stdout, p
        assert "role %s\n" % ("outgoing", "incoming")[entry] in p.stdout
        assert "reason 35\nthe holder is related to a tenderer\n" in p.stdout
        # a changed text (another time) fails the same check
        msg = (d / "msg").read_text()
        (d / "msg").write_text(re.sub(r"signed_at (\d+)",
                                      lambda m: "signed_at %d" % (int(m.group(1)) + 1), msg))
        p = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "signer.pub",
                            "-rawin", "-in", "msg", "-sigfile", "sig.bin"], cwd=d,
                           capture_output=True, text=True)
        assert p.returncode != 0


def verify(bin_dir, archive, *args):
    p = subprocess.run([os.path.join(bin_dir, "evalroom-archive"), "verify"] + list(args) +
                       [archive], capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.startswith("OK "), (p.stdout, p.stderr)
    return p.stdout


def doc_block(heading, doc="staff.md"):
    """The first ```sh block after HEADING in docs/DOC, as written there."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "..", "docs", doc), encoding="utf-8") as f:
        doc = f.read()
    rest = doc[doc.index(heading):]
    return rest[rest.index("```sh\n") + 6:rest.index("\n```", rest.index("```sh\n"))]


def test_handover_signed_with_another_persons_key_is_refused(site, tmp_path):
    import_site(site, tmp_path, staff_site())
    session(site, D1, "TA", "City roads office")
    _, a1 = staff_draw(site, D1, "first day")
    holder = a1[("TA", "witness")]
    free = next(w for w in (W1, W2, W3) if w != holder)
    n = str(ok(site, "staff", "rotate", "--tender", "TA", "--post", "witness", "--to", free,
               "--reason", "rotation")["handover"])

    def as_holder_with(name, signing_cert, signing_key):
        """evalroomctl as HOLDER (its own TLS identity) whose signing files beside it are
        SIGNING_CERT and SIGNING_KEY."""
        d = tmp_path / name
        d.mkdir()
        cert, key = site.prov.cert(holder)
        shutil.copy(cert, d / (holder + ".crt"))
        shutil.copy(key, d / (holder + ".key"))
        shutil.copy(signing_cert, d / (holder + ".signing.crt"))
        shutil.copy(signing_key, d / (holder + ".signing.key"))
        conf = d / "ctl.conf"
        conf.write_text("[mqtt]\nuri=ssl://127.0.0.1:%d\nca=%s\ncert=%s\nkey=%s\n"
                        % (site.prov.port, site.prov.ca, d / (holder + ".crt"),
                           d / (holder + ".key")))
        return subprocess.run([os.path.join(site.bin, "evalroomctl"), "--config", str(conf),
                               "staff", "sign", "--handover", n],
                              capture_output=True, text=True, timeout=30)

    # the other person's signing certificate and key: not the requester's
    p = as_holder_with("theirs", *site.prov.signing(free))
    assert p.returncode == 1, p
    assert "the signing certificate is %s's, not the requester's (%s): nothing stored" \
        % (free, holder) in p.stderr, p.stderr
    # the holder's certificate with the other person's key: the signature does not match
    p = as_holder_with("mixed", site.prov.signing(holder)[0], site.prov.signing(free)[1])
    assert p.returncode == 1, p
    assert "the signature of %s does not match handover %s as the outgoing person signs it " \
        "and that certificate's key: nothing stored" % (holder, n) in p.stderr, p.stderr
    # nothing changed: still unsigned, the post still the holder's, nothing archived
    posts = {(x["tender"], x["post"]): x["person"]
             for x in ok(site, "staff", "show", "--session", D1)["posts"]}
    assert posts[("TA", "witness")] == holder
    assert archive_events(site, "TA", "staff.handover") == []
    refusals = [r for r in audit(site, "staff.sign") if r["identity"] == holder]
    assert len(refusals) == 2 and all(r["outcome"] != "ok" for r in refusals)
    # the holder's own keys sign it (as a person reads it); then the incoming person's
    rc, out, err = site.ctl("staff", "sign", "--handover", n, identity=holder, json_out=False)
    assert rc == 0, err
    assert "Signing handover %s as the outgoing person: post witness of TA from %s to %s, " \
        "reason: rotation" % (n, holder, free) in out, out
    assert "Handover %s signed by %s (outgoing, Ed25519): waiting for %s" % (n, holder, free) \
        in out, out
    assert ok(site, "staff", "sign", "--handover", n, identity=free)["state"] == "done"


def test_handover_on_a_site_signing_with_ed25519_and_sm2(bin_dir, tmp_path):
    s = staff_site()
    s["witness_signing"] = "both"
    site = Site(bin_dir, tmp_path, site=s)
    try:
        site.start_controller("[staff]\nmax_in_row=1\n")
        # provisioning gave the staff of staff[] both signing keys, desks too; an operator
        # who is not in staff[] has none
        for cn in (W1, W2, W3) + DESKS:
            assert os.path.exists(site.prov.signing(cn)[1]), cn
            assert os.path.exists(site.prov.sm2_signing(cn)[1]), cn
        assert not os.path.exists(site.prov.signing(site.operator)[0])
        assert not os.path.exists(site.prov.sm2_signing(site.operator)[0])
        import_site(site, tmp_path, s)
        session(site, D1, "TA", "City roads office")
        _, a1 = staff_draw(site, D1, "both keys")
        holder = a1[("TA", "witness")]
        free = next(w for w in (W1, W2, W3) if w != holder)
        n = str(ok(site, "staff", "rotate", "--tender", "TA", "--post", "witness", "--to",
                   free, "--reason", "rotation")["handover"])

        # the Ed25519 key alone is not enough on this site: refused, nothing stored
        d = tmp_path / "ed25519-only"
        d.mkdir()
        cert, key = site.prov.cert(holder)
        for src, name in ((cert, ".crt"), (key, ".key"), (site.prov.signing(holder)[0],
                          ".signing.crt"), (site.prov.signing(holder)[1], ".signing.key")):
            shutil.copy(src, d / (holder + name))
        conf = d / "ctl.conf"
        conf.write_text("[mqtt]\nuri=ssl://127.0.0.1:%d\nca=%s\ncert=%s\nkey=%s\n"
                        % (site.prov.port, site.prov.ca, d / (holder + ".crt"),
                           d / (holder + ".key")))
        p = subprocess.run([os.path.join(bin_dir, "evalroomctl"), "--config", str(conf),
                            "staff", "sign", "--handover", n], capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == 1 and "the site signs with Ed25519 and SM2: a signature of " \
            "handover %s by each of those keys is needed" % n in p.stderr, p.stderr

        # each signs with both keys
        for who, role in ((holder, "outgoing"), (free, "incoming")):
            r = ok(site, "staff", "sign", "--handover", n, identity=who)
            assert r["role"] == role and r["algorithms"] == ["ed25519", "sm2-sm3"]
        (_, body), = archive_events(site, "TA", "staff.handover")
        assert [(e["identity"], e["algorithm"]) for e in body["signatures"]] == [
            (holder, "ed25519"), (holder, "sm2-sm3"), (free, "ed25519"), (free, "sm2-sm3")]
        rc, out, err = site.ctl("tender", "close", "TA", "--wait", "1", timeout=90)
        assert rc == 0, (out, err)
        text = verify(bin_dir, out["path"], "--ca", site.prov.ca)
        assert "signed by %s (outgoing, ed25519, sm2-sm3) and %s (incoming, ed25519, " \
            "sm2-sm3)" % (holder, free) in text, text
        # an SM2 entry checks with the openssl block of docs/staff.md and SM3's options
        d = tmp_path / "openssl-sm2"
        d.mkdir()
        shutil.copy(out["path"], d / "T.evarc")
        shutil.copy(site.prov.ca, d / "ca.crt")
        script = doc_block("Checking a handover's signatures with openssl").replace(
            "H=1 I=0", "H=%s I=1" % n).replace(
            "-rawin -in msg", "-rawin -digest sm3 -pkeyopt distid:1234567812345678 -in msg")
        p = subprocess.run(["bash", "-e", "-c", script], cwd=d, capture_output=True, text=True)
        assert p.returncode == 0 and "Signature Verified Successfully" in p.stdout, p
    finally:
        site.close()


def test_draw_room_review(site, tmp_path, bin_dir):
    import_site(site, tmp_path, staff_site())
    session(site, D1, "TA", "City roads office")
    session(site, D2, "TB", "Water board")
    err = refused(site, "draw-room", "review", "TB", "--note", "looked")
    assert "tender TB is not closed" in err
    rc, out, err = site.ctl("tender", "close", "TA", "--wait", "1", timeout=90)
    assert rc == 0, (out, err)
    archive = out["path"]
    assert stat.S_IMODE(os.stat(archive).st_mode) == 0o400  # sealed
    assert wait_for(lambda: alerts(site, "draw_room_unreviewed"), 15), "no alert"
    a, = alerts(site, "draw_room_unreviewed")
    assert a["tender"] == "TA" and a["state"] == "open"
    err = refused(site, "draw-room", "review", "TA", "--note", "x", identity=site.witness)
    assert 'may not run "draw_room.review"' in err
    r = ok(site, "draw-room", "review", "TA", "--note", "draw at 09:12, both present, sealed")
    assert r["reviewed_by"] == site.operator and r["note"].startswith("draw at 09:12")
    a, = alerts(site, "draw_room_unreviewed")
    assert a["state"] == "resolved"
    # the review is in the sealed archive: the timeline shows it, verify passes and checks
    # its signature by the archive key; the file is sealed (read-only) as before
    assert stat.S_IMODE(os.stat(archive).st_mode) == 0o400
    p = subprocess.run([os.path.join(bin_dir, "evalroom-archive"), "timeline", "--json",
                        archive], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    rev, = [x for x in json.loads(p.stdout) if x["type"] == "review"]
    assert rev["subject"] == "draw_room" and rev["reviewed_by"] == site.operator
    assert rev["note"] == "draw at 09:12, both present, sealed"
    assert rev["time_us"] == r["reviewed_at"]
    p = subprocess.run([os.path.join(bin_dir, "evalroom-archive"), "timeline", archive],
                       capture_output=True, text=True)
    assert re.search(r"review +draw_room +%s +draw at 09:12" % site.operator, p.stdout), \
        p.stdout
    text = verify(bin_dir, archive, "--pubkey", site.prov.signing_pub)
    assert "sealed" in text
    assert "review of the draw_room footage by %s at %d: signed by the archive key" \
        % (site.operator, r["reviewed_at"]) in text, text
    # the openssl lines of docs/archive-format.md check it too, as written
    d = tmp_path / "openssl-review"
    d.mkdir()
    shutil.copy(archive, d / "T.evarc")
    p = subprocess.run(["bash", "-e", "-c", doc_block("## Reviews", "archive-format.md")],
                       cwd=d, capture_output=True, text=True)
    assert p.returncode == 0 and "Signature Verified Successfully" in p.stdout, p
    assert (d / "msg").read_text().endswith("note 35\ndraw at 09:12, both present, sealed\n")
    # a note changed in a copy is named by verify
    copy = str(tmp_path / "copy.evarc")
    shutil.copy(archive, copy)
    os.chmod(copy, 0o600)
    db = sqlite3.connect(copy)
    db.execute("UPDATE reviews SET note = 'nothing seen'")
    db.commit()
    db.close()
    text = verify(bin_dir, copy)
    assert "INVALID: review of the draw_room footage by %s" % site.operator in text, text
    err = refused(site, "draw-room", "review", "TA", "--note", "again")
    assert "was reviewed by %s already" % site.operator in err
    time.sleep(2.5)  # the check runs every second: the reviewed tender is not raised again
    assert len(alerts(site, "draw_room_unreviewed")) == 1


def door_events(site, room, reason):
    out = []
    for p in site.observers[0].messages_on(harness.topic("room", room, "event")):
        m = json.loads(p)
        if m["kind"] == "door.event" and m.get("reason") == reason:
            out.append(m)
    return out


def lock_rises(site, room):
    h = [level for _, level in site.door(room).history("DOOR_LOCK")]
    return sum(1 for a, b in zip([0] + h, h) if a == 0 and b == 1)


def test_draw_room_door_needs_representative_and_witness(site, tmp_path):
    import_site(site, tmp_path, staff_site())
    site.start_agent("DR1", door=True)
    rep = ok(site, "desk", "staff-admit", "--identity", watchers.REP, "--room", "DR1",
             identity=DESKS[0])
    assert rep["draw_room"] == {"as": "representative", "window_s": WINDOW}
    w = ok(site, "desk", "staff-admit", "--identity", W2, "--room", "DR1", identity=DESKS[0])
    assert w["draw_room"] == {"as": "witness", "window_s": WINDOW}
    rpin, wpin = rep["credential"][4:], w["credential"][4:]
    time.sleep(0.5)  # the lists reach the agent

    # the representative alone: nothing opens, and the operators are told
    before = time.time()
    site.door("DR1").pin(rpin)
    assert wait_for(lambda: len(door_events(site, "DR1", "awaiting_escort")) == 1, 5)
    lone = wait_for(lambda: alerts(site, "escort_missing"), WINDOW + 5)
    assert lock_rises(site, "DR1") == 0
    a, = lone
    assert a["room"] == "DR1" and a["person"] == watchers.REP and a["state"] == "open"
    assert "%s, the tenderer's representative, presented a credential at the door of draw " \
        "room DR1 at " % watchers.REP in a["detail"]
    assert "but no witness followed within %d s" % WINDOW in a["detail"]
    assert a["extra"]["draw_room"] is True
    assert before - 1 <= a["extra"]["at"] / 1e6 <= time.time()
    # both within the window: the door opens once, naming the representative
    site.door("DR1").pin(rpin)
    assert wait_for(lambda: len(door_events(site, "DR1", "awaiting_escort")) == 2, 5)
    site.door("DR1").pin(wpin)
    assert wait_for(lambda: lock_rises(site, "DR1") == 1, 5)
    granted = wait_for(lambda: door_events(site, "DR1", "granted"), 5)
    assert granted[0]["person"] == watchers.REP
    # together now: the representative is no longer alone at the door
    assert wait_for(lambda: alerts(site, "escort_missing")[0]["state"] == "resolved", 5)
    assert len(alerts(site, "escort_missing")) == 1
    # both credentials are used up
    time.sleep(0.5)
    site.door("DR1").pin(rpin)
    site.door("DR1").pin(wpin)
    assert wait_for(lambda: len(door_events(site, "DR1", "unknown")) == 2, 5)
    assert lock_rises(site, "DR1") == 1

    # a witness alone at the door later: nothing opens, the alert says who waited for whom
    w = ok(site, "desk", "staff-admit", "--identity", W3, "--room", "DR1", identity=DESKS[0])
    time.sleep(0.5)  # the lists reach the agent
    site.door("DR1").pin(w["credential"][4:])
    lone = wait_for(lambda: [a for a in alerts(site, "escort_missing") if a["person"] == W3],
                    WINDOW + 5)
    a, = lone
    assert a["room"] == "DR1" and a["state"] == "open"
    assert "%s, the witness, presented a credential at the door of draw room DR1 at " % W3 \
        in a["detail"] and "but no tenderer's representative followed" in a["detail"]
    assert lock_rises(site, "DR1") == 1
