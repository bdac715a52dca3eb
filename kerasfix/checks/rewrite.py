"""The toolkit for rewriting one call: its argument slots, the plan of the fixed call, and the actions
catalogue entries and their transforms (kerasfix/checks/*_transforms.py, validity.py) add to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import libcst as cst

from kerasfix import api
from kerasfix.checks.callargs import NOT_LITERAL, keyword_arg, literal, with_args
from kerasfix.findings import Edit, Fix, Requirement, Written
from kerasfix.rule import Checker, make_fix, replace_node


@dataclass
class Slot:
    """An argument of the call being rewritten."""

    name: str | None  # parameter name (old, then new after renames); None for an unbound positional
    arg: cst.Arg
    positional: bool
    dropped: bool = False
    value: cst.BaseExpression | None = None  # a replacement value


@dataclass
class Change:
    """One edit an entry makes to a call, with its safety and the words that report it."""

    code: str
    safety: str  # "safe", "unsafe" or "none" (report only)
    detail: str
    apply: Callable[["Plan"], None] | None = None


@dataclass
class Plan:
    """The fixed call being planned: its slots, callee, and the imports and names the fix needs."""

    slots: list[Slot]
    func: cst.BaseExpression
    requires: list[Requirement] = field(default_factory=list)
    releases: list[str] = field(default_factory=list)
    writes: list[Written] = field(default_factory=list)
    target: str | None = None  # the canonical symbol the call ends up naming
    replace_call: Callable[[cst.Call], cst.BaseExpression] | None = None
    # An expression enclosing the call (`K.image_dim_ordering() == 'th'`) and how to rebuild it around
    # the fixed call; the fix then replaces that expression instead of the call alone.
    outer: cst.BaseExpression | None = None
    replace_outer: Callable[[cst.BaseExpression], cst.BaseExpression] | None = None
    # Edits elsewhere in the file that the fixed call needs (the `keras.random.SeedGenerator` a layer's
    # `__init__` makes for the call's `seed`).
    edits: list[Edit] = field(default_factory=list)


Action = Callable[[Plan], None]


class CallRewrite:
    """The changes catalogue entries make to one call, and the fixed call they add up to."""

    def __init__(self, checker: Checker, node: cst.Call, target: str | None) -> None:
        self.checker = checker  # the catalogue's checker: it says which entries apply (`entries_for`)
        self.ctx = checker.ctx
        self.node = node
        self.target = target
        self.changes: list[Change] = []
        self.slots = self._bind()

    def _bind(self) -> list[Slot]:
        positional_names: tuple[str, ...] = ()
        for entry in self.checker.entries_for(self):
            if entry.positional:
                positional_names = entry.positional
                break
        slots: list[Slot] = []
        index = 0
        for arg in self.node.args:
            if arg.star:
                slots.append(Slot(None, arg, positional=False))
                continue
            if arg.keyword is None:
                name = positional_names[index] if index < len(positional_names) else None
                slots.append(Slot(name, arg, positional=True))
                index += 1
            else:
                slots.append(Slot(arg.keyword.value, arg, positional=False))
        return slots

    def slot(self, name: str) -> Slot | None:
        return find(self, name)

    def add(self, code: str, safety: str, detail: str, apply=None) -> None:
        self.changes.append(Change(code, safety, detail, apply))

    # -- building the fixed call

    def build(self, allowed: set[str]) -> tuple[cst.CSTNode, cst.BaseExpression, Plan] | None:
        """(the node the fix replaces, its replacement, the plan: imports needed, names released and
        written), or None."""
        plan = Plan(slots=[Slot(s.name, s.arg, s.positional) for s in self.slots], func=self.node.func, target=self.target)
        applied = False
        for change in self.changes:
            if change.safety in allowed and change.apply is not None:
                change.apply(plan)
                applied = True
        if not applied:
            return None
        call = with_args(self.node.with_changes(func=plan.func), arranged(plan))
        new = plan.replace_call(call) if plan.replace_call else call
        if plan.outer is not None and plan.replace_outer is not None:
            return plan.outer, plan.replace_outer(new), plan
        return self.node, new, plan

    def fixes(self) -> dict[str, tuple[list[Edit], Plan]]:
        """The fixed call's edits and plan for each level of fix that has changes ("safe": the safe
        changes only; "unsafe": safe and unsafe ones)."""
        fixes: dict[str, tuple[list[Edit], Plan]] = {}
        for level, allowed in (("safe", {"safe"}), ("unsafe", {"safe", "unsafe"})):
            if level == "unsafe" and not any(c.safety == "unsafe" for c in self.changes):
                if "safe" in fixes:
                    fixes["unsafe"] = fixes["safe"]  # the same changes: the same fix
                break
            built = self.build(allowed)
            if built is not None:
                old, new, plan = built
                fixes[level] = ([replace_node(self.ctx, old, new), *plan.edits], plan)
        return fixes


class Verbatim:
    """Stands in for the node a plan replaces when the replacement is whole lines of new code written as
    text (a statement that becomes a function and a call): what the fix writes is `text` as it is."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _codegen(self, state) -> None:
        state.tokens.append(self.text)


