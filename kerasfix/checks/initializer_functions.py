"""KF328: a function of the file given to a Keras layer as its initializer (`init=my_init`,
`kernel_initializer=my_init`) that Keras 3 cannot call, because it takes no `dtype`."""

from __future__ import annotations

import libcst as cst

from kerasfix.rule import Checker, Example, RuleSpec, make_fix, replace_node

# the keywords of Keras layers (and of `add_weight`) that take an initializer, Keras 1 to Keras 3
INITIALIZER_KEYWORDS = frozenset({
    "init", "inner_init", "initializer", "kernel_initializer", "recurrent_initializer", "bias_initializer",
    "embeddings_initializer", "depthwise_initializer", "pointwise_initializer", "beta_initializer",
    "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer", "alpha_initializer",
})

KF328 = RuleSpec(
    code="KF328",
    name="initializer-function-without-dtype",
    summary="a function given as an initializer takes no `dtype`: Keras 3 calls it as `init(shape, dtype=...)`",
    fix_safety="sometimes",
    what=(
        "Reports a function defined in the file and passed to a Keras call as an initializer (`init=`, "
        "`inner_init=`, `kernel_initializer=`, `recurrent_initializer=`, `bias_initializer=`, `initializer=`, ...) "
        "whose parameters accept no `dtype` (no `dtype` parameter and no `**kwargs`), as Keras 1's custom "
        "initializers `def my_init(shape, name=None)` did. The fix adds a last parameter `dtype=None`."
    ),
    why=(
        "Keras 1 called an initializer function as `init(shape, name=...)`; Keras 2 and 3 call it as "
        "`init(shape, dtype=dtype)`, so Keras 3.15 fails when the layer is built: `TypeError: my_init() got an "
        "unexpected keyword argument 'dtype'`. With a `dtype=None` parameter the function is called as before "
        "and may ignore the dtype (the weights then take the dtype of the tensor it returns, cast to the layer's "
        "variable dtype)."
    ),
    fix_note=(
        "The fix is safe when the function's name is used only as an initializer argument; when the file also "
        "calls it or passes it elsewhere, the added parameter could take a third positional argument, so the fix "
        "is unsafe."
    ),
    removed_in="2.0",
    examples=(
        Example(
            before=(
                "from keras import initializers\nfrom keras.layers import Dense\n\n"
                "def my_init(shape, name=None):\n    return initializers.RandomNormal(stddev=0.01)(shape)\n\n"
                "hidden = Dense(64, kernel_initializer=my_init)\n"
            ),
            after=(
                "from keras import initializers\nfrom keras.layers import Dense\n\n"
                "def my_init(shape, name=None, dtype=None):\n    return initializers.RandomNormal(stddev=0.01)(shape)\n\n"
                "hidden = Dense(64, kernel_initializer=my_init)\n"
            ),
        ),
        Example(
            before=(
                "from keras import initializers\nfrom keras.layers import Dense\n\n"
                "def my_init(shape, name=None):\n    return initializers.RandomNormal(stddev=0.01)(shape)\n\n"
                "hidden = Dense(64, kernel_initializer=my_init)\nweights = my_init((64, 64))\n"
            ),
            after=(
                "from keras import initializers\nfrom keras.layers import Dense\n\n"
                "def my_init(shape, name=None, dtype=None):\n    return initializers.RandomNormal(stddev=0.01)(shape)\n\n"
                "hidden = Dense(64, kernel_initializer=my_init)\nweights = my_init((64, 64))\n"
            ),
            unsafe=True,
        ),
        Example(
            before=(
                "from keras import initializers\nfrom keras.layers import Dense\n\n"
                "def my_init(shape, dtype=None):\n    return initializers.RandomNormal(stddev=0.01)(shape, dtype=dtype)\n\n"
                "hidden = Dense(64, kernel_initializer=my_init)\n"
            ),
            valid=True,
        ),
    ),
)


class InitializerFunctionChecker(Checker):
    specs = (KF328,)
    tokens = ("init",)

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._functions: dict[str, list[cst.FunctionDef]] = {}
        self._as_initializer: dict[str, int] = {}
        self._names: dict[str, int] = {}

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._functions.setdefault(node.name.value, []).append(node)

    def visit_Name(self, node: cst.Name) -> None:
        self._names[node.value] = self._names.get(node.value, 0) + 1

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        keras = self.ctx.qualified(func) is not None or (isinstance(func, cst.Attribute) and func.attr.value == "add_weight")
        if not keras:
            return
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value in INITIALIZER_KEYWORDS and isinstance(arg.value, cst.Name):
                name = arg.value.value
                self._as_initializer[name] = self._as_initializer.get(name, 0) + 1

    def finish(self) -> None:
        for name, uses in self._as_initializer.items():
            definitions = self._functions.get(name, [])
            if len(definitions) != 1:
                continue  # not the file's function, or defined more than once: which one is given is unknown
            function = definitions[0]
            params = function.params
            if params.star_kwarg is not None or any(
                p.name.value == "dtype" for p in [*params.posonly_params, *params.params, *params.kwonly_params]
            ):
                continue
            positional = [*params.posonly_params, *params.params]
            if not positional and not isinstance(params.star_arg, cst.Param):
                continue  # takes no shape: not an initializer Keras could call in any version
            # the name appears in its definition and in each initializer argument, and nowhere else
            only_initializer = self._names.get(name, 0) == uses + 1
            dtype = cst.Param(cst.Name("dtype"), default=cst.Name("None"), equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
            if isinstance(params.star_arg, (cst.Param, cst.ParamStar)) or params.kwonly_params:
                new = params.with_changes(kwonly_params=[*params.kwonly_params, dtype])
            else:
                new = params.with_changes(params=[*params.params, dtype])
            fix = make_fix(
                "safe" if only_initializer else "unsafe",
                f"Add a parameter `dtype=None` to `{name}`",
                [replace_node(self.ctx, params, new)],
            )
            message = f"{KF328.summary}: add a parameter `dtype=None` to `{name}`"
            if not only_initializer:
                message += f" (`{name}` is also used elsewhere in this file: check its other calls)"
            self.report(function.name, "KF328", message, fix)
