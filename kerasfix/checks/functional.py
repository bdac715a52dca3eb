"""KF1xx: the Keras 1 Functional API — `merge(...)` and `Model(input=..., output=...)`."""

from __future__ import annotations

import libcst as cst

from kerasfix.checks.callargs import NOT_LITERAL, arrange, bind, keyword_arg, literal, rename_keyword
from kerasfix.checks.callee import new_callee, unspellable
from kerasfix.rule import Checker, Example, RuleSpec, make_fix, replace_node

# Keras 1's `merge(inputs, mode='sum', concat_axis=-1, dot_axes=-1, output_shape=None,
# output_mask=None, arguments=None, node_indices=None, tensor_indices=None, name=None)`.
MERGE_PARAMETERS = [
    "inputs", "mode", "concat_axis", "dot_axes", "output_shape", "output_mask",
    "arguments", "node_indices", "tensor_indices", "name",
]
# mode -> the Keras 2+ function that computes the same thing
MERGE_FUNCTIONS = {
    "concat": "concatenate",
    "sum": "add",
    "mul": "multiply",
    "ave": "average",
    "max": "maximum",
    "dot": "dot",
    "cos": "dot",
}
_UNSUPPORTED = ("output_shape", "output_mask", "arguments", "node_indices", "tensor_indices")

KF101 = RuleSpec(
    code="KF101",
    name="legacy-merge",
    summary="Keras 1 `merge(..., mode=...)` was removed; use the merge function of the mode",
    fix_safety="sometimes",
    removed_in="2.2",
    what=(
        "Finds calls of the Keras 1 function `merge(inputs, mode=...)` and rewrites each to the Keras 2+ "
        "function for its mode: `concat` -> `concatenate` (`concat_axis` -> `axis`), `sum` (the default) -> "
        "`add`, `mul` -> `multiply`, `ave` -> `average`, `max` -> `maximum`, `dot` -> `dot` "
        "(`dot_axes` -> `axes`), `cos` -> `dot(..., normalize=True)`. `name=` is kept."
    ),
    why=(
        "`merge` and the `Merge` layer were deprecated in Keras 2.0 and removed in Keras 2.2; Keras 3 has no "
        "`merge`. Code that calls it fails with an ImportError or AttributeError before the model is built."
    ),
    fix_note=(
        "Modes `concat`, `sum`, `mul`, `ave`, `max` and `dot` are safe. `cos` is unsafe: `dot(normalize=True)` "
        "computes the cosine with a different epsilon than Keras 1. A callable `mode`, a non-literal mode, or "
        "`output_shape`/`output_mask`/`arguments`/`node_indices`/`tensor_indices` get no fix: write a `Lambda` "
        "layer or a custom layer instead."
    ),
    examples=(
        Example(
            "from keras.layers import Input, merge\n"
            "a = Input(shape=(4,))\n"
            "b = Input(shape=(4,))\n"
            "c = merge([a, b], mode='concat', concat_axis=-1, name='joined')\n",
            "from keras.layers import Input, concatenate\n"
            "a = Input(shape=(4,))\n"
            "b = Input(shape=(4,))\n"
            "c = concatenate([a, b], axis=-1, name='joined')\n",
        ),
        Example(
            "import keras.layers as KL\n"
            "x = KL.merge([a, b])\n"
            "y = KL.merge([a, b], mode='dot', dot_axes=1)\n",
            "import keras.layers as KL\n"
            "x = KL.add([a, b])\n"
            "y = KL.dot([a, b], axes=1)\n",
        ),
        Example(
            "from keras.layers import merge\n"
            "s = merge([a, b], mode='mul')\n"
            "t = merge([a, b], mode='ave')\n"
            "u = merge([a, b], mode='max')\n",
            "from keras.layers import multiply, average, maximum\n"
            "s = multiply([a, b])\n"
            "t = average([a, b])\n"
            "u = maximum([a, b])\n",
        ),
        Example(
            "import tensorflow as tf\n"
            "x = tf.keras.layers.merge([a, b], 'concat')\n",
            "import tensorflow as tf\n"
            "x = tf.keras.layers.concatenate([a, b])\n",
        ),
        Example(
            "from keras.layers import merge\n"
            "sim = merge([u, v], mode='cos', dot_axes=1)\n",
            "from keras.layers import dot\n"
            "sim = dot([u, v], axes=1, normalize=True)\n",
            unsafe=True,
        ),
        Example(
            "from keras.layers.merge import merge\n"
            "x = merge([a, b], mode='concat')\n",
            "from keras.layers import concatenate\n"
            "x = concatenate([a, b])\n",
        ),
        Example(
            "from keras.layers import merge\n"
            "diff = merge([a, b], mode=lambda t: t[0] - t[1], output_shape=(4,))\n",
            None,
        ),
        Example(
            "def merge(left, right, mode=None):\n"
            "    return left + right\n"
            "x = merge([1], [2], mode='concat')\n",
            valid=True,
        ),
        Example(
            "import pandas as pd\n"
            "frame = pd.merge(left, right, how='inner')\n",
            valid=True,
        ),
    ),
)

