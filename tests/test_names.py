"""Keras names are recognised through every import style, and look-alikes are not."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from kerasfix.names import ImportTable, canonical


def _callee_names(code: str) -> list[str | None]:
    module = cst.parse_module(code)
    table = ImportTable.scan(module)
    names: list[str | None] = []

    class Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            names.append(table.qualified(node.func))

    module.visit(Calls())
    return names


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import keras\nkeras.layers.merge([a, b])\n", "keras.layers.merge"),
        ("from tensorflow import keras\nkeras.layers.merge([a, b])\n", "keras.layers.merge"),
        ("import tensorflow as tf\ntf.keras.layers.merge([a, b])\n", "keras.layers.merge"),
        ("from keras.layers import merge\nmerge([a, b])\n", "keras.layers.merge"),
        ("from tensorflow.keras import layers as L\nL.merge([a, b])\n", "keras.layers.merge"),
        ("import keras.layers as KL\nKL.merge([a, b])\n", "keras.layers.merge"),
        ("from keras.layers import *\nmerge([a, b])\n", "keras.layers.merge"),
        ("from keras.layers.merge import merge\nmerge([a, b])\n", "keras.layers.merge"),
        ("from keras.engine.topology import merge\nmerge([a, b])\n", "keras.layers.merge"),
        ("from keras.engine.topology import Model\nModel(x, y)\n", "keras.Model"),
        ("from keras.engine.training import Model\nModel(x, y)\n", "keras.Model"),
        ("from keras.models import Model\nModel(x, y)\n", "keras.Model"),
        ("import tensorflow as tf\ntf.keras.Model(x, y)\n", "keras.Model"),
        ("import tensorflow.keras as K\nK.models.Model(x, y)\n", "keras.Model"),
        ("from keras.layers.core import Dense\nDense(3)\n", "keras.layers.Dense"),
        ("from merge_utils import merge\nmerge(a, b)\n", None),
        ("import pandas as pd\npd.merge(a, b)\n", None),
        ("def merge(a, b):\n    return a\nmerge(1, 2)\n", None),
        ("from keras.layers import *\ndef merge(a, b):\n    return a\nmerge(1, 2)\n", None),
        ("class Model:\n    pass\nModel()\n", None),
        ("from keras.models import Model\nclass Model:\n    pass\nModel()\n", None),
        ("from keras.src.layers import Dense\nDense(3)\n", None),
        ("try:\n    from keras.layers import merge\nexcept ImportError:\n    pass\nmerge([a])\n", "keras.layers.merge"),
        ("import keras\nDense = keras.layers.Dense\nDense(3)\n", "keras.layers.Dense"),
        ("from keras.layers import merge\ndef f(merge):\n    return merge([a])\nf(1)\n", None),
        ("if True: from keras.layers import merge\nmerge([a])\n", "keras.layers.merge"),
    ],
)
def test_first_call_resolves(code: str, expected: str | None) -> None:
    assert _callee_names(code)[-1] == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("tensorflow.keras.layers.Dense", "keras.layers.Dense"),
        ("tf_keras.layers.Dense", "keras.layers.Dense"),
        ("keras.layers.convolutional.Convolution2D", "keras.layers.Convolution2D"),
        ("keras.utils.np_utils.to_categorical", "keras.utils.to_categorical"),
        ("keras.layers.merge", "keras.layers.merge"),
        ("numpy.array", None),
        ("kerasx.layers", None),
    ],
)
def test_canonical(raw: str, expected: str | None) -> None:
    assert canonical(raw) == expected


def test_code_spans_are_those_of_the_position_provider():
    # kerasfix.engine.code_spans computes offsets without the metadata wrapper; they must be the
    # positions LibCST's PositionProvider gives every node of real programs (CRLF and CR files too)
    import re

    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    from kerasfix.engine import code_spans

    fixtures = sorted((Path(__file__).resolve().parent.parent / "fixtures").rglob("*.py"))
    assert fixtures
    texts = [path.read_text(encoding="utf-8") for path in fixtures[:40]]
    texts += [texts[0].replace("\n", "\r\n"), texts[1].replace("\n", "\r"), "import keras\r\nx = (1,\r\n     2)\nif x:\r\n\ty = keras.layers.Dense(3)\r"]
    for text in texts:
        module = cst.parse_module(text)
        starts = [0] + [m.end() for m in re.finditer(r"\r\n?|\n", text)]
        ranges = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        expected = {
            node: (starts[r.start.line - 1] + r.start.column, starts[r.end.line - 1] + r.end.column)
            for node, r in ranges.items()
        }
        got = code_spans(module)
        assert got == expected, text[:80]
