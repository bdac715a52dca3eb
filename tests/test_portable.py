"""`--target portable` (issue 15, point 1): TensorFlow calls in model code rewritten to keras.ops and
keras.random (KF502), dtype constants (KF503), calls with no portable counterpart (KF504), `train_step`
with `tf.GradientTape` (KF505), and the KF501 fix of TensorFlow ops on Keras tensors, which shares
KF502's table and code. The fixture programs are fixtures/portable/*.py."""

from __future__ import annotations

import ast
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import cli, findings, migrate

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = sorted((ROOT / "fixtures" / "portable").glob("*.py"))
HEAD = "import tensorflow as tf\nfrom tensorflow import keras\n\n\n"


def _codes(text: str, target: str = "portable") -> list[str]:
    return [finding.code for finding in findings(text, target=target)]


def _model_code_lines(text: str) -> list[tuple[int, str]]:
    """The lines of a fixture program outside its `if __name__ == "__main__":` block and its comments:
    its model code and the Functional construction around it."""
    tree = ast.parse(text)
    main = [
        node for node in tree.body
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare) and ast.unparse(node.test.left) == "__name__"
    ]
    skipped = {line for node in main for line in range(node.lineno, node.end_lineno + 1)}
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        if number not in skipped and code.strip():
            lines.append((number, code))
    return lines


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> dict[str, tuple[str, str, str]]:
    """Each fixture program: (original, after `migrate --target portable --unsafe-fixes`, what the CLI said)."""
    folder = tmp_path_factory.mktemp("portable")
    for program in PROGRAMS:
        shutil.copy(program, folder / program.name)
    result = cli("migrate", "--target", "portable", "--unsafe-fixes", "--no-cache", str(folder), cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    return {p.name: (p.read_text(), (folder / p.name).read_text(), result.stdout) for p in PROGRAMS}


def test_there_are_fixture_programs_of_every_kind_the_issue_names() -> None:
    texts = "\n".join(program.read_text() for program in PROGRAMS)
    for kind in ("class SelfAttention", "class PositionalEmbedding", "class Sampling", "crf_like_loss", "tf.random.uniform", "layers.Lambda("):
        assert kind in texts, kind


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda path: path.name)
def test_no_tensorflow_is_left_in_model_code(migrated, program: Path) -> None:
    original, fixed, _ = migrated[program.name]
    assert any("tf." in code for _, code in _model_code_lines(original)), "the fixture has no TensorFlow call to rewrite"
    left = [(number, code) for number, code in _model_code_lines(fixed) if "tf." in code]
    assert not left, f"{program.name} still calls TensorFlow in model code: {left}"
    compile(fixed, program.name, "exec")
    # the input pipeline is not model code: what it used stays as it was
    main_before = [line for line in original.splitlines() if "tf.data" in line]
    assert all(line in fixed.splitlines() for line in main_before)


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda path: path.name)
def test_a_second_migration_changes_nothing(migrated, program: Path, tmp_path: Path) -> None:
    _, fixed, _ = migrated[program.name]
    path = tmp_path / program.name
    path.write_text(fixed)
    result = cli("migrate", "--target", "portable", "--unsafe-fixes", "--no-cache", "--check", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert path.read_text() == fixed


def test_the_folder_config_asks_for_the_portable_target(tmp_path: Path) -> None:
    for program in PROGRAMS:
        shutil.copy(program, tmp_path / program.name)
    shutil.copy(ROOT / "fixtures" / "portable" / "pyproject.toml", tmp_path / "pyproject.toml")
    result = cli("check", "--no-cache", "--output-format", "json", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert '"KF502"' in result.stdout


def test_without_the_portable_target_model_code_keeps_tensorflow() -> None:
    for program in PROGRAMS:
        codes = _codes(program.read_text(), target="keras")
        assert not [code for code in codes if code in ("KF502", "KF503", "KF504", "KF505")], program.name


def test_portable_is_a_target_of_the_command_line_and_the_config(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.kerasfix]\ntarget = "portable"\n')
    (tmp_path / "layer.py").write_text(HEAD + "class Norm(keras.layers.Layer):\n    def call(self, x):\n        return tf.reduce_sum(x, axis=-1)\n")
    assert cli("check", "--no-cache", "layer.py", cwd=tmp_path).returncode == 1
    assert cli("check", "--no-cache", "--target", "keras", "layer.py", cwd=tmp_path).returncode == 0
    (tmp_path / "pyproject.toml").write_text('[tool.kerasfix]\ntarget = "jax"\n')
    bad = cli("check", "--no-cache", "layer.py", cwd=tmp_path)
    assert bad.returncode == 2 and "portable" in bad.stderr


# --- what is model code ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        HEAD + "class Norm(keras.layers.Layer):\n    def call(self, x):\n        return tf.reduce_sum(x, axis=-1)\n",
        HEAD + "class Head(keras.Model):\n    def call(self, x):\n        return tf.nn.relu(x)\n",
        HEAD + "class Smooth(keras.losses.Loss):\n    def call(self, y_true, y_pred):\n        return tf.reduce_mean(tf.abs(y_true - y_pred))\n",
        HEAD + "class Base(keras.layers.Layer):\n    pass\n\n\nclass Child(Base):\n    def call(self, x):\n        return tf.exp(x)\n",
        HEAD + "def mae(y_true, y_pred):\n    return tf.reduce_mean(tf.abs(y_true - y_pred))\n\n\nmodel.compile('adam', loss=mae)\n",
        HEAD + "def mae(y_true, y_pred):\n    return tf.reduce_mean(tf.abs(y_true - y_pred))\n\n\nmodel.compile('adam', 'mse', [mae])\n",
        HEAD + "def weighted(w):\n    def loss(y_true, y_pred):\n        return w * tf.reduce_mean(y_pred)\n    return loss\n\n\nmodel.compile('adam', loss=weighted(2.0))\n",
        HEAD + "def squash(t):\n    return tf.tanh(t)\n\n\ny = keras.layers.Lambda(squash)(x)\n",
        HEAD + "y = keras.layers.Lambda(lambda t: tf.tanh(t))(x)\n",
    ],
    ids=["layer", "model", "loss-class", "subclass-of-a-layer", "loss-function", "positional-metric", "loss-factory", "lambda-function", "lambda"],
)
def test_tensorflow_calls_in_model_code_are_found_and_rewritten(text: str) -> None:
    assert "KF502" in _codes(text)
    fixed = migrate(text, target="portable", unsafe=True)
    body = fixed.split("\n\n\n", 1)[1]
    assert "tf." not in body, fixed
    assert "from keras import ops" in fixed


