"""KF305: `get_shape()` and `.shape.as_list()` on what Keras 3 makes a symbolic tensor with a tuple shape."""

from __future__ import annotations

from conftest import findings, migrate

BUILDER = (
    "from tensorflow.python.keras.layers import Dense\n"
    "def tower(history):\n"
    "    units = history.get_shape().as_list()[-1] // 2\n"
    "    steps = history.shape.as_list()[1]\n"
    "    rank = len(history.get_shape())\n"
    "    return Dense(units * steps * rank)(history)\n"
)


def test_shape_lists_are_read_through_the_shape_attribute_and_get_shape_only_with_unsafe_fixes() -> None:
    assert [f.code for f in findings(BUILDER, "KF305")] == ["KF305"] * 3
    safe = migrate(BUILDER, "KF305")
    assert "steps = list(history.shape)[1]" in safe
    # another library's object may have its own get_shape() and no shape: those fixes are unsafe
    assert "units = history.get_shape().as_list()[-1] // 2" in safe and "rank = len(history.get_shape())" in safe
    unsafe = migrate(BUILDER, "KF305", unsafe=True)
    assert "units = list(history.shape)[-1] // 2" in unsafe and "rank = len(history.shape)" in unsafe


def test_a_comment_inside_the_call_makes_the_fix_unsafe() -> None:
    text = "import keras\nsteps = x.shape.as_list(  # the static shape\n)[1]\n"
    assert migrate(text, "KF305") == text


def test_files_without_tensorflow_or_keras_and_a_rebound_list_are_left_alone() -> None:
    plain = BUILDER.replace("from tensorflow.python.keras.layers import Dense\n", "from mylib import Dense\n")
    assert findings(plain, "KF305") == []
    rebound = BUILDER + "list = tuple\n"
    found = findings(rebound, "KF305")
    assert len(found) == 3
    assert migrate(rebound, "KF305") == rebound  # `list(...)` would not be the builtin


def test_a_layer_input_shape_list_stays_kf395s() -> None:
    layer = (
        "import tensorflow as tf\n"
        "class Gate(tf.keras.layers.Layer):\n"
        "    def build(self, input_shape):\n"
        "        self.w = self.add_weight(shape=(input_shape.as_list()[-1], 1))\n"
    )
    assert [f.code for f in findings(layer, "KF305,KF395")] == ["KF395"]


def test_kf395_reads_the_parameter_up_to_the_statement_that_binds_it_again() -> None:
    layer = (
        "import tensorflow as tf\n"
        "class Outer(tf.keras.layers.Layer):\n"
        "    def build(self, input_shape):\n"
        "        shapes = [shape.as_list() for shape in input_shape]\n"
        "        input_shape = input_shape[0]\n"
        "        width = input_shape.as_list()[-1]\n"
    )
    fixed = migrate(layer, "KF395")
    assert "shapes = [list(shape) for shape in input_shape]" in fixed
    assert "width = input_shape.as_list()[-1]" in fixed  # what it holds now is not followed
