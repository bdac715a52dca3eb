"""Transforms for the training, optimizer and backend entries of the catalogue (KF350-KF379).

Each one reads its entry's `options` (the data) and the call; see `kerasfix.checks.transforms` for the protocol.
"""

from __future__ import annotations

from typing import Any, Callable

import libcst as cst

from kerasfix import api
from kerasfix.checks.callargs import NOT_LITERAL, keyword_arg, literal
from kerasfix.checks.callee import new_callee, realigned, retarget, unspellable
from kerasfix.checks.rewrite import code, comma, drop, equal, find, head, new_slot, short, slot_value, value_key
from kerasfix.spelling import spell
from kerasfix.checks.transform_registry import TransformRegistry
from kerasfix.names import canonical
from kerasfix.rule import make_fix, replace_node

# This module's transforms, by name; kerasfix/checks/transforms.py merges them into TRANSFORMS.
transform = TransformRegistry()

# Calls whose result is a Keras model: evidence that `x.predict_proba()` is Keras's method.
MODEL_FACTORIES = frozenset(
    {
        "keras.Sequential",
        "keras.Model",
        "keras.models.load_model",
        "keras.saving.load_model",
        "keras.models.model_from_json",
        "keras.models.model_from_yaml",
        "keras.models.clone_model",
    }
)
MODEL_CLASSES = frozenset({"keras.Sequential", "keras.Model"})
# Nodes that open a new scope for plain names.
SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)


# --- facts about the file, computed once per file and kept on its context --------------------------


def _cached(ctx, key: str, compute: Callable[[], Any]) -> Any:
    return ctx.cached(f"training transforms: {key}", compute)


def _scope(ctx, node: cst.CSTNode) -> cst.CSTNode | None:
    """The function, lambda or class whose body holds `node`; None at module level."""
    current = ctx.parent(node)
    while current is not None and not isinstance(current, SCOPES):
        current = ctx.parent(current)
    return current


class _Bindings(cst.CSTVisitor):
    """Every place a name or attribute chain is bound: code text -> [(assigned value or None, statement)]."""

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.found: dict[str, list[tuple[cst.BaseExpression | None, cst.CSTNode]]] = {}

    def _add(self, target: cst.BaseExpression, value: cst.BaseExpression | None, statement: cst.CSTNode) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._add(element.value, None, statement)
        elif isinstance(target, cst.StarredElement):
            self._add(target.value, None, statement)
        elif isinstance(target, (cst.Name, cst.Attribute)):
            self.found.setdefault(self.ctx.code_for(target), []).append((value, statement))

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._add(target.target, node.value, node)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._add(node.target, node.value, node)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._add(node.target, None, node)

    def visit_For(self, node: cst.For) -> None:
        self._add(node.target, None, node)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._add(node.asname.name, None, node)

    def visit_Param(self, node: cst.Param) -> None:
        self._add(node.name, None, node)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._add(node.name, None, node)


def _bindings(ctx) -> dict:
    def compute():
        visitor = _Bindings(ctx)
        ctx.module.visit(visitor)
        return visitor.found

    return _cached(ctx, "bindings", compute)


def _functions(ctx) -> dict[str, list[cst.FunctionDef]]:
    """Every function and method the file defines, by name. Definitions are statements, so only
    statements are walked, not every expression of the file."""

    def compute():
        found: dict[str, list[cst.FunctionDef]] = {}
        pending: list = list(ctx.module.body)
        while pending:
            statement = pending.pop()
            if isinstance(statement, cst.FunctionDef):
                found.setdefault(statement.name.value, []).append(statement)
            for block in _blocks(statement):
                pending.extend(block.body if isinstance(block, cst.IndentedBlock) else ())
        return found

    return _cached(ctx, "functions", compute)


def _blocks(statement) -> list:
    """The indented blocks directly inside a compound statement (bodies, else/elif, except, finally)."""
    blocks = []
    for attribute in ("body", "orelse", "finalbody"):
        part = getattr(statement, attribute, None)
        while part is not None:
            if isinstance(part, cst.IndentedBlock):
                blocks.append(part)
                break
            inner = getattr(part, "body", None)  # Else, Finally, an elif's If
            if isinstance(inner, cst.IndentedBlock):
                blocks.append(inner)
            part = getattr(part, "orelse", None) if isinstance(part, cst.If) else None
    for handler in getattr(statement, "handlers", ()) or ():
        if isinstance(handler.body, cst.IndentedBlock):
            blocks.append(handler.body)
    for case in getattr(statement, "cases", ()) or ():
        if isinstance(case.body, cst.IndentedBlock):
            blocks.append(case.body)
    return blocks


def _single_assignment(ctx, expression: cst.BaseExpression) -> tuple[cst.BaseExpression, cst.CSTNode] | None:
    """The value of the only binding of a name or attribute chain in the file, if there is exactly one."""
    if not isinstance(expression, (cst.Name, cst.Attribute)):
        return None
    bound = _bindings(ctx).get(ctx.code_for(expression), [])
    if len(bound) != 1 or bound[0][0] is None:
        return None
    return bound[0]  # type: ignore[return-value]


# --- small helpers ----------------------------------------------------------------------------------


def _method_call(rewrite) -> cst.Attribute | None:
    """The `receiver.method` of a method call, unless it may be another library's or the file's own method."""
    func = rewrite.node.func
    if not isinstance(func, cst.Attribute):
        return None
    raw = rewrite.ctx.imports.resolve(func.value)
    if raw is not None and canonical(raw) is None:
        return None  # `lasagne.layers.get_output(...)`, `np.fit(...)`: not a Keras object
    if func.attr.value in _functions(rewrite.ctx):
        return None  # the file defines a method of that name (a wrapper class): it may be the one called
    return func


def _parenthesized(expression: cst.BaseExpression) -> cst.BaseExpression:
    """The expression, in parentheses unless it binds tighter than `//`."""
    atoms = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer, cst.Float, cst.SimpleString)
    if isinstance(expression, atoms) or expression.lpar:
        return expression
    return expression.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def _kind(value: Any) -> str | None:
    """'flag' for a bool literal, 'number' for a numeric one, None when the type is unknown."""
    if isinstance(value, bool):
        return "flag"
    if isinstance(value, (int, float)):
        return "number"
    return None


def _same_literal(value: Any, expected: Any) -> bool:
    return value is not NOT_LITERAL and type(value) is type(expected) and value == expected


def _realigned(ctx, original: cst.Call, call: cst.Call, prefix: str) -> cst.Call:
    """`call` with the continuation lines that were aligned after the original `(` moved to the new one.

    `prefix` is the replacement's text before the new `(` (`fit`'s callee, or `np.argmax(model.predict`).
    """
    start, _ = ctx.span(original)
    shift = ctx.column(start) + len(prefix) - ctx.column(ctx.span(original.func)[1])
    return realigned(ctx, original, call, shift)


def _method_renamed(rewrite, method: str):
    """The action that makes the method call call `method`, keeping aligned continuation lines aligned."""

    def apply(plan) -> None:
        if isinstance(plan.func, cst.Attribute):
            plan.func = plan.func.with_changes(attr=cst.Name(method))
            prefix = rewrite.ctx.code_for(plan.func)
            plan.replace_call = lambda call: _realigned(rewrite.ctx, rewrite.node, call, prefix)

    return apply


# --- training methods (KF351-KF356) -------------------------------------------------------------------


@transform("generator-method")
def generator_method(entry, rewrite) -> None:
    """`fit_generator(gen, 100, 10)` -> `fit(gen, steps_per_epoch=100, epochs=10)`; names positionals for later entries."""
    func = _method_call(rewrite)
    if func is None:
        return
    method = func.attr.value
    new = entry.options["methods"][method]
    keras1 = any(slot.name in entry.options["keras1_keywords"] for slot in rewrite.slots if not slot.positional)
    names = entry.options["keras1_positional" if keras1 else "positional"][method]
    positional = [slot for slot in rewrite.slots if slot.positional]
    for index, slot in enumerate(positional):
        slot.name = names[index] if index < len(names) else None
    if any(slot.arg.star == "*" for slot in rewrite.slots) or len(positional) > len(names):
        rewrite.add(
            entry.code,
            "none",
            f"use `.{new}()`, passing every argument after `{names[-1]}` by keyword",
        )
        return

    renamed = _method_renamed(rewrite, new)

    def apply(plan) -> None:
        renamed(plan)
        seen = 0
        for slot in plan.slots:
            if not slot.positional:
                continue
            seen += 1
            if seen > 1:  # `fit(x, y, batch_size, ...)`: only the generator keeps its place
                slot.arg = keyword_arg(slot.name, slot.arg.value, slot.arg)
                slot.positional = False

    detail = f"`.{method}()` -> `.{new}()`"
    if len(positional) > 1 and not keras1:
        # Keras 1 read the same position as a sample count; nothing in this call says it is Keras 1 code.
        detail += f" (the second positional argument is read as Keras 2's `{names[1]}`, not Keras 1's sample count)"
    rewrite.add(entry.code, entry.fix, detail, apply)


