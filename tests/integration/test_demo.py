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
    for line in ("Controller connected", "reads the published commitment",
                 "and entered entropy", "Desk checked in",
                 "ALERT wrong_room", "logged in at seat", "held open: ALARM",
                 "Operator acknowledged alert", "LOST (camera_lost)", "recording again",
                 "All 7 people logged out", "sealed read-only", "verify -> intact",
                 "the draw re-runs to the same seats", "Auditor exported seat camera",
                 "intact, draw ok", "the commitment precedes the entropy",
                 "are recorded from each check-in on",
                 "noted a breach at", "kept from retention; supervisors notified",
                 "witness log signed by 3 of 3", "opened at the escort's",
                 "of room E1 with its seats", "verify-package -> intact",
                 "0 outside their schema",
                 "Stopped the agents, the controller and the broker"):
        assert line in out, "missing from the demo's narration: %r\n%s" % (line, out)


def test_demo_day_in_chinese(build_dir, tmp_path):
    """LANG=zh_CN.UTF-8 ./dev demo: the day told in Chinese, with Chinese people whose
    committee lists were saved in GB18030."""
    env = dict(os.environ, LANG="zh_CN.UTF-8", LC_ALL="zh_CN.UTF-8")
    env.pop("LANGUAGE", None)
    p = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tests", "demo", "demo.py"),
                        "--build", build_dir, "--dir", str(tmp_path / "demo"),
                        "--record-seconds", "6"],
                       capture_output=True, text=True, timeout=400, env=env)
    out = p.stdout
    assert p.returncode == 0, out + p.stderr
    for line in ("控制器已使用自己的证书连接", "标段 T-ROAD（环城路改造工程三标段）已登记",
                 "见证人已输入随机数", "安检台为 欧阳明月（T-SCHOOL）签到", "王丽 在座位",
                 "告警 wrong_room", "全部 7 人已退出登录", "验证 -> 完好",
                 "重新抽签得到相同座位", "完好，抽签无误", "均自各自签到起计入",
                 "verify-package -> 完好", "已停止房间代理、控制器和消息代理"):
        assert line in out, "missing from the Chinese narration: %r\n%s" % (line, out)
    assert "Operator" not in out and "Desk checked in" not in out
