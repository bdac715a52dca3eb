"""`kerasfix verify`: slicing, device choice, import hygiene, the worker's reply protocol and sandbox choice
without TensorFlow; with TensorFlow, under both `--sandbox os` and `--sandbox python`, the fixtures verify
and every kind of failure is caught (tampered migration, layers that do not fit, a program that hangs,
crashes, forks, opens a socket, writes outside its working directory, exits or allocates too much).

One worker per sandbox serves the module (`verifier`); the CLI is run only where its exit code, its output
or the processes it leaves are the point.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from conftest import ROOT, run_kerasfix
from kerasfix.verify import devices
from kerasfix.verify.extract import extract

# slow: builds models or runs many CLI processes; CI runs it, `-m "not slow"` leaves it out
pytestmark = pytest.mark.slow

VERIFY = ROOT / "fixtures" / "verify"
FUNCTIONAL = ROOT / "fixtures" / "functional"
# Functional fixtures that verify; unfixable.py keeps a `merge` the catalogue cannot rewrite.
KNOWN_FAILING = {"unfixable.py"}


def _functional_fixtures() -> list[Path]:
    return sorted(p for p in FUNCTIONAL.glob("*.py") if not p.name.endswith(".fixed.py") and p.name not in KNOWN_FAILING)


# ---------------------------------------------------------------------------------------------
# without TensorFlow

PROGRAM = textwrap.dedent(
    """\
    import numpy as np
    import matplotlib.pyplot as plt
    from keras.datasets import mnist
    from keras.layers import Dense
    from keras.models import Sequential

    hidden = 64
    (x_train, y_train), _ = mnist.load_data()
    x_train = x_train.reshape(len(x_train), 784) / 255.0
    unused = np.load('weights.npy')

    def build(units=hidden):
        model = Sequential()
        model.add(Dense(units, input_dim=784))
        print(model.summary())
        return model

    def train(model):
        model.fit(x_train, y_train)

    model = Sequential()
    model.add(Dense(hidden, input_dim=x_train.shape[1]))
    model.compile(loss='mse', optimizer='sgd')
    model.summary()
    history = model.fit(x_train, y_train, nb_epoch=3)
    plt.plot(history.history['loss'])
    model.save('model.h5')

    if __name__ == '__main__':
        train(build())
    """
)


def test_slice_keeps_construction_and_leaves_out_training_io_and_main() -> None:
    sliced = extract(PROGRAM)
    kept = {unit.line for unit in sliced.units}
    assert kept == {3, 4, 5, 7, 8, 9, 12, 21, 22, 23}  # imports, constants, the data it sizes from, build(), model
    lines = PROGRAM.splitlines()
    for dropped in (2, 10, 18, 24, 25, 26, 27, 29):  # plotting import, unused I/O, train(), summary, fit, plot, save, main
        assert dropped not in kept, lines[dropped - 1]
    assert sliced.functions == ["build"]
    assert sliced.sites == {"model": 21, "build()": 12}


def test_slice_neutralises_output_inside_kept_functions_and_keeps_line_numbers() -> None:
    build = next(unit for unit in extract(PROGRAM).units if unit.kind == "def")
    assert "print" not in build.code
    assert build.code.count("\n") == PROGRAM.splitlines()[11:16].__len__() - 1
    tree = ast.parse(build.code)
    ast.increment_lineno(tree, build.line - 1)
    returns = [node for node in ast.walk(tree) if isinstance(node, ast.Return)]
    assert returns[0].lineno == 16  # the `return model` line of the file


def test_slice_of_a_statement_that_changes_a_kept_model() -> None:
    text = textwrap.dedent(
        """\
        from keras.applications import VGG16
        from keras.layers import Dense
        from keras.models import Sequential
        base = VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
        for layer in base.layers:
            layer.trainable = False
        for epoch in range(3):
            print(epoch)
        """
    )
    kept = {unit.line for unit in extract(text).units}
    assert {4, 5} <= kept and 7 not in kept


def test_device_choice_follows_the_gpus_tensorflow_sees() -> None:
    assert devices.choose("auto", []) == "/CPU:0"
    assert devices.choose("auto", ["/physical_device:GPU:0"]) == "/GPU:0"
    assert devices.choose("gpu", ["/physical_device:GPU:0", "/physical_device:GPU:1"]) == "/GPU:0"
    assert devices.choose("cpu", ["/physical_device:GPU:0"]) == "/CPU:0"
    with pytest.raises(devices.DeviceError, match="no GPU"):
        devices.choose("gpu", [])
    assert devices.worker_environment("cpu")["CUDA_VISIBLE_DEVICES"] == "-1"
    assert "CUDA_VISIBLE_DEVICES" not in devices.worker_environment("auto")


def _imported_modules(*args: str) -> set[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-X", "importtime", *args], env=env, capture_output=True, text=True, cwd=ROOT)
    modules = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.startswith("import time:") and "|" in line}
    assert modules, result.stderr[-2000:]
    return modules


@pytest.mark.parametrize("command", [["check", "--no-cache"], ["migrate", "--diff"], ["summary"]])  # a cached check parses nothing
def test_other_commands_never_import_verify(command: list[str]) -> None:
    modules = _imported_modules("-m", "kerasfix", *command, str(VERIFY / "merge_sequentials.py"))
    assert "libcst" in modules
    assert not {m for m in modules if m.startswith("kerasfix.verify")}


def test_verify_parent_process_does_not_import_tensorflow() -> None:
    code = (
        "import sys, kerasfix.verify.command, kerasfix.verify.report, kerasfix.verify.client, kerasfix.verify.extract;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))"
    )
    result = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


def test_only_the_verify_package_imports_tensorflow_or_keras() -> None:
    offenders = []
    for path in (ROOT / "kerasfix").rglob("*.py"):
        if "verify" in path.relative_to(ROOT / "kerasfix").parts or path.name == "apisnapshot.py":
            continue  # apisnapshot is the developer script that writes rules/keras_api.json from Keras
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("tensorflow", "keras", "tf_keras")]
    assert not offenders


def test_bad_options_are_usage_errors() -> None:
    assert run_kerasfix("verify", "--steps", "0", str(VERIFY / "merge_sequentials.py")).returncode == 2
    assert run_kerasfix("verify", "--device", "tpu", str(VERIFY / "merge_sequentials.py")).returncode == 2
    assert run_kerasfix("verify", "--timeout", "0", str(VERIFY / "merge_sequentials.py")).returncode == 2


WRITE_PROBE = textwrap.dedent(
    """\
    import os, pathlib, shutil, sys
    from kerasfix.verify import sandbox

    inside, outside = sys.argv[1], sys.argv[2]
    os.makedirs(os.path.join(outside, "keep"))
    sandbox.block_writes_outside()
    sandbox.contain_writes(inside)
    os.chdir(inside)
    attempts = {
        "open": lambda: open(os.path.join(outside, "a.txt"), "w"),
        "append": lambda: open(os.path.join(outside, "a.txt"), "a"),
        "os.open": lambda: os.open(os.path.join(outside, "b.txt"), os.O_WRONLY | os.O_CREAT),
        "pathlib": lambda: pathlib.Path(outside, "c.txt").write_text("x"),
        "mkdir": lambda: os.makedirs(os.path.join(outside, "d", "e")),
        "remove": lambda: os.rmdir(os.path.join(outside, "keep")),
        "rmtree": lambda: shutil.rmtree(os.path.join(outside, "keep")),
        "dotdot": lambda: open(os.path.join(inside, "..", os.path.basename(outside), "f.txt"), "w"),
        "link": lambda: open(os.path.join(inside, "link", "g.txt"), "w"),
        "move": lambda: os.replace(os.path.join(inside, "mine.txt"), os.path.join(outside, "h.txt")),
    }
    os.symlink(outside, os.path.join(inside, "link"))
    open("mine.txt", "w").write("inside is fine")
    pathlib.Path("sub").mkdir()
    refused = []
    for name, attempt in attempts.items():
        try:
            attempt()
        except sandbox.WriteOutsideRefused as error:
            assert "writing outside the temporary working directory is disabled" in str(error), error
            refused.append(name)
    open(os.path.join(outside, "read.txt")).read()  # reading is not writing
    sandbox.contain_writes(None)
    open(os.path.join(outside, "after.txt"), "w").write("the worker between jobs")
    print(",".join(refused))
    """
)


def test_writes_outside_the_working_directory_are_refused(tmp_path: Path) -> None:
    inside, outside = tmp_path / "work", tmp_path / "elsewhere"
    inside.mkdir()
    outside.mkdir()
    (outside / "read.txt").write_text("data")
    result = subprocess.run(
        [sys.executable, "-c", WRITE_PROBE, str(inside), str(outside)],
        env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1].split(",") == ["open", "append", "os.open", "pathlib", "mkdir", "remove", "rmtree", "dotdot", "link", "move"]
    assert sorted(p.name for p in outside.iterdir()) == ["after.txt", "keep", "read.txt"]
    assert sorted(p.name for p in inside.iterdir()) == ["link", "mine.txt", "sub"]


# ---------------------------------------------------------------------------------------------
# the worker's replies, its sandbox and its processes, with a stand-in worker (no TensorFlow)

FAKE_WORKER = textwrap.dedent(
    """\
    import json, os, sys, time
    replies = os.fdopen(int(os.environ["KERASFIX_VERIFY_FD"]), "w", buffering=1)
    mode = sys.argv[1]

    def send(message):
        replies.write(json.dumps(message) + "\\n")
        replies.flush()

    send({"op": "ready", "id": os.environ["KERASFIX_VERIFY_TOKEN"], "device": "/CPU:0"})
    for number, line in enumerate(sys.stdin, 1):
        job = json.loads(line)
        if job.get("op") == "stop":
            break
        print(f"output of job {number}", flush=True)
        result = {"op": "result", "id": job["id"], "models": [], "errors": []}
        if mode == "wrong-id":
            result["id"] = "another request"
        if mode == "crash" and number == 2:
            os._exit(3)
        if mode == "twice":
            replies.write(json.dumps(result) + "\\n" + json.dumps(result) + "\\n")
            replies.flush()
            continue
        if mode == "leave-children":
            started, child_end = os.pipe()  # closes when the child's exec succeeds
            if os.fork() == 0:
                os.setsid()
                os.execv("/bin/sleep", ["sleep", sys.argv[2]])
            os.close(child_end)
            os.read(started, 1)
        send(result)
        if mode == "late" and number == 1:
            time.sleep(0.3)
            send(result)
    """
)
JOB = {"op": "verify", "file": "x.py"}


def _fake_worker(mode: str, sandbox: str = "python", *extra: str):
    from kerasfix.verify.client import Worker

    worker = Worker("cpu", 0, sandbox, 10)
    worker.program = [sys.executable, "-c", FAKE_WORKER, mode, *extra]
    return worker


def _sleepers(marker: str) -> list[str]:
    """Processes running `sleep marker`."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")[:2] == [b"sleep", marker.encode()]:
                    found.append(name)
            except OSError:
                pass
    return found


