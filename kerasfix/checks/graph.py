"""KF2xx Sequential/Functional misuse and KF4xx static shape errors, found on the model graph."""

from __future__ import annotations

import libcst as cst

from kerasfix.checks.callargs import with_args
from kerasfix.checks.merge_models import KF201
from kerasfix.graph.model import snake_case
from kerasfix.rule import Checker, Example, RuleSpec, make_fix, replace_node


def _spec(code, name, summary, what, why, examples, fix_safety="none", default=True) -> RuleSpec:
    return RuleSpec(code=code, name=name, summary=summary, fix_safety=fix_safety, what=what, why=why,
                    examples=tuple(examples), default_enabled=default)


IMPORTS = "from tensorflow import keras\nfrom tensorflow.keras import layers\n"

SPECS = (
    _spec(
        "KF202", "merge-layer-in-sequential",
        "A merge layer (`Concatenate`, `Add`, ...) cannot be a layer of a Sequential model",
        "Finds `Concatenate`, `Add`, `Subtract`, `Multiply`, `Average`, `Maximum`, `Minimum` and `Dot` layers placed in a `Sequential`.",
        "A Sequential model feeds each layer exactly one tensor; merge layers need a list of tensors and fail when the model is built. Use the Functional API.",
        [
            Example(IMPORTS + "model = keras.Sequential([layers.Dense(4, input_shape=(3,)), layers.Concatenate()])\n"),
            Example(IMPORTS + "a = keras.Input(shape=(3,))\nb = keras.Input(shape=(3,))\nmodel = keras.Model([a, b], layers.Concatenate()([a, b]))\n", valid=True),
        ],
    ),
    _spec(
        "KF203", "shared-layer-in-sequential",
        "The same layer instance appears twice in a Sequential model (its weights are shared)",
        "Finds a layer object added to one Sequential model more than once.",
        "Both positions use one set of weights. That is occasionally intended but usually a copy-paste slip; a second layer needs a second constructor call.",
        [
            Example(IMPORTS + "hidden = layers.Dense(8, activation='relu')\nmodel = keras.Sequential([keras.Input(shape=(8,)), hidden, hidden, layers.Dense(1)])\n"),
            Example(IMPORTS + "model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(8), layers.Dense(8)])\n", valid=True),
        ],
    ),
    _spec(
        "KF204", "input-shape-not-first",
        "`input_shape`/`input_dim` on a layer that is not the first of a Sequential is ignored",
        "Finds `input_shape=`, `input_dim=` or `batch_input_shape=` on any but the first layer of a Sequential model.",
        "Keras takes the input shape from the first layer only; on later layers the argument does nothing, and often hides a misunderstanding of the model's shapes.",
        [
            Example(
                IMPORTS + "model = keras.Sequential()\nmodel.add(layers.Dense(8, input_shape=(4,)))\nmodel.add(layers.Dense(2, input_dim=8))\n",
                IMPORTS + "model = keras.Sequential()\nmodel.add(layers.Dense(8, input_shape=(4,)))\nmodel.add(layers.Dense(2))\n",
            ),
            Example(IMPORTS + "model = keras.Sequential([layers.Dense(8, input_shape=(4,)), layers.Dense(2)])\n", valid=True),
        ],
        fix_safety="safe",
    ),
    _spec(
        "KF205", "model-inputs-not-input-tensors",
        "`Model(inputs=...)` is given tensors that are not `keras.Input` tensors",
        "Finds Functional models whose `inputs` include a tensor computed by a layer rather than created by `keras.Input`.",
        "The layers between the real inputs and the tensors given are not part of the model; Keras 3 rejects such graphs or silently drops those layers.",
        [
            Example(IMPORTS + "x = keras.Input(shape=(4,))\nh = layers.Dense(8)(x)\nout = layers.Dense(1)(h)\nmodel = keras.Model(inputs=h, outputs=out)\n"),
            Example(IMPORTS + "x = keras.Input(shape=(4,))\nout = layers.Dense(1)(layers.Dense(8)(x))\nmodel = keras.Model(inputs=x, outputs=out)\n", valid=True),
        ],
    ),
    _spec(
        "KF206", "layer-called-on-layer",
        "A layer is called on a layer object instead of a tensor",
        "Finds `Layer(...)(other_layer)` where the argument is a layer instance or a model, not a tensor.",
        "Layers transform tensors; passing a layer object fails when the model is built. Call the layer on the previous layer's output tensor.",
        [
            Example(IMPORTS + "inputs = keras.Input(shape=(4,))\nhidden = layers.Dense(8)\nout = layers.Dense(1)(hidden)\n"),
            Example(IMPORTS + "inputs = keras.Input(shape=(4,))\nhidden = layers.Dense(8)(inputs)\nout = layers.Dense(1)(hidden)\n", valid=True),
        ],
    ),
    _spec(
        "KF207", "unused-branch",
        "A layer output computed from a model's inputs reaches no model output",
        "Finds tensors computed from a Functional model's inputs that feed no other layer and are not model outputs.",
        "The branch is built but never used: its layers are not part of the model, so it trains nothing. Usually an output was forgotten in `outputs=[...]`.",
        [
            Example(IMPORTS + "x = keras.Input(shape=(4,))\nmain = layers.Dense(1)(x)\naux = layers.Dense(1)(x)\nmodel = keras.Model(x, main)\n"),
            Example(IMPORTS + "x = keras.Input(shape=(4,))\nmain = layers.Dense(1)(x)\naux = layers.Dense(1)(x)\nmodel = keras.Model(x, [main, aux])\n", valid=True),
        ],
    ),
    _spec(
        "KF208", "disconnected-model",
        "A model input does not reach any model output (the graph is disconnected)",
        "Finds Functional models with an input from which no output can be computed.",
        "Keras cannot build a model whose outputs are not computed from its inputs: it raises `ValueError: Graph disconnected` or the input is silently unused.",
        [
            Example(IMPORTS + "a = keras.Input(shape=(4,))\nb = keras.Input(shape=(4,))\nout = layers.Dense(1)(a)\nmodel = keras.Model([a, b], out)\n"),
            Example(IMPORTS + "a = keras.Input(shape=(4,))\nb = keras.Input(shape=(4,))\nout = layers.Dense(1)(layers.Concatenate()([a, b]))\nmodel = keras.Model([a, b], out)\n", valid=True),
        ],
    ),
    _spec(
        "KF209", "functional-could-be-sequential",
        "A Functional model that is a single chain could be written as a Sequential",
        "Finds Functional models with one input, one output, and layers that each take the previous layer's output.",
        "A plain stack reads more simply as `keras.Sequential([...])`. This is a style suggestion, off by default.",
        [
            Example(IMPORTS + "x = keras.Input(shape=(4,))\nh = layers.Dense(8)(x)\nout = layers.Dense(1)(h)\nmodel = keras.Model(x, out)\n"),
            Example(IMPORTS + "x = keras.Input(shape=(4,))\nh = layers.Dense(8)(x)\nout = layers.Dense(1)(layers.Concatenate()([x, h]))\nmodel = keras.Model(x, out)\n", valid=True),
        ],
        default=False,
    ),
    _spec(
        "KF401", "incompatible-merge-shapes",
        "Merging tensors whose shapes are incompatible",
        "Finds `Concatenate`, `Add`, `Multiply` and the other merge layers applied to tensors whose static shapes cannot be merged, naming both shapes.",
        "Keras raises a shape error when the model is built, typically after data loading has already taken minutes; branches with different strides and residual adds with different channel counts are the usual causes.",
        [
            Example(IMPORTS + "x = keras.Input(shape=(32, 32, 3))\na = layers.Conv2D(16, 3, padding='same')(x)\nb = layers.Conv2D(16, 3, strides=2, padding='same')(x)\nout = layers.Concatenate()([a, b])\n"),
            Example(IMPORTS + "x = keras.Input(shape=(32, 32, 3))\na = layers.Conv2D(16, 3, padding='same')(x)\nb = layers.Conv2D(8, 3, padding='same')(x)\nout = layers.Concatenate()([a, b])\n", valid=True),
        ],
    ),
    _spec(
        "KF402", "window-larger-than-input",
        "A convolution or pooling window is larger than its input (a negative dimension)",
        "Finds convolutions and poolings with `padding='valid'` whose window exceeds the input size along some axis.",
        "The output would have zero or negative size; Keras fails at build time with a negative dimension error.",
        [
            Example(IMPORTS + "model = keras.Sequential([keras.Input(shape=(4, 4, 1)), layers.Conv2D(8, 5)])\n"),
            Example(IMPORTS + "model = keras.Sequential([keras.Input(shape=(4, 4, 1)), layers.Conv2D(8, 5, padding='same')])\n", valid=True),
        ],
    ),
    _spec(
        "KF403", "wrong-input-rank",
        "A layer is given an input of a rank it cannot take",
        "Finds layers applied to tensors of the wrong rank: `Conv2D` on a flat vector, `LSTM` on 2-D input, and the like.",
        "Keras raises an input-spec error when the model is built. Usually a `Reshape`, `Flatten` or `Embedding` is missing.",
        [
            Example(IMPORTS + "model = keras.Sequential([keras.Input(shape=(784,)), layers.Conv2D(8, 3)])\n"),
            Example(IMPORTS + "model = keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Conv2D(8, 3)])\n", valid=True),
        ],
    ),
    _spec(
        "KF501", "tf-op-on-keras-tensor",
        "A TensorFlow function is applied to a Keras tensor while a Functional model is built",
        "Finds calls of `tf.*` functions (`tf.squeeze`, `tf.concat`, `tf.nn.relu`, ...) whose arguments are "
        "Keras tensors of a model being built (`keras.Input`, the outputs of layers called on them, and of "
        "operations on those), as the model graph follows them through the file, and rewrites each to its "
        "`keras.ops` replacement from rules/tf_ops.toml (`tf.squeeze(x, axis=-1)` -> `keras.ops.squeeze(x, "
        "axis=-1)`, `tf.concat([a, b], -1)` -> `keras.ops.concatenate([a, b], -1)`), the rewrite KF502 makes "
        "in model code, through the same table and code.",
        "tf.keras 2 turned such calls into layers by itself; Keras 3 builds models from symbolic `KerasTensor`s "
        "that TensorFlow functions cannot take: `ValueError: A KerasTensor cannot be used as input to a "
        "TensorFlow function`. The `keras.ops` function of the same job works on them (and on every backend); "
        "TensorFlow code that has no `keras.ops` equivalent belongs in the `call()` of a custom layer.",
        [
            Example(
                "import tensorflow as tf\nfrom tensorflow import keras\n"
                "inputs = keras.Input(shape=(10, 1))\nx = tf.squeeze(inputs, axis=-1)\n"
                "y = tf.concat([x, tf.nn.relu(x)], -1)\n"
                "model = keras.Model(inputs, keras.layers.Dense(1)(y))\n",
                "import tensorflow as tf\nfrom tensorflow import keras\n"
                "inputs = keras.Input(shape=(10, 1))\nx = keras.ops.squeeze(inputs, axis=-1)\n"
                "y = keras.ops.concatenate([x, keras.ops.relu(x)], -1)\n"
                "model = keras.Model(inputs, keras.layers.Dense(1)(y))\n",
            ),
            Example(
                "import tensorflow as tf\nfrom tensorflow import keras\n"
                "tokens = keras.Input(shape=(12, 8))\nwidth = tf.shape(tokens)[1]\n"
                "model = keras.Model(tokens, keras.layers.Dense(1)(tokens))\n",
                "import tensorflow as tf\nfrom tensorflow import keras\n"
                "tokens = keras.Input(shape=(12, 8))\nwidth = keras.ops.shape(tokens)[1]\n"
                "model = keras.Model(tokens, keras.layers.Dense(1)(tokens))\n",
                unsafe=True,
            ),
            Example(
                "import tensorflow as tf\nfrom tensorflow import keras\n"
                "inputs = keras.Input(shape=(10,))\nx = tf.py_function(lambda a: a, [inputs], tf.float32)\n"
            ),
            Example(
                "import tensorflow as tf\nfrom tensorflow import keras\n"
                "inputs = keras.Input(shape=(10, 1))\nx = keras.ops.squeeze(inputs, axis=-1)\n"
                "model = keras.Model(inputs, keras.layers.Dense(1)(x))\ndata = tf.squeeze(tf.ones((4, 10, 1)), axis=-1)\n",
                valid=True,
            ),
        ],
        fix_safety="sometimes",
    ),
)


