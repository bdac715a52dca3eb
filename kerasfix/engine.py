"""Parse once, run every enabled checker in one traversal, collect findings; apply fixes for `migrate`."""

from __future__ import annotations

import bisect
import re
import textwrap
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Callable

import libcst as cst
from libcst.metadata import MetadataWrapper, ParentNodeProvider, PositionProvider

try:  # the code generation state LibCST's own position provider extends
    from libcst._nodes.internal import CodegenState
except ImportError:  # pragma: no cover - a LibCST that moved it: positions the documented way
    CodegenState = None  # type: ignore[assignment,misc]

from kerasfix import registry
from kerasfix.findings import Edit, FileError, Finding, Fix, Requirement
from kerasfix.names import ImportTable
from kerasfix.rule import Checker
from kerasfix.settings import Settings
from kerasfix.source import Source, line_starts

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

    def __init__(
        self, source: Source, text: str, module: cst.Module, settings: Settings, inherited: ImportTable | None = None
    ) -> None:
        self.source = source
        self.text = text  # the text parsed: the file's, or one part of a large file (kerasfix/segments.py)
        self.module = module
        self.settings = settings
        self.imports = ImportTable.scan(module, inherited)
        self.reports: list[_Report] = []
        self._spans: dict | None = None
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

    def spans(self) -> dict:
        """Each node's [start, end) offsets in the text (computed once per file, on first use)."""
        if self._spans is None:
            self._spans = code_spans(self.module, self.text)
        return self._spans

    def column(self, offset: int) -> int:
        """The column of a character offset (0-based, in characters; a form feed takes none)."""
        starts = _line_starts(self)
        line_start = starts[bisect.bisect_right(starts, offset) - 1]
        return offset - line_start - self.text.count("\x0c", line_start, offset)

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
                indents.append(page_free(self.module.default_indent if current.indent is None else current.indent))
            current = self.parent(current)
        return indents[::-1]

    @property
    def default_indent(self) -> str:
        """One level of the file's indentation, for new code."""
        return page_free(self.module.default_indent)

    def span(self, node: cst.CSTNode) -> tuple[int, int]:
        """Character offsets [start, end) of a node in the file's text."""
        return self.spans()[node]


def page_free(indent: str) -> str:
    """The indentation a line's leading whitespace makes: a form feed restarts the column count, and
    LibCST keeps one that starts a block's first line in the block's indent."""
    return indent.rsplit("\x0c", 1)[-1]


def code_spans(module: cst.Module, text: str | None = None) -> dict:
    """Every node's [start, end) character offsets in the module's code, with the bounds LibCST's
    `PositionProvider` gives (syntactic: without the whitespace a node owns but does not start or end
    with), from one code generation pass that counts characters instead of lines and columns.

    Resolving `PositionProvider` through a metadata wrapper walks the whole tree first and tracks lines
    and columns token by token; this costs about a third. tests/test_names.py checks the two agree.
    """
    if CodegenState is None:  # pragma: no cover
        starts = line_starts(module.code)
        ranges = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        return {
            node: (starts[r.start.line - 1] + r.start.column, starts[r.end.line - 1] + r.end.column)
            for node, r in ranges.items()
        }
    state = _SpanState(default_indent=module.default_indent, default_newline=module.default_newline)
    module._codegen(state)
    if text is not None and "".join(state.tokens) != text:
        # LibCST does not give back every character it parsed (a form feed that starts a statement's
        # line is dropped): offsets into its code are moved to the text line by line.
        return _moved_to(text, "".join(state.tokens), state.spans)
    return state.spans


def _moved_to(text: str, code: str, spans: dict) -> dict:
    where = CodeMap(text, code)
    return {node: (where(start), where(end, end=True)) for node, (start, end) in spans.items()}


_LEAD = " \t\x0c"  # what LibCST may redraw at the start of a line: indentation and form feeds