def fix_of(changes: list[Change], fixes: dict[str, tuple[list[Edit], Plan]]) -> tuple[str, Fix] | None:
    """The words and the fix of the changes one rule made to a call (`fixes` from `CallRewrite.fixes`):
    unsafe when any change is; None when none of them can be fixed."""
    fixable = [change for change in changes if change.safety != "none"]
    if not fixable:
        return None
    level = "unsafe" if any(change.safety == "unsafe" for change in fixable) else "safe"
    edits, plan = fixes[level]
    details = "; ".join(change.detail for change in fixable)
    return details, make_fix(level, details[:1].upper() + details[1:], edits, plan.requires, plan.releases, plan.writes)


def arranged(plan: Plan) -> list[cst.Arg]:
    """The arguments of the planned call: positional while they fit the target's signature, then by keyword."""
    signature = positional_params(plan.target)
    args: list[cst.Arg] = []
    still_positional = True
    position = 0
    for slot in plan.slots:
        if slot.dropped:
            continue
        value = slot.value if slot.value is not None else slot.arg.value
        if slot.arg.star:
            args.append(slot.arg)
            continue
        if slot.positional and still_positional:
            fits = slot.name is None or signature is None or (position < len(signature) and signature[position] == slot.name)
            if fits:
                args.append(slot.arg.with_changes(value=value))
                position += 1
                continue
            still_positional = False
        if slot.name is None:
            args.append(slot.arg.with_changes(value=value))
            continue
        if slot.positional:
            args.append(keyword_arg(slot.name, value, slot.arg))
        else:
            args.append(slot.arg.with_changes(keyword=cst.Name(slot.name), value=value))
    return args


def positional_params(symbol: str | None) -> list[str] | None:
    """The Keras 3 parameters of `symbol` that may be passed by position, in order; None when the snapshot has none."""
    if symbol is None:
        return None
    entry = api.snapshot()["symbols"].get(symbol)
    if entry is None or "params" not in entry:
        return None
    return [p["name"] for p in entry["params"] if not p.get("keyword_only")]


# --- small helpers --------------------------------------------------------------------------------


def find(holder: CallRewrite | Plan, *names: str) -> Slot | None:
    """The first slot not dropped of a rewrite or plan whose name is one of `names`."""
    for slot in holder.slots:
        if slot.name in names and not slot.dropped:
            return slot
    return None


def arguments_by_name(rewrite: CallRewrite, params: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, cst.BaseExpression] | None:
    """The call's arguments by parameter name, its positional ones named after `params` in order (the slots
    are renamed so). None when an argument is passed with `*`/`**`, more are positional than `params`
    has, a keyword is not among them, or one of `required` is missing."""
    positional = [slot for slot in rewrite.slots if slot.positional]
    if any(slot.arg.star for slot in rewrite.slots) or len(positional) > len(params):
        return None
    for index, slot in enumerate(positional):
        slot.name = params[index]
    given = {slot.name: slot.arg.value for slot in rewrite.slots}
    if set(given) - set(params) or any(name not in given for name in required):
        return None
    return given


def _named(plan: Plan, name: str, first_only: bool) -> list[Slot]:
    """The slots not dropped named `name`: every one, or only the first."""
    found = [slot for slot in plan.slots if slot.name == name and not slot.dropped]
    return found[:1] if first_only else found


