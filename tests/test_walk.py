"""kerasfix/walk.py reads the tree the way LibCST's visitors do: the same nodes, in the same order."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import libcst as cst

from kerasfix.walk import _TRIVIA_TYPES, comments, walk

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = sorted((ROOT / "fixtures").rglob("*.py")) + sorted((ROOT / "kerasfix").rglob("*.py"))


class _Recorder(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.entered: list[cst.CSTNode] = []
        self.left: list[cst.CSTNode] = []
        self.comments: list[str] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.entered.append(node)
        if isinstance(node, cst.Comment):
            self.comments.append(node.value)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.left.append(original_node)


def test_there_are_programs() -> None:
    assert len(PROGRAMS) > 100


def test_walk_enters_and_leaves_the_nodes_libcst_visits_in_the_same_order() -> None:
    for path in PROGRAMS:
        module = cst.parse_module(path.read_text(encoding="utf-8"))
        recorder = _Recorder()
        module.visit(recorder)  # a read-only visitor rebuilds nodes equal to the originals
        expected_enter = [type(n).__name__ for n in recorder.entered if type(n) not in _TRIVIA_TYPES]
        expected_leave = [type(n).__name__ for n in recorder.left if type(n) not in _TRIVIA_TYPES]
        entered: list[str] = []
        left: list[str] = []
        parents: dict = {}

        def enter(node, parent, entered=entered, parents=parents):
            entered.append(type(node).__name__)
            parents[node] = parent

        walk(module, enter, lambda node, left=left: left.append(type(node).__name__))
        assert entered == expected_enter, path.name
        assert left == expected_leave, path.name
        assert parents[module] is None


ASYNC_AND_GENERIC = """\
async def fetch(xs):
    async for x in xs:
        async with x as y, y:
            await y
    return [a async for a in xs if a]


class Box[T](Base, metaclass=Meta):
    def get[U](self, u: U) -> T:
        return u
"""


def test_async_and_generic_definitions_are_walked_in_source_order() -> None:
    module = cst.parse_module(ASYNC_AND_GENERIC)
    recorder = _Recorder()
    module.visit(recorder)
    expected = [type(n).__name__ for n in recorder.entered if type(n) not in _TRIVIA_TYPES]
    entered: list[str] = []
    walk(module, lambda node, parent: entered.append(type(node).__name__))
    assert "Asynchronous" in entered and "TypeParameters" in entered
    assert entered == expected


def test_comments_are_found_in_source_order() -> None:
    for path in PROGRAMS:
        module = cst.parse_module(path.read_text(encoding="utf-8"))
        recorder = _Recorder()
        module.visit(recorder)
        assert comments(module) == recorder.comments, path.name


class _ReferenceUses(cst.CSTVisitor):
    """Bare names outside imports, as a LibCST visitor counts them: the reference for `_name_uses`."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.counts[node.value] += 1


def test_name_uses_count_what_the_visitor_counts() -> None:
    from kerasfix.imports import _name_uses

    for path in PROGRAMS:
        module = cst.parse_module(path.read_text(encoding="utf-8"))
        visitor = _ReferenceUses()
        module.visit(visitor)
        assert _name_uses(module) == visitor.counts, path.name
