"""Keras's modules handed over by a function (rules/names.toml `providers`): keras_applications'
`backend, layers, models, utils = get_submodules_from_kwargs(kwargs)` binds those names to keras.backend,
keras.layers, keras.models and keras.utils, so the rules read `backend.int_shape(x)` as Keras's; and the rules
this convention's packages needed (KF306, a `/` in a layer name; KF329, kernel arguments of separable
convolutions)."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from kerasfix import prefilter
from kerasfix.names import ImportTable
from kerasfix.runner import _plainly_without_keras
from tests.conftest import findings, migrate


def _calls(code: str, inherited: ImportTable | None = None) -> dict[str, str | None]:
    """Each call's callee, as written, and what the file's import table says it is."""
    module = cst.parse_module(code)
    table = ImportTable.scan(module, inherited)
    found: dict[str, str | None] = {}

    class Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            found[module.code_for_node(node)] = table.qualified(node.func)

    module.visit(Calls())
    return found


# the package's modules, as keras_applications writes them: placeholders set by the builder through `global`
GLOBALS = (
    "from . import get_submodules_from_kwargs\n\n"
    "backend = None\nlayers = None\nmodels = None\nkeras_utils = None\n\n"
    "def block(x):\n    return layers.Dense(backend.int_shape(x)[-1])(x)\n\n"
    "def Net(**kwargs):\n"
    "    global backend, layers, models, keras_utils\n"
    "    backend, layers, models, keras_utils = get_submodules_from_kwargs(kwargs)\n"
    "    keras_utils.get_file('w.h5', 'http://example.com/w.h5')\n"
    "    return models.Model(x, block(x))\n"
)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("backend.int_shape(x)", "keras.backend.int_shape"),
        ("layers.Dense(backend.int_shape(x)[-1])", "keras.layers.Dense"),
        ("models.Model(x, block(x))", "keras.Model"),
        ("keras_utils.get_file('w.h5', 'http://example.com/w.h5')", "keras.utils.get_file"),
    ],
)
def test_names_unpacked_through_global_are_the_modules_in_order(call: str, expected: str) -> None:
    assert _calls(GLOBALS)[call] == expected


@pytest.mark.parametrize(
    ("code", "call", "expected"),
    [
        # imported from keras_applications itself; unpacked in a function for its own closure
        (
            "from keras_applications import get_submodules_from_kwargs\n\n"
            "def get_act(**kwargs):\n"
            "    backend, layers, models, utils = get_submodules_from_kwargs(kwargs)\n"
            "    def act(x):\n        return x * backend.sigmoid(x)\n"
            "    return act\n\n"
            "def other(backend):\n    return backend.sigmoid(1)\n",
            "backend.sigmoid(x)",
            "keras.backend.sigmoid",
        ),
        # ... but only in that function: another one's `backend` is its own parameter
        (
            "from keras_applications import get_submodules_from_kwargs\n\n"
            "def get_act(**kwargs):\n"
            "    backend, layers, models, utils = get_submodules_from_kwargs(kwargs)\n"
            "    return backend\n\n"
            "def other(backend):\n    return backend.sigmoid(1)\n",
            "backend.sigmoid(1)",
            None,
        ),
        # a method of a class defined in the function sees it (efficientnet's FixedDropout)
        (
            "from . import get_submodules_from_kwargs\n\n"
            "def get_dropout(**kwargs):\n"
            "    backend, layers, models, utils = get_submodules_from_kwargs(kwargs)\n"
            "    class Fixed(layers.Dropout):\n"
            "        def noise(self, inputs):\n            return backend.shape(inputs)\n"
            "    return Fixed\n",
            "backend.shape(inputs)",
            "keras.backend.shape",
        ),
        # a nested function that binds the name for itself does not
        (
            "from . import get_submodules_from_kwargs\n\n"
            "def get_act(**kwargs):\n"
            "    backend, layers, models, utils = get_submodules_from_kwargs(kwargs)\n"
            "    def act(x, backend=None):\n        return backend.sigmoid(x)\n"
            "    return act\n",
            "backend.sigmoid(x)",
            None,
        ),
        # a function that also binds the name otherwise: which one a use reads is not known
        (
            "from . import get_submodules_from_kwargs\n\n"
            "def f(x, **kwargs):\n"
            "    backend, layers, models, utils = get_submodules_from_kwargs(kwargs)\n"
            "    if x:\n        backend = x\n"
            "    return backend.sum(1)\n",
            "backend.sum(1)",
            None,
        ),
        # an alias of the function, and an imported package's copy (classification_models)
        (
            "from .. import get_submodules_from_kwargs as submodules\n\n"
            "def f(**kwargs):\n    K, L, M, U = submodules(kwargs)\n    return L.Dense(1)\n",
            "L.Dense(1)",
            "keras.layers.Dense",
        ),
        (
            "import classification_models\n\n"
            "def f(**kwargs):\n    K, L, M, U = classification_models.get_submodules_from_kwargs(kwargs)\n    return K.sum(1)\n",
            "K.sum(1)",
            "keras.backend.sum",
        ),
        # a function of that name from a package the table does not list: not a provider
        (
            "from mylib import get_submodules_from_kwargs\n\n"
            "def f(**kwargs):\n    backend, layers, models, utils = get_submodules_from_kwargs(kwargs)\n    return backend.sum(1)\n",
            "backend.sum(1)",
            None,
        ),
        # another function's result
        (
            "from . import load_modules\n\n"
            "def f(**kwargs):\n    backend, layers, models, utils = load_modules(kwargs)\n    return backend.sum(1)\n",
            "backend.sum(1)",
            None,
        ),
        # a module-level name rebound to something else: not Keras anywhere
        (GLOBALS + "\nbackend = make_backend()\n", "backend.int_shape(x)", None),
        # a starred target: the names after it are not at a known position
        (
            "from . import get_submodules_from_kwargs\n\n"
            "def f(**kwargs):\n    backend, *rest, utils = get_submodules_from_kwargs(kwargs)\n"
            "    utils.get_file('a', 'b')\n    return backend.sum(1)\n",
            "utils.get_file('a', 'b')",
            None,
        ),
        (
            "from . import get_submodules_from_kwargs\n\n"
            "def f(**kwargs):\n    backend, *rest, utils = get_submodules_from_kwargs(kwargs)\n"
            "    utils.get_file('a', 'b')\n    return backend.sum(1)\n",
            "backend.sum(1)",
            "keras.backend.sum",
        ),
    ],
)
def test_names_unpacked_in_a_function(code: str, call: str, expected: str | None) -> None:
    assert _calls(code)[call] == expected


# the package's __init__.py: the function itself, and a helper that takes the backend as a parameter
INIT = (
    "_KERAS_BACKEND = None\n\n"
    "def get_submodules_from_kwargs(kwargs):\n"
    "    backend = kwargs.get('backend', _KERAS_BACKEND)\n"
    "    layers = kwargs.get('layers')\n    models = kwargs.get('models')\n    utils = kwargs.get('utils')\n"
    "    return backend, layers, models, utils\n\n"
    "def correct_pad(backend, inputs, kernel_size):\n"
    "    return backend.int_shape(inputs)[1:3]\n\n"
    "def other(backend, tensor):\n"
    "    return backend.int_shape(tensor)\n"
)


def test_parameters_of_functions_beside_the_provider() -> None:
    calls = _calls(INIT)
    assert calls["backend.int_shape(inputs)"] == "keras.backend.int_shape"
    # a function the table does not list keeps its parameter unknown
    assert calls["backend.int_shape(tensor)"] is None
    assert _calls(INIT.replace("correct_pad", "pad_for"))["backend.int_shape(inputs)"] is None
    # without the provider defined beside it, `correct_pad` is somebody else's
    without = INIT.replace("return backend, layers, models, utils", "return backend")
    assert set(_calls(without).values()) == {None}


def test_large_file_parts_inherit_the_binding() -> None:
    first = cst.parse_module(GLOBALS)
    table = ImportTable.scan(first)
    later = "def head(x):\n    return layers.Dense(2)(x)\n"
    assert _calls(later, table)["layers.Dense(2)"] == "keras.layers.Dense"
    rebound = "layers = [1, 2]\n\ndef head(x):\n    return layers.Dense(2)(x)\n"
    assert _calls(rebound, table)["layers.Dense(2)"] is None


def test_migrate_rewrites_the_injected_backend_with_an_import_it_adds() -> None:
    code = (
        "from . import get_submodules_from_kwargs\n\n"
        "backend = None\n\n"
        "def get_swish(**kwargs):\n"
        "    backend, layers, models, keras_utils = get_submodules_from_kwargs(kwargs)\n\n"
        "    def swish(x):\n        return x * backend.sigmoid(x)\n\n"
        "    return swish\n\n"
        "def _block(x):\n"
        "    with backend.name_scope('block'):\n"
        "        return backend.int_shape(x)\n\n"
        "def Net(**kwargs):\n"
        "    global backend\n"
        "    backend, layers, models, keras_utils = get_submodules_from_kwargs(kwargs)\n"
        "    return _block(kwargs['x'])\n"
    )
    expected = (
        "from . import get_submodules_from_kwargs\n"
        "from tensorflow.keras import ops, name_scope\n\n"
        "backend = None\n\n"
        "def get_swish(**kwargs):\n"
        "    backend, layers, models, keras_utils = get_submodules_from_kwargs(kwargs)\n\n"
        "    def swish(x):\n        return x * ops.sigmoid(x)\n\n"
        "    return swish\n\n"
        "def _block(x):\n"
        "    with name_scope('block'):\n"
        "        return tuple(x.shape)\n\n"
        "def Net(**kwargs):\n"
        "    global backend\n"
        "    backend, layers, models, keras_utils = get_submodules_from_kwargs(kwargs)\n"
        "    return _block(kwargs['x'])\n"
    )
    assert migrate(code) == expected
    assert migrate(code, target="keras").startswith("from . import get_submodules_from_kwargs\nfrom keras import ops, name_scope\n")


def test_a_file_that_only_names_the_provider_is_read(tmp_path: Path) -> None:
    # no `keras` anywhere in the text: only the provider says that Keras is used
    code = "from . import get_submodules_from_kwargs\n\ndef f(**kwargs):\n    K, L, M, U = get_submodules_from_kwargs(kwargs)\n    return K.int_shape(kwargs)\n"
    assert "keras" not in code
    assert prefilter.imports_public_keras(code)
    path = tmp_path / "net.py"
    path.write_text(code)
    assert not _plainly_without_keras(path, code.encode())
    assert [f.code for f in findings(code)] == ["KF376"]


# --- KF306: a `/` in a name ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "fixed"),
    [
        ("x = layers.Conv2D(8, 3, name='/'.join([prefix, 'conv']))(x)", "x = layers.Conv2D(8, 3, name='_'.join([prefix, 'conv']))(x)"),
        ("x = layers.Conv2D(8, 3, name='{}/conv'.format(prefix))(x)", "x = layers.Conv2D(8, 3, name='{}_conv'.format(prefix))(x)"),
        ("x = layers.Conv2D(8, 3, name='a/' 'b/c')(x)", "x = layers.Conv2D(8, 3, name='a_' 'b_c')(x)"),
        ("m = keras.Model(i, o, name='net/v2')", "m = keras.Model(i, o, name='net_v2')"),
        ("i = keras.Input((4,), name='in/put')", "i = keras.Input((4,), name='in_put')"),
        ("with keras.name_scope('enc/block'):\n    pass", "with keras.name_scope('enc_block'):\n    pass"),
        ("w = self.add_weight(name='gate/kernel', shape=(2,))", "w = self.add_weight(name='gate_kernel', shape=(2,))"),
    ],
)
def test_slash_in_names_is_replaced_with_unsafe_fixes(line: str, fixed: str) -> None:
    header = "import keras\nfrom keras import layers\n"
    assert [f.code for f in findings(header + line + "\n", "KF306")] == ["KF306"]
    assert migrate(header + line + "\n", "KF306") == header + line + "\n"  # unsafe: not without the flag
    assert migrate(header + line + "\n", "KF306", unsafe=True) == header + fixed + "\n"


@pytest.mark.parametrize(
    "line",
    [
        "x = layers.Conv2D(8, 3, name=block_name)(x)",  # held in a variable: not in the source here
        "x = layers.Conv2D(8, 3, name=prefix + '_conv')(x)",
        "x = layers.Dense(8, name=b'dense/1')(x)",  # bytes, which Keras refuses anyway
        "x = other.Conv2D(8, 3, name='a/b')(x)",  # not Keras
        "path = os.path.join('logs/run', name)",
        "x = layers.Lambda(lambda t: t / 2, name='half')(x)",
    ],
)
def test_names_without_a_literal_slash_are_left_alone(line: str) -> None:
    assert findings("import os\nfrom keras import layers\n" + line + "\n", "KF306") == []


# --- the fixture, run: the original under tf-keras, the migrated program under Keras 3 ------------------

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "catalogue" / "applications_injected_modules"


def _build(path: Path, keras_module, monkeypatch):
    """CompactNet from one of the fixture's programs, handed the modules of `keras_module`."""
    import types

    package = types.ModuleType("keras_applications")

    def get_submodules_from_kwargs(kwargs):
        return kwargs["backend"], kwargs["layers"], kwargs["models"], kwargs["utils"]

    package.get_submodules_from_kwargs = get_submodules_from_kwargs
    monkeypatch.setitem(__import__("sys").modules, "keras_applications", package)
    namespace: dict = {"__name__": "compactnet"}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return namespace["CompactNet"](
        backend=keras_module.backend, layers=keras_module.layers, models=keras_module.models, utils=keras_module.utils
    )


