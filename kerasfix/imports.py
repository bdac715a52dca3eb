"""Import editing: after fixes, import the names the new code needs, once, and drop the legacy names
left unused; and each fix's own import edits, for JSON output (`ImportEditor`)."""

from __future__ import annotations

import bisect
import re
import textwrap
from collections import Counter

import libcst as cst

from kerasfix.context import parse
from kerasfix.findings import Edit, Fix, Requirement
from kerasfix.names import ImportTable, canonical, dotted, normalise_root, style_of, styled_module, writable
from kerasfix.positions import apply_edits, changed_span, changed_text, code_spans, page_free
from kerasfix.segments import is_large, parts
from kerasfix.source import Source


def file_style(table: ImportTable, target: str) -> str:
    """`tf.keras` or `keras`: the style the file's own Keras imports use, else the target's (`keras`
    for the portable target, whatever the file uses: its code is to run without TensorFlow)."""
    if target == "portable":
        return "keras"
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

    whole_modules: list[str] = []  # statements importing a module itself
    # A name joining an import statement above another library's star import could be shadowed by it:
    # such statements take no new names (kerasfix/spelling.py asks for aliases there, in a new statement
    # that _anchor_indices puts after the star).
    foreign_stars = [
        index for index, statement in enumerate(table.import_statements)
        if isinstance(statement, cst.ImportFrom) and isinstance(statement.names, cst.ImportStar)
        and canonical((module_of(statement)[0] or "") + "._") is None
    ]
    shadowed = {id(statement) for statement in table.import_statements[: max(foreign_stars) if foreign_stars else 0]}
    for requirement in dict.fromkeys(requires):
        binding = bindings.get(requirement.local)
        wanted = canonical(requirement.symbol)
        if binding is not None and canonical(binding.raw) == wanted and id(binding.alias) not in replace:
            continue
        if binding is not None and id(binding.alias) not in replace:
            continue  # the name means something else here (kerasfix/spelling.py never asks for it)
        if requirement.local in table.local_names or _star_provides(table, requirement):
            continue
        if requirement.name is None:
            statement = _module_import(requirement.module, style)
            if statement not in whole_modules:
                whole_modules.append(statement)
            continue
        entry = requirement.name if requirement.asname is None else f"{requirement.name} as {requirement.asname}"
        if _place_in_released(requirement, entry, statements, removed_from, replace, retarget, shadowed):
            continue
        host = _modern_host(table, requirement.module, replace, style)
        if host is not None and id(host) not in shadowed:
            append.setdefault(id(host), []).append(entry)
            statements[id(host)] = host
            continue
        spelled = styled_module(requirement.module, style)
        names = fresh.setdefault(spelled, [])
        if entry not in names:
            names.append(entry)

    changed: dict[int, cst.Module] = {}
    if replace or append or retarget:
        for key, module in modules.items():
            rewriter = _Rewriter(replace, append, retarget)
            rewritten = module.visit(rewriter)
            if rewriter.touched:
                changed[key] = rewritten
    if fresh or whole_modules:
        key = _anchor_module(modules)
        lines = [f"from {spelled} import {', '.join(names)}" for spelled, names in fresh.items()]
        changed[key] = _insert_statements(changed.get(key, modules[key]), whole_modules + lines)
    return changed


def _module_import(module: str, style: str) -> str:
    """The statement binding a Keras module under its last name: `import keras`, or in tf.keras
    style `from tensorflow import keras`; `from keras import ops` for a submodule."""
    if module == "keras":
        return "from tensorflow import keras" if style == "tf.keras" else "import keras"
    parent, last = module.rsplit(".", 1)
    return f"from {styled_module(parent, style)} import {last}"


def _star_provides(table: ImportTable, requirement: Requirement) -> bool:
    """A star import of the modern module already brings the name in (`from keras.layers import *`)."""
    from kerasfix import api

    if requirement.name is None or requirement.asname is not None:
        return False
    for module in table.star_modules:
        if normalise_root(module) == requirement.module and api.knows(requirement.module, requirement.name):
            return True
    return False


def _place_in_released(requirement, entry: str, statements, removed_from, replace, retarget, shadowed=frozenset()) -> bool:
    """Put a new name where a released name of the same module stood (`merge` -> `concatenate`)."""
    for statement_id, aliases in removed_from.items():
        if statement_id in shadowed:
            continue
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
        if entry not in replace[id(alias)]:
            replace[id(alias)].append(entry)
        return True
    return False


