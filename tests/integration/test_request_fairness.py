"""One requester must not starve the others: a per-identity token bucket in the
controller's request dispatch ([requests] burst, refill_per_s).

The real broker and controller; operator-alice floods the controller with state-changing
requests (session.create: audited, two durable writes each) as fast as one MQTT client can,
while operator-bob asks for `status`. Bob is answered; Alice gets rate-limited answers;
no refused request changed the state or reached the audit log.

No timings are asserted (a loaded machine must not fail this): the figures are printed
(pytest -s shows them) and reported in docs/operator.md."""
import json
import os
import sqlite3
import time

import pytest

import harness
from daemons import Site, wait_for

FLOOD = 2000
DATE = "2026-12-01"
FLOODER = "operator-alice"
OTHER = "operator-bob"


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    yield s
    s.close()


def request(cid, command, args):
    now = int(time.time() * 1e6)
    return {"v": 1, "kind": "request", "seq": now, "ts": now, "id": cid,
            "expires": now + 9 * 60 * 10**6, "command": command, "args": args}


def answers(client, identity):
    """The responses CLIENT received on IDENTITY's response topic, by request id."""
    out = {}
    for p in client.messages_on(harness.topic("ctl", identity, "resp")):
        m = json.loads(p)
        out.setdefault(m.get("id"), m)
    return out


def settled(count, quiet=2.0, timeout=300):
    """Wait until COUNT() stops growing for QUIET seconds; returns the last value."""
    deadline = time.monotonic() + timeout
    last, since = count(), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.05)
        n = count()
        if n != last:
            last, since = n, time.monotonic()
    return last


def state_db(site):
    return sqlite3.connect("file:%s?mode=ro" % os.path.join(site.tmp, "controller-state",
                                                             "state.db"), uri=True)


def flood(client, identity, n):
    """Publish N session.create requests without waiting for each acknowledgement."""
    topic = harness.topic("ctl", identity, "req")
    infos = []
    for i in range(n):
        payload = json.dumps(request("flood-%04d" % i, "session.create",
                                     {"date": DATE, "id": "F%04d" % i}))
        with client._io:
            infos.append(client.client.publish(topic, payload, qos=1))
    for info in infos:
        info.wait_for_publish(60)


def test_flood_from_one_identity_does_not_starve_another(site):
    site.start_controller()
    alice = site.client(FLOODER, client_id="test-flooder")
    alice.client.max_inflight_messages_set(1000)
    alice.subscribe(harness.topic("ctl", FLOODER, "resp"))
    bob = site.client(OTHER, client_id="test-bystander")
    bob.subscribe(harness.topic("ctl", OTHER, "resp"))

    # Bob asks once the broker has the whole flood: behind it in the controller's queue.
    started = time.monotonic()
    flood(alice, FLOODER, FLOOD)
    published_s = time.monotonic() - started
    asked = time.monotonic()
    bob.publish(harness.topic("ctl", OTHER, "req"), request("bob-status", "status", {}))
    bob_reply = wait_for(lambda: answers(bob, OTHER).get("bob-status"), 300, 0.005)
    bob_s = time.monotonic() - asked
    flood_left = FLOOD - len(answers(alice, FLOODER))
    # Rate-limited answers travel at QoS 0: a broker under load may drop a few.
    settled(lambda: len(answers(alice, FLOODER)))
    drained_s = time.monotonic() - started

    got = answers(alice, FLOODER)
    done = {cid for cid, m in got.items() if m["ok"]}
    limited = {cid for cid, m in got.items()
               if not m["ok"] and m["error"]["code"] == "rate_limited"}
    print("\nflood: %d session.create from %s published in %.2f s, answers settled after "
          "%.2f s: %d executed, %d rate limited, %d unanswered; %s's status answered %.3f s "
          "after it was sent (%d of the flood then still unanswered)"
          % (FLOOD, FLOODER, published_s, drained_s, len(done), len(limited),
             FLOOD - len(got), OTHER, bob_s, flood_left))

    assert bob_reply and bob_reply["ok"] is True, bob_reply
    assert bob_reply["result"]["controller"] == "online"
    assert limited, "no request of the flood was rate limited"
    assert len(done) + len(limited) == len(got) >= FLOOD * 0.9, \
        [m for cid, m in got.items() if cid not in done and cid not in limited][:3]
    sample = got[sorted(limited)[0]]["error"]["message"]
    assert sample.startswith("rate limited: more than 20 requests/s from %s; retry after "
                             % FLOODER) and sample.endswith(" ms"), sample

    # Nothing of the refused (or unanswered) ones: exactly the sessions answered ok exist,
    # and only they are audited.
    with state_db(site) as db:
        sessions = {r[0] for r in db.execute("SELECT id FROM session WHERE date = ?",
                                             (DATE,))}
        audited = db.execute("SELECT count(*) FROM audit WHERE identity = ? AND "
                             "command = 'session.create'", (FLOODER,)).fetchone()[0]
        refused_audited = db.execute("SELECT count(*) FROM audit WHERE message LIKE "
                                     "'rate limited%'").fetchone()[0]
    assert sessions == {"F" + cid[len("flood-"):] for cid in done}
    assert audited == len(done) and refused_audited == 0

    # One warning per identity per 10 s, not one per refused request.
    log = site.daemons["controller"].log(this_run=True)
    warnings = [ln for ln in log.splitlines() if "rate limited" in ln and FLOODER in ln]
    assert 1 <= len(warnings) <= drained_s / 10 + 2, warnings

    # The bucket refills: after a pause Alice is served again, and so is Bob.
    time.sleep(1.0)
    rc, out, err = site.ctl("status", identity=FLOODER)
    assert rc == 0 and out["controller"] == "online", err
    rc, out, err = site.ctl("status", identity=OTHER)
    assert rc == 0, err
    alice.close()
    bob.close()
    assert site.schema_problems() == []
