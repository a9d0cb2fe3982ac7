"""Chinese everywhere a person reads (docs/i18n.md, "Checking that nothing is left in
English"): against a site set up like the demo's (rooms, a session with a Chinese tender
and committee, the seat and staff draws, a check-in, an agent with its door forced open
and the alert acknowledged, a closed and sealed tender archive), every evalroomctl
command's and group's --help, the human output of rooms, alerts, archives, staff show,
desk list, status, draw show, audit, venues, door, tender close and the custody logs, and
evalroom-archive info, verify and timeline are run under zh_CN.UTF-8. Any ASCII word of
three letters or more in them that is not an identifier, a number, a unit, a file name, a
command name, an option or one of the few names listed below (with why) fails the test,
naming the command and the line."""
import json
import os
import re
import subprocess
import time

import pytest

import watchers
from daemons import Site, wait_for

DAY = time.strftime("%Y-%m-%d")  # check-in is for the session of the day
TENDER = "T-ROAD"
ROOM = "E1"
DESK = "desk-entrance"
COMMITTEE = ("person_id,name,id_number,role\n"
             "xp-ouyang,欧阳明月,11010519491231002X,expert\n"
             "xp-wang,王丽,110105194912310038,expert\n"
             "rp-hua,华建集团代表,320102198001010016,tenderer\n")

# The words that stay as they are in Chinese text, each for a reason. Everything else
# with three or more ASCII letters is either shaped like an identifier (a digit, "_",
# "-", ".", "/", "@" or ":" inside it, or an option "--x") or is an error.
ALLOWED = {
    # programs and commands a person types
    "evalroomctl", "evalroom", "openssl", "genpkey", "mosquitto", "sqlite3", "systemctl",
    # standards, formats and algorithms, written so in Chinese too
    "JSON", "CSV", "UTF", "GB18030", "SQLite", "ISO", "MQTT", "TLS", "HTTPS", "HTTP",
    "Ed25519", "SM2", "SM3", "SHA", "RFC", "UTC", "PEM", "DER", "TSA", "CMS", "MOD",
    "Merkle", "GPIO", "OSDP", "Wiegand", "WebRTC", "RTSP", "MPEG", "H.264", "Opus", "PIN",
    "CA", "CN", "BOM", "Excel", "WPS", "LibreOffice", "WHEP", "ACL", "URL", "Markdown",
    "C2SP", "vkey",
    # units
    "min", "KiB", "MiB", "GiB", "MB", "GB", "KB", "kbit", "Mbit",
    # the verdict and timeline keywords kept on purpose so they can be searched for in
    # any language (docs/i18n.md)
    "OK", "FAILED", "VERIFIED", "MISMATCH", "MALFORMED", "GAP", "event", "recorded", "draw",
    # the state file of the controller named in messages
    "state.db",
}


def zh_env():
    env = dict(os.environ, LC_ALL="zh_CN.UTF-8", LANG="zh_CN.UTF-8")
    env.pop("LANGUAGE", None)
    return env


