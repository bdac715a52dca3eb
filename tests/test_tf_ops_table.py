"""rules/tf_ops.toml, TensorFlow functions and their portable Keras 3 replacements: the table matches its
schema, covers the Keras migration guide's table, names TensorFlow functions with their real signatures
and Keras 3 callables with the parameters it gives them, and (for the tests marked tensorflow) the rows
marked safe compute what TensorFlow computes on small inputs, while the differences the notes record are
real."""

from __future__ import annotations

import inspect
import json
import string
from pathlib import Path
from typing import Any, Callable

import pytest

from kerasfix import ruledata

TABLE = ruledata.catalogue_dir() / "tf_ops.toml"

# The left column of the guide's two tables ("Migrating Keras 2 code to multi-backend Keras 3", part 2),
# less `x.numpy` (a method) and `tf.scatter_nd_update` (TensorFlow 1 only).
GUIDE = (
    "abs", "reduce_all", "reduce_max", "reduce_min", "reduce_any", "concat", "range", "acos", "asin", "asinh",
    "atan", "atan2", "atanh", "convert_to_tensor", "reduce_mean", "clip_by_value", "math.conj",
    "linalg.diag_part", "reverse", "gather", "math.is_finite", "math.is_inf", "math.is_nan", "rank", "math.pow",
    "reduce_prod", "math.reduce_std", "reduce_sum", "gather_nd", "math.reduce_variance",
    "nn.sigmoid_cross_entropy_with_logits", "nn.sparse_softmax_cross_entropy_with_logits",
    "nn.softmax_cross_entropy_with_logits", "nn.conv1d", "nn.conv2d", "nn.conv3d", "nn.convolution",
    "nn.conv_transpose", "nn.conv1d_transpose", "nn.conv2d_transpose", "nn.conv3d_transpose",
    "nn.depthwise_conv2d", "nn.separable_conv2d", "nn.batch_normalization", "nn.dropout", "nn.embedding_lookup",
    "nn.l2_normalize", "tensor_scatter_nd_update", "signal.fft2d", "signal.inverse_stft",
)  # fmt: skip

# What else the portable migration needs (issues 12 and 15): the common math, array, nn and random ops.
COMMON = (
    "add", "subtract", "multiply", "divide", "truediv", "square", "sqrt", "exp", "math.log", "pow", "maximum",
    "minimum", "sign", "round", "floor", "math.ceil", "argmax", "argmin", "cumsum", "matmul", "tensordot",
    "einsum", "transpose", "reshape", "squeeze", "expand_dims", "stack", "unstack", "split", "tile", "where",
    "cond", "cast", "shape", "zeros", "ones", "zeros_like", "ones_like", "fill", "linspace", "one_hot",
    "boolean_mask", "sort", "argsort", "math.top_k", "unique", "equal", "not_equal", "less", "greater",
    "logical_and", "logical_or", "logical_not", "reduce_logsumexp", "math.erf", "math.segment_sum",
    "linalg.matmul", "nn.relu", "nn.relu6", "nn.elu", "nn.selu", "nn.gelu", "nn.sigmoid", "nn.softmax",
    "nn.log_softmax", "nn.softplus", "nn.softsign", "nn.silu", "nn.swish", "nn.moments", "nn.max_pool",
    "nn.avg_pool", "nn.max_pool2d", "nn.avg_pool2d", "random.normal", "random.uniform", "random.truncated_normal",
    "random.shuffle", "random.categorical", "image.resize",
)  # fmt: skip

# Functions whose last parameter is variadic (`*inputs`): it takes every remaining positional argument.
VARIADIC = {"einsum": "inputs", "linalg.einsum": "inputs", "meshgrid": "args"}


def table() -> dict[str, Any]:
    return ruledata.read(TABLE)


def functions() -> dict[str, dict[str, Any]]:
    return table()["function"]


def test_the_table_matches_its_schema_and_is_in_name_order() -> None:
    rows = functions()
    assert list(rows) == sorted(rows), "tables are in name order"
    data = table()
    assert set(data["dtype"]).isdisjoint(data["dtype_none"])


def test_the_guide_and_the_common_ops_are_covered() -> None:
    rows = functions()
    assert sorted(set(GUIDE + COMMON) - set(rows)) == []


