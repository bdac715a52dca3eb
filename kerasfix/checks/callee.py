"""Renaming a called Keras symbol in the spelling the code already uses."""

from __future__ import annotations

import libcst as cst

from kerasfix.checks.callargs import styled_module
from kerasfix.findings import Requirement
from kerasfix.names import dotted, normalise_root, style_of


def new_callee(ctx, func: cst.BaseExpression, module: str, name: str) -> tuple[cst.BaseExpression, list[Requirement], list[str]]:
    """The expression that names `module.name` where `func` stood, with the imports it needs.

    `merge` -> `concatenate` (imported like `merge` was); `KL.merge` -> `KL.concatenate`;
    `keras.engine.topology.merge` -> `keras.layers.concatenate`.
    """
    if isinstance(func, cst.Name):
        return cst.Name(name), [Requirement(module, name)], [func.value]
    if isinstance(func, cst.Attribute):
        base_raw = ctx.imports.resolve(func.value)
        if base_raw is not None and normalise_root(base_raw) == module:
            return func.with_changes(attr=cst.Name(name)), [], []
        chain = dotted(func)
        if chain is not None and base_raw is not None:
            head = chain.split(".")[0]
            head_raw = ctx.imports.resolve(cst.Name(head))
            wanted = styled_module(module, style_of(base_raw))
            if head_raw is not None and (wanted == head_raw or wanted.startswith(head_raw + ".")):
                spelled = head + wanted[len(head_raw):] + "." + name
                return cst.parse_expression(spelled), [], []
    return cst.Name(name), [Requirement(module, name)], []


def realigned(ctx, original: cst.Call, call: cst.Call, shift: int) -> cst.Call:
    """`call` (the rewrite of `original`) with the continuation lines that were aligned one past the
    original `(` moved by `shift` columns, so they stay aligned with the new `(`. `call` itself when
    no line moves."""
    if shift == 0:
        return call
    paren = ctx.column(ctx.span(original.func)[1])
    block = sum(len(indent) for indent in ctx.indentation(original))

    def moved(whitespace):
        if not isinstance(whitespace, cst.ParenthesizedWhitespace):
            return whitespace
        width = len(whitespace.last_line.value)
        column = (block if whitespace.indent else 0) + width
        if column != paren + 1 or column + shift <= block:
            return whitespace
        return whitespace.with_changes(last_line=cst.SimpleWhitespace(" " * (width + shift)))

    args = []
    for arg in call.args:
        if isinstance(arg.comma, cst.Comma):
            space = moved(arg.comma.whitespace_after)
            if space is not arg.comma.whitespace_after:
                arg = arg.with_changes(comma=arg.comma.with_changes(whitespace_after=space))
        args.append(arg)
    if all(new is old for new, old in zip(args, call.args)):
        return call
    return call.with_changes(args=args)
