#!/usr/bin/python3
"""The translation catalogues are complete (docs/i18n.md).

Fails, and says exactly what to do, when:
  - a source file marks strings for translation but is not listed in po/POTFILES.in;
  - a string marked in the sources (_(), N_(), ngettext) is missing from a catalogue
    (the entries to add are printed in .po syntax, ready to translate);
  - a catalogue has an untranslated or fuzzy message, or one msgfmt --check refuses
    (a format like %s that the translation drops or changes).

usage: test_i18n_catalogue.py SOURCE_DIR [--update]
  --update  merge the sources' strings into every po/<language>.po (msgmerge, no fuzzy
            guesses) so a translator only fills in the empty msgstr lines; then run again.
"""
import os
import re
import subprocess
import sys
import tempfile

SOURCE_DIRS = ("common", "controller", "room-agent", "media", "tests/demo")
MARKERS = {".c": re.compile(r"#include <glib/gi18n(-lib)?\.h>"),
           ".py": re.compile(r"^\s*(import gettext|from gettext import)", re.M)}
XGETTEXT = ["xgettext", "--from-code=UTF-8", "--keyword=_", "--keyword=N_",
            "--keyword=ngettext:1,2", "--add-comments=TRANSLATORS:", "--sort-by-file",
            "--add-location=file",
            "--package-name=evalroom", "--msgid-bugs-address=-"]


def unquote(text):
    """A .po string's value: the concatenation of its "..." pieces, escapes resolved."""
    out = []
    for piece in re.findall(r'"((?:[^"\\]|\\.)*)"', text):
        out.append(re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t", '"': '"',
                                                "\\": "\\"}.get(m.group(1), m.group(0)),
                          piece))
    return "".join(out)


def parse_po(path):
    """Entries of a .po/.pot file: dicts with ctxt, id, plural, strs (list), flags, refs."""
    entries, cur, field = [], None, None

    def finish():
        if cur is not None and (cur["id"] or cur["strs"]):
            entries.append(cur)

    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#~"):
                continue  # obsolete: no longer in the sources, ignored by msgfmt
            if not line.strip():
                finish()
                cur, field = None, None
                continue
            if cur is None:
                cur = {"ctxt": None, "id": "", "plural": None, "strs": [], "flags": set(),
                       "refs": [], "raw": []}
            cur["raw"].append(line)
            if line.startswith("#,"):
                cur["flags"].update(x.strip() for x in line[2:].split(","))
            elif line.startswith("#:"):
                cur["refs"].extend(line[2:].split())
            elif line.startswith("#"):
                pass
            else:
                m = re.match(r'(msgctxt|msgid_plural|msgid|msgstr(\[\d+\])?)\s+(".*")$', line)
                if m:
                    field = m.group(1)
                    value = unquote(m.group(3))
                elif line.startswith('"') and field:
                    value = unquote(line)
                else:
                    raise SystemExit("%s: cannot read line: %s" % (path, line))
                if field == "msgctxt":
                    cur["ctxt"] = (cur["ctxt"] or "") + value
                elif field == "msgid":
                    cur["id"] += value
                elif field == "msgid_plural":
                    cur["plural"] = (cur["plural"] or "") + value
                else:
                    n = int(field[7:-1]) if field != "msgstr" else 0
                    while len(cur["strs"]) <= n:
                        cur["strs"].append("")
                    cur["strs"][n] += value
    finish()
    return entries


def marked_files(src):
    found = []
    for top in SOURCE_DIRS:
        for dirpath, _, names in os.walk(os.path.join(src, top)):
            for name in sorted(names):
                ext = os.path.splitext(name)[1]
                if ext not in MARKERS:
                    continue
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    if MARKERS[ext].search(f.read()):
                        found.append(os.path.relpath(path, src))
    return sorted(found)


def listed_files(src):
    with open(os.path.join(src, "po", "POTFILES.in"), encoding="utf-8") as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


