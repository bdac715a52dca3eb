"""The migrated example programs run under Keras 3: every `fixtures/scripts/<name>.fixed.py` (and any other
fixture with a `.fixed.py` and a `.models.toml`) is run as `__main__` in a fresh interpreter, on synthetic
data of the shapes `keras.datasets` documents, with training cut to one short epoch. It must exit 0, and
each model named in `<name>.models.toml` must have the hand-computed number of parameters.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# slow: builds models or runs many CLI processes; CI runs it, `-m "not slow"` leaves it out
pytestmark = pytest.mark.slow

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# Run before the script: synthetic datasets, and fit/evaluate cut down to a couple of batches.
BOOTSTRAP = textwrap.dedent(
    '''
    """Runs a script as __main__ with synthetic keras.datasets and short training; writes its models' sizes."""
    import json
    import os
    import runpy
    import sys

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("MPLBACKEND", "Agg")

    import numpy as np
    import keras

    RNG = np.random.default_rng(0)
    STEPS = 2


    def images(count, shape, classes, label_shape):
        x = RNG.integers(0, 256, size=(count, *shape), dtype=np.uint8)
        y = RNG.integers(0, classes, size=(count, *label_shape), dtype=np.uint8)
        return x, y


    def image_data(train, test, shape, classes, label_shape=()):
        def load_data(*args, **kwargs):
            return images(train, shape, classes, label_shape), images(test, shape, classes, label_shape)

        return load_data


    def sequences(count, num_words, maxlen, start_char, oov_char, index_from, classes, skip_top):
        top = num_words if num_words else 10000
        longest = maxlen if maxlen else 200
        result = []
        for _ in range(count):
            length = int(RNG.integers(min(10, longest), longest + 1))
            words = RNG.integers(index_from, max(top, index_from + 1), size=length - 1)
            if skip_top:
                words = np.where(words < skip_top + index_from, oov_char, words)
            result.append([start_char, *words.tolist()])
        x = np.empty(count, dtype=object)
        x[:] = result
        y = RNG.integers(0, classes, size=count).astype(np.int64)
        return x, y


    def text_data(train, test, classes):
        def load_data(path=None, num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2, index_from=3, **kwargs):
            def one(count):
                return sequences(count, num_words, maxlen, start_char, oov_char, index_from, classes, skip_top)

            return one(train), one(test)

        return load_data


    def word_index(*args, **kwargs):
        return {f"word{i}": i for i in range(1, 10001)}


    def boston_housing(*args, **kwargs):
        def split(count):
            return RNG.random((count, 13)) * 100, RNG.random(count) * 50

        return split(404), split(102)


    datasets = keras.datasets
    datasets.mnist.load_data = image_data(60000, 10000, (28, 28), 10)
    datasets.fashion_mnist.load_data = image_data(60000, 10000, (28, 28), 10)
    datasets.cifar10.load_data = image_data(50000, 10000, (32, 32, 3), 10, (1,))
    datasets.cifar100.load_data = image_data(50000, 10000, (32, 32, 3), 100, (1,))
    datasets.imdb.load_data = text_data(25000, 25000, 2)
    datasets.imdb.get_word_index = word_index
    datasets.reuters.load_data = text_data(8982, 2246, 46)
    datasets.reuters.get_word_index = word_index
    datasets.boston_housing.load_data = boston_housing

    _fit, _evaluate = keras.Model.fit, keras.Model.evaluate


    def short_fit(self, *args, **kwargs):
        # Positional arguments past x and y are rare in scripts; keywords are rewritten.
        kwargs["epochs"] = kwargs.get("initial_epoch", 0) + 1
        kwargs["steps_per_epoch"] = min(kwargs.get("steps_per_epoch") or STEPS, STEPS)
        if kwargs.get("validation_data") is not None or kwargs.get("validation_split"):
            kwargs["validation_steps"] = min(kwargs.get("validation_steps") or STEPS, STEPS)
        kwargs.setdefault("verbose", 2)
        return _fit(self, *args[:2], **kwargs)


    def short_evaluate(self, *args, **kwargs):
        kwargs["steps"] = min(kwargs.get("steps") or STEPS, STEPS)
        return _evaluate(self, *args, **kwargs)


    keras.Model.fit = short_fit
    keras.Model.evaluate = short_evaluate

    script, report = sys.argv[1], sys.argv[2]
    sys.argv = [script]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    namespace = runpy.run_path(script, run_name="__main__")
    sizes = {name: value.count_params() for name, value in namespace.items() if isinstance(value, keras.Model) and value.built}
    with open(report, "w") as handle:
        json.dump(sizes, handle)
    '''
)


def _scripts() -> list[Path]:
    found = {path for path in (FIXTURES / "scripts").glob("*.fixed.py")}
    found |= {path.with_name(path.name[: -len(".models.toml")] + ".fixed.py") for path in FIXTURES.rglob("*.models.toml")}
    return sorted(path for path in found if path.exists())


SCRIPTS = _scripts()


@pytest.mark.tensorflow
@pytest.mark.parametrize("script", SCRIPTS, ids=[str(p.relative_to(FIXTURES)) for p in SCRIPTS])
def test_fixed_script_runs_under_keras3(script: Path, tmp_path: Path) -> None:
    bootstrap = tmp_path / "bootstrap.py"
    bootstrap.write_text(BOOTSTRAP, encoding="utf-8")
    report = tmp_path / "models.json"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0", CUDA_VISIBLE_DEVICES="")
    result = subprocess.run(
        [sys.executable, str(bootstrap), str(script), str(report)],
        cwd=tmp_path,  # files the script writes (saved models) land here
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"{script.name} failed under Keras 3:\n{result.stderr[-6000:]}"
    sizes = json.loads(report.read_text())
    expected_path = script.with_name(script.name[: -len(".fixed.py")] + ".models.toml")
    if not expected_path.exists():
        return
    expected = tomllib.loads(expected_path.read_text(encoding="utf-8")).get("models", {})
    for name, facts in expected.items():
        assert name in sizes, f"{script.name}: no built Keras model named `{name}` at the end of the run (found {sorted(sizes)})"
        assert sizes[name] == facts["total_params"], f"{script.name}: `{name}` has {sizes[name]} parameters, the hand count is {facts['total_params']}"


def test_there_are_scripts_to_run() -> None:
    assert SCRIPTS, "no fixtures/scripts/*.fixed.py"
