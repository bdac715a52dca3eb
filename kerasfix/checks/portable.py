"""KF503-KF506, for `--target portable`: TensorFlow dtype constants, TensorFlow calls with no portable
counterpart, and `tf.GradientTape` in a custom `train_step`, in model code (kerasfix/checks/model_code.py);
and Keras imported or named through TensorFlow, anywhere in the file.
The TensorFlow calls the table rules/tf_ops.toml lists are KF502's (rules/portable.toml)."""

from __future__ import annotations

import libcst as cst

from kerasfix import ruledata
from kerasfix.checks import model_code
from kerasfix.checks.backend_transforms import TENSORFLOW
from kerasfix.names import dotted
from kerasfix.rule import Checker, Example, RuleSpec, make_fix, replace_node
from kerasfix.spelling import spell

_HEAD = "import tensorflow as tf\nimport keras\n\n\n"

KF503 = RuleSpec(
    code="KF503",
    name="tf-dtype-constant",
    summary="A TensorFlow dtype constant (`tf.float32`) in model code needs TensorFlow (`--target portable`)",
    fix_safety="sometimes",
    what=(
        "With `--target portable`, finds TensorFlow dtype constants (`tf.float32`, `tf.int64`, `tf.bool`, ...) in "
        "model code, and in the arguments of `keras.ops` calls anywhere, and rewrites each to the Keras dtype "
        "name of rules/tf_ops.toml's `[dtype]` table (`tf.float32` -> `\"float32\"`, `tf.double` -> "
        "`\"float64\"`). `tf.string` has no portable counterpart and is reported."
    ),
    why=(
        "Keras 3 names dtypes by strings on every backend; a `tf.DType` needs TensorFlow, and on the JAX and "
        "PyTorch backends the tensors it is compared with have their own dtype objects. Keras's guide asks for "
        "`\"float32\"` where tf.keras code wrote `tf.float32`."
    ),
    examples=(
        Example(
            _HEAD + "class Scale(keras.layers.Layer):\n    def call(self, x):\n"
            "        return keras.ops.cast(x, tf.float32) * keras.ops.cast(keras.ops.shape(x)[-1], dtype=tf.int32)\n",
            _HEAD + "class Scale(keras.layers.Layer):\n    def call(self, x):\n"
            "        return keras.ops.cast(x, \"float32\") * keras.ops.cast(keras.ops.shape(x)[-1], dtype=\"int32\")\n",
            target="portable",
        ),
        Example(
            _HEAD + "class Mask(keras.layers.Layer):\n    def call(self, x):\n"
            "        if x.dtype == tf.bool:\n            return keras.ops.cast(x, \"float32\")\n        return x\n",
            _HEAD + "class Mask(keras.layers.Layer):\n    def call(self, x):\n"
            "        if x.dtype == \"bool\":\n            return keras.ops.cast(x, \"float32\")\n        return x\n",
            unsafe=True,
            target="portable",
        ),
        Example(
            _HEAD + "dataset = dataset.map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y))\n"
            "class Scale(keras.layers.Layer):\n    def call(self, x):\n        return keras.ops.cast(x, \"float32\")\n",
            valid=True,
            target="portable",
        ),
    ),
    fix_note=(
        "Safe where the constant is passed as an argument (Keras reads the string as the same dtype); unsafe "
        "elsewhere, as in `x.dtype == tf.bool`: the comparison holds on TensorFlow and JAX, but a PyTorch "
        "tensor's dtype does not equal a string."
    ),
)

KF504 = RuleSpec(
    code="KF504",
    name="tf-call-without-portable-equivalent",
    summary="A TensorFlow call in model code has no portable Keras 3 counterpart (`--target portable`)",
    fix_safety="none",
    what=(
        "With `--target portable`, reports calls of TensorFlow functions in model code that rules/tf_ops.toml "
        "does not list (KF502 rewrites the ones it does): `tf.data` pipelines, `tf.strings` and `tf.io`, and any "
        "other `tf.*` function, each with what to do instead."
    ),
    why=(
        "On the JAX and PyTorch backends model code receives JAX arrays or torch tensors, which TensorFlow "
        "functions cannot take. Data pipelines and text handling belong outside the model (a `tf.data` pipeline "
        "feeding the model works with every backend), and numeric code has `keras.ops` counterparts."
    ),
    examples=(
        Example(
            _HEAD + "class Tokens(keras.layers.Layer):\n    def call(self, text):\n"
            "        return tf.strings.split(text)\n",
            target="portable",
        ),
        Example(
            _HEAD + "class Tokens(keras.layers.Layer):\n    def call(self, ids):\n        return keras.ops.one_hot(ids, 10)\n\n\n"
            "dataset = tf.data.Dataset.from_tensor_slices(texts).map(tf.strings.lower)\n",
            valid=True,
            target="portable",
        ),
    ),
)

