"""KF309: float dimensions in a custom layer's compute_output_shape, which Keras 3 uses and refuses."""

from __future__ import annotations

from conftest import findings, migrate

LAYERS = (
    "from tensorflow.python.keras.layers import Layer\n"
    "class Pairs(Layer):\n"
    "    def compute_output_shape(self, input_shape):\n"
    "        n = int(input_shape[1])\n"
    "        if self.flat:\n"
    "            return [None, n * (n - 1) / 2]\n"
    "        return (None, n * (n - 1) / 2, input_shape[-1] / 1)\n"
    "class Halves(Pairs):\n"
    "    def compute_output_shape(self, input_shape):\n"
    "        return (None, (input_shape[1] / 2))\n"
)


def test_every_true_division_dimension_of_a_layer_and_its_subclass_is_found_and_fixed_only_unsafely() -> None:
    found = findings(LAYERS, "KF309")
    assert [(f.location.row, f.code) for f in found] == [(6, "KF309"), (7, "KF309"), (7, "KF309"), (10, "KF309")]
    assert migrate(LAYERS, "KF309") == LAYERS
    fixed = migrate(LAYERS, "KF309", unsafe=True)
    assert "return [None, int(n * (n - 1) / 2)]" in fixed
    assert "return (None, int(n * (n - 1) / 2), int(input_shape[-1] / 1))" in fixed
    assert "return (None, (int(input_shape[1] / 2)))" in fixed  # in parentheses, still the dimension


def test_a_float_operand_or_a_chained_division_still_makes_an_int() -> None:
    text = (
        "import keras\nclass Half(keras.layers.Layer):\n    def compute_output_shape(self, input_shape):\n"
        "        return (None, input_shape[1] / 2.0 / 3)\n"
    )
    assert "return (None, int(input_shape[1] / 2.0 / 3))" in migrate(text, "KF309", unsafe=True)
    shadowed = text + "int = float\n"
    assert len(findings(shadowed, "KF309")) == 1 and migrate(shadowed, "KF309", unsafe=True) == shadowed


def test_a_class_that_is_not_a_keras_layer_is_left_alone() -> None:
    text = "import tensorflow as tf\nclass Grid:\n    def compute_output_shape(self, s):\n        return (s / 2,)\n"
    assert findings(text, "KF309") == []
