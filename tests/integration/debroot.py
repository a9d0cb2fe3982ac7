"""A clean Debian bookworm root for the package tests, as a user's machine would be.

- build_debs(): the Debian packages of a build tree (cpack -G DEB, ./dev package's way);
- package_depends(): what those packages need from Debian (their Depends/Recommends);
- cached_base(): a debootstrap'ed minbase root holding those, made once from the mirror of
  this machine's apt sources and kept in ~/.cache/evalroom/debootstrap (a dependency
  added later is installed into it with apt, once);
- Root: a throwaway copy of it with /proc mounted; run() is chroot + a command.

Needs root (debootstrap, chroot, mount). Nothing here asserts: the tests do.
"""
import glob
import os
import re
import shutil
import subprocess

CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                     "evalroom", "debootstrap")
SUITE = "bookworm"


def cache_value(build_dir, key):
    with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
        for line in f:
            if line.startswith(key + ":"):
                return line.split("=", 1)[1].strip()
    return None


def build_debs(build_dir, out_dir):
    """Runs cpack in build_dir; returns the .deb paths written to out_dir."""
    os.makedirs(out_dir, exist_ok=True)
    r = subprocess.run(["cpack", "-G", "DEB", "-B", out_dir], cwd=build_dir,
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError("cpack failed:\n" + r.stdout + r.stderr)
    shutil.rmtree(os.path.join(out_dir, "_CPack_Packages"), ignore_errors=True)
    return sorted(glob.glob(os.path.join(out_dir, "*.deb")))


def deb_field(deb, field):
    r = subprocess.run(["dpkg-deb", "-f", deb, field], capture_output=True, text=True,
                       check=True)
    return r.stdout.strip()


def package_depends(debs):
    """Names of the Debian packages the debs depend on or recommend (first alternative),
    the evalroom ones left out."""
    names = set()
    for deb in debs:
        for field in ("Depends", "Recommends"):
            for dep in filter(None, (d.strip() for d in deb_field(deb, field).split(","))):
                name = re.split(r"[\s(:|]", dep.split("|")[0].strip())[0]
                if name and not name.startswith("evalroom"):
                    names.add(name)
    return sorted(names)


def apt_mirror():
    """The Debian mirror of this machine's apt sources (deb822 or one-line format)."""
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        text = open(path).read()
        for stanza in text.split("\n\n"):
            m = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            if m and re.search(r"^Suites:.*\b%s\b" % SUITE, stanza, re.M) and \
                    "security" not in m.group(1):
                return m.group(1)
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        if os.path.exists(path):
            for line in open(path):
                m = re.match(r"deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+%s\s" % SUITE, line)
                if m:
                    return m.group(1)
    raise RuntimeError("no %s mirror in /etc/apt/sources*" % SUITE)


def cached_base(depends, log):
    """Path of the cached minbase root with depends installed: made by debootstrap when
    absent; packages it lacks (the dependencies changed) are added to it with apt."""
    path = os.path.join(CACHE, "%s-amd64" % SUITE)
    if not os.path.isfile(os.path.join(path, ".evalroom-complete")):
        os.makedirs(CACHE, exist_ok=True)
        tmp = path + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        with open(log, "w") as f:
            r = subprocess.run(["debootstrap", "--variant=minbase",
                                "--include=" + ",".join(depends), SUITE, tmp, apt_mirror()],
                               stdout=f, stderr=subprocess.STDOUT, timeout=2400)
        if r.returncode != 0:
            raise RuntimeError("debootstrap failed (log: %s)" % log)
        open(os.path.join(tmp, ".evalroom-complete"), "w").close()
        os.rename(tmp, path)
    q = subprocess.run(["chroot", path, "dpkg-query", "-W", "-f=${Package} ${Status}\n"],
                       capture_output=True, text=True, check=True).stdout
    have = {l.split()[0] for l in q.splitlines() if l.endswith(" installed")}
    missing = [d for d in depends if d not in have]
    if missing:
        shutil.copy("/etc/resolv.conf", os.path.join(path, "etc", "resolv.conf"))
        with open(log, "a") as f:
            for argv in (["apt-get", "-q", "update"],
                         ["apt-get", "-y", "-q", "--no-install-recommends", "install"] + missing,
                         ["apt-get", "clean"]):
                r = subprocess.run(["chroot", path] + argv, stdout=f, stderr=subprocess.STDOUT,
                                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
                                   timeout=2400)
                if r.returncode != 0:
                    raise RuntimeError("adding %s to the cached root failed (log: %s)"
                                       % (" ".join(missing), log))
    # Nothing of the making of the cache in the image a test starts from.
    for deb in glob.glob(os.path.join(path, "var/cache/apt/archives/*.deb")):
        os.unlink(deb)
    return path


class Root:
    """A writable view of a cached root (an overlay on it, or a copy where overlayfs
    cannot be mounted), /proc mounted; close() unmounts and deletes it. The cached root
    itself is never written."""

    def __init__(self, base, path):
        self.path = path
        self.work = path + ".overlay"
        os.makedirs(path)
        os.makedirs(os.path.join(self.work, "upper"))
        os.makedirs(os.path.join(self.work, "work"))
        r = subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                            "lowerdir=%s,upperdir=%s/upper,workdir=%s/work"
                            % (base, self.work, self.work), path], capture_output=True)
        self.overlay = r.returncode == 0
        if not self.overlay:
            os.rmdir(path)
            subprocess.run(["cp", "-a", base, path], check=True, timeout=900)
        subprocess.run(["mount", "-t", "proc", "proc", os.path.join(path, "proc")], check=True)
        # Name resolution is never needed: nothing here goes beyond this machine.

    def p(self, path):
        """The host path of path inside the root."""
        return os.path.join(self.path, path.lstrip("/"))

    def run(self, *argv, user=None, check=True, timeout=300, env=None, **kw):
        cmd = ["chroot"]
        if user:
            cmd.append("--userspec=" + user)
        cmd += [self.path, "/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG=C.UTF-8", "HOME=/root"]
        cmd += ["%s=%s" % kv for kv in (env or {}).items()]
        cmd += list(argv)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
        if check and r.returncode != 0:
            raise RuntimeError("%s failed (%d):\n%s%s" % (" ".join(argv), r.returncode,
                                                          r.stdout, r.stderr))
        return r

    def popen(self, argv, log, user=None, groups=None, env=None):
        cmd = ["chroot"]
        if user:
            cmd.append("--userspec=" + user)
        if groups:
            cmd.append("--groups=" + ",".join(groups))
        cmd += [self.path, "/usr/bin/env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG=C.UTF-8"]
        cmd += ["%s=%s" % kv for kv in (env or {}).items()]
        return subprocess.Popen(cmd + list(argv), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)

    def files(self, skip=("tmp", "proc", "dev", "run", "var/lib/dpkg", "var/lib/apt",
                          "var/cache", "var/log", "var/lib/mosquitto")):
        """Every path in the root (relative), the volatile trees left out."""
        out = set()
        for top, dirs, names in os.walk(self.path):
            rel = os.path.relpath(top, self.path)
            rel = "" if rel == "." else rel
            dirs[:] = [d for d in dirs if os.path.join(rel, d) not in skip]
            for n in dirs + names:
                out.add("/" + os.path.join(rel, n))
        return out

    def close(self):
        subprocess.run(["umount", "-l", self.p("/proc")], check=False)
        if self.overlay:
            subprocess.run(["umount", self.path], check=False)
            os.rmdir(self.path)
        else:
            shutil.rmtree(self.path, ignore_errors=True)
        shutil.rmtree(self.work, ignore_errors=True)


def unit_fields(text):
    """{key: [values...]} of a unit file's lines (sections merged)."""
    fields = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")) or "=" not in line:
            continue
        k, v = line.split("=", 1)
        fields.setdefault(k.strip(), []).append(v.strip())
    return fields
