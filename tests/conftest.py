"""Shared test setup and helpers: TensorFlow-marked tests are skipped where TensorFlow is not installed;
the CLI runs in a process of its own (`run_kerasfix`) or in this one (`cli`); `findings` and `migrate`
run the engine on source text in memory."""

from __future__ import annotations

import ast
import importlib.util
import io
import json
import os
import subprocess
import sys
import warnings
from collections.abc import Iterable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from kerasfix.findings import Finding
    from kerasfix.settings import Settings
    from kerasfix.source import Source

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    # as the command line does for check and migrate (kerasfix/cli.py, `_collect_less`): the tests
    # that run the engine in this process parse thousands of programs
    import gc

    gc.set_threshold(100_000, 50, 100)


def pytest_collection_modifyitems(config, items):
    # the tests that take minutes first, then the other slow ones: with `--dist worksteal` (the README's
    # command) the worker that is left with the last of them takes the quick ones the other has not
    # started yet, instead of the run waiting on one long test at the end
    items.sort(key=lambda item: 0 if "long" in item.keywords else 1 if "slow" in item.keywords else 2)
    if importlib.util.find_spec("tensorflow") is not None:
        return
    skip = pytest.mark.skip(reason="needs TensorFlow (pip install -e '.[verify]' in this checkout)")
    for item in items:
        if "tensorflow" in item.keywords:
            item.add_marker(skip)


# A small Keras 1 program and what `migrate` makes of it, for tests about files rather than rules.
LEGACY = (
    "from keras.layers import Dense, Dropout\n"
    "from keras.models import Sequential\n"
    "\n"
    "model = Sequential()\n"
    "model.add(Dense(output_dim=10, input_dim=4))\n"
    "model.add(Dropout(p=0.5))\n"
)
MIGRATED = LEGACY.replace("output_dim=10", "units=10").replace("p=0.5", "rate=0.5")


def shown(path: Path) -> str:
    """A path as the CLI names it when run in the checkout (the default of `run_kerasfix` and `cli`)."""
    return os.path.relpath(path, ROOT)


# --- the CLI ----------------------------------------------------------------------------------------


def run_kerasfix(
    *args: str, cwd: Path | None = None, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run the CLI as users do, in a separate process (`env`: variables to set in it): for what only a
    process shows (its entry point, signals, imports, worker processes, memory, settings read from the
    environment at import). Everything else can use `cli`, which is much faster."""
    # PYTHONSAFEPATH: a test file named like a stdlib module (copy.py) must not shadow it via `-m`'s cwd entry
    environment = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), NO_COLOR="1", PYTHONSAFEPATH="1")
    return subprocess.run(
        [sys.executable, "-m", "kerasfix", *args],
        cwd=cwd or ROOT,
        env={**environment, **(env or {})},
        capture_output=True,
        text=True,
        input=input,
        timeout=600,
    )


# The warning filters of a fresh interpreter (Python's defaults): what a real run would print to stderr.
_INTERPRETER_WARNING_FILTERS = (
    ("default", DeprecationWarning, "__main__"),
    ("ignore", DeprecationWarning, ""),
    ("ignore", PendingDeprecationWarning, ""),
    ("ignore", ImportWarning, ""),
    ("ignore", ResourceWarning, ""),
)


def cli(*args: str, cwd: Path | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    """Run the CLI in this process: `kerasfix.cli.main(args)` in `cwd` (default: the checkout), as
    `run_kerasfix` runs it in another, and the same kind of result (`returncode`, `stdout`, `stderr`).

    As in that process: NO_COLOR is set, stdout and stderr are captured with universal newlines,
    `SystemExit` (argparse's usage errors, `--version`) gives the exit code, and warnings are printed to
    stderr under the interpreter's default filters rather than collected by pytest. The working
    directory, the environment and sys.path are restored afterwards (each pytest-xdist worker is a
    process of its own, running one test at a time). An exception that main() does not handle is not
    turned into exit code 1 with a traceback: it propagates, so the test fails where the crash is.
    """
    from kerasfix.cli import main

    stdout, stderr = io.StringIO(newline=None), io.StringIO(newline=None)
    home = os.getcwd()
    saved_path, saved_stdin = sys.path[:], sys.stdin
    saved_no_color = os.environ.get("NO_COLOR")
    try:
        os.environ["NO_COLOR"] = "1"
        # '' on sys.path is the working directory: files of the tree under test must not shadow modules
        sys.path[:] = [entry or home for entry in sys.path]
        os.chdir(cwd or ROOT)
        if input is not None:
            sys.stdin = io.StringIO(input)
        with warnings.catch_warnings(record=True) as caught, redirect_stdout(stdout), redirect_stderr(stderr):
            warnings.resetwarnings()
            for action, category, module in _INTERPRETER_WARNING_FILTERS:
                warnings.filterwarnings(action, category=category, module=module, append=True)
            try:
                code = main(list(args))
            except SystemExit as exit_:
                code = _exit_status(exit_.code, stderr)
        for warning in caught:
            stderr.write(warnings.formatwarning(warning.message, warning.category, warning.filename, warning.lineno, warning.line))
    finally:
        os.chdir(home)
        sys.path[:] = saved_path
        sys.stdin = saved_stdin
        if saved_no_color is None:
            os.environ.pop("NO_COLOR", None)
        else:
            os.environ["NO_COLOR"] = saved_no_color
    return subprocess.CompletedProcess(["kerasfix", *args], code, stdout.getvalue(), stderr.getvalue())


def _exit_status(code: object, stderr: io.StringIO) -> int:
    """The exit status `sys.exit(code)` gives a process."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=stderr)
    return 1


def check_json(*args: str, cwd: Path | None = None) -> list[dict]:
    """`kerasfix check --output-format json ARGS` in this process: the parsed findings (exit 0 or 1)."""
    result = cli("check", "--output-format", "json", *args, cwd=cwd)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return json.loads(result.stdout)


# --- the engine on text -----------------------------------------------------------------------------


def source(text: str, name: str = "model.py") -> Source:
    """Source text as if read from a file called `name`."""
    from kerasfix.source import Source

    return Source(path=Path(name), text=text, raw=text.encode("utf-8"))


def settings(select: str | Iterable[str] | None = None, *, unsafe: bool = False, target: str = "tf.keras") -> Settings:
    """Settings as the command line makes them: `select` is what `--select` takes (a code, a prefix,
    "ALL", comma-separated, or several), None for the default rules."""
    from kerasfix import registry
    from kerasfix.settings import Settings

    patterns = [select] if isinstance(select, str) else list(select or [])
    patterns = [item.strip() for pattern in patterns for item in pattern.split(",") if item.strip()]
    return Settings(enabled=registry.select(patterns, []), unsafe_fixes=unsafe, target=target)


def findings(text: str, select: str | Iterable[str] | None = None, *, target: str = "tf.keras", name: str = "model.py") -> list[Finding]:
    """What `check` finds in `text`, which must parse."""
    from kerasfix.engine import check_source

    found, error = check_source(source(text, name), settings(select, target=target))
    assert error is None, error
    return found


def migrate(
    text: str, select: str | Iterable[str] | None = None, *, unsafe: bool = False, target: str = "tf.keras", name: str = "model.py"
) -> str:
    """What `migrate` makes of `text`; the result must parse and a second run must leave it as it is."""
    from kerasfix.engine import fix_text

    chosen = settings(select, unsafe=unsafe, target=target)
    result = fix_text(source(text, name), chosen).text
    ast.parse(result)
    assert fix_text(source(result, name), chosen).text == result, "a second run changed the code"
    return result
