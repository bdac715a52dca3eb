"""A double Ctrl-C during a parallel `migrate`: two SIGINTs 20 ms apart, sent to the whole process
group as a terminal sends them (the main process and its workers), while the workers are busy. The run
ends with 130 within seconds every time, each file is either the original or the fully migrated one,
and no temporary file is left behind (issue 14, point 9: it used to hang on a worker stuck on a lock).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT

# slow: builds models or runs many CLI processes; CI runs it, `-m "not slow"` leaves it out
pytestmark = pytest.mark.slow

FIXTURE = ROOT / "fixtures" / "scripts" / "keras1_cnn.py"
COPIES = 60
TRIALS = 10
EXIT_WITHIN = 5.0  # seconds from the second signal to the end of the run
GAP = 0.020  # between the two signals


@pytest.fixture(scope="module")
def migrated_fixture(tmp_path_factory) -> bytes:
    """The fixture as a clean, uninterrupted run migrates it."""
    copy = tmp_path_factory.mktemp("clean") / "model.py"
    shutil.copyfile(FIXTURE, copy)
    result = subprocess.run(
        [sys.executable, "-m", "kerasfix", "migrate", "--isolated", "--unsafe-fixes", "--quiet", str(copy)],
        env=_env(), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    migrated = copy.read_bytes()
    assert migrated != FIXTURE.read_bytes()
    return migrated


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), NO_COLOR="1")


def _tree(root: Path) -> list[Path]:
    root.mkdir()
    files = []
    for index in range(COPIES):
        path = root / f"model_{index:03d}.py"
        shutil.copyfile(FIXTURE, path)
        files.append(path)
    return files


def _trial(root: Path, original: bytes, migrated: bytes) -> str:
    """One interrupted run; returns what went wrong, or "" when all was well."""
    files = _tree(root)
    process = subprocess.Popen(
        [sys.executable, "-m", "kerasfix", "migrate", "--isolated", "--unsafe-fixes", "--quiet", "--jobs", "2", str(root)],
        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # its own process group, as a terminal's foreground job; SIGINT at its default (a shell without
        # job control would start it ignored)
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            if any(path.read_bytes() != original for path in files[:8]):
                break  # the workers are writing: interrupt now
            time.sleep(0.002)
        if process.poll() is not None:
            return f"the run ended before the signals (exit {process.returncode})"
        os.killpg(process.pid, signal.SIGINT)
        time.sleep(GAP)
        os.killpg(process.pid, signal.SIGINT)
        sent = time.monotonic()
        try:
            stdout, stderr = process.communicate(timeout=EXIT_WITHIN)
        except subprocess.TimeoutExpired:
            return f"still running {EXIT_WITHIN} s after the second SIGINT"
        elapsed = time.monotonic() - sent
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    problems = []
    if process.returncode != 130:
        problems.append(f"exit {process.returncode}, not 130")
    if "Traceback" in stderr:
        problems.append("a traceback: " + stderr[-1500:])
    if "kerasfix: interrupted" not in stderr:
        problems.append("no 'kerasfix: interrupted' on stderr: " + stderr[-500:])
    for path in files:
        data = path.read_bytes()
        if data not in (original, migrated):
            problems.append(f"{path.name} is neither the original nor the migrated file ({len(data)} bytes)")
    leftovers = sorted(p.name for p in root.iterdir() if p not in set(files))
    if leftovers:
        problems.append(f"files left behind: {leftovers}")
    if not any(path.read_bytes() == migrated for path in files):
        problems.append("nothing was migrated before the signals")
    # no worker outlives the run
    time.sleep(0.05)
    try:
        os.killpg(process.pid, 0)
        problems.append("a process of the run is still alive")
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return "; ".join(problems) + (f" ({elapsed:.2f} s)" if problems else "")


@pytest.mark.slow
def test_two_sigints_20ms_apart_end_the_run_with_130_and_whole_files(tmp_path: Path, migrated_fixture: bytes) -> None:
    original = FIXTURE.read_bytes()
    failures = []
    for trial in range(TRIALS):
        problem = _trial(tmp_path / f"trial{trial}", original, migrated_fixture)
        if problem:
            failures.append(f"trial {trial}: {problem}")
    assert not failures, "\n".join(failures)
