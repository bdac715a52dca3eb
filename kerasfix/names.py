"""What Keras symbol is this? Names resolved through a file's imports and aliases."""

from __future__ import annotations

import builtins
import functools
from dataclasses import dataclass, field

import libcst as cst

from kerasfix import ruledata

_BUILTINS = frozenset(dir(builtins))


@functools.lru_cache(maxsize=1)
def _tables() -> tuple[list[tuple[str, str]], list[tuple[str, str]], dict[str, str]]:
    data = ruledata.load("names")
    roots = sorted(data["roots"].items(), key=lambda item: -len(item[0]))
    modules = sorted(data["modules"].items(), key=lambda item: -len(item[0]))
    return roots, modules, dict(data["symbols"])


def normalise_root(raw: str) -> str | None:
    """`tensorflow.keras.layers.Dense` -> `keras.layers.Dense`; None when the name is not Keras."""
    roots, _, _ = _tables()
    for root, replacement in roots:
        if raw == root or raw.startswith(root + "."):
            raw = replacement + raw[len(root):]
            break
    if raw != "keras" and not raw.startswith("keras."):
        return None
    if raw.startswith("keras.src.") or raw == "keras.src":
        return None  # Keras's private implementation is not an API users migrate
    return raw


@functools.lru_cache(maxsize=4096)
def canonical(raw: str) -> str | None:
    """The one spelling of a Keras name that rules match on, or None for non-Keras names.

    Root aliases (`tensorflow.keras`, `tf_keras`) become `keras`; names inside legacy modules
    (`keras.layers.core.Dense`, `keras.engine.topology.Model`) become their modern home.
    """
    name = normalise_root(raw)
    if name is None:
        return None
    _, modules, symbols = _tables()
    if name in symbols:
        return symbols[name]
    for module, replacement in modules:
        if name.startswith(module + "."):
            name = replacement + name[len(module):]
            break
    return symbols.get(name, name)


def writable(raw: str) -> bool:
    """Whether a fix may write a new name through this raw Keras module: its public spellings
    (`keras...`, `tensorflow.keras...`) only. Others that read as Keras (`tensorflow.python.keras`,
    TensorFlow's frozen private copy of Keras 2) hold what they held; a Keras 3 name is not in them."""
    return raw in ("keras", "tensorflow.keras") or raw.startswith(("keras.", "tensorflow.keras."))


def style_of(raw: str) -> str:
    """`tf.keras` when a raw name is spelled through TensorFlow, else `keras`."""
    return "tf.keras" if raw.startswith("tensorflow") else "keras"


def styled_module(canonical_module: str, style: str) -> str:
    """`keras.layers` spelled in a style: `tensorflow.keras.layers` for tf.keras."""
    if style == "tf.keras":
        return "tensorflow." + canonical_module
    return canonical_module


def dotted(node: cst.BaseExpression) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


@dataclass
class Binding:
    """A name bound by an import statement."""

    name: str
    raw: str  # the raw qualified name it refers to, e.g. "keras.layers.merge"
    statement: cst.Import | cst.ImportFrom | None = None
    alias: cst.ImportAlias | None = None
    # A name a fix has asked to import and the import tidy has not added yet (large files, which
    # are fixed part by part with one tidy at the end): resolves like an import, owns no statement.
    pending: bool = False
    # Bound by an import inside a function or class body: not seen everywhere in the file.
    nested: bool = False


