"""The `[[change]]` entries of `rules/*.toml` as `Entry` records, indexed by the symbols and methods they apply to."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from kerasfix import ruledata
from kerasfix.checks.rewrite import short
from kerasfix.rule import Example, RuleSpec


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
        parts.append(f"Rewrites calls of `{short(item['symbols'][0])}` to `{short(item['replacement'])}`.")
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


def _report_only_note(item: dict) -> str:
    """For an entry that takes its symbols from a table (`symbols_from`): the functions it matches whose
    row has no replacement (`none`), named, since those are reported with guidance and never fixed."""
    source = item.get("symbols_from")
    if not source:
        return ""
    rows = ruledata.load(source["table"]).get("function", {})
    matched = set(item.get("symbols", ()))
    names = [name for name, row in sorted(rows.items()) if "none" in row and f"{source['module']}.{name}" in matched]
    if not names:
        return ""
    listed = ", ".join(f"`{name}`" for name in names)
    return (f"Reported without a fix, because Keras 3 has no equivalent for them (each finding says what to do "
            f"instead, from the function's row in rules/{source['table']}.toml): {listed}.")


@functools.lru_cache(maxsize=1)
def entries() -> tuple[Entry, ...]:
    """Every `[[change]]` entry of the catalogue, file by file in name order."""
    loaded: list[Entry] = []
    for path in sorted(ruledata.catalogue_dir().glob("*.toml")):
        stem = path.stem
        if stem in ruledata.NOT_CHANGES:
            continue
        data = ruledata.load(stem)
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
                fix_note=" ".join(filter(None, (item.get("fix_note", ""), _report_only_note(item)))),
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
def indexes() -> tuple[dict[str, list[Entry]], dict[str, list[Entry]]]:
    """The entries by symbol and by method name."""
    by_symbol: dict[str, list[Entry]] = {}
    by_method: dict[str, list[Entry]] = {}
    for entry in entries():
        for symbol in entry.symbols:
            by_symbol.setdefault(symbol, []).append(entry)
        for method in entry.methods:
            by_method.setdefault(method, []).append(entry)
    return by_symbol, by_method


def covered_symbols() -> frozenset[str]:
    """The symbols some entry applies to."""
    return frozenset(indexes()[0])


@functools.lru_cache(maxsize=1)
def tokens() -> tuple[str, ...]:
    """The words a file must contain for an entry to apply to it: symbols' last parts and method names."""
    found = {symbol.rsplit(".", 1)[-1] for symbol in indexes()[0]} | set(indexes()[1])
    return tuple(sorted(found))
