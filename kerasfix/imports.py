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


def _bare_names(module: cst.Module, found) -> None:
    """Call `found(name_node)` for each use of a bare name outside import statements (attribute names
    and keyword argument names are not uses), in one read-only walk."""
    from kerasfix.walk import walk

    inside_import = [0]

    def enter(node: cst.CSTNode, parent: cst.CSTNode | None) -> None:
        if type(node) in (cst.Import, cst.ImportFrom):
            inside_import[0] += 1
        elif type(node) is cst.Name and not inside_import[0]:
            if type(parent) is cst.Attribute and parent.attr is node:
                return
            if type(parent) is cst.Arg and parent.keyword is node:
                return
            found(node)

    def leave(node: cst.CSTNode) -> None:
        if type(node) in (cst.Import, cst.ImportFrom):
            inside_import[0] -= 1

    walk(module, enter, leave)


def _name_uses(module: cst.Module) -> Counter[str]:
    """How often each bare name is used outside import statements."""
    counts: Counter[str] = Counter()
    _bare_names(module, lambda node: counts.update((node.value,)))
    return counts


def name_offsets(module: cst.Module, spans: dict, names: set[str]) -> dict[str, list[int]]:
    """Where each of `names` is used as a bare name outside import statements (what `_name_uses`
    counts), as sorted start offsets; `spans` are the module's node spans."""
    found: dict[str, list[int]] = {name: [] for name in names}
    if names:
        _bare_names(module, lambda node: node.value in found and found[node.value].append(spans[node][0]))
    for offsets in found.values():
        offsets.sort()
    return found


def fix_imports(text: str, requires: list[Requirement], releases: list[str], target: str) -> str:
    module = cst.parse_module(text)
    tidied = tidy_modules({0: module}, ImportTable.scan(module), _name_uses(module), requires, releases, target)
    if not tidied:
        return text
    from kerasfix.engine import changed_text

    return changed_text(text, module, tidied[0])


def tidy_modules(
    modules: dict[int, cst.Module],
    table: ImportTable,
    uses: Counter[str],
    requires: list[Requirement],
    releases: list[str],
    target: str,
) -> dict[int, cst.Module]:
    """Import the names fixes require, once, and drop released names nothing uses any more.

    `modules` are the file (key 0), or the parts of a large file that hold import statements (the
    first part always among them); `table` and `uses` are the whole file's. Returns the modules changed.
    """
    style = file_style(table, target)
    bindings = {name: binding for name, binding in table.bindings.items() if not binding.pending}

    replace: dict[int, list[str]] = {}  # id(alias) -> names to put in its place ([] removes it)
    append: dict[int, list[str]] = {}  # id(statement) -> names to add at its end
    retarget: dict[int, str] = {}  # id(statement) -> new module spelling
    fresh: dict[str, list[str]] = {}  # module spelling -> names for a new statement
    statements: dict[int, cst.ImportFrom] = {}

    removed_from: dict[int, list[cst.ImportAlias]] = {}
    for name in dict.fromkeys(releases):
        binding = bindings.get(name)
        if binding is None or uses[name] or not isinstance(binding.statement, cst.ImportFrom):
            continue
        replace[id(binding.alias)] = []
        removed_from.setdefault(id(binding.statement), []).append(binding.alias)
        statements[id(binding.statement)] = binding.statement

    for requirement in dict.fromkeys(requires):
        binding = bindings.get(requirement.name)
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

    changed: dict[int, cst.Module] = {}
    if replace or append or retarget:
        for key, module in modules.items():
            rewriter = _Rewriter(replace, append, retarget)
            rewritten = module.visit(rewriter)
            if rewriter.touched:
                changed[key] = rewritten
    if fresh:
        key = _anchor_module(modules)
        changed[key] = _insert_statements(changed.get(key, modules[key]), fresh)
    return changed


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
        self.touched = False

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom):
        key = id(original)
        touched = key in self.append or key in self.retarget or any(id(a) in self.replace for a in _aliases(original))
        if not touched:
            return updated
        self.touched = True
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


def _anchor_module(modules: dict[int, cst.Module]) -> int:
    """Which module new import statements go in: the last with a top-level Keras import, else the
    last with any top-level import, else the first."""
    keras_key = any_key = None
    for key in sorted(modules):
        keras_index, any_index = _anchor_indices(list(modules[key].body))
        if keras_index is not None:
            keras_key = key
        if any_index is not None:
            any_key = key
    if keras_key is not None:
        return keras_key
    return any_key if any_key is not None else min(modules)


def _insert_statements(module: cst.Module, fresh: dict[str, list[str]]) -> cst.Module:
    from kerasfix.engine import page_free

    config = cst.PartialParserConfig(default_indent=page_free(module.default_indent), default_newline=module.default_newline)
    lines = [cst.parse_statement(f"from {spelled} import {', '.join(names)}", config=config) for spelled, names in fresh.items()]
    body = list(module.body)
    anchor = _anchor_index(body)
    if anchor is None:
        # No import at the top level: after the docstring, else first.
        anchor = 0 if body and _is_docstring(body[0]) else -1
    return module.with_changes(body=body[: anchor + 1] + lines + body[anchor + 1 :])


def _anchor_index(body: list[cst.CSTNode]) -> int | None:
    keras_index, any_index = _anchor_indices(body)
    return keras_index if keras_index is not None else any_index


def _anchor_indices(body: list[cst.CSTNode]) -> tuple[int | None, int | None]:
    """The index of the last top-level import statement of Keras, and of any module."""
    keras_index = any_index = None
    for index, statement in enumerate(body):
        if isinstance(statement, cst.SimpleStatementLine) and statement.body and all(
            isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body
        ):
            any_index = index
            if any(normalise_root(raw) is not None for small in statement.body for raw in _statement_modules(small)):
                keras_index = index
    return keras_index, any_index


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )
