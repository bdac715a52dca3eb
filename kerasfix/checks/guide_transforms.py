"""Transforms of rules/guide.toml: what Keras's "Migrating Keras 2 code to multi-backend Keras 3" guide lists
as removed or changed, where data alone cannot say which calls are affected."""

from __future__ import annotations

import libcst as cst

from kerasfix.checks.callargs import NOT_LITERAL, literal
from kerasfix.checks.rewrite import code, drop
from kerasfix.checks.transform_registry import TransformRegistry
from kerasfix.checks.validity import is_keras_model, path_suffix

# This module's transforms, by name; kerasfix/checks/transforms.py merges them into TRANSFORMS.
transform = TransformRegistry()


@transform("saved-model-load")
def saved_model_load(entry, rewrite) -> None:
    """Reports `load_model('dir')`: a path whose written end is not a `.keras` or `.h5` file is a SavedModel."""
    named = [slot for slot in rewrite.slots if slot.name == "filepath"]
    path = (named or [slot for slot in rewrite.slots if slot.positional] or [None])[0]
    if path is None or path.arg.star:
        return
    suffix = path_suffix(path.arg.value)
    if suffix is None or suffix.lower().endswith(tuple(entry.options["extensions"])):
        return
    written = literal(path.arg.value)
    if isinstance(written, str) and written.startswith(tuple(entry.options["loaded_prefixes"])):
        return  # `hf://user/model`: Keras 3 loads it from the Hugging Face Hub
    shown = code(rewrite, path.arg.value)
    rewrite.add(
        entry.code,
        "none",
        f"{shown} has no `.keras` or `.h5` extension; to run a SavedModel, load it with "
        f"`keras.layers.TFSMLayer({shown}, call_endpoint='serving_default')` (inference only), or re-save "
        f"the model as `.keras` with Keras 2 (tf_keras) and load that",
    )


@transform("removed-flag")
def removed_flag(entry, rewrite) -> None:
    """Drops a removed keyword whose value is what Keras 3 always does (`options.same`); for any other value,
    drops it as an unsafe fix or reports it (`options.otherwise`), with `options.guidance`."""
    options = entry.options
    name = options["argument"]
    slot = rewrite.slot(name)
    if slot is None:
        return
    if options.get("in_keras_class") and not _in_keras_subclass(rewrite):
        return
    shown = f"`{name}={code(rewrite, slot.arg.value)}`"
    value = literal(slot.arg.value)
    if value is not NOT_LITERAL and value == options["same"]:
        rewrite.add(entry.code, "safe", f"remove {shown} ({options['reason']})", drop(name))
        return
    otherwise = options["otherwise"]
    detail = f"{shown}: {options['guidance']}"
    if otherwise == "none":
        rewrite.add(entry.code, "none", detail)
    else:
        rewrite.add(entry.code, otherwise, f"remove {detail}", drop(name))


def _in_keras_subclass(rewrite) -> bool:
    """Whether the call is `super().__init__(...)` in a method of a class with a Keras base (`keras.layers.Layer`)."""
    func = rewrite.node.func
    if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call) and isinstance(func.value.func, cst.Name)):
        return False
    if func.value.func.value != "super":
        return False
    node = rewrite.ctx.parent(rewrite.node)
    while node is not None and not isinstance(node, cst.ClassDef):
        node = rewrite.ctx.parent(node)
    if node is None:
        return False
    return any((rewrite.ctx.qualified(base.value) or "").startswith("keras.") for base in node.bases)


@transform("functional-add-loss")
def functional_add_loss(entry, rewrite) -> None:
    """Reports `model.add_loss(...)` called on a model from outside its `call()` (the file shows `model` to be one)."""
    func = rewrite.node.func
    if not isinstance(func, cst.Attribute) or not is_keras_model(rewrite.ctx, func.value):
        return
    rewrite.add(entry.code, "none", f"`{code(rewrite, func.value)}.add_loss(...)`: {entry.options['guidance']}")


@transform("rnn-constants")
def rnn_constants(entry, rewrite) -> None:
    """Reports an `RNN(cell)` layer called with `constants=`: right away (`RNN(cell)(x, constants=c)`), or
    through the one name the file assigns it to (`rnn = RNN(cell)` ... `rnn(x, constants=c)`)."""
    ctx, node = rewrite.ctx, rewrite.node
    parent = ctx.parent(node)
    if isinstance(parent, cst.Call) and parent.func is node:
        calls = [parent]
    elif isinstance(parent, cst.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0].target, cst.Name):
        calls = _calls_of(ctx, parent.targets[0].target.value)
    else:
        return
    for call in calls:
        if any(arg.keyword is not None and arg.keyword.value == "constants" for arg in call.args):
            row = ctx.text.count("\n", 0, ctx.span(call)[0]) + 1
            rewrite.add(entry.code, "none", f"the layer is called with `constants=` (line {row}): {entry.options['guidance']}")
            return


def _calls_of(ctx, name: str) -> list[cst.Call]:
    """The calls `name(...)` in the file, when the file binds `name` only once (else none: which layer is unsure)."""

    class Finder(cst.CSTVisitor):
        def __init__(self) -> None:
            self.calls: list[cst.Call] = []
            self.bindings = 0

        def visit_Call(self, call: cst.Call) -> None:
            if isinstance(call.func, cst.Name) and call.func.value == name:
                self.calls.append(call)

        def visit_AssignTarget(self, target: cst.AssignTarget) -> None:
            if isinstance(target.target, cst.Name) and target.target.value == name:
                self.bindings += 1

    finder = Finder()
    ctx.module.visit(finder)
    return finder.calls if finder.bindings == 1 else []


@transform("still-defined-removed")
def still_defined_removed(entry, rewrite) -> None:
    """Reports a call of a method Keras 3 still defines only to refuse it, with `options.guidance`."""
    rewrite.add(entry.code, "none", entry.options["guidance"])
