"""Transforms for the layer entries of the catalogue (KF310-KF349): Keras 1 signatures, kernel sizes,
renamed and removed layer classes. Data they share (Keras 1 positional signatures) is in rules/classes.toml.
"""

from __future__ import annotations

import functools
from typing import Callable

import libcst as cst

from kerasfix import ruledata
from kerasfix.checks.callargs import arrange, keyword_arg, literal
from kerasfix.checks.callee import new_callee, realigned, retarget, unspellable
from kerasfix.checks.rewrite import (
    code,
    comma,
    drop,
    find,
    head,
    new_slot,
    positional_params,
    rename,
    set_value,
    short,
    slot_value,
    value_key,
)
from kerasfix.checks.transform_registry import TransformRegistry
from kerasfix.findings import Edit
from kerasfix.rule import make_fix, replace_node
from kerasfix.source import NEWLINE_RE

# This module's transforms, by name; kerasfix/checks/transforms.py merges them into TRANSFORMS.
transform = TransformRegistry()

# Keras 1 arguments that were one dimension each of what Keras 2 made the `kernel_size` tuple.
KERNEL_PARTS = ("nb_row", "nb_col", "kernel_dim1", "kernel_dim2", "kernel_dim3")
# Keras 3 parameters that a positional integer can never mean: reading one there raises an error.
NOT_INTEGER = ("padding", "data_format")


# --- shared data and small helpers ----------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _signatures() -> dict[str, list[str]]:
    """Keras 1 positional parameters per class name, aliases resolved."""
    table = ruledata.load("classes").get("keras1_signatures", {})
    aliases = table.get("aliases", {})
    signatures = {name: list(params) for name, params in table.items() if name != "aliases"}
    for alias, name in aliases.items():
        signatures[alias] = signatures[name]
    return signatures


def _positional(rewrite) -> list:
    return [slot for slot in rewrite.slots if slot.positional]


def _starred(rewrite) -> bool:
    return any(slot.arg.star for slot in rewrite.slots)


def _keywords(rewrite) -> set[str]:
    return {slot.name for slot in rewrite.slots if not slot.positional and slot.name}


def _is_int(node: cst.BaseExpression) -> bool:
    value = literal(node)
    return isinstance(value, int) and not isinstance(value, bool)


def _tuple(values: list[cst.BaseExpression]) -> cst.Tuple:
    if len(values) == 1:
        return cst.Tuple([cst.Element(values[0], comma=cst.Comma())])
    between = comma()
    return cst.Tuple([cst.Element(value, comma=between) for value in values[:-1]] + [cst.Element(values[-1])])


def _retarget(ctx, original: cst.Call, symbol: str) -> Callable | None:
    """The catalogue's callee rename, keeping arguments that were aligned under the `(` aligned; None
    when the new name cannot be spelled here (kerasfix/spelling.py)."""
    module, name = symbol.rsplit(".", 1)
    callee = new_callee(ctx, original.func, module, name)
    if callee is None:
        return None
    renamed = retarget(callee, symbol)

    def apply(plan) -> None:
        renamed(plan)
        shift = len(ctx.module.code_for_node(plan.func)) - len(ctx.code_for(original.func))
        plan.replace_call = lambda call: realigned(ctx, original, call, shift)

    return apply


def _line_break(slots: list):
    """The comma after a group of arguments being joined: the last one that ends a line, else the last one's."""
    for slot in reversed(slots):
        comma = slot.arg.comma
        if isinstance(comma, cst.Comma) and isinstance(comma.whitespace_after, cst.ParenthesizedWhitespace):
            return comma
    return slots[-1].arg.comma


def _both(*applies: Callable) -> Callable:
    def apply(plan) -> None:
        for step in applies:
            step(plan)

    return apply


# --- Keras 1 convolutions: kernel dimensions and positional arguments (KF330-KF333, KF336) ----------


