"""Transforms of rules/guide.toml: what Keras's "Migrating Keras 2 code to multi-backend Keras 3" guide lists
as removed or changed, where data alone cannot say which calls are affected."""

from __future__ import annotations

import libcst as cst

from kerasfix.checks.callargs import NOT_LITERAL, literal
from kerasfix.checks.rewrite import Verbatim, code, drop
from kerasfix.checks.transform_registry import TransformRegistry
from kerasfix.checks.validity import is_keras_model, path_suffix
from kerasfix.findings import Edit
from kerasfix.rule import remove_statement
from kerasfix.spelling import spell
from kerasfix.walk import walk

# This module's transforms, by name; kerasfix/checks/transforms.py merges them into TRANSFORMS.
transform = TransformRegistry()


@transform("saved-model-load")
def saved_model_load(entry, rewrite) -> None:
    """Reports `load_model('dir')`: a path whose written end is not a `.keras` or `.h5` file is a SavedModel."""
    named = [slot for slot in rewrite.slots if slot.name == "filepath"]
    path = (named or [slot for slot in rewrite.slots if slot.positional] or [None])[0]
    if path is None or path.arg.star:
        return
    suffix = path_suffix(path.arg.value)
    if suffix is None or suffix.lower().endswith(tuple(entry.options["extensions"])):
        return
    written = literal(path.arg.value)
    if isinstance(written, str) and written.startswith(tuple(entry.options["loaded_prefixes"])):
        return  # `hf://user/model`: Keras 3 loads it from the Hugging Face Hub
    shown = code(rewrite, path.arg.value)
    rewrite.add(
        entry.code,
        "none",
        f"{shown} has no `.keras` or `.h5` extension; to run a SavedModel, load it with "
        f"`keras.layers.TFSMLayer({shown}, call_endpoint='serving_default')` (inference only), or re-save "
        f"the model as `.keras` with Keras 2 (tf_keras) and load that",
    )


@transform("removed-flag")
def removed_flag(entry, rewrite) -> None:
    """Drops a removed keyword whose value is what Keras 3 always does (`options.same`); for any other value,
    drops it as an unsafe fix or reports it (`options.otherwise`), with `options.guidance`."""
    options = entry.options
    name = options["argument"]
    slot = rewrite.slot(name)
    if slot is None:
        return
    if options.get("in_keras_class") and not _in_keras_subclass(rewrite):
        return
    shown = f"`{name}={code(rewrite, slot.arg.value)}`"
    value = literal(slot.arg.value)
    if value is not NOT_LITERAL and value == options["same"]:
        rewrite.add(entry.code, "safe", f"remove {shown} ({options['reason']})", drop(name))
        return
    otherwise = options["otherwise"]
    detail = f"{shown}: {options['guidance']}"
    if otherwise == "none":
        rewrite.add(entry.code, "none", detail)
    else:
        rewrite.add(entry.code, otherwise, f"remove {detail}", drop(name))


def _in_keras_subclass(rewrite) -> bool:
    """Whether the call is `super().__init__(...)` in a method of a class with a Keras base (`keras.layers.Layer`)."""
    func = rewrite.node.func
    if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call) and isinstance(func.value.func, cst.Name)):
        return False
    if func.value.func.value != "super":
        return False
    node = rewrite.ctx.parent(rewrite.node)
    while node is not None and not isinstance(node, cst.ClassDef):
        node = rewrite.ctx.parent(node)
    if node is None:
        return False
    return any((rewrite.ctx.qualified(base.value) or "").startswith("keras.") for base in node.bases)


@transform("functional-add-loss")
def functional_add_loss(entry, rewrite) -> None:
    """Reports `model.add_loss(...)` called on a model from outside its `call()` (the file shows `model` to be one)."""
    func = rewrite.node.func
    if not isinstance(func, cst.Attribute) or not is_keras_model(rewrite.ctx, func.value):
        return
    if _loss_layer_rewrite(entry, rewrite):
        return
    rewrite.add(entry.code, "none", f"`{code(rewrite, func.value)}.add_loss(...)`: {entry.options['guidance']}")


_LOSS_LAYER = (
    "{nl}{nl}class {name}({layer}):{nl}"
    "{i}\"\"\"Adds its second input to the model's losses and returns its first: Keras 3 takes no loss through "
    "`model.add_loss(...)`.\"\"\"{nl}{nl}"
    "{i}def call(self, inputs):{nl}"
    "{i}{i}self.add_loss(inputs[1]){nl}"
    "{i}{i}return inputs[0]{nl}{nl}{nl}"
)


