"""KF901: a `# noqa` code that silences nothing, or that names no kerasfix rule (Ruff's RUF100).

The engine finds these after every other rule has reported, since only then is it known which
directives silenced something (kerasfix/engine.py calls `unused_directives`)."""

from __future__ import annotations

from kerasfix.findings import Edit, Fix
from kerasfix.noqa import Directive, NoqaMap
from kerasfix.rule import Checker, Example, RuleSpec

UNUSED_NOQA = "KF901"

SPEC = RuleSpec(
    code=UNUSED_NOQA,
    name="unused-noqa",
    summary="A `# noqa` directive names a kerasfix code that silences nothing here, or no kerasfix rule at all",
    fix_safety="safe",
    what=(
        "Flags each `KF` code of a `# noqa: ...` comment that silences no finding on its line, and each that "
        "names no rule (a typo, or a rule that was renumbered). Codes of other tools (`E501`) and a bare "
        "`# noqa` are left alone: they may serve another linter. A code of a rule this run does not enable "
        "(not selected, or switched off by `per-file-ignores`) is left alone too, since another "
        "configuration may need it."
    ),
    why=(
        "A directive that silences nothing hides the next real finding of that code on the line, and a "
        "misspelt code silences nothing while looking as if it did. Removing stale directives after a "
        "migration keeps `# noqa` meaningful."
    ),
    examples=(
        Example(
            before="from keras.layers import Dense\nlayer = Dense(10)  # noqa: KF101\n",
            after="from keras.layers import Dense\nlayer = Dense(10)\n",
        ),
        Example(
            before="from keras.layers import Dense\nlayer = Dense(10)  # keep  # noqa: KF101, E501\n",
            after="from keras.layers import Dense\nlayer = Dense(10)  # keep  # noqa: E501\n",
        ),
        Example(
            before="from keras.layers import Dense\nlayer = Dense(10)  # noqa: KF999\n",
            after="from keras.layers import Dense\nlayer = Dense(10)\n",
        ),
        Example(
            before="from keras.models import Model\nmodel = Model(input=a, output=b)  # noqa: KF102\n",
            valid=True,
        ),
        Example(
            before="from keras.layers import Dense\nlayer = Dense(10)  # noqa: E501\n",
            valid=True,
        ),
    ),
    fix_note="The fix removes only the codes named in the finding; a directive left with no code is removed.",
    default_enabled=False,
)


class UnusedNoqaChecker(Checker):
    """Holds KF901's documentation; its findings come from the engine, which sees every report."""

    specs = (SPEC,)
    tokens = ("noqa",)


def unused_directives(found: NoqaMap, used: set[int], text: str, enabled: frozenset[str], known: set[str]) -> list[tuple[Directive, str, Fix]]:
    """Each directive with `KF` codes that silence nothing (of the enabled ones) or name no rule: the
    directive, the message and the fix removing those codes. `used` holds (id of directive, code)
    pairs the engine saw silence a finding."""
    results = []
    for directive in found.directives.values():
        unused, unknown = [], []
        for code, start, end in directive.codes:
            upper = code.upper()
            if not upper.startswith("KF") or upper == UNUSED_NOQA:
                continue
            if upper not in known:
                unknown.append((code, start, end))
            elif upper in enabled and (id(directive), upper) not in used:
                unused.append((code, start, end))
        if not unused and not unknown:
            continue
        parts = []
        if unused:
            parts.append("silences nothing: " + ", ".join(f"`{code}`" for code, _, _ in unused))
        if unknown:
            parts.append("no such rule: " + ", ".join(f"`{code}`" for code, _, _ in unknown))
        message = "Unused `noqa` code (" + "; ".join(parts) + ")"
        results.append((directive, message, _removal(directive, [*unused, *unknown], text, found)))
    return results


def _removal(directive: Directive, dropped: list[tuple[str, int, int]], text: str, found: NoqaMap) -> Fix:
    """A safe fix dropping codes from the directive, or the whole directive when none is left."""
    gone = {start for _, start, _ in dropped}
    kept = [code for code, start, _ in directive.codes if start not in gone]
    if kept:
        first, last = directive.codes[0][1], directive.codes[-1][2]
        edit = Edit(first, last, ", ".join(kept))
        noun = "code" if len(dropped) == 1 else "codes"
        return Fix("safe", f"Remove the unused `noqa` {noun}", [edit])
    rest = text[directive.end:_line_end(text, directive.end)]
    if rest.strip():
        if found.comments.get(directive.line, (None,))[0] == directive.start:
            # `# noqa: KF101 because ...`: what follows must stay a comment
            return Fix("safe", "Remove the unused `noqa` directive", [Edit(directive.start, directive.end, "#")])
        return Fix("safe", "Remove the unused `noqa` directive", [Edit(directive.start, directive.end, "")])
    start = directive.start
    while start > 0 and text[start - 1] in " \t":
        start -= 1
    return Fix("safe", "Remove the unused `noqa` directive", [Edit(start, directive.end, "")])


def _line_end(text: str, offset: int) -> int:
    ends = [position for position in (text.find("\n", offset), text.find("\r", offset)) if position >= 0]
    return min(ends) if ends else len(text)
