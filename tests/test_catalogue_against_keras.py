"""Every catalogue entry, checked against the installed Keras 3: what it writes exists and is accepted, and
what it flags is really gone, rejected or ignored.

- each `replacement` (and each `keras.*` name in `options`) exists;
- each argument name an entry writes (`renames` values, `combine` into, `require` keys) is a parameter of
  the symbol the call ends up naming (or a base `Layer` keyword), or of the methods it rewrites to;
- each old symbol an entry replaces or reports is gone from Keras 3, unless the entry says why it is
  flagged anyway in `options.still_exists` (or marks it `options.present_in_keras3 = true`);
- each old argument (`renames`/`remove`/`report` keys, `combine` parts) makes Keras 3 raise or warn when
  passed, or is swallowed by a class KF302 knows to swallow, unless `options.still_accepted` says why.

Also the data of rules/keras3.toml that describes Keras itself: the `[validity]` tables and KF380's defaults.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import warnings
from pathlib import Path

import pytest

from kerasfix import api, ruledata
from kerasfix.checks.entries import Entry, entries

pytestmark = pytest.mark.tensorflow
MISSING = object()
ENTRIES = entries()

# Values for required parameters, so that a class can be made to try an argument on it.
DUMMY = {
    "units": 2, "filters": 2, "kernel_size": 1, "rate": 0.5, "pool_size": 2, "output_size": 2,
    "activation": "relu", "height": 2, "width": 2, "input_dim": 3, "output_dim": 2, "stddev": 0.1, "axes": 1,
    "num_heads": 1, "key_dim": 2, "num_bins": 2, "function": (lambda x: x), "dims": (1,), "n": 2,
    "target_shape": (1,), "scale": 1.0, "factor": 0.1, "height_factor": 0.1, "width_factor": 0.1,
    "filepath": "model.keras", "x": [0, 1], "equation": "ab,bc->ac", "output_shape": 2, "max_number": 2,
    "learning_rate": 0.01,
}
OLD_VALUES = {"save_format": "keras"}  # a value of the right kind, so that only the name can be refused


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return importlib.import_module("keras")


def resolve(name: str):
    """The object a dotted Keras name stands for, or MISSING."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:end]))
        except ImportError:
            continue
        for attribute in parts[end:]:
            value = getattr(value, attribute, MISSING)
            if value is MISSING:
                return MISSING
        return value
    return MISSING