def _stated_batch_size(call: cst.BaseExpression) -> cst.BaseExpression | None:
    """The `batch_size=` a generator call states (`datagen.flow(X, y, batch_size=32)`)."""
    if not isinstance(call, cst.Call):
        return None
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "batch_size":
            if isinstance(arg.value, (cst.Integer, cst.Name, cst.Attribute)):
                return arg.value
    return None


def _batch_size(rewrite, generator: cst.BaseExpression) -> cst.BaseExpression | None:
    """The batch size of a generator argument: stated in the call, or where its name was assigned once."""
    if isinstance(generator, cst.Call):
        return _stated_batch_size(generator)
    assigned = _single_assignment(rewrite.ctx, generator)
    if assigned is None:
        return None
    value, statement = assigned
    size = _stated_batch_size(value)
    if size is None:
        return None
    if isinstance(size, cst.Integer):
        return size
    # A name is only trusted where it means the same: the generator was made in this call's scope.
    if _scope(rewrite.ctx, statement) is not _scope(rewrite.ctx, rewrite.node):
        return None
    return size


def _generator_slot(rewrite):
    for slot in rewrite.slots:
        if slot.positional or slot.name in ("generator", "x"):
            return slot
    return None


@transform("sample-counts")
def sample_counts(entry, rewrite) -> None:
    """`samples_per_epoch=S` -> `steps_per_epoch=S // batch_size` where the batch size is stated."""
    if _method_call(rewrite) is None:
        return
    for old, (new, source) in entry.options["counts"].items():
        slot = rewrite.slot(old)
        if slot is None:
            continue
        shown = code(rewrite, slot.arg.value)
        if rewrite.slot(new) is not None:
            rewrite.add(entry.code, "none", f"both `{old}` and `{new}` are given; keep `{new}`")
            continue
        if source == "validation_data":
            data = rewrite.slot("validation_data")
            if data is None or isinstance(data.arg.value, (cst.Tuple, cst.List)):
                reason = "arrays" if data is not None else "absent"
                rewrite.add(
                    entry.code,
                    "safe",
                    f"remove `{old}={shown}` (Keras 1 ignored it when `validation_data` is {reason})",
                    drop(old),
                )
                continue
            generator = data.arg.value
        else:
            found = _generator_slot(rewrite)
            generator = found.arg.value if found is not None else None
        size = _batch_size(rewrite, generator) if generator is not None else None
        if size is None:
            rewrite.add(
                entry.code,
                "none",
                f"`{old}={shown}` counts samples, Keras 3's `{new}` counts batches: "
                f"pass `{new}=` the number of samples divided by the generator's batch size",
            )
            continue
        rewrite.add(
            entry.code,
            entry.fix,
            f"`{old}={shown}` -> `{new}={shown} // {code(rewrite, size)}` (samples divided by the generator's batch size)",
            _divide(old, new, size),
        )


def _divide(old: str, new: str, size: cst.BaseExpression):
    def apply(plan) -> None:
        slot = find(plan, old)
        if slot is None:
            return
        count = slot_value(slot)
        slot.name = new
        slot.value = cst.BinaryOperation(
            left=_parenthesized(count), operator=cst.FloorDivide(), right=_parenthesized(size)
        )

    return apply