def _keras1_reading(rewrite, names: list[str], keras3: list[str], spelled_keras1: bool) -> str | None:
    """How to read a convolution call: "keras1" (safely), "ambiguous" (Keras 1 likely), or None (Keras 2+)."""
    parts = [name for name in names if name in KERNEL_PARTS]
    positional = _positional(rewrite)
    keywords = _keywords(rewrite)
    keras1_keywords = {k for k in keywords if k in names and k not in keras3} | (keywords & set(KERNEL_PARTS))
    keras2_keywords = {k for k in keywords if k in keras3 and k not in names}
    if not parts:  # 1D: the first two positions mean the same in every version
        return "keras1" if keras1_keywords and len(positional) > 2 else None
    given = [names[i] for i in range(len(positional)) if i < len(names)] + sorted(keywords)
    if not all(part in given for part in parts):
        return None  # a Keras 1 call names every kernel dimension; without them it is Keras 2's kernel_size
    kernel = positional[1 : 1 + len(parts)]
    if any(isinstance(slot.arg.value, (cst.Tuple, cst.List)) for slot in kernel):
        return None
    if keras1_keywords:
        return "keras1"
    if keras2_keywords:
        return None  # Keras 2 raised on a kernel dimension beside `padding=` etc.: this is tf.keras code
    if spelled_keras1:
        return "keras1"
    if len(positional) == 1 + len(parts) and all(_is_int(slot.arg.value) for slot in kernel):
        return "ambiguous"
    return None


def _keras3_rejects(rewrite, keras3: list[str]) -> bool:
    """Whether Keras 3 reading the positional arguments in its own order puts an integer where none fits."""
    for index, slot in enumerate(_positional(rewrite)):
        if index < len(keras3) and keras3[index] in NOT_INTEGER and _is_int(slot.arg.value):
            return True
    return False


def _join_kernel(parts: list[str]) -> Callable:
    """Joins the Keras 1 kernel dimensions (named slots) into `kernel_size` at the first one's place."""

    def apply(plan) -> None:
        found = [find(plan, part) for part in parts]
        if any(slot is None for slot in found):
            return
        first = found[0]
        first.value = _tuple([slot_value(slot) for slot in found])
        first.positional = all(slot.positional for slot in found)
        first.name = "kernel_size"
        first.arg = first.arg.with_changes(comma=_line_break(found))
        for slot in found[1:]:
            slot.dropped = True

    return apply


def _join_positions(count: int) -> Callable:
    """Joins positional arguments 1..count into `kernel_size`, by position (nothing else is renamed)."""

    def apply(plan) -> None:
        positional = [slot for slot in plan.slots if slot.positional and not slot.dropped]
        kernel = positional[1 : 1 + count]
        if len(kernel) != count:
            return
        first = kernel[0]
        first.value = _tuple([slot_value(slot) for slot in kernel])
        first.name = "kernel_size"
        first.arg = first.arg.with_changes(comma=_line_break(kernel))
        for slot in kernel[1:]:
            slot.dropped = True

    return apply


def _kernel_text(rewrite, slots: list) -> str:
    return ", ".join(code(rewrite, slot.arg.value) for slot in slots)


