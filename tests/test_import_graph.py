"""kerasfix's modules import one another without cycles, counting every import, not just top-level ones.

The graph is read from the source with `ast`: imports inside functions and `if TYPE_CHECKING:` blocks
count too, since they still tie the two modules together (GUIDE.md: "no cycles, not even through
imports inside functions").
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = "kerasfix"


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name, for its `__init__.py`)."""
    modules = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _base(module: str, path: Path, node: ast.ImportFrom) -> str | None:
    """The absolute module an `ImportFrom` imports from, resolving a relative import."""
    if not node.level:
        return node.module
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    if node.level - 1 > len(package):
        return None
    package = package[: len(package) - (node.level - 1)]
    return ".".join(package + ([node.module] if node.module else []))


def _imports(module: str, path: Path, modules: dict[str, Path]) -> dict[str, int]:
    """The kerasfix modules `module` imports anywhere in its body, each with the first line that does."""
    found: dict[str, int] = {}

    def add(target: str | None, line: int) -> None:
        if target in modules and target != module:
            found.setdefault(target, line)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _base(module, path, node)
            if base is None:
                continue
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                # `from kerasfix import source` imports the module; `from kerasfix.source import Source`
                # imports from it.
                add(submodule if submodule in modules else base, node.lineno)
    return found


def import_graph() -> tuple[dict[str, dict[str, int]], dict[str, Path]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}, modules


def strongly_connected(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Tarjan's algorithm: the components of more than one module, or of one that imports itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)


def _describe(component: list[str], graph: dict[str, dict[str, int]], modules: dict[str, Path]) -> str:
    members = set(component)
    lines = [f"cycle of {len(component)} modules: {', '.join(component)}"]
    for source in component:
        for target, line in sorted(graph[source].items()):
            if target in members:
                where = modules[source].relative_to(ROOT)
                lines.append(f"    {source} -> {target}  ({where}:{line})")
    return "\n".join(lines)


def test_the_graph_sees_every_kind_of_import(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n",
        "b.py": "def f():\n    from . import c\n",
        "c.py": "import pkg.sub.d\n",
        "sub/__init__.py": "from .. import a\n",
        "sub/d.py": "from ..a import thing\nfrom . import e\n",
        "sub/e.py": "from pkg import sub\n",
    }
    for name, text in files.items():
        (package / name).write_text(text)
    modules = {name: package / path for name, path in {
        "pkg": "__init__.py", "pkg.a": "a.py", "pkg.b": "b.py", "pkg.c": "c.py",
        "pkg.sub": "sub/__init__.py", "pkg.sub.d": "sub/d.py", "pkg.sub.e": "sub/e.py"}.items()}
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert {name: sorted(edges) for name, edges in graph.items()} == {
        "pkg": [], "pkg.a": ["pkg.b"], "pkg.b": ["pkg.c"], "pkg.c": ["pkg.sub.d"], "pkg.sub": ["pkg.a"],
        "pkg.sub.d": ["pkg.a", "pkg.sub.e"], "pkg.sub.e": ["pkg.sub"],
    }
    assert strongly_connected(graph) == [["pkg.a", "pkg.b", "pkg.c", "pkg.sub", "pkg.sub.d", "pkg.sub.e"]]


def test_kerasfix_imports_form_no_cycle() -> None:
    graph, modules = import_graph()
    assert len(graph) > 20 and graph["kerasfix.cli"], "the graph should hold every module and its imports"
    cycles = strongly_connected(graph)
    for component in cycles:
        print(_describe(component, graph, modules), end="\n\n")
    names = "; ".join("{" + ", ".join(component) + "}" for component in cycles)
    assert not cycles, f"{len(cycles)} import cycle(s) in kerasfix/ (each edge is printed above): {names}"