class CodeMap:
    """Offsets in the code LibCST generates for a module -> offsets in the text it parsed.

    The two have the same lines and differ only in how a line starts: LibCST leaves out a form feed
    that starts a statement's line, and draws every line of a block with the indentation of the
    block's first line (a form feed and all). Within a line, a column past the leading whitespace
    moves by the difference of the two leading whitespaces; a column inside it stays inside it.
    (A final CR, which LibCST also leaves out, is past every column.)"""

    def __init__(self, text: str, code: str) -> None:
        self.same = text == code
        self.text, self.code = text, code
        self.code_starts = line_starts(code)
        self.text_starts = line_starts(text)

    def __call__(self, offset: int, end: bool = False) -> int:
        """Where `offset` falls in the text. At the start of a line whose leading whitespace differs,
        an end stays before the text's whitespace and a start goes after it."""
        if self.same:
            return offset
        line = bisect.bisect_right(self.code_starts, offset) - 1
        if line >= len(self.text_starts):  # pragma: no cover - lines are never lost
            return len(self.text)
        column = offset - self.code_starts[line]
        code_lead = _lead(self.code, self.code_starts, line)
        text_lead = _lead(self.text, self.text_starts, line)
        if column > code_lead:
            moved = column + text_lead - code_lead
        elif column == code_lead:
            moved = 0 if end and column == 0 else text_lead
        else:
            moved = min(column, text_lead)
        line_end = self.text_starts[line + 1] if line + 1 < len(self.text_starts) else len(self.text)
        return min(self.text_starts[line] + moved, line_end)

    def text_line(self, line: int) -> str:
        return _line_of(self.text, self.text_starts, line)

    def code_line(self, line: int) -> str:
        return _line_of(self.code, self.code_starts, line)


def _line_of(whole: str, starts: list[int], line: int) -> str:
    return whole[starts[line] : starts[line + 1] if line + 1 < len(starts) else len(whole)]


def _lead(whole: str, starts: list[int], line: int) -> int:
    text = _line_of(whole, starts, line)
    return len(text) - len(text.lstrip(_LEAD))


def changed_text(text: str, before: cst.Module, after: cst.Module) -> str:
    """`text` (which `before` was parsed from) changed as `after` changes `before`, keeping what LibCST
    does not give back: the whole lines where the two generated codes differ are compared line by
    line; an unchanged line is the text's own, a changed line keeps the text's leading whitespace when
    its own is the old line's, and a new line drops form feeds from its leading whitespace."""
    import difflib

    old, new = before.code, after.code
    if old == text:
        return new
    where = CodeMap(text, old)
    start, end, _ = _changed_span(old, new)
    first = bisect.bisect_right(where.code_starts, start) - 1
    last = bisect.bisect_right(where.code_starts, max(start, end - 1)) - 1
    head, tail = where.code_starts[first], (where.code_starts[last + 1] if last + 1 < len(where.code_starts) else len(old))
    # (not str.splitlines, which also splits at form feeds)
    old_lines = _NEWLINE_SPLIT.findall(old[head:tail])
    new_lines = _NEWLINE_SPLIT.findall(new[head : len(new) - (len(old) - tail)])
    out: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_opcodes():
        if tag == "equal":
            out.extend(where.text_line(first + i) for i in range(i1, i2))
            continue
        for offset, line in enumerate(new_lines[j1:j2]):
            rest = line.lstrip(_LEAD)
            lead = line[: len(line) - len(rest)]
            if tag == "replace" and i1 + offset < i2:
                old_line = old_lines[i1 + offset]
                if old_line[: len(old_line) - len(old_line.lstrip(_LEAD))] == lead:
                    text_line = where.text_line(first + i1 + offset)
                    out.append(text_line[: len(text_line) - len(text_line.lstrip(_LEAD))] + rest)
                    continue
            out.append(lead.replace("\x0c", "") + rest)
    text_head = where.text_starts[first]
    text_tail = where.text_starts[last + 1] if last + 1 < len(where.text_starts) else len(text)
    ending = re.search(r"(\r\n?|\n)$", text[text_head:text_tail])
    if ending and out and not out[-1].endswith(("\r", "\n")):
        out[-1] += ending.group(1)  # the file's last newline, which LibCST leaves out when it is a CR
    return text[:text_head] + "".join(out) + text[text_tail:]


_NEWLINE_SPLIT = re.compile(r"[^\r\n]*(?:\r\n?|\n)|[^\r\n]+$")


@dataclass(frozen=False)
class _SpanState(CodegenState or object):  # type: ignore[misc]
    offset: int = 0
    spans: dict = field(default_factory=dict)
    stack: list = field(default_factory=list)

    def add_indent_tokens(self) -> None:
        self.tokens.extend(self.indent_tokens)
        for token in self.indent_tokens:
            self.offset += len(token)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        self.offset += len(value)

    def before_codegen(self, node: cst.CSTNode) -> None:
        self.stack.append(self.offset)

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self.stack.pop()
        if node not in self.spans:  # a syntactic position recorded inside it comes first
            self.spans[node] = (start, self.offset)

    @contextmanager
    def record_syntactic_position(self, node, *, start_node=None, end_node=None):
        start = self.offset
        try:
            yield
        finally:
            end = self.offset
            spans = self.spans
            self.spans[node] = (
                spans[start_node][0] if start_node is not None else start,
                spans[end_node][1] if end_node is not None else end,
            )


