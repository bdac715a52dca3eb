"""`kerasfix verify` on code that runs with other code: a package's modules, the packages of other source roots
(`--path DIR`), builders verify calls by itself that cannot be called so, and a large reply from a worker.

Everything but the last test runs without TensorFlow."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT, run_kerasfix
from kerasfix.verify.command import _fails_alike, _settings, imported_tops, package_tree, source_roots

ROOTS = ROOT / "fixtures" / "verify_real" / "sourceroots"
APP = ROOTS / "app" / "model.py"
LIB = ROOTS / "lib"


def test_imported_tops_reads_imports_and_import_calls() -> None:
    text = ("import a.b, c\nfrom d.e import f\nfrom . import g\nfrom .h import i\n"
            "j = __import__('k.l', fromlist=['m'])\nn = importlib.import_module('o')\n")
    assert imported_tops(text) == {"a", "c", "d", "k", "o"}
    assert imported_tops("def broken(:\n") == set()


def test_source_roots_offer_their_packages_and_modules(tmp_path: Path) -> None:
    found = source_roots((LIB,))
    assert sorted(found) == ["sidehelp", "sidelib", "unusedlib"]
    root, modules = found["sidelib"]
    assert root == LIB.resolve()
    assert [m.name for m in modules] == ["__init__.py", "heads.py"]
    # an earlier root wins, as on sys.path; a folder without __init__.py is no package
    (tmp_path / "sidelib").mkdir()
    (tmp_path / "sidelib" / "__init__.py").write_text("")
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "x.py").write_text("")
    both = source_roots((tmp_path, LIB))
    assert both["sidelib"][0] == tmp_path.resolve() and "loose" not in both


def test_a_file_outside_any_package_gets_what_it_imports_from_the_roots_migrated_alike() -> None:
    config, settings, _ = _settings([APP], True)
    notes: list[str] = []
    tree = package_tree(APP, settings, config, notes, (LIB,))
    assert tree["module"] is None and tree["package"] is None and tree["top"] is None
    # sidelib because the file imports it, sidehelp because sidelib does; unusedlib is imported by nothing
    assert sorted(tree["tops"]) == ["sidehelp", "sidelib"]
    assert sorted(tree["original"]) == ["sidehelp.py", "sidelib/__init__.py", "sidelib/heads.py"]
    assert tree["original"]["sidelib/heads.py"] == (LIB / "sidelib" / "heads.py").read_text()
    migrated = tree["migrated"]["sidelib/heads.py"]
    assert "init=" not in migrated.replace("kernel_initializer=", "") and "output_dim" not in migrated
    assert "kernel_initializer=\"glorot_uniform\"" in migrated and "units=classes" in migrated
    assert any("importable from --path" in note and "sidelib" in note and "sidehelp" in note for note in notes)
    # without roots the file is on its own
    assert package_tree(APP, settings, config, []) is None


def test_builder_calls_bring_the_packages_they_import(tmp_path: Path) -> None:
    program = tmp_path / "plain.py"
    program.write_text("from keras.layers import Dense\n")
    config, settings, _ = _settings([program], True)
    assert package_tree(program, settings, config, [], (LIB,)) is None
    tree = package_tree(program, settings, config, [], (LIB,), ("build(__import__('sidehelp').hidden_units())",))
    assert tree["tops"] == ["sidehelp"]


def test_each_module_is_migrated_once_per_run(monkeypatch) -> None:
    import kerasfix.runner

    config, settings, _ = _settings([APP], True)
    calls: list[str] = []
    real = kerasfix.runner.migrate_file

    def counting(path, name, *args, **kwargs):
        calls.append(name)
        return real(path, name, *args, **kwargs)

    monkeypatch.setattr(kerasfix.runner, "migrate_file", counting)
    first = package_tree(APP, settings, config, [], (LIB,))
    second = package_tree(APP, settings, config, [], (LIB,))
    assert first == second
    assert sorted(calls) == ["sidehelp.py", "sidelib/__init__.py", "sidelib/heads.py"]


def test_a_package_file_and_the_roots_together(tmp_path: Path) -> None:
    package = tmp_path / "mypkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "net.py").write_text("from sidelib.heads import head\nfrom .. import sub\n")
    config, settings, _ = _settings([package / "sub" / "net.py"], True)
    notes: list[str] = []
    tree = package_tree(package / "sub" / "net.py", settings, config, notes, (LIB, tmp_path))
    assert tree["module"] == "mypkg.sub.net" and tree["package"] == "mypkg.sub" and tree["top"] == "mypkg"
    assert tree["tops"] == ["mypkg", "sidelib", "sidehelp"]  # its own package first (not taken again from a root)
    assert "mypkg/sub/net.py" in tree["original"] and "sidelib/heads.py" in tree["original"]


def test_only_a_failure_both_programs_share_is_a_call_verify_could_not_make() -> None:
    error = {"type": "TypeError", "message": "'NoneType' object is not subscriptable", "line": 15, "side": "migrated"}
    alike = {"built": False, "error": error, "migrated_error": error,
             "original_error": dict(error, side="original",
                                    message="the original does not build under tf-keras (Keras 2): " + error["message"])}
    assert _fails_alike(alike)
    assert not _fails_alike(dict(alike, original_error=dict(error, message="another message")))
    assert not _fails_alike(dict(alike, original_error=dict(error, type="KeyError")))
    assert not _fails_alike({"built": False, "error": error})  # only one program failed
    assert not _fails_alike(dict(alike, skip={"label": "package x not installed", "message": "..."}))
    assert not _fails_alike(dict(alike, original_error=dict(error, skip={"label": "l", "message": "m"})))


def test_a_long_reply_is_received_in_time_linear_in_its_size() -> None:
    from kerasfix.verify.client import Worker

    worker = Worker()
    read_end, write_end = os.pipe()
    worker.reader = read_end
    worker.token = "t"
    payload = b'{"id": "t-1", "op": "done", "weights": "' + b"A" * (48 << 20) + b'"}\n'

    def write() -> None:
        view = memoryview(payload)
        while view:
            written = os.write(write_end, view[: 1 << 16])  # the pipe hands it over in small pieces
            view = view[written:]

    writer = threading.Thread(target=write)
    started = time.monotonic()
    writer.start()
    try:
        message = worker._receive(60, "t-1", lambda m: None)
    finally:
        writer.join()
        os.close(read_end)
        os.close(write_end)
    assert message["op"] == "done" and len(message["weights"]) == 48 << 20
    assert time.monotonic() - started < 20  # a buffer grown by concatenation took minutes for this
    assert worker.buffer == b""


@pytest.mark.slow
@pytest.mark.tensorflow
def test_a_program_verifies_with_a_package_of_another_source_root() -> None:
    import json

    result = run_kerasfix("verify", "--output-format", "json", "--timeout", "300", "--steps", "1", "--path", str(LIB), str(APP))
    assert result.stdout.strip(), result.stderr[-3000:]
    report = json.loads(result.stdout)
    models = {m["name"]: m for m in report["models"]}
    assert set(models) == {"build()"}, models
    model = models["build()"]
    assert model["verified"], model
    assert model["oracle"] == "compat"  # sidelib's Keras 1 arguments: only the compatibility layer runs them
    assert model["params"]["migrated"] == (5 * 8 + 8) + (8 * 3 + 3)
    notes = [n["note"] for n in report["notes"]]
    assert any(note.startswith("build_from_settings() not verified: the original fails when verify calls it so (TypeError")
               for note in notes), notes
    assert any("importable from --path, migrated alike: sidelib, sidehelp (3 module(s))" in note for note in notes), notes
    assert "original_error" not in model and "migrated_error" not in model
    assert result.returncode == 0
    # without --path, both programs stop at the import: a package not installed here, skipped
    plain = run_kerasfix("verify", "--output-format", "json", "--timeout", "300", "--steps", "1", str(APP))
    skipped = json.loads(plain.stdout)
    assert skipped["summary"]["verified"] == 0 and skipped["summary"]["failed"] == 0
    assert {m["skip"]["label"] for m in skipped["models"]} == {"package sidelib not installed"}
    # a --path that is not a directory is a usage error
    missing = run_kerasfix("verify", "--path", str(ROOTS / "nowhere"), str(APP))
    assert missing.returncode == 2 and "--path" in missing.stderr


def test_a_skip_both_programs_met_stays_a_skip_when_it_is_shown_once() -> None:
    from kerasfix.verify.results import FileReport, settle

    skip = {"label": "package nowhere_pkg not installed", "message": "pip install nowhere_pkg"}
    error = {"type": "ModuleNotFoundError", "message": "No module named 'nowhere_pkg'", "line": 2, "skip": skip}
    report = FileReport("f.py", errors=[dict(error, side="migrated", skip=dict(skip)), dict(error, side="original")])
    settle(report)
    assert len(report.errors) == 1 and report.errors[0].get("skip") == skip
    # the migrated program alone stopping for a missing package is a failure of the migration
    alone = FileReport("f.py", errors=[dict(error, side="migrated", skip=dict(skip))])
    settle(alone)
    assert "skip" not in alone.errors[0]


def test_a_builder_call_depends_on_the_names_it_reads() -> None:
    from kerasfix.verify.command import _job, _names, prepare_file

    assert _names("Net(__import__('keras').layers.Input((8,)), size=SIZE)") == ["Net", "SIZE", "__import__"]
    assert _names("broken(") == []
    config, settings, _ = _settings([APP], True)
    from kerasfix.verify.command import Options

    options = Options(calls=("build_from_settings({'features': 4, 'classes': 2})",))
    prepared = prepare_file(APP, "model.py", settings, config, calls=options.calls)
    job = _job(prepared, APP, options)
    last = job["original"]["units"][-1]
    assert last["defines"] == ["_kerasfix_call_0"] and last["uses"] == ["build_from_settings"]
    # the builder the --call names is not called with no arguments too
    assert job["original"]["functions"] == ["build", "_kerasfix_call_0"]


def test_a_statement_that_only_reads_the_model_is_not_part_of_it() -> None:
    from kerasfix.verify.extract import extract

    text = (
        "from keras import backend as K\n"
        "from keras.layers import Dense\n"
        "from keras.models import Sequential\n"
        "model = Sequential()\n"
        "model.add(Dense(4, input_shape=(3,), name='hidden'))\n"
        "model.add(Dense(2))\n"
        "features = K.function([model.input], [model.get_layer('hidden').output])\n"
        "size = model.count_params()\n"
        "model.get_layer('hidden').trainable = False\n"
    )
    kept = [unit.line for unit in extract(text).units]
    assert 7 not in kept and 8 not in kept  # reads: get_layer(...).output, count_params()
    assert {4, 5, 6, 9} <= set(kept)  # changes: add, and an attribute set through get_layer


def test_the_modules_a_program_runs_are_found_through_its_imports() -> None:
    from kerasfix.verify.command import reachable_modules

    files = {
        "pkg/__init__.py": "from .core import base\n",
        "pkg/core.py": "import sidehelp\n",
        "pkg/nets/__init__.py": "",
        "pkg/nets/small.py": "from ..blocks import block\nfrom pkg import util\n",
        "pkg/blocks.py": "x = 1\n",
        "pkg/util.py": "",
        "pkg/unused.py": "import keras.utils.np_utils\n",
        "sidehelp.py": "",
    }
    runs = reachable_modules("import pkg.nets\n" + files["pkg/nets/small.py"], "pkg.nets", files)
    assert sorted(runs) == ["pkg/__init__.py", "pkg/blocks.py", "pkg/core.py", "pkg/nets/__init__.py", "pkg/util.py", "sidehelp.py"]
    assert reachable_modules("def broken(:\n", None, files) == []
