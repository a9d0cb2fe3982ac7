"""`evalroomctl watch` under zh_CN.UTF-8 in a 120x40 tmux pane (docs/i18n.md): every word
a person reads is Chinese (the rooms' kinds, agent and door states, the lockdown mark,
streams and seats, the alert's state, kind, place and sentence), the screen capture's rooms
table and alert line are compared with the expected layout (columns measured in display
width, two columns a Chinese character), no line is wider than the pane, no English word
is left on it (also under the banner when the controller goes), and the keys work with
their Chinese prompts."""
import os
import re
import unicodedata

from daemons import wait_for
from test_watch import ROOM, Tmux, site  # noqa: F401 (the site fixture)
from test_zh_sweep import english_words

# The rooms table's columns (ROOM KIND AGENT DOOR LOCKDOWN STREAMS SEATS TENDERS ALERTS):
# the widths 10 8 8 12 8 16 34 7, a space after each; so each starts at
COLUMNS = [0, 11, 20, 29, 42, 51, 68, 103, 111]
HEADERS = ["房间", "类型", "房间代理", "门禁", "封闭", "视频流", "座位", "标段数", "告警"]
WIDTHS = [10, 8, 8, 12, 8, 16, 34, 7, 0]
# An alert's line: mark, id, then state (12), kind (20), place (22), a space after each.
ALERT_COLUMNS = {"state": 8, "kind": 21, "place": 42, "time": 65}


def width(text):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text, cols):
    return text + " " * (cols - width(text))


def column_of(line, text):
    return width(line[:line.index(text)])


def expected_row(cells):
    return "".join(pad(c, w) + " " if w else c for c, w in zip(cells, WIDTHS))


def room_row(site, door_zh, lockdown_zh):
    """E1's row as it must read, from what the controller says of the room now."""
    r = {x["room"]: x for x in site.ctl("rooms")[1]["rooms"]}[ROOM]
    n = r["seat_counts"]
    seats = "已登录 %d/应到 %d，空闲 %d，离线 %d" % (n["logged_in"], n["expected"], n["free"],
                                             n["offline"])
    kind = {"expert": "评标室", "": "-"}[r.get("kind") or ""]  # no site imported: "-"
    return expected_row([ROOM, kind, "在线", door_zh, lockdown_zh, "-", seats,
                         str(r["tenders_present"]), str(r["open_alerts"])])


def shows_row(tmux, want):
    return any(ln.rstrip() == want.rstrip() for ln in tmux.screen().splitlines())


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
        assert tmux.wait_screen("门被强行打开", 3.0), tmux.screen()
        # The screen as captured: the header and E1's row exactly as expected.
        assert wait_for(lambda: shows_row(tmux, room_row(site, "被强行打开", "-")), 3), \
            room_row(site, "被强行打开", "-") + "\n" + tmux.screen()
        screen = tmux.screen()
        lines = screen.splitlines()
        assert all(width(ln) <= 120 for ln in lines), screen
        header = next(ln for ln in lines if ln.startswith("房间 "))
        assert header.rstrip() == expected_row(HEADERS).rstrip(), header
        assert [column_of(header, h) for h in HEADERS] == COLUMNS, header

        # The alert: its state, kind's name and place in Chinese at their columns, then
        # the time in the site's zone and the sentence.
        alert = next(ln for ln in lines if "门被强行打开" in ln and ln.startswith(">"))
        assert column_of(alert, "待处理") == ALERT_COLUMNS["state"], alert
        assert column_of(alert, "门被强行打开") == ALERT_COLUMNS["kind"], alert
        assert column_of(alert, "评标室 E1") == ALERT_COLUMNS["place"], alert
        assert re.search(r"\d\d:\d\d:\d\d \+08:00 x\d+  评标室 E1 的门被强行打开", alert), alert
        assert column_of(alert, re.search(r"\d\d:\d\d:\d\d", alert).group()) == \
            ALERT_COLUMNS["time"], alert

        # No English word a person reads: only identifiers and the program's name.
        known = {ROOM, site.operator, "evalroom"}
        assert english_words(screen, known) == [], screen
        for word in ("OPEN", "ACKED", "LOCKDOWN", "online", "forced_open", "door_forced",
                     "expert", "room", "none"):
            assert not re.search(r"\b%s\b" % word, screen), (word, screen)

        # a: acknowledge with a Chinese note; the line says who, in Chinese.
        tmux.keys("a")
        assert tmux.wait_screen("告警", 3), tmux.screen()
        tmux.keys("保安已到场查看", "Enter")
        assert wait_for(lambda: any("已确认" in ln and "门被强行打开" in ln and
                                    "[确认人：%s]" % site.operator in ln
                                    for ln in tmux.screen().splitlines()), 5), tmux.screen()
        assert english_words(tmux.screen(), known) == [], tmux.screen()
        acked = [a for a in site.ctl("alerts", "--open")[1]["alerts"]
                 if a["kind"] == "door_forced"]
        assert acked and acked[0]["ack_note"] == "保安已到场查看", acked

        # l: lock down the selected alert's room, in Chinese (the door still open, so the
        # alert stays selected).
        tmux.keys("l")
        assert tmux.wait_screen("封闭评标室 [E1]", 3), tmux.screen()
        tmux.keys("Enter")
        door.set("DOOR_SENSOR", 0)
        assert tmux.wait_screen("评标室 E1：已请求封闭", 5), tmux.screen()
        # The lockdown mark in its column, the door locked down.
        assert wait_for(lambda: shows_row(tmux, room_row(site, "封闭", "已封闭")), 5), \
            room_row(site, "封闭", "已封闭") + "\n" + tmux.screen()
        assert english_words(tmux.screen(), known) == [], tmux.screen()

        tmux.keys("r")
        assert tmux.wait_screen("解除评标室", 3), tmux.screen()
        if "解除评标室 [E1] 的封闭" not in tmux.screen():
            tmux.keys(ROOM)  # no alert selected any more: type the room
        tmux.keys("Enter")
        assert tmux.wait_screen("评标室 E1：已请求解除封闭", 5), tmux.screen()

        # The controller goes away: the banner and the last view, in Chinese too.
        site.daemons["controller"].stop()
        assert tmux.wait_screen("起无法连接控制器", 5), tmux.screen()
        assert "（显示的是 " in tmux.screen(), tmux.screen()
        assert english_words(tmux.screen(), known) == [], tmux.screen()
        tmux.keys("q")
    finally:
        tmux.close()