KF505 = RuleSpec(
    code="KF505",
    name="train-step-gradient-tape",
    summary="A custom `train_step` with `tf.GradientTape` runs only on the TensorFlow backend (`--target portable`)",
    fix_safety="none",
    what=(
        "With `--target portable`, reports `tf.GradientTape()` in a model's `train_step`. When the step only "
        "computes a loss and applies its gradients (and updates metrics), it proposes moving the loss into "
        "`compute_loss()` and deleting `train_step`: Keras 3's own step does the rest on every backend. "
        "Otherwise it names Keras's guides for writing `train_step` per backend."
    ),
    why=(
        "Gradients are computed differently on each backend (`tf.GradientTape`, `jax.value_and_grad` with "
        "stateless variables, `torch` autograd), so a `train_step` written for one does not run on the others. "
        "Keras's guide \"Migrating Keras 2 code to multi-backend Keras 3\" recommends overriding "
        "`compute_loss()` where that is all the custom step changes."
    ),
    examples=(
        Example(
            _HEAD + "class Regressor(keras.Model):\n"
            "    def train_step(self, data):\n"
            "        x, y = data\n"
            "        with tf.GradientTape() as tape:\n"
            "            y_pred = self(x, training=True)\n"
            "            loss = keras.ops.mean(keras.ops.abs(y - y_pred)) + 0.01 * keras.ops.sum(self.losses)\n"
            "        grads = tape.gradient(loss, self.trainable_variables)\n"
            "        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))\n"
            "        return {\"loss\": loss}\n",
            target="portable",
        ),
        Example(
            _HEAD + "class Regressor(keras.Model):\n"
            "    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):\n"
            "        return keras.ops.mean(keras.ops.abs(y - y_pred))\n",
            valid=True,
            target="portable",
        ),
    ),
)

KF506 = RuleSpec(
    code="KF506",
    name="keras-through-tensorflow",
    summary="Keras imported or named through TensorFlow (`tf.keras`, `tensorflow.keras`) (`--target portable`)",
    fix_safety="safe",
    what=(
        "With `--target portable`, rewrites `from tensorflow.keras... import ...` to `from keras... import ...`, "
        "`from tensorflow import keras` to `import keras`, and names spelled through TensorFlow "
        "(`tf.keras.layers.Layer`) to Keras spellings (`layers.Layer`, `keras.layers.Layer`), in the whole file."
    ),
    why=(
        "Since TensorFlow 2.16, `tf.keras` is Keras 3 itself when Keras 3 is installed, so the spellings mean the "
        "same objects; but they import TensorFlow, which a model meant to run on JAX or PyTorch should not need, "
        "and they read as TensorFlow-only code."
    ),
    examples=(
        Example(
            "import tensorflow as tf\nfrom tensorflow import keras\nfrom tensorflow.keras import layers\n\n\n"
            "class Gate(tf.keras.layers.Layer):\n    def call(self, x):\n        return layers.Multiply()([x, keras.activations.sigmoid(x)])\n",
            "import tensorflow as tf\nimport keras\nfrom keras import layers\n\n\n"
            "class Gate(layers.Layer):\n    def call(self, x):\n        return layers.Multiply()([x, keras.activations.sigmoid(x)])\n",
            target="portable",
        ),
        Example(
            "import tensorflow as tf\nimport keras\nfrom keras import layers\n\n\n"
            "dataset = tf.data.Dataset.range(4)\nmodel = keras.Sequential([layers.Dense(1)])\n",
            valid=True,
            target="portable",
        ),
    ),
)

