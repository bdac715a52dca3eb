"""`check` never imports TensorFlow or Keras: measured with `python -X importtime`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

KERAS_FILE = (
    "import tensorflow as tf\n"
    "from keras.layers import Input, merge\n"
    "from keras.models import Model\n"
    "a = Input(shape=(2,))\n"
    "b = merge([a, a], mode='sum')\n"
    "model = Model(input=a, output=b)\n"
)


def _imported_modules(*args: str) -> set[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "kerasfix", *args], env=env, capture_output=True, text=True, cwd=ROOT
    )
    modules = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            modules.add(line.rsplit("|", 1)[1].strip())
    assert modules, result.stderr[-2000:]
    return modules


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras", "jax", "torch")}


def test_check_does_not_import_tensorflow_or_keras(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(KERAS_FILE)
    modules = _imported_modules("check", str(path))
    assert "libcst" in modules  # the file was really parsed
    assert not _heavy(modules)


def test_migrate_does_not_import_tensorflow_or_keras(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(KERAS_FILE)
    assert not _heavy(_imported_modules("migrate", "--diff", str(path)))


def test_a_file_without_keras_loads_neither_libcst_nor_rich(tmp_path: Path) -> None:
    # what a pre-commit run on an unrelated file pays for: configuration and the file walk only
    path = tmp_path / "plain.py"
    path.write_text("import os\nprint(os.getcwd())\n")
    _imported_modules("check", str(path))  # the first run of changed rules builds their index (kerasfix/registry.py)
    modules = _imported_modules("check", str(path))
    assert "kerasfix.config" in modules
    assert not {m for m in modules if m.split(".")[0] in ("libcst", "rich")}