def test_a_reply_to_another_request_restarts_the_worker() -> None:
    from kerasfix.verify.client import WorkerOutOfStep

    worker = _fake_worker("wrong-id")
    try:
        with pytest.raises(WorkerOutOfStep, match="answered request 'another request'.*restarted"):
            worker.run(JOB, 10)
        assert worker.process is None  # killed; the next job starts another
        with pytest.raises(WorkerOutOfStep):
            worker.run(JOB, 10)
        assert worker.starts == 2
    finally:
        worker.close()


def test_two_replies_to_one_request_fail_it() -> None:
    from kerasfix.verify.client import WorkerOutOfStep

    worker = _fake_worker("twice")
    try:
        with pytest.raises(WorkerOutOfStep, match="second reply"):
            worker.run(JOB, 10)
    finally:
        worker.close()


def test_a_late_second_reply_fails_the_file_it_answered(tmp_path: Path) -> None:
    """The reply after a file's result is found when the next file is sent: the earlier file fails, the next
    one runs on a new worker and keeps its own result."""
    from kerasfix.verify.command import Options, Verifier

    verifier = Verifier(Options(sandbox="python"))
    verifier.worker.program = [sys.executable, "-c", FAKE_WORKER, "late"]
    try:
        first = verifier.verify(VERIFY / "merge_sequentials.py")
        time.sleep(0.5)
        second = verifier.verify(VERIFY / "tampered_layer_size.py")
    finally:
        verifier.close()
    assert [e["type"] for e in first.errors] == ["WorkerOutOfStep"] and not first.ok
    assert "second reply" in first.errors[0]["message"]
    assert second.errors == [] and verifier.worker.starts == 2


