"""KF3xx: the API changes of `rules/*.toml`, interpreted. Data says what changed; this code applies it.

Each `[[change]]` entry becomes one rule. For every call whose target is one of an entry's `symbols`
(or, for `methods`, a method of that name in a file that imports Keras), the entry contributes edits
to one rewrite of the call: keyword renames, value conversions, removals, combined arguments, added
arguments, a new callee. All entries that touch a call share that rewrite, so a Keras 1
`Convolution2D(32, 3, 3, border_mode='same')` becomes `Conv2D(32, (3, 3), padding='same')` at once.
"""

from __future__ import annotations

import libcst as cst

from kerasfix.checks import transforms
from kerasfix.checks.callargs import literal
from kerasfix.checks.callee import new_callee, retarget, unspellable
from kerasfix.checks.entries import Entry, entries, indexes, tokens
from kerasfix.checks.rewrite import CallRewrite, Change, add, combine, convert, drop, fix_of, head, rename, rename_method, value_key
from kerasfix.names import normalise_root
from kerasfix.rule import Checker


class CatalogueChecker(Checker):
    specs = ()  # filled below from the catalogue
    tokens = ()

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.by_symbol, self.by_method = indexes()
        self.handled: set[int] = set()
        self._keras_file: bool | None = None

    @property
    def keras_file(self) -> bool:
        if self._keras_file is None:
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
        target = self.ctx.qualified(node.func) or self._tensorflow(node.func)
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

    def _tensorflow(self, func: cst.BaseExpression) -> str | None:
        """`tensorflow.reduce_sum` for `tf.reduce_sum` when an entry matches TensorFlow's own functions
        (rules/portable.toml), else None: catalogue symbols are otherwise Keras names."""
        if not isinstance(func, cst.Attribute):
            return None
        raw = self.ctx.imports.resolve(func)
        return raw if raw is not None and raw.startswith("tensorflow.") and raw in self.by_symbol else None

    def _contribute(self, entry: Entry, rewrite: CallRewrite) -> None:
        code, fix = entry.code, entry.fix
        if entry.transform:
            transforms.TRANSFORMS[entry.transform](entry, rewrite)
        for old, new in entry.renames.items():
            slot = rewrite.slot(old)
            if slot is None:
                continue
            conversion = entry.values.get(old)
            if conversion is not None and value_key(literal(slot.arg.value)) not in conversion:
                shown = rewrite.ctx.code_for(slot.arg.value)
                rewrite.add(code, "none", f"`{old}={shown}` -> `{new}=`: this value must be converted by hand")
                continue
            if rewrite.slot(new) is not None:
                rewrite.add(code, "none", f"both `{old}` and `{new}` are given; keep `{new}`")
                continue
            rewrite.add(code, fix, f"`{old}` -> `{new}`", rename(old, new, conversion))
        for name, conversion in entry.values.items():
            if name in entry.renames:
                continue
            slot = rewrite.slot(name)
            if slot is None:
                continue
            key = value_key(literal(slot.arg.value))
            if key in conversion:
                rewrite.add(code, fix, f"`{name}={rewrite.ctx.code_for(slot.arg.value)}` -> `{name}={conversion[key]}`", convert(name, conversion))
        for into, parts in entry.combine:
            if all(rewrite.slot(part) is not None for part in parts):
                rewrite.add(code, fix, f"{', '.join(f'`{p}`' for p in parts)} -> `{into}`", combine(into, parts))
        for name, reason in entry.remove.items():
            if rewrite.slot(name) is not None:
                rewrite.add(code, fix, f"remove `{name}` ({reason})", drop(name))
        for name, guidance in entry.report.items():
            if rewrite.slot(name) is not None:
                rewrite.add(code, "none", f"`{name}`: {guidance}")
        for name, default in entry.require.items():
            if rewrite.slot(name) is None:
                rewrite.add(code, fix, f"add `{name}={default}`", add(name, default))
        if entry.replacement:
            module, name = entry.replacement.rsplit(".", 1)
            callee = new_callee(rewrite.ctx, rewrite.node.func, module, name)
            if callee is None:
                rewrite.add(code, "none", f"use `{name}`; {unspellable(entry.replacement)}")
            else:
                rewrite.add(code, fix, f"use `{name}`", retarget(callee, entry.replacement))
        if entry.replacement_method:
            rewrite.add(code, fix, f"use `.{entry.replacement_method}()`", rename_method(entry.replacement_method))
        if entry.report_only:
            rewrite.add(code, "none", entry.message or entry.spec.summary)

    def _emit(self, rewrite: CallRewrite) -> None:
        by_code: dict[str, list[Change]] = {}
        for change in rewrite.changes:
            by_code.setdefault(change.code, []).append(change)
        if not by_code:
            return
        fixes = rewrite.fixes()
        entries = {e.code: e for e in self.entries_for(rewrite)}
        for code, changes in by_code.items():
            entry = entries[code]
            fixable = [c for c in changes if c.safety != "none"]
            manual = [c for c in changes if c.safety == "none"]
            first = head(entry)
            if entry.report_only:
                self.report(rewrite.node, code, first)
                continue
            if fixable:
                details, fix = fix_of(changes, fixes)
                self.report(rewrite.node, code, f"{first}: {details}", fix)
            if manual:
                self.report(rewrite.node, code, f"{first}: " + "; ".join(c.detail for c in manual))


CatalogueChecker.specs = tuple(entry.spec for entry in entries())
CatalogueChecker.tokens = tokens()
