"""KF3xx: the API changes of `rules/*.toml`, interpreted. Data says what changed; this code applies it.

Each `[[change]]` entry becomes one rule. For every call whose target is one of an entry's `symbols`
(or, for `methods`, a method of that name in a file that imports Keras), the entry contributes edits
to one rewrite of the call: keyword renames, value conversions, removals, combined arguments, added
arguments, a new callee. All entries that touch a call share that rewrite, so a Keras 1
`Convolution2D(32, 3, 3, border_mode='same')` becomes `Conv2D(32, (3, 3), padding='same')` at once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable

import libcst as cst

from kerasfix import api, catalogue
from kerasfix.checks.callargs import literal, with_args
from kerasfix.checks.callee import new_callee
from kerasfix.findings import Requirement
from kerasfix.rule import Checker, Example, RuleSpec, make_fix, replace_node

NOT_CHANGES = {"names"}  # catalogue files that hold tables, not [[change]] entries
_SAFETY_ORDER = {"safe": 0, "unsafe": 1}


@dataclass(frozen=True)
class Entry:
    """One `[[change]]` of the catalogue."""

    spec: RuleSpec
    symbols: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    replacement: str | None = None
    replacement_method: str | None = None
    positional: tuple[str, ...] = ()
    renames: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    remove: dict = field(default_factory=dict)
    report: dict = field(default_factory=dict)
    combine: tuple = ()
    require: dict = field(default_factory=dict)
    transform: str | None = None
    fix: str = "safe"
    message: str = ""
    options: dict = field(default_factory=dict)

    @property
    def code(self) -> str:
        return self.spec.code

    @property
    def report_only(self) -> bool:
        """An entry that only reports the use of its symbols (a removal with no replacement)."""
        return not (
            self.replacement or self.replacement_method or self.renames or self.values or self.combine
            or self.remove or self.report or self.require or self.transform
        )


def _examples(raw: list[dict]) -> tuple[Example, ...]:
    return tuple(
        Example(
            before=item["before"],
            after=item.get("after"),
            valid=item.get("valid", False),
            unsafe=item.get("unsafe", False),
            target=item.get("target", "tf.keras"),
        )
        for item in raw
    )


def _describe(item: dict) -> str:
    parts = []
    if item.get("replacement"):
        parts.append(f"Rewrites calls of `{_short(item['symbols'][0])}` to `{_short(item['replacement'])}`.")
    if item.get("replacement_method"):
        parts.append(f"Rewrites `.{item['methods'][0]}()` to `.{item['replacement_method']}()`.")
    if item.get("renames"):
        listed = ", ".join(f"`{old}` -> `{new}`" for old, new in item["renames"].items())
        parts.append(f"Renames arguments: {listed}.")
    for combined in item.get("combine", []):
        parts.append(f"Joins {', '.join(f'`{p}`' for p in combined['parts'])} into one `{combined['into']}` tuple.")
    for name, values in item.get("values", {}).items():
        listed = ", ".join(f"{old!r} -> {new}" for old, new in values.items())
        parts.append(f"Converts values of `{name}`: {listed}.")
    for name, reason in item.get("remove", {}).items():
        parts.append(f"Removes `{name}`: {reason}")
    for name, reason in item.get("report", {}).items():
        parts.append(f"Reports `{name}`: {reason}")
    for name, value in item.get("require", {}).items():
        parts.append(f"Adds `{name}={value}` where it is missing.")
    if item.get("symbols"):
        parts.append("Applies to: " + ", ".join(f"`{s}`" for s in item["symbols"]) + ".")
    if item.get("methods"):
        parts.append("Applies to the methods: " + ", ".join(f"`.{m}()`" for m in item["methods"]) + " (in files that import Keras).")
    return " ".join(parts)


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


@functools.lru_cache(maxsize=1)
def entries() -> tuple[Entry, ...]:
    loaded: list[Entry] = []
    for path in sorted(catalogue.catalogue_dir().glob("*.toml")):
        stem = path.stem
        if stem in NOT_CHANGES:
            continue
        data = catalogue.load(stem)
        for item in data.get("change", []):
            fix = item.get("fix", "safe")
            spec = RuleSpec(
                code=item["code"],
                name=item["name"],
                summary=item["summary"],
                fix_safety=item.get("fix_safety", fix),
                what=item.get("what") or _describe(item),
                why=item["why"],
                examples=_examples(item.get("examples", [])),
                fix_note=item.get("fix_note", ""),
                default_enabled=item.get("default", True),
                removed_in=item.get("removed_in", ""),
                extra={"catalogue": stem},
            )
            loaded.append(
                Entry(
                    spec=spec,
                    symbols=tuple(item.get("symbols", ())),
                    methods=tuple(item.get("methods", ())),
                    replacement=item.get("replacement"),
                    replacement_method=item.get("replacement_method"),
                    positional=tuple(item.get("positional", ())),
                    renames=dict(item.get("renames", {})),
                    values=dict(item.get("values", {})),
                    remove=dict(item.get("remove", {})),
                    report=dict(item.get("report", {})),
                    combine=tuple((c["into"], tuple(c["parts"])) for c in item.get("combine", [])),
                    require=dict(item.get("require", {})),
                    transform=item.get("transform"),
                    fix=fix,
                    message=item.get("message", ""),
                    options=dict(item.get("options", {})),
                )
            )
    return tuple(loaded)


@functools.lru_cache(maxsize=1)
def _indexes() -> tuple[dict[str, list[Entry]], dict[str, list[Entry]]]:
    by_symbol: dict[str, list[Entry]] = {}
    by_method: dict[str, list[Entry]] = {}
    for entry in entries():
        for symbol in entry.symbols:
            by_symbol.setdefault(symbol, []).append(entry)
        for method in entry.methods:
            by_method.setdefault(method, []).append(entry)
    return by_symbol, by_method


def covered_symbols() -> frozenset[str]:
    return frozenset(_indexes()[0])


@functools.lru_cache(maxsize=1)
def _tokens() -> tuple[str, ...]:
    tokens = {symbol.rsplit(".", 1)[-1] for symbol in _indexes()[0]} | set(_indexes()[1])
    return tuple(sorted(tokens))


# --- one call's rewrite -------------------------------------------------------------------------


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
    code: str
    safety: str  # "safe", "unsafe" or "none" (report only)
    detail: str
    apply: Callable[["Plan"], None] | None = None
    requires: tuple[Requirement, ...] = ()


@dataclass
class Plan:
    slots: list[Slot]
    func: cst.BaseExpression
    requires: list[Requirement] = field(default_factory=list)
    releases: list[str] = field(default_factory=list)
    target: str | None = None  # the canonical symbol the call ends up naming
    replace_call: Callable[[cst.Call], cst.BaseExpression] | None = None
    # An expression enclosing the call (`K.image_dim_ordering() == 'th'`) and how to rebuild it around
    # the fixed call; the fix then replaces that expression instead of the call alone.
    outer: cst.BaseExpression | None = None
    replace_outer: Callable[[cst.BaseExpression], cst.BaseExpression] | None = None


class CallRewrite:
    """The changes catalogue entries make to one call, and the fixed call they add up to."""

    def __init__(self, checker: "CatalogueChecker", node: cst.Call, target: str | None) -> None:
        self.checker = checker
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
        for slot in self.slots:
            if slot.name == name and not slot.dropped:
                return slot
        return None

    def add(self, code: str, safety: str, detail: str, apply=None, requires: tuple = ()) -> None:
        self.changes.append(Change(code, safety, detail, apply, tuple(requires)))

    # -- building the fixed call

    def build(self, allowed: set[str]) -> tuple[cst.CSTNode, cst.BaseExpression, list[Requirement], list[str]] | None:
        """(the node the fix replaces, its replacement, imports needed, names released), or None."""
        plan = Plan(slots=[Slot(s.name, s.arg, s.positional) for s in self.slots], func=self.node.func, target=self.target)
        applied = False
        for change in self.changes:
            if change.safety in allowed and change.apply is not None:
                change.apply(plan)
                plan.requires.extend(change.requires)
                applied = True
        if not applied:
            return None
        call = with_args(self.node.with_changes(func=plan.func), _arrange(self.node, plan))
        new = plan.replace_call(call) if plan.replace_call else call
        if plan.outer is not None and plan.replace_outer is not None:
            return plan.outer, plan.replace_outer(new), plan.requires, plan.releases
        return self.node, new, plan.requires, plan.releases


def _arrange(original: cst.Call, plan: Plan) -> list[cst.Arg]:
    from kerasfix.checks.callargs import keyword_arg

    signature = _signature_names(plan.target)
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


def _signature_names(symbol: str | None) -> list[str] | None:
    if symbol is None:
        return None
    entry = api.snapshot()["symbols"].get(symbol)
    if entry is None or "params" not in entry:
        return None
    return [p["name"] for p in entry["params"] if not p.get("keyword_only")]


# --- the standard actions an entry contributes ----------------------------------------------------


def _rename(old: str, new: str, conversion: dict | None):
    def apply(plan: Plan) -> None:
        for slot in plan.slots:
            if slot.name == old and not slot.dropped:
                slot.name = new
                if conversion is not None:
                    slot.value = _converted(slot.value or slot.arg.value, conversion)

    return apply


def _convert_only(name: str, conversion: dict):
    def apply(plan: Plan) -> None:
        for slot in plan.slots:
            if slot.name == name and not slot.dropped:
                slot.value = _converted(slot.value or slot.arg.value, conversion)

    return apply


def _converted(value: cst.BaseExpression, conversion: dict) -> cst.BaseExpression:
    old = literal(value)
    new = conversion[_value_key(old)]
    if isinstance(value, cst.SimpleString) and new.startswith(("'", '"')):
        quote = value.quote
        return cst.SimpleString(quote + new[1:-1] + quote)
    return cst.parse_expression(new)


def _value_key(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


def _drop(name: str):
    def apply(plan: Plan) -> None:
        for slot in plan.slots:
            if slot.name == name:
                slot.dropped = True

    return apply


def _combine(into: str, parts: tuple[str, ...]):
    def apply(plan: Plan) -> None:
        found = [next((s for s in plan.slots if s.name == part and not s.dropped), None) for part in parts]
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


def _add(name: str, code: str):
    def apply(plan: Plan) -> None:
        plan.slots.append(Slot(name, cst.Arg(value=cst.parse_expression(code)), positional=False))

    return apply


def _retarget(ctx, replacement: str):
    def apply(plan: Plan) -> None:
        module, name = replacement.rsplit(".", 1)
        func, requires, releases = new_callee(ctx, plan.func, module, name)
        plan.func = func
        plan.requires.extend(requires)
        plan.releases.extend(releases)
        plan.target = replacement

    return apply


def _rename_method(method: str):
    def apply(plan: Plan) -> None:
        if isinstance(plan.func, cst.Attribute):
            plan.func = plan.func.with_changes(attr=cst.Name(method))

    return apply


class CatalogueChecker(Checker):
    specs = ()  # filled below from the catalogue
    tokens = ()

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.by_symbol, self.by_method = _indexes()
        self.handled: set[int] = set()
        self._keras_file: bool | None = None

    @property
    def keras_file(self) -> bool:
        if self._keras_file is None:
            from kerasfix.names import normalise_root

            self._keras_file = any(normalise_root(b.raw) is not None for b in self.ctx.imports.bindings.values()) or any(
                normalise_root(m) is not None for m in self.ctx.imports.star_modules
            )
        return self._keras_file

    def entries_for(self, rewrite: CallRewrite) -> list[Entry]:
        if rewrite.target is not None:
            return self.by_symbol.get(rewrite.target, [])
        func = rewrite.node.func
        if isinstance(func, cst.Attribute) and self.keras_file:
            return self.by_method.get(func.attr.value, [])
        return []

    def visit_Call(self, node: cst.Call) -> None:
        if id(node) in self.handled:
            return
        target = self.ctx.qualified(node.func)
        if target is None and not (isinstance(node.func, cst.Attribute) and node.func.attr.value in self.by_method):
            return
        if target is None and self.ctx.imports.resolve(node.func.value) is not None:
            return  # `lasagne.layers.get_output(...)`: a method name on another library's module
        if target is not None and target not in self.by_symbol:
            return
        rewrite = CallRewrite(self, node, target)
        entries = [e for e in self.entries_for(rewrite) if self.ctx.enabled(e.code)]
        if not entries:
            return
        for entry in entries:
            self._contribute(entry, rewrite)
        self._emit(rewrite)

    def _contribute(self, entry: Entry, rewrite: CallRewrite) -> None:
        code, fix = entry.code, entry.fix
        if entry.transform:
            from kerasfix.checks import transforms

            transforms.TRANSFORMS[entry.transform](entry, rewrite)
        for old, new in entry.renames.items():
            slot = rewrite.slot(old)
            if slot is None:
                continue
            conversion = entry.values.get(old)
            if conversion is not None and _value_key(literal(slot.arg.value)) not in conversion:
                shown = rewrite.ctx.code_for(slot.arg.value)
                rewrite.add(code, "none", f"`{old}={shown}` -> `{new}=`: this value must be converted by hand")
                continue
            if rewrite.slot(new) is not None:
                rewrite.add(code, "none", f"both `{old}` and `{new}` are given; keep `{new}`")
                continue
            rewrite.add(code, fix, f"`{old}` -> `{new}`", _rename(old, new, conversion))
        for name, conversion in entry.values.items():
            if name in entry.renames:
                continue
            slot = rewrite.slot(name)
            if slot is None:
                continue
            key = _value_key(literal(slot.arg.value))
            if key in conversion:
                rewrite.add(code, fix, f"`{name}={rewrite.ctx.code_for(slot.arg.value)}` -> `{name}={conversion[key]}`", _convert_only(name, conversion))
        for into, parts in entry.combine:
            if all(rewrite.slot(part) is not None for part in parts):
                rewrite.add(code, fix, f"{', '.join(f'`{p}`' for p in parts)} -> `{into}`", _combine(into, parts))
        for name, reason in entry.remove.items():
            if rewrite.slot(name) is not None:
                rewrite.add(code, fix, f"remove `{name}` ({reason})", _drop(name))
        for name, guidance in entry.report.items():
            if rewrite.slot(name) is not None:
                rewrite.add(code, "none", f"`{name}`: {guidance}")
        for name, default in entry.require.items():
            if rewrite.slot(name) is None:
                rewrite.add(code, fix, f"add `{name}={default}`", _add(name, default))
        if entry.replacement:
            rewrite.add(code, fix, f"use `{_short(entry.replacement)}`", _retarget(rewrite.ctx, entry.replacement))
        if entry.replacement_method:
            rewrite.add(code, fix, f"use `.{entry.replacement_method}()`", _rename_method(entry.replacement_method))
        if entry.report_only:
            rewrite.add(code, "none", entry.message or entry.spec.summary)

    def _emit(self, rewrite: CallRewrite) -> None:
        by_code: dict[str, list[Change]] = {}
        for change in rewrite.changes:
            by_code.setdefault(change.code, []).append(change)
        if not by_code:
            return
        fixes: dict[str, Any] = {}
        for level, allowed in (("safe", {"safe"}), ("unsafe", {"safe", "unsafe"})):
            if level == "unsafe" and not any(c.safety == "unsafe" for c in rewrite.changes):
                if "safe" in fixes:
                    fixes["unsafe"] = fixes["safe"]  # the same changes: the same fix
                break
            built = rewrite.build(allowed)
            if built is not None:
                old, new, requires, releases = built
                fixes[level] = (replace_node(self.ctx, old, new), requires, releases)
        entries = {e.code: e for e in self.entries_for(rewrite)}
        for code, changes in by_code.items():
            entry = entries[code]
            fixable = [c for c in changes if c.safety != "none"]
            manual = [c for c in changes if c.safety == "none"]
            head = entry.message or entry.spec.summary
            if entry.report_only:
                self.report(rewrite.node, code, head)
                continue
            if fixable:
                level = "unsafe" if any(c.safety == "unsafe" for c in fixable) else "safe"
                edit, requires, releases = fixes[level]
                details = "; ".join(c.detail for c in fixable)
                fix = make_fix(level, details[:1].upper() + details[1:], [edit], list(requires), list(releases))
                self.report(rewrite.node, code, f"{head}: {details}", fix)
            if manual:
                self.report(rewrite.node, code, f"{head}: " + "; ".join(c.detail for c in manual))


CatalogueChecker.specs = tuple(entry.spec for entry in entries())
CatalogueChecker.tokens = _tokens()
