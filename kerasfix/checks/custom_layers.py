"""KF339, KF391-KF397: custom layers written for Keras 1 or 2 that Keras 3 refuses or runs differently."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from kerasfix.checks.callargs import NOT_LITERAL, literal, rename_keyword, with_args
from kerasfix.findings import Edit
from kerasfix.names import canonical
from kerasfix.rule import Checker, Example, RuleSpec, make_fix, remove_statement, replace_node
from kerasfix.spelling import file_scopes
from kerasfix.walk import children, walk

# The positional parameters of `Layer.add_weight` before Keras 3 (Keras 3 takes `shape, initializer, dtype`).
KERAS2_ADD_WEIGHT = ("name", "shape", "dtype", "initializer", "regularizer", "trainable", "constraint")
KERAS1_ADD_WEIGHT = ("shape", "initializer", "name", "trainable", "regularizer", "constraint")
_DTYPES = frozenset(
    "float16 float32 float64 bfloat16 int8 int16 int32 int64 uint8 uint16 uint32 uint64 bool complex64 complex128 string".split()
)
# The weight lists of a layer: read-only properties in Keras 3.
WEIGHT_PROPERTIES = {
    "trainable_weights": True, "trainable_variables": True,
    "non_trainable_weights": False, "non_trainable_variables": False,
    "weights": None, "variables": None,
}
# tf.keras 2's private lists, which Keras 3 layers do not have.
PRIVATE_LISTS = {"_trainable_weights": True, "_non_trainable_weights": False}
TF_VARIABLES = frozenset({"tensorflow.Variable", "tensorflow.compat.v1.Variable", "tensorflow.compat.v2.Variable"})
_FILLS = {"tensorflow.zeros": "zeros", "tensorflow.ones": "ones"}
SHAPE_METHODS = ("build", "compute_output_shape")

IMPORTS = "from tensorflow import keras\n"
CALL_INPUT = "inputs"  # the name KF339 gives `call`'s first input, as Keras's own layers name it


def _spec(code, name, summary, fix_safety, what, why, examples, fix_note="") -> RuleSpec:
    return RuleSpec(code=code, name=name, summary=summary, fix_safety=fix_safety, what=what, why=why,
                    examples=tuple(examples), fix_note=fix_note, removed_in="3.0")


KF391 = _spec(
    "KF391", "keras1-get-output-shape-for",
    "A custom layer defines Keras 1's `get_output_shape_for`; Keras 3 calls `compute_output_shape`",
    "safe",
    "Finds `get_output_shape_for(self, input_shape)` defined in a class that subclasses a Keras layer (and does not "
    "also define `compute_output_shape`), and renames it `compute_output_shape`, with the class's own calls of it "
    "(`self.get_output_shape_for(...)`, `super().get_output_shape_for(...)`).",
    "Keras 2 renamed the method `compute_output_shape`; Keras 3 never calls `get_output_shape_for`. A plain "
    "Functional model still builds, because Keras 3 traces `call()` to find the output shape, but everything that "
    "asks the layer for its output shape fails: `TimeDistributed(MyLayer())` and `layer.compute_output_shape(...)` "
    "raise `NotImplementedError: Layer MyLayer does not have a compute_output_shape method implemented`.",
    [
        Example(
            IMPORTS
            + "class Crop(keras.layers.Layer):\n"
            "    def call(self, x, mask=None):\n"
            "        return x[:, :2]\n"
            "\n"
            "    def get_output_shape_for(self, input_shape):\n"
            "        return (input_shape[0], 2)\n",
            IMPORTS
            + "class Crop(keras.layers.Layer):\n"
            "    def call(self, x, mask=None):\n"
            "        return x[:, :2]\n"
            "\n"
            "    def compute_output_shape(self, input_shape):\n"
            "        return (input_shape[0], 2)\n",
        ),
        Example(
            "from keras.layers import Dense\n"
            "class Twice(Dense):\n"
            "    def get_output_shape_for(self, input_shape):\n"
            "        shape = super(Twice, self).get_output_shape_for(input_shape)\n"
            "        return shape[:-1] + (2 * shape[-1],)\n",
            "from keras.layers import Dense\n"
            "class Twice(Dense):\n"
            "    def compute_output_shape(self, input_shape):\n"
            "        shape = super(Twice, self).compute_output_shape(input_shape)\n"
            "        return shape[:-1] + (2 * shape[-1],)\n",
        ),
        Example(
            IMPORTS
            + "class Crop(keras.layers.Layer):\n"
            "    def compute_output_shape(self, input_shape):\n"
            "        return (input_shape[0], 2)\n"
            "\n"
            "    def get_output_shape_for(self, input_shape):  # kept for Keras 1\n"
            "        return self.compute_output_shape(input_shape)\n",
            valid=True,
        ),
        Example(
            "import keras\n"
            "class Shapes:\n"
            "    def get_output_shape_for(self, input_shape):\n"
            "        return input_shape\n",
            valid=True,
        ),
    ],
    fix_note="When code outside the class calls `get_output_shape_for`, the finding has no fix: rename those calls too.",
)

KF392 = _spec(
    "KF392", "add-weight-positional-arguments",
    "`add_weight` with Keras 1 or 2 positional arguments: Keras 3 takes `shape, initializer, dtype` by position",
    "sometimes",
    "Finds `self.add_weight(...)` in a custom layer whose positional arguments follow an old order: Keras 2's "
    "`add_weight(name, shape, dtype, initializer, regularizer, trainable, constraint)` (the first argument is a name: "
    "a string, an f-string, `'%s_W' % self.name`, a variable called `name`...) or Keras 1.2's "
    "`add_weight(shape, initializer, name, trainable, regularizer, constraint)` with three or more positional "
    "arguments, and passes each positional argument by keyword under the name the old order gave it. "
    "`initializer='glorot_uniform'` and the other strings stay as they are: Keras 3 accepts them.",
    "Keras 3's signature is `add_weight(shape=None, initializer=None, dtype=None, trainable=True, ..., name=None)`. "
    "It rejects a name in first place (`ValueError: name must be passed as a keyword argument`) and more than three "
    "positional arguments (`TypeError`), and reads Keras 1's third argument, the name, as the dtype "
    "(`ValueError: Invalid dtype: kernel`).",
    [
        Example(
            IMPORTS
            + "class Scale(keras.layers.Layer):\n"
            "    def build(self, input_shape):\n"
            "        self.gamma = self.add_weight('gamma', (input_shape[-1],), initializer='ones')\n",
            IMPORTS
            + "class Scale(keras.layers.Layer):\n"
            "    def build(self, input_shape):\n"
            "        self.gamma = self.add_weight(name='gamma', shape=(input_shape[-1],), initializer='ones')\n",
        ),
        Example(
            "from keras.layers import Layer\n"
            "class Projection(Layer):\n"
            "    def build(self, input_shape):\n"
            "        self.W = self.add_weight((input_shape[1], self.output_dim), 'glorot_uniform',\n"
            "                                 '{}_W'.format(self.name), True)\n",
            "from keras.layers import Layer\n"
            "class Projection(Layer):\n"
            "    def build(self, input_shape):\n"
            "        self.W = self.add_weight(shape=(input_shape[1], self.output_dim), initializer='glorot_uniform',\n"
            "                                 name='{}_W'.format(self.name), trainable=True)\n",
        ),
        Example(
            IMPORTS
            + "class Gate(keras.layers.Layer):\n"
            "    def build(self, input_shape):\n"
            "        self.g = self.add_weight(weight_spec, input_shape[-1])\n",
        ),
        Example(
            IMPORTS
            + "class Scale(keras.layers.Layer):\n"
            "    def build(self, input_shape):\n"
            "        self.gamma = self.add_weight((input_shape[-1],), 'ones', name='gamma')\n"
            "        self.beta = self.add_weight(shape=(input_shape[-1],), initializer='zeros', name='beta')\n",
            valid=True,
        ),
    ],
    fix_note=(
        "When the first argument is neither clearly a name nor clearly a shape (a variable such as `spec`), the "
        "finding says both readings and has no fix."
    ),
)

KF393 = _spec(
    "KF393", "trainable-weights-assigned",
    "Assigning a layer's `trainable_weights` (or `weights`): Keras 3 makes them read-only",
    "sometimes",
    "Finds, in a custom layer, assignments to `self.trainable_weights`, `self.non_trainable_weights`, "
    "`self.weights` (and the `*_variables` forms), and tf.keras 2's `self._trainable_weights.append(...)`. When the "
    "statement lists exactly the weights the class creates with `self.add_weight(...)`, `K.variable(...)` or "
    "`keras.Variable(...)` (with the matching `trainable`; a variable set in `build`, or in `__init__` after "
    "`super().__init__()`, where Keras 3 tracks it) and the class creates no other state, the statement is removed.",
    "Keras 1 layers listed their weights by hand (`self.trainable_weights = [self.W, self.b]`). In Keras 3 these "
    "are read-only properties (`AttributeError: property 'trainable_weights' ... has no setter`), and tf.keras 2's "
    "private `_trainable_weights` list does not exist (`AttributeError`). Keras 3 tracks every weight made with "
    "`self.add_weight(...)`, trainable or not as its `trainable=` says, every `keras.Variable` (what KF376 makes of "
    "`K.variable`) and every layer assigned to an attribute.",
    [
        Example(
            "import numpy as np\n"
            "from keras import backend as K\n"
            "from keras.layers import Layer\n"
            "class Gate(Layer):\n"
            "    def build(self, input_shape):\n"
            "        self.score = K.variable(np.zeros((input_shape[1],)), name='score')\n"
            "        self.trainable_weights = [self.score]\n",
            "import numpy as np\n"
            "from keras import backend as K\n"
            "from keras.layers import Layer\n"
            "class Gate(Layer):\n"
            "    def build(self, input_shape):\n"
            "        self.score = K.variable(np.zeros((input_shape[1],)), name='score')\n",
        ),
        Example(
            "import keras\n"
            "class Gate(keras.layers.Layer):\n"
            "    def build(self, input_shape):\n"
            "        self.score = keras.Variable(keras.ops.zeros((input_shape[1],)), trainable=False)\n"
            "        self.trainable_weights = [self.score]\n",
        ),
        Example(
            "from keras import backend as K\n"
            "from keras.layers import Layer\n"
            "class Gate(Layer):\n"
            "    def __init__(self, size, **kwargs):\n"
            "        self.score = K.variable(K.zeros((size,)))\n"
            "        super().__init__(**kwargs)\n"
            "        self.trainable_weights = [self.score]\n",
        ),
        Example(
            "from keras.layers import Layer\n"
            "class Affine(Layer):\n"
            "    def build(self, input_shape):\n"
            "        self.W = self.add_weight(shape=(input_shape[1], 4), initializer='uniform', name='W')\n"
            "        self.b = self.add_weight(shape=(4,), initializer='zeros', name='b')\n"
            "        self.trainable_weights = [self.W, self.b]\n",
            "from keras.layers import Layer\n"
            "class Affine(Layer):\n"
            "    def build(self, input_shape):\n"
            "        self.W = self.add_weight(shape=(input_shape[1], 4), initializer='uniform', name='W')\n"
            "        self.b = self.add_weight(shape=(4,), initializer='zeros', name='b')\n",
        ),
        Example(
            "from keras.layers import Layer\n"
            "class Frozen(Layer):\n"
            "    def build(self, input_shape):\n"
            "        self.W = self.add_weight(shape=(input_shape[1], 4), initializer='uniform', name='W')\n"
            "        self.trainable_weights = []\n",
        ),
        Example(
            "import tensorflow as tf\n"
            "class Wrapper(tf.keras.layers.Layer):\n"
            "    def build(self, input_shape):\n"
            "        self.inner.build(input_shape)\n"
            "        self._trainable_weights.extend(self.inner.trainable_weights)\n",
        ),
        Example(
            "from keras.layers import Layer\n"
            "class Affine(Layer):\n"
            "    def build(self, input_shape):\n"
            "        self.W = self.add_weight(shape=(input_shape[1], 4), initializer='uniform', name='W')\n"
            "        print(len(self.trainable_weights))\n",
            valid=True,
        ),
    ],
    fix_note=(
        "Any other list (an empty one that froze the layer's weights, weights made another way, some weights left "
        "out) is reported with no fix: in Keras 3 pass `trainable=False` to `add_weight`, or set `layer.trainable`."
    ),
)

KF394 = _spec(
    "KF394", "tf-variable-in-layer",
    "A custom layer keeps a `tf.Variable` as a weight; Keras 3 does not track it",
    "unsafe",
    "Finds `self.x = tf.Variable(...)` in a custom layer's `__init__` or `build`. When the initial value is "
    "`tf.zeros(shape)`, `tf.ones(shape)`, `0.0` or `1.0` and the only other arguments are `trainable` and `name`, "
    "it is rewritten to `self.add_weight(shape=..., initializer='zeros'|'ones', ...)`.",
    "tf.keras 2 tracked any `tf.Variable` set on a layer. Keras 3 tracks only variables made with "
    "`self.add_weight(...)` (or `keras.Variable`): a `tf.Variable` is left out of `layer.weights`, "
    "`trainable_weights`, `count_params()` and saved files, so the model silently trains without it and reloads "
    "without it. Create it with `self.add_weight(shape=..., initializer=..., trainable=...)`.",
    [
        Example(
            "import tensorflow as tf\n"
            "class Bias(tf.keras.layers.Layer):\n"
            "    def build(self, input_shape):\n"
            "        self.bias = tf.Variable(tf.zeros((input_shape[-1],)), trainable=True, name='bias')\n",
            "import tensorflow as tf\n"
            "class Bias(tf.keras.layers.Layer):\n"
            "    def build(self, input_shape):\n"
            "        self.bias = self.add_weight(shape=(input_shape[-1],), initializer=\"zeros\", trainable=True, name='bias')\n",
            unsafe=True,
        ),
        Example(
            "import tensorflow as tf\n"
            "class Noisy(tf.keras.layers.Layer):\n"
            "    def build(self, input_shape):\n"
            "        self.w = tf.Variable(tf.random.normal((input_shape[-1], 8), stddev=0.05))\n",
        ),
        Example(
            "import tensorflow as tf\n"
            "class Bias(tf.keras.layers.Layer):\n"
            "    def build(self, input_shape):\n"
            "        self.bias = self.add_weight(shape=(input_shape[-1],), initializer='zeros', name='bias')\n"
            "\n"
            "step = tf.Variable(0, trainable=False)\n",
            valid=True,
        ),
    ],
    fix_note=(
        "The fix is unsafe because the variable becomes a weight of the layer: it is trained, counted and saved, and "
        "it takes the layer's dtype policy. Other initial values (random ones, NumPy arrays) are reported only."
    ),
)

KF395 = _spec(
    "KF395", "input-shape-is-tuple",
    "Keras 3 passes `build()` and `compute_output_shape()` a tuple, not a `TensorShape`",
    "safe",
    "Finds, in a custom layer's `build(self, input_shape)` and `compute_output_shape(self, input_shape)`, "
    "`input_shape.as_list()`, `input_shape[i].value` and `input_shape.ndims`/`.rank` (also on the loop variable "
    "of `for shape in input_shape` when the layer takes a list of inputs), and rewrites them to "
    "`list(input_shape)`, `input_shape[i]` and `len(input_shape)`, which mean the same for a `TensorShape` too.",
    "tf.keras 2 gave these methods a `tf.TensorShape` (in TensorFlow 1 with `Dimension` entries). Keras 3 gives a "
    "plain tuple of ints and `None`, so `input_shape.as_list()` raises `AttributeError: 'tuple' object has no "
    "attribute 'as_list'` and `input_shape[-1].value` raises `AttributeError: 'int' object has no attribute 'value'`.",
    [
        Example(
            "import tensorflow as tf\n"
            "class Attention(tf.keras.layers.Layer):\n"
            "    def build(self, input_shape):\n"
            "        dim = input_shape[-1].value\n"
            "        steps = input_shape.as_list()[1]\n"
            "        self.w = self.add_weight(shape=(dim, steps))\n",
            "import tensorflow as tf\n"
            "class Attention(tf.keras.layers.Layer):\n"
            "    def build(self, input_shape):\n"
            "        dim = input_shape[-1]\n"
            "        steps = list(input_shape)[1]\n"
            "        self.w = self.add_weight(shape=(dim, steps))\n",
        ),
        Example(
            "import tensorflow as tf\n"
            "class Pairwise(tf.keras.layers.Layer):\n"
            "    def build(self, input_shape):\n"
            "        shapes = [shape.as_list() for shape in input_shape]\n"
            "        self.w = self.add_weight(shape=(shapes[0][-1], 1))\n",
            "import tensorflow as tf\n"
            "class Pairwise(tf.keras.layers.Layer):\n"
            "    def build(self, input_shape):\n"
            "        shapes = [list(shape) for shape in input_shape]\n"
            "        self.w = self.add_weight(shape=(shapes[0][-1], 1))\n",
        ),
        Example(
            "import tensorflow as tf\n"
            "class Attention(tf.keras.layers.Layer):\n"
            "    def build(self, input_shape):\n"
            "        input_shape = tf.TensorShape(input_shape)\n"
            "        self.w = self.add_weight(shape=(input_shape[-1], input_shape.as_list()[1]))\n",
            valid=True,
        ),
    ],
)

KF396 = _spec(
    "KF396", "layer-add-update-removed",
    "`self.add_update(...)` in a custom layer: Keras 3 layers have no `add_update`",
    "none",
    "Finds `self.add_update(...)` in a custom layer.",
    "Keras 2 collected a layer's state updates (moving averages, counters) with `add_update` and ran them during "
    "training. Keras 3 has no `add_update` (`AttributeError: 'MyLayer' object has no attribute 'add_update'`): "
    "assign the new value in `call()`, under `if training:`, with `self.moving_mean.assign(new_value)`.",
    [
        Example(
            "from keras.layers import Layer\n"
            "from keras import backend as K\n"
            "class RunningMean(Layer):\n"
            "    def call(self, x, training=None):\n"
            "        self.add_update(K.moving_average_update(self.mean, K.mean(x, 0), 0.99), x)\n"
            "        return x - self.mean\n",
        ),
        Example(
            "from keras.layers import Layer\n"
            "from keras import ops\n"
            "class RunningMean(Layer):\n"
            "    def call(self, x, training=None):\n"
            "        if training:\n"
            "            self.mean.assign(0.99 * self.mean + 0.01 * ops.mean(x, 0))\n"
            "        return x - self.mean\n",
            valid=True,
        ),
    ],
)

KF397 = _spec(
    "KF397", "add-loss-inputs-argument",
    "`self.add_loss(loss, inputs)`: Keras 3's `add_loss` takes the loss only",
    "safe",
    "Finds `self.add_loss(...)` in a custom layer or model given Keras 2's `inputs` argument (by keyword or as the "
    "second positional argument) and removes it.",
    "Keras 2's `add_loss(losses, inputs=None)` could make a loss conditional on some inputs; tf.keras 2 ignored "
    "`inputs=`. Keras 3's `add_loss(loss)` rejects it (`TypeError: add_loss() got an unexpected keyword argument "
    "'inputs'`) and counts every loss added while the layer is called.",
    [
        Example(
            IMPORTS
            + "class ActivityPenalty(keras.layers.Layer):\n"
            "    def call(self, x):\n"
            "        self.add_loss(0.01 * keras.ops.sum(keras.ops.abs(x)), inputs=x)\n"
            "        return x\n",
            IMPORTS
            + "class ActivityPenalty(keras.layers.Layer):\n"
            "    def call(self, x):\n"
            "        self.add_loss(0.01 * keras.ops.sum(keras.ops.abs(x)))\n"
            "        return x\n",
        ),
        Example(
            IMPORTS
            + "class ActivityPenalty(keras.layers.Layer):\n"
            "    def call(self, x):\n"
            "        self.add_loss(0.01 * keras.ops.sum(keras.ops.abs(x)))\n"
            "        return x\n",
            valid=True,
        ),
    ],
    fix_note="An `inputs` argument whose expression could have side effects (a call) is reported with no fix.",
)


KF339 = _spec(
    "KF339", "call-without-named-input",
    "A custom layer's `call(self, *args, ...)` names no input: Keras 3 builds the layer with no input shape",
    "unsafe",
    "Finds `def call(self, *args, ...)` in a class that subclasses a Keras layer or model: a `call` whose inputs "
    "all come through `*args`. When the method uses `args` only to pass it on (`super().call(*args, **kwargs)`) "
    "and does not use the names `inputs` and `training`, the fix names the first input, "
    "`def call(self, inputs, *args, ...)`, and passes it on in front of every `*args` "
    "(`super().call(inputs, *args, **kwargs)`). A `call` with `**kwargs` of a subclass of a layer whose `call` takes "
    "`training` (`BatchNormalization`, the dropout and noise layers, the recurrent layers, the attention layers, "
    "`Model`) also gets `training=None`, put back into `kwargs` first thing (`kwargs[\"training\"] = training`), where "
    "Keras 2 had put it; other bases (`Conv2D`) would refuse it.",
    "Keras 2 always passed a layer's input to `call` as its first positional argument, so a subclass that only "
    "changed how the base layer is called could take everything as `*args, **kwargs`. Keras 3 reads `call`'s "
    "signature instead: it builds the layer from the shapes of `call`'s named parameters, leaving out `*args` and "
    "`**kwargs`, so `build()` is given `None` and a layer whose `build` reads the shape fails when it is first "
    "called (`BatchNormalization`: `TypeError: 'NoneType' object is not subscriptable`). Keras 3 also passes "
    "`training` only to a `call` that names it, where Keras 2 put it into `**kwargs`: without it a "
    "`BatchNormalization` subclass never normalizes with the batch's statistics, even in `fit`.",
    [
        Example(
            "import keras\n"
            "class FreezableBatchNorm(keras.layers.BatchNormalization):\n"
            "    def call(self, *args, **kwargs):\n"
            "        if self.frozen:\n"
            "            kwargs['training'] = False\n"
            "        return super(FreezableBatchNorm, self).call(*args, **kwargs)\n",
            "import keras\n"
            "class FreezableBatchNorm(keras.layers.BatchNormalization):\n"
            "    def call(self, inputs, *args, training=None, **kwargs):\n"
            "        kwargs[\"training\"] = training\n"
            "        if self.frozen:\n"
            "            kwargs['training'] = False\n"
            "        return super(FreezableBatchNorm, self).call(inputs, *args, **kwargs)\n",
            unsafe=True,
        ),
        Example(
            "from keras.layers import Dense\n"
            "class Halved(Dense):\n"
            "    def call(self, *args): return 0.5 * super().call(*args)\n",
            "from keras.layers import Dense\n"
            "class Halved(Dense):\n"
            "    def call(self, inputs, *args): return 0.5 * super().call(inputs, *args)\n",
            unsafe=True,
        ),
        Example(
            "from keras.layers import Dense\n"
            "class Logged(Dense):\n"
            "    def call(self, *args):\n"
            "        print('calling', args)\n"
            "        return super().call(*args)\n",
        ),
        Example(
            IMPORTS
            + "class Scaled(keras.layers.Dense):\n"
            "    def call(self, inputs, *args, **kwargs):\n"
            "        return 2.0 * super().call(inputs, *args, **kwargs)\n",
            valid=True,
        ),
        Example(
            "import keras\n"
            "class Recorder:\n"
            "    def call(self, *args, **kwargs):\n"
            "        return args\n",
            valid=True,
        ),
    ],
    fix_note=(
        "The fix is unsafe because the input gets a name: a caller that passes it by keyword (`layer(inputs=x)`, or "
        "a subclass's `super().call(query=q, ...)`) now binds `inputs` or fails, where it went into `**kwargs` "
        "before. A `call` that reads `args` other than to pass it on (`args[0]`, `len(args)`), or that uses the "
        "name `inputs` or `training`, is reported with no fix. Keras 2 also put an input's implicit `mask` into "
        "`**kwargs`; Keras 3 passes it only to a `call` that names `mask`: the fix leaves that to you."
    ),
)

@dataclass
class _Method:
    node: cst.FunctionDef
    self_name: str | None
    nodes: list[cst.CSTNode] = field(default_factory=list)  # every node inside, nested classes left out


@dataclass
class _Layer:
    node: cst.ClassDef
    methods: dict[str, _Method]
    # attributes made by `self.x = self.add_weight(...)`: name -> trainable (None when unknown)
    weights: dict[str, bool | None]
    # the class may hold weights made another way: sublayers, variables, or a base layer's own weights
    other_state: bool


class CustomLayerChecker(Checker):
    specs = (KF339, KF391, KF392, KF393, KF394, KF395, KF396, KF397)
    tokens = (
        "get_output_shape_for", "add_weight", "weights", "variables", "Variable", "as_list", "value", "ndims",
        "rank", "add_update", "add_loss", "call",
    )

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self._layer_classes: set[str] = set()  # classes of this file that are Keras layers
        self._open: list[bool] = []  # for each class being visited: is it a layer
        self._renames: list[tuple[_Layer, _Method, list[cst.Attribute]]] = []
        self._shape_uses: list[cst.Attribute] = []  # every `.get_output_shape_for` in the file

    # -- which classes are layers

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        layer = any(self._layer_base(base.value) is not None for base in node.bases if base.keyword is None)
        if layer:
            self._layer_classes.add(node.name.value)
        self._open.append(layer)

    def _layer_base(self, base: cst.BaseExpression) -> str | None:
        """The Keras layer class a base names (a class of this file that is a layer: its name), else None."""
        name = self.ctx.qualified(base)
        if name is not None:
            return name if name.startswith("keras.layers.") or name in ("keras.Model", "keras.Sequential") else None
        return base.value if isinstance(base, cst.Name) and base.value in self._layer_classes else None

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value == "get_output_shape_for":
            self._shape_uses.append(node)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        if self._open.pop():
            self._check(self._layer(node))

    def finish(self) -> None:
        renamed = {id(use) for _, _, uses in self._renames for use in uses}
        complete = all(id(use) in renamed for use in self._shape_uses)
        for layer, method, uses in self._renames:
            fix = None
            if complete:
                edits = [self._edit(method.node.name, "compute_output_shape")]
                edits += [self._edit(use.attr, "compute_output_shape") for use in uses]
                fix = make_fix("safe", "Rename to `compute_output_shape`", edits)
            head = f"`{layer.node.name.value}.get_output_shape_for` is Keras 1; Keras 3 calls `compute_output_shape`"
            if fix is None:
                head += " (other code in this file calls `get_output_shape_for`: rename the method and those calls together)"
            self.report(method.node.name, "KF391", head, fix)

    # -- reading a layer class

    def _layer(self, node: cst.ClassDef) -> _Layer:
        methods: dict[str, _Method] = {}
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
        for statement in body:
            if isinstance(statement, cst.FunctionDef):
                methods[statement.name.value] = _Method(statement, _self_name(statement), _inside(statement))
        weights: dict[str, bool | None] = {}
        # a base other than `Layer` may make weights of its own (`Dense` its kernel)
        other_state = any(self._layer_base(base.value) != "keras.layers.Layer" for base in node.bases if base.keyword is None)
        for method in methods.values():
            for inner in method.nodes:
                if not isinstance(inner, cst.Assign):
                    continue
                for target in inner.targets:
                    attribute = _self_attribute(target.target, method)
                    if attribute is None:
                        continue
                    if self._is_add_weight(inner.value, method) and len(inner.targets) == 1:
                        trainable = _trainable(inner.value)
                        weights[attribute] = trainable if attribute not in weights or weights[attribute] == trainable else None
                    elif self._tracked_variable(inner, method) and len(inner.targets) == 1:
                        # Keras 3 tracks a `keras.Variable` (what KF376 makes of `K.variable`) set on the layer
                        trainable = _variable_trainable(inner.value)
                        weights[attribute] = trainable if attribute not in weights or weights[attribute] == trainable else None
                    elif self._makes_state(inner.value, method):
                        other_state = True
        return _Layer(node, methods, weights, other_state)

    def _tracked_variable(self, node: cst.Assign, method: _Method) -> bool:
        """`self.x = K.variable(...)` or `keras.Variable(...)` where the layer's tracker sees it: in `build`, or in
        `__init__` after `super().__init__(...)` (Keras 3 does not track what is set before)."""
        value = node.value
        if not isinstance(value, cst.Call) or self.ctx.qualified(value.func) not in _TRACKED_VARIABLES:
            return False
        return method.node.name.value in ("build", "__init__") and self._after_super_init(node, method)

    def _is_add_weight(self, value: cst.BaseExpression, method: _Method) -> bool:
        return isinstance(value, cst.Call) and _method_call(value, method) == "add_weight"

    def _makes_state(self, value: cst.BaseExpression, method: _Method) -> bool:
        """Whether an assigned value is a layer or a variable made other than by `add_weight`."""
        if not isinstance(value, cst.Call):
            return False
        func = value.func
        if isinstance(func, cst.Name) and func.value in self._layer_classes:
            return True
        if _self_attribute(func, method) is not None:
            return True  # a method of the layer (Keras 1's `self.init(shape)`) may make a variable
        name = self.ctx.qualified(func)
        if name is not None:
            short = name.rsplit(".", 1)[-1]
            return (
                (name.startswith("keras.layers.") and short[:1].isupper())
                or name.startswith("keras.backend.")
                or name in ("keras.Model", "keras.Sequential", "keras.Variable")
            )
        raw = self.ctx.imports.resolve(func)
        return raw in TF_VARIABLES

    # -- the rules

    def _check(self, layer: _Layer) -> None:
        methods = layer.methods
        if "get_output_shape_for" in methods and "compute_output_shape" not in methods and not _assigns(layer.node, "compute_output_shape"):
            uses = [
                inner for method in methods.values() for inner in method.nodes
                if isinstance(inner, cst.Attribute) and inner.attr.value == "get_output_shape_for"
                and (_self_attribute(inner, method) is not None or _is_super(inner.value))
            ]
            self._renames.append((layer, methods["get_output_shape_for"], uses))
        for name, method in methods.items():
            for inner in method.nodes:
                if isinstance(inner, cst.Call):
                    called = _method_call(inner, method)
                    if called == "add_weight":
                        self._add_weight(inner)
                    elif called == "add_update":
                        self.report(
                            inner, "KF396",
                            "Keras 3 layers have no `add_update`; assign the new value in `call()` "
                            "(`variable.assign(value)`, under `if training:`)",
                        )
                    elif called == "add_loss":
                        self._add_loss(inner)
                    else:
                        self._private_list(inner, layer, method)
                elif isinstance(inner, (cst.Assign, cst.AugAssign)):
                    self._weights_assigned(inner, layer, method)
                    if name in ("__init__", "build") and isinstance(inner, cst.Assign):
                        self._tf_variable(inner, method)
            if name in SHAPE_METHODS:
                self._shape_tuple(method)
        if "call" in methods:
            self._call_varargs(methods["call"], layer)

    def _call_varargs(self, method: _Method, layer: _Layer) -> None:
        """KF339: `def call(self, *args, ...)`, whose input Keras 3 cannot see."""
        params = method.node.params
        star = params.star_arg
        if method.self_name is None or not isinstance(star, cst.Param) or len([*params.posonly_params, *params.params]) != 1:
            return
        bases = [self._layer_base(base.value) for base in layer.node.bases if base.keyword is None]
        takes_training = bool(bases) and all(base in _TAKE_TRAINING for base in bases)
        fix = self._named_input_fix(method, star, takes_training)
        self.report(
            star, "KF339",
            f"`call(self, *{star.name.value}, ...)` names no input: Keras 3 builds the layer from `call`'s named "
            "parameters, so `build()` gets no input shape; name the first input (`def call(self, inputs, ...)`)",
            fix,
        )

    def _named_input_fix(self, method: _Method, star: cst.Param, takes_training: bool):
        """`inputs` put before `*args` in the signature and before every `*args` the body passes on; None unless
        the body uses `args` only so and never says `inputs` (nor reads its locals some other way)."""
        params = method.node.params
        name = star.name.value
        taken = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
        if isinstance(params.star_kwarg, cst.Param):
            taken.add(params.star_kwarg.name.value)
        if name == CALL_INPUT or CALL_INPUT in taken:
            return None
        spreads: list[cst.Arg] = []
        uses = 0
        for inner in _inside_expression(method.node.body):  # nested functions and classes too
            if isinstance(inner, cst.Name):
                if inner.value in (CALL_INPUT, "locals", "vars", "eval", "exec"):
                    return None
                uses += inner.value == name
            elif isinstance(inner, cst.Arg) and inner.star == "*" and isinstance(inner.value, cst.Name) and inner.value.value == name:
                spreads.append(inner)
        if uses != len(spreads):
            return None  # `args` is read, rebound or shadowed somewhere: its first item cannot simply move out
        edits = [Edit(self.ctx.span(node)[0], self.ctx.span(node)[0], f"{CALL_INPUT}, ") for node in (star, *spreads)]
        message = f"Name the first input `{CALL_INPUT}` and pass it on"
        if isinstance(params.star_kwarg, cst.Param) and "training" not in taken and takes_training:
            # Keras 2 put `training` into the `**kwargs` of such a `call`; Keras 3 passes it only to a `call` that
            # names it: name it, and put it where the body (and what it calls on) looked for it
            kwargs = params.star_kwarg.name.value
            first = self._first_statement(method.node.body)
            said = any(isinstance(n, cst.Name) and n.value == "training" for n in _inside_expression(method.node.body))
            if first is None or said:
                return None
            start = self.ctx.span(params.star_kwarg)[0]
            edits.append(Edit(start, start, "training=None, "))
            line = f'{kwargs}["training"] = training'
            if isinstance(first, cst.BaseSmallStatement):  # `def call(self, *args, **kwargs): return ...`
                at = self.ctx.span(first)[0]
                edits.append(Edit(at, at, line + "; "))
            else:  # a line of its own, above the first statement's decorators and comments
                text = self.ctx.text
                decorators = getattr(first, "decorators", None)
                anchor = decorators[0] if decorators else first
                at = _line_start(text, self.ctx.span(anchor)[0])
                for _ in first.leading_lines:  # a decorated statement's are the lines above its first decorator
                    at = _line_start(text, at - (2 if text[at - 2:at] == "\r\n" else 1))
                indent = "".join(self.ctx.indentation(first))
                edits.append(Edit(at, at, indent + line + self.ctx.module.default_newline))
            message += ", and `training`, which Keras 3 passes only to a `call` that names it"
        return make_fix("unsafe", message, edits)

    def _first_statement(self, body: cst.BaseSuite) -> cst.CSTNode | None:
        """The statement of a function's body before which a new one goes: the first, after a docstring."""
        if isinstance(body, cst.SimpleStatementSuite):
            return body.body[0] if body.body else None
        statements = list(body.body)
        first = statements[0] if statements else None
        if (
            isinstance(first, cst.SimpleStatementLine) and len(first.body) == 1 and isinstance(first.body[0], cst.Expr)
            and isinstance(first.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
        ):
            statements = statements[1:]
        if not statements:
            return None
        return statements[0]

    def _add_weight(self, node: cst.Call) -> None:
        positional = [arg for arg in node.args if arg.keyword is None and not arg.star]
        if not positional or any(arg.star == "*" for arg in node.args):
            return
        reading = _reading(positional)
        if reading == "keras3":
            return
        if reading is None:
            self.report(
                node, "KF392",
                "`add_weight` positional arguments that can be read two ways: as Keras 2's `add_weight(name, shape, "
                "...)`, whose name Keras 3 rejects in first place, or as `add_weight(shape, initializer, ...)`, where "
                "Keras 1 put the name third and Keras 3 reads the dtype; pass the arguments by keyword",
            )
            return
        order = KERAS2_ADD_WEIGHT if reading == "keras2" else KERAS1_ADD_WEIGHT
        head = (
            "Keras 2 `add_weight(name, shape, ...)`: Keras 3 takes `shape` first and rejects a positional name"
            if reading == "keras2"
            else "Keras 1 `add_weight(shape, initializer, name, ...)`: Keras 3 reads the third positional argument as `dtype`"
        )
        keywords = {arg.keyword.value for arg in node.args if arg.keyword is not None}
        names = order[: len(positional)]
        if len(positional) > len(order) or keywords & set(names):
            self.report(node, "KF392", head + "; its arguments could not be read, so pass them by keyword by hand")
            return
        named = iter(names)
        args = [rename_keyword(arg, next(named)) if arg.keyword is None and not arg.star else arg for arg in node.args]
        fix = make_fix("safe", "Pass the arguments by keyword", [replace_node(self.ctx, node, node.with_changes(args=args))])
        self.report(node, "KF392", head + "; pass the arguments by keyword", fix)

    def _add_loss(self, node: cst.Call) -> None:
        if any(arg.star for arg in node.args):
            return
        positional = [arg for arg in node.args if arg.keyword is None]
        extra = [arg for arg in node.args if arg.keyword is not None and arg.keyword.value == "inputs"] + positional[1:2]
        if not extra:
            return
        message = "Keras 3's `add_loss(loss)` takes no `inputs`; remove it"
        fix = None
        if len(positional) <= 2 and all(_plain(arg.value) for arg in extra):
            kept = [arg for arg in node.args if arg not in extra]
            fix = make_fix("safe", "Remove `inputs`", [replace_node(self.ctx, node, with_args(node, kept))])
        self.report(node, "KF397", message, fix)

    def _weights_assigned(self, node: cst.Assign | cst.AugAssign, layer: _Layer, method: _Method) -> None:
        targets = [target.target for target in node.targets] if isinstance(node, cst.Assign) else [node.target]
        for target in targets:
            attribute = _self_attribute(target, method)
            if attribute in WEIGHT_PROPERTIES:
                fix = None
                if isinstance(node, cst.Assign) and len(targets) == 1 and self._listed_exactly(node.value, layer, WEIGHT_PROPERTIES[attribute], method):
                    fix = self._remove(node)
                self.report(
                    node, "KF393",
                    f"`{attribute}` is a read-only property in Keras 3 (AttributeError); weights made with "
                    "`self.add_weight(...)` are tracked already"
                    + ("" if fix is not None else ", so create every weight that way and pass `trainable=False` for frozen ones"),
                    fix,
                )
            elif attribute in PRIVATE_LISTS and isinstance(node, cst.AugAssign):
                fix = None
                if self._listed_exactly(node.value, layer, PRIVATE_LISTS[attribute], method, subset=True):
                    fix = self._remove(node)
                self.report(node, "KF393", _private_message(attribute), fix)

    def _private_list(self, node: cst.Call, layer: _Layer, method: _Method) -> None:
        func = node.func
        if not (isinstance(func, cst.Attribute) and func.attr.value in ("append", "extend")):
            return
        attribute = _self_attribute(func.value, method)
        if attribute not in PRIVATE_LISTS or len(node.args) != 1 or node.args[0].keyword is not None or node.args[0].star:
            return
        value = node.args[0].value
        if func.attr.value == "append":
            value = cst.List(elements=[cst.Element(value)])
        fix = None
        expression = self.ctx.parent(node)
        if isinstance(expression, cst.Expr) and self._listed_exactly(value, layer, PRIVATE_LISTS[attribute], method, subset=True):
            fix = self._remove(expression)
        self.report(node, "KF393", _private_message(attribute), fix)

    def _listed_exactly(self, value, layer: _Layer, trainable: bool | None, method: _Method, subset: bool = False) -> bool:
        """Whether `value` lists exactly the weights the class makes with `add_weight` that a weight list of
        this trainability holds (with `subset`, only such weights), so removing the statement changes nothing."""
        if layer.other_state or None in layer.weights.values() or not isinstance(value, (cst.List, cst.Tuple)):
            return False
        listed = []
        for element in value.elements:
            if not isinstance(element, cst.Element):
                return False
            attribute = _self_attribute(element.value, method)
            if attribute is None or attribute not in layer.weights:
                return False
            listed.append(attribute)
        expected = {name for name, flag in layer.weights.items() if trainable is None or flag == trainable}
        if len(set(listed)) != len(listed) or not listed and subset:
            return False
        return set(listed) <= expected if subset else set(listed) == expected and bool(expected)

    def _remove(self, statement: cst.CSTNode) -> object | None:
        """A fix removing a statement that stands alone on its line (`pass` when it is the block's only one)."""
        line = self.ctx.parent(statement)
        block = self.ctx.parent(line) if isinstance(line, cst.SimpleStatementLine) else None
        edit = remove_statement(self.ctx, line) if isinstance(block, cst.IndentedBlock) else None
        return None if edit is None else make_fix("safe", _REMOVED, [edit])

    def _tf_variable(self, node: cst.Assign, method: _Method) -> None:
        call = node.value
        if len(node.targets) != 1 or _self_attribute(node.targets[0].target, method) is None:
            return
        if not isinstance(call, cst.Call) or self.ctx.imports.resolve(call.func) not in TF_VARIABLES:
            return
        fix = self._variable_fix(node, call, method)
        self.report(
            call, "KF394",
            "Keras 3 does not track a `tf.Variable` set on a layer: the model trains and saves without it; create it "
            "with `self.add_weight(shape=..., initializer=..., trainable=...)`",
            fix,
        )

    def _variable_fix(self, node: cst.Assign, call: cst.Call, method: _Method):
        if any(arg.star for arg in call.args) or method.self_name is None:
            return None
        args = {("initial_value" if arg.keyword is None else arg.keyword.value): arg for arg in call.args}
        positional = [arg for arg in call.args if arg.keyword is None]
        if len(positional) > 1 or set(args) - {"initial_value", "trainable", "name"} or "initial_value" not in args:
            return None
        initial = args["initial_value"].value
        fill = shape = None
        if isinstance(initial, cst.Call) and len(initial.args) == 1 and not initial.args[0].star:
            arg = initial.args[0]
            fill = _FILLS.get(self.ctx.imports.resolve(initial.func) or "")
            shape = arg.value if arg.keyword is None or arg.keyword.value == "shape" else None
        elif isinstance(initial, cst.Float) and literal(initial) in (0.0, 1.0):
            fill, shape = ("zeros" if literal(initial) == 0.0 else "ones"), cst.Tuple(elements=[], lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        if fill is None or shape is None or not self._after_super_init(node, method):
            return None
        new_args = [
            cst.Arg(keyword=cst.Name("shape"), value=shape, equal=_EQUAL),
            cst.Arg(keyword=cst.Name("initializer"), value=cst.SimpleString(f'"{fill}"'), equal=_EQUAL),
        ]
        new_args += [rename_keyword(args[name], name) for name in ("trainable", "name") if name in args]
        new_call = cst.Call(
            func=cst.Attribute(value=cst.Name(method.self_name), attr=cst.Name("add_weight")),
            args=[arg.with_changes(comma=cst.MaybeSentinel.DEFAULT) for arg in new_args],
        )
        return make_fix("unsafe", "Create it with `self.add_weight(...)`", [replace_node(self.ctx, call, new_call)])

    def _after_super_init(self, node: cst.Assign, method: _Method) -> bool:
        """In `build` always; in `__init__` only after `super().__init__(...)` (before it, `add_weight` fails)."""
        if method.node.name.value != "__init__":
            return True
        line = self.ctx.parent(node)
        body = method.node.body.body if isinstance(method.node.body, cst.IndentedBlock) else ()
        seen_super = False
        for statement in body:
            if statement is line:
                return seen_super
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    value = small.value if isinstance(small, cst.Expr) else None
                    if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "__init__" and _is_super(value.func.value):
                        seen_super = True
        return False

    def _shape_tuple(self, method: _Method) -> None:
        params = method.node.params.params
        if method.self_name is None or len(params) < 2:
            return
        shape = params[1].name.value
        if not self._builtins_free("list", "len"):
            return
        nodes = method.nodes
        if _rebinds(method, shape):
            # `input_shape = input_shape[0]`: the statements of the body before the first one that binds it
            # again still read the parameter (a top-level statement runs once, after those before it)
            body = method.node.body.body if isinstance(method.node.body, cst.IndentedBlock) else ()
            nodes = []
            for statement in body:
                inside = _inside_expression(statement)
                if _bindings(_Method(method.node, method.self_name, inside), shape):
                    break
                nodes.extend(inside)
            if not nodes:
                return
            method = _Method(method.node, method.self_name, nodes)
        roots = {shape, *_shape_entries(method, shape)}
        for inner in nodes:
            if isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute) and inner.func.attr.value == "as_list":
                target = inner.func.value
                if not inner.args and any(_rooted_at(target, root) for root in roots):
                    new = cst.Call(func=cst.Name("list"), args=[cst.Arg(target)])
                    self._report_shape(inner, new, f"`{self.ctx.code_for(inner)}`", "`list(...)`")
            elif isinstance(inner, cst.Attribute) and inner.attr.value == "value":
                if isinstance(inner.value, cst.Subscript) and any(_rooted_at(inner.value, root) for root in roots):
                    self._report_shape(inner, inner.value, f"`{shape}[...].value`", "the entry itself")
            elif isinstance(inner, cst.Attribute) and inner.attr.value in ("ndims", "rank") and any(
                _rooted_at(inner.value, root) for root in roots
            ):
                new = cst.Call(func=cst.Name("len"), args=[cst.Arg(inner.value)])
                self._report_shape(inner, new, f"`.{inner.attr.value}`", "`len(...)`")

    def _report_shape(self, node: cst.CSTNode, new: cst.CSTNode, old: str, instead: str) -> None:
        fix = make_fix("safe", f"Use {instead}", [replace_node(self.ctx, node, new)])
        self.report(node, "KF395", f"Keras 3 passes the shape as a tuple, so {old} fails (AttributeError); use {instead}", fix)

    def _builtins_free(self, *names: str) -> bool:
        table = self.ctx.imports
        if any(canonical(module + "._") is None for module in table.star_modules):
            return False
        anywhere = file_scopes(self.ctx).anywhere
        return not any(name in anywhere or name in table.bindings for name in names)

    def _edit(self, node: cst.CSTNode, text: str) -> Edit:
        start, end = self.ctx.span(node)
        return Edit(start, end, text)


_REMOVED = "Remove the statement: Keras 3 tracks these weights"
_EQUAL = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))


