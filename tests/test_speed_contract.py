"""What the speed machinery must never change: the output and exit code of `check`.

The same tree is checked without the cache, with a cold and a warm cache, with one worker and with
the default pool, with the prefilter off, after cache entries are corrupted, and after `kerasfix clean`:
every run prints the same report and exits the same way. No timing is asserted here (see benchmarks/run.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, run_kerasfix

# slow: builds models or runs many CLI processes; CI runs it, `-m "not slow"` leaves it out
pytestmark = pytest.mark.slow

CACHE = ".kerasfix_cache"
NON_KERAS = "import os\n\n\ndef join(a, b):\n    return os.path.join(a, b)  # not input(), not Model\n"
BROKEN = "from keras.layers import merge\n\nx = merge([a, b]\n"
NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "id": "a", "metadata": {}, "outputs": [], "execution_count": None, "source": ["%matplotlib inline\n", "from keras.layers import Input, merge\n"]},
        {"cell_type": "code", "id": "b", "metadata": {}, "outputs": [], "execution_count": None, "source": ["a = Input(shape=(2,))\n", "b = merge([a, a], mode='sum')\n"]},
    ],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def kerasfix(*args: str, cwd: Path, **env: str) -> tuple[int, str]:
    # in a process of its own: worker pools, and KERASFIX_PREFILTER is read when kerasfix is imported
    result = run_kerasfix(*args, cwd=cwd, env=env)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, result.stdout


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """More files than the parallel threshold: legacy programs, plain Python, a notebook, broken files."""
    root = tmp_path_factory.mktemp("tree")
    programs = sorted(p for p in (ROOT / "fixtures").rglob("*.py") if not p.name.endswith(".fixed.py"))
    assert programs
    for copy in range(2):  # two copies: files of equal content at different paths, each reported under its own
        for path in programs:
            target = root / f"pkg{copy}" / path.parent.name / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    for index in range(12):
        (root / "plain" / f"util_{index}.py").parent.mkdir(exist_ok=True)
        (root / "plain" / f"util_{index}.py").write_text(NON_KERAS)
    (root / "notebook.ipynb").write_text(json.dumps(NOTEBOOK))
    (root / "broken.py").write_text(BROKEN)
    (root / "latin1.py").write_bytes(b"from keras.layers import merge\nname = '\xe9'\n")
    return root


def entries(root: Path) -> list[Path]:
    return sorted(p for p in (root / CACHE).rglob("*") if p.is_file() and not p.name.startswith(".") and p.parent.name != CACHE)


def test_the_report_is_the_same_with_and_without_the_cache_and_with_any_number_of_workers(tree: Path) -> None:
    shutil.rmtree(tree / CACHE, ignore_errors=True)
    reference = kerasfix("check", "--no-cache", ".", cwd=tree)
    assert reference[0] == 1 and "KF101" in reference[1] and "broken.py" in reference[1] and "latin1.py" in reference[1]
    assert not (tree / CACHE).exists()
    assert kerasfix("check", ".", cwd=tree) == reference  # cold: fills the cache
    assert entries(tree), "the cold run stored nothing"
    assert kerasfix("check", ".", cwd=tree) == reference  # warm
    assert kerasfix("check", "--jobs", "1", ".", cwd=tree) == reference
    assert kerasfix("check", "--jobs", "1", "--no-cache", ".", cwd=tree) == reference
    assert kerasfix("check", "--no-cache", ".", cwd=tree, KERASFIX_PREFILTER="0") == reference


def test_json_output_is_the_same_from_the_cache(tree: Path) -> None:
    fresh = kerasfix("check", "--no-cache", "--output-format", "json", ".", cwd=tree)
    kerasfix("check", "--output-format", "json", ".", cwd=tree)
    assert kerasfix("check", "--output-format", "json", ".", cwd=tree) == fresh


def test_the_prefilter_changes_no_finding(tree: Path) -> None:
    on = kerasfix("check", "--no-cache", "--output-format", "json", ".", cwd=tree)
    off = kerasfix("check", "--no-cache", "--output-format", "json", ".", cwd=tree, KERASFIX_PREFILTER="0")
    assert on == off


GARBAGE = [b"", b"{", b"not json", b"[]", b"null", b'{"findings": 5}', b'{"findings": [{"code": 1}]}', b'{"findings": [], "error": {"what": 1}}', b"\xff\xfe"]


def test_corrupt_cache_entries_are_ignored_and_replaced(tree: Path) -> None:
    reference = kerasfix("check", "--no-cache", ".", cwd=tree)
    shutil.rmtree(tree / CACHE, ignore_errors=True)
    kerasfix("check", ".", cwd=tree)
    stored = entries(tree)
    assert len(stored) > len(GARBAGE)
    for index, entry in enumerate(stored):  # every kind of damage, each on several entries
        entry.write_bytes(GARBAGE[index % len(GARBAGE)])
    for entry in stored[-3:]:
        entry.unlink()
        entry.mkdir()  # a directory where the entry should be
    assert kerasfix("check", ".", cwd=tree) == reference
    for entry in stored[:-3]:
        json.loads(entry.read_text(encoding="utf-8"))  # rewritten whole
    assert kerasfix("check", ".", cwd=tree) == reference


def test_a_changed_file_or_selection_is_not_answered_from_the_cache(tree: Path) -> None:
    kerasfix("check", ".", cwd=tree)
    plain = tree / "plain" / "util_0.py"
    original = plain.read_text()
    try:
        plain.write_text("from keras.models import Model\nm = Model(input=1, output=2)\n")
        changed = kerasfix("check", ".", cwd=tree)
        assert "plain/util_0.py:2:5: KF102" in changed[1]
        assert changed == kerasfix("check", "--no-cache", ".", cwd=tree)
    finally:
        plain.write_text(original)
    assert kerasfix("check", "--select", "KF102", ".", cwd=tree) == kerasfix("check", "--select", "KF102", "--no-cache", ".", cwd=tree)
    assert kerasfix("check", ".", cwd=tree) == kerasfix("check", "--no-cache", ".", cwd=tree)


def test_clean_removes_the_cache_and_nothing_else(tree: Path) -> None:
    reference = kerasfix("check", "--no-cache", ".", cwd=tree)
    kerasfix("check", ".", cwd=tree)
    assert (tree / CACHE).is_dir()
    files_before = sorted(p for p in tree.rglob("*") if CACHE not in p.parts)
    assert kerasfix("clean", cwd=tree) == (0, "Removed the cache.\n")
    assert not (tree / CACHE).exists()
    assert sorted(p for p in tree.rglob("*") if CACHE not in p.parts) == files_before
    assert kerasfix("clean", cwd=tree) == (0, "No cache to remove.\n")
    assert kerasfix("check", ".", cwd=tree) == reference
