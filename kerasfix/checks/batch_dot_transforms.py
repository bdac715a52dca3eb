"""The transform of KF377: Keras 2's `K.batch_dot(x, y, axes)` written as `keras.ops.einsum` with subscripts
read from the entry's options, one per form of `axes` (the ranks of the tensors are assumed from it)."""

from __future__ import annotations

import libcst as cst

from kerasfix.checks.callee import unspellable
from kerasfix.checks.rewrite import Plan, arguments_by_name, short
from kerasfix.checks.transform_registry import TransformRegistry
from kerasfix.spelling import spell

transform = TransformRegistry()  # merged in kerasfix/checks/transforms.py

PARAMS = ("x", "y", "axes")


def axes_key(node: cst.BaseExpression | None) -> str | None:
    """`axes` as a key of the options' `subscripts`: "default" when left out, "2,2" for `2`, `(2, 2)` or
    `[2, 2]`; None for anything else (a name, a negative axis: the ranks cannot be read from it)."""
    if node is None:
        return "default"
    if isinstance(node, cst.Integer):
        return f"{node.evaluated_value},{node.evaluated_value}"
    if isinstance(node, (cst.Tuple, cst.List)) and len(node.elements) == 2:
        values = [element.value for element in node.elements]
        if all(isinstance(value, cst.Integer) and not isinstance(element, cst.StarredElement)
               for value, element in zip(values, node.elements)):
            return ",".join(str(value.evaluated_value) for value in values)
    return None


@transform("batch-dot-einsum")
def batch_dot_einsum(entry, rewrite) -> None:
    """`K.batch_dot(x, y, axes=(2, 2))` -> `ops.einsum("bij,bkj->bik", x, y)` (unsafe: the ranks are assumed)."""
    name = short(rewrite.target)
    given = arguments_by_name(rewrite, PARAMS, required=("x", "y"))
    if given is None:
        rewrite.add(entry.code, "none", f"rewrite `{name}` with `keras.ops.einsum` by hand (Keras 2 took `x`, `y` and `axes`)")
        return
    key = axes_key(given.get("axes"))
    subscripts = entry.options["subscripts"].get(key) if key else None
    if subscripts is None:
        rewrite.add(entry.code, "none", f"{entry.options['by_hand']}")
        return
    spelled = spell(rewrite.ctx, "keras.ops", rewrite.node, qualified=True)
    if spelled is None:
        rewrite.add(entry.code, "none", f"use `keras.ops.einsum`; {unspellable('keras.ops')}")
        return
    x, y = given["x"], given["y"]
    ops = spelled.expression

    def einsum() -> cst.Call:
        call = cst.Call(
            func=cst.Attribute(value=ops, attr=cst.Name("einsum")),
            args=[cst.Arg(cst.SimpleString(repr(subscripts))), cst.Arg(x), cst.Arg(y)],
        )
        if subscripts.endswith("->b"):  # both 2-D: Keras 2 returned shape (batch, 1), einsum (batch,)
            return cst.Call(func=cst.Attribute(value=ops, attr=cst.Name("expand_dims")), args=[cst.Arg(call), cst.Arg(cst.UnaryOperation(cst.Minus(), cst.Integer("1")))])
        return call

    def apply(plan: Plan) -> None:
        plan.requires.extend(spelled.requires)
        plan.writes.append(spelled.written)
        plan.replace_call = lambda call: einsum()

    ranks = "2-D" if subscripts.endswith("->b") else "3-D"
    detail = (f"use `{spelled.text}.einsum({subscripts!r}, ...)`, which is `{name}` for {ranks} inputs "
              f"({entry.options['assumption']})")
    rewrite.add(entry.code, "unsafe", detail, apply)