def _loss_layer_rewrite(entry, rewrite) -> bool:
    """`model = Model(inputs, outputs, ...)`, then statements computing `loss` from the model's tensors, then
    `model.add_loss(loss)`, all at module level (the Keras 2 VAE): the model is built after the loss instead,
    with a small layer that adds the loss and passes `outputs` through (`model = Model(inputs,
    AddLoss()([outputs, loss]), ...)`). Unsafe: the model gains that layer and the layers computing the loss."""
    ctx, node = rewrite.ctx, rewrite.node
    receiver = node.func.value
    if not isinstance(receiver, cst.Name) or len(node.args) != 1 or node.args[0].keyword is not None or node.args[0].star:
        return False
    loss = node.args[0].value
    if not isinstance(loss, cst.Name):
        return False
    statement = ctx.parent(node)
    line = ctx.parent(statement)
    if not isinstance(statement, cst.Expr) or not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
        return False
    body = list(ctx.module.body)
    if line not in body:
        return False  # at module level only: the layer class is defined where the model is built
    at = body.index(line)
    built = None
    for index in range(at - 1, -1, -1):
        assigned = _assigned_call(body[index], receiver.value)
        if assigned is not None:
            built = index
            break
    if built is None:
        return False
    model_call = _assigned_call(body[built], receiver.value)
    if ctx.qualified(model_call.func) != "keras.Model":
        return False
    outputs = _outputs_arg(model_call)
    if outputs is None:
        return False
    between = body[built + 1:at]
    if any(not isinstance(item, cst.SimpleStatementLine) for item in between):
        return False
    read = _names_read(model_call)
    bound_between: set[str] = set()
    loss_value = None
    for item in between:
        for small in item.body:
            if isinstance(small, (cst.Import, cst.ImportFrom, cst.Global, cst.Nonlocal, cst.Del)):
                return False
            targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else (
                [small.target] if isinstance(small, (cst.AugAssign, cst.AnnAssign)) else [])
            for target in targets:
                names = _names_read(target)
                bound_between.update(names)
                if loss.value in names:
                    loss_value = small.value if isinstance(small, cst.Assign) and isinstance(target, cst.Name) else False
        if receiver.value in _names_read(item):
            return False  # the first model is used before the loss is added: it must stay as it is
    if bound_between & read or not loss_value or isinstance(loss_value, cst.Lambda):
        return False  # the loss is computed between the two statements, from tensors the model call still names
    from kerasfix.spelling import _bare_uses, name_is_free

    name = "AddLoss"
    if not name_is_free(ctx, name) or name in _bare_uses(ctx):
        return False
    layer = spell(ctx, "keras.layers.Layer", node)
    if layer is None:
        return False
    removal = remove_statement(ctx, body[built])
    if removal is None:
        return False
    newline = ctx.module.default_newline
    start, end = ctx.span(model_call)
    out_start, out_end = ctx.span(outputs)
    rebuilt = ctx.text[start:out_start] + f"{name}()([{ctx.code_for(outputs)}, {loss.value}])" + ctx.text[out_end:end]
    target = ctx.code_for(body[built].body[0].targets[0].target)
    text = _LOSS_LAYER.format(name=name, layer=layer.text, nl=newline, i=ctx.default_indent) + f"{target} = {rebuilt}"

    def apply(plan) -> None:
        plan.requires.extend(layer.requires)
        plan.writes.append(layer.written)
        plan.replace_call = lambda call: Verbatim(text)
        plan.edits.append(removal)

    rewrite.add(
        entry.code,
        "unsafe",
        f"build `{receiver.value}` after the loss, with a layer `{name}` whose `call()` adds `{loss.value}` with "
        f"`self.add_loss(...)` and passes the model's outputs through (the model gains that layer and the ones computing "
        "the loss, as Keras 2 added them)",
        apply,
    )
    return True


