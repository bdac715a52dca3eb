"""KF339: a custom layer's `call(self, *args, **kwargs)`, which Keras 3 builds with no input shape, gets a named
first input (and `training`, which Keras 2 put into `**kwargs`); and `verify` says so when the original program
itself cannot build a model (keras-resnet 0.2.0's 1D and 3D networks), instead of blaming the migration."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from kerasfix.verify.command import _fails_alike, _fails_at_the_same_statement
from tests.conftest import findings, migrate, run_kerasfix

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FIXTURE = FIXTURES / "custom_layers" / "freezable_batchnorm_residual.py"

HEAD = "import keras\n\n\nclass Frozen(keras.layers.BatchNormalization):\n"


def _kf339(text: str) -> list:
    return [f for f in findings(text) if f.code == "KF339"]


def test_the_keras_resnet_pattern_gets_a_named_input_and_training() -> None:
    before = HEAD + textwrap.indent(textwrap.dedent(
        """\
        def call(self, *args, **kwargs):
            # Force test mode if frozen
            if self.freeze:
                kwargs['training'] = False
            return super(Frozen, self).call(*args, **kwargs)
        """), "    ")
    after = HEAD + textwrap.indent(textwrap.dedent(
        """\
        def call(self, inputs, *args, training=None, **kwargs):
            kwargs["training"] = training
            # Force test mode if frozen
            if self.freeze:
                kwargs['training'] = False
            return super(Frozen, self).call(inputs, *args, **kwargs)
        """), "    ")
    (finding,) = _kf339(before)
    assert finding.fix is not None and finding.fix.applicability == "unsafe"
    assert migrate(before) == before  # an unsafe fix: not without --unsafe-fixes
    assert migrate(before, unsafe=True) == after
    assert not _kf339(after)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # no **kwargs: Keras 2 passed no `training` either
        ("def call(self, *args):\n    return super().call(*args)\n",
         "def call(self, inputs, *args):\n    return super().call(inputs, *args)\n"),
        # `training` named already: only the input is added
        ("def call(self, *args, training=None, **kwargs):\n    return super().call(*args, training=training, **kwargs)\n",
         "def call(self, inputs, *args, training=None, **kwargs):\n    return super().call(inputs, *args, training=training, **kwargs)\n"),
        # another name for the keywords; the new statement goes after the docstring
        ('def call(self, *xs, **kw):\n    """Frozen."""\n    kw["training"] = False\n    return super().call(*xs, **kw)\n',
         'def call(self, inputs, *xs, training=None, **kw):\n    """Frozen."""\n    kw["training"] = training\n'
         '    kw["training"] = False\n    return super().call(inputs, *xs, **kw)\n'),
        # one line
        ("def call(self, *args, **kwargs): return super().call(*args, **kwargs)\n",
         'def call(self, inputs, *args, training=None, **kwargs): kwargs["training"] = training; '
         "return super().call(inputs, *args, **kwargs)\n"),
        # every `*args` passed on, in a nested function too
        ("def call(self, *args, **kwargs):\n    def inner():\n        return super(Frozen, self).call(*args, **kwargs)\n"
         "    return inner() + 0 * self.extra(*args)\n",
         'def call(self, inputs, *args, training=None, **kwargs):\n    kwargs["training"] = training\n    def inner():\n'
         "        return super(Frozen, self).call(inputs, *args, **kwargs)\n    return inner() + 0 * self.extra(inputs, *args)\n"),
    ],
)
def test_fixed_forms(body: str, expected: str) -> None:
    before = HEAD + textwrap.indent(body, "    ")
    assert migrate(before, unsafe=True) == HEAD + textwrap.indent(expected, "    ")


@pytest.mark.parametrize(
    "body",
    [
        "def call(self, *args, **kwargs):\n    return super().call(args[0], **kwargs)\n",  # reads args
        "def call(self, *args, **kwargs):\n    print(len(args))\n    return super().call(*args, **kwargs)\n",
        "def call(self, *args, **kwargs):\n    args = args[:1]\n    return super().call(*args, **kwargs)\n",  # rebinds
        "def call(self, *args, **kwargs):\n    inputs = args\n    return super().call(*inputs, **kwargs)\n",  # `inputs` taken
        "def call(self, *args, **kwargs):\n    print(training)\n    return super().call(*args, **kwargs)\n",  # `training` read
        "def call(self, *args, **kwargs):\n    print(locals())\n    return super().call(*args, **kwargs)\n",
        "def call(self, *args, **kwargs):\n    f = lambda *args: args\n    return super().call(*args, **kwargs)\n",  # shadowed
        "def call(self, *inputs, **kwargs):\n    return super().call(*inputs, **kwargs)\n",  # the name is the varargs'
        'def call(self, *args, **kwargs):\n    """Only a docstring."""\n',
    ],
)
def test_reported_without_a_fix_when_args_is_more_than_passed_on(body: str) -> None:
    before = HEAD + textwrap.indent(body, "    ")
    (finding,) = _kf339(before)
    assert finding.fix is None
    assert migrate(before, unsafe=True) == before


@pytest.mark.parametrize(
    "text",
    [
        HEAD + "    def call(self, inputs, *args, **kwargs):\n        return super().call(inputs, *args, **kwargs)\n",
        HEAD + "    def call(self, inputs):\n        return inputs\n",
        "import keras\n\n\nclass Helper:\n    def call(self, *args, **kwargs):\n        return args\n",  # not a layer
        HEAD + "    @staticmethod\n    def call(*args, **kwargs):\n        return args\n",  # no `self`
    ],
)
def test_not_flagged(text: str) -> None:
    assert not _kf339(text)


def test_a_subclass_of_a_layer_of_the_file_is_a_layer_too() -> None:
    text = HEAD + "    pass\n\n\nclass Logged(Frozen):\n    def call(self, *args, **kwargs):\n        return super().call(*args, **kwargs)\n"
    (finding,) = _kf339(text)
    assert (finding.location.row, finding.location.column) == (9, 20)


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_line_endings_are_kept(newline: str) -> None:
    from kerasfix import registry
    from kerasfix.engine import Settings, fix_text
    from kerasfix.source import Source

    body = "    def call(self, *args, **kwargs):\n        # comment\n\n        return super().call(*args, **kwargs)\n"
    text = (HEAD + body).replace("\n", newline)
    source = Source(path=Path("model.py"), text=text, raw=text.encode())
    fixed = fix_text(source, Settings(enabled=registry.default_codes(), unsafe_fixes=True)).text
    expected = ("    def call(self, inputs, *args, training=None, **kwargs):\n        kwargs[\"training\"] = training\n"
                "        # comment\n\n        return super().call(inputs, *args, **kwargs)\n")
    assert fixed == (HEAD + expected).replace("\n", newline)


# --- the fixed layer under Keras 3 behaves as the original under Keras 2 (tf-keras) --------------------------

RUN = textwrap.dedent(
    '''
    """Build the fixture's layer (argv[1]: its source file) frozen and not, call it in training and inference mode."""
    import ast, json, os, sys
    import numpy as np
    if os.environ.get("TF_USE_LEGACY_KERAS") == "1":
        import tf_keras as keras
    else:
        import keras
    tree = ast.parse(open(sys.argv[1]).read())
    (cls,) = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    namespace = {"keras": keras}
    exec(compile(ast.Module(body=[cls], type_ignores=[]), sys.argv[1], "exec"), namespace)
    layer_class = namespace[cls.name]
    data = np.random.default_rng(0).normal(3.0, 2.0, size=(16, 4, 4, 3)).astype("float32")
    results = {}
    for frozen in (False, True):
        layer = layer_class(axis=3, frozen=frozen)
        inputs = keras.layers.Input((4, 4, 3))
        model = keras.Model(inputs, layer(inputs))
        train = np.asarray(model(data, training=True))
        moving_mean, moving_variance = np.asarray(layer.moving_mean), np.asarray(layer.moving_variance)
        infer = np.asarray(model(data, training=False))
        results[str(frozen)] = {"train": train.tolist(), "infer": infer.tolist(), "moving_mean": moving_mean.tolist(),
                                "moving_variance": moving_variance.tolist(), "trainable": len(layer.trainable_weights)}
    print("RESULT " + json.dumps(results))
    '''
)


def _run(tmp_path: Path, source: Path, keras2: bool) -> dict:
    script = tmp_path / "run_layer.py"
    script.write_text(RUN, encoding="utf-8")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow", CUDA_VISIBLE_DEVICES="")
    env.pop("TF_USE_LEGACY_KERAS", None)
    if keras2:
        env["TF_USE_LEGACY_KERAS"] = "1"
    result = subprocess.run([sys.executable, str(script), str(source)], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=600)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stderr[-4000:]
    return json.loads(lines[-1][len("RESULT "):])


@pytest.mark.slow
@pytest.mark.tensorflow
def test_the_fixed_layer_under_keras3_computes_what_the_original_did_under_keras2(tmp_path: Path) -> None:
    pytest.importorskip("tf_keras")
    original = _run(tmp_path, FIXTURE, keras2=True)
    fixed = _run(tmp_path, FIXTURE.with_name(FIXTURE.stem + ".fixed.py"), keras2=False)
    for frozen in ("False", "True"):
        for key in ("train", "moving_mean"):
            np.testing.assert_allclose(np.array(fixed[frozen][key]), np.array(original[frozen][key]), atol=1e-5,
                                       err_msg=f"frozen={frozen}: {key}")
        # after a training call, inference reads the moving variance, which tf-keras's fused batch norm moves by the
        # unbiased batch variance (n / (n - 1), here 256 / 255) and Keras 3 by the biased one: a relative difference
        # of some 1e-4 that is Keras's, not the migration's
        np.testing.assert_allclose(np.array(fixed[frozen]["infer"]), np.array(original[frozen]["infer"]), rtol=1e-3,
                                   err_msg=f"frozen={frozen}: infer")
        moved = {side: np.array(run[frozen]["moving_variance"]) - 0.99 for side, run in (("fixed", fixed), ("original", original))}
        np.testing.assert_allclose(moved["original"], moved["fixed"] * (256 / 255 if frozen == "False" else 1.0), rtol=1e-4)
        assert fixed[frozen]["trainable"] == original[frozen]["trainable"]
    # the comparison means something: unfrozen, training mode normalizes with the batch's statistics and moves the
    # moving mean; frozen, it normalizes with the moving statistics and leaves them alone
    unfrozen, frozen = fixed["False"], fixed["True"]
    assert abs(np.mean(unfrozen["train"])) < 1e-3 and np.all(np.array(unfrozen["moving_mean"]) > 0.01)
    assert np.mean(frozen["train"]) > 1.0 and np.all(np.array(frozen["moving_mean"]) == 0.0)


# --- verify: a model the original cannot build either is not a failure of the migration ---------------------


ERROR = {"type": "ValueError", "message": "The `kernel_size` argument must be a tuple of 1 integers. Received kernel_size=(7, 7)",
         "line": 77, "source": 'x = keras.layers.Conv1D(64, (7, 7), name="conv1")(x)', "side": "migrated"}
ORIGINAL = dict(ERROR, side="original", message="the original does not build under tf-keras (Keras 2): The `kernel_size` "
                "argument must be a tuple of 1 integers. Received: (7, 7)")


def test_the_same_exception_at_the_same_statement_is_alike_whatever_the_wording() -> None:
    record = {"built": False, "error": ERROR, "migrated_error": ERROR, "original_error": ORIGINAL}
    assert _fails_at_the_same_statement(record) and not _fails_alike(record)  # the messages differ in wording
    assert not _fails_at_the_same_statement(dict(record, original_error=dict(ORIGINAL, source="x = other(x)")))
    assert not _fails_at_the_same_statement(dict(record, original_error=dict(ORIGINAL, type="TypeError")))
    assert not _fails_at_the_same_statement(dict(record, original_error=dict(ORIGINAL, source=None),
                                                 migrated_error=dict(ERROR, source=None)))
    assert not _fails_at_the_same_statement(dict(record, skip={"label": "package x not installed", "message": "..."}))
    assert not _fails_at_the_same_statement({"built": False, "error": ERROR})  # only one program failed


BROKEN = textwrap.dedent(
    """\
    import keras


    def build(classes):
        inputs = keras.layers.Input((32, 3))
        x = keras.layers.Conv1D(8, (7, 7), name="conv1")(inputs)
        x = keras.layers.GlobalAveragePooling1D()(x)
        return keras.models.Model(inputs=inputs, outputs=keras.layers.Dense(classes)(x))


    def build_ok(classes):
        inputs = keras.layers.Input((32, 3))
        x = keras.layers.Conv1D(8, 7, name="conv1")(inputs)
        x = keras.layers.GlobalAveragePooling1D()(x)
        return keras.models.Model(inputs=inputs, outputs=keras.layers.Dense(classes)(x))
    """
)


@pytest.mark.slow
@pytest.mark.tensorflow
def test_verify_skips_a_call_the_original_fails_alike_under_tf_keras(tmp_path: Path) -> None:
    pytest.importorskip("tf_keras")
    program = tmp_path / "broken.py"
    program.write_text(BROKEN, encoding="utf-8")
    result = run_kerasfix("verify", "--output-format", "json", "--timeout", "300", "--steps", "1",
                          "--call", "build(3)", "--call", "build_ok(3)", str(program))
    assert result.stdout.strip(), result.stderr[-3000:]
    report = json.loads(result.stdout)
    models = {m["name"]: m for m in report["models"]}
    assert set(models) == {"build(3)", "build_ok(3)"}, models
    broken = models["build(3)"]
    assert broken["oracle"] == "tf-keras" and broken["status"] == "skipped", broken
    assert broken["skip"]["label"] == "the original fails"
    assert "the original program fails too (ValueError: The `kernel_size` argument must be a tuple of 1 integers" in broken["skip"]["message"]
    assert models["build_ok(3)"]["status"] == "verified", models["build_ok(3)"]
    assert report["summary"]["failed"] == 0 and report["summary"]["skipped"] == 1
    assert result.returncode == 0


def test_training_is_named_only_for_a_base_whose_call_takes_it_and_goes_above_decorators() -> None:
    text = (
        "import keras\n"
        "class Frozen(keras.layers.BatchNormalization):\n"
        "    def call(self, *args, **kwargs):\n"
        "        # a helper first\n"
        "        @staticmethod\n"
        "        def helper():\n"
        "            return 1\n"
        "        return super().call(*args, **kwargs)\n"
        "class Plain(keras.layers.Conv2D):\n"
        "    def call(self, *args, **kwargs):\n"
        "        return super().call(*args, **kwargs)\n"
    )
    fixed = migrate(text, "KF339", unsafe=True)
    compile(fixed, "fixed.py", "exec")
    assert '    def call(self, inputs, *args, training=None, **kwargs):\n        kwargs["training"] = training\n        # a helper first\n        @staticmethod\n' in fixed
    # Conv2D.call takes no `training`: passing it on would fail on every call
    assert "    def call(self, inputs, *args, **kwargs):\n        return super().call(inputs, *args, **kwargs)\n" in fixed


def test_the_skip_names_the_exception_a_tensorflow_traceback_ends_with() -> None:
    from kerasfix.verify.command import _gist

    quoted = (
        'Exception encountered when calling layer "gru1" (type DynamicGRU).\n\nin user code:\n\n'
        '    File "/tmp/job/sequence.py", line 791, in call  *\n        outputs, state = dynamic_rnn(cell, x)\n'
        '    File "/tmp/job/rnn.py", line 110, in _transpose  *\n        x_static_shape[1].value\n\n'
        "    AttributeError: 'int' object has no attribute 'value'\n"
    )
    assert _gist(quoted) == "AttributeError: 'int' object has no attribute 'value'"
    assert _gist("The `kernel_size` argument must be a tuple of 1 integers.") == "The `kernel_size` argument must be a tuple of 1 integers."


def test_a_long_error_keeps_the_exception_it_ends_with_for_the_skip() -> None:
    from kerasfix.verify.command import _gist
    from kerasfix.verify.runtime import _error

    frames = "".join(f'    File "/tmp/job/rnn.py", line {n}, in step  *\n        state = cell(x, state)\n\n' for n in range(40))
    quoted = f'Exception encountered when calling layer "gru1" (type DynamicGRU).\n\nin user code:\n\n{frames}' \
        "    AttributeError: 'int' object has no attribute 'value'\n"
    try:
        raise ValueError(quoted)
    except ValueError as exc:
        error = _error(exc, "/tmp/job/model.py", [], "original")
    assert len(error["message"]) < len(quoted)
    assert error["message"].startswith('Exception encountered when calling layer "gru1"')
    assert _gist(error["message"]) == "AttributeError: 'int' object has no attribute 'value'"
