"""The parts of README.md and CONTRIBUTING.md written from the code: `python -m kerasfix.docs` rewrites them.

Each part stands between `<!-- begin NAME ... -->` and `<!-- end NAME -->` comments;
tests/test_generated_docs.py fails when a file differs from what this module writes.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Callable

COMMAND = "python -m kerasfix.docs"
ROOT = Path(__file__).resolve().parent.parent  # the checkout: README.md and CONTRIBUTING.md live here


def rules_table() -> str:
    """README's table of every rule: code, name, fix safety, whether it runs by default, summary."""
    from kerasfix import registry

    lines = ["| code | name | fix | default | summary |", "| --- | --- | --- | --- | --- |"]
    for code, spec in registry.all_specs().items():
        default = "yes" if spec.default_enabled else "no"
        lines.append(f"| {code} | {spec.name} | {spec.fix_safety} | {default} | {_cell(spec.summary)} |")
    return "\n".join(lines)


def catalogue_keys() -> str:
    """CONTRIBUTING's tables of the keys a `[[change]]` entry, an example and a `combine` item may hold."""
    from kerasfix import ruledata

    parts = []
    for title, record in (
        ("`[[change]]`", ruledata.CHANGE),
        ("an item of `examples`", ruledata.EXAMPLE),
        ("an item of `combine`", ruledata.COMBINE),
    ):
        lines = [f"Keys of {title}:", "", "| key | type | required | what it is |", "| --- | --- | --- | --- |"]
        for name, key in record.keys.items():
            required = "yes" if key.required else ""
            lines.append(f"| `{name}` | {_type(key.kind)} | {required} | {_cell(key.doc)} |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _type(kind) -> str:
    if kind.choices:
        listed = [f"`{choice}`" for choice in kind.choices]
        return "one of " + ", ".join(listed)
    if kind.record is not None:
        return f"list of {kind.record.label} tables"
    text = re.sub(r"^an? ", "", kind.name)
    if kind.form_name:
        text += f": {kind.form_name}"
    return _cell(text)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# Which generated part goes into which file.
PARTS: dict[str, tuple[str, Callable[[], str]]] = {
    "rules-table": ("README.md", rules_table),
    "catalogue-keys": ("CONTRIBUTING.md", catalogue_keys),
}


def _block(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- begin {re.escape(name)}\b[^\n]*-->\n)(.*?)(<!-- end {re.escape(name)} -->)", re.DOTALL)


def rewritten(text: str, name: str, content: str) -> str:
    """`text` with the part called `name` replaced by `content`; ValueError when its markers are missing."""
    block = _block(name)
    if not block.search(text):
        raise ValueError(f"no `<!-- begin {name} -->` ... `<!-- end {name} -->` markers")
    return block.sub(lambda match: match.group(1) + content + "\n" + match.group(3), text, count=1)


def stale(root: Path = ROOT) -> list[str]:
    """The generated parts that differ from what is in the files, as `FILE (part)`."""
    found = []
    for name, (filename, generate) in PARTS.items():
        text = (root / filename).read_text(encoding="utf-8")
        if rewritten(text, name, generate()) != text:
            found.append(f"{filename} ({name})")
    return found


def write(root: Path = ROOT) -> list[str]:
    """Rewrite every generated part in place; the files that changed."""
    changed = []
    for name, (filename, generate) in PARTS.items():
        path = root / filename
        text = path.read_text(encoding="utf-8")
        new = rewritten(text, name, generate())
        if new != text:
            path.write_text(new, encoding="utf-8", newline="")
            changed.append(filename)
    return changed


def main(argv: list[str]) -> int:
    if not (ROOT / "README.md").exists():
        print(f"{COMMAND}: run it in a checkout of kerasfix (no README.md in {ROOT})", file=sys.stderr)
        return 2
    if argv == ["--check"]:
        found = stale()
        for item in found:
            print(f"out of date: {item}; run `{COMMAND}`")
        return 1 if found else 0
    if argv:
        print(f"usage: {COMMAND} [--check]", file=sys.stderr)
        return 2
    changed = write()
    print("rewrote " + ", ".join(changed) if changed else "up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
