"""What `kerasfix verify` compares where the migration made something the original program builds otherwise: the
loss layer `AddLoss` the migration writes for a Keras 2 loss computed from a model's tensors (KF347, KF349), a
Keras model made of a `K.function` (KF375), outputs random at inference under the tf-keras oracle (the same noise
on both sides); and what the compatibility layer runs as Keras 2 did: a layer of the program returning a list of
tensors over a Keras 3 layer that assumes one output, Keras 2's masks of merge layers, `K.function`,
`K.bias_add`, `keras.backend_config`."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

KERAS2_VAE = '''\
"""A Keras 2 VAE: a sampling Lambda, nested encoder and decoder, a loss added with vae.add_loss (KF347)."""
from keras import backend as K
from keras.layers import Dense, Input, Lambda
from keras.losses import binary_crossentropy
from keras.models import Model


def sampling(args):
    z_mean, z_log_var = args
    epsilon = K.random_normal(shape=(K.shape(z_mean)[0], K.int_shape(z_mean)[1]))
    return z_mean + K.exp(0.5 * z_log_var) * epsilon


inputs = Input(shape=(12,))
x = Dense(6, activation='relu')(inputs)
z_mean = Dense(2)(x)
z_log_var = Dense(2)(x)
z = Lambda(sampling, output_shape=(2,))([z_mean, z_log_var])
encoder = Model(inputs, [z_mean, z_log_var, z])
latent = Input(shape=(2,))
decoder = Model(latent, Dense(12, activation='sigmoid')(Dense(6, activation='relu')(latent)))
outputs = decoder(encoder(inputs)[2])
vae = Model(inputs, outputs)
reconstruction = binary_crossentropy(inputs, outputs) * 12
kl = K.sum(1 + z_log_var - K.square(z_mean) - K.exp(z_log_var), axis=-1) * -0.5
vae_loss = K.mean(reconstruction + kl)
vae.add_loss(vae_loss)
vae.compile(optimizer='adam')
'''

KERAS1_VAE = '''\
"""A Keras 1 VAE whose loss function reads the model's tensors (KF349)."""
from keras import backend as K
from keras import objectives
from keras.layers import Dense, Input, Lambda
from keras.models import Model

x = Input(batch_shape=(4, 12))
h = Dense(6, activation='relu')(x)
z_mean = Dense(2)(h)
z_log_var = Dense(2)(h)


def sampling(args):
    z_mean, z_log_var = args
    return z_mean + K.exp(z_log_var / 2) * K.random_normal(shape=(4, 2), mean=0., std=1.0)


z = Lambda(sampling, output_shape=(2,))([z_mean, z_log_var])
x_decoded = Dense(output_dim=12, activation='sigmoid')(Dense(6, activation='relu')(z))


def vae_loss(x, x_decoded):
    xent_loss = 12 * objectives.binary_crossentropy(x, x_decoded)
    kl_loss = - 0.5 * K.sum(1 + z_log_var - K.square(z_mean) - K.exp(z_log_var), axis=-1)
    return xent_loss + kl_loss


vae = Model(input=x, output=x_decoded)
vae.compile(optimizer='rmsprop', loss=vae_loss)
'''

FEATURES = '''\
"""Keras 2 feature extractors: K.function with and without the learning phase (KF375)."""
from keras import backend as K
from keras.layers import Dense, Dropout
from keras.models import Sequential

model = Sequential()
model.add(Dense(8, activation='relu', input_shape=(5,)))
model.add(Dropout(0.5))
model.add(Dense(4, activation='relu', name='features'))
model.add(Dense(3, activation='softmax'))
model.compile(loss='categorical_crossentropy', optimizer='adam')

