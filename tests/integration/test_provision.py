"""Provisioning end to end: the files it writes, and the real mosquitto enforcing them.

Every ACL denial is proved by delivery: a subscriber that may read the topic sees nothing
arrive, while the same operation by the right identity IS delivered (mosquitto 2.0
acknowledges denied publishes and subscriptions, so acknowledgements prove nothing)."""
import json
import os
import stat
import subprocess
import time

import pytest

import harness
from harness import Broker, Client, topic, try_connect

# Time to let a message that should not arrive arrive anyway, after a message sent at the
# same time by an allowed path has been delivered (loopback delivery takes < 5 ms).
SETTLE = 0.5


@pytest.fixture(scope="module")
def prov(bin_dir, tmp_path_factory):
    return harness.provision(bin_dir, str(tmp_path_factory.mktemp("prov") / "site"))


@pytest.fixture(scope="module")
def broker(prov):
    with Broker(prov) as b:
        yield b


def openssl(*args, data=None):
    return subprocess.run(["openssl"] + list(args), capture_output=True, text=True,
                          input=data, timeout=30)


def test_layout_modes_and_certificates(prov):
    ids = prov.identities()
    assert len(ids) == 14
    # the watchers (witness, supervisor, tenderer's representative) and the archive
    # custodians (auditors) also hold an Ed25519 certificate for signing the witness log or
    # a transfer of archives, beside their P-256 TLS one
    signers = [i for i in ids if i.split("-")[0] in ("witness", "supervisor", "rep", "auditor")]
    assert signers
    assert sorted(os.listdir(os.path.join(prov.dir, "clients"))) == sorted(
        [i + ".crt" for i in ids] + [i + ".key" for i in ids] +
        [i + ".signing.crt" for i in signers] + [i + ".signing.key" for i in signers])
    keys = [prov.ca_key, prov.signing_key, os.path.join(prov.dir, "broker", "broker.key")]
    keys += [prov.cert(i)[1] for i in ids] + [prov.signing(i)[1] for i in signers]
    for cn in signers:
        text = openssl("pkey", "-in", prov.signing(cn)[1], "-noout", "-text").stdout
        assert "ED25519" in text, text
        r = openssl("verify", "-CAfile", prov.ca, prov.signing(cn)[0])
        assert r.returncode == 0, r.stderr
    for k in keys:
        assert stat.S_IMODE(os.stat(k).st_mode) == 0o600, k
    for cn in ids:
        crt = prov.cert(cn)[0]
        r = openssl("verify", "-CAfile", prov.ca, "-purpose", "sslclient", crt)
        assert r.returncode == 0, r.stderr
        text = openssl("x509", "-in", crt, "-noout", "-subject", "-ext", "extendedKeyUsage")
        assert ("CN = %s\n" % cn) in text.stdout
        assert "TLS Web Client Authentication" in text.stdout
        assert "Server" not in text.stdout
        # The private key belongs to the certificate.
        pub_crt = openssl("x509", "-in", crt, "-noout", "-pubkey").stdout
        pub_key = openssl("pkey", "-in", prov.cert(cn)[1], "-pubout").stdout
        assert pub_crt == pub_key and pub_crt.startswith("-----BEGIN PUBLIC KEY-----")
    broker_crt = os.path.join(prov.dir, "broker", "broker.crt")
    assert openssl("verify", "-CAfile", prov.ca, "-purpose", "sslserver",
                   broker_crt).returncode == 0
    san = openssl("x509", "-in", broker_crt, "-noout", "-ext", "subjectAltName").stdout
    assert "DNS:localhost" in san and "IP Address:127.0.0.1" in san
    ca = openssl("x509", "-in", prov.ca, "-noout", "-text").stdout
    assert "CA:TRUE" in ca and "ASN1 OID: prime256v1" in ca


def test_signing_key_pair_signs_and_verifies(prov, tmp_path):
    head = open(prov.signing_key).read().splitlines()[0]
    assert head == "-----BEGIN PRIVATE KEY-----"  # PKCS#8
    assert "ED25519" in openssl("pkey", "-in", prov.signing_key, "-noout", "-text").stdout
    msg = tmp_path / "msg"
    msg.write_bytes(b"tree size 7, root ...")
    sig = tmp_path / "sig"
    r = openssl("pkeyutl", "-sign", "-inkey", prov.signing_key, "-rawin", "-in", str(msg),
                "-out", str(sig))
    assert r.returncode == 0, r.stderr
    r = openssl("pkeyutl", "-verify", "-pubin", "-inkey", prov.signing_pub, "-rawin",
                "-in", str(msg), "-sigfile", str(sig))
    assert r.returncode == 0 and "Signature Verified Successfully" in r.stdout
    msg.write_bytes(b"tree size 8, root ...")
    r = openssl("pkeyutl", "-verify", "-pubin", "-inkey", prov.signing_pub, "-rawin",
                "-in", str(msg), "-sigfile", str(sig))
    assert r.returncode != 0