def _private_message(attribute: str) -> str:
    return (
        f"Keras 3 layers have no `{attribute}` list (AttributeError); weights made with `self.add_weight(...)` and "
        "layers set as attributes are tracked already"
    )


def _self_name(function: cst.FunctionDef) -> str | None:
    for decorator in function.decorators:
        if isinstance(decorator.decorator, cst.Name) and decorator.decorator.value in ("staticmethod", "classmethod"):
            return None
    params = function.params.posonly_params or function.params.params
    return params[0].name.value if params else None


def _inside(function: cst.FunctionDef) -> list[cst.CSTNode]:
    """Every node of a method's body, in source order, leaving out nested classes (their `self` is another)."""
    found: list[cst.CSTNode] = []
    pending: list[cst.CSTNode] = [function.body]
    while pending:
        node = pending.pop()
        if isinstance(node, cst.ClassDef):
            continue
        found.append(node)
        pending.extend(reversed(list(children(node))))
    return found


# Keras layers whose call() takes `training` (Keras 3 passes it only to a `call` that names it): a subclass of
# one of these that takes `**kwargs` got `training` in them from Keras 2
_TAKE_TRAINING = frozenset(f"keras.layers.{name}" for name in (
    "BatchNormalization", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianDropout",
    "GaussianNoise", "AlphaDropout", "LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional", "ConvLSTM1D", "ConvLSTM2D",
    "ConvLSTM3D", "TimeDistributed", "MultiHeadAttention", "Attention", "AdditiveAttention", "GroupQueryAttention",
)) | {"keras.Model", "keras.Sequential"}