_GUIDES = (
    "write one `train_step` per backend as Keras's guides \"Customizing what happens in `fit()`\" show for "
    "TensorFlow, JAX and PyTorch (keras.io/guides/custom_train_step_in_tensorflow/, "
    "keras.io/guides/custom_train_step_in_jax/, keras.io/guides/custom_train_step_in_torch/), or keep this "
    "model on the TensorFlow backend"
)
_GUIDANCE = {
    "tensorflow.data": "a `tf.data` pipeline belongs outside the model: build the dataset in the input pipeline (it feeds every backend) and give the model tensors",
    "tensorflow.strings": "string tensors exist only on the TensorFlow backend: keep text handling in the input pipeline or a preprocessing layer, and feed the model numbers",
    "tensorflow.io": "file and string decoding belongs in the input pipeline, outside the model",
    "tensorflow.GradientTape": "gradients are each backend's own: compute them in `train_step` per backend (KF505) or let `fit()` do it",
}


class PortableChecker(Checker):
    specs = (KF503, KF504, KF505, KF506)
    tokens = ("tensorflow",)

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._imports_rewritten = False  # this round rewrites imports through TensorFlow: names wait for it
        self._tf_keras_names: list[cst.Attribute] = []  # `tf.keras.layers.Layer` and the like

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if self.ctx.target != "portable" or not self.ctx.enabled("KF506") or node.relative or node.module is None:
            return
        module = dotted(node.module) or ""
        if module == "tensorflow.keras" or module.startswith("tensorflow.keras."):
            new = node.with_changes(module=cst.parse_expression(module[len("tensorflow."):]))
        elif module == "tensorflow" and not isinstance(node.names, cst.ImportStar) and [
            alias.name.value for alias in node.names if isinstance(alias.name, cst.Name)
        ] == ["keras"] and len(node.names) == 1:
            new = cst.Import(names=[node.names[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)])
        else:
            return
        self._imports_rewritten = True
        shown = self.ctx.code_for(new)
        self.report(node, "KF506", f"this imports Keras through TensorFlow: `{shown}`",
                    make_fix("safe", f"Write `{shown}`", [replace_node(self.ctx, node, new)]))

    def finish(self) -> None:
        for attribute in self._tf_keras_names:
            self._respell(attribute)

    def _respell(self, node: cst.Attribute) -> None:
        symbol = self.ctx.qualified(node)
        text = dotted(node) or ""
        spelled = None if self._imports_rewritten or symbol is None else spell(self.ctx, symbol, node, qualified=True)
        if spelled is None:
            why = " (fixed once the file's imports no longer go through TensorFlow)" if self._imports_rewritten else ""
            self.report(node, "KF506", f"`{text}` names Keras through TensorFlow{why}")
            return
        edit = replace_node(self.ctx, node, spelled.expression)
        self.report(node, "KF506", f"`{text}` names Keras through TensorFlow: write `{spelled.text}`",
                    make_fix("safe", f"Write `{spelled.text}`", [edit], list(spelled.requires), [], [spelled.written]))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if self.ctx.target != "portable":
            return
        raw = self.ctx.imports.resolve(node)
        if (
            raw is not None and raw.startswith("tensorflow.keras") and self.ctx.enabled("KF506")
            and not isinstance(self.ctx.parent(node), cst.Attribute) and (dotted(node) or "").count(".") >= 1
            and self.ctx.imports.resolve(cst.Name((dotted(node) or "").split(".")[0])) == "tensorflow"
        ):
            self._tf_keras_names.append(node)  # judged at the end, once the imports have been seen
            return
        if not self.ctx.enabled("KF503"):
            return
        if raw is None or not raw.startswith("tensorflow.") or raw.count(".") != 1:
            return
        name = raw.split(".", 1)[1]
        dtypes = _dtypes()
        if name not in dtypes["dtype"] and name not in dtypes["dtype_none"]:
            return
        parent = self.ctx.parent(node)
        argument = isinstance(parent, cst.Arg)
        if model_code.owner(self.ctx, node) is None and not (argument and self._keras_call_argument(parent)):
            return
        if name in dtypes["dtype_none"]:
            self.report(node, "KF503", f"`tf.{name}` has no portable Keras dtype: {dtypes['dtype_none'][name]}")
            return
        new = dtypes["dtype"][name]
        safety = "safe" if argument else "unsafe"
        edit = replace_node(self.ctx, node, cst.SimpleString(f'"{new}"'))
        message = f"`tf.{name}` needs TensorFlow; Keras 3 names the dtype `\"{new}\"` on every backend"
        if not argument:
            message += " (unsafe here: a PyTorch tensor's dtype does not equal a string; compare with `keras.backend.standardize_dtype(x.dtype)`)"
        self.report(node, "KF503", message, make_fix(safety, f"Write `\"{new}\"`", [edit]))

    def _keras_call_argument(self, arg: cst.Arg) -> bool:
        call = self.ctx.parent(arg)
        return isinstance(call, cst.Call) and (self.ctx.qualified(call.func) or "").startswith("keras.")

    def visit_Call(self, node: cst.Call) -> None:
        if self.ctx.target != "portable":
            return
        raw = self.ctx.imports.resolve(node.func)
        if raw is None or not raw.startswith("tensorflow.") or self.ctx.qualified(node.func) is not None:
            return  # not TensorFlow, or Keras reached through it (`tf.keras.layers.Dense`)
        name = raw[len("tensorflow."):]
        if name in TENSORFLOW.rows() or model_code.owner(self.ctx, node) is None:
            return  # KF502 rewrites or reports what the table lists
        if name == "GradientTape":
            where = model_code.layer_method(self.ctx, node)
            if where is not None and where[1].name.value == "train_step":
                self._train_step(node, where[1])
                return
        guidance = next((text for prefix, text in _GUIDANCE.items() if raw == prefix or raw.startswith(prefix + ".")), None)
        if guidance is None:
            guidance = "rules/tf_ops.toml lists no portable replacement: write it with `keras.ops` (or keep this code TensorFlow-only)"
        self.report(node, "KF504", f"`tf.{name}` in model code runs only on the TensorFlow backend: {guidance}")

    def _train_step(self, node: cst.Call, method: cst.FunctionDef) -> None:
        if _only_a_loss(method):
            advice = (
                "this step only computes a loss and applies its gradients, which Keras 3's own `train_step` does on "
                "every backend: move the loss into `def compute_loss(self, x=None, y=None, y_pred=None, "
                "sample_weight=None, training=True)` (returning it) and delete `train_step`"
            )
        else:
            advice = _GUIDES
        self.report(node, "KF505", f"`tf.GradientTape` in `train_step` runs only on the TensorFlow backend: {advice}")


