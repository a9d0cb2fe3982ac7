"""Issue 22: `./dev demo --venues` runs as part of ./dev test (with a short cut): a main
venue and a secondary venue on this machine, the secondary venue's link cut mid-recording
and restored, told in English and in Chinese."""
import os
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def run_demo(build_dir, work, env=None):
    p = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tests", "demo", "demo.py"),
                        "--build", build_dir, "--dir", str(work), "--venues",
                        "--cut-seconds", "5"],
                       capture_output=True, text=True, timeout=400, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def test_demo_venues_runs(build_dir, tmp_path):
    out = run_demo(build_dir, tmp_path / "demo")
    for line in ("bridged to the main broker over TLS as bridge-north",
                 "The bridge of venue north is up",
                 "Venues of T-NORTH: main booked, north drawn on site",
                 "witnessed by supervisor-reg1",
                 "records into the tender's archive at the main venue",
                 "Cutting venue north's WAN link mid-recording",
                 "ALERT venue_link_lost for venue north",
                 "venue north: link DOWN for",
                 "the door of EN opens (decided from its own admission list)",
                 "refused as used",
                 "The bridge reconnected after",
                 "venue north: link up since",
                 "backlog drained in",
                 "Alert venue_link_lost resolved by itself",
                 "each once", "verify T-NORTH.evarc -> intact",
                 "the seat draw and the venue draw re-run and identical",
                 "in order: granted, used",
                 "Stopped the agents, the controller, the relay and the brokers"):
        assert line in out, "missing from the venues demo's narration: %r\n%s" % (line, out)


def test_demo_venues_in_chinese(build_dir, tmp_path):
    env = dict(os.environ, LANG="zh_CN.UTF-8", LC_ALL="zh_CN.UTF-8")
    env.pop("LANGUAGE", None)
    out = run_demo(build_dir, tmp_path / "demo", env)
    for line in ("告警 venue_link_lost", "副场 north", "验证 T-NORTH.evarc -> 完好",
                 "现场抽中 north", "场地抽取已重新执行"):
        assert line in out, "missing from the Chinese narration: %r\n%s" % (line, out)
    assert "Cutting venue" not in out