KF102 = RuleSpec(
    code="KF102",
    name="legacy-model-input-output",
    summary="`Model(input=..., output=...)` uses Keras 1 keywords; use `inputs=`/`outputs=`",
    fix_safety="safe",
    removed_in="2.2",
    what="Finds `Model(...)` calls with the Keras 1 keywords `input` and `output` and renames them to `inputs` and `outputs`.",
    why=(
        "Keras 2 renamed the keywords and kept the old ones only behind a deprecation shim; Keras 3 rejects "
        "them (`TypeError: ... unexpected keyword argument 'input'`)."
    ),
    examples=(
        Example(
            "from keras.models import Model\n"
            "model = Model(input=[a, b], output=out, name='net')\n",
            "from keras.models import Model\n"
            "model = Model(inputs=[a, b], outputs=out, name='net')\n",
        ),
        Example(
            "import tensorflow as tf\n"
            "model = tf.keras.Model(input=x, output=y)\n",
            "import tensorflow as tf\n"
            "model = tf.keras.Model(inputs=x, outputs=y)\n",
        ),
        Example(
            "from keras.models import Model\n"
            "m = Model(input=x,\n"
            "          output=y)\n",
            "from keras.models import Model\n"
            "m = Model(inputs=x,\n"
            "          outputs=y)\n",
        ),
        Example(
            "class Model:\n"
            "    def __init__(self, input=None, output=None):\n"
            "        self.input = input\n"
            "m = Model(input=1, output=2)\n",
            valid=True,
        ),
        Example("from keras.models import Model\nmodel = Model(inputs=x, outputs=y)\n", valid=True),
    ),
)


class LegacyFunctionalChecker(Checker):
    specs = (KF101, KF102)
    tokens = ("merge", "input")

    def visit_Call(self, node: cst.Call) -> None:
        name = self.ctx.qualified(node.func)
        if name == "keras.layers.merge":
            self._merge(node)
        elif name == "keras.Model":
            self._model_keywords(node)

    def _merge(self, node: cst.Call) -> None:
        args = bind(node, MERGE_PARAMETERS)
        mode_arg = args.get("mode")
        mode = "sum" if mode_arg is None else literal(mode_arg.value)
        if args.has_star or args.extra_positional or args.unknown_keywords or "inputs" not in args:
            self.report(node, "KF101", "Keras 1 `merge()` was removed; its arguments could not be read, so rewrite it by hand")
            return
        if mode is NOT_LITERAL or mode not in MERGE_FUNCTIONS:
            what = "a callable mode" if isinstance(mode_arg.value, cst.Lambda) or mode is NOT_LITERAL else f"mode {mode!r}"
            self.report(
                node,
                "KF101",
                f"Keras 1 `merge()` with {what} has no Keras 3 equivalent; use a `Lambda` layer or a custom layer",
            )
            return
        unsupported = [name for name in _UNSUPPORTED if name in args]
        function = MERGE_FUNCTIONS[mode]
        if unsupported:
            listed = ", ".join(f"`{name}`" for name in unsupported)
            self.report(
                node,
                "KF101",
                f"Keras 1 `merge(mode={mode!r})` was removed; use `{function}()` — {listed} has no equivalent, so rewrite by hand",
            )
            return
        new_args: list[cst.Arg] = [args.get("inputs")]
        if mode == "concat" and "concat_axis" in args:
            new_args.append(rename_keyword(args.get("concat_axis"), "axis"))
        if mode in ("dot", "cos"):
            axes = args.get("dot_axes")
            new_args.append(rename_keyword(axes, "axes") if axes is not None else keyword_arg("axes", "-1"))
            if mode == "cos":
                new_args.append(keyword_arg("normalize", "True"))
        if "name" in args:
            new_args.append(rename_keyword(args.get("name"), "name"))
        callee = new_callee(self.ctx, node.func, "keras.layers", function)
        head = f"Keras 1 `merge(mode={mode!r})` was removed; use `{function}()`"
        if callee is None:
            self.report(node, "KF101", f"{head}: {unspellable('keras.layers.' + function)}")
            return
        new_call = node.with_changes(func=callee.expression, args=arrange(node, new_args))
        fix = make_fix(
            "unsafe" if mode == "cos" else "safe",
            f"Replace with `{function}()`",
            [replace_node(self.ctx, node, new_call)],
            callee.requires,
            callee.releases,
            callee.writes,
        )
        self.report(node, "KF101", head, fix)

    def _model_keywords(self, node: cst.Call) -> None:
        keywords = {arg.keyword.value: arg for arg in node.args if arg.keyword is not None}
        legacy = [name for name in ("input", "output") if name in keywords]
        if not legacy:
            return
        if any(name + "s" in keywords for name in legacy):
            self.report(node, "KF102", "`Model()` is given both Keras 1 `input`/`output` and `inputs`/`outputs`; keep one of each")
            return
        new_args = [rename_keyword(arg, arg.keyword.value + "s") if arg.keyword is not None and arg.keyword.value in legacy else arg for arg in node.args]
        new_call = node.with_changes(args=new_args)
        old = " and ".join(f"`{name}=`" for name in legacy)
        new = " and ".join(f"`{name}s=`" for name in legacy)
        phrase = "keywords {} are" if len(legacy) > 1 else "keyword {} is"
        fix = make_fix("safe", f"Rename to {new}", [replace_node(self.ctx, node, new_call)])
        self.report(node, "KF102", f"`Model()` {phrase.format(old)} Keras 1; use {new}", fix)
