"""Jupyter notebooks as Python text: code cells joined for one parse, and split back on write."""

from __future__ import annotations

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