def _modern_host(table: ImportTable, module: str, replace: dict, style: str) -> cst.ImportFrom | None:
    """The from-import of `module` a new name can join; for the portable target (style `keras`, whatever
    the file uses) not one spelled through TensorFlow."""
    for statement in table.import_statements:
        if not isinstance(statement, cst.ImportFrom) or isinstance(statement.names, cst.ImportStar):
            continue
        raw, modern = module_of(statement)
        if modern == module and normalise_root(raw) == modern and writable(raw) and (style == "tf.keras" or style_of(raw) == style):
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
                for entry in self.replace[id(alias)]:
                    new = _new_alias(entry)
                    if _alias_local(new) not in seen:
                        names.append(new.with_changes(comma=alias.comma))
                        seen.add(_alias_local(new))
                continue
            names.append(alias)
            seen.add(_alias_local(alias))
        for entry in self.append.get(key, []):
            new = _new_alias(entry)
            if _alias_local(new) not in seen:
                names.append(new)
                seen.add(_alias_local(new))
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


def _new_alias(entry: str) -> cst.ImportAlias:
    """`concatenate` or `concatenate as keras_concatenate` as an import alias."""
    name, _, asname = entry.partition(" as ")
    return cst.ImportAlias(name=cst.Name(name), asname=cst.AsName(name=cst.Name(asname)) if asname else None)


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


def _insert_statements(module: cst.Module, statements: list[str]) -> cst.Module:
    config = cst.PartialParserConfig(default_indent=page_free(module.default_indent), default_newline=module.default_newline)
    lines = [cst.parse_statement(statement, config=config) for statement in statements]
    body = list(module.body)
    anchor = _anchor_index(body)
    if anchor is None:
        # No import at the top level: after the docstring, else first.
        anchor = 0 if body and _is_docstring(body[0]) else -1
    return module.with_changes(body=body[: anchor + 1] + lines + body[anchor + 1 :])


def _anchor_index(body: list[cst.CSTNode]) -> int | None:
    keras_index, any_index = _anchor_indices(body)
    return keras_index if keras_index is not None else any_index


def _holds_star_import(statement: cst.CSTNode) -> bool:
    """A top-level statement line holding `from x import *`."""
    return isinstance(statement, cst.SimpleStatementLine) and any(
        isinstance(small, cst.ImportFrom) and isinstance(small.names, cst.ImportStar) for small in statement.body
    )


def star_statement_indices(body: list[cst.CSTNode]) -> list[int]:
    """Where in a module's body the statements holding star imports are."""
    return [index for index, statement in enumerate(body) if _holds_star_import(statement)]


def _anchor_indices(body: list[cst.CSTNode]) -> tuple[int | None, int | None]:
    """The index of the last top-level import statement of Keras, and of any module. A star import after
    the last Keras import counts as the Keras anchor: an import written before it could be shadowed by it."""
    keras_index = any_index = star_index = None
    for index, statement in enumerate(body):
        if isinstance(statement, cst.SimpleStatementLine) and statement.body and all(
            isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body
        ):
            any_index = index
            if any(normalise_root(raw) is not None for small in statement.body for raw in _statement_modules(small)):
                keras_index = index
            if _holds_star_import(statement):
                star_index = index
    if keras_index is not None and star_index is not None and star_index > keras_index:
        keras_index = star_index
    return keras_index, any_index


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def import_edits(text: str, fix: Fix | None, target: str) -> list[Edit]:
    """The import changes `migrate` makes for this fix alone, as edits of the original text: the fix
    applied, the imports tidied, and the two texts compared. A parse of the file per fix; `ImportEditor`
    gives the same edits for all of a file's fixes with one parse."""
    if fix is None or not (fix.requires or fix.releases):
        return []
    edited = apply_edits(text, fix.edits)
    try:
        tidied = fix_imports(edited, fix.requires, fix.releases, target)
    except cst.ParserSyntaxError:
        return []
    if tidied == edited:
        return []
    start, end, content = changed_span(edited, tidied)
    shift = 0  # [start, end) is in `edited`; the original differs from it only inside fix.edits
    for edit in sorted(fix.edits, key=lambda e: e.start):
        edited_start = edit.start + shift
        edited_end = edited_start + len(edit.content)
        if end <= edited_start:
            break
        if start >= edited_end:
            shift += len(edit.content) - (edit.end - edit.start)
            continue
        return []  # the import change runs into the fix's own edit; they cannot be told apart
    return [Edit(start - shift, end - shift, content)]


_WORD_RE = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


