"""Large files are parsed part by part (kerasfix/segments.py): the parts must be cut only between
top-level statements, carry the file's imports, and give the findings and fixes the whole file gives.

The size limits are lowered here so that small programs are cut into many parts; the full-size run is
tests/test_odd_files.py's generated 10 MB file.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from kerasfix import engine, registry, segments
from kerasfix.settings import Settings
from kerasfix.source import Source

SETTINGS = Settings(registry.default_codes(), unsafe_fixes=True)


def _source(text: str) -> Source:
    return Source(path=Path("big.py"), text=text, raw=text.encode())


def _statement_starts(text: str) -> set[int]:
    lines = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    return {lines[segments.statement_first_line(s) - 1] for s in ast.parse(text).body}


@pytest.fixture
def small_parts(monkeypatch):
    def set_sizes(part_chars: int) -> None:
        monkeypatch.setattr(segments, "LARGE_FILE_CHARS", 0)
        monkeypatch.setattr(segments, "PART_CHARS", part_chars)

    return set_sizes


TRAPS = '''"""A module docstring."""
from keras.layers import Dense, merge
from keras.models import Model

NOTES = """
x = Dense(output_dim=3)
def looks_like_code():
    pass
"""
SIZES = [
1,
2,
]
if SIZES:
    width = 1
else:
    width = 2
try:
    import numpy
except ImportError:
    numpy = None
finally:
    pass
total = 1 + \\
2
@staticmethod
def decorated():
    return Dense(output_dim=4)
# a comment at column 0
class Holder:
    layer = Dense(output_dim=5)
call = Dense(
output_dim=6)
'''


@pytest.mark.parametrize("part_chars", [1, 7, 40, 200])
def test_parts_join_to_the_text_and_are_cut_only_between_top_level_statements(small_parts, part_chars) -> None:
    small_parts(part_chars)
    parts = list(segments.parts(TRAPS))
    assert "".join(part.text for part in parts) == TRAPS
    starts = _statement_starts(TRAPS)
    assert all(part.start in starts for part in parts[1:])
    if part_chars == 1:
        # every top-level statement starts a part, however its lines look
        assert {part.start for part in parts[1:]} == starts - {0}
    for part in parts:
        assert part.rows_before == TRAPS[: part.start].count("\n")
        assert part.module.code == part.text


def test_a_cut_inside_a_long_string_is_recovered_by_pythons_statement_starts(small_parts) -> None:
    # the string's lines look like statements and it is longer than a part
    small_parts(50)
    body = "".join(f"def f{i}():\n    pass\n" for i in range(20))
    text = "import keras\nDOC = '''\n" + body + "'''\nlayer = keras.layers.Dense(output_dim=1)\n" + body
    parts = list(segments.parts(text))
    assert "".join(part.text for part in parts) == text
    assert all(part.start in _statement_starts(text) for part in parts[1:])
    findings = engine.analyse_text(_source(text), text, SETTINGS)
    row = text[: text.index("layer =")].count("\n") + 1
    assert [(f.code, f.location.row) for f in findings] == [("KF310", row)]


def test_a_syntax_error_in_a_large_file_is_reported_where_python_reports_it(small_parts) -> None:
    small_parts(100)
    good = "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(30))
    text = "import keras\n" + good + "def broken(:\n    pass\n" + good
    with pytest.raises(SyntaxError) as python:
        compile(text, "big.py", "exec")
    findings, error = engine.check_source(_source(text), SETTINGS)
    assert findings == [] and error is not None
    assert (error.row, error.message) == (python.value.lineno, f"syntax error: {python.value.msg}")


def _blocks(count: int) -> str:
    header = (
        "from keras.layers import Activation, Convolution2D, Dense, Dropout, Flatten, merge\n"
        "from keras.models import Model, Sequential\n"
        "from keras.layers import Input\n"
        "import keras.backend as K\n"
    )
    block = (
        "\n\ndef build_{i}(classes={i} % 10 + 2):\n"
        "    model = Sequential()\n"
        "    model.add(Convolution2D(32, 3, 3, border_mode='same', input_shape=(28, 28, 1)))\n"
        "    model.add(Dropout(p=0.25))\n"
        "    model.add(Flatten())\n"
        "    model.add(Dense(output_dim=classes, init='uniform'))\n"
        "    return model\n"
        "\n\nleft_{i} = Input(shape=(8,))\n"
        "right_{i} = Input(shape=(8,))\n"
        "both_{i} = merge([left_{i}, right_{i}], mode='concat')\n"
        "joined_{i} = Model(input=[left_{i}, right_{i}], output=Dense({i} + 1)(both_{i}))\n"
    )
    return header + "".join(block.format(i=i) for i in range(count))


def _outcome(text: str):
    source = _source(text)
    findings = engine.analyse_text(source, text, SETTINGS)
    fixed = engine.fix_text(source, SETTINGS)
    rows = [(f.code, f.location.row, f.location.column, f.end_location.row, f.message) for f in findings]
    edits = [f.fix.edits if f.fix else None for f in findings]
    remaining = [(f.code, f.location.row, f.message) for f in fixed.remaining]
    return rows, edits, fixed.text, remaining, len(fixed.applied)


@pytest.mark.parametrize("part_chars", [300, 2_000])
def test_parts_give_the_findings_and_fixes_of_the_whole_file(small_parts, part_chars) -> None:
    # imports at the top, used in every part; fixes in every part ask for `Conv2D`, `Concatenate`...
    # which the tidy must import once, where the whole-file tidy would; and the legacy names
    # (`Convolution2D`, `merge`) are released only once no part uses them
    text = _blocks(12) + "\nkeep = isinstance(None, Convolution2D)\n"
    whole = _outcome(text)
    small_parts(part_chars)
    assert len(list(segments.parts(text))) > 2
    parted = _outcome(text)
    assert parted[0] == whole[0]
    assert parted[1] == whole[1]  # edits in the file's offsets
    assert parted[2] == whole[2]
    assert "Convolution2D" in parted[2].split("\n\n")[0]  # still used by the last line
    assert "Conv2D" in parted[2].split("\n\n")[0]
    assert parted[3] == whole[3]
    assert parted[4] == whole[4]
    compile(parted[2], "big.py", "exec")


def test_names_imported_in_a_later_part_resolve_there_and_after(small_parts) -> None:
    small_parts(1)
    text = (
        "x = 1\n"
        "from keras.layers import Dense\n"
        "a = Dense(output_dim=1)\n"
        "import keras.layers as KL\n"
        "b = KL.Dense(output_dim=2)\n"
        "Dense = object\n"
        "c = Dense(output_dim=3)\n"
    )
    findings = engine.analyse_text(_source(text), text, SETTINGS)
    # a part is analysed with the names bound so far; `Dense = object` shadows it from there on (the
    # whole-file analysis takes a rebinding anywhere as shadowing everywhere)
    assert [(f.code, f.location.row) for f in findings] == [("KF310", 3), ("KF310", 5)]


def test_a_large_file_that_is_not_keras_is_not_parsed(monkeypatch) -> None:
    monkeypatch.setattr(segments, "LARGE_FILE_CHARS", 0)
    called = []
    monkeypatch.setattr(segments, "parts", lambda text: called.append(text) or iter(()))
    text = "x = 1\n" * 1000
    assert engine.analyse_text(_source(text), text, SETTINGS) == []
    assert called == []


def test_json_import_edits_of_a_large_file_are_those_of_applying_each_fix_alone(small_parts) -> None:
    text = _blocks(12) + "\nkeep = isinstance(None, Convolution2D)\n"
    source = _source(text)
    fixes = [f.fix for f in engine.analyse_text(source, text, SETTINGS) if f.fix is not None]
    expected = [engine.import_edits(text, fix, SETTINGS.target) for fix in fixes]
    small_parts(300)
    editor = engine.ImportEditor(source, fixes, SETTINGS.target)
    assert len(editor.modules) == 1  # the imports are all in the first part
    assert [editor.edits_for(fix) for fix in fixes] == expected
    assert sum(bool(edits) for edits in expected) > 20


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_every_newline_style_is_cut(small_parts, newline) -> None:
    small_parts(1)
    text = TRAPS.replace("\n", newline)
    parts = list(segments.parts(text))
    assert "".join(part.text for part in parts) == text
    assert len(parts) > 10
    assert {part.start for part in parts[1:]} <= {offset for offset in _statement_starts(text)}


def test_a_large_file_no_rule_can_match_is_neither_parsed_nor_changed_by_migrate(small_parts) -> None:
    small_parts(100)
    text = "print 'hello'\n" + "x = 1\n" * 50  # Python 2, and no Keras: `check` does not parse it either
    assert engine.check_source(_source(text), SETTINGS) == ([], None)
    fixed = engine.fix_text(_source(text), SETTINGS)
    assert (fixed.text, fixed.applied, fixed.remaining) == (text, [], [])


def test_a_part_whose_only_statement_the_import_tidy_removes_becomes_empty(small_parts) -> None:
    text = (
        "from keras.layers import Conv2D\n"
        "from keras.layers.convolutional import Convolution2D\n"
        "def a():\n"
        "    return Convolution2D(32, 3, 3, border_mode='same')\n"
    )
    whole = engine.fix_text(_source(text), SETTINGS).text
    small_parts(1)
    parted = engine.fix_text(_source(text), SETTINGS)
    assert parted.text == whole
    assert "Convolution2D" not in whole


def test_a_syntax_error_made_in_a_later_round_names_the_files_row(small_parts, monkeypatch) -> None:
    # a fix that broke the code would be reported at the file's row, not the part's
    small_parts(1)
    text = "import keras\nx = 1\ny = keras.layers.Dense(output_dim=3)\n"
    original = engine.apply_edits
    monkeypatch.setattr(engine, "apply_edits", lambda t, edits: original(t, edits) + "(\n")
    with pytest.raises(engine.ParseFailure) as failure:
        engine.fix_text(_source(text), SETTINGS)
    assert failure.value.row == 4


@pytest.mark.parametrize(
    "statements",
    [
        "a = (1,\n2); b = Dense(output_dim=3)\n",  # `b` starts on the last line of `a`'s brackets
        "a = 1; \\\nb = Dense(output_dim=3)\n",  # `b` starts on a line that continues `a`'s
    ],
)
def test_a_statement_starting_inside_the_lines_of_another_is_not_cut_from_it(small_parts, statements) -> None:
    # the string makes the first cut fail, so the rest is cut at the statement starts Python gives
    small_parts(1)
    text = "from keras.layers import Dense\nDOC = '''\nfoo = 1\n'''\n" + statements
    parts = list(segments.parts(text))
    assert "".join(part.text for part in parts) == text
    findings = engine.analyse_text(_source(text), text, SETTINGS)
    assert [(f.code, f.location.row) for f in findings] == [("KF310", 6)]


def test_cr_only_files_are_migrated_as_their_lf_versions_are(small_parts) -> None:
    # old Mac line endings: every fixture, cut into parts, migrates to its LF migration with CRs
    root = Path(__file__).resolve().parent.parent / "fixtures"
    programs = sorted(p for p in root.rglob("*.py") if not p.name.endswith(".fixed.py"))
    small_parts(2_000)
    for path in programs:
        text = path.read_text(encoding="utf-8")
        expected = engine.fix_text(_source(text), SETTINGS).text.replace("\n", "\r")
        assert engine.fix_text(_source(text.replace("\n", "\r")), SETTINGS).text == expected, path.name
