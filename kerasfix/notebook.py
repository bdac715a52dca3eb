"""Jupyter notebooks as Python text: code cells joined for one parse, and split back on write."""

from __future__ import annotations

import bisect
import io
import json
import re
import tokenize
import warnings
from dataclasses import dataclass

from kerasfix.sourceerror import SourceError

CELL_MARKER = "# kerasfix-cell-{index}-do-not-edit"
_MARKER_RE = re.compile(r"^# kerasfix-cell-(\d+)-do-not-edit\r?\n", re.MULTILINE)
# `(?=\r?$)`: a cell with Windows line endings keeps its `\r` before the `\n` that `$` stops at.
_MAGIC_MARKER_RE = re.compile(r"^([ \t]*)pass  # kerasfix-magic-(\d+)(?=\r?$)", re.MULTILINE)
# Lines as Python (and `Source.line_starts`) count them: not `str.splitlines`, which also splits
# at form feeds, `\x1c`-`\x1e`, `\x85`, `\u2028` and `\u2029`.
_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
# IPython syntax that is not Python: line magics, shell escapes, help queries, `x = !cmd`.
_MAGIC_LINE_RE = re.compile(r"^[ \t]*(?:[%!]|\?|[\w.]+\?{1,2}[ \t]*$|[\w, ]+=[ \t]*[%!])")
# Cell magics whose body is still Python; any other cell magic makes the cell opaque.
_PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "debug", "tensorflow_version"}


@dataclass
class _Cell:
    index: int  # position in the notebook's cell list
    number: int  # 1-based among all cells, as the user counts them
    was_list: bool
    added_newline: bool
    original: str = ""  # the cell's source as read, joined into one string