@transform("worker-arguments")
def worker_arguments(entry, rewrite) -> None:
    """Drops `workers=1`-style defaults; reports other values with the PyDataset guidance."""
    if _method_call(rewrite) is None:
        return
    defaults = entry.options["defaults"]
    keras2 = entry.options["keras2"]
    method = rewrite.node.func.attr.value.removesuffix("_generator")
    for slot in rewrite.slots:
        if slot.positional or slot.name not in defaults:
            continue
        shown = code(rewrite, slot.arg.value)
        if _same_literal(literal(slot.arg.value), defaults[slot.name]):
            rewrite.add(entry.code, "safe", f"remove `{slot.name}={shown}` (the default)", drop(slot.name))
            continue
        name = keras2.get(slot.name, slot.name)
        rewrite.add(
            entry.code,
            "none",
            f"`{slot.name}={shown}`: Keras 3's `{method}()` does not take it; pass the data as a `keras.utils.PyDataset` "
            f"subclass whose `__init__` calls `super().__init__({name}={shown})`",
        )


def _numpy_alias(ctx) -> str | None:
    names = sorted(name for name, binding in ctx.imports.bindings.items() if binding.raw == "numpy")
    if "np" in names:
        return "np"
    return names[0] if names else None


@transform("predict-classes")
def predict_classes(entry, rewrite) -> None:
    """`model.predict_classes(x)` -> `np.argmax(model.predict(x), axis=-1)`, or a 0.5 threshold for one output unit."""
    func = _method_call(rewrite)
    if func is None:
        return
    receiver = code(rewrite, func.value)
    units = _output_units(rewrite.ctx, func.value, entry.options["width_preserving"])
    if units == 1:
        # Keras 2 thresholded a single output unit at 0.5
        rewrite.add(
            entry.code,
            entry.fix,
            f"`({receiver}.predict(...) > 0.5).astype('int32')`, as Keras 2 did for its single output unit",
            _predict_then(rewrite, "(", lambda call: _threshold(call)),
        )
        return
    numpy = _numpy_alias(rewrite.ctx)
    sigmoid = f"for a single sigmoid unit use `({receiver}.predict(...) > 0.5).astype('int32')`"
    if numpy is None:
        rewrite.add(
            entry.code,
            "none",
            f"use `np.argmax({receiver}.predict(...), axis=-1)` when the output has one unit per class; {sigmoid}",
        )
        return
    if units is not None:
        detail = f"`{numpy}.argmax({receiver}.predict(...), axis=-1)`, as Keras 2 did for its {units} output units"
    else:
        detail = f"`{numpy}.argmax({receiver}.predict(...), axis=-1)`, which assumes one output unit per class (softmax); {sigmoid}"
    rewrite.add(entry.code, entry.fix, detail, _predict_then(rewrite, f"{numpy}.argmax(", lambda call: _argmax(numpy, call)))


def _predict_then(rewrite, opening: str, wrap: Callable[[cst.Call], cst.BaseExpression]):
    """An action calling `.predict` instead and wrapping the call (`opening` is the text put before it)."""

    def apply(plan) -> None:
        if isinstance(plan.func, cst.Attribute):
            plan.func = plan.func.with_changes(attr=cst.Name("predict"))
        prefix = opening + rewrite.ctx.code_for(plan.func)
        plan.replace_call = lambda call: wrap(_realigned(rewrite.ctx, rewrite.node, call, prefix))

    return apply


def _threshold(call: cst.Call) -> cst.BaseExpression:
    template = cst.parse_expression("(_ > 0.5).astype('int32')")
    return template.visit(_Placeholder(call))


class _Placeholder(cst.CSTTransformer):
    """Puts an expression where a template has the name `_`."""

    def __init__(self, value: cst.BaseExpression) -> None:
        super().__init__()
        self.value = value

    def leave_Name(self, original, updated):
        return self.value if updated.value == "_" else updated


def _output_units(ctx, receiver: cst.BaseExpression, width_preserving: list[str]) -> int | None:
    """The width of a Sequential model's output, when the file shows its layers: the last Dense's units."""
    bound = _bindings(ctx).get(ctx.code_for(receiver), [])
    if len(bound) != 1 or not isinstance(bound[0][0], cst.Call) or ctx.qualified(bound[0][0].func) != "keras.Sequential":
        return None
    layers = _sequential_layers(ctx, receiver, bound[0][0])
    for layer in reversed(layers):
        name = ctx.qualified(layer.func) if isinstance(layer, cst.Call) else None
        if name == "keras.layers.Dense":
            return _units(ctx, layer)
        if name not in width_preserving:
            return None
    return None


