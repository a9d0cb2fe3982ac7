"""Issue 10: the demo's script runs as part of ./dev test (with a short recording)."""
import os
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def test_demo_day_runs(build_dir, tmp_path):
    p = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tests", "demo", "demo.py"),
                        "--build", build_dir, "--dir", str(tmp_path / "demo"),
                        "--record-seconds", "6"],
                       capture_output=True, text=True, timeout=400)
    out = p.stdout
    assert p.returncode == 0, out + p.stderr
    for line in ("Controller connected", "Witness entered entropy", "Desk checked in",
                 "ALERT wrong_room", "logged in at seat", "held open: ALARM",
                 "Operator acknowledged alert", "LOST (camera_lost)", "recording again",
                 "All 7 people logged out", "sealed read-only", "verify -> intact",
                 "the draw re-runs to the same seats", "Auditor exported seat camera",
                 "intact, draw ok", "0 outside their schema",
                 "Stopped the agents, the controller and the broker"):
        assert line in out, "missing from the demo's narration: %r\n%s" % (line, out)
