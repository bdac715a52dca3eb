"""A read-only walk over a LibCST tree, in source order, that builds nothing.

`CSTNode.visit` rebuilds every node it passes (and validates it) even for a visitor that changes
nothing; on a large file that costs more than parsing. Rules only read the tree, so the engine walks
the nodes' fields directly. Trivia (whitespace, comments, commas, brackets and other punctuation) is
not entered: no rule looks at it through the walk, and it is most of the nodes of a tree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import libcst as cst

_TRIVIA: tuple[type, ...] = (
    cst.BaseParenthesizableWhitespace,
    cst.EmptyLine,
    cst.TrailingWhitespace,
    cst.Newline,
    cst.Comment,
    cst.Comma,
    cst.Dot,
    cst.LeftParen,
    cst.RightParen,
    cst.LeftSquareBracket,
    cst.RightSquareBracket,
    cst.LeftCurlyBrace,
    cst.RightCurlyBrace,
    cst.AssignEqual,
    cst.Colon,
    cst.Semicolon,
)

# Fields in the order their code appears, where the dataclass declares them otherwise.
_ORDER: dict[type, tuple[str, ...]] = {
    cst.FunctionDef: ("decorators", "asynchronous", "name", "type_parameters", "params", "returns", "body"),
    cst.ClassDef: ("decorators", "name", "type_parameters", "bases", "keywords", "body"),
    cst.For: ("asynchronous", "target", "iter", "body", "orelse"),
    cst.With: ("asynchronous", "items", "body"),
    cst.CompFor: ("asynchronous", "target", "iter", "ifs", "inner_for_in"),
    cst.IfExp: ("body", "test", "orelse"),
    cst.Arg: ("keyword", "value"),
    cst.Parameters: ("posonly_params", "posonly_ind", "params", "star_arg", "kwonly_params", "star_kwarg"),
    cst.ExceptHandler: ("type", "name", "body"),
    cst.ExceptStarHandler: ("type", "name", "body"),
}



def _concrete(bases: tuple[type, ...]) -> frozenset[type]:
    found: set[type] = set()
    pending = list(bases)
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending.extend(cls.__subclasses__())
    return frozenset(found)


# `type(x) in` a set: an isinstance test against LibCST's abstract bases is several times slower
_TRIVIA_TYPES = _concrete(_TRIVIA)
_NODE_TYPES = _concrete((cst.CSTNode,)) - _TRIVIA_TYPES
_fields_cache: dict[type, tuple[str, ...]] = {}


def is_walked(node: cst.CSTNode) -> bool:
    """Whether `walk` enters a node of this kind (every node but trivia)."""
    return type(node) in _NODE_TYPES


def _fields(node_type: type) -> tuple[str, ...]:
    names = _fields_cache.get(node_type)
    if names is None:
        names = _ORDER.get(node_type) or tuple(
            f.name
            for f in dataclasses.fields(node_type)
            if not f.name.startswith("whitespace") and f.name not in ("lpar", "rpar", "leading_lines", "lines_after_decorators", "header", "footer")
        )
        _fields_cache[node_type] = names
    return names


def children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The non-trivia child nodes of `node`, in source order."""
    nodes = _NODE_TYPES
    for name in _fields(type(node)):
        value = getattr(node, name, None)
        kind = type(value)
        if kind is list or kind is tuple:
            for item in value:
                if type(item) in nodes:
                    yield item
        elif kind in nodes:
            yield value


def walk(
    root: cst.CSTNode,
    enter: Callable[[cst.CSTNode, cst.CSTNode | None], None],
    leave: Callable[[cst.CSTNode], None] | None = None,
) -> None:
    """Call `enter(node, parent)` for every non-trivia node in source order (and `leave(node)` after
    its children), without recursion, so deep expressions cannot exhaust the stack."""
    # `children` written out: every analysis walks the file a few times, and this loop is most of it
    nodes, cache = _NODE_TYPES, _fields_cache
    stack: list = [(root, None)]
    pop, push = stack.pop, stack.append
    while stack:
        node, parent = pop()
        if parent is _LEAVING:
            leave(node)  # type: ignore[misc]
            continue
        enter(node, parent)
        if leave is not None:
            push((node, _LEAVING))
        kind = type(node)
        names = cache.get(kind)
        if names is None:
            names = _fields(kind)
        found = []
        for name in names:
            value = getattr(node, name, None)
            value_kind = type(value)
            if value_kind is list or value_kind is tuple:
                for item in value:
                    if type(item) in nodes:
                        found.append(item)
            elif value_kind in nodes:
                found.append(value)
        for child in reversed(found):
            push((child, node))


_LEAVING = object()  # on the walk's stack in place of a parent: the node's children are done


_ALL_NODE_TYPES = _concrete((cst.CSTNode,))
_all_fields_cache: dict[type, tuple[str, ...]] = {}


def comments(node: cst.CSTNode) -> list[str]:
    """The comments inside `node` (trivia included), in source order, without rebuilding anything."""
    found: list[str] = []
    pending = [node]
    nodes = _ALL_NODE_TYPES
    while pending:
        current = pending.pop()
        if type(current) is cst.Comment:
            found.append(current.value)
            continue
        names = _all_fields_cache.get(type(current))
        if names is None:
            names = _code_order(type(current))
            _all_fields_cache[type(current)] = names
        inner: list[cst.CSTNode] = []
        for name in names:
            value = getattr(current, name, None)
            kind = type(value)
            if kind is list or kind is tuple:
                inner.extend(item for item in value if type(item) in nodes)
            elif kind in nodes:
                inner.append(value)
        pending.extend(reversed(inner))
    return found


_BEFORE = ("leading_lines", "header", "decorators", "lines_after_decorators", "lpar", "lbracket", "lbrace")
_AFTER = ("rbrace", "rbracket", "rpar", "footer", "trailing_whitespace", "comma", "semicolon")


_CODE_ORDER: dict[type, tuple[str, ...]] = {
    cst.Arg: ("star", "whitespace_after_star", "keyword", "equal", "value", "whitespace_after_arg", "comma"),
    cst.Call: ("lpar", "func", "whitespace_after_func", "whitespace_before_args", "args", "rpar"),
    cst.Subscript: ("lpar", "value", "whitespace_after_value", "lbracket", "slice", "rbracket", "rpar"),
    cst.ConcatenatedString: ("lpar", "left", "whitespace_between", "right", "rpar"),
}


def _code_order(node_type: type) -> tuple[str, ...]:
    """All fields of a node type in the order their code is written (what comments' order follows)."""
    if node_type in _CODE_ORDER:
        return _CODE_ORDER[node_type]
    names = [f.name for f in dataclasses.fields(node_type)]
    if node_type in _ORDER:
        semantic = list(_ORDER[node_type])
        names = semantic + [name for name in names if name not in semantic]

    def rank(name: str) -> int:
        if name in _BEFORE:
            return _BEFORE.index(name) - len(_BEFORE)
        if name in _AFTER:
            return 1 + _AFTER.index(name)
        return 0

    return tuple(sorted(names, key=rank))
