"""The seat kiosk in Chinese (docs/i18n.md): under zh_CN.UTF-8 the locked, welcome,
break and lockout screens speak Chinese, and Chinese names and titles are centred by
their display width (two columns a character). Each screen is captured from an 80x24
tmux pane and compared line by line with the layout expected."""
import shlex
import unicodedata

import pytest

from test_terminal_kiosk import (GOOD_CODE, FakeAgent, Tmux, seat,  # noqa: F401 (fixtures)
                                 terminal_bin)

LANG = "zh_CN.UTF-8"


def width(text):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def centred(text, cols=80):
    """TEXT as the kiosk places it on a row of COLS columns (trailing blanks dropped)."""
    w = width(text)
    return " " * ((cols - w) // 2 if w < cols else 0) + text


def rows(screen):
    return [line.rstrip() for line in screen.splitlines()]


def assert_layout(screen, expected):
    """Every (row, text) of EXPECTED is exactly that row of SCREEN: the text centred by
    display width. Rows are counted from the top of the 24-row pane."""
    got = rows(screen)
    problems = []
    for row, text in expected:
        want = centred(text)
        if got[row] != want:
            problems.append("row %d:\n  want %r\n  got  %r" % (row, want, got[row]))
    assert not problems, "\n".join(problems) + "\nscreen:\n" + screen


@pytest.fixture
def kiosk_zh(terminal_bin, seat):  # noqa: F811
    seat["agent"].person = {"id": "E042", "name": "欧阳明月"}
    seat["agent"].tender = {"id": "T2026-017", "name": "城区道路养护工程三标段"}
    log = seat["dir"] / "terminal.log"
    cmd = " ".join(shlex.quote(a) for a in [
        terminal_bin, "--config", seat["config"], "--log", str(log),
        "--transport-socket", seat["agent"].path])
    tmux = Tmux(str(seat["dir"]), cmd, log, lang=LANG)
    yield tmux, seat
    tmux.close()


def test_screens_in_chinese(kiosk_zh):
    tmux, seat = kiosk_zh
    agent = seat["agent"]

    # Locked: title, the two lines of instructions, the code field and the keys.
    s = tmux.wait("评标室 R1  座位 S3", "请输入您的登录码", absent=("无法连接房间代理",))
    assert "Seat" not in s and "login code" not in s
    assert_layout(s, [(1, "evalroom - 评标工作站"), (5, "评标室 R1  座位 S3"),
                      (13, "本座位已锁定。"), (14, "请输入您的登录码，然后按回车键。"),
                      (16, "登录码：[]"), (22, "回车：登录   退格：修改")])

    # A wrong code, in Chinese with the count.
    tmux.type("1357")
    tmux.wait("登录码：[****]")
    tmux.keys("Enter")
    s = tmux.wait("登录码错误，还可尝试 4 次。")
    assert_layout(s, [(18, "登录码错误，还可尝试 4 次。")])

    # Welcome: the Chinese name and tender title centred by their width.
    tmux.type(GOOD_CODE)
    tmux.keys("Enter")
    s = tmux.wait("欢迎您，欧阳明月", "L：退出登录")
    assert_layout(s, [(5, "欢迎您，欧阳明月"), (7, "评标室 R1  座位 S3"),
                      (8, "标段 T2026-017：城区道路养护工程三标段"),
                      (22, "L：退出登录   H：呼叫帮助   B：暂离")])

    # Break.
    tmux.type("b")
    s = tmux.wait("暂离中", "R：结束暂离")
    assert_layout(s, [(5, "暂离中"), (7, "欧阳明月 - 评标室 R1  座位 S3"),
                      (8, "标段 T2026-017：城区道路养护工程三标段"),
                      (9, "您的暂离已记录。"), (22, "R：结束暂离")])
    agent.wait_for("terminal.break")
    tmux.type("r")
    tmux.wait("欢迎回来。")

    # Log out, then five wrong codes: the lockout screen.
    tmux.type("l")
    tmux.wait("现在退出登录吗？")
    tmux.type("y")
    tmux.wait("您已退出登录，谢谢。", "请输入您的登录码", absent=("欧阳明月",))
    agent.tries = 5  # a new person at the seat: five tries again
    for i in range(5):
        tmux.type("000%d" % i)
        tmux.keys("Enter")
        if i < 4:
            tmux.wait("还可尝试 %d 次" % (4 - i))
    s = tmux.wait("座位已封锁：请呼叫工作人员", absent=("请输入您的登录码",))
    assert_layout(s, [(5, "座位已封锁：请呼叫工作人员"), (13, "评标室 R1  座位 S3"),
                      (14, "本座位输入错误登录码的次数过多。")])


def test_operator_lock_in_chinese(kiosk_zh):
    tmux, seat = kiosk_zh
    agent = seat["agent"]
    tmux.wait("请输入您的登录码", absent=("无法连接房间代理",))
    agent.seat = "locked"
    agent.send("terminal.lock", reason="评标室 R1 封闭")
    s = tmux.wait("座位已被操作员锁定", "原因：评标室 R1 封闭")
    assert_layout(s, [(5, "座位已被操作员锁定"), (14, "原因：评标室 R1 封闭"),
                      (15, "请等待操作员处理或呼叫工作人员。")])
    agent.seat = "open"
    agent.send("terminal.unlock")
    tmux.wait("本座位已解锁。")
    # The agent goes away: the banner, in Chinese, across the top row.
    agent.disconnect()
    s = tmux.wait("无法连接房间代理 - 请稍候或呼叫工作人员")
    assert_layout(s, [(0, "无法连接房间代理 - 请稍候或呼叫工作人员")])