def _sequential_layers(ctx, receiver: cst.BaseExpression, made: cst.Call) -> list[cst.BaseExpression]:
    """The layers given to `Sequential([...])` and then to `receiver.add(...)`, in the file's order."""
    layers: list[cst.BaseExpression] = []
    if made.args and isinstance(made.args[0].value, (cst.List, cst.Tuple)) and made.args[0].keyword is None:
        layers.extend(element.value for element in made.args[0].value.elements)
    text = ctx.code_for(receiver)

    class Visitor(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            func = call.func
            if isinstance(func, cst.Attribute) and func.attr.value == "add" and ctx.code_for(func.value) == text and call.args:
                layers.append(call.args[0].value)

    ctx.module.visit(Visitor())
    return layers


def _units(ctx, dense: cst.Call) -> int | None:
    value = None
    for index, arg in enumerate(dense.args):
        if (arg.keyword is None and index == 0) or (arg.keyword is not None and arg.keyword.value in ("units", "output_dim")):
            value = arg.value
            break
    assigned = _single_assignment(ctx, value) if isinstance(value, cst.Name) else None
    if assigned is not None:
        value = assigned[0]
    units = literal(value)
    return units if isinstance(units, int) and not isinstance(units, bool) else None


def _argmax(numpy: str, call: cst.Call) -> cst.Call:
    template = cst.parse_expression(f"{numpy}.argmax(_, axis=-1)")
    assert isinstance(template, cst.Call)
    first = template.args[0].with_changes(value=call)
    return template.with_changes(args=[first, *template.args[1:]])


def _value_is_model(ctx, value: cst.BaseExpression | None) -> bool:
    """Whether an assigned value is a Keras model: a model factory, or a function of this file building one."""
    if not isinstance(value, cst.Call):
        return False
    if ctx.qualified(value.func) in MODEL_FACTORIES:
        return True
    if isinstance(value.func, cst.Name):
        for function in _functions(ctx).get(value.func.value, []):
            if _calls_any(ctx, function, MODEL_CLASSES):
                return True
    return False


def _calls_any(ctx, node: cst.CSTNode, targets: frozenset[str]) -> bool:
    found = False

    class Visitor(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            nonlocal found
            if ctx.qualified(call.func) in targets:
                found = True

    node.visit(Visitor())
    return found


@transform("keras-model-method")
def keras_model_method(entry, rewrite) -> None:
    """Renames a removed `Model` method, only on objects the file shows to be Keras models."""
    func = _method_call(rewrite)
    if func is None:
        return
    bound = _bindings(rewrite.ctx).get(code(rewrite, func.value), [])
    if not any(_value_is_model(rewrite.ctx, value) for value, _ in bound):
        return
    new = entry.options["replacement"]
    rewrite.add(entry.code, entry.fix, f"`.{func.attr.value}()` -> `.{new}()`", _method_renamed(rewrite, new))


@transform("layer-output-attribute")
def layer_output_attribute(entry, rewrite) -> None:
    """`layer.get_output(train=False)` -> `layer.output`."""
    func = _method_call(rewrite)
    if func is None:
        return
    attribute = entry.options["attributes"][func.attr.value]
    for slot in rewrite.slots:
        named_train = slot.positional or slot.name == "train"
        if not named_train or literal(slot.arg.value) is not False:
            rewrite.add(
                entry.code,
                "none",
                f"`layer.{attribute}` is the inference-mode tensor; for the training-mode one call the layer "
                f"with `training=True`",
            )
            return

    def apply(plan) -> None:
        plan.replace_call = lambda call: cst.Attribute(value=call.func.value, attr=cst.Name(attribute))

    rewrite.add(entry.code, entry.fix, f"use the `.{attribute}` attribute", apply)


# --- optimizers (KF360-KF365) -------------------------------------------------------------------------


def _optimizer_class(rewrite, table: dict) -> str | None:
    """The class an optimizer call makes, as a key of `table` (`keras.optimizers.sgd` -> `SGD`)."""
    if rewrite.target is None:
        return None
    called = short(rewrite.target)
    return next((name for name in table if name.lower() == called.lower()), None)


def _keras3_parameters(cls: str) -> list[dict]:
    entry = api.snapshot()["symbols"].get(f"keras.optimizers.{cls}", {})
    return [p for p in entry.get("params", []) if not p.get("keyword_only")]


@transform("optimizer-positionals")
def optimizer_positionals(entry, rewrite) -> None:
    """Names positional optimizer arguments by the Keras 1/2 signature when their types show it was meant."""
    keras2_table = entry.options["keras2"]
    cls = _optimizer_class(rewrite, keras2_table)
    if cls is None:
        return
    keras2 = keras2_table[cls]
    keras3 = _keras3_parameters(cls)
    flags = set(entry.options["flags"])
    positional = [slot for slot in rewrite.slots if slot.positional]
    old_era = new_era = False
    first: int | None = None  # the first position where the two signatures disagree
    ambiguous: list[tuple[int, str, str, str]] = []
    for index, slot in enumerate(positional[1 : len(keras2)], start=1):
        if index >= len(keras3) or keras2[index] == keras3[index]["name"]:
            continue
        first = index if first is None else first
        old_kind = "flag" if keras2[index] in flags else "number"
        new_kind = "flag" if isinstance(keras3[index].get("default"), bool) else "number"
        kind = _kind(literal(slot.arg.value))
        if kind is None or old_kind == new_kind:
            ambiguous.append((index, code(rewrite, slot.arg.value), keras2[index], keras3[index]["name"]))
        elif kind == old_kind:
            old_era = True
        else:
            new_era = True
    if old_era and not new_era:
        for index, slot in enumerate(positional[: len(keras2)]):
            slot.name = "learning_rate" if index == 0 else keras2[index]
        moved = ", ".join(f"`{name}`" for name in keras2[first : len(positional)])
        rewrite.add(
            entry.code,
            "safe",
            f"the positional arguments follow the Keras 1/2 signature `{cls}({', '.join(keras2)})`: {moved} by keyword",
            lambda plan: None,  # the slots carry the Keras 1/2 names; the call is laid out from them
        )
        return
    if new_era:
        return
    for index, shown, old, new in ambiguous:
        rewrite.add(
            entry.code,
            "none",
            f"positional argument {index + 1} (`{shown}`) is `{old}` in Keras 1 and multi-backend Keras 2 "
            f"but `{new}` in Keras 3: write it as a keyword",
        )


@transform("optimizer-decay")
def optimizer_decay(entry, rewrite) -> None:
    """`decay=d` -> `learning_rate=InverseTimeDecay(lr, decay_steps=1, decay_rate=d)`."""
    defaults = entry.options["defaults"]
    cls = _optimizer_class(rewrite, defaults)
    slot = rewrite.slot("decay")
    if cls is None or slot is None:
        return
    shown = code(rewrite, slot.arg.value)
    value = literal(slot.arg.value)
    if _kind(value) == "number" and value == 0:
        rewrite.add(entry.code, "safe", f"remove `decay={shown}` (no decay)", drop("decay"))
        return
    rate = rewrite.slot("learning_rate") or rewrite.slot("lr")
    if rate is None and cls in entry.options["changed"]:
        rewrite.add(
            entry.code,
            "none",
            f"give the learning rate explicitly first: `{cls}`'s default was {defaults[cls]!r} in Keras 1 and "
            f"multi-backend Keras 2 but is 0.001 in tf.keras 2 and Keras 3",
        )
        return
    initial = code(rewrite, rate.arg.value) if rate is not None else repr(defaults[cls])
    schedule = spell(rewrite.ctx, "keras.optimizers.schedules.InverseTimeDecay", rewrite.node)
    detail = (
        f"`decay={shown}` -> `learning_rate=InverseTimeDecay({initial}, decay_steps=1, decay_rate={shown})`, "
        f"Keras 2's `lr / (1 + decay * iterations)`"
    )
    if schedule is None:
        rewrite.add(entry.code, "none", f"{detail}; {unspellable('keras.optimizers.schedules.InverseTimeDecay')}")
        return
    rewrite.add(entry.code, entry.fix, detail, _schedule(repr(defaults[cls]), schedule))


def _schedule(default: str, spelled):
    def apply(plan) -> None:
        decay = find(plan, "decay")
        if decay is None:
            return
        plan.requires.extend(spelled.requires)
        plan.writes.append(spelled.written)
        rate = find(plan, "learning_rate", "lr")
        initial = (rate.value or rate.arg.value) if rate is not None else cst.parse_expression(default)
        schedule = cst.Call(
            func=spelled.expression,
            args=[
                cst.Arg(initial, comma=comma()),
                cst.Arg(cst.Integer("1"), keyword=cst.Name("decay_steps"), equal=equal(), comma=comma()),
                cst.Arg(decay.value or decay.arg.value, keyword=cst.Name("decay_rate"), equal=equal()),
            ],
        )
        if rate is not None:
            rate.name, rate.value = "learning_rate", schedule
            decay.dropped = True
        else:
            decay.name, decay.value = "learning_rate", schedule

    return apply


@transform("optimizer-alias")
def optimizer_alias(entry, rewrite) -> None:
    """`optimizers.adam(...)` -> `optimizers.Adam(...)`."""
    aliases = entry.options["aliases"]
    alias = short(rewrite.target)
    if alias not in aliases:
        return
    cls = aliases[alias]
    callee = new_callee(rewrite.ctx, rewrite.node.func, "keras.optimizers", cls)
    if callee is None:
        rewrite.add(entry.code, "none", f"use `{cls}`; {unspellable('keras.optimizers.' + cls)}")
        return
    prefix = rewrite.ctx.code_for(callee.expression)
    retargeted = retarget(callee, f"keras.optimizers.{cls}")

    def apply(plan) -> None:
        retargeted(plan)
        plan.replace_call = lambda call: _realigned(rewrite.ctx, rewrite.node, call, prefix)

    rewrite.add(entry.code, entry.fix, f"use `{cls}`", apply)


@transform("optimizer-default-lr")
def optimizer_default_lr(entry, rewrite) -> None:
    """`Adadelta()` -> `Adadelta(learning_rate=1.0)`: the Keras 1/2 default, where the call gives none."""
    defaults = entry.options["defaults"]
    cls = _optimizer_class(rewrite, defaults)
    if cls is None or any(slot.arg.star or slot.positional for slot in rewrite.slots):
        return
    if rewrite.slot("learning_rate") is not None or rewrite.slot("lr") is not None:
        return
    default = repr(defaults[cls])

    def apply(plan) -> None:
        plan.slots.insert(0, new_slot("learning_rate", default))

    rewrite.add(entry.code, entry.fix, f"add `learning_rate={default}`, the Keras 1/2 default", apply)


# --- backend (KF370-KF375) ----------------------------------------------------------------------------


@transform("image-dim-ordering")
def image_dim_ordering(entry, rewrite) -> None:
    """`K.image_dim_ordering() == 'th'` -> `K.image_data_format() == 'channels_first'`."""
    module, name = entry.options["replacement"].rsplit(".", 1)
    values = entry.options["values"]
    comparison = _compared_string(rewrite.ctx, rewrite.node, values)
    callee = new_callee(rewrite.ctx, rewrite.node.func, module, name)
    if callee is None:
        rewrite.add(entry.code, "none", f"use `{name}()`; {unspellable(entry.options['replacement'])}")
        return
    if comparison is not None:
        # The fix spans the whole comparison, beyond the call the catalogue rewrites: reported here.
        parent, other = comparison
        new_call = rewrite.node.with_changes(func=callee.expression)
        new = _replace_in_comparison(parent, rewrite.node, new_call, other, _converted_strings(other, values))
        detail = f"`{code(rewrite, parent)}` -> `{rewrite.ctx.module.code_for_node(new)}`"
        edits = [replace_node(rewrite.ctx, parent, new)]
        fix = make_fix("safe", detail[:1].upper() + detail[1:], edits, callee.requires, callee.releases, callee.writes)
        rewrite.checker.report(rewrite.node, entry.code, f"{head(entry)}: {detail}", fix)
        return

    rewrite.add(
        entry.code,
        "unsafe",
        f"use `{name}()`; code reading its value must expect 'channels_first'/'channels_last' instead of 'th'/'tf'",
        retarget(callee, entry.options["replacement"]),
    )


def _compared_string(ctx, call: cst.Call, values: dict) -> tuple[cst.Comparison, cst.BaseExpression] | None:
    """`call == 'th'`, `'tf' != call`, `call in ('th',)`: the comparison and the other side, when it holds old values."""
    parent = ctx.parent(call)
    if isinstance(parent, cst.ComparisonTarget):
        parent = ctx.parent(parent)
    if not isinstance(parent, cst.Comparison) or len(parent.comparisons) != 1:
        return None
    target = parent.comparisons[0]
    if isinstance(target.operator, (cst.Equal, cst.NotEqual)):
        if parent.left is call:
            other = target.comparator
        elif target.comparator is call:
            other = parent.left
        else:
            return None
        strings = [other]
    elif isinstance(target.operator, (cst.In, cst.NotIn)) and parent.left is call:
        other = target.comparator
        if not isinstance(other, (cst.Tuple, cst.List, cst.Set)) or not other.elements:
            return None
        strings = [element.value for element in other.elements]
    else:
        return None
    if all(isinstance(string, cst.SimpleString) and literal(string) in values for string in strings):
        return parent, other
    return None


def _converted_strings(other: cst.BaseExpression, values: dict) -> cst.BaseExpression:
    """The old value strings (alone or in a tuple/list/set) replaced by the new ones, in the same quotes."""

    def new(string: cst.SimpleString) -> cst.SimpleString:
        return cst.SimpleString(string.quote + values[literal(string)] + string.quote)

    if isinstance(other, cst.SimpleString):
        return new(other)
    elements = [element.with_changes(value=new(element.value)) for element in other.elements]
    return other.with_changes(elements=elements)


def _replace_in_comparison(parent: cst.Comparison, call, new_call, other, new_other) -> cst.Comparison:
    target = parent.comparisons[0]
    if parent.left is call:
        return parent.with_changes(left=new_call, comparisons=[target.with_changes(comparator=new_other)])
    return parent.with_changes(left=new_other, comparisons=[target.with_changes(comparator=new_call)])


@transform("retarget-when-converted")
def retarget_when_converted(entry, rewrite) -> None:
    """Calls the new function only when the entry's `values` convert the argument (else the rename reports)."""
    argument = entry.options["argument"]
    slot = rewrite.slot(argument)
    if slot is None or value_key(literal(slot.arg.value)) not in entry.values.get(argument, {}):
        return
    module, name = entry.options["replacement"].rsplit(".", 1)
    callee = new_callee(rewrite.ctx, rewrite.node.func, module, name)
    if callee is None:
        rewrite.add(entry.code, "none", f"use `{name}`; {unspellable(entry.options['replacement'])}")
        return
    rewrite.add(entry.code, entry.fix, f"use `{name}`", retarget(callee, entry.options["replacement"]))





@transform("model-reset-states")
def model_reset_states(entry, rewrite) -> None:
    """`model.reset_states()` -> a loop calling `reset_state()` on the model's layers that have it.

    Only for a receiver the file shows to be a Keras model (a layer keeps `reset_states()` in Keras 3),
    and only as a statement of its own, whose value Keras 2 never gave (None)."""
    func = _method_call(rewrite)
    if func is None or rewrite.node.args:
        return
    bound = _bindings(rewrite.ctx).get(code(rewrite, func.value), [])
    # `self.model` is the model a Keras callback is attached to (`on_epoch_end`)
    if code(rewrite, func.value) != "self.model" and not any(_value_is_model(rewrite.ctx, value) for value, _ in bound):
        return
    statement = rewrite.ctx.parent(rewrite.node)
    if not isinstance(statement, cst.Expr):
        rewrite.add(entry.code, "none", entry.options["guidance"], None)
        return
    receiver = code(rewrite, func.value)
    loop = cst.parse_expression(
        f"[layer.reset_state() for layer in {receiver}.layers if hasattr(layer, 'reset_state')]"
    )
    rewrite.add(
        entry.code,
        entry.fix,
        f"call `reset_state()` on each layer of `{receiver}` that has it",
        lambda plan: setattr(plan, "replace_call", lambda call: loop),
    )