@transform("keras1-convolution")
def keras1_convolution(entry, rewrite) -> None:
    """Keras 1 `Convolution2D(32, 3, 3, 'he_normal')` -> `Conv2D(32, (3, 3), kernel_initializer=...)` (with the
    entry's renames); classes Keras 3 lacks are renamed in any case. Options: `replacements` (class -> new
    symbol), `spelled_keras1` (only Keras 1/2 code spells these classes so), `remove_unsafe` {param: reason}.
    """
    if _starred(rewrite):
        return
    cls = short(rewrite.target)
    replacement = entry.options.get("replacements", {}).get(cls)
    names = _signatures().get(cls, [])
    keras3 = positional_params(replacement or rewrite.target) or []
    reading = _keras1_reading(rewrite, names, keras3, entry.options.get("spelled_keras1", False)) if names else None
    positional = _positional(rewrite)
    parts = [name for name in names if name in KERNEL_PARTS]
    steps: list[Callable] = []
    details: list[str] = []
    safety = entry.fix

    if reading is not None and len(positional) > len(names):
        rewrite.add(entry.code, "none", f"more positional arguments than Keras 1's `{short}` took: pass them by keyword")
        return
    if reading == "keras1":
        # Name the positional arguments as Keras 1 did, so that this entry and the renaming entries
        # after it see `init`, `border_mode`, ... The first (and a 1D filter length) keep their place.
        for index, slot in enumerate(positional):
            if index == 0 or (not parts and index == 1):
                continue
            slot.name = names[index]
        if parts:
            given = [slot for slot in rewrite.slots if slot.name in parts]
            shown = _kernel_text(rewrite, given)
            if all(slot.positional for slot in given):
                details.append(f"`{shown}` -> `({shown})`")
            else:
                details.append(f"{', '.join(f'`{part}`' for part in parts)} -> `kernel_size=({shown})`")
            steps.append(_join_kernel(parts))
    elif reading == "ambiguous":
        kernel = positional[1 : 1 + len(parts)]
        if not _keras3_rejects(rewrite, keras3):
            safety = "unsafe"
        shown = _kernel_text(rewrite, kernel)
        steps.append(_join_positions(len(parts)))
        details.append(
            f"`{shown}` -> `({shown})` (if `{keras3[2]}={code(rewrite, kernel[1].arg.value)}` was meant, "
            f"write it so)"
        )
    if replacement and (reading is not None or not entry.options.get("present_in_keras3", False)):
        renamed = _retarget(rewrite.ctx, rewrite.node, replacement)
        if renamed is None:
            rewrite.add(entry.code, "none", f"use `{short(replacement)}`; {unspellable(replacement)}")
            return
        steps.insert(0, renamed)
        details.insert(0, f"use `{short(replacement)}`")
    if steps:
        rewrite.add(entry.code, safety, "; ".join(details), _both(*steps))
    for name, reason in entry.options.get("remove_unsafe", {}).items():
        if rewrite.slot(name) is not None:
            rewrite.add(entry.code, "unsafe", f"remove `{name}` ({reason})", drop(name, first_only=True))


# --- convolution keywords (KF315) ---------------------------------------------------------------------


@transform("conv-arguments")
def conv_arguments(entry, rewrite) -> None:
    """`init` (one initializer, or both of a separable convolution's) and `border_mode` ('full' has no equal)."""
    _initializer(entry, rewrite)
    slot = rewrite.slot("border_mode")
    if slot is None:
        return
    shown = code(rewrite, slot.arg.value)
    if literal(slot.arg.value) in entry.options.get("padding_without_equal", ()):
        rewrite.add(entry.code, "none", f"`border_mode={shown}`: {entry.options['full_guidance']}")
    elif rewrite.slot("padding") is not None:
        rewrite.add(entry.code, "none", "both `border_mode` and `padding` are given; keep `padding`")
    else:
        rewrite.add(entry.code, entry.fix, "`border_mode` -> `padding`", rename("border_mode", "padding", first_only=True))


def _initializer(entry, rewrite) -> None:
    slot = rewrite.slot("init")
    if slot is None:
        return
    targets = entry.options.get("initializers", {}).get(short(rewrite.target), ["kernel_initializer"])
    if any(rewrite.slot(name) is not None for name in targets):
        rewrite.add(entry.code, "none", f"both `init` and `{targets[0]}` are given; keep `{targets[0]}`")
        return

    def apply(plan) -> None:
        found = find(plan, "init")
        if found is None:
            return
        found.name = targets[0]
        place = plan.slots.index(found)
        for offset, name in enumerate(targets[1:], start=1):
            plan.slots.insert(place + offset, new_slot(name, slot_value(found).deep_clone()))

    listed = " and ".join(f"`{name}`" for name in targets)
    rewrite.add(entry.code, entry.fix, f"`init` -> {listed}", apply)


