"""`kerasfix check -` and `kerasfix migrate -`: the program on stdin, as editors and pre-commit-style
tools pipe a buffer through, run as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import LEGACY, MIGRATED, ROOT, run_kerasfix


def _run_bytes(*args: str, data: bytes, cwd: Path) -> subprocess.CompletedProcess:
    """The CLI with `data` as its stdin, stdout kept as bytes (what `migrate -` writes must be exact)."""
    import os

    environment = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1", PYTHONSAFEPATH="1")
    return subprocess.run([sys.executable, "-m", "kerasfix", *args], cwd=cwd, env=environment, input=data, capture_output=True, timeout=120)


def test_check_reads_the_program_from_stdin(tmp_path: Path) -> None:
    result = run_kerasfix("check", "-", "--no-source", input=LEGACY, cwd=tmp_path)
    assert result.returncode == 1
    assert "-:5:11: KF310" in result.stdout
    assert "-:6:11: KF311" in result.stdout
    clean = run_kerasfix("check", "-", input=MIGRATED, cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "All checks passed!" in clean.stdout


def test_stdin_filename_names_the_program_and_finds_its_configuration(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[tool.kerasfix]\nper-file-ignores = { "src/*" = ["KF311"] }\n', encoding="utf-8")
    result = run_kerasfix("check", "-", "--stdin-filename", "project/src/model.py", "--output-format", "json", input=LEGACY, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    found = json.loads(result.stdout)
    assert [(f["code"], f["filename"]) for f in found] == [("KF310", "project/src/model.py")]  # KF311 ignored for src/*
    elsewhere = run_kerasfix("check", "-", "--stdin-filename", "project/model.py", "--output-format", "json", input=LEGACY, cwd=tmp_path)
    assert sorted(f["code"] for f in json.loads(elsewhere.stdout)) == ["KF310", "KF311"]


def test_force_exclude_leaves_an_excluded_stdin_filename_alone(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.kerasfix]\nexclude = ["generated/"]\n', encoding="utf-8")
    checked = run_kerasfix("check", "-", "--stdin-filename", "generated/model.py", "--force-exclude", input=LEGACY, cwd=tmp_path)
    assert checked.returncode == 0 and "KF3" not in checked.stdout
    assert "skipped because of --force-exclude" in checked.stderr
    migrated = _run_bytes("migrate", "-", "--stdin-filename", "generated/model.py", "--force-exclude", data=LEGACY.encode(), cwd=tmp_path)
    assert migrated.returncode == 0 and migrated.stdout == LEGACY.encode()
    # without --force-exclude, a named program is checked whatever `exclude` says (as a named file is)
    assert run_kerasfix("check", "-", "--stdin-filename", "generated/model.py", input=LEGACY, cwd=tmp_path).returncode == 1


def test_migrate_writes_the_fixed_program_to_stdout_byte_for_byte(tmp_path: Path) -> None:
    data = ("\ufeff" + LEGACY).replace("\n", "\r\n").encode("utf-8")  # BOM and CRLF must come back as they were
    result = _run_bytes("migrate", "-", "--stdin-filename", "model.py", data=data, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("\ufeff" + MIGRATED).replace("\n", "\r\n").encode("utf-8")
    assert b"model.py: fixed 2" in result.stderr  # messages go to stderr, never into the program
    assert list(tmp_path.iterdir()) == []  # nothing written anywhere


def test_migrate_exit_codes_follow_the_contract(tmp_path: Path) -> None:
    # a finding without a fix (KF373) remains: the fixed program is still written, and the exit is 1
    remaining = LEGACY + "from keras import backend as K\nK.set_session(None)\n"
    result = _run_bytes("migrate", "-", data=remaining.encode(), cwd=tmp_path)
    assert result.stdout == (MIGRATED + "from keras import backend as K\nK.set_session(None)\n").encode()
    assert result.returncode == 1
    assert b"-:8:1: KF373 not fixed" in result.stderr
    assert _run_bytes("migrate", "-", "--exit-zero", data=remaining.encode(), cwd=tmp_path).returncode == 0
    nothing = _run_bytes("migrate", "-", data=MIGRATED.encode(), cwd=tmp_path)
    assert (nothing.returncode, nothing.stdout) == (0, MIGRATED.encode())
    check = _run_bytes("migrate", "-", "--check", data=LEGACY.encode(), cwd=tmp_path)
    assert (check.returncode, check.stdout) == (1, b"")
    diff = _run_bytes("migrate", "-", "--diff", "--stdin-filename", "model.py", data=LEGACY.encode(), cwd=tmp_path)
    assert diff.returncode == 1
    assert b"--- a/model.py" in diff.stdout and b"+model.add(Dense(units=10, input_dim=4))" in diff.stdout


def test_migrate_of_a_program_that_does_not_parse_gives_it_back_unchanged(tmp_path: Path) -> None:
    broken = b"from keras.layers import Dense\nprint 'python 2'\nlayer = Dense(output_dim=3)\n"
    result = _run_bytes("migrate", "-", "--stdin-filename", "old.py", data=broken, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == broken
    assert b"old.py:2" in result.stderr and b"syntax error" in result.stderr


def test_stdin_cannot_be_mixed_with_paths(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(LEGACY, encoding="utf-8")
    result = run_kerasfix("check", "-", "a.py", input=LEGACY, cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot be combined with other paths" in result.stderr
    named = run_kerasfix("check", "a.py", "--stdin-filename", "b.py", cwd=tmp_path)
    assert named.returncode == 2 and "give `-` as the path" in named.stderr


def test_a_notebook_on_stdin_is_read_as_one(tmp_path: Path) -> None:
    notebook = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": "a", "metadata": {}, "outputs": [], "source": ["from keras.layers import Dropout\n"]},
            {"cell_type": "code", "execution_count": None, "id": "b", "metadata": {}, "outputs": [], "source": ["layer = Dropout(p=0.5)\n"]},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    text = json.dumps(notebook, indent=1)
    result = run_kerasfix("check", "-", "--stdin-filename", "nb.ipynb", "--no-source", input=text, cwd=tmp_path)
    assert result.returncode == 1
    assert "nb.ipynb:cell 2:1:9: KF311" in result.stdout
    fixed = _run_bytes("migrate", "-", "--stdin-filename", "nb.ipynb", data=text.encode(), cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stderr
    assert json.loads(fixed.stdout)["cells"][1]["source"] == ["layer = Dropout(rate=0.5)\n"]
