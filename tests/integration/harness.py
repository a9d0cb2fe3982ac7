"""Reusable parts of the integration tests.

- provision(): provision a throwaway site with the real provisioning tool;
- Broker: the real /usr/sbin/mosquitto on a free loopback port with that configuration,
  started and awaited (TLS accepted and a CONNACK received), stopped afterwards;
- Client: a paho-mqtt (Debian's python3-paho-mqtt 1.6) MQTT v5 client over TLS with an
  identity's certificate, which records every message it receives;
- try_connect(): the outcome of one connection attempt, waiting for the CONNACK.

Use Debian's /usr/bin/python3. Nothing here asserts: the tests do.
"""
import getpass
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time

import paho.mqtt.client as mqtt

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE_SITE = os.path.join(ROOT, "schemas", "examples", "site.json")
MOSQUITTO = "/usr/sbin/mosquitto"
TOPIC_ROOT = "evalroom/v1"


def provision_command(bin_dir):
    """The provisioning command line: evalroom-provision while it is built, else
    `evalroomctl provision` (the same code, controller/provision/provision.c)."""
    tool = os.path.join(bin_dir, "evalroom-provision")
    if os.path.exists(tool):
        return [tool]
    return [os.path.join(bin_dir, "evalroomctl"), "provision"]


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Provisioned:
    """Paths of a provisioned site (the layout of docs/provisioning.md)."""

    def __init__(self, out_dir, site, port):
        self.dir = os.path.abspath(out_dir)
        self.site = site  # the site description as a dict
        self.port = port
        self.ca = os.path.join(self.dir, "ca.crt")
        self.ca_key = os.path.join(self.dir, "ca.key")
        self.conf = os.path.join(self.dir, "broker", "mosquitto.conf")
        self.acl = os.path.join(self.dir, "broker", "acl")
        self.signing_key = os.path.join(self.dir, "controller-signing.key")
        self.signing_pub = os.path.join(self.dir, "controller-signing.pub")
        self.credential_key = os.path.join(self.dir, "site-credential.key")

    def credential_digest(self, credential, full=False):
        """The keyed digest of a door credential (common/credential.h): 64 hex digits
        (admission lists) or, by default, the first 16 (door events, archives)."""
        import hashlib
        import hmac
        with open(self.credential_key) as f:
            key = bytes.fromhex(f.read().strip())
        mac = hmac.new(key, b"evalroom-credential:" + credential.encode(),
                       hashlib.sha256).hexdigest()
        return mac if full else mac[:16]

    def cert(self, cn):
        """(certificate, key) paths of identity cn."""
        return (os.path.join(self.dir, "clients", cn + ".crt"),
                os.path.join(self.dir, "clients", cn + ".key"))

    def signing(self, cn):
        """(certificate, key) paths of a watcher's witness-log signing identity (Ed25519)."""
        return (os.path.join(self.dir, "clients", cn + ".signing.crt"),
                os.path.join(self.dir, "clients", cn + ".signing.key"))

    def sm2_signing(self, cn):
        """(certificate, key) paths of a watcher's SM2 witness-log signing identity (a site
        with "witness_signing": "sm2" or "both")."""
        return (os.path.join(self.dir, "clients", cn + ".sm2-signing.crt"),
                os.path.join(self.dir, "clients", cn + ".sm2-signing.key"))

    def identities(self):
        """Every certificate identity the site should have, per schemas/topics.md."""
        s = self.site
        ids = ["controller"]
        for r in s["rooms"]:
            ids.append("agent-" + r["id"])
            ids += ["terminal-%s-%s" % (r["id"], seat["id"]) for seat in r.get("seats", [])]
        for role, key in (("operator", "operators"), ("desk", "desks"), ("auditor", "auditors"),
                          ("witness", "witnesses"), ("supervisor", "supervisors"),
                          ("rep", "representatives")):
            ids += ["%s-%s" % (role, n) for n in s.get(key, [])]
        return ids


