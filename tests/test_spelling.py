"""How fixes spell new Keras names (kerasfix/spelling.py), and the check after every fix."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from kerasfix import registry
from kerasfix.engine import FileContext, Settings, fix_text, parse
from kerasfix.findings import Requirement
from kerasfix.imports import fix_imports
from kerasfix.source import Source
from kerasfix.spelling import spell

SETTINGS = Settings(enabled=registry.default_codes(), target="keras", unsafe_fixes=True)

# The first program: NumPy's `concatenate` is imported, and a merge fix needs Keras's.
NUMPY_PROGRAM = (
    "from numpy import concatenate\n"
    "from keras.layers import Input, Dense, merge\n"
    "a = Input(shape=(4,))\n"
    "b = Input(shape=(4,))\n"
    'c = merge([a, b], mode="concat")\n'
    "arr = concatenate([[1], [2]])\n"
)


def migrated(text: str, settings: Settings = SETTINGS):
    return fix_text(Source(path=Path("example.py"), text=text, raw=text.encode()), settings)


def test_a_numpy_name_is_not_taken_over_by_a_safe_merge_fix():
    result = migrated(NUMPY_PROGRAM)
    assert result.text == (
        "from numpy import concatenate\n"
        "from keras.layers import Input, Dense, concatenate as keras_concatenate\n"
        "a = Input(shape=(4,))\n"
        "b = Input(shape=(4,))\n"
        "c = keras_concatenate([a, b])\n"
        "arr = concatenate([[1], [2]])\n"
    )


def test_a_function_of_the_file_is_not_called_in_place_of_the_keras_class():
    result = migrated(
        "from keras.layers import Convolution2D\n"
        "def Conv2D(filters, size):\n"
        "    return filters\n"
        "layer = Convolution2D(8, 3, 3)\n"
        "other = Conv2D(1, 2)\n"
    )
    assert result.text == (
        "from keras.layers import Conv2D as keras_Conv2D\n"
        "def Conv2D(filters, size):\n"
        "    return filters\n"
        "layer = keras_Conv2D(8, (3, 3))\n"
        "other = Conv2D(1, 2)\n"
    )


@pytest.mark.parametrize(
    ("imports", "spelled"),
    [
        ("import keras\n", "keras.layers.concatenate"),
        ("from keras import layers\n", "layers.concatenate"),
        ("import tensorflow as tf\n", "tf.keras.layers.concatenate"),
        ("from tensorflow import keras\n", "keras.layers.concatenate"),
        ("from keras.layers import concatenate as cat\n", "cat"),
    ],
)
def test_a_taken_name_is_spelled_through_what_the_file_binds(imports, spelled):
    text = imports + "from numpy import concatenate\nfrom keras.layers import merge\nc = merge([a, b], mode='concat')\n"
    result = migrated(text)
    assert result.text.endswith(f"c = {spelled}([a, b])\n"), result.text
    assert "from numpy import concatenate\n" in result.text
    assert result.dropped == []


def test_a_parameter_or_local_of_the_same_name_makes_the_bare_name_unsafe():
    text = (
        "from keras.layers import merge\n"
        "def build(a, b, concatenate=None):\n"
        "    return merge([a, b], mode='concat')\n"
    )
    result = migrated(text)
    assert "concatenate as keras_concatenate" in result.text
    assert "return keras_concatenate([a, b])" in result.text


def test_an_import_inside_another_function_is_not_reused():
    text = (
        "import numpy as np\n"
        "from keras.layers import merge\n"
        "def helper():\n"
        "    from keras.layers import concatenate\n"
        "    return concatenate\n"
        "def build(a, b):\n"
        "    return merge([a, b], mode='concat')\n"
    )
    result = migrated(text)
    # `concatenate` is bound only inside helper(): build() gets a spelling of its own
    assert "return keras_concatenate([a, b])" in result.text, result.text


def test_an_import_in_the_same_function_is_reused():
    text = (
        "def build(a, b):\n"
        "    from keras.layers import merge, concatenate\n"
        "    return merge([a, b], mode='concat')\n"
    )
    result = migrated(text)
    assert "    return concatenate([a, b])\n" in result.text


def test_no_fix_when_every_spelling_is_taken():
    taken = " = ".join(["keras_concatenate"] + [f"keras_concatenate_{n}" for n in range(2, 10)]) + " = 0\n"
    text = "from numpy import concatenate\nfrom keras.layers import merge\n" + taken + "c = merge([a, b], mode='concat')\n"
    result = migrated(text)
    assert result.text == text
    [finding] = [f for f in result.remaining if f.code == "KF101"]
    assert finding.fix is None
    assert "every way of writing `concatenate` here means something else" in finding.message


def _context(text: str) -> FileContext:
    source = Source(path=Path("example.py"), text=text, raw=text.encode())
    from kerasfix.engine import _analyse_module

    return _analyse_module(source, text, parse(text), SETTINGS)


def _last_call(ctx: FileContext) -> cst.Call:
    found = []

    class Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            found.append(node)

    ctx.module.visit(Calls())
    return found[-1]


@pytest.mark.parametrize(
    ("text", "spelled", "requires"),
    [
        ("import keras\nx = f()\n", "keras.ops.square", ()),
        ("from keras import ops\nx = f()\n", "ops.square", ()),
        ("import keras\nx = f()\n", "keras.ops.square", ()),
        ("import numpy as np\nx = f()\n", "ops.square", (Requirement("keras", "ops"),)),
        ("import numpy as np\nops = 1\nx = f()\n", "keras.ops.square", (Requirement("keras", None),)),
        ("ops = keras = 1\nx = f()\n", "keras_ops.square", (Requirement("keras", "ops", "keras_ops"),)),
    ],
)
def test_module_functions_are_spelled_through_their_module(text, spelled, requires):
    ctx = _context(text)
    spelling = spell(ctx, "keras.ops.square", _last_call(ctx), qualified=True)
    assert spelling is not None
    assert (spelling.text, spelling.requires) == (spelled, requires)


@pytest.mark.parametrize(
    ("requirement", "style", "statement"),
    [
        (Requirement("keras", None), "keras", "import keras\n"),
        (Requirement("keras", None), "tf.keras", "from tensorflow import keras\n"),
        (Requirement("keras", "ops"), "keras", "from keras import ops\n"),
        (Requirement("keras.layers", "concatenate", "keras_concatenate"), "keras", "from keras.layers import concatenate as keras_concatenate\n"),
    ],
)
def test_the_import_tidy_writes_module_and_aliased_imports(requirement, style, statement):
    assert fix_imports("x = 1\n", [requirement], [], style) == statement + "x = 1\n"


def test_a_fix_whose_name_means_something_else_after_the_fix_is_dropped_and_reported(monkeypatch):
    # Break the spelling on purpose: every name counts as free, so the merge fix writes the bare
    # `concatenate` that NumPy already binds. The check after the fix must catch it.
    import kerasfix.spelling

    monkeypatch.setattr(kerasfix.spelling, "name_is_free", lambda ctx, name, symbol=None: True)
    text = (
        "from numpy import concatenate\n"
        "from keras.layers import merge\n"
        "from keras.models import Model\n"
        "c = merge([a, b], mode='concat')\n"
        "m = Model(input=a, output=c)\n"
    )
    result = migrated(text)
    assert len(result.dropped) == 1
    assert "internal error: the KF101 fix at line 4 was not applied" in result.dropped[0]
    assert "`concatenate` was written for `keras.layers.concatenate` but means no Keras name there" in result.dropped[0]
    # the other fix stands; the merge stays as it was and stays reported
    assert "c = merge([a, b], mode='concat')\n" in result.text
    assert "m = Model(inputs=a, outputs=c)\n" in result.text
    assert "KF101" in [finding.code for finding in result.remaining]


def test_migrate_reports_a_dropped_fix_and_writes_the_others(monkeypatch, tmp_path, capsys):
    import kerasfix.spelling
    from kerasfix.cli import main

    monkeypatch.setattr(kerasfix.spelling, "name_is_free", lambda ctx, name, symbol=None: True)
    path = tmp_path / "program.py"
    path.write_text("from numpy import concatenate\nfrom keras.layers import merge\nc = merge([a, b], mode='concat')\nd = Model(input=a, output=c)\nfrom keras.models import Model\n")
    code = main(["migrate", "--no-cache", "--jobs", "1", str(path)])
    captured = capsys.readouterr()
    assert code == 1
    assert "internal error: the KF101 fix at line 3 was not applied" in captured.out + captured.err
    assert "d = Model(inputs=a, outputs=c)" in path.read_text()


@pytest.fixture
def in_parts(monkeypatch):
    """Files are fixed part by part (as files over 1 MB are), in parts of about 60 characters."""
    from kerasfix import segments

    monkeypatch.setattr(segments, "LARGE_FILE_CHARS", 0)
    monkeypatch.setattr(segments, "PART_CHARS", 60)



def test_a_large_file_spells_names_as_a_whole_file_does(in_parts):
    result = migrated(NUMPY_PROGRAM)
    assert result.parts_after is not None and len(result.parts_after) > 2  # it was fixed in parts
    assert "c = keras_concatenate([a, b])\n" in result.text
    assert "from keras.layers import Input, Dense, concatenate as keras_concatenate\n" in result.text
    assert "arr = concatenate([[1], [2]])\n" in result.text


def test_a_large_file_drops_a_fix_whose_name_means_something_else(in_parts, monkeypatch):
    import kerasfix.spelling

    monkeypatch.setattr(kerasfix.spelling, "name_is_free", lambda ctx, name, symbol=None: True)
    result = migrated(NUMPY_PROGRAM)
    assert result.parts_after is not None and len(result.parts_after) > 2
    assert len(result.dropped) == 1 and "the KF101 fix at line 5 was not applied" in result.dropped[0]
    assert 'c = merge([a, b], mode="concat")\n' in result.text


# Another library's star import may bind any name: a custom loss of the kind keras-rl writes.
STAR_PROGRAM = (
    "from keras import backend as K\n"
    "from {star} import *\n"
    "\n"
    "\n"
    "def huber(y_true, y_pred):\n"
    "    return K.mean(K.square(y_true - y_pred), axis=-1)\n"
)


@pytest.mark.parametrize("star", ["rl.util", ".util", "."])
def test_under_a_foreign_star_import_an_alias_is_imported_after_it(star):
    result = migrated(STAR_PROGRAM.replace("{star}", star))
    assert result.text == (
        "from keras import backend as K\n"
        f"from {star} import *\n"
        "from keras import ops as keras_ops\n"
        "\n"
        "\n"
        "def huber(y_true, y_pred):\n"
        "    return keras_ops.mean(keras_ops.square(y_true - y_pred), axis=-1)\n"
    )


def test_under_a_foreign_star_import_an_alias_the_file_uses_is_not_taken():
    # `keras_ops` may come from the star import: the file uses it, so no import may rebind it
    text = STAR_PROGRAM.replace("{star}", "rl.util") + "print(keras_ops, keras_ops_2)\n"
    result = migrated(text)
    assert "keras_ops_3.mean(keras_ops_3.square(" in result.text
    assert result.text.index("from rl.util import *") < result.text.index("from keras import ops as keras_ops_3")


def test_a_new_name_never_joins_an_import_above_a_foreign_star_import():
    text = (
        "from keras import layers, backend as K\n"
        "from rl.util import *\n"
        "y = K.sqrt(layers.Dense(2)(x))\n"
    )
    result = migrated(text)
    assert result.text == (
        "from keras import layers, backend as K\n"
        "from rl.util import *\n"
        "from keras import ops as keras_ops\n"
        "y = keras_ops.sqrt(keras_ops.maximum(layers.Dense(2)(x), 0.0))\n"
    )


def test_a_star_import_after_other_code_is_still_above_the_new_import():
    text = "from keras import backend as K\nx = 1\nfrom rl.util import *\ny = K.sqrt(x)\n"
    result = migrated(text)
    lines = result.text.splitlines()
    assert lines[2:4] == ["from rl.util import *", "from keras import ops as keras_ops"], result.text
    assert lines[4] == "y = keras_ops.sqrt(keras_ops.maximum(x, 0.0))"


@pytest.mark.parametrize(
    ("program", "written", "imported"),
    [
        # TensorFlow's private copy of Keras 2 reads as Keras, but has no Keras 3 name: nothing is
        # added to its import, nor written through a module bound from it
        (
            "from tensorflow.python.keras import backend as K\n\ndef f(x):\n    return K.reverse(x, axes=1)\n",
            "ops.flip(x, axis=1)",
            "from tensorflow.keras import ops\n",
        ),
        (
            "import tensorflow.python.keras.backend as K\nimport tensorflow.python.keras.layers as KL\n"
            "def f(a, b):\n    return KL.merge([a, b], mode='concat')\n",
            "concatenate([a, b])",
            "from tensorflow.keras.layers import concatenate\n",
        ),
    ],
)
def test_no_new_name_is_written_through_tensorflows_private_keras(program, written, imported):
    # KF304 spells the private imports through `tensorflow.keras`; with it ignored they stay, and the other fixes
    # must still not write a Keras 3 name through them
    fixed = migrated(program, Settings(enabled=registry.select(["ALL"], ["KF304"]), unsafe_fixes=True, target="tf.keras")).text
    assert written in fixed, fixed
    assert imported in fixed, fixed
    assert "tensorflow.python.keras import backend as K\n" in fixed or "import tensorflow.python.keras.backend as K\n" in fixed
    compile(fixed, "fixed.py", "exec")
    public = migrated(program, Settings(enabled=registry.select(["ALL"], []), unsafe_fixes=True, target="tf.keras")).text
    assert written in public and "tensorflow.python.keras" not in public, public
