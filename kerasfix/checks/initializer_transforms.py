"""The transform of KF378: a call of a Keras 1 `keras.initializations` function (`normal(shape, scale=0.05)`)
written as the Keras 3 initializer class it became, called on the shape (`RandomNormal(stddev=0.05)(shape)`).
Which class and how `scale` maps are the entry's options (rules/backend.toml)."""

from __future__ import annotations

import libcst as cst

from kerasfix.checks.callee import unspellable
from kerasfix.checks.rewrite import Plan, arguments_by_name, short
from kerasfix.checks.transform_registry import TransformRegistry
from kerasfix.spelling import spell

transform = TransformRegistry()  # merged in kerasfix/checks/transforms.py


def _plain(node: cst.BaseExpression) -> bool:
    """A literal number or a name (attribute chain): written twice, it is read twice with no side effect."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, (cst.Name, cst.Integer, cst.Float))


def _negated(node: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        return node.expression
    operand = node if _plain(node) else node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.UnaryOperation(cst.Minus(), operand)


@transform("keras1-initialization")
def keras1_initialization(entry, rewrite) -> None:
    """`initializations.normal(shape, scale=0.01, name=name)` -> `initializers.RandomNormal(stddev=0.01)(shape)`;
    `initializations.get(identifier)` -> `initializers.get(identifier)`."""
    name = short(rewrite.target)
    row = entry.options["functions"].get(name)
    if row is None:
        return
    new_name = row.get("class") or row["function"]
    symbol = f"keras.initializers.{new_name}"
    params = tuple(row["params"])
    given = arguments_by_name(rewrite, params, required=params[:1])
    if given is None:
        rewrite.add(entry.code, "none", f"use `{symbol}` (rewrite by hand: Keras 1's `{name}` took {', '.join(params)})")
        return
    if "dim_ordering" in given:
        rewrite.add(entry.code, "none", f"use `{symbol}` on a Keras 3 shape: kernels are channels_last, so `dim_ordering` has no counterpart")
        return
    spelled = spell(rewrite.ctx, symbol, rewrite.node, qualified="class" not in row)  # `initializers.get`, not a bare `get`
    if spelled is None:
        rewrite.add(entry.code, "none", f"use `{symbol}`; {unspellable(symbol)}")
        return
    if "class" in row:
        arguments = _class_arguments(row, given.get("scale"))
        if arguments is None:
            rewrite.add(entry.code, "none", f"use `{symbol}(minval=-scale, maxval=scale)` (give the scale a name first)")
            return
        new = cst.Call(func=cst.Call(func=spelled.expression, args=arguments), args=[cst.Arg(given["shape"])])
        shown = rewrite.ctx.module.code_for_node(new.func)
        detail = f"use `{shown}` called on the shape"
    else:
        new = cst.Call(func=spelled.expression, args=[cst.Arg(given[params[0]])])
        detail = f"use `{spelled.text}`"
    func = rewrite.node.func
    released = func if isinstance(func, cst.Name) else func.value if isinstance(func, cst.Attribute) else None

    def apply(plan: Plan) -> None:
        plan.requires.extend(spelled.requires)
        plan.writes.append(spelled.written)
        if isinstance(released, cst.Name):
            plan.releases.append(released.value)  # the Keras 1 import, removed once nothing uses it
        plan.replace_call = lambda call: new

    if "name" in given:
        detail += " (Keras 3 initializers make values, not named variables: `name` has no place)"
    notes = [entry.options["differs"] if "class" in row else entry.options["get_differs"], row.get("note", "")]
    rewrite.add(entry.code, "unsafe", "; ".join([detail, *filter(None, notes)]), apply)


def _class_arguments(row: dict, scale: cst.BaseExpression | None) -> list[cst.Arg] | None:
    """The Keras 3 class's arguments for Keras 1's `scale` (or its Keras 1 default where Keras 3's differs);
    None when `scale` would be written twice and is not a plain name or number."""
    if scale is None and row.get("keras1_scale"):
        scale = cst.parse_expression(row["keras1_scale"])
    if scale is None or "scale" not in row:
        return []
    if row["scale"] == "symmetric":  # uniform: U(-scale, scale)
        if not _plain(scale):
            return None
        return [cst.Arg(_negated(scale), keyword=cst.Name("minval"), equal=_EQUAL, comma=_COMMA), cst.Arg(scale, keyword=cst.Name("maxval"), equal=_EQUAL)]
    return [cst.Arg(scale, keyword=cst.Name(row["scale"]), equal=_EQUAL)]


_EQUAL = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))
_COMMA = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
