"""People's data as they come (docs/i18n.md): Chinese names in committee lists, a list
saved by a spreadsheet in GB18030 read as Chinese, a file in another encoding refused
with a message saying how to save it as UTF-8, and a mistyped resident ID number (GB
11643 check digit, length, date of birth) refused at the desk before anything is sent or
recorded. Real broker and controller, the real evalroomctl."""
import os
import time
import unicodedata

import pytest

import harness
from daemons import Site

TODAY = time.strftime("%Y-%m-%d")
DESK = "desk-entrance"
NAMES = {"xp-ouyang": ("欧阳明月", "11010519491231002X"),
         "xp-abdu": ("阿卜杜·热合曼", "110105194912310038"),
         "xp-zhang": ("张三丰", "320102198001010016")}


@pytest.fixture
def site(bin_dir, tmp_path):
    s = Site(bin_dir, tmp_path)
    s.start_controller()
    yield s
    s.close()


def ok(site, *args, **kw):
    rc, out, err = site.ctl(*args, **kw)
    assert rc == 0, (args, out, err)
    return out


def csv(names):
    return "person_id,name,id_number,role\n" + "".join(
        "%s,%s,%s,expert\n" % (p, n, i) for p, (n, i) in names.items())


def zh():
    env = dict(os.environ, LC_ALL="zh_CN.UTF-8", LANG="zh_CN.UTF-8")
    env.pop("LANGUAGE", None)
    return env


def desk_names(site):
    out = ok(site, "desk", "list", identity=DESK)
    return {p["person"]: p["name"] for p in out["persons"]}


def audit_rows(site):
    return ok(site, "audit")["records"]


def prepare(site):
    ok(site, "site", "import", harness.EXAMPLE_SITE)
    ok(site, "session", "create", "--date", TODAY)
    ok(site, "tender", "add", "--session", TODAY, "--id", "TA",
       "--name", "城区道路养护工程三标段")


def test_gb18030_committee_is_read_as_chinese(site, tmp_path):
    prepare(site)
    path = tmp_path / "committee-gb18030.csv"
    path.write_bytes(csv(NAMES).encode("gb18030"))
    assert not _is_utf8(path.read_bytes())
    rc, out, err = site.ctl("committee", "import", "--tender", "TA", str(path),
                            json_out=False)
    assert rc == 0, err
    assert "GB18030" in err

    # Excel's "CSV UTF-8" (with a byte-order mark) is read as UTF-8.
    ok(site, "tender", "add", "--session", TODAY, "--id", "TB", "--name", "第二中学食堂改造")
    bom = tmp_path / "committee-bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + csv({"xp-li": ("李娜", "110105195003150043")})
                    .encode("utf-8"))
    ok(site, "committee", "import", "--tender", "TB", str(bom))

    # Seated by the draw, the desk lists everyone with the name as written.
    commit = ok(site, "draw", "commit", "--session", TODAY)
    rc, out, err = site.witness_run(TODAY, "grey crane 4410", commit["commitment"])
    assert rc == 0, (out, err)
    want = {p: n for p, (n, _) in NAMES.items()}
    want["xp-li"] = "李娜"
    assert desk_names(site) == want

    # The desk's table lines up with Chinese names, in English and in Chinese.
    for env, tender_header in ((None, "TENDER"), (zh(), "标段")):
        rc, text, err = site.ctl("desk", "list", identity=DESK, json_out=False, env=env)
        assert rc == 0, err
        header, *rows = text.splitlines()[1:]
        column = width(header[:header.index(tender_header)])
        assert len(rows) == 4
        for row in rows:
            person = row.split()[0]
            tender = "TB" if person == "xp-li" else "TA"
            name_end = row.index(want[person]) + len(want[person])
            assert width(row[:row.index(tender, name_end)]) == column, (row, text)


def width(text):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _is_utf8(data):
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def test_other_encodings_are_refused_with_how_to_save(site, tmp_path):
    prepare(site)
    ok(site, "committee", "import", "--tender", "TA", str(_write(tmp_path, "good.csv",
                                                                  csv(NAMES).encode())))
    before, audit = desk_names(site), audit_rows(site)
    latin1 = _write(tmp_path, "latin1.csv", "person_id,name,id_number,role\n"
                    "xp-z,Zoë Müller,12345678,expert\n".encode("latin-1"))
    rc, out, err = site.ctl("committee", "import", "--tender", "TA", str(latin1),
                            json_out=False)
    assert rc == 2, err
    assert "neither UTF-8 text nor Chinese text saved as GB18030" in err
    assert "CSV UTF-8 (Comma delimited)" in err and "Unicode (UTF-8)" in err
    # UTF-8 with a damaged byte is not mistaken for GB18030.
    data = bytearray(csv(NAMES).encode())
    data[data.index("阿".encode())] = 0xFF
    rc, out, err = site.ctl("committee", "import", "--tender", "TA",
                            str(_write(tmp_path, "damaged.csv", bytes(data))), json_out=False)
    assert rc == 2 and "damaged bytes (first on line 3)" in err, err
    # In Chinese, the same advice.
    rc, out, err = site.ctl("committee", "import", "--tender", "TA", str(latin1),
                            json_out=False, env=zh())
    assert rc == 2 and "另存为" in err and "UTF-8" in err, err
    assert desk_names(site) == before and audit_rows(site) == audit


def _write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_resident_id_checked(site, tmp_path):
    prepare(site)
    # In a committee list: the line is named, nothing is imported.
    bad = dict(NAMES, **{"xp-typo": ("王五", "110105194912310029")})
    rc, out, err = site.ctl("committee", "import", "--tender", "TA",
                            str(_write(tmp_path, "typo.csv", csv(bad).encode())),
                            json_out=False)
    assert rc == 1 and "line 5: id_number:" in err and "check digit" in err, err
    assert desk_names(site) == {}
    ok(site, "committee", "import", "--tender", "TA",
       str(_write(tmp_path, "good.csv", csv(NAMES).encode())))
    commit = ok(site, "draw", "commit", "--session", TODAY)
    rc, out, err = site.witness_run(TODAY, "grey crane 4410", commit["commitment"])
    assert rc == 0, (out, err)

    # At the desk: a mistyped number is refused before anything is sent or recorded.
    audit = audit_rows(site)
    cases = [("110105194912310029", "check digit"),       # last digit wrong
             ("11010519491231002", "too short"),           # one digit missing
             ("110105194913310021", "date of birth"),      # month 13
             ("110105491231002", "15-digit")]              # a first-generation card
    for number, reason in cases:
        rc, out, err = site.ctl("desk", "checkin", "--person", "xp-ouyang", "--id-number",
                                number, "--screening", "passed", identity=DESK,
                                json_out=False)
        assert rc == 2 and reason in err, (number, err)
        assert err.startswith("evalroomctl: desk checkin: --id-number: "), err
    # Read from stdin, and in Chinese.
    rc, out, err = site.ctl("desk", "checkin", "--person", "xp-ouyang", "--id-number", "-",
                            "--screening", "passed", identity=DESK, json_out=False,
                            input="110105194912310029\n", env=zh())
    assert rc == 2 and "校验码" in err, err
    assert audit_rows(site) == audit
    assert all(p["state"] == "expected"
               for p in ok(site, "desk", "list", identity=DESK)["persons"])
    # The right number checks in, the name shown as written.
    rc, text, err = site.ctl("desk", "checkin", "--person", "xp-ouyang", "--id-number",
                             "11010519491231002x", "--screening", "passed", identity=DESK,
                             json_out=False)
    assert rc == 0, err
    assert "欧阳明月" in text and "城区道路养护工程三标段" in text
