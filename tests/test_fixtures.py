"""The before/after fixture programs: `check` finds what `<name>.findings` lists, `migrate --unsafe-fixes`
produces `<name>.fixed.py` byte for byte, and the result is clean and stable.

Collected automatically: every `fixtures/**/<name>.py` with a `<name>.findings` or `<name>.fixed.py`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kerasfix import registry
from kerasfix.engine import Settings, check_source, fix_text
from kerasfix.source import read_source

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _programs() -> list[Path]:
    programs = []
    for path in sorted(FIXTURES.rglob("*.py")):
        if path.name.endswith(".fixed.py"):
            continue
        if path.with_suffix(".findings").exists() or path.with_name(path.stem + ".fixed.py").exists():
            programs.append(path)
    return programs


PROGRAMS = _programs()
SETTINGS = Settings(enabled=registry.default_codes(), unsafe_fixes=True)


def _ids(paths: list[Path]) -> list[str]:
    return [str(path.relative_to(FIXTURES)) for path in paths]


def _expected_findings(path: Path) -> list[str]:
    lines = path.with_suffix(".findings").read_text().splitlines()
    return sorted(line.strip() for line in lines if line.strip() and not line.startswith("#"))


@pytest.mark.parametrize("path", PROGRAMS, ids=_ids(PROGRAMS))
def test_findings(path: Path) -> None:
    if not path.with_suffix(".findings").exists():
        pytest.skip("no .findings file")
    findings, error = check_source(read_source(path), SETTINGS)
    assert error is None
    got = sorted(f"{f.location.row}:{f.location.column} {f.code}" for f in findings)
    assert got == _expected_findings(path)


@pytest.mark.parametrize("path", PROGRAMS, ids=_ids(PROGRAMS))
def test_migration(path: Path) -> None:
    expected_path = path.with_name(path.stem + ".fixed.py")
    if not expected_path.exists():
        pytest.skip("no .fixed.py file")
    source = read_source(path)
    result = fix_text(source, SETTINGS)
    assert result.text == expected_path.read_text(encoding="utf-8")
    ast.parse(result.text)
    # Every finding that has a fix is gone; what is left has no fix.
    remaining = check_source(read_source(expected_path), SETTINGS)[0]
    assert all(f.fix is None for f in remaining), remaining
    assert not [f for f in remaining if f.code in ("KF102",)]
    # A second run changes nothing.
    assert fix_text(read_source(expected_path), SETTINGS).text == result.text


def test_there_are_fixtures() -> None:
    assert len(PROGRAMS) >= 8


def test_every_default_catalogue_rule_has_a_fixture() -> None:
    # Every KF3xx rule that runs by default is exercised by a realistic fixture program (rules that are
    # off by default are exercised by their examples, tests/test_rule_examples.py).
    found = set()
    for path in FIXTURES.rglob("*.findings"):
        found.update(line.split()[-1] for line in path.read_text().splitlines() if line.strip() and not line.startswith("#"))
    catalogue = {code for code in registry.default_codes() if code.startswith("KF3")}
    assert catalogue - found == set()