# --- input_dim / input_length of sequence layers (KF320) ------------------------------------------------


@transform("sequence-input-shape")
def sequence_input_shape(entry, rewrite) -> None:
    """`LSTM(32, input_dim=64, input_length=10)` -> `LSTM(32, input_shape=(10, 64))`."""
    dim, length = rewrite.slot("input_dim"), rewrite.slot("input_length")
    if dim is None and length is None:
        return
    if rewrite.slot("input_shape") is not None or rewrite.slot("batch_input_shape") is not None:
        given = " and ".join(f"`{s.name}`" for s in (dim, length) if s is not None)
        rewrite.add(entry.code, "none", f"{given} beside `input_shape`: remove {given}, `input_shape` decides")
        return
    if dim is None:
        rewrite.add(
            entry.code,
            "none",
            f"`input_length={code(rewrite, length.arg.value)}` without `input_dim`: "
            f"pass `input_shape=({code(rewrite, length.arg.value)}, <features per step>)`",
        )
        return
    shown_length = code(rewrite, length.arg.value) if length is not None else "None"
    shown = f"({shown_length}, {code(rewrite, dim.arg.value)})"

    def apply(plan) -> None:
        found_dim, found_length = find(plan, "input_dim"), find(plan, "input_length")
        if found_dim is None:
            return
        steps = slot_value(found_length) if found_length is not None else cst.Name("None")
        shape = _tuple([steps, slot_value(found_dim)])
        keep, other = found_dim, found_length
        if found_length is not None and plan.slots.index(found_length) < plan.slots.index(found_dim):
            keep, other = found_length, found_dim  # the shape takes the place of the first of the two
        if other is not None:
            other.dropped = True
        keep.name, keep.value = "input_shape", shape

    given = "`input_dim`" + (", `input_length`" if length is not None else "")
    rewrite.add(entry.code, entry.fix, f"{given} -> `input_shape={shown}`", apply)


# --- Embedding(input_length=...) (KF381) -----------------------------------------------------------------


@transform("embedding-input-length")
def embedding_input_length(entry, rewrite) -> None:
    """Keras 3 ignores `input_length`. On a Sequential's embedding it was also the model's input shape:
    there it becomes `input_shape=(N,)`, which Keras 3 still honours, so the model is built as before."""
    length = rewrite.slot("input_length")
    if length is None or length.positional:
        return
    shape_given = any(rewrite.slot(name) is not None for name in ("input_shape", "batch_input_shape", "batch_size"))
    ctx, node = rewrite.ctx, rewrite.node
    parent = ctx.parent(node)
    in_sequential = (isinstance(parent, cst.Element) and _in_sequential(ctx, parent)) or _added_statement(ctx, node, parent) is not None
    shown = code(rewrite, length.arg.value)
    if in_sequential and not shape_given:

        def apply(plan) -> None:
            found = find(plan, "input_length")
            if found is not None:
                found.name, found.value = "input_shape", _tuple([slot_value(found)])

        rewrite.add(entry.code, entry.fix, f"`input_length={shown}` -> `input_shape=({shown},)`, the model's input shape", apply)
        return
    rewrite.add(entry.code, entry.fix, f"remove `input_length={shown}` ({entry.options['guidance']})", drop("input_length", first_only=True))


# --- Embedding(dropout=...) (KF313) ----------------------------------------------------------------------


