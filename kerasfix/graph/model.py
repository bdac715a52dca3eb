"""The model graph read from source: Sequential and Functional models, interpreted statically.

A small abstract interpreter walks a module's statements in order, tracking constants, layer
instances, tensors and models, inlining calls of the file's own model-building functions. Anything it
does not understand becomes `Unknown`, so shapes and counts are either right or unknown, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from kerasfix.graph import layers as L
from kerasfix.names import ImportTable

MAX_LOOP = 64  # a `for` loop over a longer constant range is not unrolled
MAX_DEPTH = 8  # inlined function calls


class Unknown:
    """A value the source does not state."""

    def __repr__(self) -> str:
        return "?"


UNKNOWN_VALUE = Unknown()


@dataclass(eq=False)
class LayerNode:
    """A layer instance: created once, possibly called several times (shared weights)."""

    type_name: str
    config: dict
    name: str
    node: cst.CSTNode
    explicit_name: bool = False
    calls: int = 0
    info: L.LayerInfo | None = None
    model: "ModelGraph | None" = None  # when the layer is a nested model
    input_shape_arg: L.Shape | None = None  # from input_shape=/input_dim=/batch_input_shape=
    created: int = 0  # creation order in the program, for Keras's layer order
    custom: bool = False  # an instance of a layer class the program defines: its shapes and weights are not inferred


@dataclass(eq=False)
class Tensor:
    shape: L.Shape
    layer: LayerNode | None  # the layer that produced it (None for unknown origins)
    inputs: list["Tensor"] = field(default_factory=list)
    index: int = 0
    is_input: bool = False
    node: cst.CSTNode | None = None


@dataclass(eq=False)
class ModelGraph:
    kind: str  # "Sequential" or "Functional"
    name: str  # Keras's name for it (sequential, functional, or name=)
    node: cst.CSTNode
    layers: list[LayerNode] = field(default_factory=list)
    inputs: list[Tensor] = field(default_factory=list)
    outputs: list[Tensor] = field(default_factory=list)
    variable: str = ""
    complete: bool = True  # False when part of its definition was not understood
    input_layer: LayerNode | None = None  # a Sequential's explicit keras.Input
    # (node, the name of the rule it breaks, the facts its message names); kerasfix/checks/graph.py words them
    issues: list[tuple[cst.CSTNode, str, dict]] = field(default_factory=list)
    # built again by the same code when a function not called at module level is run with its defaults
    # (`main()` calling `build()`, which also ran by itself): the graph rules see it, a summary lists it once
    repeat: bool = False

    def output_shape(self) -> L.Shape | list[L.Shape]:
        if self.kind == "Sequential":
            if not self.layers:
                return None
            info = self.layers[-1].info
            return info.output_shape if info else None
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def params(self) -> tuple[int | None, int | None, int | None]:
        totals = [0, 0, 0]
        for layer in self.layers:
            info = layer.info
            values = (info.params, info.trainable_params, info.non_trainable_params) if info else (None, None, None)
            for position, value in enumerate(values):
                if value is None or totals[position] is None:
                    totals[position] = None
                else:
                    totals[position] += value
        return tuple(totals)  # type: ignore[return-value]


@dataclass
class Function:
    node: cst.FunctionDef


@dataclass(eq=False)
class CustomClass:
    """A Keras layer or model class the program defines (`class MyLayer(keras.layers.Layer)`): its
    instances are layers of known name and type whose shapes and weights are not worked out."""

    name: str
    node: cst.ClassDef


class _Return(Exception):
    def __init__(self, value: Any) -> None:
        self.value = value


def snake_case(name: str) -> str:
    # Keras names layers after their class in snake case: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class Interpreter:
    """Interprets one module and collects the models it builds."""

    def __init__(self, module: cst.Module, imports: ImportTable) -> None:
        self.module = module
        self.imports = imports
        self.names: dict[str, int] = {}
        self.models: list[ModelGraph] = []
        self.functions: dict[str, Function] = {}
        self.depth = 0
        self.created = 0
        self.issues: list[tuple[cst.CSTNode, str, dict]] = []  # (node, rule name, facts)
        self.tensors: list[Tensor] = []  # every tensor a layer call produced, in order
        # Keras's configured image data format: its default, as the layer shapes assume, until the
        # program sets another with `set_image_data_format`
        self.data_format: Any = "channels_last"

    # -- naming, as Keras does in a fresh session

    def new_layer(self, *args, **kwargs) -> LayerNode:
        self.created += 1
        return LayerNode(*args, created=self.created, **kwargs)

    def unique_name(self, base: str) -> str:
        count = self.names.get(base, 0)
        self.names[base] = count + 1
        return base if count == 0 else f"{base}_{count}"

    # -- statements

    def run(self) -> list[ModelGraph]:
        env: dict[str, Any] = {}
        self.exec_block(self.module.body, env)
        seen: set[int] = set()
        for name, value in env.items():
            if isinstance(value, ModelGraph) and id(value) not in seen:
                seen.add(id(value))
                value.variable = value.variable or name
        # Functions that build a model but are never called at module level: evaluate with defaults.
        built = {id(model.node): model for model in self.models}  # each model's code, at its first build
        for name, function in list(self.functions.items()):  # a builder may define functions of its own
            if function.node in self._called_functions:
                continue
            start = len(self.models)
            try:
                result = self.call_function(function, [], {}, env)
            except Exception:  # noqa: BLE001 - an interpretation failure leaves the model unknown
                result = None
            for model in _models_in(result):
                model.variable = model.variable or f"{name}()"
            # A model this run built again from code an earlier run built it from is a repeat; models
            # one run builds several times from the same code (in a loop) are all real.
            earlier = dict(built)
            for model in self.models[start:]:
                first = earlier.get(id(model.node))
                if first is None:
                    built.setdefault(id(model.node), model)
                elif first.variable or not model.variable:
                    model.repeat = True
                else:  # the repeat has the better name (`build()` rather than Keras's `functional_1`)
                    first.repeat = True
                    built[id(model.node)] = earlier[id(model.node)] = model
        return self.models

    _called_functions: set = set()

    def exec_block(self, body, env: dict) -> None:
        for statement in body:
            self.exec_statement(statement, env)

    def exec_statement(self, statement, env: dict) -> None:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                self.exec_small(small, env)
        elif isinstance(statement, cst.FunctionDef):
            self.functions[statement.name.value] = Function(statement)
            env[statement.name.value] = Function(statement)
        elif isinstance(statement, cst.If):
            test = self.eval(statement.test, env)
            if _plain(test) and not isinstance(test, bool):
                test = bool(test)  # `if 1:`, `if mode:` on a constant the source states
            if test is True or (self._is_main_guard(statement.test)):
                if not self._is_main_guard(statement.test):
                    self.exec_block(statement.body.body, env)
                # the `if __name__ == "__main__":` block trains and evaluates; models are built above it
                return
            if test is False:
                if statement.orelse is not None:
                    self.exec_statement_orelse(statement.orelse, env)
                return
            self._forget_assigned(statement, env)
        elif isinstance(statement, cst.For):
            self.exec_for(statement, env)
        elif isinstance(statement, (cst.With,)):
            self.exec_block(statement.body.body, env)
        elif isinstance(statement, cst.Try):
            self.exec_block(statement.body.body, env)
        elif isinstance(statement, cst.ClassDef):
            env[statement.name.value] = self.custom_class(statement, env)
        else:
            self._forget_assigned(statement, env)

    def exec_statement_orelse(self, orelse, env: dict) -> None:
        if isinstance(orelse, cst.If):
            self.exec_statement(orelse, env)
        else:
            self.exec_block(orelse.body.body, env)

    def custom_class(self, statement: cst.ClassDef, env: dict) -> Any:
        """A class deriving from a Keras layer or model (or from such a class of the program's own)."""
        for base in statement.bases:
            if base.keyword is not None:
                continue
            qualified = self.imports.qualified(base.value)
            if qualified is not None and (qualified.startswith("keras.layers.") or qualified in _LAYER_BASES):
                return CustomClass(statement.name.value, statement)
            if isinstance(self.eval(base.value, env), CustomClass):
                return CustomClass(statement.name.value, statement)
        return UNKNOWN_VALUE

    def _is_main_guard(self, test) -> bool:
        return isinstance(test, cst.Comparison) and isinstance(test.left, cst.Name) and test.left.value == "__name__"

    def _forget_assigned(self, statement, env: dict) -> None:
        """Names assigned in a block we cannot follow become unknown."""

        from kerasfix.walk import walk

        names: set[str] = set()

        def enter(node: cst.CSTNode, _parent) -> None:  # a read-only walk: `visit` rebuilds the statement
            if type(node) is cst.AssignTarget:
                names.update(_target_names(node.target))

        walk(statement, enter)
        for name in names:
            env[name] = UNKNOWN_VALUE

    def exec_for(self, statement: cst.For, env: dict) -> None:
        iterable = self.eval(statement.iter, env)
        if isinstance(iterable, (list, tuple, range)) and len(iterable) <= MAX_LOOP and statement.orelse is None:
            for item in iterable:
                self.assign(statement.target, item, env)
                self.exec_block(statement.body.body, env)
            return
        self._forget_assigned(statement, env)
        for model in {id(m): m for m in env.values() if isinstance(m, ModelGraph)}.values():
            if _mentions(statement, model, env):
                model.complete = False

    def exec_small(self, small, env: dict) -> None:
        if isinstance(small, cst.Assign):
            value = self.eval(small.value, env)
            for target in small.targets:
                self.assign(target.target, value, env)
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            self.assign(small.target, self.eval(small.value, env), env)
        elif isinstance(small, cst.AugAssign):
            current = self.eval(small.target, env)
            right = self.eval(small.value, env)
            operator = type(small.operator).__name__.replace("Assign", "")
            self.assign(small.target, _arithmetic(operator, current, right), env)
        elif isinstance(small, cst.Expr):
            self.eval(small.value, env)
        elif isinstance(small, cst.Return):
            raise _Return(self.eval(small.value, env) if small.value is not None else None)

    def assign(self, target, value, env: dict) -> None:
        if isinstance(target, cst.Name):
            env[target.value] = value
            if isinstance(value, ModelGraph) and self.depth == 0:
                value.variable = target.value  # a model is known by its module-level name
        elif isinstance(target, (cst.Tuple, cst.List)):
            elements = [e.value for e in target.elements]
            if isinstance(value, (list, tuple)) and len(value) == len(elements):
                for element, item in zip(elements, value):
                    self.assign(element, item, env)
            else:
                for element in elements:
                    self.assign(element, UNKNOWN_VALUE, env)

    # -- expressions

    def eval(self, node, env: dict) -> Any:
        if isinstance(node, (cst.Integer, cst.Float, cst.SimpleString)):
            from kerasfix.checks.callargs import literal

            return literal(node)
        if isinstance(node, cst.Name):
            if node.value in ("True", "False", "None"):
                return {"True": True, "False": False, "None": None}[node.value]
            if node.value in env:
                return env[node.value]
            return UNKNOWN_VALUE
        if isinstance(node, (cst.Tuple, cst.List)):
            values = []
            for element in node.elements:
                if isinstance(element, cst.StarredElement):
                    inner = self.eval(element.value, env)
                    if isinstance(inner, (list, tuple)):
                        values.extend(inner)
                        continue
                    return UNKNOWN_VALUE
                values.append(self.eval(element.value, env))
            return tuple(values) if isinstance(node, cst.Tuple) else values
        if isinstance(node, cst.Dict):
            result = {}
            for element in node.elements:
                if not isinstance(element, cst.DictElement):
                    return UNKNOWN_VALUE
                key = self.eval(element.key, env)
                if isinstance(key, Unknown):
                    return UNKNOWN_VALUE
                result[key] = self.eval(element.value, env)
            return result
        if isinstance(node, cst.UnaryOperation):
            value = self.eval(node.expression, env)
            if isinstance(node.operator, cst.Minus) and isinstance(value, (int, float)):
                return -value
            if isinstance(node.operator, cst.Not) and _plain(value):
                return not value
            return UNKNOWN_VALUE
        if isinstance(node, cst.BinaryOperation):
            left, right = self.eval(node.left, env), self.eval(node.right, env)
            if isinstance(left, Tensor) or isinstance(right, Tensor):
                # Keras 3 overloads arithmetic on Keras tensors (`x * 4.0`): still a Keras tensor
                return _op_result([left, right])
            return _arithmetic(type(node.operator).__name__, left, right)
        if isinstance(node, cst.Subscript):
            return self.eval_subscript(node, env)
        if isinstance(node, cst.Attribute):
            return self.eval_attribute(node, env)
        if isinstance(node, cst.Call):
            return self.eval_call(node, env)
        if isinstance(node, cst.Comparison):
            return self.eval_comparison(node, env)
        if isinstance(node, cst.BooleanOperation):
            left, right = self.eval(node.left, env), self.eval(node.right, env)
            if not (_plain(left) and _plain(right)):
                return UNKNOWN_VALUE
            return (left and right) if isinstance(node.operator, cst.And) else (left or right)
        return UNKNOWN_VALUE

    def eval_comparison(self, node: cst.Comparison, env: dict) -> Any:
        """`a == 'th'`, `n > 1`, `mode in ('a', 'b')` on constants the source states; else unknown."""
        left = self.eval(node.left, env)
        result = True
        for target in node.comparisons:
            right = self.eval(target.comparator, env)
            if not (_plain(left) and _plain(right)):
                return UNKNOWN_VALUE
            compare = _COMPARISONS.get(type(target.operator).__name__)
            if compare is None:
                return UNKNOWN_VALUE
            try:
                outcome = compare(left, right)
            except TypeError:
                return UNKNOWN_VALUE
            result = result and bool(outcome)
            left = right
        return result

    def eval_subscript(self, node: cst.Subscript, env: dict) -> Any:
        value = self.eval(node.value, env)
        if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
            return UNKNOWN_VALUE
        index = self.eval(node.slice[0].slice.value, env)
        if isinstance(value, (list, tuple)) and isinstance(index, int) and -len(value) <= index < len(value):
            return value[index]
        if isinstance(value, dict) and not isinstance(index, Unknown) and index in value:
            return value[index]
        return UNKNOWN_VALUE

    def eval_attribute(self, node: cst.Attribute, env: dict) -> Any:
        base = self.eval(node.value, env) if not self.imports.qualified(node) else UNKNOWN_VALUE
        attribute = node.attr.value
        if isinstance(base, ModelGraph):
            if attribute in ("output", "outputs"):
                outputs = _model_outputs(base)
                return outputs if attribute == "outputs" else (outputs[0] if len(outputs) == 1 else outputs)
            if attribute in ("input", "inputs"):
                inputs = base.inputs
                return inputs if attribute == "inputs" else (inputs[0] if len(inputs) == 1 else inputs)
        if isinstance(base, Tensor) and attribute == "shape":
            return base.shape if base.shape is not None else UNKNOWN_VALUE
        return UNKNOWN_VALUE

    def eval_call(self, node: cst.Call, env: dict) -> Any:
        qualified = self.imports.qualified(node.func)
        args = [self.eval(a.value, env) for a in node.args if a.keyword is None and not a.star]
        kwargs = {a.keyword.value: self.eval(a.value, env) for a in node.args if a.keyword is not None}
        if any(a.star for a in node.args):
            return UNKNOWN_VALUE
        if qualified is not None:
            return self.keras_call(qualified, node, args, kwargs, env)
        raw = self.imports.resolve(node.func)
        if raw is not None and raw.startswith("tensorflow.") and _holds_tensor([*args, *kwargs.values()]):
            # Keras 3: "A KerasTensor cannot be used as input to a TensorFlow function"
            self.issues.append((node, "tf-op-on-keras-tensor", {"op": "tf" + raw[len("tensorflow"):]}))
            return _op_result([*args, *kwargs.values()])
        func = node.func
        if isinstance(func, cst.Attribute):
            owner = self.eval(func.value, env)
            method = func.attr.value
            if isinstance(owner, ModelGraph):
                return self.model_method(owner, method, node, args, kwargs)
            if isinstance(owner, LayerNode) and method == "get_output_at":
                return UNKNOWN_VALUE
            return UNKNOWN_VALUE
        callee = self.eval(func, env)
        if isinstance(callee, LayerNode):
            return self.apply_layer(callee, node, args, kwargs)
        if isinstance(callee, ModelGraph):
            return self.apply_model(callee, node, args)
        if isinstance(callee, Function):
            self._called_functions.add(callee.node)
            return self.call_function(callee, args, kwargs, env)
        if isinstance(callee, CustomClass):
            return self.make_custom_layer(callee, node, kwargs)
        if isinstance(func, cst.Name) and func.value in _BUILTINS:
            return _BUILTINS[func.value](args, kwargs)
        return UNKNOWN_VALUE

    def call_function(self, function: Function, args: list, kwargs: dict, env: dict) -> Any:
        if self.depth >= MAX_DEPTH:
            return UNKNOWN_VALUE
        local = {k: v for k, v in env.items()}
        params = function.node.params
        positional = [*params.posonly_params, *params.params]
        for index, param in enumerate(positional):
            name = param.name.value
            if index < len(args):
                local[name] = args[index]
            elif name in kwargs:
                local[name] = kwargs[name]
            elif param.default is not None:
                local[name] = self.eval(param.default, env)
            else:
                local[name] = UNKNOWN_VALUE
        for param in params.kwonly_params:
            name = param.name.value
            local[name] = kwargs.get(name, self.eval(param.default, env) if param.default is not None else UNKNOWN_VALUE)
        self.depth += 1
        try:
            body = function.node.body
            self.exec_block(body.body if isinstance(body, cst.IndentedBlock) else [body], local)
        except _Return as returned:
            return returned.value
        finally:
            self.depth -= 1
        return None

    # -- Keras calls

    def keras_call(self, qualified: str, node: cst.Call, args: list, kwargs: dict, env: dict) -> Any:
        if qualified in _DATA_FORMAT_GETTERS and not args and not kwargs:
            return self.data_format
        if qualified in _DATA_FORMAT_SETTERS:
            value = args[0] if args else kwargs.get("data_format", UNKNOWN_VALUE)
            self.data_format = value if value in ("channels_last", "channels_first") else UNKNOWN_VALUE
            return None
        if qualified == "keras.Input":
            return self.make_input(node, args, kwargs)
        if qualified == "keras.Sequential":
            return self.make_sequential(node, args, kwargs)
        if qualified == "keras.Model":
            return self.make_functional(node, args, kwargs)
        if qualified.startswith("keras.ops.") and _holds_tensor([*args, *kwargs.values()]):
            return _op_result([*args, *kwargs.values()])
        if qualified.startswith("keras.layers."):
            name = qualified.rsplit(".", 1)[1]
            if name in _FUNCTIONAL_MERGES:
                # `concatenate([a, b], axis=1)` builds a Concatenate layer and applies it at once
                if name == "dot" and "axes" not in kwargs and len(args) < 2:
                    kwargs = {**kwargs, "axes": -1}  # the function's default; the Dot class has none
                layer = self.make_layer(_FUNCTIONAL_MERGES[name], node, args[1:], kwargs)
                return self.apply_layer(layer, node, args[:1], {})
            if name == "Merge":
                return self.make_merge(node, args, kwargs)
            if name[:1].isupper():
                return self.make_layer(name, node, args, kwargs)
        return UNKNOWN_VALUE

    def make_input(self, node, args, kwargs) -> Tensor:
        config = {"shape": args[0] if args else kwargs.get("shape")}
        for key in ("batch_size", "batch_shape", "dtype", "sparse"):
            if key in kwargs:
                config[key] = kwargs[key]
        name = kwargs.get("name")
        layer = self.new_layer("InputLayer", _clean(config), name if isinstance(name, str) else self.unique_name("input_layer"), node, isinstance(name, str))
        layer.info = _infer(layer, [])
        tensor = Tensor(_first_shape(layer.info), layer, is_input=True, node=node)
        layer.calls = 1
        return tensor

    def make_layer(self, type_name: str, node, args, kwargs) -> LayerNode:
        input_shape, kwargs = _input_shape_argument(type_name, kwargs)
        wrapped = None
        if type_name in ("Bidirectional", "TimeDistributed") and args and isinstance(args[0], LayerNode):
            wrapped = args[0]
            args = args[1:]
        try:
            config = L.bind_arguments(type_name, [_config_value(a) for a in args], {k: _config_value(v) for k, v in kwargs.items()})
        except Exception:  # noqa: BLE001 - arguments we cannot bind make the layer unknown
            config = {"__unbound__": True}
        if self.data_format != "channels_last" and "data_format" not in kwargs and "__unbound__" not in config and _takes_data_format(type_name):
            # the program changed Keras's image data format: layers that take one default to it
            try:
                config = L.bind_arguments(
                    type_name,
                    [_config_value(a) for a in args],
                    {**{k: _config_value(v) for k, v in kwargs.items()}, "data_format": _config_value(self.data_format)},
                )
            except Exception:  # noqa: BLE001 - the layer takes no data_format
                pass
        if wrapped is not None:
            config["layer"] = (wrapped.type_name, wrapped.config)
        name = kwargs.get("name")
        explicit = isinstance(name, str)
        base = snake_case(L.keras_class_name(type_name))  # Keras names a layer after its class: `MaxPool2D()` is max_pooling2d
        layer = self.new_layer(type_name, config, name if explicit else self.unique_name(base), node, explicit)
        if input_shape is not None:
            layer.input_shape_arg = input_shape if not isinstance(input_shape, Unknown) else None
        return layer

    def make_custom_layer(self, cls: CustomClass, node, kwargs) -> LayerNode:
        """An instance of the program's own layer class: named as Keras names it (`MyLayer` ->
        `my_layer`, unless `name=`), with its arguments kept by keyword only."""
        input_shape, kwargs = _input_shape_argument(cls.name, kwargs)
        name = kwargs.get("name")
        explicit = isinstance(name, str)
        config = {key: _config_value(value) for key, value in kwargs.items()}
        layer = self.new_layer(cls.name, config, name if explicit else self.unique_name(snake_case(cls.name)), node, explicit)
        layer.custom = True
        if input_shape is not None and not isinstance(input_shape, Unknown):
            layer.input_shape_arg = input_shape
        return layer

    def make_merge(self, node, args, kwargs) -> Any:
        """Keras 1 `Merge([branch, ...], mode=...)`: a layer joining Sequential models."""
        branches = args[0] if args else kwargs.get("layers")
        mode = args[1] if len(args) > 1 else kwargs.get("mode", "sum")
        if not isinstance(branches, (list, tuple)) or not all(isinstance(b, ModelGraph) for b in branches):
            return UNKNOWN_VALUE
        function = {"concat": "Concatenate", "sum": "Add", "mul": "Multiply", "ave": "Average", "max": "Maximum", "dot": "Dot", "cos": "Dot"}.get(mode)
        if function is None:
            return UNKNOWN_VALUE
        config = {}
        if mode == "concat":
            config["axis"] = kwargs.get("concat_axis", -1)
        if mode in ("dot", "cos"):
            config["axes"] = kwargs.get("dot_axes", -1)
            config["normalize"] = mode == "cos"
        layer = self.new_layer("Merge", {"function": function, "config": _clean(config), "mode": mode}, self.unique_name("merge"), node)
        layer.branches = list(branches)  # type: ignore[attr-defined]
        return layer

    def apply_layer(self, layer: LayerNode, node, args, kwargs) -> Any:
        if not args:
            return UNKNOWN_VALUE
        inputs = args[0]
        tensors = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        if any(isinstance(t, (LayerNode, ModelGraph)) for t in tensors):
            self.issues.append((node, "layer-called-on-layer", {"type": layer.type_name}))
            return UNKNOWN_VALUE
        if not all(isinstance(t, Tensor) for t in tensors):
            return UNKNOWN_VALUE
        layer.calls += 1
        shapes = [t.shape for t in tensors]
        # tensors passed by keyword (`initial_state=[h, c]`) or after the first (`MyLayer()(x, mask)`)
        # are part of the graph too
        extra = [t for value in [*args[1:], *kwargs.values()] for t in (value if isinstance(value, (list, tuple)) else [value]) if isinstance(t, Tensor)]
        try:
            info = _UNKNOWN_INFO if layer.custom else L.infer_layer(layer.type_name, layer.config, shapes)
        except L.ShapeError as error:
            self.issues.append((node, _shape_issue(error), {"detail": f"{error}"}))
            info = L.LayerInfo(None, None, None, None)
        except Exception:  # noqa: BLE001
            info = L.LayerInfo(None, None, None, None)
        if layer.info is None:
            layer.info = info
        output = info.output_shape
        if isinstance(output, list):
            produced = [Tensor(shape, layer, list(tensors) + extra, index, node=node) for index, shape in enumerate(output)]
            self.tensors.extend(produced)
            return produced
        tensor = Tensor(output, layer, list(tensors) + extra, node=node)
        self.tensors.append(tensor)
        return tensor

    def apply_model(self, model: ModelGraph, node, args) -> Any:
        if not args:
            return UNKNOWN_VALUE
        inputs = args[0]
        tensors = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        if not all(isinstance(t, Tensor) for t in tensors):
            return UNKNOWN_VALUE
        layer = getattr(model, "_as_layer", None)
        if layer is None:
            total, trainable, frozen = model.params()
            layer = self.new_layer(model.kind if model.kind == "Sequential" else "Functional", {}, model.name, node, True)
            layer.model = model
            layer.info = L.LayerInfo(model.output_shape(), total, trainable, frozen)
            model._as_layer = layer  # type: ignore[attr-defined]
        layer.calls += 1
        output = model.output_shape()
        if isinstance(output, list):
            return [Tensor(shape, layer, list(tensors), index, node=node) for index, shape in enumerate(output)]
        return Tensor(output, layer, list(tensors), node=node)

    def make_sequential(self, node, args, kwargs) -> ModelGraph:
        name = kwargs.get("name")
        model = ModelGraph("Sequential", name if isinstance(name, str) else self.unique_name("sequential"), node)
        self.models.append(model)
        items = args[0] if args else kwargs.get("layers")
        if isinstance(items, (list, tuple)):
            for item, element_node in zip(items, _list_elements(node)):
                self.sequential_add(model, item, element_node)
        elif items is not None and not isinstance(items, Unknown):
            model.complete = False
        elif isinstance(items, Unknown):
            model.complete = False
        return model

    def sequential_add(self, model: ModelGraph, item, node) -> None:
        if isinstance(item, Tensor) and item.is_input and not model.layers and model.input_layer is None:
            model.input_layer = item.layer
            model.inputs = [item]
            return
        if isinstance(item, ModelGraph):
            layer = self.new_layer(item.kind if item.kind == "Sequential" else "Functional", {}, item.name, node, True)
            layer.model = item
            total, trainable, frozen = item.params()
            layer.info = L.LayerInfo(item.output_shape(), total, trainable, frozen)
            item = layer
        if not isinstance(item, LayerNode):
            model.complete = False
            model.layers.append(LayerNode("?", {}, "?", node))
            return
        if isinstance(item, LayerNode) and item.type_name == "InputLayer" and not model.layers and model.input_layer is None:
            item.info = _infer(item, [])
            model.input_layer = item
            model.inputs = [Tensor(_first_shape(item.info), item, is_input=True)]
            return
        if item.type_name == "Merge" and not model.layers and model.input_layer is None:
            self._add_merge_of_models(model, item)
            return
        if item.type_name in _MERGE_LAYERS:
            model.issues.append((item.node, "merge-layer-in-sequential", {"type": item.type_name}))
        if any(existing is item for existing in model.layers):
            model.issues.append((node, "shared-layer-in-sequential", {"type": item.type_name, "name": item.name}))
        if model.layers and item.input_shape_arg is not None:
            model.issues.append((item.node, "input-shape-not-first", {}))
        previous = self._sequential_output(model)
        if not model.layers and model.input_layer is None and item.input_shape_arg is not None:
            self.unique_name("input_layer")  # Keras adds an InputLayer for the first layer's input_shape
            previous = item.input_shape_arg
            model.inputs = [Tensor(previous, None, is_input=True)]
        if item.model is not None:
            if not model.layers and model.input_layer is None:
                model.inputs = list(item.model.inputs)  # a nested model first: its inputs are the model's
        elif item.custom:
            item.info = _UNKNOWN_INFO
            model.complete = False  # what the layer does to shapes and weights is not read
        elif previous is None and not model.layers and model.input_layer is None:
            item.info = L.LayerInfo(None, None, None, None)
        else:
            try:
                item.info = L.infer_layer(item.type_name, item.config, [previous])
            except L.ShapeError as error:
                model.issues.append((item.node, _shape_issue(error), {"detail": str(error)}))
                item.info = L.LayerInfo(None, None, None, None)
            except Exception:  # noqa: BLE001
                item.info = L.LayerInfo(None, None, None, None)
        item.calls += 1
        model.layers.append(item)
        if len(model.layers) == 2 and model.layers[0].model is not None and model.input_layer is None and model.inputs:
            # a nested model first: Keras builds the Sequential on its input shape once a second layer
            # is there, creating an InputLayer (and using up its name) that time only
            if not getattr(model, "_implicit_input", False):
                model._implicit_input = True  # type: ignore[attr-defined]
                self.unique_name("input_layer")

    def _add_merge_of_models(self, model: ModelGraph, item: LayerNode) -> None:
        branches: list[ModelGraph] = item.branches  # type: ignore[attr-defined]
        model.merge_branches = branches  # type: ignore[attr-defined]
        shapes = []
        for branch in branches:
            output = branch.output_shape()
            shapes.append(output if not isinstance(output, list) else None)
        params = 0
        for branch in branches:
            for position, value in enumerate(branch.params()[:1]):
                params = None if value is None or params is None else params + value
        try:
            merged = L.infer_layer(item.config["function"], item.config["config"], shapes)
            item.info = L.LayerInfo(merged.output_shape, params, params, 0 if params is not None else None)
        except Exception:  # noqa: BLE001 - incompatible or unknown branches leave the merge unknown
            item.info = L.LayerInfo(None, None, None, None)
        model.inputs = [t for branch in branches for t in (branch.inputs or [Tensor(None, None, is_input=True)])]
        item.calls += 1
        model.layers.append(item)

    def _sequential_output(self, model: ModelGraph) -> L.Shape:
        if model.layers:
            info = model.layers[-1].info
            shape = info.output_shape if info else None
            return shape if not isinstance(shape, list) else None
        if model.input_layer is not None and model.input_layer.info is not None:
            return _first_shape(model.input_layer.info)
        return None

    def model_method(self, model: ModelGraph, method: str, node: cst.Call, args, kwargs) -> Any:
        if method == "add" and model.kind == "Sequential":
            if args:
                element = node.args[0].value
                self.sequential_add(model, args[0], element)
            return None
        if method in ("compile", "summary", "fit", "evaluate", "predict", "save", "load_weights", "build"):
            return UNKNOWN_VALUE
        if method == "pop" and model.kind == "Sequential":
            model.complete = False
        return UNKNOWN_VALUE

    def make_functional(self, node, args, kwargs) -> Any:
        inputs = args[0] if args else kwargs.get("inputs", kwargs.get("input"))
        outputs = args[1] if len(args) > 1 else kwargs.get("outputs", kwargs.get("output"))
        name = kwargs.get("name")
        model = ModelGraph("Functional", name if isinstance(name, str) else self.unique_name("functional"), node)
        self.models.append(model)
        inputs_list = _flatten(inputs)
        outputs_list = _flatten(outputs)
        if not inputs_list or not outputs_list or not all(isinstance(t, Tensor) for t in inputs_list + outputs_list):
            model.complete = False
            return model
        model.inputs, model.outputs = inputs_list, outputs_list
        not_inputs = [t for t in inputs_list if not t.is_input]
        if not_inputs:
            model.issues.append((node, "model-inputs-not-input-tensors", {}))
        model.layers = _graph_layers(inputs_list, outputs_list, model)
        if any(layer.custom for layer in model.layers):
            model.complete = False  # what those layers do to shapes and weights is not read
        return model


# --- helpers ---------------------------------------------------------------------------------------

_FUNCTIONAL_MERGES = {
    "concatenate": "Concatenate", "add": "Add", "subtract": "Subtract", "multiply": "Multiply",
    "average": "Average", "maximum": "Maximum", "minimum": "Minimum", "dot": "Dot",
}
_MERGE_LAYERS = set(_FUNCTIONAL_MERGES.values())
# Keras bases of the program's own layer classes, besides every class in keras.layers
_LAYER_BASES = {"keras.Layer", "keras.Model", "keras.Sequential", "keras.models.Model", "keras.models.Sequential"}
_UNKNOWN_INFO = L.LayerInfo(None, None, None, None)
_DATA_FORMAT_GETTERS = {"keras.backend.image_data_format", "keras.config.image_data_format"}
_DATA_FORMAT_SETTERS = {"keras.backend.set_image_data_format", "keras.config.set_image_data_format"}


def _op_result(values: list) -> Tensor:
    """The Keras tensor an operation (`keras.ops.squeeze(x)`, or a TensorFlow function KF501 reports)
    makes of Keras tensors: of no known layer or shape, so a model built through it is incomplete,
    but still a Keras tensor that later calls are judged on."""
    return Tensor(None, None, _tensors(values))


def _tensors(values: list) -> list[Tensor]:
    found: list[Tensor] = []
    for value in values:
        if isinstance(value, Tensor):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            found.extend(_tensors(list(value)))
    return found


def _holds_tensor(values: list) -> bool:
    """Whether a Keras tensor of the graph is among the values, or in a list or tuple of them."""
    for value in values:
        if isinstance(value, Tensor):
            return True
        if isinstance(value, (list, tuple)) and _holds_tensor(list(value)):
            return True
    return False


def _shape_issue(error: Exception) -> str:
    """The rule a static shape error is an instance of (kerasfix/checks/graph.py words it)."""
    kind = getattr(error, "kind", "merge")
    names = {"merge": "incompatible-merge-shapes", "negative_dim": "window-larger-than-input", "rank": "wrong-input-rank"}
    return names.get(kind, "incompatible-merge-shapes")


def _infer(layer: LayerNode, shapes: list) -> L.LayerInfo:
    try:
        return L.infer_layer(layer.type_name, layer.config, shapes)
    except Exception:  # noqa: BLE001
        return L.LayerInfo(None, None, None, None)


def _input_shape_argument(type_name: str, kwargs: dict) -> tuple[Any, dict]:
    """The input shape a layer's `input_shape`/`input_dim`/`batch_input_shape` states (None when it
    states none, UNKNOWN_VALUE when it is not a constant), and the other keyword arguments."""
    input_shape = None
    kwargs = dict(kwargs)
    if "input_shape" in kwargs:
        shape = kwargs.pop("input_shape")
        input_shape = (None, *shape) if isinstance(shape, (tuple, list)) and _all_known(shape) else UNKNOWN_VALUE
    if "input_dim" in kwargs:
        dim = kwargs.pop("input_dim")
        if type_name != "Embedding":
            input_shape = (None, dim) if isinstance(dim, int) else UNKNOWN_VALUE
        else:
            kwargs["input_dim"] = dim
    if "batch_input_shape" in kwargs:
        shape = kwargs.pop("batch_input_shape")
        input_shape = tuple(shape) if isinstance(shape, (tuple, list)) else UNKNOWN_VALUE
    return input_shape, kwargs


def _first_shape(info: L.LayerInfo | None) -> L.Shape:
    if info is None:
        return None
    shape = info.output_shape
    return shape[0] if isinstance(shape, list) else shape


def _config_value(value: Any) -> Any:
    if isinstance(value, Unknown) or isinstance(value, (Tensor, ModelGraph, Function)):
        return L.UNKNOWN
    if isinstance(value, LayerNode):
        return (value.type_name, value.config)
    if isinstance(value, list):
        return [_config_value(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_config_value(v) for v in value)
    return value


def _clean(config: dict) -> dict:
    return {k: _config_value(v) for k, v in config.items()}


def _all_known(values) -> bool:
    return all(v is None or isinstance(v, int) for v in values)


def _flatten(value) -> list:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value] if value is not None else []


def _list_elements(call: cst.Call) -> list:
    if call.args and isinstance(call.args[0].value, (cst.List, cst.Tuple)):
        return [e.value for e in call.args[0].value.elements]
    return [call] * 1000


def _model_outputs(model: ModelGraph) -> list[Tensor]:
    if model.kind == "Functional":
        return model.outputs
    shape = model.output_shape()
    last = model.layers[-1] if model.layers else None
    if len(model.inputs) == 1 and model.inputs[0].is_input and model.layers:
        # A Sequential that starts with `keras.Input`: `model.output` is its last layer's output on
        # that input, and the layers between are part of any Functional model built on it.
        cached = getattr(model, "_chained", None)
        if cached is not None and cached[0] == len(model.layers):
            return [cached[1]]
        tensor = model.inputs[0]
        for layer in model.layers:
            info = layer.info
            output = info.output_shape if info else None
            tensor = Tensor(output if not isinstance(output, list) else None, layer, [tensor], node=None)
        model._chained = (len(model.layers), tensor)  # type: ignore[attr-defined]
        return [tensor]
    return [Tensor(shape if not isinstance(shape, list) else None, last)]


def _models_in(value) -> list[ModelGraph]:
    if isinstance(value, ModelGraph):
        return [value]
    if isinstance(value, (list, tuple)):
        return [m for v in value for m in _models_in(v)]
    return []


def _target_names(target) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in _target_names(e.value)]
    return []