def _line_start(text: str, offset: int) -> int:
    """Where the line holding `offset` starts (after `\n`, `\r\n` or a lone `\r`)."""
    return max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset)) + 1


def _self_attribute(node: cst.BaseExpression, method: _Method) -> str | None:
    """`x` for `self.x`, where `self` is the method's first parameter."""
    if (
        isinstance(node, cst.Attribute)
        and isinstance(node.value, cst.Name)
        and method.self_name is not None
        and node.value.value == method.self_name
    ):
        return node.attr.value
    return None


def _method_call(node: cst.Call, method: _Method) -> str | None:
    return _self_attribute(node.func, method)


def _is_super(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "super"


def _assigns(node: cst.ClassDef, name: str) -> bool:
    """Whether the class body binds `name` other than by `def` (`compute_output_shape = ...`)."""
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign) and any(
                    isinstance(t.target, cst.Name) and t.target.value == name for t in small.targets
                ):
                    return True
    return False


def _reading(positional: list[cst.Arg]) -> str | None:
    """Which signature a call's positional arguments were written for: `keras2` (name first), `keras1` (shape,
    initializer, name...), `keras3` (what Keras 3 reads the same way), or None when it cannot be told."""
    first = positional[0].value
    if _stringish(first):
        return "keras2"
    if not _shapeish(first):
        return None
    if len(positional) <= 2:
        return "keras3"
    if len(positional) > 3:
        return "keras1"  # Keras 3 takes at most three
    third = positional[2].value
    if _dtypeish(third):
        return "keras3"
    return "keras1" if _stringish(third) else None


