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
from kerasfix.checks.rewrite import CallRewrite, Plan, Verbatim, code, fix_of, new_slot, short, slot_value
from kerasfix.checks.transform_registry import TransformRegistry
from kerasfix.rule import remove_statement
from kerasfix.findings import Edit
from kerasfix.names import canonical, dotted
from kerasfix.spelling import spell
from kerasfix.walk import walk

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
    modules = []  # a default naming a Keras module (`{config}.floatx()`), spelled as the file spells it
    for param, value in added.items():
        for placeholder in dict.fromkeys(_PLACEHOLDER.findall(value)):
            module = spell(rewrite.ctx, MODULES[placeholder], rewrite.node, qualified=True)
            if module is None:
                rewrite.add(code_, "none", f"use `{spelled.text}`; {unspellable(MODULES[placeholder])}")
                return
            modules.append(module)
            value = value.replace("{" + placeholder + "}", module.text)
        added[param] = value

    def apply(plan: Plan) -> None:
        plan.func = spelled.expression
        plan.requires.extend(spelled.requires)
        plan.writes.append(spelled.written)
        for module in modules:
            plan.requires.extend(module.requires)
            plan.writes.append(module.written)
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
        number = isinstance(slot.arg.value, (cst.Integer, cst.Float)) and not slot.arg.value.lpar
        if number and "{" + placeholder + "}." not in template:
            values[placeholder] = text  # a number only needs brackets where the template reads an attribute of it
        else:
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
    """An expression that needs no brackets where an operand goes (`x[0]`, `f(x)`, a string or display literal;
    not a number: `1.shape` does not parse)."""
    return isinstance(node, (cst.Call, cst.Subscript, cst.SimpleString, cst.List, cst.Tuple, cst.Dict)) or bool(
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
    if rewrite.target == "keras.backend.gradients":
        if _gradients_to_tape(entry, rewrite):
            return
    if guidance is not None:
        rewrite.add(entry.code, "none", f"`{short(rewrite.target)}`: {guidance}")


def _function_to_model(entry, rewrite) -> bool:
    """Adds the `keras.Model(inputs, outputs)` rewrite of `K.function(inputs, outputs)` when it applies: with
    the learning phase as the last input, only where every call of the function can be rewritten too."""
    positional = [slot for slot in rewrite.slots if slot.positional]
    for index, slot in enumerate(positional[:2]):
        slot.name = ("inputs", "outputs")[index]
    names = {slot.name for slot in rewrite.slots}
    if len(positional) > 2 or names != {"inputs", "outputs"} or any(slot.arg.star for slot in rewrite.slots):
        return False  # `updates`, a name or `**kwargs`: a training function, not a feature extractor
    inputs_slot = rewrite.slot("inputs")
    inputs = inputs_slot.arg.value
    phases = [index for index, node in enumerate(_elements(inputs)) if _is_learning_phase(rewrite.ctx, node)]
    if phases and (phases != [len(_elements(inputs)) - 1] or not isinstance(inputs, (cst.List, cst.Tuple)) or len(_elements(inputs)) < 2):
        return False  # the learning phase elsewhere than last: KF374 says what to do
    sites = _call_sites(rewrite, len(_elements(inputs)) if isinstance(inputs, (cst.List, cst.Tuple)) else None, bool(phases))
    if phases and sites is None:
        return False  # a call of the function that cannot follow (it passes the phase through a name, or 1)
    outputs = rewrite.slot("outputs").arg.value
    if _gradient_outputs(rewrite.ctx, outputs):
        return False  # a gradient among the outputs: KF375's `K.gradients` rewrite replaces both statements
    spelled = spell(rewrite.ctx, "keras.models.Model", rewrite.node)
    if spelled is None:
        return False
    single = isinstance(outputs, (cst.List, cst.Tuple)) and len(outputs.elements) == 1
    edits = [] if sites is None else [_site_edit(rewrite, site, single) for site in sites]
    if sites and not isinstance(outputs, (cst.List, cst.Tuple)):
        edits = []  # how many arrays the function returned is not written here: the calls stay as they are
        if phases:
            return False

    def apply(plan: Plan) -> None:
        plan.func = spelled.expression
        plan.requires.extend(spelled.requires)
        plan.writes.append(spelled.written)
        plan.target = "keras.Model"
        if phases:
            kept = list(inputs.elements[:-1])
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            for slot in plan.slots:
                if slot.arg is inputs_slot.arg:
                    slot.value = inputs.with_changes(elements=kept)
        plan.edits.extend(edits)

    detail = f"use `{spelled.text}(inputs, outputs)`"
    if phases:
        detail += " without the learning-phase input"
    if edits:
        detail += "; each call `f([x, ...])` becomes `f.predict_on_batch(x)`, which runs the layers in inference mode and returns NumPy arrays"
        detail += " (in a list where the function returned one)" if single else ""
    else:
        detail += ": calling it returns tensors (use `.numpy()` or `keras.ops.convert_to_numpy` where NumPy arrays are needed, and note that one output comes back bare, not in a list) and runs the layers in inference mode"
    rewrite.add(entry.code, "unsafe", detail, apply)
    return True


def _is_learning_phase(ctx, node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and (ctx.qualified(node.func) or "").endswith("learning_phase")


@dataclass(frozen=True)
class _Site:
    """A call of the function `K.function` made: `f([x, 0])`, perhaps indexed (`f([x, 0])[0]`)."""

    call: cst.Call
    inputs: tuple[cst.BaseExpression, ...]  # the arrays it passes, the learning phase left out
    indexed: cst.Subscript | None  # `[0]` right after the call


def _call_sites(rewrite, count: int | None, phase: bool) -> list[_Site] | None:
    """Every call of the name `K.function(...)` is assigned to, when it is bound once in the file and only
    ever called with a literal list of `count` inputs (the learning phase last, 0 or False); else None."""
    assign = rewrite.ctx.parent(rewrite.node)
    if count is None or not isinstance(assign, cst.Assign) or assign.value is not rewrite.node or len(assign.targets) != 1:
        return None
    target = assign.targets[0].target
    if not isinstance(target, cst.Name):
        return None
    name = target.value
    found: list[tuple[cst.Name, cst.CSTNode | None]] = []

    def enter(node: cst.CSTNode, parent: cst.CSTNode | None) -> None:
        if type(node) is cst.Name and node.value == name and node is not target:
            found.append((node, parent))

    walk(rewrite.ctx.module, enter)
    sites: list[_Site] = []
    for node, parent in found:
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            continue  # `x.name`: another object's attribute
        if isinstance(parent, cst.Arg) and parent.keyword is node:
            continue  # `g(name=...)`: a keyword
        if not (isinstance(parent, cst.Call) and parent.func is node) or len(parent.args) != 1:
            return None  # passed around, rebound, or called some other way
        arg = parent.args[0]
        if arg.keyword is not None or arg.star or not isinstance(arg.value, (cst.List, cst.Tuple)) or len(arg.value.elements) != count:
            return None
        if any(not isinstance(element, cst.Element) for element in arg.value.elements):
            return None
        values = tuple(element.value for element in arg.value.elements)
        if phase:
            if not (isinstance(values[-1], cst.Integer) and values[-1].value == "0") and not (isinstance(values[-1], cst.Name) and values[-1].value == "False"):
                return None  # the training phase (1): the model would be called with `training=True`, returning tensors
            values = values[:-1]
        outer = rewrite.ctx.parent(parent)
        indexed = None
        if isinstance(outer, cst.Subscript) and outer.value is parent and len(outer.slice) == 1:
            index = outer.slice[0].slice
            if isinstance(index, cst.Index) and isinstance(index.value, cst.Integer) and index.value.value == "0":
                indexed = outer
        sites.append(_Site(parent, values, indexed))
    return sites


def _site_edit(rewrite, site: _Site, single: bool) -> Edit:
    """`f([x, 0])` -> `f.predict_on_batch(x)` (in a list when the function returned one array in a list;
    `f([x, 0])[0]` -> `f.predict_on_batch(x)` then)."""
    ctx = rewrite.ctx
    given = [ctx.code_for(value) for value in site.inputs]
    argument = given[0] if len(given) == 1 else "[" + ", ".join(given) + "]"
    call = f"{ctx.code_for(site.call.func)}.predict_on_batch({argument})"
    if single and site.indexed is not None:
        start, end = ctx.span(site.indexed)
        return Edit(start, end, call)
    start, end = ctx.span(site.call)
    return Edit(start, end, f"[{call}]" if single else call)


def _elements(node: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(node, (cst.List, cst.Tuple)):
        return [element.value for element in node.elements]
    return [node]


# --- K.gradients and K.function -> a tf.GradientTape step ---------------------------------------------

_TAPE_LOCALS = ("values", "tape", "x", "loss_value")  # the names the new function binds for itself


def _gradients_to_tape(entry, rewrite) -> bool:
    """`G = E(K.gradients(L, X)[0])` followed by `F = K.function([X], [L, G])` (the gradient ascent of the
    Keras 2 filter-visualisation examples) becomes a model computing `L` from `X` and a function `F` that
    keeps the calling convention (a list in, a list of NumPy arrays out) and takes the gradient with
    `tf.GradientTape`: unsafe, and TensorFlow only."""
    ctx = rewrite.ctx
    node = rewrite.node
    if len(node.args) != 2 or any(arg.keyword is not None or arg.star for arg in node.args):
        return False
    loss, wrt = (arg.value for arg in node.args)
    if not isinstance(loss, cst.Name) or dotted(wrt) is None:
        return False
    wrt_text = dotted(wrt)
    indexed = ctx.parent(node)
    if not (isinstance(indexed, cst.Subscript) and indexed.value is node and len(indexed.slice) == 1):
        return False
    index = indexed.slice[0].slice
    if not (isinstance(index, cst.Index) and isinstance(index.value, cst.Integer) and index.value.value == "0"):
        return False
    assign = ctx.parent(indexed)
    while assign is not None and not isinstance(assign, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
        assign = ctx.parent(assign)
    if not isinstance(assign, cst.Assign) or len(assign.targets) != 1 or not isinstance(assign.targets[0].target, cst.Name):
        return False
    grads = assign.targets[0].target.value
    line = ctx.parent(assign)
    block = ctx.parent(line)
    if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1 or not isinstance(block, (cst.IndentedBlock, cst.Module)):
        return False
    body = list(block.body)
    following = body[body.index(line) + 1] if body.index(line) + 1 < len(body) else None
    function = _backend_function(ctx, following)
    if function is None:
        return False
    name, inputs, outputs = function
    output_names = [element.value.value if isinstance(element.value, cst.Name) else None for element in outputs]
    if [dotted(element.value) for element in inputs] != [wrt_text]:
        return False
    if not output_names or set(output_names) - {loss.value, grads} or len(set(output_names)) != len(output_names) or grads not in output_names:
        return False
    # the gradient's name is read only by the function's outputs; the expression around the gradient names
    # neither the loss, the input, the function nor what the new function binds
    uses = _name_nodes(ctx.module)
    if len(uses.get(grads, [])) != 2:
        return False
    around = {n.value for n in _names_within(assign.value) if not _inside(ctx, n, indexed)}
    if around & {loss.value, wrt_text.split(".")[0], name, grads, *_TAPE_LOCALS}:
        return False
    from kerasfix.spelling import _bare_uses, name_is_free

    model_name = f"{name}_model"
    if not name_is_free(ctx, model_name) or model_name in _bare_uses(ctx):
        return False
    tf, import_edit = _tensorflow(ctx, node)
    if tf is None:
        return False
    spelled = spell(ctx, "keras.models.Model", node)
    if spelled is None:
        return False
    start, end = ctx.span(assign)
    text = ctx.text
    indent = text[max(text.rfind("\n", 0, start), text.rfind("\r", 0, start)) + 1:start]
    gradient = "tape.gradient(loss_value, x)"
    value = ctx.code_for(assign.value)
    inner_start = ctx.span(indexed)[0] - ctx.span(assign.value)[0]
    inner_end = ctx.span(indexed)[1] - ctx.span(assign.value)[0]
    value = value[:inner_start] + gradient + value[inner_end:]
    if "\n" in value or "\r" in value:
        return False
    returned = ", ".join(
        f"{tf}.convert_to_tensor(loss_value).numpy()" if item == loss.value else f"{tf}.convert_to_tensor({grads}).numpy()"
        for item in output_names
    )
    step = indent + ctx.default_indent
    lines = [
        f"{model_name} = {spelled.text}(inputs={wrt_text}, outputs={loss.value})",
        f"{indent}def {name}(values):",
        f"{step}x = {tf}.convert_to_tensor(values[0], dtype={model_name}.inputs[0].dtype)",
        f"{step}with {tf}.GradientTape() as tape:",
        f"{step}{ctx.default_indent}tape.watch(x)",
        f"{step}{ctx.default_indent}loss_value = {model_name}(x)",
        f"{step}{grads} = {value}",
        f"{step}return [{returned}]",
    ]
    removal = remove_statement(ctx, following)
    if removal is None:
        return False
    edits = [removal] + ([import_edit] if import_edit is not None else [])

    def apply(plan: Plan) -> None:
        plan.requires.extend(spelled.requires)
        plan.writes.append(spelled.written)
        plan.outer = assign
        plan.replace_outer = lambda new: Verbatim(ctx.module.default_newline.join(lines))
        plan.edits.extend(edits)

    rewrite.add(
        entry.code,
        "unsafe",
        f"compute `{loss.value}` with `{spelled.text}(inputs={wrt_text}, outputs={loss.value})` and take its gradient with "
        f"`{tf}.GradientTape` in a function `{name}` that, like the backend function it replaces, takes a list and returns "
        "NumPy arrays (TensorFlow backend only; the expression around the gradient is evaluated at each call)",
        apply,
    )
    return True


def _backend_function(ctx, statement) -> tuple[str, list, list] | None:
    """(name, inputs, outputs) of a statement `name = K.function([...], [...])`, else None."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if not isinstance(small, cst.Assign) or len(small.targets) != 1 or not isinstance(small.targets[0].target, cst.Name):
        return None
    call = small.value
    if not isinstance(call, cst.Call) or ctx.qualified(call.func) != "keras.backend.function" or len(call.args) != 2:
        return None
    if any(arg.keyword is not None or arg.star for arg in call.args):
        return None
    inputs, outputs = (arg.value for arg in call.args)
    if not isinstance(inputs, cst.List) or not isinstance(outputs, cst.List):
        return None
    if any(not isinstance(element, cst.Element) for element in (*inputs.elements, *outputs.elements)):
        return None
    return small.targets[0].target.value, list(inputs.elements), list(outputs.elements)


def _name_nodes(module: cst.Module) -> dict[str, list[cst.Name]]:
    """Every name read or bound in the file (not attribute names or keywords), by name."""
    found: dict[str, list[cst.Name]] = {}

    def enter(node: cst.CSTNode, parent: cst.CSTNode | None) -> None:
        if type(node) is cst.Name:
            if isinstance(parent, cst.Attribute) and parent.attr is node:
                return
            if isinstance(parent, cst.Arg) and parent.keyword is node:
                return
            found.setdefault(node.value, []).append(node)

    walk(module, enter)
    return found


def _names_within(node: cst.CSTNode) -> list[cst.Name]:
    found: list[cst.Name] = []

    def enter(inner: cst.CSTNode, parent: cst.CSTNode | None) -> None:
        if type(inner) is cst.Name and not (isinstance(parent, cst.Attribute) and parent.attr is inner) and not (
            isinstance(parent, cst.Arg) and parent.keyword is inner
        ):
            found.append(inner)

    walk(node, enter)
    return found


def _inside(ctx, node: cst.CSTNode, ancestor: cst.CSTNode) -> bool:
    current = node
    while current is not None:
        if current is ancestor:
            return True
        current = ctx.parent(current)
    return False


def _tensorflow(ctx, at: cst.CSTNode) -> tuple[str | None, Edit | None]:
    """How to name TensorFlow at `at`: a module-level `import tensorflow as tf` the file has (no edit), or
    `tf` with an edit importing it before the file's first import, when nothing in the file binds or reads
    `tf`; (None, None) when neither is sure."""
    from kerasfix.spelling import _bare_uses, file_scopes, name_is_free

    scopes = file_scopes(ctx)
    for name, binding in sorted(ctx.imports.bindings.items()):
        if binding.raw == "tensorflow" and not binding.nested and not binding.pending and name not in ctx.imports.shadowed_in:
            if scopes.binder(name, at, ctx.parent) is None:
                return name, None
    if not name_is_free(ctx, "tf") or "tf" in _bare_uses(ctx) or ctx.text != ctx.source.text:
        return None, None
    for statement in ctx.module.body:
        if isinstance(statement, cst.SimpleStatementLine) and any(isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body):
            start = ctx.span(statement)[0]
            line_start = max(ctx.text.rfind("\n", 0, start), ctx.text.rfind("\r", 0, start)) + 1
            if ctx.text[line_start:start].strip():
                return None, None
            return "tf", Edit(line_start, line_start, "import tensorflow as tf" + ctx.module.default_newline)
    return None, None


def _gradient_outputs(ctx, outputs: cst.BaseExpression) -> bool:
    """Whether an output of `K.function` is a name some assignment in the file gives a `K.gradients` value."""
    if "gradients" not in ctx.text:
        return False
    names = {node.value for node in _elements(outputs) if isinstance(node, cst.Name)}
    found = False

    def enter(node: cst.CSTNode, parent: cst.CSTNode | None) -> None:
        nonlocal found
        if found or type(node) is not cst.Assign:
            return
        if not any(isinstance(target.target, cst.Name) and target.target.value in names for target in node.targets):
            return
        for inner in _calls_within(node.value):
            if ctx.qualified(inner.func) == "keras.backend.gradients":
                found = True

    walk(ctx.module, enter)
    return found


def _calls_within(node: cst.CSTNode) -> list[cst.Call]:
    found: list[cst.Call] = []
    walk(node, lambda inner, parent: found.append(inner) if type(inner) is cst.Call else None)
    return found
