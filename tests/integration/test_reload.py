"""SIGHUP (`systemctl reload`) re-reads the configuration file, as the units' ExecReload
and docs/deploy.md promise.

The real broker, controller and agent. The controller applies what may change while it
serves and is seen to apply it: after a reload that lowers [requests] burst, a quick run
of requests from one operator is rate limited where the same run was not before. A key
that needs a restart is named in a warning and keeps its running value; a file that does
not load changes nothing and the daemon serves on. The agent applies [log] debug and names
everything else (here its spool directory) as waiting for a restart."""
import json
import os
import signal
import time

import pytest

import harness
from daemons import Site, wait_for


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    yield s
    s.close()


def request(cid, command="status", args=None):
    now = int(time.time() * 1e6)
    return {"v": 1, "kind": "request", "seq": now, "ts": now, "id": cid,
            "expires": now + 60 * 10**6, "command": command, "args": args or {}}


def run_of_requests(client, identity, prefix, n):
    """Publish N status requests back to back; wait for all N answers; returns them."""
    topic = harness.topic("ctl", identity, "req")
    ids = ["%s-%02d" % (prefix, i) for i in range(n)]
    for cid in ids:
        client.publish(topic, request(cid))

    def answered():
        got = {}
        for p in client.messages_on(harness.topic("ctl", identity, "resp")):
            m = json.loads(p)
            if m.get("id") in ids:
                got[m["id"]] = m
        return got if len(got) == n else None
    got = wait_for(answered, 30)
    assert got, "not every request of %s was answered" % prefix
    return got


def limited(answers):
    return sorted(cid for cid, m in answers.items()
                  if not m["ok"] and m["error"]["code"] == "rate_limited")


def test_controller_reload_applies_what_may_change_and_names_the_rest(site):
    d = site.start_controller("[requests]\nburst=1000\nrefill_per_s=1000\n")
    op = site.operator
    client = site.client(op, client_id="test-reload")
    client.subscribe(harness.topic("ctl", op, "resp"))

    before = run_of_requests(client, op, "before", 12)
    assert limited(before) == [], before

    # Lower the rate, and change a key that needs a restart.
    path = os.path.join(site.tmp, "controller.conf")
    with open(path) as f:
        text = f.read()
    text = text.replace("burst=1000\nrefill_per_s=1000\n", "burst=2\nrefill_per_s=1\n")
    text = text.replace("[controller]\n", "[controller]\narchive_dir=elsewhere\n")
    with open(path, "w") as f:
        f.write(text)
    d.proc.send_signal(signal.SIGHUP)
    assert d.wait_log("reload: 2 setting(s) applied"), d.log(this_run=True)
    log = d.log(this_run=True)
    assert "reload: [requests] burst 1000 -> 2" in log, log
    assert "reload: [requests] refill_per_s 1000 -> 1" in log, log
    assert ("reload: [controller] archive_dir changed in %s: it takes effect only after a "
            "restart (systemctl restart evalroom-controller)" % path) in log, log

    after = run_of_requests(client, op, "after", 12)
    assert len(limited(after)) >= 12 - 2 - 2, after  # burst 2, at most a token or two more
    assert after[limited(after)[0]]["error"]["message"].startswith(
        "rate limited: more than 1 requests/s from %s" % op)

    # A file that does not load changes nothing; the controller serves on.
    with open(path, "w") as f:
        f.write(text.replace("burst=2", "burst=lots"))
    d.proc.send_signal(signal.SIGHUP)
    assert d.wait_log("reload refused, the running configuration stays"), d.log(this_run=True)
    assert "[requests] burst" in d.log(this_run=True).split("reload refused")[-1]
    assert d.alive()
    time.sleep(2.5)  # two tokens back at refill_per_s=1: the limit still holds
    rc, out, err = site.ctl("status")
    assert rc == 0 and out["controller"] == "online", err
    again = run_of_requests(client, op, "again", 8)
    assert len(limited(again)) >= 8 - 2 - 2, again


def test_agent_reload_applies_log_debug_and_names_the_rest(site):
    site.start_controller()
    d = site.start_agent("E1")
    path = os.path.join(site.tmp, "agent-E1.conf")
    with open(path) as f:
        text = f.read()
    text = text.replace("[agent]\n", "[log]\ndebug=true\n[agent]\n")
    text = text.replace("spool_dir=", "spool_dir=/nonexistent/elsewhere\n#was=")
    with open(path, "w") as f:
        f.write(text)
    d.proc.send_signal(signal.SIGHUP)
    assert d.wait_log("reload: 1 setting(s) applied"), d.log(this_run=True)
    log = d.log(this_run=True)
    assert "reload: [log] debug false -> true" in log, log
    assert ("reload: [agent] spool_dir changed in %s: it takes effect only after a restart "
            "(systemctl restart evalroom-agent)" % path) in log, log
    assert d.alive()
    # Still serving: the controller sees it online.
    rc, out, err = site.ctl("status")
    assert rc == 0 and any(r["room"] == "E1" and r["online"] for r in out["rooms"]), out