def slot_value(slot: Slot) -> cst.BaseExpression:
    """The value a slot has in the planned call: its replacement, else what was written."""
    return slot.value if slot.value is not None else slot.arg.value


def new_slot(name: str, value: cst.BaseExpression | str) -> Slot:
    """A new keyword slot `name=value` (a string value is parsed as an expression)."""
    return Slot(name, keyword_arg(name, value), positional=False)


def value_key(value: Any) -> str | None:
    """How `values` tables key an old literal value (strings as themselves, other literals by repr);
    None for a value that is not a literal, which no table holds."""
    if value is NOT_LITERAL:
        return None
    return value if isinstance(value, str) else repr(value)


def converted(value: cst.BaseExpression, conversion: dict) -> cst.BaseExpression:
    """`value` replaced by what `conversion` maps it to, a new string keeping the old one's quotes."""
    new = conversion[value_key(literal(value))]
    if isinstance(value, cst.SimpleString) and new.startswith(("'", '"')):
        quote = value.quote
        return cst.SimpleString(quote + new[1:-1] + quote)
    return cst.parse_expression(new)


def code(rewrite: CallRewrite, node: cst.CSTNode) -> str:
    """The source text of a node of the call's file."""
    return rewrite.ctx.code_for(node)


def head(entry) -> str:
    """The first words of an entry's findings: its message, else its summary."""
    return entry.message or entry.spec.summary


def short(symbol: str | None) -> str:
    """The last part of a dotted name (`keras.layers.Dense` -> `Dense`); "" for None."""
    return (symbol or "").rsplit(".", 1)[-1]


def equal() -> cst.AssignEqual:
    """An `=` without spaces, as keyword arguments are written."""
    return cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))


def comma() -> cst.Comma:
    """A `, ` between arguments."""
    return cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))


# --- the standard actions -------------------------------------------------------------------------


def rename(old: str, new: str, conversion: dict | None = None, first_only: bool = False) -> Action:
    """The action that renames argument `old` to `new` (every slot so named, or the first), converting its value when given a table."""

    def apply(plan: Plan) -> None:
        for slot in _named(plan, old, first_only):
            slot.name = new
            if conversion is not None:
                slot.value = converted(slot.value or slot.arg.value, conversion)

    return apply


def convert(name: str, conversion: dict) -> Action:
    """The action that converts the value of argument `name` by a `values` table, keeping its name."""

    def apply(plan: Plan) -> None:
        for slot in _named(plan, name, first_only=False):
            slot.value = converted(slot.value or slot.arg.value, conversion)

    return apply


def drop(name: str, first_only: bool = False) -> Action:
    """The action that removes argument `name` (every slot so named, or the first)."""

    def apply(plan: Plan) -> None:
        for slot in _named(plan, name, first_only):
            slot.dropped = True

    return apply


def set_value(arg: cst.Arg, value: cst.BaseExpression) -> Action:
    """The action that gives the argument written as `arg` the value `value`."""

    def apply(plan: Plan) -> None:
        for slot in plan.slots:
            if slot.arg is arg:
                slot.value = value

    return apply


def combine(into: str, parts: tuple[str, ...]) -> Action:
    """The action that joins arguments `parts` into one tuple argument `into`, at the first one's place."""

    def apply(plan: Plan) -> None:
        found = [find(plan, part) for part in parts]
        if any(slot is None for slot in found):
            return
        elements = [cst.Element((s.value or s.arg.value)) for s in found]
        value = cst.Tuple(elements)
        first = found[0]
        first.name, first.value = into, value
        first.positional = all(s.positional for s in found)
        for slot in found[1:]:
            slot.dropped = True

    return apply


def add(name: str, expression: str) -> Action:
    """The action that adds the argument `name=expression` at the end."""

    def apply(plan: Plan) -> None:
        plan.slots.append(Slot(name, cst.Arg(value=cst.parse_expression(expression)), positional=False))

    return apply


def rename_method(method: str) -> Action:
    """The action that makes a method call call `method` instead."""

    def apply(plan: Plan) -> None:
        if isinstance(plan.func, cst.Attribute):
            plan.func = plan.func.with_changes(attr=cst.Name(method))

    return apply
