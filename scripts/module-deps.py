#!/usr/bin/env python3
"""The module dependency graph of src/, read from the `use` lines and `crate::` paths.

Prints the folder-level graph (top-level modules of the crate) and checks the two rules of
docs/architecture.md: no two files import each other, and no top-level module imports one
that imports it back (directly or through others). Exits 1 when a rule is broken.

Usage: scripts/module-deps.py [--dot]   (run from the repository root)
"""
import os
import re
import sys

SRC = "src"


def module_of(path):
    """src/a/b.rs -> ['a', 'b']; src/a/mod.rs -> ['a']; src/lib.rs -> []."""
    rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return rel


def file_of(segments):
    """The file that defines the longest prefix of `segments` (a module path)."""
    for n in range(len(segments), -1, -1):
        base = os.path.join(SRC, *segments[:n]) if n else SRC
        for cand in (base + ".rs", os.path.join(base, "mod.rs")):
            if n and os.path.isfile(cand):
                return cand
        if n == 0:
            return os.path.join(SRC, "lib.rs")
    return None


def strip_comments_and_tests(text):
    text = re.sub(r"//[^\n]*", "", text)
    # Test modules are not part of the dependency graph.
    out, depth, skipping = [], 0, False
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not skipping and re.match(r"\s*#\[cfg\(test\)\]", line):
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if re.match(r"\s*mod \w+\s*\{", nxt):
                skipping, depth = True, 0
                i += 1
                continue
            i += 2  # `#[cfg(test)] mod x;` declarations
            continue
        if skipping:
            depth += line.count("{") - line.count("}")
            if depth <= 0 and "}" in line:
                skipping = False
            i += 1
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def imports(path):
    mod = module_of(path)
    is_dir_module = os.path.basename(path) in ("mod.rs", "lib.rs")
    here = mod if is_dir_module else mod[:-1]  # what `super::` starts from (the parent)
    text = strip_comments_and_tests(open(path, encoding="utf-8").read())
    found = set()
    # `use` trees: expand one level of braces.
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        # `x as y` names x: drop the alias before the spaces go.
        tree = re.sub(r"\s+", "", re.sub(r"\s+as\s+\w+", "", m.group(1)))
        for p in expand(tree):
            found.add(p)
    for m in re.finditer(r"\bcrate::([A-Za-z_][\w:]*)", text):
        found.add("crate::" + m.group(1))
    files = set()
    for p in found:
        segs = p.split("::")
        if segs[0] == "crate":
            target = segs[1:]
        elif segs[0] == "super":
            base = mod if is_dir_module else mod[:-1]
            base = base[:-1] if is_dir_module else base
            # `super` of a file module is its folder; of a folder's mod.rs, the folder's parent.
            base = (mod[:-1] if not is_dir_module else mod[:-1])
            rest = segs[1:]
            while rest and rest[0] == "super":
                base, rest = base[:-1], rest[1:]
            target = base + rest
        elif segs[0] == "self":
            target = mod + segs[1:]
        else:
            # A child module declared here (`use body::ClientRequest` in mod.rs) or an extern crate.
            child = os.path.join(SRC, *(mod + [segs[0]]))
            if is_dir_module and (os.path.isfile(child + ".rs") or os.path.isdir(child)):
                target = mod + segs
            else:
                continue
        f = file_of(target)
        if f and os.path.abspath(f) != os.path.abspath(path):
            files.add(os.path.normpath(f))
    return files


def expand(tree):
    """`a::{b, c::{d, e}}` -> a::b, a::c::d, a::c::e (enough for this codebase)."""
    m = re.match(r"^([\w:]*?)\{(.*)\}$", tree)
    if not m:
        return [tree.split(" as ")[0]]
    prefix, inner = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    if cur:
        parts.append(cur)
    out = []
    for part in parts:
        if part in ("self", ""):
            out.append(prefix.rstrip(":"))
        else:
            out.extend(expand(prefix + part))
    return out


def top(path):
    mod = module_of(path)
    return mod[0] if mod else "lib"


def main():
    files = []
    for root, _, names in os.walk(SRC):
        for n in names:
            if n.endswith(".rs") and not n.endswith("_tests.rs") and n != "tests.rs" \
                    and os.sep + "tests" + os.sep not in os.path.join(root, n) + os.sep:
                files.append(os.path.normpath(os.path.join(root, n)))
    graph = {f: imports(f) for f in files}
    broken = False
    for a in sorted(graph):
        for b in sorted(graph[a]):
            if a < b and a in graph.get(b, set()):
                print(f"files import each other: {a} <-> {b}")
                broken = True
    folders = {}
    for a, targets in graph.items():
        for b in targets:
            ta, tb = top(a), top(b)
            if ta != tb and ta not in ("lib", "main"):
                folders.setdefault(ta, set()).add(tb)
    # Folders at every depth: a file's import of another file is an edge between the two
    # children of their deepest common folder that hold them, when both are folders.
    nested = {}
    for a, targets in graph.items():
        for b in targets:
            pa, pb = a.split(os.sep), b.split(os.sep)
            k = 0
            while k < min(len(pa), len(pb)) - 1 and pa[k] == pb[k]:
                k += 1
            if k + 1 < len(pa) and k + 1 < len(pb) and k > 0:
                ca, cb = os.sep.join(pa[: k + 1]), os.sep.join(pb[: k + 1])
                if ca != cb and k >= 1 and pa[:k] != [SRC]:
                    nested.setdefault(ca, set()).add(cb)
    for a in sorted(nested):
        for b in sorted(nested[a]):
            if a < b and a in nested.get(b, set()):
                print(f"folders import each other: {a} <-> {b}")
                broken = True
    # Cycles between top-level modules (Tarjan's strongly connected components).
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in folders.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    for v in sorted(folders):
        if v not in index:
            visit(v)
    for comp in sccs:
        print("modules import each other (a cycle): " + " -> ".join(comp))
        broken = True
    if "--dot" in sys.argv:
        print("digraph modules {")
        for a in sorted(folders):
            for b in sorted(folders[a]):
                print(f'  "{a}" -> "{b}";')
        print("}")
    else:
        for a in sorted(folders):
            print(f"{a:14} -> {', '.join(sorted(folders[a]))}")
    sys.exit(1 if broken else 0)


main()