@pytest.mark.tensorflow
@pytest.mark.slow
def test_the_migrated_fixture_builds_the_same_model_under_keras_3(monkeypatch) -> None:
    np = pytest.importorskip("numpy")
    tf_keras = pytest.importorskip("tf_keras")
    keras = pytest.importorskip("keras")
    original = _build(FIXTURE.with_suffix(".py"), tf_keras, monkeypatch)
    migrated = _build(FIXTURE.with_name(FIXTURE.name + ".fixed.py"), keras, monkeypatch)
    # stem 432 + 64; units: separable 528 + 984, batch norms 96 + 128, gates 150 + 168 and 264 + 288; head 330
    assert original.count_params() == migrated.count_params() == 3432
    assert not any("/" in layer.name for layer in migrated.layers)
    migrated.set_weights(original.get_weights())
    images = np.random.default_rng(0).normal(size=(4, 32, 32, 3)).astype("float32")
    expected = original.predict(images, verbose=0)
    got = np.asarray(migrated.predict(images, verbose=0))
    assert got.shape == (4, 10)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.tensorflow
def test_every_provider_returns_modules_installed_keras_has() -> None:
    import importlib

    from kerasfix.names import canonical, providers

    pytest.importorskip("keras")
    assert providers(), "rules/names.toml lists no provider"
    for provider in providers().values():
        assert len(provider.returns) == len(set(provider.returns))
        for module in provider.returns:
            assert canonical(module) == module, module  # what the rules match on, spelled once
            assert importlib.import_module(module).__name__ == module
        for function, parameters in provider.parameters.items():
            assert set(parameters.values()) <= set(provider.returns), function


def test_a_function_that_binds_the_name_otherwise_too_keeps_it_unresolved() -> None:
    """Beside the provider's unpacking, an import, `except ... as`, `:=` or a `match` capture in the same function
    (and a comprehension's own loop variable) may hold something else: no backend fix there."""
    head = "from keras_applications import get_submodules_from_kwargs\n"
    unpack = "    backend, layers, models, utils = get_submodules_from_kwargs(kwargs)\n"
    others = [
        "    import mybackend as backend\n",
        "    try:\n        pass\n    except Exception as backend:\n        pass\n",
        "    if (backend := make()):\n        pass\n",
        "    match thing:\n        case backend:\n            pass\n",
    ]
    for other in others:
        text = head + "def f(x, thing, **kwargs):\n" + unpack + other + "    return backend.int_shape(x)\n"
        assert [f.code for f in findings(text, "KF376")] == [], other
    text = head + "def f(x, objs, **kwargs):\n" + unpack + "    a = [backend.int_shape(x) for backend in objs]\n    return backend.int_shape(x)\n"
    assert [f.location.row for f in findings(text, "KF376")] == [5]
