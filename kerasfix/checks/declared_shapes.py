"""KF309: a custom layer's `compute_output_shape` that returns a dimension made by true division (`/`).

tf.keras 2 built Functional models by running `call()` on symbolic tensors and never asked a custom layer's
`compute_output_shape`; standalone Keras 2 kept what it returned beside the tensor, float or not. Keras 3 makes
the layer's output `KerasTensor` from `compute_output_shape` whenever a layer defines it, and refuses a float
dimension: `Cannot convert '(None, 1.0)' to a shape. Found invalid dimension '1.0' of type <class 'float'>`.
"""

from __future__ import annotations

import libcst as cst

from kerasfix.rule import Checker, Example, RuleSpec, make_fix, replace_node
from kerasfix.spelling import file_scopes

KF309 = RuleSpec(
    code="KF309",
    name="float-output-dimension",
    summary="A custom layer's `compute_output_shape` returns a dimension computed with `/`: Keras 3 refuses float dimensions",
    fix_safety="unsafe",
    removed_in="3.0",
    what=(
        "Finds, in the `compute_output_shape` of a custom Keras layer, a dimension of the returned tuple or list "
        "written as a true division (`(None, n * (n - 1) / 2)`), and makes it an int: `int(n * (n - 1) / 2)`."
    ),
    why=(
        "Keras 3 takes the output shape of a layer that defines `compute_output_shape` from that method when a "
        "Functional model is built, and a dimension must be an int or `None`: `/` makes a float, and the model "
        "fails with `Cannot convert '(None, 1.0)' to a shape`. tf.keras 2 ran `call()` to find the shape and "
        "never used the method's answer, so the float went unnoticed."
    ),
    fix_note=(
        "Unsafe: `int(...)` is the dimension only when the division is exact (as the number of pairs "
        "`n * (n - 1) / 2` is); where it is not, the declared dimension was wrong before and now rounds down: "
        "compare it with what `call()` returns. No fix where the file binds `int` to something else."
    ),
    examples=(
        Example(
            "from tensorflow.keras.layers import Layer\n"
            "class Pairs(Layer):\n"
            "    def compute_output_shape(self, input_shape):\n"
            "        fields = int(input_shape[1])\n"
            "        return (None, fields * (fields - 1) / 2)\n",
            "from tensorflow.keras.layers import Layer\n"
            "class Pairs(Layer):\n"
            "    def compute_output_shape(self, input_shape):\n"
            "        fields = int(input_shape[1])\n"
            "        return (None, int(fields * (fields - 1) / 2))\n",
            unsafe=True,
        ),
        Example(
            "from tensorflow.keras.layers import Layer\n"
            "class Pairs(Layer):\n"
            "    def compute_output_shape(self, input_shape):\n"
            "        fields = len(input_shape)\n"
            "        return (None, int(fields * (fields - 1) / 2))\n",
            valid=True,
        ),
        Example("class Box:\n    def compute_output_shape(self, size):\n        return (size / 2, size / 2)\n", valid=True),
    ),
)


def _divisions(value: cst.BaseExpression) -> list[cst.BinaryOperation]:
    """The dimensions of a returned tuple or list literal that are a true division at their top."""
    if not isinstance(value, (cst.Tuple, cst.List)):
        return []
    found = []
    for element in value.elements:
        if isinstance(element, cst.Element):
            item = element.value
            if isinstance(item, cst.BinaryOperation) and isinstance(item.operator, cst.Divide):
                found.append(item)
    return found


class _Returns(cst.CSTVisitor):
    """The return values of one function, nested functions and classes left out."""

    def __init__(self) -> None:
        super().__init__()
        self.values: list[cst.BaseExpression] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Return(self, node: cst.Return) -> None:
        if node.value is not None:
            self.values.append(node.value)


class DeclaredShapeChecker(Checker):
    specs = (KF309,)
    tokens = ("compute_output_shape",)

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._layers: set[str] = set()  # classes of this file that are Keras layers

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if not any(self._is_layer(base.value) for base in node.bases if base.keyword is None):
            return
        self._layers.add(node.name.value)
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
        for statement in body:
            if isinstance(statement, cst.FunctionDef) and statement.name.value == "compute_output_shape":
                self._check(statement)

    def _is_layer(self, base: cst.BaseExpression) -> bool:
        name = self.ctx.qualified(base)
        if name is not None:
            return name.startswith("keras.layers.")
        return isinstance(base, cst.Name) and base.value in self._layers

    def _check(self, method: cst.FunctionDef) -> None:
        returns = _Returns()
        method.body.visit(returns)
        for value in returns.values:
            for division in _divisions(value):
                old = self.ctx.code_for(division)
                message = (f"`{old}` is a float; Keras 3 takes this layer's output shape from `compute_output_shape` "
                           "and refuses float dimensions: make it an int")
                if not self._int_is_builtin():
                    self.report(division, "KF309", message)
                    continue
                new = cst.Call(func=cst.Name("int"), args=[cst.Arg(division.with_changes(lpar=[], rpar=[]))])
                fix = make_fix("unsafe", "Make it an int: `int(...)`", [replace_node(self.ctx, division, new)])
                self.report(division, "KF309", message, fix)

    def _int_is_builtin(self) -> bool:
        table = self.ctx.imports
        return not table.star_modules and "int" not in file_scopes(self.ctx).anywhere and "int" not in table.bindings
