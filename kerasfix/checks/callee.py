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