def test_broker_config_and_acl_shape(prov):
    conf = open(prov.conf).read().splitlines()
    for line in ("per_listener_settings false", "allow_anonymous false",
                 "require_certificate true", "set_tcp_nodelay true",
                 "max_packet_size 4259840", "message_size_limit 4194304",
                 "max_queued_messages 100000", "max_queued_bytes 134217728", "listener %d 127.0.0.1" % prov.port,
                 "cafile " + prov.ca, "acl_file " + prov.acl, "persistence true"):
        assert line in conf
    # mosquitto 2.0 never calls a plugin under use_identity_as_username: the client id
    # binding (broker/clientid_bind.c) sets the username from the certificate itself.
    assert not [l for l in conf if l.startswith("use_identity_as_username")]
    plugins = [l.split(" ", 1)[1] for l in conf if l.startswith("plugin ")]
    assert len(plugins) == 1 and plugins[0].endswith("/lib/evalroom/mosquitto-evalroom-auth.so")
    assert os.path.isfile(plugins[0])
    acl = open(prov.acl).read().splitlines()
    first_user = next(i for i, l in enumerate(acl) if l.startswith("user "))
    # Lines before the first `user` would apply to anonymous clients: only comments there.
    assert all(l == "" or l.startswith("#") for l in acl[:first_user])
    assert not any(l[:1].isspace() or "\t" in l for l in acl)
    users = [l.split()[1] for l in acl if l.startswith("user ")]
    assert sorted(users) == sorted(prov.identities())
    assert not any("#" in l for l in acl if l.startswith("topic"))


def test_bad_site_is_rejected_and_nothing_written(bin_dir, tmp_path):
    site = json.load(open(harness.EXAMPLE_SITE))
    site["rooms"][1]["seats"][0]["id"] = "S 1"
    out = tmp_path / "out"
    r = harness.provision(bin_dir, str(out), site=site, check=False)
    assert r.returncode == 1
    assert 'rooms[1].seats[0].id: "S 1" is not a valid identifier' in r.stderr
    assert not out.exists()


VENUE_SITE = {
    "id": "wan", "name": "Two venues",
    "venues": [{"id": "main", "main": True, "host": "10.20.0.5"},
               {"id": "north", "host": "10.31.4.2", "port": 9883, "media_kbit": 9000}],
    "rooms": [{"id": "EM", "kind": "expert", "door": "D-EM"},
              {"id": "EN", "kind": "expert", "venue": "north", "door": "D-EN"},
              {"id": "EO", "kind": "expert", "venue": "north", "door": "D-EO"}],
    "operators": ["alice"]}


def bridge_sections(conf):
    """{connection name: [its lines]} of a mosquitto.conf."""
    out, name = {}, None
    for line in conf.splitlines():
        if line.startswith("connection "):
            name = line.split()[1]
            out[name] = []
        elif name and line and not line.startswith("#"):
            out[name].append(line)
    return out


def test_venue_broker_has_a_media_bridge_and_the_rate(bin_dir, tmp_path):
    prov = harness.provision(bin_dir, str(tmp_path / "site"), site=VENUE_SITE)
    vdir = os.path.join(prov.dir, "venues", "north")
    bridges = bridge_sections(open(os.path.join(vdir, "broker", "mosquitto.conf")).read())
    assert sorted(bridges) == ["bridge-north", "bridge-north-media"]
    main, media = bridges["bridge-north"], bridges["bridge-north-media"]
    for lines, cid in ((main, "bridge-north"), (media, "bridge-north:media")):
        assert "address 10.20.0.5:8883" in lines
        assert "remote_clientid " + cid in lines
        assert "bridge_certfile %s/clients/bridge-north.crt" % prov.dir in lines
        assert "bridge_protocol_version mqttv50" in lines and "cleansession false" in lines
    assert "notifications true" in main and "notifications false" in media
    assert [l for l in main if l.startswith("topic ")] == [
        "topic evalroom/v1/controller/status in 1"] + [
        "topic evalroom/v1/room/%s/%s %s 1" % (r, t, d) for r in ("EN", "EO")
        for t, d in (("status", "out"), ("event", "out"), ("reply", "out"), ("cmd", "in"))]
    assert [l for l in media if l.startswith("topic ")] == [
        "topic evalroom/v1/room/EN/media out 1", "topic evalroom/v1/room/EO/media out 1"]
    # the agents' share of the venue's rate: 9000 kbit/s for two rooms
    rec = open(os.path.join(vdir, "agent-recorder.conf")).read()
    assert rec.endswith("[recorder]\nmedia_kbit=4500\n"), rec
    assert "EN, EO" in rec
    # the main broker's ACL: the bridge identity may write the rooms' media (both
    # connections are bridge-north: the client-id plugin accepts bridge-north:media)
    acl = open(prov.acl).read()
    block = acl.split("\nuser bridge-north\n")[1].split("\nuser ")[0]
    assert "topic write evalroom/v1/room/EN/media" in block


