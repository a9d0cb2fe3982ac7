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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "po"))
import pofile  # noqa: E402  (po/pofile.py)
parse_po = pofile.parse_po

SOURCE_DIRS = ("common", "controller", "room-agent", "media", "tests/demo")
MARKERS = {".c": re.compile(r"#include <glib/gi18n(-lib)?\.h>"),
           ".py": re.compile(r"^\s*(import gettext|from gettext import)", re.M),
           # the web console's pages (po/pofile.py) and scripts
           ".html": re.compile(r"\sdata-i18n[\s=>]"),
           ".js": re.compile(r"\b(N_|NC_|C_|_)\(\s*\"")}
XGETTEXT = pofile.XGETTEXT


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
    code = [f for f in files if not f.endswith(".html")]
    pages = [f for f in files if f.endswith(".html")]
    parts = []
    if code:
        subprocess.run(XGETTEXT + ["--directory=" + src, "-o", pot + ".code"] + code,
                       check=True)
        parts.append(pot + ".code")
    with open(pot + ".pages", "w", encoding="utf-8") as f:
        f.write(pofile.html_pot(pages, src))
    parts.append(pot + ".pages")
    subprocess.run(["msgcat", "--use-first", "--sort-by-file", "--add-location=file", "-o",
                    pot] + parts, check=True)


PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def placeholder_problems(lang, entries):
    """The web console's strings name their variable parts {like_this}: a translation
    must keep every one of them (msgfmt --check does not know this format)."""
    out = []
    for e in entries:
        if not any(r.startswith("controller/console/www/") for r in e["refs"]):
            continue
        want = sorted(PLACEHOLDER.findall(e["id"]))
        for s in e["strs"]:
            if s and sorted(PLACEHOLDER.findall(s)) != want:
                out.append("po/%s.po: the translation must keep the placeholders %s:\n%s"
                           % (lang, " ".join(want) or "(none)", "\n".join(e["raw"])))
    return out


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
            problems += placeholder_problems(lang, have.values())
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
