"""Positions worked out one top-level statement at a time (kerasfix/positions.py, `StatementSpans`, what
`FileContext.span` uses) are the whole module's (`code_spans`), node for node, or not given at all."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from kerasfix.context import FileContext
from kerasfix.positions import StatementSpans, code_spans
from kerasfix.settings import Settings
from kerasfix.source import Source
from kerasfix.walk import walk

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = sorted((ROOT / "fixtures").rglob("*.py")) + sorted((ROOT / "kerasfix" / "checks").rglob("*.py"))

ODD = {
    "decorators and comments": "# head\n\nimport keras\n\n\n# about f\n@keras.saving.register_keras_serializable()\n@other(\n    1)\ndef f(x):\n    return x  # done\n    # in the block\n# after\nclass A: pass\n",
    "semicolons": "a = 1; b = 2\nc = 3;\nif a: b; c\n",
    "no final newline": "import keras\nx = keras.layers.Dense(4)",
    "comment at the end without newline": "x = 1\n# end",
    "CRLF": "import keras\r\n\r\ndef f():\r\n    return keras.layers.Dense(4)\r\n",
    "CR only": "import keras\rx = keras.layers.Dense(4)\r",
    "form feed": "import keras\n\x0cx = keras.layers.Dense(4)\n",
    "tabs": "if True:\n\tx = 1\n\tif x:\n\t\ty = 2\n",
    "continuation": "x = 1 + \\\n    2\ny = '''a\nb'''\n",
    "strings with newlines": "s = f'''{1}\n'''\nt = ('a'\n     'b')\n",
    "empty": "",
    "only comments": "# a\n# b\n",
    "newer syntax than this Python reads": "type X = int\nx = 1\n",
    "deep nesting": "x = " + "(" * 150 + "1" + ")" * 150 + "\n",
}


def _agree(text: str) -> int:
    """How many statements StatementSpans answered for; every node it answered for agrees with code_spans."""
    module = cst.parse_module(text)
    whole = code_spans(module, text)
    lazy = StatementSpans(module, text)
    answered = 0
    for statement in module.body:
        spans = lazy.of(statement)
        if spans is None:
            continue
        answered += 1
        assert spans[statement] == whole[statement]
        for node, span in spans.items():
            assert whole[node] == span, (type(node).__name__, text[span[0]:span[1]], text[whole[node][0]:whole[node][1]])
    return answered


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: str(p.relative_to(ROOT)))
def test_each_statement_of_a_real_program_is_placed_as_the_whole_module_places_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    module = cst.parse_module(text)
    assert _agree(text) == len(module.body)  # plain programs: every statement answered


@pytest.mark.parametrize("name", sorted(ODD))
def test_odd_texts_are_placed_right_or_left_to_the_whole_module(name: str) -> None:
    _agree(ODD[name])


def test_odd_texts_still_get_answers_where_they_can() -> None:
    assert _agree(ODD["decorators and comments"]) == 3
    assert _agree(ODD["no final newline"]) == 2
    assert _agree(ODD["form feed"]) == 0  # LibCST drops the form feed: the whole module's mapping


@pytest.mark.parametrize("name", sorted(ODD))
def test_file_context_spans_are_the_whole_modules(name: str) -> None:
    text = ODD[name]
    module = cst.parse_module(text)
    whole = code_spans(module, text)
    ctx = FileContext(Source(path=Path("x.py"), text=text, raw=b""), text, module, Settings(enabled=frozenset(), target="keras"))
    nodes: list[cst.CSTNode] = []
    walk(module, lambda node, parent: nodes.append(node))
    for node in reversed(nodes):  # inner nodes first, as reports ask
        assert ctx.span(node) == whole[node]