def _stringish(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
        return True
    if isinstance(node, cst.BinaryOperation):
        if isinstance(node.operator, cst.Modulo):
            return _stringish(node.left)
        if isinstance(node.operator, cst.Add):
            return _stringish(node.left) or _stringish(node.right) or _named_like(node.left, "name") or _named_like(node.right, "name")
        return False
    if isinstance(node, cst.Call):
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("format", "join"):
            return _stringish(func.value)
        return isinstance(func, cst.Name) and func.value == "str"
    return _named_like(node, "name")


def _shapeish(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.Tuple, cst.List)):
        return True
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        return _shapeish(node.left) or _shapeish(node.right)
    if isinstance(node, cst.Subscript):
        sliced = all(isinstance(element.slice, cst.Slice) for element in node.slice)
        return sliced and _shapeish(node.value)
    return _named_like(node, "shape")


def _dtypeish(node: cst.BaseExpression) -> bool:
    value = literal(node)
    if isinstance(value, str):
        return value in _DTYPES
    if value is not NOT_LITERAL:
        return False
    if isinstance(node, cst.Attribute) and node.attr.value in _DTYPES:
        return True
    return _named_like(node, "dtype")


def _named_like(node: cst.BaseExpression, word: str) -> bool:
    """A variable or attribute called `word` or `something_word` (`name`, `self.layer_name`)."""
    if isinstance(node, cst.Attribute):
        node = node.attr
    return isinstance(node, cst.Name) and (node.value == word or node.value.endswith("_" + word))


