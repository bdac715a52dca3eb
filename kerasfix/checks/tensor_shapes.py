"""KF305: the `TensorShape` methods of TensorFlow tensors on what Keras 3 makes a Keras tensor or a tuple.

`x.get_shape()` and `x.shape.as_list()` were how tf.keras 2 code read a tensor's static shape, in model-building
functions as much as in layers. Keras 3's symbolic tensors (`KerasTensor`) have a `shape` that is a tuple and no
`get_shape()`; the spellings `x.shape` and `list(x.shape)` read the same shape from a TensorFlow tensor too.
"""

from __future__ import annotations

import libcst as cst

from kerasfix.spelling import file_scopes
from kerasfix.names import normalise_root
from kerasfix.prefilter import imports_public_keras
from kerasfix.rule import Checker, Example, RuleSpec, make_fix, replace_node

KF305 = RuleSpec(
    code="KF305",
    name="tensor-shape-method",
    summary="`x.get_shape()` and `x.shape.as_list()`: Keras 3 tensors have a tuple `shape` and no `get_shape()`",
    fix_safety="sometimes",
    removed_in="3.0",
    what=(
        "In files that import Keras (through TensorFlow or not), rewrites `x.shape.as_list()` and `x.get_shape().as_list()` to "
        "`list(x.shape)`, and `x.get_shape()` to `x.shape`. For a TensorFlow tensor both spellings give the "
        "same shape (`get_shape()` is another name for `shape`, and a `TensorShape` lists as its `as_list()`); "
        "for a Keras 3 symbolic tensor only the new ones work."
    ),
    why=(
        "Keras 3 builds Functional models from `KerasTensor`s, whose `shape` is a tuple of ints and `None`: "
        "`AttributeError: 'KerasTensor' object has no attribute 'get_shape'`, and `'tuple' object has no attribute "
        "'as_list'`. tf.keras 2 gave such code TensorFlow tensors, so `transformer_output.get_shape().as_list()[-1]` "
        "in a model-building function worked there."
    ),
    fix_note=(
        "`.shape.as_list()` -> `list(.shape)` is safe: nothing else has a `shape` with `as_list()`. The fixes of "
        "`.get_shape()` are unsafe: an object of another library may have its own `get_shape()` and no `shape`. "
        "No fix where the file binds `list` to something else."
    ),
    examples=(
        Example(
            "import tensorflow as tf\n"
            "def head(features):\n"
            "    steps = features.shape.as_list()[1]\n"
            "    return tf.keras.layers.Dense(steps)(features)\n",
            "import tensorflow as tf\n"
            "def head(features):\n"
            "    steps = list(features.shape)[1]\n"
            "    return tf.keras.layers.Dense(steps)(features)\n",
        ),
        Example(
            "from tensorflow import keras\ndef width(features):\n    return features.get_shape().as_list()[-1]\n",
            "from tensorflow import keras\ndef width(features):\n    return list(features.shape)[-1]\n",
            unsafe=True,
        ),
        Example(
            "from tensorflow import keras\ndef rank(x):\n    return len(x.get_shape())\n",
            "from tensorflow import keras\ndef rank(x):\n    return len(x.shape)\n",
            unsafe=True,
        ),
        Example("import numpy as np\nsize = list(np.zeros((2, 3)).shape)\n", valid=True),
        Example("shape = image.get_shape()\n", valid=True),
    ),
)

def _call_of(node: cst.BaseExpression, method: str) -> cst.BaseExpression | None:
    """The receiver of `receiver.method()` (no arguments), else None."""
    if (
        isinstance(node, cst.Call)
        and not node.args
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == method
    ):
        return node.func.value
    return None


def _shape_attribute(receiver: cst.BaseExpression) -> cst.Attribute:
    return cst.Attribute(value=receiver, attr=cst.Name("shape"))


class TensorShapeChecker(Checker):
    specs = (KF305,)
    tokens = ("get_shape", "as_list")

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._applies: bool | None = None
        self._list_free: bool | None = None
        self._inner: set[int] = set()  # `get_shape()` calls already rewritten with their `.as_list()`

    def _tensorflow_file(self) -> bool:
        if self._applies is None:
            # a file that uses Keras: binds a Keras name, or binds TensorFlow and says `keras` (`tf.keras...`)
            raws = [binding.raw for binding in self.ctx.imports.bindings.values()]
            self._applies = any(normalise_root(raw) is not None for raw in raws) or (
                any(raw == "tensorflow" or raw.startswith("tensorflow.") for raw in raws) and imports_public_keras(self.ctx.text)
            )
        return self._applies

    def _list_is_builtin(self) -> bool:
        if self._list_free is None:
            table = self.ctx.imports
            self._list_free = not table.star_modules and "list" not in file_scopes(self.ctx).anywhere and "list" not in table.bindings
        return self._list_free

    def visit_Call(self, node: cst.Call) -> None:
        if not self._tensorflow_file():
            return
        shape = _call_of(node, "as_list")
        if shape is not None:
            receiver = _call_of(shape, "get_shape")
            if receiver is not None:
                self._inner.add(id(shape))
            elif not (isinstance(shape, cst.Attribute) and shape.attr.value == "shape"):
                return  # `input_shape.as_list()` in a layer's build is KF395's
            else:
                receiver = shape.value
            old = self.ctx.code_for(node)
            if not self._list_is_builtin():
                self.report(node, "KF305", f"`{old}` fails on a Keras 3 tensor, whose shape is a tuple: use `list(x.shape)`")
                return
            new = cst.Call(func=cst.Name("list"), args=[cst.Arg(_shape_attribute(receiver))])
            # `.shape.as_list()` reads a TensorShape; `get_shape()` may be another library's method, and the
            # object may have no `shape` at all
            safety = "unsafe" if id(shape) in self._inner else "safe"
            if self.ctx.module.code_for_node(node).count("#"):
                safety = "unsafe"  # a comment inside the call would be lost
            fix = make_fix(safety, "Use `list(x.shape)`", [replace_node(self.ctx, node, new)])
            self.report(node, "KF305", f"`{old}` fails on a Keras 3 tensor, whose shape is a tuple: use `list(x.shape)`", fix)
            return
        receiver = _call_of(node, "get_shape")
        if receiver is None or id(node) in self._inner:
            return
        fix = make_fix("unsafe", "Use `.shape`", [replace_node(self.ctx, node, _shape_attribute(receiver))])
        self.report(node, "KF305", "Keras 3 tensors have no `get_shape()` (AttributeError): use `.shape`", fix)
