"""After fixes: import the names the new code needs, once, and drop the legacy names left unused."""

from __future__ import annotations

from collections import Counter

import libcst as cst

from kerasfix.checks.callargs import styled_module
from kerasfix.findings import Requirement
from kerasfix.names import ImportTable, canonical, dotted, normalise_root, style_of


def file_style(table: ImportTable, target: str) -> str:
    """`tf.keras` or `keras`: the style the file's own Keras imports use, else the target's."""
    votes: Counter[str] = Counter()
    for statement in table.import_statements:
        for raw in _statement_modules(statement):
            if normalise_root(raw) is not None:
                votes[style_of(raw)] += 1
    if votes["tf.keras"] != votes["keras"]:
        return "tf.keras" if votes["tf.keras"] > votes["keras"] else "keras"
    return target


def _statement_modules(statement: cst.Import | cst.ImportFrom) -> list[str]:
    if isinstance(statement, cst.ImportFrom):
        if statement.relative or statement.module is None:
            return []
        module = dotted(statement.module)
        if module == "tensorflow" and not isinstance(statement.names, cst.ImportStar):
            # `from tensorflow import keras` is tf.keras style
            return ["tensorflow.keras"] if any(
                isinstance(a.name, cst.Name) and a.name.value == "keras" for a in statement.names
            ) else []
        return [module] if module else []
    return [name for alias in statement.names if (name := dotted(alias.name))]


def module_of(statement: cst.ImportFrom) -> tuple[str | None, str | None]:
    """(raw module, canonical modern module) of a from-import."""
    if statement.relative or statement.module is None:
        return None, None
    raw = dotted(statement.module)
    if raw is None:
        return None, None
    modern = canonical(raw + ".__name__")
    return raw, modern[: -len(".__name__")] if modern else None


def _name_uses(module: cst.Module) -> Counter[str]:
    """How often each bare name is used outside import statements (attribute names and keyword
    argument names are not uses), in one read-only walk."""
    from kerasfix.walk import walk

    counts: Counter[str] = Counter()
    inside_import = [0]

    def enter(node: cst.CSTNode, parent: cst.CSTNode | None) -> None:
        if type(node) in (cst.Import, cst.ImportFrom):
            inside_import[0] += 1
        elif type(node) is cst.Name and not inside_import[0]:
            if type(parent) is cst.Attribute and parent.attr is node:
                return
            if type(parent) is cst.Arg and parent.keyword is node:
                return
            counts[node.value] += 1

    def leave(node: cst.CSTNode) -> None:
        if type(node) in (cst.Import, cst.ImportFrom):
            inside_import[0] -= 1

    walk(module, enter, leave)
    return counts


def fix_imports(text: str, requires: list[Requirement], releases: list[str], target: str) -> str:
    module = cst.parse_module(text)
    table = ImportTable.scan(module)
    uses = _name_uses(module)
    style = file_style(table, target)

    replace: dict[int, list[str]] = {}  # id(alias) -> names to put in its place ([] removes it)
    append: dict[int, list[str]] = {}  # id(statement) -> names to add at its end
    retarget: dict[int, str] = {}  # id(statement) -> new module spelling
    fresh: dict[str, list[str]] = {}  # module spelling -> names for a new statement
    statements: dict[int, cst.ImportFrom] = {}

    removed_from: dict[int, list[cst.ImportAlias]] = {}
    for name in dict.fromkeys(releases):
        binding = table.bindings.get(name)
        if binding is None or uses[name] or not isinstance(binding.statement, cst.ImportFrom):
            continue
        replace[id(binding.alias)] = []
        removed_from.setdefault(id(binding.statement), []).append(binding.alias)
        statements[id(binding.statement)] = binding.statement

    for requirement in dict.fromkeys(requires):
        binding = table.bindings.get(requirement.name)
        wanted = canonical(f"{requirement.module}.{requirement.name}")
        if binding is not None and canonical(binding.raw) == wanted and id(binding.alias) not in replace:
            continue
        if binding is not None and id(binding.alias) not in replace:
            continue  # the name means something else here; the rule that asked should not have
        if requirement.name in table.local_names or _star_provides(table, requirement):
            continue
        if _place_in_released(requirement, statements, removed_from, replace, retarget):
            continue
        host = _modern_host(table, requirement.module, replace)
        if host is not None:
            append.setdefault(id(host), []).append(requirement.name)
            statements[id(host)] = host
            continue
        spelled = styled_module(requirement.module, style)
        names = fresh.setdefault(spelled, [])
        if requirement.name not in names:
            names.append(requirement.name)

    if replace or append or retarget:
        module = module.visit(_Rewriter(replace, append, retarget))
    if fresh:
        module = _insert_statements(module, table, fresh)
    return module.code


