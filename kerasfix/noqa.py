"""`# noqa` directives: where they are (real comments only, never text inside a string), which line a
finding's directive belongs on, and how to add a code to a line."""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field

from kerasfix.source import NEWLINE_RE, line_starts

NOQA_RE = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)
CODE_RE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)


@dataclass
class Directive:
    """One `# noqa` in a comment: offsets [start, end) of `# noqa: CODES` in the text, and its codes
    with their offsets (none for a blanket `# noqa`)."""

    line: int
    start: int
    end: int
    codes: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def blanket(self) -> bool:
        return not self.codes

    def names(self, code: str) -> bool:
        return self.blanket or code.upper() in {c.upper() for c, _, _ in self.codes}


@dataclass
class NoqaMap:
    """The directives of a text and the line each line's directive is written on."""

    directives: dict[int, Directive] = field(default_factory=dict)
    comments: dict[int, tuple[int, int]] = field(default_factory=dict)  # line -> [start, end) of its comment
    moved: dict[int, int] = field(default_factory=dict)  # line -> the line its comment goes on
    starts: list[int] = field(default_factory=list)

    def home(self, line: int) -> int:
        """Where a directive for something on `line` is written: the line itself, or, when the line
        ends inside a multi-line string or in a backslash continuation, the line where that ends."""
        seen = 0
        while line in self.moved and seen < 10_000:
            line = self.moved[line]
            seen += 1
        return line

    def silencing(self, first: int, last: int, code: str) -> Directive | None:
        """The directive that silences a finding of `code` on lines first..last: on any line of its
        span, or on the line its directive would be written on."""
        for line in (*range(first, last + 1), self.home(first)):
            directive = self.directives.get(line)
            if directive is not None and directive.names(code):
                return directive
        return None


def scan(text: str) -> NoqaMap:
    """The directives of `text`; an empty map for a text without `noqa` (nothing is tokenized)."""
    found = NoqaMap()
    if "noqa" not in text.lower():
        return found
    return _tokenize(text, found)


def layout(text: str) -> NoqaMap:
    """Every comment of `text` and where directives go, for adding some (`check --add-noqa`)."""
    return _tokenize(text, NoqaMap())


def _tokenize(text: str, found: NoqaMap) -> NoqaMap:
    """Comments, directives and moved lines from Python's tokenizer (so text in strings is never a comment)."""
    found.starts = line_starts(text)
    lines = NEWLINE_RE.split(text)
    try:
        # newline="": lines end where Python ends them (CR, LF, CRLF), and are not translated
        tokens = list(tokenize.generate_tokens(io.StringIO(text, newline="").readline))
    except (tokenize.TokenError, SyntaxError, ValueError):
        return _by_lines(text, found)
    string_types = {tokenize.STRING, *(getattr(tokenize, name) for name in ("FSTRING_MIDDLE", "FSTRING_START") if hasattr(tokenize, name))}
    inside: set[int] = set()
    for token in tokens:
        (row, column), (end_row, _) = token.start, token.end
        if token.type == tokenize.COMMENT:
            start = found.starts[row - 1] + column
            found.comments[row] = (start, start + len(token.string))
            _directive(found, row, token.string, start)
        elif token.type in string_types and end_row > row:
            for line in range(row, end_row):
                found.moved[line] = end_row
                inside.add(line)
    for number, line_text in enumerate(lines, start=1):
        if number not in inside and number not in found.comments and line_text.rstrip().endswith("\\"):
            found.moved[number] = number + 1
    return found


def _by_lines(text: str, found: NoqaMap) -> NoqaMap:
    """A text the tokenizer refuses (it parsed, so rarely): each line's first `# noqa`, as written."""
    for number, line_text in enumerate(NEWLINE_RE.split(text), start=1):
        position = line_text.find("#")
        if position >= 0:
            start = found.starts[number - 1] + position
            found.comments[number] = (start, found.starts[number - 1] + len(line_text))
            _directive(found, number, line_text[position:], start)
    return found


def _directive(found: NoqaMap, row: int, comment: str, start: int) -> None:
    match = NOQA_RE.search(comment)
    if match is None:
        return
    codes = []
    if match.group("codes") is not None:
        base = start + match.start("codes")
        codes = [(code.group(), base + code.start(), base + code.end()) for code in CODE_RE.finditer(match.group("codes"))]
    found.directives[row] = Directive(row, start + match.start(), start + match.end(), codes)


def add_codes(text: str, wanted: dict[int, set[str]]) -> tuple[str, int]:
    """`text` with `# noqa: CODE` for each line's codes (lines as findings name them), each written
    on the line its directive goes on: added to a `# noqa: ...` already there, after any other
    comment, or at the end of the line. Returns the text and how many codes were added."""
    found = layout(text)
    per_line: dict[int, set[str]] = {}
    for line, codes in wanted.items():
        per_line.setdefault(found.home(line), set()).update(codes)
    edits: list[tuple[int, int, str]] = []
    added = 0
    for line, codes in per_line.items():
        if line > len(found.starts):
            continue
        directive = found.directives.get(line)
        if directive is not None:
            if directive.blanket:
                continue
            new = sorted(code for code in codes if not directive.names(code))
            if new:
                edits.append((directive.codes[-1][2], directive.codes[-1][2], "".join(f", {code}" for code in new)))
                added += len(new)
            continue
        end = _line_end(text, found.starts, line)
        if line in found.comments:
            end = found.comments[line][1]
        else:
            content = text[found.starts[line - 1]:end]
            end = found.starts[line - 1] + len(content.rstrip())
        edits.append((end, end, f"  # noqa: {', '.join(sorted(codes))}"))
        added += len(codes)
    for start, end, content in sorted(edits, reverse=True):
        text = text[:start] + content + text[end:]
    return text, added


def _line_end(text: str, starts: list[int], line: int) -> int:
    """The offset where `line` ends, before its newline."""
    end = starts[line] if line < len(starts) else len(text)
    while end > starts[line - 1] and text[end - 1] in "\r\n":
        end -= 1
    return end
