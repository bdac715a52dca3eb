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


@dataclass(frozen=True)
class Provider:
    """A function that returns Keras modules (rules/names.toml `providers`): keras_applications'
    `backend, layers, models, utils = get_submodules_from_kwargs(kwargs)`."""

    name: str
    returns: tuple[str, ...]  # the modules it returns, in order (`keras.backend`, ...)
    modules: tuple[str, ...]  # the modules it is imported from
    parameters: dict  # function defined beside it -> {parameter: module}


@functools.lru_cache(maxsize=1)
def providers() -> dict[str, Provider]:
    """The functions that hand a program Keras's modules, by name."""
    found = {}
    for name, data in ruledata.load("names").get("providers", {}).items():
        found[name] = Provider(name, tuple(data["returns"]), tuple(data.get("modules", ())), dict(data.get("parameters", {})))
    return found


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
    # Unpacked from a call of a provider (`backend, layers, ... = get_submodules_from_kwargs(kwargs)`),
    # at module level or declared `global`: not an import, so no import statement to tidy or extend.
    provided: bool = False


class _Unpacked:
    """The value of one name unpacked from a call (`a, b = f(x)`): which call, and at which position."""

    __slots__ = ("call", "index")

    def __init__(self, call: cst.Call, index: int) -> None:
        self.call, self.index = call, index


