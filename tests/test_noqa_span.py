"""`# noqa` on any line of a finding's span silences the finding and its fix (issue: inner lines)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kerasfix import registry
from kerasfix.engine import Settings, check_source, fix_text
from kerasfix.source import Source

SETTINGS = Settings(enabled=registry.default_codes(), target="keras", unsafe_fixes=True)

PROGRAM = """from keras.optimizers import SGD

optimizer = SGD(
    lr=0.1,{inner}
    momentum=0.9,
){last}
"""


def _run(text: str):
    source = Source(path=Path("train.py"), text=text, raw=text.encode())
    return check_source(source, SETTINGS)[0], fix_text(source, SETTINGS)


@pytest.mark.parametrize(
    ("inner", "last"),
    [("  # noqa: KF361", ""), ("  # noqa", ""), ("", "  # noqa: KF361"), ("  # NOQA: kf361, KF101", "")],
)
def test_noqa_on_any_line_of_the_call_silences_the_finding_and_its_fix(inner, last):
    text = PROGRAM.format(inner=inner, last=last)
    findings, result = _run(text)
    assert "KF361" not in [finding.code for finding in findings]
    assert result.text == text  # `lr=` is left as the comment asks


def test_noqa_for_another_code_on_an_inner_line_does_not_silence():
    text = PROGRAM.format(inner="  # noqa: KF101", last="")
    findings, result = _run(text)
    assert "KF361" in [finding.code for finding in findings]
    assert "learning_rate=0.1," in result.text


def test_without_noqa_the_inner_line_is_fixed():
    findings, result = _run(PROGRAM.format(inner="", last=""))
    assert "KF361" in [finding.code for finding in findings]
    assert "learning_rate=0.1," in result.text