def _dtypes() -> dict:
    data = ruledata.load("tf_ops")
    return {"dtype": data.get("dtype", {}), "dtype_none": data.get("dtype_none", {})}


# What a `train_step` that only computes a loss does after its tape: gradients, applying them, metrics, return.
_STEP_CALLS = ("gradient", "apply_gradients", "apply", "update_state", "reset_state", "result", "minimize")


def _only_a_loss(method: cst.FunctionDef) -> bool:
    """Whether `train_step` computes a loss under one tape and then only applies the gradients, updates
    metrics and returns them (no second tape, no other state, no control flow besides metric loops)."""
    tapes = 0
    for statement in method.body.body:
        if isinstance(statement, cst.With):
            tapes += 1
            if not all(isinstance(inner, cst.SimpleStatementLine) for inner in statement.body.body):
                return False
            continue
        if isinstance(statement, cst.For):
            if not _only_calls(statement.body, _STEP_CALLS):
                return False
            continue
        if isinstance(statement, cst.SimpleStatementLine):
            if tapes and not all(isinstance(small, (cst.Return, cst.Assign, cst.Expr)) for small in statement.body):
                return False
            if tapes and any(isinstance(small, cst.Expr) and not _only_calls(small, _STEP_CALLS) for small in statement.body):
                return False
            continue
        return False
    return tapes == 1


def _only_calls(node: cst.CSTNode, allowed: tuple[str, ...]) -> bool:
    """Whether every method call in `node` is one of `allowed`."""
    names: list[str] = []

    class Calls(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            if isinstance(call.func, cst.Attribute):
                names.append(call.func.attr.value)

    node.visit(Calls())
    return bool(names) and all(name in allowed for name in names)
