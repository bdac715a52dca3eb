"""A fix never writes a name that means something else in the file.

Every rule example and fixture whose fixes write Keras names is run again with a colliding binding
of each of those names injected (an import from NumPy or `operator`, a function of the file, a
parameter, a class attribute, a star import of another library). The migration must then either
spell the symbol another way (a qualified or aliased name) that still means it, or leave that fix
out: the user's binding keeps its meaning, and every name a fix wrote resolves to its symbol (read
by an independent check here, with Python's own `ast`, not the engine's resolver).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kerasfix import registry
from kerasfix.engine import Settings, check_source, fix_text
from kerasfix.source import Source

ROOT = Path(__file__).resolve().parent.parent
ALL = frozenset(registry.all_specs())

# How a test injects a binding of NAME: (kind, text put before the program, text put after it)
COLLISIONS = {
    "numpy-import": ("from numpy import {name}\n", ""),
    "operator-import": ("from operator import {name}\n", ""),
    "local-def": ("", "\n\ndef {name}(*args, **kwargs):\n    return args\n"),
    "parameter": ("", "\n\ndef user_function({name}):\n    return {name}\n"),
    "class-attribute": ("", "\n\nclass UserThing:\n    {name} = 1\n"),
    "star-import": ("from numpy import *\n", ""),
}


def _programs() -> list[tuple[str, str, Settings]]:
    """(id, source text, settings) of every rule example that is fixed, and every fixture program."""
    programs = []
    for code, spec in registry.all_specs().items():
        for number, example in enumerate(spec.examples):
            if example.valid or example.after is None:
                continue
            settings = Settings(enabled=ALL, target=example.target, unsafe_fixes=example.unsafe)
            programs.append((f"{code}-{number}", example.before, settings))
    for path in sorted((ROOT / "fixtures").glob("*/*.py")):
        if path.name.endswith(".fixed.py"):
            continue
        settings = Settings(enabled=registry.default_codes(), target="tf.keras", unsafe_fixes=True)
        programs.append((f"{path.parent.name}/{path.name}", path.read_text(encoding="utf-8"), settings))
    return programs


def _written(text: str, settings: Settings) -> tuple[list, str]:
    source = Source(path=Path("example.py"), text=text, raw=text.encode())
    result = fix_text(source, settings)
    return [(finding.code, written) for finding in result.applied for written in finding.fix.writes], result.text


def _cases():
    cases = []
    for ident, text, settings in _programs():
        writes, _ = _written(text, settings)
        heads = sorted({written.spelling.split(".")[0] for _, written in writes})
        for name in heads:
            for kind in COLLISIONS:
                cases.append(pytest.param(text, settings, name, kind, id=f"{ident}-{name}-{kind}"))
    return cases


CASES = _cases()


def test_the_property_covers_every_rule_that_writes_names():
    covered = {case.values[0] for case in CASES}
    assert len(CASES) > 300
    # each code whose examples write a new name is among the programs collided with
    codes = {ident.split("-")[0] for ident, _, _ in _programs() if "/" not in ident}
    assert {"KF101", "KF201", "KF330", "KF331", "KF363"} <= codes
    assert covered


def _module_bindings(tree: ast.Module, name: str) -> list[ast.AST]:
    """The module-level statements that bind `name` (imports, defs, classes, assignments)."""
    found = []
    for statement in ast.walk(tree):
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and statement.name == name:
            found.append(statement)
        elif isinstance(statement, (ast.Import, ast.ImportFrom)):
            for alias in statement.names:
                local = alias.asname or alias.name.split(".")[0]
                if local == name:
                    found.append(statement)
    return [node for node in found if node in tree.body or _top_level(tree, node)]


def _top_level(tree: ast.Module, node: ast.AST) -> bool:
    for statement in tree.body:
        for inner in ast.walk(statement):
            if inner is node:
                return not any(
                    isinstance(outer, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda))
                    for outer in ast.walk(statement)
                    if outer is not node and _contains(outer, node)
                )
    return False


def _contains(outer: ast.AST, node: ast.AST) -> bool:
    return any(inner is node for inner in ast.walk(outer)) and outer is not node


def _keras_meaning(tree: ast.Module, spelling: str) -> str | None:
    """What a dotted name means at module level, read from the module's import statements with
    `ast` (an independent reading: aliases and module imports, Keras roots normalised)."""
    head, _, rest = spelling.partition(".")
    meaning = None
    for statement in tree.body:
        if isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
            for alias in statement.names:
                if (alias.asname or alias.name) == head:
                    meaning = f"{statement.module}.{alias.name}"
        elif isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.asname == head:
                    meaning = alias.name
                elif alias.asname is None and alias.name.split(".")[0] == head:
                    meaning = head
        elif isinstance(statement, (ast.FunctionDef, ast.ClassDef)) and statement.name == head:
            meaning = None
    if meaning is None:
        return None
    full = meaning + ("." + rest if rest else "")
    for root in ("tensorflow.keras.", "tf_keras."):
        if full.startswith(root):
            full = "keras." + full[len(root):]
    return full


def _same_symbol(full: str | None, symbol: str) -> bool:
    from kerasfix.names import canonical

    return full is not None and canonical(full) == symbol


@pytest.mark.parametrize(("text", "settings", "name", "kind"), CASES)
def test_a_colliding_binding_is_never_taken_over(text, settings, name, kind):
    before, after = COLLISIONS[kind]
    collided = before.format(name=name) + text + after.format(name=name)
    source = Source(path=Path("example.py"), text=collided, raw=collided.encode())
    assert check_source(source, settings)[1] is None
    result = fix_text(source, settings)
    assert result.dropped == [], result.dropped  # the engine's own check found nothing to drop
    tree = ast.parse(result.text)
    # the user's binding is still there, and no fix added another module-level binding of the name
    injected = (before or after).format(name=name).strip().splitlines()[0]
    assert injected in result.text
    assert len(_module_bindings(tree, name)) == len(_module_bindings(ast.parse(collided), name)), result.text
    for finding in result.applied:
        for written in finding.fix.writes:
            head = written.spelling.split(".")[0]
            if head == name and kind == "local-def":
                pytest.fail(f"{finding.code} wrote `{written.spelling}`, which the file defines itself:\n{result.text}")
            if head == name and kind == "star-import" and any(r.local == name for r in finding.fix.requires):
                pytest.fail(f"{finding.code} imported `{name}` after `from numpy import *`:\n{result.text}")
            meaning = _keras_meaning(tree, written.spelling)
            if meaning is not None:  # spelled through a module-level import: it must be the symbol
                assert _same_symbol(meaning, written.symbol), (written, meaning, result.text)
