"""Parse once, run every enabled checker in one traversal, collect findings; apply fixes for `migrate`."""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Callable

import libcst as cst

from kerasfix import registry
from kerasfix.context import FileContext, ParseFailure, parse
from kerasfix.findings import Edit, FileError, Finding, Requirement
from kerasfix.imports import ImportEditor, _name_uses, fix_imports, import_edits, tidy_modules
from kerasfix import noqa
from kerasfix.checks.noqa import UNUSED_NOQA, unused_directives
from kerasfix.names import ImportTable
from kerasfix.positions import apply_edits, changed_span, changed_text, code_spans, edited_spans, page_free
from kerasfix.rule import Checker
from kerasfix.segments import is_large, parse_part, parts
from kerasfix.settings import Settings
from kerasfix.source import NEWLINE_RE, Source

# Names other modules and the tests reach through the engine (one import for the whole pipeline).
__all__ = [
    "FileContext", "FixResult", "ImportEditor", "ParseFailure", "Settings", "analyse_text", "apply_edits",
    "check_source", "code_spans", "fix_text", "import_edits", "page_free", "parse",
]

MAX_FIX_ROUNDS = 10


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


def may_match(text: str, settings: Settings) -> bool:
    """Cheap test: can any enabled checker find anything in this text? (kerasfix/prefilter.py)"""
    from kerasfix.prefilter import may_hold_findings

    return may_hold_findings(text, registry.tokens_for(settings.enabled))


def analyse_text(source: Source, text: str, settings: Settings, parser=None) -> list[Finding]:
    """All findings of the enabled rules in `text` (the source's text, possibly already edited).
    `parser` parses the text in place of `parse` (the language server's, which reuses the statements
    an edit did not touch: kerasfix/reparse.py)."""
    if not may_match(text, settings):
        return []
    if is_large(source, text):
        return analyse_parts(source, text, settings)
    ctx = _analyse_module(source, text, (parser or parse)(text), settings)
    return _to_findings(ctx)


def _analyse_module(
    source: Source, text: str, module: cst.Module, settings: Settings, inherited: ImportTable | None = None
) -> FileContext:
    ctx = FileContext(source, text, module, settings, inherited)
    checkers = [checker_type(ctx) for checker_type in registry.checkers_for(settings.enabled)]
    ctx._parents = {}
    _Dispatcher(checkers, ctx._parents).run(module)
    for checker in checkers:
        checker.finish()
    return ctx


def _to_findings(ctx: FileContext, rows_before: int = 0, offset: int = 0) -> list[Finding]:
    """The context's reports as findings. For one part of a large file, `rows_before` and `offset`
    are the lines and characters of the file before that part: rows and edits are the file's."""
    findings: list[Finding] = []
    view = Source(path=ctx.source.path, text=ctx.text, raw=b"", notebook=ctx.source.notebook)
    directives = noqa.scan(ctx.text)
    used: set[tuple[int, str]] = set()  # (id of a directive, code) that silenced a finding
    for report in ctx.reports:
        start, end = ctx.span(report.node)
        location, end_location = view.location(start), view.location(end)
        first_line, _ = view.position(start)
        last_line, _ = view.position(max(start, end - 1))
        silencer = directives.silencing(first_line, last_line, report.code) if directives.directives else None
        if silencer is not None:
            used.add((id(silencer), report.code.upper()))
            continue
        fix = report.fix
        if rows_before:
            location.row += rows_before
            end_location.row += rows_before
        if offset and fix is not None:
            fix = replace(fix, edits=[Edit(e.start + offset, e.end + offset, e.content) for e in fix.edits])
        findings.append(
            Finding(
                code=report.code,
                message=report.message,
                filename=ctx.source.display,
                location=location,
                end_location=end_location,
                fix=fix,
                source_line=view.line_text(first_line),
            )
        )
    if UNUSED_NOQA in ctx.settings.enabled and directives.directives:
        findings.extend(_unused_noqa(ctx, view, directives, used, rows_before, offset))
    findings.sort(key=Finding.sort_key)
    return findings