def _is_placeholder(value) -> bool:
    """`backend = None`: a module-level stand-in until a builder sets the name (`global backend`)."""
    return isinstance(value, cst.Name) and value.value == "None"


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
    # A name a function unpacks from a provider for itself (no `global`), or a parameter of a function the
    # provider's table lists: what it means inside that function (name -> [(the function, raw module)]).
    provided_in: dict[str, list[tuple[cst.CSTNode, str]]] = field(default_factory=dict)
    # Providers the file imports from its own package (`from . import get_submodules_from_kwargs`) or
    # defines (local name -> provider name); absolute imports resolve through `bindings`.
    provider_names: dict[str, str] = field(default_factory=dict)
    _hidden: dict[str, set[int]] = field(default_factory=dict, repr=False, compare=False)
    _provided: dict[str, dict[int, str]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def scan(cls, module: cst.Module, inherited: "ImportTable | None" = None) -> "ImportTable":
        """The names `module` binds; with `inherited`, added to those an earlier part of the same
        file bound (a large file is analysed in parts, in order)."""
        table = cls() if inherited is None else inherited.copy()
        earlier = set(table.local_names)
        assignments: list[tuple[str, cst.BaseExpression | None, cst.CSTNode | None]] = []
        escaped: set[str] = set()  # declared `global` or `nonlocal` somewhere: bound beyond its definition
        defined: list[cst.FunctionDef] = []  # module-level functions, for providers and their `parameters`
        table._scan_body(module.body, assignments, escaped=escaped, defined=defined)
        table._find_providers(defined)
        before = dict(table.bindings)
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
            if binding is None or binding.provided:
                continue  # a provided name is decided by _bind_provided
            local_only = name in scoped or name in earlier_scoped
            if local_only and name not in file_wide and (name not in earlier or name in earlier_scoped) and binding.statement is not None:
                table.shadowed_in[name] = scoped.get(name, [])
                continue
            table.bindings.pop(name)
            table.shadowed_in.pop(name, None)
        table._bind_provided(assignments, escaped, before, defined)
        return table

    def copy(self) -> "ImportTable":
        return ImportTable(
            dict(self.bindings),
            list(self.star_modules),
            set(self.local_names),
            list(self.import_statements),
            dict(self.shadowed_in),
            {name: list(places) for name, places in self.provided_in.items()},
            dict(self.provider_names),
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
        self,
        body,
        assignments: list,
        nested: bool = False,
        region: cst.CSTNode | None = None,
        escaped: set[str] | None = None,
        defined: list | None = None,
    ) -> None:
        """Adds the file's imports to the table, and to `assignments` every other binding as (name, value
        or None, the innermost def or class holding it, None at module level); `escaped` gathers the
        names declared `global` or `nonlocal`, `defined` the module-level functions."""
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
                            if isinstance(target.target, (cst.Tuple, cst.List)) and isinstance(small.value, cst.Call):
                                self._bind_unpacked(target.target, small.value, assignments, region)
                            else:
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
                    if region is None and defined is not None:
                        defined.append(statement)
            if isinstance(statement, cst.For):
                self._bind_target(statement.target, None, assignments, region)
            if isinstance(statement, cst.With):
                for item in statement.items:
                    if item.asname is not None:
                        self._bind_target(item.asname.name, None, assignments, region)
            inner = nested or isinstance(statement, (cst.FunctionDef, cst.ClassDef))
            within = statement if isinstance(statement, (cst.FunctionDef, cst.ClassDef)) else region
            for child in _child_bodies(statement):
                self._scan_body(child, assignments, inner, within, escaped, defined)

    def _bind_parameters(self, params: cst.Parameters, assignments: list, function: cst.FunctionDef) -> None:
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            assignments.append((param.name.value, None, function))
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                assignments.append((star.name.value, None, function))

    def _bind_unpacked(self, target: cst.Tuple | cst.List, call: cst.Call, assignments: list, region) -> None:
        """`a, b, c = f(x)`: each name with its position in the call's result (a starred target ends it)."""
        for index, element in enumerate(target.elements):
            if isinstance(element, cst.StarredElement):
                self._bind_target(element, None, assignments, region)
                for rest in target.elements[index + 1:]:
                    self._bind_target(rest.value, None, assignments, region)
                return
            if isinstance(element.value, cst.Name):
                assignments.append((element.value.value, _Unpacked(call, index), region))
            else:
                self._bind_target(element.value, None, assignments, region)

    def _find_providers(self, defined: list[cst.FunctionDef]) -> None:
        """The providers the file imports from its own package or defines itself (`provider_names`)."""
        known = providers()
        if not known:
            return
        for statement in self.import_statements:
            if not isinstance(statement, cst.ImportFrom) or not statement.relative or isinstance(statement.names, cst.ImportStar):
                continue
            for alias in statement.names:
                if isinstance(alias.name, cst.Name) and alias.name.value in known:
                    local = alias.asname.name if alias.asname is not None else alias.name
                    if isinstance(local, cst.Name):
                        self.provider_names[local.value] = alias.name.value
        for function in defined:
            provider = known.get(function.name.value)
            if provider is not None and _returns_tuple_of(function, len(provider.returns)):
                self.provider_names[function.name.value] = provider.name

    def _provider_of(self, func: cst.BaseExpression) -> Provider | None:
        """The provider a call's callee names, or None."""
        known = providers()
        if isinstance(func, cst.Name) and func.value in self.provider_names:
            return known.get(self.provider_names[func.value])
        raw = self.resolve(func)
        if raw is None or "." not in raw:
            return None
        module, name = raw.rsplit(".", 1)
        provider = known.get(name)
        return provider if provider is not None and module in provider.modules else None

    def _bind_provided(self, assignments: list, escaped: set[str], before: dict[str, Binding], defined: list) -> None:
        """Binds the names unpacked from a provider's call to the modules it returns: in the whole file
        when the unpacking is at module level or the name is declared `global` and nothing else binds it
        there (a `None` placeholder aside; a definition that binds it for itself hides it there), else in
        the function that unpacks it; and the `parameters` of the functions defined beside a provider."""
        known = providers()
        wanted = {
            name for name, value, _ in assignments
            if isinstance(value, _Unpacked) and known and self._provider_of(value.call.func) is not None
        }
        wanted.update(name for name, binding in self.bindings.items() if binding.provided)
        by_name: dict[str, list[tuple[object, cst.CSTNode | None]]] = {}
        if wanted:
            for name, value, region in assignments:
                if name in wanted:
                    by_name.setdefault(name, []).append((value, region))
        for name, entries in by_name.items():
            inherited = self.bindings.get(name)
            inherited = inherited if inherited is not None and inherited.provided else None
            found: list[tuple[str, cst.CSTNode | None]] = []
            blockers: list[cst.CSTNode | None] = []
            for value, region in entries:
                raw = None
                if isinstance(value, _Unpacked):
                    provider = self._provider_of(value.call.func)
                    if provider is not None and value.index < len(provider.returns):
                        raw = provider.returns[value.index]
                if raw is not None:
                    found.append((raw, region))
                elif not (_is_placeholder(value) and (region is None or name in escaped)):
                    blockers.append(region)
            if not found and inherited is None:
                continue
            wide = {raw for raw, region in found if region is None or name in escaped}
            if inherited is not None:
                wide.add(inherited.raw)
            everywhere = [region for region in blockers if region is None or name in escaped]
            local = [region for region in blockers if region is not None and name not in escaped]
            imported = before.get(name)
            clash = imported is not None and not imported.provided and (
                len(wide) != 1 or canonical(imported.raw) != canonical(next(iter(wide)))
            )
            if len(wide) == 1 and not everywhere and not clash:
                self.bindings[name] = Binding(name, next(iter(wide)), provided=True)
                self.local_names.add(name)
                if local:
                    self.shadowed_in[name] = [*self.shadowed_in.get(name, []), *local]
                    self._hidden.pop(name, None)
            elif inherited is not None:
                self.bindings.pop(name, None)
                self.shadowed_in.pop(name, None)
            for raw, region in found:
                if region is None or name in escaped or not isinstance(region, cst.FunctionDef):
                    continue
                if not any(blocker is region for blocker in local) and not _binds_otherwise(region, name):
                    # (a function that binds it otherwise too: an import, `except ... as`, `:=`, a loop or a
                    # `match` capture, keeps it unresolved there)
                    self.provided_in.setdefault(name, []).append((region, raw))
                    self._provided.pop(name, None)
        providing = [
            known[function.name.value] for function in defined
            if function.name.value in known and _returns_tuple_of(function, len(known[function.name.value].returns))
        ]
        for provider in providing:  # the file defines the provider: its package's __init__.py
            for function in defined:
                for parameter, module in provider.parameters.get(function.name.value, {}).items():
                    if parameter in _parameter_names(function.params) and parameter not in escaped:
                        self.provided_in.setdefault(parameter, []).append((function, module))
                        self._provided.pop(parameter, None)

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
        if node.value in self.provided_in:
            provided = self._provided_uses(node.value).get(id(node))
            if provided is not None:
                return ".".join([provided, *reversed(attributes)])
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

    def _provided_uses(self, name: str) -> dict[int, str]:
        """The ids of the `name` nodes inside the functions that take `name` from a provider, each with
        the module it means there; not inside a definition nested there that binds `name` for itself."""
        found = self._provided.get(name)
        if found is None:
            found = {}
            for function, raw in self.provided_in[name]:
                pending: list[cst.CSTNode] = [function.body]
                while pending:
                    node = pending.pop()
                    if type(node) is cst.Name and node.value == name:
                        found[id(node)] = raw
                    elif isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef)) and _binds_for_itself(node, name):
                        continue
                    elif isinstance(node, _COMPREHENSIONS) and _comprehension_binds(node, name):
                        continue  # `[backend.f(x) for backend in objs]`: the comprehension's own name
                    pending.extend(node.children)
            self._provided[name] = found
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