@pytest.mark.parametrize(
    "text",
    [
        HEAD + "features = tf.reduce_sum(tf.ones((4, 3)), axis=0)\n",
        HEAD + "dataset = tf.data.Dataset.range(10).map(lambda x: tf.cast(x, tf.float32) * 2.0)\n",
        HEAD + "def preprocess(x):\n    return tf.image.resize(x, (32, 32))\n\n\ndataset = dataset.map(preprocess)\n",
        HEAD + "class Config:\n    def scale(self, x):\n        return tf.reduce_sum(x)\n",
    ],
    ids=["module-code", "data-pipeline", "pipeline-function", "plain-class"],
)
def test_code_that_is_not_model_code_is_left_alone(text: str) -> None:
    codes = _codes(text)
    assert not [code for code in codes if code in ("KF502", "KF503", "KF504", "KF505")], codes


# --- the rewrites -----------------------------------------------------------------------------------


def test_softmax_cross_entropy_takes_labels_first_whatever_the_keyword_order() -> None:
    text = HEAD + (
        "def xent(y_true, y_pred):\n"
        "    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=y_pred, labels=y_true))\n\n\n"
        "model.compile('adam', loss=xent)\n"
    )
    fixed = migrate(text, target="portable")
    assert "ops.mean(ops.categorical_crossentropy(y_true, y_pred, from_logits=True))" in fixed