def _unused_noqa(ctx: FileContext, view: Source, directives: noqa.NoqaMap, used: set, rows_before: int, offset: int) -> list[Finding]:
    """KF901's findings: the directives' codes that silenced none of the reports above. A `# noqa` is
    honoured on any line of a finding's span (`lr=0.1,  # noqa: KF361` inside a multi-line call) or on
    the line it would be written on (after a multi-line string or a backslash continuation)."""
    found = []
    known = set(registry.codes())
    for directive, message, fix in unused_directives(directives, used, ctx.text, ctx.settings.enabled, known):
        if any(code.upper() == UNUSED_NOQA for code, _, _ in directive.codes):
            continue  # `# noqa: KF901` on the line: silenced, as any other finding
        location, end_location = view.location(directive.start), view.location(directive.end)
        location.row += rows_before
        end_location.row += rows_before
        if offset:
            fix = replace(fix, edits=[Edit(e.start + offset, e.end + offset, e.content) for e in fix.edits])
        found.append(Finding(UNUSED_NOQA, message, ctx.source.display, location, end_location, fix, source_line=view.line_text(directive.line)))
    return found


@dataclass
class FixResult:
    text: str
    applied: list[Finding] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)
    # fixes left out because a name they wrote did not mean what it was written for (an internal error)
    dropped: list[str] = field(default_factory=list)
    # a large file's parts before and after (kerasfix/segments.py), so each can be compiled on its own
    parts_before: list[str] | None = None
    parts_after: list[str] | None = None


class _Taken:
    """The spans of the fixes chosen so far in a round, sorted; they never overlap one another, so a
    new span needs comparing with its neighbours only (a file may have thousands of fixes)."""

    def __init__(self) -> None:
        self.spans: list[tuple[int, int]] = []

    def overlaps(self, start: int, end: int) -> bool:
        spans = self.spans
        index = bisect.bisect_left(spans, (start, -1))
        if index and spans[index - 1][1] > start:
            return True
        while index < len(spans) and (spans[index][0] < end or spans[index][0] == start):
            if spans[index][0] == start or start < spans[index][1]:
                return True
            index += 1
        return False

    def add(self, start: int, end: int) -> None:
        bisect.insort(self.spans, (start, end))


def _choose(findings: list[Finding], settings: Settings) -> list[Finding]:
    """The fixes to apply in one round: in order, each one that overlaps none chosen before it."""
    chosen: list[Finding] = []
    taken = _Taken()
    for finding in findings:
        fix = finding.fix
        if fix is None or not (fix.applicability == "safe" or settings.unsafe_fixes):
            continue
        if any(taken.overlaps(edit.start, edit.end) for edit in fix.edits):
            continue  # overlaps a fix already chosen; the next round will see it afresh
        chosen.append(finding)
        for edit in fix.edits:
            taken.add(edit.start, edit.end)
    return chosen


def apply_fixes(text: str, chosen: list[Finding]) -> tuple[str, list[Requirement], list[str]]:
    """`text` with the chosen fixes' edits applied, and the names they require and release."""
    requires = [requirement for finding in chosen for requirement in finding.fix.requires]
    releases = [name for finding in chosen for name in finding.fix.releases]
    return apply_edits(text, [edit for finding in chosen for edit in finding.fix.edits]), requires, releases


def _written_regions(chosen: list[Finding], edited: str, tidied: str) -> list[tuple[int, int, list]]:
    """For each chosen fix that writes Keras names, where its edits lie in the tidied text (the whole
    text when the import tidy changed lines among them), with the names it wrote."""
    edits = [edit for finding in chosen for edit in finding.fix.edits]
    spans = edited_spans(edits)
    low, high, content = changed_span(edited, tidied) if edited != tidied else (len(edited), len(edited), "")
    shift = len(content) - (high - low)
    regions: list[tuple[int, int, list]] = []
    position = 0
    for finding in chosen:
        count = len(finding.fix.edits)
        mine = spans[position : position + count]
        position += count
        if not finding.fix.writes:
            continue
        for start, end in mine:
            if end <= low:
                regions.append((start, end, finding.fix.writes))
            elif start >= high:
                regions.append((start + shift, end + shift, finding.fix.writes))
            else:
                regions.append((0, len(tidied), finding.fix.writes))
    return regions


