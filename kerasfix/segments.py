"""Large files, taken part by part: a parsed file costs LibCST some 600 bytes of memory per byte of
source, so a file of more than `LARGE_FILE_CHARS` characters is cut between top-level statements into
parts of about `PART_CHARS`, and each part is parsed, checked and fixed on its own, in order.

What carries from one part to the next: the names the file imports (and the names fixes have asked to
import), so `Dense` in the last part is still `keras.layers.Dense`. What does not: values of
module-level variables built in an earlier part (a model a later part adds layers to is not followed
across the cut); cuts fall before a `def`, `class` or decorator where one is near, which is where
generated files repeat. Imports are tidied once, over the whole file, after every part is fixed.

A cut is only ever made where Python would end a statement: every part must parse on its own, and a
part that does not (the cut fell inside a long string or bracket) is cut again at the top-level
statements Python's own parser finds.
"""

from __future__ import annotations

import ast
import bisect
import re
from dataclasses import dataclass
from typing import Iterator

import libcst as cst

from kerasfix.context import ParseFailure, parse
from kerasfix.positions import page_free
from kerasfix.source import NEWLINE_RE, Source, line_starts

LARGE_FILE_CHARS = 1_000_000
PART_CHARS = 200_000

# A line that starts a top-level statement, unless it is inside a string or brackets: it starts at
# column 0 with a name, a keyword or a decorator, and does not continue the statement before it.
_CUT_RE = re.compile(r"(?<=[\r\n])(?=[A-Za-z_@])(?!(?:else|elif|except|finally)\b)")
_PREFERRED_RE = re.compile(r"@|(?:async\s+)?def\b|class\b")


def is_large(source: Source, text: str) -> bool:
    return source.notebook is None and len(text) > LARGE_FILE_CHARS


@dataclass
class Part:
    start: int  # character offset in the file's text
    text: str
    module: cst.Module
    rows_before: int  # lines of the file before the part


def parts(text: str) -> Iterator[Part]:
    """The file's parts, in order, each parsed; their texts joined are the file's text."""
    cuts = [match.start() for match in _CUT_RE.finditer(text)]
    config: cst.PartialParserConfig | None = None
    start = rows = 0
    exact = False
    while start < len(text):
        end = _next_cut(text, cuts, start)
        piece = text[start:end]
        try:
            module = cst.parse_module(piece, config) if config is not None else cst.parse_module(piece)
        except (cst.ParserSyntaxError, RecursionError):
            if end == len(text) or exact:
                parse_part(piece, rows)  # raises the parse error, at the file's row
                raise
            # The cut fell inside a statement (a long string, or brackets whose lines start at column 0).
            # Python's parser says where the rest's statements start; a syntax error is reported as such.
            cuts, exact = _statement_starts(text, start, rows), True
            continue
        if config is None:

            config = cst.PartialParserConfig(default_indent=page_free(module.default_indent), default_newline=module.default_newline)
        yield Part(start, piece, module, rows)
        rows += len(NEWLINE_RE.findall(piece))
        start = end


def _next_cut(text: str, cuts: list[int], start: int) -> int:
    index = bisect.bisect_left(cuts, start + PART_CHARS)
    if index >= len(cuts):
        return len(text)
    limit = cuts[index] + PART_CHARS // 4
    for candidate in range(index, len(cuts)):
        if cuts[candidate] > limit:
            break
        if _PREFERRED_RE.match(text, cuts[candidate]):
            return cuts[candidate]
    return cuts[index]


def _statement_starts(text: str, start: int, rows: int) -> list[int]:

    rest = text[start:]
    try:
        tree = ast.parse(rest)
    except SyntaxError as error:
        raise ParseFailure(f"syntax error: {error.msg}", None if error.lineno is None else error.lineno + rows, error.offset) from None
    except (ValueError, RecursionError, MemoryError):
        return []  # the rest is one part; LibCST says what is wrong with it
    starts = line_starts(rest)
    lines = []
    previous_end = 0  # the last line of the statement before
    for statement in tree.body:
        first = statement_first_line(statement)
        # not `a = (1,\n2); b = 3`, whose `b` starts on a line of `a`, nor `a = 1; \<newline>b = 2`,
        # whose `b` starts on a line that continues `a`'s
        continued = first > 1 and rest[starts[first - 2] : starts[first - 1]].rstrip("\r\n").endswith("\\")
        if first > previous_end and not continued:
            lines.append(first)
        previous_end = max(previous_end, statement.end_lineno or first)
    del tree
    return [start + starts[line - 1] for line in lines if line > 1]


def statement_first_line(statement: ast.stmt) -> int:
    decorators = getattr(statement, "decorator_list", None) or []
    return min([statement.lineno, *(decorator.lineno for decorator in decorators)])


def parse_part(text: str, rows_before: int) -> cst.Module:
    try:
        return parse(text)
    except ParseFailure as failure:
        raise ParseFailure(str(failure), None if failure.row is None else failure.row + rows_before, failure.column) from None
