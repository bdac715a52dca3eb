"""rules/backend_ops.toml, the Keras 2 backend functions and their Keras 3 replacements: the table matches
its schema, covers every function tf.keras 2.15 exported from `keras.backend`, and names only Keras 3
callables and parameters that exist (checked against the installed Keras, for the tests marked tensorflow)."""

from __future__ import annotations

import inspect
import string
from pathlib import Path
from typing import Any, Callable

import pytest

from kerasfix import ruledata

TABLE = ruledata.catalogue_dir() / "backend_ops.toml"

# tf-keras 2.15.1: the `keras.backend` exports (`@keras_export("keras.backend.NAME")` in tf_keras/src/backend.py
# and backend_config.py), with the v1-only `get_session` and `set_session`.
TF_KERAS_2_15_BACKEND = (
    "abs", "all", "any", "arange", "argmax", "argmin", "backend", "batch_dot", "batch_flatten",
    "batch_get_value", "batch_normalization", "batch_set_value", "bias_add", "binary_crossentropy",
    "binary_focal_crossentropy", "cast", "cast_to_floatx", "categorical_crossentropy",
    "categorical_focal_crossentropy", "clear_session", "clip", "concatenate", "constant", "conv1d", "conv2d",
    "conv2d_transpose", "conv3d", "cos", "count_params", "ctc_batch_cost", "ctc_decode",
    "ctc_label_dense_to_sparse", "cumprod", "cumsum", "depthwise_conv2d", "dot", "dropout", "dtype", "elu",
    "epsilon", "equal", "eval", "exp", "expand_dims", "experimental.disable_tf_random_generator",
    "experimental.enable_tf_random_generator", "experimental.is_tf_random_generator_enabled", "eye", "flatten",
    "floatx", "foldl", "foldr", "function", "gather", "get_session", "get_uid", "get_value", "gradients",
    "greater", "greater_equal", "hard_sigmoid", "image_data_format", "in_test_phase", "in_top_k",
    "in_train_phase", "int_shape", "is_keras_tensor", "is_sparse", "l2_normalize", "learning_phase",
    "learning_phase_scope", "less", "less_equal", "local_conv1d", "local_conv2d", "log",
    "manual_variable_initialization", "map_fn", "max", "maximum", "mean", "min", "minimum",
    "moving_average_update", "name_scope", "ndim", "normalize_batch_in_training", "not_equal", "one_hot",
    "ones", "ones_like", "permute_dimensions", "placeholder", "pool2d", "pool3d", "pow", "print_tensor", "prod",
    "random_bernoulli", "random_binomial", "random_normal", "random_normal_variable", "random_uniform",
    "random_uniform_variable", "relu", "repeat", "repeat_elements", "reset_uids", "reshape", "resize_images",
    "resize_volumes", "reverse", "rnn", "round", "separable_conv2d", "set_epsilon", "set_floatx",
    "set_image_data_format", "set_learning_phase", "set_session", "set_value", "shape", "sigmoid", "sign",
    "sin", "softmax", "softplus", "softsign", "sparse_categorical_crossentropy", "spatial_2d_padding",
    "spatial_3d_padding", "sqrt", "square", "squeeze", "stack", "std", "stop_gradient", "sum", "switch", "tanh",
    "temporal_padding", "tile", "to_dense", "transpose", "truncated_normal", "update", "update_add",
    "update_sub", "var", "variable", "zeros", "zeros_like",
)  # fmt: skip

# Public functions of the multi-backend Keras 2.2.4 and 2.3.1 backend (keras/backend/tensorflow_backend.py,
# common.py) that tf.keras 2.15 does not export.
MULTI_BACKEND_ONLY = (
    "control_dependencies", "conv3d_transpose", "eager", "get_variable_shape", "identity", "image_dim_ordering",
    "is_placeholder", "is_symbolic", "is_tensor", "is_variable", "logsumexp", "normalize_data_format",
    "separable_conv1d", "set_image_dim_ordering", "size", "slice", "symbolic", "v1_variable_initialization",
)  # fmt: skip


def functions() -> dict[str, dict[str, Any]]:
    return ruledata.read(TABLE)["function"]


def test_the_table_matches_its_schema() -> None:
    assert len(functions()) == len(TF_KERAS_2_15_BACKEND) + len(MULTI_BACKEND_ONLY)


def test_every_backend_function_of_keras_2_is_covered() -> None:
    table = functions()
    assert sorted(set(TF_KERAS_2_15_BACKEND) - set(table)) == []
    assert sorted(set(MULTI_BACKEND_ONLY) - set(table)) == []
    assert list(table) == sorted(table), "tables are in name order"