def _fix_key(finding: Finding) -> tuple:
    """What identifies a fix from one round to the next (its offsets move, its content does not)."""
    return (finding.code, finding.source_line, tuple(edit.content for edit in finding.fix.edits))


@dataclass
class _Fixing:
    """What fixing one file gathers over its rounds, and over its parts when it is large."""

    settings: Settings
    applied: list[Finding] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # internal errors: fixes left out, and why
    refused: set = field(default_factory=set)  # fixes dropped once are not tried again in a later round
    asked: list[Requirement] = field(default_factory=list)  # a large file's imports, tidied at the end
    releases: list[str] = field(default_factory=list)


def _fix_rounds(source: Source, text: str, ctx: FileContext, fixing: _Fixing, rows_before: int = 0, table: ImportTable | None = None):
    """Fix `text` (a whole file, or one part of a large file whose earlier parts bound `table`) in
    rounds until no fix is left: nested calls may need several. Returns the text, its analysis and
    the findings left (rows of the whole file)."""
    findings = _to_findings(ctx, rows_before)
    for _ in range(MAX_FIX_ROUNDS):
        chosen = [finding for finding in _choose(findings, fixing.settings) if _fix_key(finding) not in fixing.refused]
        if not chosen:
            break
        text, fixed, chosen = _fix_round(source, text, chosen, fixing, rows_before, table)
        if fixed is None:
            break  # every fix of the round was dropped; what is left stays reported
        ctx = fixed
        fixing.applied.extend(chosen)
        findings = _to_findings(ctx, rows_before)
    return text, ctx, findings


def _fix_round(source: Source, text: str, chosen: list[Finding], fixing: _Fixing, rows_before: int, table: ImportTable | None):
    """Apply one round of fixes; tidy the imports (a whole file; a large file's parts are tidied
    together at the end, and until then the names asked for resolve as if imported); then read each
    name the fixes wrote in the fixed code, and redo the round without any fix whose name does not
    mean its Keras symbol there (reported in `fixing.dropped`). Returns the fixed text, its analysis
    (None when every fix was dropped) and the fixes applied."""
    from kerasfix.spelling import unresolved_writes

    settings = fixing.settings
    while True:
        edited, requires, releases = apply_fixes(text, chosen)
        if table is None:
            fixed = fix_imports(edited, requires, releases, settings.target) if requires or releases else edited
            ctx = _analyse_module(source, fixed, parse(fixed), settings)
        else:
            fixed = edited
            ctx = _analyse_module(source, fixed, parse_part(fixed, rows_before), settings, table.with_pending(fixing.asked + requires))
        regions = _written_regions(chosen, edited, fixed)
        problems = unresolved_writes(ctx, regions) if regions else []
        if not problems:
            if table is not None:
                fixing.asked.extend(requires)
                fixing.releases.extend(releases)
            return fixed, ctx, chosen
        owners = [finding for finding in chosen if finding.fix.writes for _ in finding.fix.edits]
        bad = {id(owners[index]) for index, _ in problems}
        for index, problem in problems:
            finding = owners[index]
            fixing.dropped.append(
                f"internal error: the {finding.code} fix at line {finding.location.row} was not applied: {problem}. "
                "Please report it with the file."
            )
        fixing.refused.update(_fix_key(finding) for finding in chosen if id(finding) in bad)
        chosen = [finding for finding in chosen if id(finding) not in bad]
        if not chosen:
            return text, None, chosen


def fix_text(source: Source, settings: Settings) -> FixResult:
    """Apply fixes until none is left (nested calls may need several rounds), tidying imports."""
    text = source.text
    if not may_match(text, settings):
        return FixResult(text=text)
    fixing = _Fixing(settings)
    if is_large(source, text):
        return fix_parts(source, fixing)
    ctx = _analyse_module(source, text, parse(text), settings)  # the prefilter passed
    text, _, findings = _fix_rounds(source, text, ctx, fixing)
    return FixResult(text=text, applied=fixing.applied, remaining=findings, dropped=fixing.dropped)


