"""The documentation written from the code (kerasfix/docs.py) is what the code says: README's rule table and
CONTRIBUTING's tables of catalogue keys. When this fails, run `python -m kerasfix.docs`."""

from __future__ import annotations

import pytest

from conftest import ROOT
from kerasfix import docs


@pytest.mark.parametrize("name", sorted(docs.PARTS))
def test_the_generated_part_is_current(name: str) -> None:
    filename, generate = docs.PARTS[name]
    text = (ROOT / filename).read_text(encoding="utf-8")
    assert docs.rewritten(text, name, generate()) == text, (
        f"{filename}: the generated part '{name}' is out of date; run `{docs.COMMAND}` and commit the result"
    )


def test_the_readme_table_has_a_row_per_rule() -> None:
    from kerasfix import registry

    rows = [line for line in docs.rules_table().splitlines()[2:]]
    assert [row.split(" | ")[0].lstrip("| ") for row in rows] == list(registry.all_specs())


def test_a_part_is_rewritten_between_its_markers_only() -> None:
    text = "intro\n<!-- begin rules-table: generated -->\nold\nrows\n<!-- end rules-table -->\nafter\n"
    assert docs.rewritten(text, "rules-table", "new") == "intro\n<!-- begin rules-table: generated -->\nnew\n<!-- end rules-table -->\nafter\n"


def test_missing_markers_are_an_error() -> None:
    with pytest.raises(ValueError, match="rules-table"):
        docs.rewritten("no markers here\n", "rules-table", "new")


def test_the_command_reports_and_rewrites_a_stale_part(tmp_path, monkeypatch) -> None:
    for filename in {filename for filename, _ in docs.PARTS.values()}:
        (tmp_path / filename).write_text((ROOT / filename).read_text(encoding="utf-8"), encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8").replace("| KF101 |", "| KF101x |"), encoding="utf-8")
    assert docs.stale(tmp_path) == ["README.md (rules-table)"]
    assert docs.write(tmp_path) == ["README.md"]
    assert docs.stale(tmp_path) == []
    assert readme.read_text(encoding="utf-8") == (ROOT / "README.md").read_text(encoding="utf-8")