def _line_starts(ctx: FileContext) -> list[int]:
    starts = getattr(ctx, "_starts", None)
    if starts is None:
        starts = ctx._starts = line_starts(ctx.text)  # type: ignore[attr-defined]
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
    if _segmented(source, text):
        from kerasfix.segments import analyse_parts

        return analyse_parts(source, text, settings)
    ctx = _analyse_module(source, text, parse(text), settings)
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
    for report in ctx.reports:
        start, end = ctx.span(report.node)
        location, end_location = view.location(start), view.location(end)
        first_line, _ = view.position(start)
        last_line, _ = view.position(max(start, end - 1))
        if _silenced(view, first_line, last_line, report.code):
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
    findings.sort(key=Finding.sort_key)
    return findings


def import_edits(text: str, fix: Fix | None, target: str) -> list[Edit]:
    """The import changes `migrate` makes for this fix alone, as edits of the original text: the fix
    applied, the imports tidied, and the two texts compared. A parse of the file per fix; `ImportEditor`
    gives the same edits for all of a file's fixes with one parse."""
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
    start, end, content = _changed_span(edited, tidied)
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


def _changed_span(old: str, new: str) -> tuple[int, int, str]:
    """[start, end) of `old` and what replaces it to give `new`: the common prefix and suffix kept."""
    limit = min(len(old), len(new))
    low, high = 0, limit  # the common prefix's length, found by halving (slices compare in C)
    while low < high:
        middle = (low + high + 1) // 2
        if old[:middle] == new[:middle]:
            low = middle
        else:
            high = middle - 1
    prefix = low
    low, high = 0, limit - prefix
    while low < high:
        middle = (low + high + 1) // 2
        if old[len(old) - middle :] == new[len(new) - middle :]:
            low = middle
        else:
            high = middle - 1
    suffix = low
    return prefix, len(old) - suffix, new[prefix : len(new) - suffix]


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
        from kerasfix.imports import name_offsets

        self.text = source.text
        self.target = target
        self.large = _segmented(source, self.text)
        self.memo: dict[tuple, list[Edit]] = {}
        released = {name for fix in fixes for name in fix.releases}
        self.uses: dict[str, list[int]] = {name: [] for name in released}
        self.import_spans: list[tuple[int, int]] = []
        self.modules: dict[int, cst.Module] = {}  # key: start offset of the part (0 for a whole file)
        self.texts: dict[int, str] = {}
        self.table: ImportTable | None = None
        if self.large:
            from kerasfix.segments import parts

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
        from collections import Counter

        from kerasfix.imports import tidy_modules

        uses = Counter({name: int(used) for name, used in zip(releases, still_used)})
        changed = tidy_modules(self.modules, self.table, uses, requires, releases, self.target)
        edits = []
        for start, module in sorted(changed.items()):
            old, new = self.texts[start], changed_text(self.texts[start], self.modules[start], module)
            low, high, content = _changed_span(old, new)
            edits.append(Edit(start + low, start + high, content))
        return edits


def _bare_uses(code: str, name: str) -> int | None:
    """How often `code` (an expression or statements) uses `name` as a bare name; None if it does not
    parse on its own."""
    from kerasfix.imports import _name_uses

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
    # a large file's parts before and after (kerasfix/segments.py), so each can be compiled on its own
    parts_before: list[str] | None = None
    parts_after: list[str] | None = None


def _segmented(source: Source, text: str) -> bool:
    from kerasfix.segments import is_large

    return is_large(source, text)


def apply_edits(text: str, edits: list[Edit]) -> str:
    """`text` with non-overlapping edits applied, in one pass (a file may have thousands)."""
    parts: list[str] = []
    position = 0
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        parts.append(text[position : edit.start])
        parts.append(edit.content)
        position = max(position, edit.end)
    parts.append(text[position:])
    return "".join(parts)


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


def fix_text(source: Source, settings: Settings) -> FixResult:
    """Apply fixes until none is left (nested calls may need several rounds), then tidy imports."""
    from kerasfix.imports import fix_imports

    text = source.text
    if not may_match(text, settings):
        return FixResult(text=text)
    if _segmented(source, text):
        from kerasfix.segments import fix_parts

        return fix_parts(source, settings)
    applied: list[Finding] = []
    findings = _to_findings(_analyse_module(source, text, parse(text), settings))  # the prefilter passed
    for _ in range(MAX_FIX_ROUNDS):
        chosen = _choose(findings, settings)
        if not chosen:
            break
        text, requires, releases = apply_fixes(text, chosen)
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
