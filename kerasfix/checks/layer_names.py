"""KF306: a `/` in the name of a Keras layer, model, weight or name scope, which Keras 3 refuses.

Keras 2 (TensorFlow 1 graph naming) let a layer be called `conv1/conv`, and keras_applications' DenseNet named
its first layers so. Keras 3 joins names into paths with `/` itself, and every `Operation` (each layer and
model), variable and `keras.name_scope` refuses a name that holds one (ValueError "Argument `name` must be a
string and cannot contain character `/`").
"""

from __future__ import annotations

import libcst as cst

from kerasfix.rule import Checker, Example, RuleSpec, make_fix, replace_node

KF306 = RuleSpec(
    code="KF306",
    name="slash-in-layer-name",
    summary="a layer, model, weight or name scope named with `/`: Keras 3 refuses the character in names",
    fix_safety="unsafe",
    removed_in="3.0",
    what=(
        "Reports the `name=` argument of a Keras layer or model (anything called from `keras.layers`, "
        "`keras.Model`, `keras.Sequential`, `keras.Input`), of `add_weight`, and the name given to "
        "`keras.name_scope` (or Keras 2's `keras.backend.name_scope`), when the text the argument is built from "
        "holds a `/`: a string literal (`name='conv1/conv'`), or the literal parts of a name built with `+`, "
        "`%`, an f-string, `.format()` or `.join()` (`name=prefix + '/bn'`, `'%s/conv' % block`). The fix "
        "replaces each `/` in those literal parts with `_`, as Keras 3's own applications spell such names "
        "(`conv1_conv`). A name held in a variable, or a `/` that reaches the name from elsewhere (an argument "
        "of the function building it), is not seen."
    ),
    why=(
        "Keras 3 uses `/` to join the names of nested layers, weights and name scopes into paths, so it refuses "
        "the character in a single name: ValueError \"Argument `name` must be a string and cannot contain "
        "character `/`. Received: name=conv1/conv\", raised when the layer (or model, weight, name scope) is "
        "created. Keras 2 accepted it, and the layers of some of its pretrained models were named so "
        "(keras_applications 1.0.8's DenseNet: `conv1/conv`, `conv1/bn`)."
    ),
    fix_note=(
        "The fix is unsafe: a layer's name is how weights are found by name (`load_weights(..., by_name=True)`, "
        "an HDF5 file saved by Keras 2) and how code reaches a layer (`model.get_layer('conv1/conv')`), and those "
        "still use the old name. Rename the layers there too, or map the old names when converting weights."
    ),
    examples=(
        Example(
            "from keras import layers\n"
            "x = layers.Conv2D(64, 7, strides=2, use_bias=False, name='conv1/conv')(inputs)\n"
            "x = layers.BatchNormalization(epsilon=1.001e-5, name='conv1/bn')(x)\n",
            "from keras import layers\n"
            "x = layers.Conv2D(64, 7, strides=2, use_bias=False, name='conv1_conv')(inputs)\n"
            "x = layers.BatchNormalization(epsilon=1.001e-5, name='conv1_bn')(x)\n",
            unsafe=True,
        ),
        Example(
            "import tensorflow as tf\n"
            "def stage(x, filters, prefix):\n"
            "    x = tf.keras.layers.Conv2D(filters, 3, padding='same', name=prefix + '/conv')(x)\n"
            "    x = tf.keras.layers.Activation('relu', name=f'{prefix}/relu')(x)\n"
            "    return tf.keras.layers.MaxPooling2D(name='%s/pool' % prefix)(x)\n",
            "import tensorflow as tf\n"
            "def stage(x, filters, prefix):\n"
            "    x = tf.keras.layers.Conv2D(filters, 3, padding='same', name=prefix + '_conv')(x)\n"
            "    x = tf.keras.layers.Activation('relu', name=f'{prefix}_relu')(x)\n"
            "    return tf.keras.layers.MaxPooling2D(name='%s_pool' % prefix)(x)\n",
            unsafe=True,
        ),
        Example(
            "from keras import layers\nx = layers.Dense(10, name='logits')(x)\nscale = x / 2\n",
            valid=True,
        ),
        Example(
            "import tensorflow as tf\nwith tf.name_scope('encoder/block_1'):\n    y = tf.reshape(x, (-1,))\n",
            valid=True,
        ),
    ),
)

