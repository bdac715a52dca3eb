"""Which code of a file is model code, the code `--target portable` moves off TensorFlow (KF5xx).

Model code is, read from the source without running it:
- the body of every class whose base is a Keras layer, model, loss or metric (`keras.layers.*`,
  `keras.Model`, `keras.Sequential`, `keras.losses.*`, `keras.metrics.*`), or a class of the same
  file that is one, transitively: all its methods (`build`, `call`, `compute_output_shape`,
  `train_step`, `__init__`, ...);
- every function of the file passed by name as a loss or metric (`compile(loss=..., metrics=[...])`,
  also by position, or inside a list, tuple or dict; `custom_objects={...}`), or called there
  (`loss=weighted_loss(2.0)`: the factory and the function it defines), or given to a `Lambda` layer
  (`Lambda(fn)`, `Lambda(function=fn)`), and every `lambda` written inside `Lambda(...)`;
- what is nested in any of these.

The Functional construction outside them (module code and model-building functions) is the model
graph's: TensorFlow functions applied there to Keras tensors are KF501. Data pipelines (`tf.data`) and
training scripts around the model are none of these, and are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

MODEL_BASE_PREFIXES = ("keras.layers.", "keras.losses.", "keras.metrics.", "keras.models.")
MODEL_BASES = ("keras.Model", "keras.Sequential", "keras.Layer", "keras.Loss", "keras.Metric")
LAYER_BASE_PREFIXES = ("keras.layers.", "keras.models.")
LAYER_BASES = ("keras.Model", "keras.Sequential", "keras.Layer")
_LOSS_KEYWORDS = ("loss", "metrics", "weighted_metrics", "custom_objects")


@dataclass
class ModelCode:
    """The file's model code: the nodes whose whole body is model code, and the layer classes among them."""

    owners: dict[int, cst.CSTNode] = field(default_factory=dict)  # id -> ClassDef, FunctionDef or Lambda
    layers: set[int] = field(default_factory=set)  # ids of classes that are layers or models (hold state)


def model_code(ctx) -> ModelCode:
    """The file's model code, found once per file."""
    return ctx.cached("model code", lambda: _find(ctx))


def owner(ctx, node: cst.CSTNode) -> cst.CSTNode | None:
    """The outermost class, function or lambda of model code that holds `node`, or None when `node` is
    not model code."""
    found = model_code(ctx).owners
    result = None
    current = ctx.parent(node)
    while current is not None:
        if id(current) in found:
            result = current
        current = ctx.parent(current)
    return result


def layer_method(ctx, node: cst.CSTNode) -> tuple[cst.ClassDef, cst.FunctionDef] | None:
    """The layer (or model) class and its method that hold `node`, when `node` is in a method of one."""
    layers = model_code(ctx).layers
    current = ctx.parent(node)
    method = None
    while current is not None:
        if isinstance(current, cst.FunctionDef):
            method = current
        if isinstance(current, cst.ClassDef):
            if id(current) in layers and method is not None and _is_member(current, method):
                return current, method
            return None
        current = ctx.parent(current)
    return None


def _is_member(cls: cst.ClassDef, function: cst.FunctionDef) -> bool:
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    return any(statement is function for statement in body)


def _find(ctx) -> ModelCode:
    collector = _Collector(ctx)
    ctx.module.visit(collector)
    found = ModelCode()
    # classes: a Keras base, or a class of this file found to be model code (in source order, so a
    # subclass of a subclass counts once its base has been seen)
    model_classes: dict[str, bool] = {}  # name -> is a layer
    for node in collector.classes:
        kind = None
        for base in node.bases:
            if base.keyword is not None:
                continue
            kind = kind or _base_kind(ctx, base.value, model_classes)
        if kind is not None:
            model_classes[node.name.value] = kind == "layer"
            found.owners[id(node)] = node
            if kind == "layer":
                found.layers.add(id(node))
    for name in collector.passed:
        for function in collector.functions.get(name, ()):
            found.owners[id(function)] = function
    for node in collector.lambdas:
        found.owners[id(node)] = node
    return found


def _base_kind(ctx, base: cst.BaseExpression, local: dict[str, bool]) -> str | None:
    """"layer" for a layer or model base, "other" for a loss or metric base, None for anything else."""
    name = ctx.qualified(base)
    if name is not None:
        if name in LAYER_BASES or name.startswith(LAYER_BASE_PREFIXES):
            return "layer"
        if name in MODEL_BASES or name.startswith(MODEL_BASE_PREFIXES):
            return "other"
        return None
    if isinstance(base, cst.Name) and base.value in local:
        return "layer" if local[base.value] else "other"
    return None


class _Collector(cst.CSTVisitor):
    """Classes, functions by name, and the names and lambdas passed as losses, metrics and `Lambda` functions."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.classes: list[cst.ClassDef] = []
        self.functions: dict[str, list[cst.FunctionDef]] = {}
        self.passed: set[str] = set()
        self.lambdas: list[cst.Lambda] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append(node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.setdefault(node.name.value, []).append(node)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if self.ctx.qualified(func) == "keras.layers.Lambda":
            for index, arg in enumerate(node.args):
                if (arg.keyword is None and index == 0) or (arg.keyword is not None and arg.keyword.value == "function"):
                    self._take(arg.value)
            return
        if isinstance(func, cst.Attribute) and func.attr.value in ("compile", "load_model") or self.ctx.qualified(func) in (
            "keras.models.load_model", "keras.saving.load_model",
        ):
            positional = [arg for arg in node.args if arg.keyword is None]
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value in _LOSS_KEYWORDS:
                    self._take(arg.value)
            if isinstance(func, cst.Attribute) and func.attr.value == "compile":
                for arg in positional[1:3]:  # compile(optimizer, loss, metrics)
                    self._take(arg.value)

    def _take(self, value: cst.BaseExpression) -> None:
        if isinstance(value, cst.Name):
            self.passed.add(value.value)
        elif isinstance(value, cst.Lambda):
            self.lambdas.append(value)
        elif isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
            self.passed.add(value.func.value)  # a factory: `loss=focal_loss(gamma=2.0)`
        elif isinstance(value, (cst.List, cst.Tuple, cst.Set)):
            for element in value.elements:
                self._take(element.value)
        elif isinstance(value, cst.Dict):
            for element in value.elements:
                if isinstance(element, cst.DictElement):
                    self._take(element.value)


def super_init(init: cst.FunctionDef) -> cst.SimpleStatementLine | None:
    """The statement of `__init__` that calls `super().__init__(...)` (or `super(Cls, self).__init__`)."""
    body = init.body.body if isinstance(init.body, cst.IndentedBlock) else ()
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                value = small.value if isinstance(small, cst.Expr) else None
                if (
                    isinstance(value, cst.Call)
                    and isinstance(value.func, cst.Attribute)
                    and value.func.attr.value == "__init__"
                    and isinstance(value.func.value, cst.Call)
                    and isinstance(value.func.value.func, cst.Name)
                    and value.func.value.func.value == "super"
                ):
                    return statement
    return None


def method_of(cls: cst.ClassDef, name: str) -> cst.FunctionDef | None:
    body = cls.body.body if isinstance(cls.body, cst.IndentedBlock) else ()
    for statement in body:
        if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
            return statement
    return None


def self_name(method: cst.FunctionDef) -> str | None:
    params = method.params.params
    return params[0].name.value if params else None