class NotebookText:
    """The code cells of a notebook as one Python text, with the way back."""

    def __init__(self, document: dict, raw_text: str, indent: int) -> None:
        self.document = document
        self.raw_text = raw_text
        self.indent = indent
        self.magics: list[str] = []
        self.cells: list[_Cell] = []
        self.cell_first_line: list[int] = []  # joined-text line of each included cell's first line
        self._strings: dict[int, list[tuple[str, int, int]]] | None = None  # see _source_strings
        self._raw_starts: list[int] | None = None
        parts: list[str] = []
        line = 1
        for index, cell in enumerate(document.get("cells", [])):
            if not isinstance(cell, dict) or cell.get("cell_type") != "code":
                continue
            source = cell.get("source", "")
            was_list = isinstance(source, list)
            text = "".join(source) if was_list else str(source)
            if _opaque_cell(text):
                continue
            original = text
            added_newline = not text.endswith("\n")
            if added_newline:
                text += "\n"
            text = self._mask_magics(text)
            self.cells.append(_Cell(index, index + 1, was_list, added_newline, original))
            parts.append(CELL_MARKER.format(index=index) + "\n")
            line += 1
            self.cell_first_line.append(line)
            parts.append(text)
            line += text.count("\n")
        self.text = "".join(parts)

    @classmethod
    def parse(cls, raw: bytes) -> "NotebookText":
        try:
            raw_text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise SourceError(f"notebook is not valid UTF-8: {error.reason} at byte {error.start}") from None
        try:
            document = json.loads(raw_text)
        except json.JSONDecodeError as error:
            raise SourceError(f"notebook is not valid JSON: {error}") from None
        if not isinstance(document, dict) or not isinstance(document.get("cells", []), list):
            raise SourceError("notebook has no list of cells; is it a Jupyter notebook?")
        if "cells" not in document:
            raise SourceError("notebook has no cells (nbformat 3 and older notebooks are not supported)")
        import nbformat

        try:
            with warnings.catch_warnings():
                # nbformat's advice to its own callers (a cell without an `id`), not the user's concern
                warnings.simplefilter("ignore")
                nbformat.validate(nbformat.from_dict(document))
        except nbformat.ValidationError as error:
            message = str(error).splitlines()[0]
            raise SourceError(f"notebook does not validate against the nbformat schema: {message}") from None
        match = re.search(r"\n( +)\S", raw_text)
        indent = len(match.group(1)) if match else 1
        return cls(document, raw_text, indent)

    def _mask_magics(self, text: str) -> str:
        """Replace each IPython-only line by a `pass` placeholder that `render` turns back.

        Only lines that begin a statement are IPython syntax: a line inside brackets, after a
        backslash or inside a triple-quoted string that starts with `%` or `!=` is Python
        (`x = (a\n     % b)`), and masking it would break the parse.
        """
        lines = _LINE_RE.findall(text)
        for number, line in enumerate(lines):
            if _MAGIC_LINE_RE.match(line) and _starts_statement("".join(lines[:number])):
                body = line.rstrip("\r\n")
                indent = body[: len(body) - len(body.lstrip())]
                self.magics.append(body[len(indent):])
                ending = line[len(body):]
                lines[number] = f"{indent}pass  # kerasfix-magic-{len(self.magics) - 1}{ending}"
        return "".join(lines)

    def cell_sources(self, new_text: str) -> dict[int, str]:
        """The source of each included code cell (by position in the cell list) in edited joined text,
        with its magics restored: what `render` writes and a diff should show."""
        pieces = _MARKER_RE.split(new_text)
        prefix, rest = pieces[0], pieces[1:]
        bodies = {int(rest[i]): rest[i + 1] for i in range(0, len(rest), 2)}
        sources: dict[int, str] = {}
        for position, cell in enumerate(self.cells):
            body = bodies.get(cell.index, "")
            if position == 0 and prefix:
                body = prefix + body
            body = _MAGIC_MARKER_RE.sub(lambda m: m.group(1) + self.magics[int(m.group(2))], body)
            if cell.added_newline and body.endswith("\n"):
                body = body[:-1]
            sources[cell.index] = body
        return sources

    def cell_of(self, line: int) -> tuple[int, int]:
        """(1-based cell number, 1-based line in that cell) of a joined-text line."""
        chosen = 0
        for position, first in enumerate(self.cell_first_line):
            if first <= line:
                chosen = position
        cell = self.cells[chosen] if self.cells else _Cell(0, 1, False, False)
        first = self.cell_first_line[chosen] if self.cell_first_line else 1
        return cell.number, max(1, line - first + 1)

    def file_position(self, cell: int, row: int, column: int) -> tuple[int, int]:
        """(1-based line, 1-based column) in the notebook file, the JSON text, of a 1-based row and
        column in code cell number `cell`: where the JSON string that holds that source line spells
        that character (an escape such as `\\n` or `\\u00e9` counts from its backslash)."""
        strings = self._source_strings().get(cell - 1)
        if not strings:
            return 1, 1
        text = "".join(decoded for decoded, _, _ in strings)
        newlines = list(_NEWLINE_RE.finditer(text))
        starts = [0] + [match.end() for match in newlines]
        ends = [match.start() for match in newlines] + [len(text)]
        line = min(max(row, 1), len(starts))
        # a column past the end of the line (the end of a finding) stands on its line break
        offset = min(starts[line - 1] + max(column, 1) - 1, ends[line - 1])
        raw = strings[-1][2]  # the end of the cell's last string
        for number, (decoded, start, end) in enumerate(strings, start=1):
            if offset < len(decoded) or (offset == len(decoded) and number == len(strings)):
                raw = _raw_offset(self.raw_text, start, end, offset)
                break
            offset -= len(decoded)
        raw_starts = self._raw_line_starts()
        index = bisect.bisect_right(raw_starts, raw) - 1
        return index + 1, raw - raw_starts[index] + 1

    def _source_strings(self) -> dict[int, list[tuple[str, int, int]]]:
        """For each code cell (by position in the cell list), its `source` strings as (decoded text,
        start, end) with start and end the raw-text offsets just inside the quotes."""
        if self._strings is None:
            self._strings = _cell_source_strings(self.raw_text)
        return self._strings

    def _raw_line_starts(self) -> list[int]:
        if self._raw_starts is None:
            self._raw_starts = [0] + [match.end() for match in _NEWLINE_RE.finditer(self.raw_text)]
        return self._raw_starts

    def render(self, new_text: str) -> bytes:
        """The notebook's bytes with code cells taken from edited joined text."""
        sources = self.cell_sources(new_text)
        document = json.loads(self.raw_text)  # a fresh copy, in the file's own key order
        for cell in self.cells:
            body = sources[cell.index]
            if body == cell.original:
                continue  # unchanged: keep the cell's source exactly as it was, list split included
            source = body.splitlines(keepends=True) if cell.was_list else body  # as nbformat splits
            document["cells"][cell.index]["source"] = source
        # A notebook written with ASCII escapes (`\u00e9`) keeps them; one with UTF-8 text keeps that.
        out = json.dumps(document, indent=self.indent, ensure_ascii=self.raw_text.isascii())
        if self.raw_text.endswith("\n"):
            out += "\n"
        return out.encode("utf-8")


