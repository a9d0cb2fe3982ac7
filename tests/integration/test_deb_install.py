"""The Debian packages on a clean Debian root, as a technician would use them (issue 25):
`apt install ./evalroom-*.deb` into a debootstrap'ed bookworm root; a one-room site
provisioned with the installed evalroomctl and its files placed as docs/deploy.md says;
the broker, the controller and the agent started from the ExecStart= lines of their
installed units (chroot, as the units' users; no systemd in the root); a door command
and a short recording through them; an upgrade to rebuilt packages whose shipped
configuration changed, keeping the edited ones; and a purge that leaves nothing behind.

The tests of this module run in order on one root. Needs root and debootstrap; the
cached root (~/.cache/evalroom/debootstrap) is made on the first run from this
machine's Debian mirror (a few minutes), then reused."""
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

import harness
from daemons import DoorSim, door_config, wait_for
import debroot

ROOM = "E1"
OPERATOR = "operator-alice"
APT = ["apt-get", "-y", "-q", "--no-install-recommends",
       "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"]
VIDEO = ("videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,"
         "framerate=10/1 ! x264enc tune=zerolatency speed-preset=ultrafast "
         "key-int-max=10 bitrate=200 ! h264parse")


class State:
    """What the tests of this module hand on to each other."""


@pytest.fixture(scope="module")
def st(build_dir, tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("SKIPPED package install test: needs root (debootstrap, chroot, mount)")
    if not shutil.which("debootstrap"):
        pytest.skip("SKIPPED package install test: debootstrap not installed (./dev test "
                    "installs it)")
    if debroot.cache_value(build_dir, "CMAKE_INSTALL_PREFIX") != "/usr":
        pytest.skip("SKIPPED package install test: build not configured for the Debian "
                    "layout (./dev build sets CMAKE_INSTALL_PREFIX=/usr)")
    if debroot.cache_value(build_dir, "ENABLE_SANITIZERS") == "ON":
        pytest.skip("SKIPPED package install test: a sanitizer build is not packaged")
    s = State()
    s.tmp = str(tmp_path_factory.mktemp("debinstall"))
    s.debs = [d for d in debroot.build_debs(build_dir, os.path.join(s.tmp, "debs"))
              if re.search(r"_(amd64|all)\.deb$", d)]
    s.names = sorted(debroot.deb_field(d, "Package") for d in s.debs)
    base = debroot.cached_base(debroot.package_depends(s.debs),
                               os.path.join(s.tmp, "debootstrap.log"))
    s.root = debroot.Root(base, os.path.join(s.tmp, "root"))
    s.procs = {}
    s.logs = {}
    yield s
    stop_all(s)
    s.root.close()


def copy_debs(s, debs, sub):
    d = s.root.p("/tmp/" + sub)
    os.makedirs(d, exist_ok=True)
    for deb in debs:
        shutil.copy(deb, d)
    return ["/tmp/%s/%s" % (sub, os.path.basename(x)) for x in debs]


def unit(s, name):
    for d in ("/lib/systemd/system", "/usr/lib/systemd/system"):
        if os.path.exists(s.root.p(d + "/" + name)):
            return debroot.unit_fields(open(s.root.p(d + "/" + name)).read())
    raise FileNotFoundError(name)


def start_unit(s, name):
    """Starts the unit's ExecStartPre= and ExecStart= lines in the root as its User=
    (with the directories systemd would make for it), as systemd would."""
    f = unit(s, name)
    user = f.get("User", ["root"])[-1]
    group = f.get("Group", [user])[-1]
    for key, base in (("StateDirectory", "/var/lib/"), ("RuntimeDirectory", "/run/")):
        for d in f.get(key, []):
            mode = f.get(key + "Mode", ["0755"])[-1]
            s.root.run("install", "-d", "-m", mode, "-o", user, "-g", group, base + d)
    for pre in f.get("ExecStartPre", []):
        s.root.run(*pre.lstrip("-").split())
    env = {}
    for e in f.get("Environment", []):
        k, v = e.split("=", 1)
        env[k] = v
    groups = [group] + " ".join(f.get("SupplementaryGroups", [])).split()
    argv = f["ExecStart"][-1].split()
    log = open(os.path.join(s.tmp, name + ".log"), "ab")
    s.logs[name] = log.name
    s.procs[name] = s.root.popen(argv, log, user=None if user == "root" else user + ":" + group,
                                 groups=None if user == "root" else groups, env=env)
    return s.procs[name]


def log_of(s, name):
    with open(s.logs[name], "rb") as f:
        return f.read().decode(errors="replace")


def stop_unit(s, name):
    p = s.procs.pop(name, None)
    if p and p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    # systemd removes a stopped unit's RuntimeDirectory=.
    if name.startswith("evalroom"):
        for d in unit(s, name).get("RuntimeDirectory", []):
            shutil.rmtree(s.root.p("/run/" + d), ignore_errors=True)


def stop_all(s):
    for name in list(s.procs):
        stop_unit(s, name)


def test_apt_install(st):
    s = st
    assert s.names == ["evalroom-agent", "evalroom-broker", "evalroom-common",
                       "evalroom-controller", "evalroom-terminal", "evalroom-tools"]
    # Depends computed by dpkg-shlibdeps from the programs' libraries.
    agent = [d for d in s.debs if "evalroom-agent_" in d][0]
    depends = debroot.deb_field(agent, "Depends")
    for lib in ("libc6", "libglib2.0-0", "libgstreamer1.0-0", "libgpiod2", "libsqlite3-0",
                "libssl3", "libpaho-mqtt1.3", "evalroom-common"):
        assert lib in depends, depends
    s.before = s.root.files()
    paths = copy_debs(s, s.debs, "debs-1")
    r = s.root.run(*APT, "install", *paths, timeout=600,
                   env={"DEBIAN_FRONTEND": "noninteractive"})
    print(r.stdout[-2000:])
    q = s.root.run("dpkg-query", "-W", "-f=${Package} ${Version} ${Status}\n", "evalroom-*")
    for name in s.names:
        assert re.search(r"^%s \S+ install ok installed$" % name, q.stdout, re.M), q.stdout
    # Users (systemd-sysusers), directories (systemd-tmpfiles), units enabled, conffiles.
    passwd = open(s.root.p("/etc/passwd")).read()
    for user in ("evalroom", "evalroom-agent", "evalroom-terminal"):
        assert re.search(r"^%s:x:\d+:" % user, passwd, re.M), user
    gpio = re.search(r"^gpio:x:\d+:(.*)$", open(s.root.p("/etc/group")).read(), re.M)
    assert gpio and "evalroom-agent" in gpio.group(1).split(",")
    assert os.path.isdir(s.root.p("/etc/evalroom/tls"))
    st_arch = os.stat(s.root.p("/var/lib/evalroom/archive"))
    assert oct(st_arch.st_mode & 0o777) == "0o700"
    for u in ("evalroom-controller.service", "evalroom-agent.service"):
        assert os.path.islink(s.root.p("/etc/systemd/system/multi-user.target.wants/" + u)), u
    assert not glob.glob(s.root.p("/etc/systemd/system/*.wants/evalroom-terminal*"))
    conffiles = s.root.run("dpkg-query", "-W", "-f=${Conffiles}\n", "evalroom-agent").stdout
    assert "/etc/evalroom/agent.conf " in conffiles, conffiles
    conffiles = s.root.run("dpkg-query", "-W", "-f=${Conffiles}\n", "evalroom-broker").stdout
    assert "/etc/mosquitto/conf.d/evalroom.conf " in conffiles, conffiles


def test_provision_and_configure(st):
    """docs/deploy.md sections 2-4 on one machine that is broker, controller and room board."""
    s = st
    site = json.load(open(harness.EXAMPLE_SITE))
    site["rooms"] = [r for r in site["rooms"] if r["id"] == ROOM]
    with open(s.root.p("/tmp/site.json"), "w") as f:
        json.dump(site, f)
    s.port = harness.free_port()
    s.root.run("evalroomctl", "provision", "--site", "/tmp/site.json", "--out", "/tmp/site-hq",
               "--broker-host", "localhost", "--port", str(s.port))
    cp = [("ca.crt", "/etc/evalroom/tls/ca.crt", "root:root", "0644"),
          ("broker/broker.crt", "/etc/evalroom/broker/broker.crt", "root:root", "0644"),
          ("broker/broker.key", "/etc/evalroom/broker/broker.key", "mosquitto:mosquitto", "0600"),
          ("broker/acl", "/etc/evalroom/broker/acl", "root:mosquitto", "0640"),
          ("clients/controller.crt", "/etc/evalroom/tls/controller.crt", "evalroom:evalroom",
           "0644"),
          ("clients/controller.key", "/etc/evalroom/tls/controller.key", "evalroom:evalroom",
           "0600"),
          ("controller-signing.key", "/etc/evalroom/tls/controller-signing.key",
           "evalroom:evalroom", "0600"),
          ("clients/agent-E1.crt", "/etc/evalroom/tls/agent-E1.crt", "root:root", "0644"),
          ("clients/agent-E1.key", "/etc/evalroom/tls/agent-E1.key",
           "evalroom-agent:evalroom-agent", "0600"),
          ("site-credential.key", "/etc/evalroom/tls/site-credential.key",
           "evalroom:evalroom", "0600"),
          # The board's own copy (docs/deploy.md); here the controller shares the machine,
          # and each daemon's copy belongs to its own user.
          ("site-credential.key", "/etc/evalroom/tls/agent-credential.key",
           "evalroom-agent:evalroom-agent", "0600")]
    s.root.run("install", "-d", "-m", "0755", "/etc/evalroom/broker")
    for src, dst, owner, mode in cp:
        u, g = owner.split(":")
        s.root.run("install", "-m", mode, "-o", u, "-g", g, "/tmp/site-hq/" + src, dst)
    # The listener on this test's port and loopback only (deploy.md: edit the listener line).
    snippet = s.root.p("/etc/mosquitto/conf.d/evalroom.conf")
    text = open(snippet).read()
    assert "\nlistener 8883\n" in text
    open(snippet, "w").write(text.replace("\nlistener 8883\n",
                                          "\nlistener %d 127.0.0.1\n" % s.port))
    uri = "ssl://127.0.0.1:%d" % s.port  # in the broker certificate, as localhost is
    for conf in ("controller", "agent"):
        path = s.root.p("/etc/evalroom/%s.conf" % conf)
        text = re.sub(r"^uri=.*$", "uri=" + uri, open(path).read(), flags=re.M)
        if conf == "agent":
            text = re.sub(r"^credential_key=.*$",
                          "credential_key=/etc/evalroom/tls/agent-credential.key", text,
                          flags=re.M)
            text += door_config("/run/evalroom-agent/door.sock")
            text += ("[recorder]\nstate_interval_ms=2000\n[stream cam-E1]\nsource=%s\n"
                     "place=room\nsegment_seconds=2\n" % VIDEO)
        open(path, "w").write(text)
    s.edited = {c: open(s.root.p("/etc/evalroom/%s.conf" % c)).read()
                for c in ("controller", "agent")}
    # The operator's evalroomctl configuration, in the operator's home.
    s.root.run("install", "-d", "-m", "0700", "/root/.config/evalroom")
    for ext in ("crt", "key"):
        s.root.run("install", "-m", "0600", "/tmp/site-hq/clients/%s.%s" % (OPERATOR, ext),
                   "/root/.config/evalroom/%s.%s" % (OPERATOR, ext))
    with open(s.root.p("/root/.config/evalroom/ctl.conf"), "w") as f:
        f.write("[mqtt]\nuri=%s\nca=/etc/evalroom/tls/ca.crt\n"
                "cert=/root/.config/evalroom/%s.crt\nkey=/root/.config/evalroom/%s.key\n"
                % (uri, OPERATOR, OPERATOR))
    # Re-applies the keys' owners and modes, as the docs say.
    s.root.run("systemd-tmpfiles", "--create", "evalroom.conf")
    st_key = os.stat(s.root.p("/etc/evalroom/tls/agent-E1.key"))
    assert oct(st_key.st_mode & 0o777) == "0o600"


def ctl(s, *args, check=True):
    r = s.root.run("evalroomctl", "--config", "/root/.config/evalroom/ctl.conf", "--json",
                   *args, check=check, timeout=60)
    return json.loads(r.stdout) if r.stdout.strip() else None


def test_daemons_door_and_recording(st):
    s = st
    dropin = debroot.unit_fields(open(s.root.p(
        "/lib/systemd/system/mosquitto.service.d/evalroom.conf")).read())
    for path in dropin["ConditionPathExists"]:
        assert os.path.exists(s.root.p(path)), path  # the broker would start
    start_unit(s, "mosquitto.service")
    assert wait_for(lambda: listening(s.port), 20), log_of(s, "mosquitto.service")
    start_unit(s, "evalroom-controller.service")
    start_unit(s, "evalroom-agent.service")
    door = DoorSim(s.root.p("/run/evalroom-agent/door.sock"))

    def door_up():
        try:
            return door.get("DOOR_LOCK") is not None
        except OSError:
            return False
    assert wait_for(door_up, 30), log_of(s, "evalroom-agent.service")

    def status():
        out = ctl(s, "door", ROOM, "status", check=False)
        return out if out and out.get("rooms", {}).get(ROOM, {}).get("status") else None
    out = wait_for(status, 30)
    assert out and out["rooms"][ROOM]["status"]["state"] == "locked", (
        out, log_of(s, "evalroom-controller.service"), log_of(s, "evalroom-agent.service"))
    ctl(s, "door", ROOM, "unlock")
    assert wait_for(lambda: 1 in [lv for _, lv in door.history("DOOR_LOCK")], 10), \
        door.history("DOOR_LOCK")

    # A short recording: the agent records cam-E1 and ships it; the controller keeps it
    # in the day's retention archive and acknowledges it, emptying the agent's spool.
    def archived():
        for arc in glob.glob(s.root.p("/var/lib/evalroom/archive/*.evarc")):
            info = s.root.run("evalroom-archive", "info", "/var/lib/evalroom/archive/" +
                              os.path.basename(arc), check=False)
            if "cam-E1" in info.stdout:
                return info.stdout
        return None
    info = wait_for(archived, 60, interval=1)
    assert info, (log_of(s, "evalroom-agent.service"), log_of(s, "evalroom-controller.service"))
    print(info)
    for name in ("mosquitto.service", "evalroom-controller.service", "evalroom-agent.service"):
        assert s.procs[name].poll() is None, (name, log_of(s, name))


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def rebuilt(s, deb, out_dir, version, conf_note):
    """deb repacked as version, each shipped /etc/evalroom/*.conf with one more line."""
    work = os.path.join(out_dir, "x-" + os.path.basename(deb))
    subprocess.run(["dpkg-deb", "-R", deb, work], check=True)
    ctrl = os.path.join(work, "DEBIAN", "control")
    text = open(ctrl).read()
    text = re.sub(r"^Version: .*$", "Version: " + version, text, flags=re.M)
    # Its dependency on evalroom-common: the rebuilt one.
    open(ctrl, "w").write(re.sub(r"(evalroom-common \(= )[^)]*\)", r"\g<1>%s)" % version,
                                 text))
    for conf in glob.glob(os.path.join(work, "etc/evalroom/*.conf")):
        with open(conf, "a") as f:
            f.write(conf_note)
    sums = subprocess.run("find . -type f ! -path './DEBIAN/*' -printf '%P\\0' | "
                          "xargs -0 md5sum", shell=True, cwd=work, capture_output=True,
                          text=True, check=True).stdout
    open(os.path.join(work, "DEBIAN", "md5sums"), "w").write(sums)
    name = "%s_%s_%s.deb" % (debroot.deb_field(deb, "Package"), version,
                             debroot.deb_field(deb, "Architecture"))
    path = os.path.join(out_dir, name)
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "-b", work, path], check=True,
                   capture_output=True)
    return path


