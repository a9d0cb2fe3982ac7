"""evalroomctl explains itself, in English and in Chinese (issue: every command group
explains itself; docs/i18n.md). No controller is needed for --help."""
import os
import re
import subprocess

import pytest

CJK = re.compile(r"[\u4e00-\u9fff]")


def zh_env():
    env = dict(os.environ, LC_ALL="zh_CN.UTF-8", LANG="zh_CN.UTF-8")
    env.pop("LANGUAGE", None)
    return env


@pytest.fixture(scope="module")
def ctl(bin_dir):
    path = os.path.join(bin_dir, "evalroomctl")
    assert os.access(path, os.X_OK), "build evalroomctl first"

    def run(*args, env=None):
        p = subprocess.run([path] + list(args), capture_output=True, text=True, timeout=30,
                           env=env)
        return p.returncode, p.stdout, p.stderr
    return run


@pytest.fixture(scope="module")
def commands(ctl):
    """Every command's name, read from the main --help as a user would."""
    rc, out, _ = ctl("--help")
    assert rc == 0
    listed = out.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    names = []
    for line in listed.splitlines():
        words = []
        for w in line.split():
            if not re.fullmatch(r"[a-z][a-z-]*", w):
                break
            words.append(w)
        names.append(" ".join(words[:2]) if len(words) > 1 else words[0])
    return names


def groups(commands):
    return sorted({c.split()[0] for c in commands if " " in c})


def test_every_group_lists_its_commands(ctl, commands):
    gs = groups(commands)
    assert {"draw", "desk", "seat", "site", "session", "tender", "committee",
            "alert"} <= set(gs), gs
    for g in gs:
        rc, out, err = ctl(g, "--help")
        assert rc == 0, (g, err)
        assert out.startswith("usage: evalroomctl %s COMMAND" % g), out
        members = [c for c in commands if c.split()[0] == g and " " in c]
        for m in members:
            # one synopsis line for each, then its summary indented below
            line = next((l for l in out.splitlines() if l.startswith("  " + m)), None)
            assert line, "%s --help does not list %s:\n%s" % (g, m, out)
        assert all(len(l) <= 80 or l.startswith("  " + g) for l in out.splitlines()), out
        rc, out2, err = ctl(g, "-h")
        assert rc == 0 and out2 == out
        # The group alone is a usage error that still shows the list.
        rc, out, err = ctl(g)
        assert rc == 2 and err.startswith("usage: evalroomctl %s COMMAND" % g), err
    # A command that is no group keeps its own help; a wrong subcommand is named.
    rc, out, err = ctl("door", "--help")
    assert rc == 0 and out.startswith("usage: evalroomctl door ROOM")
    rc, out, err = ctl("draw", "shuffle")
    assert rc == 2 and 'unknown command "draw shuffle"' in err and "draw commit" in err
    rc, out, err = ctl("nonsense", "--help")
    assert rc == 2 and 'unknown command "nonsense"' in err


def test_locale_installed():
    out = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout
    assert re.search(r"^zh_CN\.utf-?8$", out, re.M | re.I), \
        "the zh_CN.UTF-8 locale is missing: run ./dev deps (it generates it)"


def test_help_in_chinese(ctl, commands):
    rc, out, err = ctl("--help", env=zh_env())
    assert rc == 0 and out.startswith("用法：evalroomctl"), out
    assert "全局选项" in out and "退出状态" in out
    for c in commands:
        rc, out, err = ctl(*c.split(), "--help", env=zh_env())
        assert rc == 0, (c, err)
        assert out.startswith("用法：evalroomctl " + c), out
        body = out.split("\n\n", 1)[1]
        assert CJK.search(body), "%s --help has no Chinese:\n%s" % (c, out)
    for g in groups(commands):
        rc, out, err = ctl(g, "--help", env=zh_env())
        assert rc == 0 and out.startswith("用法：evalroomctl %s 命令" % g), out
        for line in out.splitlines():
            if line.startswith("      "):
                assert CJK.search(line), "untranslated summary in %s --help: %s" % (g, line)
    # English stays the default.
    rc, out, err = ctl("--help")
    assert not CJK.search(out.replace("补抽", ""))
    rc, out, err = ctl("frobnicate", env=zh_env())
    assert rc == 2 and err == "evalroomctl：未知命令“frobnicate”（请参阅 --help）\n"


def test_archive_tool_help_in_chinese(bin_dir):
    """The auditor's evalroom-archive explains itself in Chinese too."""
    tool = os.path.join(bin_dir, "evalroom-archive")
    p = subprocess.run([tool, "--help"], capture_output=True, text=True, env=zh_env())
    assert p.returncode == 0 and p.stdout.startswith("用法：evalroom-archive"), p.stdout
    for cmd in ("info", "verify", "timeline", "export", "proof", "verify-proof", "checkpoint",
                "verify-draw"):
        p = subprocess.run([tool, cmd, "--help"], capture_output=True, text=True,
                           env=zh_env())
        assert p.returncode == 0, (cmd, p.stderr)
        summary = p.stdout.split("\n\n")[1]
        assert CJK.search(summary), "%s --help has no Chinese:\n%s" % (cmd, p.stdout)
    p = subprocess.run([tool, "frobnicate"], capture_output=True, text=True, env=zh_env())
    assert p.returncode == 2 and "未知命令“frobnicate”" in p.stderr