KF210 = _spec(
    "KF210", "sequential-input-output-attribute",
    "Keras 3 Sequential models have no `.input` or `.output` until called: use `.inputs[0]` and `.outputs[0]`",
    "Finds `model.input` and `model.output` where `model` is a Sequential model the file builds (every binding "
    "of the name assigns one) and rewrites them to `model.inputs[0]` and `model.outputs[0]`, the same tensors (a "
    "Sequential model has one input and one output).",
    "tf.keras 2 gave a built Sequential model `input` and `output` tensors, and the Keras 2 FAQ's feature extractors "
    "read them (`K.function([model.input], [layer.output])`, `keras.Model(model.input, ...)`). Keras 3.15's "
    "Sequential raises `AttributeError: The layer sequential has never been called and thus has no defined input` "
    "for them, even when its input shape is known; its `inputs` and `outputs` lists hold the tensors.",
    [
        Example(
            IMPORTS + "model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(4, name='hidden'), layers.Dense(1)])\n"
            "extractor = keras.Model(model.input, model.get_layer('hidden').output)\nhead = model.output\n",
            IMPORTS + "model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(4, name='hidden'), layers.Dense(1)])\n"
            "extractor = keras.Model(model.inputs[0], model.get_layer('hidden').output)\nhead = model.outputs[0]\n",
        ),
        Example(
            IMPORTS + "inputs = keras.Input(shape=(8,))\nmodel = keras.Model(inputs, layers.Dense(1)(inputs))\n"
            "extractor = keras.Model(model.input, model.output)\n",
            valid=True,
        ),
        Example(
            IMPORTS + "model = keras.Sequential([keras.Input(shape=(8,)), layers.Dense(1)])\n"
            "if wide:\n    model = keras.Model(inputs, outputs)\nfeatures = model.input\n",
            valid=True,
        ),
    ],
    fix_safety="safe",
)


