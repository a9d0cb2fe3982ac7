"""`evalroomctl watch` under zh_CN.UTF-8 in a 120x40 tmux pane (docs/i18n.md): the screen
speaks Chinese, the rooms table's Chinese headers start at the columns of the values
below them (two columns a character), no line is wider than the pane, and the lockdown
key works with its Chinese prompt."""
import os
import unicodedata

from test_watch import ROOM, Tmux, site  # noqa: F401 (the site fixture)

# Where each column of the rooms table starts (ROOM KIND AGENT DOOR LOCKDOWN STREAMS
# SEATS TENDERS ALERTS): the widths 10 8 8 12 8 16 34 7, a space after each.
COLUMNS = [0, 11, 20, 29, 42, 51, 68, 103, 111]
HEADERS = ["房间", "类型", "房间代理", "门禁", "封闭", "视频流", "座位", "标段数", "告警"]


def width(text):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def column_of(line, text):
    return width(line[:line.index(text)])


def test_watch_in_chinese(site, tmp_path):  # noqa: F811
    site.start_controller()
    site.start_agent(ROOM, door=True)
    argv = ["env", "LC_ALL=zh_CN.UTF-8", "LANG=zh_CN.UTF-8",
            os.path.join(site.bin, "evalroomctl"), "--config", site.ctl_config(site.operator),
            "watch"]
    tmux = Tmux(tmp_path, argv)
    try:
        assert tmux.wait_screen("控制器：可以连接", 10), tmux.screen()
        assert tmux.wait_screen("未解决的告警（最新的在前）", 5), tmux.screen()
        assert tmux.wait_screen("上/下 选择", 5), tmux.screen()
        door = site.door(ROOM)
        door.set("DOOR_SENSOR", 1)  # forced open: the room's row and an alert change
        assert tmux.wait_screen("forced_open", 3.0), tmux.screen()
        screen = tmux.screen()
        lines = screen.splitlines()
        assert all(width(ln) <= 120 for ln in lines), screen

        header = next(ln for ln in lines if ln.startswith("房间 "))
        assert [column_of(header, h) for h in HEADERS] == COLUMNS, header
        row = next(ln for ln in lines if ln.startswith(ROOM + " "))
        assert column_of(row, "forced_open") == COLUMNS[3], (header, row)
        assert column_of(row, "online") == COLUMNS[2], (header, row)

        # l: lock down the selected alert's room, in Chinese (the door still open, so the
        # alert stays selected).
        tmux.keys("l")
        assert tmux.wait_screen("封闭评标室 [E1]", 3), tmux.screen()
        tmux.keys("Enter")
        door.set("DOOR_SENSOR", 0)
        assert tmux.wait_screen("评标室 E1：已请求封闭", 5), tmux.screen()
        assert tmux.wait_screen("LOCKDOWN", 3), tmux.screen()
        tmux.keys("r")
        assert tmux.wait_screen("解除评标室", 3), tmux.screen()
        if "解除评标室 [E1] 的封闭" not in tmux.screen():
            tmux.keys(ROOM)  # no alert selected any more: type the room
        tmux.keys("Enter")
        assert tmux.wait_screen("评标室 E1：已请求解除封闭", 5), tmux.screen()
        tmux.keys("q")
    finally:
        tmux.close()