# --- where each cell's source strings are in the notebook file ----------------------------------------

_NEWLINE_RE = re.compile(r"\r\n?|\n")  # as Python ends a line, and as kerasfix.source counts them
_JSON_SPACE_RE = re.compile(r"[ \t\n\r]*")


def _cell_source_strings(raw: str) -> dict[int, list[tuple[str, int, int]]]:
    """Walk the notebook's JSON text as far as `cells[i].source`, noting where each source string is;
    every other value is skipped by the JSON decoder. The text is known to be valid JSON."""
    decoder = json.JSONDecoder()
    found: dict[int, list[tuple[str, int, int]]] = {}

    def skip(pos: int) -> int:
        return _JSON_SPACE_RE.match(raw, pos).end()

    def string(pos: int) -> tuple[str, int, int]:
        decoded, end = json.decoder.scanstring(raw, pos + 1)
        return decoded, pos + 1, end - 1

    def members(pos: int, on_value) -> int:
        """An object at `pos`; on_value(key, position of its value) returns where the value ends."""
        pos = skip(pos + 1)
        while raw[pos] != "}":
            key, _, end = string(pos)
            pos = skip(skip(end + 1) + 1)  # past the closing quote, the spaces and the colon
            pos = skip(on_value(key, pos))
            if raw[pos] == ",":
                pos = skip(pos + 1)
        return pos + 1

    def items(pos: int, on_item) -> int:
        """An array at `pos`; on_item(index, position of the item) returns where the item ends."""
        pos, index = skip(pos + 1), 0
        while raw[pos] != "]":
            pos = skip(on_item(index, pos))
            index += 1
            if raw[pos] == ",":
                pos = skip(pos + 1)
        return pos + 1

    def other(pos: int) -> int:
        return decoder.raw_decode(raw, pos)[1]

    def source(index: int, pos: int) -> int:
        if raw[pos] == '"':
            found[index] = [string(pos)]
            return found[index][0][2] + 1
        if raw[pos] != "[":
            return other(pos)
        pieces: list[tuple[str, int, int]] = []

        def piece(_: int, at: int) -> int:
            if raw[at] != '"':
                return other(at)
            pieces.append(string(at))
            return pieces[-1][2] + 1

        end = items(pos, piece)
        found[index] = pieces
        return end

    def cell(index: int, pos: int) -> int:
        if raw[pos] != "{":
            return other(pos)
        return members(pos, lambda key, at: source(index, at) if key == "source" else other(at))

    def top(key: str, pos: int) -> int:
        if key == "cells" and raw[pos] == "[":
            return items(pos, cell)
        return other(pos)

    start = skip(0)
    if raw[start:start + 1] == "{":
        members(start, top)
    return found


def _raw_offset(raw: str, start: int, end: int, index: int) -> int:
    """The raw-text offset of character `index` of the JSON string whose content is raw[start:end]
    (`end` for the index just past its last character)."""
    position = start
    for _ in range(index):
        if position >= end:
            break
        if raw[position] != "\\":
            position += 1
        elif raw[position + 1] != "u":
            position += 2
        elif (
            0xD800 <= int(raw[position + 2 : position + 6], 16) < 0xDC00
            and raw[position + 6 : position + 8] == "\\u"
            and 0xDC00 <= int(raw[position + 8 : position + 12], 16) < 0xE000
        ):
            position += 12  # a surrogate pair, one character once decoded
        else:
            position += 6
    return min(position, end)


def _starts_statement(before: str) -> bool:
    """Does a line that follows `before` (the earlier lines of its cell) begin a new statement?"""
    if not before.strip():
        return True
    try:
        for _ in tokenize.generate_tokens(io.StringIO(before).readline):
            pass
    except tokenize.TokenError:
        return False  # EOF inside brackets, after a backslash, or inside a triple-quoted string
    except (SyntaxError, ValueError):
        return True  # not Python up to here anyway: judge the line by itself, as before
    return True


def _opaque_cell(text: str) -> bool:
    first = text.lstrip().split("\n", 1)[0]
    if not first.startswith("%%"):
        return False
    name = first[2:].split(None, 1)[0] if first[2:].strip() else ""
    return name not in _PYTHON_CELL_MAGICS