def test_venue_without_a_rate_has_no_share_file(bin_dir, tmp_path):
    site = json.loads(json.dumps(VENUE_SITE))
    del site["venues"][1]["media_kbit"]
    prov = harness.provision(bin_dir, str(tmp_path / "site"), site=site)
    assert not os.path.exists(os.path.join(prov.dir, "venues", "north",
                                           "agent-recorder.conf"))


@pytest.mark.parametrize("kbit, message", [
    ("fast", "venues[1].media_kbit: expected the venue's media rate to the main venue in "
             "kbit/s, a whole number from 64 to 10000000"),
    (100, "venues[1].media_kbit: 100 kbit/s shared by the venue's 2 rooms leaves 50 kbit/s "
          "a room; each room needs at least 64"),
])
def test_broken_media_rate_is_refused_and_nothing_written(bin_dir, tmp_path, kbit, message):
    site = json.loads(json.dumps(VENUE_SITE))
    site["venues"][1]["media_kbit"] = kbit
    out = tmp_path / "out"
    r = harness.provision(bin_dir, str(out), site=site, check=False)
    assert r.returncode == 1 and message in r.stderr, r.stderr
    assert not out.exists()


def test_refuses_non_empty_dir_unless_forced(bin_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep").write_text("x")
    r = harness.provision(bin_dir, str(out), check=False)
    assert r.returncode == 1 and "--force" in r.stderr
    assert os.listdir(out) == ["keep"]
    p = harness.provision(bin_dir, str(out), extra_args=["--force"])
    assert os.path.exists(p.cert("controller")[0])


def test_bad_options_are_rejected(bin_dir, tmp_path):
    r = harness.provision(bin_dir, str(tmp_path / "a"), extra_args=["--broker-host", "a b"],
                          check=False)
    assert r.returncode == 1 and "--broker-host" in r.stderr
    assert not (tmp_path / "a").exists()
    r = subprocess.run(harness.provision_command(bin_dir) + ["--out", str(tmp_path / "b")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "--site is required" in r.stderr


def test_client_without_certificate_cannot_connect(prov, broker):
    assert not try_connect(prov, None)
    assert try_connect(prov, "operator-alice")  # the control: a certificate does


def test_client_from_another_ca_cannot_connect(prov, broker, bin_dir, tmp_path):
    other = harness.provision(bin_dir, str(tmp_path / "other"))
    cert, key = other.cert("controller")
    assert not try_connect(prov, "controller", cert=cert, key=key)


def test_agent_cannot_publish_on_another_rooms_topics(prov, broker):
    with Client(prov, "controller") as ctl, Client(prov, "agent-E1") as e1, \
            Client(prov, "agent-E2") as e2:
        assert ctl.connect() and e1.connect() and e2.connect()
        ctl.subscribe(topic("room", "+", "#"))
        for kind in ("status", "event", "reply", "media"):
            e1.publish(topic("room", "E2", kind), "forged by E1")
            e2.publish(topic("room", "E2", kind), "from E2")
        for kind in ("status", "event", "reply", "media"):
            assert ctl.wait_message(topic("room", "E2", kind), "from E2")
        e1.publish(topic("room", "E1", "event"), "own room")
        assert ctl.wait_message(topic("room", "E1", "event"), "own room")
        time.sleep(SETTLE)
        assert not [m for m in ctl.messages if m[1] == b"forged by E1"]
        e2.publish(topic("room", "E2", "status"), "", retain=True)  # clear the retained one


def test_only_the_controller_publishes_commands(prov, broker):
    with Client(prov, "controller") as ctl, Client(prov, "agent-E1") as e1, \
            Client(prov, "agent-E2") as e2, Client(prov, "operator-alice") as op:
        assert ctl.connect() and e1.connect() and e2.connect() and op.connect()
        e1.subscribe(topic("room", "E1", "cmd"))
        e2.subscribe(topic("room", "E2", "cmd"))
        e1.publish(topic("room", "E1", "cmd"), "unlock from E1")
        e1.publish(topic("room", "E2", "cmd"), "unlock from E1")
        op.publish(topic("room", "E1", "cmd"), "unlock from operator")
        ctl.publish(topic("room", "E1", "cmd"), "unlock from controller")
        ctl.publish(topic("room", "E2", "cmd"), "unlock from controller")
        assert e1.wait_message(topic("room", "E1", "cmd"), "unlock from controller")
        assert e2.wait_message(topic("room", "E2", "cmd"), "unlock from controller")
        time.sleep(SETTLE)
        assert e1.messages_on(topic("room", "E1", "cmd")) == [b"unlock from controller"]
        assert e2.messages_on(topic("room", "E2", "cmd")) == [b"unlock from controller"]


def test_agent_cannot_read_another_rooms_commands(prov, broker):
    with Client(prov, "controller") as ctl, Client(prov, "agent-E1") as e1, \
            Client(prov, "agent-E2") as e2:
        assert ctl.connect() and e1.connect() and e2.connect()
        e1.subscribe(topic("room", "E2", "cmd"))
        e1.subscribe(topic("room", "+", "cmd"))
        e1.subscribe(topic("#"))
        e2.subscribe(topic("room", "E2", "cmd"))
        ctl.publish(topic("room", "E2", "cmd"), "for E2")
        ctl.publish(topic("room", "E1", "cmd"), "for E1")
        assert e2.wait_message(topic("room", "E2", "cmd"), "for E2")
        assert e1.wait_message(topic("room", "E1", "cmd"), "for E1")
        time.sleep(SETTLE)
        assert e1.messages_on(topic("room", "E2", "cmd")) == []


def test_terminal_cannot_read_or_write_another_seat(prov, broker):
    with Client(prov, "agent-E1") as agent, Client(prov, "terminal-E1-S1") as s1, \
            Client(prov, "terminal-E1-S2") as s2, Client(prov, "terminal-E2-S1") as e2s1:
        assert agent.connect() and s1.connect() and s2.connect() and e2s1.connect()
        agent.subscribe(topic("seat", "E1", "+", "+"))
        for c in (s1, e2s1):
            c.subscribe(topic("seat", "E1", "S2", "down"))
            c.subscribe(topic("seat", "+", "+", "+"))
        s2.subscribe(topic("seat", "E1", "S2", "down"))
        agent.publish(topic("seat", "E1", "S2", "down"), "for S2")
        s1.publish(topic("seat", "E1", "S2", "up"), "forged by S1")
        e2s1.publish(topic("seat", "E1", "S2", "status"), "forged by E2-S1")
        s2.publish(topic("seat", "E1", "S2", "up"), "from S2")
        s1.publish(topic("seat", "E1", "S1", "up"), "from S1")
        assert s2.wait_message(topic("seat", "E1", "S2", "down"), "for S2")
        assert agent.wait_message(topic("seat", "E1", "S2", "up"), "from S2")
        assert agent.wait_message(topic("seat", "E1", "S1", "up"), "from S1")
        time.sleep(SETTLE)
        for c in (s1, e2s1):  # nothing of seat E1/S2 reaches another terminal
            assert [t for t, _ in c.messages if "/E1/S2/" in t] == []
        assert not [m for m in agent.messages if m[1].startswith(b"forged")]


def test_operator_cannot_read_or_request_as_another(prov, broker):
    with Client(prov, "controller") as ctl, Client(prov, "operator-alice") as alice, \
            Client(prov, "operator-bob") as bob, Client(prov, "desk-entrance") as desk:
        assert ctl.connect() and alice.connect() and bob.connect() and desk.connect()
        ctl.subscribe(topic("ctl", "+", "req"))
        alice.subscribe(topic("ctl", "operator-alice", "resp"))
        for c in (bob, desk):
            c.subscribe(topic("ctl", "operator-alice", "resp"))
            c.subscribe(topic("ctl", "+", "resp"))
        bob.publish(topic("ctl", "operator-alice", "req"), "forged by bob")
        alice.publish(topic("ctl", "operator-alice", "req"), "from alice")
        ctl.publish(topic("ctl", "operator-alice", "resp"), "answer for alice")
        assert alice.wait_message(topic("ctl", "operator-alice", "resp"), "answer for alice")
        assert ctl.wait_message(topic("ctl", "operator-alice", "req"), "from alice")
        time.sleep(SETTLE)
        assert bob.messages == [] and desk.messages == []
        assert ctl.messages_on(topic("ctl", "operator-alice", "req")) == [b"from alice"]


def test_example_site_matches_its_schema():
    import jsonschema
    schema = json.load(open(os.path.join(harness.ROOT, "schemas", "site.schema.json")))
    jsonschema.Draft202012Validator.check_schema(schema)
    site = json.load(open(harness.EXAMPLE_SITE))
    jsonschema.Draft202012Validator(schema).validate(site)
    site["rooms"][0]["kind"] = "lounge"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(site)
