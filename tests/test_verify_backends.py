"""`kerasfix verify --backend tensorflow,jax,torch` and `--oracle`: each backend builds the migrated program in a
worker process of its own with TensorFlow's weights, agrees with TensorFlow on one batch within 1e-4 and trains
to finite losses; a program that only TensorFlow can run fails on the others; the real Keras 2 (tf-keras) builds
the original of Keras 2 code, the compatibility layer that of Keras 1 code; a missing backend is a usage error.

The workers are real processes under the default sandbox; one verifier serves the module. JAX, PyTorch and
tf-keras are skipped where they are not installed (CI installs them: see .ci/run).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import ROOT, run_kerasfix

VERIFY = ROOT / "fixtures" / "verify"
TOLERANCE = 1e-4  # README: outputs of two backends, float32, same weights and batch

KERAS2_PROGRAM = textwrap.dedent(
    """\
    # A tf.keras 2 program: a text classifier with an embedding, a recurrent layer, normalisation and dropout.
    import tensorflow as tf
    from tensorflow.keras import layers

    tokens = tf.keras.Input(shape=(12,), dtype="int32")
    x = layers.Embedding(50, 8)(tokens)
    x = layers.Conv1D(6, 3, padding="same", activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.LSTM(5)(x)
    x = layers.Dropout(0.3)(x)
    classes = layers.Dense(3, activation="softmax")(x)
    model = tf.keras.Model(tokens, classes)
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3, decay=1e-6), loss="categorical_crossentropy")
    """
)

# Runs on TensorFlow only: a TensorFlow function inside the model. JAX cannot trace it while the model is built;
# PyTorch's eager tensors pass through it by way of NumPy while nothing needs a gradient, so PyTorch builds the
# model and then fails to train the Dense layer below the Lambda.
TENSORFLOW_ONLY = textwrap.dedent(
    """\
    import tensorflow as tf
    from tensorflow.keras import layers

    inputs = tf.keras.Input(shape=(4,))
    hidden = layers.Dense(3)(inputs)
    hidden = layers.Lambda(lambda t: tf.math.softplus(t) * tf.cast(tf.shape(t)[1], tf.float32))(hidden)
    model = tf.keras.Model(inputs, layers.Dense(2)(hidden))
    """
)


def _need(module: str, extra: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed: {extra} (CI installs it)")


@pytest.fixture(scope="module")
def verifier():
    pytest.importorskip("tensorflow")
    _need("jax", "pip install -e '.[jax]'")
    _need("torch", "pip install -e '.[torch]'")
    from kerasfix.verify.command import Options, Verifier

    instance = Verifier(Options(timeout=240, steps=2, backends=("tensorflow", "jax", "torch")))
    instance.start()
    yield instance
    instance.close()


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _agrees(record: dict, backends: tuple[str, ...] = ("jax", "torch")) -> None:
    for backend in backends:
        entry = record["backends"][backend]
        assert entry["error"] is None, (backend, entry["error"])
        assert entry["built"] and entry["trained"], (backend, entry)
        assert entry["max_output_diff"] is not None and entry["max_output_diff"] <= TOLERANCE, (backend, entry)
        assert len(entry["loss"]) == 2 and all(value == value and abs(value) < float("inf") for value in entry["loss"])


@pytest.mark.slow
@pytest.mark.tensorflow
def test_a_keras2_program_verifies_on_three_backends_against_tf_keras(verifier, tmp_path: Path) -> None:
    _need("tf_keras", "pip install --no-deps 'tf-keras==2.21.*'")
    report = verifier.verify(_write(tmp_path, "classifier.py", KERAS2_PROGRAM), name="classifier.py")
    [record] = report.models
    assert record["oracle"] == "tf-keras"
    assert record["error"] is None and record["shapes_match"] and record["params_match"], record
    assert record["max_output_diff"] is not None and record["max_output_diff"] <= 1e-5
    assert set(record["backends"]) == {"tensorflow", "jax", "torch"}
    assert record["backends"]["tensorflow"]["trained"] and record["backends"]["tensorflow"]["max_output_diff"] is None
    _agrees(record)
    assert report.ok
    assert any("tf-keras" in note for note in report.notes)


@pytest.mark.slow
@pytest.mark.tensorflow
def test_the_tf_keras_oracle_catches_a_migration_that_changes_the_model(verifier, tmp_path: Path) -> None:
    _need("tf_keras", "pip install --no-deps 'tf-keras==2.21.*'")
    path = _write(tmp_path, "classifier.py", KERAS2_PROGRAM)
    tampered = KERAS2_PROGRAM.replace("layers.LSTM(5)", "layers.LSTM(7)")
    report = verifier.verify(path, name="classifier.py", migrated_text=tampered)
    [record] = report.models
    assert record["oracle"] == "tf-keras"
    assert record["shapes_match"] is False and record["params_match"] is False
    assert any("LSTM" in difference for difference in record["differences"])
    assert not report.ok


@pytest.mark.slow
@pytest.mark.tensorflow
def test_keras1_code_keeps_the_compatibility_layer_and_runs_on_every_backend(verifier) -> None:
    report = verifier.verify(VERIFY / "merge_sequentials.py", name="merge_sequentials.py")
    assert report.models
    for record in report.models:
        assert record["oracle"] == "compat"
        assert record["error"] is None, record["error"]
        _agrees(record)
    assert report.ok


@pytest.mark.slow
@pytest.mark.tensorflow
def test_code_only_tensorflow_runs_fails_on_the_other_backends(verifier, tmp_path: Path) -> None:
    report = verifier.verify(_write(tmp_path, "softplus.py", TENSORFLOW_ONLY), name="softplus.py")
    [record] = report.models
    assert record["backends"]["tensorflow"]["built"] and record["backends"]["tensorflow"]["trained"]
    jax, torch = record["backends"]["jax"], record["backends"]["torch"]
    assert not jax["built"] and jax["error"] is not None, jax
    assert not torch["trained"] and torch["error"] is not None, torch
    assert "numpy" in torch["error"]["message"], torch["error"]
    assert not report.ok


@pytest.mark.slow
@pytest.mark.tensorflow
def test_json_reports_each_backend_per_model(tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    _need("jax", "pip install -e '.[jax]'")
    path = _write(tmp_path, "classifier.py", KERAS2_PROGRAM)
    result = run_kerasfix("verify", str(path), "--backend", "jax", "--oracle", "compat", "--format", "json",
                          "--timeout", "240", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert set(data["backends"]) == {"jax"}
    [model] = data["models"]
    assert model["oracle"] == "compat" and model["verified"]
    assert set(model["backends"]) == {"tensorflow", "jax"}
    assert {"built", "max_output_diff", "trained", "loss", "error"} <= set(model["backends"]["jax"])
    assert model["backends"]["jax"]["max_output_diff"] <= TOLERANCE


def _cli_without(module: str, *args: str) -> subprocess.CompletedProcess:
    """The CLI in a process where `module` cannot be imported (as if it were not installed)."""
    code = f"import sys; sys.modules[{module!r}] = None; from kerasfix.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("module", "extra"), [("jax", "jax"), ("torch", "torch")])
def test_a_backend_that_is_not_installed_is_a_usage_error_naming_its_extra(module: str, extra: str) -> None:
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("needs TensorFlow: `verify` refuses to start without it before it looks at --backend")
    result = _cli_without(module, "verify", str(VERIFY / "merge_sequentials.py"), "--backend", f"tensorflow,{module}")
    assert result.returncode == 2
    assert f"--backend {module}" in result.stderr and f"pip install -e '.[{extra}]'" in result.stderr


def test_an_unknown_backend_or_a_missing_oracle_is_a_usage_error() -> None:
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("needs TensorFlow: `verify` refuses to start without it before it looks at --backend")
    result = _cli_without("jax", "verify", str(VERIFY / "merge_sequentials.py"), "--backend", "tensorflow,mxnet")
    assert result.returncode == 2 and "mxnet" in result.stderr and "jax, torch" in result.stderr
    result = _cli_without("tf_keras", "verify", str(VERIFY / "merge_sequentials.py"), "--oracle", "tf-keras")
    assert result.returncode == 2 and "tf-keras" in result.stderr and "--no-deps 'tf-keras==" in result.stderr


def _sweep_module():
    """benchmarks/verify_backends.py: the fixture list and the documented exceptions live there, once."""
    spec = importlib.util.spec_from_file_location("verify_backends_sweep", ROOT / "benchmarks" / "verify_backends.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The fixture groups the test sweeps, to stay near two minutes on two cores; fixtures/functional (three
# minutes) and fixtures/catalogue (seven) are swept by benchmarks/verify_backends.py with the same exceptions.
SWEPT_GROUPS = ("scripts", "portable", "verify")


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.tensorflow
def test_every_fixture_model_outside_the_exceptions_verifies_on_three_backends(verifier) -> None:
    from kerasfix.verify.results import VERIFIED, model_status

    sweep = _sweep_module()
    failures, checked = [], 0
    for group in SWEPT_GROUPS:
        for path in sweep.fixture_files(group):
            report = verifier.verify(path, name=str(path.relative_to(ROOT)))
            for record in report.models:
                if sweep.exception_for(path.name, record["name"]):
                    continue
                checked += 1
                backends = record.get("backends") or {}
                broken = {b: (backends.get(b) or {}).get("error") or (backends.get(b) or {}).get("differences")
                          for b in ("tensorflow", "jax", "torch")
                          if not ((backends.get(b) or {}).get("built") and (backends.get(b) or {}).get("trained"))
                          or (backends.get(b) or {}).get("error")}
                diffs = [(backends.get(b) or {}).get("max_output_diff") for b in ("jax", "torch")]
                if broken or model_status(record) != VERIFIED or any(d is None or d > TOLERANCE for d in diffs):
                    failures.append((path.name, record["name"], broken, diffs, record.get("differences")))
    assert checked > 0
    assert not failures, failures


# Keras 3 code (it imports keras.ops): tf-keras cannot build it, so the compatibility layer (Keras 3 itself) does.
KERAS3_PROGRAM = textwrap.dedent(
    """\
    import keras
    from keras import layers, ops

    inputs = keras.Input(shape=(6,))
    hidden = layers.Lambda(lambda t: ops.relu(t) * 2.0)(layers.Dense(4)(inputs))
    model = keras.Model(inputs, layers.Dense(1)(hidden))
    """
)


@pytest.mark.slow
@pytest.mark.tensorflow
def test_a_program_tf_keras_cannot_import_falls_back_to_the_compatibility_layer(tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    if importlib.util.find_spec("tf_keras") is None:
        pytest.skip("tf-keras is not installed (CI installs it)")
    program = _write(tmp_path, "keras3_model.py", KERAS3_PROGRAM)
    result = run_kerasfix("verify", "--output-format", "json", str(program), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    [record] = report["models"]
    assert record["status"] == "verified" and record["oracle"] == "compat", record
    [note] = [entry["note"] for entry in report["notes"] if "tf-keras" in entry["note"]]
    assert "cannot import name 'ops'" in note
