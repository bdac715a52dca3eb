"""Parse once, run every enabled checker in one traversal, collect findings; apply fixes for `migrate`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import libcst as cst
from libcst.metadata import MetadataWrapper, ParentNodeProvider, PositionProvider

from kerasfix import registry
from kerasfix.findings import Edit, FileError, Finding, Fix, Requirement
from kerasfix.names import ImportTable
from kerasfix.rule import Checker
from kerasfix.settings import Settings
from kerasfix.source import Source

_NOQA_RE = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)
MAX_FIX_ROUNDS = 10


@dataclass
class _Report:
    node: cst.CSTNode
    code: str
    message: str
    fix: Fix | None


class FileContext:
    """What checkers see of the file being checked."""

    def __init__(self, source: Source, text: str, module: cst.Module, settings: Settings) -> None:
        self.source = source
        self.text = text
        self.module = module
        self.settings = settings
        self.imports = ImportTable.scan(module)
        self.reports: list[_Report] = []
        self._positions = None
        self._parents: dict | None = None  # filled by the traversal (_Dispatcher)
        self._traversed = False  # True once every node's parent is known (a full resolution)

    @property
    def target(self) -> str:
        return self.settings.target

    def enabled(self, code: str) -> bool:
        return code in self.settings.enabled

    def report(self, node: cst.CSTNode, code: str, message: str, fix: Fix | None = None) -> None:
        if code in self.settings.enabled:
            self.reports.append(_Report(node, code, message, fix))

    def qualified(self, node: cst.BaseExpression) -> str | None:
        return self.imports.qualified(node)

    def code_for(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def positions(self):
        if self._positions is None:
            self._positions = code_ranges(self.module)
        return self._positions

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        # The traversal records each node's parent as it enters it, so asking about the node being
        # visited, or any ancestor, costs nothing. A node the walk has not reached (trivia, or a node
        # not visited yet) costs one full resolution per file.
        if self._parents is None:
            self._parents = dict(self._all_parents())
            self._traversed = True
        found = self._parents.get(node)
        if found is None and node is not self.module and not self._traversed:
            self._parents = dict(self._all_parents())
            self._traversed = True
            return self._parents.get(node)
        return found

    def _all_parents(self):
        wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
        return wrapper.resolve(ParentNodeProvider)

    def indentation(self, node: cst.CSTNode) -> list[str]:
        """The indents of the blocks enclosing `node`, outermost first (what its continuation lines sit on)."""
        indents: list[str] = []
        current = self.parent(node)
        while current is not None:
            if isinstance(current, cst.IndentedBlock):
                indents.append(self.module.default_indent if current.indent is None else current.indent)
            current = self.parent(current)
        return indents[::-1]

    def span(self, node: cst.CSTNode) -> tuple[int, int]:
        """Character offsets [start, end) of a node in the file's text."""
        code_range = self.positions()[node]
        start = self.source_offset(code_range.start.line, code_range.start.column)
        end = self.source_offset(code_range.end.line, code_range.end.column)
        return start, end

    def source_offset(self, line: int, column: int) -> int:
        return _line_starts(self)[line - 1] + column


def code_ranges(module: cst.Module) -> dict:
    """Every node's code range, as `PositionProvider` gives it, from its code generation pass alone.

    Resolving it through a metadata wrapper first walks the whole tree (rebuilding every node), which
    costs more than the positions themselves; tests/test_names.py checks the two agree.
    """
    provider = PositionProvider()
    try:
        provider._gen_impl(module)
    except AttributeError:  # pragma: no cover - a LibCST that works otherwise: the documented way
        return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return provider._computed


def _line_starts(ctx: FileContext) -> list[int]:
    starts = getattr(ctx, "_starts", None)
    if starts is None:
        starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", ctx.text)]
        ctx._starts = starts  # type: ignore[attr-defined]
    return starts


class _Dispatcher:
    """Calls every checker's `visit_X`/`leave_X` for each node: one traversal for all rules, which
    records each node's parent on the way (kerasfix/walk.py: a read-only walk, in source order)."""

    def __init__(self, checkers: list[Checker], parents: dict | None = None) -> None:
        self.parents = parents if parents is not None else {}
        self.visits: dict[type, list[Callable]] = {}
        self.leaves: dict[type, list[Callable]] = {}
        for checker in checkers:
            for attribute in dir(type(checker)):
                if attribute.startswith("visit_") or attribute.startswith("leave_"):
                    node_type = getattr(cst, attribute[6:], None)
                    if node_type is None:
                        continue
                    table = self.visits if attribute.startswith("visit_") else self.leaves
                    table.setdefault(node_type, []).append(getattr(checker, attribute))

    def run(self, module: cst.Module) -> None:
        from kerasfix.walk import walk

        parents, visits, leaves = self.parents, self.visits, self.leaves

        def enter(node: cst.CSTNode, parent: cst.CSTNode | None) -> None:
            if parent is not None:
                parents[node] = parent
            for handler in visits.get(type(node), ()):
                handler(node)

        def leave(node: cst.CSTNode) -> None:
            for handler in leaves.get(type(node), ()):
                handler(node)

        walk(module, enter, leave if leaves else None)


class ParseFailure(Exception):
    def __init__(self, message: str, row: int | None, column: int | None) -> None:
        super().__init__(message)
        self.row = row
        self.column = column


