"""Every rule's documented examples are run: invalid ones are flagged and fixed as shown, valid ones pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from kerasfix import registry
from kerasfix.engine import Settings, check_source, fix_text
from kerasfix.source import Source

CASES = [
    pytest.param(spec, number, example, id=f"{code}-{number}{'-valid' if example.valid else ''}")
    for code, spec in registry.all_specs().items()
    for number, example in enumerate(spec.examples)
]


def _settings(spec, example) -> Settings:
    return Settings(enabled=frozenset(registry.all_specs()), target=example.target, unsafe_fixes=example.unsafe)


@pytest.mark.parametrize(("spec", "number", "example"), CASES)
def test_example(spec, number, example):
    source = Source(path=Path("example.py"), text=example.before, raw=example.before.encode())
    findings, error = check_source(source, _settings(spec, example))
    assert error is None
    codes = [finding.code for finding in findings]
    if example.valid:
        assert spec.code not in codes, f"valid example flagged: {findings}"
        return
    assert spec.code in codes
    result = fix_text(source, _settings(spec, example))
    expected = example.before if example.after is None else example.after
    assert result.text == expected
    if example.after is not None:
        # the fixed code no longer has the finding, and fixing again changes nothing
        again = Source(path=Path("example.py"), text=result.text, raw=b"")
        assert spec.code not in [f.code for f in check_source(again, _settings(spec, example))[0]]
        assert fix_text(again, _settings(spec, example)).text == result.text


def test_every_rule_has_valid_and_invalid_examples():
    for code, spec in registry.all_specs().items():
        assert any(not e.valid for e in spec.examples), f"{code} has no invalid example"
        assert spec.what and spec.why and spec.summary, f"{code} lacks documentation"
        assert spec.fix_safety in ("safe", "unsafe", "sometimes", "none")


def test_readme_lists_every_rule_with_its_fix_safety():
    import re

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (KF\d{3}) \| [\w-]+ \| (\w+) \|", readme, flags=re.MULTILINE))
    specs = registry.all_specs()
    assert sorted(rows) == sorted(specs), "README's rule table and the registered rules differ"
    for code, safety in rows.items():
        assert safety == specs[code].fix_safety, code

