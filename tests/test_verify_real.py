"""`kerasfix verify` on programs written as old Keras tutorials were (fixtures/verify_real/): a model sized from a
downloaded archive, required command-line arguments, pretrained ImageNet weights, a helper defined below the
model code, a data file only the author had, a package that is not installed, a model with no input shape;
skips, `--strict` and the summary line.

The slice, the stand-in files and the placeholders are checked without TensorFlow; each TensorFlow test runs
several programs in one `verify` (one worker start, plus the tf-keras oracle's where it is installed).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import sys
import tarfile
import textwrap
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, run_kerasfix
from kerasfix.verify import inputs, isolation
from kerasfix.verify.extract import extract

REAL = ROOT / "fixtures" / "verify_real"
HAS_PIL = importlib.util.find_spec("PIL") is not None


def _lines(units) -> list[int]:
    return [unit.line for unit in units]


# ---------------------------------------------------------------------------------------------
# without TensorFlow


def test_slice_takes_the_model_from_the_main_block_with_helpers_defined_below() -> None:
    text = (REAL / "helper_below.py").read_text()
    sliced = extract(text)
    assert sliced.sites == {"model": 34}
    kept = _lines(sliced.units)
    # build_model, dense_block below it, the constants after both, and the main block's data and model lines
    assert {10, 20, 26, 27, 30, 31, 33} <= set(kept)
    assert 32 not in kept  # Y_train: only fit reads it
    assert 36 not in kept and 37 not in kept  # fit stays out
    main_unit = next(unit for unit in sliced.units if "build_model(X_train" in unit.code)
    assert main_unit.code.startswith("if True:\n    model = build_model(")
    assert main_unit.line == 33  # the `if True:` line sits before the statement, which keeps its own line


def test_a_bare_main_call_in_the_main_block_is_not_run() -> None:
    text = textwrap.dedent(
        """\
        from keras.layers import Dense
        from keras.models import Sequential

        def main():
            model = Sequential()
            model.add(Dense(2, input_dim=3))
            model.fit(x, y)

        if __name__ == '__main__':
            main()
        """
    )
    assert _lines(extract(text).units) == []


def test_the_data_passed_to_fit_is_kept_optionally() -> None:
    sliced = extract((REAL / "fit_shape.py").read_text())
    assert sliced.fit_inputs == {"model": "x_train", "regressor": "features"}
    optional = {unit.line for unit in sliced.units if unit.optional}
    assert {7, 21} <= optional  # x_train and features: computed for the shape, their failure fails nothing
    assert not {unit.line for unit in sliced.units if not unit.optional} & {7, 21}


def test_a_call_of_a_helper_that_fills_a_kept_dictionary_is_kept() -> None:
    sliced = extract((REAL / "global_setup.py").read_text())
    assert {6, 9, 14, 16} <= set(_lines(sliced.units))  # load_settings() binds no name, but changes config
    assert sliced.whole == []  # the slice is the module: nothing to fall back on


def test_the_whole_module_is_the_fallback_when_the_slice_misses_a_statement() -> None:
    sliced = extract((REAL / "globals_update.py").read_text())
    assert 7 not in _lines(sliced.units)  # globals().update(...) names nothing the model reads
    assert _lines(sliced.whole) == [3, 4, 6, 7, 9, 10, 11, 12, 13, 14]


@pytest.fixture
def job(tmp_path: Path, monkeypatch):
    """A job of `inputs`, in a working directory of its own, for a program in `tmp_path/program`."""
    program = tmp_path / "program"
    data = tmp_path / "data"
    work = tmp_path / "work"
    for folder in (program, data, work):
        folder.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(work))  # as the worker sets it for each job
    inputs.begin(str(program / "train.py"), None, str(data))
    yield program, data, work
    inputs.end()


def test_placeholders_for_required_arguments_of_their_declared_type(job) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir")
    parser.add_argument("epochs", type=int)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--mode", choices=["train", "test"], required=True)
    parser.add_argument("--size", type=int, nargs=2, required=True)
    parser.add_argument("--optional", default="kept")
    assert inputs.placeholder_arguments(parser) == [
        inputs.PLACEHOLDER, "32", "--rate", "0.1", "--mode", "train", "--size", "32", "32"]
    parse = inputs._parse_known_args(argparse.ArgumentParser.parse_known_args)
    namespace, rest = parse(parser)
    assert (namespace.data_dir, namespace.epochs, namespace.rate, namespace.size, namespace.optional) == (
        inputs.PLACEHOLDER, 32, 0.1, [32, 32], "kept")
    assert rest == []
    assert any("data_dir='kerasfix-placeholder', epochs=32" in note and "after `--`" in note for note in inputs.JOB.notes)
    missing = inputs.missing(os.path.join(namespace.data_dir, "train.csv"))
    assert "placeholder verify gave its required argument data_dir" in str(missing)


def test_given_arguments_are_the_programs_own(tmp_path: Path) -> None:
    inputs.begin(str(tmp_path / "train.py"), ["data.csv", "7"], None)
    try:
        assert sys.argv == [str(tmp_path / "train.py"), "data.csv", "7"]
        parser = argparse.ArgumentParser()
        parser.add_argument("path")
        parser.add_argument("epochs", type=int)
        parse = inputs._parse_known_args(argparse.ArgumentParser.parse_known_args)
        namespace, _ = parse(parser)
        assert (namespace.path, namespace.epochs) == ("data.csv", 7) and inputs.JOB.notes == []
    finally:
        inputs.end()
    assert sys.argv[0] != str(tmp_path / "train.py")


def test_get_file_gives_archives_the_program_can_open_as_keras_2_did(job) -> None:
    _, _, work = job
    path = inputs.synthetic_file("stories.tar.gz", origin="https://example.com/stories.tar.gz")
    assert Path(path).is_file() and Path(path).is_relative_to(work)
    with tarfile.open(path) as archive:
        texts = [archive.extractfile(m).read().decode() for m in archive.getmembers() if m.name.endswith(".txt")]
    assert len(texts) == 3 and all(len(text.split()) > 100 for text in texts)
    folder = inputs.synthetic_file("corpus", origin="https://example.com/corpus_v1.tar.gz", untar=True)
    assert sorted(p.name for p in Path(folder).iterdir()) == ["README", "corpus.txt", "test.txt", "train.txt"]
    archive = inputs.synthetic_file("pairs.zip", origin="https://example.com/pairs.zip", extract=True)
    assert zipfile.is_zipfile(archive) and (Path(archive).parent / "pairs" / "train.txt").is_file()
    from kerasfix.verify import sandbox

    with sandbox._guarded_open(Path(archive).parent / "pairs" / "spa.txt") as handle:  # one the stand-in lacks: made
        assert "\t" in handle.readline()
    assert inputs.locate(Path(archive).parent / "pairs" / "spa.txt") is None  # made on the spot, now it is there
    import numpy as np

    arrays = np.load(inputs.synthetic_file("mnist.npz", origin="https://example.com/mnist.npz"))
    assert arrays["x_train"].shape == (256, 28, 28)
    assert any("stand-in archive" in note for note in inputs.JOB.notes)


def test_a_missing_data_file_is_looked_for_then_named(job) -> None:
    program, data, _ = job
    (program / "data").mkdir()
    (program / "data" / "corpus.txt").write_text("next to the program")
    (data / "labels.csv").write_text("from --data")
    assert inputs.locate("data/corpus.txt") == str(program / "data" / "corpus.txt")
    assert inputs.locate("inputs/labels.csv") == str(data / "labels.csv")  # by name in --data
    assert inputs.locate("/nowhere/labels.csv") == str(data / "labels.csv")
    assert inputs.locate("notes.txt") is None
    error = inputs.missing("notes.txt")
    assert isinstance(error, FileNotFoundError) and error.filename == "notes.txt"
    assert "the program reads the data file 'notes.txt', which is not there" in str(error) and str(program) in str(error)
    assert any(note == f"read data/corpus.txt from {program / 'data' / 'corpus.txt'}" for note in inputs.JOB.notes)


def test_what_stops_a_program_outside_kerasfix_is_a_skip_with_its_reason() -> None:
    def reason(exc: BaseException) -> dict | None:
        return inputs.skip_reason(exc, str(exc))

    missing = reason(ModuleNotFoundError("No module named 'sklearn_extra_nowhere'", name="sklearn_extra_nowhere.cluster"))
    assert missing == {"label": "package sklearn_extra_nowhere not installed",
                       "message": "the program needs sklearn_extra_nowhere, which is not installed here: pip install sklearn_extra_nowhere"}
    if not HAS_PIL:
        assert reason(ImportError("Could not import PIL.Image. The use of `load_img` requires PIL."))["message"].endswith(
            "pip install pillow")
    contrib = reason(ModuleNotFoundError("No module named 'tensorflow.contrib'", name="tensorflow.contrib"))
    assert contrib["label"] == "tensorflow.contrib (removed in TensorFlow 2)"
    assert reason(ModuleNotFoundError("No module named 'keras.engine.topology'", name="keras.engine.topology")) is None
    assert reason(ModuleNotFoundError("No module named 'numpy'", name="numpy")) is None  # it is installed: a real error
    assert reason(inputs.MissingDataFile("x.csv", "the program reads the data file 'x.csv'"))["label"] == "a data file only you have"
    assert reason(ValueError("Inputs have incompatible shapes")) is None


def test_the_os_sandbox_shows_the_programs_directory_read_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    project = home / "alice" / "tutorials"
    project.mkdir(parents=True)
    base = tmp_path / "base"
    (base / "work").mkdir(parents=True)
    binds = isolation.readable_binds((str(project), str(home), "/tmp", str(tmp_path), "/usr/lib"), [str(home)], str(base))
    # the program's folder, read-only; never a whole hidden directory, nor /tmp or a folder holding the worker's
    # own; /usr/lib is visible anyway
    assert binds == [["ro-bind", str(project), str(project)]]


def test_a_call_the_user_gives_builds_a_builder_with_required_arguments() -> None:
    text = (REAL / "tinypkg" / "nets" / "small.py").read_text()
    sliced = extract(text, ["build_sized((5,), classes=4)", "not_defined_here(1)", "not a call"])
    assert sliced.functions == ["build"]
    assert sliced.calls == ["build_sized((5,), classes=4)"]  # calls to functions the file lacks are ignored
    assert sliced.sites["build_sized((5,), classes=4)"] == 15
    assert any(unit.code.startswith("def build_sized(") for unit in sliced.units)


def test_a_builder_needing_only_placeholder_arguments_gets_a_placeholder_call() -> None:
    text = (REAL / "tinypkg" / "nets" / "small.py").read_text()
    assert extract(text).calls == ["build_sized(input_shape=(64, 64, 3))"]
    assert extract(text, placeholders=False).calls == []
    other = "from keras.layers import Dense, Input\nfrom keras.models import Model\n\n\n" \
            "def build(units, input_shape):\n    x = Input(shape=input_shape)\n    return Model(x, Dense(units)(x))\n"
    assert extract(other).calls == []  # `units` has no placeholder: no call is guessed


def test_a_package_file_brings_its_whole_package_migrated() -> None:
    from kerasfix.verify.command import _settings, package_root, package_tree

    path = REAL / "tinypkg" / "nets" / "small.py"
    assert package_root(path) == (REAL / "tinypkg").resolve()
    assert package_root(REAL / "fit_shape.py") is None
    config, settings, _ = _settings([path], True)
    notes: list[str] = []
    tree = package_tree(path, settings, config, notes)
    assert tree["module"] == "tinypkg.nets.small" and tree["package"] == "tinypkg.nets" and tree["top"] == "tinypkg"
    assert sorted(tree["original"]) == ["tinypkg/__init__.py", "tinypkg/blocks.py", "tinypkg/nets/__init__.py",
                                        "tinypkg/nets/small.py"]
    assert tree["original"]["tinypkg/blocks.py"] == (REAL / "tinypkg" / "blocks.py").read_text()
    assert sorted(tree["migrated"]) == sorted(tree["original"])
    assert any("tinypkg.nets.small" in note for note in notes)


# ---------------------------------------------------------------------------------------------
# with TensorFlow: the real `kerasfix verify`


def _run(*args: str) -> tuple[int, dict]:
    result = run_kerasfix("verify", "--output-format", "json", "--timeout", "300", *args)
    assert result.stdout.strip(), result.stderr[-3000:]
    return result.returncode, json.loads(result.stdout)


def _by_file(report: dict) -> dict[tuple[str, str], dict]:
    return {(Path(m["file"]).name, m["name"]): m for m in report["models"]}


def _notes(report: dict, name: str) -> list[str]:
    return [n["note"] for n in report["notes"] if Path(n["file"]).name == name]


@pytest.mark.slow
@pytest.mark.tensorflow
def test_tutorial_programs_verify_or_are_skipped_with_a_reason() -> None:
    names = ["tar_vocabulary.py", "argparse_required.py", "imagenet_weights.py", "helper_below.py", "missing_data.py",
             "fit_shape.py", "pillow_images.py", "global_setup.py", "globals_update.py"]
    code, report = _run(*(str(REAL / name) for name in names))
    models = _by_file(report)
    verified = {key for key, m in models.items() if m["status"] == "verified"}
    skipped = {key: m for key, m in models.items() if m["status"] == "skipped"}
    failed = {key: m for key, m in models.items() if m["status"] == "failed"}
    assert failed == {}, failed
    assert code == 0  # skips are listed and counted, not failures
    assert {("tar_vocabulary.py", "model"), ("argparse_required.py", "model"), ("imagenet_weights.py", "model"),
            ("helper_below.py", "model"), ("fit_shape.py", "model"), ("global_setup.py", "model"),
            ("globals_update.py", "model")} <= verified
    # the vocabulary of the stand-in archive's texts sized the Embedding and the output layer alike
    tar = models[("tar_vocabulary.py", "model")]
    assert tar["params"]["original"] == tar["params"]["migrated"] > 0
    assert any("get_file('stories.tar.gz') answered with a small stand-in archive" in n for n in _notes(report, "tar_vocabulary.py"))
    assert any("train_csv='kerasfix-placeholder', hidden=32" in n for n in _notes(report, "argparse_required.py"))
    assert models[("argparse_required.py", "model")]["params"]["migrated"] == (20 * 32 + 32) + (32 + 1)
    assert any("VGG16(weights='imagenet') built with weights=None" in n for n in _notes(report, "imagenet_weights.py"))
    assert any("verify built it from x_train" in n and "(None, 20)" in n for n in models[("fit_shape.py", "model")]["notes"])
    assert models[("global_setup.py", "model")]["params"]["migrated"] == (12 * 48 + 48) + (48 * 3 + 3)
    assert any("NameError: name 'nb_hidden' is not defined, line 10); verify ran the module up to its models instead" in n
               for n in _notes(report, "globals_update.py"))
    assert models[("globals_update.py", "model")]["params"]["migrated"] == (12 * 48 + 48) + (48 * 3 + 3)
    # reasons outside kerasfix, each named
    data = skipped[("missing_data.py", "model")]["skip"]
    assert data["label"] == "a data file only you have"
    assert "the program reads the data file 'data/corpus.txt', which is not there" in data["message"] and "--data DIR" in data["message"]
    assert skipped[("fit_shape.py", "regressor")]["skip"]["label"] == "not built: no input shape"
    if HAS_PIL:
        assert ("pillow_images.py", "model") in verified
    else:
        assert skipped[("pillow_images.py", "model")]["skip"]["message"].endswith("pip install pillow")
    summary = report["summary"]
    assert (summary["files"], summary["verified"], summary["failed"], summary["skipped"]) == (
        9, len(verified), 0, len(skipped))
    assert summary["line"].startswith(f"9 files, {len(models)} models: {len(verified)} verified, 0 failed, {len(skipped)} skipped; top reasons: ")
    assert "skipped: a data file only you have (1)" in summary["line"]


@pytest.mark.slow
@pytest.mark.tensorflow
def test_program_arguments_data_directory_and_strict() -> None:
    """`-- ARGS` reach the program, `--data` finds the file, and `--strict` fails the run over one skip."""
    code, report = _run("--sandbox", "python", "--strict", "--data", str(REAL / "user_data"),
                        str(REAL / "argparse_required.py"), str(REAL / "missing_data.py"), str(REAL / "fit_shape.py"),
                        "--", "train.csv", "16")
    models = _by_file(report)
    assert models[("argparse_required.py", "model")]["status"] == "verified"
    assert models[("argparse_required.py", "model")]["params"]["migrated"] == (20 * 16 + 16) + (16 + 1)
    assert not any("placeholder" in n for n in _notes(report, "argparse_required.py"))
    assert models[("missing_data.py", "model")]["status"] == "verified"
    assert f"read data/corpus.txt from {REAL / 'user_data' / 'corpus.txt'}" in _notes(report, "missing_data.py")
    assert models[("fit_shape.py", "regressor")]["status"] == "skipped"
    assert code == 1  # the one skip fails the run under --strict
    assert report["summary"]["line"] == ("3 files, 4 models: 3 verified, 0 failed, 1 skipped (counted as failures: --strict); "
                                         "top reasons: skipped: not built: no input shape (1)")


@pytest.mark.slow
@pytest.mark.tensorflow
def test_text_report_marks_skips_and_ends_with_the_summary_line() -> None:
    result = run_kerasfix("verify", "--timeout", "300", str(REAL / "fit_shape.py"), env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "SKIP" in result.stdout and "OK" in result.stdout
    assert "regressor: skipped: not built: its first layer states no input shape" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == (
        "1 file, 2 models: 1 verified, 0 failed, 1 skipped; top reasons: skipped: not built: no input shape (1)")


@pytest.mark.slow
@pytest.mark.tensorflow
def test_the_fallback_never_hides_a_failure_of_the_migrated_program() -> None:
    """The original needs the whole module; a migrated program that breaks fails, whichever way it is run."""
    from kerasfix.verify.command import Options, Verifier

    path = REAL / "globals_update.py"
    broken = (path.read_text().replace("output_dim=", "units=").replace("init=", "kernel_initializer=")
              .replace("units=nb_hidden", "units=nb_hiden"))
    with Verifier(Options(sandbox="python", timeout=300)) as verifier:
        report = verifier.verify(path, migrated_text=broken)
    model = {m["name"]: m for m in report.models}["model"]
    assert any("verify ran the module up to its models instead" in note for note in report.notes)
    assert not report.ok and "skip" not in model
    assert model["error"]["type"] == "NameError" and model["error"]["side"] == "migrated" and model["error"]["line"] == 10
    assert "nb_hiden" in model["error"]["message"]


# ---------------------------------------------------------------------------------------------
# what stopped the real-code corpus (benchmarks/corpus.py --verify)


def test_a_layer_called_inside_a_lambda_does_not_make_a_statement_build() -> None:
    text = (REAL / "dataset_map_lambda.py").read_text()
    sliced = extract(text)
    assert sliced.sites == {"model": 11}
    kept = "\n".join(unit.code for unit in sliced.units)
    assert "image_dataset_from_directory" not in kept  # the data pipeline, its Rescaling inside `.map(lambda ...)`
    assert "tempfile.mkdtemp" not in kept


@pytest.mark.slow
@pytest.mark.tensorflow
def test_corpus_patterns_verify() -> None:
    names = ["dataset_map_lambda.py", "custom_focal_loss.py", "sampling_encoder.py", "keras1_backend_defaults.py"]
    code, report = _run(*(str(REAL / name) for name in names))
    models = _by_file(report)
    assert {key: m["status"] for key, m in models.items()} == {
        ("dataset_map_lambda.py", "model"): "verified",
        # a loss of the program's own on a sigmoid output: targets in [0, 1], so the loss stays finite
        ("custom_focal_loss.py", "model"): "verified",
        ("sampling_encoder.py", "encoder"): "verified",
        # Keras 1 backend defaults under the compatibility layer: K.expand_dims(x), K.random_normal(std=)
        ("keras1_backend_defaults.py", "model"): "verified",
    }, {key: (m.get("error"), m.get("differences")) for key, m in models.items()}
    assert code == 0
    focal = models[("custom_focal_loss.py", "model")]
    assert focal["trained"] and all(math.isfinite(value) for value in focal["loss"])
    sampled = models[("sampling_encoder.py", "encoder")]
    # output 2 of 3 is random at inference: under the tf-keras oracle every output is compared, with the same noise
    # drawn on both sides; under the compatibility layer (one Keras, one seed) the noise is the same anyway
    if sampled["oracle"] == "tf-keras":
        assert any("random at inference: compared with the same noise on both sides" in note for note in sampled["notes"])
    assert sampled["max_output_diff"] is not None and sampled["max_output_diff"] <= 1e-5


@pytest.mark.slow
@pytest.mark.tensorflow
@pytest.mark.parametrize("oracle", ["compat", "auto"])  # auto: tf-keras where installed, its own runner
def test_a_package_module_with_relative_imports_and_a_called_builder_verifies(oracle: str) -> None:
    code, report = _run("--oracle", oracle, "--steps", "1", "--call", "build_sized((5,), classes=4, depth=2)",
                        str(REAL / "tinypkg" / "nets" / "small.py"))
    models = _by_file(report)
    assert set(models) == {("small.py", "build()"), ("small.py", "build_sized((5,), classes=4, depth=2)")}
    for model in models.values():
        assert model["verified"], model
    assert models[("small.py", "build_sized((5,), classes=4, depth=2)")]["params"]["migrated"] == (5 * 8 + 8) + (8 * 8 + 8) + (8 * 4 + 4)
    assert any("run as module tinypkg.nets.small" in note for note in _notes(report, "small.py"))
    assert code == 0
    assert not list(REAL.rglob("kerasfix-package-*"))  # the package tree is written inside the job directory only
