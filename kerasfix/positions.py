"""Offsets in a file's text: node spans from one LibCST code generation pass, LibCST's code mapped
back to the text it parsed, and edits applied to a text."""

from __future__ import annotations

import bisect
import re
from collections import OrderedDict
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

try:  # the code generation state LibCST's own position provider extends
    from libcst._nodes.internal import CodegenState
except ImportError:  # pragma: no cover - a LibCST that moved it: positions the documented way
    CodegenState = None  # type: ignore[assignment,misc]


from kerasfix.findings import Edit
from kerasfix.source import line_starts


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


@dataclass
class Layout:
    """Offsets of one module's parts in the text it was parsed from (kerasfix/reparse.py makes them)."""

    starts: list[int]  # where each statement of the body starts, then where the footer starts
    spans: dict = field(default_factory=dict)  # statement -> every node's span, from the statement's start


class _Recent:
    """The layouts of the modules parsed last (LibCST nodes take no weak references): a few per
    document is all an editor's next keystrokes need."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self.items: OrderedDict[int, tuple[cst.Module, Layout]] = OrderedDict()

    def get(self, module: cst.Module) -> Layout | None:
        found = self.items.get(id(module))
        return found[1] if found is not None and found[0] is module else None

    def __setitem__(self, module: cst.Module, layout: Layout) -> None:
        self.items[id(module)] = (module, layout)
        self.items.move_to_end(id(module))
        while len(self.items) > self.size:
            self.items.popitem(last=False)


_LAYOUTS = _Recent()


def layout_of(module: cst.Module) -> Layout | None:
    """The layout kerasfix/reparse.py made or measured lately for this module (None for any other)."""
    return _LAYOUTS.get(module)


def remember_layout(module: cst.Module, layout: Layout) -> None:
    _LAYOUTS[module] = layout


def forget_layout(module: cst.Module) -> None:
    """Let go of a module's layout (and the module): a document's previous parse, once superseded."""
    found = _LAYOUTS.items.get(id(module))
    if found is not None and found[0] is module:
        del _LAYOUTS.items[id(module)]


class StatementSpans:
    """The spans of `code_spans`, worked out one top-level statement at a time, for the statements
    asked about only: a file's findings and fixes need the positions of a few nodes, and generating
    the code of every statement to count characters costs more than parsing the file.

    Where each top-level statement's code starts in the text comes from Python's own parser (its
    first line, less the statement's leading blank and comment lines). A statement whose generated
    code is not the text at that place, and a text that LibCST does not give back as it is (form
    feeds, a final CR), or that Python's parser reads otherwise, get None: the caller then takes
    `code_spans` of the whole module, as before."""

    def __init__(self, module: cst.Module, text: str) -> None:
        self.module = module
        self.text = text
        self._starts: list[int] | None = None
        self._ready = False
        self._index: dict = {}  # top-level statement -> its index in the module's body
        self._layout = None  # kerasfix/reparse.py's Layout of the module, when it made it

    def _locate(self) -> None:
        """Each top-level statement's first line in the text, from `ast` (None when unknown)."""
        self._ready = True
        text, body = self.text, self.module.body
        if CodegenState is None or "\x0c" in text or text.endswith("\r") or not body:
            return
        self._layout = layout_of(self.module)
        if self._layout is not None:  # a module made by kerasfix/reparse.py knows where its statements start
            self._starts = self._layout.starts[:-1]
            self._index = {statement: index for index, statement in enumerate(body)}
            return
        import ast
        import warnings

        try:
            with warnings.catch_warnings():  # what Python would warn about is not ours to say here
                warnings.simplefilter("ignore")
                tree = ast.parse(text)
        except Exception:  # noqa: BLE001 - Python cannot read it as LibCST did: count the whole module
            return
        firsts: list[int] = []
        statements = tree.body
        position = 0
        for statement in body:
            count = len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
            if position + count > len(statements) or count == 0:
                return
            first = statements[position]
            decorators = getattr(first, "decorator_list", None)
            firsts.append(decorators[0].lineno if decorators else first.lineno)
            position += count
        if position != len(statements):
            return
        starts = line_starts(text)
        located: list[int] = []
        for statement, line in zip(body, firsts):
            line -= len(statement.leading_lines)
            if not 1 <= line <= len(starts):
                return
            located.append(starts[line - 1])
        self._starts = located
        self._index = {statement: index for index, statement in enumerate(body)}

    def of(self, statement: cst.CSTNode) -> dict | None:
        """The spans of every node in a top-level statement (in the text), or None when they cannot
        be told apart from the whole module's."""
        if not self._ready:
            self._locate()
        if self._starts is None:
            return None
        index = self._index.get(statement)
        if index is None:
            return None
        start = self._starts[index]
        layout = self._layout
        if layout is not None:
            known = layout.spans.get(statement)
            if known is not None:  # the same statement, kept from the text parsed before an edit
                return known if start == 0 else {node: (low + start, high + start) for node, (low, high) in known.items()}
        module = self.module
        state = _SpanState(default_indent=module.default_indent, default_newline=module.default_newline)
        statement._codegen(state)
        code = "".join(state.tokens)
        text = self.text
        if not text.startswith(code, start):
            # the last statement of a file without a final newline: the module drops its newline
            rest = text[start:]
            last = index == len(module.body) - 1 and not module.footer and not module.has_trailing_newline
            if not (last and code.startswith(rest) and code[len(rest):] in ("\n", "\r\n")):
                return None
        if layout is not None:
            layout.spans[statement] = state.spans
        if start == 0:
            return state.spans
        return {node: (low + start, high + start) for node, (low, high) in state.spans.items()}


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
    start, end, _ = changed_span(old, new)
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

    def record_syntactic_position(self, node, *, start_node=None, end_node=None):
        return _Syntactic(self, node, start_node, end_node)


class _Syntactic:
    """`_SpanState.record_syntactic_position`: a node's span from where its code starts to where it
    ends (or from its `start_node` to its `end_node`). A class rather than a generator: LibCST enters
    one for most nodes it generates, and a generator-based context manager costs several times more."""

    __slots__ = ("state", "node", "start_node", "end_node", "start")

    def __init__(self, state: _SpanState, node, start_node, end_node) -> None:
        self.state, self.node, self.start_node, self.end_node = state, node, start_node, end_node

    def __enter__(self) -> None:
        self.start = self.state.offset

    def __exit__(self, *_exc) -> None:
        state = self.state
        spans = state.spans
        spans[self.node] = (
            spans[self.start_node][0] if self.start_node is not None else self.start,
            spans[self.end_node][1] if self.end_node is not None else state.offset,
        )


def changed_span(old: str, new: str) -> tuple[int, int, str]:
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


def edited_spans(edits: list[Edit]) -> list[tuple[int, int]]:
    """Where each edit's new content lies in the text once all (non-overlapping) edits are applied."""
    order = sorted(range(len(edits)), key=lambda i: (edits[i].start, edits[i].end))
    spans: list[tuple[int, int]] = [(0, 0)] * len(edits)
    shift = 0
    for index in order:
        edit = edits[index]
        start = edit.start + shift
        spans[index] = (start, start + len(edit.content))
        shift += len(edit.content) - (edit.end - edit.start)
    return spans
