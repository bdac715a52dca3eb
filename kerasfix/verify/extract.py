"""Static slicing: the statements a program needs to build its models, without training, I/O or plotting.

A module-level statement is kept when it builds something Keras (a layer, a model, `add`/`compile`, a
configuration call) or when a kept statement needs a name it defines, transitively. Training, prediction,
saving and loading statements are never kept; printing and plotting inside kept code become no-ops. Of the
`if __name__ == "__main__":` block only statements that bind a name are candidates (a bare `main()` would train).
The data a model is trained on is kept as optional statements (to build a model that states no input shape), and
`whole`, the module up to its last model, is the fallback when the slice fails. Nothing is executed here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import libcst as cst
from libcst.metadata import ExpressionContext, ExpressionContextProvider, MetadataWrapper, PositionProvider

from kerasfix.names import ImportTable, dotted

# Methods that train, predict or touch files: a statement calling one never runs under verify.
OFFENDING_METHODS = frozenset({
    "fit", "fit_generator", "evaluate", "evaluate_generator", "predict", "predict_generator",
    "predict_classes", "predict_proba", "predict_on_batch", "train_on_batch", "test_on_batch",
    "save", "save_weights", "load_weights", "to_json", "to_yaml", "export", "savefig", "to_csv",
    "dump", "dumps", "write", "writelines", "sleep",
})
OFFENDING_CALLS = frozenset({
    "keras.models.load_model", "keras.models.save_model", "keras.saving.load_model", "keras.saving.save_model",
    "keras.utils.plot_model", "keras.utils.model_to_dot", "keras.utils.visualize_util.plot",
})
# Calls whose only effect is output: harmless, but noise, so they become no-ops in kept code.
QUIET_FUNCTIONS = frozenset({"print", "pprint", "display", "plot_model", "plot", "input", "breakpoint", "help"})
QUIET_METHODS = frozenset({"summary", "show", "imshow", "plot", "print_summary", "info", "debug", "warning"})
QUIET_ROOTS = frozenset({"plt", "pylab", "matplotlib", "sns", "seaborn", "logging", "logger", "log", "pprint", "tqdm"})

# Keras calls that build models or set global state models depend on.
BUILD_PREFIXES = ("keras.layers.", "keras.applications.", "keras.regularizers.", "keras.initializers.")
BUILD_CALLS = frozenset({
    "keras.Sequential", "keras.Model", "keras.Input", "keras.models.clone_model", "keras.models.model_from_json",
    "keras.backend.set_image_dim_ordering", "keras.backend.set_image_data_format", "keras.config.set_image_data_format",
    "keras.backend.set_floatx", "keras.config.set_floatx", "keras.backend.set_epsilon", "keras.config.set_epsilon",
    "keras.utils.set_random_seed",
})
MODEL_CALLS = frozenset({"keras.Sequential", "keras.Model", "keras.models.clone_model", "keras.models.model_from_json"})
BUILD_METHODS = frozenset({"add", "compile", "pop", "build"})


@dataclass
class Unit:
    """One module-level statement to run, with its first line in the file."""

    line: int
    code: str
    defines: list[str]
    uses: list[str]
    kind: str  # "import", "def", "class" or "statement"
    optional: bool = False  # kept only for the data passed to `fit`: its failure fails nothing


@dataclass
class Slice:
    units: list[Unit] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)  # zero-argument build functions, called after the units
    calls: list[str] = field(default_factory=list)  # builder calls (`--call`, placeholders), evaluated after them
    sites: dict[str, int] = field(default_factory=dict)  # model-like names ("model", "build()") -> line
    dropped: list[int] = field(default_factory=list)  # first lines of the statements left out
    fit_inputs: dict[str, str] = field(default_factory=dict)  # model -> the name of the data passed to its fit
    whole: list[Unit] = field(default_factory=list)  # the fallback: the module up to its models (empty: the slice)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class _Info:
    node: cst.CSTNode
    index: int
    start: int
    end: int
    line: int
    kind: str
    defines: set[str] = field(default_factory=set)
    uses: set[str] = field(default_factory=set)
    stores: set[str] = field(default_factory=set)  # plain names assigned
    receivers: set[str] = field(default_factory=set)  # names whose objects it changes: `m.add(...)`, `m.x = 1`
    stores_into: bool = False  # assigns an attribute or an item
    offending_inside: bool = False  # an inner statement trains, predicts or saves
    builds: bool = False
    models: bool = False  # calls Sequential/Model
    offending: bool = False
    calls: set[str] = field(default_factory=set)  # plain function names called
    mutates: set[str] = field(default_factory=set)  # of a function: module-level names whose objects it changes
    blanks: list[tuple[int, int]] = field(default_factory=list)  # inner statements to neutralise
    returns_value: bool = False
    required_params: int = 0
    main_guard: bool = False
    in_main: bool = False  # a statement of the `if __name__ == "__main__":` block
    column: int = 0
    future: bool = False


class _Analyser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.wrapper = MetadataWrapper(cst.parse_module(text))
        self.module = self.wrapper.module
        self.positions = self.wrapper.resolve(PositionProvider)
        self.contexts = self.wrapper.resolve(ExpressionContextProvider)
        self.imports = ImportTable.scan(self.module)
        starts = [0]
        for index, char in enumerate(text):
            if char == "\n":
                starts.append(index + 1)
        self.line_starts = starts

    def offset(self, position) -> int:
        return self.line_starts[position.line - 1] + position.column

    def span(self, node: cst.CSTNode) -> tuple[int, int]:
        code_range = self.positions[node]
        start = code_range.start
        decorators = getattr(node, "decorators", ())
        if decorators:
            start = self.positions[decorators[0]].start
        return self.offset(start), self.offset(code_range.end)

    # -- calls

    def qualified(self, func: cst.BaseExpression) -> str | None:
        try:
            return self.imports.qualified(func)
        except Exception:  # noqa: BLE001 - an unusual callee is simply not a Keras name
            return None

    def call_kind(self, call: cst.Call) -> str | None:
        """"offending", "quiet", "build", "model" or None."""
        func = call.func
        name = dotted(func)
        qualified = self.qualified(func)
        if qualified in OFFENDING_CALLS:
            return "offending"
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method in OFFENDING_METHODS and qualified is None:
                return "offending"
            root = name.split(".")[0] if name else None
            if root in QUIET_ROOTS:
                return "quiet"
            if method in QUIET_METHODS and (qualified is None or not qualified.startswith("keras.layers")):
                return "quiet"
            if method in BUILD_METHODS and qualified is None:
                return "build"
        elif isinstance(func, cst.Name) and func.value in QUIET_FUNCTIONS:
            return "quiet"
        if qualified is not None:
            if qualified in MODEL_CALLS:
                return "model"
            if qualified in BUILD_CALLS or qualified.startswith(BUILD_PREFIXES):
                return "build"
        return None

    def statement_kinds(self, node: cst.CSTNode) -> set[str]:
        kinds: set[str] = set()
        for call in _calls(node):
            kind = self.call_kind(call)
            if kind:
                kinds.add(kind)
        return kinds

    def quiet_statement(self, statement: cst.BaseSmallStatement) -> bool:
        """A bare call (or print of calls) made only for its output."""
        if not isinstance(statement, cst.Expr) or not isinstance(statement.value, cst.Call):
            return False
        return self.call_kind(statement.value) == "quiet"

    # -- statements

    def analyse(self, index: int, node: cst.CSTNode) -> _Info:
        start, end = self.span(node)
        line = self.positions[node].start.line
        decorators = getattr(node, "decorators", ())
        if decorators:
            line = self.positions[decorators[0]].start.line
        kind = "statement"
        if isinstance(node, cst.FunctionDef):
            kind = "def"
        elif isinstance(node, cst.ClassDef):
            kind = "class"
        elif isinstance(node, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in node.body):
            kind = "import"
        info = _Info(node, index, start, end, line, kind)
        info.column = self.positions[node].start.column if not decorators else self.positions[decorators[0]].start.column
        if kind == "import":
            self._imports(node, info)
            return info
        if isinstance(node, cst.If) and _is_main_guard(node.test):
            info.main_guard = True
            return info
        if isinstance(node, cst.SimpleStatementLine):
            kinds = self.statement_kinds(node)
            if "offending" in kinds or all(self.quiet_statement(s) for s in node.body):
                info.offending = True
                return info
        self._collect(node, info)
        if kind in ("def", "class"):
            info.defines = {node.name.value}
            info.uses -= info.stores
            info.uses.discard(node.name.value)
            if kind == "def":
                info.required_params = _required_params(node)
                # module-level objects its body changes (`config['units'] = 32`): a call of it changes them too
                params = {p.name.value for p in _all_params(node.params)}
                info.mutates = _receivers(node.body) - info.stores - params - set(self.imports.bindings)
        else:
            info.receivers = (_receivers(node) & info.uses) - set(self.imports.bindings)
            info.defines = info.stores | info.receivers
        return info

    def _imports(self, node: cst.SimpleStatementLine, info: _Info) -> None:
        for statement in node.body:
            if isinstance(statement, cst.ImportFrom):
                module = dotted(statement.module) if statement.module is not None else None
                if module == "__future__":
                    info.future = True
                if isinstance(statement.names, cst.ImportStar):
                    info.defines.add("*")
                    continue
                for alias in statement.names:
                    info.defines.add(_alias_name(alias, from_import=True))
            else:
                for alias in statement.names:
                    info.defines.add(_alias_name(alias, from_import=False))

    def _collect(self, node: cst.CSTNode, info: _Info) -> None:
        analyser = self

        class Visitor(cst.CSTVisitor):
            def visit_SimpleStatementLine(self, inner: cst.SimpleStatementLine) -> bool:
                if inner is node:
                    return True
                kinds = analyser.statement_kinds(inner)
                if "offending" in kinds or all(analyser.quiet_statement(s) for s in inner.body):
                    if "offending" in kinds:
                        info.offending_inside = True
                    info.blanks.append(analyser.span(inner))
                    return False
                return True

            def visit_SimpleStatementSuite(self, suite: cst.SimpleStatementSuite) -> bool:
                for small in suite.body:
                    kinds = analyser.statement_kinds(small)
                    if "offending" in kinds or analyser.quiet_statement(small):
                        if "offending" in kinds:
                            info.offending_inside = True
                        info.blanks.append(analyser.span(small))
                return True

            def visit_Expr(self, expr: cst.Expr) -> bool:
                start, _ = analyser.span(expr)
                return not any(s <= start < e for s, e in info.blanks)

            def visit_Return(self, ret: cst.Return) -> None:
                if ret.value is not None:
                    info.returns_value = True

            def visit_Name(self, name: cst.Name) -> None:
                context = analyser.contexts.get(name)
                if context is ExpressionContext.LOAD:
                    info.uses.add(name.value)
                elif context in (ExpressionContext.STORE, ExpressionContext.DEL):
                    info.stores.add(name.value)

            def visit_Attribute(self, attribute: cst.Attribute) -> None:
                if analyser.contexts.get(attribute) in (ExpressionContext.STORE, ExpressionContext.DEL):
                    info.stores_into = True

            def visit_Subscript(self, subscript: cst.Subscript) -> None:
                if analyser.contexts.get(subscript) in (ExpressionContext.STORE, ExpressionContext.DEL):
                    info.stores_into = True

            lambdas = 0  # calls inside a `lambda` run later, if ever: `.map(lambda x, y: (Rescaling(...)(x), y))`

            def visit_Lambda(self, node: cst.Lambda) -> None:
                self.lambdas += 1

            def leave_Lambda(self, original_node: cst.Lambda) -> None:
                self.lambdas -= 1

            def visit_Call(self, call: cst.Call) -> None:
                kind = analyser.call_kind(call)
                if kind in ("build", "model") and not self.lambdas:
                    info.builds = True
                if kind == "model" and not self.lambdas:
                    info.models = True
                if isinstance(call.func, cst.Name):
                    info.calls.add(call.func.value)

        node.visit(Visitor())


def _calls(node: cst.CSTNode) -> list[cst.Call]:
    found: list[cst.Call] = []

    class Finder(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            found.append(call)

    node.visit(Finder())
    return found


def _alias_name(alias: cst.ImportAlias, from_import: bool) -> str:
    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
        return alias.asname.name.value
    name = dotted(alias.name) or ""
    return name if from_import else name.split(".")[0]


def _is_main_guard(test: cst.BaseExpression) -> bool:
    if not isinstance(test, cst.Comparison):
        return False
    parts = [test.left, *(c.comparator for c in test.comparisons)]
    return any(isinstance(p, cst.Name) and p.value == "__name__" for p in parts)


def _all_params(params: cst.Parameters) -> list[cst.Param]:
    star = [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
    return [*params.posonly_params, *params.params, *params.kwonly_params, *star]


def _required_params(node: cst.FunctionDef) -> int:
    params = node.params
    return sum(1 for p in [*params.posonly_params, *params.params] if p.default is None) + sum(
        1 for p in params.kwonly_params if p.default is None
    )


def _neutralise(code: str, base: int, blanks: list[tuple[int, int]]) -> str:
    """Replace inner statements by no-ops that keep every line where it was."""
    for start, end in sorted(blanks, reverse=True):
        start, end = start - base, end - base
        lines = code.count("\n", start, end)
        replacement = "pass" if lines == 0 else "(None" + "\n" * lines + ")"
        code = code[:start] + replacement + code[end:]
    return code


def _statements(analyser: _Analyser) -> list[_Info]:
    """Every module-level statement, and the statements of the `if __name__ == "__main__":` block after it."""
    infos: list[_Info] = []
    for node in analyser.module.body:
        info = analyser.analyse(len(infos), node)
        infos.append(info)
        if info.main_guard and isinstance(node.body, cst.IndentedBlock):
            for inner in node.body.body:
                child = analyser.analyse(len(infos), inner)
                child.in_main = True
                infos.append(child)
    return infos


def _unit(info: _Info, text: str, optional: bool = False) -> Unit:
    code = _neutralise(text[info.start : info.end], info.start, info.blanks)
    line = info.line
    if info.in_main:
        # a statement of the main block keeps its indentation (and so its lines) inside an `if True:`
        code, line = "if True:\n" + " " * info.column + code, info.line - 1
    return Unit(line, code, sorted(info.defines), sorted(info.uses), info.kind, optional)


# A builder whose required parameters are all among these is called with these documented placeholders.
PLACEHOLDER_ARGUMENTS = {"input_shape": "(64, 64, 3)", "classes": "10", "num_classes": "10", "n_classes": "10",
                         "nb_classes": "10"}


def call_target(expression: str) -> str | None:
    """The function name a `--call` expression calls (`ResNet50(weights=None)` -> `ResNet50`), None if not a call."""
    try:
        node = cst.parse_expression(expression)
    except cst.ParserSyntaxError:
        return None
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
        return node.func.value
    return None


def placeholder_call(node: cst.FunctionDef) -> str | None:
    """`name(input_shape=(64, 64, 3), classes=10)` for a builder whose required parameters are all placeholders."""
    params = node.params
    required = [p for p in [*params.posonly_params, *params.params, *params.kwonly_params] if p.default is None]
    if not required or any(p.name.value not in PLACEHOLDER_ARGUMENTS for p in required) or params.posonly_params:
        return None
    return f"{node.name.value}({', '.join(f'{p.name.value}={PLACEHOLDER_ARGUMENTS[p.name.value]}' for p in required)})"


def extract(text: str, calls: list[str] | tuple[str, ...] = (), placeholders: bool = True,
            also: frozenset[str] | set[str] = frozenset()) -> Slice:
    """The slice of `text` that builds its models (raises libcst.ParserSyntaxError on a syntax error). `calls`:
    builder calls the user gave (`--call`); those naming a function this file does not define are ignored.
    With `placeholders`, a builder whose only required parameters are named like `input_shape` or `classes`
    is called with PLACEHOLDER_ARGUMENTS. `also`: module-level names to keep the assignments of and count as
    model-like (the original's `f = K.function(...)` where the migrated program builds a model `f`)."""
    analyser = _Analyser(text)
    infos = _statements(analyser)
    local_functions = {i.node.name.value: i for i in infos if i.kind == "def" and not i.in_main}
    local_classes = {i.node.name.value for i in infos if i.kind == "class" and not i.in_main}
    _propagate_builds(infos, local_functions)
    usable = [i for i in infos if not i.offending and not i.main_guard]
    kept: set[int] = set()

    def include(info: _Info) -> None:
        if info.index in kept:
            return
        kept.add(info.index)
        # A function body runs when called, so what it reads may be defined anywhere in the file.
        anywhere = info.kind in ("def", "class")
        include_uses(info.uses, None if anywhere else info.index, info.index)

    def include_uses(uses: set[str], before: int | None, itself: int = -1) -> None:
        """Every statement that defines one of `uses` (before statement `before`, if given)."""
        for other in usable:
            if other.index == itself or (before is not None and other.index > before):
                continue
            if uses & other.defines:
                include(other)

    for info in usable:
        if info.future or (info.kind == "import" and "*" in info.defines):
            include(info)
    builders = _builders(local_functions)
    for info in usable:
        # In the main block only what binds a name counts: a bare `main()` would train, and its models stay local.
        if info.kind == "statement" and (info.builds or info.calls & builders) and (not info.in_main or info.stores):
            include(info)
    wanted_names: dict[str, int] = {}
    for info in usable:
        named = set(also) & info.stores
        if info.kind == "statement" and named and not info.in_main and isinstance(info.node, cst.SimpleStatementLine):
            include(info)
            wanted_names.update(dict.fromkeys(named, info.line))
    # Statements that change kept objects (freeze layers, add to a model built above, call a function that fills
    # a kept dictionary) count as building.
    changers = {name: info.mutates for name, info in local_functions.items() if not info.offending_inside}
    changed = True
    while changed:
        changed = False
        defined = {name for i in usable if i.index in kept for name in i.defines}
        for info in usable:
            if info.index in kept or info.kind != "statement":
                continue
            receivers = info.receivers.union(*(changers.get(name, set()) for name in info.calls))
            if receivers & defined or (info.stores_into and info.uses & defined):
                include(info)
                changed = True

    called = {name for i in usable if i.index in kept and i.kind == "statement" for name in i.calls}
    functions = [
        name for name, info in local_functions.items()
        if name in builders and info.required_params == 0 and info.returns_value
        and not info.offending_inside and name not in called
    ]
    for name in functions:
        include(local_functions[name])
    wanted: list[tuple[str, str]] = []
    # what a call may name: a function or a class (a Model subclass) the file defines at module level
    callables = {**{i.node.name.value: i for i in infos if i.kind == "class" and not i.in_main}, **local_functions}
    for expression in calls:
        target = call_target(expression)
        if target in callables:  # the user asked: statements that train or save inside it stay no-ops
            wanted.append((expression, target))
    if placeholders:
        named = {target for _, target in wanted}
        for name, info in local_functions.items():
            if name in builders and name not in functions and name not in called and name not in named \
                    and info.returns_value and not info.offending_inside:
                expression = placeholder_call(info.node)
                if expression is not None:
                    wanted.append((expression, name))
    for expression, target in wanted:
        include(callables[target])

    result = Slice()
    for info in infos:
        if info.kind == "statement" and info.index in kept and isinstance(info.node, cst.SimpleStatementLine):
            for name in _model_targets(info.node, analyser, builders | set(local_functions), local_classes):
                result.sites[name] = info.line
    for name, line in wanted_names.items():
        result.sites.setdefault(name, line)
    # The data each model is trained on, for a model whose first layer states no input shape: what defines it
    # runs too, as an optional statement (its failure fails nothing).
    essential = set(kept)
    for info in infos:
        for model, data, at in _fit_calls(info):
            if model in result.sites and model not in result.fit_inputs:
                result.fit_inputs[model] = data
                include_uses({data}, at if info.kind == "statement" else None)
    optional = kept - essential
    for info in infos:
        if info.index not in kept:
            result.dropped.append(info.line)
            continue
        result.units.append(_unit(info, text, info.index in optional))
    # The fallback: the module up to its last model, as the user runs it, training and I/O still left out.
    last = max((i.index for i in infos if i.index in essential and i.kind == "statement"), default=-1)
    whole = [i for i in usable if i.index <= last or i.kind in ("import", "def", "class")]
    if {i.index for i in whole} != kept:
        result.whole = [_unit(info, text) for info in whole]
    result.functions = functions
    for name in functions:
        result.sites[f"{name}()"] = local_functions[name].line
    for expression, target in wanted:
        result.calls.append(expression)
        result.sites[expression] = callables[target].line
    return result


def _fit_calls(info: _Info) -> list[tuple[str, str, int]]:
    """(model, data, statement index) for each `model.fit(data, ...)` a statement makes with plain names."""
    found = []
    for call in _calls(info.node):
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value in ("fit", "train_on_batch") and isinstance(func.value, cst.Name)):
            continue
        data = next((a.value for a in call.args if a.keyword is not None and a.keyword.value == "x"), None)
        if data is None and call.args and call.args[0].keyword is None and call.args[0].star == "":
            data = call.args[0].value
        if isinstance(data, cst.Name):
            found.append((func.value.value, data.value, info.index))
    return found


