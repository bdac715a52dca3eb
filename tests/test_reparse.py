"""kerasfix/reparse.py: a module made from the previous parse and a parse of the statements around an
edit is the module a parse of the whole new text makes, node for node; where it cannot be sure, the
whole text is parsed."""

from __future__ import annotations

import random
from pathlib import Path

import libcst as cst
import pytest

from kerasfix.context import ParseFailure
from kerasfix.positions import StatementSpans, code_spans
from kerasfix.reparse import Reparser, layout_of, reparse

ROOT = Path(__file__).resolve().parent.parent

PROGRAM = '''"""A model."""
from keras.models import Sequential
from keras.layers import Dense


def build(units=3):
    model = Sequential()
    model.add(Dense(output_dim=units, input_dim=4))
    if units > 2:
        model.add(Dense(2))
    else:
        model.add(Dense(1))

    # a comment after the block, indented as the block

# a comment at the top level
x = 1
y = [
    1,
    2,
]


class Thing:
    def call(self, x):
        return x
'''

# edits as an editor makes them: a line's text replaced, a line put in or taken out
LINES = [
    "    pass\n", "else:\n", "    else:\n", "        z = 2\n", "# note\n", "    # note\n", "\n", "z = 3\n",
    "def f():\n", 'q = """\n', '"""\n', "y = (\n", ")\n", "\tz = 1\n", "  w = 2\n", "class C: pass\n", "@decorator\n",
    "if x: y\n", "x = 1 \\\n", "for i in range(3):\n",
]


def _edit(text: str, chooser: random.Random) -> str:
    """`text` with one edit, as an editor makes it: a line put in, taken out or replaced, or a
    character typed."""
    lines = text.splitlines(keepends=True) or [""]
    where = chooser.randrange(len(lines) + 1)
    kind = chooser.choice(("insert", "delete", "replace", "type"))
    if kind == "insert":
        lines.insert(where, chooser.choice(LINES))
    elif kind == "delete" and where < len(lines):
        del lines[where]
    elif kind == "replace" and where < len(lines):
        lines[where] = chooser.choice(LINES)
    elif where < len(lines):
        line = lines[where]
        cut = chooser.randrange(len(line))
        lines[where] = line[:cut] + chooser.choice(("1", " ", "a", ":", "(", "'")) + line[cut:]
    return "".join(lines)


def _edits(text: str, seed: int, count: int):
    """`count` edits, each of the last edited text that parses (as a user fixes what they break)."""
    chooser = random.Random(seed)
    for _ in range(count):
        new = _edit(text, chooser)
        yield new
        if _whole(new) is not None:
            text = new


def _whole(text: str) -> cst.Module | None:
    try:
        return cst.parse_module(text)
    except Exception:  # noqa: BLE001
        return None


def _sources() -> list[tuple[str, str]]:
    programs = sorted(p for p in (ROOT / "fixtures").rglob("*.py") if not p.name.endswith(".fixed.py"))[:6]
    return [("program", PROGRAM)] + [(p.name, p.read_text(encoding="utf-8")) for p in programs]


@pytest.mark.parametrize(("name", "text"), _sources(), ids=[name for name, _ in _sources()])
def test_every_reparse_equals_a_whole_parse_through_a_run_of_edits(name: str, text: str) -> None:
    parser = Reparser()
    module = parser.parse("doc", text)
    current = text
    parsed = reused = 0
    for new in _edits(text, seed=len(text), count=40):
        whole = _whole(new)
        if whole is None:
            with pytest.raises(ParseFailure):
                parser.parse("doc", new)
            continue  # the last text that parsed stays the base
        made = reparse(current, module, new)
        if made is not None:
            reused += 1
            assert made.code == new
            assert made.deep_equals(whole), (name, new)
        module = parser.parse("doc", new)
        assert module.deep_equals(whole)
        current = new
        parsed += 1
    assert parsed >= 12
    assert reused >= parsed // 2  # most edits keep the statements around them


