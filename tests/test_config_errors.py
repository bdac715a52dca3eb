"""A pyproject.toml that is not valid TOML is an error (exit 2) naming the file, line and column, whether
it was found by the upward search or given with --config: skipping it would drop its settings silently."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import LEGACY, cli

# (document, line, column, words of tomllib's message)
BROKEN = [
    ('[tool.kerasfix]\nselect = ["KF1"\nignore = ["KF102"]\n', 3, 1, "Unclosed array"),
    ('[project]\nname = "demo"\n[tool.kerasfix\nexclude = ["gen/"]\n', 3, 15, "Expected ']'"),
    ('[tool.kerasfix]\nexclude = "a\n', 2, 13, "Illegal character"),
    ("[tool.kerasfix]\nselect = 1\nselect = 2\n", 3, 11, "Cannot overwrite a value"),
    ('[tool.kerasfix]\nselect = ["KF1",', 2, 17, "Invalid value"),  # tomllib says "at end of document": its last line and column
]


def _tree(tmp_path: Path, pyproject: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "model.py").write_text(LEGACY)
    return package / "model.py"


@pytest.mark.parametrize(("document", "line", "column", "message"), BROKEN)
def test_broken_toml_found_by_the_search_is_an_error_with_its_position(tmp_path: Path, document: str, line: int, column: int, message: str) -> None:
    model = _tree(tmp_path, document)
    for args in (("check", "--no-cache", "pkg"), ("migrate", "pkg"), ("check", "--no-cache", "pkg/model.py")):
        result = cli(*args, cwd=tmp_path)
        assert result.returncode == 2, result.stdout + result.stderr
        expected = f"kerasfix: error: {tmp_path / 'pyproject.toml'}:{line}:{column}: invalid TOML: {message}"
        assert expected in result.stderr, result.stderr
        assert "All checks passed" not in result.stdout
    assert model.read_text() == LEGACY  # migrate did nothing


@pytest.mark.parametrize(("document", "line", "column", "message"), BROKEN[:2])
def test_broken_toml_given_with_config_is_the_same_error(tmp_path: Path, document: str, line: int, column: int, message: str) -> None:
    _tree(tmp_path, "[tool.kerasfix]\n")
    (tmp_path / "other.toml").write_text(document, encoding="utf-8")
    result = cli("check", "--config", "other.toml", "pkg", cwd=tmp_path)
    assert result.returncode == 2
    assert f"kerasfix: error: other.toml:{line}:{column}: invalid TOML: {message}" in result.stderr, result.stderr


def test_a_broken_pyproject_without_kerasfix_settings_is_still_an_error(tmp_path: Path) -> None:
    # the search cannot know whether the table it cannot read holds [tool.kerasfix]
    _tree(tmp_path, "[project\nname = 'demo'\n")
    result = cli("check", "pkg", cwd=tmp_path)
    assert result.returncode == 2
    assert f"{tmp_path / 'pyproject.toml'}:1:9: invalid TOML" in result.stderr, result.stderr


def test_a_broken_pyproject_above_the_nearest_valid_one_is_not_read(tmp_path: Path) -> None:
    # the search stops at the first pyproject.toml with [tool.kerasfix]
    (tmp_path / "pyproject.toml").write_text("this is not toml\n", encoding="utf-8")
    project = tmp_path / "project"
    project.mkdir()
    _tree(project, "[tool.kerasfix]\nignore = ['KF310']\n")
    result = cli("check", "--no-cache", "--no-source", "pkg", cwd=project)
    assert result.returncode == 1, result.stderr
    assert "KF311" in result.stdout and "KF310" not in result.stdout


def test_a_pyproject_that_is_not_utf8_names_the_byte(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes(b"[tool.kerasfix]\n# caf\xe9\n")
    (tmp_path / "m.py").write_text(LEGACY)
    result = cli("check", "m.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "pyproject.toml:2:6: invalid TOML: the file is not UTF-8" in result.stderr, result.stderr


def test_isolated_reads_no_configuration_at_all(tmp_path: Path) -> None:
    _tree(tmp_path, "not toml\n")
    assert cli("check", "--isolated", "--no-cache", "pkg", cwd=tmp_path).returncode == 1