def _parameter_names(params: cst.Parameters) -> set[str]:
    names = {param.name.value for param in (*params.posonly_params, *params.params, *params.kwonly_params)}
    names.update(star.name.value for star in (params.star_arg, params.star_kwarg) if isinstance(star, cst.Param))
    return names


def _returns_tuple_of(function: cst.FunctionDef, count: int) -> bool:
    """Whether a function's own body ends by returning a tuple of `count` values (`return a, b, c, d`)."""
    body = function.body.body if isinstance(function.body, cst.IndentedBlock) else [function.body]
    last = body[-1] if body else None
    smalls = last.body if isinstance(last, cst.SimpleStatementLine) else [last]
    returned = smalls[-1] if smalls else None
    if not isinstance(returned, cst.Return) or not isinstance(returned.value, cst.Tuple):
        return False
    elements = returned.value.elements
    return len(elements) == count and not any(isinstance(element, cst.StarredElement) for element in elements)


_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)


def _comprehension_binds(node: cst.CSTNode, name: str) -> bool:
    """Whether a comprehension's `for` targets bind `name`."""
    for_in = getattr(node, "for_in", None)
    while for_in is not None:
        if _target_names(for_in.target, name):
            return True
        for_in = for_in.inner_for_in
    return False


def _binds_otherwise(function: cst.FunctionDef, name: str) -> bool:
    """Whether a function binds `name` in its own scope other than by assigning it: an import, an `as`
    (`except`, `with`), `:=`, a `for` target, a `match` capture, a nested definition of that name."""
    pending: list[cst.CSTNode] = [function.body]
    while pending:
        node = pending.pop()
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            if node.name.value == name:
                return True
            continue
        if isinstance(node, (cst.Lambda, *_COMPREHENSIONS)):
            continue
        if isinstance(node, (cst.AsName, cst.NamedExpr, cst.For)):
            target = node.name if isinstance(node, cst.AsName) else node.target
            if _target_names(target, name):
                return True
        elif isinstance(node, cst.ImportAlias) and node.asname is None:
            if (dotted(node.name) or "").split(".")[0] == name:
                return True
        elif isinstance(node, (cst.MatchAs, cst.MatchStar)) and isinstance(node.name, cst.Name) and node.name.value == name:
            return True
        pending.extend(node.children)
    return False


def _binds_for_itself(definition: cst.FunctionDef | cst.Lambda | cst.ClassDef, name: str) -> bool:
    """Whether a nested definition binds `name` in its own scope (a parameter, an assignment, a loop or
    `with` target, an import, a nested definition; `nonlocal` or `global` aside), so an enclosing
    function's `name` is not what it reads. A class body's own binding is conservatively taken for the
    whole class."""
    if isinstance(definition, (cst.FunctionDef, cst.Lambda)) and name in _parameter_names(definition.params):
        return True
    if isinstance(definition, cst.Lambda):
        return False
    binds = declared = False
    pending: list[cst.CSTNode] = [definition.body]
    while pending:
        node = pending.pop()
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            binds = binds or node.name.value == name
            continue  # its own scope
        if isinstance(node, (cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)):
            continue
        if isinstance(node, (cst.Global, cst.Nonlocal)):
            declared = declared or any(item.name.value == name for item in node.names)
        elif isinstance(node, (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.For, cst.AsName, cst.NamedExpr)):
            target = node.name if isinstance(node, cst.AsName) else node.target
            binds = binds or _target_names(target, name)
        elif isinstance(node, cst.ImportAlias):
            local = node.asname.name if node.asname is not None else node.name
            binds = binds or dotted(local) == name or (dotted(local) or "").split(".")[0] == name
        pending.extend(node.children)
    return binds and not declared


def _target_names(target: cst.CSTNode, name: str) -> bool:
    if isinstance(target, cst.Name):
        return target.value == name
    if isinstance(target, (cst.Tuple, cst.List)):
        return any(_target_names(element.value, name) for element in target.elements)
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value, name)
    return False


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