def test_gather_with_batch_dims_is_reported_without_a_fix() -> None:
    text = HEAD + "class Pick(keras.layers.Layer):\n    def call(self, x, i):\n        return tf.gather(x, i, batch_dims=1)\n"
    found = [f for f in findings(text, target="portable") if f.code == "KF502"]
    assert len(found) == 1 and found[0].fix is None and "batch_dims" in found[0].message
    assert migrate(text, "KF502", target="portable", unsafe=True) == text


def test_gather_without_batch_dims_keeps_tensorflows_axis() -> None:
    text = HEAD + "class Pick(keras.layers.Layer):\n    def call(self, x, i):\n        return tf.gather(x, i)\n"
    assert "ops.take(x, i, axis=0)" in migrate(text, target="portable")


def test_random_calls_in_a_layer_draw_from_one_seed_generator_made_in_init() -> None:
    text = HEAD + (
        "class Noise(keras.layers.Layer):\n"
        "    def __init__(self, stddev, **kwargs):\n"
        "        super().__init__(**kwargs)\n"
        "        self.stddev = stddev\n\n"
        "    def call(self, x):\n"
        "        return x + tf.random.normal(tf.shape(x), stddev=self.stddev, seed=1) * tf.random.uniform(tf.shape(x))\n"
    )
    found = [f for f in findings(text, target="portable") if f.code == "KF502" and "random" in f.message]
    assert found and all(f.fix is not None and f.fix.applicability == "unsafe" for f in found)
    assert migrate(text, "KF502", target="portable") == text  # unsafe: not without --unsafe-fixes
    fixed = migrate(text, target="portable", unsafe=True)
    assert fixed.count("SeedGenerator(") == 1
    assert "        super().__init__(**kwargs)\n        self.seed_generator = random.SeedGenerator(1)\n" in fixed
    assert fixed.count("seed=self.seed_generator") == 2


def test_a_layer_without_init_gets_one_for_its_seed_generator() -> None:
    text = HEAD + "class Drop(keras.layers.Layer):\n    def call(self, x):\n        return tf.nn.dropout(x, rate=0.2)\n"
    fixed = migrate(text, target="portable", unsafe=True)
    assert "    def __init__(self, **kwargs):\n        super().__init__(**kwargs)\n        self.seed_generator = random.SeedGenerator()\n" in fixed
    assert "random.dropout(x, rate=0.2, seed=self.seed_generator)" in fixed


def test_a_random_call_outside_a_layer_is_rewritten_without_a_generator() -> None:
    text = HEAD + "def noisy(y_true, y_pred):\n    return tf.reduce_mean(y_pred + tf.random.normal(tf.shape(y_pred)))\n\n\nmodel.compile('adam', loss=noisy)\n"
    fixed = migrate(text, target="portable", unsafe=True)
    assert "random.normal(ops.shape(y_pred), dtype='float32')" in fixed and "SeedGenerator" not in fixed


def test_dtype_constants_become_strings_safely_only_as_arguments() -> None:
    text = HEAD + (
        "class Cast(keras.layers.Layer):\n    def call(self, x):\n"
        "        if x.dtype == tf.int64:\n            x = keras.ops.cast(x, tf.float32)\n        return x\n"
    )
    kinds = {f.fix.applicability for f in findings(text, target="portable") if f.code == "KF503"}
    assert kinds == {"safe", "unsafe"}
    assert 'keras.ops.cast(x, "float32")' in migrate(text, target="portable")
    assert 'x.dtype == "int64"' in migrate(text, target="portable", unsafe=True)


def test_string_dtype_and_calls_without_portable_counterpart_are_reported() -> None:
    text = HEAD + (
        "class Words(keras.layers.Layer):\n    def call(self, x):\n"
        "        words = tf.strings.split(x)\n        return tf.cast(words, tf.string)\n"
    )
    found = findings(text, target="portable")
    assert any(f.code == "KF504" and "input pipeline" in f.message for f in found)
    assert any(f.code == "KF503" and f.fix is None for f in found)