@transform("embedding-dropout")
def embedding_dropout(entry, rewrite) -> None:
    """Keras 1 `Embedding(..., dropout=p)`: removed with a dropout layer added after it where the code allows."""
    slot = rewrite.slot("dropout")
    if slot is None or slot.positional:
        return
    value = literal(slot.arg.value)
    rate = code(rewrite, slot.arg.value)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
        rewrite.add(entry.code, "safe", f"remove `dropout={rate}` (no dropout)", drop("dropout", first_only=True))
        return
    layer = entry.options["layer"]
    module, name = layer.rsplit(".", 1)
    callee = new_callee(rewrite.ctx, rewrite.node.func, module, name)
    if callee is None:
        rewrite.add(entry.code, "none", f"`dropout={rate}`: {entry.options['guidance']} (`{name}({rate})`); {unspellable(layer)}")
        return
    added = f"{rewrite.ctx.module.code_for_node(callee.expression)}({rate})"
    edits = _dropout_edits(rewrite, slot, added)
    if edits is None:
        rewrite.add(entry.code, "none", f"`dropout={rate}`: {entry.options['guidance']} (`{name}({rate})`)")
        return
    detail = f"remove `dropout={rate}` and add `{added}` after the embedding ({entry.options['difference']})"
    fix = make_fix("unsafe", detail[:1].upper() + detail[1:], edits, callee.requires, writes=callee.writes)
    rewrite.checker.report(rewrite.node, entry.code, f"{head(entry)}: {detail}", fix)


def _dropout_edits(rewrite, dropout, added: str) -> list[Edit] | None:
    """The edits that remove `dropout=` and put the added layer after the embedding, or None if unsure where."""
    ctx, node = rewrite.ctx, rewrite.node
    without = node.with_changes(args=arrange(node, [arg for arg in node.args if arg is not dropout.arg]))
    parent = ctx.parent(node)
    if isinstance(parent, cst.Call) and parent.func is node:  # functional: `Embedding(...)(x)`
        wrapped = cst.Call(func=cst.parse_expression(added), args=[cst.Arg(parent.with_changes(func=without))])
        return [replace_node(ctx, parent, wrapped)]
    if isinstance(parent, cst.Element) and _in_sequential(ctx, parent):
        edit = replace_node(ctx, node, without)
        return [Edit(edit.start, edit.end, edit.content + "," + _element_separator(ctx.parent(parent), parent) + added)]
    statement = _added_statement(ctx, node, parent)
    if statement is None:
        return None
    line, receiver = statement
    _, end = ctx.span(line)
    # the end of the statement's logical line: past lines that end in a backslash
    newline = NEWLINE_RE.search(ctx.text, end)
    while newline is not None and ctx.text[: newline.start()].endswith("\\"):
        newline = NEWLINE_RE.search(ctx.text, newline.end())
    end_of_line = len(ctx.text) if newline is None else newline.start()
    indent = "".join(ctx.indentation(line))
    insertion = f"{ctx.module.default_newline}{indent}{receiver}.add({added})"
    return [replace_node(ctx, node, without), Edit(end_of_line, end_of_line, insertion)]


def _element_separator(container: cst.List | cst.Tuple, element: cst.Element) -> str:
    """What separates the elements of a list where `element` stands: its own layout, one per line or not."""
    elements = list(container.elements)
    index = elements.index(element)
    if index + 1 < len(elements) and isinstance(element.comma, cst.Comma):
        whitespace = element.comma.whitespace_after
    elif index > 0 and isinstance(elements[index - 1].comma, cst.Comma):
        whitespace = elements[index - 1].comma.whitespace_after
    elif isinstance(container, cst.List):
        whitespace = container.lbracket.whitespace_after
    else:
        return " "
    text = cst.Module(body=[]).code_for_node(whitespace)
    return text if "\n" in text else " "


def _in_sequential(ctx, element: cst.Element) -> bool:
    """Whether a list element is one of the layers given to `Sequential([...])`."""
    container = ctx.parent(element)
    arg = ctx.parent(container) if isinstance(container, (cst.List, cst.Tuple)) else None
    call = ctx.parent(arg) if isinstance(arg, cst.Arg) else None
    return isinstance(call, cst.Call) and call.args[0] is arg and ctx.qualified(call.func) == "keras.Sequential"


