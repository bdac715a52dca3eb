"""The transform of KF399: Keras 2's `K.in_train_phase(x, alt, training=training)` written as the Python
conditional `x if training else alt` on the `training` argument Keras 3 passes to a layer's `call`."""

from __future__ import annotations

import libcst as cst

from kerasfix.checks.rewrite import Plan, arguments_by_name, short
from kerasfix.checks.transform_registry import TransformRegistry

transform = TransformRegistry()  # merged in kerasfix/checks/transforms.py

PARAMS = ("x", "alt", "training")
# where a conditional expression needs no brackets: the whole value of an assignment, return or argument
_BARE_PARENTS = (cst.Assign, cst.Return, cst.Arg, cst.AnnAssign)


def _defined_functions(ctx) -> set[str]:
    """The names of every function the file defines with `def`, at any depth (the engine's shared walk)."""
    return {node.name.value for node in ctx.nodes_of(cst.FunctionDef)}


def _value(node: cst.BaseExpression, functions: set[str]) -> cst.BaseExpression | None:
    """What Keras 2 used of a branch: a function of no arguments is called (a lambda's body, `f()` for a
    function the file defines with `def`), anything else is the value itself; None for a lambda that
    takes arguments."""
    if isinstance(node, cst.Lambda):
        params = node.params
        if params.params or params.posonly_params or params.kwonly_params or isinstance(params.star_arg, cst.Param) or params.star_kwarg:
            return None
        body = node.body
        return body if isinstance(body, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)) else body.with_changes(
            lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    if isinstance(node, cst.Name) and node.value in functions:
        return cst.Call(func=node)
    if isinstance(node, (cst.IfExp, cst.Lambda, cst.NamedExpr)) and not node.lpar:
        return node.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return node


def _enclosing_training(ctx, node: cst.CSTNode) -> bool:
    """Whether the innermost function around `node` has a parameter named `training`."""
    current = ctx.parent(node)
    while current is not None and not isinstance(current, cst.FunctionDef):
        current = ctx.parent(current)
    if current is None:
        return False
    params = current.params
    return any(param.name.value == "training" for param in (*params.posonly_params, *params.params, *params.kwonly_params))


@transform("train-phase-conditional")
def train_phase_conditional(entry, rewrite) -> None:
    """`K.in_train_phase(x, alt, training=t)` -> `x if t else alt` (`K.in_test_phase` swaps the branches)."""
    name = short(rewrite.target)
    given = arguments_by_name(rewrite, PARAMS, required=("x", "alt"))
    if given is None:
        rewrite.add(entry.code, "none", f"write `{name}` as a conditional on `training` by hand")
        return
    training = given.get("training")
    if training is None or (isinstance(training, cst.Name) and training.value == "None"):
        if not _enclosing_training(rewrite.ctx, rewrite.node):
            rewrite.add(entry.code, "none", entry.options["no_training"])
            return
        training = cst.Name("training")  # Keras 2 read the learning phase; Keras 3 passes it to `call`
    functions = rewrite.ctx.cached("defined-functions", lambda: _defined_functions(rewrite.ctx))
    chosen, other = (given["x"], given["alt"]) if name == "in_train_phase" else (given["alt"], given["x"])
    body, orelse = _value(chosen, functions), _value(other, functions)
    if body is None or orelse is None:
        rewrite.add(entry.code, "none", f"write `{name}` as a conditional on `training` by hand (a branch is a function of arguments)")
        return
    test = training if not isinstance(training, (cst.IfExp, cst.Lambda)) else training.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    space = cst.SimpleWhitespace(" ")
    new: cst.BaseExpression = cst.IfExp(test=test, body=body, orelse=orelse, whitespace_before_if=space, whitespace_after_if=space,
                                         whitespace_before_else=space, whitespace_after_else=space)
    if not isinstance(rewrite.ctx.parent(rewrite.node), _BARE_PARENTS):
        new = new.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])

    def apply(plan: Plan) -> None:
        plan.replace_call = lambda call: new

    shown = rewrite.ctx.module.code_for_node(new)
    rewrite.add(entry.code, "unsafe", f"use `{shown}` ({entry.options['differs']})", apply)