# What each rule says, from the facts the model graph records (kerasfix/graph/model.py names the rule).
MESSAGES = {
    "layer-called-on-layer": lambda f: (
        f"`{f['type']}` is called on a layer object, not on a tensor; call the layer on its output "
        f"(e.g. `{snake_case(f['type'])}(x)` where `x` is a tensor)"
    ),
    "merge-layer-in-sequential": lambda f: (
        f"`{f['type']}` merges several inputs and cannot be a layer of a Sequential model; build a Functional "
        "model with `keras.Model(inputs, outputs)`"
    ),
    "shared-layer-in-sequential": lambda f: (
        f"the same `{f['type']}` instance `{f['name']}` appears twice in this Sequential; its weights are shared. "
        "If that is intended, say so with a comment and `# noqa: KF203`; else create a second layer"
    ),
    "input-shape-not-first": lambda f: (
        "`input_shape`/`input_dim` on a layer that is not the first of a Sequential is ignored by Keras"
    ),
    "model-inputs-not-input-tensors": lambda f: (
        "`Model(inputs=...)` is given a tensor that is not a `keras.Input`; the layers above it are dropped "
        "from the model. Pass the `keras.Input` tensors"
    ),
    "disconnected-model": lambda f: (
        "an input of this model does not reach any of its outputs (the graph is disconnected); check "
        "`inputs=`/`outputs=`"
    ),
    "unused-branch": lambda f: f"the output of `{f['name']}` is computed but reaches no model output; use it or remove it",
    "tf-op-on-keras-tensor": lambda f: (
        f"`{f['op']}` is applied to a Keras tensor while the model is built: Keras 3 raises \"A KerasTensor "
        "cannot be used as input to a TensorFlow function\". Use the `keras.ops` function of the same "
        "name, or put the TensorFlow code in the `call()` of a layer"
    ),
    "incompatible-merge-shapes": lambda f: f["detail"],
    "window-larger-than-input": lambda f: f["detail"],
    "wrong-input-rank": lambda f: f["detail"],
}
CODES = {spec.name: spec.code for spec in SPECS}