def _added_statement(ctx, node, parent) -> tuple[cst.CSTNode, str] | None:
    """For `model.add(Embedding(...))` alone on its line: (the statement, `model`)."""
    if not isinstance(parent, cst.Arg) or parent.keyword is not None:
        return None
    call = ctx.parent(parent)
    if not (isinstance(call, cst.Call) and len(call.args) == 1 and isinstance(call.func, cst.Attribute)):
        return None
    if call.func.attr.value != "add":
        return None
    expression = ctx.parent(call)
    line = ctx.parent(expression) if isinstance(expression, cst.Expr) else None
    if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
        return None
    return expression, ctx.code_for(call.func.value)


# --- BatchNormalization (KF319) ------------------------------------------------------------------------


@transform("batch-normalization-keras1")
def batch_normalization(entry, rewrite) -> None:
    """Keras 1 positional `BatchNormalization(1e-3)` (epsilon first) and `mode`."""
    names = entry.options["keras1_positional"]
    positional = _positional(rewrite)
    keras1_keywords = _keywords(rewrite) & set(entry.options["keras1_keywords"])
    if positional and not _starred(rewrite):
        first = literal(positional[0].arg.value)
        if isinstance(first, float) and len(positional) <= len(names):
            # Keras 3 reads a float first argument as `axis` (silently truncated); only Keras 1's epsilon fits.
            for index, slot in enumerate(positional):
                slot.name = names[index]
            listed = ", ".join(f"`{names[i]}`" for i in range(len(positional)))
            rewrite.add(entry.code, entry.fix, f"Keras 1 positional arguments passed by keyword ({listed})", _by_keyword(names))
        elif keras1_keywords:
            rewrite.add(
                entry.code,
                "none",
                "positional arguments: Keras 1 read them as (epsilon, mode, axis, momentum, ...), "
                "Keras 3 reads (axis, momentum, epsilon, ...); pass them by keyword",
            )
    mode = rewrite.slot("mode")
    if mode is None:
        return
    value = literal(mode.arg.value)
    shown = code(rewrite, mode.arg.value)
    if isinstance(value, int) and not isinstance(value, bool) and value == 0:
        rewrite.add(entry.code, entry.fix, f"remove `mode={shown}` (feature-wise normalization, what Keras 3 does)", drop("mode", first_only=True))
    else:
        guidance = entry.options["modes"].get(str(value), entry.options["modes"]["other"])
        rewrite.add(entry.code, "none", f"`mode={shown}`: {guidance}")


def _by_keyword(names: list[str]) -> Callable:
    def apply(plan) -> None:
        for slot in plan.slots:
            if slot.positional and slot.name in names:
                slot.positional = False
                slot.arg = keyword_arg(slot.name, slot.arg.value, slot.arg)

    return apply


# --- ZeroPadding1D/2D padding forms (KF317) -----------------------------------------------------------


@transform("keras1-padding-forms")
def keras1_padding_forms(entry, rewrite) -> None:
    """Keras 1 `ZeroPadding2D((top, bottom, left, right))` and `{'top_pad': ...}` dictionaries."""
    layouts = entry.options["padding_layouts"]
    layout = layouts.get(short(rewrite.target))
    if layout is None:
        return
    positional = _positional(rewrite)
    slot = rewrite.slot("padding") or (positional[0] if positional else None)
    if slot is None:
        return
    value = slot.arg.value
    groups = _padding_groups(value, layout)
    if groups is None:
        return
    shown = code(rewrite, value)
    if len(groups) == 1:
        new = _tuple(groups[0])
    else:
        new = _tuple([_tuple(group) for group in groups])
    rendered = cst.Module(body=[]).code_for_node(new)
    rewrite.add(entry.code, entry.fix, f"`{shown}` -> `{rendered}` (Keras 1 padding layout)", set_value(slot.arg, new))


