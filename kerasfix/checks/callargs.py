"""Helpers for reading and rebuilding call arguments without disturbing their formatting."""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass

import libcst as cst

NOT_LITERAL = object()


@dataclass
class BoundArgs:
    """A call's arguments matched to a signature's parameter names."""

    positional: dict[str, cst.Arg]
    keyword: dict[str, cst.Arg]
    order: list[str]  # parameter names in the order they appear in the call
    extra_positional: list[cst.Arg]
    unknown_keywords: list[cst.Arg]
    has_star: bool

    def get(self, name: str) -> cst.Arg | None:
        return self.keyword.get(name) or self.positional.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self.keyword or name in self.positional


def bind(call: cst.Call, parameters: list[str]) -> BoundArgs:
    positional: dict[str, cst.Arg] = {}
    keyword: dict[str, cst.Arg] = {}
    order: list[str] = []
    extra: list[cst.Arg] = []
    unknown: list[cst.Arg] = []
    has_star = False
    index = 0
    for arg in call.args:
        if arg.star:
            has_star = True
            continue
        if arg.keyword is None:
            if index < len(parameters):
                positional[parameters[index]] = arg
                order.append(parameters[index])
            else:
                extra.append(arg)
            index += 1
            continue
        name = arg.keyword.value
        keyword[name] = arg
        order.append(name)
        if name not in parameters:
            unknown.append(arg)
    return BoundArgs(positional, keyword, order, extra, unknown, has_star)


@functools.lru_cache(maxsize=4096)
def _token_value(token: str):
    """The value of a string or number token (the same few recur in every file: `'same'`, `3`):
    `ast.literal_eval` compiles its text each time it is asked."""
    try:
        return ast.literal_eval(token)
    except (ValueError, SyntaxError):
        return NOT_LITERAL


def literal(node: cst.BaseExpression | None):
    """The Python value of a literal expression (strings, numbers, tuples...), else NOT_LITERAL."""
    if node is None:
        return NOT_LITERAL
    if isinstance(node, cst.SimpleString | cst.Integer | cst.Float):
        return _token_value(node.value)
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[node.value]
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = literal(node.expression)
        return -inner if isinstance(inner, int | float) and not isinstance(inner, bool) else NOT_LITERAL
    if isinstance(node, cst.Tuple | cst.List):
        values = [literal(element.value) for element in node.elements if isinstance(element, cst.Element)]
        if len(values) != len(node.elements) or any(v is NOT_LITERAL for v in values):
            return NOT_LITERAL
        return tuple(values) if isinstance(node, cst.Tuple) else values
    return NOT_LITERAL


def keyword_arg(name: str, value: cst.BaseExpression | str, like: cst.Arg | None = None) -> cst.Arg:
    """A `name=value` argument; `like` lends its formatting (the `=` spacing and comma)."""
    if isinstance(value, str):
        value = cst.parse_expression(value)
    if like is not None:
        equal = like.equal if like.keyword is not None else cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        )
        return like.with_changes(keyword=cst.Name(name), value=value, equal=equal)
    return cst.Arg(
        keyword=cst.Name(name),
        value=value,
        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
    )


def rename_keyword(arg: cst.Arg, name: str) -> cst.Arg:
    if arg.keyword is None:
        return keyword_arg(name, arg.value, arg)
    return arg.with_changes(keyword=cst.Name(name))