def languages(src):
    with open(os.path.join(src, "po", "LINGUAS"), encoding="utf-8") as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


def extract(src, files, pot):
    if not files:
        with open(pot, "w", encoding="utf-8") as f:
            f.write('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n')
        return
    subprocess.run(XGETTEXT + ["--directory=" + src, "-o", pot] + files, check=True)


def quote(text):
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
    lines = text.split("\n")
    if len(lines) == 1:
        return '"%s"' % lines[0]
    parts = [l + "\\n" for l in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    return '""\n' + "\n".join('"%s"' % p for p in parts)


def as_po(entry):
    out = []
    if entry["refs"]:
        out.append("#: " + " ".join(entry["refs"]))
    flags = sorted(entry["flags"] - {"fuzzy"})
    if flags:
        out.append("#, " + ", ".join(flags))
    if entry["ctxt"] is not None:
        out.append("msgctxt " + quote(entry["ctxt"]))
    out.append("msgid " + quote(entry["id"]))
    if entry["plural"] is not None:
        out.append("msgid_plural " + quote(entry["plural"]))
        out.append('msgstr[0] ""')
    else:
        out.append('msgstr ""')
    return "\n".join(out)


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    src = os.path.abspath(sys.argv[1])
    update = "--update" in sys.argv[2:]
    problems = []

    listed = listed_files(src)
    unlisted = [f for f in marked_files(src) if f not in listed]
    if unlisted:
        problems.append("po/POTFILES.in: add these files, they mark strings for translation:\n"
                        + "\n".join("  " + f for f in unlisted))
    gone = [f for f in listed if not os.path.exists(os.path.join(src, f))]
    if gone:
        problems.append("po/POTFILES.in: these files no longer exist, remove them:\n"
                        + "\n".join("  " + f for f in gone))

    with tempfile.TemporaryDirectory() as tmp:
        pot = os.path.join(tmp, "evalroom.pot")
        extract(src, sorted(set(f for f in listed + unlisted if f not in gone)), pot)
        wanted = parse_po(pot)
        for lang in languages(src):
            po = os.path.join(src, "po", lang + ".po")
            if update:
                subprocess.run(["msgmerge", "--quiet", "--update", "--backup=none",
                                "--no-fuzzy-matching", "--sort-by-file", "--add-location=file",
                                po, pot], check=True)
            have = {(e["ctxt"], e["id"]): e for e in parse_po(po)}
            missing = [e for e in wanted if e["id"] and (e["ctxt"], e["id"]) not in have]
            if missing:
                problems.append(
                    "po/%s.po: %d string(s) marked in the sources are missing; add these "
                    "entries and translate them (or run tests/unit/test_i18n_catalogue.py "
                    "%s --update, then fill in the empty msgstr lines):\n\n%s"
                    % (lang, len(missing), src, "\n\n".join(as_po(e) for e in missing)))
            for e in have.values():
                if not e["id"]:
                    continue  # the header
                where = " (%s)" % " ".join(e["refs"]) if e["refs"] else ""
                if "fuzzy" in e["flags"]:
                    problems.append("po/%s.po: fuzzy%s: review the translation and remove "
                                    "the fuzzy flag:\n%s" % (lang, where, "\n".join(e["raw"])))
                elif not e["strs"] or any(not s for s in e["strs"]):
                    problems.append("po/%s.po: untranslated%s:\n%s"
                                    % (lang, where, "\n".join(e["raw"])))
            check = subprocess.run(["msgfmt", "--check", "--statistics", "-o", os.devnull, po],
                                   capture_output=True, text=True)
            if check.returncode != 0:
                problems.append("po/%s.po: msgfmt --check refuses it:\n%s"
                                % (lang, check.stderr.strip()))
            else:
                print("po/%s.po: %s" % (lang, check.stderr.strip()))

    if problems:
        print("\n\n".join(problems), file=sys.stderr)
        return 1
    print("%d messages marked in %d files; every catalogue complete" % (len(wanted) - 1,
                                                                         len(listed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
