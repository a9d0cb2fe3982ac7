#!/usr/bin/python3
"""The web console's catalogues, made at build time (docs/i18n.md, "The web console").

usage: www_catalogue.py SOURCE_DIR OUT_DIR

For each language of po/LINGUAS, writes OUT_DIR/i18n/<language>.json: a JSON object from
each message the console's pages use to its translation in po/<language>.po (a message
with a context is keyed "context\\u0004message", as gettext does). The messages are those
of controller/console/www (the scripts' _()/C_()/NC_(), the pages' data-i18n texts),
the alert texts of common/alert_text.c and what console.c answers in plain text, extracted the same way the catalogue test
extracts them (po/pofile.py). Untranslated and fuzzy messages are left out (the page
shows the English; the catalogue test fails on them anyway). Then writes
OUT_DIR/console.gresource.xml: controller/console/www/console.gresource.xml with the
catalogues added, for glib-compile-resources.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pofile  # noqa: E402

WWW = "controller/console/www"
ALSO = ["common/alert_text.c", "controller/console/console.c"]


def wanted(src):
    """The (context, message) pairs the console shows."""
    www = sorted(os.path.join(WWW, f) for f in os.listdir(os.path.join(src, WWW)))
    code = [f for f in www if f.endswith(".js")] + ALSO
    pages = [f for f in www if f.endswith(".html")]
    keys = set()
    with tempfile.TemporaryDirectory() as tmp:
        pot = os.path.join(tmp, "www.pot")
        subprocess.run(pofile.XGETTEXT + ["--directory=" + src, "-o", pot] + code, check=True)
        for e in pofile.parse_po(pot):
            if e["id"]:
                keys.add((e["ctxt"], e["id"]))
    for rel in pages:
        for ctxt, text, _ in pofile.html_strings(os.path.join(src, rel)):
            keys.add((ctxt, text))
    return keys


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    with open(os.path.join(src, "po", "LINGUAS"), encoding="utf-8") as f:
        langs = [l.strip() for l in f if l.strip() and not l.startswith("#")]
    keys = wanted(src)
    os.makedirs(os.path.join(out, "i18n"), exist_ok=True)
    files = []
    for lang in langs:
        messages = {}
        for e in pofile.parse_po(os.path.join(src, "po", lang + ".po")):
            key = (e["ctxt"], e["id"])
            if key not in keys or "fuzzy" in e["flags"] or not e["strs"] or not e["strs"][0]:
                continue
            messages[e["id"] if e["ctxt"] is None else e["ctxt"] + "\x04" + e["id"]] = \
                e["strs"][0]
        name = "i18n/%s.json" % lang
        with open(os.path.join(out, name) + ".tmp", "w", encoding="utf-8") as f:
            json.dump(messages, f, ensure_ascii=False, sort_keys=True, indent=0)
        os.replace(os.path.join(out, name) + ".tmp", os.path.join(out, name))
        files.append(name)
    with open(os.path.join(src, WWW, "console.gresource.xml"), encoding="utf-8") as f:
        xml = f.read()
    added = "".join("    <file>%s</file>\n" % n for n in files)
    xml = xml.replace("  </gresource>", added + "  </gresource>", 1)
    with open(os.path.join(out, "console.gresource.xml"), "w", encoding="utf-8") as f:
        f.write(xml)
    return 0


if __name__ == "__main__":
    sys.exit(main())