def parameters(value) -> set[str]:
    """Every parameter name a callable (or a class and its parents) declares."""
    functions = [value]
    if inspect.isclass(value):
        functions = [klass.__init__ for klass in value.__mro__ if "__init__" in klass.__dict__]
    names: set[str] = set()
    for function in functions:
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):
            continue
        names |= {p.name for p in signature.parameters.values() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
    return names - {"self"}


def is_layer(keras, value) -> bool:
    return inspect.isclass(value) and issubclass(value, keras.layers.Layer)


def accepts(keras, value, name: str) -> bool:
    if name in parameters(value):
        return True
    return is_layer(keras, value) and name in api.snapshot()["layer_base_keywords"]


def required_arguments(keras, value) -> dict | None:
    """Values for the required parameters of a class or function, or None when one is unknown."""
    try:
        signature = inspect.signature(value.__init__ if inspect.isclass(value) else value)
    except (TypeError, ValueError):
        return None
    arguments = {}
    for parameter in signature.parameters.values():
        if parameter.name == "self" or parameter.kind in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
            continue
        if parameter.default is not parameter.empty:
            continue
        if parameter.name == "layer":
            arguments["layer"] = keras.layers.Dense(1)
        elif parameter.name in DUMMY:
            arguments[parameter.name] = DUMMY[parameter.name]
        else:
            return None
    return arguments


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def attempt(call) -> tuple[str, str]:
    """('raised' | 'warned' | 'silent', what was said) for one call."""
    handler = Captured()
    loggers = [logging.getLogger(), logging.getLogger("absl")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                call()
            except Exception as error:  # noqa: BLE001 - any refusal counts
                return "raised", f"{type(error).__name__}: {error}"
        said = [str(w.message) for w in caught] + handler.messages
        return ("warned", " | ".join(said)) if said else ("silent", "")
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def _id(entry: Entry) -> str:
    return f"{entry.code}-{entry.spec.name}"


def _new_names(entry: Entry) -> list[str]:
    names = list(entry.renames.values()) + [into for into, _ in entry.combine] + list(entry.require)
    return list(dict.fromkeys(names))


def _old_names(entry: Entry) -> list[str]:
    names = list(entry.renames) + list(entry.remove) + list(entry.report)
    names += [part for _, parts in entry.combine for part in parts]
    still = entry.options.get("still_accepted", {})
    return [name for name in dict.fromkeys(names) if name not in still]


def _replaced_symbols(entry: Entry) -> list[str]:
    """The symbols the entry is about themselves (removed or renamed), not only their arguments."""
    if entry.replacement or entry.report_only or "replacement" in entry.options or "aliases" in entry.options:
        return list(entry.symbols)
    renamed = entry.options.get("replacements", {})  # class -> new symbol, for some of the symbols
    return [symbol for symbol in entry.symbols if symbol.rsplit(".", 1)[1] in renamed]


def _targets(entry: Entry) -> list[str]:
    """The symbols the entry's calls end up naming."""
    if entry.replacement:
        return [entry.replacement]
    renamed = entry.options.get("replacements", {})
    return [renamed.get(symbol.rsplit(".", 1)[1], symbol) for symbol in entry.symbols]


def _still_exists(entry: Entry) -> bool:
    """The entry says it flags a symbol Keras 3 still has (`still_exists = "why"`, or `present_in_keras3`)."""
    reason = entry.options.get("still_exists")
    return (isinstance(reason, str) and bool(reason)) or entry.options.get("present_in_keras3") is True


def _replaces_methods(entry: Entry) -> bool:
    options = entry.options
    return bool(entry.replacement_method or entry.report_only or {"replacement", "methods", "attributes"} & set(options))


def _method_targets(keras, entry: Entry) -> list:
    names = [entry.replacement_method, *entry.methods, *entry.options.get("methods", {}).values()]
    if isinstance(entry.options.get("replacement"), str):
        names.append(entry.options["replacement"])
    return [getattr(keras.Model, name) for name in dict.fromkeys(n for n in names if n) if hasattr(keras.Model, name)]


def _keras_names(value) -> list[str]:
    """`keras.*` names among the values (not the keys) of an entry's options."""
    if isinstance(value, str):
        return [value] if value.startswith("keras.") and " " not in value else []
    if isinstance(value, dict):
        return [name for item in value.values() for name in _keras_names(item)]
    if isinstance(value, (list, tuple)):
        return [name for item in value for name in _keras_names(item)]
    return []


# --- the entries --------------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", ENTRIES, ids=_id)
def test_replacements_exist(keras, entry: Entry) -> None:
    names = ([entry.replacement] if entry.replacement else []) + _keras_names(entry.options)
    missing = [name for name in names if resolve(name) is MISSING]
    assert not missing, f"{entry.code} names {missing}, which Keras {keras.__version__} does not have"


@pytest.mark.parametrize("entry", [e for e in ENTRIES if _new_names(e)], ids=_id)
def test_new_argument_names_are_accepted(keras, entry: Entry) -> None:
    problems = []
    if entry.symbols:
        for target in dict.fromkeys(_targets(entry)):
            value = resolve(target)
            if value is MISSING:
                continue  # a removed symbol without replacement: test_old_symbols_are_gone judges it
            problems += [f"{target} does not take `{name}`" for name in _new_names(entry) if not accepts(keras, value, name)]
    if entry.methods:
        methods = _method_targets(keras, entry)
        assert methods, f"{entry.code}: none of its methods exists on keras.Model"
        for name in _new_names(entry):
            if not any(name in parameters(method) for method in methods):
                problems.append(f"no method of {[m.__name__ for m in methods]} takes `{name}`")
    assert not problems, f"{entry.code} writes arguments Keras 3 does not accept: {problems}"


@pytest.mark.parametrize("entry", [e for e in ENTRIES if _replaced_symbols(e) or _replaces_methods(e)], ids=_id)
def test_old_symbols_are_gone(keras, entry: Entry) -> None:
    if _still_exists(entry):
        return
    present = [symbol for symbol in _replaced_symbols(entry) if resolve(symbol) is not MISSING]
    if entry.methods and _replaces_methods(entry):
        present += [f"Model.{m}" for m in entry.methods if hasattr(keras.Model, m) or hasattr(keras.layers.Layer, m)]
    assert not present, (
        f"{entry.code} replaces or reports {present}, which Keras {keras.__version__} still has; if that is "
        f"intended, say why in `options = {{ still_exists = \"...\" }}`"
    )


def _method_call(keras, tmp_path: Path, method: str):
    import numpy as np

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((4, 3)), np.zeros((4, 1))
    calls = {
        "fit": lambda **kw: model.fit(x, y, epochs=1, verbose=0, **kw),
        "evaluate": lambda **kw: model.evaluate(x, y, verbose=0, **kw),
        "predict": lambda **kw: model.predict(x, verbose=0, **kw),
        "compile": lambda **kw: model.compile(optimizer="sgd", loss="mse", **kw),
        "save": lambda **kw: model.save(str(tmp_path / "m.keras"), **kw),
        "save_weights": lambda **kw: model.save_weights(str(tmp_path / "m.weights.h5"), **kw),
    }
    return calls.get(method)


@pytest.mark.parametrize("entry", [e for e in ENTRIES if _old_names(e)], ids=_id)
def test_old_arguments_are_refused_or_ignored(keras, entry: Entry, tmp_path: Path) -> None:
    swallowing = ruledata.load("keras3").get("validity", {}).get("swallowing", [])
    problems, checked = [], 0
    for symbol in entry.symbols:
        value = resolve(symbol)
        if value is MISSING or not callable(value):
            continue
        required = required_arguments(keras, value)
        if required is None:
            continue
        for name in _old_names(entry):
            if name in required:
                continue
            if name in parameters(value) and not is_layer(keras, value):
                problems.append(f"{symbol} still declares `{name}`")
                continue
            outcome, said = attempt(lambda: value(**required, **{name: OLD_VALUES.get(name, 1)}))
            checked += 1
            if outcome == "silent" and symbol not in swallowing:
                problems.append(f"{symbol}({name}=...) is accepted without a word")
    for method in entry.methods:
        call = _method_call(keras, tmp_path, method)
        if call is None or not hasattr(keras.Model, method):
            continue
        for name in _old_names(entry):
            outcome, said = attempt(lambda: call(**{name: OLD_VALUES.get(name, 1)}))
            checked += 1
            if outcome == "silent":
                problems.append(f"Model.{method}({name}=...) is accepted without a word")
    assert not problems, (
        f"{entry.code}: {problems}; if Keras 3 accepts them on purpose, say why in `options.still_accepted`"
    )


# --- rules/keras3.toml's facts about Keras ------------------------------------------------------------


def test_average_pooling_defaults_are_max_pooling_defaults(keras) -> None:
    import ast

    (entry,) = [e for e in ENTRIES if e.code == "KF380"]
    for name, default in entry.options["defaults"].items():
        average = resolve(f"keras.layers.{name}")
        assert inspect.signature(average.__init__).parameters["pool_size"].default is inspect.Parameter.empty
        maximum = resolve(f"keras.layers.{name.replace('Average', 'Max').replace('Avg', 'Max')}")
        assert maximum(), f"{name}: the max-pooling layer should still default its pool size"
        max_default = inspect.signature(maximum.__init__).parameters["pool_size"].default
        value = ast.literal_eval(default)
        assert max_default == value or (isinstance(value, int) and max_default == value), (name, max_default, default)


def _forwarded(keras) -> dict[str, set[str]]:
    """Parameters of the parent classes of each keras.layers class with `**kwargs`, by keyword."""
    base = set(api.snapshot()["layer_base_keywords"])
    found: dict[str, set[str]] = {}
    for name, entry in api.snapshot()["symbols"].items():
        if not name.startswith("keras.layers.") or not entry.get("layer") or not entry.get("var_keyword"):
            continue
        value = resolve(name)
        own = {p["name"] for p in entry["params"]}
        inherited: set[str] = set()
        for klass in value.__mro__[1:]:
            if klass is keras.layers.Layer:
                break
            if "__init__" in klass.__dict__:
                inherited |= parameters(klass.__init__)
        for keyword in inherited - own - base:
            found.setdefault(keyword, set()).add(name.rsplit(".", 1)[1])
    return found


def test_forwarded_keywords_table_is_complete(keras) -> None:
    table = {k: set(v) for k, v in ruledata.load("keras3")["validity"]["forwarded"].items()}
    expected = _forwarded(keras)
    assert table == expected, (
        "rules/keras3.toml [validity.forwarded] is out of date; it should be:\n"
        + "\n".join(f"{k} = {sorted(v)}" for k, v in sorted(expected.items()))
    )


def test_popped_keywords_are_accepted(keras) -> None:
    popped = ruledata.load("keras3")["validity"]["popped"]
    problems = []
    for keyword, symbols in popped.items():
        for symbol in symbols:
            value = resolve(symbol)
            assert value is not MISSING, symbol
            required = required_arguments(keras, value)
            if symbol == "keras.layers.InputLayer":
                required = {}
            assert required is not None, symbol
            sample = {"batch_input_shape": (4, 3), "alpha": 0.1, "implementation": 2, "input_length": 5, "decay": 0.1}
            outcome, said = attempt(lambda: value(**required, **{keyword: sample.get(keyword, 1)}))
            if outcome == "raised":
                problems.append(f"{symbol}({keyword}=...): {said}")
    assert not problems, problems


def test_swallowing_classes_swallow(keras) -> None:
    for symbol in ruledata.load("keras3")["validity"]["swallowing"]:
        outcome, said = attempt(lambda: resolve(symbol)(no_such_argument=1))
        assert outcome != "raised", f"{symbol} now refuses unknown keywords ({said}): remove it from [validity] swallowing"


def test_optimizers_refuse_unknown_keywords(keras) -> None:
    open_ones = set(ruledata.load("keras3")["validity"]["open_optimizers"])
    for name in api.exports("keras.optimizers") or ():
        symbol = f"keras.optimizers.{name}"
        value = resolve(symbol)
        if symbol in open_ones or not inspect.isclass(value) or not issubclass(value, keras.optimizers.Optimizer):
            continue
        outcome, said = attempt(lambda: value(no_such_argument=1))
        assert outcome == "raised", f"{symbol} accepts unknown keywords: add it to [validity] open_optimizers"


def test_keras3_behaviours_the_rules_state(keras, tmp_path: Path) -> None:
    import numpy as np

    layers = keras.layers
    assert attempt(lambda: layers.AveragePooling2D())[0] == "raised"
    assert attempt(lambda: layers.MaxPooling2D())[0] == "silent"
    for keyword in ("batch_input_shape", "batch_size", "weights", "input_dtype"):
        assert attempt(lambda: layers.Dense(2, **{keyword: (None, 3)}))[0] == "raised", keyword
    assert attempt(lambda: layers.Embedding(10, 2, weights=[np.zeros((10, 2))]))[0] != "raised"
    assert attempt(lambda: keras.callbacks.ModelCheckpoint("w.hdf5"))[0] == "raised"
    assert attempt(lambda: keras.callbacks.ModelCheckpoint("w.h5", save_weights_only=True))[0] == "raised"
    assert attempt(lambda: keras.callbacks.ModelCheckpoint("w.weights.h5", save_weights_only=True))[0] != "raised"
    model = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    assert attempt(lambda: model.save(str(tmp_path / "saved_model")))[0] == "raised"
    assert attempt(lambda: model.save(str(tmp_path / "a"), save_format="tf"))[0] == "raised"
    assert attempt(lambda: model.save(str(tmp_path / "m.h5"), save_format="tf"))[0] == "warned"
    assert attempt(lambda: model.save_weights(str(tmp_path / "w.h5")))[0] == "raised"
    inputs = keras.Input((3,))
    two = keras.Model(inputs, [layers.Dense(1)(inputs), layers.Dense(1)(inputs)])
    x, y = np.zeros((4, 3)), np.zeros((4, 1))
    two.compile("sgd", loss="mse", loss_weights=[1.0, 0.5])
    assert attempt(lambda: two.fit(x, [y, y], verbose=0))[0] == "raised"
    two.compile("sgd", loss=["mse", "mse"], loss_weights=[1.0, 0.5])
    assert attempt(lambda: two.fit(x, [y, y], verbose=0))[0] != "raised"
    first = list(inspect.signature(keras.Model.compile).parameters)[1:4]
    assert first == ["optimizer", "loss", "loss_weights"]
