"""Issue 18 item 5 through the real web console (docs/witness.md "Who watched what"): a
witness's, supervisor's or tenderer's representative's opening of a console page (the
status wall, the witness's page) is recorded before anything is served, refused opens
too: an audit record with the identity, the page and whether it was served, and a
console.viewed event in the archive of every open tender of the day's session. An
operator's page opens, scripts and styles are not. A client of the broker cannot make up
a page open. Driven with Python's TLS client holding each person's certificate, as
test_web_console.py does."""
import http.client
import json
import os
import sqlite3
import ssl
import time

import pytest

import harness
import watchers
from daemons import Site, wait_for
from test_witness_log import ok

TODAY = time.strftime("%Y-%m-%d")
TENDER = "TC"


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path, site=watchers.site_dict())
    s.console_port = harness.free_port()
    s.start_controller(s.console_section(s.console_port))
    yield s
    s.close()


def get(site, path, identity):
    ctx = ssl.create_default_context(cafile=site.prov.ca)
    ctx.load_cert_chain(*site.prov.cert(identity))
    conn = http.client.HTTPSConnection("127.0.0.1", site.console_port, context=ctx, timeout=10)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


def opens(site):
    rc, out, err = site.ctl("audit")
    assert rc == 0, err
    return [(r["identity"], json.loads(r["args"]) if isinstance(r["args"], str) else r["args"],
             r["outcome"]) for r in out["records"] if r["command"] == "console.opened"]


def test_watchers_page_opens_are_recorded(site, tmp_path):
    path = tmp_path / "site.json"
    path.write_text(json.dumps(watchers.site_dict()))
    ok(site, "site", "import", str(path))
    ok(site, "session", "create", "--date", TODAY)
    ok(site, "tender", "add", "--session", TODAY, "--id", TENDER, "--name", "Harbour")
    ok(site, "tender", "add", "--session", TODAY, "--id", "TD", "--name", "Dam")
    rc, out, err = site.ctl("tender", "close", "TD", "--wait", "1", timeout=90)
    assert rc == 0, (out, err)  # sealed: not concerned

    assert get(site, "/", watchers.WITNESS)[0] == 200
    assert get(site, "/witness", watchers.WITNESS)[0] == 200
    assert get(site, "/wall.js", watchers.WITNESS)[0] == 200  # a script: not a page open
    status, text = get(site, "/", watchers.SUPERVISOR)  # the wall is not theirs: refused
    assert status == 403, text
    assert get(site, "/", site.operator)[0] == 200  # operators are audited otherwise

    got = opens(site)
    assert [(i, a["page"], a["allowed"], o) for i, a, o in got] == [
        (watchers.WITNESS, "/", True, "ok"), (watchers.WITNESS, "/witness", True, "ok"),
        (watchers.SUPERVISOR, "/", False, "ok")], got

    p = os.path.join(site.tmp, "controller-state", "archive", TENDER + ".evarc")
    db = sqlite3.connect("file:%s?mode=ro" % p, uri=True)
    rows = [(src, json.loads(b)) for src, b in db.execute(
        "SELECT source, body FROM events WHERE kind = 'console.viewed' ORDER BY leaf")]
    db.close()
    assert [(s, b["identity"], b["page"], b["allowed"]) for s, b in rows] == [
        (watchers.WITNESS, watchers.WITNESS, "/", True),
        (watchers.WITNESS, watchers.WITNESS, "/witness", True),
        (watchers.SUPERVISOR, watchers.SUPERVISOR, "/", False)], rows
    p = os.path.join(site.tmp, "controller-state", "archive", "TD.evarc")
    db = sqlite3.connect("file:%s?mode=ro" % p, uri=True)
    assert db.execute("SELECT count(*) FROM events WHERE kind = 'console.viewed'"
                      ).fetchone()[0] == 0
    db.close()

    # the broker's clients cannot record a page open for themselves
    c = site.client(watchers.WITNESS, client_id="test-forge-open")
    resp = harness.topic("ctl", watchers.WITNESS, "resp")
    c.subscribe(resp)
    now = int(time.time() * 1e6)
    c.publish(harness.topic("ctl", watchers.WITNESS, "req"), json.dumps(
        {"v": 1, "kind": "request", "seq": now, "ts": now, "id": "forge",
         "expires": now + 30 * 10**6, "command": "console.opened",
         "args": {"page": "/", "allowed": True}}))
    got = wait_for(lambda: [json.loads(m) for m in c.messages_on(resp)
                            if json.loads(m).get("id") == "forge"], 10)
    c.close()
    assert got and not got[0]["ok"], got
    assert 'unknown command "console.opened"' in got[0]["error"]["message"], got
    assert len(opens(site)) == 3
