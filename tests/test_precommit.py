"""The hooks in .pre-commit-hooks.yaml, run by the real `pre-commit try-repo` against this checkout.

`pre-commit` installs the hook into a virtualenv of its own with pip (`pip install .` of the
repository, dependencies from the package index), so these tests also prove the package builds and
its console script works outside the source tree. `try-repo` takes the checkout's committed state
plus its tracked, uncommitted changes (not untracked files).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("pre_commit")
pytestmark = [
    pytest.mark.slow,  # each try-repo builds kerasfix and installs it into a new virtualenv (~10 s)
    pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git"),
    pytest.mark.skipif(not (ROOT / ".git").exists(), reason="try-repo needs the kerasfix checkout to be a git repository"),
]

LEGACY = "from keras.models import Model\n\nmodel = Model(input=x, output=y)\n"
MIGRATED = "from keras.models import Model\n\nmodel = Model(inputs=x, outputs=y)\n"
NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": ["merge([a, b], mode='concat')"]},
        {
            "cell_type": "code",
            "execution_count": 3,
            "id": "c1",
            "metadata": {"tags": ["t"]},
            "outputs": [{"name": "stdout", "output_type": "stream", "text": ["ok\n"]}],
            "source": ["%matplotlib inline\n", "from keras.layers import Input, merge\n", "a = Input(shape=(2,))\n", "c = merge([a, a], mode='concat')"],
        },
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Keeps pre-commit away from ~/.cache/pre-commit.  (try-repo itself installs each hook into a
    # store in its own temporary directory, so the environment is built once per invocation.)
    return tmp_path_factory.mktemp("pre-commit-home")


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") and k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    # without PYTHONPATH the hook runs the kerasfix that pre-commit installed, not this source tree
    env.update(PRE_COMMIT_HOME=str(home), NO_COLOR="1", PRE_COMMIT_COLOR="never")
    return env


def _git(repo: Path, *args: str, env: dict[str, str]) -> None:
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, timeout=60)


def _make_repo(path: Path, files: dict[str, str], env: dict[str, str]) -> Path:
    path.mkdir()
    _git(path, "-c", "init.defaultBranch=main", "init", "-q", env=env)
    for name, text in files.items():
        (path / name).write_text(text, encoding="utf-8")
    _git(path, "add", ".", env=env)  # --all-files runs on the files git knows
    return path


def _try_repo(repo: Path, hook: str, home: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), hook, "--all-files", "--color", "never"],
        cwd=repo,
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode not in (0, 1) or "An unexpected error has occurred" in result.stdout + result.stderr:
        # e.g. `pip install .` of the checkout failed: the hook cannot be installed at all
        log = next(Path(home).rglob("pre-commit.log"), None)
        details = log.read_text(errors="replace")[-4000:] if log else ""
        pytest.fail(f"pre-commit could not install or run the {hook} hook:\n{result.stdout}\n{result.stderr}\n{details}")
    return result


def _hook_ran(result: subprocess.CompletedProcess, hook: str) -> str:
    """pre-commit's report for the hook; fails the test when pre-commit never got to run it."""
    out = result.stdout
    name = {"kerasfix": "kerasfix check", "kerasfix-migrate": "kerasfix migrate"}[hook]
    assert any(line.startswith(name + ".") for line in out.splitlines()), out + result.stderr
    return out


def test_check_hook_fails_on_legacy_code_and_passes_on_clean_code(tmp_path: Path, pre_commit_home: Path) -> None:
    env = _env(pre_commit_home)
    repo = _make_repo(
        tmp_path / "legacy",
        {"model.py": LEGACY, "train.ipynb": json.dumps(NOTEBOOK, indent=1) + "\n", "notes.txt": LEGACY},
        env,
    )
    result = _try_repo(repo, "kerasfix", pre_commit_home)
    out = _hook_ran(result, "kerasfix")
    assert result.returncode == 1, out
    assert "kerasfix check" in out and "Failed" in out
    assert "model.py:3:9: KF102" in out
    assert "train.ipynb:cell 2:4:5: KF101" in out
    assert "notes.txt" not in out  # not a Python file: pre-commit does not pass it
    assert (repo / "model.py").read_text() == LEGACY  # check never writes

    clean = _make_repo(tmp_path / "clean", {"model.py": MIGRATED, "notes.txt": LEGACY}, env)
    result = _try_repo(clean, "kerasfix", pre_commit_home)
    out = _hook_ran(result, "kerasfix")
    assert result.returncode == 0, out
    assert "Passed" in out


def test_migrate_hook_fixes_the_files_then_passes(tmp_path: Path, pre_commit_home: Path) -> None:
    env = _env(pre_commit_home)
    repo = _make_repo(tmp_path / "repo", {"model.py": LEGACY, "train.ipynb": json.dumps(NOTEBOOK, indent=1) + "\n", "notes.txt": LEGACY}, env)
    first = _try_repo(repo, "kerasfix-migrate", pre_commit_home)
    out = _hook_ran(first, "kerasfix-migrate")
    assert first.returncode == 1, out
    assert "kerasfix migrate" in out and "Failed" in out
    assert "files were modified by this hook" in out
    assert (repo / "model.py").read_text() == MIGRATED
    notebook = json.loads((repo / "train.ipynb").read_text())
    assert notebook["cells"][1]["source"] == ["%matplotlib inline\n", "from keras.layers import Input, concatenate\n", "a = Input(shape=(2,))\n", "c = concatenate([a, a])"]
    assert notebook["cells"][1]["outputs"] == NOTEBOOK["cells"][1]["outputs"]
    assert notebook["cells"][0] == NOTEBOOK["cells"][0]
    assert (repo / "notes.txt").read_text() == LEGACY

    _git(repo, "add", ".", env=env)
    second = _try_repo(repo, "kerasfix-migrate", pre_commit_home)
    out = _hook_ran(second, "kerasfix-migrate")
    assert second.returncode == 0, out
    assert "Passed" in out
    assert (repo / "model.py").read_text() == MIGRATED