_TRACKED_VARIABLES = frozenset({"keras.backend.variable", "keras.Variable"})


def _variable_trainable(call: cst.Call) -> bool | None:
    """Whether `K.variable(...)` or `keras.Variable(...)` makes a trainable variable; None when unknown.
    (`K.variable` took no `trainable`; `keras.Variable` takes it fourth, after `initializer, shape, dtype`.)"""
    if any(arg.star for arg in call.args):
        return None
    given = _trainable_keyword(call)
    if given is not _ABSENT:
        return given
    return True if len([arg for arg in call.args if arg.keyword is None]) <= 3 else None


_ABSENT = object()


def _trainable_keyword(call: cst.Call):
    """The literal `trainable=` a call passes (None when it is not a literal), or _ABSENT."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "trainable":
            value = literal(arg.value)
            return value if isinstance(value, bool) else None
    return _ABSENT


def _trainable(call: cst.Call) -> bool | None:
    """What `trainable` an `add_weight` call gives its weight, read as its author's Keras did; None when unknown."""
    if any(arg.star for arg in call.args):
        return None
    given = _trainable_keyword(call)
    if given is not _ABSENT:
        return given
    positional = [arg for arg in call.args if arg.keyword is None]
    if len(positional) <= 3:
        return True  # no order passes `trainable` among its first three arguments
    index = {"keras2": 5, "keras1": 3}.get(_reading(positional) or "")
    if index is None:
        return None
    if index >= len(positional):
        return True
    value = literal(positional[index].value)
    return value if isinstance(value, bool) else None


