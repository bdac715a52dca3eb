"""The prefilter (kerasfix/prefilter.py) loses nothing: the same findings with it off and on.

Proved three ways: tricky import spellings and generated ones against an oracle built from LibCST's
view of the imports; the fixtures and every rule's examples with all rules enabled; and (slow) the
installed Keras and TensorFlow sources, where every file the prefilter skips is analysed in full and
must have no finding.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import libcst as cst
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from kerasfix import prefilter, registry
from kerasfix.engine import Settings, check_source, fix_text
from kerasfix.names import ImportTable, canonical, normalise_root
from kerasfix.source import Source, read_source

ROOT = Path(__file__).resolve().parent.parent
ALL = Settings(enabled=frozenset(registry.all_specs()), unsafe_fixes=True)


@pytest.fixture
def prefilter_off(monkeypatch):
    monkeypatch.setattr(prefilter, "ENABLED", False)


def _may(text: str) -> bool:
    return prefilter.imports_public_keras(text)


# --- spellings ---------------------------------------------------------------------------------------

KERAS = [
    "import keras\n",
    "import keras.src.layers\n",  # binds `keras` itself
    "import os, keras\n",
    "import os as o, tf_keras as k\n",
    "import tensorflow.keras as K\n",
    "import tensorflow . keras . layers as L\n",
    "import tensorflow as tf\nm = tf.keras.Sequential()\n",
    "import tensorflow as tf\nm = (tf.  # the old API\n     keras)\n",
    "import tensorflow.compat.v1 as tf\ntf.keras.layers.Dense(1)\n",
    "from tensorflow import compat\ncompat.v1.keras.layers.Dense(1)\n",
    "import tensorflow\ntensorflow.keras.Model()\n",
    "from keras import layers\n",
    "from keras.layers import *\n",
    "from tensorflow.keras.layers import *\n",
    "from tensorflow import keras\n",
    "from tensorflow.python import keras as K\n",
    "from tensorflow import (  # comment with ) in it\n    nn,\n    keras,\n)\n",
    "from tensorflow import nn, \\\n    keras\n",
    "from \\\n  keras \\\n  import layers\n",
    "from tensorflow.python.keras.layers import Dense\n",
    "from tf_keras.layers import Dense\n",
    "x = 1; import keras\n",
    "if True: import keras\n",
    "try:\n    import keras\nexcept ImportError:\n    keras = None\n",
    "def build():\n    from keras.models import Model\n    return Model\n",
    "import numpy as np\r\nimport keras\r\n",
    "import numpy as np\rimport keras\r",
    "\ufeffimport keras\n",
    'if "import os" in s: import keras\n',  # text that looks like an import before a real one
    "# a comment ending in a backslash \\\nimport keras\n",
    "x = '''\nfrom keras.src import layers'''; from keras import layers\n",
    "def build():\n    import keras\n    return keras.Sequential()\n",  # indented: confirmed by Python's parser
    "class A:\n    try:\n        pass\n    except E:\n        from tensorflow import keras\n",
    "match x:\n    case 1:\n        import keras\n",
    "def f(:\n    import keras\n",  # Python cannot parse it: kept (the parse then reports the error)
]

NOT_KERAS = [
    "import os\n",
    "import numpy as np\nmodel = np.keras\n",  # no import can make `np` Keras
    "from keras.src import layers\nfrom keras.src.models import Model\n",
    "import keras.src.layers as L\n",
    "from tensorflow.keras.src import layers\n",
    "from tensorflow.python.ops import math_ops\nfrom tensorflow.python.framework import ops\n",
    "from tensorflow.python import pywrap_tfe\n",
    "import tensorflow as tf\nx = tf.constant(1)\nname = 'keras'\n",
    "from . import keras\nfrom .keras import layers\n",
    "import my_keras\nfrom keras_cv import models\n",
    "from tensorflow import *\nkeras_thing = 1\n",
    "text = 'keras'\n",
    "def keras():\n    pass\n",
    'def f():\n    """Example:\n\n    ```python\n    import keras\n    model = keras.Sequential()\n    ```\n    """\n',
    'class A:\n    """\n    from tensorflow import keras\n    """\n',
]


@pytest.mark.parametrize("text", KERAS)
def test_keras_imports_pass(text: str) -> None:
    assert _may(text)
    try:
        assert _oracle(text), "the oracle disagrees: the case is wrong"
    except cst.ParserSyntaxError:
        pass  # a file LibCST cannot parse is kept, so that its parse error is reported


@pytest.mark.parametrize("text", NOT_KERAS)
def test_files_without_public_keras_imports_are_skipped(text: str) -> None:
    assert not _may(text)
    assert not _oracle(text), "the oracle disagrees: the case is wrong"


def test_tokens_of_the_enabled_rules_are_still_required() -> None:
    assert prefilter.may_hold_findings("import keras\nmodel.fit()\n", ("fit",))
    assert not prefilter.may_hold_findings("import keras\n", ("Sequential",))


def test_notebooks_are_judged_on_their_joined_code_cells(tmp_path: Path) -> None:
    def notebook(*cells: str) -> Source:
        path = tmp_path / "n.ipynb"
        document = {
            "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "outputs": [], "execution_count": None, "source": c} for i, c in enumerate(cells)],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        path.write_text(json.dumps(document))
        return read_source(path)

    assert _may(notebook("%matplotlib inline\n", "import tensorflow as tf\n", "m = tf.keras.Sequential()\n").text)
    assert not _may(notebook("!pip install keras\n", "import numpy as np\n").text)


# --- generated spellings, against an oracle ----------------------------------------------------------


def _oracle(text: str) -> bool:
    """Whether LibCST's view of the imports makes any Keras name reachable: a binding, a star import or
    an import path that is Keras, or any expression in the file that resolves to a Keras name."""
    module = cst.parse_module(text)
    table = ImportTable.scan(module)
    if any(normalise_root(b.raw) is not None for b in table.bindings.values()):
        return True
    if any(canonical(m + "._") is not None for m in table.star_modules):
        return True

    class Paths(cst.CSTVisitor):
        found = False

        def visit_Import(self, node: cst.Import) -> None:
            for alias in node.names:
                full = cst.helpers.get_full_name_for_node(alias.name)
                self.found |= full is not None and normalise_root(full) is not None

        def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
            if node.module is not None and not node.relative:
                self.found |= normalise_root(cst.helpers.get_full_name_for_node(node.module)) is not None

        def visit_Attribute(self, node: cst.Attribute) -> None:
            self.found |= table.qualified(node) is not None

    paths = Paths()
    module.visit(paths)
    return paths.found


MODULES = [
    "keras", "keras.layers", "keras.src", "keras.src.layers", "tensorflow", "tensorflow.keras",
    "tensorflow.keras.layers", "tensorflow.python", "tensorflow.python.keras", "tensorflow.python.ops",
    "tensorflow.compat", "tensorflow.compat.v1", "tf_keras", "tf_keras.src", "numpy", "os.path", "keras_cv",
]
NAMES = ["keras", "layers", "v1", "compat", "Dense", "ops", "src", "python"]
GAPS = [" ", "  ", "\t", " \\\n    ", "\\\n"]


@st.composite
def _dotted(draw, module: str) -> str:
    gap = draw(st.sampled_from(["", "", " ", " \\\n "]))
    return f"{gap}.{gap}".join(module.split("."))


@st.composite
def _import(draw) -> str:
    gap = draw(st.sampled_from(GAPS))
    module = draw(_dotted(draw(st.sampled_from(MODULES))))
    form = draw(st.integers(0, 4))
    if form == 0:
        return f"import{gap}{module}"
    if form == 1:
        return f"import{gap}{module}{gap}as{gap}m"
    if form == 2:
        names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True))
        return f"from{gap}{module}{gap}import{gap}{', '.join(names)}"
    if form == 3:
        names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True))
        return f"from {module} import (  # why (or not)\n    " + ",\n    ".join(names) + ",\n)"
    return f"from {module} import *"


@st.composite
def _statement(draw) -> str:
    statement = draw(_import())
    context = draw(st.integers(0, 4))
    if context == 1:
        return f"x = 1; {statement}\n"
    if context == 2 and "\n" not in statement:
        return f"if True: {statement}\n"
    if context == 3:
        return "try:\n    " + statement.replace("\n", "\n    ") + "\nexcept ImportError:\n    pass\n"
    if context == 4:
        return "def f():\n    " + statement.replace("\n", "\n    ") + "\n"
    return statement + "\n"


USES = ["", "y = m.keras.layers.Dense(1)\n", "y = (m.\n     keras)\n", "y = keras.Model()\n", "s = 'from keras import x'\n", "y = v1.keras\n"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_statement(), min_size=1, max_size=3), st.sampled_from(USES))
def test_generated_imports_are_never_skipped_wrongly(statements: list[str], use: str) -> None:
    text = "".join(statements) + use
    try:
        reachable = _oracle(text)
    except cst.ParserSyntaxError:
        assume(False)
        return
    if reachable:
        assert _may(text), text


# --- the fixtures and every rule's examples: findings identical with the prefilter off and on ---------


def _programs() -> list[Path]:
    return sorted(path for path in (ROOT / "fixtures").rglob("*") if path.suffix in (".py", ".ipynb"))


def _summary(findings, error) -> list:
    return [(f.code, f.location, f.end_location, f.message) for f in findings] + ([repr(error)] if error else [])


def test_fixtures_have_the_same_findings_and_fixes_without_the_prefilter(monkeypatch) -> None:
    programs = _programs()
    assert programs
    on = {path: _summary(*check_source(read_source(path), ALL)) for path in programs}
    fixed_on = {path: fix_text(read_source(path), ALL).text for path in programs}
    monkeypatch.setattr(prefilter, "ENABLED", False)
    off = {path: _summary(*check_source(read_source(path), ALL)) for path in programs}
    fixed_off = {path: fix_text(read_source(path), ALL).text for path in programs}
    assert on == off
    assert fixed_on == fixed_off


def test_rule_examples_have_the_same_findings_without_the_prefilter(monkeypatch) -> None:
    texts = [example.before for spec in registry.all_specs().values() for example in spec.examples]
    assert texts

    def run() -> list:
        return [_summary(*check_source(Source(Path("example.py"), text, text.encode()), ALL)) for text in texts]

    on = run()
    monkeypatch.setattr(prefilter, "ENABLED", False)
    assert run() == on


# --- the installed Keras and TensorFlow sources (slow) ------------------------------------------------


def _package_dir(name: str) -> Path | None:
    import importlib.util

    spec = importlib.util.find_spec(name)  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _full_analysis(path: Path) -> tuple[str, list]:
    prefilter.ENABLED = False  # in the worker process only
    try:
        source = read_source(path)
    except Exception as error:  # noqa: BLE001 - an unreadable file is reported the same either way
        return str(path), [f"unreadable: {error}"]
    try:
        findings, _ = check_source(source, ALL)
    except Exception as error:  # noqa: BLE001 - a crash is a bug elsewhere; reported, not a finding
        return str(path), [f"crashed: {type(error).__name__}: {error}"]
    return str(path), [f"{f.location.row}:{f.location.column} {f.code}" for f in findings]


def _skipped_files(package: str, sample: int = 1) -> list[Path]:
    root = _package_dir(package)
    if root is None:
        pytest.skip(f"{package} is not installed")
    skipped = []
    for index, path in enumerate(sorted(root.rglob("*.py"))):
        text = path.read_text(encoding="utf-8", errors="replace")
        if "keras" in text and not prefilter.may_hold_findings(text, registry.tokens_for(ALL.enabled)):
            skipped.append(path)
    return skipped[::sample]


@pytest.mark.slow
@pytest.mark.parametrize("package", ["keras", "tensorflow"])
def test_files_the_prefilter_skips_in_installed_sources_have_no_findings(package: str) -> None:
    # Files without the word `keras` cannot spell a Keras name (every root contains it); the rest of
    # the files the prefilter skips are analysed in full, in parallel, and must have no finding.
    files = _skipped_files(package)
    assert files
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1, mp_context=context) as pool:
        results = dict(pool.map(_full_analysis, files, chunksize=8))
    crashed = {path: found[0] for path, found in results.items() if found and found[0].startswith("crashed:")}
    if crashed:
        warnings.warn(f"{len(crashed)} skipped files crash the full analysis (not the prefilter's doing): {crashed}")
    with_findings = {path: found for path, found in results.items() if found and path not in crashed}
    assert not with_findings