get_first = K.function([model.layers[0].input], [model.layers[0].output])
get_features = K.function([model.input, K.learning_phase()], [model.get_layer('features').output])
'''


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------------------------
# the layer-by-layer comparison and the loss layer (records only)


def _record(name: str, kind: str, shape, params: int, loss: str | None = None) -> dict:
    record = {"name": name, "type": kind, "output_shape": shape, "params": params}
    if loss:
        record["loss_layer"] = loss
    return record


@pytest.mark.tensorflow
def test_the_migration_s_loss_layer_is_left_out_of_the_layer_comparison_and_said() -> None:
    from kerasfix.verify.runtime import compare_layers, loss_layers

    dense = _record("dense", "Dense", [None, 3], 15)
    added = _record("add_loss", "AddLoss", [None, 3], 0, "migration")
    keras2 = _record("add_loss", "AddLoss", [], 0, "keras2")
    # Keras 1: the loss was in a loss function; the migration added the layer
    assert compare_layers([dense], [dense, added]) == (True, True, [])
    assert "the migration added the loss layer 'add_loss' (AddLoss)" in loss_layers([dense], [dense, added])[2]
    # Keras 2's add_loss made its own AddLoss layer (output shape ()): one stands for the other
    assert compare_layers([dense, keras2], [dense, added]) == (True, True, [])
    assert "where the original's add_loss made 'add_loss'" in loss_layers([dense, keras2], [dense, added])[2]
    # any other layer added or missing still fails
    extra = _record("extra", "Dense", [None, 3], 12)
    assert not compare_layers([dense], [dense, extra, added])[0]
    assert not compare_layers([dense, extra], [dense, added])[0]
    # the original's loss layer with no counterpart in the migrated model: the loss was lost
    assert not compare_layers([dense, keras2], [dense])[0]
    # a layer only named AddLoss, not the migration's (no marker), is compared as any other
    assert not compare_layers([dense], [dense, _record("add_loss", "AddLoss", [None, 3], 0)])[0]


@pytest.mark.tensorflow
def test_verify_knows_the_loss_layer_the_migration_writes() -> None:
    """The layer class the migration writes (kerasfix/checks/guide_transforms.py), run: verify marks its layers."""
    import keras

    from kerasfix.checks.guide_transforms import _LOSS_LAYER
    from kerasfix.verify.runtime import layer_record

    namespace = {"Layer": keras.layers.Layer}
    exec(_LOSS_LAYER.format(name="AddLoss", layer="Layer", nl="\n", i="    "), namespace)  # noqa: S102
    inputs = keras.Input((3,))
    dense = keras.layers.Dense(2)
    outputs = namespace["AddLoss"]()([dense(inputs), keras.ops.mean(inputs)])
    keras.Model(inputs, outputs)
    record = layer_record(outputs._keras_history.operation)
    assert record["loss_layer"] == "migration" and record["type"] == "AddLoss" and record["params"] == 0

    class AddLoss(keras.layers.Layer):  # the program's own layer of that name: no marker
        def call(self, inputs):
            return inputs[0]

    assert "loss_layer" not in layer_record(AddLoss())


# ---------------------------------------------------------------------------------------------
# the compatibility layer


@pytest.mark.tensorflow
def test_the_compatibility_layer_runs_multi_output_layers_merge_masks_and_k_function_as_keras_2() -> None:
    import numpy as np

    from kerasfix.verify import compat
    from kerasfix.verify.backend_function import BackendFunction

    namespace = {"__builtins__": compat.builtins_for_original()}
    program = {"np": np, **namespace}
    exec(  # noqa: S102 - the original program's code, run as verify runs it
        "from tensorflow import keras\n"
        "from keras import backend as K\n"
        "from keras import backend_config\n"
        "class EmbeddingRet(keras.layers.Embedding):\n"
        "    def compute_output_shape(self, input_shape):\n"
        "        return [super().compute_output_shape(input_shape), (self.input_dim, self.output_dim)]\n"
        "    def compute_mask(self, inputs, mask=None):\n"
        "        return [super().compute_mask(inputs, mask), None]\n"
        "    def call(self, inputs):\n"
        "        return [super().call(inputs), self.embeddings + 0.0]\n"
        "class TokenEmbedding(keras.layers.Embedding):\n"
        "    def compute_mask(self, inputs, mask=None):\n"
        "        return [super().compute_mask(inputs, mask), None]\n"
        "    def call(self, inputs):\n"
        "        return [super().call(inputs), self.embeddings + 0]\n"
        "tokens = keras.layers.Input(shape=(5,))\n"
        "embedded, weights = EmbeddingRet(input_dim=7, output_dim=4, mask_zero=True)(tokens)\n"
        "embedded2, weights2 = TokenEmbedding(input_dim=7, output_dim=4, mask_zero=True)(tokens)\n"
        "segments = keras.layers.Embedding(input_dim=7, output_dim=4)(tokens)\n"
        "merged = keras.layers.Add()([embedded, segments])\n"
        "biased = K.bias_add(merged, K.constant(np.ones(4, 'float32')))\n"
        "model = keras.models.Model(tokens, [merged, weights2])\n"
        "first = K.function([tokens, K.learning_phase()], [merged])\n"
        "eps = backend_config.epsilon()\n",
        program,
    )
    # a list of two tensors, shaped as compute_output_shape (or call) says, as in Keras 2
    assert tuple(program["embedded"].shape) == (None, 5, 4) and tuple(program["weights"].shape) == (7, 4)
    assert tuple(program["embedded2"].shape) == (None, 5, 4) and tuple(program["weights2"].shape) == (7, 4)
    # Keras 2's mask of Add: the positions every masked input keeps (Keras 3's would be None here)
    assert getattr(program["merged"], "_keras_mask", None) is not None
    assert tuple(program["biased"].shape) == (None, 5, 4)
    assert program["eps"] == pytest.approx(1e-7)
    function = program["first"]
    assert isinstance(function, BackendFunction) and function.phase_at == [1]
    batch = np.array([[1, 2, 0, 3, 4], [5, 6, 1, 0, 0]], dtype="float32")
    [values] = function([batch, 0])
    expected = program["model"].predict_on_batch(batch)[0]
    np.testing.assert_allclose(values, expected, atol=1e-6)
    assert function.arguments([batch])[1] == 0


def test_the_original_slice_keeps_what_the_migration_made_a_model() -> None:
    from kerasfix.verify.extract import extract

    plain = extract(FEATURES)
    assert "get_first" not in plain.sites
    kept = extract(FEATURES, also=frozenset({"get_first", "get_features"}))
    assert {"get_first", "get_features"} <= set(kept.sites)
    code = "".join(unit.code for unit in kept.units)
    assert "get_first = K.function" in code and "get_features = K.function" in code


# ---------------------------------------------------------------------------------------------
# end to end


@pytest.fixture(scope="module")
def verifier():
    pytest.importorskip("tensorflow")
    from kerasfix.verify.command import Options, Verifier

    instance = Verifier(Options(timeout=300, steps=1))
    instance.start()
    yield instance
    instance.close()


def _models(report) -> dict[str, dict]:
    return {record["name"]: record for record in report.models}


@pytest.mark.slow
@pytest.mark.tensorflow
def test_a_keras2_vae_verifies_against_tf_keras_with_the_loss_layer_and_the_same_noise(verifier, tmp_path: Path) -> None:
    if importlib.util.find_spec("tf_keras") is None:
        pytest.skip("tf-keras is not installed (CI installs it)")
    from kerasfix.verify.results import model_ok

    path = _write(tmp_path, "vae.py", KERAS2_VAE)
    report = verifier.verify(path, name="vae.py")
    models = _models(report)
    assert set(models) == {"encoder", "decoder", "vae"}, report.models
    for record in models.values():
        assert record["oracle"] == "tf-keras"
        assert model_ok(record), record
    vae = models["vae"]
    assert any("the migration added the loss layer" in note and "where the original's add_loss made" in note
               for note in vae["notes"]), vae["notes"]
    # every output of the VAE is random at inference: compared with the same noise drawn on both sides
    assert any("same noise on both sides" in note for note in vae["notes"]), vae["notes"]
    assert any("same noise on both sides" in note for note in models["encoder"]["notes"])
    # a migration that adds another layer besides the loss layer still fails
    from kerasfix.verify.command import _settings
    from kerasfix.runner import migrate_file

    config, settings, _ = _settings([path], True)
    text = migrate_file(path, "vae.py", settings, config, write=False).new_text
    assert "class AddLoss(" in text
    tampered = text.replace("outputs = decoder(encoder(inputs)[2])", "outputs = Dense(12)(decoder(encoder(inputs)[2]))")
    assert tampered != text
    report = verifier.verify(path, name="vae.py", migrated_text=tampered)
    vae = _models(report)["vae"]
    assert not model_ok(vae) and vae["shapes_match"] is False, vae
    assert not report.ok


@pytest.mark.slow
@pytest.mark.tensorflow
def test_a_keras1_vae_and_k_functions_verify(verifier, tmp_path: Path) -> None:
    from kerasfix.verify.results import model_ok

    report = verifier.verify(_write(tmp_path, "keras1_vae.py", KERAS1_VAE), name="keras1_vae.py")
    [vae] = report.models
    assert vae["oracle"] == "compat" and model_ok(vae), vae
    assert any("the migration added the loss layer" in note for note in vae["notes"]), vae["notes"]

    for oracle in ("auto", "compat"):
        from kerasfix.verify.command import Options, Verifier

        if oracle == "auto" and importlib.util.find_spec("tf_keras") is None:
            continue
        checker = verifier if oracle == "auto" else Verifier(Options(timeout=300, steps=1, oracle="compat"))
        try:
            report = checker.verify(_write(tmp_path, "features.py", FEATURES), name="features.py")
        finally:
            if checker is not verifier:
                checker.close()
        models = _models(report)
        assert set(models) == {"model", "get_first", "get_features"}, report.models
        for name in ("get_first", "get_features"):
            record = models[name]
            assert model_ok(record), (oracle, record)
            assert any("backend function (K.function)" in note for note in record["notes"]), record["notes"]
        assert any("learning phase 0" in note for note in models["get_features"]["notes"])
        assert report.ok


def test_nothing_here_imports_keras_into_check_or_migrate() -> None:
    """backend_function, which the compatibility layer and the oracle share, imports no Keras or TensorFlow."""
    import ast

    from conftest import ROOT

    tree = ast.parse((ROOT / "kerasfix" / "verify" / "backend_function.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in getattr(node, "names", [])}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not imported & {"keras", "tensorflow", "tf_keras", "jax", "torch"}