def _filled(template: str) -> str:
    fields = {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
    return template.format(**{field: field for field in fields})


def test_every_template_is_an_expression_once_filled() -> None:
    for name, item in functions().items():
        if "template" in item:
            compile(_filled(item["template"]), f"<{name}>", "eval")


@pytest.mark.parametrize(
    "addition, problem",
    [
        ('to = "keras.ops.sum"\ntemplate = "{ops}.sum({x})"', "exactly one of"),
        ('template = "{ops}.sum({y})"', "'template' uses ['y']"),
        ('template = "{ops}.sum({x}"', "must be a Python expression"),
        ('to = "keras.ops.sum"\nrename = { y = "z" }', "'rename' names 'y'"),
        ('to = "keras.ops.sum"\nnote = "why"', "'note' is for an unsafe fix"),
        ('none = "nothing"\nfix = "safe"', "has no 'fix'"),
        ('template = "{ops}.sum({x})"\nkeyword_only = ["x"]', "'keyword_only' needs 'to'"),
        ('to = "keras.ops.sum"\nrenames = {}', "unknown key 'function.sum.renames' (did you mean 'rename'?)"),
    ],
)
def test_mistakes_are_reported(tmp_path: Path, addition: str, problem: str) -> None:
    path = tmp_path / "backend_ops.toml"
    fix = "" if "none =" in addition or "fix =" in addition else 'fix = "safe"\n'
    path.write_text(f'[function.sum]\nparams = ["x"]\n{addition}\n{fix}')
    with pytest.raises(ruledata.CatalogueError) as raised:
        ruledata.read(path)
    assert problem in str(raised.value)
    assert "backend_ops.toml" in str(raised.value)


# --- against the installed Keras 3 ----------------------------------------------------------------------


def _resolve(dotted: str) -> Any:
    import keras

    assert dotted.startswith("keras."), dotted
    target: Any = keras
    for part in dotted.split(".")[1:]:
        assert hasattr(target, part), f"Keras {keras.__version__} has no {dotted}"
        target = getattr(target, part)
    return target


def _signature(target: Any) -> inspect.Signature:
    return inspect.signature(target.__init__ if inspect.isclass(target) else target)


@pytest.mark.tensorflow
def test_every_replacement_exists_with_the_parameters_it_is_given() -> None:
    found: list[str] = []
    for name, item in functions().items():
        if "to" not in item:
            continue
        target = _resolve(item["to"])
        assert callable(target), item["to"]
        parameters = [p for p in _signature(target).parameters.values() if p.name != "self"]
        named = {p.name for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        positional = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        rename, drop, keyword_only = item.get("rename", {}), item.get("drop", {}), item.get("keyword_only", [])
        mapped: set[str] = set()
        by_keyword = gap = False
        for index, param in enumerate(item["params"]):
            by_keyword = by_keyword or param in keyword_only
            new = rename.get(param, param)
            if param in drop or new not in named:
                if param in rename:
                    found.append(f"{name}: '{param}' is renamed to '{new}', which {item['to']} does not take")
                elif param not in drop and item["fix"] != "unsafe":
                    found.append(f"{name}: {item['to']} has no '{new}'; drop it, or make the fix unsafe")
                gap = True
                continue
            mapped.add(new)
            if by_keyword:
                continue
            if gap:
                found.append(f"{name}: '{param}' follows a parameter the fix leaves out; list it in keyword_only")
            elif new in positional and positional.index(new) != index:
                found.append(f"{name}: '{param}' is argument {index} in Keras 2 but '{new}' is {positional.index(new)} in Keras 3")
            elif new not in positional:
                found.append(f"{name}: '{new}' is keyword-only in Keras 3; list '{param}' in keyword_only")
        required = {p.name for p in parameters if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        for missing in sorted(required - mapped):
            found.append(f"{name}: {item['to']} requires '{missing}', which no Keras 2 parameter gives")
    assert found == []


@pytest.mark.tensorflow
def test_functions_still_in_keras3_take_the_same_arguments() -> None:
    import keras

    for name, item in functions().items():
        if item.get("still_in_keras3"):
            parameters = list(inspect.signature(getattr(keras.backend, name)).parameters)
            assert parameters[: len(item["params"])] == item["params"], name


@pytest.mark.tensorflow
def test_every_module_a_template_names_exists() -> None:
    import keras

    for module in ruledata.TEMPLATE_MODULES:
        assert module == "keras" or hasattr(keras, module)


# Arguments to run each template with, and what Keras 2 gave for them (None: only that it runs).
def _template_cases() -> dict[str, tuple[dict[str, Any], Callable[[Any], Any] | None]]:
    import numpy as np

    import keras

    x = np.arange(6, dtype="float32").reshape(2, 3)
    return {
        "batch_flatten": ({"x": np.ones((2, 3, 4), "float32")}, lambda r: r.shape == (2, 12)),
        "batch_get_value": ({"tensors": [keras.Variable(x)]}, lambda r: (r[0] == x).all()),
        "batch_set_value": ({"tuples": [(keras.Variable(x), x + 1)]}, None),
        "bias_add": ({"x": x, "bias": np.ones(3, "float32")}, lambda r: (keras.ops.convert_to_numpy(r) == x + 1).all()),
        "cast_to_floatx": ({"x": np.array([1, 2])}, lambda r: keras.ops.dtype(r) == "float32"),
        "count_params": ({"x": keras.Variable(x)}, lambda r: r == 6),
        "eval": ({"x": keras.Variable(x)}, lambda r: (r == x).all()),
        "gather": ({"reference": x, "indices": np.array([1])}, lambda r: (keras.ops.convert_to_numpy(r) == x[1:]).all()),
        "get_value": ({"x": keras.Variable(x)}, lambda r: (r == x).all()),
        "get_variable_shape": ({"x": keras.Variable(x)}, lambda r: r == (2, 3)),
        "hard_sigmoid": ({"x": np.array([-3.0, 0.0, 1.0, 3.0], "float32")}, lambda r: np.allclose(r, [0.0, 0.5, 0.7, 1.0])),
        "int_shape": ({"x": keras.ops.ones((2, 3))}, lambda r: r == (2, 3)),
        "is_variable": ({"x": keras.Variable(x)}, lambda r: r is True),
        "moving_average_update": ({"x": keras.Variable(np.ones(2, "float32")), "value": np.zeros(2, "float32"), "momentum": 0.9}, lambda r: np.allclose(r, 0.9)),
        "normalize_data_format": ({"value": "Channels_First"}, lambda r: r == "channels_first"),
        "random_bernoulli": ({"shape": (2, 3), "p": 1.0}, lambda r: (keras.ops.convert_to_numpy(r) == 1).all()),
        "random_binomial": ({"shape": (2, 3), "p": 0.0}, lambda r: (keras.ops.convert_to_numpy(r) == 0).all()),
        "random_normal_variable": ({"shape": (2, 3), "mean": 0.0, "scale": 1.0}, lambda r: r.shape == (2, 3)),
        "random_uniform_variable": ({"shape": (2, 3), "low": 0.0, "high": 1.0}, lambda r: r.shape == (2, 3)),
        "repeat": ({"x": x, "n": 4}, lambda r: r.shape == (2, 4, 3)),
        "set_value": ({"x": keras.Variable(x), "value": x * 2}, None),
        "sqrt": ({"x": np.array([-4.0, 4.0], "float32")}, lambda r: np.allclose(r, [0.0, 2.0])),
        "temporal_padding": ({"x": np.ones((1, 2, 3), "float32"), "padding": (1, 2)}, lambda r: r.shape == (1, 5, 3)),
        "update": ({"x": keras.Variable(x), "new_x": x * 2}, None),
        "update_add": ({"x": keras.Variable(x), "increment": x}, None),
        "update_sub": ({"x": keras.Variable(x), "decrement": x}, None),
    }


@pytest.mark.tensorflow
def test_every_template_runs_and_means_what_keras_2_did() -> None:
    import keras

    modules = {"ops": "keras.ops", "random": "keras.random", "config": "keras.config", "keras": "keras"}
    cases = _template_cases()
    templates = {name: item["template"] for name, item in functions().items() if "template" in item}
    assert sorted(templates) == sorted(cases), "every template needs a case here"
    for name, template in templates.items():
        arguments, expected = cases[name]
        names = {field: field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
        source = template.format(**{**names, **modules})
        result = eval(source, {"keras": keras}, dict(arguments))  # noqa: S307 - our own table's expressions
        assert expected is None or expected(result), f"{name}: {source} gave {result!r}"


def test_every_function_without_a_replacement_is_named_in_the_docs_of_the_rule_reporting_it() -> None:
    """Issue 12: a backend call is left without a rewrite only where Keras 3 has no equivalent, and each such
    function is named in `kerasfix explain` of the rule that reports it (KF376 lists its own; KF370-KF375 and
    KF377 name theirs in their summaries)."""
    import re

    from kerasfix.checks.entries import entries

    unnamed = []
    for name, item in functions().items():
        if "none" not in item:
            continue
        reporting = [entry for entry in entries() if f"keras.backend.{name}" in entry.symbols]
        if not reporting:
            unnamed.append(f"{name}: no rule reports it")
        for entry in reporting:
            if not re.search(rf"`(K\.)?{re.escape(name)}(\(\))?`|`(K\.)?{re.escape(name)}\(", entry.spec.explanation()):
                unnamed.append(f"{name}: `kerasfix explain {entry.code}` does not name it")
    assert unnamed == []


@pytest.mark.parametrize("argument", ["1", "2.5", "a + b", "-x", "not_ready if a else b"])
def test_a_template_fills_any_argument_so_that_the_result_parses(argument: str) -> None:
    """`K.int_shape(1)` -> `tuple((1).shape)`: a number, an operation or a conditional is bracketed where the
    template reads an attribute of it (`1.shape` does not parse)."""
    import ast

    from conftest import migrate

    fixed = migrate(f"from keras import backend as K\ny = K.int_shape({argument})\n", "KF376", unsafe=True)
    ast.parse(fixed)
    assert f"tuple(({argument}).shape)" in fixed, fixed