def _mentions(statement, model: ModelGraph, env: dict) -> bool:
    from kerasfix.walk import walk

    names = {name for name, value in env.items() if value is model}
    found = False

    def enter(node: cst.CSTNode, _parent) -> None:  # a read-only walk: `visit` rebuilds the statement
        nonlocal found
        if type(node) is cst.Name and node.value in names:
            found = True

    if names:
        walk(statement, enter)
    return found


def _graph_layers(inputs: list[Tensor], outputs: list[Tensor], model: ModelGraph) -> list[LayerNode]:
    """The layers of a Functional model in Keras's order: farthest from the outputs first, then by creation."""
    input_ids = {id(t) for t in inputs}
    tensors: dict[int, Tensor] = {}
    stack = list(outputs)
    while stack:
        tensor = stack.pop()
        if id(tensor) in tensors:
            continue
        tensors[id(tensor)] = tensor
        if tensor.layer is None:
            model.complete = False
            continue
        if id(tensor) in input_ids or tensor.is_input:
            continue
        stack.extend(tensor.inputs)
    missing = [t for t in inputs if id(t) not in tensors and t.layer is not None]
    if missing and model.complete:
        model.issues.append((model.node, "disconnected-model", {}))
    # depth: the longest path from a tensor to an output, as Keras counts it
    depth = {key: 0 for key in tensors}
    for _ in range(len(tensors) + 1):
        changed = False
        for key, tensor in tensors.items():
            if key in input_ids or tensor.is_input:
                continue
            for parent in tensor.inputs:
                if id(parent) in depth and depth[id(parent)] < depth[key] + 1:
                    depth[id(parent)] = depth[key] + 1
                    changed = True
        if not changed:
            break
    layer_depth: dict[int, int] = {}
    layer_of: dict[int, LayerNode] = {}
    for key, tensor in tensors.items():
        if tensor.layer is not None:
            layer_of[id(tensor.layer)] = tensor.layer
            layer_depth[id(tensor.layer)] = max(layer_depth.get(id(tensor.layer), 0), depth[key])
    for tensor in inputs:  # unused inputs are still layers of the model
        if tensor.layer is not None and id(tensor.layer) not in layer_of:
            layer_of[id(tensor.layer)] = tensor.layer
            layer_depth[id(tensor.layer)] = 0
    keys = sorted(layer_of, key=lambda key: (-layer_depth[key], _creation(layer_of[key])))
    return [layer_of[key] for key in keys]