def provision(bin_dir, out_dir, site=EXAMPLE_SITE, port=None, extra_args=(), check=True):
    """Provisions site (a path or a dict) into out_dir for a broker on 127.0.0.1:port (a free
    port when None). The broker runs as the current user. Returns a Provisioned, or the
    CompletedProcess when check is False."""
    if isinstance(site, dict):
        path = os.path.join(os.path.dirname(os.path.abspath(out_dir)),
                            os.path.basename(out_dir) + "-site.json")
        with open(path, "w") as f:
            json.dump(site, f)
        site_dict = site
    else:
        path = site
        with open(path) as f:
            site_dict = json.load(f)
    port = port or free_port()
    cmd = provision_command(bin_dir) + [
        "--site", path, "--out", out_dir, "--port", str(port), "--bind", "127.0.0.1",
        "--broker-user", getpass.getuser()] + list(extra_args)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if not check:
        return proc
    if proc.returncode != 0:
        raise RuntimeError("provisioning failed (%d): %s" % (proc.returncode, proc.stderr))
    return Provisioned(out_dir, site_dict, port)


class Client:
    """A paho MQTT v5 client over TLS as identity cn (None: no client certificate).

    Received messages are kept in .messages as (topic, payload bytes); wait_message() and
    messages_on() read them. A message with MQTT 5 user properties (a media chunk) is kept
    in .chunks instead, as (topic, {name: value}, payload bytes); chunks_on() reads them.
    Use connect() then close() (or a with block)."""

    def __init__(self, prov, cn, client_id=None, ca=None, cert=None, key=None,
                 exact_id=False):
        """client_id: the broker accepts only the CN, or the CN, ':' and a suffix
        (broker/clientid_bind.c), so a given id becomes "<cn>:<client_id>"; exact_id sends
        it unchanged (a hostile client naming another identity's session)."""
        self.prov = prov
        self.cn = cn
        if client_id and cn and not exact_id and client_id != cn \
                and not client_id.startswith(cn + ":"):
            client_id = cn + ":" + client_id
        self.client_id = client_id or cn or "anonymous"
        self.messages = []
        self.chunks = []
        self.connack = None  # reason code of the CONNACK, once it arrived
        self.disconnected = None  # reason of a disconnect / failed connection
        self._cond = threading.Condition()
        self.client = mqtt.Client(client_id=self.client_id, protocol=mqtt.MQTTv5)
        if cn and not cert:
            cert, key = prov.cert(cn)
        self.client.tls_set(ca_certs=ca or prov.ca, certfile=cert, keyfile=key,
                            cert_reqs=ssl.CERT_REQUIRED,
                            tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self._subacks = {}
        self._thread = None
        self._stop = False
        # paho 1.6 is not safe to drive from two threads at once (both would write the
        # TLS socket): the network loop and the test's calls take turns.
        self._io = threading.Lock()

    def _on_connect(self, client, userdata, flags, rc, properties=None):
        with self._cond:
            self.connack = rc
            self._cond.notify_all()

    def _on_disconnect(self, client, userdata, rc, properties=None):
        with self._cond:
            self.disconnected = rc
            self._cond.notify_all()

    def _on_message(self, client, userdata, msg):
        props = getattr(msg.properties, "UserProperty", None) if msg.properties else None
        with self._cond:
            if props:
                self.chunks.append((msg.topic, dict(props), bytes(msg.payload)))
            else:
                self.messages.append((msg.topic, bytes(msg.payload)))
            self._cond.notify_all()

    def _on_subscribe(self, client, userdata, mid, rcs, properties=None):
        with self._cond:
            self._subacks[mid] = rcs
            self._cond.notify_all()

    def _wait(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def connect(self, timeout=5.0):
        """Connects and waits for the CONNACK. Returns True when it came back as success,
        False when the broker refused or dropped the connection (or the TLS handshake
        failed, or nothing came within timeout)."""
        try:
            self.client.connect("127.0.0.1", self.prov.port, keepalive=30, clean_start=True)
        except (ssl.SSLError, OSError) as e:
            self.disconnected = repr(e)
            return False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._wait(lambda: self.connack is not None or self.disconnected is not None, timeout)
        return self.connack is not None and getattr(self.connack, "value", self.connack) == 0

    def _run(self):
        # Our own network loop: paho 1.6's loop_start() thread dies on a TLS alert that
        # arrives after the handshake (a refused certificate under TLS 1.3); here it is
        # recorded as the reason the connection ended.
        while not self._stop:
            try:
                with self._io:
                    rc = self.client.loop(0.02)
                time.sleep(0.0005)  # let a waiting publish/subscribe take its turn
            except (ssl.SSLError, OSError) as e:
                rc = repr(e)
            if rc != mqtt.MQTT_ERR_SUCCESS:
                with self._cond:
                    if self.disconnected is None:
                        self.disconnected = rc
                    self._cond.notify_all()
                return

    def subscribe(self, topic, qos=1, timeout=5.0):
        """Subscribes and waits for the SUBACK (which mosquitto grants even when the ACL
        will withhold every message)."""
        with self._io:
            rc, mid = self.client.subscribe(topic, qos)
        if rc != mqtt.MQTT_ERR_SUCCESS:
            raise RuntimeError("subscribe %s: %s" % (topic, mqtt.error_string(rc)))
        if not self._wait(lambda: mid in self._subacks, timeout):
            raise TimeoutError("no SUBACK for " + topic)
        return self._subacks[mid]

    def publish(self, topic, payload, qos=1, retain=False, timeout=5.0, user_properties=None):
        """Publishes and waits for the PUBACK (which mosquitto sends even when the ACL
        dropped the message). USER_PROPERTIES: [(name, value)] as MQTT 5 user properties."""
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload)
        props = user_props(user_properties) if user_properties else None
        with self._io:
            info = self.client.publish(topic, payload, qos=qos, retain=retain,
                                       properties=props)
        info.wait_for_publish(timeout)
        return info

    def messages_on(self, topic):
        with self._cond:
            return [p for t, p in self.messages if t == topic]

    def chunks_on(self, topic):
        """[(metadata dict, payload bytes)] of the chunks received on topic."""
        with self._cond:
            return [(m, p) for t, m, p in self.chunks if t == topic]

    def wait_message(self, topic, payload=None, timeout=5.0):
        """True once a message on topic (with that payload, if given) has arrived."""
        if isinstance(payload, str):
            payload = payload.encode()
        return self._wait(lambda: any(t == topic and (payload is None or p == payload)
                                      for t, p in self.messages), timeout)

    def close(self):
        if self._thread and self._thread.is_alive() and self.disconnected is None:
            try:
                with self._io:
                    self.client.disconnect()
            except (ssl.SSLError, OSError):
                pass
            self._wait(lambda: self.disconnected is not None, 2.0)
        self._stop = True
        if self._thread:
            self._thread.join()
            self._thread = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def user_props(pairs):
    """MQTT 5 PUBLISH properties holding PAIRS [(name, value)] as user properties."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = [(str(k), str(v)) for k, v in pairs]
    return props


def try_connect(prov, cn=None, timeout=5.0, **kw):
    """Outcome of one connection attempt: True only if a successful CONNACK arrived."""
    c = Client(prov, cn, **kw)
    ok = c.connect(timeout)
    c.close()
    return ok


class Broker:
    """The real mosquitto with a provisioned configuration. start() returns once the
    broker accepts TLS and answers the controller's CONNECT with a CONNACK."""

    def __init__(self, prov):
        self.prov = prov
        self.proc = None
        self.log_path = os.path.join(prov.dir, "broker", "mosquitto.log")

    def start(self, timeout=10.0):
        if not os.path.exists(MOSQUITTO):
            raise RuntimeError(MOSQUITTO + " is missing (./dev deps installs mosquitto)")
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.prov.conf], stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mosquitto exited with %d: %s" % (self.proc.returncode,
                                                                      self.log()))
            try:
                with socket.create_connection(("127.0.0.1", self.prov.port), timeout=0.5):
                    pass
            except OSError:
                time.sleep(0.05)
                continue
            if try_connect(self.prov, "controller", client_id="harness-ready", timeout=2.0):
                return self
            time.sleep(0.1)
        self.stop()
        raise TimeoutError("mosquitto did not accept TLS connections: " + self.log())

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def rss_kib(pid):
    """Resident memory (VmRSS) of process pid in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def topic(*levels):
    """evalroom/v1/<levels...>"""
    return "/".join((TOPIC_ROOT,) + levels)


def have_tools():
    return os.path.exists(MOSQUITTO) and shutil.which("openssl") is not None
