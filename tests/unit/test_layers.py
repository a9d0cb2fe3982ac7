#!/usr/bin/env python3
"""The one-way layer rules, read from the build itself (compile_commands.json).

For every C file the build compiles, this resolves each `#include "..."` the way the
compiler would (the file's own folder, then its -I paths) and checks who may use whom:

    broker/           the mosquitto plugin: includes nothing outside broker/
    common/           the base: includes nothing outside common/
    media/            uses common/ only (never room-agent/ or controller/)
    room-agent/       uses common/ and media/ (never controller/)
    controller/       uses common/, media/ and, inside it, only the folders below it:
                      provision < state < ops < daemon, and ctl (evalroomctl) uses
                      provision, the archive library (media/archive: archive transfer
                      receive verifies what it takes over) and its own folder only; console (the web console's
                      HTTPS server) uses common/ only and is used by daemon
    tests/, bench/    may use anything (not checked)

A source file compiled into a target of another program (the target's object directory
names it) counts as used by that program: room-agent and media targets never compile a
file under controller/. A broken rule names the file, the include and the rule.

No import circle bigger than two files: a module is a .c file and its same-named .h (in
one folder), and also every .c that defines a function the header declares (a header
whose functions live in `main`'s file makes main part of that module: that is how
modules calling back into main closed a circle); module A depends on module B when any
file of A includes B's header. Any strongly connected component of more than two modules
is reported with its files (two modules that include each other, e.g. a table and its
entries, are tolerated).

Usage: test_layers.py BUILD_DIR SOURCE_DIR
"""
import json
import os
import re
import shlex
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)

# Who may use what, by folder prefix (relative to the source root). Longest prefix wins.
ALLOWED = {
    "broker/": ["broker/"],
    "common/": ["common/"],
    "media/": ["common/", "media/"],
    "room-agent/": ["common/", "media/", "room-agent/"],
    "controller/provision/": ["common/", "controller/provision/"],
    "controller/state/": ["common/", "controller/state/"],
    "controller/ops/": ["common/", "controller/state/", "controller/ops/"],
    "controller/console/": ["common/", "controller/console/"],
    "controller/daemon/": ["common/", "media/archive/", "controller/state/",
                           "controller/ops/", "controller/console/", "controller/daemon/"],
    "controller/ctl/": ["common/", "media/archive/", "controller/provision/", "controller/ctl/"],
}
# Targets (object directories) that must never compile anything under these folders.
TARGET_FORBIDS = {
    "broker/": ["common/", "controller/", "room-agent/", "media/"],
    "room-agent/": ["controller/"],
    "media/": ["controller/", "room-agent/"],
    "common/": ["controller/", "room-agent/", "media/"],
}


def layer_of(rel):
    best = None
    for prefix in ALLOWED:
        if rel.startswith(prefix) and (best is None or len(prefix) > len(best)):
            best = prefix
    return best


def include_dirs(entry):
    args = entry.get("arguments") or shlex.split(entry["command"])
    dirs = []
    for i, a in enumerate(args):
        if a == "-I" and i + 1 < len(args):
            dirs.append(args[i + 1])
        elif a.startswith("-I"):
            dirs.append(a[2:])
        elif a == "-isystem":
            pass
    return [os.path.join(entry["directory"], d) if not os.path.isabs(d) else d for d in dirs]


def resolve(name, here, dirs):
    for d in [here] + dirs:
        p = os.path.normpath(os.path.join(d, name))
        if os.path.isfile(p):
            return p
    return None