def test_a_crash_report_shows_only_that_files_output() -> None:
    from kerasfix.verify.client import WorkerError

    worker = _fake_worker("crash")
    try:
        worker.run(JOB, 10)
        with pytest.raises(WorkerError, match="exit code 3") as crash:
            worker.run(JOB, 10)
    finally:
        worker.close()
    assert "output of job 2" in str(crash.value) and "output of job 1" not in str(crash.value)


@pytest.mark.parametrize("sandbox", ["os", "python"])
def test_no_process_outlives_the_worker_and_no_directory_is_left(sandbox: str, tmp_path: Path) -> None:
    if sandbox == "os" and not sys.platform.startswith("linux"):
        pytest.skip("OS sandboxes need Linux")
    marker = f"{3000 + os.getpid() % 1000}.{time.time_ns() % 991}"
    worker = _fake_worker("leave-children", sandbox, marker)
    base = worker.layout.base
    try:
        worker.run(JOB, 10)
        worker.run(JOB, 10)
        assert len(_sleepers(marker)) == 2  # a sleeper per job, in a session of its own
    finally:
        worker.close()
    assert _sleepers(marker) == [] and not base.exists()


def test_the_worker_environment_holds_no_secret(monkeypatch, tmp_path: Path) -> None:
    from kerasfix.verify import isolation

    monkeypatch.setenv("KERASFIX_TEST_TOKEN", "secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    layout = isolation.Layout(tmp_path)
    env = isolation.environment(layout, "cpu")
    assert "secret" not in env.values()
    assert env["HOME"] == env["TMPDIR"] == str(layout.work) and env["CUDA_VISIBLE_DEVICES"] == "-1"


def test_sandbox_os_without_a_sandbox_is_a_usage_error(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT), PATH=str(tmp_path), TMPDIR=str(tmp_path))  # no bwrap, no unshare
    result = subprocess.run([sys.executable, "-m", "kerasfix", "verify", "--sandbox", "os", str(VERIFY / "merge_sequentials.py")],
                            env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 2, result.stderr
    assert "--sandbox os: no operating-system sandbox works here" in result.stderr and "bubblewrap" in result.stderr
    assert not list(tmp_path.glob("kerasfix-verify-*"))


def test_auto_without_a_sandbox_falls_back_with_a_warning() -> None:
    from kerasfix.verify.command import Options, Verifier

    verifier = Verifier(Options(sandbox="auto", sandbox_tools=()))
    try:
        verifier.prepare_sandbox()
        assert verifier.worker.sandbox.kind == "python"
        assert "without an operating-system sandbox" in verifier.warning and "bubblewrap" in verifier.warning
    finally:
        verifier.close()


# ---------------------------------------------------------------------------------------------
# with TensorFlow, under each sandbox (`os` skips where none works: CI installs bubblewrap)

SANDBOXES = ["os", "python"]


def _skip_without_os_sandbox(sandbox: str) -> None:
    if sandbox != "os":
        return
    from kerasfix.verify import isolation

    layout = isolation.Layout(Path(tempfile.mkdtemp(prefix="kerasfix-verify-")))
    try:
        isolation.choose("os", layout, "cpu")
    except isolation.SandboxUnavailable as error:
        pytest.skip(str(error))
    finally:
        shutil.rmtree(layout.base, ignore_errors=True)


@pytest.fixture(scope="module", params=SANDBOXES)
def verifier(request):
    pytest.importorskip("tensorflow")
    _skip_without_os_sandbox(request.param)
    from kerasfix.verify.command import Options, Verifier

    instance = Verifier(Options(timeout=20, steps=2, sandbox=request.param))
    instance.start()
    assert instance.info["sandbox"] == ("python" if request.param == "python" else instance.worker.sandbox.kind)
    yield instance
    instance.close()


def _verify(verifier, path: Path, migrated_text: str | None = None):
    return verifier.verify(path, name=str(path.relative_to(ROOT)), migrated_text=migrated_text)


def _models(report) -> dict[str, dict]:
    return {record["name"]: record for record in report.models}


def _nothing_left(verifier) -> None:
    """A crashed or stopped job leaves nothing in the worker's directory."""
    assert list(verifier.worker.layout.work.iterdir()) == []


@pytest.mark.tensorflow
@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_cli_verifies_the_functional_fixtures_with_exit_0(sandbox: str) -> None:
    _skip_without_os_sandbox(sandbox)
    files = [str(p.relative_to(ROOT)) for p in _functional_fixtures()] + ["fixtures/verify/dataset_shapes.py"]
    result = run_kerasfix("verify", "--sandbox", sandbox, "--format", "json", *files)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["device"] == "/CPU:0" or report["device"].startswith("/GPU")
    assert (report["sandbox"] == "python") == (sandbox == "python")
    models = report["models"]
    assert {m["file"] for m in models} >= {
        "fixtures/functional/two_branch_cnn.py", "fixtures/functional/multi_input_multi_output.py", "fixtures/verify/dataset_shapes.py",
    }
    for model in models:
        assert model["verified"] and model["built"] and model["shapes_match"] and model["params_match"], model
        assert model["max_output_diff"] <= 1e-5 and model["trained"] and model["error"] is None, model
        assert len(model["loss"]) == 2 and model["device"] == report["device"]
        assert set(model) >= {"file", "name", "line", "built", "shapes_match", "params_match", "max_output_diff", "trained", "loss", "device", "error"}


@pytest.mark.tensorflow
def test_merge_of_sequentials_verifies(verifier) -> None:
    report = _verify(verifier, VERIFY / "merge_sequentials.py")
    assert report.ok, report
    model = _models(report)["model"]
    assert model["line"] == 12
    assert [l["type"] for l in model["layers"]["original"]] == ["Dense", "Dense", "Concatenate", "Dropout", "Dense"]
    assert model["params"]["original"] == model["params"]["migrated"] == 2 * (784 * 32 + 32) + 64 * 10 + 10
    assert model["max_output_diff"] == 0.0


@pytest.mark.tensorflow
def test_compat_layer_agrees_with_hand_written_keras3(verifier) -> None:
    """The Keras 1 program under the compatibility layer against a Keras 3 translation written by hand."""
    path = VERIFY / "keras1_layer_zoo.py"
    report = _verify(verifier, path, migrated_text=path.with_suffix(".keras3").read_text())
    assert report.ok, report
    assert set(_models(report)) == {"vision", "text"}


@pytest.mark.tensorflow
def test_tampered_migration_is_caught(verifier) -> None:
    path = VERIFY / "tampered_layer_size.py"
    honest = _verify(verifier, path)
    assert honest.ok, honest
    report = _verify(verifier, path, migrated_text=path.with_suffix(".tampered").read_text())
    model = _models(report)["model"]
    assert model["built"] and not report.ok
    assert model["shapes_match"] is False and model["params_match"] is False
    assert any("(None, 32) became Dense (None, 33)" in d for d in model["differences"])
    assert model["max_output_diff"] is None  # the weights could not be copied, so outputs were not compared


@pytest.mark.tensorflow
def test_layers_that_do_not_fit_fail_with_their_line(verifier) -> None:
    report = _verify(verifier, VERIFY / "layers_do_not_fit.py")
    models = _models(report)
    assert not report.ok
    broken = models["broken"]
    assert not broken["built"] and broken["error"]["type"] == "ValueError"
    assert broken["error"]["line"] == 9 and "incompatible shapes" in broken["error"]["message"]
    assert models["fine"]["error"] is None and models["fine"]["trained"]  # the other model still ran


@pytest.mark.tensorflow
def test_a_program_that_never_ends_is_stopped_and_the_worker_restarts(verifier) -> None:
    verifier.options.timeout = 5  # this file only: the loop never ends, so any limit is reached
    try:
        report = _verify(verifier, VERIFY / "infinite_loop.py")
    finally:
        verifier.options.timeout = 20
    error = _models(report)["model"]["error"]
    assert error["type"] == "Timeout" and "timed out after 5 s" in error["message"]
    assert error["line"] in (7, 8)
    _nothing_left(verifier)
    restarts = verifier.worker.restarts
    after = _verify(verifier, VERIFY / "tampered_layer_size.py")
    assert after.ok and verifier.worker.restarts == restarts + 1


@pytest.mark.tensorflow
def test_a_crash_is_reported_and_the_worker_restarts(verifier) -> None:
    error = _models(_verify(verifier, VERIFY / "crashes_the_process.py"))["model"]["error"]
    assert error["type"] == "WorkerCrashed" and "signal 11" in error["message"]
    _nothing_left(verifier)
    restarts = verifier.worker.restarts
    assert _verify(verifier, VERIFY / "huge_allocation.py").models and verifier.worker.restarts == restarts + 1


@pytest.mark.tensorflow
def test_network_access_is_refused(verifier) -> None:
    error = _models(_verify(verifier, VERIFY / "opens_socket.py"))["model"]["error"]
    assert error["type"] == "NetworkDisabled" and "network access is disabled" in error["message"]
    assert error["line"] == 10 and "create_connection" in error["source"]


@pytest.mark.tensorflow
def test_a_write_outside_the_working_directory_is_refused(verifier) -> None:
    probe = Path("/tmp/kerasfix_outside_probe_writes_outside.txt")  # the path the fixture writes to
    probe.unlink(missing_ok=True)
    report = _verify(verifier, VERIFY / "writes_outside.py")
    error = _models(report)["model"]["error"]
    assert error["type"] == "WriteOutsideRefused" and "writing outside the temporary working directory is disabled" in error["message"]
    assert str(probe) in error["message"] and error["line"] == 11
    assert not probe.exists()
    assert _verify(verifier, VERIFY / "tampered_layer_size.py").ok  # the next file is unaffected


@pytest.mark.tensorflow
def test_sys_exit_is_reported_for_that_file(verifier) -> None:
    error = _models(_verify(verifier, VERIFY / "calls_sys_exit.py"))["model"]["error"]
    assert error["type"] == "SystemExit" and "sys.exit('no configuration found')" in error["message"]
    assert error["line"] == 10


@pytest.mark.tensorflow
def test_a_huge_allocation_fails_that_model_cleanly(verifier) -> None:
    models = _models(_verify(verifier, VERIFY / "huge_allocation.py"))
    assert models["big"]["error"]["type"] == "MemoryError" and models["big"]["error"]["line"] == 7
    assert models["small"]["error"] is None and models["small"]["trained"]


@pytest.mark.tensorflow
def test_unfixable_merge_is_reported(verifier) -> None:
    report = _verify(verifier, FUNCTIONAL / "unfixable.py")
    error = _models(report)["model"]["error"]
    assert not report.ok and error["side"] == "migrated" and "merge" in error["message"]


FORKS = textwrap.dedent(
    """\
    # Forks a helper that leaves with sys.exit, as helpers do; the copy of the worker must not answer for the
    # next file.
    import os
    import sys

    from keras.layers import Dense
    from keras.models import Sequential


    def width():
        if os.fork() == 0:
            sys.exit(0)
        return 2


    model = Sequential()
    model.add(Dense(width(), input_dim=3))
    """
)


@pytest.mark.tensorflow
@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_a_program_after_one_that_forks_gets_its_own_result(sandbox: str, tmp_path: Path) -> None:
    """Before request ids, the forked copy's reply answered the next file's request: the next file was
    reported with the forking file's models, and a failing one could pass."""
    _skip_without_os_sandbox(sandbox)
    forks = tmp_path / "a_forks.py"
    forks.write_text(FORKS)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1", TMPDIR=str(temporary), KERASFIX_CACHE_DIR=str(tmp_path / "cache"))
    result = subprocess.run(
        [sys.executable, "-m", "kerasfix", "verify", "--sandbox", sandbox, "--format", "json", "--timeout", "60", "--steps", "1",
         str(forks), str(VERIFY / "layers_do_not_fit.py")],
        env=env, capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    models = {(Path(m["file"]).name, m["name"]): m for m in json.loads(result.stdout)["models"]}
    assert set(models) == {("a_forks.py", "model"), ("layers_do_not_fit.py", "broken"), ("layers_do_not_fit.py", "fine")}
    broken = models[("layers_do_not_fit.py", "broken")]
    assert not broken["verified"] and broken["error"]["type"] == "ValueError" and broken["error"]["line"] == 9
    assert models[("layers_do_not_fit.py", "fine")]["verified"]
    survivors = [pid for pid in os.listdir("/proc") if pid.isdigit() and str(temporary).encode() in _environ(pid)]
    assert survivors == []
    assert list(temporary.iterdir()) == []


def _environ(pid: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes() + Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@pytest.mark.tensorflow
@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_cli_text_report_and_exit_1_on_failure(sandbox: str, tmp_path: Path) -> None:
    """Under `python`, as `auto` runs where no OS sandbox works: the warning says so, once."""
    _skip_without_os_sandbox(sandbox)
    args = [sys.executable, "-m", "kerasfix", "verify", "--timeout", "60", "fixtures/verify/layers_do_not_fit.py"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    if sandbox == "python":
        env["PATH"] = str(tmp_path)  # neither bwrap nor unshare
    else:
        args[4:4] = ["--sandbox", "os"]
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 1, result.stderr[-2000:]
    assert "FAIL" in result.stdout and "OK" in result.stdout
    assert "ValueError: Inputs have incompatible shapes" in result.stdout and "line 9" in result.stdout
    assert result.stderr.count("without an operating-system sandbox") == (1 if sandbox == "python" else 0)
    assert ("sandbox: Python guards only" in result.stdout) == (sandbox == "python")


@pytest.mark.tensorflow
def test_cli_gpu_without_a_gpu_is_a_usage_error() -> None:
    result = run_kerasfix("verify", "--device", "gpu", "fixtures/verify/merge_sequentials.py")
    if result.returncode == 0:
        pytest.skip("this machine has a GPU")
    assert result.returncode == 2
    assert "no GPU" in result.stderr
