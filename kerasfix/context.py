"""What checkers see of the file being checked (`FileContext`), and parsing a text into a module."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, ParentNodeProvider

from kerasfix.findings import Fix
from kerasfix.names import ImportTable
from kerasfix.positions import StatementSpans, code_spans, page_free
from kerasfix.settings import Settings
from kerasfix.source import Source, line_starts
from kerasfix.walk import is_walked


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
        self._spans: dict | None = None  # the spans worked out so far: all of them once _all_spans
        self._all_spans = False
        self._statement_spans: StatementSpans | None = None
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
        if self._spans is None or not self._all_spans:
            self._spans = code_spans(self.module, self.text)
            self._all_spans = True
        return self._spans

    def column(self, offset: int) -> int:
        """The column of a character offset (0-based, in characters; a form feed takes none)."""
        starts = self.cached("line starts", lambda: line_starts(self.text))
        line_start = starts[bisect.bisect_right(starts, offset) - 1]
        return offset - line_start - self.text.count("\x0c", line_start, offset)

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        # The traversal records each node's parent as it enters it, so asking about the node being
        # visited, or any ancestor, costs nothing. A node inside the one being visited (the callee of
        # a call) costs a walk of that node; any other node the traversal has not reached yet costs
        # one read-only walk of the file (kerasfix/walk.py, which skips trivia); trivia costs one
        # full resolution by LibCST, many times slower than the walk.
        if self._parents is None:
            self._parents = {}
        found = self._parents.get(node)
        if found is None and node is not self.module and not self._walked:
            if self._parents and is_walked(node):
                found = self._parent_within(next(reversed(self._parents)), node)
            if found is None:
                self._walk_index()  # fills in every non-trivia node's parent, in place
                found = self._parents.get(node)
        if found is None and node is not self.module and not self._traversed:
            self._parents.update(self._all_parents())
            self._traversed = True
            found = self._parents.get(node)
        return found

    def _parent_within(self, around: cst.CSTNode, node: cst.CSTNode) -> cst.CSTNode | None:
        """`node`'s parent when it lies inside `around` (the node the traversal entered last), from a
        walk of `around` alone, whose parents are kept (the traversal records the same ones)."""
        from kerasfix.walk import walk

        parents: dict = {}

        def enter(child: cst.CSTNode, parent: cst.CSTNode | None) -> None:
            if parent is not None:
                parents[child] = parent

        walk(around, enter)
        found = parents.get(node)
        if found is not None:
            for child, parent in parents.items():
                self._parents.setdefault(child, parent)
        return found

    def nodes_of(self, node_type: type) -> list:
        """The file's nodes of one concrete LibCST type (not trivia), in source order: what a rule
        would otherwise find with a visitor of its own. One read-only walk of the file serves every
        rule and `parent` alike (`Module.visit` would rebuild every node of the file for each)."""
        return self._walk_index().get(node_type, [])

    def _walk_index(self) -> dict:
        """Every non-trivia node by type, from one read-only walk that also records each one's parent."""
        index = self._cache.get("walk index")
        if index is None:
            from kerasfix.walk import walk

            index = {}
            parents: dict = {}

            def enter(child: cst.CSTNode, parent: cst.CSTNode | None) -> None:
                if parent is not None:
                    parents[child] = parent
                found = index.get(type(child))
                if found is None:
                    index[type(child)] = [child]
                else:
                    found.append(child)

            walk(self.module, enter)
            if self._parents is None:
                self._parents = {}
            self._parents.update(parents)  # in place: the traversal may be filling it still
            self._walked = True
            self._cache["walk index"] = index
        return index

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
        """Character offsets [start, end) of a node in the file's text: those of the top-level
        statement holding it are worked out on first use (kerasfix/positions.py, `StatementSpans`),
        so positions are computed only where something is reported or fixed."""
        spans = self._spans
        if spans is not None:
            found = spans.get(node)
            if found is not None or self._all_spans:
                return found if found is not None else spans[node]
        statement = self._top_statement(node)
        if statement is not None:
            if self._statement_spans is None:
                self._statement_spans = StatementSpans(self.module, self.text)
            computed = self._statement_spans.of(statement)
            if computed is not None and node in computed:
                if self._spans is None:
                    self._spans = {}
                self._spans.update(computed)
                return computed[node]
        return self.spans()[node]

    def _top_statement(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The statement of the module's body that holds `node` (None for the module, trivia, or a
        node not in the file), from the parents the walk records."""
        if not is_walked(node):
            return None  # trivia: its parent would cost a full resolution by LibCST
        module = self.module
        current, parent = node, self.parent(node)
        while parent is not None and parent is not module:
            current, parent = parent, self.parent(parent)
        return current if parent is module else None


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