def check(build, src):
    src = os.path.realpath(src)
    with open(os.path.join(build, "compile_commands.json")) as f:
        entries = json.load(f)
    problems = []
    seen = set()

    def rel(p):
        return os.path.relpath(os.path.realpath(p), src)

    def visit(path, dirs, owner_layer):
        """Checks PATH's includes against OWNER_LAYER's rule, following project headers."""
        key = (path, owner_layer)
        if key in seen:
            return
        seen.add(key)
        with open(path, errors="replace") as f:
            text = f.read()
        for name in INCLUDE.findall(text):
            target = resolve(name, os.path.dirname(path), dirs)
            if target is None or not os.path.realpath(target).startswith(src + os.sep):
                continue
            r = rel(target)
            if r.startswith("build") or r.startswith("tests/") or r.startswith("bench/"):
                continue
            allowed = ALLOWED[owner_layer]
            if not any(r.startswith(a) for a in allowed):
                problems.append(f"{rel(path)}: #include \"{name}\" resolves to {r}, but "
                                f"{owner_layer} may use only {', '.join(allowed)}")
                continue
            visit(target, dirs, owner_layer)

    for e in entries:
        f = os.path.normpath(os.path.join(e["directory"], e["file"]))
        r = rel(f)
        out = e.get("output", "")
        if not out:
            args = e.get("arguments") or shlex.split(e["command"])
            out = args[args.index("-o") + 1] if "-o" in args else ""
        out_rel = rel(os.path.join(e["directory"], os.path.dirname(out))) if out else ""
        # The target's folder: build/<folder>/CMakeFiles/<target>.dir/...
        owner = None
        if out_rel.startswith(os.path.relpath(os.path.realpath(build), src) + os.sep):
            folder = out_rel[len(os.path.relpath(os.path.realpath(build), src)) + 1:]
            folder = folder.split("/CMakeFiles/")[0] + "/"
            owner = folder
        for tgt_prefix, forbidden in TARGET_FORBIDS.items():
            if owner and owner.startswith(tgt_prefix):
                for fb in forbidden:
                    if r.startswith(fb):
                        problems.append(f"{r}: compiled into a target of {owner} "
                                        f"({out}), which must never use {fb}")
        layer = layer_of(r)
        if layer is None or (owner and owner.startswith(("tests/", "bench/"))):
            continue  # tests, bench and fuzz harnesses may use anything
        for d in include_dirs(e):
            dr = rel(d)
            if dr.startswith("..") or dr.startswith("build"):
                continue
            # a single allowed header (no trailing /) brings its folder's -I; the
            # #include check above keeps the file to that one header
            if not any(dr.startswith(a.rstrip("/")) if a.endswith("/")
                       else dr == os.path.dirname(a) for a in ALLOWED[layer]) and \
                    not dr.startswith("tests"):
                problems.append(f"{r}: compiled with -I {dr}, but {layer} may use only "
                                f"{', '.join(ALLOWED[layer])}")
        visit(f, include_dirs(e), layer)
    return sorted(set(problems))


def module_of(rel_path):
    stem = os.path.splitext(rel_path)[0]
    return stem[:-len("_internal")] if stem.endswith("_internal") else stem


def include_graph(build, src):
    """Project file -> set of project files it includes, for every file the build compiles
    outside tests/ and bench/ and every header they reach (resolved as the compiler does)."""
    src = os.path.realpath(src)
    with open(os.path.join(build, "compile_commands.json")) as f:
        entries = json.load(f)
    edges = {}

    def rel(p):
        return os.path.relpath(os.path.realpath(p), src)

    def ours(r):
        return not (r.startswith("..") or r.startswith("build") or r.startswith("tests/")
                    or r.startswith("bench/"))

    def visit(path, dirs):
        r = rel(path)
        if r in edges:
            return
        edges[r] = set()
        with open(path, errors="replace") as f:
            text = f.read()
        for name in INCLUDE.findall(text):
            target = resolve(name, os.path.dirname(path), dirs)
            if target is None or not ours(rel(target)):
                continue
            edges[r].add(rel(target))
            visit(target, dirs)

    for e in entries:
        f = os.path.normpath(os.path.join(e["directory"], e["file"]))
        if ours(rel(f)):
            visit(f, include_dirs(e))
    return edges