def test_upgrade_keeps_edited_configuration(st):
    s = st
    stop_all(s)
    old = s.root.run("dpkg-query", "-W", "-f=${Version}", "evalroom-agent").stdout
    new = old + "+rebuild1"
    note = "# Shipped by the rebuilt package.\n"
    out = os.path.join(s.tmp, "debs-2")
    os.makedirs(out)
    debs = [rebuilt(s, d, out, new, note) for d in s.debs]
    r = s.root.run(*APT, "install", *copy_debs(s, debs, "debs-2"), timeout=600,
                   env={"DEBIAN_FRONTEND": "noninteractive"})
    print(r.stdout[-2000:])
    q = s.root.run("dpkg-query", "-W", "-f=${Version}", "evalroom-agent").stdout
    assert q == new
    # Edited: the administrator's file stays, the package's new one beside it.
    for c, text in s.edited.items():
        assert open(s.root.p("/etc/evalroom/%s.conf" % c)).read() == text, c
        assert open(s.root.p("/etc/evalroom/%s.conf.dpkg-dist" % c)).read().endswith(note)
    # Not edited: replaced by the new version.
    assert open(s.root.p("/etc/evalroom/terminal.conf")).read().endswith(note)
    # The site comes back up on the upgraded programs with the kept configuration.
    start_unit(s, "mosquitto.service")
    start_unit(s, "evalroom-controller.service")
    start_unit(s, "evalroom-agent.service")
    out = wait_for(lambda: (lambda o: o if o and o.get("rooms", {}).get(ROOM, {})
                            .get("status") else None)(ctl(s, "door", ROOM, "status",
                                                          check=False)), 40)
    assert out, log_of(s, "evalroom-agent.service")
    stop_all(s)


def test_purge_leaves_nothing(st):
    s = st
    # The .dpkg-dist copies are the administrator's to merge; dpkg purges them too.
    r = s.root.run("apt-get", "-y", "-q", "purge", *s.names, timeout=600,
                   env={"DEBIAN_FRONTEND": "noninteractive"})
    print(r.stdout[-2000:])
    q = s.root.run("dpkg-query", "-W", "-f=${Package} ${Status}\n", "evalroom-*", check=False)
    assert "installed" not in q.stdout.replace("not-installed", ""), q.stdout
    # The operator's own evalroomctl files in their home are theirs, not the packages'.
    shutil.rmtree(s.root.p("/root/.config/evalroom"))
    if "/root/.config" not in s.before:
        os.rmdir(s.root.p("/root/.config"))
    # The user database's backup copies (passwd-, group-, ...) that systemd-sysusers
    # writes when it adds the users are the system's, like the users themselves.
    backups = {"/etc/%s-" % f for f in ("passwd", "group", "shadow", "gshadow")}
    left = sorted(s.root.files() - s.before - backups)
    assert left == [], left
    # The system users stay, as Debian's packages leave theirs (docs/deploy.md).
    assert "evalroom-agent:" in open(s.root.p("/etc/passwd")).read()