TOKEN = re.compile(r"[A-Za-z0-9_\-./@:+=%$~*\[\]<>',|]+")
# Removed before the words are looked at, each a kind of text that is the same in every
# language: a record as stored (the JSON of an audit record's arguments, of an archive
# event), a configuration key with its section ("[staff] max_in_row、tenure_limit_days"),
# a literal in quotes (“card”, `x`).
JSON_RECORD = re.compile(r"\{\".*\}")
CONFIG_KEYS = re.compile(r"\[[a-z_]+\]\s*[a-z_]+(?:\s*[、,，]\s*[a-z_]+)*")
QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|`[^`]*`|‘[^’]*’")


def english_words(text, known, commands=()):
    """(line, word) for each ASCII word of 3+ letters in TEXT that is none of the allowed
    kinds. KNOWN: identifiers of this site and run (room, person, tender ids...).
    COMMANDS: evalroomctl's command names ("draw commit", "status"): a line that starts
    with one is a synopsis (what a person types), and a command named in a sentence is
    a command name."""
    found = []
    cmds = sorted(commands, key=len, reverse=True)
    lines = text.splitlines()
    # the words of the synopses in this text (FILE, TENDER, unlock|lock): what the help
    # below them refers to
    typed = set()
    for line in lines:
        s = line.strip()
        synopsis = s.startswith(("用法：", "evalroomctl ", "evalroom-archive ")) or any(
            s == c or s.startswith(c + " ") for c in cmds)
        if synopsis:
            typed.update(w for t in TOKEN.findall(s) for w in re.split(r"[|,\[\]]", t))
    for line in lines:
        s = line.strip()
        if s.startswith(("用法：", "evalroomctl ", "evalroom-archive ")) or any(
                s == c or s.startswith(c + " ") for c in cmds):
            continue
        s = JSON_RECORD.sub(" ", s)
        s = CONFIG_KEYS.sub(" ", s)
        s = QUOTED.sub(" ", s)
        # a command line as typed, up to the end of its clause
        s = re.sub(r"\b(evalroomctl|evalroom-archive)( [^\s\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+)*",
                   " ", s)
        for c in cmds:
            if " " in c:
                s = s.replace(c, " ")
        for tok in TOKEN.findall(s):
            core = tok.strip("'.:[]<>=*,|")
            if len(re.sub(r"[^A-Za-z]", "", core)) < 3:
                continue
            if core in ALLOWED or core in known or core in typed:
                continue
            if core.startswith("-"):                  # an option
                continue
            if re.search(r"[0-9_./@:=%$~<>,|]", core):  # identifier, number, file, list
                continue
            if "-" in core and re.fullmatch(r"[A-Za-z0-9-]+", core):  # agent-E1, T-ROAD
                continue
            found.append((line, core))
    return found


def ok(site, *args, **kw):
    rc, out, err = site.ctl(*args, **kw)
    assert rc == 0, (args, out, err)
    return out


def sweep_site():
    """The demo's kind of site: expert and tenderer rooms, witness, supervision and draw
    rooms, staff posts (the staff draw) with Chinese names."""
    s = watchers.site_dict()
    s["name"] = "市公共资源交易中心评标区"
    s["posts"] = [{"id": "witness", "name": "见证", "sensitive": True},
                  {"id": "desk", "name": "入口登记"}]
    s["staff"] = [{"identity": "witness-" + s["witnesses"][0], "posts": [{"post": "witness"}]},
                  {"identity": DESK, "posts": [{"post": "desk"}]}]
    return s


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path, site=sweep_site())
    yield s
    s.close()


def test_no_english_left_in_chinese_output(site, tmp_path, bin_dir, build_dir):
    site.start_controller()
    env = zh_env()
    outputs = {}

    def human(*args, identity=None):
        """ARGS run in Chinese as a person would, their output kept to be read."""
        rc, out, err = site.ctl(*args, identity=identity, json_out=False, env=env)
        assert rc == 0, (args, out, err)
        outputs["evalroomctl " + " ".join(args)] = out + err
        return out

    # The day's set-up, in Chinese as an operator, a witness and the desk do it.
    path = tmp_path / "site.json"
    path.write_text(json.dumps(sweep_site(), ensure_ascii=False))
    human("site", "import", str(path))
    human("session", "create", "--date", DAY)
    human("tender", "add", "--session", DAY, "--id", TENDER, "--name", "环城路改造工程三标段",
          "--tenderer", "华建集团", "--agency", "市政府采购中心")
    csv = tmp_path / "committee.csv"
    csv.write_text(COMMITTEE)
    human("committee", "import", "--tender", TENDER, str(csv))
    human("draw", "commit", "--session", DAY)
    c = ok(site, "draw", "show", "--session", DAY)["commitment"]
    human("draw", "run", "--session", DAY, "--witness-entropy", "kestrel 5512",
          "--confirm-commitment", c, identity=site.witness)
    # An operator may not run the draw: a refused request in the audit log.
    assert site.ctl("draw", "run", "--session", DAY, "--witness-entropy", "mine",
                    "--confirm-commitment", c)[0] == 1
    human("staff", "commit", "--session", DAY)
    sc = ok(site, "staff", "show", "--session", DAY)["commitment"]
    human("staff", "run", "--session", DAY, "--witness-entropy", "heron 7731",
          "--confirm-commitment", sc[:16], identity=site.witness)
    # The two experts sit in the two expert rooms: check in the one in E1 (the
    # admission slip is read too).
    ids = {line.split(",")[0]: line.split(",")[2] for line in COMMITTEE.splitlines()[1:]}
    xp = next(a["person"] for a in site.seat_map(DAY) if a["room"] == ROOM)
    slip = human("desk", "checkin", "--person", xp, "--id-number", ids[xp], "--screening",
                 "passed", identity=DESK)
    code = re.search(r"登录码：\s*([A-Z0-9]+)", slip)
    assert code, slip
    site.start_agent(ROOM, door=True)
    door = site.door(ROOM)
    door.set("DOOR_SENSOR", 1)  # forced open: an alert, the door's state
    forced = wait_for(lambda: [a for a in ok(site, "alerts", "--open")["alerts"]
                               if a["kind"] == "door_forced"], 5)
    assert forced, "no door_forced alert"
    human("alert", "ack", str(forced[0]["id"]), "--note", "保安已到场查看")

    # --help of every command and every group, read from the main --help
    rc, main_help, _ = site.ctl("--help", json_out=False, env=env)
    outputs["evalroomctl --help"] = main_help
    commands = []
    for line in main_help.split("命令：\n", 1)[1].split("\n\n", 1)[0].splitlines():
        words = []
        for w in line.split():
            if not re.fullmatch(r"[a-z][a-z-]*", w):
                break
            words.append(w)
        commands.append(words[:2] if len(words) > 1 else words)
    assert len(commands) > 30, main_help
    for words in commands + [[g] for g in sorted({c[0] for c in commands if len(c) > 1})]:
        human(*words, "--help")

    human("rooms")
    human("alerts")
    human("alerts", "--open")
    human("staff", "show", "--session", DAY)
    human("desk", "list", identity=DESK)
    human("status")
    human("draw", "show", "--session", DAY)
    human("audit")
    human("venues")
    human("door", ROOM, "status")
    # While the door is open the rooms table says so in Chinese.
    assert "被强行打开" in outputs["evalroomctl rooms"], outputs["evalroomctl rooms"]
    door.set("DOOR_SENSOR", 0)

    human("tender", "close", TENDER, "--wait", "0")
    human("archives")
    human("archive", "custody-log")
    human("archive", "access-log")
    arc = os.path.join(site.tmp, "controller-state", "archive", TENDER + ".evarc")
    assert wait_for(lambda: os.path.exists(arc), 10)
    tool = os.path.join(bin_dir, "evalroom-archive")
    for args in (["info", arc], ["verify", arc, "--pubkey", site.prov.signing_pub],
                 ["timeline", arc]):
        p = subprocess.run([tool] + args, capture_output=True, text=True, timeout=60, env=env)
        assert p.returncode == 0, (args, p.stdout, p.stderr)
        outputs["evalroom-archive " + args[0]] = p.stdout
    # The summary people read gives times in the site's zone, the zone written out.
    assert re.search(r"\d\d:\d\d:\d\d \+08:00", outputs["evalroom-archive info"]), \
        outputs["evalroom-archive info"]

    # Identifiers of this site and day: its people, tender, rooms, the staff posts'
    # ids (the site file's "witness" and "desk"), the draws' entropy as typed, and the
    # controller's own identity (its certificate's name, in the custody log).
    known = {TENDER, ROOM, DESK, site.operator, site.witness, "kestrel", "heron", "witness",
             "desk", "controller", code.group(1)}
    known |= {line.split(",")[0] for line in COMMITTEE.splitlines()[1:]}
    # The timeline's source column names who recorded an event (an identity, or the
    # archive's own records).
    sources = {"archive"}
    names = [" ".join(c) for c in commands]
    # What was read, for a person to look over (build/test-artifacts/zh-sweep.txt).
    artefacts = os.path.join(build_dir, "test-artifacts")
    os.makedirs(artefacts, exist_ok=True)
    with open(os.path.join(artefacts, "zh-sweep.txt"), "w") as f:
        for cmd, text in outputs.items():
            f.write("$ %s\n%s\n" % (cmd, text))
    problems = []
    for cmd, text in outputs.items():
        extra = sources if cmd == "evalroom-archive timeline" else set()
        if cmd == "evalroomctl audit":
            # an audit record's second line is the controller's refusal as it answered
            # it: English, like every error text of the protocol (docs/i18n.md)
            assert re.search(r"无权限 ", text), text
            text = "\n".join(ln for ln in text.splitlines() if not ln.startswith(" "))
        for line, word in english_words(text, known | extra, names):
            problems.append("%s: %r in %r" % (cmd, word, line))
    assert not problems, "English left in Chinese output:\n" + "\n".join(problems)


def test_the_sweep_can_fail():
    """The check itself: English state words and sentences are caught; identifiers,
    options, numbers, units, file names, command names, configuration keys, quoted
    literals, records as stored and the allowed names are not."""
    caught = [w for _, w in english_words(
        "E1  评标室  online  LOCKDOWN  2 rec, 1 LOST\n评标室 E1 seat S1\n"
        "以便 draw commit 重新承诺，并 rerun\n", set(), ["draw commit"])]
    assert caught == ["online", "LOCKDOWN", "rec", "LOST", "seat", "rerun"], caught
    assert english_words(
        "  --session SESSION 用 evalroomctl draw-room review；T-ROAD.evarc 12 MB agent-E1 "
        "door_forced 2026-12-07 19:20:05 +08:00 SM2 OK\n"
        "draw commit --session SESSION\n"
        "以便 draw commit 重新承诺；[staff] max_in_row、tenure_limit_days；可选“card”列\n"
        "ok  {\"site\":{\"bytes\":12}}\n", {"E1"}, ["draw commit"]) == []
