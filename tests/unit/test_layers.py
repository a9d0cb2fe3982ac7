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
                      provision and its own folder only
    tests/, bench/    may use anything (not checked)

A source file compiled into a target of another program (the target's object directory
names it) counts as used by that program: room-agent and media targets never compile a
file under controller/. A broken rule names the file, the include and the rule.

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
    "controller/daemon/": ["common/", "media/archive/", "controller/state/",
                           "controller/ops/", "controller/daemon/"],
    "controller/ctl/": ["common/", "controller/provision/", "controller/ctl/"],
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
            if not any(dr.startswith(a.rstrip("/")) for a in ALLOWED[layer]) and \
                    not dr.startswith("tests"):
                problems.append(f"{r}: compiled with -I {dr}, but {layer} may use only "
                                f"{', '.join(ALLOWED[layer])}")
        visit(f, include_dirs(e), layer)
    return sorted(set(problems))


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


def main():
    build, src = sys.argv[1], sys.argv[2]
    self_test()
    problems = check(build, src)
    for p in problems:
        print("layer rule broken:", p)
    if problems:
        return 1
    print("layers: every include and every compiled source keeps the one-way rules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
