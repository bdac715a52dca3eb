"""Transforms for the Keras 2 backend (KF376: `K.sum(x, axis=1)` -> `ops.sum(x, axis=1)`) and for TensorFlow
functions in model code (KF502, `--target portable`: `tf.reduce_sum(x, 1)` -> `ops.sum(x, axis=1)`), read
from two tables of the same shape: rules/backend_ops.toml and rules/tf_ops.toml (one row per function: its
old parameters, and the Keras 3 callable or expression template that replaces it, or the guidance where
nothing does). One code path, `rewrite_by_row`, interprets a row for either table; the model graph's KF501
(TensorFlow ops on Keras tensors) asks it too, through `table_call_fix`."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Protocol

import libcst as cst

from kerasfix import api, ruledata
from kerasfix.checks.callee import unspellable
from kerasfix.checks.callargs import keyword_arg
from kerasfix.checks.rewrite import CallRewrite, Plan, code, fix_of, new_slot, short, slot_value
from kerasfix.checks.transform_registry import TransformRegistry
from kerasfix.names import canonical
from kerasfix.spelling import spell

transform = TransformRegistry()  # merged in kerasfix/checks/transforms.py

# Template placeholders that stand for a Keras module, spelled as the file spells it.
MODULES = {"ops": "keras.ops", "random": "keras.random", "config": "keras.config", "keras": "keras"}
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class SeedSource(Protocol):
    """Where a random call's `seed` can come from (kerasfix/checks/portable_transforms.py `SeedHolder`):
    `plan(rewrite)` gives an object with `apply(plan)` and `detail`, or None and says why in `reason`."""

    reason: str

    def plan(self, rewrite) -> Any: ...


@dataclass(frozen=True)
class OpTable:
    """A table of functions and their Keras 3 replacements, and how findings name its functions."""

    stem: str  # rules/<stem>.toml
    prefix: str  # how a row's function is written in messages: `K.` or `tf.`
    origin: str  # whose signature `params` is: "Keras 2's", "TensorFlow's"
    lacking: str  # what has no equivalent: "Keras 3", "portable Keras 3 (`keras.ops`)"

    def rows(self) -> dict[str, dict]:
        return _rows(self.stem)


BACKEND = OpTable("backend_ops", "", "Keras 2's", "Keras 3")
TENSORFLOW = OpTable("tf_ops", "tf.", "TensorFlow's", "portable Keras 3 (`keras.ops`, `keras.random`)")


@functools.lru_cache(maxsize=None)
def _rows(stem: str) -> dict[str, dict]:
    return ruledata.load(stem).get("function", {})


def table() -> dict[str, dict]:
    """The backend functions by Keras 2 name."""
    return BACKEND.rows()


@transform("backend-to-ops")
def backend_to_ops(entry, rewrite) -> None:
    """A Keras 2 backend call rewritten to its Keras 3 replacement, or reported with guidance."""
    name = short(rewrite.target)
    row = table().get(name)
    if row is None or row.get("still_in_keras3"):
        return
    rewrite_by_row(entry.code, rewrite, BACKEND, name, row)


def rewrite_by_row(code_: str, rewrite, source: OpTable, name: str, row: dict, seed: "SeedSource | None" = None) -> None:
    """Adds to `rewrite` the changes a table row says: the call retargeted or replaced by its template,
    or guidance where the row has no replacement or the call passes what the replacement cannot take.
    `seed`: a `keras.random.SeedGenerator` the layer holds, passed as the call's `seed`."""
    shown = f"`{source.prefix}{name}`"
    if "none" in row:
        rewrite.add(code_, "none", f"{shown} has no {source.lacking} equivalent: {row['none']}")
        return
    params = list(row.get("params", []))
    if any(slot.arg.star for slot in rewrite.slots):
        rewrite.add(code_, "none", f"use {_replacement(row)}; arguments passed with `*`/`**` must be rewritten by hand")
        return
    positional = [slot for slot in rewrite.slots if slot.positional]
    variadic = _variadic(row)
    if len(positional) > len(params) and variadic is None:
        rewrite.add(code_, "none", f"use {_replacement(row)}; more positional arguments than {source.origin} {shown} took")
        return
    for index, slot in enumerate(positional):
        # a variadic last parameter (`tf.einsum(equation, *inputs)`) takes the rest, still by position
        slot.name = params[index] if variadic is None or index < len(params) - 1 else None
    unknown = [slot.name for slot in rewrite.slots if slot.name is not None and slot.name not in params]
    if unknown:
        rewrite.add(code_, "none", f"use {_replacement(row)}; {source.origin} {shown} took no `{unknown[0]}`")
        return
    dropped = [param for param in row.get("drop", {}) if rewrite.slot(param) is not None]
    lacking = _lacking(row, [slot.name for slot in rewrite.slots if slot.name is not None and slot.name not in dropped])
    if lacking:
        rewrite.add(code_, "none", f"use {_replacement(row)}; it has no counterpart of {source.origin} `{lacking[0]}`: rewrite by hand")
        return
    safety = row.get("fix", "safe")
    note = f" ({row['note']})" if row.get("note") and safety == "unsafe" else ""
    if "to" in row:
        _retarget(code_, rewrite, source, row, dropped, safety, note, seed)
    else:
        _template(code_, rewrite, row, safety, note)


