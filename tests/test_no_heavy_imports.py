"""`check` never imports TensorFlow or Keras: measured with `python -X importtime`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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
    return _modules_in(result.stderr)


def _modules_in(stderr: str) -> set[str]:
    """The modules `python -X importtime` says it imported."""
    modules = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            modules.add(line.rsplit("|", 1)[1].strip())
    assert modules, stderr[-2000:]
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


def test_the_language_server_does_not_import_tensorflow_or_keras(tmp_path: Path) -> None:
    pytest.importorskip("pygls")
    from lsp_client import LspClient

    stderr = tmp_path / "stderr.txt"
    client = LspClient(tmp_path, stderr, python_options=("-X", "importtime"))
    try:
        client.initialize(tmp_path)
        uri = client.open(tmp_path / "model.py", KERAS_FILE)
        assert client.diagnostics(uri)  # the file was analysed, its findings published
        position = {"line": 0, "character": 0}
        client.request("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": {"start": position, "end": position}, "context": {"diagnostics": []}})
    finally:
        client.close()
    modules = _modules_in(stderr.read_text())
    assert {"libcst", "pygls"} <= modules
    assert not _heavy(modules)