def _creation(layer: LayerNode) -> int:
    return layer.created


def _takes_data_format(type_name: str) -> bool:
    from kerasfix import api

    entry = api.snapshot().get("symbols", {}).get(f"keras.layers.{type_name}") or {}
    return any(param.get("name") == "data_format" for param in entry.get("params", []))


def _plain(value: Any) -> bool:
    """A constant whose comparisons Python answers the same way the program would."""
    if isinstance(value, (list, tuple)):
        return all(_plain(item) for item in value)
    return value is None or isinstance(value, (bool, int, float, str))


_COMPARISONS = {
    "Equal": lambda a, b: a == b,
    "NotEqual": lambda a, b: a != b,
    "LessThan": lambda a, b: a < b,
    "LessThanEqual": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEqual": lambda a, b: a >= b,
    "In": lambda a, b: a in b,
    "NotIn": lambda a, b: a not in b,
    "Is": lambda a, b: a is b if a is None or b is None or isinstance(a, bool) else a == b,
    "IsNot": lambda a, b: a is not b if a is None or b is None or isinstance(a, bool) else a != b,
}


def _arithmetic(operator: str, left: Any, right: Any) -> Any:
    if isinstance(left, Unknown) or isinstance(right, Unknown):
        return UNKNOWN_VALUE
    try:
        if operator == "Add":
            return left + right
        if operator == "Subtract":
            return left - right
        if operator == "Multiply":
            return left * right
        if operator == "FloorDivide":
            return left // right
        if operator == "Divide":
            return left / right
        if operator == "Modulo" and isinstance(left, (int, float)):
            return left % right
        if operator == "Power" and isinstance(left, (int, float)) and abs(right) < 64:
            return left**right
    except Exception:  # noqa: BLE001 - arithmetic on values we do not model
        return UNKNOWN_VALUE
    return UNKNOWN_VALUE


