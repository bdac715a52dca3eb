"""verify tells a layer's declared output shape (Keras 3 takes it from compute_output_shape) from the shape it
computes: a migrated layer that declares another shape than tf.keras 2 recorded, but computes the original's, is a
note, not a difference of the migration."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kerasfix.verify import shapes
from kerasfix.verify.runtime import compare_layers, declared_layers


def _layer(kind: str, declared, computed=None) -> dict:
    record = {"name": kind.lower(), "type": kind, "output_shape": declared, "params": 0}
    if computed is not None:
        record["computed"] = computed
    return record


def test_a_computed_shape_fits_the_symbolic_one_where_its_dimensions_are_known() -> None:
    assert shapes.fits([None, 1, 1], [None, 1, 1])
    assert shapes.fits([None, None, 8], [None, 5, 8])
    assert not shapes.fits([None, 1, 1], [None, 1])
    assert not shapes.fits([None, 4, 8], [None, 1, 8])
    assert shapes.fits([[None, 2], [None, 3]], [[None, 2], [None, 3]])
    assert not shapes.fits([[None, 2], [None, 3]], [None, 2])
    assert not shapes.fits([None, 2], None)


def test_only_layers_computing_the_original_shape_are_let_through_and_named() -> None:
    original = [_layer("Linear", [None, 1, 1]), _layer("Add", [None, 1, 1]), _layer("Dense", [None, 4])]
    declared = [_layer("Linear", [None, 1], [None, 1, 1]), _layer("Add", [None, 1], [None, 1, 1]), _layer("Dense", [None, 4])]
    shapes_ok, _, differences = compare_layers(original, declared)
    assert shapes_ok and differences == []
    note = shapes.declared_note(declared_layers(original, declared))
    assert "2 layer(s)" in note and "layer 1: Linear declares (None, 1) and computes (None, 1, 1)" in note

    wrong = [_layer("Linear", [None, 1], [None, 1]), *declared[1:]]  # computes another shape too: the migration's
    shapes_ok, _, differences = compare_layers(original, wrong)
    assert not shapes_ok and differences[0].startswith("layer 1: Linear (None, 1, 1) became Linear (None, 1)")
    assert shapes.declared_note(declared_layers(original, [_layer("Dense", [None, 4])] * 3)) is None


WRONG_DECLARATION = '''\
"""tf.keras 2: a layer whose compute_output_shape disagrees with call(); tf.keras 2 never asked it."""
import tensorflow as tf
from tensorflow import keras


class Score(keras.layers.Layer):
    def call(self, inputs):
        return tf.reduce_sum(inputs, axis=-1, keepdims=True)[:, None, :]

    def compute_output_shape(self, input_shape):
        return (None, 1)


inputs = keras.Input(shape=(6,))
score = Score()(inputs)
model = keras.Model(inputs, keras.layers.Activation("sigmoid")(score))
'''


@pytest.mark.slow
@pytest.mark.tensorflow
def test_a_declaration_keras_3_uses_verifies_with_a_note_against_the_real_keras_2(tmp_path: Path) -> None:
    pytest.importorskip("tf_keras")
    import json

    from conftest import run_kerasfix

    program = tmp_path / "score.py"
    program.write_text(textwrap.dedent(WRONG_DECLARATION))
    result = run_kerasfix("verify", "--unsafe-fixes", "--output-format", "json", str(program), cwd=tmp_path)
    report = json.loads(result.stdout)
    [model] = report["models"]
    assert model["oracle"] == "tf-keras"
    assert model["status"] == "verified", model
    assert any("declares (None, 1) and computes (None, 1, 1)" in note for note in model["notes"]), model["notes"]
