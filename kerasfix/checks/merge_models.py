"""KF201: Keras 1 `Merge([...])` joining Sequential models, rewritten to the Functional API."""

from __future__ import annotations

import libcst as cst

from kerasfix.checks.callargs import NOT_LITERAL, bind, literal
from kerasfix.checks.callee import unspellable
from kerasfix.checks.functional import MERGE_FUNCTIONS
from kerasfix.findings import Edit
from kerasfix.positions import page_free
from kerasfix.rule import Example, RuleSpec, make_fix
from kerasfix.spelling import spell

MERGE_LAYER_PARAMETERS = [
    "layers", "mode", "concat_axis", "dot_axes", "output_shape", "output_mask", "arguments",
    "node_indices", "tensor_indices", "name",
]

KF201 = RuleSpec(
    code="KF201",
    name="merge-of-sequentials",
    summary="Keras 1 `Merge([...])` of Sequential models was removed; use the Functional API",
    fix_safety="unsafe",
    removed_in="2.2",
    what=(
        "Finds a Sequential model whose first layer is a Keras 1 `Merge` of other Sequential models, and rewrites it "
        "to the Functional API: an `Input` per branch (from the branch's input shape), the branches applied to "
        "them, the merge function of the mode, the remaining layers applied in turn, and `Model(inputs, outputs)`."
    ),
    why=(
        "`Merge` was deprecated in Keras 2.0 and removed in Keras 2.2; a Sequential model cannot take several "
        "inputs, so Keras 3 has no way to express this except the Functional API."
    ),
    fix_note=(
        "The fix keeps every layer's output shape and the parameter count, but it is unsafe: the branches become "
        "nested models, so `model.layers` and weight files saved by the old model are laid out differently. "
        "There is no fix when a branch's input shape is not stated in the source or the model is built in a loop."
    ),
    examples=(
        Example(
            "from keras.models import Sequential\n"
            "from keras.layers import Dense, Merge\n"
            "left = Sequential()\n"
            "left.add(Dense(32, input_dim=784))\n"
            "right = Sequential()\n"
            "right.add(Dense(32, input_dim=784))\n"
            "model = Sequential()\n"
            "model.add(Merge([left, right], mode='concat'))\n"
            "model.add(Dense(10, activation='softmax'))\n"
            "model.compile(optimizer='rmsprop', loss='categorical_crossentropy')\n",
            "from keras.models import Sequential, Model\n"
            "from keras.layers import Dense, Input, concatenate\n"
            "left = Sequential()\n"
            "left.add(Dense(32, input_dim=784))\n"
            "right = Sequential()\n"
            "right.add(Dense(32, input_dim=784))\n"
            "left_input = Input(shape=(784,))\n"
            "right_input = Input(shape=(784,))\n"
            "merged = concatenate([left(left_input), right(right_input)])\n"
            "merged = Dense(10, activation='softmax')(merged)\n"
            "model = Model(inputs=[left_input, right_input], outputs=merged)\n"
            "model.compile(optimizer='rmsprop', loss='categorical_crossentropy')\n",
            unsafe=True,
        ),
        Example(
            "from keras.models import Sequential\n"
            "from keras.layers import Dense\n"
            "model = Sequential()\n"
            "model.add(Dense(10, input_dim=8))\n",
            valid=True,
        ),
    ),
)


def _blocks(module: cst.Module):
    yield module.body
    stack = list(module.body)
    while stack:
        statement = stack.pop()
        body = getattr(statement, "body", None)
        if isinstance(body, cst.IndentedBlock):
            yield body.body
            stack.extend(body.body)
        for name in ("orelse", "finalbody"):
            extra = getattr(statement, name, None)
            if extra is not None and isinstance(getattr(extra, "body", None), cst.IndentedBlock):
                yield extra.body.body
                stack.extend(extra.body.body)


def _single(statement) -> cst.BaseSmallStatement | None:
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        return statement.body[0]
    return None


def _add_argument(statement, variable: str) -> cst.BaseExpression | None:
    """`X` of a statement `variable.add(X)`, else None."""
    small = _single(statement)
    if not isinstance(small, cst.Expr) or not isinstance(small.value, cst.Call):
        return None
    call = small.value
    func = call.func
    if not (isinstance(func, cst.Attribute) and func.attr.value == "add" and isinstance(func.value, cst.Name) and func.value.value == variable):
        return None
    if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
        return None
    return call.args[0].value