class GraphChecker(Checker):
    specs = (KF201, *SPECS, KF210)
    tokens = ("Sequential", "Model", "Input")

    def finish(self) -> None:
        from kerasfix.graph.model import build_models

        models, issues = build_models(self.ctx.module, self.ctx.imports)
        seen: set[tuple[int, str]] = set()
        for node, rule, facts in issues + [issue for model in models for issue in model.issues]:
            code, message = CODES[rule], MESSAGES[rule](facts)
            key = (id(node), code)
            if key in seen:
                continue
            seen.add(key)
            if code == "KF501":
                message, fix = self._portable(node, message)
            else:
                fix = self._fix(node, code)
            self.report(node, code, message, fix)
        if self.ctx.enabled("KF201"):
            from kerasfix.checks import merge_models

            merge_models.find(self, models)
        if self.ctx.enabled("KF209"):
            for model in models:
                if _single_chain(model):
                    self.report(model.node, "KF209", "this Functional model is a single chain of layers; `keras.Sequential([...])` says the same more simply")
        if self.ctx.enabled("KF210"):
            self._sequential_input_output(models)

    def _sequential_input_output(self, models) -> None:
        """KF210: `model.input` / `model.output` of a name the file binds only to Sequential models."""
        names = {model.variable for model in models if model.kind == "Sequential" and model.variable.isidentifier()}
        if not names or (".input" not in self.ctx.text and ".output" not in self.ctx.text):
            return
        from kerasfix.walk import walk

        values: dict[str, list[cst.BaseExpression | None]] = {}  # name -> the value of each of its bindings
        uses: list[cst.Attribute] = []

        def enter(node: cst.CSTNode, parent: cst.CSTNode | None) -> None:
            kind = type(node)
            if kind is cst.Attribute and type(node.value) is cst.Name and node.value.value in names and node.attr.value in ("input", "output"):
                uses.append(node)
            elif kind is cst.Assign:
                for target in node.targets:
                    if isinstance(target.target, cst.Name):
                        if target.target.value in names:
                            values.setdefault(target.target.value, []).append(node.value)
                    else:
                        for name in _target_names(target.target) & names:
                            values.setdefault(name, []).append(None)  # unpacked: not a Sequential(...) call
            elif kind in (cst.For, cst.CompFor, cst.WithItem):
                target = node.asname.name if kind is cst.WithItem and node.asname is not None else getattr(node, "target", None)
                for name in _target_names(target) & names:
                    values.setdefault(name, []).append(None)
            elif kind is cst.Name and node.value in names and _binds(node, parent):
                values.setdefault(node.value, []).append(None)

        walk(self.ctx.module, enter)
        sequential = {
            name for name, bound in values.items()
            if bound and all(isinstance(value, cst.Call) and self.ctx.qualified(value.func) == "keras.Sequential" for value in bound)
        }
        for use in uses:
            name = use.value.value
            parent = self.ctx.parent(use)
            if name not in sequential or isinstance(parent, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.Del)):
                continue  # `model.input = ...`: not a read
            plural = use.attr.value + "s"
            new = cst.Subscript(value=use.with_changes(attr=cst.Name(plural)), slice=[cst.SubscriptElement(cst.Index(cst.Integer("0")))])
            fix = make_fix("safe", f"Use `{name}.{plural}[0]`", [replace_node(self.ctx, use, new)])
            self.report(
                use, "KF210",
                f"Keras 3's Sequential has no `.{use.attr.value}` until it is called (AttributeError); `{name}.{plural}[0]` is the same tensor",
                fix,
            )

    def _portable(self, node: cst.Call, message: str):
        """KF501's words and fix: the call rewritten by its row of rules/tf_ops.toml, as KF502 rewrites
        TensorFlow calls in model code (kerasfix/checks/backend_transforms.py)."""
        from kerasfix.checks.backend_transforms import table_call_fix

        found = table_call_fix(self.ctx, node, "KF501")
        if found is None:
            return message + " (rules/tf_ops.toml has no row for this function: rewrite it by hand)", None
        details, fix = found
        return f"{message}: {details}", fix

    def _fix(self, node, code: str):
        if code != "KF204" or not isinstance(node, cst.Call):
            return None
        ignored = {"input_shape", "input_dim", "batch_input_shape"}
        if (self.ctx.qualified(node.func) or "").rsplit(".", 1)[-1] == "Embedding":
            ignored.discard("input_dim")  # an Embedding's input_dim is its vocabulary size, not a shape
        elif any(a.keyword is not None and a.keyword.value == "input_dim" for a in node.args):
            ignored.add("input_length")  # Keras 1: input_dim with input_length was the input shape
        kept = [a for a in node.args if not (a.keyword is not None and a.keyword.value in ignored)]
        new = with_args(node, kept)
        return make_fix("safe", "Remove the ignored input shape", [replace_node(self.ctx, node, new)])