def test_a_train_step_that_only_computes_a_loss_is_pointed_to_compute_loss() -> None:
    text = HEAD + (
        "class Net(keras.Model):\n    def train_step(self, data):\n        x, y = data\n"
        "        with tf.GradientTape() as tape:\n            loss = keras.ops.mean((self(x, training=True) - y) ** 2)\n"
        "        grads = tape.gradient(loss, self.trainable_variables)\n"
        "        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))\n"
        "        for metric in self.metrics:\n            metric.update_state(loss)\n"
        "        return {m.name: m.result() for m in self.metrics}\n"
    )
    [finding] = [f for f in findings(text, target="portable") if f.code == "KF505"]
    assert "compute_loss" in finding.message


def test_a_train_step_doing_more_is_pointed_to_the_per_backend_guides() -> None:
    text = HEAD + (
        "class Gan(keras.Model):\n    def train_step(self, data):\n"
        "        with tf.GradientTape() as d_tape:\n            d_loss = self.d_loss(data)\n"
        "        self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss, self.d.trainable_weights), self.d.trainable_weights))\n"
        "        with tf.GradientTape() as g_tape:\n            g_loss = self.g_loss(data)\n"
        "        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_loss, self.g.trainable_weights), self.g.trainable_weights))\n"
        "        return {'d': d_loss, 'g': g_loss}\n"
    )
    messages = [f.message for f in findings(text, target="portable") if f.code == "KF505"]
    assert len(messages) == 2 and all("custom_train_step_in_jax" in m and "compute_loss" not in m for m in messages)


def test_keras_is_imported_as_keras_not_through_tensorflow() -> None:
    text = (
        "import tensorflow as tf\nfrom tensorflow.keras import layers\n\n\n"
        "class Norm(tf.keras.layers.Layer):\n    def call(self, x):\n        return tf.sqrt(tf.reduce_sum(tf.square(x), axis=-1))\n"
    )
    assert "KF506" in _codes(text)
    fixed = migrate(text, target="portable")
    assert fixed.startswith("import tensorflow as tf\nfrom keras import layers, ops\n\n\nclass Norm(layers.Layer):\n")
    assert "ops.sqrt(ops.sum(ops.square(x), axis=-1))" in fixed
    assert "tf.keras" not in fixed and "tensorflow.keras" not in fixed
    # without the portable target the file keeps its tf.keras style
    assert "KF506" not in _codes(text, target="keras")


# --- KF501: TensorFlow ops on Keras tensors, on any target ---------------------------------------------


@pytest.mark.parametrize("target", ["tf.keras", "keras", "portable"])
def test_tensorflow_ops_on_keras_tensors_are_rewritten_along_the_chain(target: str) -> None:
    text = (
        "import tensorflow as tf\nfrom tensorflow import keras\n\n"
        "inputs = keras.Input(shape=(8, 1))\nx = tf.squeeze(inputs, axis=-1)\n"
        "y = tf.concat([x, tf.nn.relu(x)], axis=-1)\nz = tf.reduce_mean(y, axis=-1, keepdims=True)\n"
        "model = keras.Model(inputs, keras.layers.Dense(1)(z))\n"
        "data = tf.reduce_sum(tf.ones((2, 8, 1)), axis=-1)\n"
    )
    assert _codes(text, target=target).count("KF501") == 4
    fixed = migrate(text, target=target)
    body = fixed.split("inputs = ", 1)[1]
    assert "tf.squeeze" not in body and "tf.concat" not in body and "tf.nn.relu" not in body and "tf.reduce_mean" not in body
    assert "data = tf.reduce_sum(tf.ones((2, 8, 1)), axis=-1)" in fixed  # not a Keras tensor: left alone
    assert "KF501" not in _codes(fixed, target=target)


# --- running the migrated programs ---------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.tensorflow
@pytest.mark.parametrize("backend", ["tensorflow", "jax", "torch"])
def test_the_migrated_programs_build_and_train_on_each_backend(migrated, tmp_path: Path, backend: str) -> None:
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    for name, (_, fixed, _) in migrated.items():
        path = tmp_path / name
        path.write_text(fixed)
        environment = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
        run = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, f"{name} on {backend}: {run.stderr[-3000:]}"
