"""The layering rule, checked: import-linter's contracts, no private names across modules,
and imports inside functions only where a heavy optional dependency is the reason."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "framing"

# Modules that may import other framing modules inside functions, and why: each keeps a
# heavy dependency (torch through the pipeline, matplotlib through the report, Ray) off a
# path that must not need it.
DEFERRED_ALLOWED = {
    "framing": "statistics and sampling load pandas and scipy on first use",
    "framing.analysis.compare": "plots and HTML need matplotlib (framing.analysis.report)",
    "framing.io.corpus": "the Ray engine is optional; building a default Analyzer loads torch",
    "framing.io.distributed": "Ray workers build their own Analyzer",
}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path, ast.parse(path.read_text(encoding="utf-8"))


def _framing_imports(tree: ast.Module):
    """(node, module, names, top_level) for every ``from framing... import`` in ``tree``."""
    top = set()
    for node in tree.body:
        top.add(id(node))
        if isinstance(node, (ast.If, ast.Try)):  # TYPE_CHECKING blocks, guarded imports
            top.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == "framing":
            yield node, node.module, [a.name for a in node.names], id(node) in top
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            yield node, "." * node.level + (node.module or ""), [a.name for a in node.names], \
                id(node) in top


def test_no_relative_imports():
    bad = [f"{name}:{node.lineno}" for name, _, tree in _modules()
           for node, mod, _, _ in _framing_imports(tree) if mod.startswith(".")]
    assert bad == [], f"use absolute framing.* imports: {bad}"


def test_no_private_name_crosses_a_module():
    bad = []
    for name, _, tree in _modules():
        for node, mod, names, _ in _framing_imports(tree):
            for n in names:
                if n.startswith("_") and not n.startswith("__") and mod != name:
                    bad.append(f"{name}:{node.lineno} imports {mod}.{n}")
    assert bad == []


def test_tests_and_scripts_import_no_private_names():
    bad = []
    for folder in ("tests", "eval", "models"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module \
                        and node.module.split(".")[0] == "framing":
                    bad += [f"{path.relative_to(ROOT)}:{node.lineno} {node.module}.{a.name}"
                            for a in node.names if a.name.startswith("_")
                            and not a.name.startswith("__")]
    assert bad == []


def test_imports_are_deferred_only_for_heavy_dependencies():
    bad = []
    for name, _, tree in _modules():
        if name in DEFERRED_ALLOWED or name.startswith("framing.cli"):
            continue  # the CLI keeps torch off commands that do not score
        for node, mod, _, top in _framing_imports(tree):
            if not top:
                bad.append(f"{name}:{node.lineno} defers import of {mod}")
    assert bad == []


def _import_graph() -> dict[str, set[str]]:
    """Module -> the framing modules it imports anywhere (functions included; imports
    under ``if TYPE_CHECKING`` left out). ``from pkg import sub`` of a submodule is an edge
    to the submodule, not to the package."""
    mods = {name: tree for name, _, tree in _modules()}
    graph: dict[str, set[str]] = {name: set() for name in mods}
    for name, tree in mods.items():
        hidden = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                  and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}
        for node, mod, names, _ in _framing_imports(tree):
            if id(node) in hidden or mod.startswith("."):
                continue
            for n in names:
                target = f"{mod}.{n}" if f"{mod}.{n}" in mods else mod
                if target in mods and target != name and name != "framing":
                    graph[name].add(target)
    return graph


def test_no_import_cycles():
    graph = _import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert cycles == []
    assert len(graph) > 40 and sum(map(len, graph.values())) > 100  # the graph was read


def test_every_subpackage_is_packaged():
    cfg = (ROOT / "setup.cfg").read_text(encoding="utf-8")
    listed = cfg.split("packages =", 1)[1].split("package_dir", 1)[0].split()
    found = sorted(".".join(p.relative_to(ROOT).parent.parts)
                   for p in PACKAGE.rglob("__init__.py"))
    assert sorted(set(found) - set(listed)) == []


def _tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    found = str(exe) if exe.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


def test_import_linter_contracts_are_kept():
    out = subprocess.run([_tool("lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "broken" in out.stdout and " 0 broken" in out.stdout


def test_ruff_finds_nothing():
    out = subprocess.run([_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:]
