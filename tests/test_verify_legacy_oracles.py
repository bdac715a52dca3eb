"""What the oracles of `kerasfix verify` run that Keras 1 and 2 allowed: a Keras 1 layer listing its own
`K.variable`s in `self.trainable_weights`, Keras 1 initializer functions (`keras.initializations`, an `init=`
function of `(shape, name)`) under the compatibility layer, and imports from `tensorflow.python.keras` (the
TensorFlow 2.0-2.5 home of tf.keras) under the tf-keras oracle. All build models with TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import ROOT, run_kerasfix

KERAS1_VARIABLE_LAYER = '''\
"""A Keras 1 layer that makes its weight with K.variable and lists it itself."""
import numpy as np
from keras import backend as K
from keras.engine.topology import Layer
from keras.layers import Dense, Input
from keras.models import Model


class Gain(Layer):
    def build(self, input_shape):
        self.gain = K.variable(np.ones((input_shape[1],)), name='gain')
        self.trainable_weights = [self.gain]

    def call(self, x, mask=None):
        return x * self.gain

    def get_output_shape_for(self, input_shape):
        return input_shape


inputs = Input(shape=(6,))
model = Model(input=inputs, output=Dense(output_dim=2)(Gain()(inputs)))
'''

KERAS1_INITIALIZER_FUNCTIONS = '''\
"""Keras 1 initializer functions: from keras.initializations, and an init= function of (shape, name)."""
from keras import initializations
from keras.initializations import uniform
from keras.layers import Dense
from keras.models import Sequential


def small_normal(shape, name=None):
    return initializations.normal(shape, scale=0.01, name=name)


def narrow_uniform(shape, name=None):
    return uniform(shape, scale=0.02, name=name)


model = Sequential()
model.add(Dense(output_dim=5, input_dim=3, init=small_normal))
model.add(Dense(output_dim=4, init=narrow_uniform))
model.add(Dense(output_dim=2, init=initializations.get('glorot_uniform')))
'''


@pytest.mark.slow
@pytest.mark.tensorflow
def test_keras1_variables_and_initializer_functions_run_under_the_compatibility_layer(tmp_path: Path) -> None:
    (tmp_path / "variable_layer.py").write_text(KERAS1_VARIABLE_LAYER)
    (tmp_path / "initializer_functions.py").write_text(KERAS1_INITIALIZER_FUNCTIONS)
    result = run_kerasfix("verify", "--output-format", "json", "--timeout", "300", "--steps", "1",
                          str(tmp_path / "variable_layer.py"), str(tmp_path / "initializer_functions.py"))
    assert result.stdout.strip(), result.stderr[-3000:]
    report = json.loads(result.stdout)
    models = {(Path(m["file"]).name, m["name"]): m for m in report["models"]}
    assert set(models) == {("variable_layer.py", "model"), ("initializer_functions.py", "model")}, report
    for model in models.values():
        assert model["oracle"] == "compat"
        assert model["verified"], model
    gain = models[("variable_layer.py", "model")]
    assert gain["params"]["original"] == gain["params"]["migrated"] == 6 + (6 * 2 + 2)
    assert gain["params"]["trainable"] == [6 + 14, 6 + 14]  # the listed variable is trained, on both sides
    init = models[("initializer_functions.py", "model")]
    assert init["params"]["migrated"] == (3 * 5 + 5) + (5 * 4 + 4) + (4 * 2 + 2)
    assert report["errors"] == []
    assert result.returncode == 0


@pytest.mark.slow
@pytest.mark.tensorflow
def test_the_tf_keras_oracle_imports_tensorflow_python_keras_from_tf_keras() -> None:
    pytest.importorskip("tf_keras")
    script = textwrap.dedent(
        """
        import builtins, json, os
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        from kerasfix.verify import oracle
        import tf_keras

        load = oracle._keras2_import(builtins.__import__)
        layers = load("tensorflow.python.keras.layers", None, None, ("LSTM", "Dense"), 0)
        models = load("tensorflow.python.keras.models", None, None, ("Model",), 0)
        backend = load("tensorflow.python.keras", None, None, ("backend",), 0)
        ops = load("tensorflow.python.ops.init_ops", None, None, ("Zeros",), 0)  # not Keras: TensorFlow's own
        print(json.dumps({
            "lstm": layers.LSTM is tf_keras.layers.LSTM,
            "model": models.Model is tf_keras.Model,
            "backend": backend.backend.int_shape is tf_keras.backend.int_shape,
            "ops": ops.__name__,
        }))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found == {"lstm": True, "model": True, "backend": True, "ops": "tensorflow.python.ops.init_ops"}