def _builtin_len(args, kwargs):
    return len(args[0]) if args and isinstance(args[0], (list, tuple, str)) else UNKNOWN_VALUE


def _builtin_range(args, kwargs):
    if args and all(isinstance(a, int) for a in args) and len(args) <= 3:
        return range(*args)
    return UNKNOWN_VALUE


def _builtin_int(args, kwargs):
    return int(args[0]) if args and isinstance(args[0], (int, float)) and not isinstance(args[0], bool) else UNKNOWN_VALUE


def _builtin_tuple(args, kwargs):
    return tuple(args[0]) if args and isinstance(args[0], (list, tuple)) else UNKNOWN_VALUE


def _builtin_list(args, kwargs):
    return list(args[0]) if args and isinstance(args[0], (list, tuple, range)) else UNKNOWN_VALUE


_BUILTINS = {"len": _builtin_len, "range": _builtin_range, "int": _builtin_int, "tuple": _builtin_tuple, "list": _builtin_list}


def build_models(module: cst.Module, imports: ImportTable) -> tuple[list[ModelGraph], list]:
    """Every model the module builds, and the misuse/shape issues found while building them."""
    interpreter = Interpreter(module, imports)
    interpreter._called_functions = set()
    try:
        models = interpreter.run()
    except RecursionError:
        models = interpreter.models
    return models, interpreter.issues + _dead_branches(models, interpreter.tensors)