def _assigned_call(statement, name: str) -> cst.Call | None:
    """The call of a statement line `name = call(...)`, else None."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if not isinstance(small, cst.Assign) or len(small.targets) != 1:
        return None
    target = small.targets[0].target
    if isinstance(target, cst.Name) and target.value == name and isinstance(small.value, cst.Call):
        return small.value
    return None


def _outputs_arg(call: cst.Call) -> cst.BaseExpression | None:
    """The `outputs` of a `Model(inputs, outputs, ...)` call (second positional or `outputs=`), on one line."""
    if any(arg.star for arg in call.args):
        return None
    positional = [arg for arg in call.args if arg.keyword is None]
    named = [arg for arg in call.args if arg.keyword is not None and arg.keyword.value == "outputs"]
    found = named[0].value if named else positional[1].value if len(positional) >= 2 else None
    if any(arg.keyword is not None and arg.keyword.value in ("input", "output") for arg in call.args):
        return None  # Keras 1 keywords: KF's own rename comes first
    return found


def _names_read(node: cst.CSTNode) -> set[str]:
    found: set[str] = set()

    def enter(inner, parent) -> None:
        if type(inner) is cst.Name and not (isinstance(parent, cst.Attribute) and parent.attr is inner) and not (
            isinstance(parent, cst.Arg) and parent.keyword is inner
        ):
            found.add(inner.value)

    walk(node, enter)
    return found


@transform("rnn-constants")
def rnn_constants(entry, rewrite) -> None:
    """Reports an `RNN(cell)` layer called with `constants=`: right away (`RNN(cell)(x, constants=c)`), or
    through the one name the file assigns it to (`rnn = RNN(cell)` ... `rnn(x, constants=c)`)."""
    ctx, node = rewrite.ctx, rewrite.node
    parent = ctx.parent(node)
    if isinstance(parent, cst.Call) and parent.func is node:
        calls = [parent]
    elif isinstance(parent, cst.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0].target, cst.Name):
        calls = _calls_of(ctx, parent.targets[0].target.value)
    else:
        return
    for call in calls:
        if any(arg.keyword is not None and arg.keyword.value == "constants" for arg in call.args):
            row = ctx.text.count("\n", 0, ctx.span(call)[0]) + 1
            rewrite.add(entry.code, "none", f"the layer is called with `constants=` (line {row}): {entry.options['guidance']}")
            return


def _calls_of(ctx, name: str) -> list[cst.Call]:
    """The calls `name(...)` in the file, when the file binds `name` only once (else none: which layer is unsure)."""

    class Finder(cst.CSTVisitor):
        def __init__(self) -> None:
            self.calls: list[cst.Call] = []
            self.bindings = 0

        def visit_Call(self, call: cst.Call) -> None:
            if isinstance(call.func, cst.Name) and call.func.value == name:
                self.calls.append(call)

        def visit_AssignTarget(self, target: cst.AssignTarget) -> None:
            if isinstance(target.target, cst.Name) and target.target.value == name:
                self.bindings += 1

    finder = Finder()
    ctx.module.visit(finder)
    return finder.calls if finder.bindings == 1 else []


@transform("still-defined-removed")
def still_defined_removed(entry, rewrite) -> None:
    """Reports a call of a method Keras 3 still defines only to refuse it, with `options.guidance`."""
    rewrite.add(entry.code, "none", entry.options["guidance"])


# --- a loss function reading the model's symbolic tensors (KF349) ----------------------------------


@transform("loss-reads-model-tensors")
def loss_reads_model_tensors(entry, rewrite) -> None:
    """Reports `model.compile(loss=f)` where `f` is a function of the file that reads module-level layer outputs
    (the Keras 1 VAE's KL term); rewrites the two-term form `return target_part + model_part` (unsafe)."""
    ctx = rewrite.ctx
    slot = rewrite.slot("loss")
    if slot is None:
        positional = [s for s in rewrite.slots if s.positional]
        slot = positional[1] if len(positional) >= 2 else None
    if slot is None or not isinstance(slot.arg.value, cst.Name):
        return
    function = _module_function(ctx, slot.arg.value.value)
    if function is None:
        return
    tensors = _layer_outputs(ctx)
    read = _free_names(function) & set(tensors)
    if not read:
        return
    shown = ", ".join(f"`{name}`" for name in sorted(read))
    if _closure_loss_rewrite(entry, rewrite, function, tensors):
        return
    rewrite.add(entry.code, "none", f"`{function.name.value}` reads the model's tensors {shown}: {entry.options['guidance']}")


def _module_function(ctx, name: str) -> cst.FunctionDef | None:
    """The module-level `def name(a, b)` of two plain parameters, when nothing else in the file binds `name`."""
    found = [s for s in ctx.module.body if isinstance(s, cst.FunctionDef) and s.name.value == name]
    if len(found) != 1:
        return None
    function = found[0]
    params = function.params
    if len(params.params) != 2 or params.posonly_params or params.kwonly_params or params.star_arg is not cst.MaybeSentinel.DEFAULT and params.star_arg is not None or params.star_kwarg is not None:
        return None
    if function.decorators or any(p.default is not None for p in params.params):
        return None
    return function


def _layer_outputs(ctx) -> dict[str, int]:
    """Module-level names assigned exactly once, from a layer called on tensors (`z = Dense(2)(h)`): their
    statement's index in the module body."""
    counts: dict[str, int] = {}
    found: dict[str, int] = {}
    for index, statement in enumerate(ctx.module.body):
        if not isinstance(statement, cst.SimpleStatementLine):
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                counts[statement.name.value] = counts.get(statement.name.value, 0) + 1
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    for name in _names_read(target.target):
                        counts[name] = counts.get(name, 0) + 1
                    if isinstance(target.target, cst.Name) and _layer_call(ctx, small.value):
                        found[target.target.value] = index
    return {name: index for name, index in found.items() if counts.get(name) == 1}


def _layer_call(ctx, value: cst.BaseExpression) -> bool:
    """`Dense(2)(h)` or `layer(h)` where `layer = Dense(...)` at module level: a layer's output."""
    if not isinstance(value, cst.Call):
        return False
    func = value.func
    if isinstance(func, cst.Call):
        name = ctx.qualified(func.func) or ""
        return name.startswith("keras.layers.") and name.rsplit(".", 1)[-1][:1].isupper()
    if isinstance(func, cst.Name):
        for statement in ctx.module.body:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, cst.Assign) and any(isinstance(t.target, cst.Name) and t.target.value == func.value for t in small.targets):
                        if isinstance(small.value, cst.Call) and (ctx.qualified(small.value.func) or "").startswith("keras.layers."):
                            return True
    return False