def test_a_variadic_parameter_comes_last() -> None:
    rows = functions()
    for name, param in VARIADIC.items():
        assert rows[name]["params"][-1] == param, name


def _filled(template: str) -> str:
    fields = {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
    return template.format(**{field: field for field in fields})


def test_every_template_is_an_expression_once_filled() -> None:
    for name, item in functions().items():
        if "template" in item:
            compile(_filled(item["template"]), f"<{name}>", "eval")


@pytest.mark.parametrize(
    "text, problem",
    [
        ('[function."math.sum"]\nparams = ["x"]\nto = "keras.ops.sum"\nfix = "safe"\n[dtype]\nfloat32 = "Float32"', "'dtype.float32' must be a Keras dtype name"),
        ('[function."math.sum"]\nparams = ["x"]\nto = "keras.ops.sum"\nfix = "safe"\n[dtypes]\nfloat32 = "float32"', "unknown table 'dtypes'"),
        ('[function."math sum"]\nparams = ["x"]\nto = "keras.ops.sum"\nfix = "safe"', "must be a Python identifier (or dotted identifiers)"),
        ('[function."math.sum"]\nparams = ["x"]\nto = "keras.ops.sum"\nfix = "unsafe"', "an unsafe fix needs one"),
        ('[dtype]\nfloat32 = "float32"', "missing required table 'function'"),
        ('[[change]]\ncode = "KF399"', "unknown table 'change'"),
    ],
)
def test_mistakes_are_reported(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "tf_ops.toml"
    path.write_text(text + "\n")
    with pytest.raises(ruledata.CatalogueError) as raised:
        ruledata.read(path)
    assert problem in str(raised.value)
    assert "tf_ops.toml" in str(raised.value)


def test_the_keras_api_snapshot_knows_every_replacement_outside_keras_ops_image() -> None:
    # A rewrite reads Keras's parameters from the snapshot (it never imports Keras); the snapshot does not
    # hold the `keras.ops.image` module yet, so those rows need it extended before they can be fixed.
    symbols = json.loads((ruledata.catalogue_dir() / "keras_api.json").read_text(encoding="utf-8"))["symbols"]
    missing = sorted({row["to"] for row in functions().values() if "to" in row and row["to"] not in symbols})
    assert [target for target in missing if not target.startswith("keras.ops.image.")] == []


# --- against the installed TensorFlow and Keras 3 -------------------------------------------------------


def _tf(name: str) -> Any:
    import tensorflow as tf

    target: Any = tf
    for part in name.split("."):
        assert hasattr(target, part), f"TensorFlow {tf.__version__} has no tf.{name}"
        target = getattr(target, part)
    return target


def _keras(dotted: str) -> Any:
    import keras

    assert dotted.startswith("keras."), dotted
    target: Any = keras
    for part in dotted.split(".")[1:]:
        assert hasattr(target, part), f"Keras {keras.__version__} has no {dotted}"
        target = getattr(target, part)
    return target


def _signature(target: Any) -> inspect.Signature:
    return inspect.signature(target.__init__ if inspect.isclass(target) else target)


def _parameters(target: Any) -> list[inspect.Parameter]:
    return [p for p in _signature(target).parameters.values() if p.name != "self" and p.kind != p.VAR_KEYWORD]


@pytest.mark.tensorflow
def test_every_function_exists_in_tensorflow_with_these_parameters() -> None:
    found = []
    for name, item in functions().items():
        params = [p.name for p in _parameters(_tf(name))]
        if params != item["params"]:
            found.append(f"{name}: TensorFlow has {params}, the table {item['params']}")
    assert found == [], "\n".join(found)


@pytest.mark.tensorflow
def test_every_dtype_is_a_tensorflow_dtype_and_its_keras_name() -> None:
    import keras
    import tensorflow as tf

    data = table()
    for name, keras_name in data["dtype"].items():
        assert isinstance(getattr(tf, name), tf.DType), name
        assert keras.backend.standardize_dtype(getattr(tf, name)) == keras_name, name
        assert keras.ops.cast(keras.ops.ones((1,)), keras_name).dtype == getattr(tf, name), name
    for name in data["dtype_none"]:
        assert isinstance(getattr(tf, name), tf.DType), name


@pytest.mark.tensorflow
def test_every_replacement_exists_with_the_parameters_it_is_given() -> None:
    found: list[str] = []
    for name, item in functions().items():
        if "to" not in item:
            continue
        target = _keras(item["to"])
        assert callable(target), item["to"]
        tf_defaults = {p.name: p.default for p in _parameters(_tf(name))}
        parameters = _parameters(target)
        named = {p.name for p in parameters if p.kind != p.VAR_POSITIONAL}
        positional = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        rename, drop, keyword_only = item.get("rename", {}), item.get("drop", {}), item.get("keyword_only", [])
        mapped: set[str] = set()
        by_keyword = gap = False
        for index, param in enumerate(item["params"]):
            if VARIADIC.get(name) == param:
                variadic = [p for p in parameters if p.kind == p.VAR_POSITIONAL]
                if not variadic or parameters.index(variadic[0]) != index or gap or by_keyword:
                    found.append(f"{name}: {item['to']} takes no `*{param}` at position {index}")
                continue
            by_keyword = by_keyword or param in keyword_only
            new = rename.get(param, param)
            if param in drop or new not in named:
                if param in rename:
                    found.append(f"{name}: '{param}' is renamed to '{new}', which {item['to']} does not take")
                elif param in keyword_only or param in item.get("defaults", {}):
                    found.append(f"{name}: '{param}' has no Keras counterpart, so it cannot be keyword_only or defaulted")
                elif param not in drop and tf_defaults[param] is inspect.Parameter.empty:
                    found.append(f"{name}: TensorFlow requires '{param}', which {item['to']} does not take")
                gap = True
                continue
            mapped.add(new)
            if by_keyword:
                continue
            if gap:
                found.append(f"{name}: '{param}' follows a parameter the fix leaves out; list it in keyword_only")
            elif new in positional and positional.index(new) != index:
                found.append(f"{name}: '{param}' is argument {index} in TensorFlow but '{new}' is {positional.index(new)} in Keras")
            elif new not in positional:
                found.append(f"{name}: '{new}' is keyword-only in Keras; list '{param}' in keyword_only")
        required = {p.name for p in parameters if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        for missing in sorted(required - mapped):
            found.append(f"{name}: {item['to']} requires '{missing}', which no TensorFlow parameter gives")
    assert found == [], "\n".join(found)


@pytest.mark.tensorflow
def test_every_module_a_template_names_exists() -> None:
    import keras

    for module in ruledata.TEMPLATE_MODULES:
        assert module == "keras" or hasattr(keras, module)


# --- what the rows compute ------------------------------------------------------------------------------

MODULES = {"ops": "keras.ops", "random": "keras.random", "config": "keras.config", "keras": "keras"}

# Safe rows not run here, and why.
NOT_RUN: dict[str, str] = {}


def _cases() -> dict[str, dict[str, Any]]:
    """TensorFlow arguments, by parameter name, for each safe row (an alias falls back on `tf.X`'s case)."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3)).astype("float32")
    x[0, 0] = x[1, 1] = 0.5  # equal entries, so comparisons see ties
    y = rng.standard_normal((2, 3)).astype("float32")
    y[0, 0] = y[1, 1] = 0.5
    unit = rng.uniform(0.1, 0.9, (2, 3)).astype("float32")
    flags, other = x > 0, y > 0
    ints, divisors = np.array([7, -7, 3, 0], "int32"), np.array([2, 2, -2, 5], "int32")
    x3 = rng.standard_normal((2, 3, 4)).astype("float32")
    square = rng.standard_normal((2, 3, 3)).astype("float32")
    spd = square @ square.transpose(0, 2, 1) + 3 * np.eye(3, dtype="float32")
    rhs = rng.standard_normal((2, 3, 2)).astype("float32")
    vectors = rng.standard_normal((2, 3)).astype("float32")
    complex_x = (x + 1j * y).astype("complex64")
    images = rng.uniform(0, 1, (2, 16, 16, 3)).astype("float32")
    logits = rng.standard_normal((3, 4)).astype("float32")
    data = np.array([1.0, 2.0, 3.0, 4.0], "float32")
    mean, variance = x3.mean(axis=(0, 1)), x3.var(axis=(0, 1))

    def double(row: Any) -> Any:
        return row * 2

    def below_three(i: Any, total: Any) -> Any:
        return i < 3

    def step(i: Any, total: Any) -> Any:
        return i + 1, total * 2.0

    cases: dict[str, dict[str, Any]] = {}
    for name in ("abs", "asin", "asinh", "atan", "atanh", "acos", "cos", "cosh", "sin", "sinh", "tan", "tanh", "exp",
                 "floor", "round", "sign", "sqrt", "square", "negative", "sigmoid", "math.log", "math.ceil",
                 "math.log1p", "math.expm1", "math.rsqrt", "math.reciprocal", "math.erf", "math.erfinv",
                 "math.log_sigmoid"):  # fmt: skip
        cases[name] = {"x": unit}
    cases["acosh"] = {"x": unit + 1}
    cases["round"] = {"x": np.array([0.5, 1.5, 2.5, -0.5, -1.5, 0.2], "float32")}
    for name in ("math.is_nan", "math.is_inf", "math.is_finite"):
        cases[name] = {"x": np.array([1.0, np.nan, np.inf, -np.inf], "float32")}
    cases["logical_not"] = {"x": flags}
    for name in ("math.conj", "math.real", "math.imag"):
        cases[name] = {"x" if name == "math.conj" else "input": complex_x}
    for name in ("add", "subtract", "multiply", "maximum", "minimum", "equal", "not_equal", "less", "less_equal",
                 "greater", "greater_equal", "realdiv", "math.divide_no_nan"):  # fmt: skip
        cases[name] = {"x": x, "y": y}
    cases["math.divide_no_nan"] = {"x": x, "y": np.where(y > 0, y, 0).astype("float32")}
    cases["pow"] = {"x": unit, "y": y}
    cases["atan2"] = {"y": x, "x": y}
    cases["math.nextafter"] = {"x1": x, "x2": y}
    for name in ("logical_and", "logical_or", "math.logical_xor"):
        cases[name] = {"x": flags, "y": other}
    for name in ("math.floordiv", "math.floormod", "math.mod"):
        cases[name] = {"x": ints, "y": divisors}
    cases["math.squared_difference"] = {"x": x, "y": y}
    cases["add_n"] = {"inputs": [x, y, x]}
    cases["clip_by_value"] = {"t": x, "clip_value_min": -0.5, "clip_value_max": 0.5}
    for name in ("reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "reduce_logsumexp",
                 "math.reduce_std", "math.reduce_variance"):  # fmt: skip
        cases[name] = {"input_tensor": x3, "axis": 1}
    cases["reduce_sum"] = {"input_tensor": x3, "axis": [0, 2], "keepdims": True}
    cases["reduce_mean"] = {"input_tensor": x3}
    for name in ("reduce_any", "reduce_all"):
        cases[name] = {"input_tensor": flags, "axis": 1}
    cases["cumsum"] = cases["math.cumprod"] = {"x": x}
    cases["math.segment_sum"] = {"data": data, "segment_ids": np.array([0, 0, 2, 2])}
    cases["math.unsorted_segment_sum"] = {"data": data, "segment_ids": np.array([2, 0, 2, 1]), "num_segments": 4}
    cases["math.unsorted_segment_max"] = {"data": data, "segment_ids": np.array([2, 0, 2, 1]), "num_segments": 4}
    cases["math.top_k"] = {"input": x}
    cases["argmax"] = cases["argmin"] = {"input": x}  # unsafe (the index dtype), but their default axis is checked
    cases["nn.l2_normalize"] = {"x": x}
    cases["math.in_top_k"] = {"targets": np.array([0, 2]), "predictions": x, "k": 2}
    cases["matmul"] = {"a": x3, "b": x3.transpose(0, 2, 1)}
    cases["tensordot"] = {"a": x3, "b": y, "axes": [[1], [1]]}
    cases["einsum"] = {"equation": "bij,bj->bi", "inputs": [square, vectors]}
    for name in ("linalg.inv", "linalg.det", "linalg.slogdet", "linalg.cholesky"):
        cases[name] = {"input": spd}
    cases["linalg.logdet"] = {"matrix": spd}
    cases["linalg.eigh"] = cases["linalg.eigvalsh"] = {"tensor": spd}
    cases["linalg.solve"] = {"matrix": spd, "rhs": rhs}
    cases["linalg.triangular_solve"] = {"matrix": np.tril(spd), "rhs": rhs}
    cases["linalg.cross"] = {"a": vectors, "b": vectors[::-1].copy()}
    cases["linalg.qr"] = cases["linalg.diag_part"] = {"input": square}
    cases["linalg.trace"] = {"x": square}
    cases["linalg.diag"] = {"diagonal": vectors}
    cases["linalg.matrix_transpose"] = {"a": x3}
    cases["linalg.adjoint"] = {"matrix": complex_x[None]}
    cases["linalg.matvec"] = {"a": square, "b": vectors}
    cases["transpose"] = {"a": x3}
    cases["reshape"] = {"tensor": x3, "shape": (4, -1)}
    cases["squeeze"] = {"input": x[:, None]}
    cases["expand_dims"] = {"input": x, "axis": 1}
    cases["concat"] = {"values": [x, y], "axis": 1}
    cases["stack"] = {"values": [x, y], "axis": 1}
    cases["unstack"] = {"value": x, "axis": 1}
    cases["tile"] = {"input": x, "multiples": (2, 1)}
    cases["repeat"] = {"input": x, "repeats": 2, "axis": 1}
    cases["roll"] = {"input": x, "shift": 1, "axis": 1}
    cases["reverse"] = {"tensor": x3, "axis": [0, 2]}
    cases["broadcast_to"] = {"input": x[0], "shape": (2, 3)}
    cases["gather"] = {"params": x3, "indices": np.array([1, 0, 1])}
    cases["where"] = {"condition": flags, "x": x, "y": y}
    cases["cast"] = {"x": x * 3, "dtype": "int32"}
    cases["size"] = {"input": x3}
    cases["zeros"] = cases["ones"] = {"shape": (2, 3)}
    cases["zeros_like"] = cases["ones_like"] = {"input": ints}
    cases["range"] = {"start": 1, "limit": 8, "delta": 2}
    cases["one_hot"] = {"indices": np.array([0, 2, 1]), "depth": 3}
    cases["sort"] = {"values": x, "axis": 0}
    cases["argsort"] = {"values": np.array([3.0, 1.0, 2.0, 0.0], "float32")}
    cases["convert_to_tensor"] = {"value": [[1.0, 2.0]]}
    cases["constant"] = {"value": [1, 2], "dtype": "float32"}
    cases["eye"] = {"num_rows": 2, "num_columns": 3}
    cases["stop_gradient"] = cases["identity"] = {"input": x}
    cases["scatter_nd"] = {"indices": np.array([[0], [0], [2]]), "updates": np.array([1.0, 2.0, 3.0], "float32"), "shape": (4,)}
    cases["tensor_scatter_nd_update"] = {"tensor": data, "indices": np.array([[1], [3]]), "updates": np.array([5.0, 6.0], "float32")}
    cases["tensor_scatter_nd_add"] = {"tensor": data, "indices": np.array([[1], [1]]), "updates": np.array([5.0, 6.0], "float32")}
    cases["sequence_mask"] = {"lengths": np.array([1, 3]), "maxlen": 4}
    cases["meshgrid"] = {"args": [np.arange(2), np.arange(3)]}
    cases["cond"] = {"pred": True, "true_fn": lambda: x, "false_fn": lambda: y}
    cases["while_loop"] = {"cond": below_three, "body": step, "loop_vars": (0, 1.0), "maximum_iterations": 2}
    cases["map_fn"] = {"fn": double, "elems": x}
    cases["vectorized_map"] = {"fn": double, "elems": x}
    for name in ("nn.relu", "nn.relu6", "nn.elu", "nn.selu", "nn.softplus", "nn.softsign", "nn.silu", "nn.swish", "nn.gelu"):
        cases[name] = {"features": np.linspace(-3, 3, 13).astype("float32")}
    cases["nn.sigmoid"] = cases["nn.tanh"] = {"x": x}
    cases["nn.leaky_relu"] = {"features": x, "alpha": 0.1}
    cases["nn.softmax"] = {"logits": x3}
    cases["nn.log_softmax"] = {"logits": x3, "axis": 1}
    cases["nn.moments"] = {"x": x3, "axes": [0, 1], "keepdims": True}
    cases["nn.sigmoid_cross_entropy_with_logits"] = {"labels": (logits > 0).astype("float32"), "logits": logits}
    cases["nn.softmax_cross_entropy_with_logits"] = {"labels": np.full((3, 4), 0.25, "float32"), "logits": logits}
    cases["nn.sparse_softmax_cross_entropy_with_logits"] = {"labels": np.array([0, 3, 1]), "logits": logits}
    cases["nn.embedding_lookup"] = {"params": logits, "ids": np.array([[0, 2], [1, 1]])}
    cases["nn.bias_add"] = {"value": x3, "bias": np.arange(4, dtype="float32")}
    cases["nn.batch_normalization"] = {"x": x3, "mean": mean, "variance": variance, "offset": np.ones(4, "float32"),
                                       "scale": np.full(4, 2.0, "float32"), "variance_epsilon": 1e-3}  # fmt: skip
    cases["nn.l2_loss"] = {"t": x3}
    cases["nn.crelu"] = {"features": x3}
    cases["math.zero_fraction"] = {"value": np.array([0.0, 1.0, 0.0, 2.0], "float32")}
    for name in ("image.rgb_to_grayscale", "image.rgb_to_hsv", "image.hsv_to_rgb"):
        cases[name] = {"images": images}
    cases["image.sobel_edges"] = {"image": tf.constant(images)}  # TensorFlow's takes no NumPy array
    cases["image.ssim"] = {"img1": images, "img2": images[::-1].copy(), "max_val": 1.0}
    cases["image.flip_left_right"] = cases["image.flip_up_down"] = {"image": images}
    cases["image.pad_to_bounding_box"] = {"image": images, "offset_height": 1, "offset_width": 2, "target_height": 19, "target_width": 20}
    cases["image.crop_to_bounding_box"] = {"image": images, "offset_height": 1, "offset_width": 2, "target_height": 5, "target_width": 6}
    cases["signal.hann_window"] = cases["signal.hamming_window"] = cases["signal.kaiser_window"] = {"window_length": 8}
    cases["signal.frame"] = {"signal": rng.standard_normal((2, 20)).astype("float32"), "frame_length": 5, "frame_step": 3}
    return cases


def _case(name: str, cases: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    if name in cases:
        return cases[name]
    short = name.split(".", 1)[1] if "." in name else name
    for candidate in (short, f"math.{short}", f"nn.{short}", f"linalg.{short}"):
        if candidate in cases:
            return cases[candidate]
    return None


def _run_keras(name: str, item: dict[str, Any], arguments: dict[str, Any], defaults: bool = True) -> Any:
    """The row's replacement called as the rewrite writes it: renamed, dropped and defaulted arguments."""
    import keras
    import tensorflow as tf

    arguments = dict(arguments)
    if "template" in item:
        source = item["template"].format(**{**{key: key for key in arguments}, **MODULES})
        return eval(source, {"keras": keras}, arguments)  # noqa: S307 - our own table's expressions
    target = _keras(item["to"])
    if item.get("defaults") and defaults:
        for param, value in item["defaults"].items():
            arguments.setdefault(param, eval(value, {"tf": tf}))  # noqa: S307 - our own table's expressions
    rename, drop = item.get("rename", {}), item.get("drop", {})
    variadic = VARIADIC.get(name)
    spread = arguments.pop(variadic) if variadic else []
    leading = [arguments.pop(param) for param in item["params"][: item["params"].index(variadic)]] if variadic else []
    keywords = {rename.get(param, param): value for param, value in arguments.items() if param not in drop}
    return target(*leading, *spread, **keywords)


def _run_tf(name: str, arguments: dict[str, Any]) -> Any:
    arguments = dict(arguments)
    variadic = VARIADIC.get(name)
    if variadic:
        spread = arguments.pop(variadic)
        params = functions()[name]["params"]
        return _tf(name)(*[arguments.pop(param) for param in params[: params.index(variadic)]], *spread, **arguments)
    return _tf(name)(**arguments)


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for key in sorted(value) for leaf in _leaves(value[key])]
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def _difference(expected: Any, actual: Any) -> str | None:
    """Why two results differ (value, shape, dtype or structure), or None when they agree."""
    import numpy as np

    import keras

    expected_leaves, actual_leaves = _leaves(expected), _leaves(actual)
    if len(expected_leaves) != len(actual_leaves):
        return f"{len(expected_leaves)} results against {len(actual_leaves)}"
    for want, got in zip(expected_leaves, actual_leaves):
        want_array, got_array = np.asarray(want), np.asarray(got)
        if want_array.shape != got_array.shape:
            return f"shape {want_array.shape} against {got_array.shape}"
        if hasattr(want, "dtype") and hasattr(got, "dtype"):
            if keras.backend.standardize_dtype(want.dtype) != keras.backend.standardize_dtype(got.dtype):
                return f"dtype {want.dtype} against {got.dtype}"
        if want_array.dtype == bool or got_array.dtype == bool:
            if not (want_array == got_array).all():
                return "different truth values"
        elif not np.allclose(want_array, got_array, rtol=1e-4, atol=1e-5, equal_nan=True):
            return f"values differ by up to {np.nanmax(np.abs(want_array - got_array))}"
    return None


@pytest.mark.tensorflow
def test_every_safe_row_computes_what_tensorflow_computes() -> None:
    cases = _cases()
    found, checked = [], 0
    for name, item in functions().items():
        if item.get("fix") != "safe" or name in NOT_RUN:
            continue
        arguments = _case(name, cases)
        if arguments is None:
            found.append(f"{name}: no case to run it with")
            continue
        why = _difference(_run_tf(name, arguments), _run_keras(name, item, arguments))
        if why is not None:
            found.append(f"{name}: {why}")
        checked += 1
    assert found == [], "\n".join(found)
    assert checked >= 200


@pytest.mark.tensorflow
def test_every_default_written_in_is_needed() -> None:
    """Left out, each `defaults` entry changes the result: the value, or the dtype when floatx is not
    float32."""
    import keras

    cases = _cases()
    cases.update({"random.normal": {"shape": (2,), "seed": 1}, "random.truncated_normal": {"shape": (2,), "seed": 1},
                  "random.uniform": {"shape": (2,), "seed": 1}, "random.gamma": {"shape": (2,), "alpha": 2.0, "seed": 1},
                  "random.categorical": {"logits": [[0.0, 0.0]], "num_samples": 2, "seed": 1}})  # fmt: skip
    floatx = keras.config.floatx()
    found = []
    try:
        keras.config.set_floatx("float64")
        for name, item in functions().items():
            if "defaults" not in item:
                continue
            arguments = _case(name, cases)
            assert arguments is not None, f"{name}: no case to run it with"
            arguments = {param: value for param, value in arguments.items() if param not in item["defaults"]}
            with_defaults = _run_keras(name, item, arguments)
            try:
                without = _run_keras(name, item, arguments, defaults=False)
            except TypeError:  # Keras requires it (`keras.ops.top_k`'s `k`)
                continue
            if _difference(with_defaults, without) is None:
                found.append(f"{name}: the same result without {sorted(item['defaults'])}")
    finally:
        keras.config.set_floatx(floatx)
    assert found == [], "\n".join(found)


@pytest.mark.tensorflow
def test_random_rows_draw_the_shape_and_dtype_tensorflow_draws() -> None:
    import numpy as np

    cases = {
        "random.normal": {"shape": (2, 3), "mean": 1.0, "stddev": 2.0},
        "random.truncated_normal": {"shape": (2, 3)},
        "random.uniform": {"shape": (2, 3), "minval": 2.0, "maxval": 3.0},
        "random.gamma": {"shape": (2, 3), "alpha": 2.0},
        "random.categorical": {"logits": np.zeros((2, 5), "float32"), "num_samples": 4},
        "random.shuffle": {"value": np.arange(6)},
        "nn.dropout": {"x": np.ones((2, 3), "float32"), "rate": 0.5},
    }
    rows = functions()
    for name, arguments in cases.items():
        expected, actual = _run_tf(name, arguments), _run_keras(name, rows[name], arguments)
        assert tuple(expected.shape) == tuple(actual.shape), name
        assert expected.dtype == actual.dtype, name


def _claims() -> dict[str, Callable[[], bool]]:
    """For some unsafe and report-only rows, the difference the table records, shown on a small input."""
    import numpy as np
    import tensorflow as tf

    import keras
    from keras import ops

    ints, divisors = np.array([7, -7], "int32"), np.array([2, 2], "int32")
    matrix = np.arange(12).reshape(3, 4)
    pairs = np.array([[0, 1], [2, 3]])
    numbers = np.array([[1.0, 5.0], [3.0, 2.0]], "float32")
    data = np.array([1.0, 2.0, 3.0, 4.0], "float32")
    square = np.random.default_rng(0).standard_normal((3, 3)).astype("float32")

    def raises(call: Callable[[], Any]) -> bool:
        try:
            call()
        except Exception:  # noqa: BLE001 - any refusal will do
            return True
        return False

    return {
        "divide": lambda: tf.divide(ints, divisors).dtype == tf.float64 and ops.divide(ints, divisors).dtype == "float32",
        "argmax": lambda: tf.argmax(numbers).dtype == tf.int64 and ops.argmax(numbers, axis=0).dtype == "int32",
        "split": lambda: [t.shape[0] for t in tf.split(np.arange(6), [1, 5])] == [1, 5]
        and [t.shape[0] for t in ops.split(np.arange(6), [1, 5])] == [1, 4, 1],
        "shape": lambda: isinstance(ops.shape(numbers), tuple) and tf.is_tensor(tf.shape(numbers)),
        "fill": lambda: tf.fill((2,), 3).dtype == tf.int32 and ops.full((2,), 3).dtype != "int32",
        "linspace": lambda: tf.linspace(0, 1, 3).dtype == tf.float64 and ops.linspace(0, 1, 3).dtype == "float32",
        "norm": lambda: raises(lambda: ops.norm(np.ones((2, 2, 2)))) and float(tf.norm(np.ones((2, 2, 2)))) > 0,
        "searchsorted": lambda: raises(lambda: ops.searchsorted(np.array([[1, 3], [2, 4]]), np.array([[2], [3]]))),
        "switch_case": lambda: int(ops.switch(5, [lambda: 0, lambda: 1, lambda: 2])) == 2
        and int(tf.switch_case(tf.constant(-1), [lambda: 0, lambda: 1, lambda: 2])) == 2
        and int(ops.switch(-1, [lambda: 0, lambda: 1, lambda: 2])) == 0,
        "image.psnr": lambda: tf.image.psnr(np.zeros((2, 4, 4, 1)), np.ones((2, 4, 4, 1)) / 2, 1.0).shape == (2,)
        and ops.psnr(np.zeros((2, 4, 4, 1)), np.ones((2, 4, 4, 1)) / 2, 1.0).shape == (),
        "image.resize": lambda: tf.image.resize(np.zeros((4, 4, 1), "uint8"), (2, 2)).dtype == tf.float32
        and ops.image.resize(np.zeros((4, 4, 1), "uint8"), (2, 2)).dtype == "uint8",
        "nn.conv2d": lambda: raises(lambda: ops.conv(np.ones((1, 3, 3, 1), "float32"), np.ones((1, 1, 1, 1), "float32"), 1, "same", "NHWC")),
        "nn.l2_normalize": lambda: not np.allclose(
            tf.nn.l2_normalize(np.array([[3e-7, 4e-7]], "float32"), -1), ops.normalize(np.array([[3e-7, 4e-7]], "float32"), -1)
        ),
        "math.segment_max": lambda: float(tf.math.segment_max(data, np.array([0, 0, 2, 2]))[1]) == 0.0,
        "random.normal": lambda: np.allclose(keras.random.normal((3,), seed=1), keras.random.normal((3,), seed=1))
        and not np.allclose(tf.random.normal((3,), seed=1), tf.random.normal((3,), seed=1)),
        "random.uniform": lambda: raises(lambda: keras.random.uniform((2,), 0, 5, dtype="int32")),
        "gather_nd": lambda: tf.gather_nd(matrix, pairs).numpy().tolist() == [1, 11]
        and raises(lambda: ops.take_along_axis(matrix, pairs, axis=0)),
        "tensor_scatter_nd_update": lambda: ops.slice_update(np.zeros(4, "float32"), (1,), np.array([5.0, 6.0], "float32")).numpy().tolist()
        != tf.tensor_scatter_nd_update(np.zeros(4, "float32"), [[1], [3]], [5.0, 6.0]).numpy().tolist(),
        "linalg.svd": lambda: tf.linalg.svd(square)[0].shape == (3,) and ops.svd(square)[0].shape == (3, 3),
        "math.segment_sum": lambda: raises(lambda: ops.segment_sum(data, np.array([0, 0, 2, 2]))),
    }


@pytest.mark.tensorflow
def test_the_recorded_differences_are_real() -> None:
    rows = functions()
    for name, claim in _claims().items():
        assert name in rows, name
        assert claim(), name