def parse(text: str) -> cst.Module:
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        # Python's own parser names the place and the problem more precisely; ask it first.
        try:
            compile(text, "<source>", "exec", dont_inherit=True, flags=0x400)  # PyCF_ONLY_AST
        except SyntaxError as python_error:
            raise ParseFailure(
                f"syntax error: {python_error.msg}", python_error.lineno, python_error.offset
            ) from None
        except (ValueError, RecursionError, MemoryError):
            pass
        raise ParseFailure(
            f"syntax error: {error.message} (Python accepts this file, but kerasfix's parser does not)",
            error.raw_line,
            error.raw_column + 1,
        ) from None
    except RecursionError:
        raise ParseFailure("syntax error: the code is nested too deeply to parse", None, None) from None


def may_match(text: str, settings: Settings) -> bool:
    """Cheap test: can any enabled checker find anything in this text? (kerasfix/prefilter.py)"""
    from kerasfix.prefilter import may_hold_findings

    return may_hold_findings(text, registry.tokens_for(settings.enabled))


def analyse_text(source: Source, text: str, settings: Settings) -> list[Finding]:
    """All findings of the enabled rules in `text` (the source's text, possibly already edited)."""
    if not may_match(text, settings):
        return []
    module = parse(text)
    ctx = FileContext(source, text, module, settings)
    checkers = [checker_type(ctx) for checker_type in registry.checkers_for(settings.enabled)]
    ctx._parents = {}
    _Dispatcher(checkers, ctx._parents).run(module)
    for checker in checkers:
        checker.finish()
    return _to_findings(ctx)


def _to_findings(ctx: FileContext) -> list[Finding]:
    findings: list[Finding] = []
    view = Source(path=ctx.source.path, text=ctx.text, raw=b"", notebook=ctx.source.notebook)
    for report in ctx.reports:
        start, end = ctx.span(report.node)
        location, end_location = view.location(start), view.location(end)
        first_line, _ = view.position(start)
        last_line, _ = view.position(max(start, end - 1))
        if _silenced(view, first_line, last_line, report.code):
            continue
        findings.append(
            Finding(
                code=report.code,
                message=report.message,
                filename=ctx.source.display,
                location=location,
                end_location=end_location,
                fix=report.fix,
                source_line=view.line_text(first_line),
            )
        )
    findings.sort(key=Finding.sort_key)
    return findings


def import_edits(text: str, fix: Fix | None, target: str) -> list[Edit]:
    """The import changes `migrate` makes for this fix alone, as edits of the original text.

    Computed only for JSON output: it costs a parse per fix.
    """
    if fix is None or not (fix.requires or fix.releases):
        return []
    from kerasfix.imports import fix_imports

    edited = apply_edits(text, fix.edits)
    try:
        tidied = fix_imports(edited, fix.requires, fix.releases, target)
    except cst.ParserSyntaxError:
        return []
    if tidied == edited:
        return []
    limit = min(len(edited), len(tidied))
    prefix = 0
    while prefix < limit and edited[prefix] == tidied[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and edited[-1 - suffix] == tidied[-1 - suffix]:
        suffix += 1
    start, end, content = prefix, len(edited) - suffix, tidied[prefix : len(tidied) - suffix]
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


def _silenced(view: Source, first_line: int, last_line: int, code: str) -> bool:
    for line in {first_line, last_line}:
        match = _NOQA_RE.search(view.line_text(line))
        if match is None:
            continue
        codes = match.group("codes")
        if codes is None:
            return True
        if code.upper() in {c.upper() for c in re.split(r"[,\s]+", codes) if c}:
            return True
    return False


@dataclass
class FixResult:
    text: str
    applied: list[Finding] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)


def apply_edits(text: str, edits: list[Edit]) -> str:
    for edit in sorted(edits, key=lambda e: (e.start, e.end), reverse=True):
        text = text[: edit.start] + edit.content + text[edit.end :]
    return text


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return (a[0] < b[1] and b[0] < a[1]) or a[0] == b[0]


def fix_text(source: Source, settings: Settings) -> FixResult:
    """Apply fixes until none is left (nested calls may need several rounds), then tidy imports."""
    from kerasfix.imports import fix_imports

    text = source.text
    applied: list[Finding] = []
    findings = analyse_text(source, text, settings)
    for _ in range(MAX_FIX_ROUNDS):
        fixable = [f for f in findings if f.fix is not None and (f.fix.applicability == "safe" or settings.unsafe_fixes)]
        if not fixable:
            break
        chosen: list[Finding] = []
        taken: list[tuple[int, int]] = []
        for finding in fixable:
            spans = [(e.start, e.end) for e in finding.fix.edits]
            if any(_overlaps(span, other) for span in spans for other in taken):
                continue  # overlaps a fix already chosen; the next round will see it afresh
            chosen.append(finding)
            taken.extend(spans)
        edits = [edit for finding in chosen for edit in finding.fix.edits]
        requires: list[Requirement] = [r for f in chosen for r in f.fix.requires]
        releases: list[str] = [name for f in chosen for name in f.fix.releases]
        text = apply_edits(text, edits)
        if requires or releases:
            text = fix_imports(text, requires, releases, settings.target)
        applied.extend(chosen)
        findings = analyse_text(source, text, settings)
    return FixResult(text=text, applied=applied, remaining=findings)


def check_source(source: Source, settings: Settings) -> tuple[list[Finding], FileError | None]:
    """Findings for one source, or the reason it could not be checked."""
    try:
        return analyse_text(source, source.text, settings), None
    except ParseFailure as failure:
        return [], _parse_error(source, failure)


def _parse_error(source: Source, failure: ParseFailure) -> FileError:
    row, cell = failure.row, None
    if row is not None and source.notebook is not None:
        cell, row = source.notebook.cell_of(row)
    return FileError(source.display, str(failure), "parse", row, failure.column, cell)
