"""Property-based tests: random Keras 1 model programs, migrated with unsafe fixes on.

The generator writes Sequential stacks and Functional graphs the way Keras 1 code was written
(`Dense(output_dim=, init=, W_regularizer=)`, `Convolution2D(nb_filter, nb_row, nb_col, border_mode=)`,
`Dropout(p=)`, `LSTM(dropout_W=, dropout_U=)`, `merge([...], mode=)`, `Model(input=, output=)`), through
several import styles, with random layout (line breaks inside calls, trailing commas, extra spaces) and
comments. For every program:

* the migrated text parses, and migrating it again changes nothing;
* every comment of the input is still in the output (compared as a multiset of comment tokens);
* `check` reports no error.

With TensorFlow installed, a sample of Sequential programs is also executed after migration, and the
model's `count_params()` must equal the count the generator worked out from the layer formulas.

A third test feeds arbitrary Python from hypothesmith (when installed) to check and migrate.
"""

from __future__ import annotations

import ast
import io
import tokenize
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kerasfix import registry
from kerasfix.engine import ParseFailure, Settings, check_source, fix_text
from kerasfix.source import Source

SETTINGS = Settings(enabled=registry.default_codes(), unsafe_fixes=True)


# -- the generator ----------------------------------------------------------------------------------

# How names are imported. Each style says how a layer, a model class and `l2` are spelled, and which
# import lines bring them in (filled in once the program's names are known).
STYLES = ("from", "keras1_modules", "KL", "tf_L")

KERAS1_MODULE_OF = {
    "Dense": "keras.layers.core",
    "Dropout": "keras.layers.core",
    "Activation": "keras.layers.core",
    "Flatten": "keras.layers.core",
    "Convolution2D": "keras.layers.convolutional",
    "MaxPooling2D": "keras.layers.pooling",
    "Embedding": "keras.layers.embeddings",
    "LSTM": "keras.layers.recurrent",
    "BatchNormalization": "keras.layers.normalization",
    "Input": "keras.layers",
    "merge": "keras.layers",
}


@dataclass
class Program:
    text: str
    params: int | None  # the model's parameter count by the layer formulas (Sequential programs)
    sequential: bool
    kind: str  # what the program is made of and how it imports it, for hypothesis' statistics


class _Writer:
    """Draws layout choices and numbers the comments it writes, so each comment is unique."""

    def __init__(self, draw) -> None:
        self.draw = draw
        self.comments = 0

    def comment(self) -> str:
        self.comments += 1
        words = self.draw(st.sampled_from(["note", "keep this", "TODO: tune", "was 0.5 before", "see paper"]))
        return f"# c{self.comments} {words}"

    def maybe_trailing(self) -> str:
        return "  " + self.comment() if self.draw(st.booleans()) else ""

    def keyword(self, name: str, value: str) -> str:
        equal = self.draw(st.sampled_from(["=", "=", "=", " = "]))
        return f"{name}{equal}{value}"

    def call(self, func: str, args: list[str], indent: str) -> str:
        """`func(args)` in a random layout; continuation lines are indented from `indent`."""
        if not args:
            return f"{func}()"
        layout = self.draw(st.sampled_from(["inline", "inline", "broken", "hanging"]))
        if layout == "inline":
            separator = self.draw(st.sampled_from([", ", ", ", ",  ", " , "]))
            inside = separator.join(args)
            if self.draw(st.integers(0, 4)) == 0:
                inside = f" {inside} "
            return f"{func}({inside})"
        inner = indent + " " * (len(func) + 1 if layout == "broken" else 4)
        parts = []
        for position, arg in enumerate(args):
            last = position == len(args) - 1
            if layout == "hanging" and position == 0:
                parts.append("\n" + inner)
            parts.append(arg)
            if not last:
                parts.append(",")
                if self.draw(st.booleans()):
                    parts.append(self.maybe_trailing() + "\n" + inner)
                else:
                    parts.append(" ")
        trailing_comma = self.draw(st.booleans())
        if trailing_comma:
            parts.append(",")
        if layout == "hanging" or trailing_comma and self.draw(st.booleans()):
            parts.append(self.maybe_trailing() + "\n" + indent)
        return f"{func}({''.join(parts)})"


