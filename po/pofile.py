"""Reading the translation catalogues and the web console's pages (docs/i18n.md).

Shared by tests/unit/test_i18n_catalogue.py (the catalogue test) and po/www_catalogue.py
(the web console's catalogues, made at build time), so that the strings the test checks
are exactly those the browser is given.

- parse_po: the entries of a .po/.pot file.
- html_strings: the texts of a page marked for translation: the text of every element
  with a data-i18n attribute (its value, when not empty, is the message context).
- html_pot: those texts of several pages as .pot text, for msgcat with xgettext's.
"""
import html.parser
import re

# How the sources' marked strings are extracted: _() and N_() (N_ marks a string that is
# translated where it is shown), C_()/NC_() with a context, ngettext() for counts.
XGETTEXT = ["xgettext", "--from-code=UTF-8", "--keyword=_", "--keyword=N_",
            "--keyword=ngettext:1,2", "--keyword=C_:1c,2", "--keyword=NC_:1c,2",
            "--add-comments=TRANSLATORS:", "--sort-by-file", "--add-location=file",
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


class _Marked(html.parser.HTMLParser):
    """Collects (context or None, text, line) of the elements marked data-i18n."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found, self.stack = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-i18n" in a:
            self.stack.append([tag, a["data-i18n"] or None, [], self.getpos()[0]])
        elif self.stack:
            raise ValueError("line %d: <%s> inside an element marked data-i18n: mark the "
                             "text alone" % (self.getpos()[0], tag))

    def handle_endtag(self, tag):
        if self.stack and self.stack[-1][0] == tag:
            _, ctxt, text, line = self.stack.pop()
            self.found.append((ctxt, " ".join("".join(text).split()), line))

    def handle_data(self, data):
        if self.stack:
            self.stack[-1][2].append(data)


def html_strings(path):
    """[(context or None, text, line)] of the page at PATH, in page order."""
    p = _Marked()
    with open(path, encoding="utf-8") as f:
        try:
            p.feed(f.read())
        except ValueError as e:
            raise SystemExit("%s: %s" % (path, e))
    p.close()
    return sorted(p.found, key=lambda x: x[2])


def _quote(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def html_pot(pages, src_dir):
    """.pot text of the marked texts of PAGES (paths relative to SRC_DIR), each text once
    with every page that holds it."""
    import os
    refs = {}
    for rel in pages:
        for ctxt, text, _ in html_strings(os.path.join(src_dir, rel)):
            refs.setdefault((ctxt, text), [])
            if rel not in refs[(ctxt, text)]:
                refs[(ctxt, text)].append(rel)
    out = ['msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n']
    for (ctxt, text), where in refs.items():
        entry = "#: %s\n" % " ".join(where)
        if ctxt is not None:
            entry += "msgctxt %s\n" % _quote(ctxt)
        out.append(entry + "msgid %s\nmsgstr \"\"\n" % _quote(text))
    return "\n".join(out)
