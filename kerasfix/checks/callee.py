"""Renaming a called Keras symbol in the spelling the code already uses."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from kerasfix.findings import Requirement, Written
from kerasfix.spelling import spell


@dataclass
class Callee:
    """The callee a fix writes in place of another: its expression, the imports it needs, the bare
    name of the old callee (which may become unused) and the names it writes (checked after the fix)."""

    expression: cst.BaseExpression
    requires: list[Requirement] = field(default_factory=list)
    releases: list[str] = field(default_factory=list)
    writes: list[Written] = field(default_factory=list)


def new_callee(ctx, func: cst.BaseExpression, module: str, name: str) -> Callee | None:
    """The expression that names `module.name` where `func` stood (kerasfix/spelling.py decides
    how), or None when no spelling is sure to mean it there.

    `merge` -> `concatenate` (imported like `merge` was); `KL.merge` -> `KL.concatenate`;
    `keras.engine.topology.merge` -> `keras.layers.concatenate`.
    """
    spelled = spell(ctx, f"{module}.{name}", func, func=func)
    if spelled is None:
        return None
    releases = [func.value] if isinstance(func, cst.Name) else []
    return Callee(spelled.expression, list(spelled.requires), releases, [spelled.written])


def retarget(callee: Callee, replacement: str):
    """The catalogue action (kerasfix/checks/rewrite.py, `Plan`) that makes a call call
    `replacement`, spelled as `callee`."""

    def apply(plan) -> None:
        plan.func = callee.expression
        plan.requires.extend(callee.requires)
        plan.releases.extend(callee.releases)
        plan.writes.extend(callee.writes)
        plan.target = replacement

    return apply


def unspellable(symbol: str) -> str:
    """Why a fix that would write `symbol` is not made."""
    short = symbol.rsplit(".", 1)[-1]
    return (
        f"no fix: every way of writing `{short}` here means something else in this file "
        f"(import `{symbol}` under a name of your own and call that)"
    )


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