def _lacking(row: dict, given: list[str]) -> list[str]:
    """The parameters given that the row's Keras callable does not take under any name (`tf.matmul`'s
    `transpose_b`, `tf.gather`'s `batch_dims`); none when the API snapshot does not know the callable."""
    target = api.snapshot()["symbols"].get(row.get("to", ""))
    if target is None or "params" not in target or target.get("var_keyword"):
        return []
    accepted = {param["name"] for param in target["params"]}
    renames = row.get("rename", {})
    return [name for name in given if renames.get(name, name) not in accepted]


class _NoEntries:
    """The checker a rewrite made outside the catalogue stands on: no catalogue entry names its arguments."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx

    def entries_for(self, rewrite) -> list:
        return []


def table_call_fix(ctx, node: cst.Call, code_: str, source: OpTable = TENSORFLOW):
    """For a rule outside the catalogue (KF501): what the table row of the call's function says, as
    (words, fix or None); None when the table has no row for it."""
    raw = ctx.imports.resolve(node.func) or ""
    name = raw[len("tensorflow."):] if source is TENSORFLOW and raw.startswith("tensorflow.") else short(raw)
    row = source.rows().get(name)
    if row is None:
        return None
    rewrite = CallRewrite(_NoEntries(ctx), node, raw)
    rewrite_by_row(code_, rewrite, source, name, row)
    fixed = fix_of(rewrite.changes, rewrite.fixes())
    if fixed is None:
        return "; ".join(change.detail for change in rewrite.changes), None
    return fixed


def _variadic(row: dict) -> str | None:
    """The row's last parameter when its Keras replacement takes any number of positional arguments."""
    target = api.snapshot()["symbols"].get(row.get("to", ""))
    return row["params"][-1] if target and target.get("var_positional") and row.get("params") else None


def _replacement(row: dict) -> str:
    if "to" in row:
        return f"`{row['to']}`"
    return "`" + _PLACEHOLDER.sub(lambda m: MODULES.get(m.group(1), m.group(1)), row["template"]) + "`"


def _retarget(code_: str, rewrite, source: OpTable, row: dict, dropped: list[str], safety: str, note: str, seed: "SeedSource | None") -> None:
    target = row["to"]
    spelled = spell(rewrite.ctx, target, rewrite.node, qualified=True)
    if spelled is None:
        rewrite.add(code_, "none", f"use `{target}`; {unspellable(target)}")
        return
    generator = seed.plan(rewrite) if seed is not None and "seed" in row.get("params", ()) else None
    if seed is not None and generator is None and "seed" in row.get("params", ()):
        rewrite.add(code_, "none", f"use `{spelled.text}` with `seed=` a `keras.random.SeedGenerator` the layer holds ({seed.reason})")
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
        if generator is not None:
            generator.apply(plan)

    detail = f"use `{spelled.text}`"
    if added:
        detail += " with " + ", ".join(f"`{renames.get(param, param)}={value}`" for param, value in added.items())
        detail += f" ({source.origin} default, which Keras 3 does not share)"
    if dropped:
        detail += "; remove " + ", ".join(f"`{param}` ({row['drop'][param]})" for param in dropped)
    if generator is not None:
        detail += "; " + generator.detail
    rewrite.add(code_, safety, detail + note, apply)


def _template(code_: str, rewrite, row: dict, safety: str, note: str) -> None:
    """A replacement written as an expression (`{ops}.reshape({x}, ({ops}.shape({x})[0], -1))`)."""
    template = row["template"]
    values: dict[str, str] = {}
    spellings = []
    renamed_lr: list[str] = []
    for placeholder in dict.fromkeys(_PLACEHOLDER.findall(template)):
        if placeholder in MODULES:
            spelled = spell(rewrite.ctx, MODULES[placeholder], rewrite.node, qualified=True)
            if spelled is None:
                rewrite.add(code_, "none", f"use {_replacement(row)}; {unspellable(MODULES[placeholder])}")
                return
            values[placeholder] = spelled.text
            spellings.append(spelled)
            continue
        slot = rewrite.slot(placeholder)
        if slot is None:
            rewrite.add(code_, "none", f"use {_replacement(row)}, giving `{placeholder}` (this call leaves it to its default)")
            return
        text = code(rewrite, slot.arg.value)
        learning_rate = _optimizer_lr(slot.arg.value)
        if learning_rate is not None:  # `K.get_value(model.optimizer.lr)`: Keras 3 optimizers have no `lr`
            text = code(rewrite, learning_rate) + ".learning_rate"
            renamed_lr.append(text)
        if "\n" in text or "\r" in text:
            rewrite.add(code_, "none", f"use {_replacement(row)} (written by hand: an argument spans several lines)")
            return
        if template.count("{" + placeholder + "}") > 1 and not _plain(slot.arg.value):
            safety = "unsafe"  # the argument would be evaluated twice
            note = note or f" (`{text}` is evaluated twice: give it a name first if it has side effects)"
        values[placeholder] = text if _plain(slot.arg.value) or _atomic(slot.arg.value) else f"({text})"
    given = {slot.name for slot in rewrite.slots}
    unused = given - set(values)
    if unused:
        rewrite.add(code_, "none", f"use {_replacement(row)}; `{sorted(unused)[0]}` has no place in it: rewrite by hand")
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
    rewrite.add(code_, safety, detail + note, apply)


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