def _star_provides(table: ImportTable, requirement: Requirement) -> bool:
    """A star import of the modern module already brings the name in (`from keras.layers import *`)."""
    from kerasfix import api

    for module in table.star_modules:
        if normalise_root(module) == requirement.module and api.knows(requirement.module, requirement.name):
            return True
    return False


def _place_in_released(requirement, statements, removed_from, replace, retarget) -> bool:
    """Put a new name where a released name of the same module stood (`merge` -> `concatenate`)."""
    for statement_id, aliases in removed_from.items():
        statement = statements[statement_id]
        raw, modern = module_of(statement)
        if modern != requirement.module:
            continue
        if normalise_root(raw) != modern and statement_id not in retarget:
            # a legacy module path: reuse the statement only if nothing else is left in it
            kept = [a for a in statement.names if id(a) not in replace or replace[id(a)]]
            if kept:
                continue
            root_style = style_of(raw)
            retarget[statement_id] = styled_module(modern, root_style)
        alias = aliases[0]
        if requirement.name not in replace[id(alias)]:
            replace[id(alias)].append(requirement.name)
        return True
    return False


def _modern_host(table: ImportTable, module: str, replace: dict) -> cst.ImportFrom | None:
    for statement in table.import_statements:
        if not isinstance(statement, cst.ImportFrom) or isinstance(statement.names, cst.ImportStar):
            continue
        raw, modern = module_of(statement)
        if modern == module and normalise_root(raw) == modern:
            if all(id(alias) in replace and not replace[id(alias)] for alias in statement.names):
                continue  # about to be emptied
            return statement
    return None


class _Rewriter(cst.CSTTransformer):
    def __init__(self, replace: dict, append: dict, retarget: dict) -> None:
        super().__init__()
        self.replace = replace
        self.append = append
        self.retarget = retarget

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom):
        key = id(original)
        touched = key in self.append or key in self.retarget or any(id(a) in self.replace for a in _aliases(original))
        if not touched:
            return updated
        names: list[cst.ImportAlias] = []
        seen: set[str] = set()
        for alias in _aliases(original):
            if id(alias) in self.replace:
                for name in self.replace[id(alias)]:
                    if name not in seen:
                        names.append(cst.ImportAlias(name=cst.Name(name), comma=alias.comma))
                        seen.add(name)
                continue
            names.append(alias)
            seen.add(_alias_local(alias))
        for name in self.append.get(key, []):
            if name not in seen:
                names.append(cst.ImportAlias(name=cst.Name(name)))
                seen.add(name)
        if not names:
            return cst.RemoveFromParent()
        last_comma = _aliases(original)[-1].comma
        fixed = []
        for position, alias in enumerate(names):
            if position == len(names) - 1:
                alias = alias.with_changes(comma=last_comma if updated.lpar else cst.MaybeSentinel.DEFAULT)
            elif alias.comma is cst.MaybeSentinel.DEFAULT:
                alias = alias.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            fixed.append(alias)
        changes = {"names": fixed}
        if key in self.retarget:
            changes["module"] = cst.parse_expression(self.retarget[key])
        return updated.with_changes(**changes)


def _aliases(statement: cst.ImportFrom) -> list[cst.ImportAlias]:
    return [] if isinstance(statement.names, cst.ImportStar) else list(statement.names)


def _alias_local(alias: cst.ImportAlias) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    return dotted(alias.name) or ""


def _insert_statements(module: cst.Module, table: ImportTable, fresh: dict[str, list[str]]) -> cst.Module:
    lines = [
        cst.parse_statement(f"from {spelled} import {', '.join(names)}", config=module.config_for_parsing)
        for spelled, names in fresh.items()
    ]
    body = list(module.body)
    anchor = _anchor_index(body)
    if anchor is None:
        # No import at the top level: after the docstring, else first.
        anchor = 0 if body and _is_docstring(body[0]) else -1
    return module.with_changes(body=body[: anchor + 1] + lines + body[anchor + 1 :])


def _anchor_index(body: list[cst.CSTNode]) -> int | None:
    keras_index = any_index = None
    for index, statement in enumerate(body):
        if isinstance(statement, cst.SimpleStatementLine) and statement.body and all(
            isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body
        ):
            any_index = index
            if any(normalise_root(raw) is not None for small in statement.body for raw in _statement_modules(small)):
                keras_index = index
    return keras_index if keras_index is not None else any_index


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )
