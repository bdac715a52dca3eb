"""Shared test setup: skip TensorFlow-marked tests where TensorFlow is not installed."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config, items):
    if importlib.util.find_spec("tensorflow") is not None:
        return
    skip = pytest.mark.skip(reason="needs TensorFlow (pip install kerasfix[verify])")
    for item in items:
        if "tensorflow" in item.keywords:
            item.add_marker(skip)


# A small Keras 1 program and what `migrate` makes of it, for tests about files rather than rules.
LEGACY = (
    "from keras.layers import Dense, Dropout\n"
    "from keras.models import Sequential\n"
    "\n"
    "model = Sequential()\n"
    "model.add(Dense(output_dim=10, input_dim=4))\n"
    "model.add(Dropout(p=0.5))\n"
)
MIGRATED = LEGACY.replace("output_dim=10", "units=10").replace("p=0.5", "rate=0.5")


def run_kerasfix(*args: str, cwd: Path | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    """Run the CLI as users do, in a separate process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), NO_COLOR="1")
    return subprocess.run(
        [sys.executable, "-m", "kerasfix", *args],
        cwd=cwd or ROOT,
        env=env,
        capture_output=True,
        text=True,
        input=input,
        timeout=300,
    )
