"""The transform of KF502 (`--target portable`): a TensorFlow call in model code rewritten by its row of
rules/tf_ops.toml, through the same code path as the Keras 2 backend (`rewrite_by_row`); random ops
in a layer draw from a `keras.random.SeedGenerator` the layer makes in `__init__`."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from kerasfix.checks import model_code
from kerasfix.checks.backend_transforms import TENSORFLOW, rewrite_by_row
from kerasfix.checks.callargs import NOT_LITERAL, literal
from kerasfix.checks.rewrite import Plan, new_slot
from kerasfix.checks.transform_registry import TransformRegistry
from kerasfix.findings import Edit
from kerasfix.spelling import spell

transform = TransformRegistry()  # merged in kerasfix/checks/transforms.py

GENERATOR = "seed_generator"  # the attribute a layer keeps its `keras.random.SeedGenerator` in


@transform("tf-to-portable")
def tf_to_portable(entry, rewrite) -> None:
    """A `tf.*` call in model code, for the portable target: rewritten to `keras.ops`/`keras.random`, or
    reported with what to do where nothing portable replaces it."""
    ctx = rewrite.ctx
    if ctx.target != "portable" or model_code.owner(ctx, rewrite.node) is None:
        return
    name = rewrite.target[len("tensorflow."):]
    row = TENSORFLOW.rows().get(name)
    if row is None:
        return
    seed = None
    if str(row.get("to", "")).startswith("keras.random.") and "seed" in row.get("params", ()):
        where = model_code.layer_method(ctx, rewrite.node)
        if where is not None:
            seed = SeedHolder(ctx, *where)
    rewrite_by_row(entry.code, rewrite, TENSORFLOW, name, row, seed)


@dataclass
class GeneratorPlan:
    """What a random call needs of its layer: `seed=self.seed_generator`, and the generator made in
    `__init__` when the layer has none yet."""

    argument: str
    edits: list[Edit]
    requires: tuple
    writes: list
    detail: str

    def apply(self, plan: Plan) -> None:
        for slot in plan.slots:
            if slot.name == "seed":
                slot.dropped = True
        plan.slots.append(new_slot("seed", self.argument))
        plan.edits.extend(self.edits)
        plan.requires.extend(self.requires)
        plan.writes.extend(self.writes)


class SeedHolder:
    """The layer class a random call is in, which can hold the call's `keras.random.SeedGenerator`."""

    def __init__(self, ctx, cls: cst.ClassDef, method: cst.FunctionDef) -> None:
        self.ctx, self.cls, self.method = ctx, cls, method
        self.reason = ""

    def plan(self, rewrite) -> GeneratorPlan | None:
        """The changes that give the call a seed generator, or None (with `reason`) when none can be made."""
        owner = model_code.self_name(self.method)
        if owner is None or self.method.decorators:
            self.reason = "the call is not in an instance method"
            return None
        argument = f"{owner}.{GENERATOR}"
        if self._has_generator():
            return GeneratorPlan(argument, [], (), [], f"pass `seed={argument}`")
        seed_slot = rewrite.slot("seed")
        seed_text = ""
        if seed_slot is not None:
            if literal(seed_slot.arg.value) is NOT_LITERAL:
                self.reason = "its `seed` is not a literal, so `__init__` cannot make the generator from it"
                return None
            seed_text = self.ctx.code_for(seed_slot.arg.value)
        init = model_code.method_of(self.cls, "__init__")
        if init is None:
            at = self._first_statement()
            anchor = self.ctx.span(at)[0]
            spelled = spell(self.ctx, "keras.random.SeedGenerator", at, qualified=True)
            if spelled is None:
                self.reason = "`keras.random.SeedGenerator` cannot be spelled here"
                return None
            indent = self._indent_at(anchor)
            inner = indent + self.ctx.default_indent
            text = (
                f"def __init__(self, **kwargs):\n{inner}super().__init__(**kwargs)\n"
                f"{inner}self.{GENERATOR} = {spelled.text}({seed_text})\n\n{indent}"
            )
            where = "a new `__init__`"
        else:
            statement = model_code.super_init(init)
            init_self = model_code.self_name(init)
            if statement is None or init_self is None:
                self.reason = "its `__init__` does not call `super().__init__(...)`"
                return None
            spelled = spell(self.ctx, "keras.random.SeedGenerator", statement, qualified=True)
            if spelled is None:
                self.reason = "`keras.random.SeedGenerator` cannot be spelled here"
                return None
            start, end = self.ctx.span(statement)
            indent = self._indent_at(start)
            line_end = self.ctx.text.find("\n", end - 1 if self.ctx.text[end - 1 : end] == "\n" else end)
            anchor = len(self.ctx.text) if line_end < 0 else line_end + 1
            text = f"{indent}{init_self}.{GENERATOR} = {spelled.text}({seed_text})\n"
            where = "`__init__`"
        edit = Edit(anchor, anchor, text)
        detail = f"pass `seed={argument}`, a `{spelled.text}({seed_text})` made in {where}"
        return GeneratorPlan(argument, [edit], spelled.requires, [spelled.written], detail)

    def _has_generator(self) -> bool:
        """Whether the class already sets `self.seed_generator` in a method."""
        found = []

        class Finder(cst.CSTVisitor):
            def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
                target = node.target
                if isinstance(target, cst.Attribute) and target.attr.value == GENERATOR:
                    found.append(node)

        self.cls.visit(Finder())
        return bool(found)

    def _first_statement(self) -> cst.CSTNode:
        """The statement a new `__init__` goes before: the first of the class body after its docstring."""
        body = list(self.cls.body.body)
        first = body[0]
        if len(body) > 1 and isinstance(first, cst.SimpleStatementLine) and isinstance(first.body[0], cst.Expr) and isinstance(
            first.body[0].value, (cst.SimpleString, cst.ConcatenatedString)
        ):
            return body[1]
        return first

    def _indent_at(self, offset: int) -> str:
        line_start = self.ctx.text.rfind("\n", 0, offset) + 1
        return self.ctx.text[line_start:offset]
