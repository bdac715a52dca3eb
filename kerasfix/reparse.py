"""Parsing a document again after an edit, keeping the top-level statements the edit did not touch.

The language server analyses a document on every keystroke, and parsing the whole file is the
largest single cost of an analysis. An edit changes one place: the statements around it are parsed
again, alone, and spliced between the statements before and after it, which are the previous tree's
own nodes (their code is the same text at a moved offset). Where the result could differ from a
parse of the whole text in any way (the change touches the file's first lines, its header or footer,
the indentation or newline style the module infers, or how comment lines after a block are owned),
the whole text is parsed instead.

Each module parsed here keeps its `Layout`: where each top-level statement starts in its text (its
leading lines included) and the spans of the statements worked out so far, relative to each
statement, which the next module carries over for the statements it keeps (kerasfix/positions.py,
`StatementSpans`, uses both instead of working them out again).
"""

from __future__ import annotations

import bisect

import libcst as cst

try:
    from libcst._nodes.internal import CodegenState
except ImportError:  # pragma: no cover - a LibCST that moved it: whole parses only
    CodegenState = None  # type: ignore[assignment,misc]

from kerasfix.positions import Layout, changed_span, forget_layout, layout_of, remember_layout


def _measure(module: cst.Module, text: str) -> Layout | None:
    """The layout of `module` in `text`, from one generation of its code; None when the code is not
    the text (LibCST does not give back a form feed, a final CR)."""
    if CodegenState is None:  # pragma: no cover
        return None
    state = CodegenState(default_indent=module.default_indent, default_newline=module.default_newline)
    tokens = state.tokens
    offset = counted = 0

    def advance() -> int:
        nonlocal offset, counted
        for token in tokens[counted:]:
            offset += len(token)
        counted = len(tokens)
        return offset

    for line in module.header:
        line._codegen(state)
    starts = []
    for statement in module.body:
        starts.append(advance())
        statement._codegen(state)
    starts.append(advance())
    for line in module.footer:
        line._codegen(state)
    code = "".join(tokens)
    if not module.has_trailing_newline:
        code = code[: -len(tokens[-1])] if tokens else code
    if code != text:
        return None
    return Layout(starts)


def _has_block(statements) -> bool:
    """Whether any of these top-level statements has an indented body (where the first indentation
    of a file, which LibCST takes as the module's, is found)."""
    return any(isinstance(getattr(statement, "body", None), cst.IndentedBlock) for statement in statements)


def reparse(old_text: str, old: cst.Module, new_text: str) -> cst.Module | None:
    """The module of `new_text`, made from `old` (the module of `old_text`) and a parse of the
    statements around the change only; None when only a parse of the whole text can be trusted
    (or the statements around the change do not parse on their own)."""
    layout = layout_of(old)
    if layout is None:
        layout = _measure(old, old_text)
        if layout is None:
            return None
        remember_layout(old, layout)
    if new_text == old_text:
        return old
    if "\x0c" in new_text or new_text.endswith("\r") or not old.body:
        return None
    start, end, content = changed_span(old_text, new_text)
    starts, count = layout.starts, len(old.body)
    # a change in the first two lines may change the encoding LibCST reads from a coding comment
    second_line = old_text.find("\n", old_text.find("\n") + 1)
    if second_line < 0 or start <= second_line or start < starts[0] or end > starts[count]:
        return None
    delta = len(new_text) - len(old_text)
    # the statements the change is in, and one more on each side: an edit at the end of a statement
    # may extend it (an indented line, an `else:`), or change which lines after it it owns
    first = max(bisect.bisect_right(starts, start) - 1 - 1, 0)
    last = min(bisect.bisect_right(starts, max(end - 1, start)) - 1 + 1, count - 1)
    low = 0 if first == 0 else starts[first]
    high = len(new_text) if last == count - 1 else starts[last + 1] + delta
    piece = new_text[low:high]
    try:
        region = cst.parse_module(piece)
    except Exception:  # noqa: BLE001 - the whole text's parse says what is wrong
        return None
    if not region.body or region.default_newline != old.default_newline:
        return None
    if _has_block(region.body):
        if region.default_indent != old.default_indent:
            return None
    elif not _has_block(old.body[:first]) and _has_block(old.body[first : last + 1]):
        return None  # the file's first indentation was in the statements changed, and is gone
    measured = _measure(region, piece)
    if measured is None:
        return None
    body = list(region.body)
    header, footer, trailing = old.header, old.footer, old.has_trailing_newline
    if first == 0:
        header = region.header
    elif region.header:
        # what a whole parse makes the first statement's leading lines is the piece's header
        kept = old.body[first]
        if len(region.header) + len(body[0].leading_lines) != len(kept.leading_lines):
            return None
        body[0] = body[0].with_changes(leading_lines=(*region.header, *body[0].leading_lines))
    if last == count - 1:
        footer, trailing = region.footer, region.has_trailing_newline
    elif region.footer or not region.has_trailing_newline:
        return None  # lines after the piece's last statement that a whole parse gives to it
    module = old.with_changes(
        header=header, body=(*old.body[:first], *body, *old.body[last + 1 :]), footer=footer, has_trailing_newline=trailing
    )
    inner = measured.starts
    if first != 0:
        inner = [0, *inner[1:]]  # the header moved into the first statement
    new_starts = [*starts[:first], *(low + offset for offset in inner[:-1])]
    new_starts.extend(offset + delta for offset in starts[last + 1 : count])
    new_starts.append(low + inner[-1] if last == count - 1 else starts[count] + delta)
    kept_spans = {statement: layout.spans[statement] for statement in (*old.body[:first], *old.body[last + 1 :]) if statement in layout.spans}
    remember_layout(module, Layout(new_starts, kept_spans))
    return module


class Reparser:
    """Parses each document (by key) from its previous parse when it can: one per language server."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[str, cst.Module]] = {}
        self.reused = 0  # parses made from a previous one (for tests and benchmarks)

    def parse(self, key: str, text: str) -> cst.Module:
        """The module of `text`, as `kerasfix.context.parse` makes it (which raises on a syntax
        error; the last module that parsed stays the base for the next edit)."""
        from kerasfix.context import parse

        last = self._last.get(key)
        module = None
        if last is not None:
            try:
                module = reparse(last[0], last[1], text)
            except Exception:  # noqa: BLE001 - never worse than a whole parse
                module = None
        if module is None:
            module = parse(text)
        else:
            self.reused += 1
        if last is not None and last[1] is not module:
            forget_layout(last[1])  # only the latest parse of a document is kept
        self._last[key] = (text, module)
        return module

    def forget(self, key: str) -> None:
        last = self._last.pop(key, None)
        if last is not None:
            forget_layout(last[1])
