"""The flake8 plugin, run by the real flake8 (which finds it through the installed `flake8.extension`
entry point): the same findings as `kerasfix check`, under the same configuration."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import LEGACY, ROOT, check_json

pytest.importorskip("flake8")

FORMAT = "%(path)s|%(row)d|%(col)d|%(code)s|%(text)s"


def _flake8(*args: str, cwd: Path, input: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-m", "flake8", "--jobs", "1", f"--format={FORMAT}", *args],
        cwd=cwd, env=env, capture_output=True, text=True, input=input, timeout=300,
    )


def _reported(output: str) -> list[tuple[str, int, int, str, str]]:
    rows = []
    for line in output.splitlines():
        path, row, column, code, text = line.split("|", 4)
        rows.append((os.path.normpath(path), int(row), int(column), code, text))
    return sorted(rows)


def _checked(*paths: str, cwd: Path) -> list[tuple[str, int, int, str, str]]:
    """`kerasfix check`'s findings as flake8 would print them (columns from 1 in both)."""
    return sorted(
        (os.path.normpath(f["filename"]), f["location"]["row"], f["location"]["column"], f["code"], f["message"])
        for f in check_json(*paths, cwd=cwd)
    )


def test_flake8_select_kf_reports_what_check_reports(tmp_path: Path) -> None:
    fixtures = sorted(p for p in (ROOT / "fixtures" / "catalogue").glob("*.py") if not p.name.endswith(".fixed.py"))[:4]
    for fixture in fixtures:
        shutil.copy(fixture, tmp_path / fixture.name)
    result = _flake8("--select", "KF", ".", cwd=tmp_path)
    expected = _checked(".", cwd=tmp_path)
    assert expected, "the fixtures have findings"
    assert result.returncode == 1, result.stderr
    assert _reported(result.stdout) == expected, result.stderr


def test_the_nearest_kerasfix_configuration_applies(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.kerasfix]\nper-file-ignores = { 'quiet.py' = ['KF310'] }\n")
    (tmp_path / "loud.py").write_text(LEGACY)
    (tmp_path / "quiet.py").write_text(LEGACY)
    result = _flake8("--select", "KF", "loud.py", "quiet.py", cwd=tmp_path)
    reported = _reported(result.stdout)
    assert reported == _checked("loud.py", "quiet.py", cwd=tmp_path)
    codes = {(path, code) for path, _, _, code, _ in reported}
    assert ("loud.py", "KF310") in codes and ("quiet.py", "KF310") not in codes


def test_standard_input_and_noqa(tmp_path: Path) -> None:
    text = LEGACY.replace("model.add(Dropout(p=0.5))", "model.add(Dropout(p=0.5))  # noqa: KF311")
    result = _flake8("--select", "KF", "-", cwd=tmp_path, input=text)
    (path := tmp_path / "model.py").write_text(text)
    expected = [("stdin", *rest) for _, *rest in _checked(str(path), cwd=tmp_path)]
    assert _reported(result.stdout) == expected
    assert all(code != "KF311" for _, _, _, code, _ in expected)


def test_a_clean_file_passes(tmp_path: Path) -> None:
    (tmp_path / "clean.py").write_text("import keras\nlayer = keras.layers.Dense(units=3)\n")
    result = _flake8("--select", "KF", "clean.py", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, ""), result.stderr


def test_a_file_kerasfix_cannot_check_is_reported_not_passed(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.kerasfix]\nselect = ['KF999']\n")
    (tmp_path / "model.py").write_text(LEGACY)
    result = _flake8("--select", "KF", "model.py", cwd=tmp_path)
    ((path, row, column, code, text),) = _reported(result.stdout)
    assert (path, row, column, code) == ("model.py", 1, 1, "KF000")
    assert text.startswith("kerasfix could not check this file: configuration error:") and "KF999" in text
    assert result.returncode == 1