@dataclass
class _Names:
    style: str
    used: set[str]

    def layer(self, name: str) -> str:
        self.used.add(name)
        if self.style == "KL":
            return f"KL.{name}"
        if self.style == "tf_L":
            return f"L.{name}"
        return name

    def l2(self) -> str:
        self.used.add("l2")
        return "regularizers.l2" if self.style == "KL" else "l2"

    def model(self, name: str) -> str:
        self.used.add(name)
        return name

    def imports(self, writer: _Writer) -> list[str]:
        layers = sorted(name for name in self.used if name not in ("l2", "Sequential", "Model"))
        models = sorted(name for name in self.used if name in ("Sequential", "Model"))
        lines = []
        if self.style == "KL":
            lines.append("import keras.layers as KL" + writer.maybe_trailing())
            if "l2" in self.used:
                lines.append("from keras import regularizers")
        elif self.style == "tf_L":
            lines.append("from tensorflow.keras import layers as L" + writer.maybe_trailing())
            if "l2" in self.used:
                lines.append("from tensorflow.keras.regularizers import l2")
        elif self.style == "keras1_modules":
            modules: dict[str, list[str]] = {}
            for name in layers:
                modules.setdefault(KERAS1_MODULE_OF[name], []).append(name)
            for module, names in sorted(modules.items()):
                lines.append(self._from(writer, module, names))
        else:
            lines.append(self._from(writer, "keras.layers", layers))
        if self.style != "KL" and self.style != "tf_L" and "l2" in self.used:
            lines.append("from keras.regularizers import l2")
        if models:
            package = "tensorflow.keras.models" if self.style == "tf_L" else "keras.models"
            lines.append(self._from(writer, package, models))
        return lines

    @staticmethod
    def _from(writer: _Writer, module: str, names: list[str]) -> str:
        head = f"from {module} import "
        if len(names) > 1 and writer.draw(st.booleans()):
            # parenthesised, one name a line, with comments
            inner = " " * 4
            body = "".join(f"\n{inner}{name}," + writer.maybe_trailing() for name in names)
            return f"{head}({body}\n)"
        return head + ", ".join(names) + writer.maybe_trailing()


def _dense(draw, w: _Writer, n: _Names, units: int, indent: str, first_shape: str | None, fan_in: int) -> tuple[str, int]:
    args = []
    keyword_units = draw(st.booleans())
    args.append(w.keyword("output_dim", str(units)) if keyword_units else str(units))
    if draw(st.booleans()):
        args.append(w.keyword("init", repr(draw(st.sampled_from(["glorot_uniform", "uniform", "he_normal", "zero"])))))
    if draw(st.booleans()):
        args.append(w.keyword("W_regularizer", f"{n.l2()}(0.01)"))
    if draw(st.integers(0, 3)) == 0:
        args.append(w.keyword("b_regularizer", f"{n.l2()}(0.001)"))
    if draw(st.booleans()):
        args.append(w.keyword("activation", repr(draw(st.sampled_from(["relu", "tanh", "sigmoid", "linear"])))))
    bias = True
    if draw(st.integers(0, 4)) == 0:
        bias = False
        args.append(w.keyword("bias", "False"))
    if first_shape is not None:
        if draw(st.booleans()) and first_shape.count(",") == 1 and first_shape.endswith(",)"):
            args.append(w.keyword("input_dim", first_shape[1:-2]))
        else:
            args.append(w.keyword("input_shape", first_shape))
    # shuffle keyword order, keeping a positional first argument first
    head, rest = (args[:1], args[1:]) if not keyword_units else ([], args)
    rest = draw(st.permutations(rest))
    text = w.call(n.layer("Dense"), head + list(rest), indent)
    return text, fan_in * units + (units if bias else 0)


def _simple(draw, w: _Writer, n: _Names, indent: str) -> str:
    kind = draw(st.sampled_from(["Dropout", "Activation"]))
    if kind == "Dropout":
        rate = draw(st.sampled_from(["0.1", "0.25", "0.5"]))
        arg = w.keyword("p", rate) if draw(st.booleans()) else rate
        return w.call(n.layer("Dropout"), [arg], indent)
    return w.call(n.layer("Activation"), [repr(draw(st.sampled_from(["relu", "tanh", "softmax"])))], indent)


