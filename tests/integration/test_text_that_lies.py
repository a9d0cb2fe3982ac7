"""Text that lies to the operator (issue 15 finding 5, docs/reliability.md).

- Names and notes with control characters, escape sequences, newlines or bidirectional
  overrides are refused where they come in: tender add, committee CSV, site file, alert
  notes; nothing changes.
- Text that is in the state anyway (an older database, a hand edit) reaches the screen
  escaped: `evalroomctl alerts` prints no ESC, BEL, newline inside a field or U+202E.
"""
import json
import os
import sqlite3

import pytest

import harness
from daemons import Site, wait_for

ESC_TITLE = "lot 3\x1b]0;owned\x07"
CLEAR = "x\x1b[2J\x1b[H"
FAKE_LINE = "ok\n     9  open          agent_offline     E9   everything is fine"
RLO = "exe.\u202etxt"


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    s.start_controller("", wait=True)
    yield s
    s.close()


def raw_request(site, command, args):
    """COMMAND sent as the operator straight over MQTT (evalroomctl reads non-ASCII
    arguments only in a UTF-8 locale); returns the response."""
    import time
    c = site.client(site.operator, client_id="test-lies-%d" % time.monotonic_ns())
    resp = harness.topic("ctl", site.operator, "resp")
    c.subscribe(resp)
    now = int(time.time() * 1e6)
    rid = "lies-%d" % now
    c.publish(harness.topic("ctl", site.operator, "req"),
              json.dumps({"v": 1, "kind": "request", "seq": now, "ts": now, "id": rid,
                          "expires": now + 30 * 10**6, "command": command, "args": args}))

    def answer():
        for p in c.messages_on(resp):
            m = json.loads(p)
            if m.get("id") == rid:
                return m
        return None
    m = wait_for(answer, 10)
    c.close()
    return m


def refused(site, *args, input=None):
    rc, out, err = site.ctl(*args, json_out=False, input=input)
    assert rc == 1, (args, out, err)
    return err


def test_hostile_names_and_notes_refused_at_import(site, tmp_path):
    rc, out, err = site.ctl("site", "import", harness.EXAMPLE_SITE)
    assert rc == 0, err
    rc, out, err = site.ctl("session", "create", "--date", "2026-12-07", "--id", "S1")
    assert rc == 0, err
    for name in (ESC_TITLE, CLEAR, FAKE_LINE):
        err = refused(site, "tender", "add", "--session", "S1", "--id", "TA", "--name", name)
        assert "args.name" in err, err
    m = raw_request(site, "tender.add", {"session": "S1", "id": "TA", "name": RLO})
    assert m and m["ok"] is False and "args.name" in m["error"]["message"], m
    rc, out, err = site.ctl("tender", "add", "--session", "S1", "--id", "TA", "--name",
                            "Ring road, lot 3")
    assert rc == 0, err
    csv = tmp_path / "c.csv"
    csv.write_text("person_id,name,id_number,role\nxp-a,Wang %s Li,110105194912310029,expert\n"
                   % "\u202e")
    err = refused(site, "committee", "import", "--tender", "TA", str(csv))
    assert "name" in err, err
    with open(harness.EXAMPLE_SITE) as f:
        doc = json.load(f)
    doc["name"] = "HQ\x1b[2J"
    bad = tmp_path / "site.json"
    bad.write_text(json.dumps(doc))
    err = refused(site, "site", "import", str(bad))
    assert "control characters" in err, err
    doc["name"] = "HQ " + RLO
    bad.write_text(json.dumps(doc))
    refused(site, "site", "import", str(bad))


def test_alerts_shown_escaped_and_hostile_notes_refused(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    try:
        s.start_controller("[alerts]\nnever_connected_ms=500\n")
        rc, out, err = s.ctl("site", "import", harness.EXAMPLE_SITE)
        assert rc == 0, err

        def listed():
            rc, out, err = s.ctl("alerts")
            return out["alerts"] if rc == 0 and out["alerts"] else None
        alerts = wait_for(listed, 20)
        assert alerts, "no alert raised"
        aid = alerts[0]["id"]
        for note in (CLEAR, FAKE_LINE):
            err = refused(s, "alert", "ack", str(aid), "--note", note)
            assert "note" in err, err
        m = raw_request(s, "alert.ack", {"id": aid, "note": RLO})
        assert m and m["ok"] is False and "note" in m["error"]["message"], m
        # Hostile text already in the state (an older database, a hand edit).
        db = sqlite3.connect(os.path.join(s.tmp, "controller-state", "state.db"))
        # An older alert has no text id: its detail is shown, escaped.
        db.execute("UPDATE alert SET detail = ?, extra = NULL WHERE id = ?",
                   (ESC_TITLE + CLEAR + FAKE_LINE + RLO, aid))
        db.commit()
        rc, text, err = s.ctl("alerts", json_out=False)
        assert rc == 0, err
        for bad in ("\x1b", "\x07", "\u202e", "\n     9  open"):
            assert bad not in text, (bad, text)
        assert "\\x1b]0;owned\\x07" in text and "\\u{202E}" in text, text
        # The arguments of an alert text are escaped the same way when it is rendered.
        hostile = ESC_TITLE + CLEAR + FAKE_LINE + RLO
        db.execute("UPDATE alert SET extra = ? WHERE id = ?",
                   (json.dumps({"text": {"id": "agent_never_connected",
                                         "args": [hostile]}}), aid))
        db.commit()
        db.close()
        rc, text, err = s.ctl("alerts", json_out=False)
        assert rc == 0, err
        for bad in ("\x1b", "\x07", "\u202e", "\n     9  open"):
            assert bad not in text, (bad, text)
        assert "has not connected since the controller started" in text, text
        assert "\\x1b]0;owned\\x07" in text and "\\u{202E}" in text, text
        # --json gives the text exactly as stored, JSON-escaped.
        rc, out, err = s.ctl("alerts")
        assert any(a["detail"].startswith(ESC_TITLE) for a in out["alerts"]), out
    finally:
        s.close()