def _padding_groups(value: cst.BaseExpression, layout: list[list[str]]) -> list[list[cst.BaseExpression]] | None:
    """The (before, after) pairs a Keras 1 padding value holds, per the layout of its dictionary keys."""
    keys = [key for group in layout for key in group]
    if isinstance(value, cst.Dict):
        found: dict[str, cst.BaseExpression] = {}
        for element in value.elements:
            if not isinstance(element, cst.DictElement):
                return None
            key = literal(element.key)
            if key not in keys:
                return None
            found[key] = element.value
        return [[found.get(key, cst.Integer("0")) for key in group] for group in layout]
    if isinstance(value, (cst.Tuple, cst.List)) and len(layout) > 1 and len(value.elements) == len(keys):
        if any(not isinstance(e, cst.Element) or isinstance(e.value, (cst.Tuple, cst.List)) for e in value.elements):
            return None
        values = [element.value for element in value.elements]
        return [values[i : i + 2] for i in range(0, len(values), 2)]
    return None


# --- TimeDistributedDense (KF334) ---------------------------------------------------------------------


@transform("time-distributed-dense")
def time_distributed_dense(entry, rewrite) -> None:
    """`TimeDistributedDense(64, ...)` -> `TimeDistributed(Dense(64, ...))`; layer-level arguments stay outside."""
    if _starred(rewrite):
        rewrite.add(entry.code, "none", "use `TimeDistributed(Dense(...))`")
        return
    names = entry.options["keras1_positional"]
    outer = set(entry.options["wrapper_keywords"])
    positional = _positional(rewrite)
    if len(positional) > len(names):
        rewrite.add(entry.code, "none", "more positional arguments than Keras 1 took: use `TimeDistributed(Dense(...))`")
        return
    if rewrite.slot("input_length") is not None and rewrite.slot("input_dim") is None:
        rewrite.add(
            entry.code,
            "none",
            "use `TimeDistributed(Dense(...))`; `input_length` without `input_dim` gives no shape: "
            "pass the wrapper `input_shape=(steps, features)`",
        )
        return
    ctx = rewrite.ctx
    dense_callee = new_callee(ctx, rewrite.node.func, "keras.layers", "Dense")
    wrapper_callee = new_callee(ctx, rewrite.node.func, "keras.layers", "TimeDistributed")
    if dense_callee is None or wrapper_callee is None:
        missing = "keras.layers.Dense" if dense_callee is None else "keras.layers.TimeDistributed"
        rewrite.add(entry.code, "none", f"use `TimeDistributed(Dense(...))`; {unspellable(missing)}")
        return
    dense, wrapper = dense_callee.expression, wrapper_callee.expression

    def split(call: cst.Call) -> cst.Call:
        inner: list[cst.Arg] = []
        wrapped: list[cst.Arg] = []
        dim = length = None
        for index, arg in enumerate(call.args):
            name = arg.keyword.value if arg.keyword is not None else None
            if name is None and index > 0:
                arg = keyword_arg(names[index], arg.value, arg)
                name = names[index]
            if name == "input_dim":
                dim = arg
            elif name == "input_length":
                length = arg
            elif name in outer:
                wrapped.append(arg)
            else:
                inner.append(arg)
        if dim is not None:
            steps = length.value if length is not None else cst.Name("None")
            wrapped.insert(0, keyword_arg("input_shape", _tuple([steps, dim.value]), dim))
        layer = cst.Call(func=dense, args=arrange(cst.Call(func=dense), inner))
        args = [cst.Arg(layer)] + wrapped
        return call.with_changes(func=wrapper, args=arrange(call, args))

    def apply(plan) -> None:
        plan.requires.extend(dense_callee.requires + wrapper_callee.requires)
        plan.releases.extend(dense_callee.releases)
        plan.writes.extend(dense_callee.writes + wrapper_callee.writes)
        plan.target = "keras.layers.TimeDistributed"
        plan.replace_call = split

    rewrite.add(entry.code, entry.fix, "use `TimeDistributed(Dense(...))`", apply)


# --- renamed and removed layer classes (KF335, KF337, KF338) --------------------------------------------