# --- large files, part by part (kerasfix/segments.py cuts them) -------------------------------------


def analyse_parts(source: Source, text: str, settings: Settings) -> list[Finding]:
    findings: list[Finding] = []
    table: ImportTable | None = None
    for part in parts(text):
        ctx = _analyse_module(source, part.text, part.module, settings, table)
        findings.extend(_to_findings(ctx, part.rows_before, part.start))
        table = ctx.imports
    findings.sort(key=Finding.sort_key)
    return findings


def fix_parts(source: Source, fixing: _Fixing) -> FixResult:
    """`fix_text` for a large file: each part's fixes in rounds (the same rounds as a whole file's),
    then one import tidy for the file."""
    settings = fixing.settings
    table = ImportTable()  # the imports of the parts fixed so far, as fixed
    before: list[str] = []
    texts: list[str] = []
    remaining: list[list[Finding]] = []  # per part: rows of the original file, edits in the part
    original_rows: list[int] = []
    kept: dict[int, tuple[cst.Module, ImportTable]] = {}  # parts holding import statements, and the first
    uses: Counter[str] = Counter()
    for index, part in enumerate(parts(source.text)):
        ctx = _analyse_module(source, part.text, part.module, settings, table.with_pending(fixing.asked))
        text, ctx, findings = _fix_rounds(source, part.text, ctx, fixing, part.rows_before, table)
        inherited = table.with_pending(fixing.asked)
        uses.update(_name_uses(ctx.module))
        if index == 0 or len(ctx.imports.import_statements) > len(inherited.import_statements):
            kept[index] = (ctx.module, inherited)
        table = ctx.imports
        before.append(part.text)
        texts.append(text)
        remaining.append(findings)
        original_rows.append(part.rows_before)
        del ctx, part

    if fixing.asked or fixing.releases:
        modules = {index: module for index, (module, _) in kept.items()}
        tidied = tidy_modules(modules, table, uses, fixing.asked, fixing.releases, settings.target)
        for index, module in tidied.items():
            # a module with nothing left generates one newline; the part had none of its own
            emptied = not (module.body or module.header or module.footer)
            texts[index] = "" if emptied else changed_text(texts[index], kept[index][0], module)
            ctx = _analyse_module(source, texts[index], parse_part(texts[index], original_rows[index]), settings, kept[index][1])
            remaining[index] = _to_findings(ctx, original_rows[index])

    found: list[Finding] = []
    offset = rows = 0
    for index, text in enumerate(texts):
        found.extend(_moved(finding, rows - original_rows[index], offset) for finding in remaining[index])
        offset += len(text)
        rows += len(NEWLINE_RE.findall(text))
    found.sort(key=Finding.sort_key)
    return FixResult(
        text="".join(texts), applied=fixing.applied, remaining=found, dropped=fixing.dropped, parts_before=before, parts_after=texts
    )


def _moved(finding: Finding, rows: int, offset: int) -> Finding:
    finding.location.row += rows
    finding.end_location.row += rows
    if offset and finding.fix is not None:
        finding.fix.edits = [Edit(edit.start + offset, edit.end + offset, edit.content) for edit in finding.fix.edits]
    return finding


def check_source(source: Source, settings: Settings, parser=None) -> tuple[list[Finding], FileError | None]:
    """Findings for one source, or the reason it could not be checked."""
    try:
        return analyse_text(source, source.text, settings, parser), None
    except ParseFailure as failure:
        return [], _parse_error(source, failure)


def _parse_error(source: Source, failure: ParseFailure) -> FileError:
    row, cell = failure.row, None
    if row is not None and source.notebook is not None:
        cell, row = source.notebook.cell_of(row)
    return FileError(source.display, str(failure), "parse", row, failure.column, cell)