# Keras names whose `name=` names a layer or model (with anything called from keras.layers)
_NAMED = frozenset({"keras.Model", "keras.Sequential", "keras.Input"})
# Keras names whose first argument (or `name=`) names a name scope
_SCOPES = frozenset({"keras.name_scope", "keras.backend.name_scope"})
_JOINING = frozenset({"format", "join"})  # str methods whose receiver and arguments make up the result


def _name_argument(node: cst.Call, positional: bool) -> cst.Arg | None:
    for index, arg in enumerate(node.args):
        if arg.keyword is not None and arg.keyword.value == "name":
            return arg
        if positional and index == 0 and arg.keyword is None and not arg.star:
            return arg
    return None


def _literal_parts(node: cst.BaseExpression) -> list[cst.CSTNode]:
    """The literal text a string expression is built from: string literals, the text of f-strings, through
    `+`, `%`, tuples and lists, and the receiver and arguments of `.format()` and `.join()`; a name, a call
    of anything else or a subscript stops the search (what it holds is not in the source here)."""
    found: list[cst.CSTNode] = []
    pending: list[cst.BaseExpression] = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, cst.SimpleString):
            if "b" not in current.prefix.lower():  # bytes are no name
                found.append(current)
        elif isinstance(current, cst.ConcatenatedString):
            pending.extend((current.left, current.right))
        elif isinstance(current, cst.FormattedString):
            found.extend(part for part in current.parts if isinstance(part, cst.FormattedStringText))
        elif isinstance(current, cst.BinaryOperation) and isinstance(current.operator, (cst.Add, cst.Modulo)):
            pending.extend((current.left, current.right))
        elif isinstance(current, (cst.Tuple, cst.List)):
            pending.extend(element.value for element in current.elements if not isinstance(element, cst.StarredElement))
        elif (
            isinstance(current, cst.Call)
            and isinstance(current.func, cst.Attribute)
            and current.func.attr.value in _JOINING
        ):
            pending.append(current.func.value)
            pending.extend(arg.value for arg in current.args if not arg.star)
    return found


def _without_slash(part: cst.SimpleString | cst.FormattedStringText) -> cst.CSTNode:
    """The literal with `_` for each `/` (a string's quotes and prefix never hold one)."""
    return part.with_changes(value=part.value.replace("/", "_"))


class LayerNameChecker(Checker):
    specs = (KF306,)
    tokens = ("name",)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        target = self.ctx.qualified(func)
        if target in _SCOPES:
            arg = _name_argument(node, positional=True)
            what = "name scope"
        elif target is not None and (target in _NAMED or target.startswith("keras.layers.")):
            arg = _name_argument(node, positional=False)
            what = "model" if target in ("keras.Model", "keras.Sequential") else "layer"
        elif target is None and isinstance(func, cst.Attribute) and func.attr.value == "add_weight":
            arg = _name_argument(node, positional=False)
            what = "weight"
        else:
            return
        if arg is None:
            return
        parts = [part for part in _literal_parts(arg.value) if "/" in part.value]
        if not parts:
            return
        shown = self.ctx.code_for(arg.value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        clash = self._clash(arg.value)
        fix = None if clash else make_fix(
            "unsafe",
            "Replace `/` with `_` in the name",
            [replace_node(self.ctx, part, _without_slash(part)) for part in parts],
        )
        self.report(
            arg.value,
            KF306.code,
            f"Keras 3 refuses `/` in a {what}'s name (`{shown}`): replace it, and rename the {what} wherever "
            f"weights or code find it by name{clash}",
            fix,
        )

    def _clash(self, value: cst.BaseExpression) -> str:
        """Why the rename is left to the user for a whole literal name: the file names it elsewhere too
        (`get_layer('block1/conv')`), or already uses the new name. Empty when neither is seen."""
        if not isinstance(value, cst.SimpleString):
            return ""
        try:
            old = value.evaluated_value
        except Exception:  # noqa: BLE001 - an odd literal: no text search
            return ""
        if not isinstance(old, str):
            return ""
        new = old.replace("/", "_")
        text = self.ctx.text
        quoted = lambda name: sum(text.count(q + name + q) for q in ("'", '"'))  # noqa: E731
        if quoted(old) > 1:
            return f" (no fix: the file names `{old}` elsewhere too; rename those uses with it)"
        if quoted(new):
            return f" (no fix: the file already has the name `{new}`)"
        return ""