def _builders(local_functions: dict[str, _Info]) -> set[str]:
    return {name for name, info in local_functions.items() if info.builds}


def _propagate_builds(infos: list[_Info], local_functions: dict[str, _Info]) -> None:
    """A function that calls a model-building function builds models too."""
    changed = True
    while changed:
        changed = False
        for info in infos:
            if info.builds:
                continue
            if any(local_functions[name].builds for name in info.calls if name in local_functions):
                info.builds = True
                changed = True


def _receivers(node: cst.CSTNode) -> set[str]:
    """Names whose objects a statement may change: `model.add(...)`, `model.trainable = False`, `d[k] = v`."""
    found: set[str] = set()

    class Finder(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            if isinstance(call.func, cst.Attribute) and not _reads(call.func.attr.value):
                root = _root_name(call.func.value)
                if root:
                    found.add(root)

        def visit_AssignTarget(self, target: cst.AssignTarget) -> None:
            if isinstance(target.target, (cst.Attribute, cst.Subscript)):
                root = _root_name(target.target)
                if root:
                    found.add(root)

    node.visit(Finder())
    return found


# Methods that read an object rather than change it: `model.get_layer('features').output` in a statement that
# makes a feature extractor does not make that statement part of the model.
READING_METHODS = frozenset({"count_params", "to_json", "to_yaml", "summary"})


def _reads(method: str) -> bool:
    return method.startswith("get_") or method in READING_METHODS


def _root_name(node: cst.BaseExpression) -> str | None:
    while isinstance(node, (cst.Attribute, cst.Subscript, cst.Call)):
        node = node.value if not isinstance(node, cst.Call) else node.func
    return node.value if isinstance(node, cst.Name) else None


def _model_targets(node: cst.SimpleStatementLine, analyser: _Analyser, functions: set[str], classes: set[str]) -> list[str]:
    names: list[str] = []
    for statement in node.body:
        if isinstance(statement, cst.Assign):
            targets, value = [t.target for t in statement.targets], statement.value
        elif isinstance(statement, cst.AnnAssign) and statement.value is not None:
            targets, value = [statement.target], statement.value
        else:
            continue
        if not isinstance(value, cst.Call):
            continue
        qualified = analyser.qualified(value.func)
        local = isinstance(value.func, cst.Name) and (value.func.value in functions or value.func.value in classes)
        if not (local or qualified in MODEL_CALLS or (qualified or "").startswith("keras.applications.")):
            continue
        names.extend(t.value for t in targets if isinstance(t, cst.Name))
    return names