def _dead_branches(models: list[ModelGraph], tensors: list[Tensor]) -> list:
    """Layer outputs computed from a model's inputs that feed nothing and reach no model output."""
    functional = [m for m in models if m.kind == "Functional"]
    if not functional or not all(m.complete for m in models):
        return []
    used: set[int] = set()
    for tensor in tensors:
        for parent in tensor.inputs:
            used.add(id(parent))
    reached: set[int] = set()

    def mark(tensor: Tensor) -> None:
        if id(tensor) in reached:
            return
        reached.add(id(tensor))
        for parent in tensor.inputs:
            mark(parent)

    for model in functional:
        for output in model.outputs:
            mark(output)
    model_inputs = {id(t) for m in functional for t in m.inputs}

    def from_inputs(tensor: Tensor) -> bool:
        stack, seen = [tensor], set()
        while stack:
            current = stack.pop()
            if id(current) in model_inputs:
                return True
            if id(current) in seen:
                continue
            seen.add(id(current))
            stack.extend(current.inputs)
        return False

    # The outputs of one call of a multi-output layer (`seq, h, c = LSTM(..., return_state=True)(x)`)
    # stand or fall together: using any of them uses the call.
    siblings: dict[tuple[int, int], list[Tensor]] = {}
    for tensor in tensors:
        if tensor.layer is not None and tensor.node is not None:
            siblings.setdefault((id(tensor.layer), id(tensor.node)), []).append(tensor)
    issues = []
    for tensor in tensors:
        if id(tensor) in reached or id(tensor) in used or tensor.node is None:
            continue
        group = siblings.get((id(tensor.layer), id(tensor.node)), [tensor]) if tensor.layer is not None else [tensor]
        if any(id(other) in reached or id(other) in used for other in group):
            continue
        if tensor is not group[0]:
            continue  # one finding per call
        if from_inputs(tensor):
            name = tensor.layer.name if tensor.layer else "this layer"
            issues.append((tensor.node, "unused-branch", {"name": name}))
    return issues