def _binds(node: cst.Name, parent: cst.CSTNode | None) -> bool:
    """Whether a name, other than as an assignment's target, is bound here (a parameter, a loop variable, ...)."""
    if isinstance(parent, (cst.Param, cst.FunctionDef, cst.ClassDef, cst.AsName, cst.NameItem, cst.ImportAlias)):
        return parent.name is node if hasattr(parent, "name") else True
    if isinstance(parent, (cst.AugAssign, cst.AnnAssign, cst.NamedExpr)):
        return parent.target is node
    return False


def _target_names(target: cst.CSTNode | None) -> set[str]:
    """The names an assignment or loop target binds (`a`, `(a, [b, *c])`)."""
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        return {name for element in target.elements for name in _target_names(element.value)}
    if isinstance(target, cst.StarredElement):
        return _target_names(target.value)
    return set()


def _single_chain(model) -> bool:
    if model.kind != "Functional" or not model.complete or len(model.inputs) != 1 or len(model.outputs) != 1:
        return False
    tensor = model.outputs[0]
    count = 0
    while not tensor.is_input:
        if tensor.layer is None or len(tensor.inputs) != 1 or tensor.layer.calls != 1 or tensor.layer.model is not None:
            return False
        tensor = tensor.inputs[0]
        count += 1
    return tensor is model.inputs[0] and count >= 2