@transform("rename-layer")
def rename_layer(entry, rewrite) -> None:
    """A class renamed: options `replacements` (class -> symbol), `positional` (class -> old positional
    names, so later positions become keywords), `defaults` {new param: value} added when the call gives
    neither it nor an old name renamed to it."""
    cls = short(rewrite.target)
    replacement = entry.options["replacements"].get(cls)
    if replacement is None:
        return
    names = entry.options.get("positional", {}).get(cls, [])
    positional = _positional(rewrite)
    if _starred(rewrite) or len(positional) > max(len(names), 1):
        rewrite.add(entry.code, "none", f"use `{short(replacement)}`, passing arguments after the first by keyword")
        return
    for index, slot in enumerate(positional):
        if index < len(names):
            slot.name = names[index]
    renamed = _retarget(rewrite.ctx, rewrite.node, replacement)
    if renamed is None:
        rewrite.add(entry.code, "none", f"use `{short(replacement)}`; {unspellable(replacement)}")
        return
    steps = [renamed]
    details = [f"use `{short(replacement)}`"]
    for name, default in entry.options.get("defaults", {}).items():
        old = [o for o, n in entry.renames.items() if n == name]
        if rewrite.slot(name) is None and not any(rewrite.slot(o) is not None for o in old):
            steps.append(_append(name, default))
            details.append(f"add `{name}={default}` (the old default)")
    rewrite.add(entry.code, entry.fix, "; ".join(details), _both(*steps))


def _append(name: str, expression: str) -> Callable:
    """The action that adds the keyword argument `name=expression` at the end (without spaces around `=`)."""

    def apply(plan) -> None:
        plan.slots.append(new_slot(name, cst.parse_expression(expression)))

    return apply


@transform("layer-guidance")
def layer_guidance(entry, rewrite) -> None:
    """A removed layer with no replacement: reports what to do instead."""
    guidance = entry.options["guidance"].get(short(rewrite.target))
    if guidance is not None:
        rewrite.add(entry.code, "none", f"`{short(rewrite.target)}`: {guidance}")


# --- Keras 1 recurrent defaults (KF323) -----------------------------------------------------------------


@transform("keras1-recurrent-defaults")
def keras1_recurrent_defaults(entry, rewrite) -> None:
    """Reports Keras 1 defaults that Keras 3 changed, in calls that are Keras 1 code (options `defaults`
    per class {param: value}, `given_as` {param: [Keras 1 names]}, `keras1_keywords`)."""
    if not _keywords(rewrite) & set(entry.options["keras1_keywords"]):
        return  # without a Keras 1 keyword the call may be Keras 2 code, whose defaults differ again
    defaults = entry.options["defaults"].get(short(rewrite.target), {})
    given_as = entry.options.get("given_as", {})
    missing = [
        f"`{name}={value}`"
        for name, value in defaults.items()
        if rewrite.slot(name) is None and not any(rewrite.slot(old) is not None for old in given_as.get(name, []))
    ]
    if missing:
        rewrite.add(entry.code, "none", f"to keep the Keras 1 architecture, add {', '.join(missing)}")


# --- renames that only some classes of a family take (KF311, KF318) --------------------------------------


@transform("class-renames")
def class_renames(entry, rewrite) -> None:
    """Renames for some of an entry's classes only, applied like its `renames`: options `class_renames`
    {class: {old: new}} and `class_values` {old: {old value: new expression}}."""
    for old, new in entry.options["class_renames"].get(short(rewrite.target), {}).items():
        slot = rewrite.slot(old)
        if slot is None:
            continue
        conversion = entry.options.get("class_values", {}).get(old)
        if conversion is not None and value_key(literal(slot.arg.value)) not in conversion:
            shown = code(rewrite, slot.arg.value)
            rewrite.add(entry.code, "none", f"`{old}={shown}` -> `{new}=`: this value must be converted by hand")
        elif rewrite.slot(new) is not None:
            rewrite.add(entry.code, "none", f"both `{old}` and `{new}` are given; keep `{new}`")
        else:
            rewrite.add(entry.code, entry.fix, f"`{old}` -> `{new}`", rename(old, new, conversion))