@dataclass
class ImportTable:
    """The names a file binds to modules and their members, found by one scan of its statements."""

    bindings: dict[str, Binding] = field(default_factory=dict)
    star_modules: list[str] = field(default_factory=list)
    local_names: set[str] = field(default_factory=set)
    import_statements: list[cst.Import | cst.ImportFrom] = field(default_factory=list)
    # A name a module-level import binds that some functions or classes bind for themselves (an
    # assignment, a parameter, a loop variable) and nothing binds at module level: the import holds
    # everywhere but inside those definitions (name -> the definitions, the innermost def or class).
    shadowed_in: dict[str, list[cst.CSTNode]] = field(default_factory=dict)
    _hidden: dict[str, set[int]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def scan(cls, module: cst.Module, inherited: "ImportTable | None" = None) -> "ImportTable":
        """The names `module` binds; with `inherited`, added to those an earlier part of the same
        file bound (a large file is analysed in parts, in order)."""
        table = cls() if inherited is None else inherited.copy()
        earlier = set(table.local_names)
        assignments: list[tuple[str, cst.BaseExpression | None, cst.CSTNode | None]] = []
        escaped: set[str] = set()  # declared `global` or `nonlocal` somewhere: bound beyond its definition
        table._scan_body(module.body, assignments, escaped=escaped)
        # `Dense = keras.layers.Dense` aliases a Keras name; any other rebinding shadows the import: in the
        # whole file when it is at module level, else only inside the definition that binds it.
        file_wide: set[str] = set()
        scoped: dict[str, list[cst.CSTNode]] = {}
        for name, value, region in assignments:
            target = table.resolve(value) if isinstance(value, (cst.Name, cst.Attribute)) else None
            if target is not None and canonical(target) is not None:
                table.bindings[name] = Binding(name, target)
                continue
            table.local_names.add(name)
            if region is None or name in escaped:
                file_wide.add(name)
            else:
                scoped.setdefault(name, []).append(region)
        earlier_scoped = set(table.shadowed_in)  # an earlier part of a large file bound it in definitions only
        for name in table.local_names:
            binding = table.bindings.get(name)
            if binding is None:
                continue
            local_only = name in scoped or name in earlier_scoped
            if local_only and name not in file_wide and (name not in earlier or name in earlier_scoped) and binding.statement is not None:
                table.shadowed_in[name] = scoped.get(name, [])
                continue
            table.bindings.pop(name)
            table.shadowed_in.pop(name, None)
        return table

    def copy(self) -> "ImportTable":
        return ImportTable(
            dict(self.bindings), list(self.star_modules), set(self.local_names), list(self.import_statements), dict(self.shadowed_in)
        )

    def with_pending(self, requirements) -> "ImportTable":
        """A copy that also resolves the names fixes have asked to import (where the name is free)."""
        table = self.copy()
        for requirement in requirements:
            name = requirement.local
            if name not in table.bindings and name not in table.local_names:
                table.bindings[name] = Binding(name, requirement.symbol, pending=True)
        return table

    def _scan_body(
        self, body, assignments: list, nested: bool = False, region: cst.CSTNode | None = None, escaped: set[str] | None = None
    ) -> None:
        """Adds the file's imports to the table, and to `assignments` every other binding as (name, value
        or None, the innermost def or class holding it, None at module level); `escaped` gathers the
        names declared `global` or `nonlocal`."""
        escaped = set() if escaped is None else escaped
        for statement in body:
            smalls = None
            if isinstance(statement, cst.SimpleStatementLine):
                smalls = statement.body
            elif isinstance(statement, cst.BaseSmallStatement):  # the body of a one-line suite
                smalls = [statement]
            if smalls is not None:
                for small in smalls:
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        self._add_import(small, nested)
                    elif isinstance(small, cst.Assign):
                        for target in small.targets:
                            self._bind_target(target.target, small.value, assignments, region)
                    elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                        self._bind_target(small.target, None, assignments, region)
                    elif isinstance(small, (cst.Global, cst.Nonlocal)):
                        escaped.update(item.name.value for item in small.names)
                continue
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                assignments.append((statement.name.value, None, region))
                if isinstance(statement, cst.FunctionDef):
                    self._bind_parameters(statement.params, assignments, statement)
            if isinstance(statement, cst.For):
                self._bind_target(statement.target, None, assignments, region)
            if isinstance(statement, cst.With):
                for item in statement.items:
                    if item.asname is not None:
                        self._bind_target(item.asname.name, None, assignments, region)
            inner = nested or isinstance(statement, (cst.FunctionDef, cst.ClassDef))
            within = statement if isinstance(statement, (cst.FunctionDef, cst.ClassDef)) else region
            for child in _child_bodies(statement):
                self._scan_body(child, assignments, inner, within, escaped)

    def _bind_parameters(self, params: cst.Parameters, assignments: list, function: cst.FunctionDef) -> None:
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            assignments.append((param.name.value, None, function))
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                assignments.append((star.name.value, None, function))

    def _bind_target(self, target: cst.BaseExpression, value, assignments: list, region: cst.CSTNode | None = None) -> None:
        if isinstance(target, cst.Name):
            assignments.append((target.value, value, region))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind_target(element.value, None, assignments, region)
        elif isinstance(target, cst.StarredElement):
            self._bind_target(target.value, None, assignments, region)

    def _add_import(self, statement: cst.Import | cst.ImportFrom, nested: bool = False) -> None:
        self.import_statements.append(statement)
        if isinstance(statement, cst.Import):
            for alias in statement.names:
                full = dotted(alias.name)
                if full is None:
                    continue
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    local = alias.asname.name.value
                    self.bindings[local] = Binding(local, full, statement, alias, nested=nested)
                else:
                    root = full.split(".")[0]
                    self.bindings.setdefault(root, Binding(root, root, statement, alias, nested=nested))
            return
        if statement.relative or statement.module is None:
            if isinstance(statement.names, cst.ImportStar):  # `from .util import *`: may bind anything
                level = "".join(dot.value if hasattr(dot, "value") else "." for dot in statement.relative) or "."
                self.star_modules.append(level + (dotted(statement.module) or "") if statement.module else level)
            return
        module = dotted(statement.module)
        if module is None:
            return
        if isinstance(statement.names, cst.ImportStar):
            self.star_modules.append(module)
            return
        for alias in statement.names:
            if not isinstance(alias.name, cst.Name):
                continue
            imported = alias.name.value
            local = alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, cst.Name) else imported
            self.bindings[local] = Binding(local, f"{module}.{imported}", statement, alias, nested=nested)

    def resolve(self, node: cst.BaseExpression) -> str | None:
        """The raw qualified name an expression refers to (`KL.merge` -> `keras.layers.merge`)."""
        attributes: list[str] = []
        while isinstance(node, cst.Attribute):
            attributes.append(node.attr.value)
            node = node.value
        if not isinstance(node, cst.Name):
            return None
        if node.value in self.shadowed_in and id(node) in self._hidden_uses(node.value):
            return None  # a local variable of the function (or class) it is used in
        base = self._resolve_name(node.value)
        if base is None:
            return None
        return ".".join([base, *reversed(attributes)])

    def _hidden_uses(self, name: str) -> set[int]:
        """The ids of the `name` nodes inside the definitions that bind `name` for themselves (a lambda
        or function nested in one of them included: conservatively, as if it read the local)."""
        found = self._hidden.get(name)
        if found is None:
            found = set()
            pending: list[cst.CSTNode] = list(self.shadowed_in[name])
            while pending:
                node = pending.pop()
                if type(node) is cst.Name and node.value == name:
                    found.add(id(node))
                pending.extend(node.children)
            self._hidden[name] = found
        return found

    def _resolve_name(self, name: str) -> str | None:
        binding = self.bindings.get(name)
        if binding is not None:
            return binding.raw
        if not self.star_modules or name in self.local_names or name in _BUILTINS:
            return None
        from kerasfix import api

        for module in reversed(self.star_modules):
            modern = canonical(module + "._")
            if modern is None:
                continue
            if api.knows(modern[:-2], name):
                return f"{module}.{name}"
        return None

    def qualified(self, node: cst.BaseExpression) -> str | None:
        """The canonical Keras name of an expression, or None when it is not Keras."""
        raw = self.resolve(node)
        return canonical(raw) if raw is not None else None

    def uses_star(self, name: str) -> bool:
        return name not in self.bindings and bool(self.star_modules)


def _child_bodies(statement: cst.CSTNode):
    """The statement blocks nested directly in a compound statement."""
    if isinstance(statement, (cst.If, cst.For, cst.While, cst.With, cst.FunctionDef, cst.ClassDef)):
        yield statement.body.body
        orelse = getattr(statement, "orelse", None)
        while orelse is not None:
            yield orelse.body.body
            orelse = getattr(orelse, "orelse", None)
    elif isinstance(statement, cst.Try) or type(statement).__name__ == "TryStar":
        yield statement.body.body
        for handler in statement.handlers:
            yield handler.body.body
        if statement.orelse is not None:
            yield statement.orelse.body.body
        if statement.finalbody is not None:
            yield statement.finalbody.body.body
    elif type(statement).__name__ == "Match":
        for case in statement.cases:
            yield case.body.body