def _plain(node: cst.BaseExpression) -> bool:
    """An expression without calls (a name, attribute, subscript or literal): dropping it changes nothing."""
    effects = (cst.Call, cst.Await, cst.Yield, cst.NamedExpr, cst.Lambda)
    return not any(isinstance(inner, effects) for inner in _inside_expression(node))


def _rooted_at(node: cst.BaseExpression, name: str) -> bool:
    """`name`, or `name[...]`, `name[...][...]`..."""
    while isinstance(node, cst.Subscript):
        node = node.value
    return isinstance(node, cst.Name) and node.value == name


def _rebinds(method: _Method, name: str) -> bool:
    """Whether the method binds `name` again (`input_shape = tf.TensorShape(input_shape)`)."""
    return _bindings(method, name) > 0


def _shape_entries(method: _Method, shape: str) -> set[str]:
    """Loop variables that run over a shape list and are bound nowhere else: `s` in
    `[s.as_list() for s in input_shape]` (a layer called on a list of tensors gets a list of shapes)."""
    found: set[str] = set()
    for inner in method.nodes:
        if isinstance(inner, (cst.For, cst.CompFor)) and isinstance(inner.target, cst.Name) and _rooted_at(inner.iter, shape):
            found.add(inner.target.value)
    return {name for name in found if name != shape and _bindings(method, name) == 1}