def arrange(original: cst.Call, args: list[cst.Arg]) -> list[cst.Arg]:
    """Fix up commas after arguments were removed, added or reordered.

    Every argument but the last keeps (or gets) a separating comma; the last takes whatever the
    original last argument had, so a trailing comma stays exactly when the author wrote one.
    Comments written among the arguments survive: a comment that went with a removed argument, or
    with a comma that moved, is kept after the last argument, one to a line.
    """
    if not args:
        return []
    last_comma = original.args[-1].comma if original.args else cst.MaybeSentinel.DEFAULT
    fixed: list[cst.Arg] = []
    for position, arg in enumerate(args):
        if position == len(args) - 1:
            arg = arg.with_changes(comma=_last_comma(arg.comma, last_comma))
        elif arg.comma is cst.MaybeSentinel.DEFAULT:
            arg = arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        fixed.append(arg)
    missing = _comments(original.args)
    for comment in _comments(fixed) if missing else ():  # (no comment to lose: nothing to look for)
        if comment in missing:
            missing.remove(comment)
    if missing:
        fixed[-1] = _with_comments_after(fixed[-1], missing, _continuation(original.args))
    return fixed


def with_args(call: cst.Call, args: list[cst.Arg]) -> cst.Call:
    """`call` with `args`, arranged as `arrange` does; when no argument is left, the comments among
    the old ones stay inside the brackets."""
    arranged = arrange(call, args)
    comments = [] if arranged else _comments(call.args)
    if not comments:
        return call.with_changes(args=arranged)
    lines = [cst.EmptyLine(indent=True, whitespace=cst.SimpleWhitespace("    "), comment=cst.Comment(c)) for c in comments]
    return call.with_changes(args=[], whitespace_before_args=_carrying(call.whitespace_before_args, lines))


def _last_comma(own, last):
    """The comma of the argument that ends up last: the original last argument's (so a trailing comma
    stays exactly when the author wrote one), but the argument's own line comment stays with it."""
    if own is last or not isinstance(own, cst.Comma) or not isinstance(last, cst.Comma):
        return last
    mine = own.whitespace_after
    if not isinstance(mine, cst.ParenthesizedWhitespace) or not _comments([own]):
        return last
    theirs = last.whitespace_after
    if isinstance(theirs, cst.ParenthesizedWhitespace):  # the closing bracket stays where it was
        mine = mine.with_changes(indent=theirs.indent, last_line=theirs.last_line)
    return own.with_changes(whitespace_after=mine)


def _comments(nodes) -> list[str]:
    from kerasfix.walk import comments

    found: list[str] = []
    for node in nodes:
        if isinstance(node, cst.CSTNode):
            found.extend(comments(node))
    return found


def _continuation(args) -> tuple[bool, cst.SimpleWhitespace]:
    """How the call's continuation lines are indented (the first one's), for comment lines."""
    for arg in args:
        space = arg.comma.whitespace_after if isinstance(arg.comma, cst.Comma) else None
        if isinstance(space, cst.ParenthesizedWhitespace):
            return space.indent, space.last_line
    return True, cst.SimpleWhitespace("    ")


def _with_comments_after(arg: cst.Arg, comments: list[str], continuation) -> cst.Arg:
    """`arg` followed by `comments`, each on a line of its own, before the closing bracket."""
    indent, whitespace = continuation
    lines = [cst.EmptyLine(indent=indent, whitespace=whitespace, comment=cst.Comment(c)) for c in comments]
    comma = arg.comma if isinstance(arg.comma, cst.Comma) else None
    space = _carrying(comma.whitespace_after if comma is not None else arg.whitespace_after_arg, lines)
    if comma is not None:
        return arg.with_changes(comma=comma.with_changes(whitespace_after=space))
    return arg.with_changes(whitespace_after_arg=space)


def _carrying(space, lines: list[cst.EmptyLine]) -> cst.ParenthesizedWhitespace:
    """Whitespace inside brackets that carries these comment lines: added to its own lines when it
    already breaks the line, else the first comment ends the line and the others follow."""
    if isinstance(space, cst.ParenthesizedWhitespace):
        return space.with_changes(empty_lines=[*space.empty_lines, *lines])
    return cst.ParenthesizedWhitespace(
        first_line=cst.TrailingWhitespace(whitespace=cst.SimpleWhitespace("  "), comment=lines[0].comment),
        empty_lines=lines[1:],
        indent=True,
        last_line=cst.SimpleWhitespace(""),
    )
