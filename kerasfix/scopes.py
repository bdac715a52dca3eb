"""Which names each scope of a file binds: what a new name written at some place would collide with."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from kerasfix.names import dotted
from kerasfix.walk import walk

_FUNCTIONS = (cst.FunctionDef, cst.Lambda)
_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
SCOPE_TYPES = (*_FUNCTIONS, cst.ClassDef, *_COMPREHENSIONS)
_SCOPE_SET = frozenset(SCOPE_TYPES)  # `type(node) in`: LibCST's abstract base makes isinstance slow


@dataclass
class Scopes:
    """The names bound in the module and in each function, lambda, class and comprehension.

    A binding is any way Python binds a name: assignment and augmented assignment targets, `for`,
    `with ... as`, `except ... as`, `:=`, `del`, imports, `def`/`class`, parameters, `global` and
    `nonlocal` declarations, `match` captures. (A name declared `global` in a function is bound in
    the module too.)"""

    module_names: set[str] = field(default_factory=set)
    by_scope: dict[int, set[str]] = field(default_factory=dict)  # id(scope node) -> names
    # id(scope node) -> {name: the qualified name an import in that scope binds it to}
    imports: dict[int, dict[str, str]] = field(default_factory=dict)
    # every name bound anywhere in the file, in any scope
    anywhere: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, module: cst.Module) -> "Scopes":
        scopes = cls()
        stack: list[tuple[cst.CSTNode | None, set[str]]] = [(None, scopes.module_names)]

        def imported(name: str, raw: str | None) -> None:
            node = stack[-1][0]
            if node is not None and raw is not None:
                scopes.imports.setdefault(id(node), {})[name] = raw

        def bind(name: str) -> None:
            stack[-1][1].add(name)
            scopes.anywhere.add(name)

        def bind_outside_comprehensions(name: str) -> None:
            for node, names in reversed(stack):
                if not isinstance(node, _COMPREHENSIONS):
                    names.add(name)
                    break
            scopes.anywhere.add(name)

        def targets(node: cst.CSTNode | None, into=bind) -> None:
            if isinstance(node, cst.Name):
                into(node.value)
            elif isinstance(node, (cst.Tuple, cst.List)):
                for element in node.elements:
                    targets(element.value, into)
            elif isinstance(node, cst.StarredElement):
                targets(node.value, into)

        def enter(node: cst.CSTNode, parent: cst.CSTNode | None) -> None:
            kind = type(node)
            if kind in (cst.FunctionDef, cst.ClassDef):
                bind(node.name.value)
            if kind in _SCOPE_SET:
                names: set[str] = set()
                scopes.by_scope[id(node)] = names
                stack.append((node, names))
                return
            if kind is cst.Assign:
                for target in node.targets:
                    targets(target.target)
            elif kind in (cst.AnnAssign, cst.AugAssign):
                targets(node.target)
            elif kind in (cst.For, cst.CompFor):
                targets(node.target)
            elif kind is cst.WithItem and node.asname is not None:
                targets(node.asname.name)
            elif kind in (cst.ExceptHandler, cst.ExceptStarHandler) and node.name is not None:
                targets(node.name.name)
            elif kind is cst.NamedExpr:
                targets(node.target, bind_outside_comprehensions)
            elif kind is cst.Del:
                targets(node.target)
            elif kind is cst.Param:
                bind(node.name.value)
            elif kind in (cst.Global, cst.Nonlocal):
                for item in node.names:
                    bind(item.name.value)
                    if kind is cst.Global:
                        scopes.module_names.add(item.name.value)
            elif kind is cst.Import:
                for alias in node.names:
                    full = dotted(alias.name)
                    if alias.asname is not None:
                        targets(alias.asname.name)
                        if isinstance(alias.asname.name, cst.Name):
                            imported(alias.asname.name.value, full)
                    elif full is not None:
                        root = full.split(".")[0]
                        bind(root)
                        imported(root, root)
            elif kind is cst.ImportFrom and not isinstance(node.names, cst.ImportStar):
                module = dotted(node.module) if node.module is not None and not node.relative else None
                for alias in node.names:
                    local = alias.asname.name if alias.asname is not None else alias.name
                    targets(local)
                    if isinstance(local, cst.Name) and module is not None and isinstance(alias.name, cst.Name):
                        imported(local.value, f"{module}.{alias.name.value}")
            elif kind is cst.MatchAs and node.name is not None:
                bind(node.name.value)
            elif kind is cst.MatchStar and node.name is not None:
                bind(node.name.value)
            elif kind is cst.MatchMapping and node.rest is not None:
                bind(node.rest.value)

        def leave(node: cst.CSTNode) -> None:
            if type(node) in _SCOPE_SET:
                stack.pop()

        walk(module, enter, leave)
        return scopes

    def enclosing(self, node: cst.CSTNode, parent_of) -> list[int]:
        """The scopes (ids of their nodes) between `node` and the module that a name used at `node`
        is looked up in, innermost first. A class body's names are seen only by code directly in it."""
        found: list[int] = []
        in_function = False
        current = parent_of(node)
        while current is not None:
            if id(current) in self.by_scope:
                if not isinstance(current, cst.ClassDef) or not in_function:
                    found.append(id(current))
                if isinstance(current, _FUNCTIONS):
                    in_function = True
            current = parent_of(current)
        return found

    def binder(self, name: str, node: cst.CSTNode, parent_of) -> int | None:
        """The innermost scope between `node` and the module that binds `name`; None when the name
        is the module's (or a builtin) there."""
        for scope in self.enclosing(node, parent_of):
            if name in self.by_scope[scope]:
                return scope
        return None