def _bindings(method: _Method, name: str) -> int:
    """How many times the method binds `name` (its parameters aside)."""
    count = 0
    for inner in method.nodes:
        targets: list[cst.CSTNode] = []
        if isinstance(inner, cst.AssignTarget):
            targets.append(inner.target)
        elif isinstance(inner, (cst.AugAssign, cst.AnnAssign, cst.For, cst.CompFor)):
            targets.append(inner.target)
        elif isinstance(inner, (cst.NamedExpr,)):
            targets.append(inner.target)
        elif isinstance(inner, cst.AsName):
            targets.append(inner.name)
        elif isinstance(inner, cst.Del):
            targets.append(inner.target)
        elif isinstance(inner, (cst.FunctionDef, cst.Lambda)) and inner is not method.node:
            params = inner.params
            targets.extend(p.name for p in (*params.posonly_params, *params.params, *params.kwonly_params))
        elif isinstance(inner, (cst.Global, cst.Nonlocal)):
            targets.extend(item.name for item in inner.names)
        for target in targets:
            if any(isinstance(n, cst.Name) and n.value == name for n in _inside_expression(target)):
                count += 1
    return count


def _inside_expression(node: cst.CSTNode) -> list[cst.CSTNode]:
    found: list[cst.CSTNode] = []
    walk(node, lambda inner, _parent: found.append(inner))
    return found
