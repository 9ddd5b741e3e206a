"""Layering: lyap_core imports only the numerics stack; no import cycles in either package.

Both checks read the import statements themselves (function-local ones included), so a
lazy import cannot hide a forbidden dependency or close a cycle.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"lyap_core": ROOT / "lyap_core", "lyap_workflow": ROOT / "workflow" / "lyap_workflow"}
PIPELINE_STACK = (
    "xarray",
    "zarr",
    "dask",
    "distributed",
    "dask_jobqueue",
    "matplotlib",
    "snakemake",
    "lyap_workflow",
)


def modules(package: str) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    root = PACKAGES[package]
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imported_names(name: str, path: Path) -> set[str]:
    """Absolute names of every module imported anywhere in the file (any nesting)."""
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)  # `from . import x`
    return names


def internal_graph(package: str) -> dict[str, set[str]]:
    mods = modules(package)
    graph = {}
    for name, path in mods.items():
        deps = {d for d in imported_names(name, path) if d in mods and d != name}
        graph[name] = deps
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph, or None (depth-first search, three colours)."""
    colour = dict.fromkeys(graph, 0)
    stack: list[str] = []

    def visit(u: str) -> list[str] | None:
        colour[u] = 1
        stack.append(u)
        for v in sorted(graph[u]):
            if colour[v] == 1:
                return stack[stack.index(v) :] + [v]
            if colour[v] == 0 and (cyc := visit(v)):
                return cyc
        stack.pop()
        colour[u] = 2
        return None

    for u in sorted(graph):
        if colour[u] == 0 and (cyc := visit(u)):
            return cyc
    return None


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_import_cycles(package):
    cycle = find_cycle(internal_graph(package))
    assert cycle is None, f"import cycle: {' -> '.join(cycle)}"


def test_cycle_finder_finds_a_cycle():
    """Negative control: the checker is not vacuous."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_core_sources_never_import_the_pipeline_stack():
    bad = []
    for name, path in modules("lyap_core").items():
        for dep in imported_names(name, path):
            if dep.split(".")[0] in PIPELINE_STACK:
                bad.append(f"{name} imports {dep}")
    assert not bad, bad


def test_core_modules_load_without_the_pipeline_stack():
    """Importing every lyap_core module in a fresh interpreter loads none of the stack."""
    code = (
        "import importlib, json, sys\n"
        f"for m in {sorted(modules('lyap_core'))!r}:\n"
        "    if m != 'lyap_core.__main__': importlib.import_module(m)\n"
        f"stack = {PIPELINE_STACK!r}\n"
        "print(json.dumps(sorted(k for k in sys.modules if k.split('.')[0] in stack)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert json.loads(out.stdout) == []


def test_workflow_package_is_the_one_that_imports_the_stack():
    """Positive control for the check above: the workflow package does load xarray."""
    code = "import sys, lyap_workflow.store; print('xarray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
