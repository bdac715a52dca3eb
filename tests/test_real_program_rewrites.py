"""The rewrites issue 12 asked for, for programs in the style of old tutorials (corpus/programs): where each is
made and where it is not, and, under Keras 3, that the migrated programs compute what the Keras 2 ones did."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import findings, migrate

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
K = "from keras import backend as K\n"


def _unsafe(text: str) -> str:
    return migrate(text, unsafe=True, target="keras")


# --- K.function with the learning phase, and its calls ------------------------------------------


def test_learning_phase_function_and_its_calls_are_rewritten_together() -> None:
    code = K + "f = K.function([model.input, K.learning_phase()], [a, b])\nout_a, out_b = f([x, 0])\nfirst = f([x, 0])[0]\n"
    fixed = _unsafe(code)
    assert "f = Model(inputs=[model.input], outputs=[a, b])\n" in fixed
    assert "out_a, out_b = f.predict_on_batch(x)\n" in fixed
    assert "first = f.predict_on_batch(x)[0]\n" in fixed  # two outputs: a list, so `[0]` keeps its meaning


@pytest.mark.parametrize(
    "calls",
    [
        "y = f([x, 1])[0]\n",  # the training phase
        "y = f([x, phase])[0]\n",  # a phase the source does not state
        "y = f(batch)\n",  # not a literal list
        "run(f)\n",  # passed around
        "f = other\n",  # bound twice
    ],
)
def test_learning_phase_function_is_left_when_a_call_cannot_follow(calls: str) -> None:
    code = K + "f = K.function([model.input, K.learning_phase()], [model.output])\n" + calls
    assert "K.function" in _unsafe(code)
    assert "KF375" in [finding.code for finding in findings(code)]


def test_function_without_learning_phase_gets_its_calls_rewritten() -> None:
    code = K + "f = K.function([a, b], [out])\ny = f([p, q])[0]\nz = f([p, q])\n"
    fixed = _unsafe(code)
    assert "y = f.predict_on_batch([p, q])\n" in fixed
    assert "z = [f.predict_on_batch([p, q])]\n" in fixed  # one output: the function returned it in a list


# --- K.gradients + K.function -> tf.GradientTape ----------------------------------------------------

ASCENT = K + (
    "def ascend(model, loss):\n"
    "    grads = K.gradients(loss, model.input)[0]\n"
    "    iterate = K.function([model.input], [loss, grads])\n"
    "    return iterate\n"
)


def test_gradient_ascent_uses_an_existing_tensorflow_import() -> None:
    fixed = _unsafe("import tensorflow as tf2\n" + ASCENT)
    assert "with tf2.GradientTape() as tape:" in fixed
    assert "import tensorflow as tf\n" not in fixed


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda code: code.replace("    return iterate\n", "    return iterate, grads\n"), "the gradient is read elsewhere"),
        (lambda code: code.replace("K.gradients(loss, model.input)[0]", "K.gradients(loss, model.input)[0] / loss"), "the expression names the loss"),
        (lambda code: code.replace("K.function([model.input], [loss, grads])", "K.function([model.input], [grads, other])"), "another output"),
        (lambda code: code.replace("K.gradients(loss, model.input)[0]", "K.gradients(loss, model.input)"), "every gradient, not the first"),
        (lambda code: "tf = load_config()\n" + code, "`tf` means something else and TensorFlow is not imported"),
        (lambda code: code.replace("    iterate = K.function", "    print(grads)\n    iterate = K.function"), "not the next statement"),
    ],
)
def test_gradient_ascent_is_left_alone_when_unsure(change, why: str) -> None:
    code = change(ASCENT)
    assert "K.gradients" in _unsafe(code), why


# --- model.add_loss of a symbolic loss -> a layer that adds it --------------------------------------

VAE = (
    "from tensorflow import keras\n"
    "from tensorflow.keras import layers\n"
    "inputs = keras.Input(shape=(8,))\n"
    "code = layers.Dense(2)(inputs)\n"
    "outputs = layers.Dense(8)(code)\n"
    "vae = keras.Model(inputs=inputs, outputs=outputs, name='vae')\n"
    "penalty = keras.ops.mean(keras.ops.square(code))\n"
    "vae.add_loss(penalty)\n"
)


def test_add_loss_keeps_the_model_call_as_written() -> None:
    fixed = _unsafe(VAE)
    assert "vae = keras.Model(inputs=inputs, outputs=AddLoss()([outputs, penalty]), name='vae')\n" in fixed
    assert fixed.count("keras.Model(") == 1


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda code: code.replace("penalty = ", "outputs = outputs * 2\npenalty = "), "a name the model call reads is rebound"),
        (lambda code: code.replace("vae.add_loss(penalty)", "vae.add_loss(lambda: penalty)"), "a loss given as a function"),
        (lambda code: code.replace("vae.add_loss(penalty)", "vae.add_loss(penalty * 2)"), "an expression"),
        (lambda code: code.replace("penalty = keras", "vae.summary()\npenalty = keras"), "the first model is used before"),
        (lambda code: code.replace("vae = keras.Model(", "penalty = keras.ops.mean(code)\nvae = keras.Model(").replace("penalty = keras.ops.mean(keras.ops.square(code))\n", ""), "the loss is computed before the model"),
        (lambda code: "class AddLoss:\n    pass\n" + code, "the layer's name is taken"),
    ],
)
def test_add_loss_is_left_when_unsure(change, why: str) -> None:
    assert ".add_loss(" in _unsafe(change(VAE)).split("def call")[0], why


def test_add_loss_inside_a_function_is_reported_only() -> None:
    code = "def build():\n" + textwrap.indent(VAE.split("\n", 2)[2], "    ") + "    return vae\n"
    code = VAE.split("\n", 2)[0] + "\n" + VAE.split("\n", 2)[1] + "\n" + code
    assert "vae.add_loss(penalty)" in _unsafe(code)


# --- a loss function reading the model's tensors -> the model part added by a layer ------------------

CLOSURE = (
    "from keras import ops\n"
    "from keras.layers import Dense, Input\n"
    "from keras.models import Model\n"
    "x = Input(shape=(16,))\n"
    "z_mean = Dense(2)(x)\n"
    "x_decoded = Dense(16)(z_mean)\n\n\n"
    "def vae_loss(y_true, y_pred):\n"
    "    error = ops.mean(ops.square(y_true - y_pred), axis=-1)\n"
    "    kl = -0.5 * ops.sum(1 - ops.square(z_mean), axis=-1)\n"
    "    return error + kl\n\n\n"
    "vae = Model(x, x_decoded)\n"
    "vae.compile(optimizer='adam', loss=vae_loss)\n"
)


def test_loss_reading_model_tensors_is_split() -> None:
    fixed = _unsafe(CLOSURE)
    assert "    return error\n" in fixed and "kl = " not in fixed
    assert "vae = Model(x, AddLoss()([x_decoded, ops.mean(-0.5 * ops.sum(1 - ops.square(z_mean), axis=-1))]))\n" in fixed


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda code: code + "encoder = Model(x, z_mean)\nencoder.compile(optimizer='adam', loss=vae_loss)\n", "the loss serves another model"),
        (lambda code: code.replace("return error + kl", "return error * kl"), "not a sum"),
        (lambda code: code.replace("kl = -0.5 * ops.sum(1 - ops.square(z_mean), axis=-1)", "kl = ops.sum(y_pred * z_mean, axis=-1)"), "a statement reads both"),
        (lambda code: code.replace("vae = Model(x, x_decoded)", "vae = Model(x, [x_decoded, z_mean])"), "several outputs"),
        (lambda code: code.replace("vae.compile(optimizer='adam', loss=vae_loss)", "vae.compile(optimizer='adam', loss=vae_loss, loss_weights=[2.0])"), "loss weights"),
    ],
)
def test_loss_reading_model_tensors_is_reported_when_unsure(change, why: str) -> None:
    code = change(CLOSURE)
    assert "KF349" in [finding.code for finding in findings(code)], why
    assert "AddLoss" not in _unsafe(code), why


def test_loss_not_reading_model_tensors_is_not_flagged() -> None:
    code = CLOSURE.replace("ops.square(z_mean)", "ops.square(y_pred)").replace("error = ops.mean(ops.square(y_true - y_pred), axis=-1)", "error = ops.mean(y_true, axis=-1)")
    assert "KF349" not in [finding.code for finding in findings(code)]


# --- under Keras 3: the migrated fixtures compute what their Keras 2 originals did --------------------

CHECK = textwrap.dedent(
    '''
    import sys
    import numpy as np
    import tensorflow as tf

    fixtures = sys.argv[1]

    # gradient ascent: the new `iterate` returns the loss and the gradient a tape gives, as NumPy arrays
    scope = {"__name__": "fixture"}
    exec(open(fixtures + "/catalogue/backend_gradient_ascent.fixed.py").read(), scope)
    model = scope["model"]
    image = np.random.default_rng(0).random((1, 32, 32, 3))
    inner = scope["Model"](model.input, model.get_layer("conv").output)
    x = tf.constant(image, dtype="float32")
    with tf.GradientTape() as tape:
        tape.watch(x)
        reference = tf.reduce_mean(inner(x)[:, :, :, 2])
    expected = tape.gradient(reference, x).numpy()
    assert np.abs(expected).max() > 0
    np.random.random = lambda shape: image.copy()  # the program's starting image
    ascended = scope["maximise"](2, steps=1, step=1.0)
    assert np.allclose(ascended - image, expected, atol=1e-5), "one step moved the image by the gradient"
    mean, shape, labels = scope["describe"](image.astype("float32"))
    assert shape == (1, 30, 30, 8) and isinstance(mean, np.floating)

    # the VAE: the model trains with the loss its layer adds, equal to the Keras 2 loss on a batch
    scope = {"__name__": "fixture"}
    exec(open(fixtures + "/catalogue/guide_vae_add_loss.fixed.py").read(), scope)
    vae = scope["vae"]
    batch = np.random.default_rng(1).random((16, scope["original_dim"])).astype("float32")
    history = vae.fit(batch, epochs=1, batch_size=16, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])
    assert [type(layer).__name__ for layer in vae.layers][-1] == "AddLoss"

    # the Keras 1 VAE's loss: the KL term is added by the model's layer, the reconstruction by the loss function
    scope = {"__name__": "fixture"}
    exec(open(fixtures + "/catalogue/guide_vae_loss_closure.fixed.py").read(), scope)
    vae = scope["vae"]
    data = np.random.default_rng(2).random((32, scope["original_dim"])).astype("float32")
    history = vae.fit(data, data, batch_size=scope["batch_size"], epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0]) and len(vae.losses) == 1

    # the Keras 1 layer: its K.variable weight is trainable and counted once, without the hand-made list
    scope = {"__name__": "fixture"}
    exec(open(fixtures + "/custom_layers/keras1_variable_gate.fixed.py").read(), scope)
    gate = [layer for layer in scope["model"].layers if type(layer).__name__ == "FeatureGate"][0]
    assert [w.name for w in gate.trainable_weights] == [gate.name + "_score"] and gate.score.dtype == "float32"
    scaled = [layer for layer in scope["model"].layers if type(layer).__name__ == "ScaledBias"][0]
    assert [w.name for w in scaled.trainable_weights] == ["bias"] and [w.name for w in scaled.non_trainable_weights] == ["scale"]
    print("ok")
    '''
)


@pytest.mark.tensorflow
def test_migrated_fixtures_compute_what_the_originals_did(tmp_path: Path) -> None:
    pytest.importorskip("keras")
    script = tmp_path / "check.py"
    script.write_text(CHECK, encoding="utf-8")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow", CUDA_VISIBLE_DEVICES="")
    result = subprocess.run([sys.executable, str(script), str(FIXTURES)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-4000:]