class ImportEditor:
    """`import_edits` for every fix of one file, at the cost of one parse of the file (part by part for
    a large one) and one import tidy per distinct set of names fixes require and release.

    A fix's import edits depend on the file's imports, which fixes away from them do not change, and on
    whether each name the fix releases is still used once the fix is applied: the file's uses of it,
    less those inside the fix's edits, plus those in the new code (counted as words there, which may
    overcount and so keep an import, never drop a used one). A fix that edits an import statement
    itself is computed the direct way (for a large file: none is given).
    """

    def __init__(self, source: Source, fixes: list[Fix], target: str) -> None:
        self.text = source.text
        self.target = target
        self.large = is_large(source, self.text)
        self.memo: dict[tuple, list[Edit]] = {}
        released = {name for fix in fixes for name in fix.releases}
        self.uses: dict[str, list[int]] = {name: [] for name in released}
        self.import_spans: list[tuple[int, int]] = []
        self.modules: dict[int, cst.Module] = {}  # key: start offset of the part (0 for a whole file)
        self.texts: dict[int, str] = {}
        self.table: ImportTable | None = None
        if self.large:
            pieces = parts(self.text)
        else:
            pieces = iter([(0, self.text, parse(self.text))])
        for piece in pieces:
            start, text, module = (piece.start, piece.text, piece.module) if self.large else piece
            before = len(self.table.import_statements) if self.table is not None else 0
            self.table = ImportTable.scan(module, self.table)
            spans = code_spans(module, text)
            for statement in self.table.import_statements[before:]:
                low, high = spans[statement]
                self.import_spans.append((start + low, start + high))
            for name, offsets in name_offsets(module, spans, released).items():
                self.uses[name].extend(start + offset for offset in offsets)
            if start == 0 or len(self.table.import_statements) > before:
                self.modules[start] = module
                self.texts[start] = text
        self.import_spans.sort()

    def edits_for(self, fix: Fix | None) -> list[Edit]:
        if fix is None or not (fix.requires or fix.releases):
            return []
        if any(_meets(edit.start, edit.end, self.import_spans) for edit in fix.edits):
            return [] if self.large else import_edits(self.text, fix, self.target)
        releases = list(dict.fromkeys(fix.releases))
        still_used = tuple(self._still_used(name, fix) for name in releases)
        if None in still_used:  # the new code could not be read alone to count its names
            if not self.large:
                return import_edits(self.text, fix, self.target)
            still_used = tuple(True if used is None else used for used in still_used)  # keep the import
        key = (tuple(fix.requires), tuple(releases), still_used)
        if key not in self.memo:
            self.memo[key] = self._tidy(list(fix.requires), releases, still_used)
        edits = self.memo[key]
        for edit in edits:
            if any(own.start < edit.end and edit.start < own.end for own in fix.edits):
                return []  # the import change runs into the fix's own edit (as `import_edits` says)
        return edits

    def _still_used(self, name: str, fix: Fix) -> bool | None:
        """Whether `name` is used once the fix alone is applied; None when the fix's new code uses
        the word and cannot be parsed on its own to tell a use from a string or an attribute."""
        offsets = self.uses[name]
        count = len(offsets)
        for edit in fix.edits:
            count -= bisect.bisect_left(offsets, edit.end) - bisect.bisect_left(offsets, edit.start)
            if name in _WORD_RE.findall(edit.content):
                added = _bare_uses(edit.content, name)
                if added is None:
                    return None
                count += added
        return count > 0

    def _tidy(self, requires: list[Requirement], releases: list[str], still_used: tuple[bool, ...]) -> list[Edit]:
        uses = Counter({name: int(used) for name, used in zip(releases, still_used)})
        changed = tidy_modules(self.modules, self.table, uses, requires, releases, self.target)
        edits = []
        for start, module in sorted(changed.items()):
            old, new = self.texts[start], changed_text(self.texts[start], self.modules[start], module)
            low, high, content = changed_span(old, new)
            edits.append(Edit(start + low, start + high, content))
        return edits


def _bare_uses(code: str, name: str) -> int | None:
    """How often `code` (an expression or statements) uses `name` as a bare name; None if it does not
    parse on its own."""
    for candidate in (code, f"(\n{code}\n)"):
        try:
            return _name_uses(cst.parse_module(textwrap.dedent(candidate)))[name]
        except (cst.ParserSyntaxError, RecursionError):
            continue
    return None


def _meets(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    """[start, end) overlaps or touches one of the sorted, disjoint spans."""
    index = bisect.bisect_right(spans, (end, float("inf")))
    return index > 0 and spans[index - 1][1] >= start
