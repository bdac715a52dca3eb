"""What checkers see of the file being checked (`FileContext`), and parsing a text into a module."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, ParentNodeProvider

from kerasfix.findings import Fix
from kerasfix.names import ImportTable
from kerasfix.positions import code_spans, page_free
from kerasfix.settings import Settings
from kerasfix.source import Source, line_starts


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
        self._walked = False  # True once every non-trivia node's parent is known (one walk of the file)
        self._traversed = False  # True once every node's parent is known (a full resolution)
        self._cache: dict = {}

    def cached(self, key: str, compute):
        """A value worked out once per file (line starts, scopes, a transform's tables): the one
        place checkers and fixes keep what they derive from the file."""
        store = self._cache
        if key not in store:
            store[key] = compute()
        return store[key]

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
        starts = self.cached("line starts", lambda: line_starts(self.text))
        line_start = starts[bisect.bisect_right(starts, offset) - 1]
        return offset - line_start - self.text.count("\x0c", line_start, offset)

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        # The traversal records each node's parent as it enters it, so asking about the node being
        # visited, or any ancestor, costs nothing. A node the traversal has not reached yet costs one
        # read-only walk of the file (kerasfix/walk.py, which skips trivia); trivia costs one full
        # resolution by LibCST, many times slower than the walk.
        if self._parents is None:
            self._parents = {}
        found = self._parents.get(node)
        if found is None and node is not self.module and not self._walked:
            self._parents.update(self._walked_parents())  # in place: the traversal goes on filling it
            self._walked = True
            found = self._parents.get(node)
        if found is None and node is not self.module and not self._traversed:
            self._parents.update(self._all_parents())
            self._traversed = True
            found = self._parents.get(node)
        return found

    def _walked_parents(self) -> dict:
        from kerasfix.walk import walk

        parents: dict = {}

        def enter(child: cst.CSTNode, parent: cst.CSTNode | None) -> None:
            if parent is not None:
                parents[child] = parent

        walk(self.module, enter)
        return parents

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