def _batch_norm(draw, w: _Writer, n: _Names, indent: str, features: int) -> tuple[str, int]:
    """Keras 1 BatchNormalization(mode=0, ...) on the last axis: gamma, beta and the two moving statistics."""
    args = [w.keyword("mode", "0")]
    if draw(st.booleans()):
        args.append(w.keyword("axis", "-1"))
    if draw(st.booleans()):
        args.append(w.keyword("beta_init", repr("zero")))
    args = draw(st.permutations(args))
    return w.call(n.layer("BatchNormalization"), list(args), indent), 4 * features


@st.composite
def sequential_programs(draw) -> Program:
    """A Sequential model with a known input shape, and its parameter count."""
    w = _Writer(draw)
    n = _Names(draw(st.sampled_from(STYLES)), set())
    in_function = draw(st.booleans())
    indent = "    " if in_function else ""
    kind = draw(st.sampled_from(["dense", "conv", "text"]))
    layers: list[str] = []
    params = 0

    if kind == "dense":
        features = draw(st.integers(1, 24))
        shape = f"({features},)"
    elif kind == "conv":
        height, width, channels = draw(st.integers(5, 14)), draw(st.integers(5, 14)), draw(st.integers(1, 3))
        shape = f"({height}, {width}, {channels})"
        for index in range(draw(st.integers(1, 3))):
            filters, rows, cols = draw(st.integers(1, 6)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
            mode = draw(st.sampled_from(["valid", "same"]))
            if mode == "valid" and (rows > height or cols > width):
                mode = "same"
            args = [str(filters), str(rows), str(cols), w.keyword("border_mode", repr(mode))]
            if draw(st.booleans()):
                args.append(w.keyword("activation", repr("relu")))
            if draw(st.integers(0, 3)) == 0:
                args.append(w.keyword("init", repr("he_normal")))
            if draw(st.integers(0, 3)) == 0:
                args.append(w.keyword("dim_ordering", repr("tf")))
            if index == 0:
                args.append(w.keyword("input_shape", shape))
            layers.append(w.call(n.layer("Convolution2D"), args, indent + "    "))
            params += rows * cols * channels * filters + filters
            if mode == "valid":
                height, width = height - rows + 1, width - cols + 1
            channels = filters
            if height >= 2 and width >= 2 and draw(st.booleans()):
                pool_args = [w.keyword("pool_size", "(2, 2)")]
                if draw(st.booleans()):
                    pool_args.append(w.keyword("border_mode", repr("valid")))
                layers.append(w.call(n.layer("MaxPooling2D"), pool_args, indent + "    "))
                height, width = height // 2, width // 2
            if draw(st.integers(0, 2)) == 0:
                layers.append(_simple(draw, w, n, indent + "    "))
            if draw(st.integers(0, 3)) == 0:
                text, count = _batch_norm(draw, w, n, indent + "    ", channels)
                layers.append(text)
                params += count
        layers.append(w.call(n.layer("Flatten"), [], indent + "    "))
        features = height * width * channels
    else:
        dims, steps = draw(st.integers(1, 8)), draw(st.integers(1, 10))
        embedded = draw(st.integers(0, 3)) > 0
        if embedded:
            vocabulary = draw(st.integers(2, 50))
            args = [str(vocabulary), str(dims), w.keyword("input_length", str(steps))]
            if draw(st.booleans()):
                args.append(w.keyword("init", repr("uniform")))
            if draw(st.integers(0, 2)) == 0:  # Keras 1's embedding dropout becomes a SpatialDropout1D layer
                args.append(w.keyword("dropout", "0.2"))
            args[2:] = draw(st.permutations(args[2:]))
            layers.append(w.call(n.layer("Embedding"), args, indent + "    "))
            params += vocabulary * dims
        features = dims
        # Without an embedding, the first LSTM takes Keras 1's input_dim and input_length.
        recurrent = draw(st.integers(0 if embedded else 1, 2))
        for index in range(recurrent):
            units = draw(st.integers(1, 8))
            lstm_args = [w.keyword("output_dim", str(units)) if draw(st.booleans()) else str(units)]
            if index == 0 and not embedded or draw(st.integers(0, 3)) == 0:
                # Keras 1 code often repeated the input size on every recurrent layer
                lstm_args += [w.keyword("input_dim", str(features)), w.keyword("input_length", str(steps))]
            if draw(st.booleans()):
                lstm_args.append(w.keyword("dropout_W", "0.2"))
            if draw(st.booleans()):
                lstm_args.append(w.keyword("dropout_U", "0.1"))
            if draw(st.integers(0, 3)) == 0:
                lstm_args.append(w.keyword("consume_less", repr(draw(st.sampled_from(["cpu", "mem", "gpu"])))))
            if index < recurrent - 1:
                lstm_args.append(w.keyword("return_sequences", "True"))
            lstm_args[1:] = draw(st.permutations(lstm_args[1:]))
            layers.append(w.call(n.layer("LSTM"), lstm_args, indent + "    "))
            params += 4 * (units * (features + units) + units)
            features = units
        if recurrent == 0:
            layers.append(w.call(n.layer("Flatten"), [], indent + "    "))
            features = steps * dims

    first_shape = shape if kind == "dense" else None
    for index in range(draw(st.integers(1 if kind == "dense" else 0, 3))):
        units = draw(st.integers(1, 16))
        text, count = _dense(draw, w, n, units, indent + "    ", first_shape if index == 0 else None, features)
        layers.append(text)
        params += count
        features = units
        if draw(st.integers(0, 2)) == 0:
            layers.append(_simple(draw, w, n, indent + "    "))
        if draw(st.integers(0, 3)) == 0:
            text, count = _batch_norm(draw, w, n, indent + "    ", features)
            layers.append(text)
            params += count

    body: list[str] = []
    sequential = n.model("Sequential")
    if draw(st.booleans()):
        body.append(f"{indent}model = {sequential}()" + w.maybe_trailing())
        for layer in layers:
            if draw(st.integers(0, 4)) == 0:
                body.append(indent + w.comment())
            body.append(f"{indent}model.add({layer})" + w.maybe_trailing())
    else:
        items = []
        for layer in layers:
            if draw(st.integers(0, 4)) == 0:
                items.append(f"{indent}    {w.comment()}")
            items.append(f"{indent}    {layer}," + w.maybe_trailing())
        body.append(f"{indent}model = {sequential}([" + w.maybe_trailing())
        body.extend(items)
        body.append(f"{indent}])")
    return Program(_assemble(draw, w, n, body, in_function), params, True, f"Sequential {kind}, {n.style} imports")


@st.composite
def functional_programs(draw) -> Program:
    """A Functional graph: inputs, Dense branches joined by merge(), and Model(input=, output=)."""
    w = _Writer(draw)
    n = _Names(draw(st.sampled_from(STYLES)), set())
    in_function = draw(st.booleans())
    indent = "    " if in_function else ""
    body: list[str] = []
    inputs = [f"input_{index}" for index in range(draw(st.integers(1, 2)))]
    for name in inputs:
        body.append(f"{indent}{name} = {w.call(n.layer('Input'), [w.keyword('shape', f'({draw(st.integers(1, 12))},)')], indent)}" + w.maybe_trailing())
    mode = draw(st.sampled_from(["concat", "sum", "mul", "ave", "max", None]))
    width = draw(st.integers(1, 8))
    branches = []
    for index in range(draw(st.integers(2, 3))):
        current = draw(st.sampled_from(inputs))
        for depth in range(draw(st.integers(1, 2))):
            units = width if depth == 0 or mode != "concat" else draw(st.integers(1, 8))
            layer, _ = _dense(draw, w, n, units, indent, None, 0)
            name = f"branch_{index}_{depth}"
            if draw(st.integers(0, 3)) == 0:
                body.append(indent + w.comment())
            body.append(f"{indent}{name} = {layer}({current})" + w.maybe_trailing())
            current = name
        branches.append(current)
    merge_args = ["[" + ", ".join(branches) + "]"]
    if mode is not None:
        merge_args.append(w.keyword("mode", repr(mode)) if draw(st.integers(0, 3)) else repr(mode))
    if mode == "concat" and draw(st.booleans()):
        merge_args.append(w.keyword("concat_axis", "-1"))
    if draw(st.integers(0, 3)) == 0:
        merge_args.append(w.keyword("name", repr("merged")))
    body.append(f"{indent}merged = {w.call(n.layer('merge'), merge_args, indent)}" + w.maybe_trailing())
    head, _ = _dense(draw, w, n, draw(st.integers(1, 4)), indent, None, 0)
    body.append(f"{indent}output = {head}(merged)")
    model_input = inputs[0] if len(inputs) == 1 and draw(st.booleans()) else "[" + ", ".join(inputs) + "]"
    model_args = [w.keyword("input", model_input), w.keyword("output", "output")]
    if draw(st.booleans()):
        model_args.reverse()
    body.append(f"{indent}model = {w.call(n.model('Model'), model_args, indent)}" + w.maybe_trailing())
    return Program(_assemble(draw, w, n, body, in_function), None, False, f"Functional merge mode={mode}, {n.style} imports")


def _assemble(draw, w: _Writer, n: _Names, body: list[str], in_function: bool) -> str:
    lines = [w.comment()] if draw(st.booleans()) else []
    lines += n.imports(w)
    lines.append("")
    if in_function:
        lines.append("def build_model():" + w.maybe_trailing())
        lines += body
        lines.append("    return model")
        lines.append("")
        lines.append("")
        lines.append("model = build_model()")
    else:
        lines += body
    if draw(st.booleans()):
        lines.append(w.comment())
    return "\n".join(lines) + "\n"


programs = st.one_of(sequential_programs(), functional_programs())


# -- the properties ---------------------------------------------------------------------------------


def _comments(text: str) -> Counter:
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return Counter(token.string for token in tokens if token.type == tokenize.COMMENT)


def _source(text: str) -> Source:
    return Source(path=Path("generated.py"), text=text, raw=text.encode("utf-8"))


def _migrate(text: str) -> str:
    return fix_text(_source(text), SETTINGS).text


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(programs)
def test_migration_of_random_keras1_programs(program: Program) -> None:
    original = program.text
    event(program.kind)
    ast.parse(original)  # the generator writes valid Python

    findings, error = check_source(_source(original), SETTINGS)
    assert error is None, error

    migrated = _migrate(original)
    event("migrate changed the program" if migrated != original else "migrate left the program as it was")
    try:
        ast.parse(migrated)
    except SyntaxError as failure:
        pytest.fail(f"migrated program does not parse: {failure}\n--- input\n{original}\n--- output\n{migrated}")

    lost = _comments(original) - _comments(migrated)
    assert not lost, f"comments lost: {sorted(lost)}\n--- input\n{original}\n--- output\n{migrated}"

    again = _migrate(migrated)
    assert again == migrated, f"a second migration changed the program\n--- input\n{original}\n--- first\n{migrated}\n--- second\n{again}"

    _, error = check_source(_source(migrated), SETTINGS)
    assert error is None, error


@pytest.mark.tensorflow
@pytest.mark.slow
@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(sequential_programs())
def test_migrated_sequential_programs_build_with_the_expected_parameter_count(program: Program) -> None:
    keras = pytest.importorskip("keras")
    event(program.kind)
    migrated = _migrate(program.text)
    keras.backend.clear_session()
    namespace = {"__name__": "kerasfix_generated"}
    try:
        exec(compile(migrated, "<generated>", "exec", dont_inherit=True), namespace)
    except Exception as failure:  # noqa: BLE001 - the message carries the program
        pytest.fail(f"migrated program fails: {type(failure).__name__}: {failure}\n--- input\n{program.text}\n--- output\n{migrated}")
    model = namespace["model"]
    assert model.count_params() == program.params, f"\n--- input\n{program.text}\n--- output\n{migrated}"


# -- arbitrary Python --------------------------------------------------------------------------------

def test_arbitrary_python_neither_crashes_check_nor_migrate() -> None:
    hypothesmith = pytest.importorskip("hypothesmith")

    @settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(hypothesmith.from_grammar() | hypothesmith.from_node())
    def run(code: str) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)  # odd but valid code, such as `1()`
            _check_and_migrate(code)

    run()


def _check_and_migrate(code: str) -> None:
    # Keras imports first, so that the rules look at the code instead of passing the file by.
    text = "import keras\nfrom keras.layers import Dense, merge\n" + code
    source = _source(text)
    _, error = check_source(source, SETTINGS)
    assert error is None or error.kind == "parse", error
    try:
        result = fix_text(source, SETTINGS)
    except ParseFailure:
        assert error is not None, "migrate could not parse what check parsed"
        return
    assert error is None, "migrate parsed what check could not"
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):
        return
    ast.parse(result.text)