def find(checker, models) -> None:
    """Report (and where possible fix) every Sequential built from a Keras 1 `Merge` of Sequentials."""
    ctx = checker.ctx
    by_variable = {model.variable: model for model in models if model.variable}
    for block in _blocks(ctx.module):
        statements = list(block)
        for index, statement in enumerate(statements):
            small = _single(statement)
            if not (isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)):
                continue
            if not isinstance(small.value, cst.Call) or ctx.qualified(small.value.func) != "keras.Sequential" or small.value.args:
                continue
            variable = small.targets[0].target.value
            adds = []
            for following in statements[index + 1 :]:
                argument = _add_argument(following, variable)
                if argument is None:
                    break
                adds.append((following, argument))
            if not adds:
                continue
            first = adds[0][1]
            if not (isinstance(first, cst.Call) and ctx.qualified(first.func) == "keras.layers.Merge"):
                continue
            fix = _fix(ctx, statement, small, variable, adds, by_variable)
            message = "Keras 1 `Merge` of Sequential models was removed in Keras 2.2; build a Functional model"
            if isinstance(fix, str):
                message += f" ({fix})"
                fix = None
            elif fix is None:
                message += " (no automatic fix: a branch's input shape or the merge mode is not stated in the source)"
            checker.report(first, "KF201", message, fix)


def _fix(ctx, statement, small, variable, adds, by_variable):
    merge_call = adds[0][1]
    args = bind(merge_call, MERGE_LAYER_PARAMETERS)
    if args.has_star or args.extra_positional or args.unknown_keywords or "layers" not in args:
        return None
    if any(name in args for name in ("output_shape", "output_mask", "arguments", "node_indices", "tensor_indices")):
        return None
    mode = "sum" if args.get("mode") is None else literal(args.get("mode").value)
    if mode is NOT_LITERAL or mode not in MERGE_FUNCTIONS:
        return None
    branches_node = args.get("layers").value
    if not isinstance(branches_node, (cst.List, cst.Tuple)):
        return None
    branch_names, shapes = [], []
    for element in branches_node.elements:
        if not isinstance(element.value, cst.Name) or element.value.value not in by_variable:
            return None
        branch = by_variable[element.value.value]
        shape = branch.inputs[0].shape if branch.inputs and len(branch.inputs) == 1 else None
        if shape is None or len(shape) < 2 or any(d is None for d in shape[1:]):
            return None
        branch_names.append(element.value.value)
        shapes.append(tuple(shape[1:]))
    taken = set(ctx.imports.bindings) | set(ctx.imports.local_names)
    output = _free("merged", taken)
    inputs = [_free(f"{name}_input", taken) for name in branch_names]
    indent = _indent(ctx, statement)
    newline = ctx.module.default_newline
    function = MERGE_FUNCTIONS[mode]
    extra = ""
    if mode == "concat" and "concat_axis" in args:
        extra += f", axis={ctx.code_for(args.get('concat_axis').value)}"
    if mode in ("dot", "cos"):
        axes = args.get("dot_axes")
        extra += f", axes={ctx.code_for(axes.value) if axes is not None else '-1'}"
        if mode == "cos":
            extra += ", normalize=True"
    if "name" in args:
        extra += f", name={ctx.code_for(args.get('name').value)}"
    spelled = {}
    for symbol in ("keras.layers.Input", f"keras.layers.{function}", "keras.models.Model"):
        spelled[symbol] = spell(ctx, symbol, small)
        if spelled[symbol] is None:
            return unspellable(symbol)
    input_name, function_name, model_name = (spelling.text for spelling in spelled.values())
    input_lines = [f"{name} = {input_name}(shape={_tuple(shape)})" for name, shape in zip(inputs, shapes)]
    applied = ", ".join(f"{branch}({name})" for branch, name in zip(branch_names, inputs))
    edits = [Edit(*ctx.span(small), (newline + indent).join(input_lines))]
    for position, (line, argument) in enumerate(adds):
        if position == 0:
            text = f"{output} = {function_name}([{applied}]{extra})"
        else:
            text = f"{output} = {ctx.code_for(argument)}({output})"
        if position == len(adds) - 1:
            text += f"{newline}{indent}{variable} = {model_name}(inputs=[{', '.join(inputs)}], outputs={output})"
        edits.append(Edit(*ctx.span(_single(line)), text))
    requires = [requirement for spelling in spelled.values() for requirement in spelling.requires]
    writes = [spelling.written for spelling in spelled.values()]
    releases = [name for name in (_bare(merge_call.func), _bare(small.value.func)) if name]
    return make_fix("unsafe", "Rewrite as a Functional model", edits, requires, releases, writes)


def _bare(func) -> str | None:
    return func.value if isinstance(func, cst.Name) else None


def _free(name: str, taken: set[str]) -> str:
    candidate, number = name, 1
    while candidate in taken:
        candidate = f"{name}_{number}"
        number += 1
    taken.add(candidate)
    return candidate


def _tuple(shape: tuple) -> str:
    return f"({shape[0]},)" if len(shape) == 1 else "(" + ", ".join(str(d) for d in shape) + ")"


def _indent(ctx, statement) -> str:
    start, _ = ctx.span(statement)
    line_start = max(ctx.text.rfind("\n", 0, start), ctx.text.rfind("\r", 0, start)) + 1
    return page_free(ctx.text[line_start:start])
