"""`kerasfix summary` on programs it cannot read whole (issue 14, point 7): a layer class of the
program's own shows with its name and type and `?` for what is not worked out, and the layers around
it still show; a model built by a function that runs at module level and again inside `main()` is
listed once; a Keras 1 program is told that `migrate` comes first; a syntax error is reported as
`check` reports it. Through the CLI, as users run it."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, cli

# A fixture-like program: one custom layer, used by a Sequential at module level and by a Functional
# model that `build_model()` returns; `build_model()` runs at module level, and `main()` (under the
# main guard, so never run by kerasfix's reading of the module) calls it again.
PROGRAM = '''\
"""A small classifier with a layer of its own: the Sequential and the Functional model both use it."""
import keras
from keras import layers


class MyLayer(keras.layers.Layer):
    """Scales each feature by a learned factor."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, inputs):
        return inputs * self.scale


sequential = keras.Sequential([
    keras.Input(shape=(16,)),
    layers.Dense(8, activation="relu"),
    MyLayer(),
    layers.Dense(2, activation="softmax"),
])


def build_model(width=32):
    inputs = keras.Input(shape=(10,))
    x = layers.Dense(width, activation="relu")(inputs)
    x = MyLayer(name="scaled")(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inputs, outputs)


model = build_model()


def main():
    model = build_model()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.summary()


if __name__ == "__main__":
    main()
'''

# name, type, output shape, parameters, as Keras reports them; None where the source does not say
SEQUENTIAL = [
    ("dense", "Dense", [None, 8], 16 * 8 + 8),
    ("my_layer", "MyLayer", None, None),
    ("dense_1", "Dense", None, None),
]
FUNCTIONAL = [
    ("input_layer_1", "InputLayer", [None, 10], 0),
    ("dense_2", "Dense", [None, 32], 10 * 32 + 32),
    ("scaled", "MyLayer", None, None),
    ("dense_3", "Dense", None, None),
]


def _layers(model: dict) -> list[tuple]:
    return [(layer["name"], layer["type"], layer["output_shape"], layer["params"]) for layer in model["layers"]]


@pytest.fixture
def program(tmp_path: Path) -> Path:
    path = tmp_path / "classifier.py"
    path.write_text(PROGRAM, encoding="utf-8")
    return path


def test_every_layer_shows_and_each_model_once(program: Path) -> None:
    result = cli("summary", "--format", "json", program.name, cwd=program.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    models = json.loads(result.stdout)["models"]
    assert [(model["name"], model["kind"]) for model in models] == [("sequential", "Sequential"), ("model", "Functional")]
    sequential, functional = models
    assert _layers(sequential) == SEQUENTIAL
    assert _layers(functional) == FUNCTIONAL
    assert [layer["custom"] for layer in functional["layers"]] == [False, False, True, False]
    for model in models:
        assert model["total_params"] is None  # not a guess: MyLayer's weights are not worked out
        assert "`MyLayer` is a layer class this program defines" in model["note"]


def test_the_text_tables_are_not_empty(program: Path) -> None:
    result = cli("summary", program.name, cwd=program.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    text = result.stdout
    assert text.count("(Sequential ") == 1 and text.count("(Functional ") == 1, text
    for row in ("my_layer (MyLayer)", "scaled (MyLayer)", "dense_2 (Dense)", "dense_3 (Dense)", "input_layer_1 (InputLayer)"):
        assert row in text, text
    assert "352" in text and "136" in text
    assert "? (?)" not in text
    assert "is a layer class this program defines" in " ".join(text.split())


def test_a_model_built_again_by_an_uncalled_function_is_listed_once(tmp_path: Path) -> None:
    # build_model() is not called at module level here: it runs with its defaults, and so does main(),
    # which builds the same model again (it used to be listed twice: `build_model()` and `functional_1`)
    path = tmp_path / "train.py"
    path.write_text(PROGRAM.replace("model = build_model()\n\n\n", ""), encoding="utf-8")
    result = cli("summary", "--format", "json", path.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    models = json.loads(result.stdout)["models"]
    assert [model["name"] for model in models] == ["sequential", "build_model()"]
    assert [layer[1] for layer in _layers(models[1])] == ["InputLayer", "Dense", "MyLayer", "Dense"]


def test_a_keras1_program_is_told_to_migrate_first(tmp_path: Path) -> None:
    path = tmp_path / "keras1_cnn.py"
    shutil.copyfile(ROOT / "fixtures" / "scripts" / "keras1_cnn.py", path)
    before = path.read_bytes()
    result = cli("summary", path.name, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    text = " ".join(result.stdout.split())
    assert "keras1_cnn.py: note: this program uses Keras 1/2 APIs" in text, text
    assert "run `kerasfix migrate keras1_cnn.py` first" in text
    assert path.read_bytes() == before  # advice only: summary never writes

    result = cli("summary", "--format", "json", path.name, cwd=tmp_path)
    (note,) = json.loads(result.stdout)["notes"]
    assert note["file"] == "keras1_cnn.py" and "kerasfix migrate keras1_cnn.py" in note["note"]


def test_no_migrate_advice_when_migration_would_not_help(program: Path) -> None:
    result = cli("summary", "--format", "json", program.name, cwd=program.parent)
    assert json.loads(result.stdout)["notes"] == []


def test_a_syntax_error_is_reported_as_check_reports_it(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("import keras\n\nmodel = keras.Sequential([\n    keras.layers.Dense(2),\n])\nprint 'built'\n", encoding="utf-8")
    checked = cli("check", "--isolated", "--no-source", path.name, cwd=tmp_path)
    error_line = next(line for line in checked.stdout.splitlines() if "error:" in line)
    assert error_line.startswith("broken.py:6:1: error: syntax error: Missing parentheses")

    result = cli("summary", path.name, cwd=tmp_path)
    assert result.returncode == 1
    assert error_line in result.stdout.splitlines(), result.stdout
    assert "ParserSyntaxError" not in result.stdout and "parser error" not in result.stdout

    result = cli("summary", "--format", "json", path.name, cwd=tmp_path)
    (error,) = json.loads(result.stdout)["errors"]
    assert error == {"file": "broken.py", "error": error_line.split(": error: ", 1)[1], "line": 6, "column": 1}


@pytest.mark.tensorflow
def test_what_the_summary_states_agrees_with_keras(program: Path) -> None:
    """Names, types, and every shape and count the summary does state, against the models Keras builds."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    keras = pytest.importorskip("keras")
    keras.backend.clear_session()
    namespace = {"__name__": "kerasfix_program"}
    exec(compile(PROGRAM, str(program), "exec"), namespace)  # noqa: S102 - the program above
    result = cli("summary", "--format", "json", program.name, cwd=program.parent)
    static = {model["name"]: model for model in json.loads(result.stdout)["models"]}
    for name in ("sequential", "model"):
        runtime = namespace[name]
        assert [(layer.name, type(layer).__name__) for layer in runtime.layers] == [
            (layer["name"], layer["type"]) for layer in static[name]["layers"]
        ]
        for layer, record in zip(runtime.layers, static[name]["layers"]):
            if record["output_shape"] is not None:
                assert list(layer.output.shape) == record["output_shape"], layer.name
            if record["params"] is not None:
                assert layer.count_params() == record["params"], layer.name