TF_OPS_ON_KERAS_TENSORS = '''\
"""tf.keras 2: TensorFlow functions on Keras tensors (tf-keras makes layers of them), two models compiled in a loop."""
import tensorflow as tf
from tensorflow import keras

inputs = keras.Input(shape=(6, 4))
pooled = tf.reduce_mean(inputs, axis=1)
scaled = tf.nn.relu(pooled) * 2.0
model = keras.Model(inputs, keras.layers.Dense(3)(scaled))

flat_in = keras.Input(shape=(5,))
head = keras.Model(flat_in, keras.layers.Dense(2)(tf.square(flat_in)))

for m in (model, head):
    m.compile(optimizer='adam', loss='mse')
'''


@pytest.mark.slow
@pytest.mark.tensorflow
def test_tf_keras_op_layers_are_compared_through_the_outputs_and_a_loop_variable_is_no_model(tmp_path: Path) -> None:
    pytest.importorskip("tf_keras")
    program = tmp_path / "tf_ops.py"
    program.write_text(TF_OPS_ON_KERAS_TENSORS)
    result = run_kerasfix("verify", "--output-format", "json", "--timeout", "300", "--steps", "1", str(program))
    assert result.stdout.strip(), result.stderr[-3000:]
    report = json.loads(result.stdout)
    models = {m["name"]: m for m in report["models"]}
    assert set(models) == {"model", "head"}, models  # `m` names `head` after the loop: not a third model
    for record in models.values():
        assert record["oracle"] == "tf-keras"
        assert record["verified"], record
        assert record["max_output_diff"] is not None and record["max_output_diff"] <= 1e-5
        assert any("TFOpLambda" in note and "compared through the outputs" in note for note in record["notes"]), record["notes"]
    assert models["model"]["params"]["migrated"] == 4 * 3 + 3
    assert result.returncode == 0


@pytest.mark.tensorflow
def test_op_layers_without_weights_are_left_out_of_the_layer_comparison() -> None:
    from kerasfix.verify.runtime import compare_layers, identity_note

    dense = {"name": "dense", "type": "Dense", "output_shape": [None, 3], "params": 15}
    op = {"name": "tf.math.reduce_mean", "type": "TFOpLambda", "output_shape": [None, 4], "params": 0}
    assert compare_layers([op, dense], [dense]) == (True, True, [])
    assert "TFOpLambda" in identity_note([op, dense], [dense])
    # a Dense where the original had an operation is still a difference
    shapes_ok, params_ok, differences = compare_layers([op, dense], [dict(dense, name="extra"), dense])
    assert not shapes_ok and differences


def test_imports_through_the_private_keras_copy_do_not_make_a_program_keras_1() -> None:
    """`tensorflow.python.keras` is tf.keras 2 (KF304), not Keras 1: the real Keras 2 stays the oracle, while a
    legacy module path below the same root (KF303) is Keras 1/2.0 code the compatibility layer runs."""
    from kerasfix.verify import backends

    tf_keras_2 = "from tensorflow.python.keras.layers import Dense, Layer\nfrom tensorflow.python.keras import backend as K\n"
    assert backends.keras1_codes(tf_keras_2) == []
    assert backends.keras1_codes("from tensorflow.python.keras.layers.core import Dense\n") == ["KF303"]