def strongly_connected(graph):
    """Tarjan's algorithm, iterative: the list of components (sets of nodes)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = set()
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.add(w)
                    if w == node:
                        break
                out.append(comp)
    return out


COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
TOP_CALLABLE = re.compile(r"^(?!static\b|typedef\b|extern\b)[A-Za-z_][\w \t\*]*?\b(\w+)\s*\(", re.M)


def functions(text, defined):
    """Names of the top-level functions TEXT declares (DEFINED False) or defines (True)."""
    text = COMMENT.sub("", text)
    names = set()
    for m in TOP_CALLABLE.finditer(text):
        rest = text[m.end():]
        semi, brace = rest.find(";"), rest.find("{")
        is_def = brace != -1 and (semi == -1 or brace < semi)
        if is_def == defined:
            names.add(m.group(1))
    return names


def home_modules(edges, read):
    """File -> its module: the same-named stem (a private `X_internal.h` belongs to X),
    except that a .c without a header of its own that defines a function a header of
    another stem declares belongs to that header's module (the first by name when
    several do)."""
    declared_in = {}
    for f in edges:
        if f.endswith(".h"):
            for name in functions(read(f), False):
                declared_in.setdefault(name, set()).add(f)
    home = {}
    for f in sorted(edges):
        home[f] = module_of(f)
        if f.endswith(".c") and os.path.splitext(f)[0] + ".h" not in edges:
            owners = sorted(module_of(h) for name in functions(read(f), True)
                            for h in declared_in.get(name, ()) if module_of(h) != module_of(f))
            if owners:
                home[f] = owners[0]
    return home


def circles(edges, read=None):
    """Import circles of more than two modules, each named by its files. READ(file) gives
    a file's text (None: modules by name only)."""
    home = home_modules(edges, read) if read else {}
    files_of = {}
    graph = {}

    def module_of_file(f):
        return home.get(f) or module_of(f)

    for f, targets in edges.items():
        m = module_of_file(f)
        files_of.setdefault(m, set()).add(f)
        graph.setdefault(m, set())
        for t in targets:
            mt = module_of_file(t)
            files_of.setdefault(mt, set()).add(t)
            graph.setdefault(mt, set())
            if mt != m:
                graph[m].add(mt)
    problems = []
    for comp in strongly_connected(graph):
        if len(comp) > 2:
            files = sorted(f for m in comp for f in files_of[m])
            problems.append(f"import circle of {len(comp)} modules: {' '.join(files)}")
    return problems


def self_test():
    """The checker itself catches a broken rule: a tiny tree where common/ includes a
    controller header and room-agent compiles a controller source."""
    import tempfile
    with tempfile.TemporaryDirectory() as t:
        for d in ("common", "controller/state", "room-agent", "build"):
            os.makedirs(os.path.join(t, d))
        open(os.path.join(t, "controller/state/state.h"), "w").write("int x;\n")
        open(os.path.join(t, "controller/state/state.c"), "w").write('#include "state.h"\n')
        open(os.path.join(t, "common/base.c"), "w").write('#include "state.h"\n')
        cc = [{"directory": os.path.join(t, "build"), "file": os.path.join(t, "common/base.c"),
               "command": f"cc -I{t}/controller/state -c base.c",
               "output": "common/CMakeFiles/c.dir/base.c.o"},
              {"directory": os.path.join(t, "build"),
               "file": os.path.join(t, "controller/state/state.c"),
               "command": "cc -c state.c",
               "output": "room-agent/CMakeFiles/agent.dir/state.c.o"}]
        json.dump(cc, open(os.path.join(t, "build/compile_commands.json"), "w"))
        found = check(os.path.join(t, "build"), t)
        assert any(p.startswith("common/base.c: #include \"state.h\"") for p in found), found
        assert any(p.startswith("controller/state/state.c: compiled into a target of "
                                "room-agent/") for p in found), found
    # A circle of three modules is named; a pair that includes each other is not.
    found = circles({"a.c": {"b.h"}, "b.c": {"c.h"}, "c.c": {"a.h"}, "a.h": set(),
                     "b.h": set(), "c.h": set(), "d.c": {"e.h"}, "e.c": {"d.h"}})
    assert found == ["import circle of 3 modules: a.c a.h b.c b.h c.c c.h"], found
    # A header whose function main's file defines: main joins that module (the callback).
    texts = {"app.h": "int app_publish(int x);\n", "app_main.c": "int app_publish(int x)\n{\n}\n",
             "x.h": "", "x.c": "", "y.h": "", "y.c": ""}
    found = circles({"app_main.c": {"app.h", "x.h", "y.h"}, "app.h": set(), "x.h": set(),
                     "y.h": set(), "x.c": {"app.h"}, "y.c": {"app.h"}}, texts.get)
    assert found == ["import circle of 3 modules: app.h app_main.c x.c x.h y.c y.h"], found


def main():
    build, src = sys.argv[1], sys.argv[2]
    self_test()
    problems = check(build, src)
    for p in problems:
        print("layer rule broken:", p)
    root = os.path.realpath(src)
    loops = circles(include_graph(build, src),
                    lambda f: open(os.path.join(root, f), errors="replace").read())
    for p in loops:
        print("layer rule broken:", p)
    if problems or loops:
        return 1
    print("layers: every include and every compiled source keeps the one-way rules, "
          "and no import circle is larger than two modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
