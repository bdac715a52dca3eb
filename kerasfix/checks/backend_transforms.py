"""Transforms for the Keras 2 backend (KF376): `K.sum(x, axis=1)` -> `ops.sum(x, axis=1)`, read from the
table rules/backend_ops.toml (one row per Keras 2 backend function: its Keras 2 parameters, and the
Keras 3 callable or expression template that replaces it, or the guidance where nothing does)."""

from __future__ import annotations

import functools
import re

import libcst as cst

from kerasfix import ruledata
from kerasfix.checks.callee import unspellable
from kerasfix.checks.callargs import keyword_arg
from kerasfix.checks.rewrite import Plan, code, new_slot, short, slot_value
from kerasfix.checks.transform_registry import TransformRegistry
from kerasfix.names import canonical
from kerasfix.spelling import spell

transform = TransformRegistry()  # merged in kerasfix/checks/transforms.py

# Template placeholders that stand for a Keras module, spelled as the file spells it.
MODULES = {"ops": "keras.ops", "random": "keras.random", "config": "keras.config", "keras": "keras"}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@functools.lru_cache(maxsize=1)
def table() -> dict[str, dict]:
    """The backend functions by Keras 2 name."""
    return ruledata.load("backend_ops").get("function", {})


@transform("backend-to-ops")
def backend_to_ops(entry, rewrite) -> None:
    """A Keras 2 backend call rewritten to its Keras 3 replacement, or reported with guidance."""
    name = short(rewrite.target)
    row = table().get(name)
    if row is None or row.get("still_in_keras3"):
        return
    if "none" in row:
        rewrite.add(entry.code, "none", f"`{name}` has no Keras 3 equivalent: {row['none']}")
        return
    params = list(row.get("params", []))
    if any(slot.arg.star for slot in rewrite.slots):
        rewrite.add(entry.code, "none", f"use {_replacement(row)}; arguments passed with `*`/`**` must be rewritten by hand")
        return
    positional = [slot for slot in rewrite.slots if slot.positional]
    if len(positional) > len(params):
        rewrite.add(entry.code, "none", f"use {_replacement(row)}; more positional arguments than Keras 2's `{name}` took")
        return
    for index, slot in enumerate(positional):
        slot.name = params[index]
    unknown = [slot.name for slot in rewrite.slots if slot.name not in params]
    if unknown:
        rewrite.add(entry.code, "none", f"use {_replacement(row)}; Keras 2's `{name}` took no `{unknown[0]}`")
        return
    dropped = [param for param in row.get("drop", {}) if rewrite.slot(param) is not None]
    safety = row.get("fix", "safe")
    note = f" ({row['note']})" if row.get("note") and safety == "unsafe" else ""
    if "to" in row:
        _retarget(entry, rewrite, row, dropped, safety, note)
    else:
        _template(entry, rewrite, row, safety, note)


def _replacement(row: dict) -> str:
    if "to" in row:
        return f"`{row['to']}`"
    return "`" + _PLACEHOLDER.sub(lambda m: MODULES.get(m.group(1), m.group(1)), row["template"]) + "`"


def _retarget(entry, rewrite, row: dict, dropped: list[str], safety: str, note: str) -> None:
    target = row["to"]
    spelled = spell(rewrite.ctx, target, rewrite.node, qualified=True)
    if spelled is None:
        rewrite.add(entry.code, "none", f"use `{target}`; {unspellable(target)}")
        return
    renames = row.get("rename", {})
    keyword_only = set(row.get("keyword_only", ()))
    added = {param: value for param, value in row.get("defaults", {}).items() if rewrite.slot(param) is None}

    def apply(plan: Plan) -> None:
        plan.func = spelled.expression
        plan.requires.extend(spelled.requires)
        plan.writes.append(spelled.written)
        plan.target = canonical(target) or target
        by_keyword = False
        for slot in plan.slots:
            if slot.name in dropped:
                slot.dropped = True
                continue
            by_keyword = by_keyword or slot.name in keyword_only
            if slot.name in renames:
                slot.name = renames[slot.name]
            if by_keyword and slot.positional:
                # this one, and every one after it, by keyword: Keras 3 puts them elsewhere
                slot.arg, slot.positional = keyword_arg(slot.name, slot_value(slot), slot.arg), False
        for param, value in added.items():
            plan.slots.append(new_slot(renames.get(param, param), value))

    detail = f"use `{spelled.text}`"
    if added:
        detail += " with " + ", ".join(f"`{renames.get(param, param)}={value}`" for param, value in added.items())
        detail += " (Keras 2's default, which Keras 3 does not share)"
    if dropped:
        detail += "; remove " + ", ".join(f"`{param}` ({row['drop'][param]})" for param in dropped)
    rewrite.add(entry.code, safety, detail + note, apply)