def _free_names(function: cst.FunctionDef) -> set[str]:
    """Names a function reads that it does not bind itself (parameters and assignment targets)."""
    bound = {p.name.value for p in function.params.params}
    for statement in function.body.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign):
                    for target in small.targets:
                        bound |= _names_read(target.target)
    return _names_read(function.body) - bound


def _closure_loss_rewrite(entry, rewrite, function: cst.FunctionDef, tensors: dict[str, int]) -> bool:
    """`def f(y_true, y_pred): t = <from y_true, y_pred>; m = <from the model's tensors>; return t + m` compiled
    into `model` built at module level: `m` moves into the model through a layer that adds `ops.mean(m)` as a
    loss, and `f` returns `t`. The same loss on every batch when no sample weights are given: unsafe."""
    ctx = rewrite.ctx
    func = rewrite.node.func
    if not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.Name):
        return False
    receiver = func.value.value
    if any(s.arg.star for s in rewrite.slots) or rewrite.slot("loss_weights") is not None:
        return False
    reads = [0]

    def count(node, parent) -> None:
        if type(node) is cst.Name and node.value == function.name.value and parent is not function:
            reads[0] += 1

    walk(ctx.module, count)
    if reads[0] != 1:
        return False  # the function serves elsewhere too (another model, a metric): it must keep its meaning there
    params = {p.name.value for p in function.params.params}
    statements = list(function.body.body)
    if isinstance(statements[0], cst.SimpleStatementLine) and isinstance(statements[0].body[0], cst.Expr) and isinstance(statements[0].body[0].value, cst.SimpleString):
        statements = statements[1:]  # a docstring
    if len(statements) < 2 or not all(isinstance(s, cst.SimpleStatementLine) and len(s.body) == 1 for s in statements):
        return False
    *assignments, last = statements
    if not isinstance(last.body[0], cst.Return) or not isinstance(last.body[0].value, cst.BinaryOperation):
        return False
    total = last.body[0].value
    if not isinstance(total.operator, cst.Add) or not isinstance(total.left, cst.Name) or not isinstance(total.right, cst.Name):
        return False
    kinds: dict[str, tuple[str, cst.SimpleStatementLine]] = {}
    for statement in assignments:
        small = statement.body[0]
        if not isinstance(small, cst.Assign) or len(small.targets) != 1 or not isinstance(small.targets[0].target, cst.Name):
            return False
        names = _names_read(small.value)
        target = small.targets[0].target.value
        if target in kinds or target in params:
            return False
        uses_params = bool(names & (params | {n for n, (k, _) in kinds.items() if k == "target"}))
        uses_tensors = bool(names & ((set(tensors) - params) | {n for n, (k, _) in kinds.items() if k == "model"}))
        if uses_params == uses_tensors:
            return False  # each statement reads the targets or the model's tensors, not both or neither
        kinds[target] = ("target" if uses_params else "model", statement)
    sides = {kinds.get(total.left.value, ("", None))[0], kinds.get(total.right.value, ("", None))[0]}
    if sides != {"target", "model"}:
        return False
    models = [name for name, (kind, _) in kinds.items() if kind == "model"]
    if len(models) != 1:
        return False
    model_part = models[0]
    target_part = total.left.value if kinds[total.left.value][0] == "target" else total.right.value
    model_statement = kinds[model_part][1]
    expression = model_statement.body[0].value
    if _names_read(expression) & params or "\n" in ctx.code_for(expression):
        return False
    # the model: `receiver = Model(..., outputs, ...)` at module level, after every tensor the loss reads
    body = list(ctx.module.body)
    compile_line = ctx.parent(ctx.parent(rewrite.node))
    if compile_line not in body or body.index(function) > body.index(compile_line):
        return False
    built = [index for index, statement in enumerate(body) if _assigned_call(statement, receiver) is not None]
    if len(built) != 1 or built[0] > body.index(compile_line):
        return False
    model_call = _assigned_call(body[built[0]], receiver)
    outputs = _outputs_arg(model_call)
    if ctx.qualified(model_call.func) != "keras.Model" or outputs is None or isinstance(outputs, (cst.List, cst.Tuple, cst.Dict)):
        return False
    if any(tensors[name] > built[0] for name in _names_read(expression) & set(tensors)):
        return False
    free = _names_read(expression) - set(tensors)
    if any(_rebound_after(ctx, name, built[0]) for name in free):
        return False
    from kerasfix.spelling import _bare_uses, name_is_free

    name = "AddLoss"
    if not name_is_free(ctx, name) or name in _bare_uses(ctx):
        return False
    layer = spell(ctx, "keras.layers.Layer", model_call)
    mean = spell(ctx, "keras.ops.mean", model_call, qualified=True)
    removal = remove_statement(ctx, model_statement)
    if layer is None or mean is None or removal is None:
        return False
    newline = ctx.module.default_newline
    start, end = ctx.span(model_call)
    out_start, out_end = ctx.span(outputs)
    added = f"{name}()([{ctx.code_for(outputs)}, {mean.text}({ctx.code_for(expression)})])"
    rebuilt = ctx.text[start:out_start] + added + ctx.text[out_end:end]
    statement_start, statement_end = ctx.span(body[built[0]])
    target_text = ctx.code_for(body[built[0]].body[0].targets[0].target)
    text = _LOSS_LAYER.format(name=name, layer=layer.text, nl=newline, i=ctx.default_indent).lstrip("\r\n") + f"{target_text} = {rebuilt}"
    return_start, return_end = ctx.span(total)
    edits = [
        Edit(return_start, return_end, target_part),
        removal,
        Edit(*ctx.span(body[built[0]].body[0]), text),
    ]

    def apply(plan) -> None:
        plan.requires.extend([*layer.requires, *mean.requires])
        plan.writes.extend([layer.written, mean.written])
        plan.edits.extend(edits)

    rewrite.add(
        entry.code,
        "unsafe",
        f"`{function.name.value}` returns `{target_part}` and `{receiver}` is built with a layer `{name}` that adds "
        f"`{mean.text}({model_part})` as a loss (the same total on a batch unless samples are weighted)",
        apply,
    )
    return True


def _rebound_after(ctx, name: str, index: int) -> bool:
    """Whether a module-level statement after `index` binds `name` (the moved expression would read another value)."""
    for statement in list(ctx.module.body)[index:]:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)) and statement.name.value == name:
            return True
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign) and any(name in _names_read(t.target) for t in small.targets):
                    return True
                if isinstance(small, (cst.AugAssign, cst.AnnAssign)) and name in _names_read(small.target):
                    return True
    return False