def test_the_statements_an_edit_did_not_touch_are_the_previous_nodes() -> None:
    parser = Reparser()
    before = parser.parse("doc", PROGRAM)
    after = parser.parse("doc", PROGRAM.replace("x = 1\n", "x = 12\n"))
    assert parser.reused == 1
    kept = [statement for statement in after.body if any(statement is old for old in before.body)]
    assert len(kept) == len(after.body) - 3  # the one edited and its neighbours were parsed again
    assert after.code == PROGRAM.replace("x = 1\n", "x = 12\n")


def test_positions_from_a_reparsed_module_are_those_of_a_whole_parse() -> None:
    parser = Reparser()
    parser.parse("doc", PROGRAM)
    text = PROGRAM
    for new in _edits(PROGRAM, seed=7, count=40):
        if _whole(new) is None:
            continue
        module = parser.parse("doc", new)
        text = new
        if layout_of(module) is None:
            continue
        expected = code_spans(module, text)
        spans = StatementSpans(module, text)
        for statement in module.body:
            found = spans.of(statement)
            assert found is not None
            assert {node: found[node] for node in found} == {node: expected[node] for node in found}
            # asked again (kept from the layout): the same
            assert spans.of(statement) == found


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # the first two lines: a coding comment may change how the file is read
        ("# -*- coding: utf-8 -*-\nimport keras\nx = 1\n", "# -*- coding: latin-1 -*-\nimport keras\nx = 1\n"),
        # the only indented block, whose indentation the module takes as its own, is changed
        ("import keras\nx = 1\n\n\ndef f():\n  return 1\n\n\ny = 2\n", "import keras\nx = 1\n\n\ndef f():\n    return 1\n\n\ny = 2\n"),
        # comments after the last statement (the module's footer)
        ("import keras\nx = 1\ny = 2\n# end\n", "import keras\nx = 1\ny = 2\n# the end\n"),
    ],
)
def test_what_a_piece_cannot_tell_is_parsed_whole(before: str, after: str) -> None:
    parser = Reparser()
    parser.parse("doc", before)
    module = parser.parse("doc", after)
    assert parser.reused == 0
    assert module.deep_equals(cst.parse_module(after))


def test_a_syntax_error_keeps_the_last_text_that_parsed_as_the_base() -> None:
    parser = Reparser()
    parser.parse("doc", PROGRAM)
    with pytest.raises(ParseFailure):
        parser.parse("doc", PROGRAM.replace("x = 1\n", "x = (\n"))
    fixed = PROGRAM.replace("x = 1\n", "x = (1)\n")
    assert parser.parse("doc", fixed).deep_equals(cst.parse_module(fixed))
    assert parser.reused == 1
    parser.forget("doc")
    parser.parse("doc", PROGRAM)
    assert parser.reused == 1


def test_only_the_latest_parse_of_a_document_is_kept() -> None:
    parser = Reparser()
    first = parser.parse("doc", PROGRAM)
    second = parser.parse("doc", PROGRAM.replace("x = 1\n", "x = 2\n"))
    third = parser.parse("doc", PROGRAM.replace("x = 1\n", "x = 3\n"))
    assert parser.reused == 2
    assert layout_of(first) is None and layout_of(second) is None and layout_of(third) is not None
    parser.forget("doc")
    assert layout_of(third) is None


@pytest.mark.parametrize(
    "after",
    [
        "import keras\r\nx = 1\r\ny = 2\nz = 3\r\nw = 4\r\n",  # one line's newline changed
        "import keras\r\nx = 1\r\ny = 2\nz = 3\nw = 4\r\n",  # the piece parsed again ends in a LF
        "import keras\r\nx = 1\r\ny = 2\r\nz = 3\r\nw = 4",  # the final newline taken out
    ],
)
def test_mixed_newlines_give_what_a_whole_parse_gives(after: str) -> None:
    parser = Reparser()
    parser.parse("doc", "import keras\r\nx = 1\r\ny = 2\r\nz = 3\r\nw = 4\r\n")
    module = parser.parse("doc", after)
    assert module.code == after
    assert module.deep_equals(cst.parse_module(after))