def _template(entry, rewrite, row: dict, safety: str, note: str) -> None:
    """A replacement written as an expression (`{ops}.reshape({x}, ({ops}.shape({x})[0], -1))`)."""
    template = row["template"]
    values: dict[str, str] = {}
    spellings = []
    renamed_lr: list[str] = []
    for placeholder in dict.fromkeys(_PLACEHOLDER.findall(template)):
        if placeholder in MODULES:
            spelled = spell(rewrite.ctx, MODULES[placeholder], rewrite.node, qualified=True)
            if spelled is None:
                rewrite.add(entry.code, "none", f"use {_replacement(row)}; {unspellable(MODULES[placeholder])}")
                return
            values[placeholder] = spelled.text
            spellings.append(spelled)
            continue
        slot = rewrite.slot(placeholder)
        if slot is None:
            rewrite.add(entry.code, "none", f"use {_replacement(row)}, giving `{placeholder}` (this call leaves it to its default)")
            return
        text = code(rewrite, slot.arg.value)
        learning_rate = _optimizer_lr(slot.arg.value)
        if learning_rate is not None:  # `K.get_value(model.optimizer.lr)`: Keras 3 optimizers have no `lr`
            text = code(rewrite, learning_rate) + ".learning_rate"
            renamed_lr.append(text)
        if "\n" in text or "\r" in text:
            rewrite.add(entry.code, "none", f"use {_replacement(row)} (written by hand: an argument spans several lines)")
            return
        if template.count("{" + placeholder + "}") > 1 and not _plain(slot.arg.value):
            safety = "unsafe"  # the argument would be evaluated twice
            note = note or f" (`{text}` is evaluated twice: give it a name first if it has side effects)"
        values[placeholder] = text if _plain(slot.arg.value) or _atomic(slot.arg.value) else f"({text})"
    given = {slot.name for slot in rewrite.slots}
    unused = given - set(values)
    if unused:
        rewrite.add(entry.code, "none", f"use {_replacement(row)}; `{sorted(unused)[0]}` has no place in it: rewrite by hand")
        return
    new = cst.parse_expression(_PLACEHOLDER.sub(lambda m: values[m.group(1)], template))

    def apply(plan: Plan) -> None:
        for spelled in spellings:
            plan.requires.extend(spelled.requires)
            plan.writes.append(spelled.written)
        plan.replace_call = lambda call: new

    detail = f"use `{rewrite.ctx.module.code_for_node(new)}`"
    if renamed_lr:
        detail += " (a Keras 3 optimizer's learning rate is `learning_rate`; it has no `lr`)"
    rewrite.add(entry.code, safety, detail + note, apply)


def _optimizer_lr(node: cst.BaseExpression) -> cst.BaseExpression | None:
    """The optimizer of `model.optimizer.lr` (or `optimizer.lr`, `opt.lr`), else None."""
    if not (isinstance(node, cst.Attribute) and node.attr.value == "lr"):
        return None
    owner = node.value
    last = owner.attr.value if isinstance(owner, cst.Attribute) else owner.value if isinstance(owner, cst.Name) else ""
    return owner if last in ("optimizer", "opt") or last.endswith("_optimizer") else None


def _plain(node: cst.BaseExpression) -> bool:
    """A name or attribute chain: reading it twice has no side effect."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name) and not node.lpar


def _atomic(node: cst.BaseExpression) -> bool:
    """An expression that needs no brackets where an operand goes (`x[0]`, `f(x)`, a literal)."""
    return isinstance(node, (cst.Call, cst.Subscript, cst.Integer, cst.Float, cst.SimpleString, cst.List, cst.Tuple, cst.Dict)) or bool(
        getattr(node, "lpar", None)
    )


@transform("graph-mode-backend")
def graph_mode_backend(entry, rewrite) -> None:
    """A removed graph-mode backend function reported with what replaces it; `K.function(inputs,
    outputs)` used as a feature extractor becomes `keras.Model(inputs, outputs)` (unsafe: calling the
    model returns tensors where the function returned NumPy arrays, and runs in inference mode)."""
    guidance = entry.options["guidance"].get(rewrite.target)
    if rewrite.target == "keras.backend.function":
        if _function_to_model(entry, rewrite):
            return
    if guidance is not None:
        rewrite.add(entry.code, "none", f"`{short(rewrite.target)}`: {guidance}")


def _function_to_model(entry, rewrite) -> bool:
    """Adds the `keras.Model(inputs, outputs)` rewrite of `K.function(inputs, outputs)` when it applies."""
    positional = [slot for slot in rewrite.slots if slot.positional]
    for index, slot in enumerate(positional[:2]):
        slot.name = ("inputs", "outputs")[index]
    names = {slot.name for slot in rewrite.slots}
    if len(positional) > 2 or names != {"inputs", "outputs"} or any(slot.arg.star for slot in rewrite.slots):
        return False  # `updates`, a name or `**kwargs`: a training function, not a feature extractor
    inputs = rewrite.slot("inputs").arg.value
    learning_phase = any(
        isinstance(node, cst.Call) and (rewrite.ctx.qualified(node.func) or "").endswith("learning_phase")
        for node in _elements(inputs)
    )
    if learning_phase:
        return False  # the learning phase input: KF374 says what to do
    spelled = spell(rewrite.ctx, "keras.models.Model", rewrite.node)
    if spelled is None:
        return False

    def apply(plan: Plan) -> None:
        plan.func = spelled.expression
        plan.requires.extend(spelled.requires)
        plan.writes.append(spelled.written)
        plan.target = "keras.Model"

    rewrite.add(
        entry.code,
        "unsafe",
        f"use `{spelled.text}(inputs, outputs)`: calling it returns tensors (use `.numpy()` or "
        "`keras.ops.convert_to_numpy` where NumPy arrays are needed) and runs the layers in inference mode",
        apply,
    )
    return True


def _elements(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(node, (cst.List, cst.Tuple)):
        return [element.value for element in node.elements]
    return [node]
