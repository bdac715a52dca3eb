"""What a rule is: its documentation and examples (`RuleSpec`), and the visitors that find it (`Checker`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal

import libcst as cst

from kerasfix.findings import Edit, Fix, Requirement, Written
from kerasfix.source import NEWLINE_RE

if TYPE_CHECKING:
    from kerasfix.context import FileContext

FixSafety = Literal["safe", "unsafe", "sometimes", "none"]


@dataclass(frozen=True)
class Example:
    """A program a rule must flag (with its fixed form) or must leave alone.

    `after` is the expected result of `migrate` (with unsafe fixes when `unsafe`); None means the
    rule reports but leaves the code unchanged.  A valid example has `valid=True` and no findings.
    """

    before: str
    after: str | None = None
    valid: bool = False
    unsafe: bool = False
    target: str = "tf.keras"


@dataclass(frozen=True)
class RuleSpec:
    code: str
    name: str
    summary: str
    fix_safety: FixSafety
    what: str
    why: str
    examples: tuple[Example, ...]
    fix_note: str = ""
    default_enabled: bool = True
    removed_in: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def explanation(self) -> str:
        """The rule's documentation, in the Ruff shape."""
        lines = [f"# {self.code} ({self.name})", "", f"{self.summary}", ""]
        lines += ["## What it does", self.what, "", "## Why is this bad?", self.why, ""]
        if self.removed_in:
            lines += [f"Removed in: Keras {self.removed_in}.", ""]
        invalid = [example for example in self.examples if not example.valid]
        valid = [example for example in self.examples if example.valid]
        if invalid:
            lines += ["## Example", "```python", invalid[0].before.rstrip(), "```", ""]
            if invalid[0].after is not None:
                lines += ["## Use instead", "```python", invalid[0].after.rstrip(), "```", ""]
        if valid:
            lines += ["## Not flagged", "```python", valid[0].before.rstrip(), "```", ""]
        safety = {
            "safe": "The fix is safe: it keeps the program's meaning and is applied by `kerasfix migrate`.",
            "unsafe": "The fix is unsafe: it may change behaviour, so it is applied only with `--unsafe-fixes`.",
            "sometimes": "Some cases have a safe fix; others are unsafe (applied only with `--unsafe-fixes`) or have none.",
            "none": "There is no automatic fix; the message says what to do.",
        }[self.fix_safety]
        lines += ["## Fix safety", safety + (" " + self.fix_note if self.fix_note else ""), ""]
        if self.default_enabled is False:
            lines += ["This rule is off by default; enable it with `--select " + self.code + "`.", ""]
        return "\n".join(lines)


class Checker:
    """Visits a parsed file and reports findings for one or more rule codes.

    Subclasses define `visit_<NodeType>(self, node)` methods; every enabled checker runs in the
    same single traversal of the tree.  `tokens` lists substrings without which the checker can
    find nothing, so files lacking all of them are not parsed at all.
    """

    specs: ClassVar[tuple[RuleSpec, ...]] = ()
    tokens: ClassVar[tuple[str, ...]] = ()

    def __init__(self, ctx: "FileContext") -> None:
        self.ctx = ctx

    def report(self, node: cst.CSTNode, code: str, message: str, fix: Fix | None = None) -> None:
        self.ctx.report(node, code, message, fix)

    def finish(self) -> None:
        """Called once after the traversal, for checkers that judge the whole file."""


def replace_node(ctx: "FileContext", node: cst.CSTNode, new_node: cst.CSTNode) -> Edit:
    """An edit replacing a node's text with another node's code, rendered at the node's indentation.

    `Module.code_for_node` renders a node as if at the top level, so the continuation lines of a call
    inside a block would lose the block's indent; render with the enclosing blocks' indents instead.
    """
    from libcst._nodes.internal import CodegenState

    start, end = ctx.span(node)
    state = CodegenState(default_indent=ctx.default_indent, default_newline=ctx.module.default_newline)
    state.indent_tokens.extend(ctx.indentation(node))
    new_node._codegen(state)
    return Edit(start, end, "".join(state.tokens))


def remove_statement(ctx: "FileContext", line: cst.SimpleStatementLine) -> Edit | None:
    """An edit removing a statement line with its indentation and newline (`pass` when it is its block's
    only statement); None when it holds several statements or shares its line with other code."""
    block = ctx.parent(line)
    if len(line.body) != 1 or not isinstance(block, (cst.IndentedBlock, cst.Module)):
        return None
    start, end = ctx.span(line)
    if isinstance(block, cst.IndentedBlock) and len(block.body) == 1:
        return Edit(start, end, "pass")
    text = ctx.text
    line_start = max(text.rfind("\n", 0, start), text.rfind("\r", 0, start)) + 1
    if text[line_start:start].strip(" \t"):
        return None
    newline = NEWLINE_RE.search(text, end)
    return Edit(line_start, len(text) if newline is None else newline.end(), "")


def make_fix(
    applicability: str,
    message: str,
    edits: list[Edit],
    requires: list[Requirement] | None = None,
    releases: list[str] | None = None,
    writes: list[Written] | None = None,
) -> Fix:
    return Fix(applicability, message, edits, list(requires or []), list(releases or []), list(writes or []))  # type: ignore[arg-type]
